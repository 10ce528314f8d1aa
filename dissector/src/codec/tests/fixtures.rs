//! One fixture per packet type and version, written field by field, plus the spec's edge cases.

use super::*;
use ProtocolVersion::{V3_1, V3_1_1, V5};

// ---------------------------------------------------------------- fixed header, lengths

#[test]
fn remaining_length_boundaries_decode_and_sizes_add_up() {
    // PUBLISH QoS 0 with topic "t" and a payload making the remaining length hit each boundary
    // of the variable byte integer (MQTT 5.0 §1.5.5 table).
    for (remaining, header) in [
        (127usize, vec![0x30, 0x7f]),
        (128, vec![0x30, 0x80, 0x01]),
        (16_383, vec![0x30, 0xff, 0x7f]),
        (16_384, vec![0x30, 0x80, 0x80, 0x01]),
        (2_097_151, vec![0x30, 0xff, 0xff, 0x7f]),
        (2_097_152, vec![0x30, 0x80, 0x80, 0x80, 0x01]),
    ] {
        let mut bytes = header.clone();
        bytes.extend_from_slice(&[0x00, 0x01, b't']); // topic "t"
        bytes.resize(header.len() + remaining, 0xab); // payload
        let d = decode_ok(&bytes, V3_1_1);
        assert_eq!(d.header.remaining_length as usize, remaining);
        assert_eq!(d.sizes.fixed as usize, header.len());
        assert_eq!(d.sizes.variable, 3);
        assert_eq!(d.sizes.payload as usize, remaining - 3);
        assert!(d.warnings.is_empty());
    }
}

#[test]
fn largest_remaining_length_is_incomplete_with_the_exact_need() {
    // FF FF FF 7F = 268,435,455: valid, so 5 bytes of header say how much is missing.
    let err = decode(&[0x30, 0xff, 0xff, 0xff, 0x7f, 0x00], V3_1_1).unwrap_err();
    assert_eq!(
        err.kind,
        DecodeErrorKind::Incomplete {
            needed: Some(268_435_455 - 1)
        }
    );
    assert_eq!(err.offset, 6);
}

#[test]
fn fifth_remaining_length_byte_is_an_error_not_incomplete() {
    let err = decode(&[0x30, 0xff, 0xff, 0xff, 0x80, 0x01], V3_1_1).unwrap_err();
    assert_eq!(err.kind, DecodeErrorKind::RemainingLengthTooLong);
    assert_eq!(err.offset, 4);
}

#[test]
fn non_minimal_remaining_length_is_flagged_at_offset_1() {
    let bytes = [
        0xc0, 0x80, 0x00, // PINGREQ, remaining length 0 encoded in two bytes
    ];
    let d = decode_ok(&bytes, V3_1_1);
    assert_eq!(warnings(&d), [(WarningKind::NonMinimalVarInt, 1)]);
    assert_eq!(d.sizes.fixed, 3);
}

#[test]
fn short_body_is_truncated_but_short_input_is_incomplete() {
    // PUBLISH whose remaining length (3) is too small for its 5-byte topic: invalid.
    let bytes = [
        0x30, 0x03, // PUBLISH, remaining length 3
        0x00, 0x05, b'a', // topic length 5, only one byte follows inside the packet
        b'b', b'c', b'd', b'e', // bytes of the next packet, not of this one
    ];
    let err = decode(&bytes, V3_1_1).unwrap_err();
    assert_eq!(err.kind, DecodeErrorKind::Truncated);
    assert_eq!(err.offset, 2, "points at the topic field");
    // The same packet cut short by the input: need more.
    let whole = [0x30, 0x05, 0x00, 0x01, b't', b'h', b'i'];
    let err = decode(&whole[..4], V3_1_1).unwrap_err();
    assert_eq!(err.kind, DecodeErrorKind::Incomplete { needed: Some(3) });
    let err = decode(&whole[..1], V3_1_1).unwrap_err();
    assert_eq!(err.kind, DecodeErrorKind::Incomplete { needed: None });
}

#[test]
fn bytes_after_the_packet_are_ignored() {
    let bytes = [0xd0, 0x00, 0xc0, 0x00]; // PINGRESP, then a PINGREQ
    let d = decode_ok(&bytes, V3_1_1);
    assert_eq!(d.packet, Packet::PingResp);
    assert_eq!(d.header.packet_len(), 2);
}

#[test]
fn reserved_flag_bits_are_flagged_per_type() {
    // PUBREL, SUBSCRIBE, UNSUBSCRIBE need 0b0010; everything else but PUBLISH 0.
    let pubrel_with_zero_flags = [0x60, 0x02, 0x00, 0x01];
    assert_eq!(
        kinds(&decode_ok(&pubrel_with_zero_flags, V3_1_1)),
        [WarningKind::ReservedFlags]
    );
    let puback_with_flag = [0x42, 0x02, 0x00, 0x01];
    assert_eq!(
        kinds(&decode_ok(&puback_with_flag, V3_1_1)),
        [WarningKind::ReservedFlags]
    );
    let pingreq_with_flags = [0xcf, 0x00];
    assert_eq!(
        kinds(&decode_ok(&pingreq_with_flags, V5)),
        [WarningKind::ReservedFlags]
    );
    let pubrel_ok = [0x62, 0x02, 0x00, 0x01];
    assert!(decode_ok(&pubrel_ok, V3_1_1).warnings.is_empty());
}

// ---------------------------------------------------------------- CONNECT

#[test]
fn connect_v311_minimal_with_empty_client_id() {
    let bytes = cat(&[
        &[0x10, 0x0c], // CONNECT, remaining length 12
        &[0x00, 0x04],
        b"MQTT",       // protocol name
        &[0x04],       // protocol level 4 (3.1.1)
        &[0x02],       // flags: clean session
        &[0x00, 0x3c], // keep alive 60
        &[0x00, 0x00], // client id "" (allowed with clean session)
    ]);
    let d = decode_ok(&bytes, V5); // CONNECT ignores the version passed in
    let Packet::Connect(c) = &d.packet else {
        panic!("{d:?}")
    };
    assert_eq!(c.protocol_name.as_str(), Some("MQTT"));
    assert_eq!(c.protocol_level, 4);
    assert_eq!(c.version(), V3_1_1);
    assert!(c.flags.clean_start());
    assert_eq!(c.keep_alive, 60);
    assert!(c.client_id.is_empty());
    assert_eq!(
        (c.properties, c.will.is_none(), c.username, c.password),
        (None, true, None, None)
    );
    assert_eq!(
        d.sizes,
        HeaderSizes {
            fixed: 2,
            variable: 10,
            properties: 0,
            payload: 2
        }
    );
    assert!(d.warnings.is_empty());
}

