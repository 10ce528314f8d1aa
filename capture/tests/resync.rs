//! Losing and regaining MQTT packet boundaries: garbage, mid-stream starts, lost segments and
//! huge length claims.

use capture::{Pipeline, PipelineConfig};
use dissector::input::{Direction, TransportIssueKind};

use crate::support::{
    Conversation, Link, Rec, Recorder, connack, connect, disconnect, packet, pingreq, pingresp,
    publish, run_frames,
};

#[test]
fn garbage_inside_a_stream_is_one_not_mqtt_issue_and_decoding_resumes() {
    let mut conv = Conversation::new("10.2.0.2:42000", "10.2.0.1:1883", Link::Ethernet, 1, 2);
    conv.handshake();
    conv.client_sends(&connect("c"));
    conv.server_sends(&connack());
    // 300 bytes of binary junk in three segments, none of it credible MQTT.
    for i in 0..3u8 {
        let junk: Vec<u8> = (0..100u32)
            .map(|j| 0xf7 ^ (j as u8).wrapping_mul(31).wrapping_add(i))
            .collect();
        conv.client_sends(&junk);
    }
    let after = [publish("x/y", b"after", 0, 0), pingreq(), disconnect()];
    conv.client_sends(&after.concat());
    conv.close();
    let (rec, _) = run_frames(&conv.frames, PipelineConfig::default());
    let got = rec.packets(0, Direction::ToBroker);
    let mut want = vec![connect("c")];
    want.extend(after.iter().cloned());
    assert_eq!(got, want, "{:?}", rec.events);
    assert_eq!(
        rec.issues(TransportIssueKind::NotMqtt).len(),
        1,
        "{:?}",
        rec.events
    );
}

