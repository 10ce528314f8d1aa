//! The field catalogue: every name a display filter may use, its value type and its meaning.
//!
//! Names follow Wireshark's (`frame.number`, `tcp.stream`, `ip.addr`, `mqtt.msgtype`, …) where
//! Wireshark has the field, so a filter typed in one tool works in the other; `mqscope.*` fields
//! carry what only our flow model knows (direction, anomalies, incomplete transactions, latency).

use crate::codec::PacketType;

/// A filterable field. Sources ([`super::FieldSource`]) are asked for values by this id, so a
/// filter's field names are resolved once, at parse time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Field {
    /// `mqtt`: the protocol itself; present on every MQTT packet.
    Mqtt,
    /// `frame.number`: 1-based number of the frame holding the packet's last byte.
    FrameNumber,
    /// `frame.time_epoch`: capture time, seconds since the Unix epoch.
    FrameTimeEpoch,
    /// `frame.time_relative`: seconds since the first packet of the capture.
    FrameTimeRelative,
    /// `tcp.stream`: Wireshark's 0-based connection number.
    TcpStream,
    /// `ip.addr`: source or destination address (IPv4 or IPv6).
    IpAddr,
    /// `ip.src`: source address.
    IpSrc,
    /// `ip.dst`: destination address.
    IpDst,
    /// `tcp.port`: source or destination port.
    TcpPort,
    /// `tcp.srcport`: source port.
    TcpSrcPort,
    /// `tcp.dstport`: destination port.
    TcpDstPort,
    /// `mqtt.hdrflags`: the fixed header's first byte.
    MqttHdrFlags,
    /// `mqtt.msgtype`: control packet type, 1–15 (names accepted: `PUBLISH`).
    MqttMsgType,
    /// `mqtt.qos`: PUBLISH QoS.
    MqttQos,
    /// `mqtt.dupflag`: PUBLISH DUP flag.
    MqttDupFlag,
    /// `mqtt.retain`: PUBLISH RETAIN flag.
    MqttRetain,
    /// `mqtt.msgid`: packet identifier.
    MqttMsgId,
    /// `mqtt.topic`: PUBLISH topic name, or the first SUBSCRIBE/UNSUBSCRIBE topic filter.
    MqttTopic,
    /// `mqtt.topic_len`: PUBLISH topic name length on the wire.
    MqttTopicLen,
    /// `mqtt.clientid`: client identifier (on CONNECT, and on every packet of the connection
    /// through the model).
    MqttClientId,
    /// `mqtt.username`: CONNECT user name.
    MqttUsername,
    /// `mqtt.ver`: protocol level, 3, 4 or 5.
    MqttVersion,
    /// `mqtt.len`: remaining length.
    MqttLen,
    /// `mqtt.reason_code`: reason code (CONNACK return code, PUBACK…, SUBACK's first, DISCONNECT).
    MqttReasonCode,
    /// `mqtt.kalive`: CONNECT keep alive in seconds.
    MqttKeepAlive,
    /// `mqtt.willtopic`: CONNECT will topic.
    MqttWillTopic,
    /// `mqtt.conack.val`: CONNACK return code (MQTT 3.x).
    MqttConAckVal,
    /// `mqtt.suback.qos`: SUBACK granted QoS / failure codes (MQTT 3.x).
    MqttSubAckQos,
    /// `mqtt.<type>.reason_code`: the reason code(s) of one MQTT 5 packet type, as Wireshark
    /// names them per type (`mqtt.puback.reason_code`, …).
    ReasonCodeOf(PacketType),
    /// `mqscope.dir`: "to_broker" or "to_client".
    Direction,
    /// `mqscope.anomaly`: the codes of the anomalies found on the packet.
    Anomaly,
    /// `mqscope.severity`: the severities of the anomalies found on the packet.
    Severity,
    /// `mqscope.transport`: "tcp", "websocket" or "tls".
    Transport,
    /// `mqscope.payload_len`: application payload bytes.
    PayloadLen,
    /// `mqscope.header_len`: every byte before the payload (fixed + variable header).
    HeaderLen,
    /// `mqscope.properties_len`: MQTT 5 property bytes.
    PropertiesLen,
    /// `mqscope.packet_len`: whole packet bytes.
    PacketLen,
    /// `mqscope.incomplete`: the packet belongs to a transaction that never completed.
    Incomplete,
    /// `mqscope.latency`: the packet's transaction latency (request to final response), ms.
    Latency,
}

/// The value type of a field; it decides which literals and operators a filter may use with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FieldKind {
    /// A protocol marker: no value, only present or absent.
    Protocol,
    /// An unsigned integer.
    Unsigned,
    /// A real number.
    Float,
    /// A boolean: literals `1`, `0`, `true`, `false`.
    Bool,
    /// A text string.
    Str,
    /// An IPv4 or IPv6 address; literals may be networks in CIDR notation.
    Ip,
}

