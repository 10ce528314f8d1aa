#!/usr/bin/env bash
# Benchmark of the capture pipeline against tshark on a large synthetic MQTT capture.
#
#   scripts/bench-capture.sh [SIZE_MB] [TSHARK_SLICE_MB]
#
# 1. builds the generator and the counting driver (release, capture crate only);
# 2. writes a SIZE_MB (default 600) multi-connection capture: mixed MQTT versions and QoS,
#    packets split across segments (split fixed headers too) and several per segment;
# 3. times `mqtt_count` (our pipeline, counting packets) on the whole file, with peak RSS;
# 4. times `tshark -r F -T fields -e frame.number -e mqtt.msgtype` on the first
#    TSHARK_SLICE_MB (default 60) — tshark at ~7 MB/s would need minutes for the whole
#    file — and on the same slice runs us too, so both rates come from identical bytes.
# Results go to stdout; docs/perf-capture.md records them.
set -euo pipefail
SIZE_MB=${1:-600}
SLICE_MB=${2:-60}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/work/target-capture}
WORK=${BENCH_DIR:-/tmp/mqscope-bench}
mkdir -p "$WORK"
cd "$ROOT"
cargo build --release -p capture --example gen_bench_capture --example mqtt_count >&2
BIN="$CARGO_TARGET_DIR/release/examples"
BIG="$WORK/bench-${SIZE_MB}mb.pcap"
SLICE="$WORK/bench-slice-${SLICE_MB}mb.pcap"
if [ ! -s "$BIG" ]; then
  echo "== generating $BIG" >&2
  "$BIN/gen_bench_capture" "$BIG" "$SIZE_MB" 300 | tee "$WORK/gen.txt"
fi
if [ ! -s "$SLICE" ]; then
  "$BIN/gen_bench_capture" "$SLICE" "$SLICE_MB" 300 | tee "$WORK/gen-slice.txt"
fi
size() { stat -c %s "$1"; }
rate() { awk -v b="$1" -v s="$2" 'BEGIN { printf "%.1f", b / 1048576 / s }'; }

run_timed() { # label, command...
  local label=$1; shift
  /usr/bin/time -v "$@" > "$WORK/out.txt" 2> "$WORK/time.txt" || true
  local wall rss
  wall=$(grep "Elapsed (wall clock)" "$WORK/time.txt" | awk '{print $NF}' | awk -F: '{ if (NF==3) print $1*3600+$2*60+$3; else print $1*60+$2 }')
  rss=$(grep "Maximum resident set size" "$WORK/time.txt" | awk '{print $NF}')
  # CPU time is what other jobs on a shared machine do not inflate.
  cpu=$(awk -F': ' '/User time|System time/ { s += $2 } END { printf "%.2f", s }' "$WORK/time.txt")
  echo "$label wall_s=$wall cpu_s=$cpu peak_rss_kb=$rss load=\"$(cut -d' ' -f1-3 /proc/loadavg)\""
}

echo "== file sizes: big $(size "$BIG") bytes, slice $(size "$SLICE") bytes"
# Warm the page cache so both tools read from memory.
cat "$BIG" "$SLICE" > /dev/null

for i in 1 2 3; do
  run_timed "mqscope-capture big run$i" "$BIN/mqtt_count" "$BIG"
  grep -h "mqtt_packets" "$WORK/time.txt" || true
  w=$(grep "Elapsed (wall clock)" "$WORK/time.txt" | awk '{print $NF}' | awk -F: '{ if (NF==3) print $1*3600+$2*60+$3; else print $1*60+$2 }')
  echo "   rate_MBps=$(rate "$(size "$BIG")" "$w")"
done
run_timed "mqscope-capture slice" "$BIN/mqtt_count" "$SLICE"
grep -h "mqtt_packets" "$WORK/time.txt" || true
w=$(grep "Elapsed (wall clock)" "$WORK/time.txt" | awk '{print $NF}' | awk -F: '{ if (NF==3) print $1*3600+$2*60+$3; else print $1*60+$2 }')
echo "   rate_MBps=$(rate "$(size "$SLICE")" "$w")"

run_timed "tshark slice" tshark -n -r "$SLICE" -T fields -e frame.number -e mqtt.msgtype
w=$(grep "Elapsed (wall clock)" "$WORK/time.txt" | awk '{print $NF}' | awk -F: '{ if (NF==3) print $1*3600+$2*60+$3; else print $1*60+$2 }')
echo "   rate_MBps=$(rate "$(size "$SLICE")" "$w")"
echo "   tshark mqtt messages: $(awk -F'\t' '$2 != "" { n += split($2, a, ",") } END { print n + 0 }' "$WORK/out.txt")"
