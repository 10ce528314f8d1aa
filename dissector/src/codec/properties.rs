//! MQTT 5 properties (MQTT 5.0 §2.2.2): identifiers with their spec names, wire types and the
//! packets they may appear in; the decode-time validation of a property block; the lazy typed
//! iterator over it; and convenience getters.

use super::types::{
    DecodeError, DecodeErrorKind, MqttStr, PacketType, Properties, Property, PropertyId,
    PropertyValue, PropertyWireType, WarningKind,
};
use super::wire::{
    Cx, PResult, WireError, byte, four_byte_int, length_prefixed, two_byte_int, var_int,
};
use PropertyWireType as W;

impl PropertyId {
    /// 0x01 Payload Format Indicator (byte; PUBLISH, will).
    pub const PAYLOAD_FORMAT_INDICATOR: PropertyId = PropertyId(0x01);
    /// 0x02 Message Expiry Interval (four-byte integer; PUBLISH, will).
    pub const MESSAGE_EXPIRY_INTERVAL: PropertyId = PropertyId(0x02);
    /// 0x03 Content Type (UTF-8 string; PUBLISH, will).
    pub const CONTENT_TYPE: PropertyId = PropertyId(0x03);
    /// 0x08 Response Topic (UTF-8 string; PUBLISH, will).
    pub const RESPONSE_TOPIC: PropertyId = PropertyId(0x08);
    /// 0x09 Correlation Data (binary data; PUBLISH, will).
    pub const CORRELATION_DATA: PropertyId = PropertyId(0x09);
    /// 0x0B Subscription Identifier (variable byte integer; PUBLISH, SUBSCRIBE).
    pub const SUBSCRIPTION_IDENTIFIER: PropertyId = PropertyId(0x0B);
    /// 0x11 Session Expiry Interval (four-byte integer; CONNECT, CONNACK, DISCONNECT).
    pub const SESSION_EXPIRY_INTERVAL: PropertyId = PropertyId(0x11);
    /// 0x12 Assigned Client Identifier (UTF-8 string; CONNACK).
    pub const ASSIGNED_CLIENT_IDENTIFIER: PropertyId = PropertyId(0x12);
    /// 0x13 Server Keep Alive (two-byte integer; CONNACK).
    pub const SERVER_KEEP_ALIVE: PropertyId = PropertyId(0x13);
    /// 0x15 Authentication Method (UTF-8 string; CONNECT, CONNACK, AUTH).
    pub const AUTHENTICATION_METHOD: PropertyId = PropertyId(0x15);
    /// 0x16 Authentication Data (binary data; CONNECT, CONNACK, AUTH).
    pub const AUTHENTICATION_DATA: PropertyId = PropertyId(0x16);
    /// 0x17 Request Problem Information (byte; CONNECT).
    pub const REQUEST_PROBLEM_INFORMATION: PropertyId = PropertyId(0x17);
    /// 0x18 Will Delay Interval (four-byte integer; will).
    pub const WILL_DELAY_INTERVAL: PropertyId = PropertyId(0x18);
    /// 0x19 Request Response Information (byte; CONNECT).
    pub const REQUEST_RESPONSE_INFORMATION: PropertyId = PropertyId(0x19);
    /// 0x1A Response Information (UTF-8 string; CONNACK).
    pub const RESPONSE_INFORMATION: PropertyId = PropertyId(0x1A);
    /// 0x1C Server Reference (UTF-8 string; CONNACK, DISCONNECT).
    pub const SERVER_REFERENCE: PropertyId = PropertyId(0x1C);
    /// 0x1F Reason String (UTF-8 string; every acknowledgement, DISCONNECT, AUTH).
    pub const REASON_STRING: PropertyId = PropertyId(0x1F);
    /// 0x21 Receive Maximum (two-byte integer; CONNECT, CONNACK).
    pub const RECEIVE_MAXIMUM: PropertyId = PropertyId(0x21);
    /// 0x22 Topic Alias Maximum (two-byte integer; CONNECT, CONNACK).
    pub const TOPIC_ALIAS_MAXIMUM: PropertyId = PropertyId(0x22);
    /// 0x23 Topic Alias (two-byte integer; PUBLISH).
    pub const TOPIC_ALIAS: PropertyId = PropertyId(0x23);
    /// 0x24 Maximum QoS (byte; CONNACK).
    pub const MAXIMUM_QOS: PropertyId = PropertyId(0x24);
    /// 0x25 Retain Available (byte; CONNACK).
    pub const RETAIN_AVAILABLE: PropertyId = PropertyId(0x25);
    /// 0x26 User Property (UTF-8 string pair; every packet with properties, and wills).
    pub const USER_PROPERTY: PropertyId = PropertyId(0x26);
    /// 0x27 Maximum Packet Size (four-byte integer; CONNECT, CONNACK).
    pub const MAXIMUM_PACKET_SIZE: PropertyId = PropertyId(0x27);
    /// 0x28 Wildcard Subscription Available (byte; CONNACK).
    pub const WILDCARD_SUBSCRIPTION_AVAILABLE: PropertyId = PropertyId(0x28);
    /// 0x29 Subscription Identifier Available (byte; CONNACK).
    pub const SUBSCRIPTION_IDENTIFIER_AVAILABLE: PropertyId = PropertyId(0x29);
    /// 0x2A Shared Subscription Available (byte; CONNACK).
    pub const SHARED_SUBSCRIPTION_AVAILABLE: PropertyId = PropertyId(0x2A);

