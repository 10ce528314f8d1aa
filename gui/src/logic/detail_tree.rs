//! The packet-details tree (Wireshark's middle pane), apart from drawing: one node per field of
//! the decoded packet, each with the byte range it covers in the packet, so selecting a field
//! highlights its bytes and clicking a byte finds its field.
//!
//! Byte ranges come from the decoder's output itself: every borrowed field (`MqttStr`, payload
//! and property slices) points into the packet's bytes, so its offset is its address minus the
//! packet's; fixed-width fields sit at spec-defined places next to them. Property blocks and
//! their entries carry offsets from the decoder.

use super::packet_bytes::{ByteView, PacketBytes, PacketFrame};
use capture::layers::{Field, LayerKind};
use dissector::codec::{
    self, ConnAck, Connect, Decoded, MqttStr, Packet, PacketType, Properties, PropertyValue,
    ProtocolVersion, PubAckLike, Publish, ReasonOnly, SubAck, Subscribe, UnsubAck, Unsubscribe,
};
use dissector::model::Trace;
use std::ops::Range;

/// One line of the tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldNode {
    /// What the line says, e.g. `Topic: "sensors/t1"`.
    pub label: String,
    /// The bytes the field covers (None for summary lines), in `view`.
    pub range: Option<Range<usize>>,
    /// Which bytes `range` refers to: the MQTT packet's, or a raw frame's (link/IP/TCP/
    /// WebSocket fields).
    pub view: ByteView,
    /// Sub-fields.
    pub children: Vec<FieldNode>,
}

impl FieldNode {
    /// A leaf.
    pub fn leaf(label: impl Into<String>, range: Option<Range<usize>>) -> FieldNode {
        FieldNode {
            label: label.into(),
            range,
            view: ByteView::Mqtt,
            children: Vec::new(),
        }
    }
    /// A node with children.
    pub fn group(
        label: impl Into<String>,
        range: Option<Range<usize>>,
        children: Vec<FieldNode>,
    ) -> FieldNode {
        FieldNode {
            label: label.into(),
            range,
            view: ByteView::Mqtt,
            children,
        }
    }
}

/// The whole tree of one packet, and its raw bytes' length.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DetailTree {
    /// Top-level sections: frame, transport, MQTT, anomalies.
    pub roots: Vec<FieldNode>,
    /// The MQTT packet's payload, when it has one (for the text / hex / JSON views).
    pub payload: Option<Range<usize>>,
}

impl DetailTree {
    /// The node at a path of child indexes.
    pub fn node(&self, path: &[usize]) -> Option<&FieldNode> {
        let (first, rest) = path.split_first()?;
        let mut node = self.roots.get(*first)?;
        for &i in rest {
            node = node.children.get(i)?;
        }
        Some(node)
    }

    /// The path of the most specific field of `view` that covers `byte` (a click in the hex
    /// pane's tab showing `view`).
    pub fn field_at(&self, view: ByteView, byte: usize) -> Option<Vec<usize>> {
        // The deepest covering line wins, and among equally deep ones the first: the Frame
        // line covers the whole frame but a TCP field is more specific. A sub-field covering
        // the same bytes as its parent (flag bits of a flags byte) is no more specific.
        fn deepest(
            nodes: &[FieldNode],
            parent: Option<&Range<usize>>,
            view: ByteView,
            byte: usize,
        ) -> Option<Vec<usize>> {
            let mut best: Option<Vec<usize>> = None;
            for (i, n) in nodes.iter().enumerate() {
                let Some(r) = n.range.as_ref() else {
                    continue;
                };
                if n.view == view && r.contains(&byte) && parent != Some(r) {
                    let mut path = vec![i];
                    path.extend(deepest(&n.children, Some(r), view, byte).unwrap_or_default());
                    if best.as_ref().is_none_or(|b| path.len() > b.len()) {
                        best = Some(path);
                    }
                }
            }
            best
        }
        deepest(&self.roots, None, view, byte)
    }

    /// The field for a click on `byte` of the tab showing `view`: in a frame, a byte of the
    /// packet's MQTT bytes selects the MQTT field (the most specific), any other byte the
    /// frame's own field.
    pub fn field_for_click(
        &self,
        bytes: &PacketBytes,
        view: ByteView,
        byte: usize,
    ) -> Option<Vec<usize>> {
        if let ByteView::Frame(n) = view
            && let Some(m) = bytes.frame_to_mqtt(n, byte)
            && let Some(path) = self.field_at(ByteView::Mqtt, m)
        {
            return Some(path);
        }
        self.field_at(view, byte)
    }

    /// The view and byte range of the field at `path`, when it covers bytes.
    pub fn selection(&self, path: &[usize]) -> Option<(ByteView, Range<usize>)> {
        let node = self.node(path)?;
        Some((node.view, node.range.clone()?))
    }

    /// Every label, depth first (for tests and search).
    pub fn labels(&self) -> Vec<&str> {
        fn walk<'a>(nodes: &'a [FieldNode], out: &mut Vec<&'a str>) {
            for n in nodes {
                out.push(&n.label);
                walk(&n.children, out);
            }
        }
        let mut out = Vec::new();
        walk(&self.roots, &mut out);
        out
    }
}

/// Where borrowed slices sit inside the packet's bytes.
struct Spans {
    base: usize,
    len: usize,
}

