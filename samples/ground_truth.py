#!/usr/bin/env python3
"""Ground truth of the sample captures: what record.sh made happen, capture by capture.

`ground_truth.py write NAME --port P [--ws-port W]` checks samples/NAME.pcap against the
script's ground truth and writes samples/expected/NAME.json (the ports are only known at
recording time). The check frames MQTT packets out of the TCP (or WebSocket) payloads that tshark
extracts, and compares them stream by stream and direction by direction with what the script
did; it exits non-zero on a mismatch, so a recording that did not go as scripted is rejected.
It also records the frames where tshark's own MQTT dissector gets a packet wrong.

The JSON is read by the Rust tests in tests/ (see docs/samples.md for the schema). Field names
follow docs of the check report where they overlap (`stream`, `client_id`, `dir`, `kind`,
`packet_id`, `qos`, `topic`, `seen`, `missing`, `ended_by`).
"""

import collections
import copy
import json
import pathlib
import subprocess
import sys

HERE = pathlib.Path(__file__).resolve().parent
TYPE_NAMES = [
    "RESERVED", "CONNECT", "CONNACK", "PUBLISH", "PUBACK", "PUBREC", "PUBREL", "PUBCOMP",
    "SUBSCRIBE", "SUBACK", "UNSUBSCRIBE", "UNSUBACK", "PINGREQ", "PINGRESP", "DISCONNECT", "AUTH",
]


def stream(n, client_id, version, to_broker, to_client, *, ended_by, closed_by,
           transport="tcp", clean=True, keepalive=60, will=None, will_fired=False,
           session_present=False, note=None):
    """One TCP connection of a sample. `to_broker` / `to_client` count MQTT packets by type.
    `ended_by` is how the MQTT connection ended ("disconnect" when a DISCONNECT was sent,
    otherwise "fin"/"rst"); `closed_by` says which side closed TCP first."""
    return {
        "stream": n, "client_id": client_id, "version": version, "transport": transport,
        "clean_session": clean, "keepalive": keepalive, "session_present": session_present,
        "will": will, "will_fired": will_fired, "ended_by": ended_by, "closed_by": closed_by,
        "note": note,
        "packets": {"to_broker": to_broker, "to_client": to_client},
    }


def c(**kw):
    """Counts by packet type name, e.g. c(CONNECT=1, PUBLISH=2)."""
    return kw


