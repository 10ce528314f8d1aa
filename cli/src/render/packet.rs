//! One MQTT packet, three ways: a one-line summary (text), the stable JSON-lines object, and the
//! `-V` detail tree. All three read the model's record and, when the packet's bytes are at hand,
//! decode them again for what the compact record does not keep (every filter, every property).

use std::fmt::Write as _;

use dissector::codec::{
    self, Decoded, MqttStr, Packet, PacketType, Properties, PropertyValue, ProtocolVersion,
};
use dissector::input::{Direction, Timestamp};
use dissector::model::{PacketRecord, Severity, Trace};
use serde::Serialize;

use crate::flags::lowargs::PayloadMode;
use crate::term::{Painter, Style, escape, escape_bytes, escape_controls};

/// Rendering choices shared by every packet.
#[derive(Debug, Clone, Copy)]
pub struct PacketStyle {
    /// How payloads are shown (`None` = the renderer's default).
    pub payload: Option<PayloadMode>,
    /// Show CONNECT passwords instead of `<redacted>`.
    pub show_passwords: bool,
    /// Time 0 of the `time` column (the capture's first frame).
    pub origin: Option<Timestamp>,
    /// ANSI colour.
    pub painter: Painter,
}

/// A packet with everything needed to render it.
pub struct PacketCtx<'a> {
    /// The trace the packet belongs to (connections, strings, anomalies).
    pub trace: &'a Trace,
    /// Packet index.
    pub index: u64,
    /// The record.
    pub rec: &'a PacketRecord,
    /// The packet decoded again from its bytes, when they were available and decodable.
    pub decoded: Option<Decoded<'a>>,
    /// Why decoding the bytes failed, when it did.
    pub decode_error: Option<codec::DecodeError>,
    /// The packet's bytes (possibly only the start of it when truncated).
    pub raw: Option<&'a [u8]>,
}

impl<'a> PacketCtx<'a> {
    /// Builds the context, decoding `raw` with the version the analyzer used.
    pub fn new(
        trace: &'a Trace,
        index: u64,
        rec: &'a PacketRecord,
        raw: Option<&'a [u8]>,
    ) -> PacketCtx<'a> {
        let version = rec.version.unwrap_or(ProtocolVersion::V3_1_1);
        let (decoded, decode_error) = match raw {
            Some(bytes) if (bytes.len() as u64) < rec.packet_len() => {
                split(codec::decode_partial(bytes, rec.packet_len(), version))
            }
            Some(bytes) => split(codec::decode(bytes, version)),
            None => (None, None),
        };
        PacketCtx {
            trace,
            index,
            rec,
            decoded,
            decode_error,
            raw,
        }
    }

    fn version(&self) -> Option<ProtocolVersion> {
        self.rec.version
    }

    fn endpoints(&self) -> (String, String) {
        match self.trace.connection(self.rec.conn as usize) {
            Some(c) => {
                let (client, broker) = (c.client.to_string(), c.broker.to_string());
                match self.rec.dir {
                    Direction::ToBroker => (client, broker),
                    Direction::ToClient => (broker, client),
                }
            }
            None => ("?".into(), "?".into()),
        }
    }

    fn stream(&self) -> Option<u32> {
        self.trace
            .connection(self.rec.conn as usize)
            .map(|c| c.stream)
    }

    fn client_id(&self) -> &'a str {
        self.trace.client_id_of(self.rec.conn as usize)
    }

    fn reason_codes(&self) -> Vec<u8> {
        match self.decoded.as_ref().map(|d| &d.packet) {
            Some(Packet::SubAck(s)) => s.reason_codes.to_vec(),
            Some(Packet::UnsubAck(u)) => u.reason_codes.to_vec(),
            Some(Packet::ConnAck(c)) => vec![c.reason_code],
            Some(
                Packet::PubAck(a) | Packet::PubRec(a) | Packet::PubRel(a) | Packet::PubComp(a),
            ) => a.reason_code.into_iter().collect(),
            Some(Packet::Disconnect(r) | Packet::Auth(r)) => r.reason_code.into_iter().collect(),
            Some(_) => Vec::new(),
            None => self.rec.reason_code.into_iter().collect(),
        }
    }

    fn anomaly_codes(&self) -> Vec<&'static str> {
        self.trace
            .anomalies_of_packet(self.index)
            .map(|a| a.code.code())
            .collect()
    }

    fn worst_severity(&self) -> Option<Severity> {
        self.trace
            .anomalies_of_packet(self.index)
            .map(|a| a.severity)
            .max()
    }

    fn payload(&self) -> Option<&'a [u8]> {
        match self.decoded.as_ref().map(|d| &d.packet) {
            Some(Packet::Publish(p)) => Some(p.payload),
            _ => None,
        }
    }

    fn time(&self, origin: Option<Timestamp>) -> f64 {
        origin.map_or(self.rec.ts.as_secs_f64(), |o| {
            self.rec.ts.nanos_since(o) as f64 / 1e9
        })
    }
}