#[test]
fn connect_v31_mqisdp_with_user_and_password_from_mosquitto() {
    // mqtt31-sub-userpass: mosquitto_sub -V mqttv31 -u user -P pass
    let bytes = hex(
        "102d00064d514973647003c2003c00136d79766f69636569736d7970617373706f7274\
                     000475736572000470617373",
    );
    let d = decode_ok(&bytes, V3_1_1);
    let Packet::Connect(c) = &d.packet else {
        panic!()
    };
    assert_eq!(c.protocol_name.as_str(), Some("MQIsdp"));
    assert_eq!(c.version(), V3_1);
    assert_eq!(c.flags.0, 0xc2); // user name, password, clean session
    assert_eq!(c.client_id.as_str(), Some("myvoiceismypassport"));
    assert_eq!(c.username.and_then(|u| u.as_str()), Some("user"));
    assert_eq!(c.password, Some(&b"pass"[..]));
    assert_eq!(
        d.sizes,
        HeaderSizes {
            fixed: 2,
            variable: 12,
            properties: 0,
            payload: 33
        }
    );
}

#[test]
fn connect_v31_with_will() {
    let bytes = cat(&[
        &[0x10, 0x1b], // CONNECT, remaining length 27
        &[0x00, 0x06],
        b"MQIsdp",     // protocol name
        &[0x03],       // level 3
        &[0x2e],       // will retain, will QoS 1, will flag, clean session
        &[0x00, 0x0a], // keep alive 10
        &[0x00, 0x02],
        b"c1", // client id
        &[0x00, 0x03],
        b"w/t", // will topic
        &[0x00, 0x04],
        b"gone", // will message
    ]);
    let d = decode_ok(&bytes, V3_1_1);
    let Packet::Connect(c) = &d.packet else {
        panic!()
    };
    let will = c.will.as_ref().expect("will");
    assert_eq!(
        (will.topic.as_str(), will.payload, will.qos, will.retain),
        (Some("w/t"), &b"gone"[..], 1, true)
    );
    assert_eq!(will.properties, None);
    assert_eq!(d.sizes.payload, 4 + 5 + 6);
}

#[test]
fn connect_v5_with_properties_and_will_properties_from_mosquitto() {
    // mqtt5-pub-mosquittoprops frame 4: mosquitto_pub -V 5 with CONNECT and will properties.
    let bytes = hex(
        "10cc0100044d51545405c6003c3c2700002b672100de110000022b22029a2600097573657270726f70\
         3100087573657276616c312600097573657270726f703200087573657276616c3200136d79766f6963\
         6569736d7970617373706f72744b03000a6d7977696c6c74797065090007313233343536370200000085\
         019008000f726573706f6e73655f746f706963312600097573657270726f703500087573657276616c\
         3518000000c8000977696c6c746f706963000b77696c6c6d657373616765000475736572000470617373",
    );
    let d = decode_ok(&bytes, V3_1_1);
    // The will's Payload Format Indicator in this capture is 0x90; only 0 and 1 are allowed
    // (§3.1.3.2.3).
    assert_eq!(
        warnings(&d),
        [(WarningKind::PropertyValueOutOfRange(0x01), 124)]
    );
    let Packet::Connect(c) = &d.packet else {
        panic!()
    };
    assert_eq!(c.version(), V5);
    let p = c.properties.expect("CONNECT properties");
    assert_eq!(p.maximum_packet_size(), Some(11_111));
    assert_eq!(p.receive_maximum(), Some(222));
    assert_eq!(p.session_expiry_interval(), Some(555));
    assert_eq!(p.topic_alias_maximum(), Some(666));
    let user: Vec<_> = p.user_properties().map(|(k, v)| (k.0, v.0)).collect();
    assert_eq!(
        user,
        [
            (&b"userprop1"[..], &b"userval1"[..]),
            (b"userprop2", b"userval2")
        ]
    );
    let will = c.will.as_ref().expect("will");
    let wp = will.properties.expect("will properties");
    assert_eq!(
        wp.content_type().and_then(|s| s.as_str()),
        Some("mywilltype")
    );
    assert_eq!(wp.correlation_data(), Some(&b"1234567"[..]));
    assert_eq!(wp.message_expiry_interval(), Some(133));
    assert_eq!(wp.payload_format_indicator(), Some(0x90));
    assert_eq!(
        wp.response_topic().and_then(|s| s.as_str()),
        Some("response_topic1")
    );
    assert_eq!(wp.will_delay_interval(), Some(200));
    assert_eq!(will.topic.as_str(), Some("willtopic"));
    assert_eq!(will.payload, b"willmessage");
    assert_eq!(c.username.and_then(|u| u.as_str()), Some("user"));
    // variable: name 6 + level + flags + keep alive = 10; properties: 1 + 60 (CONNECT) and
    // 1 + 75 (will); payload: client id 21, will topic 11, will message 13, user 6, pass 6.
    assert_eq!(
        d.sizes,
        HeaderSizes {
            fixed: 3,
            variable: 10,
            properties: 61 + 76,
            payload: 57
        }
    );
}

#[test]
fn connect_with_unknown_protocol_level_is_decoded_as_311_and_flagged() {
    let bytes = cat(&[
        &[0x10, 0x0e], // CONNECT
        &[0x00, 0x04],
        b"MQTT",       // protocol name
        &[0x07],       // level 7: not a version we know
        &[0x00],       // flags
        &[0x00, 0x00], // keep alive
        &[0x00, 0x02],
        b"id", // client id (3.1.1 layout: no properties)
    ]);
    let d = decode_ok(&bytes, V5);
    assert_eq!(warnings(&d), [(WarningKind::UnknownProtocol, 2)]);
    let Packet::Connect(c) = &d.packet else {
        panic!()
    };
    assert_eq!(c.client_id.as_str(), Some("id"));
    assert_eq!(c.properties, None);
}