#[test]
fn http_text_on_the_mqtt_port_yields_no_packets_and_one_issue() {
    let mut conv = Conversation::new("10.2.0.2:42000", "10.2.0.1:1883", Link::Ethernet, 1, 2);
    conv.handshake();
    conv.client_sends(
        b"GET / HTTP/1.1\r\nHost: broker.example\r\nUser-Agent: scanner/1.0\r\nAccept: */*\r\n\r\n",
    );
    conv.server_sends(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n");
    conv.close();
    let (rec, _) = run_frames(&conv.frames, PipelineConfig::default());
    assert!(rec.types().is_empty(), "bogus packets: {:?}", rec.events);
    assert_eq!(
        rec.issues(TransportIssueKind::NotMqtt).len(),
        2,
        "one per direction"
    );
}

#[test]
fn capture_started_mid_stream_finds_the_first_packet_boundary() {
    let mut conv = Conversation::new(
        "10.2.0.2:42000",
        "10.2.0.1:1883",
        Link::Ethernet,
        5000,
        9000,
    );
    // No handshake: the capture starts with the tail of a PUBLISH.
    let earlier = publish("sensors/temp", b"21.5 degrees", 0, 0);
    let tail = &earlier[earlier.len() - 9..];
    let next = [publish("sensors/hum", b"40%", 1, 3), pingreq()];
    let mut first_segment = tail.to_vec();
    first_segment.extend(next.concat());
    conv.client_sends(&first_segment);
    conv.server_sends(&packet(0x40, &[0, 3]));
    conv.server_sends(&pingresp());
    let (rec, _) = run_frames(&conv.frames, PipelineConfig::default());
    assert_eq!(rec.packets(0, Direction::ToBroker), next.to_vec());
    assert_eq!(
        rec.packets(0, Direction::ToClient),
        vec![packet(0x40, &[0, 3]), pingresp()]
    );
    let gaps = rec.gaps();
    assert_eq!(gaps.len(), 1);
    assert_eq!((gaps[0].missing, gaps[0].resync_skipped), (0, 9));
    assert!(rec.issues(TransportIssueKind::NotMqtt).is_empty());
    let opened = rec.opened();
    assert_eq!(opened[0].roles_from, dissector::input::RoleSource::Port);
    assert_eq!(opened[0].broker, conv.server);
}

#[test]
fn lost_segment_inside_a_packet_keeps_sync_and_truncates_only_that_packet() {
    let mut conv = Conversation::new("10.2.0.2:42000", "10.2.0.1:1883", Link::Ethernet, 1, 2);
    conv.handshake();
    conv.client_sends(&connect("c"));
    conv.server_sends(&connack());
    let big = publish("t", &[0x55; 3000], 0, 0);
    conv.client_sends(&big[..1000]);
    conv.client_loses(1000);
    conv.client_sends(&big[2000..]);
    let after = [publish("t", b"next", 0, 0), pingreq()];
    conv.client_sends(&after.concat());
    conv.server_sends(&pingresp()); // acknowledges everything, revealing the loss
    conv.close();
    let (rec, _) = run_frames(&conv.frames, PipelineConfig::default());
    let gaps = rec.gaps();
    assert_eq!(gaps.len(), 1, "{:?}", rec.events);
    assert_eq!((gaps[0].missing, gaps[0].resync_skipped), (1000, 0));
    assert!(rec.issues(TransportIssueKind::NotMqtt).is_empty());
    let truncated: Vec<(u64, bool, usize)> = rec
        .events
        .iter()
        .filter_map(|e| match e {
            Rec::Packet {
                packet_len,
                truncated: true,
                bytes,
                ..
            } => Some((*packet_len, true, bytes.len())),
            _ => None,
        })
        .collect();
    assert_eq!(truncated, vec![(big.len() as u64, true, 1000)]);
    let got = rec.packets(0, Direction::ToBroker);
    assert_eq!(&got[got.len() - 2..], &after[..]);
}

#[test]
fn lost_segment_across_packet_boundaries_resyncs_once() {
    let mut conv = Conversation::new("10.2.0.2:42000", "10.2.0.1:1883", Link::Ethernet, 1, 2);
    conv.handshake();
    conv.client_sends(&connect("c"));
    conv.server_sends(&connack());
    let a = publish("alpha", &[1; 50], 0, 0);
    let b = publish("beta", &[2; 50], 0, 0);
    let c = publish("gamma", &[3; 50], 0, 0);
    let d = pingreq();
    let stream = [a.clone(), b.clone(), c.clone(), d.clone()].concat();
    // Lose from the middle of `a`'s header area to the middle of `b`.
    conv.client_sends(&stream[..1]);
    conv.client_loses(a.len() + 10 - 1);
    conv.client_sends(&stream[a.len() + 10..]);
    conv.server_sends(&pingresp());
    conv.close();
    let (rec, _) = run_frames(&conv.frames, PipelineConfig::default());
    let got = rec.packets(0, Direction::ToBroker);
    assert_eq!(&got[1..], &[c, d], "{:?}", rec.events);
    let gaps = rec.gaps();
    assert_eq!(gaps.len(), 1);
    assert_eq!(gaps[0].missing, (a.len() + 9) as u64);
    assert_eq!(gaps[0].resync_skipped, (b.len() - 10) as u64);
    assert!(rec.issues(TransportIssueKind::NotMqtt).is_empty());
}

#[test]
fn huge_remaining_length_claim_is_skipped_with_bounded_memory() {
    // 268,435,455 bytes claimed (the largest MQTT allows); 8 MiB actually sent.
    let mut conv = Conversation::new("10.2.0.2:42000", "10.2.0.1:1883", Link::Ethernet, 1, 2);
    conv.handshake();
    conv.client_sends(&connect("c"));
    let mut head = vec![0x30, 0xff, 0xff, 0xff, 0x7f, 0x00, 0x01, b't'];
    head.extend_from_slice(&[0xaa; 1000]);
    conv.client_sends(&head);
    let chunk = vec![0xbb; 60_000];
    for _ in 0..140 {
        conv.client_sends(&chunk);
    }
    let config = PipelineConfig {
        payload_limit: 1 << 20,
        ..PipelineConfig::default()
    };
    let mut pipeline = Pipeline::new(config);
    let mut rec = Recorder::default();
    let mut peak = 0usize;
    for (i, f) in conv.frames.iter().enumerate() {
        pipeline.push_frame(&f.raw(i as u64 + 1), &mut rec);
        peak = peak.max(pipeline.buffered_bytes());
    }
    pipeline.finish(&mut rec);
    assert!(peak < 512 * 1024, "buffered {peak} bytes");
    assert_eq!(rec.issues(TransportIssueKind::PayloadOverLimit).len(), 1);
    let truncated: Vec<(u64, usize)> = rec
        .events
        .iter()
        .filter_map(|e| match e {
            Rec::Packet {
                packet_len,
                truncated: true,
                bytes,
                ..
            } => Some((*packet_len, bytes.len())),
            _ => None,
        })
        .collect();
    assert_eq!(truncated, vec![(268_435_455 + 5, 64 * 1024)]);
}

#[test]
fn packet_over_the_limit_keeps_its_head_and_the_next_packet_decodes() {
    let mut conv = Conversation::new("10.2.0.2:42000", "10.2.0.1:1883", Link::Ethernet, 1, 2);
    conv.handshake();
    let big = publish("big/topic", &vec![0x42; 300_000], 0, 0);
    for piece in big.chunks(1460) {
        conv.client_sends(piece);
    }
    conv.client_sends(&pingreq());
    let config = PipelineConfig {
        payload_limit: 100_000,
        ..PipelineConfig::default()
    };
    let (rec, _) = run_frames(&conv.frames, config);
    let got: Vec<(bool, usize, u64)> = rec
        .events
        .iter()
        .filter_map(|e| match e {
            Rec::Packet {
                truncated,
                bytes,
                packet_len,
                ..
            } => Some((*truncated, bytes.len(), *packet_len)),
            _ => None,
        })
        .collect();
    assert_eq!(
        got,
        vec![(true, 64 * 1024, big.len() as u64), (false, 2, 2)]
    );
    // The kept head starts with the real fixed header and topic.
    assert_eq!(&rec.packets(0, Direction::ToBroker)[0][..16], &big[..16]);
}

#[test]
fn over_limit_packet_cut_by_the_capture_end_has_the_frame_and_time_of_its_last_bytes() {
    let mut conv = Conversation::new("10.2.0.2:42009", "10.2.0.1:1883", Link::Ethernet, 1, 2);
    conv.handshake();
    conv.client_sends(&connect("cut"));
    conv.server_sends(&connack());
    // A 256 MB claim with 2 KB present, then the capture ends.
    let mut huge = vec![0x30, 0xff, 0xff, 0xff, 0x7f, 0x00, 0x0a];
    huge.extend_from_slice(b"huge/topic");
    huge.extend_from_slice(&[b'A'; 1000]);
    conv.client_sends(&huge);
    conv.client_sends(&[b'B'; 1000]);
    let mut pipeline = Pipeline::new(PipelineConfig::default());
    let mut cut = Vec::new();
    let mut sink = |event: dissector::input::StreamEvent<'_>| {
        if let dissector::input::StreamEvent::Packet(p) = event
            && p.truncated
        {
            cut.push((p.first_frame, p.frame, p.ts));
        }
    };
    for (i, f) in conv.frames.iter().enumerate() {
        pipeline.push_frame(&f.raw(i as u64 + 1), &mut sink);
    }
    pipeline.finish(&mut sink);
    let n = conv.frames.len() as u64;
    let last_ts = conv.frames[conv.frames.len() - 1].ts;
    assert_eq!(cut, [(n - 1, n, last_ts)]);
}