fn split<T, E>(r: Result<T, E>) -> (Option<T>, Option<E>) {
    match r {
        Ok(v) => (Some(v), None),
        Err(e) => (None, Some(e)),
    }
}

fn rc_name(ptype: PacketType, version: Option<ProtocolVersion>, rc: u8) -> String {
    match codec::reason_code_name(ptype, version.unwrap_or(ProtocolVersion::V3_1_1), rc) {
        Some(name) => format!("0x{rc:02x} {name}"),
        None => format!("0x{rc:02x} (unknown)"),
    }
}

fn quoted(s: MqttStr<'_>) -> String {
    format!("\"{}\"", escape_bytes(s.bytes()))
}

fn clip(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

// ---------------------------------------------------------------------------------------------
// Text line

/// The one-line summary: frame, time, stream, endpoints, client id, type, details, anomalies.
/// Layout documented in docs/cli.md.
pub fn line(ctx: &PacketCtx<'_>, style: &PacketStyle) -> String {
    let p = style.painter;
    let rec = ctx.rec;
    // Client always on the left, broker on the right: the arrow gives the direction, and each
    // column keeps one role, which makes a conversation easy to follow down the page.
    let (client_ep, broker_ep) = match ctx.trace.connection(rec.conn as usize) {
        Some(c) => (c.client.to_string(), c.broker.to_string()),
        None => ("?".into(), "?".into()),
    };
    let arrow = match rec.dir {
        Direction::ToBroker => p.paint(Style::Cyan, "→"),
        Direction::ToClient => p.paint(Style::Magenta, "←"),
    };
    let client = match ctx.client_id() {
        "" => "-".to_string(),
        id => clip(&escape(id), 20),
    };
    let stream = ctx.stream().map_or("-".to_string(), |s| s.to_string());
    let mut s = String::with_capacity(160);
    let _ = write!(
        s,
        "{:>6} {} {:>3} {:>21} {} {:<21} {:<12} {}",
        rec.frame,
        p.paint(Style::Dim, &format!("{:>11.6}", ctx.time(style.origin))),
        stream,
        client_ep,
        arrow,
        broker_ep,
        client,
        p.paint(Style::Bold, &format!("{:<11}", rec.packet_type.name())),
    );
    let details = details(ctx, style);
    if !details.is_empty() {
        s.push(' ');
        s.push_str(&details);
    }
    let codes = ctx.anomaly_codes();
    if !codes.is_empty() {
        let marks = format!("[{}]", codes.join(" "));
        let colour = match ctx.worst_severity() {
            Some(Severity::Error) => Style::Red,
            Some(Severity::Warning) => Style::Yellow,
            _ => Style::Blue,
        };
        s.push(' ');
        s.push_str(&p.paint(colour, &marks));
    }
    s.truncate(s.trim_end().len());
    s
}

/// The type-specific part of the summary line.
fn details(ctx: &PacketCtx<'_>, style: &PacketStyle) -> String {
    let rec = ctx.rec;
    let version = ctx.version();
    let mut d = Vec::<String>::new();
    match ctx.decoded.as_ref().map(|x| &x.packet) {
        Some(Packet::Connect(c)) => {
            d.push(format!(
                "v{}",
                ProtocolVersion::from_level(c.protocol_level).map_or("?", |v| v.name())
            ));
            d.push(quoted(c.client_id));
            if c.flags.clean_start() {
                d.push("clean".into());
            }
            d.push(format!("ka={}", c.keep_alive));
            if let Some(u) = c.username {
                d.push(format!("user={}", quoted(u)));
            }
            if let Some(pw) = c.password {
                d.push(format!("pass={}", password(pw, style.show_passwords)));
            }
            if let Some(w) = &c.will {
                d.push(format!("will={} q{}", quoted(w.topic), w.qos));
            }
        }
        Some(Packet::ConnAck(c)) => {
            d.push(format!("sp={}", u8::from(c.session_present)));
            d.push(rc_name(PacketType::ConnAck, version, c.reason_code));
        }
        Some(Packet::Publish(pb)) => {
            let mut flags = format!("q{}", pb.qos);
            if pb.dup {
                flags.push_str(" dup");
            }
            if pb.retain {
                flags.push_str(" retain");
            }
            d.push(flags);
            if let Some(id) = pb.packet_id {
                d.push(format!("id={id}"));
            }
            d.push(topic_text(ctx));
            d.push(format!("len={}", rec.payload_len));
            if let Some(mode) = style.payload
                && let Some(shown) = payload_inline(pb.payload, mode, rec.truncated())
            {
                d.push(shown);
            }
        }
        Some(Packet::PubAck(a) | Packet::PubRec(a) | Packet::PubRel(a) | Packet::PubComp(a)) => {
            d.push(format!("id={}", a.packet_id));
            if let Some(rc) = a.reason_code.filter(|&rc| rc != 0) {
                d.push(rc_name(rec.packet_type, version, rc));
            }
        }
        Some(Packet::Subscribe(sb)) => {
            d.push(format!("id={}", sb.packet_id));
            let filters: Vec<String> = sb
                .filters
                .iter()
                .map(|(f, o)| format!("{} q{}", quoted(f), o.qos()))
                .collect();
            d.push(filters.join(", "));
        }
        Some(Packet::SubAck(sa)) => {
            d.push(format!("id={}", sa.packet_id));
            let codes: Vec<String> = sa
                .reason_codes
                .iter()
                .map(|&rc| format!("0x{rc:02x}"))
                .collect();
            d.push(format!("[{}]", codes.join(", ")));
        }
        Some(Packet::Unsubscribe(u)) => {
            d.push(format!("id={}", u.packet_id));
            let filters: Vec<String> = u.filters.iter().map(quoted).collect();
            d.push(filters.join(", "));
        }
        Some(Packet::UnsubAck(u)) => {
            d.push(format!("id={}", u.packet_id));
            if !u.reason_codes.is_empty() {
                let codes: Vec<String> = u
                    .reason_codes
                    .iter()
                    .map(|&rc| format!("0x{rc:02x}"))
                    .collect();
                d.push(format!("[{}]", codes.join(", ")));
            }
        }
        Some(Packet::Disconnect(r) | Packet::Auth(r)) => {
            if let Some(rc) = r.reason_code {
                d.push(rc_name(rec.packet_type, version, rc));
            }
        }
        Some(Packet::PingReq | Packet::PingResp) => {}
        Some(Packet::Reserved { body, .. }) => {
            d.push(format!("type={} len={}", rec.first_byte >> 4, body.len()))
        }
        None => {
            // No bytes (or undecodable): what the record knows.
            if rec.packet_type == PacketType::Publish {
                d.push(format!("q{}", rec.qos()));
            }
            if let Some(id) = rec.packet_id {
                d.push(format!("id={id}"));
            }
            if rec.topic.is_some() {
                d.push(topic_text(ctx));
            }
            if let Some(rc) = rec.reason_code {
                d.push(format!("rc=0x{rc:02x}"));
            }
            if rec.packet_type == PacketType::Publish {
                d.push(format!("len={}", rec.payload_len));
            }
            if let Some(e) = &ctx.decode_error {
                d.push(format!("malformed: {e}"));
            } else if rec.decode_error() {
                d.push("malformed".into());
            }
        }
    }
    if rec.truncated() {
        d.push("(truncated)".into());
    }
    d.retain(|x| !x.is_empty());
    d.join(" ")
}

/// The topic as the model resolved it (aliases included), quoted and escaped.
fn topic_text(ctx: &PacketCtx<'_>) -> String {
    match ctx.trace.opt_str(ctx.rec.topic) {
        Some(t) => {
            let alias = ctx
                .rec
                .marks
                .has(dissector::model::PacketMarks::TOPIC_FROM_ALIAS);
            format!("\"{}\"{}", escape(t), if alias { " (alias)" } else { "" })
        }
        None => "\"\"".into(),
    }
}

fn password(pw: &[u8], show: bool) -> String {
    if show {
        format!("\"{}\"", escape_bytes(pw))
    } else {
        format!("<redacted {} B>", pw.len())
    }
}

/// A payload squeezed onto the summary line (at most 64 characters of it).
fn payload_inline(payload: &[u8], mode: PayloadMode, truncated: bool) -> Option<String> {
    let cut = if truncated { "…" } else { "" };
    match mode {
        PayloadMode::None => None,
        PayloadMode::Hex => Some(format!(
            "= {}{}",
            hex(payload.get(..32).unwrap_or(payload)),
            if payload.len() > 32 { "…" } else { cut }
        )),
        PayloadMode::Text | PayloadMode::Json => {
            let text = payload_text(payload, mode);
            Some(format!("= {}{cut}", clip(&text, 64)))
        }
    }
}

/// A payload as one escaped line: JSON compacted (with `json`), UTF-8 text in quotes, binary
/// as hex.
fn payload_text(payload: &[u8], mode: PayloadMode) -> String {
    if mode == PayloadMode::Json
        && let Ok(v) = serde_json::from_slice::<serde_json::Value>(payload)
    {
        return escape_controls(&v.to_string()).into_owned();
    }
    match std::str::from_utf8(payload) {
        Ok(text) => format!("\"{}\"", escape(text)),
        Err(_) => format!("0x{}", hex(payload)),
    }
}

fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

// ---------------------------------------------------------------------------------------------
// JSON lines

/// One SUBSCRIBE/UNSUBSCRIBE filter in the JSON schema.
#[derive(Debug, Serialize)]
pub struct TopicFilterJson {
    /// The topic filter.
    pub filter: String,
    /// Requested QoS (SUBSCRIBE), null for UNSUBSCRIBE.
    pub qos: Option<u8>,
}

/// The stable per-packet JSON object (shared/ARCHITECTURE.md, docs/cli.md).
#[derive(Debug, Serialize)]
pub struct PacketJson<'a> {
    /// Frame (1-based) holding the packet's last byte.
    pub frame: u64,
    /// Epoch seconds.
    pub ts: f64,
    /// `tcp.stream`.
    pub stream: Option<u32>,
    /// Source endpoint.
    pub src: String,
    /// Destination endpoint.
    pub dst: String,
    /// "to_broker" or "to_client".
    pub dir: &'static str,
    /// Packet type name.
    #[serde(rename = "type")]
    pub packet_type: &'static str,
    /// Packet type number.
    pub type_id: u8,
    /// Protocol level (3, 4, 5).
    pub version: Option<u8>,
    /// PUBLISH DUP.
    pub dup: bool,
    /// PUBLISH QoS.
    pub qos: u8,
    /// PUBLISH RETAIN.
    pub retain: bool,
    /// Packet identifier.
    pub packet_id: Option<u16>,
    /// PUBLISH topic (aliases resolved).
    pub topic: Option<&'a str>,
    /// SUBSCRIBE/UNSUBSCRIBE filters.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub topics: Option<Vec<TopicFilterJson>>,
    /// CONNECT client id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// Reason/return codes.
    pub reason_codes: Vec<u8>,
    /// Remaining length.
    pub remaining_length: u64,
    /// Fixed header bytes.
    pub fixed_header_len: u8,
    /// Variable header bytes (properties not counted).
    pub variable_header_len: u32,
    /// Property bytes.
    pub properties_len: u32,
    /// Payload bytes.
    pub payload_len: u32,
    /// Anomaly codes.
    pub anomalies: Vec<&'static str>,
    /// The capture the packet is from, when several were read one after another (extra field).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub capture: Option<String>,
    /// First frame of the packet (extra field).
    pub first_frame: u64,
    /// True when only the start of the packet was captured (extra field).
    pub truncated: bool,
    /// Payload as asked for with `--payload` (extra field).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payload: Option<serde_json::Value>,
    /// CONNECT user name (extra field).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// CONNECT password: only with --show-passwords; otherwise `"<redacted>"` (extra field).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
}

