//! Robustness: damaged captures never panic, hang or buffer without bound. Each kind of damage
//! (a cut file, a corrupt record or block header, a cut gzip, garbage on port 1883, a PUBLISH
//! claiming 256 MB, a lost TCP segment) gets a clear error or an anomaly, and every MQTT packet
//! decodable around it is still decoded.
//!
//! Everything runs through the library as the CLI does: `capture::FileSource` and
//! `capture::Pipeline` feeding [`Recorder`], which decodes each packet with `dissector::codec`
//! (through `ours::RowCollector`) and also drives `dissector::analyze::Analyzer` and
//! `dissector::stats`, so a panic anywhere on the way fails the test.

use std::io::{Cursor, Write};

use capture::{CaptureError, CaptureSummary, FileSource, Pipeline, PipelineConfig};
use dissector::analyze::{Analyzer, AnalyzerConfig};
use dissector::filter::Filter;
use dissector::input::{EventSink, GapEvent, StreamEvent, TransportIssueKind};
use dissector::model::{AnomalyCode, Trace};
use mqscope_tests::PacketRow;
use mqscope_tests::captures::{sample, sample_names};
use mqscope_tests::ours::{RowCollector, configured_for};
use proptest::prelude::*;

/// Records what the pipeline reports and runs the analyzer on the same events.
struct Recorder {
    rows: RowCollector,
    analyzer: Analyzer,
    issues: Vec<TransportIssueKind>,
    gaps: Vec<GapEvent>,
}

impl Recorder {
    /// Nothing recorded yet; the analyzer with its default configuration.
    fn new() -> Recorder {
        Recorder {
            rows: RowCollector::default(),
            analyzer: Analyzer::new(AnalyzerConfig::default()),
            issues: Vec::new(),
            gaps: Vec::new(),
        }
    }
}

impl EventSink for Recorder {
    fn event(&mut self, event: StreamEvent<'_>) {
        match &event {
            StreamEvent::Issue(issue) => self.issues.push(issue.kind),
            StreamEvent::Gap(gap) => self.gaps.push(gap.clone()),
            _ => {}
        }
        self.rows.event(event.clone());
        self.analyzer.event(event);
    }
}

/// What one run over a (damaged) capture produced.
struct Run {
    /// One row per MQTT packet, decoded by our codec.
    rows: Vec<PacketRow>,
    /// Transport issues, in order.
    issues: Vec<TransportIssueKind>,
    /// Gaps, in order.
    gaps: Vec<GapEvent>,
    /// The flow model.
    trace: Trace,
    /// How reading ended.
    result: Result<CaptureSummary, CaptureError>,
}

impl Run {
    /// True when the analyzer reported an anomaly with `code`.
    fn has_anomaly(&self, code: AnomalyCode) -> bool {
        self.trace.anomalies.iter().any(|a| a.code == code)
    }
    /// Rows of packets whose last byte came in a frame before `frame`.
    fn rows_before(&self, frame: u64) -> Vec<PacketRow> {
        self.rows
            .iter()
            .filter(|r| r.frame < frame)
            .cloned()
            .collect()
    }
}

/// Runs `bytes` as a capture file through the pipeline with `config`, the analyzer and the
/// statistics.
fn run_with(bytes: Vec<u8>, config: PipelineConfig) -> Run {
    let mut recorder = Recorder::new();
    let mut pipeline = Pipeline::new(config);
    let result = FileSource::from_reader(Cursor::new(bytes), "damaged.pcap")
        .and_then(|source| pipeline.run_source(source, &mut recorder, None));
    let end = pipeline.summary().last_ts.unwrap_or_default();
    let trace = recorder.analyzer.finish(end);
    // Statistics and display filters over whatever the damaged capture left must not panic
    // either; a filter that matches every packet must find every packet of the model.
    let _ = dissector::stats::compute(&trace);
    for text in [
        "mqtt",
        "mqscope.anomaly || mqscope.incomplete",
        "mqtt.topic matches \"^[a-z]\" && frame.time_relative >= 0",
    ] {
        let filter = Filter::parse(text).expect("a valid filter");
        let _ = filter.matching_connections(&trace);
        let packets = filter.matching_packets(&trace);
        if text == "mqtt" {
            assert_eq!(
                packets.len(),
                trace.packets.len(),
                "\"mqtt\" matches every packet"
            );
        }
    }
    Run {
        rows: recorder.rows.rows,
        issues: recorder.issues,
        gaps: recorder.gaps,
        trace,
        result,
    }
}

