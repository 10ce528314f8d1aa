//! One test per anomaly code: the smallest event sequence that must raise it.

use crate::script::*;
use crate::wire::*;
use dissector::analyze::AnalyzerConfig;
use dissector::input::{CloseHow, Direction, RoleSource, TransportIssueKind};
use dissector::model::{AnomalyCode, Trace};

/// A 3.1.1 connection after CONNECT / CONNACK.
fn v3() -> Script {
    let mut s = Script::new();
    s.c(connect(4, "dev-1", 60)).b(connack(false, 0));
    s
}

/// A 5.0 connection after CONNECT / CONNACK with these CONNACK properties.
fn v5(connack_properties: &[u8]) -> Script {
    let mut s = Script::new();
    s.c(connect(5, "dev-5", 60))
        .b(connack5(false, 0, connack_properties));
    s
}

/// Asserts that `code` was reported (and that a packet-level finding marks its packet).
fn expect(trace: &Trace, code: AnomalyCode) {
    let found: Vec<_> = trace.anomalies.iter().filter(|a| a.code == code).collect();
    assert!(
        !found.is_empty(),
        "{} not reported; got {:#?}",
        code.code(),
        trace.anomalies
    );
    for a in found {
        assert_eq!(a.severity, code.severity());
        if let Some(p) = a.packet {
            let rec = trace
                .packet(p)
                .expect("anomaly points at a retained packet");
            assert!(rec.has_anomalies(), "packet {p} not marked");
            assert!(trace.anomalies_of_packet(p).any(|x| x.code == code));
        }
    }
}