/// The JSON object of a packet.
pub fn json<'a>(ctx: &'a PacketCtx<'a>, style: &PacketStyle) -> PacketJson<'a> {
    let rec = ctx.rec;
    let (src, dst) = ctx.endpoints();
    let packet = ctx.decoded.as_ref().map(|d| &d.packet);
    let topics = match packet {
        Some(Packet::Subscribe(s)) => Some(
            s.filters
                .iter()
                .map(|(f, o)| TopicFilterJson {
                    filter: f.to_string_lossy().into_owned(),
                    qos: Some(o.qos()),
                })
                .collect(),
        ),
        Some(Packet::Unsubscribe(u)) => Some(
            u.filters
                .iter()
                .map(|f| TopicFilterJson {
                    filter: f.to_string_lossy().into_owned(),
                    qos: None,
                })
                .collect(),
        ),
        _ => None,
    };
    let (client_id, username, password) = match packet {
        Some(Packet::Connect(c)) => (
            Some(c.client_id.to_string_lossy().into_owned()),
            c.username.map(|u| u.to_string_lossy().into_owned()),
            c.password.map(|p| {
                if style.show_passwords {
                    String::from_utf8_lossy(p).into_owned()
                } else {
                    "<redacted>".to_string()
                }
            }),
        ),
        _ => (None, None, None),
    };
    let payload = match (style.payload, ctx.payload()) {
        (Some(mode), Some(bytes)) if mode != PayloadMode::None => Some(payload_json(bytes, mode)),
        _ => None,
    };
    PacketJson {
        frame: rec.frame,
        ts: rec.ts.as_secs_f64(),
        stream: ctx.stream(),
        src,
        dst,
        dir: rec.dir.as_str(),
        packet_type: rec.packet_type.name(),
        type_id: rec.packet_type.id(),
        version: rec.version.map(|v| v.level()),
        dup: rec.dup(),
        qos: rec.qos(),
        retain: rec.retain(),
        packet_id: rec.packet_id,
        topic: if rec.packet_type == PacketType::Publish {
            ctx.trace.opt_str(rec.topic)
        } else {
            None
        },
        topics,
        client_id,
        reason_codes: ctx.reason_codes(),
        remaining_length: rec.remaining_length(),
        fixed_header_len: rec.fixed_len,
        variable_header_len: rec.variable_len,
        properties_len: rec.properties_len,
        payload_len: rec.payload_len,
        anomalies: ctx.anomaly_codes(),
        capture: None,
        first_frame: rec.first_frame(),
        truncated: rec.truncated(),
        payload,
        username,
        password,
    }
}

