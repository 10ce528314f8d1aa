#!/usr/bin/env bash
# Quick start: installs what is missing, builds mqscope, and decodes a bundled sample capture.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cargo build --workspace --quiet
sample="${1:-samples/mqtt311-session.pcap}"
echo "== mqscope read -r $sample" >&2
target/debug/mqscope read -r "$sample"
echo "== mqscope check -r $sample" >&2
target/debug/mqscope check -r "$sample" || true