    /// The 27 properties MQTT 5.0 defines, in identifier order.
    pub const ALL: [PropertyId; 27] = [
        PropertyId::PAYLOAD_FORMAT_INDICATOR,
        PropertyId::MESSAGE_EXPIRY_INTERVAL,
        PropertyId::CONTENT_TYPE,
        PropertyId::RESPONSE_TOPIC,
        PropertyId::CORRELATION_DATA,
        PropertyId::SUBSCRIPTION_IDENTIFIER,
        PropertyId::SESSION_EXPIRY_INTERVAL,
        PropertyId::ASSIGNED_CLIENT_IDENTIFIER,
        PropertyId::SERVER_KEEP_ALIVE,
        PropertyId::AUTHENTICATION_METHOD,
        PropertyId::AUTHENTICATION_DATA,
        PropertyId::REQUEST_PROBLEM_INFORMATION,
        PropertyId::WILL_DELAY_INTERVAL,
        PropertyId::REQUEST_RESPONSE_INFORMATION,
        PropertyId::RESPONSE_INFORMATION,
        PropertyId::SERVER_REFERENCE,
        PropertyId::REASON_STRING,
        PropertyId::RECEIVE_MAXIMUM,
        PropertyId::TOPIC_ALIAS_MAXIMUM,
        PropertyId::TOPIC_ALIAS,
        PropertyId::MAXIMUM_QOS,
        PropertyId::RETAIN_AVAILABLE,
        PropertyId::USER_PROPERTY,
        PropertyId::MAXIMUM_PACKET_SIZE,
        PropertyId::WILDCARD_SUBSCRIPTION_AVAILABLE,
        PropertyId::SUBSCRIPTION_IDENTIFIER_AVAILABLE,
        PropertyId::SHARED_SUBSCRIPTION_AVAILABLE,
    ];

