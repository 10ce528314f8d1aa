#!/usr/bin/env bash
# Records the sample captures of mqscope from a real mosquitto broker and real clients on
# loopback. Run as root (tcpdump on `lo`):
#
#     samples/record.sh              # every sample
#     samples/record.sh will-fired   # only the named ones
#
# For each sample: start a private mosquitto on free loopback port(s), start tcpdump on that
# port, drive the clients (mosquitto_pub / mosquitto_sub, or samples/mqtt_raw.py for flows a
# library will not produce), stop tcpdump, stop the broker, then write samples/expected/NAME.json
# (ground truth from samples/ground_truth.py plus the ports) after checking the capture against it.
# Idempotent: re-running overwrites NAME.pcap and NAME.json; nothing outside samples/ survives.
# Needs: mosquitto, mosquitto-clients, tcpdump, tshark, python3 (standard library only).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
RAW=(python3 "$HERE/mqtt_raw.py")
TRUTH=(python3 "$HERE/ground_truth.py")

if [[ $(id -u) -ne 0 ]]; then
    echo "record.sh: run as root (tcpdump needs to capture on lo)" >&2
    exit 2
fi
for tool in mosquitto mosquitto_pub mosquitto_sub tcpdump tshark python3; do
    command -v "$tool" >/dev/null || { echo "record.sh: $tool is not installed" >&2; exit 2; }
done

WORK=$(mktemp -d /tmp/mqscope-record.XXXXXX)
chmod 755 "$WORK" # mosquitto drops root for its own user and must read the ACL file here
BROKER_PID=""
DUMP_PID=""
BG_PIDS=()

cleanup() {
    local pid
    for pid in "${BG_PIDS[@]}" "$DUMP_PID" "$BROKER_PID"; do
        [[ -n $pid ]] && kill "$pid" 2>/dev/null || true
    done
    wait 2>/dev/null || true
    [[ -n ${KEEP_WORK:-} ]] && echo "record.sh: kept $WORK" >&2 || rm -rf "$WORK"
}
trap cleanup EXIT

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# start_broker NAME [extra config line...]: a private broker on a free port ($PORT).
start_broker() {
    local name=$1; shift
    PORT=$(free_port)
    local conf="$WORK/$name.conf"
    {
        echo "listener $PORT 127.0.0.1"
        echo "allow_anonymous true"
        echo "persistence false"
        printf '%s\n' "$@"
    } >"$conf"
    mosquitto -c "$conf" >"$WORK/$name.broker.log" 2>&1 &
    BROKER_PID=$!
    # Wait until it listens (before tcpdump starts, so these probes are not captured).
    local _
    for _ in $(seq 100); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then return 0; fi
        sleep 0.05
    done
    echo "record.sh: broker for $name did not start:" >&2
    cat "$WORK/$name.broker.log" >&2
    exit 1
}

stop_broker() {
    kill "$BROKER_PID" 2>/dev/null || true
    wait "$BROKER_PID" 2>/dev/null || true
    BROKER_PID=""
}

# start_capture NAME PORT: tcpdump on lo for that port into samples/NAME.pcap.
start_capture() {
    local name=$1 port=$2
    CAPTURE_NAME=$name
    rm -f "$HERE/$name.pcap"
    tcpdump -i lo --immediate-mode -U -s 0 -w "$HERE/$name.pcap" "tcp port $port" 2>"$WORK/$name.tcpdump.log" &
    DUMP_PID=$!
    local _
    for _ in $(seq 100); do
        grep -q "listening on" "$WORK/$name.tcpdump.log" 2>/dev/null && { sleep 0.2; return 0; }
        sleep 0.05
    done
    echo "record.sh: tcpdump did not start" >&2
    cat "$WORK/$name.tcpdump.log" >&2
    exit 1
}

stop_capture() {
    sleep 0.5 # let the last FIN/ACK reach the capture
    kill -INT "$DUMP_PID"
    wait "$DUMP_PID" 2>/dev/null || true
    DUMP_PID=""
    chown --reference="$HERE" "$HERE/$CAPTURE_NAME.pcap" # tcpdump wrote it as user tcpdump
}

# wait_ready FILE: a raw client creates FILE once its subscription is acknowledged.
wait_ready() {
    local _
    for _ in $(seq 200); do
        [[ -e $1 ]] && return 0
        sleep 0.05
    done
    echo "record.sh: client never became ready ($1)" >&2
    exit 1
}

# mosquitto_sub has no "subscribed" signal; give it time to CONNECT and SUBSCRIBE.
settle() { sleep 0.7; }

