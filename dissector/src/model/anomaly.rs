//! The anomaly catalogue: every protocol or transport problem the analyzer reports, each with a
//! stable code (`MQ-…`), a severity, a one-line explanation and the spec section it breaks.
//!
//! Codes are a stable interface (CI rules and `mqscope check` match them): never rename one;
//! add new ones at the end. `docs/anomalies.md` is checked against [`AnomalyCode::ALL`] by a test.

use crate::input::{Direction, Timestamp};

/// How bad a finding is.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Worth knowing, not a violation (e.g. a connection joined mid-stream).
    Note,
    /// Suspicious or degraded, allowed by the spec or caused by the capture.
    Warning,
    /// A violation of the MQTT specification.
    Error,
}

impl Severity {
    /// "note", "warning" or "error".
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Note => "note",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
    /// Parses "note", "warning" or "error" (case-insensitive).
    pub fn from_name(name: &str) -> Option<Severity> {
        [Severity::Note, Severity::Warning, Severity::Error]
            .into_iter()
            .find(|s| s.as_str().eq_ignore_ascii_case(name))
    }
}

impl std::fmt::Display for Severity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

macro_rules! catalogue {
    ($( $(#[$doc:meta])* $variant:ident = $code:literal, $sev:ident, $section:literal, $title:literal; )*) => {
        /// A kind of anomaly, with its stable code.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum AnomalyCode {
            $( $(#[$doc])* $variant, )*
        }

        impl AnomalyCode {
            /// Every code, in catalogue order.
            pub const ALL: &'static [AnomalyCode] = &[ $( AnomalyCode::$variant, )* ];

            /// The stable code, e.g. "MQ-QOS3".
            pub fn code(self) -> &'static str {
                match self { $( AnomalyCode::$variant => $code, )* }
            }
            /// The severity every anomaly of this kind has.
            pub fn severity(self) -> Severity {
                match self { $( AnomalyCode::$variant => Severity::$sev, )* }
            }
            /// One-line explanation.
            pub fn title(self) -> &'static str {
                match self { $( AnomalyCode::$variant => $title, )* }
            }
            /// The spec section (MQTT 5.0 numbering unless it says otherwise), or where it comes from.
            pub fn spec_section(self) -> &'static str {
                match self { $( AnomalyCode::$variant => $section, )* }
            }
        }
    };
}

