//! The decoder: one `parse_<packet>` per control packet, in the order of the spec's variable
//! header and payload tables (MQTT 5.0 §3.1–§3.15, MQTT 3.1.1 §3.1–§3.14).

use super::properties::{PropertySummary, parse_properties};
use super::reason::is_known_reason_code;
use super::types::{
    ConnAck, Connect, ConnectFlags, DecodeError, DecodeErrorKind, Decoded, HeaderSizes, MqttStr,
    Packet, PacketType, Properties, PropertyId, ProtocolVersion, PubAckLike, Publish, ReasonOnly,
    SubAck, Subscribe, SubscribeFilters, SubscriptionOptions, UnsubAck, Unsubscribe,
    UnsubscribeFilters, WarningKind, Will,
};
use super::wire::{
    Cx, PResult, WireError, byte, length_prefixed, plain_topic, to_decode_error, two_byte_int,
};
use crate::framing::{FixedHeaderInfo, FramingError, read_fixed_header};

/// Decodes one whole control packet. `bytes` starts at the fixed header; bytes after the packet
/// (as the remaining length says) are ignored. `version` is the connection's negotiated version
/// (CONNECT carries its own and ignores it).
///
/// The body is cut to exactly `remaining_length` bytes and parsed as complete input: a field
/// running past it is [`DecodeErrorKind::Truncated`]. Only `bytes` ending before the packet does
/// gives [`DecodeErrorKind::Incomplete`]. Decoding never allocates.
///
/// ```
/// use dissector::codec::{decode, Packet, ProtocolVersion};
/// // PUBLISH QoS 0, topic "a/b", payload "hi"
/// let bytes = [0x30, 0x07, 0x00, 0x03, b'a', b'/', b'b', b'h', b'i'];
/// let decoded = decode(&bytes, ProtocolVersion::V3_1_1).unwrap();
/// let Packet::Publish(publish) = decoded.packet else { panic!() };
/// assert_eq!(publish.topic.as_str(), Some("a/b"));
/// assert_eq!(publish.payload, b"hi");
/// assert_eq!(decoded.sizes.total(), 9);
/// ```
pub fn decode(bytes: &[u8], version: ProtocolVersion) -> Result<Decoded<'_>, DecodeError> {
    let header = fixed_header(bytes)?;
    let packet_len = header.packet_len();
    let Some(packet) = usize::try_from(packet_len)
        .ok()
        .and_then(|len| bytes.get(..len))
    else {
        let needed = usize::try_from(packet_len)
            .ok()
            .map(|len| len - bytes.len());
        return Err(DecodeError {
            kind: DecodeErrorKind::Incomplete { needed },
            offset: bytes.len(),
        });
    };
    decode_body(header, packet, version, packet_len)
}

/// Decodes the header fields of a packet of which only the first bytes are at hand (the capture
/// layer skipped a payload over its size limit). `prefix` starts at the fixed header and holds
/// fewer than `packet_len` bytes (the packet's full length, fixed header included; with all of
/// them this is [`decode`]).
///
/// Every field that lies wholly inside `prefix` is decoded; the last variable-size field may be
/// cut: the PUBLISH payload, the will payload or password of a CONNECT, the reason-code list of
/// a SUBACK / UNSUBACK are the bytes present, and the filter list of a SUBSCRIBE / UNSUBSCRIBE
/// holds the whole filters present. `sizes` are those of the full packet (the payload counts the
/// missing bytes). A field before those that does not fit gives `Incomplete` with the bytes still
/// missing, and so does a packet type without a payload (CONNACK, the PUBACK family, PINGREQ,
/// PINGRESP, DISCONNECT, AUTH), whose layout depends on its full length. Nothing is reported as
/// trailing or as an empty filter list.
pub fn decode_partial(
    prefix: &[u8],
    packet_len: u64,
    version: ProtocolVersion,
) -> Result<Decoded<'_>, DecodeError> {
    let header = fixed_header(prefix)?;
    if header.packet_len() != packet_len {
        // The length the caller framed must be the one the fixed header claims.
        return Err(DecodeError {
            kind: DecodeErrorKind::InvalidValue,
            offset: 1,
        });
    }
    if prefix.len() as u64 >= packet_len {
        return decode(prefix, version);
    }
    decode_body(header, prefix, version, packet_len)
}

