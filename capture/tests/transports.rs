//! Which traffic is MQTT: WebSocket upgrades, TLS on 8883, the CONNECT heuristic on any port,
//! and Wireshark-compatible stream numbering.

use capture::PipelineConfig;
use dissector::input::{Direction, RoleSource, Transport, TransportIssueKind};

use crate::support::{
    Conversation, Link, Rec, connack, connect, disconnect, pingreq, pingresp, publish, run_frames,
    standard_session,
};

/// One RFC 6455 frame.
fn ws_frame(opcode: u8, fin: bool, payload: &[u8], mask: Option<[u8; 4]>) -> Vec<u8> {
    let mut f = vec![(if fin { 0x80 } else { 0 }) | opcode];
    let m = if mask.is_some() { 0x80 } else { 0 };
    match payload.len() {
        n if n < 126 => f.push(m | n as u8),
        n if n < 65536 => {
            f.push(m | 126);
            f.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            f.push(m | 127);
            f.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    match mask {
        Some(key) => {
            f.extend_from_slice(&key);
            f.extend(payload.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
        }
        None => f.extend_from_slice(payload),
    }
    f
}

const UPGRADE: &[u8] = b"GET /mqtt HTTP/1.1\r\nHost: broker\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: mqtt\r\n\r\n";
const SWITCHING: &[u8] =
    b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\nSec-WebSocket-Protocol: mqtt\r\n\r\n";

#[test]
fn websocket_masked_fragmented_and_split_frames_carry_mqtt() {
    let key = Some([0x12, 0x34, 0x56, 0x78]);
    let c = connect("ws-client");
    let (p1, p2) = (publish("a", b"one", 0, 0), publish("b", b"two", 0, 0));
    // CONNECT split over a fragmented message with a ping in between; then two packets in one
    // frame; then one packet split across two messages.
    let mut client = UPGRADE.to_vec();
    client.extend(ws_frame(2, false, &c[..5], key));
    client.extend(ws_frame(9, true, b"hi", key));
    client.extend(ws_frame(0, true, &c[5..], key));
    client.extend(ws_frame(2, true, &[p1.clone(), p2.clone()].concat(), key));
    let ping = pingreq();
    client.extend(ws_frame(2, true, &ping[..1], key));
    client.extend(ws_frame(2, true, &ping[1..], key));
    client.extend(ws_frame(8, true, &[0x03, 0xe8], key));
    // TCP cuts at awkward places: inside the HTTP head, inside WebSocket headers.
    // Client request first, then the server answer, then the client's frames.
    let mut conv2 = Conversation::new("10.3.0.2:43000", "10.3.0.1:8083", Link::Ethernet, 1, 2);
    conv2.handshake();
    conv2.client_sends(&client[..40]);
    conv2.client_sends(&client[40..UPGRADE.len()]);
    let mut server = SWITCHING.to_vec();
    server.extend(ws_frame(2, true, &connack(), None));
    conv2.server_sends(&server[..SWITCHING.len() + 1]);
    conv2.server_sends(&server[SWITCHING.len() + 1..]);
    let frames_part = &client[UPGRADE.len()..];
    for piece in frames_part.chunks(7) {
        conv2.client_sends(piece);
    }
    conv2.server_sends(&ws_frame(2, true, &pingresp(), None));
    conv2.close();
    let (rec, _) = run_frames(&conv2.frames, PipelineConfig::default());
    let opened = rec.opened();
    assert_eq!(opened.len(), 1);
    assert_eq!(opened[0].transport, Transport::WebSocket);
    assert_eq!(opened[0].broker, conv2.server);
    assert_eq!(rec.packets(0, Direction::ToBroker), vec![c, p1, p2, ping]);
    assert_eq!(
        rec.packets(0, Direction::ToClient),
        vec![connack(), pingresp()]
    );
    assert!(rec.issues(TransportIssueKind::WebSocketError).is_empty());
    // Frames seen before the upgrade was confirmed are reported too (wire accounting).
    assert_eq!(rec.frames_seen, conv2.frames.len() as u64);
    // WebSocket-carried packets have no TCP sequence number: their stream offsets count
    // unmasked WebSocket payload, not TCP bytes.
    assert!(rec.events.iter().all(|e| !matches!(
        e,
        Rec::Packet {
            tcp_seq: Some(_),
            ..
        }
    )));
}

#[test]
fn plain_http_on_a_websocket_port_is_not_mqtt() {
    let mut conv = Conversation::new("10.3.0.2:43000", "10.3.0.1:80", Link::Ethernet, 1, 2);
    conv.handshake();
    conv.client_sends(b"GET /index.html HTTP/1.1\r\nHost: www\r\n\r\n");
    conv.server_sends(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi");
    conv.close();
    let (rec, summary) = run_frames(&conv.frames, PipelineConfig::default());
    assert!(rec.events.is_empty(), "{:?}", rec.events);
    assert_eq!((summary.tcp_streams, summary.mqtt_streams), (1, 0));
}

#[test]
fn connect_heuristic_finds_mqtt_on_any_port_and_can_be_turned_off() {
    let mut conv = Conversation::new("10.3.0.2:43000", "10.3.0.1:17501", Link::Ethernet, 1, 2);
    let (c, s) = standard_session(&mut conv);
    let (rec, _) = run_frames(&conv.frames, PipelineConfig::default());
    assert_eq!(rec.packets(0, Direction::ToBroker), c);
    assert_eq!(rec.packets(0, Direction::ToClient), s);
    assert_eq!(rec.opened()[0].roles_from, RoleSource::Handshake);
    let off = PipelineConfig {
        heuristic: false,
        ..PipelineConfig::default()
    };
    let (rec, _) = run_frames(&conv.frames, off);
    assert!(rec.types().is_empty());
    let port = PipelineConfig {
        heuristic: false,
        mqtt_ports: vec![1883, 17501],
        ..PipelineConfig::default()
    };
    let (rec, _) = run_frames(&conv.frames, port);
    assert_eq!(rec.packets(0, Direction::ToBroker), c);
}

#[test]
fn connect_without_a_connack_answer_is_rejected_by_the_heuristic() {
    let mut conv = Conversation::new("10.3.0.2:43000", "10.3.0.1:5555", Link::Ethernet, 1, 2);
    conv.handshake();
    conv.client_sends(&connect("x"));
    conv.server_sends(b"SSH-2.0-OpenSSH_9.2\r\n");
    conv.close();
    let (rec, _) = run_frames(&conv.frames, PipelineConfig::default());
    assert!(rec.events.is_empty(), "{:?}", rec.events);
}

#[test]
fn stream_numbers_count_every_tcp_connection_like_wireshark() {
    let mut web = Conversation::new("10.3.0.9:43000", "10.3.0.1:443", Link::Ethernet, 1, 2);
    web.handshake();
    web.client_sends(&[0x16, 0x03, 0x01, 0x00, 0x01, 0x01]);
    web.close();
    let mut mqtt = Conversation::new("10.3.0.2:43001", "10.3.0.1:1883", Link::Ethernet, 1, 2);
    mqtt.now = web.now + 1_000_000;
    mqtt.handshake();
    mqtt.client_sends(&connect("n"));
    mqtt.server_sends(&connack());
    mqtt.client_sends(&disconnect());
    mqtt.close();
    let mut frames = web.frames.clone();
    frames.extend(mqtt.frames.iter().cloned());
    let (rec, summary) = run_frames(&frames, PipelineConfig::default());
    assert_eq!(summary.tcp_streams, 2);
    assert_eq!(rec.opened()[0].stream, 1);
    assert_eq!(
        rec.packets(1, Direction::ToBroker),
        vec![connect("n"), disconnect()]
    );
}

fn tls_record(kind: u8, body: &[u8]) -> Vec<u8> {
    let mut r = vec![kind, 3, 3];
    r.extend_from_slice(&(body.len() as u16).to_be_bytes());
    r.extend_from_slice(body);
    r
}

fn handshake_msg(kind: u8, body: &[u8]) -> Vec<u8> {
    let mut m = vec![kind];
    m.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
    m.extend_from_slice(body);
    m
}

#[test]
fn tls_on_8883_reports_version_sni_and_byte_counts() {
    let name = b"broker.example.com";
    let mut sni = ((name.len() + 3) as u16).to_be_bytes().to_vec();
    sni.push(0);
    sni.extend_from_slice(&(name.len() as u16).to_be_bytes());
    sni.extend_from_slice(name);
    let mut exts = vec![0, 0];
    exts.extend_from_slice(&(sni.len() as u16).to_be_bytes());
    exts.extend_from_slice(&sni);
    let mut ch = vec![3, 3];
    ch.extend_from_slice(&[0; 32]);
    ch.extend_from_slice(&[0, 0, 2, 0x13, 0x01, 1, 0]);
    ch.extend_from_slice(&(exts.len() as u16).to_be_bytes());
    ch.extend_from_slice(&exts);
    let mut sh = vec![3, 3];
    sh.extend_from_slice(&[0; 32]);
    sh.extend_from_slice(&[0, 0x13, 0x01, 0]);
    sh.extend_from_slice(&[0, 6, 0, 43, 0, 2, 3, 4]); // supported_versions: TLS 1.3
    let mut conv = Conversation::new("10.3.0.2:43000", "10.3.0.1:8883", Link::Ethernet, 1, 2);
    conv.handshake();
    conv.client_sends(&tls_record(22, &handshake_msg(1, &ch)));
    conv.server_sends(&tls_record(22, &handshake_msg(2, &sh)));
    conv.client_sends(&tls_record(23, &[0xee; 100]));
    conv.server_sends(&tls_record(23, &[0xdd; 40]));
    conv.close();
    let (rec, _) = run_frames(&conv.frames, PipelineConfig::default());
    assert_eq!(rec.opened()[0].transport, Transport::Tls);
    let last = rec
        .events
        .iter()
        .rev()
        .find_map(|e| match e {
            Rec::Tls(t) => Some(t.clone()),
            _ => None,
        })
        .expect("TLS metadata");
    assert_eq!(last.sni.as_deref(), Some("broker.example.com"));
    assert_eq!(last.version, Some(0x0304));
    assert_eq!((last.bytes_to_broker, last.bytes_to_client), (100, 40));
    assert!(rec.types().is_empty());
}

#[test]
fn plain_mqtt_on_the_tls_port_is_decoded_as_mqtt_on_tcp() {
    let mut conv = Conversation::new("10.3.0.2:43000", "10.3.0.1:8883", Link::Ethernet, 1, 2);
    let (c, s) = standard_session(&mut conv);
    let (rec, summary) = run_frames(&conv.frames, PipelineConfig::default());
    let opened = rec.opened();
    assert_eq!(opened.len(), 1);
    assert_eq!(opened[0].transport, Transport::Tcp);
    assert_eq!(opened[0].broker, conv.server);
    assert_eq!(rec.packets(0, Direction::ToBroker), c);
    assert_eq!(rec.packets(0, Direction::ToClient), s);
    assert!(!rec.events.iter().any(|e| matches!(e, Rec::Tls(_))));
    assert_eq!(summary.mqtt_streams, 1);
    // Without the handshake the port still names the broker, and the CONNECT decides.
    let no_syn: Vec<_> = conv.frames[3..].to_vec();
    let (rec, _) = run_frames(&no_syn, PipelineConfig::default());
    assert_eq!(rec.opened()[0].transport, Transport::Tcp);
    assert_eq!(rec.opened()[0].roles_from, RoleSource::Port);
    assert_eq!(rec.packets(0, Direction::ToBroker), c);
}

#[test]
fn bytes_that_are_neither_tls_nor_a_connect_on_the_tls_port_stay_tls_metadata() {
    let mut conv = Conversation::new("10.3.0.2:43000", "10.3.0.1:8883", Link::Ethernet, 1, 2);
    conv.handshake();
    conv.client_sends(b"hello there");
    conv.server_sends(b"go away");
    conv.close();
    let (rec, _) = run_frames(&conv.frames, PipelineConfig::default());
    assert_eq!(rec.opened()[0].transport, Transport::Tls);
    assert!(rec.types().is_empty());
}

#[test]
fn websocket_direction_resynchronises_after_lost_frames_with_one_issue() {
    let key = Some([0x0a, 0x0b, 0x0c, 0x0d]);
    let mut conv = Conversation::new("10.3.0.2:43000", "10.3.0.1:9001", Link::Ethernet, 1, 2);
    conv.handshake();
    conv.client_sends(UPGRADE);
    conv.server_sends(SWITCHING);
    let c = connect("ws-gap");
    conv.client_sends(&ws_frame(2, true, &c, key));
    conv.server_sends(&ws_frame(2, true, &connack(), None));
    let before = publish("t/before", b"1", 1, 1);
    conv.client_sends(&ws_frame(2, true, &before, key));
    conv.server_sends(&ws_frame(2, true, &crate::support::puback(1), None));
    // Lost: one whole frame and the header plus part of the next, so the WebSocket boundary
    // after the gap is unknown. Then a tail of that frame, then frames that must decode.
    let lost_whole = ws_frame(2, true, &publish("t/lost", b"xxxxxxxx", 0, 0), key);
    let cut = ws_frame(2, true, &publish("t/cut", b"yyyyyyyyyyyy", 0, 0), key);
    conv.client_loses(lost_whole.len() + 9);
    conv.client_sends(&cut[9..]);
    let after = [
        publish("t/after1", b"2", 1, 2),
        pingreq(),
        publish("t/after2", b"3", 0, 0),
    ];
    for p in &after {
        conv.client_sends(&ws_frame(2, true, p, key));
    }
    conv.server_sends(&ws_frame(2, true, &crate::support::puback(2), None));
    conv.server_sends(&ws_frame(2, true, &pingresp(), None));
    conv.client_sends(&ws_frame(2, true, &disconnect(), key));
    conv.close();
    let (rec, _) = run_frames(&conv.frames, PipelineConfig::default());
    assert_eq!(rec.opened()[0].transport, Transport::WebSocket);
    let mut want = vec![c, before];
    want.extend(after.iter().cloned());
    want.push(disconnect());
    assert_eq!(rec.packets(0, Direction::ToBroker), want);
    let issues = rec.issues(TransportIssueKind::WebSocketError);
    assert_eq!(issues.len(), 1, "{issues:?}");
    assert!(issues[0].detail.contains("resynchronised"), "{issues:?}");
    assert_eq!(issues[0].dir, Some(Direction::ToBroker));
    let gaps = rec.gaps();
    assert_eq!(gaps.len(), 1, "{gaps:?}");
    assert_eq!(gaps[0].missing, (lost_whole.len() + 9) as u64);
}

#[test]
fn websocket_gap_inside_a_frame_payload_keeps_both_framings() {
    let key = Some([1, 2, 3, 4]);
    let mut conv = Conversation::new("10.3.0.2:43000", "10.3.0.1:9001", Link::Ethernet, 1, 2);
    conv.handshake();
    conv.client_sends(UPGRADE);
    conv.server_sends(SWITCHING);
    conv.client_sends(&ws_frame(2, true, &connect("ws-in"), key));
    conv.server_sends(&ws_frame(2, true, &connack(), None));
    // One frame with three packets; bytes inside the middle packet's payload are lost.
    let big = publish("t/big", &[0x55; 200], 0, 0);
    let frame = ws_frame(2, true, &[pingreq(), big.clone(), pingreq()].concat(), key);
    let lost_from = frame.len() - 2 - 100;
    conv.client_sends(&frame[..lost_from]);
    conv.client_loses(50);
    conv.client_sends(&frame[lost_from + 50..]);
    conv.server_sends(&ws_frame(2, true, &pingresp(), None));
    conv.close();
    let (rec, _) = run_frames(&conv.frames, PipelineConfig::default());
    let got = rec.packets(0, Direction::ToBroker);
    assert_eq!(got.first(), Some(&connect("ws-in")));
    assert_eq!(got.last(), Some(&pingreq()), "{got:?}");
    assert!(rec.issues(TransportIssueKind::WebSocketError).is_empty());
}

/// A conversation caught mid-stream on an unknown port: no SYN, no CONNECT.
fn midstream_conversation(port: &str) -> (Conversation, Vec<Vec<u8>>, Vec<Vec<u8>>) {
    let mut conv = Conversation::new("10.3.0.2:43000", port, Link::Ethernet, 1000, 9000);
    let (mut c, mut s) = (Vec::new(), Vec::new());
    for id in 1..=3u16 {
        let p = publish("sensors/t", b"21.5", 1, id);
        conv.client_sends(&p);
        c.push(p);
        let a = crate::support::puback(id);
        conv.server_sends(&a);
        s.push(a);
        let d = publish("cmd/x", b"on", 0, 0);
        conv.server_sends(&d);
        s.push(d);
    }
    conv.client_sends(&pingreq());
    c.push(pingreq());
    conv.server_sends(&pingresp());
    s.push(pingresp());
    (conv, c, s)
}

#[test]
fn mqtt_caught_mid_stream_on_an_unknown_port_is_recognised_from_its_conversation() {
    let (conv, c, s) = midstream_conversation("10.3.0.1:17777");
    let (rec, _) = run_frames(&conv.frames, PipelineConfig::default());
    let opened = rec.opened();
    assert_eq!(opened.len(), 1);
    assert_eq!(opened[0].transport, Transport::Tcp);
    // PINGREQ came from 43000: that side is the client.
    assert_eq!(opened[0].client, conv.client);
    assert_eq!(rec.packets(0, Direction::ToBroker), c);
    assert_eq!(rec.packets(0, Direction::ToClient), s);
    // The heuristic is off with `heuristic: false`.
    let off = PipelineConfig {
        heuristic: false,
        ..PipelineConfig::default()
    };
    assert!(run_frames(&conv.frames, off).0.events.is_empty());
}

#[test]
fn plausible_looking_binary_without_matching_answers_is_not_taken_for_mqtt() {
    // Each side sends what parses as MQTT packets (PUBACKs and PINGRESPs, say, from a binary
    // protocol), but nothing one side sends answers anything the other sent.
    let mut conv = Conversation::new("10.3.0.2:43000", "10.3.0.1:17777", Link::Ethernet, 1, 2);
    for id in 1..=8u16 {
        conv.client_sends(&crate::support::puback(id));
        conv.server_sends(&crate::support::puback(id + 100));
    }
    conv.close();
    let (rec, summary) = run_frames(&conv.frames, PipelineConfig::default());
    assert!(rec.events.is_empty(), "{:?}", rec.events);
    assert_eq!(summary.mqtt_streams, 0);
    // A handshake-started connection that does not begin with CONNECT is never judged
    // mid-stream: it began inside the capture.
    let (mid, _, _) = midstream_conversation("10.3.0.1:17777");
    let mut with_syn = Conversation::new(
        "10.3.0.2:43000",
        "10.3.0.1:17777",
        Link::Ethernet,
        999,
        8999,
    );
    with_syn.handshake();
    let mut frames = with_syn.frames.clone();
    frames.extend(mid.frames.iter().cloned());
    let (rec, _) = run_frames(&frames, PipelineConfig::default());
    assert!(rec.opened().is_empty());
}

#[test]
fn plain_mqtt_caught_mid_stream_on_the_tls_port_is_decoded_and_tls_mid_stream_stays_tls() {
    let (conv, c, s) = midstream_conversation("10.3.0.1:8883");
    let (rec, _) = run_frames(&conv.frames, PipelineConfig::default());
    assert_eq!(rec.opened().len(), 1);
    assert_eq!(rec.opened()[0].transport, Transport::Tcp);
    assert_eq!(rec.opened()[0].broker, conv.server);
    assert_eq!(rec.packets(0, Direction::ToBroker), c);
    assert_eq!(rec.packets(0, Direction::ToClient), s);
    // TLS application data caught mid-stream: TLS, counted.
    let mut tls = Conversation::new("10.3.0.2:43000", "10.3.0.1:8883", Link::Ethernet, 1, 2);
    tls.client_sends(&tls_record(23, &[0x42; 30]));
    tls.server_sends(&tls_record(23, &[0x43; 20]));
    tls.close();
    let (rec, _) = run_frames(&tls.frames, PipelineConfig::default());
    assert_eq!(rec.opened()[0].transport, Transport::Tls);
    assert!(rec.types().is_empty());
}
