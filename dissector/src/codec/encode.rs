//! The encoder: the mirror of the decoder, for tests and tools that build traffic. It writes
//! minimal variable byte integers, so `encode(decode(x))` reproduces any canonical packet `x`
//! byte for byte. Property blocks and filter lists are carried as bytes (the decoder's
//! [`Properties`] and filter views); [`PropertiesBuilder`], [`SubscribeFiltersBuilder`] and
//! [`UnsubscribeFiltersBuilder`] write them.

use super::types::{
    MqttStr, Packet, PacketType, Properties, PropertyId, PropertyValue, ProtocolVersion,
    ReasonOnly, SubscribeFilters, SubscriptionOptions, UnsubscribeFilters,
};
use crate::framing::MAX_REMAINING_LENGTH;

/// Why a packet cannot be encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum EncodeError {
    /// A string or binary field is longer than its two-byte length prefix can say.
    #[error("{field} is {len} bytes, over the 65,535 a length prefix allows")]
    FieldTooLong {
        /// Which field.
        field: &'static str,
        /// Its length in bytes.
        len: usize,
    },
    /// The remaining length (or a property length) would exceed 268,435,455.
    #[error("length {0} over the 268,435,455 a variable byte integer can carry")]
    TooLarge(usize),
    /// A PUBLISH with QoS > 0 has no packet identifier.
    #[error("PUBLISH with QoS > 0 needs a packet identifier")]
    MissingPacketId,
    /// A PUBLISH with QoS 0 has a packet identifier.
    #[error("PUBLISH with QoS 0 has no packet identifier")]
    UnexpectedPacketId,
    /// Properties without a reason code (the short forms omit properties first).
    #[error("properties need a reason code before them")]
    PropertiesWithoutReasonCode,
    /// A field or packet the chosen protocol version does not have.
    #[error("{0} does not exist before MQTT 5.0")]
    NotInVersion(&'static str),
    /// A property value whose wire type is not the property's.
    #[error("property 0x{0:02X} has a value of the wrong wire type")]
    WrongPropertyType(u8),
}

/// Encodes `packet` as `version` lays it out and appends it to `out` (CONNECT uses its own
/// protocol level). On error `out` is left as it was.
///
/// Before 5.0, properties and reason codes must be absent; in 5.0 a `None` property block of a
/// packet that requires one is written as an empty block. CONNECT flags: the reserved, clean
/// start bits and (without a will) the will QoS / retain bits come from `flags`; the will, user
/// name and password bits follow the fields present, will QoS / retain come from the [`Will`].
///
/// ```
/// use dissector::codec::{decode, encode, Packet, ProtocolVersion, Publish, MqttStr};
/// let publish = Packet::Publish(Publish {
///     dup: false, qos: 1, retain: false, topic: MqttStr(b"a/b"), packet_id: Some(7),
///     properties: None, payload: b"hi",
/// });
/// let mut out = Vec::new();
/// encode(&publish, ProtocolVersion::V3_1_1, &mut out).unwrap();
/// assert_eq!(out, [0x32, 0x09, 0, 3, b'a', b'/', b'b', 0, 7, b'h', b'i']);
/// assert_eq!(decode(&out, ProtocolVersion::V3_1_1).unwrap().packet, publish);
/// ```
///
/// [`Will`]: super::Will
pub fn encode(
    packet: &Packet<'_>,
    version: ProtocolVersion,
    out: &mut Vec<u8>,
) -> Result<(), EncodeError> {
    let start = out.len();
    let result = encode_into(packet, version, out, start);
    if result.is_err() {
        out.truncate(start);
    }
    result
}

fn encode_into(
    packet: &Packet<'_>,
    version: ProtocolVersion,
    out: &mut Vec<u8>,
    start: usize,
) -> Result<(), EncodeError> {
    let first_byte = first_byte(packet);
    write_body(packet, version, out)?;
    let body_len = out.len() - start;
    let remaining_length = u32::try_from(body_len)
        .ok()
        .filter(|&len| len <= MAX_REMAINING_LENGTH)
        .ok_or(EncodeError::TooLarge(body_len))?;
    // Write the fixed header after the body, then rotate it to the front: one pass, and the
    // remaining length is known when it is written.
    out.push(first_byte);
    write_var_int(out, remaining_length)?;
    let header_len = out.len() - start - body_len;
    out[start..].rotate_right(header_len);
    Ok(())
}