    /// The spec's name ("Topic Alias"), or `None` for an identifier MQTT 5.0 does not define.
    pub fn name(self) -> Option<&'static str> {
        spec(self).map(|s| s.name)
    }

    /// The wire type of the value, or `None` for an unknown identifier.
    pub fn wire_type(self) -> Option<PropertyWireType> {
        spec(self).map(|s| s.wire_type)
    }

    /// Whether the spec allows this property in `packet_type` (or, with `is_will`, in the will
    /// properties of a CONNECT). Unknown identifiers are allowed nowhere.
    pub fn allowed_in(self, packet_type: PacketType, is_will: bool) -> bool {
        let Some(s) = spec(self) else { return false };
        let bit = if is_will { WILL } else { 1 << packet_type.id() };
        s.allowed & bit != 0
    }

    /// Whether the property may appear more than once in `packet_type`: User Property anywhere,
    /// Subscription Identifier in PUBLISH (§3.3.2.3.8; once only in SUBSCRIBE, §3.8.2.1.2).
    pub fn may_repeat_in(self, packet_type: PacketType) -> bool {
        self == PropertyId::USER_PROPERTY
            || (self == PropertyId::SUBSCRIPTION_IDENTIFIER && packet_type == PacketType::Publish)
    }
}

impl std::fmt::Display for PropertyId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.name() {
            Some(name) => f.write_str(name),
            None => write!(f, "Unknown property 0x{:02X}", self.0),
        }
    }
}

/// Bit for "will properties" in [`PropSpec::allowed`]; bits 0..=15 are packet type numbers.
const WILL: u32 = 1 << 16;
const fn t(packet_type: PacketType) -> u32 {
    1 << (packet_type as u8)
}
const CONNECT: u32 = t(PacketType::Connect);
const CONNACK: u32 = t(PacketType::ConnAck);
const PUBLISH: u32 = t(PacketType::Publish);
const PUBACKS: u32 =
    t(PacketType::PubAck) | t(PacketType::PubRec) | t(PacketType::PubRel) | t(PacketType::PubComp);
const SUBSCRIBE: u32 = t(PacketType::Subscribe);
const SUBACK: u32 = t(PacketType::SubAck);
const UNSUBSCRIBE: u32 = t(PacketType::Unsubscribe);
const UNSUBACK: u32 = t(PacketType::UnsubAck);
const DISCONNECT: u32 = t(PacketType::Disconnect);
const AUTH: u32 = t(PacketType::Auth);

/// One row of the property table (MQTT 5.0 §2.2.2.2).
struct PropSpec {
    name: &'static str,
    wire_type: PropertyWireType,
    allowed: u32,
}

const fn row(name: &'static str, wire_type: PropertyWireType, allowed: u32) -> Option<PropSpec> {
    Some(PropSpec {
        name,
        wire_type,
        allowed,
    })
}

/// The property table, indexed by identifier (0x00..=0x2A).
const TABLE: [Option<PropSpec>; 0x2B] = {
    let mut table = [const { None }; 0x2B];
    table[0x01] = row("Payload Format Indicator", W::Byte, PUBLISH | WILL);
    table[0x02] = row("Message Expiry Interval", W::FourByteInt, PUBLISH | WILL);
    table[0x03] = row("Content Type", W::Utf8String, PUBLISH | WILL);
    table[0x08] = row("Response Topic", W::Utf8String, PUBLISH | WILL);
    table[0x09] = row("Correlation Data", W::BinaryData, PUBLISH | WILL);
    table[0x0B] = row("Subscription Identifier", W::VarInt, PUBLISH | SUBSCRIBE);
    table[0x11] = row(
        "Session Expiry Interval",
        W::FourByteInt,
        CONNECT | CONNACK | DISCONNECT,
    );
    table[0x12] = row("Assigned Client Identifier", W::Utf8String, CONNACK);
    table[0x13] = row("Server Keep Alive", W::TwoByteInt, CONNACK);
    table[0x15] = row(
        "Authentication Method",
        W::Utf8String,
        CONNECT | CONNACK | AUTH,
    );
    table[0x16] = row(
        "Authentication Data",
        W::BinaryData,
        CONNECT | CONNACK | AUTH,
    );
    table[0x17] = row("Request Problem Information", W::Byte, CONNECT);
    table[0x18] = row("Will Delay Interval", W::FourByteInt, WILL);
    table[0x19] = row("Request Response Information", W::Byte, CONNECT);
    table[0x1A] = row("Response Information", W::Utf8String, CONNACK);
    table[0x1C] = row("Server Reference", W::Utf8String, CONNACK | DISCONNECT);
    table[0x1F] = row(
        "Reason String",
        W::Utf8String,
        CONNACK | PUBACKS | SUBACK | UNSUBACK | DISCONNECT | AUTH,
    );
    table[0x21] = row("Receive Maximum", W::TwoByteInt, CONNECT | CONNACK);
    table[0x22] = row("Topic Alias Maximum", W::TwoByteInt, CONNECT | CONNACK);
    table[0x23] = row("Topic Alias", W::TwoByteInt, PUBLISH);
    table[0x24] = row("Maximum QoS", W::Byte, CONNACK);
    table[0x25] = row("Retain Available", W::Byte, CONNACK);
    table[0x26] = row(
        "User Property",
        W::Utf8StringPair,
        CONNECT
            | CONNACK
            | PUBLISH
            | PUBACKS
            | SUBSCRIBE
            | SUBACK
            | UNSUBSCRIBE
            | UNSUBACK
            | DISCONNECT
            | AUTH
            | WILL,
    );
    table[0x27] = row("Maximum Packet Size", W::FourByteInt, CONNECT | CONNACK);
    table[0x28] = row("Wildcard Subscription Available", W::Byte, CONNACK);
    table[0x29] = row("Subscription Identifier Available", W::Byte, CONNACK);
    table[0x2A] = row("Shared Subscription Available", W::Byte, CONNACK);
    table
};