#[test]
fn connect_from_a_bridge_level_0x84_is_known() {
    let bytes = cat(&[
        &[0x10, 0x0d], // CONNECT
        &[0x00, 0x04],
        b"MQTT",       // protocol name
        &[0x84],       // level 4 with the bridge bit (mosquitto try_private)
        &[0x02],       // clean session
        &[0x00, 0x3c], // keep alive
        &[0x00, 0x01],
        b"b", // client id
    ]);
    let d = decode_ok(&bytes, V3_1);
    let Packet::Connect(c) = &d.packet else {
        panic!()
    };
    assert!(c.is_bridge());
    assert_eq!(c.version(), V3_1_1);
}

#[test]
fn connect_flag_violations_are_reported_at_the_flags_byte() {
    let connect = |level: u8, flags: u8| {
        cat(&[
            &[0x10, 0x0c], // CONNECT
            &[0x00, 0x04],
            b"MQTT",         // protocol name
            &[level, flags], // level, flags
            &[0x00, 0x00],   // keep alive
            &[0x00, 0x00],   // client id
            if level == 5 { &[0x00][..] } else { &[][..] },
        ])
    };
    let mut reserved = connect(4, 0x01);
    let d = decode(&reserved, V3_1_1).unwrap();
    assert_eq!(warnings(&d), [(WarningKind::ConnectReservedFlag, 9)]);
    reserved = connect(4, 0x18); // will QoS 3 without a will
    assert_eq!(
        kinds(&decode(&reserved, V3_1_1).unwrap()),
        [WarningKind::InvalidWillFlags]
    );
    // A password flag without a user name flag: an error in 3.1.1 but allowed in 5.0. The
    // fields are absent here, so decoding stops at the missing password.
    let mut bytes = connect(4, 0x40);
    bytes.extend_from_slice(&[0x00, 0x00]);
    bytes[1] += 2;
    assert_eq!(
        kinds(&decode(&bytes, V3_1_1).unwrap()),
        [WarningKind::PasswordWithoutUsername]
    );
    let mut v5 = connect(5, 0x40);
    // Properties come before the client id in v5: rebuild it properly.
    v5 = cat(&[&v5[..12], &[0x00], &[0x00, 0x00], &[0x00, 0x00]]);
    v5[1] = (v5.len() - 2) as u8;
    let d = decode_ok(&v5, V3_1_1);
    assert!(d.warnings.is_empty(), "{:?}", d.warnings);
}

#[test]
fn connect_cut_inside_its_client_id_is_truncated() {
    let bytes = cat(&[
        &[0x10, 0x0c], // CONNECT, remaining length 12
        &[0x00, 0x04],
        b"MQTT",       // protocol name
        &[0x04, 0x02], // level, flags
        &[0x00, 0x3c], // keep alive
        &[0x00, 0x05], // client id of 5 bytes, which the packet does not hold
    ]);
    let err = decode(&bytes, V3_1_1).unwrap_err();
    assert_eq!((err.kind, err.offset), (DecodeErrorKind::Truncated, 12));
}

// ---------------------------------------------------------------- CONNACK

#[test]
fn connack_v311_return_codes_and_session_present() {
    let d = decode_ok(&[0x20, 0x02, 0x01, 0x05], V3_1_1); // session present, not authorized
    let Packet::ConnAck(c) = &d.packet else {
        panic!()
    };
    assert!(c.session_present);
    assert_eq!(c.reason_code, 5);
    assert_eq!(
        reason_code_name(PacketType::ConnAck, V3_1_1, c.reason_code),
        Some("Connection Refused, not authorized")
    );
    assert!(is_failure_in(PacketType::ConnAck, V3_1_1, c.reason_code));
    let d = decode_ok(&[0x20, 0x02, 0x02, 0x06], V3_1_1); // reserved bit, return code 6
    assert_eq!(
        warnings(&d),
        [
            (WarningKind::ReservedBitsSet, 2),
            (WarningKind::UnknownReasonCode(6), 3)
        ]
    );
}

#[test]
fn connack_v5_with_topic_alias_maximum_from_mosquitto() {
    let bytes = cat(&[
        &[0x20, 0x06],       // CONNACK, remaining length 6
        &[0x00],             // acknowledge flags
        &[0x00],             // reason code Success
        &[0x03],             // property length 3
        &[0x22, 0x00, 0x0a], // Topic Alias Maximum 10
    ]);
    assert_eq!(bytes, hex("200600000322000a"));
    let d = decode_ok(&bytes, V5);
    let Packet::ConnAck(c) = &d.packet else {
        panic!()
    };
    assert_eq!(c.properties.and_then(|p| p.topic_alias_maximum()), Some(10));
    assert_eq!(
        d.sizes,
        HeaderSizes {
            fixed: 2,
            variable: 2,
            properties: 4,
            payload: 0
        }
    );
}

#[test]
fn connack_v5_without_property_length_is_truncated() {
    let err = decode(&[0x20, 0x02, 0x00, 0x00], V5).unwrap_err();
    assert_eq!((err.kind, err.offset), (DecodeErrorKind::Truncated, 4));
}

// ---------------------------------------------------------------- PUBLISH

#[test]
fn publish_v311_qos0_qos1_qos2() {
    let qos0 = cat(&[
        &[0x31, 0x08], // PUBLISH QoS 0, retain
        &[0x00, 0x03],
        b"a/b", // topic
        b"pay", // payload
    ]);
    let d = decode_ok(&qos0, V3_1_1);
    let Packet::Publish(p) = &d.packet else {
        panic!()
    };
    assert_eq!(
        (p.qos, p.retain, p.dup, p.packet_id),
        (0, true, false, None)
    );
    assert_eq!(
        d.sizes,
        HeaderSizes {
            fixed: 2,
            variable: 5,
            properties: 0,
            payload: 3
        }
    );

    // mqtt311-pub-qos2 frame 8: QoS 2 PUBLISH to "topicX" with packet id 1.
    let qos2 = hex("341a0006746f706963580001626161626161626c61636b7368656570");
    let d = decode_ok(&qos2, V3_1_1);
    let Packet::Publish(p) = &d.packet else {
        panic!()
    };
    assert_eq!(
        (p.qos, p.packet_id, p.topic.as_str()),
        (2, Some(1), Some("topicX"))
    );
    assert_eq!(p.payload, b"baabaablacksheep");
    assert_eq!(
        d.sizes,
        HeaderSizes {
            fixed: 2,
            variable: 10,
            properties: 0,
            payload: 16
        }
    );

    let qos1_dup = cat(&[&[0x3a, 0x05], &[0x00, 0x01], b"t", &[0x12, 0x34]]);
    let d = decode_ok(&qos1_dup, V3_1);
    assert_eq!(d.packet.packet_id(), Some(0x1234));
}