impl FieldKind {
    /// The name the documentation uses for this type.
    pub fn name(self) -> &'static str {
        match self {
            FieldKind::Protocol => "protocol",
            FieldKind::Unsigned => "unsigned",
            FieldKind::Float => "float",
            FieldKind::Bool => "boolean",
            FieldKind::Str => "string",
            FieldKind::Ip => "address",
        }
    }
}

/// One entry of the catalogue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldInfo {
    /// The name typed in filters.
    pub name: &'static str,
    /// The id sources are asked for.
    pub field: Field,
    /// The value type.
    pub kind: FieldKind,
    /// Symbolic values accepted for it (upper-case names for `mqtt.msgtype`), each with the value
    /// it stands for: a number for unsigned fields, the canonical string for string fields.
    pub names: &'static [(&'static str, NamedValue)],
    /// One-line meaning, as docs/filter.md gives it.
    pub doc: &'static str,
}

/// What a symbolic value name stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NamedValue {
    /// A number (for unsigned fields).
    Number(u64),
    /// A canonical string (for string fields).
    Text(&'static str),
}

const MSGTYPE_NAMES: &[(&str, NamedValue)] = &[
    ("CONNECT", NamedValue::Number(1)),
    ("CONNACK", NamedValue::Number(2)),
    ("PUBLISH", NamedValue::Number(3)),
    ("PUBACK", NamedValue::Number(4)),
    ("PUBREC", NamedValue::Number(5)),
    ("PUBREL", NamedValue::Number(6)),
    ("PUBCOMP", NamedValue::Number(7)),
    ("SUBSCRIBE", NamedValue::Number(8)),
    ("SUBACK", NamedValue::Number(9)),
    ("UNSUBSCRIBE", NamedValue::Number(10)),
    ("UNSUBACK", NamedValue::Number(11)),
    ("PINGREQ", NamedValue::Number(12)),
    ("PINGRESP", NamedValue::Number(13)),
    ("DISCONNECT", NamedValue::Number(14)),
    ("AUTH", NamedValue::Number(15)),
];

const DIR_NAMES: &[(&str, NamedValue)] = &[
    ("to_broker", NamedValue::Text("to_broker")),
    ("to_client", NamedValue::Text("to_client")),
];

const TRANSPORT_NAMES: &[(&str, NamedValue)] = &[
    ("tcp", NamedValue::Text("tcp")),
    ("websocket", NamedValue::Text("websocket")),
    ("tls", NamedValue::Text("tls")),
];

const SEVERITY_NAMES: &[(&str, NamedValue)] = &[
    ("note", NamedValue::Text("note")),
    ("warning", NamedValue::Text("warning")),
    ("error", NamedValue::Text("error")),
];

const fn info(
    name: &'static str,
    field: Field,
    kind: FieldKind,
    names: &'static [(&'static str, NamedValue)],
    doc: &'static str,
) -> FieldInfo {
    FieldInfo {
        name,
        field,
        kind,
        names,
        doc,
    }
}

use FieldKind::{Bool, Float, Ip, Protocol, Str, Unsigned};