SAMPLES = {
    "mqtt311-session": {
        "description": (
            "MQTT 3.1.1. A raw-socket subscriber `sub311` subscribes to test/# with QoS 2; four "
            "mosquitto_pub clients publish QoS 0, QoS 1, QoS 2 and a retained QoS 1 message, which "
            "the broker fans out to sub311 (acknowledged with PUBACK / PUBREC-PUBREL-PUBCOMP). "
            "sub311 then pings, unsubscribes and disconnects. A late mosquitto_sub `late311` "
            "subscribes to test/retained and receives the retained message with RETAIN set."),
        "streams": [
            stream(0, "sub311", 4,
                   c(CONNECT=1, SUBSCRIBE=1, PUBACK=2, PUBREC=1, PUBCOMP=1, PINGREQ=1, UNSUBSCRIBE=1, DISCONNECT=1),
                   c(CONNACK=1, SUBACK=1, PUBLISH=4, PUBREL=1, PINGRESP=1, UNSUBACK=1),
                   ended_by="disconnect", closed_by="client"),
            stream(1, "pub311-q0", 4, c(CONNECT=1, PUBLISH=1, DISCONNECT=1), c(CONNACK=1),
                   ended_by="disconnect", closed_by="client"),
            stream(2, "pub311-q1", 4, c(CONNECT=1, PUBLISH=1, DISCONNECT=1), c(CONNACK=1, PUBACK=1),
                   ended_by="disconnect", closed_by="client"),
            stream(3, "pub311-q2", 4, c(CONNECT=1, PUBLISH=1, PUBREL=1, DISCONNECT=1),
                   c(CONNACK=1, PUBREC=1, PUBCOMP=1), ended_by="disconnect", closed_by="client"),
            stream(4, "pub311-ret", 4, c(CONNECT=1, PUBLISH=1, DISCONNECT=1), c(CONNACK=1, PUBACK=1),
                   ended_by="disconnect", closed_by="client", note="PUBLISH with RETAIN set, QoS 1"),
            stream(5, "late311", 4, c(CONNECT=1, SUBSCRIBE=1, PUBACK=1, DISCONNECT=1),
                   c(CONNACK=1, SUBACK=1, PUBLISH=1), ended_by="disconnect", closed_by="client",
                   note="receives the retained message: PUBLISH to_client with RETAIN set"),
        ],
        "incomplete_flows": [],
        "facts": {"retained_delivered_to_late_subscriber": True, "fanout_qos": [0, 1, 2, 1]},
    },
    "mqtt5-session": {
        "description": (
            "MQTT 5.0. mosquitto_sub `sub5` (session expiry 30, receive maximum 10, user "
            "properties on CONNECT and SUBSCRIBE) subscribes to v5/# at QoS 1. A raw client `pub5` "
            "connects with session expiry 120, receive maximum 5, topic alias maximum 4, maximum "
            "packet size 65535, a user property and a will (v5/will, QoS 1, will delay 0, content "
            "type); publishes QoS 1 to v5/props with payload format, message expiry, topic alias 1, "
            "response topic, correlation data, content type and a user property; publishes again "
            "with an empty topic through alias 1; publishes QoS 1 to nobody/listens (PUBACK reason "
            "0x10 No matching subscribers); subscribes to v5/ok (no local, retain handling 2, QoS 1) "
            "and $share/grp/v5/shared (QoS 2), granted 0x01 and 0x02; completes a QoS 2 publish "
            "id 5 to v5/qos2; publishes to secret/x (QoS 1 id 6) and secret/y (QoS 2 id 7), which "
            "the broker's ACL denies: PUBACK 0x87 and PUBREC 0x87 Not authorized (no PUBREL "
            "follows, the QoS 2 exchange ended by the failure code); and disconnects with reason 0x04 (Disconnect with "
            "Will Message) and a reason string, so the broker publishes the will. sub5 receives 4 "
            "messages (v5/props twice, v5/qos2 downgraded to QoS 1, the will) and disconnects."),
        "streams": [
            stream(0, "sub5", 5, c(CONNECT=1, SUBSCRIBE=1, PUBACK=4, DISCONNECT=1),
                   c(CONNACK=1, SUBACK=1, PUBLISH=4), ended_by="disconnect", closed_by="client"),
            stream(1, "pub5", 5, c(CONNECT=1, PUBLISH=6, SUBSCRIBE=1, PUBREL=1, DISCONNECT=1),
                   c(CONNACK=1, PUBACK=4, SUBACK=1, PUBREC=2, PUBCOMP=1),
                   ended_by="disconnect", closed_by="client", keepalive=30, clean=True,
                   will={"topic": "v5/will", "qos": 1, "retain": False}, will_fired=True,
                   note="DISCONNECT reason 0x04 sends the will"),
        ],
        "incomplete_flows": [],
        # Exchanges the broker ended with a failure reason code (>= 0x80): complete on the wire,
        # failed in meaning.
        "failed_flows": [
            {"stream": 1, "client_id": "pub5", "dir": "to_broker", "kind": "qos1", "packet_id": 6,
             "qos": 1, "topic": "secret/x", "seen": ["PUBLISH", "PUBACK"], "reason_code": 135},
            {"stream": 1, "client_id": "pub5", "dir": "to_broker", "kind": "qos2", "packet_id": 7,
             "qos": 2, "topic": "secret/y", "seen": ["PUBLISH", "PUBREC"], "reason_code": 135},
        ],
        "facts": {
            "puback_reason_codes": {"1": 0, "2": 0, "3": 16, "6": 135},
            "pubrec_reason_codes": {"5": 0, "7": 135},
            "suback_reason_codes": [1, 2],
            "disconnect_reason_code": 4,
            "topic_alias": {"alias": 1, "topic": "v5/props", "publish_ids_using_alias_only": [2]},
        },
    },
    "mqtt31-session": {
        "description": (
            "MQTT 3.1 (protocol name MQIsdp, level 3). mosquitto_sub `sub31` subscribes to "
            "legacy/# at QoS 2; three mosquitto_pub clients publish QoS 0, 1 and 2; sub31 receives "
            "the three messages (QoS 2 with PUBREC/PUBREL/PUBCOMP) and disconnects."),
        "streams": [
            stream(0, "sub31", 3, c(CONNECT=1, SUBSCRIBE=1, PUBACK=1, PUBREC=1, PUBCOMP=1, DISCONNECT=1),
                   c(CONNACK=1, SUBACK=1, PUBLISH=3, PUBREL=1), ended_by="disconnect", closed_by="client"),
            stream(1, "pub31-q0", 3, c(CONNECT=1, PUBLISH=1, DISCONNECT=1), c(CONNACK=1),
                   ended_by="disconnect", closed_by="client"),
            stream(2, "pub31-q1", 3, c(CONNECT=1, PUBLISH=1, DISCONNECT=1), c(CONNACK=1, PUBACK=1),
                   ended_by="disconnect", closed_by="client"),
            stream(3, "pub31-q2", 3, c(CONNECT=1, PUBLISH=1, PUBREL=1, DISCONNECT=1),
                   c(CONNACK=1, PUBREC=1, PUBCOMP=1), ended_by="disconnect", closed_by="client"),
        ],
        "incomplete_flows": [],
        "facts": {"protocol_name": "MQIsdp"},
    },
    "will-fired": {
        "description": (
            "Last Will. mosquitto_sub `watcher` subscribes to will/# at QoS 1. mosquitto_pub "
            "`dying` connects with a will (will/dying, QoS 1, payload \"dying vanished\"), "
            "publishes one QoS 0 message to status/dying and is killed with SIGKILL: the kernel "
            "closes its socket (FIN) with no DISCONNECT, so the broker publishes the will, which "
            "watcher receives and acknowledges before disconnecting."),
        "streams": [
            stream(0, "watcher", 4, c(CONNECT=1, SUBSCRIBE=1, PUBACK=1, DISCONNECT=1),
                   c(CONNACK=1, SUBACK=1, PUBLISH=1), ended_by="disconnect", closed_by="client",
                   note="the PUBLISH it receives is the will of `dying`"),
            stream(1, "dying", 4, c(CONNECT=1, PUBLISH=1), c(CONNACK=1), ended_by="fin",
                   closed_by="client", will={"topic": "will/dying", "qos": 1, "retain": False},
                   will_fired=True, note="killed with SIGKILL: no DISCONNECT"),
        ],
        "incomplete_flows": [],
        "facts": {"will_topic": "will/dying", "will_payload": "dying vanished", "will_received_by": "watcher"},
    },
    "qos2-interrupted": {
        "description": (
            "A raw client `q2cut` sends a QoS 2 PUBLISH id 1 to qos2/cut; the broker answers PUBREC; "
            "the client closes the socket (FIN) without sending PUBREL or DISCONNECT. QoS 2 PUBLISH "
            "id 1 to_broker: PUBREC seen, PUBREL never sent, connection closed by FIN."),
        "streams": [
            stream(0, "q2cut", 4, c(CONNECT=1, PUBLISH=1), c(CONNACK=1, PUBREC=1),
                   ended_by="fin", closed_by="client"),
        ],
        "incomplete_flows": [
            {"stream": 0, "client_id": "q2cut", "dir": "to_broker", "kind": "qos2", "packet_id": 1,
             "qos": 2, "topic": "qos2/cut", "seen": ["PUBLISH", "PUBREC"],
             "missing": ["PUBREL", "PUBCOMP"], "ended_by": "fin"},
        ],
        "facts": {},
    },
    "qos1-never-acked": {
        "description": (
            "A raw subscriber `noack` subscribes to qos1/# at QoS 1. mosquitto_pub `pub-q1` "
            "publishes QoS 1 to qos1/x (acknowledged by the broker). The broker delivers it to noack "
            "as QoS 1 PUBLISH id 1; noack never sends PUBACK, sends DISCONNECT and closes."),
        "streams": [
            stream(0, "noack", 4, c(CONNECT=1, SUBSCRIBE=1, DISCONNECT=1),
                   c(CONNACK=1, SUBACK=1, PUBLISH=1), ended_by="disconnect", closed_by="client"),
            stream(1, "pub-q1", 4, c(CONNECT=1, PUBLISH=1, DISCONNECT=1), c(CONNACK=1, PUBACK=1),
                   ended_by="disconnect", closed_by="client"),
        ],
        "incomplete_flows": [
            {"stream": 0, "client_id": "noack", "dir": "to_client", "kind": "qos1", "packet_id": 1,
             "qos": 1, "topic": "qos1/x", "seen": ["PUBLISH"], "missing": ["PUBACK"],
             "ended_by": "disconnect"},
        ],
        "facts": {},
    },
    "qos1-redelivered": {
        "description": (
            "QoS 1 redelivery with DUP. A raw subscriber `redeliv` (clean session 0) subscribes to "
            "redo/# at QoS 1; mosquitto_pub `pub-redo` publishes QoS 1 to redo/x; the broker "
            "delivers it as PUBLISH id 1, which redeliv never acknowledges before DISCONNECT. "
            "redeliv reconnects with the same client id (session present = 1) and the broker "
            "resends PUBLISH id 1 with DUP = 1, which redeliv now acknowledges."),
        "streams": [
            stream(0, "redeliv", 4, c(CONNECT=1, SUBSCRIBE=1, DISCONNECT=1),
                   c(CONNACK=1, SUBACK=1, PUBLISH=1), ended_by="disconnect", closed_by="client",
                   clean=False, note="PUBLISH id 1 never acknowledged"),
            stream(1, "pub-redo", 4, c(CONNECT=1, PUBLISH=1, DISCONNECT=1), c(CONNACK=1, PUBACK=1),
                   ended_by="disconnect", closed_by="client"),
            stream(2, "redeliv", 4, c(CONNECT=1, PUBACK=1, DISCONNECT=1), c(CONNACK=1, PUBLISH=1),
                   ended_by="disconnect", closed_by="client", clean=False, session_present=True,
                   note="PUBLISH id 1 resent with DUP = 1, acknowledged"),
        ],
        "incomplete_flows": [
            {"stream": 0, "client_id": "redeliv", "dir": "to_client", "kind": "qos1", "packet_id": 1,
             "qos": 1, "topic": "redo/x", "seen": ["PUBLISH"], "missing": ["PUBACK"],
             "ended_by": "disconnect"},
        ],
        "facts": {
            "redelivered": {"stream": 2, "packet_id": 1, "dup": True, "original_stream": 0},
            "queued_messages_delivered": 1, "session_client_id": "redeliv",
        },
    },
    "persistent-session": {
        "description": (
            "Persistent session (MQTT 3.1.1, clean session 0). mosquitto_sub `psub` connects with "
            "clean session off, subscribes to persist/t at QoS 1 and disconnects. mosquitto_pub "
            "`ppub` publishes three QoS 1 messages (\"queued 1..3\") while psub is away. psub "
            "reconnects with the same client id (a raw client, so it does not subscribe again): "
            "CONNACK has session present = 1 and the broker delivers the three queued messages, "
            "which psub acknowledges before DISCONNECT."),
        "streams": [
            stream(0, "psub", 4, c(CONNECT=1, SUBSCRIBE=1, DISCONNECT=1), c(CONNACK=1, SUBACK=1),
                   ended_by="disconnect", closed_by="client", clean=False, session_present=False),
            stream(1, "ppub", 4, c(CONNECT=1, PUBLISH=3, DISCONNECT=1), c(CONNACK=1, PUBACK=3),
                   ended_by="disconnect", closed_by="client"),
            stream(2, "psub", 4, c(CONNECT=1, PUBACK=3, DISCONNECT=1), c(CONNACK=1, PUBLISH=3), ended_by="disconnect", closed_by="client",
                   clean=False, session_present=True, note="the three queued messages are delivered"),
        ],
        "incomplete_flows": [],
        "facts": {"queued_messages_delivered": 3, "session_client_id": "psub"},
    },
    "keepalive-lapse": {
        "description": (
            "Keepalive expiry. Raw client `sleepy311` (3.1.1, keepalive 1 s) connects and sends "
            "nothing more; the broker closes the TCP connection (FIN, no DISCONNECT) once the "
            "keepalive has lapsed. Then raw client `sleepy5` (5.0, keepalive 2 s) does the same and "
            "is closed the same way (mosquitto 2.0.11 sends no DISCONNECT 0x8D). Neither client "
            "sends PINGREQ. mosquitto checks keepalives on a coarse timer, so it closes later than "
            "1.5 x keepalive (about 3 to 6 s here); an analyzer flags the lapse at 1.5 x keepalive."),
        "streams": [
            stream(0, "sleepy311", 4, c(CONNECT=1), c(CONNACK=1), ended_by="fin", closed_by="broker",
                   keepalive=1, note="keepalive expired"),
            stream(1, "sleepy5", 5, c(CONNECT=1), c(CONNACK=1), ended_by="fin", closed_by="broker",
                   keepalive=2, note="keepalive expired"),
        ],
        "incomplete_flows": [],
        "facts": {"keepalive_expired_streams": [0, 1]},
    },
    "websocket": {
        "description": (
            "MQTT 3.1.1 over WebSocket (mosquitto `protocol websockets` listener, subprotocol "
            "\"mqtt\"). Raw client `ws1` upgrades, connects, subscribes to ws/# at QoS 1, publishes "
            "QoS 1 to ws/echo with the PUBLISH split across two WebSocket frames (5 bytes, then a "
            "continuation frame), receives its own message back and acknowledges it, sends PINGREQ "
            "and UNSUBSCRIBE together in one WebSocket frame, disconnects and closes the WebSocket."),
        "streams": [
            stream(0, "ws1", 4,
                   c(CONNECT=1, SUBSCRIBE=1, PUBLISH=1, PUBACK=1, PINGREQ=1, UNSUBSCRIBE=1, DISCONNECT=1),
                   c(CONNACK=1, SUBACK=1, PUBACK=1, PUBLISH=1, PINGRESP=1, UNSUBACK=1),
                   ended_by="disconnect", closed_by="client", transport="websocket"),
        ],
        "incomplete_flows": [],
        "facts": {"split_publish_ws_frames": 2, "packets_sharing_one_ws_frame": ["PINGREQ", "UNSUBSCRIBE"]},
    },
    "split-header": {
        "description": (
            "Fixed headers split across TCP segments. Raw client `split1` (TCP_NODELAY, a pause "
            "after each write) sends CONNECT as 1 byte + the rest; a QoS 1 PUBLISH with a 2-byte "
            "remaining length as segments of 1, 1, 1 and the rest bytes (type byte, first varint "
            "byte, second varint byte, body); PINGREQ as 1 + 1 bytes; a QoS 0 PUBLISH followed in "
            "the same segment by the first byte of DISCONNECT, whose length byte comes in the next "
            "segment."),
        "streams": [
            stream(0, "split1", 4, c(CONNECT=1, PUBLISH=2, PINGREQ=1, DISCONNECT=1),
                   c(CONNACK=1, PUBACK=1, PINGRESP=1), ended_by="disconnect", closed_by="client"),
        ],
        "incomplete_flows": [],
        "facts": {"segments": {"CONNECT": [1, 19], "PUBLISH id=1": [1, 1, 1, 525], "PINGREQ": [1, 1]}},
        "tshark_may_lose_sync": True,
    },
    "tls": {
        "description": (
            "MQTT 3.1.1 over TLS (mosquitto listener with a throwaway CA and a certificate for "
            "mqscope.test). Raw client `tls13` connects with TLS 1.3, then `tls12` with TLS 1.2, "
            "both with SNI mqscope.test; each sends CONNECT, a QoS 1 PUBLISH to tls/x (PUBACK) and "
            "DISCONNECT, then closes TLS (close_notify). The session keys are in tls.keylog "
            "(SSLKEYLOGFILE format), so tshark can decrypt with -o tls.keylog_file:tls.keylog."),
        "streams": [
            stream(0, "tls13", 4, c(CONNECT=1, PUBLISH=1, DISCONNECT=1), c(CONNACK=1, PUBACK=1),
                   ended_by="disconnect", closed_by="client", transport="tls",
                   note="TLS 1.3, SNI mqscope.test"),
            stream(1, "tls12", 4, c(CONNECT=1, PUBLISH=1, DISCONNECT=1), c(CONNACK=1, PUBACK=1),
                   ended_by="disconnect", closed_by="client", transport="tls",
                   note="TLS 1.2, SNI mqscope.test"),
        ],
        "incomplete_flows": [],
        "facts": {
            "sni": "mqscope.test",
            "tls_versions": {"0": 772, "1": 771},
            "keylog": "tls.keylog",
        },
    },
}