impl Spans {
    fn new(bytes: &[u8]) -> Spans {
        Spans {
            base: bytes.as_ptr() as usize,
            len: bytes.len(),
        }
    }
    /// The range of a sub-slice of the packet (None when it does not point into it).
    fn of(&self, s: &[u8]) -> Option<Range<usize>> {
        let start = (s.as_ptr() as usize).checked_sub(self.base)?;
        let end = start.checked_add(s.len())?;
        (end <= self.len && !(s.is_empty() && start == self.len && self.len == 0))
            .then_some(start..end)
    }
    /// The range of a length-prefixed string, its two length bytes included.
    fn string(&self, s: MqttStr<'_>) -> Option<Range<usize>> {
        let r = self.of(s.bytes())?;
        Some(r.start.checked_sub(2)?..r.end)
    }
    /// A range of `n` bytes starting at `start`, clipped to the packet.
    fn at(&self, start: usize, n: usize) -> Option<Range<usize>> {
        let end = start.checked_add(n)?;
        (end <= self.len).then_some(start..end)
    }
}

/// Quoted, escaped text of a string field (invalid UTF-8 shown with U+FFFD).
fn quoted(s: MqttStr<'_>) -> String {
    format!("{:?}", s.to_string_lossy())
}

/// Size in bytes of a variable byte integer holding `v` (minimal encoding).
fn varint_len(v: usize) -> usize {
    match v {
        0..=127 => 1,
        128..=16_383 => 2,
        16_384..=2_097_151 => 3,
        _ => 4,
    }
}

/// A reason code with its spec name for the packet type and version (MQTT 5.0 §2.4; 3.x
/// return codes), e.g. `0x87 Not authorized`.
pub fn reason_code_label(packet_type: PacketType, version: ProtocolVersion, code: u8) -> String {
    match codec::reason_code_name(packet_type, version, code) {
        Some(name) => format!("0x{code:02x} {name}"),
        None => format!("0x{code:02x} (not defined for {})", packet_type.name()),
    }
}

fn properties_node(spans: &Spans, props: &Properties<'_>, title: &str) -> FieldNode {
    let start = (props.offset as usize).saturating_sub(varint_len(props.raw.len()));
    let end = props.offset as usize + props.raw.len();
    let mut children = vec![FieldNode::leaf(
        format!("Property length: {}", props.raw.len()),
        spans.at(start, props.offset as usize - start),
    )];
    let entries: Vec<_> = props.iter().collect();
    for (i, entry) in entries.iter().enumerate() {
        match entry {
            Ok(p) => {
                let next = entries
                    .get(i + 1)
                    .and_then(|n| n.as_ref().ok())
                    .map_or(end, |n| n.offset as usize);
                let name = p.id.name().unwrap_or("Unknown property");
                let value = match p.value {
                    PropertyValue::Byte(v) => v.to_string(),
                    PropertyValue::TwoByteInt(v) => v.to_string(),
                    PropertyValue::FourByteInt(v) | PropertyValue::VarInt(v) => v.to_string(),
                    PropertyValue::Utf8String(s) => quoted(s),
                    PropertyValue::Utf8StringPair(k, v) => format!("{} = {}", quoted(k), quoted(v)),
                    PropertyValue::BinaryData(b) => {
                        format!("{} bytes: {}", b.len(), hex_preview(b, 32))
                    }
                };
                children.push(FieldNode::leaf(
                    format!("{name} (0x{:02x}): {value}", p.id.0),
                    spans.at(p.offset as usize, next.saturating_sub(p.offset as usize)),
                ));
            }
            Err(e) => children.push(FieldNode::leaf(
                format!("Malformed property: {e}"),
                spans.at(e.offset, 1),
            )),
        }
    }
    let count = entries.iter().filter(|e| e.is_ok()).count();
    FieldNode::group(
        format!("{title} ({count})"),
        spans.at(start, end - start),
        children,
    )
}

/// The first `max` bytes as hex, with "…" when there are more.
pub fn hex_preview(bytes: &[u8], max: usize) -> String {
    let mut s: String = bytes.iter().take(max).map(|b| format!("{b:02x}")).collect();
    if bytes.len() > max {
        s.push('…');
    }
    s
}

/// The variable header of SUBSCRIBE, SUBACK, UNSUBSCRIBE and UNSUBACK: the packet identifier
/// at `h`, then the properties when the packet has them (5.0).
fn id_and_properties(
    spans: &Spans,
    h: usize,
    packet_id: u16,
    properties: Option<&Properties<'_>>,
) -> FieldNode {
    let mut vh = vec![packet_id_node(spans, packet_id, h)];
    if let Some(p) = properties {
        vh.push(properties_node(spans, p, "Properties"));
    }
    group_of("Variable header", vh)
}

fn packet_id_node(spans: &Spans, id: u16, at: usize) -> FieldNode {
    FieldNode::leaf(format!("Packet identifier: {id}"), spans.at(at, 2))
}

fn fixed_header(spans: &Spans, decoded: &Decoded<'_>) -> FieldNode {
    let h = &decoded.header;
    let t = PacketType::from_id(h.type_id());
    let flags = if t == PacketType::Publish {
        format!(
            "Flags: 0x{:x} (DUP {}, QoS {}, RETAIN {})",
            h.flags(),
            h.flags() >> 3 & 1,
            h.flags() >> 1 & 3,
            h.flags() & 1
        )
    } else {
        format!("Flags: 0x{:x}", h.flags())
    };
    FieldNode::group(
        "Fixed header",
        spans.at(0, usize::from(h.header_len)),
        vec![
            FieldNode::leaf(
                format!("Message type: {} ({})", t.name(), t.id()),
                spans.at(0, 1),
            ),
            FieldNode::leaf(flags, spans.at(0, 1)),
            FieldNode::leaf(
                format!("Remaining length: {}", h.remaining_length),
                spans.at(1, usize::from(h.header_len).saturating_sub(1)),
            ),
        ],
    )
}

