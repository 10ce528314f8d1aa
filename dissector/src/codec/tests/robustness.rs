//! Arbitrary bytes: decoding never panics, every view over the result can be walked, and the
//! invariants of a successful decode hold.

use proptest::prelude::*;

use super::*;

/// Walks everything a decoded packet lets a caller iterate.
fn walk_everything(decoded: &Decoded<'_>) {
    let mut props: Vec<Properties<'_>> = decoded.packet.properties().copied().into_iter().collect();
    if let Packet::Connect(c) = &decoded.packet
        && let Some(p) = c.will.as_ref().and_then(|w| w.properties)
    {
        props.push(p);
    }
    for p in props {
        for item in p.iter() {
            let _ = item.map(|p| (p.id.name(), p.value));
        }
        let _ = (
            p.topic_alias(),
            p.user_properties().count(),
            p.subscription_identifiers().count(),
        );
    }
    match &decoded.packet {
        Packet::Subscribe(s) => {
            let _ = s.filters.iter().count();
        }
        Packet::Unsubscribe(u) => {
            let _ = u.filters.iter().count();
        }
        _ => {}
    }
}

/// Bytes that look like the start of an MQTT packet more often than uniform noise does.
fn packetish() -> impl Strategy<Value = Vec<u8>> {
    (any::<u8>(), proptest::collection::vec(any::<u8>(), 0..96)).prop_map(|(first, body)| {
        let mut bytes = vec![first, body.len() as u8 & 0x7f];
        bytes.extend_from_slice(&body);
        bytes
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4096))]

    #[test]
    fn decoding_arbitrary_bytes_never_panics(
        bytes in prop_oneof![proptest::collection::vec(any::<u8>(), 0..128), packetish()],
    ) {
        for version in [ProtocolVersion::V3_1, ProtocolVersion::V3_1_1, ProtocolVersion::V5] {
            match decode(&bytes, version) {
                Ok(decoded) => {
                    prop_assert_eq!(decoded.sizes.total(), decoded.header.packet_len());
                    prop_assert!(decoded.header.packet_len() <= bytes.len() as u64);
                    walk_everything(&decoded);
                    // A packet without findings is canonical: encoding gives its bytes back
                    // (reserved types keep their body, not their flags).
                    if decoded.warnings.is_empty()
                        && !matches!(decoded.packet, Packet::Reserved { .. })
                    {
                        let mut out = Vec::new();
                        encode(&decoded.packet, version, &mut out).expect("encodes");
                        let len = decoded.header.packet_len() as usize;
                        prop_assert_eq!(&out[..], &bytes[..len]);
                    }
                }
                Err(e) => prop_assert!(e.offset <= bytes.len(), "{:?}", e),
            }
            if let Ok(d) = decode_partial(&bytes, bytes.len() as u64 + 10, version) {
                walk_everything(&d);
            }
        }
        if let Ok((decoded, _)) = decode_unknown_version(&bytes) {
            walk_everything(&decoded);
        }
    }
}

#[test]
fn every_warning_and_error_offset_lies_inside_the_packet() {
    // A packet with many findings: offsets must point into it.
    let bytes = cat(&[
        &[0x3e, 0x0a], // PUBLISH DUP, QoS 3, no retain
        &[0x00, 0x04],
        b"+\x00\xff#", // topic: wildcard, U+0000, invalid UTF-8
        &[0x00, 0x00], // packet id 0
        b"xy",         // payload
    ]);
    let d = decode(&bytes, ProtocolVersion::V3_1_1).unwrap();
    assert_eq!(
        warnings(&d),
        [
            (WarningKind::Qos3, 0),
            (WarningKind::InvalidUtf8, 6),
            (WarningKind::NullCharacter, 5),
            (WarningKind::WildcardInTopicName, 4),
            (WarningKind::PacketIdZero, 8),
        ]
    );
    assert!(d.warnings.iter().all(|w| (w.offset as usize) < bytes.len()));
}

#[test]
fn more_findings_than_capacity_are_counted() {
    // SUBSCRIBE with twelve filters whose options all have reserved bits set.
    let mut body = vec![0x00, 0x01];
    for _ in 0..12 {
        body.extend_from_slice(&[0x00, 0x01, b't', 0xc0]);
    }
    let mut bytes = vec![0x82, body.len() as u8];
    bytes.extend_from_slice(&body);
    let d = decode(&bytes, ProtocolVersion::V3_1_1).unwrap();
    assert_eq!(d.warnings.len(), Warnings::CAPACITY);
    assert_eq!(d.warnings.dropped, 4);
}