def totals(sample):
    """Packet counts by type over all streams and directions."""
    out = collections.Counter()
    for s in sample["streams"]:
        for counts in s["packets"].values():
            out.update(counts)
    return {name: out[name] for name in TYPE_NAMES if out[name]}


def _tshark(args):
    """Runs tshark -n with `args`, returning stdout."""
    return subprocess.run(["tshark", "-n", *args], check=True, capture_output=True, text=True).stdout


def payload_chunks(pcap, port, websocket):
    """(frame, stream, dir, bytes) of every MQTT-carrying payload, in capture order: TCP
    payloads (desegmentation off, MQTT dissector off: tshark only as a TCP parser) or, on a
    WebSocket port, the unmasked binary/continuation frame payloads tshark's WebSocket layer
    reassembles."""
    if websocket:
        out = _tshark(["-r", str(pcap), "-d", f"tcp.port=={port},http", "-Y", "websocket",
                       "-T", "fields", "-e", "frame.number", "-e", "tcp.stream", "-e", "tcp.dstport",
                       "-e", "websocket.opcode", "-e", "data.data"])
    else:
        out = _tshark(["-r", str(pcap), "-o", "tcp.desegment_tcp_streams:FALSE",
                       "--disable-protocol", "mqtt", "-Y", "tcp.len > 0", "-T", "fields",
                       "-e", "frame.number", "-e", "tcp.stream", "-e", "tcp.dstport",
                       "-e", "tcp.seq", "-e", "tcp.payload"])
    chunks = []
    for line in out.splitlines():
        frame, stream_no, dport, extra, hexdata = (line.split("\t") + [""] * 5)[:5]
        if websocket and extra not in ("0", "2"):
            continue  # close / ping / pong frames carry no MQTT
        direction = "to_broker" if int(dport) == port else "to_client"
        chunks.append((int(frame), int(stream_no), direction, bytes.fromhex(hexdata.replace(":", ""))))
    return chunks


