//! A small hand-built [`Trace`] for the filter's and the exporter's tests: two connections (IPv4
//! MQTT 5 and IPv6 MQTT 3.1.1), a complete QoS 1 flow, an unanswered SUBSCRIBE, an unfinished
//! QoS 2 flow, a broker delivery and two anomalies.

use crate::codec::{HeaderSizes, PacketType, ProtocolVersion};
use crate::input::{Direction, RoleSource, Timestamp, Transport};
use crate::model::*;

/// Capture start: 2023-11-14 22:13:20 UTC.
pub(crate) const T0: i64 = 1_700_000_000_000_000_000;

fn connection(
    trace: &mut Trace,
    stream: u32,
    client: &str,
    broker: &str,
    version: ProtocolVersion,
    client_id: &str,
) -> Connection {
    Connection {
        version: Some(version),
        client_id: Some(trace.strings.intern(client_id)),
        keep_alive: Some(60),
        clean_start: Some(true),
        connack_code: Some(0),
        session_present: Some(false),
        ..Connection::new(
            stream,
            client.parse().unwrap(),
            broker.parse().unwrap(),
            Transport::Tcp,
            RoleSource::Handshake,
            Timestamp(T0),
            1,
        )
    }
}

struct P {
    ms: i64,
    frame: u64,
    conn: u32,
    dir: Direction,
    first_byte: u8,
    topic: Option<&'static str>,
    packet_id: Option<u16>,
    reason: Option<u8>,
    sizes: (u8, u32, u32, u32),
    tx: Option<usize>,
}

fn tx(
    kind: TxKind,
    conn: u32,
    packet_id: Option<u16>,
    qos: u8,
    state: TxState,
    latency_ms: Option<f64>,
) -> Transaction {
    Transaction {
        kind,
        conn,
        dir: Direction::ToBroker,
        packet_id,
        qos,
        topic: None,
        steps: Default::default(),
        retransmissions: vec![],
        state,
        ended_by: state.is_incomplete().then_some(ClosedBy::CaptureEnd),
        ended_ts: None,
        latency_nanos: latency_ms.map(|ms| (ms * 1e6) as i64),
        reason_codes: vec![],
    }
}

