//! MQTT 5 properties: every one of the 27 through the builder and the decoder, the table, and
//! the findings of the decode-time validation.

use super::*;
use ProtocolVersion::V5;

/// A packet type that allows `id` (or `None` when only a will does).
fn home_of(id: PropertyId) -> Option<PacketType> {
    PacketType::ALL
        .into_iter()
        .find(|&t| id.allowed_in(t, false))
}

/// A sample value of the right wire type.
fn sample_value(id: PropertyId) -> PropertyValue<'static> {
    match id.wire_type().expect("known") {
        PropertyWireType::Byte => PropertyValue::Byte(1),
        PropertyWireType::TwoByteInt => PropertyValue::TwoByteInt(0x1234),
        PropertyWireType::FourByteInt => PropertyValue::FourByteInt(0x0102_0304),
        PropertyWireType::VarInt => PropertyValue::VarInt(268_435_455),
        PropertyWireType::Utf8String => PropertyValue::Utf8String(MqttStr(b"text")),
        PropertyWireType::Utf8StringPair => {
            PropertyValue::Utf8StringPair(MqttStr(b"k"), MqttStr(b"v"))
        }
        PropertyWireType::BinaryData => PropertyValue::BinaryData(&[0, 1, 2]),
    }
}

/// A minimal v5 packet of `packet_type` carrying `properties`.
fn packet_with<'a>(packet_type: PacketType, properties: Properties<'a>) -> Packet<'a> {
    let props = Some(properties);
    match packet_type {
        PacketType::Connect => Packet::Connect(Connect {
            protocol_name: MqttStr(b"MQTT"),
            protocol_level: 5,
            flags: ConnectFlags(0x02),
            keep_alive: 30,
            properties: props,
            client_id: MqttStr(b"c"),
            will: None,
            username: None,
            password: None,
        }),
        PacketType::ConnAck => Packet::ConnAck(ConnAck {
            ack_flags: 0,
            session_present: false,
            reason_code: 0,
            properties: props,
        }),
        PacketType::Publish => Packet::Publish(Publish {
            dup: false,
            qos: 0,
            retain: false,
            topic: MqttStr(b"t"),
            packet_id: None,
            properties: props,
            payload: b"p",
        }),
        PacketType::PubAck => Packet::PubAck(PubAckLike {
            packet_id: 1,
            reason_code: Some(0),
            properties: props,
        }),
        PacketType::Subscribe => Packet::Subscribe(Subscribe {
            packet_id: 1,
            properties: props,
            filters: SubscribeFilters {
                raw: &[0, 1, b't', 0],
                offset: 0,
            },
        }),
        PacketType::Disconnect => Packet::Disconnect(ReasonOnly {
            reason_code: Some(0),
            properties: props,
        }),
        other => panic!("no sample packet for {other}"),
    }
}

#[test]
fn property_table_has_the_27_spec_properties() {
    assert_eq!(PropertyId::ALL.len(), 27);
    assert_eq!(PropertyId::PAYLOAD_FORMAT_INDICATOR.0, 0x01);
    assert_eq!(PropertyId::SHARED_SUBSCRIPTION_AVAILABLE.0, 0x2A);
    assert_eq!(PropertyId::TOPIC_ALIAS.name(), Some("Topic Alias"));
    assert_eq!(
        PropertyId::USER_PROPERTY.wire_type(),
        Some(PropertyWireType::Utf8StringPair)
    );
    assert_eq!(
        PropertyId::SUBSCRIPTION_IDENTIFIER.wire_type(),
        Some(PropertyWireType::VarInt)
    );
    assert_eq!(PropertyId(0x04).name(), None);
    assert_eq!(PropertyId(0x04).to_string(), "Unknown property 0x04");
    let known = (0..=255u8)
        .filter(|&id| PropertyId(id).name().is_some())
        .count();
    assert_eq!(known, 27);
    assert!(PropertyId::WILL_DELAY_INTERVAL.allowed_in(PacketType::Connect, true));
    assert!(!PropertyId::WILL_DELAY_INTERVAL.allowed_in(PacketType::Connect, false));
    assert!(PropertyId::REASON_STRING.allowed_in(PacketType::PubComp, false));
    assert!(!PropertyId::REASON_STRING.allowed_in(PacketType::Publish, false));
    assert!(!PropertyId::USER_PROPERTY.allowed_in(PacketType::PingReq, false));
}