#[inline]
fn spec(id: PropertyId) -> Option<&'static PropSpec> {
    TABLE.get(usize::from(id.0)).and_then(Option::as_ref)
}

/// Reads one value of `wire_type`.
#[inline]
fn value(wire_type: PropertyWireType, i: &[u8]) -> PResult<'_, (PropertyValue<'_>, bool)> {
    Ok(match wire_type {
        W::Byte => {
            let (i, v) = byte(i)?;
            (i, (PropertyValue::Byte(v), false))
        }
        W::TwoByteInt => {
            let (i, v) = two_byte_int(i)?;
            (i, (PropertyValue::TwoByteInt(v), false))
        }
        W::FourByteInt => {
            let (i, v) = four_byte_int(i)?;
            (i, (PropertyValue::FourByteInt(v), false))
        }
        W::VarInt => {
            let (i, (v, non_minimal)) = var_int(i)?;
            (i, (PropertyValue::VarInt(v), non_minimal))
        }
        W::Utf8String => {
            let (i, s) = length_prefixed(i)?;
            (i, (PropertyValue::Utf8String(MqttStr(s)), false))
        }
        W::Utf8StringPair => {
            let (i, name) = length_prefixed(i)?;
            let (i, v) = length_prefixed(i)?;
            (
                i,
                (
                    PropertyValue::Utf8StringPair(MqttStr(name), MqttStr(v)),
                    false,
                ),
            )
        }
        W::BinaryData => {
            let (i, v) = length_prefixed(i)?;
            (i, (PropertyValue::BinaryData(v), false))
        }
    })
}

/// False when the spec forbids this value for the property. Flags that are "0 or 1"
/// (§3.1.2.11.7, §3.1.2.11.6, §3.2.2.3.4, §3.2.2.3.5, §3.2.2.3.11–13, §3.3.2.3.2) and limits that
/// "MUST NOT be 0" (Receive Maximum §3.1.2.11.3 / §3.2.2.3.3, Maximum Packet Size §3.1.2.11.4 /
/// §3.2.2.3.6, Subscription Identifier §3.8.2.1.2). Topic Alias 0 is the analyzer's to report.
#[inline]
fn value_in_range(id: PropertyId, v: &PropertyValue<'_>) -> bool {
    match (id, v) {
        (
            PropertyId::PAYLOAD_FORMAT_INDICATOR
            | PropertyId::REQUEST_PROBLEM_INFORMATION
            | PropertyId::REQUEST_RESPONSE_INFORMATION
            | PropertyId::MAXIMUM_QOS
            | PropertyId::RETAIN_AVAILABLE
            | PropertyId::WILDCARD_SUBSCRIPTION_AVAILABLE
            | PropertyId::SUBSCRIPTION_IDENTIFIER_AVAILABLE
            | PropertyId::SHARED_SUBSCRIPTION_AVAILABLE,
            PropertyValue::Byte(b),
        ) => *b <= 1,
        (PropertyId::RECEIVE_MAXIMUM, PropertyValue::TwoByteInt(n)) => *n != 0,
        (PropertyId::MAXIMUM_PACKET_SIZE, PropertyValue::FourByteInt(n)) => *n != 0,
        (PropertyId::SUBSCRIPTION_IDENTIFIER, PropertyValue::VarInt(n)) => *n != 0,
        _ => true,
    }
}