macro_rules! anomaly_cases {
    ($( $(#[$doc:meta])* $name:ident : $code:ident => $body:expr ; )*) => {
        $(
            $(#[$doc])*
            #[test]
            fn $name() {
                let trace: Trace = $body;
                expect(&trace, AnomalyCode::$code);
            }
        )*
        /// The codes the cases above cover.
        pub const COVERED: &[AnomalyCode] = &[ $( AnomalyCode::$code, )* ];
    };
}

anomaly_cases! {
    /// PUBLISH whose remaining length (1) is too short for its topic length field.
    malformed_publish_body_shorter_than_its_topic: Malformed => v3().c(pkt(0x30, &[0x00])).run();
    /// A remaining-length field with the continuation bit on its 4th byte.
    remaining_length_of_five_bytes: RemainingLengthTooLong =>
        v3().c(vec![0x30, 0xff, 0xff, 0xff, 0xff, 0x01]).run();
    /// PINGREQ with remaining length 0 written as 80 00.
    remaining_length_not_minimal: RemainingLengthNotMinimal => v3().c(vec![0xc0, 0x80, 0x00]).run();
    /// PUBACK with flag bits 0001 (must be 0000).
    reserved_fixed_header_flags: ReservedFlags => v3().b(pkt(0x41, &[0, 1])).run();
    /// Packet type 0.
    reserved_packet_type_zero: ReservedPacketType => v3().c(vec![0x00, 0x00]).run();
    /// PUBLISH with both QoS bits set.
    publish_with_qos_3: Qos3 => v3().c(pkt(0x36, &[0, 1, b'a', 0, 1])).run();
    /// QoS 0 PUBLISH with DUP.
    dup_on_qos0_publish: DupOnQos0 => v3().c(publish(0, true, false, b"a", None, b"x")).run();
    /// QoS 1 PUBLISH with packet id 0.
    packet_id_zero_on_qos1: PacketIdZero => v3().c(publish(1, false, false, b"a", Some(0), b"x")).run();
    /// 3.1.1 PUBLISH with an empty topic.
    empty_topic_name: TopicEmpty => v3().c(publish(0, false, false, b"", None, b"x")).run();
    /// PUBLISH to "a/+".
    wildcard_in_topic_name: TopicWildcard => v3().c(publish(0, false, false, b"a/+", None, b"x")).run();
    /// Topic bytes that are not UTF-8.
    invalid_utf8_topic: InvalidUtf8 => v3().c(publish(0, false, false, b"a\xff", None, b"x")).run();
    /// Topic containing U+0000.
    null_character_in_topic: NullCharacter => v3().c(publish(0, false, false, b"a\0b", None, b"x")).run();
    /// The client opens with PINGREQ after a seen handshake.
    first_packet_not_connect: FirstNotConnect => Script::new().c(PINGREQ).run();
    /// CONNECT twice.
    second_connect: SecondConnect => v3().c(connect(4, "dev-1", 60)).run();
    /// CONNACK on a connection where the client sent nothing.
    connack_without_connect: ConnAckWithoutConnect => Script::new().b(connack(false, 0)).run();
    /// The broker publishes before its CONNACK.
    broker_packet_before_connack: BrokerBeforeConnAck =>
        Script::new().c(connect(4, "c", 60)).b(publish(0, false, false, b"t", None, b"x")).b(connack(false, 0)).run();
    /// The client subscribes before the CONNACK arrives.
    client_packet_before_connack: ClientBeforeConnAck =>
        Script::new().c(connect(4, "c", 60)).c(subscribe(1, &[("t", 0)], false)).b(connack(false, 0)).run();
    /// PUBACK for an id never published.
    puback_without_publish: AckWithoutRequest => v3().b(ack(4, 9)).run();
    /// Two filters, one SUBACK code.
    suback_count_mismatch: AckCountMismatch =>
        v3().c(subscribe(3, &[("a", 0), ("b", 1)], false)).b(suback(3, &[0], false)).run();
    /// Id 5 reused for a different message while the first is unacknowledged.
    packet_id_reused_in_flight: PacketIdInUse =>
        v3().c(publish(1, false, false, b"a", Some(5), b"one")).c(publish(1, false, false, b"a", Some(5), b"two")).run();
    /// PUBCOMP before PUBREC.
    qos2_pubcomp_before_pubrec: Qos2Order => v3().c(publish(2, false, false, b"a", Some(1), b"x")).b(ack(7, 1)).run();
    /// The same QoS 1 PUBLISH twice, the second without DUP.
    retransmission_without_dup: RetransmitWithoutDup =>
        v3().c(publish(1, false, false, b"a", Some(3), b"x")).c(publish(1, false, false, b"a", Some(3), b"x")).run();
    /// Topic alias 0.
    topic_alias_zero: TopicAliasZero =>
        v5(&p_u16(0x22, 10)).c(publish5(0, false, b"t", None, &p_u16(0x23, 0), b"x")).run();
    /// Alias 5 when the broker allows 2.
    topic_alias_above_maximum: TopicAliasAboveMax =>
        v5(&p_u16(0x22, 2)).c(publish5(0, false, b"t", None, &p_u16(0x23, 5), b"x")).run();
    /// Empty topic with alias 3 never mapped.
    topic_alias_unknown: TopicAliasUnknown =>
        v5(&p_u16(0x22, 10)).c(publish5(0, false, b"", None, &p_u16(0x23, 3), b"x")).run();
    /// Two unacknowledged QoS 1 PUBLISHes when the broker's receive maximum is 1.
    receive_maximum_exceeded: ReceiveMaximumExceeded =>
        v5(&p_u16(0x21, 1)).c(publish5(1, false, b"t", Some(1), &[], b"x")).c(publish5(1, false, b"t", Some(2), &[], b"y")).run();
    /// A 40-byte PUBLISH to a broker whose maximum packet size is 20.
    maximum_packet_size_exceeded: PacketTooLarge =>
        v5(&p_u32(0x27, 20)).c(publish5(0, false, b"t", None, &[], &[0u8; 34])).run();
    /// QoS 1 PUBLISH when the broker's maximum QoS is 0.
    qos_above_maximum_qos: QosAboveMaximum =>
        v5(&p_byte(0x24, 0)).c(publish5(1, false, b"t", Some(1), &[], b"x")).run();
    /// RETAIN when the broker said retain is not available.
    retain_when_not_available: RetainNotAvailable =>
        v5(&p_byte(0x25, 0)).c(publish5(0, true, b"t", None, &[], b"x")).run();
    /// Session Expiry Interval (CONNECT/CONNACK/DISCONNECT only) in a PUBLISH.
    property_not_allowed_in_publish: PropertyNotAllowed =>
        v5(&[]).c(publish5(0, false, b"t", None, &p_u32(0x11, 5), b"x")).run();
    /// Payload Format Indicator twice.
    property_duplicated: PropertyDuplicate =>
        v5(&[]).c(publish5(0, false, b"t", None, &[0x01, 0x00, 0x01, 0x01], b"x")).run();
    /// Property identifier 0x7f.
    property_unknown: PropertyUnknown => v5(&[]).c(publish5(0, false, b"t", None, &[0x7f, 0x00], b"x")).run();
    /// A 3.1.1-layout SUBSCRIBE (no property length) on a 5.0 connection.
    v3_subscribe_on_v5_connection: VersionMismatch => v5(&[]).c(subscribe(1, &[("a", 0)], false)).run();
    /// Keep alive 10 s, the client silent for 16 s.
    keepalive_violated: KeepAliveViolated => {
        let mut s = Script::new();
        s.c(connect(4, "c", 10)).b(connack(false, 0)).wait(16 * SEC).c(PINGREQ).b(PINGRESP);
        s.run()
    };
    /// PINGREQ, then the connection closes.
    pingreq_without_pingresp: PingWithoutResponse => v3().c(PINGREQ).close(0, CloseHow::Fin).run();
    /// RST after CONNACK, no DISCONNECT.
    closed_without_disconnect: ClosedWithoutDisconnect => v3().close(0, CloseHow::Rst).run();
    /// 100 bytes missing to the broker.
    tcp_gap: TcpGap => v3().gap(Direction::ToBroker, 100, 0).run();
    /// Bytes skipped after a gap until framing resynchronised.
    not_mqtt_after_gap: NotMqtt => v3().gap(Direction::ToBroker, 100, 37).run();
    /// A 2000-byte PUBLISH of which 100 bytes were kept.
    payload_over_limit: PayloadOverLimit =>
        v3().truncated(Direction::ToBroker, publish(0, false, false, b"big", None, &[7u8; 2000]), 100).run();
    /// Three unacknowledged QoS 1 PUBLISHes with an in-flight cap of 2.
    too_many_in_flight: TooManyInFlight => v3()
        .c(publish(1, false, false, b"a", Some(1), b"1"))
        .c(publish(1, false, false, b"a", Some(2), b"2"))
        .c(publish(1, false, false, b"a", Some(3), b"3"))
        .run_with(AnalyzerConfig { max_in_flight: 2, ..AnalyzerConfig::default() });
    /// An overlapping retransmission with different bytes.
    transport_issue_overlap: TransportIssue => v3().issue(TransportIssueKind::OverlapMismatch, "12 bytes at seq 100").run();
    /// No handshake, no CONNECT: a PUBLISH first.
    joined_mid_stream: MidStream =>
        Script::with_roles(RoleSource::Port).c(publish(0, false, false, b"t", None, b"x")).run();
    /// CONNECT flags bit 0.
    connect_reserved_flag: ConnectReservedFlag => Script::new().c(connect_full(4, 0x03, 60, None, "c", &[])).run();
    /// Will QoS 1 without the will flag.
    will_qos_without_will_flag: InvalidWillFlags => Script::new().c(connect_full(4, 0x0a, 60, None, "c", &[])).run();
    /// 3.1.1 password flag without user name flag.
    password_without_username: PasswordWithoutUsername =>
        Script::new().c(connect_full(4, 0x42, 60, None, "c", &s(b"pw"))).run();
    /// Protocol name "MQTT" with level 3 (3.1 is "MQIsdp").
    unknown_protocol_name_level: UnknownProtocol => {
        let mut body = s(b"MQTT");
        body.extend_from_slice(&[3, 0x02, 0, 60]);
        body.extend(s(b"c"));
        Script::new().c(pkt(0x10, &body)).run()
    };
    /// CONNACK acknowledge flags 0x02.
    connack_reserved_bits: ReservedBits => Script::new().c(connect(4, "c", 60)).b(pkt(0x20, &[0x02, 0])).run();
    /// SUBSCRIBE with no filter.
    subscribe_without_filters: NoTopicFilters => v3().c(pkt(0x82, &[0, 1])).run();
    /// PUBACK reason code 0x05 (undefined).
    unknown_reason_code: UnknownReasonCode =>
        v5(&[]).c(publish5(1, false, b"t", Some(1), &[], b"x")).b(ack5(4, 1, 0x05)).run();
    /// 3.1.1 PUBACK with a third body byte.
    trailing_bytes_after_puback: TrailingBytes =>
        v3().c(publish(1, false, false, b"t", Some(1), b"x")).b(pkt(0x40, &[0, 1, 0])).run();
    /// CONNACK return code 5, not authorised.
    connect_refused: ConnectRefused => Script::new().c(connect(4, "c", 60)).b(connack(false, 5)).run();
    /// 5.0 DISCONNECT with reason 0x81 malformed packet.
    disconnect_with_error_reason: DisconnectWithError => v5(&[]).b(pkt(0xe0, &[0x81, 0x00])).run();
    /// PUBACK 0x80 unspecified error.
    puback_failure_reason: FailedByReasonCode =>
        v5(&[]).c(publish5(1, false, b"t", Some(1), &[], b"x")).b(ack5(4, 1, 0x80)).run();
    /// 3.1.1 SUBSCRIBE to "a/#/b": `#` must be the last level.
    topic_filter_with_inner_multi_level_wildcard: InvalidTopicFilter =>
        v3().c(subscribe(1, &[("a/#/b", 0)], false)).run();
    /// 5.0 SUBSCRIBE to "$share//t": an empty share name.
    shared_subscription_without_share_name: InvalidSharedSubscription =>
        v5(&[]).c(subscribe(1, &[("$share//t", 0)], true)).run();
    /// CONNACK with Maximum QoS 2 (only 0 or 1 may be sent).
    maximum_qos_property_of_two: PropertyValueOutOfRange => v5(&p_byte(0x24, 2)).run();
}

#[test]
fn every_anomaly_code_has_a_test() {
    let missing: Vec<_> = AnomalyCode::ALL
        .iter()
        .filter(|c| !COVERED.contains(c))
        .map(|c| c.code())
        .collect();
    assert!(missing.is_empty(), "codes without a test: {missing:?}");
}

#[test]
fn codec_value_findings_name_the_field_and_point_at_it() {
    let trace = v5(&p_u16(0x21, 0))
        .c(subscribe(1, &[("ok/+", 0), ("a/#/b", 0)], true))
        .run();
    let messages: Vec<_> = trace
        .anomalies
        .iter()
        .map(|a| (a.code, a.offset, a.message.as_str()))
        .collect();
    assert_eq!(
        messages,
        [
            (
                AnomalyCode::PropertyValueOutOfRange,
                // CONNACK: fixed header 2, flags and code 2, property length 1.
                Some(5),
                "Receive Maximum in CONNACK must be non-zero"
            ),
            (
                AnomalyCode::InvalidTopicFilter,
                // Fixed header 2, id 2, property length 1, "ok/+" 2 + 4 and options 1, length 2.
                Some(14),
                "malformed topic filter in SUBSCRIBE"
            ),
        ]
    );
}

#[test]
fn clean_v3_and_v5_sessions_raise_no_anomaly() {
    let mut s = Script::new();
    s.c(connect(4, "clean", 30))
        .b(connack(false, 0))
        .c(subscribe(1, &[("a/#", 1), ("b", 2)], false))
        .b(suback(1, &[1, 2], false))
        .c(publish(1, false, false, b"a/x", Some(2), b"p1"))
        .b(ack(4, 2))
        .c(publish(2, false, true, b"b", Some(3), b"p2"))
        .b(ack(5, 3))
        .c(ack(6, 3))
        .b(ack(7, 3))
        .c(PINGREQ)
        .b(PINGRESP)
        .c(unsubscribe(4, &["b"]))
        .b(unsuback(4))
        .c(DISCONNECT)
        .close(0, CloseHow::Fin);
    let t = s.run();
    assert!(t.anomalies.is_empty(), "{:#?}", t.anomalies);

    let mut s = Script::new();
    s.c(connect(5, "clean5", 30))
        .b(connack5(false, 0, &[0x22, 0x00, 0x05]))
        .c(publish5(1, false, b"t/1", Some(1), &p_u16(0x23, 1), b"x"))
        .b(ack(4, 1))
        .c(publish5(0, false, b"", None, &p_u16(0x23, 1), b"y"))
        .c(DISCONNECT)
        .close(0, CloseHow::Fin);
    let t = s.run();
    assert!(t.anomalies.is_empty(), "{:#?}", t.anomalies);
}

#[test]
fn garbage_after_a_gap_is_one_anomaly_not_a_cascade() {
    let mut s = v3();
    s.gap(Direction::ToBroker, 500, 0);
    for _ in 0..5 {
        // Bytes framing accepted but that decode as nothing: PUBLISH bodies too short.
        s.c(pkt(0x30, &[0x00]));
    }
    let t = s.run();
    assert_eq!(count(&t, AnomalyCode::TcpGap), 1);
    assert_eq!(count(&t, AnomalyCode::NotMqtt), 1, "{:#?}", t.anomalies);
    assert_eq!(count(&t, AnomalyCode::Malformed), 0);
    let not_mqtt = t
        .anomalies
        .iter()
        .find(|a| a.code == AnomalyCode::NotMqtt)
        .unwrap();
    assert!(not_mqtt.message.contains("+4 more"), "{}", not_mqtt.message);
}

#[test]
fn packet_after_garbage_run_reopens_reporting() {
    let t = v3()
        .c(pkt(0x30, &[0x00]))
        .c(pkt(0x30, &[0x00]))
        .c(PINGREQ)
        .c(pkt(0x30, &[0x00]))
        .run();
    assert_eq!(count(&t, AnomalyCode::Malformed), 2, "{:#?}", t.anomalies);
}

#[test]
fn will_expected_is_named_when_a_will_was_announced() {
    // CONNECT with a will on "dev/status", QoS 1: flags = will 0x04 | QoS1 0x08 | clean 0x02.
    let mut rest = s(b"dev/status");
    rest.extend(s(b"offline"));
    let t = Script::new()
        .c(connect_full(4, 0x0e, 60, None, "w", &rest))
        .b(connack(false, 0))
        .close(0, CloseHow::Rst)
        .run();
    let a = t
        .anomalies
        .iter()
        .find(|a| a.code == AnomalyCode::ClosedWithoutDisconnect)
        .unwrap();
    assert!(
        a.message.contains("will on \"dev/status\" expected"),
        "{}",
        a.message
    );
    let c = &t.connections[0];
    let will = c.will.as_ref().unwrap();
    assert_eq!(t.str(will.topic), "dev/status");
    assert_eq!((will.qos, will.retain, will.payload_len), (1, false, 7));
}

#[test]
fn open_connection_at_capture_end_is_not_closed_without_disconnect() {
    let t = v3().run();
    assert_eq!(count(&t, AnomalyCode::ClosedWithoutDisconnect), 0);
    assert_eq!(
        t.connections[0].closed_by,
        Some(dissector::model::ClosedBy::CaptureEnd)
    );
}
