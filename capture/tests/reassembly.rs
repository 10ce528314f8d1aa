//! Property: however a TCP stream is cut, reordered, duplicated and overlapped (within the
//! buffering cap), the MQTT packets that come out are exactly the ones that went in.

use capture::PipelineConfig;
use dissector::input::Direction;
use proptest::prelude::*;
use proptest::sample::Index;

use crate::support::{Conversation, Link, Rec, pingreq, puback, publish, run_frames, subscribe};

fn mqtt_packet() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        (
            "[a-z]{1,8}(/[a-z0-9]{1,8}){0,3}",
            prop::collection::vec(any::<u8>(), 0..400),
            0u8..2,
            1u16..
        )
            .prop_map(|(t, p, q, id)| publish(&t, &p, q, id)),
        (1u16..).prop_map(puback),
        Just(pingreq()),
        (1u16.., "[a-z/+#]{1,12}").prop_map(|(id, f)| subscribe(id, &f)),
        // Big enough for a 2-byte remaining length.
        prop::collection::vec(any::<u8>(), 200..2000).prop_map(|p| publish("big", &p, 0, 0)),
    ]
}

/// Deterministic shuffle (Fisher–Yates with a 64-bit LCG).
fn shuffle<T>(items: &mut [T], mut seed: u64) {
    for i in (1..items.len()).rev() {
        seed = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        let j = (seed >> 33) as usize % (i + 1);
        items.swap(i, j);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn any_segmentation_reordering_duplication_and_overlap_yields_the_original_packets(
        packets in prop::collection::vec(mqtt_packet(), 1..12),
        cuts in prop::collection::vec(any::<Index>(), 0..24),
        dups in prop::collection::vec(any::<Index>(), 0..4),
        overlaps in prop::collection::vec((any::<Index>(), any::<Index>()), 0..4),
        seed in any::<u64>(),
        isn in prop_oneof![any::<u32>(), Just(u32::MAX - 5), Just(u32::MAX)],
    ) {
        let stream: Vec<u8> = packets.concat();
        let len = stream.len();
        let mut points: Vec<usize> = cuts.iter().map(|i| i.index(len)).collect();
        points.extend([0, len]);
        points.sort_unstable();
        points.dedup();
        let mut segments: Vec<(usize, usize)> = points.windows(2).map(|w| (w[0], w[1])).collect();
        for d in &dups {
            let s = segments[d.index(segments.len())];
            segments.push(s);
        }
        for (a, b) in &overlaps {
            let (x, y) = (a.index(len), b.index(len));
            let (lo, hi) = (x.min(y), x.max(y) + 1);
            segments.push((lo, hi.min(len)));
        }
        shuffle(&mut segments, seed);

        let mut conv = Conversation::new("10.1.0.2:41000", "10.1.0.1:1883", Link::Ethernet, isn, 7);
        conv.handshake();
        let base = isn.wrapping_add(1);
        for (s, e) in &segments {
            conv.client_segment_at(base.wrapping_add(*s as u32), &stream[*s..*e], true);
        }
        conv.client_seq = base.wrapping_add(len as u32);
        conv.close();
        let (rec, _) = run_frames(&conv.frames, PipelineConfig::default());
        prop_assert_eq!(rec.packets(0, Direction::ToBroker), packets.clone());
        // No gap, no resynchronisation, no bogus issue (only identical retransmissions).
        prop_assert!(rec.gaps().is_empty());
        prop_assert!(!rec.events.iter().any(|e| matches!(e, Rec::Issue(_))), "{:?}", rec.events);
        // Stream offsets are the packets' positions in the original stream.
        let mut expected_offset = 0u64;
        for e in &rec.events {
            if let Rec::Packet { offset, bytes, .. } = e {
                prop_assert_eq!(*offset, expected_offset);
                expected_offset += bytes.len() as u64;
            }
        }
    }
}

#[test]
fn provenance_names_first_and_last_frame_of_a_split_packet() {
    let mut conv = Conversation::new("10.1.0.2:41000", "10.1.0.1:1883", Link::Ethernet, 10, 20);
    conv.handshake();
    let p = publish("t", &[7u8; 300], 0, 0);
    conv.client_sends(&p[..1]); // frame 4: the first byte only (split fixed header)
    conv.client_sends(&p[1..100]); // frame 5
    conv.client_sends(&p[100..]); // frame 6
    let (rec, _) = run_frames(&conv.frames, PipelineConfig::default());
    let got: Vec<(u64, u64)> = rec
        .events
        .iter()
        .filter_map(|e| match e {
            Rec::Packet {
                first_frame, frame, ..
            } => Some((*first_frame, *frame)),
            _ => None,
        })
        .collect();
    assert_eq!(got, vec![(4, 6)]);
}

#[test]
fn differing_retransmission_keeps_the_first_copy_and_is_reported() {
    let mut conv = Conversation::new("10.1.0.2:41000", "10.1.0.1:1883", Link::Ethernet, 10, 20);
    conv.handshake();
    let p = publish("t", b"original", 0, 0);
    let start = conv.client_seq;
    conv.client_sends(&p);
    let mut forged = p.clone();
    let n = forged.len();
    forged[n - 1] = b'X';
    conv.client_segment_at(start, &forged, true);
    conv.client_sends(&pingreq());
    let (rec, _) = run_frames(&conv.frames, PipelineConfig::default());
    assert_eq!(rec.packets(0, Direction::ToBroker), vec![p, pingreq()]);
    assert_eq!(
        rec.issues(dissector::input::TransportIssueKind::OverlapMismatch)
            .len(),
        1
    );
}

#[test]
fn keepalive_probe_and_zero_window_probe_do_not_disturb_the_stream() {
    let mut conv = Conversation::new("10.1.0.2:41000", "10.1.0.1:1883", Link::Ethernet, 10, 20);
    conv.handshake();
    let p = publish("t", b"abc", 0, 0);
    conv.client_sends(&p);
    // Keep-alive: one garbage byte at next-1.
    let probe_seq = conv.client_seq.wrapping_sub(1);
    conv.client_segment_at(probe_seq, &[0], true);
    // Zero-window probe: the next byte alone, then the full segment again.
    let q = publish("u", b"defg", 0, 0);
    let at = conv.client_seq;
    conv.client_segment_at(at, &q[..1], true);
    conv.client_segment_at(at, &q, true);
    conv.client_seq = at.wrapping_add(q.len() as u32);
    let (rec, summary) = run_frames(&conv.frames, PipelineConfig::default());
    assert_eq!(rec.packets(0, Direction::ToBroker), vec![p, q]);
    assert!(
        rec.issues(dissector::input::TransportIssueKind::OverlapMismatch)
            .is_empty()
    );
    assert_eq!(summary.mqtt_packets, 2);
}

#[test]
fn new_syn_on_a_reused_four_tuple_is_a_new_stream() {
    let mut first = Conversation::new("10.1.0.2:41000", "10.1.0.1:1883", Link::Ethernet, 10, 20);
    crate::support::standard_session(&mut first);
    let mut second = Conversation::new("10.1.0.2:41000", "10.1.0.1:1883", Link::Ethernet, 900, 800);
    second.now = first.now + 1_000_000_000;
    crate::support::standard_session(&mut second);
    let mut frames = first.frames.clone();
    frames.extend(second.frames.iter().cloned());
    let (rec, summary) = run_frames(&frames, PipelineConfig::default());
    assert_eq!(summary.tcp_streams, 2);
    let streams: Vec<u32> = rec.opened().iter().map(|o| o.stream).collect();
    assert_eq!(streams, vec![0, 1]);
    assert_eq!(rec.packets(1, Direction::ToBroker).len(), 5);
}

#[test]
fn idle_connection_is_closed_by_the_timeout() {
    use dissector::input::CloseHow;
    let mut quiet = Conversation::new("10.1.0.2:41000", "10.1.0.1:1883", Link::Ethernet, 10, 20);
    quiet.handshake();
    quiet.client_sends(&crate::support::connect("quiet"));
    let mut later = Conversation::new("10.1.0.3:41001", "10.1.0.1:1883", Link::Ethernet, 10, 20);
    later.now = quiet.now + 120_000_000_000; // two minutes later
    later.handshake();
    let mut frames = quiet.frames.clone();
    frames.extend(later.frames.iter().cloned());
    let config = PipelineConfig {
        idle_timeout: Some(std::time::Duration::from_secs(60)),
        ..PipelineConfig::default()
    };
    let (rec, _) = run_frames(&frames, config);
    let closes: Vec<(u32, CloseHow)> = rec
        .events
        .iter()
        .filter_map(|e| match e {
            Rec::Closed(c) => Some((c.stream, c.how)),
            _ => None,
        })
        .collect();
    assert_eq!(
        closes,
        vec![(0, CloseHow::IdleTimeout), (1, CloseHow::CaptureEnd)]
    );
}

#[test]
fn the_side_that_ended_the_connection_is_reported() {
    use dissector::input::CloseHow;
    let session = |port: u16| {
        let mut c = Conversation::new(
            &format!("10.1.0.2:{port}"),
            "10.1.0.1:1883",
            Link::Ethernet,
            10,
            20,
        );
        c.handshake();
        c.client_sends(&crate::support::connect("c"));
        c.server_sends(&crate::support::connack());
        c
    };
    let mut by_client = session(41000);
    by_client.close();
    let mut by_server = session(41001);
    by_server.server_closes_first();
    let mut reset = session(41002);
    reset.client_sends(&pingreq());
    reset.server_resets();
    let mut frames = by_client.frames.clone();
    frames.extend(by_server.frames.iter().cloned());
    frames.extend(reset.frames.iter().cloned());
    let (rec, _) = run_frames(&frames, PipelineConfig::default());
    let closes: Vec<(u32, CloseHow, Option<Direction>)> = rec
        .events
        .iter()
        .filter_map(|e| match e {
            Rec::Closed(c) => Some((c.stream, c.how, c.by)),
            _ => None,
        })
        .collect();
    assert_eq!(
        closes,
        vec![
            (0, CloseHow::Fin, Some(Direction::ToBroker)),
            (1, CloseHow::Fin, Some(Direction::ToClient)),
            (2, CloseHow::Rst, Some(Direction::ToClient)),
        ]
    );
}

#[test]
fn connection_table_cap_drops_the_least_recently_active() {
    use dissector::input::TransportIssueKind;
    let mut frames = Vec::new();
    let mut now = 1_700_000_000_000_000_000i64;
    for i in 0..6u16 {
        let mut conv = Conversation::new(
            &format!("10.1.0.{}:4100{i}", i + 2),
            "10.1.0.1:1883",
            Link::Ethernet,
            10,
            20,
        );
        conv.now = now;
        conv.handshake();
        conv.client_sends(&crate::support::connect("c"));
        now = conv.now + 1_000_000;
        frames.extend(conv.frames);
    }
    let config = PipelineConfig {
        max_connections: 4,
        ..PipelineConfig::default()
    };
    let (rec, summary) = run_frames(&frames, config);
    assert!(
        !rec.issues(TransportIssueKind::ConnectionTableFull)
            .is_empty()
    );
    assert!(summary.connections_evicted >= 1);
    // Every connection was still numbered and its CONNECT decoded.
    assert_eq!(summary.tcp_streams, 6);
    assert_eq!(rec.types(), vec![1; 6]);
}