/// Why a walk over property bytes stopped early.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StepError {
    /// An identifier MQTT 5.0 does not define: its value's length is unknown.
    Unknown(u8),
    /// A value runs past the end of the block (or a variable byte integer is too long).
    Malformed,
}

/// One decoded property: the bytes after it, its identifier, value, and whether a variable byte
/// integer in it was not minimally encoded.
type Step<'a> = (&'a [u8], PropertyId, PropertyValue<'a>, bool);

/// One step of a walk over property bytes: `Ok(None)` at the end of the block.
#[inline]
fn next_property(i: &[u8]) -> Result<Option<Step<'_>>, StepError> {
    let Some((&id_byte, rest)) = i.split_first() else {
        return Ok(None);
    };
    let id = PropertyId(id_byte);
    // §2.2.2.1: the identifier is a variable byte integer, but every defined one is one byte;
    // anything else (including a continuation bit) is unknown.
    let Some(s) = spec(id) else {
        return Err(StepError::Unknown(id_byte));
    };
    match value(s.wire_type, rest) {
        Ok((rest, (v, non_minimal))) => Ok(Some((rest, id, v, non_minimal))),
        Err(_) => Err(StepError::Malformed),
    }
}

/// What the decoder learnt from a property block beyond the block itself.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct PropertySummary {
    /// Bit n set when property n was seen (identifiers are below 64).
    pub seen: u64,
}

impl PropertySummary {
    /// True when the property was present.
    pub fn has(&self, id: PropertyId) -> bool {
        id.0 < 64 && self.seen & (1u64 << id.0) != 0
    }
}