/// Decodes a packet when the connection's protocol version is unknown (the capture started
/// after its CONNECT) and says which version's layout fits it.
///
/// CONNECT gives its own level; AUTH exists only in 5.0; PINGREQ / PINGRESP and the reserved
/// type 0 are the same in every version (3.1.1 is returned). Any other packet is decoded with
/// both the 3.1.1 and the 5.0 layout: the one that decodes wins; when both do, the one with
/// fewer warnings (property values out of range not counted: they are about values, not the
/// layout); on a tie 5.0 only if it found a non-empty property block that validated
/// (strong evidence: random bytes seldom form one), else 3.1.1. Some packets are genuinely
/// ambiguous (a v5 PUBLISH without properties is a valid 3.1.1 PUBLISH whose payload starts with
/// 0x00): decide a connection's version from several packets, not one.
pub fn decode_unknown_version(bytes: &[u8]) -> Result<(Decoded<'_>, ProtocolVersion), DecodeError> {
    let header = fixed_header(bytes)?;
    match PacketType::from_id(header.type_id()) {
        PacketType::Connect => {
            let decoded = decode(bytes, ProtocolVersion::V3_1_1)?;
            let version = match &decoded.packet {
                Packet::Connect(c) => connect_layout(c.protocol_level),
                _ => ProtocolVersion::V3_1_1,
            };
            Ok((decoded, version))
        }
        PacketType::Auth => Ok((decode(bytes, ProtocolVersion::V5)?, ProtocolVersion::V5)),
        PacketType::PingReq | PacketType::PingResp | PacketType::Reserved => Ok((
            decode(bytes, ProtocolVersion::V3_1_1)?,
            ProtocolVersion::V3_1_1,
        )),
        _ => match (
            decode(bytes, ProtocolVersion::V3_1_1),
            decode(bytes, ProtocolVersion::V5),
        ) {
            (Ok(v3), Ok(v5)) => {
                // A property value out of range says nothing about the layout (the block
                // itself parsed): it must not push a real v5 packet to the 3.1.1 reading.
                let findings = |d: &Decoded<'_>| {
                    d.warnings
                        .iter()
                        .filter(|w| !matches!(w.kind, WarningKind::PropertyValueOutOfRange(_)))
                        .count()
                        + usize::from(d.warnings.dropped)
                };
                let v5_has_properties = v5.packet.properties().is_some_and(|p| !p.is_empty());
                if findings(&v5) < findings(&v3)
                    || (findings(&v5) == findings(&v3) && v5_has_properties)
                {
                    Ok((v5, ProtocolVersion::V5))
                } else {
                    Ok((v3, ProtocolVersion::V3_1_1))
                }
            }
            (Ok(v3), Err(_)) => Ok((v3, ProtocolVersion::V3_1_1)),
            (Err(_), Ok(v5)) => Ok((v5, ProtocolVersion::V5)),
            (Err(e), Err(_)) => Err(e),
        },
    }
}

/// Reads the fixed header, mapping framing's answers onto decode errors.
#[inline]
fn fixed_header(bytes: &[u8]) -> Result<FixedHeaderInfo, DecodeError> {
    // Hot path: most packets are under 128 bytes of body, with a one-byte remaining length.
    if let [first_byte, remaining_length @ 0..=0x7f, ..] = *bytes {
        return Ok(FixedHeaderInfo {
            first_byte,
            remaining_length: u32::from(remaining_length),
            header_len: 2,
            non_minimal_length: false,
        });
    }
    match read_fixed_header(bytes) {
        Ok(Some(header)) => Ok(header),
        Ok(None) => Err(DecodeError {
            kind: DecodeErrorKind::Incomplete { needed: None },
            offset: bytes.len(),
        }),
        // The 4th remaining-length byte (offset 4) had its continuation bit set.
        Err(FramingError::RemainingLengthTooLong) => Err(DecodeError {
            kind: DecodeErrorKind::RemainingLengthTooLong,
            offset: 4,
        }),
    }
}

/// The layout a CONNECT protocol level selects: 5 → 5.0, 3 → 3.1, anything else → 3.1.1.
/// Bit 7 is masked off: bridges (mosquitto's `try_private`) send 0x83 / 0x84.
fn connect_layout(level: u8) -> ProtocolVersion {
    match level & 0x7f {
        5 => ProtocolVersion::V5,
        3 => ProtocolVersion::V3_1,
        _ => ProtocolVersion::V3_1_1,
    }
}

