#!/usr/bin/env bash
# The whole test suite, exactly as CI runs it (.ci/run calls this script).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

# Render the same way on every machine (egui_kittest snapshots, the Xvfb window).
export WGPU_BACKEND=gl
export CARGO_TERM_COLOR=never

cargo fmt --all --check
cargo clippy --workspace --all-targets --quiet -- -D warnings
cargo test --workspace --no-fail-fast