#[test]
fn publish_qos3_and_dup_on_qos0_are_flagged() {
    let qos3 = cat(&[&[0x36, 0x05], &[0x00, 0x01], b"t", &[0x00, 0x07]]);
    let d = decode_ok(&qos3, V3_1_1);
    assert_eq!(kinds(&d), [WarningKind::Qos3]);
    assert_eq!(
        d.packet.packet_id(),
        Some(7),
        "QoS 3 is decoded with a packet id"
    );
    let dup0 = cat(&[&[0x38, 0x03], &[0x00, 0x01], b"t"]);
    assert_eq!(kinds(&decode_ok(&dup0, V3_1_1)), [WarningKind::DupOnQos0]);
}

#[test]
fn publish_topic_problems_are_reported_with_offsets_and_bytes_kept() {
    let wildcard = cat(&[&[0x30, 0x05], &[0x00, 0x03], b"a/#"]);
    let d = decode_ok(&wildcard, V3_1_1);
    assert_eq!(warnings(&d), [(WarningKind::WildcardInTopicName, 6)]);

    let bad_utf8 = cat(&[&[0x30, 0x06], &[0x00, 0x04], b"ab", &[0xff, 0x00]]);
    let d = decode_ok(&bad_utf8, V3_1_1);
    assert_eq!(
        warnings(&d),
        [
            (WarningKind::InvalidUtf8, 6),
            (WarningKind::NullCharacter, 7)
        ]
    );
    let Packet::Publish(p) = &d.packet else {
        panic!()
    };
    assert_eq!(p.topic.bytes(), b"ab\xff\x00");
    assert_eq!(p.topic.to_string_lossy(), "ab\u{fffd}\u{0}");

    let empty = [0x30, 0x02, 0x00, 0x00];
    assert_eq!(
        warnings(&decode_ok(&empty, V3_1_1)),
        [(WarningKind::EmptyTopicName, 2)]
    );
    let zero_id = cat(&[&[0x32, 0x05], &[0x00, 0x01], b"t", &[0x00, 0x00]]);
    assert_eq!(
        warnings(&decode_ok(&zero_id, V3_1_1)),
        [(WarningKind::PacketIdZero, 5)]
    );
}

#[test]
fn publish_v5_empty_topic_is_fine_with_a_topic_alias() {
    let with_alias = cat(&[
        &[0x30, 0x07],       // PUBLISH QoS 0
        &[0x00, 0x00],       // empty topic
        &[0x03],             // property length
        &[0x23, 0x00, 0x05], // Topic Alias 5
        b"x",                // payload
    ]);
    let d = decode_ok(&with_alias, V5);
    assert!(d.warnings.is_empty());
    let Packet::Publish(p) = &d.packet else {
        panic!()
    };
    assert_eq!(p.properties.and_then(|p| p.topic_alias()), Some(5));
    let without = cat(&[&[0x30, 0x04], &[0x00, 0x00], &[0x00], b"x"]);
    assert_eq!(
        kinds(&decode_ok(&without, V5)),
        [WarningKind::EmptyTopicName]
    );
}

#[test]
fn publish_v5_with_properties_from_mosquitto() {
    // mqtt5-pub-mosquittoprops frame 8.
    let bytes = hex(
        "325e0006746f706963580001430300066d79747970650900053132333435020000004d015808000f7265\
         73706f6e73655f746f706963312300052600097573657270726f703300087573657276616c3362616162\
         6161626c61636b7368656570",
    );
    let d = decode_ok(&bytes, V5);
    // The capture's Payload Format Indicator is 0x58; only 0 and 1 are allowed (§3.3.2.3.2).
    assert_eq!(
        warnings(&d),
        [(WarningKind::PropertyValueOutOfRange(0x01), 35)]
    );
    let Packet::Publish(p) = &d.packet else {
        panic!()
    };
    assert_eq!(
        (p.qos, p.packet_id, p.topic.as_str()),
        (1, Some(1), Some("topicX"))
    );
    let props = p.properties.expect("properties");
    assert_eq!(
        props.content_type().and_then(|s| s.as_str()),
        Some("mytype")
    );
    assert_eq!(props.correlation_data(), Some(&b"12345"[..]));
    assert_eq!(props.message_expiry_interval(), Some(77));
    assert_eq!(props.payload_format_indicator(), Some(0x58));
    assert_eq!(
        props.response_topic().and_then(|s| s.as_str()),
        Some("response_topic1")
    );
    assert_eq!(props.topic_alias(), Some(5));
    assert_eq!(props.user_properties().count(), 1);
    assert_eq!(p.payload, b"baabaablacksheep");
    // variable: topic 8 + packet id 2; properties: 1 + 67; payload 16.
    assert_eq!(
        d.sizes,
        HeaderSizes {
            fixed: 2,
            variable: 10,
            properties: 68,
            payload: 16
        }
    );
    let ids: Vec<u8> = props.iter().map(|p| p.unwrap().id.0).collect();
    assert_eq!(ids, [0x03, 0x09, 0x02, 0x01, 0x08, 0x23, 0x26]);
    let first = props.iter().next().unwrap().unwrap();
    assert_eq!(
        first.offset, 13,
        "offset of the Content Type identifier in the packet"
    );
}

// ---------------------------------------------------------------- PUBACK family