fn payload_json(bytes: &[u8], mode: PayloadMode) -> serde_json::Value {
    match mode {
        PayloadMode::Json => serde_json::from_slice(bytes).unwrap_or_else(|_| {
            serde_json::Value::String(String::from_utf8_lossy(bytes).into_owned())
        }),
        PayloadMode::Hex => serde_json::Value::String(hex(bytes)),
        _ => serde_json::Value::String(String::from_utf8_lossy(bytes).into_owned()),
    }
}

// ---------------------------------------------------------------------------------------------
// Detail tree (-V)

/// Indented tree writer.
struct Tree {
    out: String,
}

impl Tree {
    fn line(&mut self, depth: usize, text: impl AsRef<str>) {
        for _ in 0..depth {
            self.out.push_str("    ");
        }
        self.out.push_str(text.as_ref());
        self.out.push('\n');
    }
}

/// The `-V` tree: every field of the packet, every property, reason codes by name, the
/// header-size breakdown, and the anomalies with their explanation.
pub fn detail(ctx: &PacketCtx<'_>, style: &PacketStyle) -> String {
    let p = style.painter;
    let rec = ctx.rec;
    let mut t = Tree { out: String::new() };
    let (src, dst) = ctx.endpoints();
    let frames = if rec.frames_back > 0 {
        format!("frames {}–{}", rec.first_frame(), rec.frame)
    } else {
        format!("frame {}", rec.frame)
    };
    t.line(
        0,
        p.paint(
            Style::Bold,
            &format!(
                "Packet {} ({frames}), t={:.6} s, stream {}, {src} → {dst} ({})",
                ctx.index,
                ctx.time(style.origin),
                ctx.stream().map_or("-".into(), |s| s.to_string()),
                rec.dir.as_str().replace('_', " ")
            ),
        ),
    );
    let version = rec.version.map_or("unknown version".to_string(), |v| {
        format!("MQTT {}", v.name())
    });
    t.line(
        0,
        format!(
            "MQ Telemetry Transport: {} ({}), {version}",
            rec.packet_type.name(),
            rec.packet_type.id()
        ),
    );
    t.line(
        1,
        format!(
            "Fixed header ({} bytes): 0x{:02x}",
            rec.fixed_len, rec.first_byte
        ),
    );
    t.line(
        2,
        format!(
            "Packet type: {} ({})",
            rec.packet_type.name(),
            rec.packet_type.id()
        ),
    );
    t.line(2, format!("Flags: 0x{:x}", rec.flags()));
    if rec.packet_type == PacketType::Publish {
        t.line(3, format!("DUP: {}", rec.dup()));
        t.line(3, format!("QoS: {}", rec.qos()));
        t.line(3, format!("RETAIN: {}", rec.retain()));
    }
    t.line(2, format!("Remaining length: {}", rec.remaining_length()));
    t.line(
        1,
        format!(
            "Sizes: fixed {} + variable {} + properties {} + payload {} = {} bytes{}",
            rec.fixed_len,
            rec.variable_len,
            rec.properties_len,
            rec.payload_len,
            rec.packet_len(),
            if rec.truncated() {
                " (truncated: payload not captured whole)"
            } else {
                ""
            }
        ),
    );
    match &ctx.decoded {
        Some(d) => packet_fields(&mut t, ctx, d, style),
        None => {
            if let Some(e) = &ctx.decode_error {
                t.line(1, p.paint(Style::Red, &format!("Malformed: {e}")));
            } else if ctx.raw.is_none() {
                t.line(1, "(packet bytes not kept: fields from the model only)");
                if let Some(id) = rec.packet_id {
                    t.line(1, format!("Packet identifier: {id}"));
                }
                if let Some(topic) = ctx.trace.opt_str(rec.topic) {
                    t.line(1, format!("Topic: \"{}\"", escape(topic)));
                }
            }
            if let Some(raw) = ctx.raw {
                hexdump(&mut t, 1, raw);
            }
        }
    }
    let anomalies: Vec<_> = ctx.trace.anomalies_of_packet(ctx.index).collect();
    if !anomalies.is_empty() {
        t.line(1, "Anomalies");
        for a in anomalies {
            let colour = match a.severity {
                Severity::Error => Style::Red,
                Severity::Warning => Style::Yellow,
                Severity::Note => Style::Blue,
            };
            let head = format!("{} ({})", a.code.code(), a.severity.as_str());
            let at = a
                .offset
                .map(|o| format!(" at byte {o}"))
                .unwrap_or_default();
            t.line(
                2,
                format!(
                    "{}: {}{at} [{}]",
                    p.paint(colour, &head),
                    escape(&a.message),
                    a.code.spec_section()
                ),
            );
        }
    }
    if let Some(tx) = rec
        .transaction()
        .and_then(|i| ctx.trace.transactions.get(i))
    {
        let latency = tx
            .latency_nanos
            .map(|n| format!(", latency {:.3} ms", n as f64 / 1e6))
            .unwrap_or_default();
        t.line(
            1,
            format!(
                "Exchange: {} {}{latency} (step {} of {})",
                dissector::diagram::build::group_label(tx),
                tx.state.as_str(),
                tx.steps
                    .iter()
                    .position(|s| s.packet == ctx.index)
                    .map_or(0, |i| i + 1),
                tx.kind.steps().len()
            ),
        );
    }
    t.out
}

