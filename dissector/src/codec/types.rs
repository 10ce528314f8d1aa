//! The borrowed types the decoder returns. Everything borrows from the packet's bytes.

use crate::framing::FixedHeaderInfo;

/// MQTT control packet type (high nibble of the first byte).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[repr(u8)]
pub enum PacketType {
    /// Type 0: reserved, never valid.
    Reserved = 0,
    /// Client request to connect.
    Connect = 1,
    /// Connect acknowledgement.
    ConnAck = 2,
    /// Publish message.
    Publish = 3,
    /// QoS 1 publish acknowledgement.
    PubAck = 4,
    /// QoS 2 publish received (part 1).
    PubRec = 5,
    /// QoS 2 publish release (part 2).
    PubRel = 6,
    /// QoS 2 publish complete (part 3).
    PubComp = 7,
    /// Subscribe request.
    Subscribe = 8,
    /// Subscribe acknowledgement.
    SubAck = 9,
    /// Unsubscribe request.
    Unsubscribe = 10,
    /// Unsubscribe acknowledgement.
    UnsubAck = 11,
    /// Ping request.
    PingReq = 12,
    /// Ping response.
    PingResp = 13,
    /// Disconnect notification.
    Disconnect = 14,
    /// Authentication exchange (MQTT 5 only; reserved in 3.x).
    Auth = 15,
}

impl PacketType {
    /// All sixteen types, indexed by their number.
    pub const ALL: [PacketType; 16] = [
        PacketType::Reserved,
        PacketType::Connect,
        PacketType::ConnAck,
        PacketType::Publish,
        PacketType::PubAck,
        PacketType::PubRec,
        PacketType::PubRel,
        PacketType::PubComp,
        PacketType::Subscribe,
        PacketType::SubAck,
        PacketType::Unsubscribe,
        PacketType::UnsubAck,
        PacketType::PingReq,
        PacketType::PingResp,
        PacketType::Disconnect,
        PacketType::Auth,
    ];

    /// The type for a number; only the low four bits are used.
    #[inline]
    pub fn from_id(id: u8) -> PacketType {
        PacketType::ALL[usize::from(id & 0x0f)]
    }

    /// The type number, 0..=15.
    #[inline]
    pub fn id(self) -> u8 {
        self as u8
    }

    /// The spec's upper-case name, as Wireshark shows it ("CONNECT", "PUBACK", …, "RESERVED").
    pub fn name(self) -> &'static str {
        match self {
            PacketType::Reserved => "RESERVED",
            PacketType::Connect => "CONNECT",
            PacketType::ConnAck => "CONNACK",
            PacketType::Publish => "PUBLISH",
            PacketType::PubAck => "PUBACK",
            PacketType::PubRec => "PUBREC",
            PacketType::PubRel => "PUBREL",
            PacketType::PubComp => "PUBCOMP",
            PacketType::Subscribe => "SUBSCRIBE",
            PacketType::SubAck => "SUBACK",
            PacketType::Unsubscribe => "UNSUBSCRIBE",
            PacketType::UnsubAck => "UNSUBACK",
            PacketType::PingReq => "PINGREQ",
            PacketType::PingResp => "PINGRESP",
            PacketType::Disconnect => "DISCONNECT",
            PacketType::Auth => "AUTH",
        }
    }

    /// The type whose [`name`](Self::name) is `name` (case-insensitive).
    pub fn from_name(name: &str) -> Option<PacketType> {
        PacketType::ALL
            .into_iter()
            .find(|t| t.name().eq_ignore_ascii_case(name))
    }
}

impl std::fmt::Display for PacketType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Negotiated protocol version (the CONNECT protocol level).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[repr(u8)]
pub enum ProtocolVersion {
    /// MQTT 3.1, protocol name `MQIsdp`, level 3.
    V3_1 = 3,
    /// MQTT 3.1.1, protocol name `MQTT`, level 4.
    V3_1_1 = 4,
    /// MQTT 5.0, protocol name `MQTT`, level 5.
    V5 = 5,
}