/// Decodes the body of `avail` (the packet, or a prefix of it when shorter than `packet_len`).
fn decode_body(
    header: FixedHeaderInfo,
    avail: &[u8],
    version: ProtocolVersion,
    packet_len: u64,
) -> Result<Decoded<'_>, DecodeError> {
    let partial = (avail.len() as u64) < packet_len;
    let incomplete = DecodeError {
        kind: DecodeErrorKind::Incomplete {
            needed: usize::try_from(packet_len.saturating_sub(avail.len() as u64)).ok(),
        },
        offset: avail.len(),
    };
    let packet_type = PacketType::from_id(header.type_id());
    // Packets without a payload are decoded whole or not at all: the short forms of the
    // acknowledgements, DISCONNECT and AUTH are told apart by the remaining length alone.
    let has_payload = matches!(
        packet_type,
        PacketType::Connect
            | PacketType::Publish
            | PacketType::Subscribe
            | PacketType::SubAck
            | PacketType::Unsubscribe
            | PacketType::UnsubAck
            | PacketType::Reserved
    ) || (packet_type == PacketType::Auth && !version.is_v5());
    if partial && !has_payload {
        return Err(incomplete);
    }
    let missing =
        usize::try_from(packet_len.saturating_sub(avail.len() as u64)).unwrap_or(usize::MAX);
    let mut cx = Cx::new(avail.len(), version, missing);
    let body = avail
        .get(usize::from(header.header_len)..)
        .unwrap_or_default();
    if header.non_minimal_length {
        cx.warn_at(WarningKind::NonMinimalVarInt, 1);
    }
    check_fixed_header_flags(&mut cx, header);

    let parsed = match packet_type {
        PacketType::Connect => parse_connect(&mut cx, body),
        PacketType::ConnAck => parse_connack(&mut cx, body),
        PacketType::Publish => parse_publish(&mut cx, body, header.flags()),
        PacketType::PubAck => parse_puback_like(&mut cx, body, PacketType::PubAck),
        PacketType::PubRec => parse_puback_like(&mut cx, body, PacketType::PubRec),
        PacketType::PubRel => parse_puback_like(&mut cx, body, PacketType::PubRel),
        PacketType::PubComp => parse_puback_like(&mut cx, body, PacketType::PubComp),
        PacketType::Subscribe => parse_subscribe(&mut cx, body),
        PacketType::SubAck => parse_suback(&mut cx, body),
        PacketType::Unsubscribe => parse_unsubscribe(&mut cx, body),
        PacketType::UnsubAck => parse_unsuback(&mut cx, body),
        PacketType::PingReq => Ok((body, Packet::PingReq)),
        PacketType::PingResp => Ok((body, Packet::PingResp)),
        PacketType::Disconnect => parse_reason_only(&mut cx, body, PacketType::Disconnect),
        PacketType::Auth if version.is_v5() => parse_reason_only(&mut cx, body, PacketType::Auth),
        // Type 0 always, type 15 before MQTT 5: reserved, kept with its body.
        PacketType::Auth | PacketType::Reserved => {
            cx.mark_payload(body);
            Ok((
                &body[body.len()..],
                Packet::Reserved {
                    type_id: header.type_id(),
                    body,
                },
            ))
        }
    };
    let (rest, packet) = parsed.map_err(|e| {
        let err = to_decode_error(e, avail.len());
        match err.kind {
            // In a prefix, a field that does not fit may simply lie in the bytes not captured.
            DecodeErrorKind::Truncated if partial => incomplete,
            _ => err,
        }
    })?;
    if !rest.is_empty() && !partial {
        cx.warn(WarningKind::TrailingBytes, rest);
    }

    // HeaderSizes: properties are every property block (length field included, will
    // properties too); payload starts at the mark (trailing bytes count as payload); the
    // variable header is the rest of the remaining length.
    let (payload_region, props_before_payload) =
        cx.payload_mark.unwrap_or((rest.len(), cx.property_bytes));
    let properties = u64::from(cx.property_bytes);
    let payload = (payload_region as u64 + missing as u64)
        .saturating_sub(properties - u64::from(props_before_payload).min(properties));
    let variable = u64::from(header.remaining_length)
        .saturating_sub(payload)
        .saturating_sub(properties);
    let sizes = HeaderSizes {
        fixed: header.header_len,
        variable: u32::try_from(variable).unwrap_or(u32::MAX),
        properties: cx.property_bytes,
        payload: u32::try_from(payload).unwrap_or(u32::MAX),
    };
    Ok(Decoded {
        header,
        packet,
        sizes,
        warnings: cx.warnings,
    })
}

