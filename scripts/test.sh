#!/usr/bin/env bash
# The whole test suite, exactly as CI runs it (.ci/run calls this script).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

# Render the same way on every machine (egui_kittest snapshots, the Xvfb window).
export WGPU_BACKEND=gl
export CARGO_TERM_COLOR=never
# A one-shot build gains nothing from incremental caches, and they were a third of target/
# (2.7 of 8.7 GB); a CI machine once ran out of disk while building.
export CARGO_INCREMENTAL=0
echo "disk free before building: $(df -h . | awk 'NR==2 {print $4}')"

cargo fmt --all --check
cargo clippy --workspace --all-targets --quiet -- -D warnings
# Doc comments are part of the API: broken intra-doc links and stray HTML fail the build.
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --quiet
cargo test --workspace --no-fail-fast
