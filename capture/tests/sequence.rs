//! TCP sequence numbers of delivered packets: each plain-TCP packet's `tcp_seq` is the sequence
//! number of its first byte, so its bytes can be found again in its frames; WebSocket-carried
//! packets have none (their stream offsets count unmasked WebSocket payload).

use capture::PipelineConfig;
use dissector::input::Direction;
use etherparse::{SlicedPacket, TransportSlice};

use crate::support::{
    Conversation, Frame, Link, Rec, connack, connect, pingreq, pingresp, publish, run_frames,
};

/// A packet as delivered: (direction, first frame, tcp_seq, bytes).
type Delivered = (Direction, u64, Option<u32>, Vec<u8>);

fn delivered(frames: &[Frame]) -> Vec<Delivered> {
    let (rec, _) = run_frames(frames, PipelineConfig::default());
    rec.events
        .into_iter()
        .filter_map(|e| match e {
            Rec::Packet {
                dir,
                first_frame,
                tcp_seq,
                bytes,
                ..
            } => Some((dir, first_frame, tcp_seq, bytes)),
            _ => None,
        })
        .collect()
}

/// The TCP sequence number and payload of an Ethernet frame.
fn segment(frame: &Frame) -> (u32, Vec<u8>) {
    let sliced = SlicedPacket::from_ethernet(&frame.data).expect("ethernet frame");
    match sliced.transport {
        Some(TransportSlice::Tcp(tcp)) => (tcp.sequence_number(), tcp.payload().to_vec()),
        _ => panic!("not TCP"),
    }
}

/// Checks, from the frames alone, that each packet's `tcp_seq` points into the segment of its
/// first frame at bytes that start the packet.
fn assert_seqs_point_at_first_bytes(frames: &[Frame], packets: &[Delivered]) {
    for (dir, first, seq, bytes) in packets {
        let seq = seq.unwrap_or_else(|| panic!("{dir:?} packet in frame {first}: no tcp_seq"));
        let (seg_seq, payload) = segment(&frames[*first as usize - 1]);
        let at = seq.wrapping_sub(seg_seq) as usize;
        assert!(
            at < payload.len(),
            "frame {first}: seq {seq} not in its segment"
        );
        let n = (payload.len() - at).min(bytes.len());
        assert_eq!(payload[at..at + n], bytes[..n], "frame {first}");
    }
}

#[test]
fn sequence_numbers_point_at_each_packets_first_byte_across_splits_and_the_wrap() {
    // The client's sequence numbers wrap around 2^32 inside the split PUBLISH.
    let client_isn = u32::MAX - 40;
    let mut conv = Conversation::new(
        "10.5.0.2:45000",
        "10.5.0.1:1883",
        Link::Ethernet,
        client_isn,
        7000,
    );
    conv.handshake(); // frames 1-3
    let c = connect("seq");
    conv.client_sends(&c); // frame 4
    conv.server_sends(&connack()); // frame 5
    let p = publish("t/x", &[0x33; 60], 0, 0);
    let publish_seq = conv.client_seq;
    conv.client_sends(&p[..1]); // frame 6: one byte of the fixed header
    conv.client_sends(&p[1..30]); // frame 7
    conv.client_segment_at(publish_seq.wrapping_add(1), &p[1..30], true); // frame 8: again
    let ping_seq = publish_seq.wrapping_add(p.len() as u32);
    conv.client_sends(&[&p[30..], &pingreq()[..]].concat()); // frame 9: the rest and a PINGREQ
    conv.server_sends(&pingresp()); // frame 10
    let packets = delivered(&conv.frames);
    let got: Vec<(Direction, u64, Option<u32>)> =
        packets.iter().map(|(d, f, s, _)| (*d, *f, *s)).collect();
    assert_eq!(
        got,
        [
            (Direction::ToBroker, 4, Some(client_isn.wrapping_add(1))),
            (Direction::ToClient, 5, Some(7001)),
            (Direction::ToBroker, 6, Some(publish_seq)),
            (Direction::ToBroker, 9, Some(ping_seq)),
            (Direction::ToClient, 10, Some(7001 + connack().len() as u32)),
        ]
    );
    assert!(
        publish_seq > u32::MAX - 40 && ping_seq < 100,
        "the test crosses the wrap"
    );
    assert_seqs_point_at_first_bytes(&conv.frames, &packets);
}

#[test]
fn a_capture_started_mid_stream_counts_from_the_first_segment_seen() {
    let mut conv = Conversation::new(
        "10.5.0.2:45001",
        "10.5.0.1:1883",
        Link::Ethernet,
        5000,
        9000,
    );
    // No handshake: the first segment starts with the last 9 bytes of an earlier PUBLISH.
    let earlier = publish("sensors/temp", b"21.5 degrees", 0, 0);
    let next = [publish("sensors/hum", b"40%", 1, 3), pingreq()];
    conv.client_sends(&[&earlier[earlier.len() - 9..], &next.concat()[..]].concat());
    conv.server_sends(&pingresp());
    conv.client_sends(&pingreq());
    let packets = delivered(&conv.frames);
    let got: Vec<(Direction, Option<u32>)> = packets.iter().map(|(d, _, s, _)| (*d, *s)).collect();
    let publish_len = next[0].len() as u32;
    assert_eq!(
        got,
        [
            (Direction::ToBroker, Some(5009)),
            (Direction::ToBroker, Some(5009 + publish_len)),
            (Direction::ToClient, Some(9000)),
            (Direction::ToBroker, Some(5011 + publish_len)),
        ]
    );
    assert_seqs_point_at_first_bytes(&conv.frames, &packets);
}

#[test]
fn mqtt_recognised_after_detection_on_an_unknown_port_keeps_its_sequence_numbers() {
    // Held while the CONNECT heuristic waits for the CONNACK, then replayed to the framer.
    let mut conv = Conversation::new("10.5.0.2:45002", "10.5.0.1:17501", Link::Ethernet, 1, 2);
    conv.handshake();
    conv.client_sends(&connect("held"));
    conv.server_sends(&connack());
    conv.client_sends(&publish("a", b"b", 0, 0));
    let packets = delivered(&conv.frames);
    assert_eq!(packets.len(), 3);
    assert_seqs_point_at_first_bytes(&conv.frames, &packets);
}