impl ProtocolVersion {
    /// The version for a CONNECT protocol level.
    pub fn from_level(level: u8) -> Option<ProtocolVersion> {
        match level {
            3 => Some(ProtocolVersion::V3_1),
            4 => Some(ProtocolVersion::V3_1_1),
            5 => Some(ProtocolVersion::V5),
            _ => None,
        }
    }
    /// The CONNECT protocol level (3, 4 or 5).
    #[inline]
    pub fn level(self) -> u8 {
        self as u8
    }
    /// True for MQTT 5.0, whose packets carry properties and reason codes.
    #[inline]
    pub fn is_v5(self) -> bool {
        self == ProtocolVersion::V5
    }
    /// Human name: "3.1", "3.1.1" or "5.0".
    pub fn name(self) -> &'static str {
        match self {
            ProtocolVersion::V3_1 => "3.1",
            ProtocolVersion::V3_1_1 => "3.1.1",
            ProtocolVersion::V5 => "5.0",
        }
    }
}

/// A UTF-8 string field as it is on the wire: the bytes are kept even when they are not valid
/// UTF-8 (or contain U+0000), so nothing is dropped; validity is checked on demand.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct MqttStr<'a>(pub &'a [u8]);

impl<'a> MqttStr<'a> {
    /// The raw bytes, without the two-byte length prefix.
    #[inline]
    pub fn bytes(&self) -> &'a [u8] {
        self.0
    }
    /// The text, when the bytes are valid UTF-8.
    #[inline]
    pub fn as_str(&self) -> Option<&'a str> {
        std::str::from_utf8(self.0).ok()
    }
    /// The text with invalid sequences replaced by U+FFFD.
    pub fn to_string_lossy(&self) -> std::borrow::Cow<'a, str> {
        String::from_utf8_lossy(self.0)
    }
    /// Length in bytes.
    #[inline]
    pub fn len(&self) -> usize {
        self.0.len()
    }
    /// True for the empty string.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// A fully decoded control packet with its fixed header, sizes and non-fatal findings.
#[derive(Debug, Clone, PartialEq)]
pub struct Decoded<'a> {
    /// The fixed header as framing read it.
    pub header: FixedHeaderInfo,
    /// The typed packet.
    pub packet: Packet<'a>,
    /// Byte counts of the packet's parts; they add up to the packet length.
    pub sizes: HeaderSizes,
    /// Non-fatal problems found while decoding (reserved bits, invalid UTF-8, …).
    pub warnings: Warnings,
}

/// Where a packet's bytes go: `fixed + variable + properties + payload` = packet length.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct HeaderSizes {
    /// Fixed header: first byte plus the remaining-length field (2..=5).
    pub fixed: u8,
    /// Variable header bytes, not counting properties.
    pub variable: u32,
    /// MQTT 5 property bytes, each property-length field included (CONNECT will properties too).
    pub properties: u32,
    /// Payload bytes (PUBLISH message; CONNECT client id, will, credentials; SUBSCRIBE filters; …).
    pub payload: u32,
}

impl HeaderSizes {
    /// Total packet length.
    pub fn total(&self) -> u64 {
        u64::from(self.fixed)
            + u64::from(self.variable)
            + u64::from(self.properties)
            + u64::from(self.payload)
    }
}