/// Every field, in documentation order.
#[rustfmt::skip]
pub const FIELDS: &[FieldInfo] = &[
    info("mqtt", Field::Mqtt, Protocol, &[], "present on every MQTT packet"),
    info("frame.number", Field::FrameNumber, Unsigned, &[], "1-based number of the frame holding the packet's last byte"),
    info("frame.time_epoch", Field::FrameTimeEpoch, Float, &[], "capture time in seconds since 1970-01-01 UTC"),
    info("frame.time_relative", Field::FrameTimeRelative, Float, &[], "seconds since the first packet of the capture"),
    info("tcp.stream", Field::TcpStream, Unsigned, &[], "0-based connection number, as Wireshark numbers TCP streams"),
    info("ip.addr", Field::IpAddr, Ip, &[], "source or destination address, IPv4 or IPv6 (two values)"),
    info("ip.src", Field::IpSrc, Ip, &[], "source address"),
    info("ip.dst", Field::IpDst, Ip, &[], "destination address"),
    info("tcp.port", Field::TcpPort, Unsigned, &[], "source or destination port (two values)"),
    info("tcp.srcport", Field::TcpSrcPort, Unsigned, &[], "source port"),
    info("tcp.dstport", Field::TcpDstPort, Unsigned, &[], "destination port"),
    info("mqtt.hdrflags", Field::MqttHdrFlags, Unsigned, &[], "first byte of the fixed header: type and flags (0x30 = PUBLISH QoS 0)"),
    info("mqtt.msgtype", Field::MqttMsgType, Unsigned, MSGTYPE_NAMES, "control packet type 1-15; names such as PUBLISH are accepted"),
    info("mqtt.qos", Field::MqttQos, Unsigned, &[], "QoS of a PUBLISH; in MQTT 3.1 also of PUBREL, SUBSCRIBE and UNSUBSCRIBE"),
    info("mqtt.dupflag", Field::MqttDupFlag, Bool, &[], "DUP flag of a PUBLISH; in MQTT 3.1 also of PUBREL, SUBSCRIBE and UNSUBSCRIBE"),
    info("mqtt.retain", Field::MqttRetain, Bool, &[], "RETAIN flag of a PUBLISH (absent on other types)"),
    info("mqtt.msgid", Field::MqttMsgId, Unsigned, &[], "packet identifier, on the types that carry one"),
    info("mqtt.topic", Field::MqttTopic, Str, &[], "topic of a PUBLISH (resolved through its topic alias), or each topic filter of a SUBSCRIBE or UNSUBSCRIBE (the first only when raw bytes were not kept)"),
    info("mqtt.topic_len", Field::MqttTopicLen, Unsigned, &[], "length in bytes of the topic of a PUBLISH (0 when it came from a topic alias) or of each SUBSCRIBE / UNSUBSCRIBE filter"),
    info("mqtt.clientid", Field::MqttClientId, Str, &[], "client identifier of the packet's connection (on every packet, not only CONNECT)"),
    info("mqtt.username", Field::MqttUsername, Str, &[], "user name of the packet's connection"),
    info("mqtt.ver", Field::MqttVersion, Unsigned, &[], "protocol level of the packet's connection: 3 (3.1), 4 (3.1.1) or 5 (5.0)"),
    info("mqtt.len", Field::MqttLen, Unsigned, &[], "remaining length: bytes after the fixed header"),
    info("mqtt.reason_code", Field::MqttReasonCode, Unsigned, &[], "reason or return code: CONNACK, PUBACK, PUBREC, PUBREL, PUBCOMP, DISCONNECT, AUTH, each of a SUBACK or UNSUBACK (the first only when raw bytes were not kept)"),
    info("mqtt.kalive", Field::MqttKeepAlive, Unsigned, &[], "keep alive of a CONNECT, seconds"),
    info("mqtt.willtopic", Field::MqttWillTopic, Str, &[], "will topic of a CONNECT"),
    info("mqtt.conack.val", Field::MqttConAckVal, Unsigned, &[], "return code of an MQTT 3.x CONNACK"),
    info("mqtt.suback.qos", Field::MqttSubAckQos, Unsigned, &[], "granted QoS (or 0x80 failure) of an MQTT 3.x SUBACK, one per filter"),
    info("mqtt.connack.reason_code", Field::ReasonCodeOf(PacketType::ConnAck), Unsigned, &[], "reason code of an MQTT 5 CONNACK"),
    info("mqtt.puback.reason_code", Field::ReasonCodeOf(PacketType::PubAck), Unsigned, &[], "reason code of an MQTT 5 PUBACK"),
    info("mqtt.pubrec.reason_code", Field::ReasonCodeOf(PacketType::PubRec), Unsigned, &[], "reason code of an MQTT 5 PUBREC"),
    info("mqtt.pubrel.reason_code", Field::ReasonCodeOf(PacketType::PubRel), Unsigned, &[], "reason code of an MQTT 5 PUBREL"),
    info("mqtt.pubcomp.reason_code", Field::ReasonCodeOf(PacketType::PubComp), Unsigned, &[], "reason code of an MQTT 5 PUBCOMP"),
    info("mqtt.suback.reason_code", Field::ReasonCodeOf(PacketType::SubAck), Unsigned, &[], "reason codes of an MQTT 5 SUBACK, one per filter"),
    info("mqtt.unsuback.reason_code", Field::ReasonCodeOf(PacketType::UnsubAck), Unsigned, &[], "reason codes of an MQTT 5 UNSUBACK, one per filter"),
    info("mqtt.disconnect.reason_code", Field::ReasonCodeOf(PacketType::Disconnect), Unsigned, &[], "reason code of an MQTT 5 DISCONNECT"),
    info("mqtt.auth.reason_code", Field::ReasonCodeOf(PacketType::Auth), Unsigned, &[], "reason code of an MQTT 5 AUTH"),
    info("mqscope.dir", Field::Direction, Str, DIR_NAMES, "direction: to_broker or to_client"),
    info("mqscope.anomaly", Field::Anomaly, Str, &[], "code of each anomaly found on the packet (MQ-…); bare: has any"),
    info("mqscope.severity", Field::Severity, Str, SEVERITY_NAMES, "severity of each anomaly on the packet: note, warning or error"),
    info("mqscope.transport", Field::Transport, Str, TRANSPORT_NAMES, "how MQTT is carried: tcp, websocket or tls"),
    info("mqscope.payload_len", Field::PayloadLen, Unsigned, &[], "application payload bytes"),
    info("mqscope.header_len", Field::HeaderLen, Unsigned, &[], "bytes before the payload: fixed header, variable header and properties"),
    info("mqscope.properties_len", Field::PropertiesLen, Unsigned, &[], "MQTT 5 property bytes, length field included (0 before 5.0)"),
    info("mqscope.packet_len", Field::PacketLen, Unsigned, &[], "whole packet bytes: fixed header + remaining length"),
    info("mqscope.incomplete", Field::Incomplete, Bool, &[], "present (true) when the packet belongs to a transaction that never completed"),
    info("mqscope.latency", Field::Latency, Float, &[], "latency of the packet's transaction in milliseconds: request to final response (QoS 1/2, SUBSCRIBE, CONNECT, PING…)"),
];