def frame_packets(chunks):
    """Cuts MQTT control packets out of each direction's byte stream (fixed header: type and
    flags byte, remaining length varint of 1-4 bytes). A packet belongs to the frame holding its
    last byte. Returns dicts with frame, stream, dir, type, first_byte, remaining_length and
    packet_id (PUBLISH QoS > 0 and the four acknowledgements; None otherwise)."""
    buffers = collections.defaultdict(bytearray)
    packets = []
    for frame, stream_no, direction, data in chunks:
        buf = buffers[(stream_no, direction)]
        buf.extend(data)
        while len(buf) >= 2:
            length, shift, pos = 0, 0, 1
            while pos < len(buf) and pos <= 4:
                length |= (buf[pos] & 0x7F) << shift
                shift += 7
                pos += 1
                if not buf[pos - 1] & 0x80:
                    break
            else:
                if pos > 4:
                    raise ValueError(f"frame {frame}: remaining length over 4 bytes")
                break  # varint not complete yet
            if buf[pos - 1] & 0x80 or len(buf) < pos + length:
                break
            body = bytes(buf[pos:pos + length])
            packets.append({"frame": frame, "stream": stream_no, "dir": direction,
                            "type": TYPE_NAMES[buf[0] >> 4], "first_byte": buf[0],
                            "remaining_length": length, "packet_id": packet_id(buf[0], body)})
            del buf[:pos + length]
    return packets


