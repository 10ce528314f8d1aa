#!/usr/bin/env python3
"""A deliberately small MQTT client on raw sockets, for recording sample captures.

mosquitto_pub / mosquitto_sub drive the ordinary traffic; this module is for the flows a
well-behaved library will not produce on demand: a QoS 2 exchange abandoned after PUBREC, a
subscriber that never acknowledges, a client that falls silent past its keepalive, MQTT over
WebSocket with packets split across frames, fixed headers split across TCP segments.

Each scenario is a subcommand (`python3 mqtt_raw.py SCENARIO --port P`). It prints one line per
step to stdout, so the recording log says what the script knows happened, and exits non-zero
when the broker does not answer as expected (the recording is then rejected).

Encoding follows MQTT 3.1.1 (OASIS 2014) and MQTT 5.0 (OASIS 2019); section numbers below are
MQTT 5.0's unless noted.
"""

import argparse
import base64
import os
import signal
import socket
import ssl
import struct
import sys
import time

# Control packet types (§2.1.2).
CONNECT, CONNACK, PUBLISH, PUBACK, PUBREC, PUBREL, PUBCOMP = 1, 2, 3, 4, 5, 6, 7
SUBSCRIBE, SUBACK, UNSUBSCRIBE, UNSUBACK, PINGREQ, PINGRESP, DISCONNECT = 8, 9, 10, 11, 12, 13, 14
NAMES = {
    1: "CONNECT", 2: "CONNACK", 3: "PUBLISH", 4: "PUBACK", 5: "PUBREC", 6: "PUBREL",
    7: "PUBCOMP", 8: "SUBSCRIBE", 9: "SUBACK", 10: "UNSUBSCRIBE", 11: "UNSUBACK",
    12: "PINGREQ", 13: "PINGRESP", 14: "DISCONNECT", 15: "AUTH",
}


def log(*parts):
    print(*parts, flush=True)


def fail(msg):
    log("FAIL:", msg)
    sys.exit(1)


# ---------------------------------------------------------------- encoding

def varint(n):
    """Variable byte integer (§1.5.5): 7 bits per byte, high bit = continuation."""
    out = bytearray()
    while True:
        byte, n = n % 128, n // 128
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def mstr(value):
    """UTF-8 string or binary data with a two-byte length prefix (§1.5.4, §1.5.6)."""
    raw = value.encode() if isinstance(value, str) else bytes(value)
    return struct.pack("!H", len(raw)) + raw


def packet(ptype, flags, body=b""):
    """Fixed header (§2.1.1) + body."""
    return bytes([(ptype << 4) | flags]) + varint(len(body)) + body


# MQTT 5 properties (§2.2.2.2): identifier, then a value of the identifier's wire type.
def p_byte(pid, v):
    return bytes([pid, v])


def p_u16(pid, v):
    return bytes([pid]) + struct.pack("!H", v)


def p_u32(pid, v):
    return bytes([pid]) + struct.pack("!I", v)


def p_str(pid, v):
    return bytes([pid]) + mstr(v)


def p_pair(k, v):
    return bytes([0x26]) + mstr(k) + mstr(v)


def props(*items):
    block = b"".join(items)
    return varint(len(block)) + block


PAYLOAD_FORMAT, MESSAGE_EXPIRY, CONTENT_TYPE, RESPONSE_TOPIC, CORRELATION_DATA = 0x01, 0x02, 0x03, 0x08, 0x09
SESSION_EXPIRY, WILL_DELAY, RECEIVE_MAXIMUM, TOPIC_ALIAS_MAXIMUM, TOPIC_ALIAS = 0x11, 0x18, 0x21, 0x22, 0x23
MAXIMUM_PACKET_SIZE, REASON_STRING = 0x27, 0x1F


def connect(client_id, level=4, keepalive=60, clean=True, will=None, properties=None):
    """CONNECT (§3.1). `will` is (topic, payload, qos, retain, will_properties_or_None)."""
    name = "MQIsdp" if level == 3 else "MQTT"
    flags = 0x02 if clean else 0
    payload = mstr(client_id)
    if will:
        topic, message, qos, retain, wprops = will
        flags |= 0x04 | (qos << 3) | (0x20 if retain else 0)
        if level == 5:
            payload += wprops if wprops is not None else props()
        payload += mstr(topic) + mstr(message)
    body = mstr(name) + bytes([level, flags]) + struct.pack("!H", keepalive)
    if level == 5:
        body += properties if properties is not None else props()
    return packet(CONNECT, 0, body + payload)