fn packet_fields(t: &mut Tree, ctx: &PacketCtx<'_>, d: &Decoded<'_>, style: &PacketStyle) {
    let version = ctx.version();
    let ptype = d.packet.packet_type();
    match &d.packet {
        Packet::Connect(c) => {
            t.line(1, "Variable header");
            t.line(2, format!("Protocol name: {}", quoted(c.protocol_name)));
            t.line(2, format!("Protocol level: {}", c.protocol_level));
            t.line(2, format!("Connect flags: 0x{:02x}", c.flags.0));
            t.line(3, format!("User name: {}", c.flags.username()));
            t.line(3, format!("Password: {}", c.flags.password()));
            t.line(3, format!("Will retain: {}", c.flags.will_retain()));
            t.line(3, format!("Will QoS: {}", c.flags.will_qos()));
            t.line(3, format!("Will: {}", c.flags.will()));
            t.line(
                3,
                format!(
                    "Clean {}: {}",
                    if c.protocol_level == 5 {
                        "start"
                    } else {
                        "session"
                    },
                    c.flags.clean_start()
                ),
            );
            t.line(3, format!("Reserved: {}", c.flags.reserved()));
            t.line(2, format!("Keep alive: {} s", c.keep_alive));
            properties(t, 2, "Properties", c.properties.as_ref(), style);
            t.line(1, "Payload");
            t.line(2, format!("Client identifier: {}", quoted(c.client_id)));
            if let Some(w) = &c.will {
                t.line(2, "Will");
                properties(t, 3, "Will properties", w.properties.as_ref(), style);
                t.line(3, format!("Topic: {}", quoted(w.topic)));
                t.line(3, format!("QoS: {}, retain: {}", w.qos, w.retain));
                payload_block(
                    t,
                    3,
                    "Message",
                    w.payload,
                    style.payload.unwrap_or(PayloadMode::Text),
                    false,
                );
            }
            if let Some(u) = c.username {
                t.line(2, format!("User name: {}", quoted(u)));
            }
            if let Some(pw) = c.password {
                t.line(
                    2,
                    format!("Password: {}", password(pw, style.show_passwords)),
                );
            }
        }
        Packet::ConnAck(c) => {
            t.line(1, "Variable header");
            t.line(2, format!("Acknowledge flags: 0x{:02x}", c.ack_flags));
            t.line(3, format!("Session present: {}", c.session_present));
            t.line(
                2,
                format!(
                    "{}: {}",
                    if version.is_some_and(|v| v.is_v5()) {
                        "Reason code"
                    } else {
                        "Return code"
                    },
                    rc_name(ptype, version, c.reason_code)
                ),
            );
            properties(t, 2, "Properties", c.properties.as_ref(), style);
        }
        Packet::Publish(pb) => {
            t.line(1, "Variable header");
            t.line(2, format!("Topic: {}", quoted(pb.topic)));
            if pb.topic.is_empty()
                && let Some(resolved) = ctx.trace.opt_str(ctx.rec.topic)
            {
                t.line(
                    3,
                    format!("Resolved through topic alias: \"{}\"", escape(resolved)),
                );
            }
            if let Some(id) = pb.packet_id {
                t.line(2, format!("Packet identifier: {id}"));
            }
            properties(t, 2, "Properties", pb.properties.as_ref(), style);
            payload_block(
                t,
                1,
                "Payload",
                pb.payload,
                style.payload.unwrap_or(PayloadMode::Text),
                ctx.rec.truncated(),
            );
        }
        Packet::PubAck(a) | Packet::PubRec(a) | Packet::PubRel(a) | Packet::PubComp(a) => {
            t.line(1, "Variable header");
            t.line(2, format!("Packet identifier: {}", a.packet_id));
            match a.reason_code {
                Some(rc) => t.line(2, format!("Reason code: {}", rc_name(ptype, version, rc))),
                None if version.is_some_and(|v| v.is_v5()) => {
                    t.line(2, "Reason code: omitted (0x00 Success)")
                }
                None => {}
            }
            properties(t, 2, "Properties", a.properties.as_ref(), style);
        }
        Packet::Subscribe(s) => {
            t.line(1, "Variable header");
            t.line(2, format!("Packet identifier: {}", s.packet_id));
            properties(t, 2, "Properties", s.properties.as_ref(), style);
            t.line(
                1,
                format!("Payload: {} topic filter(s)", s.filters.iter().count()),
            );
            for (f, o) in s.filters.iter() {
                t.line(2, format!("Filter: {}", quoted(f)));
                t.line(3, format!("Options: 0x{:02x}", o.0));
                t.line(4, format!("Maximum QoS: {}", o.qos()));
                if version.is_some_and(|v| v.is_v5()) {
                    t.line(4, format!("No local: {}", o.no_local()));
                    t.line(
                        4,
                        format!("Retain as published: {}", o.retain_as_published()),
                    );
                    t.line(4, format!("Retain handling: {}", o.retain_handling()));
                }
                if o.reserved_bits() != 0 {
                    t.line(4, format!("Reserved bits: {:#04b}", o.reserved_bits()));
                }
            }
        }
        Packet::SubAck(s) => {
            t.line(1, "Variable header");
            t.line(2, format!("Packet identifier: {}", s.packet_id));
            properties(t, 2, "Properties", s.properties.as_ref(), style);
            t.line(1, "Payload");
            for &rc in s.reason_codes {
                t.line(2, format!("Reason code: {}", rc_name(ptype, version, rc)));
            }
        }
        Packet::Unsubscribe(u) => {
            t.line(1, "Variable header");
            t.line(2, format!("Packet identifier: {}", u.packet_id));
            properties(t, 2, "Properties", u.properties.as_ref(), style);
            t.line(1, "Payload");
            for f in u.filters.iter() {
                t.line(2, format!("Filter: {}", quoted(f)));
            }
        }
        Packet::UnsubAck(u) => {
            t.line(1, "Variable header");
            t.line(2, format!("Packet identifier: {}", u.packet_id));
            properties(t, 2, "Properties", u.properties.as_ref(), style);
            for &rc in u.reason_codes {
                t.line(2, format!("Reason code: {}", rc_name(ptype, version, rc)));
            }
        }
        Packet::PingReq | Packet::PingResp => {}
        Packet::Disconnect(r) | Packet::Auth(r) => {
            match r.reason_code {
                Some(rc) => t.line(1, format!("Reason code: {}", rc_name(ptype, version, rc))),
                None if version.is_some_and(|v| v.is_v5()) => {
                    t.line(1, "Reason code: omitted (0x00)")
                }
                None => {}
            }
            properties(t, 1, "Properties", r.properties.as_ref(), style);
        }
        Packet::Reserved { type_id, body } => {
            t.line(
                1,
                format!("Reserved packet type {type_id}, {} body bytes", body.len()),
            );
            hexdump(t, 2, body);
        }
    }
    if !d.warnings.is_empty() {
        t.line(1, "Decoder warnings");
        for w in d.warnings.iter() {
            t.line(2, format!("{:?} at byte {}", w.kind, w.offset));
        }
        if d.warnings.dropped > 0 {
            t.line(2, format!("… and {} more", d.warnings.dropped));
        }
    }
}