def packet_id(first_byte, body):
    """The packet id of a PUBLISH (after its topic, QoS > 0) or PUBACK/PUBREC/PUBREL/PUBCOMP."""
    ptype, qos = first_byte >> 4, (first_byte >> 1) & 3
    at = None
    if ptype == 3 and qos and len(body) >= 2:
        at = 2 + int.from_bytes(body[:2], "big")
    elif 4 <= ptype <= 7:
        at = 0
    if at is None or len(body) < at + 2:
        return None
    return int.from_bytes(body[at:at + 2], "big")


def flow_frames(flow, packets):
    """Frames of the packets a flow saw, in order: the PUBLISH and PUBREL travel in the flow's
    direction, PUBACK / PUBREC / PUBCOMP the other way."""
    back = "to_client" if flow["dir"] == "to_broker" else "to_broker"
    frames, after = [], 0
    for ptype in flow["seen"]:
        direction = flow["dir"] if ptype in ("PUBLISH", "PUBREL") else back
        frame = next((p["frame"] for p in packets
                      if p["stream"] == flow["stream"] and p["dir"] == direction
                      and p["type"] == ptype and p["packet_id"] == flow["packet_id"]
                      and p["frame"] > after), None)
        if frame is None:
            sys.exit(f"flow {flow}: no {ptype} found in the capture")
        frames.append(frame)
        after = frame
    return frames