/// The first byte: type in the high nibble, the flags the spec requires in the low one.
fn first_byte(packet: &Packet<'_>) -> u8 {
    let packet_type = packet.packet_type();
    let flags = match packet {
        Packet::Publish(p) => (u8::from(p.dup) << 3) | ((p.qos & 0x03) << 1) | u8::from(p.retain),
        Packet::PubRel(_) | Packet::Subscribe(_) | Packet::Unsubscribe(_) => 0b0010,
        _ => 0,
    };
    (packet_type.id() << 4) | flags
}

fn write_body(
    packet: &Packet<'_>,
    version: ProtocolVersion,
    out: &mut Vec<u8>,
) -> Result<(), EncodeError> {
    let v5 = version.is_v5();
    match packet {
        Packet::Connect(c) => {
            let v5 = c.version().is_v5();
            write_bytes(out, c.protocol_name.0, "protocol name")?;
            out.push(c.protocol_level);
            let mut flags = c.flags.0 & 0x03;
            match &c.will {
                Some(will) => {
                    flags |= 0x04 | ((will.qos & 0x03) << 3) | (u8::from(will.retain) << 5)
                }
                // Without a will, keep the will QoS / retain bits as given (a decoded packet may
                // carry them, which is reported; encoding keeps them for a faithful round trip).
                None => flags |= c.flags.0 & 0x38,
            }
            if c.password.is_some() {
                flags |= 0x40;
            }
            if c.username.is_some() {
                flags |= 0x80;
            }
            out.push(flags);
            out.extend_from_slice(&c.keep_alive.to_be_bytes());
            write_properties(out, c.properties.as_ref(), v5, "CONNECT properties")?;
            write_bytes(out, c.client_id.0, "client identifier")?;
            if let Some(will) = &c.will {
                write_properties(out, will.properties.as_ref(), v5, "will properties")?;
                write_bytes(out, will.topic.0, "will topic")?;
                write_bytes(out, will.payload, "will payload")?;
            }
            if let Some(username) = c.username {
                write_bytes(out, username.0, "user name")?;
            }
            if let Some(password) = c.password {
                write_bytes(out, password, "password")?;
            }
        }
        Packet::ConnAck(c) => {
            out.push((c.ack_flags & 0xfe) | u8::from(c.session_present));
            out.push(c.reason_code);
            write_properties(out, c.properties.as_ref(), v5, "CONNACK properties")?;
        }
        Packet::Publish(p) => {
            write_bytes(out, p.topic.0, "topic name")?;
            match (p.qos, p.packet_id) {
                (0, None) => {}
                (0, Some(_)) => return Err(EncodeError::UnexpectedPacketId),
                (_, Some(id)) => out.extend_from_slice(&id.to_be_bytes()),
                (_, None) => return Err(EncodeError::MissingPacketId),
            }
            write_properties(out, p.properties.as_ref(), v5, "PUBLISH properties")?;
            out.extend_from_slice(p.payload);
        }
        Packet::PubAck(a) | Packet::PubRec(a) | Packet::PubRel(a) | Packet::PubComp(a) => {
            out.extend_from_slice(&a.packet_id.to_be_bytes());
            write_reason_and_properties(out, a.reason_code, a.properties.as_ref(), v5)?;
        }
        Packet::Subscribe(s) => {
            out.extend_from_slice(&s.packet_id.to_be_bytes());
            write_properties(out, s.properties.as_ref(), v5, "SUBSCRIBE properties")?;
            out.extend_from_slice(s.filters.raw);
        }
        Packet::SubAck(s) => {
            out.extend_from_slice(&s.packet_id.to_be_bytes());
            write_properties(out, s.properties.as_ref(), v5, "SUBACK properties")?;
            out.extend_from_slice(s.reason_codes);
        }
        Packet::Unsubscribe(u) => {
            out.extend_from_slice(&u.packet_id.to_be_bytes());
            write_properties(out, u.properties.as_ref(), v5, "UNSUBSCRIBE properties")?;
            out.extend_from_slice(u.filters.raw);
        }
        Packet::UnsubAck(u) => {
            out.extend_from_slice(&u.packet_id.to_be_bytes());
            if v5 {
                write_properties(out, u.properties.as_ref(), v5, "UNSUBACK properties")?;
                out.extend_from_slice(u.reason_codes);
            } else if u.properties.is_some() || !u.reason_codes.is_empty() {
                return Err(EncodeError::NotInVersion("UNSUBACK reason codes"));
            }
        }
        Packet::PingReq | Packet::PingResp => {}
        Packet::Disconnect(ReasonOnly {
            reason_code,
            properties,
        }) => {
            write_reason_and_properties(out, *reason_code, properties.as_ref(), v5)?;
        }
        Packet::Auth(ReasonOnly {
            reason_code,
            properties,
        }) => {
            if !v5 {
                return Err(EncodeError::NotInVersion("AUTH"));
            }
            write_reason_and_properties(out, *reason_code, properties.as_ref(), v5)?;
        }
        Packet::Reserved { body, .. } => out.extend_from_slice(body),
    }
    Ok(())
}