catalogue! {
    /// A packet could not be decoded.
    Malformed = "MQ-MALFORMED", Error, "§2, §3", "malformed packet: a field runs past its end or holds an impossible value";
    /// Remaining length field longer than 4 bytes.
    RemainingLengthTooLong = "MQ-REMLEN-TOO-LONG", Error, "§1.5.5, §2.1.4", "remaining length uses more than 4 bytes";
    /// Remaining length (or another variable byte integer) not minimally encoded.
    RemainingLengthNotMinimal = "MQ-REMLEN-NOT-MINIMAL", Error, "§1.5.5", "variable byte integer not encoded in the minimum number of bytes";
    /// Fixed-header flag bits differ from the required values.
    ReservedFlags = "MQ-RESERVED-FLAGS", Error, "§2.1.3", "fixed-header flag bits differ from the values the packet type requires";
    /// Packet type 0, or 15 before MQTT 5.
    ReservedPacketType = "MQ-RESERVED-TYPE", Error, "§2.1.2", "reserved packet type (0, or 15 before MQTT 5)";
    /// PUBLISH QoS bits 3.
    Qos3 = "MQ-QOS3", Error, "§3.3.1.2", "PUBLISH with QoS 3";
    /// DUP on QoS 0.
    DupOnQos0 = "MQ-DUP-QOS0", Error, "§3.3.1.1", "DUP flag set on a QoS 0 PUBLISH";
    /// Packet id 0 where one is required.
    PacketIdZero = "MQ-PACKET-ID-ZERO", Error, "§2.2.1", "packet identifier 0 where a non-zero one is required";
    /// Empty PUBLISH topic without alias.
    TopicEmpty = "MQ-TOPIC-EMPTY", Error, "§3.3.2.1, §4.7.3", "zero-length PUBLISH topic name without a topic alias";
    /// Wildcard in PUBLISH topic.
    TopicWildcard = "MQ-TOPIC-WILDCARD", Error, "§3.3.2.1, §4.7.1", "PUBLISH topic name contains a wildcard (+ or #)";
    /// Invalid UTF-8 in a string field.
    InvalidUtf8 = "MQ-INVALID-UTF8", Error, "§1.5.4", "UTF-8 string field holds ill-formed UTF-8";
    /// U+0000 in a string field.
    NullCharacter = "MQ-NULL-CHAR", Error, "§1.5.4", "UTF-8 string field contains U+0000";
    /// First packet from the client is not CONNECT.
    FirstNotConnect = "MQ-FIRST-NOT-CONNECT", Error, "§3.1", "first packet from the client is not CONNECT";
    /// A second CONNECT on the same connection.
    SecondConnect = "MQ-SECOND-CONNECT", Error, "§3.1", "second CONNECT on one network connection";
    /// CONNACK with no CONNECT before it.
    ConnAckWithoutConnect = "MQ-CONNACK-WITHOUT-CONNECT", Error, "§3.2", "CONNACK without a CONNECT";
    /// The broker sent something before CONNACK.
    BrokerBeforeConnAck = "MQ-BEFORE-CONNACK", Error, "§3.2", "broker sent a packet other than CONNACK/AUTH before CONNACK";
    /// The client sent packets before the CONNACK (allowed, but lost if refused).
    ClientBeforeConnAck = "MQ-CLIENT-BEFORE-CONNACK", Note, "§3.1.4", "client sent packets before CONNACK arrived (allowed; lost if the connection is refused)";
    /// A response with no matching request in flight.
    AckWithoutRequest = "MQ-ACK-WITHOUT-REQUEST", Warning, "§4.3, §4.4", "acknowledgement or response with no matching request in flight";
    /// SUBACK/UNSUBACK reason-code count differs from the request's filter count.
    AckCountMismatch = "MQ-ACK-COUNT-MISMATCH", Error, "§3.9.3, §3.11.3", "SUBACK/UNSUBACK reason-code count differs from the number of topic filters";
    /// Packet id reused while a flow with it is in flight.
    PacketIdInUse = "MQ-PACKET-ID-IN-USE", Error, "§2.2.1", "packet identifier reused while still in flight";
    /// QoS 2 steps out of order.
    Qos2Order = "MQ-QOS2-ORDER", Error, "§4.3.3", "QoS 2 handshake out of order";
    /// A PUBLISH resent without DUP.
    RetransmitWithoutDup = "MQ-RETRANSMIT-NO-DUP", Warning, "§3.3.1.1, §4.4", "PUBLISH retransmitted without the DUP flag";
    /// Topic alias 0.
    TopicAliasZero = "MQ-TOPIC-ALIAS-ZERO", Error, "§3.3.2.3.4", "topic alias 0";
    /// Topic alias above the receiver's topic alias maximum.
    TopicAliasAboveMax = "MQ-TOPIC-ALIAS-ABOVE-MAX", Error, "§3.3.2.3.4", "topic alias above the receiver's topic alias maximum";
    /// Empty topic with an alias never set in this direction.
    TopicAliasUnknown = "MQ-TOPIC-ALIAS-UNKNOWN", Error, "§3.3.2.3.4", "topic alias used before a topic was mapped to it";
    /// More unacknowledged QoS>0 PUBLISHes than the receive maximum.
    ReceiveMaximumExceeded = "MQ-RECEIVE-MAX-EXCEEDED", Error, "§3.3.4", "more QoS 1/2 PUBLISHes in flight than the receiver's receive maximum";
    /// Packet larger than the peer's maximum packet size.
    PacketTooLarge = "MQ-PACKET-TOO-LARGE", Error, "§3.1.2.11.4, §3.2.2.3.6", "packet larger than the receiver's maximum packet size";
    /// QoS above the broker's maximum QoS.
    QosAboveMaximum = "MQ-QOS-ABOVE-MAX", Error, "§3.2.2.3.4", "PUBLISH QoS above the broker's maximum QoS";
    /// Retain set when the broker said retain is not available.
    RetainNotAvailable = "MQ-RETAIN-UNAVAILABLE", Error, "§3.2.2.3.5", "RETAIN set although the broker declared retain not available";
    /// Property not allowed in the packet type.
    PropertyNotAllowed = "MQ-PROPERTY-NOT-ALLOWED", Error, "§2.2.2.2", "property not allowed in this packet type";
    /// Property that may appear once appears twice.
    PropertyDuplicate = "MQ-PROPERTY-DUPLICATE", Error, "§2.2.2.2", "property that may appear once appears more than once";
    /// Unknown property identifier.
    PropertyUnknown = "MQ-PROPERTY-UNKNOWN", Error, "§2.2.2.2", "unknown property identifier";
    /// Packets encoded for the other protocol version.
    VersionMismatch = "MQ-VERSION-MISMATCH", Error, "§3.1.2.2", "packet encoded for a different MQTT version than the connection negotiated";
    /// No packet within 1.5 × keep alive.
    KeepAliveViolated = "MQ-KEEPALIVE", Warning, "§3.1.2.10", "no packet from the client within 1.5 × keep alive";
    /// PINGREQ not answered.
    PingWithoutResponse = "MQ-PING-NO-RESP", Warning, "§3.12.4", "PINGREQ without PINGRESP";
    /// Connection ended without DISCONNECT.
    ClosedWithoutDisconnect = "MQ-NO-DISCONNECT", Warning, "§3.14, §3.1.2.5", "connection closed without DISCONNECT (the will, if any, is published)";
    /// Bytes missing in the TCP stream.
    TcpGap = "MQ-TCP-GAP", Warning, "capture", "bytes missing from the TCP stream (segments not captured)";
    /// Non-MQTT bytes skipped (one per gap, not a cascade).
    NotMqtt = "MQ-NOT-MQTT", Warning, "capture", "bytes that are not MQTT skipped until framing resynchronised";
    /// Packet over the analyzer's payload limit.
    PayloadOverLimit = "MQ-PAYLOAD-OVER-LIMIT", Note, "capture", "packet larger than the payload limit: headers decoded, payload skipped";
    /// Too many transactions in flight on one connection.
    TooManyInFlight = "MQ-TOO-MANY-IN-FLIGHT", Warning, "§4.9", "too many transactions in flight on one connection";
    /// Other transport problems reported by the capture layer.
    TransportIssue = "MQ-TRANSPORT", Warning, "capture", "transport problem (overlapping retransmission, buffer full, snap length, fragments, WebSocket)";
    /// The connection was joined mid-stream.
    MidStream = "MQ-MID-STREAM", Note, "capture", "connection joined mid-stream: no CONNECT seen, version inferred";
    /// CONNECT reserved flag bit set.
    ConnectReservedFlag = "MQ-CONNECT-RESERVED-FLAG", Error, "§3.1.2.3", "CONNECT reserved flag bit is set";
    /// Will QoS/retain without will flag, or will QoS 3.
    InvalidWillFlags = "MQ-WILL-FLAGS", Error, "§3.1.2.5–3.1.2.7", "will QoS/retain set without the will flag, or will QoS 3";
    /// Password without user name in 3.x.
    PasswordWithoutUsername = "MQ-PASSWORD-NO-USERNAME", Error, "3.1.1 §3.1.2.9", "password flag set without user name flag";
    /// Protocol name/level unknown.
    UnknownProtocol = "MQ-UNKNOWN-PROTOCOL", Error, "§3.1.2.1, §3.1.2.2", "unknown protocol name or level in CONNECT";
    /// Reserved bits set in ack flags or subscription options.
    ReservedBits = "MQ-RESERVED-BITS", Error, "§3.2.2.1, §3.8.3.1", "reserved bits set in CONNACK flags or subscription options";
    /// SUBSCRIBE/UNSUBSCRIBE without filters.
    NoTopicFilters = "MQ-NO-TOPIC-FILTERS", Error, "§3.8.3, §3.10.3", "SUBSCRIBE/UNSUBSCRIBE without a topic filter";
    /// Reason code not defined for the type.
    UnknownReasonCode = "MQ-UNKNOWN-REASON-CODE", Error, "§2.4", "reason code not defined for this packet type";
    /// Bytes after the last field.
    TrailingBytes = "MQ-TRAILING-BYTES", Error, "§2.1.4", "bytes left over after the last field of the packet";
    /// CONNACK refused the connection.
    ConnectRefused = "MQ-CONNECT-REFUSED", Note, "§3.2.2.2", "CONNACK refused the connection";
    /// DISCONNECT with an error reason code.
    DisconnectWithError = "MQ-DISCONNECT-ERROR", Note, "§3.14.2.1", "DISCONNECT with an error reason code (≥ 0x80)";
    /// A request or PUBLISH refused with a failure reason code.
    FailedByReasonCode = "MQ-FAILED-REASON", Note, "§2.4", "request or PUBLISH answered with a failure reason code (≥ 0x80)";
    /// Topic filter that breaks the wildcard rules, or is empty.
    InvalidTopicFilter = "MQ-TOPIC-FILTER-INVALID", Error, "§4.7.1, §4.7.3", "topic filter empty, or with # not alone in the last level or + not alone in its level";
    /// Shared subscription without a share name or filter, or a wildcard in the share name.
    InvalidSharedSubscription = "MQ-SHARED-SUB-INVALID", Error, "§4.8.2", "shared subscription ($share/) without a share name or topic filter, or with a wildcard in the share name";
    /// Property value the spec forbids (a 0/1 flag above 1, a limit or identifier of 0).
    PropertyValueOutOfRange = "MQ-PROPERTY-VALUE", Error, "§2.2.2.2, §3.1.2.11, §3.2.2.3", "property value the spec forbids (flag above 1, Receive Maximum / Maximum Packet Size / Subscription Identifier 0)";
}

