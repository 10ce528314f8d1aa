//! Where the captures are: the recorded samples (with their ground truth) and the public
//! captures in `../shared/captures/public`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// The workspace root (this crate lives in `<root>/tests`).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// `<root>/samples`: the recorded captures and `expected/*.json`.
pub fn samples_dir() -> PathBuf {
    workspace_root().join("samples")
}

/// The public captures folder: `$MQSCOPE_PUBLIC_CAPTURES`, else `<root>/../shared/captures/public`.
/// `None` (after printing why, so a skipped test says so) when it is absent: it is not part of
/// the repository.
pub fn public_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("MQSCOPE_PUBLIC_CAPTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("../shared/captures/public"));
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!(
            "SKIP: public captures not found at {} (set MQSCOPE_PUBLIC_CAPTURES to their folder)",
            dir.display()
        );
        None
    }
}

/// One capture to compare, with what tshark needs to find MQTT in it.
#[derive(Debug, Clone)]
pub struct Capture {
    /// Short name for messages (file name relative to its folder).
    pub name: String,
    /// The capture file.
    pub path: PathBuf,
    /// The TCP port MQTT (or the WebSocket carrying it) is served on.
    pub mqtt_port: u16,
    /// MQTT is carried in WebSocket frames on `mqtt_port`.
    pub websocket: bool,
    /// MQTT is carried in TLS on `mqtt_port`; the session keys (SSLKEYLOGFILE format) are in
    /// this file, so tshark can decrypt.
    pub tls_keylog: Option<PathBuf>,
}

impl Capture {
    /// tshark `-d` arguments: a non-standard port must be declared, and a WebSocket port is
    /// declared as HTTP so that the upgrade is seen; a TLS port as TLS carrying MQTT.
    pub fn decode_as(&self) -> Vec<String> {
        if self.tls_keylog.is_some() {
            vec![
                format!("tcp.port=={},tls", self.mqtt_port),
                format!("tls.port=={},mqtt", self.mqtt_port),
            ]
        } else if self.websocket {
            vec![format!("tcp.port=={},http", self.mqtt_port)]
        } else if self.mqtt_port == 1883 {
            Vec::new()
        } else {
            vec![format!("tcp.port=={},mqtt", self.mqtt_port)]
        }
    }
}

/// Packet counts by type name ("CONNECT", …).
pub type Counts = BTreeMap<String, u32>;

/// One TCP connection of a sample, as the recording script knows it.
#[derive(Debug, Clone, Deserialize)]
pub struct ExpectedStream {
    /// Wireshark's `tcp.stream`.
    pub stream: u32,
    /// The client id in CONNECT.
    pub client_id: String,
    /// Protocol level: 3, 4 or 5.
    pub version: u8,
    /// "tcp" or "websocket".
    pub transport: String,
    /// Clean session / clean start.
    pub clean_session: bool,
    /// Keepalive in seconds.
    pub keepalive: u16,
    /// CONNACK session present.
    pub session_present: bool,
    /// The will, when CONNECT carried one.
    pub will: Option<ExpectedWill>,
    /// The broker published this connection's will.
    pub will_fired: bool,
    /// "disconnect" (a DISCONNECT was sent), "fin" or "rst".
    pub ended_by: String,
    /// "client" or "broker": who closed TCP first.
    pub closed_by: String,
    /// Free text.
    pub note: Option<String>,
    /// Packet counts per direction: keys "to_broker" and "to_client".
    pub packets: BTreeMap<String, Counts>,
}

/// A will as CONNECT announced it.
#[derive(Debug, Clone, Deserialize)]
pub struct ExpectedWill {
    /// Will topic.
    pub topic: String,
    /// Will QoS.
    pub qos: u8,
    /// Will retain.
    pub retain: bool,
}

/// A request/response exchange that did not finish, or finished with a failure code.
#[derive(Debug, Clone, Deserialize)]
pub struct ExpectedFlow {
    /// `tcp.stream`.
    pub stream: u32,
    /// Client id of the connection.
    pub client_id: String,
    /// Direction of the PUBLISH or request: "to_broker" / "to_client".
    pub dir: String,
    /// "qos1", "qos2", …
    pub kind: String,
    /// Packet identifier.
    pub packet_id: u16,
    /// QoS of the PUBLISH.
    pub qos: u8,
    /// Topic of the PUBLISH.
    pub topic: String,
    /// Packet types seen, in order.
    pub seen: Vec<String>,
    /// Packet types still owed (incomplete flows).
    #[serde(default)]
    pub missing: Vec<String>,
    /// How the connection ended (incomplete flows).
    #[serde(default)]
    pub ended_by: Option<String>,
    /// The failure reason code (failed flows).
    #[serde(default)]
    pub reason_code: Option<u8>,
    /// Frames of the packets seen, in order (found in the capture at recording time).
    #[serde(default)]
    pub frames: Vec<u64>,
}

