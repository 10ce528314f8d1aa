#!/usr/bin/env bash
# What analysis adds to the capture pipeline (issue 4: "within 20 %"), on one capture.
#
#   scripts/bench-analysis.sh CAPTURE [RUNS]
#
# Times, best of RUNS (default 5) from a warm page cache:
#   pipeline      mqtt_count FILE          read, reassemble, frame; a sink that counts packets
#   + relay       mqtt_count FILE --relay  the same, the counting sink on a second thread
#   + analysis    mqscope flows / check    the same pipeline, the analyzer on the second thread
# and prints each against the bare pipeline (wall and CPU). Builds what it runs (release).
set -euo pipefail
F=${1:?usage: bench-analysis.sh CAPTURE [RUNS]}
RUNS=${2:-5}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
cd "$ROOT"
cargo build --release -p capture --example mqtt_count -p cli >&2
BIN=$CARGO_TARGET_DIR/release
cat "$F" > /dev/null # warm the page cache

# shellcheck source=scripts/bench-lib.sh
source "$ROOT/scripts/bench-lib.sh"

echo "capture: $F ($(stat -c %s "$F") bytes), load average: $(cut -d' ' -f1-3 /proc/loadavg)"
{
  best pipeline "$BIN/examples/mqtt_count" "$F"
  best pipeline+relay "$BIN/examples/mqtt_count" "$F" --relay
  best flows "$BIN/mqscope" flows -r "$F" --no-progress
  best check "$BIN/mqscope" check -r "$F" --no-progress --fail-on never
} > /tmp/bench-analysis.results
awk '
  { t[$1] = $2; c[$1] = $3; r[$1] = $4; order[NR] = $1 }
  END {
    printf "%-15s %7s %7s %8s  %s\n", "what", "wall s", "CPU s", "RSS MB", "wall vs pipeline"
    for (i = 1; i <= NR; i++) {
      k = order[i]
      printf "%-15s %7.2f %7.2f %8.1f  %+.0f %%\n", k, t[k], c[k], r[k] / 1024,
        (t[k] / t["pipeline"] - 1) * 100
    }
  }' /tmp/bench-analysis.results