impl AnomalyCode {
    /// The code for a stable string such as "MQ-QOS3".
    pub fn from_code(code: &str) -> Option<AnomalyCode> {
        AnomalyCode::ALL
            .iter()
            .copied()
            .find(|c| c.code().eq_ignore_ascii_case(code))
    }
}

impl std::fmt::Display for AnomalyCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code())
    }
}

impl serde::Serialize for AnomalyCode {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.code())
    }
}

impl<'de> serde::Deserialize<'de> for AnomalyCode {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<AnomalyCode, D::Error> {
        let s = <std::borrow::Cow<'de, str> as serde::Deserialize>::deserialize(d)?;
        AnomalyCode::from_code(&s)
            .ok_or_else(|| serde::de::Error::custom(format!("unknown anomaly code {s}")))
    }
}

/// One finding: what, how bad, where.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Anomaly {
    /// The kind (serialised as its stable code).
    pub code: AnomalyCode,
    /// Severity (always `code.severity()`, kept for serialised output).
    pub severity: Severity,
    /// Index of the connection in [`crate::model::Trace::connections`], when it belongs to one.
    pub conn: Option<u32>,
    /// Direction, when known.
    pub dir: Option<Direction>,
    /// Index of the packet in the trace (see [`crate::model::Trace::packet`]), when one packet is at fault.
    pub packet: Option<u64>,
    /// Frame number (1-based) where it was seen.
    pub frame: u64,
    /// Time.
    pub ts: Timestamp,
    /// Byte offset inside the packet, when the finding points at a field.
    pub offset: Option<u32>,
    /// Human message with the specifics (ids, sizes, limits).
    pub message: String,
}
