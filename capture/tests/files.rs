//! Capture file formats and damaged files.

use std::io::Write;

use capture::{CaptureError, PipelineConfig};
use dissector::input::Direction;

use crate::support::{Conversation, Link, run_bytes, standard_session, write_pcap, write_pcapng};

fn session(link: Link, client: &str, server: &str) -> (Conversation, Vec<Vec<u8>>) {
    let mut conv = Conversation::new(client, server, link, 77, 99);
    let (c, _) = standard_session(&mut conv);
    (conv, c)
}

#[test]
fn pcap_microsecond_little_endian() {
    let (conv, c) = session(Link::Ethernet, "10.0.0.2:40000", "10.0.0.1:1883");
    let (rec, result) = run_bytes(
        &write_pcap(&conv.frames, false, false),
        PipelineConfig::default(),
    );
    let summary = result.expect("reads");
    assert_eq!(summary.frames, conv.frames.len() as u64);
    assert_eq!(rec.packets(0, Direction::ToBroker), c);
    // Microsecond resolution: timestamps keep their microseconds.
    assert_eq!(summary.first_ts, Some(conv.frames[0].ts));
}

#[test]
fn pcap_nanosecond_big_endian() {
    let (mut conv, c) = session(Link::Ethernet, "10.0.0.2:40000", "10.0.0.1:1883");
    conv.frames[0].ts.0 += 123; // sub-microsecond part survives only with ns precision
    let (rec, result) = run_bytes(
        &write_pcap(&conv.frames, true, true),
        PipelineConfig::default(),
    );
    let summary = result.expect("reads");
    assert_eq!(summary.first_ts, Some(conv.frames[0].ts));
    assert_eq!(rec.packets(0, Direction::ToBroker), c);
}

#[test]
fn pcapng_with_two_interfaces_of_different_link_types() {
    let (a, ca) = session(Link::Ethernet, "10.0.0.2:40000", "10.0.0.1:1883");
    let (b, cb) = session(Link::Sll, "10.0.0.3:40001", "10.0.0.1:1883");
    let mut frames = a.frames.clone();
    frames.extend(b.frames.iter().cloned());
    frames.sort_by_key(|f| f.ts);
    let (rec, result) = run_bytes(&write_pcapng(&frames), PipelineConfig::default());
    let summary = result.expect("reads");
    assert_eq!(summary.frames, frames.len() as u64);
    assert_eq!(summary.tcp_streams, 2);
    let mut all = rec.packets(0, Direction::ToBroker);
    all.extend(rec.packets(1, Direction::ToBroker));
    let mut want = ca.clone();
    want.extend(cb);
    assert_eq!(all, want);
}

#[test]
fn gzip_is_detected_by_content_not_name() {
    let (conv, c) = session(Link::Ethernet, "10.0.0.2:40000", "10.0.0.1:1883");
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&write_pcapng(&conv.frames)).expect("compress");
    let bytes = gz.finish().expect("compress");
    let (rec, result) = run_bytes(&bytes, PipelineConfig::default());
    result.expect("reads");
    assert_eq!(rec.packets(0, Direction::ToBroker), c);
}

#[test]
fn a_cut_gzip_capture_is_truncated_not_a_read_error_wherever_it_is_cut() {
    let (conv, _) = session(Link::Ethernet, "10.0.0.2:40000", "10.0.0.1:1883");
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&write_pcap(&conv.frames, false, false))
        .expect("compress");
    let bytes = gz.finish().expect("compress");
    // Past the gzip header (10 bytes) and the pcap header's deflate output, up to just short
    // of the 8-byte trailer: every cut is a truncation.
    for cut in (40..bytes.len() - 8).step_by(7) {
        let (_, result) = run_bytes(&bytes[..cut], PipelineConfig::default());
        assert!(
            matches!(result, Err(CaptureError::Truncated { .. })),
            "cut at {cut} of {}: {result:?}",
            bytes.len()
        );
    }
}

