//! The public captures in /work/shared/captures/public (when present): our MQTT packet count per
//! file equals tshark's (INDEX.md, "#MQTT msgs"), and where we decode more, the test says why.

use std::path::{Path, PathBuf};

use capture::{Pipeline, PipelineConfig};

use crate::support::{Rec, Recorder};

const ROOT: &str = "/work/shared/captures/public";

fn root() -> Option<PathBuf> {
    let p = PathBuf::from(
        std::env::var("MQSCOPE_PUBLIC_CAPTURES").unwrap_or_else(|_| ROOT.to_string()),
    );
    if p.is_dir() {
        Some(p)
    } else {
        eprintln!(
            "skipped: public captures not found at {} (set MQSCOPE_PUBLIC_CAPTURES)",
            p.display()
        );
        None
    }
}

fn run(path: &Path, config: PipelineConfig) -> Recorder {
    let mut rec = Recorder::default();
    Pipeline::new(config)
        .run_file(path, &mut rec, None)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    rec
}

/// (file, tshark's "#MQTT msgs" from INDEX.md)
const EXPECTED: &[(&str, usize)] = &[
    ("suricata-verify/mqtt-events-invalid-qos__input.pcap", 4),
    (
        "suricata-verify/mqtt-events-missing-connect__input.pcap",
        21,
    ),
    (
        "suricata-verify/mqtt-events-unassigned-msgtype__input.pcap",
        4,
    ),
    ("suricata-verify/mqtt-events-unintroduced__input.pcap", 2),
    ("suricata-verify/mqtt-frames-truncated__input.pcap", 2),
    ("suricata-verify/mqtt-limit-2__input.pcap", 12),
    ("suricata-verify/mqtt-midstream-split.pcap", 3),
    ("suricata-verify/mqtt-ping__input.pcap", 2),
    ("suricata-verify/mqtt31-pub-qos1__input.pcap", 5),
    ("suricata-verify/mqtt31-pub-qos2__input.pcap", 7),
    (
        "suricata-verify/mqtt31-pub-userpass-auto-clientid__input.pcap",
        4,
    ),
    ("suricata-verify/mqtt31-pub-userpass__input.pcap", 4),
    ("suricata-verify/mqtt31-sub-userpass__input.pcap", 5),
    ("suricata-verify/mqtt31-unsub-qos1__input.pcap", 9),
    ("suricata-verify/mqtt311-pub-qos1__input.pcap", 5),
    ("suricata-verify/mqtt311-pub-qos2__input.pcap", 7),
    (
        "suricata-verify/mqtt311-pub-userpass-auto-clientid__input.pcap",
        4,
    ),
    ("suricata-verify/mqtt311-pub-userpass__input.pcap", 4),
    ("suricata-verify/mqtt311-sub-userpass__input.pcap", 5),
    ("suricata-verify/mqtt311-unsub-qos2__input.pcap", 9),
    ("suricata-verify/mqtt5-excessiveproplen__input.pcap", 4),
    ("suricata-verify/mqtt5-pub-mosquittoprops__input.pcap", 5),
    ("suricata-verify/mqtt5-pub-qos1__input.pcap", 5),
    ("suricata-verify/mqtt5-pub-qos2__input.pcap", 7),
    (
        "suricata-verify/mqtt5-pub-userpass-auto-clientid__input.pcap",
        4,
    ),
    ("suricata-verify/mqtt5-pub-userpass__input.pcap", 4),
    ("suricata-verify/mqtt5-sub-customauth__input.pcap", 2),
    ("suricata-verify/mqtt5-sub-mosquittoprops__input.pcap", 5),
    ("suricata-verify/mqtt5-sub-userpass__input.pcap", 5),
    ("suricata-verify/mqtt5-unsub-qos1__input.pcap", 9),
    ("suricata-verify/mqtt5-unsub-userpass__input.pcap", 9),
    ("suricata-verify/mqtt5_pub_jpeg.pcap", 4),
    ("suricata-verify/mqtt5_pub_jpeg_connack134.pcap", 4),
    ("zeek/mqtt.pcap", 20),
    ("ndpi/mqtt.pcap", 8),
    ("peafowl/mqtt-1.pcapng", 20),
];