/// The v5 short forms (§3.4.2.1, §3.14.2.1, §3.15.2.1): nothing, a reason code, or a reason code
/// and properties. Before 5.0 neither may be present.
fn write_reason_and_properties(
    out: &mut Vec<u8>,
    reason_code: Option<u8>,
    properties: Option<&Properties<'_>>,
    v5: bool,
) -> Result<(), EncodeError> {
    match (reason_code, properties) {
        (None, None) => Ok(()),
        _ if !v5 => Err(EncodeError::NotInVersion("reason codes and properties")),
        (Some(code), None) => {
            out.push(code);
            Ok(())
        }
        (Some(code), Some(properties)) => {
            out.push(code);
            write_properties(out, Some(properties), true, "properties")
        }
        (None, Some(_)) => Err(EncodeError::PropertiesWithoutReasonCode),
    }
}

/// A property block (§2.2.2): in v5 its length and bytes (an empty block for `None`); before
/// 5.0 nothing, and properties are an error.
fn write_properties(
    out: &mut Vec<u8>,
    properties: Option<&Properties<'_>>,
    v5: bool,
    what: &'static str,
) -> Result<(), EncodeError> {
    match (v5, properties) {
        (true, Some(p)) => {
            let len = u32::try_from(p.raw.len()).map_err(|_| EncodeError::TooLarge(p.raw.len()))?;
            write_var_int(out, len)?;
            out.extend_from_slice(p.raw);
            Ok(())
        }
        (true, None) => {
            out.push(0);
            Ok(())
        }
        (false, Some(_)) => Err(EncodeError::NotInVersion(what)),
        (false, None) => Ok(()),
    }
}

/// Writes a two-byte length and the bytes (UTF-8 string §1.5.4, binary data §1.5.6).
fn write_bytes(out: &mut Vec<u8>, bytes: &[u8], field: &'static str) -> Result<(), EncodeError> {
    let len = u16::try_from(bytes.len()).map_err(|_| EncodeError::FieldTooLong {
        field,
        len: bytes.len(),
    })?;
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(bytes);
    Ok(())
}

/// Writes `value` as a minimal variable byte integer (§1.5.5).
pub fn write_var_int(out: &mut Vec<u8>, value: u32) -> Result<(), EncodeError> {
    if value > MAX_REMAINING_LENGTH {
        return Err(EncodeError::TooLarge(value as usize));
    }
    let mut rest = value;
    loop {
        let digit = (rest & 0x7f) as u8;
        rest >>= 7;
        if rest == 0 {
            out.push(digit);
            return Ok(());
        }
        out.push(digit | 0x80);
    }
}

/// Builds the bytes of an MQTT 5 property block (without its length field, which the encoder
/// writes); [`PropertiesBuilder::properties`] gives the [`Properties`] view to put in a packet.
///
/// ```
/// use dissector::codec::{PropertiesBuilder, PropertyId, PropertyValue};
/// let mut b = PropertiesBuilder::new();
/// b.push(PropertyId::TOPIC_ALIAS, PropertyValue::TwoByteInt(3)).unwrap();
/// b.user_property("k", "v").unwrap();
/// assert_eq!(b.properties().topic_alias(), Some(3));
/// assert_eq!(b.as_bytes(), [0x23, 0, 3, 0x26, 0, 1, b'k', 0, 1, b'v']);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PropertiesBuilder {
    buf: Vec<u8>,
}

impl PropertiesBuilder {
    /// An empty block.
    pub fn new() -> PropertiesBuilder {
        PropertiesBuilder::default()
    }

