//! Property tests: arbitrary packets of every type and version survive encode → decode.

use proptest::prelude::*;

use super::*;

/// An owned description of a packet, from which a borrowed [`Packet`] is built.
#[derive(Debug, Clone)]
struct Owned {
    version: ProtocolVersion,
    type_id: u8,
    flags: u8,
    packet_id: u16,
    topic: Vec<u8>,
    payload: Vec<u8>,
    strings: Vec<Vec<u8>>,
    properties: Vec<u8>,
    will_properties: Vec<u8>,
    filters: Vec<u8>,
    codes: Vec<u8>,
    /// Which optional parts are present (bits per type).
    shape: u8,
}

impl Owned {
    fn props(&self) -> Option<Properties<'_>> {
        self.version.is_v5().then_some(Properties {
            raw: &self.properties,
            offset: 0,
        })
    }

    fn packet(&self) -> Packet<'_> {
        let v5 = self.version.is_v5();
        let s = |k: usize| MqttStr(self.strings.get(k).map_or(&[][..], Vec::as_slice));
        match self.type_id {
            1 => {
                let will_present = self.shape & 1 != 0;
                let will = will_present.then(|| Will {
                    properties: v5.then_some(Properties {
                        raw: &self.will_properties,
                        offset: 0,
                    }),
                    topic: MqttStr(&self.topic),
                    payload: &self.payload,
                    qos: (self.flags >> 1) % 3,
                    retain: self.flags & 1 != 0,
                });
                let username = (self.shape & 2 != 0).then(|| s(1));
                let password = (self.shape & 4 != 0).then(|| s(2).0);
                let mut flags = self.flags & 0x02;
                if let Some(w) = &will {
                    flags |= 0x04 | (w.qos << 3) | (u8::from(w.retain) << 5);
                }
                flags |= u8::from(password.is_some()) << 6 | u8::from(username.is_some()) << 7;
                let (name, level): (&[u8], u8) = match self.version {
                    ProtocolVersion::V3_1 => (b"MQIsdp", 3),
                    ProtocolVersion::V3_1_1 => (b"MQTT", 4),
                    ProtocolVersion::V5 => (b"MQTT", 5),
                };
                Packet::Connect(Connect {
                    protocol_name: MqttStr(name),
                    protocol_level: level,
                    flags: ConnectFlags(flags),
                    keep_alive: self.packet_id,
                    properties: self.props(),
                    client_id: s(0),
                    will,
                    username,
                    password,
                })
            }
            2 => Packet::ConnAck(ConnAck {
                ack_flags: self.flags & 1,
                session_present: self.flags & 1 != 0,
                reason_code: self.codes.first().copied().unwrap_or(0),
                properties: self.props(),
            }),
            3 => {
                let qos = (self.flags >> 1) & 3;
                Packet::Publish(Publish {
                    dup: self.flags & 8 != 0,
                    qos,
                    retain: self.flags & 1 != 0,
                    topic: MqttStr(&self.topic),
                    packet_id: (qos > 0).then_some(self.packet_id),
                    properties: self.props(),
                    payload: &self.payload,
                })
            }
            4..=7 => {
                let (reason_code, properties) = match (v5, self.shape % 3) {
                    (false, _) | (true, 0) => (None, None),
                    (true, 1) => (self.codes.first().copied(), None),
                    (true, _) => (Some(self.codes.first().copied().unwrap_or(0)), self.props()),
                };
                let ack = PubAckLike {
                    packet_id: self.packet_id,
                    reason_code,
                    properties,
                };
                match self.type_id {
                    4 => Packet::PubAck(ack),
                    5 => Packet::PubRec(ack),
                    6 => Packet::PubRel(ack),
                    _ => Packet::PubComp(ack),
                }
            }
            8 => Packet::Subscribe(Subscribe {
                packet_id: self.packet_id,
                properties: self.props(),
                filters: SubscribeFilters {
                    raw: &self.filters,
                    offset: 0,
                },
            }),
            9 => Packet::SubAck(SubAck {
                packet_id: self.packet_id,
                properties: self.props(),
                reason_codes: &self.codes,
            }),
            // `filters` holds an UNSUBSCRIBE list for type 10 (see `owned`).
            10 => Packet::Unsubscribe(Unsubscribe {
                packet_id: self.packet_id,
                properties: self.props(),
                filters: UnsubscribeFilters {
                    raw: &self.filters,
                    offset: 0,
                },
            }),
            11 => Packet::UnsubAck(UnsubAck {
                packet_id: self.packet_id,
                properties: self.props(),
                reason_codes: if v5 { &self.codes } else { &[] },
            }),
            12 => Packet::PingReq,
            13 => Packet::PingResp,
            14 | 15 if v5 || self.type_id == 14 => {
                let (reason_code, properties) = match (v5, self.shape % 3) {
                    (false, _) | (true, 0) => (None, None),
                    (true, 1) => (self.codes.first().copied(), None),
                    (true, _) => (Some(self.codes.first().copied().unwrap_or(0)), self.props()),
                };
                let body = ReasonOnly {
                    reason_code,
                    properties,
                };
                if self.type_id == 14 {
                    Packet::Disconnect(body)
                } else {
                    Packet::Auth(body)
                }
            }
            type_id => Packet::Reserved {
                type_id,
                body: &self.payload,
            },
        }
    }
}