#[test]
fn packet_count_per_file_equals_tshark() {
    let Some(root) = root() else { return };
    let mut mismatches = Vec::new();
    for (file, want) in EXPECTED {
        let path = root.join(file);
        if !path.exists() {
            eprintln!("skipped: {file} absent");
            continue;
        }
        let got = run(&path, PipelineConfig::default()).types().len();
        if got != *want {
            mismatches.push(format!("{file}: {got} packets, tshark {want}"));
        }
    }
    assert!(mismatches.is_empty(), "{mismatches:#?}");
}

#[test]
fn midstream_split_connack_is_reassembled_from_frames_one_byte_apart() {
    let Some(root) = root() else { return };
    let path = root.join("suricata-verify/mqtt-midstream-split.pcap");
    if !path.exists() {
        return;
    }
    let rec = run(&path, PipelineConfig::default());
    // (first frame, last frame, type); tshark names the same last frames: 4, 10, 12.
    let got: Vec<(u64, u64, u8)> = rec
        .events
        .iter()
        .filter_map(|e| match e {
            Rec::Packet {
                first_frame,
                frame,
                bytes,
                ..
            } => Some((*first_frame, *frame, bytes[0] >> 4)),
            _ => None,
        })
        .collect();
    let types: Vec<u8> = got.iter().map(|g| g.2).collect();
    assert_eq!(types, vec![2, 3, 14]);
    let frames: Vec<u64> = got.iter().map(|g| g.1).collect();
    assert_eq!(frames, vec![4, 10, 12]);
    assert!(got[0].0 < got[0].1, "CONNACK spans two frames: {got:?}");
}

#[test]
fn coap_mqtt_non_standard_port_matches_tshark_decode_as_and_the_heuristic_finds_more_than_tshark() {
    let Some(root) = root() else { return };
    let path = root.join("ndpi/coap_mqtt.pcap");
    if !path.exists() {
        return;
    }
    // With the port given (tshark -d tcp.port==17501,mqtt): 153, as tshark.
    let config = PipelineConfig {
        mqtt_ports: vec![1883, 17501],
        ..PipelineConfig::default()
    };
    assert_eq!(run(&path, config).types().len(), 153);
    // Without: tshark finds 0; our CONNECT heuristic recognises the one connection whose
    // handshake and CONNECT are in the capture (stream 2, 44 packets). The three others started
    // before the capture, so nothing marks them as MQTT.
    let rec = run(&path, PipelineConfig::default());
    assert_eq!(rec.types().len(), 44);
    assert_eq!(
        rec.opened().iter().map(|o| o.stream).collect::<Vec<_>>(),
        vec![2]
    );
}

/// tshark's per-frame MQTT list: (frame, tcp.stream, msgtype), one row per PDU.
fn tshark_rows(path: &Path) -> Option<Vec<(u64, u32, u8)>> {
    let out = std::process::Command::new("tshark")
        .args(["-n", "-r"])
        .arg(path)
        .args([
            "-Y",
            "mqtt",
            "-T",
            "fields",
            "-e",
            "frame.number",
            "-e",
            "tcp.stream",
            "-e",
            "mqtt.msgtype",
        ])
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let mut rows = Vec::new();
    for line in text.lines() {
        let mut cols = line.split('\t');
        let (Some(frame), Some(stream), Some(types)) = (cols.next(), cols.next(), cols.next())
        else {
            continue;
        };
        let (Ok(frame), Ok(stream)) = (frame.parse(), stream.parse()) else {
            continue;
        };
        for t in types.split(',') {
            if let Ok(t) = t.parse() {
                rows.push((frame, stream, t));
            }
        }
    }
    Some(rows)
}

#[test]
fn every_packet_has_the_frame_stream_and_type_tshark_gives_it() {
    let Some(root) = root() else { return };
    if tshark_rows(&root.join(EXPECTED[0].0)).is_none() {
        eprintln!("skipped: tshark not available");
        return;
    }
    for (file, _) in EXPECTED {
        let path = root.join(file);
        if !path.exists() {
            continue;
        }
        let want = tshark_rows(&path).unwrap_or_default();
        let rec = run(&path, PipelineConfig::default());
        let got: Vec<(u64, u32, u8)> = rec
            .events
            .iter()
            .filter_map(|e| match e {
                Rec::Packet {
                    frame,
                    stream,
                    bytes,
                    ..
                } => Some((*frame, *stream, bytes[0] >> 4)),
                _ => None,
            })
            .collect();
        assert_eq!(got, want, "{file}");
    }
}