#[test]
fn puback_family_v311_from_mosquitto() {
    for (bytes, ty) in [
        (hex("50020001"), PacketType::PubRec),
        (hex("62020001"), PacketType::PubRel),
        (hex("70020001"), PacketType::PubComp),
        (hex("40020001"), PacketType::PubAck),
    ] {
        let d = decode_ok(&bytes, V3_1_1);
        assert_eq!(d.packet.packet_type(), ty);
        assert_eq!(d.packet.packet_id(), Some(1));
        assert_eq!(
            d.sizes,
            HeaderSizes {
                fixed: 2,
                variable: 2,
                properties: 0,
                payload: 0
            }
        );
    }
}

#[test]
fn puback_v311_with_extra_bytes_has_trailing_bytes() {
    let d = decode_ok(&[0x40, 0x03, 0x00, 0x01, 0x10], V3_1_1);
    assert_eq!(warnings(&d), [(WarningKind::TrailingBytes, 4)]);
    assert_eq!(
        d.sizes,
        HeaderSizes {
            fixed: 2,
            variable: 2,
            properties: 0,
            payload: 1
        }
    );
}

#[test]
fn puback_v5_short_forms_and_full_form() {
    // Remaining length 2: Success, no properties.
    let d = decode_ok(&[0x40, 0x02, 0x00, 0x01], V5);
    let Packet::PubAck(a) = &d.packet else {
        panic!()
    };
    assert_eq!((a.reason_code, a.properties), (None, None));
    // Remaining length 3 (mqtt5-pub-mosquittoprops frame 9): No matching subscribers.
    let raw = hex("4003000110");
    let d = decode_ok(&raw, V5);
    let Packet::PubAck(a) = &d.packet else {
        panic!()
    };
    assert_eq!((a.reason_code, a.properties), (Some(0x10), None));
    assert_eq!(
        d.sizes,
        HeaderSizes {
            fixed: 2,
            variable: 3,
            properties: 0,
            payload: 0
        }
    );
    // Full form with a reason string.
    let bytes = cat(&[
        &[0x50, 0x08], // PUBREC
        &[0x00, 0x02], // packet id 2
        &[0x80],       // Unspecified error
        &[0x04],       // property length
        &[0x1f, 0x00, 0x01],
        b"x", // Reason String "x"
    ]);
    let d = decode_ok(&bytes, V5);
    let Packet::PubRec(a) = &d.packet else {
        panic!()
    };
    assert_eq!(
        a.properties.and_then(|p| p.reason_string()).map(|s| s.0),
        Some(&b"x"[..])
    );
    assert!(is_failure(a.reason_code.unwrap()));
    assert_eq!(
        d.sizes,
        HeaderSizes {
            fixed: 2,
            variable: 3,
            properties: 5,
            payload: 0
        }
    );
    // A reason code PUBREL does not have.
    let d = decode_ok(&[0x62, 0x03, 0x00, 0x01, 0x10], V5);
    assert_eq!(warnings(&d), [(WarningKind::UnknownReasonCode(0x10), 4)]);
}

// ---------------------------------------------------------------- SUBSCRIBE / SUBACK

#[test]
fn subscribe_v31_two_filters_from_mosquitto() {
    let bytes = hex("821400010006746f70696358000006746f7069635900");
    let d = decode_ok(&bytes, V3_1);
    let Packet::Subscribe(s) = &d.packet else {
        panic!()
    };
    assert_eq!(s.packet_id, 1);
    assert_eq!(s.filters.len(), 2);
    let filters: Vec<_> = s.filters.iter().map(|(f, o)| (f.0, o.qos())).collect();
    assert_eq!(filters, [(&b"topicX"[..], 0), (&b"topicY"[..], 0)]);
    assert_eq!(
        d.sizes,
        HeaderSizes {
            fixed: 2,
            variable: 2,
            properties: 0,
            payload: 18
        }
    );
}

#[test]
fn subscribe_v5_options() {
    let bytes = cat(&[
        &[0x82, 0x0b],       // SUBSCRIBE, remaining length 11
        &[0x00, 0x0a],       // packet id 10
        &[0x02, 0x0b, 0x07], // properties: Subscription Identifier 7
        &[0x00, 0x03],
        b"a/+",  // filter
        &[0x2e], // retain handling 2, retain as published, no local, QoS 2
    ]);
    let d = decode_ok(&bytes, V5);
    let Packet::Subscribe(s) = &d.packet else {
        panic!()
    };
    let (filter, options) = s.filters.iter().next().unwrap();
    assert_eq!(filter.as_str(), Some("a/+"));
    assert_eq!(
        (
            options.qos(),
            options.no_local(),
            options.retain_as_published()
        ),
        (2, true, true)
    );
    assert_eq!(options.retain_handling(), 2);
    assert_eq!(
        s.properties
            .unwrap()
            .subscription_identifiers()
            .collect::<Vec<_>>(),
        [7]
    );
    assert_eq!(
        d.sizes,
        HeaderSizes {
            fixed: 2,
            variable: 2,
            properties: 3,
            payload: 6
        }
    );
}

#[test]
fn subscribe_problems_are_flagged() {
    // 3.1.1: options bits above QoS are reserved.
    let v3 = cat(&[&[0x82, 0x06], &[0x00, 0x01], &[0x00, 0x01], b"t", &[0x04]]);
    assert_eq!(
        warnings(&decode_ok(&v3, V3_1_1)),
        [(WarningKind::ReservedBitsSet, 7)]
    );
    // 5.0: retain handling 3, and requested QoS 3.
    let v5 = cat(&[
        &[0x82, 0x07],
        &[0x00, 0x01],
        &[0x00],
        &[0x00, 0x01],
        b"t",
        &[0x33],
    ]);
    assert_eq!(
        kinds(&decode_ok(&v5, V5)),
        [WarningKind::Qos3, WarningKind::ReservedBitsSet]
    );
    // No filters, packet id 0.
    let empty = [0x82, 0x02, 0x00, 0x00];
    assert_eq!(
        warnings(&decode_ok(&empty, V3_1_1)),
        [
            (WarningKind::PacketIdZero, 2),
            (WarningKind::NoTopicFilters, 4)
        ]
    );
    // A filter without its options byte is malformed.
    let cut = [0x82, 0x05, 0x00, 0x01, 0x00, 0x01, b't'];
    assert_eq!(
        decode(&cut, V3_1_1).unwrap_err().kind,
        DecodeErrorKind::Truncated
    );
}