fn connect_nodes(spans: &Spans, c: &Connect<'_>, show_password: bool, out: &mut Vec<FieldNode>) {
    let mut vh = Vec::new();
    vh.push(FieldNode::leaf(
        format!("Protocol name: {}", quoted(c.protocol_name)),
        spans.string(c.protocol_name),
    ));
    let after_name = spans.string(c.protocol_name).map_or(0, |r| r.end);
    let version = ProtocolVersion::from_level(c.protocol_level).map_or("unknown", |v| v.name());
    vh.push(FieldNode::leaf(
        format!("Protocol level: {} (MQTT {version})", c.protocol_level),
        spans.at(after_name, 1),
    ));
    let f = c.flags;
    let flag_range = spans.at(after_name + 1, 1);
    let bit = |name: &str, on: bool| {
        FieldNode::leaf(
            format!("{name}: {}", if on { "set" } else { "not set" }),
            flag_range.clone(),
        )
    };
    vh.push(FieldNode::group(
        format!("Connect flags: 0x{:02x}", f.0),
        flag_range.clone(),
        vec![
            bit("User name flag", f.username()),
            bit("Password flag", f.password()),
            bit("Will retain flag", f.will_retain()),
            FieldNode::leaf(format!("Will QoS: {}", f.will_qos()), flag_range.clone()),
            bit("Will flag", f.will()),
            bit("Clean session / clean start flag", f.clean_start()),
            bit("Reserved flag", f.reserved()),
        ],
    ));
    vh.push(FieldNode::leaf(
        format!("Keep alive: {} s", c.keep_alive),
        spans.at(after_name + 2, 2),
    ));
    if let Some(p) = &c.properties {
        vh.push(properties_node(spans, p, "Properties"));
    }
    out.push(group_of("Variable header", vh));
    let mut pl = vec![FieldNode::leaf(
        format!("Client ID: {}", quoted(c.client_id)),
        spans.string(c.client_id),
    )];
    if let Some(w) = &c.will {
        let mut wn = Vec::new();
        if let Some(p) = &w.properties {
            wn.push(properties_node(spans, p, "Will properties"));
        }
        wn.push(FieldNode::leaf(
            format!("Will topic: {}", quoted(w.topic)),
            spans.string(w.topic),
        ));
        wn.push(FieldNode::leaf(
            format!("Will payload: {} bytes", w.payload.len()),
            spans
                .of(w.payload)
                .and_then(|r| spans.at(r.start.checked_sub(2)?, r.len() + 2)),
        ));
        pl.push(group_of("Will", wn));
    }
    if let Some(u) = c.username {
        pl.push(FieldNode::leaf(
            format!("User name: {}", quoted(u)),
            spans.string(u),
        ));
    }
    if let Some(p) = c.password {
        let text = if show_password {
            format!("Password: {:?}", String::from_utf8_lossy(p))
        } else {
            format!("Password: <redacted, {} bytes>", p.len())
        };
        pl.push(FieldNode::leaf(
            text,
            spans
                .of(p)
                .and_then(|r| spans.at(r.start.checked_sub(2)?, r.len() + 2)),
        ));
    }
    out.push(group_of("Payload", pl));
}

/// A group whose range spans its children's.
fn group_of(label: &str, children: Vec<FieldNode>) -> FieldNode {
    let start = children
        .iter()
        .filter_map(|c| c.range.as_ref().map(|r| r.start))
        .min();
    let end = children
        .iter()
        .filter_map(|c| c.range.as_ref().map(|r| r.end))
        .max();
    let range = start.zip(end).map(|(s, e)| s..e);
    FieldNode::group(label, range, children)
}

fn publish_nodes(
    spans: &Spans,
    p: &Publish<'_>,
    out: &mut Vec<FieldNode>,
    payload: &mut Option<Range<usize>>,
) {
    let mut vh = vec![FieldNode::leaf(
        format!("Topic: {}", quoted(p.topic)),
        spans.string(p.topic),
    )];
    let after_topic = spans.string(p.topic).map_or(0, |r| r.end);
    if let Some(id) = p.packet_id {
        vh.push(packet_id_node(spans, id, after_topic));
    }
    if let Some(props) = &p.properties {
        vh.push(properties_node(spans, props, "Properties"));
    }
    out.push(group_of("Variable header", vh));
    let range = spans.of(p.payload);
    *payload = range.clone();
    let mut children = Vec::new();
    if let Ok(text) = std::str::from_utf8(p.payload) {
        let shown: String = text.chars().take(200).collect();
        let more = if text.chars().count() > 200 {
            "…"
        } else {
            ""
        };
        children.push(FieldNode::leaf(
            format!("Text: {shown:?}{more}"),
            range.clone(),
        ));
    } else {
        children.push(FieldNode::leaf(
            format!("Hex: {}", hex_preview(p.payload, 48)),
            range.clone(),
        ));
    }
    out.push(FieldNode::group(
        format!("Payload: {} bytes", p.payload.len()),
        range,
        children,
    ));
}