finish() {
    local name=$1; shift
    stop_capture
    stop_broker
    "${TRUTH[@]}" write "$name" "$@"
}

rec_mqtt311_session() {
    local name=mqtt311-session
    start_broker $name
    start_capture $name "$PORT"
    "${RAW[@]}" sub311 --port "$PORT" --count 4 --ready "$WORK/sub311.ready" &
    local sub=$!
    wait_ready "$WORK/sub311.ready"
    local pub=(mosquitto_pub -V mqttv311 -h 127.0.0.1 -p "$PORT")
    "${pub[@]}" -i pub311-q0 -t test/qos0 -m "qos 0 message" -q 0
    sleep 0.2
    "${pub[@]}" -i pub311-q1 -t test/qos1 -m "qos 1 message" -q 1
    sleep 0.2
    "${pub[@]}" -i pub311-q2 -t test/qos2 -m "qos 2 message" -q 2
    sleep 0.2
    "${pub[@]}" -i pub311-ret -t test/retained -m "retained message" -q 1 -r
    wait $sub
    mosquitto_sub -V mqttv311 -h 127.0.0.1 -p "$PORT" -i late311 -t test/retained -q 1 -C 1 -v
    finish $name --port "$PORT"
}

rec_mqtt5_session() {
    local name=mqtt5-session
    # The ACL denies secret/# so that a SUBSCRIBE gets a failure reason code (0x87).
    printf 'topic readwrite #\ntopic deny secret/#\n' >"$WORK/acl"
    start_broker $name "acl_file $WORK/acl"
    start_capture $name "$PORT"
    mosquitto_sub -V mqttv5 -h 127.0.0.1 -p "$PORT" -i sub5 -q 1 -t 'v5/#' -C 4 -v \
        -D connect session-expiry-interval 30 -D connect receive-maximum 10 \
        -D connect user-property role subscriber -D subscribe user-property purpose sample &
    local sub=$!
    BG_PIDS+=("$sub")
    settle
    "${RAW[@]}" pub5 --port "$PORT"
    wait $sub
    finish $name --port "$PORT"
}

rec_mqtt31_session() {
    local name=mqtt31-session
    start_broker $name
    start_capture $name "$PORT"
    mosquitto_sub -V mqttv31 -h 127.0.0.1 -p "$PORT" -i sub31 -q 2 -t 'legacy/#' -C 3 -v &
    local sub=$!
    BG_PIDS+=("$sub")
    settle
    local pub=(mosquitto_pub -V mqttv31 -h 127.0.0.1 -p "$PORT")
    "${pub[@]}" -i pub31-q0 -t legacy/q0 -m "mqisdp qos 0" -q 0
    sleep 0.2
    "${pub[@]}" -i pub31-q1 -t legacy/q1 -m "mqisdp qos 1" -q 1
    sleep 0.2
    "${pub[@]}" -i pub31-q2 -t legacy/q2 -m "mqisdp qos 2" -q 2
    wait $sub
    finish $name --port "$PORT"
}

rec_will_fired() {
    local name=will-fired
    start_broker $name
    start_capture $name "$PORT"
    mosquitto_sub -V mqttv311 -h 127.0.0.1 -p "$PORT" -i watcher -q 1 -t 'will/#' -C 1 -v &
    local sub=$!
    BG_PIDS+=("$sub")
    settle
    # mosquitto_pub -l stays connected while its stdin (a FIFO we hold open) is open.
    mkfifo "$WORK/dying.in"
    mosquitto_pub -V mqttv311 -h 127.0.0.1 -p "$PORT" -i dying -l -t status/dying -q 0 \
        --will-topic will/dying --will-payload "dying vanished" --will-qos 1 <"$WORK/dying.in" &
    local dying=$!
    BG_PIDS+=("$dying")
    exec 3>"$WORK/dying.in"
    echo "still alive" >&3
    sleep 0.5
    kill -9 "$dying" # no DISCONNECT: the kernel closes the socket and the will fires
    wait "$dying" 2>/dev/null || true
    exec 3>&-
    wait $sub
    finish $name --port "$PORT"
}

rec_qos2_interrupted() {
    local name=qos2-interrupted
    start_broker $name
    start_capture $name "$PORT"
    "${RAW[@]}" qos2-cut --port "$PORT"
    finish $name --port "$PORT"
}