#[test]
fn a_stream_that_is_garbage_from_its_first_byte_is_one_not_mqtt_issue_not_a_gap() {
    // No handshake, so the framer starts unsynchronised; nothing it sees is MQTT.
    let mut conv = Conversation::new("10.2.0.2:42010", "10.2.0.1:1883", Link::Ethernet, 1, 2);
    let mut state = 0x2545_f491_u32;
    let mut total = 0u64;
    for _ in 0..20 {
        let junk: Vec<u8> = (0..100)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 17;
                state ^= state << 5;
                // Bytes 0x00 and 0xf0..: type 0 and reserved-flag AUTH, never a packet start.
                (state as u8) & 0x0f
            })
            .collect();
        total += junk.len() as u64;
        conv.client_sends(&junk);
    }
    let (rec, _) = run_frames(&conv.frames, PipelineConfig::default());
    assert!(rec.gaps().is_empty(), "{:?}", rec.gaps());
    let issues = rec.issues(TransportIssueKind::NotMqtt);
    assert_eq!(issues.len(), 1, "{issues:?}");
    assert!(
        issues[0].detail.starts_with(&format!("{total} bytes")),
        "{issues:?}"
    );
    assert!(rec.types().is_empty());
}

#[test]
fn a_packet_claiming_almost_the_payload_limit_reserves_only_what_arrived() {
    let mut conv = Conversation::new("10.2.0.2:42011", "10.2.0.1:1883", Link::Ethernet, 1, 2);
    conv.handshake();
    conv.client_sends(&connect("claim"));
    // 16,000,000 bytes claimed (under the 16 MiB limit), 1 KB present.
    let mut head = vec![0x30, 0x80, 0xc8, 0xd0, 0x07, 0x00, 0x01, b't'];
    head.extend_from_slice(&[0xaa; 1000]);
    conv.client_sends(&head);
    let mut pipeline = Pipeline::new(PipelineConfig::default());
    let mut rec = Recorder::default();
    for (i, f) in conv.frames.iter().enumerate() {
        pipeline.push_frame(&f.raw(i as u64 + 1), &mut rec);
    }
    let held = pipeline.buffered_bytes();
    assert!(held < 64 * 1024, "{held} bytes reserved for 1 KB present");
    pipeline.finish(&mut rec);
}
