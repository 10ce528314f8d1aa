//! Running tshark: its MQTT dissector's view of a capture, and the raw TCP / WebSocket payloads
//! it extracts (for the comparisons that must not depend on its MQTT dissector).

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::Command;
use std::sync::{Arc, Mutex, OnceLock};

use serde_json::Value;

use crate::captures::Capture;
use crate::rows::PacketRow;

/// Whether the tshark comparisons run. Returns false (after printing why) when
/// `MQSCOPE_SKIP_TSHARK=1`; panics when tshark is not installed, because CI installs it and a
/// silently skipped oracle proves nothing.
pub fn available() -> bool {
    if std::env::var("MQSCOPE_SKIP_TSHARK").is_ok_and(|v| v == "1") {
        eprintln!("SKIP: MQSCOPE_SKIP_TSHARK=1, tshark comparison not run");
        return false;
    }
    match Command::new("tshark").arg("--version").output() {
        Ok(out) if out.status.success() => true,
        Ok(out) => panic!(
            "`tshark --version` failed ({}): the conformance tests need tshark \
             (apt-get install tshark), or set MQSCOPE_SKIP_TSHARK=1 to skip them",
            out.status
        ),
        Err(e) => panic!(
            "tshark is not installed ({e}): the conformance tests need it \
             (apt-get install tshark), or set MQSCOPE_SKIP_TSHARK=1 to skip them"
        ),
    }
}

/// tshark outputs already computed in this test process, by (file, arguments): several tests
/// look at the same capture, and tshark is slow (seconds per call on the larger files).
type OutputCache = Mutex<HashMap<(PathBuf, Vec<String>), Arc<String>>>;

static OUTPUTS: OnceLock<OutputCache> = OnceLock::new();

/// Runs tshark with `args` after `-n -r FILE`, returning stdout (memoised per process); panics
/// with stderr on failure.
fn run(capture: &Capture, args: &[&str]) -> Arc<String> {
    let key = (
        capture.path.clone(),
        args.iter().map(|a| a.to_string()).collect::<Vec<_>>(),
    );
    let cache = OUTPUTS.get_or_init(Default::default);
    if let Some(found) = cache.lock().unwrap_or_else(|e| e.into_inner()).get(&key) {
        return Arc::clone(found);
    }
    let path = capture.path.to_string_lossy();
    let out = Command::new("tshark")
        .args(["-n", "-r", &path])
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("running tshark on {}: {e}", capture.name));
    assert!(
        out.status.success(),
        "tshark failed on {}: {}",
        capture.name,
        String::from_utf8_lossy(&out.stderr)
    );
    let text = Arc::new(String::from_utf8_lossy(&out.stdout).into_owned());
    cache
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(key, Arc::clone(&text));
    text
}

/// `-o tls.keylog_file:…` when the capture has a key log, then the `-d` decode-as arguments.
fn decode_as_args(capture: &Capture) -> Vec<String> {
    let keylog = capture
        .tls_keylog
        .iter()
        .flat_map(|k| ["-o".to_string(), format!("tls.keylog_file:{}", k.display())]);
    keylog
        .chain(
            capture
                .decode_as()
                .into_iter()
                .flat_map(|d| ["-d".to_string(), d]),
        )
        .collect()
}