rec_qos1_never_acked() {
    local name=qos1-never-acked
    start_broker $name
    start_capture $name "$PORT"
    "${RAW[@]}" noack --port "$PORT" --ready "$WORK/noack.ready" &
    local sub=$!
    wait_ready "$WORK/noack.ready"
    mosquitto_pub -V mqttv311 -h 127.0.0.1 -p "$PORT" -i pub-q1 -t qos1/x -m "please ack" -q 1
    wait $sub
    finish $name --port "$PORT"
}

rec_qos1_redelivered() {
    local name=qos1-redelivered
    start_broker $name
    start_capture $name "$PORT"
    "${RAW[@]}" redeliver --port "$PORT" --ready "$WORK/redeliv.ready" &
    local sub=$!
    wait_ready "$WORK/redeliv.ready"
    mosquitto_pub -V mqttv311 -h 127.0.0.1 -p "$PORT" -i pub-redo -t redo/x -m "deliver me twice" -q 1
    wait $sub
    finish $name --port "$PORT"
}

rec_persistent_session() {
    local name=persistent-session
    start_broker $name
    start_capture $name "$PORT"
    local sub=(mosquitto_sub -V mqttv311 -h 127.0.0.1 -p "$PORT" -i psub -c -q 1 -t persist/t)
    "${sub[@]}" -E
    printf 'queued 1\nqueued 2\nqueued 3\n' |
        mosquitto_pub -V mqttv311 -h 127.0.0.1 -p "$PORT" -i ppub -t persist/t -q 1 -l
    # The reconnect is a raw client: it must not SUBSCRIBE again (the session holds the
    # subscription) and must end with DISCONNECT every time (mosquitto_sub -C sometimes resets).
    "${RAW[@]}" resume --port "$PORT" --client-id psub --count 3
    finish $name --port "$PORT"
}

rec_keepalive_lapse() {
    local name=keepalive-lapse
    start_broker $name
    start_capture $name "$PORT"
    "${RAW[@]}" sleepy --port "$PORT" --client-id sleepy311 --level 4 --keepalive 1
    "${RAW[@]}" sleepy --port "$PORT" --client-id sleepy5 --level 5 --keepalive 2
    finish $name --port "$PORT"
}

rec_websocket() {
    local name=websocket
    WS_PORT=$(free_port)
    start_broker $name "listener $WS_PORT 127.0.0.1" "protocol websockets"
    start_capture $name "$WS_PORT"
    "${RAW[@]}" websocket --port "$WS_PORT"
    finish $name --port "$PORT" --ws-port "$WS_PORT"
}

rec_tls() {
    local name=tls
    # A throwaway CA and a server certificate for mqscope.test (EC keys: small handshakes).
    local ec=(-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes)
    openssl req -x509 "${ec[@]}" -keyout "$WORK/ca.key" -out "$WORK/ca.crt" -days 2 \
        -subj "/CN=mqscope sample CA" 2>/dev/null
    openssl req "${ec[@]}" -keyout "$WORK/server.key" -out "$WORK/server.csr" \
        -subj "/CN=mqscope.test" 2>/dev/null
    printf 'subjectAltName=DNS:mqscope.test\n' >"$WORK/san.ext"
    openssl x509 -req -in "$WORK/server.csr" -CA "$WORK/ca.crt" -CAkey "$WORK/ca.key" \
        -CAcreateserial -out "$WORK/server.crt" -days 2 -extfile "$WORK/san.ext" 2>/dev/null
    chmod 644 "$WORK"/*.key
    start_broker $name "cafile $WORK/ca.crt" "certfile $WORK/server.crt" "keyfile $WORK/server.key"
    start_capture $name "$PORT"
    rm -f "$HERE/$name.keylog"
    "${RAW[@]}" tls --port "$PORT" --cafile "$WORK/ca.crt" --keylog "$HERE/$name.keylog"
    finish $name --port "$PORT" --tls
}

rec_split_header() {
    local name=split-header
    start_broker $name
    start_capture $name "$PORT"
    "${RAW[@]}" split --port "$PORT"
    finish $name --port "$PORT"
}

ALL=(mqtt311-session mqtt5-session mqtt31-session will-fired qos2-interrupted qos1-never-acked
    qos1-redelivered persistent-session keepalive-lapse websocket split-header tls)
NAMES=("$@")
[[ ${#NAMES[@]} -eq 0 ]] && NAMES=("${ALL[@]}")
for name in "${NAMES[@]}"; do
    fn="rec_${name//-/_}"
    declare -F "$fn" >/dev/null || { echo "record.sh: unknown sample $name (known: ${ALL[*]})" >&2; exit 2; }
    echo "== $name"
    "$fn"
    BG_PIDS=()
done
echo "recorded: ${NAMES[*]}"