fn properties(
    t: &mut Tree,
    depth: usize,
    title: &str,
    props: Option<&Properties<'_>>,
    style: &PacketStyle,
) {
    let Some(props) = props else { return };
    let count = props.iter().count();
    let plural = if count == 1 { "property" } else { "properties" };
    t.line(
        depth,
        format!("{title} ({} bytes, {count} {plural})", props.raw.len()),
    );
    for prop in props.iter() {
        let prop = match prop {
            Ok(prop) => prop,
            Err(e) => {
                t.line(depth + 1, format!("Malformed property: {e}"));
                break;
            }
        };
        let name = prop.id.name().unwrap_or("Unknown property");
        let value = match prop.value {
            PropertyValue::Byte(v) => v.to_string(),
            PropertyValue::TwoByteInt(v) => v.to_string(),
            PropertyValue::FourByteInt(v) => v.to_string(),
            PropertyValue::VarInt(v) => v.to_string(),
            PropertyValue::Utf8String(s) => quoted(s),
            PropertyValue::Utf8StringPair(k, v) => format!("{} = {}", quoted(k), quoted(v)),
            PropertyValue::BinaryData(b) => {
                // Authentication data can be a credential: redact it like the password.
                if prop.id == codec::PropertyId::AUTHENTICATION_DATA && !style.show_passwords {
                    format!("<redacted {} B>", b.len())
                } else {
                    format!("0x{} ({} bytes)", hex(b.get(..64).unwrap_or(b)), b.len())
                }
            }
        };
        t.line(depth + 1, format!("{name} (0x{:02x}): {value}", prop.id.0));
    }
}