impl Field {
    /// The catalogue entry of this field.
    pub fn info(self) -> &'static FieldInfo {
        // The catalogue lists every variant; the fallback only guards against a missing entry.
        FIELDS
            .iter()
            .find(|f| f.field == self)
            .unwrap_or(&FIELDS[0])
    }
    /// The name typed in filters.
    pub fn name(self) -> &'static str {
        self.info().name
    }
    /// The value type.
    pub fn kind(self) -> FieldKind {
        self.info().kind
    }
    /// The field named `name` (exact, case-sensitive like Wireshark).
    pub fn from_name(name: &str) -> Option<Field> {
        FIELDS.iter().find(|f| f.name == name).map(|f| f.field)
    }
}

/// The catalogue name closest to an unknown `name`, for a "did you mean" hint.
pub fn suggest(name: &str) -> Option<&'static str> {
    let lower = name.to_ascii_lowercase();
    if let Some(f) = FIELDS.iter().find(|f| f.name == lower) {
        return Some(f.name);
    }
    // A name without its protocol prefix ("topic"), or with a different one ("mqtt.dir").
    let last = lower.rsplit('.').next().unwrap_or(&lower);
    if let Some(f) = FIELDS
        .iter()
        .find(|f| f.name.rsplit('.').next() == Some(last))
    {
        return Some(f.name);
    }
    let limit = (name.len() / 3).max(2);
    FIELDS
        .iter()
        .filter_map(|f| distance_within(&lower, f.name, limit).map(|d| (f.name, d)))
        .min_by_key(|&(_, d)| d)
        .map(|(best, _)| best)
}

/// The edit distance of `a` and `b` when it is at most `limit`. Strings whose lengths differ by
/// more than `limit` are answered without computing it (the distance is at least that
/// difference), so a pasted megabyte of text costs no more than its length to reject.
pub(crate) fn distance_within(a: &str, b: &str, limit: usize) -> Option<usize> {
    if a.len().abs_diff(b.len()) > limit {
        return None;
    }
    let distance = edit_distance(a, b);
    (distance <= limit).then_some(distance)
}

/// Levenshtein distance over bytes, two rows of memory.
pub(crate) fn edit_distance(a: &str, b: &str) -> usize {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, &ca) in a.iter().enumerate() {
        cur[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let substitute = prev[j] + usize::from(ca != cb);
            cur[j + 1] = substitute.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_field_variant_has_exactly_one_catalogue_entry() {
        for (i, a) in FIELDS.iter().enumerate() {
            assert_eq!(Field::from_name(a.name), Some(a.field), "{}", a.name);
            assert_eq!(a.field.name(), a.name);
            for b in &FIELDS[i + 1..] {
                assert_ne!(a.field, b.field, "{} and {} share an id", a.name, b.name);
            }
        }
    }

    #[test]
    fn suggestions_cover_typos_missing_prefixes_and_wrong_case() {
        assert_eq!(suggest("mqtt.topc"), Some("mqtt.topic"));
        assert_eq!(suggest("topic"), Some("mqtt.topic"));
        assert_eq!(suggest("MQTT.QOS"), Some("mqtt.qos"));
        assert_eq!(suggest("mqtt.client_id"), Some("mqtt.clientid"));
        assert_eq!(suggest("mqtt.dir"), Some("mqscope.dir"));
        assert_eq!(suggest("zzzzzzzzzzzz"), None);
    }

    #[test]
    fn distance_within_answers_only_up_to_its_limit() {
        assert_eq!(distance_within("mqtt.topc", "mqtt.topic", 3), Some(1));
        assert_eq!(distance_within("kitten", "sitting", 2), None);
        // Lengths 100 and 8 differ by more than the limit: no distance needed to say no.
        assert_eq!(distance_within(&"x".repeat(100), "mqtt.qos", 33), None);
    }

    #[test]
    fn edit_distance_counts_insertions_deletions_and_substitutions() {
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("same", "same"), 0);
    }
}