/// The sample trace (packet positions 0..=8; see the table in the body).
pub(crate) fn sample_trace() -> Trace {
    use Direction::{ToBroker as B, ToClient as C};
    let mut trace = Trace::new();
    trace.captures.push(CaptureInfo {
        source: "sample.pcap".into(),
        frames: 9,
        bytes: 900,
        first_ts: Some(Timestamp(T0)),
        last_ts: Some(Timestamp(T0 + 40_000_000)),
    });
    let mut c0 = connection(
        &mut trace,
        0,
        "10.0.0.5:51000",
        "10.0.0.1:1883",
        ProtocolVersion::V5,
        "sensor-1",
    );
    c0.username = Some(trace.strings.intern("alice"));
    c0.password = Some(PasswordInfo { len: 6, text: None });
    trace.push_connection(c0);
    let mut c1 = connection(
        &mut trace,
        1,
        "[2001:db8::2]:40000",
        "[2001:db8::1]:1883",
        ProtocolVersion::V3_1_1,
        "app",
    );
    c1.opened_frame = 5;
    c1.opened_ts = Timestamp(T0 + 10_000_000);
    trace.push_connection(c1);

    trace.transactions = vec![
        tx(TxKind::Connect, 0, None, 0, TxState::Complete, Some(2.0)),
        tx(TxKind::Qos1, 0, Some(7), 1, TxState::Complete, Some(12.5)),
        tx(TxKind::Connect, 1, None, 0, TxState::Complete, Some(1.0)),
        tx(
            TxKind::Subscribe,
            1,
            Some(1),
            0,
            TxState::IncompleteAtCaptureEnd,
            None,
        ),
        tx(
            TxKind::Qos2,
            0,
            Some(8),
            2,
            TxState::IncompleteAtCaptureEnd,
            None,
        ),
    ];

    let temp = Some("sensors/kitchen/temp");
    #[rustfmt::skip]
    let packets = [
        // CONNECT, CONNACK (MQTT 5, stream 0)
        P { ms: 0, frame: 1, conn: 0, dir: B, first_byte: 0x10, topic: None, packet_id: None, reason: None, sizes: (2, 10, 1, 20), tx: Some(0) },
        P { ms: 2, frame: 2, conn: 0, dir: C, first_byte: 0x20, topic: None, packet_id: None, reason: Some(0), sizes: (2, 2, 1, 0), tx: Some(0) },
        // PUBLISH QoS 1 and its PUBACK
        P { ms: 5, frame: 3, conn: 0, dir: B, first_byte: 0x32, topic: temp, packet_id: Some(7), reason: None, sizes: (2, 24, 1, 5), tx: Some(1) },
        P { ms: 17, frame: 4, conn: 0, dir: C, first_byte: 0x40, topic: None, packet_id: Some(7), reason: Some(0), sizes: (2, 2, 0, 0), tx: Some(1) },
        // CONNECT, CONNACK (MQTT 3.1.1 over IPv6, stream 1)
        P { ms: 10, frame: 5, conn: 1, dir: B, first_byte: 0x10, topic: None, packet_id: None, reason: None, sizes: (2, 10, 0, 5), tx: Some(2) },
        P { ms: 11, frame: 6, conn: 1, dir: C, first_byte: 0x20, topic: None, packet_id: None, reason: Some(0), sizes: (2, 2, 0, 0), tx: Some(2) },
        // SUBSCRIBE never answered
        P { ms: 12, frame: 7, conn: 1, dir: B, first_byte: 0x82, topic: Some("sensors/#"), packet_id: Some(1), reason: None, sizes: (2, 2, 0, 12), tx: Some(3) },
        // The broker's copy of the PUBLISH to the subscriber, RETAIN set
        P { ms: 18, frame: 8, conn: 1, dir: C, first_byte: 0x31, topic: temp, packet_id: None, reason: None, sizes: (2, 22, 0, 5), tx: None },
        // PUBLISH QoS 2, DUP, never completed
        P { ms: 40, frame: 9, conn: 0, dir: B, first_byte: 0x3c, topic: Some("alarms/door"), packet_id: Some(8), reason: None, sizes: (2, 15, 1, 300), tx: Some(4) },
    ];
    for p in packets {
        let mut r = PacketRecord::new(
            Timestamp(T0 + p.ms * 1_000_000),
            p.frame,
            p.conn,
            p.dir,
            p.first_byte,
        );
        r.version = trace
            .connections
            .get(p.conn as usize)
            .and_then(|c| c.version);
        r.topic = p.topic.map(|t| trace.strings.intern(t));
        r.packet_id = p.packet_id;
        r.reason_code = p.reason;
        r.set_sizes(HeaderSizes {
            fixed: p.sizes.0,
            variable: p.sizes.1,
            properties: p.sizes.2,
            payload: p.sizes.3,
        });
        r.set_transaction(p.tx);
        assert_eq!(r.packet_type == PacketType::Publish, p.first_byte >> 4 == 3);
        if let Some(tx) = p.tx.and_then(|t| trace.transactions.get_mut(t)) {
            tx.steps.push(TxStep {
                packet: trace.packets.len() as u64,
                packet_type: r.packet_type,
                dir: r.dir,
                frame: r.frame,
                ts: r.ts,
            });
        }
        trace.packets.push(r);
    }
    trace.push_anomaly(Anomaly {
        code: AnomalyCode::RetainNotAvailable,
        severity: Severity::Error,
        conn: Some(1),
        dir: Some(C),
        packet: Some(7),
        frame: 8,
        ts: Timestamp(T0 + 18_000_000),
        offset: None,
        message: "RETAIN set although CONNACK said retain is not available".into(),
    });
    trace.push_anomaly(Anomaly {
        code: AnomalyCode::KeepAliveViolated,
        severity: Severity::Warning,
        conn: Some(0),
        dir: Some(B),
        packet: None,
        frame: 9,
        ts: Timestamp(T0 + 40_000_000),
        offset: None,
        message: "no packet for 95 s, keep alive 60 s".into(),
    });
    let topic = trace.strings.intern("sensors/kitchen/temp");
    trace.deliveries.push(Delivery {
        publish: 2,
        conn: 0,
        topic,
        payload_len: 5,
        payload_hash: 0xcbf2_9ce4_8422_2325,
        ts: Timestamp(T0 + 5_000_000),
        fanout: vec![DeliveryCopy {
            conn: 1,
            packet: 7,
            latency_nanos: 13_000_000,
        }],
    });
    trace.totals.packets = trace.packets.len() as u64;
    trace.totals.first_ts = Some(Timestamp(T0));
    trace
}