fn payload_block(
    t: &mut Tree,
    depth: usize,
    title: &str,
    payload: &[u8],
    mode: PayloadMode,
    truncated: bool,
) {
    let cut = if truncated {
        ", only the start was captured"
    } else {
        ""
    };
    t.line(depth, format!("{title} ({} bytes{cut})", payload.len()));
    match mode {
        PayloadMode::None => {}
        PayloadMode::Hex => hexdump(t, depth + 1, payload),
        PayloadMode::Json => match serde_json::from_slice::<serde_json::Value>(payload) {
            Ok(v) => {
                let pretty = serde_json::to_string_pretty(&v).unwrap_or_default();
                for l in pretty.lines() {
                    t.line(depth + 1, escape(l));
                }
            }
            Err(_) => t.line(depth + 1, payload_text(payload, PayloadMode::Text)),
        },
        PayloadMode::Text => match std::str::from_utf8(payload) {
            Ok(_) => t.line(depth + 1, payload_text(payload, PayloadMode::Text)),
            Err(_) => hexdump(t, depth + 1, payload),
        },
    }
}

/// Classic hex dump: offset, 16 bytes in hex, printable ASCII (everything else as `.`).
fn hexdump(t: &mut Tree, depth: usize, bytes: &[u8]) {
    for (i, chunk) in bytes.chunks(16).enumerate() {
        let mut hexes = String::with_capacity(48);
        for b in chunk {
            let _ = write!(hexes, "{b:02x} ");
        }
        let ascii: String = chunk
            .iter()
            .map(|&b| {
                if (0x20..0x7f).contains(&b) {
                    b as char
                } else {
                    '.'
                }
            })
            .collect();
        t.line(depth, format!("{:04x}  {hexes:<48} {ascii}", i * 16));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inline_payload_is_clipped_and_escaped() {
        let shown = payload_inline(b"hello\x1b[31m world", PayloadMode::Text, false);
        assert_eq!(shown.as_deref(), Some("= \"hello\\x1b[31m world\""));
        let long = vec![b'a'; 500];
        let shown = payload_inline(&long, PayloadMode::Text, false).unwrap_or_default();
        assert!(shown.chars().count() <= 67, "{shown}");
        assert_eq!(
            payload_inline(&[0xff, 0x00], PayloadMode::Text, false).as_deref(),
            Some("= 0xff00")
        );
        assert_eq!(
            payload_inline(b"{ \"a\" : 1 }", PayloadMode::Json, false).as_deref(),
            Some("= {\"a\":1}")
        );
    }

    #[test]
    fn password_is_redacted_unless_asked() {
        assert_eq!(password(b"secret", false), "<redacted 6 B>");
        assert_eq!(password(b"secret", true), "\"secret\"");
    }

    #[test]
    fn hexdump_shows_offsets_and_printable_ascii() {
        let mut t = Tree { out: String::new() };
        hexdump(&mut t, 0, b"0123456789abcdef\x00z");
        let lines: Vec<&str> = t.out.lines().collect();
        assert_eq!(lines.len(), 2);
        assert!(lines[0].starts_with("0000  30 31 32"));
        assert!(lines[0].ends_with("0123456789abcdef"));
        assert!(lines[1].starts_with("0010  00 7a"));
        assert!(lines[1].ends_with(".z"));
    }
}
