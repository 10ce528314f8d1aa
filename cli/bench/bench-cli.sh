#!/usr/bin/env bash
# mqscope flows / stats / check against tshark on the same capture, side by side.
#
#   cli/bench/bench-cli.sh CAPTURE [RUNS]
#
# CAPTURE: e.g. the synthetic capture of scripts/bench-capture.sh (/tmp/mqscope-bench/*.pcap).
# Needs a release build of the CLI: cargo build --release -p cli (MQSCOPE=path overrides).
# Each command runs RUNS times (default 3) from a warm page cache; the best wall time and the
# peak RSS are printed, with the speed-up of each mqscope command over each tshark command.
set -euo pipefail
F=${1:?usage: bench-cli.sh CAPTURE [RUNS]}
RUNS=${2:-3}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
MQSCOPE=${MQSCOPE:-${CARGO_TARGET_DIR:-$ROOT/target}/release/mqscope}
[ -x "$MQSCOPE" ] || { echo "no release binary at $MQSCOPE" >&2; exit 2; }
cat "$F" > /dev/null   # warm the page cache

# shellcheck source=scripts/bench-lib.sh
source "$ROOT/scripts/bench-lib.sh"

echo "capture: $F ($(stat -c %s "$F") bytes, $(capinfos -c -M "$F" 2>/dev/null | awk -F: '/Number of packets/ { gsub(/ /, "", $2); print $2 }') frames)"
{
  best "tshark_fields" tshark -n -r "$F" -T fields -e frame.number -e tcp.stream -e mqtt.msgtype -e mqtt.qos -e mqtt.msgid -e mqtt.topic
  best "tshark_conv_tcp" tshark -n -r "$F" -q -z conv,tcp
  best "mqscope_flows" "$MQSCOPE" flows -r "$F" --no-progress
  best "mqscope_stats" "$MQSCOPE" stats -r "$F" --no-progress
  best "mqscope_check" "$MQSCOPE" check -r "$F" --no-progress --fail-on never
  best "mqscope_read_jsonl" "$MQSCOPE" read -r "$F" -T jsonl --no-progress
} | tee /tmp/bench-cli.results
echo
awk '
  { t[$1] = $2; u[$1] = $3; r[$1] = $4 }
  END {
    printf "%-20s %8s %8s %8s  %-19s %-19s\n", "command", "wall s", "CPU s", "RSS MB", "× fields wall/CPU", "× conv wall/CPU"
    n = split("tshark_fields tshark_conv_tcp mqscope_flows mqscope_stats mqscope_check mqscope_read_jsonl", k, " ")
    for (i = 1; i <= n; i++) {
      c = k[i]
      printf "%-20s %8.2f %8.2f %8.1f  %8.1f / %-8.1f %8.1f / %-8.1f\n", c, t[c], u[c], r[c] / 1024,
        t["tshark_fields"] / t[c], u["tshark_fields"] / (u[c] > 0 ? u[c] : 0.01),
        t["tshark_conv_tcp"] / t[c], u["tshark_conv_tcp"] / (u[c] > 0 ? u[c] : 0.01)
    }
  }' /tmp/bench-cli.results