fn ack_nodes(
    spans: &Spans,
    h: usize,
    a: &PubAckLike<'_>,
    tv: (PacketType, ProtocolVersion),
    out: &mut Vec<FieldNode>,
) {
    let mut vh = vec![packet_id_node(spans, a.packet_id, h)];
    if let Some(rc) = a.reason_code {
        vh.push(FieldNode::leaf(
            format!("Reason code: {}", reason_code_label(tv.0, tv.1, rc)),
            spans.at(h + 2, 1),
        ));
    }
    if let Some(p) = &a.properties {
        vh.push(properties_node(spans, p, "Properties"));
    }
    out.push(group_of("Variable header", vh));
}

fn connack_nodes(
    spans: &Spans,
    h: usize,
    c: &ConnAck<'_>,
    version: ProtocolVersion,
    out: &mut Vec<FieldNode>,
) {
    let mut vh = vec![
        FieldNode::group(
            format!("Acknowledge flags: 0x{:02x}", c.ack_flags),
            spans.at(h, 1),
            vec![FieldNode::leaf(
                format!("Session present: {}", c.session_present),
                spans.at(h, 1),
            )],
        ),
        FieldNode::leaf(
            format!(
                "Return / reason code: {}",
                reason_code_label(PacketType::ConnAck, version, c.reason_code)
            ),
            spans.at(h + 1, 1),
        ),
    ];
    if let Some(p) = &c.properties {
        vh.push(properties_node(spans, p, "Properties"));
    }
    out.push(group_of("Variable header", vh));
}

fn subscribe_nodes(spans: &Spans, h: usize, s: &Subscribe<'_>, out: &mut Vec<FieldNode>) {
    out.push(id_and_properties(
        spans,
        h,
        s.packet_id,
        s.properties.as_ref(),
    ));
    let mut pl = Vec::new();
    for (filter, options) in s.filters.iter() {
        let r = spans.string(filter);
        let opt_range = r.as_ref().and_then(|r| spans.at(r.end, 1));
        let whole = r.as_ref().map(|r| r.start..r.end + 1);
        pl.push(FieldNode::group(
            format!("Topic filter: {} (QoS {})", quoted(filter), options.qos()),
            whole,
            vec![
                FieldNode::leaf(format!("Filter: {}", quoted(filter)), r),
                FieldNode::leaf(
                    format!(
                        "Options: 0x{:02x} (QoS {}, no local {}, retain as published {}, retain handling {})",
                        options.0,
                        options.qos(),
                        options.no_local(),
                        options.retain_as_published(),
                        options.retain_handling()
                    ),
                    opt_range,
                ),
            ],
        ));
    }
    out.push(group_of("Payload", pl));
}

fn codes_node(
    spans: &Spans,
    codes: &[u8],
    tv: (PacketType, ProtocolVersion),
    out: &mut Vec<FieldNode>,
) {
    let base = spans.of(codes);
    let children = codes
        .iter()
        .enumerate()
        .map(|(i, &c)| {
            let r = base.as_ref().and_then(|b| spans.at(b.start + i, 1));
            FieldNode::leaf(
                format!(
                    "Reason code {}: {}",
                    i + 1,
                    reason_code_label(tv.0, tv.1, c)
                ),
                r,
            )
        })
        .collect();
    out.push(FieldNode::group(
        format!("Payload: {} reason codes", codes.len()),
        base,
        children,
    ));
}

fn suback_nodes(
    spans: &Spans,
    h: usize,
    s: &SubAck<'_>,
    version: ProtocolVersion,
    out: &mut Vec<FieldNode>,
) {
    out.push(id_and_properties(
        spans,
        h,
        s.packet_id,
        s.properties.as_ref(),
    ));
    codes_node(spans, s.reason_codes, (PacketType::SubAck, version), out);
}

fn unsubscribe_nodes(spans: &Spans, h: usize, u: &Unsubscribe<'_>, out: &mut Vec<FieldNode>) {
    out.push(id_and_properties(
        spans,
        h,
        u.packet_id,
        u.properties.as_ref(),
    ));
    let pl = u
        .filters
        .iter()
        .map(|f| FieldNode::leaf(format!("Topic filter: {}", quoted(f)), spans.string(f)))
        .collect();
    out.push(group_of("Payload", pl));
}

fn unsuback_nodes(
    spans: &Spans,
    h: usize,
    u: &UnsubAck<'_>,
    version: ProtocolVersion,
    out: &mut Vec<FieldNode>,
) {
    out.push(id_and_properties(
        spans,
        h,
        u.packet_id,
        u.properties.as_ref(),
    ));
    if !u.reason_codes.is_empty() {
        codes_node(spans, u.reason_codes, (PacketType::UnsubAck, version), out);
    }
}

fn reason_only_nodes(
    spans: &Spans,
    h: usize,
    r: &ReasonOnly<'_>,
    tv: (PacketType, ProtocolVersion),
    out: &mut Vec<FieldNode>,
) {
    let mut vh = Vec::new();
    if let Some(rc) = r.reason_code {
        vh.push(FieldNode::leaf(
            format!("Reason code: {}", reason_code_label(tv.0, tv.1, rc)),
            spans.at(h, 1),
        ));
    }
    if let Some(p) = &r.properties {
        vh.push(properties_node(spans, p, "Properties"));
    }
    if !vh.is_empty() {
        out.push(group_of("Variable header", vh));
    }
}