#[test]
fn suback_v311_and_v5_reason_codes() {
    let raw = hex("900400010080");
    let d = decode_ok(&raw, V3_1_1);
    let Packet::SubAck(s) = &d.packet else {
        panic!()
    };
    assert_eq!(s.reason_codes, [0x00, 0x80]);
    assert_eq!(d.packet.reason_codes(), [0x00, 0x80]);
    assert_eq!(
        d.sizes,
        HeaderSizes {
            fixed: 2,
            variable: 2,
            properties: 0,
            payload: 2
        }
    );
    // v3 has no 0x97.
    assert_eq!(
        kinds(&decode_ok(&[0x90, 0x03, 0x00, 0x01, 0x97], V3_1_1)),
        [WarningKind::UnknownReasonCode(0x97)]
    );
    // mqtt5-sub-mosquittoprops frame 9: two granted QoS 0.
    let raw = hex("90050001000000");
    let d = decode_ok(&raw, V5);
    let Packet::SubAck(s) = &d.packet else {
        panic!()
    };
    assert_eq!(s.reason_codes, [0, 0]);
    assert_eq!(
        d.sizes,
        HeaderSizes {
            fixed: 2,
            variable: 2,
            properties: 1,
            payload: 2
        }
    );
    assert!(d.warnings.is_empty());
}

// ---------------------------------------------------------------- UNSUBSCRIBE / UNSUBACK

#[test]
fn unsubscribe_and_unsuback_v5_from_mosquitto() {
    let raw = hex("a20b0002000006746f70696358");
    let d = decode_ok(&raw, V5);
    let Packet::Unsubscribe(u) = &d.packet else {
        panic!()
    };
    assert_eq!(u.packet_id, 2);
    assert_eq!(
        u.filters.iter().map(|f| f.0).collect::<Vec<_>>(),
        [b"topicX"]
    );
    assert_eq!(
        d.sizes,
        HeaderSizes {
            fixed: 2,
            variable: 2,
            properties: 1,
            payload: 8
        }
    );
    let raw = hex("b00400030011");
    let d = decode_ok(&raw, V5);
    let Packet::UnsubAck(u) = &d.packet else {
        panic!()
    };
    assert_eq!(u.reason_codes, [0x11]);
    assert_eq!(
        reason_code_name(PacketType::UnsubAck, V5, 0x11),
        Some("No subscription existed")
    );
}

#[test]
fn unsubscribe_and_unsuback_v311() {
    let bytes = cat(&[&[0xa2, 0x07], &[0x00, 0x05], &[0x00, 0x03], b"a/b"]);
    let d = decode_ok(&bytes, V3_1_1);
    let Packet::Unsubscribe(u) = &d.packet else {
        panic!()
    };
    assert_eq!(u.filters.len(), 1);
    let empty = [0xa2, 0x02, 0x00, 0x05];
    assert_eq!(
        kinds(&decode_ok(&empty, V3_1_1)),
        [WarningKind::NoTopicFilters]
    );
    let d = decode_ok(&[0xb0, 0x02, 0x00, 0x05], V3_1_1);
    let Packet::UnsubAck(u) = &d.packet else {
        panic!()
    };
    assert_eq!(
        (u.packet_id, u.reason_codes, u.properties),
        (5, &[][..], None)
    );
}

// ---------------------------------------------------------------- PING, DISCONNECT, AUTH

#[test]
fn ping_packets_have_no_body() {
    assert_eq!(decode_ok(&[0xc0, 0x00], V3_1).packet, Packet::PingReq);
    assert_eq!(decode_ok(&[0xd0, 0x00], V5).packet, Packet::PingResp);
    let d = decode_ok(&[0xc0, 0x01, 0x00], V3_1_1);
    assert_eq!(warnings(&d), [(WarningKind::TrailingBytes, 2)]);
}

#[test]
fn disconnect_v3_and_v5_short_forms() {
    let raw = hex("e000");
    let d = decode_ok(&raw, V3_1_1);
    assert_eq!(
        d.packet,
        Packet::Disconnect(ReasonOnly {
            reason_code: None,
            properties: None
        })
    );
    let raw = hex("e000");
    let d = decode_ok(&raw, V5);
    assert_eq!(
        d.packet,
        Packet::Disconnect(ReasonOnly {
            reason_code: None,
            properties: None
        })
    );
    // mqtt5-unsub-qos1 frame 17: remaining length 1, Disconnect with Will Message.
    let raw = hex("e00104");
    let d = decode_ok(&raw, V5);
    assert_eq!(d.packet.reason_codes(), [0x04]);
    // mqtt5-sub-mosquittoprops frame 11: reason 0x04, Session Expiry Interval and a user property.
    let raw = hex("e01d041b110000007a2600097573657270726f703400087573657276616c34");
    let d = decode_ok(&raw, V5);
    let Packet::Disconnect(r) = &d.packet else {
        panic!()
    };
    assert_eq!(
        r.properties.and_then(|p| p.session_expiry_interval()),
        Some(122)
    );
    assert_eq!(
        d.sizes,
        HeaderSizes {
            fixed: 2,
            variable: 1,
            properties: 28,
            payload: 0
        }
    );
}

#[test]
fn auth_v5_and_reserved_types() {
    let bytes = cat(&[
        &[0xf0, 0x0a], // AUTH
        &[0x18],       // Continue authentication
        &[0x08],       // property length
        &[0x15, 0x00, 0x05],
        b"SCRAM", // Authentication Method
    ]);
    let d = decode_ok(&bytes, V5);
    let Packet::Auth(a) = &d.packet else { panic!() };
    assert_eq!(a.reason_code, Some(0x18));
    assert_eq!(
        a.properties
            .and_then(|p| p.authentication_method())
            .map(|m| m.0),
        Some(&b"SCRAM"[..])
    );
    // Type 15 before 5.0, and type 0 always: reserved, body kept.
    let d = decode_ok(&[0xf0, 0x01, 0x18], V3_1_1);
    assert_eq!(
        d.packet,
        Packet::Reserved {
            type_id: 15,
            body: &[0x18]
        }
    );
    assert_eq!(d.packet.packet_type(), PacketType::Auth);
    let d = decode_ok(&[0x00, 0x02, 0xaa, 0xbb], V5);
    assert_eq!(
        d.packet,
        Packet::Reserved {
            type_id: 0,
            body: &[0xaa, 0xbb]
        }
    );
    assert_eq!(
        d.sizes,
        HeaderSizes {
            fixed: 2,
            variable: 0,
            properties: 0,
            payload: 2
        }
    );
}