def tshark_mqtt_rows(pcap, port, keylog=None):
    """(frame, stream, dir, type) per MQTT PDU as tshark's MQTT dissector decodes it (inside TLS
    when a key log is given)."""
    decode = (["-o", f"tls.keylog_file:{keylog}", "-d", f"tcp.port=={port},tls",
               "-d", f"tls.port=={port},mqtt"] if keylog else ["-d", f"tcp.port=={port},mqtt"])
    out = _tshark(["-r", str(pcap), *decode, "-Y", "mqtt", "-T", "fields",
                   "-E", "separator=/t", "-E", "aggregator=,", "-e", "frame.number",
                   "-e", "tcp.stream", "-e", "tcp.dstport", "-e", "mqtt.msgtype"])
    rows = []
    for line in out.splitlines():
        frame, stream_s, dport, types = line.split("\t")
        direction = "to_broker" if int(dport) == port else "to_client"
        for t in types.split(","):
            rows.append((int(frame), int(stream_s), direction, TYPE_NAMES[int(t)]))
    return rows


def verify(doc):
    """Checks a capture against its ground truth; returns (problems, tshark_wrong_frames)."""
    pcap = HERE / doc["capture"]
    websocket = doc["websocket_port"] is not None
    if doc.get("tls_keylog"):
        # Encrypted: the only view of the MQTT is tshark's, decrypting with the key log.
        rows = tshark_mqtt_rows(pcap, doc["mqtt_port"], HERE / doc["tls_keylog"])
        oracle = [{"frame": f, "stream": s, "dir": d, "type": t, "packet_id": None}
                  for f, s, d, t in rows]
    else:
        oracle = frame_packets(payload_chunks(pcap, doc["mqtt_port"], websocket))
    seen = collections.defaultdict(collections.Counter)
    for p in oracle:
        seen[(p["stream"], p["dir"])][p["type"]] += 1
    problems = []
    for s in doc["streams"]:
        for direction, want in s["packets"].items():
            got = dict(seen.pop((s["stream"], direction), {}))
            if got != want:
                problems.append(f"stream {s['stream']} {direction}: capture holds {got}, expected {want}")
    for key, got in seen.items():
        problems.append(f"unexpected MQTT in stream {key[0]} {key[1]}: {dict(got)}")
    wrong = []
    if not websocket and not doc.get("tls_keylog"):
        truth = [(p["frame"], p["stream"], p["dir"], p["type"]) for p in oracle]
        decoded = tshark_mqtt_rows(pcap, doc["mqtt_port"])
        truth_frames = collections.defaultdict(list)
        tshark_frames = collections.defaultdict(list)
        for row in truth:
            truth_frames[row[0]].append(row)
        for row in decoded:
            tshark_frames[row[0]].append(row)
        wrong = sorted(f for f in set(truth_frames) | set(tshark_frames)
                       if truth_frames.get(f) != tshark_frames.get(f))
    return problems, wrong, oracle