/// Reads a property block (§2.2.2: property length, then properties) of a packet of
/// `packet_type` (or its will), validates it once and returns it for lazy iteration.
///
/// Findings: non-minimal property length or subscription identifier, unknown identifier (the
/// walk stops there: its length is unknown), property not allowed here, duplicate of a
/// single-valued property, invalid UTF-8 / U+0000 in strings. A property length past the end of
/// the packet is `PropertyLengthOverflow`; a value past the end of the block `MalformedProperty`.
pub(crate) fn parse_properties<'a>(
    cx: &mut Cx,
    i: &'a [u8],
    packet_type: PacketType,
    is_will: bool,
) -> PResult<'a, (Properties<'a>, PropertySummary)> {
    let (after_len, (len, non_minimal)) = var_int(i)?;
    if non_minimal {
        cx.warn(WarningKind::NonMinimalVarInt, i);
    }
    let len = usize::try_from(len).unwrap_or(usize::MAX);
    let Some(raw) = after_len.get(..len) else {
        // In a prefix (`decode_partial`) a block that fits the whole packet is merely cut.
        let fits_packet = len <= after_len.len().saturating_add(cx.missing);
        let kind = if cx.partial && fits_packet {
            DecodeErrorKind::Truncated
        } else {
            DecodeErrorKind::PropertyLengthOverflow
        };
        return Err(WireError::at(kind, i));
    };
    let rest = &after_len[raw.len()..];
    let block_offset = cx.offset(after_len);
    cx.property_bytes += cx.offset(rest) - cx.offset(i);

    let mut summary = PropertySummary::default();
    // `walk` ends with the block, not with the packet: offsets inside it count from the block.
    let mut walk = raw;
    loop {
        let at = block_offset + (raw.len() - walk.len()) as u32;
        let (next, id, v, non_minimal) = match next_property(walk) {
            Ok(Some(step)) => step,
            Ok(None) => break,
            Err(StepError::Unknown(id)) => {
                cx.warn_at(WarningKind::UnknownProperty(id), at);
                break;
            }
            Err(StepError::Malformed) => {
                let remaining = walk.len() + rest.len();
                let kind = DecodeErrorKind::MalformedProperty;
                return Err(nom::Err::Error(WireError { kind, remaining }));
            }
        };
        if non_minimal {
            cx.warn_at(WarningKind::NonMinimalVarInt, at + 1);
        }
        if !id.allowed_in(packet_type, is_will) {
            cx.warn_at(WarningKind::PropertyNotAllowed(id.0), at);
        }
        let bit = 1u64 << id.0;
        if summary.seen & bit != 0 && !id.may_repeat_in(packet_type) {
            cx.warn_at(WarningKind::DuplicateProperty(id.0), at);
        }
        summary.seen |= bit;
        if !value_in_range(id, &v) {
            cx.warn_at(WarningKind::PropertyValueOutOfRange(id.0), at);
        }
        match v {
            PropertyValue::Utf8String(s) => cx.check_string(s.0, at + 3),
            PropertyValue::Utf8StringPair(name, value) => {
                cx.check_string(name.0, at + 3);
                cx.check_string(value.0, at + 5 + name.0.len() as u32);
            }
            _ => {}
        }
        walk = next;
    }
    Ok((
        rest,
        (
            Properties {
                raw,
                offset: block_offset,
            },
            summary,
        ),
    ))
}

/// Lazy iterator over a property block: typed properties in wire order. It stops after the first
/// error (an unknown identifier or a malformed value, both `MalformedProperty` at the property's
/// offset; `decode` has already reported either).
#[derive(Debug, Clone)]
pub struct PropertyIter<'a> {
    rest: &'a [u8],
    /// Packet offset of the end of the block.
    end: usize,
    done: bool,
}

impl<'a> Iterator for PropertyIter<'a> {
    type Item = Result<Property<'a>, DecodeError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let offset = self.end.saturating_sub(self.rest.len());
        match next_property(self.rest) {
            Ok(Some((rest, id, value, _))) => {
                self.rest = rest;
                let offset = u32::try_from(offset).unwrap_or(u32::MAX);
                Some(Ok(Property { id, value, offset }))
            }
            Ok(None) => {
                self.done = true;
                None
            }
            Err(_) => {
                self.done = true;
                Some(Err(DecodeError {
                    kind: DecodeErrorKind::MalformedProperty,
                    offset,
                }))
            }
        }
    }
}

impl std::iter::FusedIterator for PropertyIter<'_> {}