/// The packets tshark's MQTT dissector finds, one row per MQTT PDU (several per frame when a
/// frame holds several), in frame order. Uses `-T json --no-duplicate-keys`, where several PDUs
/// of one frame become an array, so fields never get attributed to the wrong PDU (as
/// `-T fields` aggregation would when one PDU lacks a field another has).
pub fn mqtt_rows(capture: &Capture) -> Vec<PacketRow> {
    let decode_as = decode_as_args(capture);
    let mut args: Vec<&str> = decode_as.iter().map(String::as_str).collect();
    args.extend([
        "-Y",
        "mqtt",
        "-T",
        "json",
        "--no-duplicate-keys",
        "-J",
        "frame tcp mqtt",
    ]);
    let json = run(capture, &args);
    let packets: Vec<Value> = serde_json::from_str(&json)
        .unwrap_or_else(|e| panic!("tshark JSON for {}: {e}", capture.name));
    let mut rows = Vec::new();
    for packet in &packets {
        let layers = &packet["_source"]["layers"];
        let frame = number(&layers["frame"]["frame.number"]).unwrap_or(0);
        let stream = number(&layers["tcp"]["tcp.stream"]).unwrap_or(0) as u32;
        let dst_port = number(&layers["tcp"]["tcp.dstport"]).map(|p| p as u16);
        let pdus = match &layers["mqtt"] {
            Value::Array(items) => items.iter().collect(),
            Value::Object(_) => vec![&layers["mqtt"]],
            _ => Vec::new(),
        };
        for pdu in pdus {
            let Some(first_byte) = number(&pdu["mqtt.hdrflags"]) else {
                continue;
            };
            let mut row = PacketRow::header_only(
                frame,
                stream,
                first_byte as u8,
                number(&pdu["mqtt.len"]).unwrap_or(0) as u32,
            );
            row.to_broker = dst_port.map(|p| p == capture.mqtt_port);
            row.packet_id = number(&pdu["mqtt.msgid"]).map(|id| id as u16);
            row.topics = strings(&pdu["mqtt.topic"]);
            row.topic_from_alias = row.type_id == 3
                && number(&pdu["mqtt.topic_len"]) == Some(0)
                && !row.topics.is_empty();
            rows.push(row);
        }
    }
    rows
}

/// A JSON field tshark printed as a decimal or `0x` hex string.
fn number(value: &Value) -> Option<u64> {
    let text = value.as_str()?;
    match text.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16).ok(),
        None => text.parse().ok(),
    }
}

/// A JSON field that is one string or an array of strings.
fn strings(value: &Value) -> Vec<String> {
    match value {
        Value::String(s) => vec![s.clone()],
        Value::Array(items) => items
            .iter()
            .filter_map(|v| v.as_str().map(String::from))
            .collect(),
        _ => Vec::new(),
    }
}

/// Payload bytes of one frame on the MQTT port.
#[derive(Debug, Clone)]
pub struct Chunk {
    /// `frame.number`.
    pub frame: u64,
    /// `tcp.stream`.
    pub stream: u32,
    /// Travels to the MQTT port.
    pub to_broker: bool,
    /// Relative TCP sequence number of the first byte (WebSocket: running offset).
    pub seq: u32,
    /// TCP payload, or the unmasked payloads of the WebSocket data frames in it.
    pub data: Vec<u8>,
}

/// The MQTT-carrying payloads of a capture (meaningless for TLS: they are encrypted), in frame
/// order, with tshark used only as a TCP (or WebSocket) parser: TCP desegmentation off and the MQTT dissector disabled, so nothing of
/// tshark's MQTT handling leaks in. For WebSocket, the unmasked payloads of binary and
/// continuation frames (tshark reassembles a fragmented message into its last frame).
pub fn payload_chunks(capture: &Capture) -> Vec<Chunk> {
    let port = capture.mqtt_port.to_string();
    let out = if capture.websocket {
        let decode_as = format!("tcp.port=={port},http");
        run(
            capture,
            &[
                "-d",
                &decode_as,
                "-Y",
                "websocket",
                "-T",
                "fields",
                "-E",
                "separator=/t",
                "-E",
                "aggregator=,",
                "-e",
                "frame.number",
                "-e",
                "tcp.stream",
                "-e",
                "tcp.dstport",
                "-e",
                "websocket.opcode",
                "-e",
                "data.data",
            ],
        )
    } else {
        let filter = format!("tcp.port=={port} && tcp.len > 0");
        run(
            capture,
            &[
                "-o",
                "tcp.desegment_tcp_streams:FALSE",
                "--disable-protocol",
                "mqtt",
                "-Y",
                &filter,
                "-T",
                "fields",
                "-E",
                "separator=/t",
                "-e",
                "frame.number",
                "-e",
                "tcp.stream",
                "-e",
                "tcp.dstport",
                "-e",
                "tcp.seq",
                "-e",
                "tcp.payload",
            ],
        )
    };
    let mut chunks = Vec::new();
    let mut ws_offsets = std::collections::HashMap::new();
    for line in out.lines() {
        let fields: Vec<&str> = line.split('\t').collect();
        let [frame, stream, dst, fourth, hex] = fields[..] else {
            continue;
        };
        let (Ok(frame), Ok(stream), Ok(dst)) = (
            frame.parse::<u64>(),
            stream.parse::<u32>(),
            dst.parse::<u16>(),
        ) else {
            continue;
        };
        let to_broker = dst == capture.mqtt_port;
        let data: Vec<u8> = hex
            .split(',')
            .flat_map(|h| decode_hex(&h.replace(':', "")))
            .collect();
        if data.is_empty() {
            continue; // control frames, or the first part of a fragmented message
        }
        let seq = if capture.websocket {
            // No sequence numbers inside WebSocket: number bytes as they come.
            let offset: &mut u32 = ws_offsets.entry((stream, to_broker)).or_insert(1);
            let seq = *offset;
            *offset = offset.wrapping_add(data.len() as u32);
            seq
        } else {
            fourth.parse().unwrap_or(0)
        };
        chunks.push(Chunk {
            frame,
            stream,
            to_broker,
            seq,
            data,
        });
    }
    chunks
}