def write(name, port, ws_port, tls=False):
    sample = SAMPLES[name]
    doc = {
        "name": name,
        "capture": f"{name}.pcap",
        "description": sample["description"],
        "broker_port": port,
        "websocket_port": ws_port,
        # The port MQTT (or the WebSocket carrying MQTT) is served on in this capture: tshark
        # needs `-d tcp.port==P,mqtt` (or `,http` for WebSocket) to look at it.
        "mqtt_port": ws_port or port,
        # MQTT over TLS on mqtt_port; the session keys (SSLKEYLOGFILE format) are in this file.
        "tls_keylog": f"{name}.keylog" if tls else None,
        "packet_counts": totals(sample),
        "streams": sample["streams"],
        "incomplete_flows": copy.deepcopy(sample["incomplete_flows"]),
        "failed_flows": copy.deepcopy(sample.get("failed_flows", [])),
        "will_fired": any(s["will_fired"] for s in sample["streams"]),
        "facts": sample["facts"],
    }
    problems, wrong, packets = verify(doc)
    total = len(packets)
    if problems:
        print(f"{name}: the capture does not hold what the script did:")
        for p in problems:
            print("  " + p)
        sys.exit(1)
    # Where each unfinished or failed flow's packets are, found in the verified capture.
    for flow in doc["incomplete_flows"] + doc["failed_flows"]:
        flow["frames"] = flow_frames(flow, packets)
    doc["tshark"] = {
        # tshark 4.0 has no MQTT-over-WebSocket dissection (no "mqtt" entry in ws.protocol).
        "decodes_mqtt": ws_port is None and not tls,
        # Frames where tshark's MQTT dissector disagrees with the byte-exact framing of the
        # reassembled stream (it loses sync when a fixed header is split across segments).
        "wrong_frames": wrong,
        "expected_wrong": sample.get("tshark_may_lose_sync", False),
    }
    if wrong and not sample.get("tshark_may_lose_sync", False):
        print(f"{name}: tshark's MQTT dissector disagrees at frames {wrong} (not expected here)")
        sys.exit(1)
    path = HERE / "expected" / f"{name}.json"
    path.parent.mkdir(exist_ok=True)
    path.write_text(json.dumps(doc, indent=2) + "\n")
    print(f"{name}: {total} MQTT packets as scripted; tshark MQTT "
          + ("blind (WebSocket)" if ws_port else "only with the key log (TLS)" if tls
             else f"wrong at frames {wrong}" if wrong else "agrees")
          + f"; wrote {path.relative_to(HERE.parent)}")


def main():
    if len(sys.argv) >= 3 and sys.argv[1] == "write":
        name, port, ws, tls = sys.argv[2], None, None, False
        args = sys.argv[3:]
        while args:
            if args[0] == "--tls":
                tls, args = True, args[1:]
                continue
            flag, value, args = args[0], int(args[1]), args[2:]
            if flag == "--port":
                port = value
            elif flag == "--ws-port":
                ws = value
        write(name, port, ws, tls)
    elif len(sys.argv) == 3 and sys.argv[1] == "rewrite":
        # Re-checks a committed capture and rewrites its JSON, ports taken from the old JSON.
        old = json.loads((HERE / "expected" / f"{sys.argv[2]}.json").read_text())
        write(sys.argv[2], old["broker_port"], old["websocket_port"], bool(old.get("tls_keylog")))
    elif len(sys.argv) == 2 and sys.argv[1] == "names":
        print("\n".join(SAMPLES))
    else:
        sys.exit("usage: ground_truth.py write NAME --port P [--ws-port W] | rewrite NAME | names")


if __name__ == "__main__":
    main()