def publish(topic, payload, qos=0, pid=None, retain=False, dup=False, v5=False, properties=None):
    """PUBLISH (§3.3): flags DUP(3) QoS(2-1) RETAIN(0)."""
    flags = (0x08 if dup else 0) | (qos << 1) | (0x01 if retain else 0)
    body = mstr(topic)
    if qos:
        body += struct.pack("!H", pid)
    if v5:
        body += properties if properties is not None else props()
    return packet(PUBLISH, flags, body + payload)


def ack(ptype, pid):
    """PUBACK / PUBREC / PUBREL / PUBCOMP in their short form (§3.4.2.1: reason 0 may be omitted).
    PUBREL's flags are 0b0010 (§3.6.1)."""
    return packet(ptype, 0x02 if ptype == PUBREL else 0, struct.pack("!H", pid))


def subscribe(pid, filters, v5=False, properties=None):
    """SUBSCRIBE (§3.8): flags 0b0010; filters are (filter, options byte)."""
    body = struct.pack("!H", pid)
    if v5:
        body += properties if properties is not None else props()
    for topic_filter, options in filters:
        body += mstr(topic_filter) + bytes([options])
    return packet(SUBSCRIBE, 0x02, body)


def unsubscribe(pid, filters, v5=False):
    """UNSUBSCRIBE (§3.10): flags 0b0010."""
    body = struct.pack("!H", pid) + (props() if v5 else b"")
    for topic_filter in filters:
        body += mstr(topic_filter)
    return packet(UNSUBSCRIBE, 0x02, body)


def pingreq():
    return packet(PINGREQ, 0)


def disconnect(reason=None, properties=None):
    """DISCONNECT (§3.14); v3 has no body, v5 may carry a reason code and properties."""
    body = b""
    if reason is not None:
        body = bytes([reason]) + (properties if properties is not None else b"")
    return packet(DISCONNECT, 0, body)


# ---------------------------------------------------------------- transport