/// One MQTT control packet, borrowed from its bytes.
#[derive(Debug, Clone, PartialEq)]
pub enum Packet<'a> {
    /// CONNECT.
    Connect(Connect<'a>),
    /// CONNACK.
    ConnAck(ConnAck<'a>),
    /// PUBLISH.
    Publish(Publish<'a>),
    /// PUBACK.
    PubAck(PubAckLike<'a>),
    /// PUBREC.
    PubRec(PubAckLike<'a>),
    /// PUBREL.
    PubRel(PubAckLike<'a>),
    /// PUBCOMP.
    PubComp(PubAckLike<'a>),
    /// SUBSCRIBE.
    Subscribe(Subscribe<'a>),
    /// SUBACK.
    SubAck(SubAck<'a>),
    /// UNSUBSCRIBE.
    Unsubscribe(Unsubscribe<'a>),
    /// UNSUBACK.
    UnsubAck(UnsubAck<'a>),
    /// PINGREQ.
    PingReq,
    /// PINGRESP.
    PingResp,
    /// DISCONNECT.
    Disconnect(ReasonOnly<'a>),
    /// AUTH (MQTT 5).
    Auth(ReasonOnly<'a>),
    /// Type 0, or type 15 before MQTT 5: kept with its body so it can still be shown.
    Reserved {
        /// The packet type number (0, or 15 in 3.x).
        type_id: u8,
        /// The bytes after the fixed header.
        body: &'a [u8],
    },
}

impl Packet<'_> {
    /// The packet's type.
    pub fn packet_type(&self) -> PacketType {
        match self {
            Packet::Connect(_) => PacketType::Connect,
            Packet::ConnAck(_) => PacketType::ConnAck,
            Packet::Publish(_) => PacketType::Publish,
            Packet::PubAck(_) => PacketType::PubAck,
            Packet::PubRec(_) => PacketType::PubRec,
            Packet::PubRel(_) => PacketType::PubRel,
            Packet::PubComp(_) => PacketType::PubComp,
            Packet::Subscribe(_) => PacketType::Subscribe,
            Packet::SubAck(_) => PacketType::SubAck,
            Packet::Unsubscribe(_) => PacketType::Unsubscribe,
            Packet::UnsubAck(_) => PacketType::UnsubAck,
            Packet::PingReq => PacketType::PingReq,
            Packet::PingResp => PacketType::PingResp,
            Packet::Disconnect(_) => PacketType::Disconnect,
            Packet::Auth(_) => PacketType::Auth,
            Packet::Reserved { type_id, .. } => PacketType::from_id(*type_id),
        }
    }

    /// The packet identifier, for the types that carry one.
    pub fn packet_id(&self) -> Option<u16> {
        match self {
            Packet::Publish(p) => p.packet_id,
            Packet::PubAck(a) | Packet::PubRec(a) | Packet::PubRel(a) | Packet::PubComp(a) => {
                Some(a.packet_id)
            }
            Packet::Subscribe(s) => Some(s.packet_id),
            Packet::SubAck(s) => Some(s.packet_id),
            Packet::Unsubscribe(u) => Some(u.packet_id),
            Packet::UnsubAck(u) => Some(u.packet_id),
            _ => None,
        }
    }
}

/// The CONNECT flags byte (MQTT 5.0 §3.1.2.3), with an accessor per bit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ConnectFlags(pub u8);

impl ConnectFlags {
    /// Bit 0: reserved, must be 0.
    pub fn reserved(self) -> bool {
        self.0 & 0x01 != 0
    }
    /// Bit 1: clean session (3.x) / clean start (5.0).
    pub fn clean_start(self) -> bool {
        self.0 & 0x02 != 0
    }
    /// Bit 2: a will message follows.
    pub fn will(self) -> bool {
        self.0 & 0x04 != 0
    }
    /// Bits 3–4: will QoS.
    pub fn will_qos(self) -> u8 {
        (self.0 >> 3) & 0x03
    }
    /// Bit 5: will retain.
    pub fn will_retain(self) -> bool {
        self.0 & 0x20 != 0
    }
    /// Bit 6: password present.
    pub fn password(self) -> bool {
        self.0 & 0x40 != 0
    }
    /// Bit 7: user name present.
    pub fn username(self) -> bool {
        self.0 & 0x80 != 0
    }
}

/// CONNECT (MQTT 5.0 §3.1).
#[derive(Debug, Clone, PartialEq)]
pub struct Connect<'a> {
    /// Protocol name: "MQTT", or "MQIsdp" for 3.1.
    pub protocol_name: MqttStr<'a>,
    /// Protocol level: 3, 4 or 5 (others are decoded as far as possible and flagged).
    pub protocol_level: u8,
    /// The connect flags byte.
    pub flags: ConnectFlags,
    /// Keep alive in seconds (0 = off).
    pub keep_alive: u16,
    /// CONNECT properties (MQTT 5).
    pub properties: Option<Properties<'a>>,
    /// Client identifier (may be empty).
    pub client_id: MqttStr<'a>,
    /// The will message, when the will flag is set.
    pub will: Option<Will<'a>>,
    /// User name, when its flag is set.
    pub username: Option<MqttStr<'a>>,
    /// Password (binary data), when its flag is set. Redact before showing.
    pub password: Option<&'a [u8]>,
}

/// The will message of a CONNECT.
#[derive(Debug, Clone, PartialEq)]
pub struct Will<'a> {
    /// Will properties (MQTT 5).
    pub properties: Option<Properties<'a>>,
    /// Will topic.
    pub topic: MqttStr<'a>,
    /// Will payload.
    pub payload: &'a [u8],
    /// Will QoS (from the connect flags).
    pub qos: u8,
    /// Will retain (from the connect flags).
    pub retain: bool,
}

/// CONNACK (MQTT 5.0 §3.2).
#[derive(Debug, Clone, PartialEq)]
pub struct ConnAck<'a> {
    /// The acknowledge flags byte as sent (bit 0 session present, bits 1–7 reserved).
    pub ack_flags: u8,
    /// Session present (bit 0 of the acknowledge flags).
    pub session_present: bool,
    /// Return code (3.x) / reason code (5.0). 0 = accepted.
    pub reason_code: u8,
    /// CONNACK properties (MQTT 5).
    pub properties: Option<Properties<'a>>,
}

/// PUBLISH (MQTT 5.0 §3.3).
#[derive(Debug, Clone, PartialEq)]
pub struct Publish<'a> {
    /// DUP flag.
    pub dup: bool,
    /// QoS from the flags, 0..=3 (3 is invalid and flagged).
    pub qos: u8,
    /// RETAIN flag.
    pub retain: bool,
    /// Topic name (may be empty in MQTT 5 when a topic alias is used).
    pub topic: MqttStr<'a>,
    /// Packet identifier, present for QoS > 0.
    pub packet_id: Option<u16>,
    /// PUBLISH properties (MQTT 5).
    pub properties: Option<Properties<'a>>,
    /// Application message.
    pub payload: &'a [u8],
}

/// PUBACK, PUBREC, PUBREL, PUBCOMP: a packet id and, in MQTT 5, an optional reason code and
/// properties (the short forms omit them: §3.4.2.1).
#[derive(Debug, Clone, PartialEq)]
pub struct PubAckLike<'a> {
    /// Packet identifier.
    pub packet_id: u16,
    /// Reason code (MQTT 5; `None` when omitted, which means 0 Success).
    pub reason_code: Option<u8>,
    /// Properties (MQTT 5; `None` when omitted).
    pub properties: Option<Properties<'a>>,
}

/// Subscription options byte of one SUBSCRIBE filter (MQTT 5.0 §3.8.3.1); in 3.x only the QoS
/// bits are defined and the rest is reserved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SubscriptionOptions(pub u8);

impl SubscriptionOptions {
    /// Bits 0–1: requested (maximum) QoS.
    pub fn qos(self) -> u8 {
        self.0 & 0x03
    }
    /// Bit 2: no local (MQTT 5).
    pub fn no_local(self) -> bool {
        self.0 & 0x04 != 0
    }
    /// Bit 3: retain as published (MQTT 5).
    pub fn retain_as_published(self) -> bool {
        self.0 & 0x08 != 0
    }
    /// Bits 4–5: retain handling 0..=2 (MQTT 5; 3 is invalid).
    pub fn retain_handling(self) -> u8 {
        (self.0 >> 4) & 0x03
    }
    /// Bits 6–7: reserved, must be 0.
    pub fn reserved_bits(self) -> u8 {
        self.0 >> 6
    }
}

/// SUBSCRIBE (MQTT 5.0 §3.8).
#[derive(Debug, Clone, PartialEq)]
pub struct Subscribe<'a> {
    /// Packet identifier.
    pub packet_id: u16,
    /// SUBSCRIBE properties (MQTT 5).
    pub properties: Option<Properties<'a>>,
    /// The topic filters with their options, validated at decode time, iterated lazily.
    pub filters: SubscribeFilters<'a>,
}

/// SUBACK (MQTT 5.0 §3.9).
#[derive(Debug, Clone, PartialEq)]
pub struct SubAck<'a> {
    /// Packet identifier.
    pub packet_id: u16,
    /// SUBACK properties (MQTT 5).
    pub properties: Option<Properties<'a>>,
    /// One return/reason code per filter of the SUBSCRIBE (granted QoS, or ≥ 0x80 failure).
    pub reason_codes: &'a [u8],
}

/// UNSUBSCRIBE (MQTT 5.0 §3.10).
#[derive(Debug, Clone, PartialEq)]
pub struct Unsubscribe<'a> {
    /// Packet identifier.
    pub packet_id: u16,
    /// UNSUBSCRIBE properties (MQTT 5).
    pub properties: Option<Properties<'a>>,
    /// The topic filters, validated at decode time, iterated lazily.
    pub filters: UnsubscribeFilters<'a>,
}

/// UNSUBACK (MQTT 5.0 §3.11).
#[derive(Debug, Clone, PartialEq)]
pub struct UnsubAck<'a> {
    /// Packet identifier.
    pub packet_id: u16,
    /// UNSUBACK properties (MQTT 5).
    pub properties: Option<Properties<'a>>,
    /// One reason code per filter (MQTT 5; empty in 3.x).
    pub reason_codes: &'a [u8],
}

/// DISCONNECT and AUTH: an optional reason code and optional properties (MQTT 5; both omitted
/// when the remaining length is 0, §3.14.2.1 and §3.15.2.1).
#[derive(Debug, Clone, PartialEq)]
pub struct ReasonOnly<'a> {
    /// Reason code (`None` when omitted, which means 0).
    pub reason_code: Option<u8>,
    /// Properties (`None` when omitted).
    pub properties: Option<Properties<'a>>,
}

/// An MQTT 5 property identifier. Unknown identifiers are kept as numbers, not rejected
/// (an analyser reads odd values and carries on).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PropertyId(pub u8);

/// The wire type of a property value (MQTT 5.0 §2.2.2.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PropertyWireType {
    /// One byte.
    Byte,
    /// Two-byte integer.
    TwoByteInt,
    /// Four-byte integer.
    FourByteInt,
    /// Variable byte integer.
    VarInt,
    /// UTF-8 encoded string.
    Utf8String,
    /// UTF-8 string pair (user property).
    Utf8StringPair,
    /// Binary data.
    BinaryData,
}