#[test]
fn every_property_round_trips_through_a_packet_that_allows_it() {
    for id in PropertyId::ALL {
        let value = sample_value(id);
        let mut builder = PropertiesBuilder::new();
        builder.push(id, value).unwrap();
        let mut bytes = Vec::new();
        let packet = match home_of(id) {
            Some(ty) => packet_with(ty, builder.properties()),
            None => {
                // Will Delay Interval lives only in will properties.
                let mut connect = match packet_with(PacketType::Connect, Properties::default()) {
                    Packet::Connect(c) => c,
                    _ => unreachable!(),
                };
                connect.will = Some(Will {
                    properties: Some(builder.properties()),
                    topic: MqttStr(b"w"),
                    payload: b"bye",
                    qos: 0,
                    retain: false,
                });
                Packet::Connect(connect)
            }
        };
        encode(&packet, V5, &mut bytes).unwrap();
        let d = decode_ok(&bytes, V5);
        assert!(d.warnings.is_empty(), "{id}: {:?}", d.warnings);
        let props = match &d.packet {
            Packet::Connect(c) if home_of(id).is_none() => {
                c.will.as_ref().unwrap().properties.unwrap()
            }
            p => *p.properties().unwrap(),
        };
        let got: Vec<_> = props.iter().map(|p| p.map(|p| (p.id, p.value))).collect();
        assert_eq!(got, [Ok((id, value))], "{id}");
        assert_eq!(props.get(id), Some(value));
    }
}

#[test]
fn builder_rejects_a_value_of_the_wrong_wire_type() {
    let mut b = PropertiesBuilder::new();
    let err = b
        .push(PropertyId::TOPIC_ALIAS, PropertyValue::Byte(1))
        .unwrap_err();
    assert_eq!(err, EncodeError::WrongPropertyType(0x23));
    assert!(b.as_bytes().is_empty());
}

/// A v5 PUBLISH to "t" whose property block is `raw`.
fn publish_with_raw(raw: &[u8]) -> Vec<u8> {
    let mut b = PropertiesBuilder::new();
    b.push_raw(raw);
    let mut out = Vec::new();
    encode(
        &packet_with(PacketType::Publish, b.properties()),
        V5,
        &mut out,
    )
    .unwrap();
    out
}

#[test]
fn unknown_property_is_reported_and_iteration_stops_there() {
    let bytes = publish_with_raw(&[
        0x23, 0x00, 0x01, // Topic Alias 1
        0x05, 0xaa, // 0x05: not a property
        0x01, 0x01, // never reached
    ]);
    let d = decode_ok(&bytes, V5);
    // PUBLISH 30 0c, topic 00 01 74, property length at 5, block from 6: 0x05 at 9.
    assert_eq!(warnings(&d), [(WarningKind::UnknownProperty(0x05), 9)]);
    let Packet::Publish(p) = &d.packet else {
        panic!()
    };
    let items: Vec<_> = p.properties.unwrap().iter().collect();
    assert_eq!(items.len(), 2);
    assert_eq!(items[0].map(|p| p.id), Ok(PropertyId::TOPIC_ALIAS));
    assert_eq!(
        items[1],
        Err(DecodeError {
            kind: DecodeErrorKind::MalformedProperty,
            offset: 9
        })
    );
}