/// Checks the fixed-header flags against the values the spec requires (MQTT 5.0 §2.1.3).
fn check_fixed_header_flags(cx: &mut Cx, header: FixedHeaderInfo) {
    let flags = header.flags();
    match PacketType::from_id(header.type_id()) {
        PacketType::Publish => {
            let qos = (flags >> 1) & 0x03;
            if qos == 3 {
                cx.warn_at(WarningKind::Qos3, 0);
            }
            // §3.3.1.1: DUP must be 0 for QoS 0 messages.
            if flags & 0x08 != 0 && qos == 0 {
                cx.warn_at(WarningKind::DupOnQos0, 0);
            }
        }
        PacketType::PubRel | PacketType::Subscribe | PacketType::Unsubscribe => {
            if flags != 0b0010 {
                cx.warn_at(WarningKind::ReservedFlags, 0);
            }
        }
        PacketType::Reserved => {}
        PacketType::Auth if !cx.version.is_v5() => {}
        _ => {
            if flags != 0 {
                cx.warn_at(WarningKind::ReservedFlags, 0);
            }
        }
    }
}

/// A property block of a v5 packet, `None` before 5.0.
fn properties_if_v5<'a>(
    cx: &mut Cx,
    i: &'a [u8],
    packet_type: PacketType,
) -> PResult<'a, (Option<Properties<'a>>, PropertySummary)> {
    if cx.version.is_v5() {
        let (i, (properties, summary)) = parse_properties(cx, i, packet_type, false)?;
        Ok((i, (Some(properties), summary)))
    } else {
        Ok((i, (None, PropertySummary::default())))
    }
}

/// A packet identifier; 0 is reported (MQTT 5.0 §2.2.1: it must be non-zero).
#[inline]
fn packet_id<'a>(cx: &mut Cx, i: &'a [u8]) -> PResult<'a, u16> {
    let (rest, id) = two_byte_int(i)?;
    if id == 0 {
        cx.warn(WarningKind::PacketIdZero, i);
    }
    Ok((rest, id))
}

/// A reason code; one not defined for `packet_type` is reported.
#[inline]
fn reason_code<'a>(cx: &mut Cx, i: &'a [u8], packet_type: PacketType) -> PResult<'a, u8> {
    let (rest, code) = byte(i)?;
    if !is_known_reason_code(packet_type, cx.version, code) {
        cx.warn(WarningKind::UnknownReasonCode(code), i);
    }
    Ok((rest, code))
}

/// A list of reason codes filling the rest of the body, each checked.
fn reason_codes<'a>(cx: &mut Cx, i: &'a [u8], packet_type: PacketType) -> &'a [u8] {
    let start = cx.offset(i);
    for (k, &code) in i.iter().enumerate() {
        if !is_known_reason_code(packet_type, cx.version, code) {
            cx.warn_at(WarningKind::UnknownReasonCode(code), start + k as u32);
        }
    }
    i
}

/// A topic name (PUBLISH, will): a UTF-8 string without wildcards (MQTT 5.0 §4.7.3).
#[inline]
fn topic_name<'a>(cx: &mut Cx, i: &'a [u8]) -> PResult<'a, MqttStr<'a>> {
    let (rest, bytes) = length_prefixed(i)?;
    let topic = MqttStr(bytes);
    // Hot path: one pass decides that a topic needs no closer look.
    if plain_topic(bytes) {
        return Ok((rest, topic));
    }
    cx.check_string(bytes, cx.offset(i) + 2);
    if let Some(at) = topic.0.iter().position(|&b| b == b'+' || b == b'#') {
        cx.warn_at(
            WarningKind::WildcardInTopicName,
            cx.offset(i) + 2 + at as u32,
        );
    }
    Ok((rest, topic))
}

/// Binary data (§1.5.6); in a prefix (`decode_partial`) a value cut by the end of the input is
/// the bytes present.
#[inline]
fn binary_or_cut<'a>(cx: &Cx, i: &'a [u8]) -> PResult<'a, &'a [u8]> {
    match length_prefixed(i) {
        Ok(done) => Ok(done),
        Err(e) if cx.partial => {
            let (data, _) = two_byte_int(i).map_err(|_| e)?;
            Ok((&data[data.len()..], data))
        }
        Err(e) => Err(e),
    }
}