class Conn:
    """One client connection: plain TCP, or WebSocket (RFC 6455) when `ws` is true."""

    def __init__(self, port, name, ws=False, nodelay=True, tls=None, server_name=None):
        self.name = name
        self.ws = ws
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        if nodelay:
            self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if tls is not None:
            # The SNI is sent although we connect to an IP address: server_hostname sets it.
            self.sock = tls.wrap_socket(self.sock, server_hostname=server_name)
            log(f"{name}: TLS handshake done: {self.sock.version()}, SNI {server_name}")
        self.inbuf = b""  # MQTT bytes received but not yet parsed
        self.rawbuf = b""  # WebSocket: socket bytes not yet parsed as frames
        if ws:
            self._ws_handshake(port)

    # -- WebSocket

    def _ws_handshake(self, port):
        key = base64.b64encode(os.urandom(16)).decode()
        request = (
            "GET /mqtt HTTP/1.1\r\n"
            f"Host: 127.0.0.1:{port}\r\n"
            "Upgrade: websocket\r\n"
            "Connection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\n"
            "Sec-WebSocket-Version: 13\r\n"
            # MQTT 5.0 §6.0: the client MUST include "mqtt" in the subprotocol list.
            "Sec-WebSocket-Protocol: mqtt\r\n\r\n"
        )
        self.sock.sendall(request.encode())
        while b"\r\n\r\n" not in self.rawbuf:
            chunk = self.sock.recv(4096)
            if not chunk:
                fail(f"{self.name}: connection closed during WebSocket handshake")
            self.rawbuf += chunk
        head, self.rawbuf = self.rawbuf.split(b"\r\n\r\n", 1)
        if b" 101 " not in head.split(b"\r\n", 1)[0]:
            fail(f"{self.name}: WebSocket upgrade refused: {head!r}")
        log(f"{self.name}: WebSocket upgraded (101)")

    def ws_frame(self, payload, opcode=0x2, fin=True):
        """A client frame: masked, as RFC 6455 §5.3 requires of clients."""
        mask = os.urandom(4)
        first = (0x80 if fin else 0) | opcode
        n = len(payload)
        if n < 126:
            head = bytes([first, 0x80 | n])
        elif n < 65536:
            head = bytes([first, 0x80 | 126]) + struct.pack("!H", n)
        else:
            head = bytes([first, 0x80 | 127]) + struct.pack("!Q", n)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        return head + mask + masked

    def _ws_fill(self):
        """Reads socket bytes and moves whole frames' payloads into `inbuf`. False on EOF."""
        while True:
            frame = self._ws_parse()
            if frame is None:
                chunk = self.sock.recv(4096)
                if not chunk:
                    return False
                self.rawbuf += chunk
                continue
            opcode, payload = frame
            if opcode in (0x0, 0x2):
                self.inbuf += payload
                return True
            if opcode == 0x8:
                log(f"{self.name}: WebSocket close frame received")
                return False
            # ping / pong / text: not expected from mosquitto here; ignore.

    def _ws_parse(self):
        buf = self.rawbuf
        if len(buf) < 2:
            return None
        opcode, n, pos = buf[0] & 0x0F, buf[1] & 0x7F, 2
        if n == 126:
            if len(buf) < 4:
                return None
            n, pos = struct.unpack("!H", buf[2:4])[0], 4
        elif n == 127:
            if len(buf) < 10:
                return None
            n, pos = struct.unpack("!Q", buf[2:10])[0], 10
        if buf[1] & 0x80:
            pos += 4  # servers do not mask, but skip a mask key if one is there
        if len(buf) < pos + n:
            return None
        self.rawbuf = buf[pos + n:]
        return opcode, buf[pos:pos + n]

    # -- MQTT

    def send(self, data, what=None):
        """Sends MQTT bytes (one WebSocket binary frame per call on a WebSocket connection)."""
        self.sock.sendall(self.ws_frame(data) if self.ws else data)
        if what:
            log(f"{self.name}: sent {what}")

    def send_raw(self, data):
        self.sock.sendall(data)

    def _fill(self):
        if self.ws:
            return self._ws_fill()
        chunk = self.sock.recv(4096)
        if not chunk:
            return False
        self.inbuf += chunk
        return True

    def recv(self, timeout=5.0):
        """One MQTT packet as (type, flags, body), or None when the peer closed."""
        self.sock.settimeout(timeout)
        while True:
            parsed = self._parse()
            if parsed is not None:
                return parsed
            try:
                if not self._fill():
                    return None
            except socket.timeout:
                fail(f"{self.name}: nothing received within {timeout} s")
            except ConnectionResetError:
                return None

    def _parse(self):
        buf = self.inbuf
        if len(buf) < 2:
            return None
        length, mult, pos = 0, 1, 1
        while True:
            if pos >= len(buf):
                return None
            byte = buf[pos]
            length += (byte & 0x7F) * mult
            mult *= 128
            pos += 1
            if not byte & 0x80:
                break
        if len(buf) < pos + length:
            return None
        self.inbuf = buf[pos + length:]
        return buf[0] >> 4, buf[0] & 0x0F, buf[pos:pos + length]

    def expect(self, ptype, timeout=5.0):
        got = self.recv(timeout)
        if got is None:
            fail(f"{self.name}: connection closed while waiting for {NAMES[ptype]}")
        if got[0] != ptype:
            fail(f"{self.name}: expected {NAMES[ptype]}, got {NAMES.get(got[0], got[0])} {got[2].hex()}")
        log(f"{self.name}: received {NAMES[ptype]} {got[2].hex()}")
        return got

    def close(self):
        """Orderly TCP close (FIN), with no MQTT DISCONNECT unless the caller sent one. On a
        WebSocket, a close frame first unless the server has already closed."""
        try:
            if self.ws:
                self.sock.sendall(self.ws_frame(struct.pack("!H", 1000), opcode=0x8))
            if isinstance(self.sock, ssl.SSLSocket):
                self.sock = self.sock.unwrap()  # TLS close_notify, then the plain socket
            self.sock.shutdown(socket.SHUT_WR)
        except OSError as e:  # the broker may have closed first (e.g. right after DISCONNECT)
            log(f"{self.name}: peer had already closed ({e.strerror})")
        self.sock.settimeout(3)
        try:
            while self.sock.recv(4096):
                pass
        except OSError:
            pass
        self.sock.close()
        log(f"{self.name}: socket closed")