/// A typed property value, borrowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PropertyValue<'a> {
    /// Byte.
    Byte(u8),
    /// Two-byte integer.
    TwoByteInt(u16),
    /// Four-byte integer.
    FourByteInt(u32),
    /// Variable byte integer.
    VarInt(u32),
    /// UTF-8 string.
    Utf8String(MqttStr<'a>),
    /// UTF-8 string pair: name, value.
    Utf8StringPair(MqttStr<'a>, MqttStr<'a>),
    /// Binary data.
    BinaryData(&'a [u8]),
}

/// One MQTT 5 property.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Property<'a> {
    /// Identifier.
    pub id: PropertyId,
    /// Typed value.
    pub value: PropertyValue<'a>,
    /// Offset of the identifier byte from the start of the packet.
    pub offset: u32,
}

/// The properties of a packet (or of a will): their bytes after the property-length field,
/// validated at decode time and iterated lazily as typed [`Property`] values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Properties<'a> {
    /// Property bytes after the property-length field.
    pub raw: &'a [u8],
    /// Offset of `raw` from the start of the packet (for byte highlighting and error offsets).
    pub offset: u32,
}

/// The topic filters of a SUBSCRIBE: (filter, options) pairs, iterated lazily.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SubscribeFilters<'a> {
    /// Payload bytes holding the filters.
    pub raw: &'a [u8],
    /// Offset of `raw` from the start of the packet.
    pub offset: u32,
}