/// CONNECT (MQTT 5.0 §3.1; 3.1.1 §3.1; 3.1 §3.1). Reads its own protocol level.
fn parse_connect<'a>(cx: &mut Cx, i: &'a [u8]) -> PResult<'a, Packet<'a>> {
    let name_at = i;
    let (i, protocol_name) = length_prefixed(i)?;
    let (i, protocol_level) = byte(i)?;
    let known = matches!(
        (protocol_name, protocol_level & 0x7f),
        (b"MQIsdp", 3) | (b"MQTT", 4) | (b"MQTT", 5)
    );
    if !known {
        cx.warn(WarningKind::UnknownProtocol, name_at);
    }
    cx.version = connect_layout(protocol_level);

    let flags_at = i;
    let (i, flags) = byte(i)?;
    let flags = ConnectFlags(flags);
    // §3.1.2.3: the reserved bit must be 0.
    if flags.reserved() {
        cx.warn(WarningKind::ConnectReservedFlag, flags_at);
    }
    // §3.1.2.6/7: without a will, will QoS and will retain must be 0; will QoS 3 is invalid.
    if (!flags.will() && (flags.will_qos() != 0 || flags.will_retain())) || flags.will_qos() == 3 {
        cx.warn(WarningKind::InvalidWillFlags, flags_at);
    }
    // 3.1.1 §3.1.2.9: no password without a user name (5.0 allows it).
    if flags.password() && !flags.username() && !cx.version.is_v5() {
        cx.warn(WarningKind::PasswordWithoutUsername, flags_at);
    }
    let (i, keep_alive) = two_byte_int(i)?;
    let (i, (properties, _)) = properties_if_v5(cx, i, PacketType::Connect)?;

    // Payload, in this order: client id, will properties, will topic, will payload, user name,
    // password (§3.1.3).
    cx.mark_payload(i);
    let (i, client_id) = cx.string(i)?;
    let (i, will) = if flags.will() {
        let (i, will_properties) = if cx.version.is_v5() {
            let (i, (p, _)) = parse_properties(cx, i, PacketType::Connect, true)?;
            (i, Some(p))
        } else {
            (i, None)
        };
        let (i, topic) = topic_name(cx, i)?;
        let (i, payload) = binary_or_cut(cx, i)?;
        let will = Will {
            properties: will_properties,
            topic,
            payload,
            qos: flags.will_qos(),
            retain: flags.will_retain(),
        };
        (i, Some(will))
    } else {
        (i, None)
    };
    let (i, username) = if flags.username() {
        let (i, name) = cx.string(i)?;
        (i, Some(name))
    } else {
        (i, None)
    };
    let (i, password) = if flags.password() {
        let (i, password) = binary_or_cut(cx, i)?;
        (i, Some(password))
    } else {
        (i, None)
    };
    let connect = Connect {
        protocol_name: MqttStr(protocol_name),
        protocol_level,
        flags,
        keep_alive,
        properties,
        client_id,
        will,
        username,
        password,
    };
    Ok((i, Packet::Connect(connect)))
}

/// CONNACK (MQTT 5.0 §3.2): acknowledge flags, return / reason code, properties (v5).
fn parse_connack<'a>(cx: &mut Cx, i: &'a [u8]) -> PResult<'a, Packet<'a>> {
    let flags_at = i;
    let (i, ack_flags) = byte(i)?;
    // §3.2.2.1: bits 7–1 are reserved.
    if ack_flags & 0xfe != 0 {
        cx.warn(WarningKind::ReservedBitsSet, flags_at);
    }
    let (i, reason_code) = reason_code(cx, i, PacketType::ConnAck)?;
    let (i, (properties, _)) = properties_if_v5(cx, i, PacketType::ConnAck)?;
    let connack = ConnAck {
        ack_flags,
        session_present: ack_flags & 0x01 != 0,
        reason_code,
        properties,
    };
    Ok((i, Packet::ConnAck(connack)))
}