/// The MQTT section of the tree for one packet's bytes, decoded with `version`.
pub fn mqtt_section(
    bytes: &[u8],
    version: ProtocolVersion,
    show_password: bool,
) -> (FieldNode, Option<Range<usize>>) {
    section(bytes, None, version, show_password)
}

/// [`mqtt_section`] of a packet `packet_len` bytes long of which `bytes` may be only the first
/// (a payload over the capture's limit, or bytes rebuilt up to a bound): its header fields are
/// decoded from them.
fn section(
    bytes: &[u8],
    packet_len: Option<u64>,
    version: ProtocolVersion,
    show_password: bool,
) -> (FieldNode, Option<Range<usize>>) {
    let spans = Spans::new(bytes);
    let mut payload = None;
    let decoded = match packet_len.filter(|&n| (bytes.len() as u64) < n) {
        Some(n) => codec::decode_partial(bytes, n, version),
        None => codec::decode(bytes, version),
    };
    let decoded = match decoded {
        Ok(d) => d,
        Err(e) => {
            let node = FieldNode::group(
                "MQ Telemetry Transport (malformed)",
                spans.at(0, bytes.len()),
                vec![FieldNode::leaf(
                    format!("Decode error: {e}"),
                    spans.at(
                        e.offset.min(bytes.len().saturating_sub(1)),
                        usize::from(!bytes.is_empty()),
                    ),
                )],
            );
            return (node, None);
        }
    };
    let h = usize::from(decoded.header.header_len);
    let t = decoded.packet.packet_type();
    let mut children = vec![fixed_header(&spans, &decoded)];
    match &decoded.packet {
        Packet::Connect(c) => connect_nodes(&spans, c, show_password, &mut children),
        Packet::ConnAck(c) => connack_nodes(&spans, h, c, version, &mut children),
        Packet::Publish(p) => publish_nodes(&spans, p, &mut children, &mut payload),
        Packet::PubAck(a) | Packet::PubRec(a) | Packet::PubRel(a) | Packet::PubComp(a) => {
            ack_nodes(&spans, h, a, (t, version), &mut children)
        }
        Packet::Subscribe(s) => subscribe_nodes(&spans, h, s, &mut children),
        Packet::SubAck(s) => suback_nodes(&spans, h, s, version, &mut children),
        Packet::Unsubscribe(u) => unsubscribe_nodes(&spans, h, u, &mut children),
        Packet::UnsubAck(u) => unsuback_nodes(&spans, h, u, version, &mut children),
        Packet::PingReq | Packet::PingResp => {}
        Packet::Disconnect(r) | Packet::Auth(r) => {
            reason_only_nodes(&spans, h, r, (t, version), &mut children)
        }
        Packet::Reserved { body, .. } => {
            children.push(FieldNode::leaf(
                format!("Body: {} bytes", body.len()),
                spans.of(body),
            ));
        }
    }
    let s = decoded.sizes;
    children.push(FieldNode::leaf(
        format!(
            "Sizes: fixed {} + variable {} + properties {} + payload {} = {} bytes",
            s.fixed,
            s.variable,
            s.properties,
            s.payload,
            s.total()
        ),
        None,
    ));
    for w in decoded.warnings.iter() {
        children.push(FieldNode::leaf(
            format!("Warning: {:?}", w.kind),
            spans.at(w.offset as usize, 1),
        ));
    }
    let node = FieldNode::group(
        format!(
            "MQ Telemetry Transport, MQTT {}: {}",
            version.name(),
            t.name()
        ),
        spans.at(0, bytes.len()),
        children,
    );
    (node, payload)
}

/// The whole tree of packet `packet` of `trace` without its frames: a summary of where it came
/// from, MQTT and anomalies.
pub fn build(trace: &Trace, packet: u64, show_password: bool) -> DetailTree {
    build_with_frames(trace, packet, show_password, &PacketBytes::default())
}

/// The details-tree lines of one frame's layers (Wireshark's Frame, Ethernet II, IP, TCP,
/// WebSocket lines), their ranges in that frame.
pub fn layer_nodes(pf: &PacketFrame) -> Vec<FieldNode> {
    fn field_node(f: &Field, view: ByteView) -> FieldNode {
        FieldNode {
            label: f.label(),
            range: f.range.clone(),
            view,
            children: f.children.iter().map(|c| field_node(c, view)).collect(),
        }
    }
    let view = ByteView::Frame(pf.frame.number);
    pf.layers
        .layers
        .iter()
        .map(|layer| {
            let mut children: Vec<FieldNode> =
                layer.fields.iter().map(|f| field_node(f, view)).collect();
            if layer.kind == LayerKind::Frame {
                children.insert(
                    0,
                    FieldNode {
                        view,
                        ..FieldNode::leaf(
                            format!(
                                "Arrival time: {} UTC",
                                crate::logic::time_format::format_time_of_day(pf.frame.ts)
                            ),
                            None,
                        )
                    },
                );
            }
            FieldNode {
                label: layer.title.clone(),
                range: Some(layer.range.clone()),
                view,
                children,
            }
        })
        .collect()
}