// ---------------------------------------------------------------- partial and unknown version

#[test]
fn decode_partial_keeps_headers_of_a_huge_publish() {
    // A 1 MB QoS 1 PUBLISH of which the capture kept 20 bytes.
    let mut bytes = cat(&[
        &[0x32, 0x80, 0x80, 0x40], // PUBLISH QoS 1, remaining length 1,048,576
        &[0x00, 0x05],
        b"big/t",      // topic
        &[0x00, 0x09], // packet id
    ]);
    bytes.resize(20, 0x55);
    let d = decode_partial(&bytes, 4 + 1_048_576, V3_1_1).expect("partial decode");
    let Packet::Publish(p) = &d.packet else {
        panic!()
    };
    assert_eq!(
        (p.topic.as_str(), p.packet_id, p.payload.len()),
        (Some("big/t"), Some(9), 7)
    );
    assert_eq!(
        d.sizes,
        HeaderSizes {
            fixed: 4,
            variable: 9,
            properties: 0,
            payload: 1_048_567
        }
    );
    assert!(d.warnings.is_empty());
    // A prefix that ends inside the topic: need the rest of the packet.
    let err = decode_partial(&bytes[..6], 4 + 1_048_576, V3_1_1).unwrap_err();
    assert_eq!(
        err.kind,
        DecodeErrorKind::Incomplete {
            needed: Some(1_048_580 - 6)
        }
    );
    // The length must be the one the header claims.
    assert_eq!(
        decode_partial(&bytes, 99, V3_1_1).unwrap_err().kind,
        DecodeErrorKind::InvalidValue
    );
}

#[test]
fn decode_partial_tells_a_cut_property_block_from_an_impossible_one() {
    // v5 PUBLISH of 4 + 300 bytes; the prefix ends inside its property block.
    let prefix = cat(&[
        &[0x30, 0xac, 0x02], // PUBLISH, remaining length 300
        &[0x00, 0x01],
        b"t",          // topic
        &[0x80, 0x01], // property length 128: fits the packet, not the prefix
        &[0x26, 0x00], // start of a user property
    ]);
    let err = decode_partial(&prefix, 303, ProtocolVersion::V5).unwrap_err();
    assert_eq!(
        err.kind,
        DecodeErrorKind::Incomplete {
            needed: Some(303 - 10)
        }
    );
    // Property length 1000 cannot fit a 300-byte packet at all.
    let mut bad = prefix.clone();
    bad[6..8].copy_from_slice(&[0xe8, 0x07]);
    let err = decode_partial(&bad, 303, ProtocolVersion::V5).unwrap_err();
    assert_eq!(
        (err.kind, err.offset),
        (DecodeErrorKind::PropertyLengthOverflow, 6)
    );
}

#[test]
fn decode_partial_cuts_a_connect_will_payload_and_suback_codes() {
    let bytes = cat(&[
        &[0x10, 0x80, 0x08], // CONNECT, remaining length 1024
        &[0x00, 0x04],
        b"MQTT",       // protocol name
        &[0x04, 0x06], // level 4; will, clean session
        &[0x00, 0x3c], // keep alive
        &[0x00, 0x01],
        b"c", // client id
        &[0x00, 0x01],
        b"w", // will topic
        &[0x03, 0xef],
        b"abc", // will payload of 1007 bytes, 3 captured
    ]);
    let d = decode_partial(&bytes, 3 + 1024, V3_1_1).expect("partial connect");
    let Packet::Connect(c) = &d.packet else {
        panic!()
    };
    assert_eq!(c.will.as_ref().map(|w| w.payload), Some(&b"abc"[..]));
    assert_eq!(d.sizes.total(), 1027);
    let suback = [0x90, 0x80, 0x01, 0x00, 0x07, 0x00, 0x01, 0x02];
    let d = decode_partial(&suback, 3 + 128, V3_1_1).expect("partial suback");
    assert_eq!(d.packet.reason_codes(), [0, 1, 2]);
    assert_eq!(
        d.sizes,
        HeaderSizes {
            fixed: 3,
            variable: 2,
            properties: 0,
            payload: 126
        }
    );
}

#[test]
fn decode_unknown_version_picks_the_layout_that_fits() {
    // PUBACK with a reason code: only v5 decodes it without trailing bytes.
    let (_, v) = decode_unknown_version(&hex("4003000110")).unwrap();
    assert_eq!(v, V5);
    // A 3.1.1 PUBLISH with a text payload: v5 would need a 0x68-byte property block.
    let raw = hex("341a0006746f706963580001626161626161626c61636b7368656570");
    let (d, v) = decode_unknown_version(&raw).unwrap();
    assert_eq!(v, V3_1_1);
    assert_eq!(d.packet.packet_id(), Some(1));
    // A v5 PUBLISH with properties.
    let bytes = hex(
        "325e0006746f706963580001430300066d79747970650900053132333435020000004d015808000f7265\
         73706f6e73655f746f706963312300052600097573657270726f703300087573657276616c3362616162\
         6161626c61636b7368656570",
    );
    assert_eq!(decode_unknown_version(&bytes).unwrap().1, V5);
    // CONNECT says its own version; AUTH exists only in v5.
    assert_eq!(decode_unknown_version(&hex("102d00064d514973647003c2003c00136d79766f69636569736d7970617373706f7274000475736572000470617373")).unwrap().1, V3_1);
    assert_eq!(decode_unknown_version(&[0xf0, 0x00]).unwrap().1, V5);
    assert_eq!(decode_unknown_version(&[0xc0, 0x00]).unwrap().1, V3_1_1);
}

