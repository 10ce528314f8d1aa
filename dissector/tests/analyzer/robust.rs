//! Property tests: any sequence of events — garbage packets, valid packets in any order, gaps,
//! closes — is analysed without panicking, and the trace it gives is consistent.

use crate::wire::*;
use dissector::analyze::{Analyzer, AnalyzerConfig, qos_report};
use dissector::input::*;
use dissector::model::TxState;
use dissector::stats;
use proptest::prelude::*;

/// Packets the generator picks from: valid ones of every kind, for both versions.
fn valid_packets() -> Vec<Vec<u8>> {
    vec![
        connect(4, "c", 1),
        connect(5, "c5", 2),
        connack(false, 0),
        connack(true, 5),
        connack5(false, 0, &p_u16(0x22, 2)),
        publish(0, false, false, b"a/b", None, b"x"),
        publish(1, false, true, b"a", Some(1), b"x"),
        publish(1, true, false, b"a", Some(1), b"x"),
        publish(2, false, false, b"a", Some(2), b"y"),
        publish5(1, false, b"", Some(3), &p_u16(0x23, 1), b"z"),
        publish5(0, false, b"t", None, &p_u16(0x23, 1), b"z"),
        ack(4, 1),
        ack(5, 2),
        ack(6, 2),
        ack(7, 2),
        ack5(4, 3, 0x80),
        subscribe(4, &[("a/#", 1)], false),
        suback(4, &[1], false),
        unsubscribe(5, &["a"]),
        unsuback(5),
        PINGREQ.to_vec(),
        PINGRESP.to_vec(),
        DISCONNECT.to_vec(),
        pkt(0xf0, &[0x00]),
        // Persistent session (clean session 0) and a will.
        connect_full(4, 0x00, 60, None, "c", &[]),
        connect_full(4, 0x06, 60, None, "w", &[0, 1, b'a', 0, 1, b'x']),
        publish(0, false, false, b"a", None, b"x"),
    ]
}

#[derive(Debug, Clone)]
enum Step {
    Valid(usize, bool, u32),
    Garbage(u8, Vec<u8>, bool, u32),
    Truncated(usize, bool, u32),
    Gap(bool, u32),
    Open(u32, bool),
    Close(u32, u8),
    Wait(u32),
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        6 => (0..27usize, any::<bool>(), 0..3u32).prop_map(|(i, d, s)| Step::Valid(i, d, s)),
        2 => (any::<u8>(), proptest::collection::vec(any::<u8>(), 0..40), any::<bool>(), 0..3u32)
            .prop_map(|(f, b, d, s)| Step::Garbage(f, b, d, s)),
        1 => (0..27usize, any::<bool>(), 0..3u32).prop_map(|(i, d, s)| Step::Truncated(i, d, s)),
        1 => (any::<bool>(), 0..3u32).prop_map(|(d, s)| Step::Gap(d, s)),
        1 => (0..3u32, any::<bool>()).prop_map(|(s, h)| Step::Open(s, h)),
        1 => (0..3u32, 0..4u8).prop_map(|(s, h)| Step::Close(s, h)),
        1 => (0..5_000u32).prop_map(Step::Wait),
    ]
}

fn dir(to_broker: bool) -> Direction {
    if to_broker {
        Direction::ToBroker
    } else {
        Direction::ToClient
    }
}