/// The line listing the frames a reassembled packet came from (Wireshark's "[N Reassembled TCP
/// Segments]"), each child selecting the packet's bytes in that frame.
fn reassembly_node(bytes: &PacketBytes, total: usize) -> FieldNode {
    let parts: Vec<String> = bytes
        .frames
        .iter()
        .filter(|f| !f.pieces.is_empty())
        .map(|f| format!("#{}({})", f.frame.number, f.mqtt_len()))
        .collect();
    let children = bytes
        .frames
        .iter()
        .filter(|f| !f.pieces.is_empty())
        .map(|f| {
            let first = f.pieces.first().map(|(m, _)| m.start).unwrap_or(0);
            let span = f.pieces.first().map(|(_, r)| r.start).unwrap_or(0)
                ..f.pieces.last().map(|(_, r)| r.end).unwrap_or(0);
            FieldNode {
                view: ByteView::Frame(f.frame.number),
                ..FieldNode::leaf(
                    format!(
                        "Frame {}, MQTT bytes {}–{} ({} bytes)",
                        f.frame.number,
                        first,
                        first + f.mqtt_len(),
                        f.mqtt_len()
                    ),
                    Some(span),
                )
            }
        })
        .collect();
    FieldNode::group(
        format!(
            "[{} reassembled segments ({total} bytes): {}]",
            parts.len(),
            parts.join(", ")
        ),
        None,
        children,
    )
}

/// The whole tree of packet `packet` of `trace`: the layers of the frame it completes in (when
/// `bytes` has it), the frames it was reassembled from, MQTT and anomalies.
pub fn build_with_frames(
    trace: &Trace,
    packet: u64,
    show_password: bool,
    bytes: &PacketBytes,
) -> DetailTree {
    let Some(rec) = trace.packet(packet) else {
        return DetailTree::default();
    };
    let mut roots = Vec::new();
    let last = bytes.last().filter(|f| f.frame.number == rec.frame);
    if let Some(pf) = last {
        roots.extend(layer_nodes(pf));
        if bytes.frames.iter().filter(|f| !f.pieces.is_empty()).count() > 1 {
            roots.push(reassembly_node(bytes, rec.packet_len() as usize));
        }
    }
    if let Some(note) = &bytes.note {
        roots.push(FieldNode::leaf(note.clone(), None));
    }
    let frames = if rec.frames_back > 0 {
        format!(
            "reassembled from frames {}–{}",
            rec.first_frame(),
            rec.frame
        )
    } else {
        format!("in frame {}", rec.frame)
    };
    let mut summary = vec![
        FieldNode::leaf(
            format!(
                "Captured: {} UTC ({:.6} s since epoch)",
                crate::logic::time_format::format_time_of_day(rec.ts),
                rec.ts.as_secs_f64()
            ),
            None,
        ),
        FieldNode::leaf(format!("Frame number: {}", rec.frame), None),
        FieldNode::leaf(format!("Stream offset: {}", rec.stream_offset), None),
        FieldNode::leaf(format!("Packet length: {} bytes", rec.packet_len()), None),
    ];
    let conn = trace.connection(rec.conn as usize);
    if let Some(c) = conn
        && last.is_some()
    {
        summary.push(FieldNode::leaf(
            format!("Stream: {}, {}", c.stream, rec.dir.as_str()),
            None,
        ));
        summary.push(FieldNode::leaf(
            format!("Client ID: {}", trace.client_id_of(rec.conn as usize)),
            None,
        ));
    }
    roots.push(FieldNode::group(
        format!("Packet {} ({frames})", packet + 1),
        None,
        summary,
    ));
    // Without the frame: IP and TCP as one-line summaries from the connection's endpoints.
    if let Some(c) = conn
        && last.is_none()
    {
        let (src, dst) = match rec.dir {
            dissector::input::Direction::ToBroker => (c.client, c.broker),
            dissector::input::Direction::ToClient => (c.broker, c.client),
        };
        let ip = if src.is_ipv4() {
            "Internet Protocol Version 4"
        } else {
            "Internet Protocol Version 6"
        };
        roots.push(FieldNode::group(
            format!("{ip}, Src: {}, Dst: {}", src.ip(), dst.ip()),
            None,
            vec![],
        ));
        roots.push(FieldNode::group(
            format!(
                "Transmission Control Protocol, Src Port: {}, Dst Port: {}, Stream: {}",
                src.port(),
                dst.port(),
                c.stream
            ),
            None,
            vec![
                FieldNode::leaf(format!("Direction: {}", rec.dir.as_str()), None),
                FieldNode::leaf(format!("Transport: {:?}", c.transport), None),
                FieldNode::leaf(
                    format!("Client ID: {}", trace.client_id_of(rec.conn as usize)),
                    None,
                ),
            ],
        ));
    }
    let mut payload = None;
    // The bytes the trace kept, else those rebuilt from the frames.
    let kept = trace.raw(packet);
    match kept.or(bytes.rebuilt.as_deref()) {
        Some(mqtt) => {
            let version = rec.version.unwrap_or(ProtocolVersion::V3_1_1);
            let (node, p) = section(mqtt, Some(rec.packet_len()), version, show_password);
            payload = p;
            roots.push(node);
            if (mqtt.len() as u64) < rec.packet_len() {
                roots.push(FieldNode::leaf(
                    format!(
                        "Truncated: only the first {} of {} bytes were {}",
                        mqtt.len(),
                        rec.packet_len(),
                        if kept.is_some() { "kept" } else { "rebuilt" }
                    ),
                    None,
                ));
            }
        }
        None => roots.push(FieldNode::leaf(
            format!(
                "MQ Telemetry Transport: {} (raw bytes not kept)",
                rec.packet_type.name()
            ),
            None,
        )),
    }
    let anomalies: Vec<_> = trace
        .anomalies_of_packet(packet)
        .map(|a| {
            FieldNode::leaf(
                format!(
                    "[{}] {} {}: {}",
                    a.severity,
                    a.code.code(),
                    a.code.title(),
                    a.message
                ),
                a.offset.map(|o| o as usize..o as usize + 1),
            )
        })
        .collect();
    if !anomalies.is_empty() {
        roots.push(FieldNode::group(
            format!("Anomalies ({})", anomalies.len()),
            None,
            anomalies,
        ));
    }
    DetailTree { roots, payload }
}