/// [`run_with`] with the default configuration.
fn run(bytes: Vec<u8>) -> Run {
    run_with(bytes, PipelineConfig::default())
}

/// A sample capture to damage: its bytes and the pipeline configuration a user would give
/// for it (its MQTT, WebSocket or TLS port).
struct Target {
    name: String,
    bytes: Vec<u8>,
    config: PipelineConfig,
}

impl Target {
    /// Runs `bytes` (this sample, damaged) with the sample's configuration.
    fn run(&self, bytes: Vec<u8>) -> Run {
        run_with(bytes, self.config.clone())
    }
}

/// One sample by name.
fn target(name: &str) -> Target {
    let capture = sample(name).capture;
    let bytes = std::fs::read(&capture.path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", capture.path.display()));
    Target {
        name: name.to_string(),
        bytes,
        config: configured_for(&capture),
    }
}

/// Every sample.
fn targets() -> Vec<Target> {
    sample_names().iter().map(|name| target(name)).collect()
}

/// Offsets where each record of a little-endian legacy pcap ends (the first is the end of the
/// 24-byte file header). `caplen` is at offset 8 of each 16-byte record header.
fn record_ends(bytes: &[u8]) -> Vec<usize> {
    assert_eq!(
        bytes.get(..4),
        Some(&[0xd4, 0xc3, 0xb2, 0xa1][..]),
        "LE pcap"
    );
    let mut ends = vec![24];
    let mut at = 24;
    while let Some(caplen) = bytes.get(at + 8..at + 12) {
        let caplen = u32::from_le_bytes([caplen[0], caplen[1], caplen[2], caplen[3]]) as usize;
        at += 16 + caplen;
        if at > bytes.len() {
            break;
        }
        ends.push(at);
    }
    ends
}

/// Number of whole records in the first `len` bytes of a capture with `ends`.
fn complete_records(ends: &[usize], len: usize) -> u64 {
    ends.iter().filter(|&&end| end <= len).count() as u64 - 1
}

/// True when `part` appears in `whole` in order (not necessarily contiguously).
fn is_subsequence(part: &[PacketRow], whole: &[PacketRow]) -> bool {
    let mut rest = whole.iter();
    part.iter().all(|p| rest.any(|w| w == p))
}

// ---------------------------------------------------------------------------------------------
// Files that are not captures at all.

#[test]
fn an_empty_file_is_an_empty_error_not_a_panic() {
    let run = run(Vec::new());
    assert!(
        matches!(run.result, Err(CaptureError::Empty { .. })),
        "{:?}",
        run.result
    );
    assert!(run.rows.is_empty());
}

#[test]
fn a_text_file_is_not_a_capture_and_the_error_shows_its_first_bytes() {
    let run = run(b"Hello, this is not a capture\n".repeat(10));
    let Err(e) = run.result else {
        panic!("text read as a capture")
    };
    assert!(matches!(e, CaptureError::NotACapture { .. }), "{e:?}");
    assert!(e.to_string().contains("48 65 6c 6c"), "{e}");
}

#[test]
fn a_file_cut_inside_its_header_is_truncated_at_byte_zero() {
    let good = target("mqtt311-session").bytes;
    for len in [1, 2, 3, 4, 10, 23] {
        let run = run(good[..len].to_vec());
        assert!(
            matches!(
                run.result,
                Err(CaptureError::Truncated {
                    offset: 0,
                    frames: 0
                } | CaptureError::Empty { .. }
                    | CaptureError::NotACapture { .. })
            ),
            "cut at {len}: {:?}",
            run.result
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Truncated and corrupt files: every frame before the damage is decoded, then a clear error.

#[test]
fn a_capture_cut_anywhere_keeps_every_packet_of_its_complete_frames() {
    for target in targets() {
        let name = &target.name;
        let good = target.bytes.clone();
        let ends = record_ends(&good);
        let reference = target.run(good.clone());
        assert!(reference.result.is_ok(), "{name}: {:?}", reference.result);
        assert!(
            !reference.rows.is_empty() || sample(name).capture.tls_keylog.is_some(),
            "{name}: no MQTT decoded, the cuts would prove nothing"
        );
        // About seven records spread over the file: cut at the record's end, one byte into
        // the next record header, and inside the next record's data (a few hundred runs in
        // all: the property test below adds random cuts).
        let mut cuts: Vec<usize> = ends
            .iter()
            .step_by((ends.len() / 7).max(1))
            .flat_map(|&e| [e, e + 1, e + 20])
            .filter(|&c| c >= 24 && c < good.len())
            .collect();
        cuts.sort_unstable();
        cuts.dedup();
        for cut in cuts {
            let whole = complete_records(&ends, cut);
            let damaged = target.run(good[..cut].to_vec());
            if ends.contains(&cut) {
                assert!(
                    damaged.result.is_ok(),
                    "{name} cut at record end {cut}: {:?}",
                    damaged.result
                );
            } else {
                match &damaged.result {
                    Err(CaptureError::Truncated { offset, frames }) => {
                        assert_eq!(*frames, whole, "{name} cut at {cut}");
                        assert_eq!(
                            *offset as usize, ends[whole as usize],
                            "{name} cut at {cut}"
                        );
                    }
                    other => panic!("{name} cut at {cut}: expected Truncated, got {other:?}"),
                }
            }
            let expected = reference.rows_before(whole + 1);
            assert!(
                is_subsequence(&expected, &damaged.rows),
                "{name} cut at {cut} ({whole} whole frames): packets of whole frames lost\n\
                 expected {expected:#?}\ngot {:#?}",
                damaged.rows
            );
        }
    }
}

/// Writes `value` as the little-endian `caplen` of record `index` (0-based).
fn set_caplen(bytes: &mut [u8], ends: &[usize], index: usize, value: u32) {
    let at = ends[index] + 8;
    bytes[at..at + 4].copy_from_slice(&value.to_le_bytes());
}

#[test]
fn a_record_header_claiming_gigabytes_is_corrupt_after_the_frames_before_it() {
    let target = target("mqtt311-session");
    let good = target.bytes.clone();
    let ends = record_ends(&good);
    let reference = target.run(good.clone());
    for (index, claim) in [
        (5, 0xffff_fff0),
        (5, 0x0100_0000),
        (9, 262_145),
        (0, u32::MAX),
    ] {
        let mut bad = good.clone();
        set_caplen(&mut bad, &ends, index, claim);
        let damaged = target.run(bad);
        // Corrupt when the reader compares the claim with the snap length; a claim longer
        // than the rest of a small file is (so far) reported as a truncated record. Either
        // way: the right record, and every frame before it.
        match &damaged.result {
            Err(
                CaptureError::Corrupt { offset, frames, .. }
                | CaptureError::Truncated { offset, frames },
            ) => {
                assert_eq!(*frames, index as u64, "caplen {claim:#x} on record {index}");
                assert_eq!(*offset as usize, ends[index]);
            }
            other => panic!("caplen {claim:#x} on record {index}: got {other:?}"),
        }
        assert_eq!(
            damaged.rows,
            reference.rows_before(index as u64 + 1),
            "caplen {claim:#x} on record {index}"
        );
    }
}

#[test]
fn a_huge_snap_length_in_the_file_header_changes_nothing() {
    let target = target("mqtt5-session");
    let good = target.bytes.clone();
    let mut huge = good.clone();
    huge[16..20].copy_from_slice(&u32::MAX.to_le_bytes());
    let reference = target.run(good);
    let damaged = target.run(huge);
    assert!(damaged.result.is_ok(), "{:?}", damaged.result);
    assert_eq!(damaged.rows, reference.rows);
}

#[test]
fn a_record_claiming_2_gb_under_a_huge_snap_length_is_refused_not_buffered() {
    let target = target("mqtt5-session");
    let good = target.bytes.clone();
    let ends = record_ends(&good);
    let mut bad = good.clone();
    bad[16..20].copy_from_slice(&u32::MAX.to_le_bytes());
    set_caplen(&mut bad, &ends, 3, 0x7fff_ffff);
    let damaged = target.run(bad);
    // The reader may not buffer 2 GB to find out: it stops at the record, after 3 frames.
    match &damaged.result {
        Err(
            CaptureError::Corrupt { frames: 3, .. } | CaptureError::Truncated { frames: 3, .. },
        ) => {}
        other => panic!("expected an error after 3 frames, got {other:?}"),
    }
}

/// The legacy pcap `good` as pcapng: a section header, one Ethernet interface, one Enhanced
/// Packet Block per record (pcapng §4.1, §4.2, §4.3). Returns the file and each block's start.
fn to_pcapng(good: &[u8]) -> (Vec<u8>, Vec<usize>) {
    fn block(out: &mut Vec<u8>, kind: u32, body: &[u8]) {
        let padded = body.len().div_ceil(4) * 4;
        let len = (12 + padded) as u32;
        out.extend_from_slice(&kind.to_le_bytes());
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(body);
        out.resize(out.len() + padded - body.len(), 0);
        out.extend_from_slice(&len.to_le_bytes());
    }
    let mut out = Vec::new();
    let mut shb = Vec::new();
    shb.extend_from_slice(&0x1a2b_3c4d_u32.to_le_bytes()); // byte-order magic
    shb.extend_from_slice(&1u16.to_le_bytes()); // major
    shb.extend_from_slice(&0u16.to_le_bytes()); // minor
    shb.extend_from_slice(&(-1i64).to_le_bytes()); // section length unknown
    block(&mut out, 0x0a0d_0d0a, &shb);
    let mut idb = Vec::new();
    idb.extend_from_slice(&1u16.to_le_bytes()); // LINKTYPE_ETHERNET
    idb.extend_from_slice(&0u16.to_le_bytes());
    idb.extend_from_slice(&65535u32.to_le_bytes());
    block(&mut out, 1, &idb);
    let ends = record_ends(good);
    let mut starts = Vec::new();
    for pair in ends.windows(2) {
        let record = &good[pair[0]..pair[1]];
        let field = |at: usize| {
            u32::from_le_bytes([record[at], record[at + 1], record[at + 2], record[at + 3]])
        };
        let micros = u64::from(field(0)) * 1_000_000 + u64::from(field(4));
        let mut epb = Vec::new();
        epb.extend_from_slice(&0u32.to_le_bytes()); // interface 0
        epb.extend_from_slice(&((micros >> 32) as u32).to_le_bytes());
        epb.extend_from_slice(&(micros as u32).to_le_bytes());
        epb.extend_from_slice(&field(8).to_le_bytes()); // captured length
        epb.extend_from_slice(&field(12).to_le_bytes()); // original length
        epb.extend_from_slice(&record[16..]);
        starts.push(out.len());
        block(&mut out, 6, &epb);
    }
    (out, starts)
}

#[test]
fn a_pcapng_block_with_a_corrupt_length_is_an_error_after_the_blocks_before_it() {
    let target = target("mqtt311-session");
    let good = target.bytes.clone();
    let reference = target.run(good.clone());
    let (ng, starts) = to_pcapng(&good);
    let converted = target.run(ng.clone());
    assert!(converted.result.is_ok(), "{:?}", converted.result);
    assert_eq!(converted.rows, reference.rows, "pcapng conversion");
    let index = 6;
    for claim in [0u32, 4, 13, 0x101, 64 << 20, 0xffff_fff0] {
        let mut bad = ng.clone();
        let at = starts[index] + 4;
        bad[at..at + 4].copy_from_slice(&claim.to_le_bytes());
        let damaged = target.run(bad);
        match &damaged.result {
            Err(CaptureError::Corrupt { frames, .. } | CaptureError::Truncated { frames, .. }) => {
                assert_eq!(*frames, index as u64, "block length {claim:#x}");
            }
            other => panic!("block length {claim:#x}: got {other:?}"),
        }
        assert_eq!(
            damaged.rows,
            reference.rows_before(index as u64 + 1),
            "block length {claim:#x}"
        );
    }
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(bytes).expect("writing to a Vec");
    encoder.finish().expect("writing to a Vec")
}

#[test]
fn a_gzip_cut_short_is_an_error_after_everything_it_still_holds() {
    let target = target("mqtt311-session");
    let good = target.bytes.clone();
    let reference = target.run(good.clone());
    let gz = gzip(&good);
    let whole = target.run(gz.clone());
    assert!(whole.result.is_ok(), "{:?}", whole.result);
    assert_eq!(whole.rows, reference.rows);
    for cut in [gz.len() / 4, gz.len() / 2, gz.len() - 9, gz.len() - 1] {
        let damaged = target.run(gz[..cut].to_vec());
        let frames = match &damaged.result {
            Err(CaptureError::Truncated { frames, .. }) => *frames,
            Err(CaptureError::Read { .. }) => 0,
            other => panic!("gzip cut at {cut} of {}: got {other:?}", gz.len()),
        };
        assert!(
            is_subsequence(&reference.rows_before(frames + 1), &damaged.rows),
            "gzip cut at {cut}: packets of whole frames lost"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Bad traffic inside a well-formed file.

/// Builds Ethernet / IPv4 / TCP frames of one connection, sequence numbers kept by direction.
struct Conn {
    client_port: u16,
    seq: [u32; 2],
    frames: Vec<Vec<u8>>,
}

const CLIENT_IP: [u8; 4] = [10, 0, 0, 1];
const BROKER_IP: [u8; 4] = [10, 0, 0, 2];
const SYN: u8 = 0x02;
const ACK: u8 = 0x10;
const PSH_ACK: u8 = 0x18;
const FIN_ACK: u8 = 0x11;

impl Conn {
    fn new(client_port: u16) -> Conn {
        Conn {
            client_port,
            seq: [1000, 5000],
            frames: Vec::new(),
        }
    }

    /// A segment from the client (`dir` 0) or the broker (`dir` 1); `send` false drops it from
    /// the capture (a lost segment) while its sequence space is still used.
    fn segment(&mut self, dir: usize, flags: u8, payload: &[u8], send: bool) {
        let (src, dst) = if dir == 0 {
            (CLIENT_IP, BROKER_IP)
        } else {
            (BROKER_IP, CLIENT_IP)
        };
        let (sport, dport) = if dir == 0 {
            (self.client_port, 1883)
        } else {
            (1883, self.client_port)
        };
        let seq = self.seq[dir];
        let ack = if flags & ACK != 0 {
            self.seq[1 - dir]
        } else {
            0
        };
        let mut tcp = Vec::new();
        tcp.extend_from_slice(&sport.to_be_bytes());
        tcp.extend_from_slice(&dport.to_be_bytes());
        tcp.extend_from_slice(&seq.to_be_bytes());
        tcp.extend_from_slice(&ack.to_be_bytes());
        tcp.extend_from_slice(&[5 << 4, flags, 0xff, 0xff, 0, 0, 0, 0]);
        tcp.extend_from_slice(payload);
        let total = (20 + tcp.len()) as u16;
        let mut ip = vec![0x45, 0];
        ip.extend_from_slice(&total.to_be_bytes());
        ip.extend_from_slice(&[0, 1, 0x40, 0, 64, 6, 0, 0]);
        ip.extend_from_slice(&src);
        ip.extend_from_slice(&dst);
        let sum = ip
            .chunks(2)
            .map(|w| u32::from(u16::from_be_bytes([w[0], w[1]])))
            .sum::<u32>();
        let sum = !((sum & 0xffff) + (sum >> 16)) as u16;
        ip[10..12].copy_from_slice(&sum.to_be_bytes());
        let mut frame = vec![2, 2, 2, 2, 2, 2, 4, 4, 4, 4, 4, 4, 0x08, 0x00];
        frame.extend_from_slice(&ip);
        frame.extend_from_slice(&tcp);
        let used = payload.len() as u32 + u32::from(flags & (SYN | 0x01) != 0);
        self.seq[dir] = self.seq[dir].wrapping_add(used);
        if send {
            self.frames.push(frame);
        }
    }

    /// A connection past its TCP handshake, CONNECT and CONNACK.
    fn connected(client_port: u16) -> Conn {
        let mut conn = Conn::new(client_port);
        conn.handshake();
        conn.client(CONNECT);
        conn.broker(CONNACK);
        conn
    }

    /// A whole healthy connection: CONNECT, CONNACK, a QoS 1 PUBLISH of `topic` with
    /// `packet_id`, its PUBACK and both FINs (stream type ids 1, 2, 3, 4).
    fn healthy(client_port: u16, topic: &str, packet_id: u16) -> Conn {
        let mut conn = Conn::connected(client_port);
        conn.client(&publish(topic, b"fine", Some(packet_id)));
        conn.broker(&puback(packet_id));
        conn.fin();
        conn
    }

    fn handshake(&mut self) {
        self.segment(0, SYN, &[], true);
        self.segment(1, SYN | ACK, &[], true);
        self.segment(0, ACK, &[], true);
    }
    fn client(&mut self, payload: &[u8]) {
        self.segment(0, PSH_ACK, payload, true);
    }
    fn broker(&mut self, payload: &[u8]) {
        self.segment(1, PSH_ACK, payload, true);
    }
    fn fin(&mut self) {
        self.segment(0, FIN_ACK, &[], true);
        self.segment(1, FIN_ACK, &[], true);
    }
}

/// A little-endian microsecond pcap of Ethernet frames, one second apart.
fn pcap(frames: &[Vec<u8>]) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&0xa1b2_c3d4_u32.to_le_bytes());
    out.extend_from_slice(&2u16.to_le_bytes());
    out.extend_from_slice(&4u16.to_le_bytes());
    out.extend_from_slice(&[0; 8]);
    out.extend_from_slice(&65535u32.to_le_bytes());
    out.extend_from_slice(&1u32.to_le_bytes());
    for (i, frame) in frames.iter().enumerate() {
        out.extend_from_slice(&(1_700_000_000 + i as u32).to_le_bytes());
        out.extend_from_slice(&0u32.to_le_bytes());
        out.extend_from_slice(&(frame.len() as u32).to_le_bytes());
        out.extend_from_slice(&(frame.len() as u32).to_le_bytes());
        out.extend_from_slice(frame);
    }
    out
}

/// CONNECT, MQTT 3.1.1, clean session, keepalive 60, client id "dev1".
const CONNECT: &[u8] = &[
    0x10, 0x10, 0x00, 0x04, b'M', b'Q', b'T', b'T', 0x04, 0x02, 0x00, 0x3c, 0x00, 0x04, b'd', b'e',
    b'v', b'1',
];
/// CONNACK, session not present, accepted.
const CONNACK: &[u8] = &[0x20, 0x02, 0x00, 0x00];
const PINGREQ: &[u8] = &[0xc0, 0x00];
const PINGRESP: &[u8] = &[0xd0, 0x00];

/// A PUBLISH of `topic` with `payload`, QoS 1 with `packet_id` when given, else QoS 0.
fn publish(topic: &str, payload: &[u8], packet_id: Option<u16>) -> Vec<u8> {
    let mut body = (topic.len() as u16).to_be_bytes().to_vec();
    body.extend_from_slice(topic.as_bytes());
    if let Some(id) = packet_id {
        body.extend_from_slice(&id.to_be_bytes());
    }
    body.extend_from_slice(payload);
    let mut out = vec![if packet_id.is_some() { 0x32 } else { 0x30 }];
    let mut len = body.len();
    loop {
        let digit = (len % 128) as u8;
        len /= 128;
        out.push(if len > 0 { digit | 0x80 } else { digit });
        if len == 0 {
            break;
        }
    }
    out.extend_from_slice(&body);
    out
}

fn puback(packet_id: u16) -> Vec<u8> {
    let id = packet_id.to_be_bytes();
    vec![0x40, 0x02, id[0], id[1]]
}

/// The first 1 KB of a QoS 0 PUBLISH of "huge/topic" whose remaining length claims
/// FF FF FF 7F (268,435,455 bytes, the most a varint can say).
fn huge_publish_start() -> Vec<u8> {
    let mut huge = vec![0x30, 0xff, 0xff, 0xff, 0x7f, 0x00, 0x0a];
    huge.extend_from_slice(b"huge/topic");
    huge.extend_from_slice(&[b'A'; 1000]);
    huge
}

/// Deterministic pseudo-random bytes (an LCG: the test needs variety, not quality).
fn noise(len: usize, seed: u32) -> Vec<u8> {
    let mut state = seed;
    (0..len)
        .map(|_| {
            state = state.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            (state >> 16) as u8
        })
        .collect()
}

fn topics_of(run: &Run) -> Vec<String> {
    run.rows.iter().flat_map(|r| r.topics.clone()).collect()
}

#[test]
fn garbage_on_port_1883_is_reported_and_the_traffic_around_it_still_decoded() {
    let mut conn = Conn::connected(40000);
    conn.client(&noise(700, 7));
    conn.broker(PINGRESP);
    conn.client(PINGREQ);
    conn.fin();
    // A second, healthy connection after the garbage.
    let healthy = Conn::healthy(40001, "ok/after", 7);
    let frames: Vec<Vec<u8>> = conn.frames.into_iter().chain(healthy.frames).collect();
    let run = run(pcap(&frames));
    assert!(run.result.is_ok(), "{:?}", run.result);
    let stream0: Vec<u8> = run
        .rows
        .iter()
        .filter(|r| r.stream == 0 && r.error.is_none())
        .map(|r| r.type_id)
        .collect();
    // CONNECT and CONNACK before the garbage, PINGRESP from the undamaged direction.
    assert!(stream0.starts_with(&[1, 2]), "{stream0:?}");
    assert!(stream0.contains(&13), "broker's PINGRESP lost: {stream0:?}");
    assert!(
        run.issues.contains(&TransportIssueKind::NotMqtt)
            || run.has_anomaly(AnomalyCode::Malformed)
            || run.rows.iter().any(|r| r.stream == 0 && r.error.is_some()),
        "garbage went unreported: issues {:?}, anomalies {:?}",
        run.issues,
        run.trace.anomalies
    );
    let stream1: Vec<u8> = run
        .rows
        .iter()
        .filter(|r| r.stream == 1)
        .map(|r| r.type_id)
        .collect();
    assert_eq!(stream1, [1, 2, 3, 4], "the healthy connection");
    assert!(topics_of(&run).contains(&"ok/after".to_string()));
}

#[test]
fn garbage_from_the_first_byte_on_port_1883_yields_no_bogus_cascade() {
    let mut conn = Conn::new(40002);
    for k in 0..20 {
        conn.client(&noise(100 + 60 * k, k as u32));
    }
    let run = run(pcap(&conn.frames));
    assert!(run.result.is_ok(), "{:?}", run.result);
    // Random bytes may happen to frame a packet or two; they must not become dozens.
    assert!(
        run.rows.len() <= 5,
        "{} bogus packets: {:#?}",
        run.rows.len(),
        run.rows
    );
}

#[test]
fn a_publish_claiming_256_mb_with_1_kb_present_keeps_its_header_and_buffers_little() {
    let mut conn = Conn::connected(40003);
    conn.client(&huge_publish_start());
    conn.broker(PINGRESP);
    conn.fin();
    let healthy = Conn::healthy(40004, "ok/topic", 9);
    let frames: Vec<Vec<u8>> = conn.frames.into_iter().chain(healthy.frames).collect();
    let file = pcap(&frames);

    // Frame by frame, so the buffered amount can be watched.
    let mut recorder = Recorder::new();
    let mut pipeline = Pipeline::new(PipelineConfig::default());
    let mut source = FileSource::from_reader(Cursor::new(file), "huge.pcap").expect("pcap");
    let mut most_buffered = 0;
    while source
        .next_with(|frame| pipeline.push_frame(frame, &mut recorder))
        .expect("well-formed file")
        .is_some()
    {
        most_buffered = most_buffered.max(pipeline.buffered_bytes());
    }
    pipeline.finish(&mut recorder);
    assert!(
        most_buffered < 64 * 1024,
        "buffered {most_buffered} bytes for a 1 KB capture of a 256 MB claim"
    );
    let rows = &recorder.rows.rows;
    let huge_row = rows
        .iter()
        .find(|r| r.stream == 0 && r.type_id == 3)
        .unwrap_or_else(|| panic!("the huge PUBLISH's header was lost: {rows:#?}"));
    assert_eq!(huge_row.remaining_length, 268_435_455);
    assert_eq!(huge_row.topics, ["huge/topic"]);
    let broker0: Vec<u8> = rows
        .iter()
        .filter(|r| r.stream == 0 && r.to_broker == Some(false))
        .map(|r| r.type_id)
        .collect();
    assert_eq!(broker0, [2, 13], "the other direction is unaffected");
    let stream1: Vec<u8> = rows
        .iter()
        .filter(|r| r.stream == 1)
        .map(|r| r.type_id)
        .collect();
    assert_eq!(stream1, [1, 2, 3, 4], "the healthy connection");
    let trace = recorder.analyzer.finish(Default::default());
    assert!(
        !trace.anomalies.is_empty(),
        "an unfinished 256 MB PUBLISH is worth an anomaly"
    );
}

#[test]
fn a_lost_segment_is_a_gap_and_the_packets_after_it_are_decoded() {
    let mut conn = Conn::connected(40005);
    conn.client(&publish("t/1", b"one", Some(1)));
    conn.broker(&puback(1));
    let lost = publish("t/2", &[b'2'; 300], Some(2));
    conn.segment(0, PSH_ACK, &lost, false);
    conn.client(&publish("t/3", b"three", Some(3)));
    conn.broker(&puback(3));
    conn.client(&publish("t/4", b"four", Some(4)));
    conn.client(PINGREQ);
    conn.broker(PINGRESP);
    conn.fin();
    let run = run(pcap(&conn.frames));
    assert!(run.result.is_ok(), "{:?}", run.result);
    assert_eq!(run.gaps.len(), 1, "{:?}", run.gaps);
    assert_eq!(run.gaps[0].missing, lost.len() as u64);
    assert_eq!(topics_of(&run), ["t/1", "t/3", "t/4"]);
    assert!(
        run.rows.iter().any(|r| r.type_id == 12),
        "PINGREQ after the gap"
    );
    assert!(
        run.rows.iter().all(|r| r.error.is_none()),
        "{:#?}",
        run.rows
    );
}

#[test]
fn a_segment_lost_inside_a_packet_resynchronises_at_the_next_packet() {
    let mut conn = Conn::connected(40006);
    let split = publish("split/topic", &noise(1024, 3), Some(9));
    conn.client(&split[..300]);
    conn.segment(0, PSH_ACK, &split[300..700], false);
    conn.client(&split[700..]);
    conn.client(&publish("after/loss", b"z", Some(10)));
    conn.client(PINGREQ);
    conn.client(PINGREQ);
    conn.fin();
    let run = run(pcap(&conn.frames));
    assert!(run.result.is_ok(), "{:?}", run.result);
    assert_eq!(run.gaps.len(), 1, "{:?}", run.gaps);
    assert!(
        topics_of(&run).contains(&"after/loss".to_string()),
        "{:#?}",
        run.rows
    );
    let pings = run.rows.iter().filter(|r| r.type_id == 12).count();
    assert_eq!(pings, 2, "{:#?}", run.rows);
}

// ---------------------------------------------------------------------------------------------
// Random damage to real captures.

/// Index of the record (0-based) that byte `at` of a file with record `ends` belongs to; the
/// file header counts as record 0's.
fn record_of(ends: &[usize], at: usize) -> u64 {
    ends.iter()
        .filter(|&&end| end <= at)
        .count()
        .saturating_sub(1) as u64
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, failure_persistence: None, ..ProptestConfig::default() })]

    /// Truncation and byte flips anywhere in a real sample: reading returns Ok or a clear
    /// capture error, nothing panics, and every MQTT packet whose frames all lie before the
    /// first damaged byte is decoded exactly as in the undamaged file.
    #[test]
    fn damaged_samples_keep_every_packet_before_the_damage(
        which in 0usize..64,
        cut in 0.0f64..=1.0,
        truncate in any::<bool>(),
        flips in proptest::collection::vec((0.0f64..1.0, 1u8..=255), 0..6),
    ) {
        let all = targets();
        let target = &all[which % all.len()];
        let name = &target.name;
        let good = target.bytes.clone();
        let ends = record_ends(&good);
        let mut bad = good.clone();
        let mut first_damage = bad.len();
        if truncate {
            let len = ((bad.len() as f64) * cut) as usize;
            bad.truncate(len);
            first_damage = first_damage.min(len);
        }
        for (place, mask) in &flips {
            if bad.is_empty() {
                break;
            }
            let at = ((bad.len() as f64) * place) as usize;
            bad[at] ^= mask;
            first_damage = first_damage.min(at);
        }
        let damaged = target.run(bad);
        match &damaged.result {
            Ok(_)
            | Err(CaptureError::Truncated { .. }
            | CaptureError::Corrupt { .. }
            | CaptureError::Empty { .. }
            | CaptureError::NotACapture { .. }) => {}
            Err(other) => prop_assert!(false, "{name}: unexpected error {other:?}"),
        }
        if let Err(e) = &damaged.result {
            prop_assert!(!e.to_string().is_empty());
        }
        // The damaged record's frame number (1-based) is its index + 1; packets completed in
        // earlier frames came only from undamaged bytes.
        if first_damage >= 24 {
            let damaged_frame = record_of(&ends, first_damage) + 1;
            let reference = target.run(good);
            let expected = reference.rows_before(damaged_frame);
            prop_assert!(
                is_subsequence(&expected, &damaged.rows),
                "{name}: damage at byte {first_damage} (frame {damaged_frame}) lost packets \
                 of earlier frames\nexpected {expected:#?}\ngot {:#?}",
                damaged.rows
            );
        }
    }
}

/// A packet over the payload limit that the capture ends inside is still delivered (headers
/// kept) with the time and frame of the last bytes seen of it, like every other packet.
#[test]
fn regression_over_limit_packet_cut_by_capture_end_keeps_its_time() {
    let mut conn = Conn::connected(40007);
    conn.client(&huge_publish_start());
    conn.client(&[b'B'; 1000]);
    let file = pcap(&conn.frames);
    let mut truncated = Vec::new();
    let mut sink = |event: StreamEvent<'_>| {
        if let StreamEvent::Packet(p) = event
            && p.truncated
        {
            truncated.push((p.frame, p.ts));
        }
    };
    let source = FileSource::from_reader(Cursor::new(file), "cut.pcap").expect("pcap");
    Pipeline::new(PipelineConfig::default())
        .run_source(source, &mut sink, None)
        .expect("well-formed file");
    // Frames 6 and 7 hold the PUBLISH (one second apart from 1_700_000_000 at frame 1).
    let last = dissector::input::Timestamp::from_parts(1_700_000_006, 0);
    assert_eq!(truncated, [(7, last)]);
}