    /// Appends one property; the value must have the property's wire type (unknown identifiers
    /// take the value's own type, so tests can write them).
    pub fn push(
        &mut self,
        id: PropertyId,
        value: PropertyValue<'_>,
    ) -> Result<&mut Self, EncodeError> {
        if id.wire_type().is_some_and(|t| t != value.wire_type()) {
            return Err(EncodeError::WrongPropertyType(id.0));
        }
        let mark = self.buf.len();
        let result = self.write(id, value);
        if result.is_err() {
            self.buf.truncate(mark);
        }
        result.map(|()| self)
    }

    fn write(&mut self, id: PropertyId, value: PropertyValue<'_>) -> Result<(), EncodeError> {
        let buf = &mut self.buf;
        buf.push(id.0);
        match value {
            PropertyValue::Byte(v) => buf.push(v),
            PropertyValue::TwoByteInt(v) => buf.extend_from_slice(&v.to_be_bytes()),
            PropertyValue::FourByteInt(v) => buf.extend_from_slice(&v.to_be_bytes()),
            PropertyValue::VarInt(v) => write_var_int(buf, v)?,
            PropertyValue::Utf8String(s) => write_bytes(buf, s.0, "property string")?,
            PropertyValue::Utf8StringPair(name, value) => {
                write_bytes(buf, name.0, "user property name")?;
                write_bytes(buf, value.0, "user property value")?;
            }
            PropertyValue::BinaryData(b) => write_bytes(buf, b, "property binary data")?,
        }
        Ok(())
    }

    /// Appends a User Property (0x26).
    pub fn user_property(&mut self, name: &str, value: &str) -> Result<&mut Self, EncodeError> {
        self.push(
            PropertyId::USER_PROPERTY,
            PropertyValue::Utf8StringPair(MqttStr(name.as_bytes()), MqttStr(value.as_bytes())),
        )
    }

    /// Appends raw bytes as they are (for tests of malformed or unknown properties).
    pub fn push_raw(&mut self, bytes: &[u8]) -> &mut Self {
        self.buf.extend_from_slice(bytes);
        self
    }

    /// The block's bytes so far.
    pub fn as_bytes(&self) -> &[u8] {
        &self.buf
    }

    /// A [`Properties`] view of the block, to put into a packet for [`encode`].
    pub fn properties(&self) -> Properties<'_> {
        Properties {
            raw: &self.buf,
            offset: 0,
        }
    }
}

/// Builds the filter list of a SUBSCRIBE: (topic filter, options) entries (§3.8.3).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SubscribeFiltersBuilder {
    buf: Vec<u8>,
}

impl SubscribeFiltersBuilder {
    /// An empty list.
    pub fn new() -> SubscribeFiltersBuilder {
        SubscribeFiltersBuilder::default()
    }
    /// Appends one filter with its options byte.
    pub fn push(
        &mut self,
        filter: &[u8],
        options: SubscriptionOptions,
    ) -> Result<&mut Self, EncodeError> {
        write_bytes(&mut self.buf, filter, "topic filter")?;
        self.buf.push(options.0);
        Ok(self)
    }
    /// A [`SubscribeFilters`] view of the list, to put into a SUBSCRIBE for [`encode`].
    pub fn filters(&self) -> SubscribeFilters<'_> {
        SubscribeFilters {
            raw: &self.buf,
            offset: 0,
        }
    }
}

/// Builds the filter list of an UNSUBSCRIBE (§3.10.3).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UnsubscribeFiltersBuilder {
    buf: Vec<u8>,
}

impl UnsubscribeFiltersBuilder {
    /// An empty list.
    pub fn new() -> UnsubscribeFiltersBuilder {
        UnsubscribeFiltersBuilder::default()
    }
    /// Appends one filter.
    pub fn push(&mut self, filter: &[u8]) -> Result<&mut Self, EncodeError> {
        write_bytes(&mut self.buf, filter, "topic filter")?;
        Ok(self)
    }
    /// An [`UnsubscribeFilters`] view of the list, to put into an UNSUBSCRIBE for [`encode`].
    pub fn filters(&self) -> UnsubscribeFilters<'_> {
        UnsubscribeFilters {
            raw: &self.buf,
            offset: 0,
        }
    }
}

impl PacketType {
    /// The fixed-header flags the spec requires for this type (MQTT 5.0 §2.1.3); PUBLISH's
    /// flags carry DUP / QoS / RETAIN, so this is 0 for it.
    pub fn required_flags(self) -> u8 {
        match self {
            PacketType::PubRel | PacketType::Subscribe | PacketType::Unsubscribe => 0b0010,
            _ => 0,
        }
    }
}