def handle_inbound(conn, got, pending_qos2, ack_qos=True):
    """Answers a broker PUBLISH / PUBREL the way a compliant subscriber does. Returns True when
    a PUBLISH was consumed."""
    ptype, flags, body = got
    if ptype == PUBLISH:
        qos = (flags >> 1) & 3
        tlen = struct.unpack("!H", body[:2])[0]
        topic = body[2:2 + tlen].decode()
        pid = struct.unpack("!H", body[2 + tlen:4 + tlen])[0] if qos else None
        log(f"{conn.name}: received PUBLISH topic={topic} qos={qos} retain={flags & 1} id={pid}")
        if qos == 1 and ack_qos:
            conn.send(ack(PUBACK, pid), f"PUBACK id={pid}")
        elif qos == 2 and ack_qos:
            conn.send(ack(PUBREC, pid), f"PUBREC id={pid}")
            pending_qos2.add(pid)
        return True
    if ptype == PUBREL:
        pid = struct.unpack("!H", body[:2])[0]
        log(f"{conn.name}: received PUBREL id={pid}")
        conn.send(ack(PUBCOMP, pid), f"PUBCOMP id={pid}")
        pending_qos2.discard(pid)
        return False
    fail(f"{conn.name}: unexpected {NAMES.get(ptype, ptype)}")


def announce_ready(path):
    """Tells record.sh that the subscription is in place (it polls for the file)."""
    if path:
        with open(path, "w") as f:
            f.write("ready\n")


# ---------------------------------------------------------------- scenarios

def sc_sub311(a):
    """3.1.1 subscriber: SUBSCRIBE test/# QoS 2, take `count` messages acknowledging each,
    PINGREQ, UNSUBSCRIBE, DISCONNECT."""
    c = Conn(a.port, "sub311")
    c.send(connect("sub311", level=4, keepalive=60), "CONNECT")
    c.expect(CONNACK)
    c.send(subscribe(1, [("test/#", 2)]), "SUBSCRIBE id=1 test/# qos=2")
    c.expect(SUBACK)
    announce_ready(a.ready)
    received, pending = 0, set()
    while received < a.count or pending:
        got = c.recv(timeout=15)
        if got is None:
            fail("sub311: broker closed the connection")
        received += handle_inbound(c, got, pending)
    c.send(pingreq(), "PINGREQ")
    c.expect(PINGRESP)
    c.send(unsubscribe(2, ["test/#"]), "UNSUBSCRIBE id=2 test/#")
    c.expect(UNSUBACK)
    c.send(disconnect(), "DISCONNECT")
    c.close()