fn version() -> impl Strategy<Value = ProtocolVersion> {
    prop_oneof![
        Just(ProtocolVersion::V3_1),
        Just(ProtocolVersion::V3_1_1),
        Just(ProtocolVersion::V5)
    ]
}

/// A sample value of `id`'s wire type from random parts.
fn value_of<'a>(id: PropertyId, n: u32, text: &'a [u8]) -> PropertyValue<'a> {
    match id.wire_type().expect("known") {
        PropertyWireType::Byte => PropertyValue::Byte(n as u8),
        PropertyWireType::TwoByteInt => PropertyValue::TwoByteInt(n as u16),
        PropertyWireType::FourByteInt => PropertyValue::FourByteInt(n),
        PropertyWireType::VarInt => PropertyValue::VarInt(n % 268_435_456),
        PropertyWireType::Utf8String => PropertyValue::Utf8String(MqttStr(text)),
        PropertyWireType::Utf8StringPair => {
            PropertyValue::Utf8StringPair(MqttStr(text), MqttStr(text))
        }
        PropertyWireType::BinaryData => PropertyValue::BinaryData(text),
    }
}

/// A property block of properties allowed in `packet_type` (or a will).
fn property_block(packet_type: PacketType, is_will: bool, picks: &[(u8, u32, Vec<u8>)]) -> Vec<u8> {
    let allowed: Vec<PropertyId> = PropertyId::ALL
        .into_iter()
        .filter(|id| id.allowed_in(packet_type, is_will))
        .collect();
    let mut b = PropertiesBuilder::new();
    if allowed.is_empty() {
        return Vec::new();
    }
    for (pick, n, text) in picks {
        let id = allowed[usize::from(*pick) % allowed.len()];
        b.push(id, value_of(id, *n, text)).expect("valid property");
    }
    b.as_bytes().to_vec()
}

prop_compose! {
    fn owned()(
        version in version(),
        type_id in 0u8..16,
        flags in any::<u8>(),
        packet_id in any::<u16>(),
        topic in "[a-z/]{0,12}",
        payload in proptest::collection::vec(any::<u8>(), 0..64),
        strings in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..12), 3),
        picks in proptest::collection::vec((any::<u8>(), any::<u32>(), proptest::collection::vec(any::<u8>(), 0..8)), 0..5),
        will_picks in proptest::collection::vec((any::<u8>(), any::<u32>(), proptest::collection::vec(any::<u8>(), 0..8)), 0..3),
        filters in proptest::collection::vec(("[a-z/+#]{0,10}", any::<u8>()), 1..4),
        codes in proptest::collection::vec(any::<u8>(), 0..6),
        shape in any::<u8>(),
    ) -> Owned {
        let packet_type = PacketType::from_id(type_id);
        let properties = property_block(packet_type, false, &picks);
        let will_properties = property_block(PacketType::Connect, true, &will_picks);
        let filters = if type_id == 10 {
            let mut b = UnsubscribeFiltersBuilder::new();
            for (f, _) in &filters { b.push(f.as_bytes()).unwrap(); }
            b.filters().raw.to_vec()
        } else {
            let mut b = SubscribeFiltersBuilder::new();
            for (f, o) in &filters { b.push(f.as_bytes(), SubscriptionOptions(*o)).unwrap(); }
            b.filters().raw.to_vec()
        };
        Owned {
            version, type_id, flags, packet_id, topic: topic.into_bytes(), payload, strings,
            properties, will_properties, filters, codes, shape,
        }
    }
}