/// SUBSCRIBE (id 1, QoS 0) and UNSUBSCRIBE (id 1) with one filter, in the layout of `version`.
fn one_filter_requests(filter: &[u8], version: ProtocolVersion) -> [Vec<u8>; 2] {
    let props: &[u8] = if version.is_v5() { &[0x00] } else { &[] };
    let len = (filter.len() as u16).to_be_bytes();
    let sub_body = cat(&[&[0x00, 0x01], props, &len, filter, &[0x00]]);
    let unsub_body = cat(&[&[0x00, 0x01], props, &len, filter]);
    [
        cat(&[&[0x82, sub_body.len() as u8], &sub_body]),
        cat(&[&[0xa2, unsub_body.len() as u8], &unsub_body]),
    ]
}

#[test]
fn topic_filters_breaking_the_wildcard_rules_are_flagged_at_the_filter() {
    let cases: &[(&[u8], bool)] = &[
        (b"a/b", true),
        (b"#", true),
        (b"a/#", true),
        (b"+", true),
        (b"+/+/#", true),
        (b"/", true),
        (b"a//+/", true),
        (b"$SYS/#", true),
        (b"", false),
        (b"a/#/b", false),
        (b"##", false),
        (b"a#", false),
        (b"a/b#", false),
        (b"#/", false),
        (b"a+", false),
        (b"a/+b/c", false),
        (b"++", false),
    ];
    for &(filter, valid) in cases {
        for version in [V3_1_1, V5] {
            for bytes in one_filter_requests(filter, version) {
                let d = decode_ok(&bytes, version);
                let expected: Vec<(WarningKind, u32)> = if valid {
                    vec![]
                } else {
                    // Fixed header 2, packet id 2, property length (v5) 1, string length 2.
                    let at = if version.is_v5() { 7 } else { 6 };
                    vec![(WarningKind::InvalidTopicFilter, at)]
                };
                assert_eq!(
                    warnings(&d),
                    expected,
                    "{:?} {version:?}",
                    String::from_utf8_lossy(filter)
                );
            }
        }
    }
}

#[test]
fn shared_subscriptions_need_a_share_name_and_a_filter_in_v5_only() {
    let share_warning = [(WarningKind::InvalidSharedSubscription, 7)];
    for filter in [
        &b"$share/"[..],
        b"$share//a",
        b"$share/g",
        b"$share/g/",
        b"$share/g+/a",
        b"$share/#/a",
    ] {
        for bytes in one_filter_requests(filter, V5) {
            assert_eq!(
                warnings(&decode_ok(&bytes, V5)),
                share_warning,
                "{:?}",
                String::from_utf8_lossy(filter)
            );
        }
    }
    // A well-formed share whose topic filter breaks the wildcard rules: the offset points at
    // the topic filter after "$share/g/".
    for bytes in one_filter_requests(b"$share/g/a/#/b", V5) {
        assert_eq!(
            warnings(&decode_ok(&bytes, V5)),
            [(WarningKind::InvalidTopicFilter, 7 + 9)]
        );
    }
    for bytes in one_filter_requests(b"$share/group/sensors/+/#", V5) {
        assert!(decode_ok(&bytes, V5).warnings.is_empty());
    }
    // 3.1.1 has no shared subscriptions: "$share/g" is an ordinary, valid filter.
    for bytes in one_filter_requests(b"$share/g", V3_1_1) {
        assert!(decode_ok(&bytes, V3_1_1).warnings.is_empty());
    }
}

#[test]
fn property_values_the_spec_forbids_are_flagged_with_their_identifier() {
    // (packet, property bytes, forbidden): CONNACK carries most limits, CONNECT the requests,
    // PUBLISH the payload format indicator and subscription identifiers.
    let connack = |p: &[u8]| cat(&[&[0x20, 3 + p.len() as u8, 0x00, 0x00, p.len() as u8], p]);
    let connect = |p: &[u8]| {
        let body = cat(&[
            &[0x00, 0x04],
            b"MQTT",
            &[0x05, 0x02, 0x00, 0x3c, p.len() as u8],
            p,
            &[0x00, 0x01, b'c'],
        ]);
        cat(&[&[0x10, body.len() as u8], &body])
    };
    let publish = |p: &[u8]| {
        let body = cat(&[&[0x00, 0x01, b't', p.len() as u8], p, b"x"]);
        cat(&[&[0x30, body.len() as u8], &body])
    };
    type Build<'a> = &'a dyn Fn(&[u8]) -> Vec<u8>;
    let cases: &[(Build<'_>, &[u8], bool, u32)] = &[
        // (build, properties, forbidden, offset of the property identifier)
        (&connack, &[0x24, 0x02], true, 5),
        (&connack, &[0x24, 0x01], false, 5),
        (&connack, &[0x25, 0x02], true, 5),
        (&connack, &[0x28, 0x02], true, 5),
        (&connack, &[0x29, 0xff], true, 5),
        (&connack, &[0x2a, 0x02], true, 5),
        (&connack, &[0x2a, 0x00], false, 5),
        (&connack, &[0x21, 0x00, 0x00], true, 5),
        (&connack, &[0x21, 0x00, 0x01], false, 5),
        (&connack, &[0x27, 0x00, 0x00, 0x00, 0x00], true, 5),
        (&connack, &[0x27, 0x00, 0x00, 0x00, 0x01], false, 5),
        (&connect, &[0x17, 0x02], true, 13),
        (&connect, &[0x19, 0x02], true, 13),
        (&connect, &[0x19, 0x01], false, 13),
        (&connect, &[0x21, 0x00, 0x00], true, 13),
        (&publish, &[0x01, 0x02], true, 6),
        (&publish, &[0x01, 0x01], false, 6),
        (&publish, &[0x0b, 0x00], true, 6),
        (&publish, &[0x0b, 0x01], false, 6),
    ];
    for &(build, props, forbidden, at) in cases {
        let bytes = build(props);
        let d = decode_ok(&bytes, V5);
        let expected: Vec<(WarningKind, u32)> = if forbidden {
            vec![(WarningKind::PropertyValueOutOfRange(props[0]), at)]
        } else {
            vec![]
        };
        assert_eq!(warnings(&d), expected, "{bytes:02x?}");
    }
    // Topic Alias 0 is the analyzer's finding (it knows the direction's maximum), not the codec's.
    let alias_zero = publish(&[0x23, 0x00, 0x00]);
    assert!(decode_ok(&alias_zero, V5).warnings.is_empty());
}
