//! The public captures in /work/shared/captures/public (when present): our MQTT packet count per
//! file equals tshark's (INDEX.md, "#MQTT msgs"), and where we decode more, the test says why.

use std::path::{Path, PathBuf};

use capture::{Pipeline, PipelineConfig};
use dissector::input::{Direction, RoleSource};

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
    assert_eq!(run(&path, config.clone()).types().len(), 153);
    let with_port = run(&path, config);
    // Without: tshark finds 0. Our CONNECT heuristic recognises the connection whose handshake
    // is captured (stream 2); the mid-stream heuristic recognises the three that started before
    // the capture from their conversation (plausible packets both ways, PUBLISH/PUBACK ids and
    // PINGREQ/PINGRESP that match). Packet for packet, that is tshark with Decode As.
    let rec = run(&path, PipelineConfig::default());
    assert_eq!(rec.types().len(), 153);
    // Opened in the order recognised (stream 2's CONNECT+CONNACK decides at once, the others
    // once enough of their conversation was seen).
    let mut opened = rec.opened();
    opened.sort_by_key(|o| o.stream);
    assert_eq!(
        opened.iter().map(|o| o.stream).collect::<Vec<_>>(),
        vec![0, 1, 2, 3]
    );
    assert!(
        opened.iter().all(|o| o.broker.port() == 17501),
        "the broker is the side on 17501: {opened:?}"
    );
    assert_eq!(
        opened.iter().map(|o| o.roles_from).collect::<Vec<_>>(),
        vec![
            RoleSource::Port,
            RoleSource::Port,
            RoleSource::Handshake,
            RoleSource::Port
        ]
    );
    for stream in 0..4 {
        for dir in [Direction::ToBroker, Direction::ToClient] {
            assert_eq!(
                rec.packets(stream, dir),
                with_port.packets(stream, dir),
                "stream {stream} {dir:?}"
            );
        }
    }
}

#[test]
fn no_non_mqtt_tcp_stream_in_the_public_captures_is_taken_for_mqtt() {
    let Some(root) = root() else { return };
    // Hard facts that need no oracle: in this file stream 0 is TLS on 443 and stream 3 is HTTP
    // on 80; neither may be opened (the mid-stream heuristic judges them too).
    let path = root.join("suricata-verify/mqtt-events-missing-connect__input.pcap");
    if path.exists() {
        let rec = run(&path, PipelineConfig::default());
        let opened: Vec<u32> = rec.opened().iter().map(|o| o.stream).collect();
        assert!(!opened.contains(&0) && !opened.contains(&3), "{opened:?}");
    }
    if tshark_rows(&root.join(EXPECTED[0].0), &[]).is_none() {
        eprintln!("skipped the oracle part: tshark not available");
        return;
    }
    // Every stream we open (on every public capture, default settings) is one where tshark
    // finds MQTT, told the non-standard port where one is used.
    let mut files: Vec<PathBuf> = std::fs::read_dir(&root)
        .into_iter()
        .flatten()
        .flatten()
        .flat_map(|dir| {
            std::fs::read_dir(dir.path())
                .into_iter()
                .flatten()
                .flatten()
        })
        .map(|f| f.path())
        .filter(|p| p.extension().is_some_and(|e| e == "pcap" || e == "pcapng"))
        .collect();
    files.sort();
    assert!(files.len() >= EXPECTED.len(), "{files:?}");
    for path in files {
        let file = path.display().to_string();
        let decode_as: &[&str] = if file.ends_with("coap_mqtt.pcap") {
            &["-d", "tcp.port==17501,mqtt"]
        } else {
            &[]
        };
        let mqtt_streams: std::collections::BTreeSet<u32> = tshark_rows(&path, decode_as)
            .unwrap_or_default()
            .iter()
            .map(|r| r.1)
            .collect();
        let rec = run(&path, PipelineConfig::default());
        for o in rec.opened() {
            assert!(
                mqtt_streams.contains(&o.stream),
                "{file}: stream {} ({} -> {}) opened as MQTT, tshark sees none there",
                o.stream,
                o.client,
                o.broker
            );
        }
    }
}

/// tshark's per-frame MQTT list: (frame, tcp.stream, msgtype), one row per PDU.
fn tshark_rows(path: &Path, extra: &[&str]) -> Option<Vec<(u64, u32, u8)>> {
    let out = std::process::Command::new("tshark")
        .args(["-n", "-r"])
        .arg(path)
        .args(extra)
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
    if tshark_rows(&root.join(EXPECTED[0].0), &[]).is_none() {
        eprintln!("skipped: tshark not available");
        return;
    }
    for (file, _) in EXPECTED {
        let path = root.join(file);
        if !path.exists() {
            continue;
        }
        let want = tshark_rows(&path, &[]).unwrap_or_default();
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

/// samples/tls.pcap (port 35851 given as a TLS port, as the CLI's `--tls-port`): both
/// connections start with a ClientHello, so the first-bytes decision keeps them TLS, with SNI
/// and the two negotiated versions, and nothing is decoded as MQTT.
#[test]
fn tls_sample_stays_tls_when_the_first_bytes_decide() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../samples/tls.pcap");
    if !path.exists() {
        return;
    }
    let config = PipelineConfig {
        tls_ports: vec![8883, 35851],
        ..PipelineConfig::default()
    };
    let rec = run(&path, config);
    let opened = rec.opened();
    assert_eq!(opened.len(), 2);
    assert!(
        opened
            .iter()
            .all(|o| o.transport == dissector::input::Transport::Tls)
    );
    assert!(rec.types().is_empty());
    let mut finals: Vec<(u32, Option<u16>, Option<String>)> = Vec::new();
    for e in &rec.events {
        if let Rec::Tls(t) = e {
            finals.retain(|f| f.0 != t.stream);
            finals.push((t.stream, t.version, t.sni.clone()));
        }
    }
    finals.sort();
    let sni = Some("mqscope.test".to_string());
    assert_eq!(
        finals,
        vec![(0, Some(0x0304), sni.clone()), (1, Some(0x0303), sni)]
    );
}