/// The topic filters of an UNSUBSCRIBE, iterated lazily.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct UnsubscribeFilters<'a> {
    /// Payload bytes holding the filters.
    pub raw: &'a [u8],
    /// Offset of `raw` from the start of the packet.
    pub offset: u32,
}

/// A non-fatal finding of the decoder: the packet was decoded, but something in it breaks the
/// spec. The analyzer turns these into anomalies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WarningKind {
    /// Fixed-header flag bits differ from the values the spec requires for the type.
    ReservedFlags,
    /// PUBLISH QoS bits are 3.
    Qos3,
    /// PUBLISH with DUP set on QoS 0.
    DupOnQos0,
    /// Remaining length (or another variable byte integer) not minimally encoded.
    NonMinimalVarInt,
    /// A UTF-8 string field holds invalid UTF-8.
    InvalidUtf8,
    /// A UTF-8 string field holds U+0000.
    NullCharacter,
    /// A PUBLISH topic name contains `+` or `#`.
    WildcardInTopicName,
    /// A PUBLISH topic name is empty (and, in v5, no topic alias is given).
    EmptyTopicName,
    /// A packet identifier of 0 where a non-zero one is required.
    PacketIdZero,
    /// An unknown property identifier (iteration of the properties stops there).
    UnknownProperty(u8),
    /// A property that the spec does not allow in this packet type.
    PropertyNotAllowed(u8),
    /// A property that may appear once appears more than once.
    DuplicateProperty(u8),
    /// CONNECT reserved flag bit set.
    ConnectReservedFlag,
    /// CONNECT will QoS/retain set without the will flag, or will QoS 3.
    InvalidWillFlags,
    /// Password flag without user name flag (forbidden in 3.1.1).
    PasswordWithoutUsername,
    /// Protocol name/level combination not one of MQIsdp/3, MQTT/4, MQTT/5.
    UnknownProtocol,
    /// Reserved bits of the CONNACK acknowledge flags or of subscription options set.
    ReservedBitsSet,
    /// SUBSCRIBE/UNSUBSCRIBE without any topic filter.
    NoTopicFilters,
    /// A reason code not defined for this packet type.
    UnknownReasonCode(u8),
    /// Bytes left over after the last field of the packet.
    TrailingBytes,
    /// A SUBSCRIBE/UNSUBSCRIBE topic filter that breaks the wildcard rules (§4.7.1, §4.7.3):
    /// empty, `#` not alone in the last level, or `+` not alone in its level.
    InvalidTopicFilter,
    /// An MQTT 5 shared subscription filter (`$share/…`, §4.8.2) without a share name, with a
    /// wildcard in the share name, or without a topic filter after it.
    InvalidSharedSubscription,
    /// A property whose value the spec forbids (e.g. Maximum QoS 2, Receive Maximum 0); the
    /// identifier is kept. Topic Alias 0 is left to the analyzer, which knows the direction.
    PropertyValueOutOfRange(u8),
}