def sc_pub5(a):
    """MQTT 5 publisher with properties, topic alias, reason codes and a will sent by
    DISCONNECT 0x04."""
    c = Conn(a.port, "pub5")
    will_props = props(p_u32(WILL_DELAY, 0), p_str(CONTENT_TYPE, "text/plain"))
    c.send(connect("pub5", level=5, keepalive=30,
                   will=("v5/will", b"pub5 left", 1, False, will_props),
                   properties=props(p_u32(SESSION_EXPIRY, 120), p_u16(RECEIVE_MAXIMUM, 5),
                                    p_u16(TOPIC_ALIAS_MAXIMUM, 4), p_u32(MAXIMUM_PACKET_SIZE, 65535),
                                    p_pair("app", "mqscope-sample"))),
           "CONNECT v5 session-expiry=120 receive-max=5 topic-alias-max=4 will=v5/will")
    c.expect(CONNACK)
    full = props(p_byte(PAYLOAD_FORMAT, 1), p_u32(MESSAGE_EXPIRY, 30), p_u16(TOPIC_ALIAS, 1),
                 p_str(RESPONSE_TOPIC, "v5/reply"), p_str(CORRELATION_DATA, b"\x01\x02req-1"),
                 p_str(CONTENT_TYPE, "text/plain"), p_pair("k", "v"))
    c.send(publish("v5/props", b"with properties", qos=1, pid=1, v5=True, properties=full),
           "PUBLISH id=1 v5/props qos=1 with alias 1 and properties")
    c.expect(PUBACK)
    c.send(publish("", b"via alias", qos=1, pid=2, v5=True, properties=props(p_u16(TOPIC_ALIAS, 1))),
           "PUBLISH id=2 empty topic, topic alias 1 (= v5/props)")
    c.expect(PUBACK)
    c.send(publish("nobody/listens", b"void", qos=1, pid=3, v5=True),
           "PUBLISH id=3 nobody/listens qos=1")
    _, _, body = c.expect(PUBACK)
    if len(body) < 3 or body[2] != 0x10:
        fail(f"pub5: expected PUBACK reason 0x10, got {body.hex()}")
    c.send(subscribe(4, [("v5/ok", 0x24 | 1), ("$share/grp/v5/shared", 2)], v5=True,
                     properties=props(p_pair("why", "sample"))),
           "SUBSCRIBE id=4 v5/ok (no local, retain handling 2, QoS 1), $share/grp/v5/shared (QoS 2)")
    _, _, body = c.expect(SUBACK)
    log(f"pub5: SUBACK reason codes {body[3:].hex()}")
    c.send(publish("v5/qos2", b"exactly once", qos=2, pid=5, v5=True), "PUBLISH id=5 v5/qos2 qos=2")
    c.expect(PUBREC)
    c.send(ack(PUBREL, 5), "PUBREL id=5")
    c.expect(PUBCOMP)
    # The broker's ACL denies secret/#: QoS 1 gets PUBACK 0x87, QoS 2 gets PUBREC 0x87, which
    # ends that QoS 2 exchange (§4.3.3: no PUBREL after a PUBREC reason code >= 0x80).
    c.send(publish("secret/x", b"denied", qos=1, pid=6, v5=True), "PUBLISH id=6 secret/x qos=1 (ACL-denied)")
    _, _, body = c.expect(PUBACK)
    if len(body) < 3 or body[2] != 0x87:
        fail(f"pub5: expected PUBACK reason 0x87, got {body.hex()}")
    c.send(publish("secret/y", b"denied", qos=2, pid=7, v5=True), "PUBLISH id=7 secret/y qos=2 (ACL-denied)")
    _, _, body = c.expect(PUBREC)
    if len(body) < 3 or body[2] != 0x87:
        fail(f"pub5: expected PUBREC reason 0x87, got {body.hex()}")
    c.send(disconnect(0x04, props(p_str(REASON_STRING, "bye with will"))),
           "DISCONNECT reason 0x04 (disconnect with will message)")
    c.close()


def sc_qos2_cut(a):
    """QoS 2 PUBLISH to the broker; PUBREC comes back; the client closes without PUBREL."""
    c = Conn(a.port, "q2cut")
    c.send(connect("q2cut", level=4, keepalive=60), "CONNECT")
    c.expect(CONNACK)
    c.send(publish("qos2/cut", b"half done", qos=2, pid=1), "PUBLISH id=1 qos2/cut qos=2")
    c.expect(PUBREC)
    log("q2cut: closing without PUBREL")
    c.close()


def sc_noack(a):
    """Subscriber QoS 1 that takes a PUBLISH and never PUBACKs it, then DISCONNECTs."""
    c = Conn(a.port, "noack")
    c.send(connect("noack", level=4, keepalive=60), "CONNECT")
    c.expect(CONNACK)
    c.send(subscribe(1, [("qos1/#", 1)]), "SUBSCRIBE id=1 qos1/# qos=1")
    c.expect(SUBACK)
    announce_ready(a.ready)
    got = c.recv(timeout=15)
    if got is None or got[0] != PUBLISH:
        fail("noack: no PUBLISH delivered")
    handle_inbound(c, got, set(), ack_qos=False)
    log("noack: not acknowledging; disconnecting")
    c.send(disconnect(), "DISCONNECT")
    c.close()