/// The three views of a payload: text (when UTF-8), pretty JSON (when it parses), hex dump.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PayloadViews {
    /// The payload as text.
    pub text: Option<String>,
    /// Pretty-printed JSON.
    pub json: Option<String>,
    /// Hex dump lines.
    pub hex: String,
}

/// Largest payload shown as text or parsed as JSON (a label of megabytes helps nobody).
const MAX_TEXT_VIEW: usize = 256 * 1024;

/// Renders a payload three ways (hex limited to the first 4 KiB, text and JSON to payloads of
/// at most 256 KiB, to keep the pane quick).
pub fn payload_views(payload: &[u8]) -> PayloadViews {
    let small = payload.len() <= MAX_TEXT_VIEW;
    let text = std::str::from_utf8(payload)
        .ok()
        .filter(|_| small)
        .map(str::to_string);
    let json = small
        .then(|| serde_json::from_slice::<serde_json::Value>(payload).ok())
        .flatten()
        .filter(|v| v.is_object() || v.is_array())
        .and_then(|v| serde_json::to_string_pretty(&v).ok());
    let mut hex = String::new();
    for (i, chunk) in payload.chunks(16).take(256).enumerate() {
        let bytes: Vec<String> = chunk.iter().map(|b| format!("{b:02x}")).collect();
        let ascii: String = chunk
            .iter()
            .map(|&b| crate::logic::hexdump::ascii_char(b))
            .collect();
        hex.push_str(&format!(
            "{:04x}  {:<47}  {ascii}\n",
            i * 16,
            bytes.join(" ")
        ));
    }
    PayloadViews { text, json, hex }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_click_selects_the_deepest_line_of_its_view_but_not_a_same_sized_sub_field() {
        let frame = ByteView::Frame(3);
        let node = |label: &str, range: Range<usize>, children: Vec<FieldNode>| FieldNode {
            view: frame,
            ..FieldNode::group(label, Some(range), children)
        };
        let tree = DetailTree {
            roots: vec![
                node("Frame 3", 0..60, vec![]),
                node(
                    "TCP",
                    34..54,
                    vec![
                        node("Header length", 46..47, vec![]),
                        node("Flags", 46..48, vec![node("Syn", 46..48, vec![])]),
                    ],
                ),
                FieldNode::group(
                    "MQTT",
                    Some(0..2),
                    vec![FieldNode::leaf("Type", Some(0..1))],
                ),
            ],
            payload: None,
        };
        assert_eq!(tree.field_at(frame, 10), Some(vec![0]));
        assert_eq!(tree.field_at(frame, 46), Some(vec![1, 0]));
        assert_eq!(
            tree.field_at(frame, 47),
            Some(vec![1, 1]),
            "Flags, not its Syn bit"
        );
        assert_eq!(tree.field_at(ByteView::Mqtt, 0), Some(vec![2, 0]));
        assert_eq!(tree.field_at(ByteView::Frame(4), 10), None);
        assert_eq!(tree.selection(&[1, 1]), Some((frame, 46..48)));
    }

    #[test]
    fn tree_paths_find_nodes_and_bytes_find_the_deepest_field() {
        let tree = DetailTree {
            roots: vec![
                FieldNode::leaf("summary", None),
                FieldNode::group(
                    "mqtt",
                    Some(0..10),
                    vec![
                        FieldNode::leaf("header", Some(0..2)),
                        FieldNode::leaf("topic", Some(2..8)),
                    ],
                ),
            ],
            payload: None,
        };
        assert_eq!(tree.node(&[1, 1]).map(|n| n.label.as_str()), Some("topic"));
        assert_eq!(tree.field_at(ByteView::Mqtt, 3), Some(vec![1, 1]));
        assert_eq!(tree.field_at(ByteView::Mqtt, 9), Some(vec![1]));
        assert_eq!(tree.field_at(ByteView::Mqtt, 10), None);
        assert_eq!(tree.node(&[5]), None);
        assert_eq!(tree.node(&[]), None);
    }

    #[test]
    fn spans_locate_sub_slices_and_reject_foreign_ones() {
        let bytes = [0u8, 1, 2, 3, 4, 5];
        let spans = Spans::new(&bytes);
        assert_eq!(spans.of(&bytes[2..4]), Some(2..4));
        let other = [9u8; 3];
        assert_eq!(spans.of(&other), None);
        assert_eq!(spans.string(MqttStr(&bytes[2..5])), Some(0..5));
        assert_eq!(spans.string(MqttStr(&bytes[1..2])), None);
        assert_eq!(spans.at(4, 2), Some(4..6));
        assert_eq!(spans.at(5, 2), None);
    }

    #[test]
    fn json_payloads_get_a_pretty_view_and_binary_ones_only_hex() {
        let v = payload_views(br#"{"t":21.5,"ok":true}"#);
        assert!(
            v.json
                .as_deref()
                .is_some_and(|j| j.contains("\n  \"t\": 21.5"))
        );
        assert!(v.text.is_some());
        let b = payload_views(&[0xff, 0x00, 0x41]);
        assert_eq!(b.text, None);
        assert_eq!(b.json, None);
        assert!(b.hex.starts_with("0000  ff 00 41"), "{}", b.hex);
        assert!(b.hex.trim_end().ends_with("..A"));
        // A bare number is valid JSON but not worth a pretty view.
        assert_eq!(payload_views(b"42").json, None);
        // A huge payload is only shown as (the start of) a hex dump.
        let big = payload_views(&vec![b'a'; MAX_TEXT_VIEW + 1]);
        assert_eq!((big.text, big.json), (None, None));
        assert_eq!(big.hex.lines().count(), 256);
    }

    /// PUBLISH QoS 1, MQTT 5: topic "a/b", packet id 7, Topic Alias 1, payload "hi".
    const PUBLISH_V5: [u8; 15] = [
        0x32, 0x0d, // fixed header: PUBLISH, QoS 1; remaining length 13
        0x00, 0x03, b'a', b'/', b'b', // topic name
        0x00, 0x07, // packet identifier
        0x03, 0x23, 0x00, 0x01, // property length 3: Topic Alias (0x23) = 1
        b'h', b'i', // payload
    ];

    fn find<'a>(node: &'a FieldNode, prefix: &str) -> Option<&'a FieldNode> {
        if node.label.starts_with(prefix) {
            return Some(node);
        }
        node.children.iter().find_map(|c| find(c, prefix))
    }

    #[test]
    fn every_publish_field_covers_its_bytes() {
        let (mqtt, payload) = mqtt_section(&PUBLISH_V5, ProtocolVersion::V5, false);
        let range = |prefix: &str| find(&mqtt, prefix).and_then(|n| n.range.clone());
        assert_eq!(range("Fixed header"), Some(0..2));
        assert_eq!(range("Remaining length: 13"), Some(1..2));
        assert_eq!(range("Topic: \"a/b\""), Some(2..7));
        assert_eq!(range("Packet identifier: 7"), Some(7..9));
        assert_eq!(range("Properties (1)"), Some(9..13));
        assert_eq!(range("Topic Alias (0x23): 1"), Some(10..13));
        assert_eq!(range("Payload: 2 bytes"), Some(13..15));
        assert_eq!(payload, Some(13..15));
    }

    #[test]
    fn a_click_on_a_byte_selects_the_field_holding_it() {
        let (mqtt, _) = mqtt_section(&PUBLISH_V5, ProtocolVersion::V5, false);
        let tree = DetailTree {
            roots: vec![mqtt],
            payload: None,
        };
        let topic = tree
            .field_at(ByteView::Mqtt, 4)
            .and_then(|p| tree.node(&p).map(|n| n.label.clone()));
        assert_eq!(topic.as_deref(), Some("Topic: \"a/b\""));
        let alias = tree
            .field_at(ByteView::Mqtt, 11)
            .and_then(|p| tree.node(&p).map(|n| n.label.clone()));
        assert_eq!(alias.as_deref(), Some("Topic Alias (0x23): 1"));
    }

    #[test]
    fn reason_codes_are_named_for_their_packet_type() {
        // SUBACK (3.1.1), packet id 5, one failed subscription (0x80).
        let (mqtt, _) = mqtt_section(
            &[0x90, 0x03, 0x00, 0x05, 0x80],
            ProtocolVersion::V3_1_1,
            false,
        );
        let code = find(&mqtt, "Reason code 1:").expect("reason code line");
        assert!(code.label.contains("0x80 Failure"), "{}", code.label);
        assert_eq!(code.range, Some(4..5));
    }

    #[test]
    fn passwords_are_redacted_unless_asked() {
        // CONNECT 3.1.1, client id "c", user name "u", password "pw".
        let connect = [
            0x10, 0x14, 0x00, 0x04, b'M', b'Q', b'T', b'T', 0x04, 0xc2, 0x00, 0x3c, 0x00, 0x01,
            b'c', 0x00, 0x01, b'u', 0x00, 0x02, b'p', b'w',
        ];
        let (mqtt, _) = mqtt_section(&connect, ProtocolVersion::V3_1_1, false);
        let pw = find(&mqtt, "Password:").expect("password line");
        assert_eq!(pw.label, "Password: <redacted, 2 bytes>");
        assert_eq!(pw.range, Some(18..22));
        let (shown, _) = mqtt_section(&connect, ProtocolVersion::V3_1_1, true);
        assert_eq!(
            find(&shown, "Password:").map(|n| n.label.as_str()),
            Some("Password: \"pw\"")
        );
        assert_eq!(
            find(&mqtt, "Keep alive").and_then(|n| n.range.clone()),
            Some(10..12)
        );
    }

    #[test]
    fn undecodable_bytes_give_a_malformed_node_not_a_panic() {
        let (mqtt, payload) = mqtt_section(&[0x32, 0x7f, 0x00], ProtocolVersion::V5, false);
        assert!(mqtt.label.contains("malformed"), "{}", mqtt.label);
        assert_eq!(payload, None);
        let (empty, _) = mqtt_section(&[], ProtocolVersion::V5, false);
        assert!(empty.label.contains("malformed"));
    }

    #[test]
    fn varint_sizes_follow_the_spec_boundaries() {
        assert_eq!(varint_len(127), 1);
        assert_eq!(varint_len(128), 2);
        assert_eq!(varint_len(16_383), 2);
        assert_eq!(varint_len(16_384), 3);
        assert_eq!(varint_len(2_097_152), 4);
    }
}