/// One finding with the byte offset (from the start of the packet) where it was seen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Warning {
    /// What is wrong.
    pub kind: WarningKind,
    /// Byte offset from the start of the packet.
    pub offset: u32,
}

/// Up to [`Warnings::CAPACITY`] findings, stored inline (decoding never allocates); further ones
/// are counted in `dropped`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Warnings {
    items: [Option<Warning>; Warnings::CAPACITY],
    len: u8,
    /// Findings beyond the capacity, counted but not kept.
    pub dropped: u16,
}

impl Warnings {
    /// How many findings are kept inline.
    pub const CAPACITY: usize = 8;

    /// Records a finding.
    pub fn push(&mut self, kind: WarningKind, offset: u32) {
        match self.items.get_mut(usize::from(self.len)) {
            Some(slot) => {
                *slot = Some(Warning { kind, offset });
                self.len += 1;
            }
            None => self.dropped = self.dropped.saturating_add(1),
        }
    }
    /// The kept findings, in the order found.
    pub fn iter(&self) -> impl Iterator<Item = &Warning> + '_ {
        self.items.iter().flatten()
    }
    /// Number of kept findings.
    pub fn len(&self) -> usize {
        usize::from(self.len)
    }
    /// True when nothing was found.
    pub fn is_empty(&self) -> bool {
        self.len == 0 && self.dropped == 0
    }
    /// True when a finding of this kind was kept.
    pub fn contains(&self, kind: WarningKind) -> bool {
        self.iter().any(|w| w.kind == kind)
    }
}

/// Why a packet could not be decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{kind} at byte {offset}")]
pub struct DecodeError {
    /// What went wrong.
    pub kind: DecodeErrorKind,
    /// Byte offset from the start of the packet where it went wrong.
    pub offset: usize,
}

/// The kinds of [`DecodeError`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DecodeErrorKind {
    /// The input ends before the packet does: need more bytes (`needed` more, when known).
    /// Only a cut-short input gives this; a body shorter than its fields is `Truncated`.
    #[error("incomplete packet (need {needed:?} more bytes)")]
    Incomplete {
        /// How many more bytes are needed, when known.
        needed: Option<usize>,
    },
    /// The remaining-length field has a continuation bit on its 4th byte.
    #[error("remaining length longer than 4 bytes")]
    RemainingLengthTooLong,
    /// A field runs past the end of the packet body (remaining length too small for its fields).
    #[error("field runs past the end of the packet")]
    Truncated,
    /// A variable byte integer inside the packet is longer than 4 bytes.
    #[error("malformed variable byte integer")]
    MalformedVarInt,
    /// A property length points past the end of the packet.
    #[error("property length exceeds the packet")]
    PropertyLengthOverflow,
    /// A property value is malformed (e.g. a string length past the property block).
    #[error("malformed property")]
    MalformedProperty,
    /// A field holds a value the packet cannot be decoded with (e.g. CONNECT protocol name
    /// that is not a string, CONNACK return code in a 1-byte body).
    #[error("invalid field value")]
    InvalidValue,
}