/// Sets every offset in a packet to 0, so packets built from owned parts compare equal to
/// decoded ones.
fn without_offsets(packet: Packet<'_>) -> Packet<'_> {
    fn p(props: Option<Properties<'_>>) -> Option<Properties<'_>> {
        props.map(|p| Properties { offset: 0, ..p })
    }
    match packet {
        Packet::Connect(mut c) => {
            c.properties = p(c.properties);
            if let Some(w) = c.will.as_mut() {
                w.properties = p(w.properties);
            }
            Packet::Connect(c)
        }
        Packet::ConnAck(mut c) => {
            c.properties = p(c.properties);
            Packet::ConnAck(c)
        }
        Packet::Publish(mut x) => {
            x.properties = p(x.properties);
            Packet::Publish(x)
        }
        Packet::PubAck(mut x) => {
            x.properties = p(x.properties);
            Packet::PubAck(x)
        }
        Packet::PubRec(mut x) => {
            x.properties = p(x.properties);
            Packet::PubRec(x)
        }
        Packet::PubRel(mut x) => {
            x.properties = p(x.properties);
            Packet::PubRel(x)
        }
        Packet::PubComp(mut x) => {
            x.properties = p(x.properties);
            Packet::PubComp(x)
        }
        Packet::Subscribe(mut x) => {
            x.properties = p(x.properties);
            x.filters.offset = 0;
            Packet::Subscribe(x)
        }
        Packet::SubAck(mut x) => {
            x.properties = p(x.properties);
            Packet::SubAck(x)
        }
        Packet::Unsubscribe(mut x) => {
            x.properties = p(x.properties);
            x.filters.offset = 0;
            Packet::Unsubscribe(x)
        }
        Packet::UnsubAck(mut x) => {
            x.properties = p(x.properties);
            Packet::UnsubAck(x)
        }
        Packet::Disconnect(mut x) => {
            x.properties = p(x.properties);
            Packet::Disconnect(x)
        }
        Packet::Auth(mut x) => {
            x.properties = p(x.properties);
            Packet::Auth(x)
        }
        other => other,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2048))]

    #[test]
    fn encode_then_decode_gives_the_packet_back(owned in owned()) {
        let packet = owned.packet();
        let mut bytes = Vec::new();
        encode(&packet, owned.version, &mut bytes).expect("encodes");
        let decoded = decode(&bytes, owned.version).expect("decodes");
        prop_assert_eq!(decoded.header.packet_len(), bytes.len() as u64);
        prop_assert_eq!(decoded.sizes.total(), bytes.len() as u64);
        prop_assert_eq!(without_offsets(decoded.packet.clone()), packet);
        // And back again: the encoding is canonical.
        let mut again = Vec::new();
        encode(&decoded.packet, owned.version, &mut again).expect("re-encodes");
        prop_assert_eq!(&again, &bytes);
        prop_assert!(!decoded.warnings.contains(WarningKind::NonMinimalVarInt));
        prop_assert!(!decoded.warnings.contains(WarningKind::TrailingBytes));
    }

    #[test]
    fn every_strict_prefix_of_a_packet_is_incomplete(owned in owned()) {
        let mut bytes = Vec::new();
        encode(&owned.packet(), owned.version, &mut bytes).expect("encodes");
        for cut in 0..bytes.len() {
            let err = decode(&bytes[..cut], owned.version).unwrap_err();
            let needed_ok = match err.kind {
                DecodeErrorKind::Incomplete { needed: Some(n) } => n == bytes.len() - cut,
                DecodeErrorKind::Incomplete { needed: None } => true,
                _ => false,
            };
            prop_assert!(needed_ok, "cut {}: {:?}", cut, err);
        }
    }

    #[test]
    fn decode_partial_agrees_with_decode_on_every_field_present(owned in owned()) {
        let mut bytes = Vec::new();
        encode(&owned.packet(), owned.version, &mut bytes).expect("encodes");
        let full = decode(&bytes, owned.version).expect("decodes");
        for cut in 2..=bytes.len() {
            let Ok(part) = decode_partial(&bytes[..cut], bytes.len() as u64, owned.version) else {
                continue;
            };
            prop_assert_eq!(part.sizes, full.sizes, "cut {}", cut);
            prop_assert_eq!(part.header, full.header);
            if let (Packet::Publish(a), Packet::Publish(b)) = (&part.packet, &full.packet) {
                prop_assert_eq!((a.topic, a.packet_id, a.properties), (b.topic, b.packet_id, b.properties));
                prop_assert!(b.payload.starts_with(a.payload));
            } else if cut == bytes.len() {
                prop_assert_eq!(&part.packet, &full.packet);
            }
        }
    }
}