fn run(steps: &[Step], config: AnalyzerConfig) -> dissector::model::Trace {
    let packets = valid_packets();
    let mut a = Analyzer::new(config);
    let mut ts = 0i64;
    let mut frame = 0u64;
    for s in steps {
        ts += 1_000_000;
        frame += 1;
        fn packet(
            stream: u32,
            d: bool,
            bytes: &[u8],
            packet_len: u64,
            truncated: bool,
            ts: i64,
            frame: u64,
        ) -> StreamEvent<'_> {
            StreamEvent::Packet(MqttBytes {
                stream,
                dir: dir(d),
                ts: Timestamp(ts),
                first_frame: frame,
                frame,
                stream_offset: 0,
                tcp_seq: None,
                bytes,
                packet_len,
                truncated,
            })
        }
        match s {
            Step::Valid(i, d, st) => {
                let b = &packets[*i];
                a.event(packet(*st, *d, b, b.len() as u64, false, ts, frame));
            }
            Step::Garbage(first, body, d, st) => {
                let b = pkt(*first, body);
                a.event(packet(*st, *d, &b, b.len() as u64, false, ts, frame));
            }
            Step::Truncated(i, d, st) => {
                let b = &packets[*i];
                let keep = b.len().div_ceil(2);
                a.event(packet(
                    *st,
                    *d,
                    &b[..keep],
                    b.len() as u64 + 1000,
                    true,
                    ts,
                    frame,
                ));
            }
            Step::Gap(d, st) => a.event(StreamEvent::Gap(GapEvent {
                stream: *st,
                dir: dir(*d),
                ts: Timestamp(ts),
                frame,
                missing: 10,
                resync_skipped: 3,
            })),
            Step::Open(st, handshake) => a.event(StreamEvent::Opened(ConnectionOpened {
                stream: *st,
                client: "10.0.0.1:1".parse().unwrap(),
                broker: "10.0.0.2:1883".parse().unwrap(),
                transport: Transport::Tcp,
                roles_from: if *handshake {
                    RoleSource::Handshake
                } else {
                    RoleSource::Port
                },
                ts: Timestamp(ts),
                frame,
            })),
            Step::Close(st, how) => a.event(StreamEvent::Closed(ConnectionClosed {
                stream: *st,
                ts: Timestamp(ts),
                frame,
                how: [
                    CloseHow::Fin,
                    CloseHow::Rst,
                    CloseHow::IdleTimeout,
                    CloseHow::CaptureEnd,
                ][usize::from(*how)],
                by: None,
            })),
            Step::Wait(ms) => ts += i64::from(*ms) * 1_000_000,
        }
    }
    a.finish(Timestamp(ts + 1))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn any_event_sequence_gives_a_consistent_trace(steps in proptest::collection::vec(step(), 0..60)) {
        let t = run(&steps, AnalyzerConfig { max_in_flight: 2, ..AnalyzerConfig::default() });
        prop_assert_eq!(t.packets.len() as u64, t.totals.packets);
        for a in &t.anomalies {
            if let Some(p) = a.packet {
                prop_assert!(p < t.totals.packets);
                prop_assert!(t.packets[p as usize].has_anomalies());
            }
            prop_assert!(a.conn.is_none_or(|c| (c as usize) < t.connections.len()));
        }
        for tx in &t.transactions {
            prop_assert!(tx.state != TxState::InFlight, "{:?}", tx);
            prop_assert!(!tx.steps.is_empty());
            for s in &tx.steps {
                prop_assert!(s.packet < t.totals.packets);
            }
        }
        for (i, p) in t.packets.iter().enumerate() {
            if let Some(x) = p.transaction() {
                prop_assert!(t.transactions[x].steps.iter().any(|s| s.packet == i as u64)
                    || t.transactions[x].retransmissions.contains(&(i as u64)));
            }
        }
        for c in &t.connections {
            prop_assert!(c.closed_by.is_some());
        }
        // Reports and statistics never panic either.
        let _ = qos_report(&t);
        let _ = stats::compute(&t);
    }

    #[test]
    fn streaming_keeps_the_same_anomalies_as_retaining(steps in proptest::collection::vec(step(), 0..60)) {
        let full = run(&steps, AnalyzerConfig::default());
        let streamed = run(&steps, AnalyzerConfig::streaming());
        let codes = |t: &dissector::model::Trace| t.anomalies.iter().map(|a| (a.code, a.packet)).collect::<Vec<_>>();
        prop_assert_eq!(codes(&full), codes(&streamed));
        prop_assert_eq!(qos_report(&full).incomplete, qos_report(&streamed).incomplete);
        // PUBLISH counts come from the connections' counters, so they survive streaming, and
        // they agree with the packet records the full trace kept.
        let mut from_records = vec![[0u64; 3]; full.connections.len()];
        for p in &full.packets {
            if p.packet_type == dissector::codec::PacketType::Publish && p.qos() < 3 {
                from_records[p.conn as usize][usize::from(p.qos())] += 1;
            }
        }
        let per_conn = |t: &dissector::model::Trace| {
            qos_report(t).connections.iter().map(|c| c.counts.publishes).collect::<Vec<_>>()
        };
        prop_assert_eq!(per_conn(&full), from_records.clone());
        prop_assert_eq!(per_conn(&streamed), from_records);
    }
}