#[test]
fn truncated_file_delivers_every_complete_record_then_says_where() {
    let (conv, _) = session(Link::Ethernet, "10.0.0.2:40000", "10.0.0.1:1883");
    let full = write_pcap(&conv.frames, false, false);
    let last_len = conv.frames.last().map(|f| f.data.len()).unwrap_or(0);
    let last_start = full.len() - last_len - 16;
    let cut = &full[..last_start + 20];
    let (rec, result) = run_bytes(cut, PipelineConfig::default());
    match result {
        Err(CaptureError::Truncated { offset, frames }) => {
            assert_eq!(offset, last_start as u64);
            assert_eq!(frames, conv.frames.len() as u64 - 1);
        }
        other => panic!("expected truncation, got {other:?}"),
    }
    // All MQTT packets were in complete records (the last record is the server's FIN).
    assert_eq!(rec.types(), vec![1, 2, 8, 9, 3, 4, 12, 13, 14]);
    let msg = CaptureError::Truncated {
        offset: 5,
        frames: 1,
    }
    .to_string();
    assert!(msg.contains("truncated at byte 5"), "{msg}");
}

#[test]
fn corrupt_record_header_is_reported_with_its_offset() {
    let (conv, _) = session(Link::Ethernet, "10.0.0.2:40000", "10.0.0.1:1883");
    let mut bytes = write_pcap(&conv.frames, false, false);
    // Third record's caplen := 0x7fff_ffff.
    let mut at = 24;
    for f in &conv.frames[..2] {
        at += 16 + f.data.len();
    }
    bytes[at + 8..at + 12].copy_from_slice(&0x7fff_ffffu32.to_le_bytes());
    let (_, result) = run_bytes(&bytes, PipelineConfig::default());
    match result {
        Err(CaptureError::Corrupt { offset, frames, .. }) => {
            assert_eq!(offset, at as u64);
            assert_eq!(frames, 2);
        }
        other => panic!("expected corrupt, got {other:?}"),
    }
}

#[test]
fn impossible_record_length_in_a_small_file_is_corrupt_not_truncated_in_either_byte_order() {
    let (conv, _) = session(Link::Ethernet, "10.0.0.2:40000", "10.0.0.1:1883");
    for big_endian in [false, true] {
        let mut bytes = write_pcap(&conv.frames, false, big_endian);
        // Sixth record's caplen := 16 MiB: far beyond the snap length, and beyond the file.
        let mut at = 24;
        for f in &conv.frames[..5] {
            at += 16 + f.data.len();
        }
        let claim = 0x0100_0000u32;
        let raw = if big_endian {
            claim.to_be_bytes()
        } else {
            claim.to_le_bytes()
        };
        bytes[at + 8..at + 12].copy_from_slice(&raw);
        let (rec, result) = run_bytes(&bytes, PipelineConfig::default());
        match result {
            Err(CaptureError::Corrupt { offset, frames, .. }) => {
                assert_eq!((offset, frames), (at as u64, 5), "big endian: {big_endian}");
            }
            other => panic!("expected corrupt (big endian: {big_endian}), got {other:?}"),
        }
        // The five frames before it were decoded.
        assert!(!rec.events.is_empty());
    }
}

#[test]
fn pcapng_packet_block_claiming_more_than_it_holds_is_corrupt() {
    let (conv, _) = session(Link::Ethernet, "10.0.0.2:40000", "10.0.0.1:1883");
    let mut bytes = write_pcapng(&conv.frames);
    // Walk the blocks to the third Enhanced Packet Block (type 6) and raise its caplen.
    let (mut at, mut epbs) = (0usize, 0);
    loop {
        let kind = u32::from_le_bytes(bytes[at..at + 4].try_into().expect("4"));
        let len = u32::from_le_bytes(bytes[at + 4..at + 8].try_into().expect("4")) as usize;
        if kind == 6 {
            epbs += 1;
            if epbs == 3 {
                break;
            }
        }
        at += len;
    }
    let caplen = u32::from_le_bytes(bytes[at + 20..at + 24].try_into().expect("4"));
    bytes[at + 20..at + 24].copy_from_slice(&(caplen + 1000).to_le_bytes());
    let (_, result) = run_bytes(&bytes, PipelineConfig::default());
    match result {
        Err(CaptureError::Corrupt { offset, frames, .. }) => {
            assert_eq!((offset, frames), (at as u64, 2));
        }
        other => panic!("expected corrupt, got {other:?}"),
    }
}

#[test]
fn text_file_is_not_a_capture() {
    let (_, result) = run_bytes(b"hello, this is not a capture\n", PipelineConfig::default());
    assert!(
        matches!(result, Err(CaptureError::NotACapture { .. })),
        "{result:?}"
    );
}