#[test]
fn duplicates_and_misplaced_properties_are_reported() {
    let bytes = publish_with_raw(&[
        0x23, 0x00, 0x01, // Topic Alias
        0x23, 0x00, 0x02, // Topic Alias again: may appear once
        0x0b, 0x01, // Subscription Identifier
        0x0b, 0x02, // again: several are fine in PUBLISH
        0x26, 0, 1, b'a', 0, 1, b'b', // User Property
        0x26, 0, 1, b'a', 0, 1, b'c', // again: always fine
        0x13, 0x00, 0x05, // Server Keep Alive: CONNACK only
    ]);
    let d = decode_ok(&bytes, V5);
    assert_eq!(
        warnings(&d),
        [
            (WarningKind::DuplicateProperty(0x23), 9),
            (WarningKind::PropertyNotAllowed(0x13), 30)
        ]
    );
    let Packet::Publish(p) = &d.packet else {
        panic!()
    };
    let props = p.properties.unwrap();
    assert_eq!(props.topic_alias(), Some(1), "the first one counts");
    assert_eq!(props.subscription_identifiers().collect::<Vec<_>>(), [1, 2]);
    assert_eq!(props.user_properties().count(), 2);
    // In SUBSCRIBE the subscription identifier may appear once only.
    let mut b = PropertiesBuilder::new();
    b.push_raw(&[0x0b, 0x01, 0x0b, 0x02]);
    let mut out = Vec::new();
    encode(
        &packet_with(PacketType::Subscribe, b.properties()),
        V5,
        &mut out,
    )
    .unwrap();
    assert_eq!(
        kinds(&decode_ok(&out, V5)),
        [WarningKind::DuplicateProperty(0x0b)]
    );
}

#[test]
fn will_properties_are_checked_against_the_will_column() {
    let mut b = PropertiesBuilder::new();
    b.push(PropertyId::TOPIC_ALIAS, PropertyValue::TwoByteInt(1))
        .unwrap();
    let mut connect = match packet_with(PacketType::Connect, Properties::default()) {
        Packet::Connect(c) => c,
        _ => unreachable!(),
    };
    connect.will = Some(Will {
        properties: Some(b.properties()),
        topic: MqttStr(b"w"),
        payload: b"",
        qos: 1,
        retain: false,
    });
    let mut out = Vec::new();
    encode(&Packet::Connect(connect), V5, &mut out).unwrap();
    assert_eq!(
        kinds(&decode_ok(&out, V5)),
        [WarningKind::PropertyNotAllowed(0x23)]
    );
}

#[test]
fn malformed_property_blocks_are_errors() {
    // Property length 9 in a packet with 1 byte left.
    let overflow = [0x30, 0x05, 0x00, 0x01, b't', 0x09, 0x23];
    let err = decode(&overflow, V5).unwrap_err();
    assert_eq!(
        (err.kind, err.offset),
        (DecodeErrorKind::PropertyLengthOverflow, 5)
    );
    // A Content Type whose string runs past the block.
    let bytes = publish_with_raw(&[0x03, 0x00, 0x09, b'x']);
    let err = decode(&bytes, V5).unwrap_err();
    assert_eq!(
        (err.kind, err.offset),
        (DecodeErrorKind::MalformedProperty, 6)
    );
    // A five-byte property length.
    let bad_varint = [0x30, 0x08, 0x00, 0x01, b't', 0xff, 0xff, 0xff, 0xff, 0x01];
    assert_eq!(
        decode(&bad_varint, V5).unwrap_err().kind,
        DecodeErrorKind::MalformedVarInt
    );
}

#[test]
fn strings_inside_properties_are_validated() {
    let bytes = publish_with_raw(&[0x03, 0x00, 0x02, b'a', 0x00]); // Content Type "a\0"
    let d = decode_ok(&bytes, V5);
    assert_eq!(warnings(&d), [(WarningKind::NullCharacter, 10)]);
}

#[test]
fn non_minimal_subscription_identifier_is_flagged() {
    let bytes = publish_with_raw(&[0x0b, 0x81, 0x00]); // 1 written in two bytes
    let d = decode_ok(&bytes, V5);
    assert_eq!(warnings(&d), [(WarningKind::NonMinimalVarInt, 7)]);
}