/// What tshark's MQTT dissector gets right in a sample, found at recording time.
#[derive(Debug, Clone, Deserialize)]
pub struct TsharkNotes {
    /// False when tshark does not decode MQTT in this capture at all (WebSocket).
    pub decodes_mqtt: bool,
    /// Frames where tshark's MQTT dissector disagrees with the byte-exact framing.
    pub wrong_frames: Vec<u64>,
    /// The sample was built to trip tshark (split fixed headers).
    pub expected_wrong: bool,
}

/// `samples/expected/NAME.json`: the ground truth of one sample capture.
#[derive(Debug, Clone, Deserialize)]
pub struct Expected {
    /// Sample name.
    pub name: String,
    /// Capture file name in `samples/`.
    pub capture: String,
    /// What the capture holds.
    pub description: String,
    /// The broker's plain MQTT port.
    pub broker_port: u16,
    /// The broker's WebSocket port, when the sample is MQTT over WebSocket.
    pub websocket_port: Option<u16>,
    /// The port carrying the capture's MQTT (WebSocket port for WebSocket samples).
    pub mqtt_port: u16,
    /// For MQTT over TLS: the key log file (in `samples/`) that lets tshark decrypt.
    pub tls_keylog: Option<String>,
    /// Totals by packet type.
    pub packet_counts: Counts,
    /// Every connection.
    pub streams: Vec<ExpectedStream>,
    /// Flows left incomplete.
    pub incomplete_flows: Vec<ExpectedFlow>,
    /// Flows ended by a failure reason code.
    pub failed_flows: Vec<ExpectedFlow>,
    /// Some will was published.
    pub will_fired: bool,
    /// Sample-specific facts (reason codes, aliases…), free-form.
    pub facts: serde_json::Value,
    /// tshark's limits on this capture.
    pub tshark: TsharkNotes,
}

/// A recorded sample: capture plus ground truth.
#[derive(Debug, Clone)]
pub struct Sample {
    /// Ground truth.
    pub expected: Expected,
    /// The capture, ready for the comparison helpers.
    pub capture: Capture,
}

/// Loads one sample by name ("mqtt311-session"). Panics with the path on a missing or invalid
/// file: the samples are part of the repository.
pub fn sample(name: &str) -> Sample {
    let json = samples_dir().join("expected").join(format!("{name}.json"));
    let text = std::fs::read_to_string(&json)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", json.display()));
    let expected: Expected =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", json.display()));
    let capture = Capture {
        name: expected.capture.clone(),
        path: samples_dir().join(&expected.capture),
        mqtt_port: expected.mqtt_port,
        websocket: expected.websocket_port.is_some(),
        tls_keylog: expected.tls_keylog.as_ref().map(|k| samples_dir().join(k)),
    };
    Sample { expected, capture }
}

/// Names of all samples with a ground-truth file, sorted.
pub fn sample_names() -> Vec<String> {
    let dir = samples_dir().join("expected");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .filter_map(|entry| {
            let path = entry.ok()?.path();
            (path.extension()? == "json").then(|| path.file_stem()?.to_str().map(String::from))?
        })
        .collect();
    names.sort();
    names
}

/// A public capture and how to find its MQTT.
#[derive(Debug, Clone)]
pub struct PublicCapture {
    /// Path relative to the public folder ("zeek/mqtt.pcap").
    pub relative: String,
    /// The capture.
    pub capture: Capture,
}

/// Public captures whose MQTT is not on 1883: (relative path, port). tshark needs decode-as
/// for them (see INDEX.md of the public folder).
const NON_STANDARD_PORTS: &[(&str, u16)] = &[("ndpi/coap_mqtt.pcap", 17501)];

/// Every `.pcap` / `.pcapng` under the public folder, sorted; `None` when the folder is absent.
pub fn public_captures() -> Option<Vec<PublicCapture>> {
    let root = public_dir()?;
    let mut found = Vec::new();
    let mut dirs = vec![root.clone()];
    while let Some(dir) = dirs.pop() {
        let entries = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()));
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                dirs.push(path);
            } else if matches!(
                path.extension().and_then(|e| e.to_str()),
                Some("pcap" | "pcapng")
            ) {
                let relative = path
                    .strip_prefix(&root)
                    .map(|p| p.to_string_lossy().replace('\\', "/"))
                    .unwrap_or_else(|_| path.to_string_lossy().into_owned());
                let mqtt_port = NON_STANDARD_PORTS
                    .iter()
                    .find(|(name, _)| *name == relative)
                    .map_or(1883, |(_, port)| *port);
                let capture = Capture {
                    name: relative.clone(),
                    path,
                    mqtt_port,
                    websocket: false,
                    tls_keylog: None,
                };
                found.push(PublicCapture { relative, capture });
            }
        }
    }
    found.sort_by(|a, b| a.relative.cmp(&b.relative));
    Some(found)
}

/// One public capture by relative path, or `None` (with a message) when the folder is absent.
/// Panics when the folder exists but the file does not.
pub fn public_capture(relative: &str) -> Option<PublicCapture> {
    let all = public_captures()?;
    let found = all.into_iter().find(|c| c.relative == relative);
    Some(found.unwrap_or_else(|| panic!("public capture {relative} not found")))
}