def sc_redeliver(a):
    """Persistent-session subscriber that leaves a QoS 1 delivery unacknowledged, reconnects and
    gets it again: the broker must resend it with DUP set (MQTT 3.1.1 §4.4)."""
    name = "redeliv"
    c = Conn(a.port, name)
    c.send(connect(name, level=4, keepalive=60, clean=False), "CONNECT clean-session=0")
    c.expect(CONNACK)
    c.send(subscribe(1, [("redo/#", 1)]), "SUBSCRIBE id=1 redo/# qos=1")
    c.expect(SUBACK)
    announce_ready(a.ready)
    got = c.recv(timeout=15)
    if got is None or got[0] != PUBLISH:
        fail(f"{name}: no PUBLISH delivered")
    handle_inbound(c, got, set(), ack_qos=False)
    log(f"{name}: not acknowledging; disconnecting")
    c.send(disconnect(), "DISCONNECT")
    c.close()
    c = Conn(a.port, name)
    c.send(connect(name, level=4, keepalive=60, clean=False), "CONNECT clean-session=0 (again)")
    _, _, body = c.expect(CONNACK)
    if body[0] & 1 != 1:
        fail(f"{name}: CONNACK without session present")
    got = c.recv(timeout=15)
    if got is None or got[0] != PUBLISH:
        fail(f"{name}: the unacknowledged PUBLISH was not resent")
    if not got[1] & 0x08:
        fail(f"{name}: resent PUBLISH without DUP")
    log(f"{name}: resent PUBLISH has DUP set")
    handle_inbound(c, got, set())
    c.send(disconnect(), "DISCONNECT")
    c.close()


def sc_tls(a):
    """MQTT 3.1.1 over TLS, once with TLS 1.3 and once with TLS 1.2, SNI "mqscope.test", the
    session keys written to a key log (SSLKEYLOGFILE format) so tshark can decrypt."""
    for name, version in (("tls13", ssl.TLSVersion.TLSv1_3), ("tls12", ssl.TLSVersion.TLSv1_2)):
        context = ssl.create_default_context(cafile=a.cafile)
        context.minimum_version = context.maximum_version = version
        context.keylog_filename = a.keylog
        c = Conn(a.port, name, tls=context, server_name="mqscope.test")
        c.send(connect(name, level=4, keepalive=60), "CONNECT")
        c.expect(CONNACK)
        c.send(publish("tls/x", b"encrypted", qos=1, pid=1), "PUBLISH id=1 tls/x qos=1")
        c.expect(PUBACK)
        c.send(disconnect(), "DISCONNECT")
        c.close()


def sc_resume(a):
    """Reconnects to a persistent session (clean session 0) without subscribing again, takes the
    queued messages and acknowledges them."""
    name = a.client_id
    c = Conn(a.port, name)
    c.send(connect(name, level=4, keepalive=60, clean=False), "CONNECT clean-session=0")
    _, _, body = c.expect(CONNACK)
    if body[0] & 1 != 1:
        fail(f"{name}: CONNACK without session present")
    received, pending = 0, set()
    while received < a.count or pending:
        got = c.recv(timeout=15)
        if got is None:
            fail(f"{name}: broker closed the connection")
        received += handle_inbound(c, got, pending)
    c.send(disconnect(), "DISCONNECT")
    c.close()


def sc_sleepy(a):
    """Connects with a short keepalive and sends nothing more; waits for the broker to close."""
    name = a.client_id
    c = Conn(a.port, name)
    c.send(connect(name, level=a.level, keepalive=a.keepalive), f"CONNECT keepalive={a.keepalive}")
    c.expect(CONNACK)
    start = time.monotonic()
    log(f"{name}: silent from now on")
    got = c.recv(timeout=4 * a.keepalive + 5)
    while got is not None:
        log(f"{name}: received {NAMES.get(got[0], got[0])} {got[2].hex()} after {time.monotonic() - start:.2f} s")
        got = c.recv(timeout=4 * a.keepalive + 5)
    log(f"{name}: broker closed the connection after {time.monotonic() - start:.2f} s")
    c.sock.close()