/// PUBLISH (MQTT 5.0 §3.3): topic name, packet id when QoS > 0, properties (v5), payload.
#[inline]
fn parse_publish<'a>(cx: &mut Cx, i: &'a [u8], flags: u8) -> PResult<'a, Packet<'a>> {
    let qos = (flags >> 1) & 0x03;
    let topic_at = i;
    let (i, topic) = topic_name(cx, i)?;
    // QoS 3 is invalid (reported with the fixed header); decode it like QoS 1 and 2, with a
    // packet identifier, as Wireshark does.
    let (i, packet_id) = if qos > 0 {
        let (i, id) = packet_id(cx, i)?;
        (i, Some(id))
    } else {
        (i, None)
    };
    let (i, (properties, summary)) = properties_if_v5(cx, i, PacketType::Publish)?;
    // §3.3.2.1 / §3.3.2.3.4: an empty topic name is only valid with a topic alias (v5).
    if topic.is_empty() && !summary.has(PropertyId::TOPIC_ALIAS) {
        cx.warn(WarningKind::EmptyTopicName, topic_at);
    }
    cx.mark_payload(i);
    let (payload, rest) = i.split_at(i.len());
    let publish = Publish {
        dup: flags & 0x08 != 0,
        qos,
        retain: flags & 0x01 != 0,
        topic,
        packet_id,
        properties,
        payload,
    };
    Ok((rest, Packet::Publish(publish)))
}

/// PUBACK, PUBREC, PUBREL, PUBCOMP (MQTT 5.0 §3.4–§3.7): packet id, then in v5 an optional
/// reason code and optional properties (§3.4.2.1: remaining length 2 means Success without
/// properties, 3 means a reason code without properties).
fn parse_puback_like<'a>(
    cx: &mut Cx,
    i: &'a [u8],
    packet_type: PacketType,
) -> PResult<'a, Packet<'a>> {
    let (i, packet_id) = packet_id(cx, i)?;
    let (i, reason_code, properties) = if cx.version.is_v5() && !i.is_empty() {
        let (i, code) = reason_code(cx, i, packet_type)?;
        if i.is_empty() {
            (i, Some(code), None)
        } else {
            let (i, (properties, _)) = parse_properties(cx, i, packet_type, false)?;
            (i, Some(code), Some(properties))
        }
    } else {
        (i, None, None)
    };
    let ack = PubAckLike {
        packet_id,
        reason_code,
        properties,
    };
    let packet = match packet_type {
        PacketType::PubAck => Packet::PubAck(ack),
        PacketType::PubRec => Packet::PubRec(ack),
        PacketType::PubRel => Packet::PubRel(ack),
        _ => Packet::PubComp(ack),
    };
    Ok((i, packet))
}

/// SUBSCRIBE (MQTT 5.0 §3.8): packet id, properties (v5), then (topic filter, options) pairs.
fn parse_subscribe<'a>(cx: &mut Cx, i: &'a [u8]) -> PResult<'a, Packet<'a>> {
    let (i, packet_id) = packet_id(cx, i)?;
    let (i, (properties, _)) = properties_if_v5(cx, i, PacketType::Subscribe)?;
    cx.mark_payload(i);
    let start = i;
    let mut walk = i;
    while !walk.is_empty() {
        let entry = match subscribe_entry(cx, walk) {
            Ok(entry) => entry,
            // In a prefix the list holds the whole filters present.
            Err(_) if cx.partial => break,
            Err(e) => return Err(e),
        };
        walk = entry;
    }
    if start.is_empty() && !cx.partial {
        cx.warn(WarningKind::NoTopicFilters, start);
    }
    let filters = SubscribeFilters {
        raw: &start[..start.len() - walk.len()],
        offset: cx.offset(start),
    };
    Ok((
        walk,
        Packet::Subscribe(Subscribe {
            packet_id,
            properties,
            filters,
        }),
    ))
}

/// One SUBSCRIBE entry: topic filter and subscription options (§3.8.3.1).
fn subscribe_entry<'a>(cx: &mut Cx, i: &'a [u8]) -> Result<&'a [u8], nom::Err<WireError>> {
    // Check that the whole entry is there before reporting anything about it.
    let (rest, _) = length_prefixed(i)?;
    let (_, _) = byte(rest)?;
    let filter_at = cx.offset(i) + 2;
    let (i, filter) = cx.string(i)?;
    check_topic_filter(cx, filter.0, filter_at);
    let options_at = i;
    let (i, options) = byte(i)?;
    let options = SubscriptionOptions(options);
    if options.qos() == 3 {
        cx.warn(WarningKind::Qos3, options_at);
    }
    let reserved = if cx.version.is_v5() {
        // Bits 6–7 reserved; retain handling 3 is a protocol error (§3.8.3.1).
        options.reserved_bits() != 0 || options.retain_handling() == 3
    } else {
        // 3.1.1 §3.8.3.1: only the QoS bits are defined.
        options.0 & 0xfc != 0
    };
    if reserved {
        cx.warn(WarningKind::ReservedBitsSet, options_at);
    }
    Ok(i)
}