impl<'a> Properties<'a> {
    /// The properties in wire order, decoded lazily.
    pub fn iter(&self) -> PropertyIter<'a> {
        PropertyIter {
            rest: self.raw,
            end: self.offset as usize + self.raw.len(),
            done: false,
        }
    }

    /// True when the block holds no property bytes.
    pub fn is_empty(&self) -> bool {
        self.raw.is_empty()
    }

    /// The value of the first property with this identifier.
    pub fn get(&self, id: PropertyId) -> Option<PropertyValue<'a>> {
        self.iter()
            .map_while(Result::ok)
            .find(|p| p.id == id)
            .map(|p| p.value)
    }

    fn get_byte(&self, id: PropertyId) -> Option<u8> {
        match self.get(id)? {
            PropertyValue::Byte(v) => Some(v),
            _ => None,
        }
    }
    fn get_u16(&self, id: PropertyId) -> Option<u16> {
        match self.get(id)? {
            PropertyValue::TwoByteInt(v) => Some(v),
            _ => None,
        }
    }
    fn get_u32(&self, id: PropertyId) -> Option<u32> {
        match self.get(id)? {
            PropertyValue::FourByteInt(v) => Some(v),
            _ => None,
        }
    }
    fn get_str(&self, id: PropertyId) -> Option<MqttStr<'a>> {
        match self.get(id)? {
            PropertyValue::Utf8String(v) => Some(v),
            _ => None,
        }
    }
    fn get_binary(&self, id: PropertyId) -> Option<&'a [u8]> {
        match self.get(id)? {
            PropertyValue::BinaryData(v) => Some(v),
            _ => None,
        }
    }

    /// 0x01 Payload Format Indicator: 0 unspecified bytes, 1 UTF-8.
    pub fn payload_format_indicator(&self) -> Option<u8> {
        self.get_byte(PropertyId::PAYLOAD_FORMAT_INDICATOR)
    }
    /// 0x02 Message Expiry Interval in seconds.
    pub fn message_expiry_interval(&self) -> Option<u32> {
        self.get_u32(PropertyId::MESSAGE_EXPIRY_INTERVAL)
    }
    /// 0x03 Content Type.
    pub fn content_type(&self) -> Option<MqttStr<'a>> {
        self.get_str(PropertyId::CONTENT_TYPE)
    }
    /// 0x08 Response Topic.
    pub fn response_topic(&self) -> Option<MqttStr<'a>> {
        self.get_str(PropertyId::RESPONSE_TOPIC)
    }
    /// 0x09 Correlation Data.
    pub fn correlation_data(&self) -> Option<&'a [u8]> {
        self.get_binary(PropertyId::CORRELATION_DATA)
    }
    /// 0x0B Subscription Identifiers, in wire order (PUBLISH may carry several).
    pub fn subscription_identifiers(&self) -> impl Iterator<Item = u32> + 'a {
        self.iter()
            .map_while(Result::ok)
            .filter_map(|p| match (p.id, p.value) {
                (PropertyId::SUBSCRIPTION_IDENTIFIER, PropertyValue::VarInt(v)) => Some(v),
                _ => None,
            })
    }
    /// 0x11 Session Expiry Interval in seconds.
    pub fn session_expiry_interval(&self) -> Option<u32> {
        self.get_u32(PropertyId::SESSION_EXPIRY_INTERVAL)
    }
    /// 0x12 Assigned Client Identifier.
    pub fn assigned_client_identifier(&self) -> Option<MqttStr<'a>> {
        self.get_str(PropertyId::ASSIGNED_CLIENT_IDENTIFIER)
    }
    /// 0x13 Server Keep Alive in seconds.
    pub fn server_keep_alive(&self) -> Option<u16> {
        self.get_u16(PropertyId::SERVER_KEEP_ALIVE)
    }
    /// 0x15 Authentication Method.
    pub fn authentication_method(&self) -> Option<MqttStr<'a>> {
        self.get_str(PropertyId::AUTHENTICATION_METHOD)
    }
    /// 0x16 Authentication Data.
    pub fn authentication_data(&self) -> Option<&'a [u8]> {
        self.get_binary(PropertyId::AUTHENTICATION_DATA)
    }
    /// 0x17 Request Problem Information (true unless 0).
    pub fn request_problem_information(&self) -> Option<bool> {
        self.get_byte(PropertyId::REQUEST_PROBLEM_INFORMATION)
            .map(|v| v != 0)
    }
    /// 0x18 Will Delay Interval in seconds.
    pub fn will_delay_interval(&self) -> Option<u32> {
        self.get_u32(PropertyId::WILL_DELAY_INTERVAL)
    }
    /// 0x19 Request Response Information (true unless 0).
    pub fn request_response_information(&self) -> Option<bool> {
        self.get_byte(PropertyId::REQUEST_RESPONSE_INFORMATION)
            .map(|v| v != 0)
    }
    /// 0x1A Response Information.
    pub fn response_information(&self) -> Option<MqttStr<'a>> {
        self.get_str(PropertyId::RESPONSE_INFORMATION)
    }
    /// 0x1C Server Reference.
    pub fn server_reference(&self) -> Option<MqttStr<'a>> {
        self.get_str(PropertyId::SERVER_REFERENCE)
    }
    /// 0x1F Reason String.
    pub fn reason_string(&self) -> Option<MqttStr<'a>> {
        self.get_str(PropertyId::REASON_STRING)
    }
    /// 0x21 Receive Maximum.
    pub fn receive_maximum(&self) -> Option<u16> {
        self.get_u16(PropertyId::RECEIVE_MAXIMUM)
    }
    /// 0x22 Topic Alias Maximum.
    pub fn topic_alias_maximum(&self) -> Option<u16> {
        self.get_u16(PropertyId::TOPIC_ALIAS_MAXIMUM)
    }
    /// 0x23 Topic Alias.
    pub fn topic_alias(&self) -> Option<u16> {
        self.get_u16(PropertyId::TOPIC_ALIAS)
    }
    /// 0x24 Maximum QoS (0 or 1; absent means 2).
    pub fn maximum_qos(&self) -> Option<u8> {
        self.get_byte(PropertyId::MAXIMUM_QOS)
    }
    /// 0x25 Retain Available (true unless 0).
    pub fn retain_available(&self) -> Option<bool> {
        self.get_byte(PropertyId::RETAIN_AVAILABLE).map(|v| v != 0)
    }
    /// 0x26 User Properties as (name, value) pairs, in wire order.
    pub fn user_properties(&self) -> impl Iterator<Item = (MqttStr<'a>, MqttStr<'a>)> + 'a {
        self.iter()
            .map_while(Result::ok)
            .filter_map(|p| match p.value {
                PropertyValue::Utf8StringPair(name, value) => Some((name, value)),
                _ => None,
            })
    }
    /// 0x27 Maximum Packet Size in bytes.
    pub fn maximum_packet_size(&self) -> Option<u32> {
        self.get_u32(PropertyId::MAXIMUM_PACKET_SIZE)
    }
    /// 0x28 Wildcard Subscription Available (true unless 0).
    pub fn wildcard_subscription_available(&self) -> Option<bool> {
        self.get_byte(PropertyId::WILDCARD_SUBSCRIPTION_AVAILABLE)
            .map(|v| v != 0)
    }
    /// 0x29 Subscription Identifier Available (true unless 0).
    pub fn subscription_identifier_available(&self) -> Option<bool> {
        self.get_byte(PropertyId::SUBSCRIPTION_IDENTIFIER_AVAILABLE)
            .map(|v| v != 0)
    }
    /// 0x2A Shared Subscription Available (true unless 0).
    pub fn shared_subscription_available(&self) -> Option<bool> {
        self.get_byte(PropertyId::SHARED_SUBSCRIPTION_AVAILABLE)
            .map(|v| v != 0)
    }
}

impl<'a> IntoIterator for &Properties<'a> {
    type Item = Result<Property<'a>, DecodeError>;
    type IntoIter = PropertyIter<'a>;
    fn into_iter(self) -> PropertyIter<'a> {
        self.iter()
    }
}

impl PropertyValue<'_> {
    /// The wire type this value is encoded with.
    pub fn wire_type(&self) -> PropertyWireType {
        match self {
            PropertyValue::Byte(_) => W::Byte,
            PropertyValue::TwoByteInt(_) => W::TwoByteInt,
            PropertyValue::FourByteInt(_) => W::FourByteInt,
            PropertyValue::VarInt(_) => W::VarInt,
            PropertyValue::Utf8String(_) => W::Utf8String,
            PropertyValue::Utf8StringPair(..) => W::Utf8StringPair,
            PropertyValue::BinaryData(_) => W::BinaryData,
        }
    }
}
