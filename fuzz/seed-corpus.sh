#!/bin/sh
# Rebuilds fuzz/corpus/decode from the MQTT packets in the public captures: one file per TCP
# payload (up to 2 KB) that tshark decodes as MQTT (a payload may hold several packets, or part of one,
# which is what the target's framing loop wants). Needs tshark.
set -eu
captures=${1:-../shared/captures/public}
out=$(dirname "$0")/corpus/decode
mkdir -p "$out"
find "$captures" -name '*.pcap*' | sort | while read -r f; do
    tshark -r "$f" -Y mqtt -T fields -e tcp.payload 2>/dev/null
done | awk 'length($0) <= 4096' | sort -u > /tmp/mqtt-payloads.$$
# An even spread over the sorted payloads (sorting groups them by first byte: packet type).
total=$(wc -l < /tmp/mqtt-payloads.$$)
awk -v n="${SEEDS:-60}" -v t="$total" 'NR % int((t + n - 1) / n) == 0' /tmp/mqtt-payloads.$$ |
while read -r payload; do
    [ -n "$payload" ] || continue
    name=$(printf %s "$payload" | sha1sum | cut -c1-16)
    printf %s "$payload" | xxd -r -p > "$out/$name"
done
rm -f /tmp/mqtt-payloads.$$
ls "$out" | wc -l
