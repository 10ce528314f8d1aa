#!/usr/bin/env bash
# Quick start: installs what is missing, builds mqscope, and decodes a bundled sample capture.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cargo build --workspace --quiet
sample="${1:-samples/mqtt311-session.pcap}"
mqscope="${CARGO_TARGET_DIR:-target}/debug/mqscope"
echo "== mqscope read -r $sample" >&2
"$mqscope" read -r "$sample"
echo "== mqscope check -r $sample" >&2
"$mqscope" check -r "$sample" || true