def sc_websocket(a):
    """MQTT 3.1.1 over WebSocket. One packet split over two WS frames, two packets in one frame
    (both allowed by MQTT 5.0 §6.0 / 3.1.1 §6.0)."""
    c = Conn(a.port, "ws1", ws=True)
    c.send(connect("ws1", level=4, keepalive=60), "CONNECT (one WS frame)")
    c.expect(CONNACK)
    c.send(subscribe(1, [("ws/#", 1)]), "SUBSCRIBE id=1 ws/# qos=1")
    c.expect(SUBACK)
    pub = publish("ws/echo", b"over websocket " * 4, qos=1, pid=2)
    cut = 5
    c.send_raw(c.ws_frame(pub[:cut], opcode=0x2, fin=False))
    c.send_raw(c.ws_frame(pub[cut:], opcode=0x0, fin=True))
    log(f"ws1: sent PUBLISH id=2 ws/echo qos=1 split across two WS frames ({cut} + {len(pub) - cut} bytes)")
    pending, got_publish, got_puback = set(), False, False
    while not (got_publish and got_puback):
        got = c.recv()
        if got is None:
            fail("ws1: closed early")
        if got[0] == PUBACK:
            log(f"ws1: received PUBACK {got[2].hex()}")
            got_puback = True
        else:
            got_publish |= handle_inbound(c, got, pending)
    c.send(pingreq() + unsubscribe(3, ["ws/#"]), "PINGREQ + UNSUBSCRIBE id=3 in one WS frame")
    c.expect(PINGRESP)
    c.expect(UNSUBACK)
    c.send(disconnect(), "DISCONNECT")
    c.close()


def sc_split(a):
    """Every packet's fixed header split across TCP segments: TCP_NODELAY and a pause after each
    small write, so loopback carries each write as its own segment."""
    c = Conn(a.port, "split1")
    pause = 0.05

    def trickle(data, cuts, what):
        pos = 0
        pieces = []
        for cut in cuts + [len(data)]:
            c.send_raw(data[pos:cut])
            pieces.append(cut - pos)
            pos = cut
            time.sleep(pause)
        log(f"split1: sent {what} as segments of {pieces} bytes")

    trickle(connect("split1", level=4, keepalive=60), [1], "CONNECT")
    c.expect(CONNACK)
    big = publish("split/big", bytes(range(256)) * 2, qos=1, pid=1)  # remaining length > 127: 2-byte varint
    trickle(big, [1, 2, 3], "PUBLISH id=1 qos=1 (remaining length varint split between its two bytes)")
    c.expect(PUBACK)
    trickle(pingreq(), [1], "PINGREQ (1 + 1 bytes)")
    c.expect(PINGRESP)
    small = publish("split/small", b"x", qos=0)
    trickle(small + disconnect(), [len(small) + 1], "PUBLISH qos=0 + first DISCONNECT byte, then its length byte")
    c.close()


SCENARIOS = {
    "sub311": sc_sub311,
    "pub5": sc_pub5,
    "qos2-cut": sc_qos2_cut,
    "noack": sc_noack,
    "redeliver": sc_redeliver,
    "resume": sc_resume,
    "sleepy": sc_sleepy,
    "websocket": sc_websocket,
    "split": sc_split,
    "tls": sc_tls,
}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("scenario", choices=sorted(SCENARIOS))
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--count", type=int, default=1, help="messages to receive (sub311, resume)")
    ap.add_argument("--ready", help="file to create once subscribed")
    ap.add_argument("--client-id", default="sleepy", help="client id (sleepy, resume)")
    ap.add_argument("--level", type=int, default=4, help="protocol level (sleepy)")
    ap.add_argument("--keepalive", type=int, default=1, help="keepalive seconds (sleepy)")
    ap.add_argument("--cafile", help="CA certificate (tls)")
    ap.add_argument("--keylog", help="TLS key log file to append to (tls)")
    a = ap.parse_args()
    signal.alarm(60)  # a recording step never hangs the script
    SCENARIOS[a.scenario](a)


if __name__ == "__main__":
    main()