/// Reports a topic filter (whose first byte is at packet offset `at`) that breaks the wildcard
/// rules, or, in MQTT 5, a malformed shared subscription. 3.1.1 has no shared subscriptions:
/// there `$share/…` is an ordinary filter.
fn check_topic_filter(cx: &mut Cx, filter: &[u8], at: u32) {
    const SHARE: &[u8] = b"$share/";
    if cx.version.is_v5()
        && let Some(rest) = filter.strip_prefix(SHARE)
    {
        // §4.8.2: "$share/" ShareName "/" TopicFilter; the share name is at least one
        // character and holds no '/', '+' or '#'.
        let slash = rest.iter().position(|&b| b == b'/').unwrap_or(rest.len());
        let (share_name, tail) = rest.split_at(slash);
        let inner = tail.get(1..).unwrap_or_default();
        if share_name.is_empty()
            || share_name.contains(&b'+')
            || share_name.contains(&b'#')
            || inner.is_empty()
        {
            cx.warn_at(WarningKind::InvalidSharedSubscription, at);
        } else if !topic_filter_ok(inner) {
            let inner_at = at + (SHARE.len() + slash + 1) as u32;
            cx.warn_at(WarningKind::InvalidTopicFilter, inner_at);
        }
        return;
    }
    if !topic_filter_ok(filter) {
        cx.warn_at(WarningKind::InvalidTopicFilter, at);
    }
}

/// The wildcard rules of §4.7.1 and the length rule of §4.7.3: a filter is not empty, `#` is a
/// whole level and the last one, `+` is a whole level.
fn topic_filter_ok(filter: &[u8]) -> bool {
    if filter.is_empty() {
        return false;
    }
    let mut levels = filter.split(|&b| b == b'/').peekable();
    while let Some(level) = levels.next() {
        let last = levels.peek().is_none();
        for &b in level {
            match b {
                b'#' if level.len() != 1 || !last => return false,
                b'+' if level.len() != 1 => return false,
                _ => {}
            }
        }
    }
    true
}

/// SUBACK (MQTT 5.0 §3.9): packet id, properties (v5), one return / reason code per filter.
fn parse_suback<'a>(cx: &mut Cx, i: &'a [u8]) -> PResult<'a, Packet<'a>> {
    let (i, packet_id) = two_byte_int(i)?;
    let (i, (properties, _)) = properties_if_v5(cx, i, PacketType::SubAck)?;
    cx.mark_payload(i);
    let reason_codes = reason_codes(cx, i, PacketType::SubAck);
    Ok((
        &i[i.len()..],
        Packet::SubAck(SubAck {
            packet_id,
            properties,
            reason_codes,
        }),
    ))
}

/// UNSUBSCRIBE (MQTT 5.0 §3.10): packet id, properties (v5), topic filters.
fn parse_unsubscribe<'a>(cx: &mut Cx, i: &'a [u8]) -> PResult<'a, Packet<'a>> {
    let (i, packet_id) = packet_id(cx, i)?;
    let (i, (properties, _)) = properties_if_v5(cx, i, PacketType::Unsubscribe)?;
    cx.mark_payload(i);
    let start = i;
    let mut walk = i;
    while !walk.is_empty() {
        let filter_at = cx.offset(walk) + 2;
        match cx.string(walk) {
            Ok((rest, filter)) => {
                check_topic_filter(cx, filter.0, filter_at);
                walk = rest;
            }
            Err(_) if cx.partial => break,
            Err(e) => return Err(e),
        }
    }
    if start.is_empty() && !cx.partial {
        cx.warn(WarningKind::NoTopicFilters, start);
    }
    let filters = UnsubscribeFilters {
        raw: &start[..start.len() - walk.len()],
        offset: cx.offset(start),
    };
    Ok((
        walk,
        Packet::Unsubscribe(Unsubscribe {
            packet_id,
            properties,
            filters,
        }),
    ))
}