fn decode_hex(hex: &str) -> Vec<u8> {
    hex.as_bytes()
        .chunks_exact(2)
        .filter_map(|pair| {
            std::str::from_utf8(pair)
                .ok()
                .and_then(|s| u8::from_str_radix(s, 16).ok())
        })
        .collect()
}

/// Per `tcp.stream`, the TCP port of the side that ended the connection as tshark's TCP
/// dissector sees it: the sender of an RST, or else of the first FIN; segments after both FINs
/// are ignored (the connection is over). The rule `Connection::closed_side` follows.
pub fn tcp_closers(capture: &Capture) -> HashMap<u32, u16> {
    let out = run(
        capture,
        &[
            "-Y",
            "tcp.flags.fin == 1 || tcp.flags.reset == 1",
            "-T",
            "fields",
            "-e",
            "tcp.stream",
            "-e",
            "tcp.srcport",
            "-e",
            "tcp.flags.fin",
            "-e",
            "tcp.flags.reset",
        ],
    );
    // Per stream: (closer port, FIN senders seen, over).
    let mut state: HashMap<u32, (Option<u16>, Vec<u16>, bool)> = HashMap::new();
    for line in out.lines() {
        let f: Vec<&str> = line.split('\t').collect();
        let [stream, port, fin, rst] = f[..] else {
            continue;
        };
        let (Ok(stream), Ok(port)) = (stream.parse::<u32>(), port.parse::<u16>()) else {
            continue;
        };
        let flag = |v: &str| v == "1" || v.eq_ignore_ascii_case("true");
        let entry = state.entry(stream).or_default();
        if entry.2 {
            continue;
        }
        if flag(rst) {
            entry.0 = Some(port);
            entry.2 = true;
        } else if flag(fin) {
            entry.0.get_or_insert(port);
            if !entry.1.contains(&port) {
                entry.1.push(port);
            }
            entry.2 = entry.1.len() == 2;
        }
    }
    state
        .into_iter()
        .filter_map(|(stream, (port, _, _))| Some((stream, port?)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_read_in_decimal_and_hex() {
        assert_eq!(number(&Value::from("0x32")), Some(0x32));
        assert_eq!(number(&Value::from("17")), Some(17));
        assert_eq!(number(&Value::Null), None);
    }

    #[test]
    fn one_string_or_an_array_of_them() {
        assert_eq!(strings(&Value::from("a")), ["a"]);
        assert_eq!(strings(&serde_json::json!(["a", "b"])), ["a", "b"]);
        assert!(strings(&Value::Null).is_empty());
    }

    #[test]
    fn hex_with_or_without_colons() {
        assert_eq!(decode_hex("10ff"), [0x10, 0xff]);
        assert_eq!(decode_hex(&"10:ff".replace(':', "")), [0x10, 0xff]);
    }
}