/// UNSUBACK (MQTT 5.0 §3.11): packet id, then in v5 properties and one reason code per filter
/// (3.x has neither).
fn parse_unsuback<'a>(cx: &mut Cx, i: &'a [u8]) -> PResult<'a, Packet<'a>> {
    let (i, packet_id) = two_byte_int(i)?;
    if !cx.version.is_v5() {
        return Ok((
            i,
            Packet::UnsubAck(UnsubAck {
                packet_id,
                properties: None,
                reason_codes: &[],
            }),
        ));
    }
    let (i, (properties, _)) = properties_if_v5(cx, i, PacketType::UnsubAck)?;
    cx.mark_payload(i);
    let reason_codes = reason_codes(cx, i, PacketType::UnsubAck);
    Ok((
        &i[i.len()..],
        Packet::UnsubAck(UnsubAck {
            packet_id,
            properties,
            reason_codes,
        }),
    ))
}

/// DISCONNECT (MQTT 5.0 §3.14) and AUTH (§3.15): in v5 an optional reason code and optional
/// properties (remaining length 0 means reason 0 without properties, 1 a reason code alone);
/// 3.x DISCONNECT has no body.
fn parse_reason_only<'a>(
    cx: &mut Cx,
    i: &'a [u8],
    packet_type: PacketType,
) -> PResult<'a, Packet<'a>> {
    let (i, reason_code, properties) = if cx.version.is_v5() && !i.is_empty() {
        let (i, code) = reason_code(cx, i, packet_type)?;
        if i.is_empty() {
            (i, Some(code), None)
        } else {
            let (i, (properties, _)) = parse_properties(cx, i, packet_type, false)?;
            (i, Some(code), Some(properties))
        }
    } else {
        (i, None, None)
    };
    let body = ReasonOnly {
        reason_code,
        properties,
    };
    let packet = if packet_type == PacketType::Auth {
        Packet::Auth(body)
    } else {
        Packet::Disconnect(body)
    };
    Ok((i, packet))
}

impl<'a> Packet<'a> {
    /// The packet's own MQTT 5 property block, when it has one (a CONNECT's will properties are
    /// in [`Will::properties`]).
    pub fn properties(&self) -> Option<&Properties<'a>> {
        match self {
            Packet::Connect(p) => p.properties.as_ref(),
            Packet::ConnAck(p) => p.properties.as_ref(),
            Packet::Publish(p) => p.properties.as_ref(),
            Packet::PubAck(p) | Packet::PubRec(p) | Packet::PubRel(p) | Packet::PubComp(p) => {
                p.properties.as_ref()
            }
            Packet::Subscribe(p) => p.properties.as_ref(),
            Packet::SubAck(p) => p.properties.as_ref(),
            Packet::Unsubscribe(p) => p.properties.as_ref(),
            Packet::UnsubAck(p) => p.properties.as_ref(),
            Packet::Disconnect(p) | Packet::Auth(p) => p.properties.as_ref(),
            Packet::PingReq | Packet::PingResp | Packet::Reserved { .. } => None,
        }
    }

    /// The reason / return codes the packet carries (CONNACK, PUBACK family, SUBACK, UNSUBACK,
    /// DISCONNECT, AUTH), as on the wire; empty for the others and for omitted codes.
    pub fn reason_codes(&self) -> &[u8] {
        match self {
            Packet::ConnAck(p) => std::slice::from_ref(&p.reason_code),
            Packet::PubAck(p) | Packet::PubRec(p) | Packet::PubRel(p) | Packet::PubComp(p) => {
                p.reason_code.as_slice()
            }
            Packet::SubAck(p) => p.reason_codes,
            Packet::UnsubAck(p) => p.reason_codes,
            Packet::Disconnect(p) | Packet::Auth(p) => p.reason_code.as_slice(),
            _ => &[],
        }
    }
}

impl Connect<'_> {
    /// The layout this CONNECT's protocol level selects (5 → 5.0, 3 → 3.1, else 3.1.1): the
    /// version to decode the rest of the connection with.
    pub fn version(&self) -> ProtocolVersion {
        connect_layout(self.protocol_level)
    }
    /// Bit 7 of the protocol level: a bridge connection (mosquitto's `try_private`).
    pub fn is_bridge(&self) -> bool {
        self.protocol_level & 0x80 != 0
    }
}
