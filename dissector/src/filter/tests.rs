//! Language tests against a hand-built source, independent of the model.

use super::*;

/// A packet described field by field.
#[derive(Default)]
struct Fake {
    msgtype: Option<u64>,
    qos: Option<u64>,
    retain: Option<bool>,
    topics: Vec<&'static str>,
    addrs: Vec<IpAddr>,
    ports: Vec<u64>,
    anomalies: Vec<&'static str>,
    latency: Option<f64>,
    incomplete: bool,
    dir: Option<&'static str>,
}

impl FieldSource for Fake {
    fn visit(
        &self,
        field: Field,
        visit: &mut dyn FnMut(FieldValue<'_>) -> ControlFlow<()>,
    ) -> ControlFlow<()> {
        match field {
            Field::Mqtt => visit(FieldValue::Bool(true))?,
            Field::MqttMsgType => self.msgtype.map_or(ControlFlow::Continue(()), |v| {
                visit(FieldValue::Unsigned(v))
            })?,
            Field::MqttQos => self.qos.map_or(ControlFlow::Continue(()), |v| {
                visit(FieldValue::Unsigned(v))
            })?,
            Field::MqttRetain => self
                .retain
                .map_or(ControlFlow::Continue(()), |v| visit(FieldValue::Bool(v)))?,
            Field::MqttTopic => self
                .topics
                .iter()
                .try_for_each(|t| visit(FieldValue::Str(t)))?,
            Field::IpAddr => self
                .addrs
                .iter()
                .try_for_each(|a| visit(FieldValue::Ip(*a)))?,
            Field::TcpPort => self
                .ports
                .iter()
                .try_for_each(|p| visit(FieldValue::Unsigned(*p)))?,
            Field::Anomaly => self
                .anomalies
                .iter()
                .try_for_each(|a| visit(FieldValue::Str(a)))?,
            Field::Latency => self
                .latency
                .map_or(ControlFlow::Continue(()), |v| visit(FieldValue::Float(v)))?,
            Field::Incomplete if self.incomplete => visit(FieldValue::Bool(true))?,
            Field::Direction => self
                .dir
                .map_or(ControlFlow::Continue(()), |v| visit(FieldValue::Str(v)))?,
            _ => {}
        }
        ControlFlow::Continue(())
    }
}

fn publish() -> Fake {
    Fake {
        msgtype: Some(3),
        qos: Some(1),
        retain: Some(false),
        topics: vec!["sensors/kitchen/temp"],
        addrs: vec!["10.1.2.3".parse().unwrap(), "192.168.0.10".parse().unwrap()],
        ports: vec![51000, 1883],
        dir: Some("to_broker"),
        ..Fake::default()
    }
}

fn subscribe() -> Fake {
    Fake {
        msgtype: Some(8),
        topics: vec!["a/#", "b/+/c"],
        addrs: vec!["::1".parse().unwrap(), "::1".parse().unwrap()],
        ports: vec![40000, 1883],
        anomalies: vec!["MQ-ACK-COUNT-MISMATCH"],
        incomplete: true,
        dir: Some("to_broker"),
        ..Fake::default()
    }
}

fn puback() -> Fake {
    Fake {
        msgtype: Some(4),
        latency: Some(12.5),
        dir: Some("to_client"),
        ..Fake::default()
    }
}

#[track_caller]
fn check(filter: &str, packet: &Fake, expected: bool) {
    let parsed = Filter::parse(filter).unwrap_or_else(|e| panic!("{filter}: {e}"));
    assert_eq!(parsed.matches(packet), expected, "{filter}");
}

#[track_caller]
fn error(filter: &str) -> FilterError {
    match Filter::parse(filter) {
        Ok(f) => panic!("{filter} parsed: {f:?}"),
        Err(e) => e,
    }
}

#[test]
fn message_types_compare_by_number_or_by_name_in_any_case() {
    check("mqtt.msgtype == 3", &publish(), true);
    check("mqtt.msgtype == PUBLISH", &publish(), true);
    check("mqtt.msgtype eq publish", &publish(), true);
    check("mqtt.msgtype == \"PUBLISH\"", &publish(), true);
    check("mqtt.msgtype == SUBSCRIBE", &publish(), false);
    check("mqtt.msgtype >= PUBACK", &puback(), true);
}

#[test]
fn a_bare_field_tests_existence() {
    check("mqtt.qos", &publish(), true);
    check("mqtt.qos", &subscribe(), false);
    check("mqtt", &subscribe(), true);
    check("mqscope.anomaly", &subscribe(), true);
    check("mqscope.anomaly", &publish(), false);
    check("mqscope.incomplete", &subscribe(), true);
    check("!mqscope.incomplete", &publish(), true);
}

#[test]
fn multi_valued_fields_match_when_any_value_matches() {
    check("tcp.port == 1883", &publish(), true);
    check("tcp.port == 51000", &publish(), true);
    check("tcp.port == 1", &publish(), false);
    check("mqtt.topic == \"b/+/c\"", &subscribe(), true);
    check("ip.addr == 192.168.0.10", &publish(), true);
}

#[test]
fn not_equal_means_no_value_equal_and_needs_the_field() {
    // One port is 1883, so "tcp.port != 1883" is false even though the other port differs.
    check("tcp.port != 1883", &publish(), false);
    check("tcp.port != 80", &publish(), true);
    // Absent field: neither == nor != holds.
    check("mqtt.qos != 0", &subscribe(), false);
    check("mqtt.qos == 0", &subscribe(), false);
    check("!(mqtt.qos == 0)", &subscribe(), true);
}

#[test]
fn ordering_operators_in_symbols_and_words() {
    check("mqtt.qos > 0", &publish(), true);
    check("mqtt.qos gt 1", &publish(), false);
    check("mqtt.qos <= 1", &publish(), true);
    check("mqtt.qos lt 1", &publish(), false);
    check("mqtt.qos ge 1 and mqtt.qos le 1", &publish(), true);
    check("mqscope.latency > 10", &puback(), true);
    check("mqscope.latency > 12.5", &puback(), false);
    check("mqscope.latency >= 12.5", &puback(), true);
}

#[test]
fn addresses_match_hosts_and_cidr_networks_of_both_families() {
    check("ip.addr == 10.0.0.0/8", &publish(), true);
    check(
        "ip.addr == 10.1.2.0/24 && ip.addr == 192.168.0.0/16",
        &publish(),
        true,
    );
    check("ip.addr == 172.16.0.0/12", &publish(), false);
    check("ip.addr == ::1", &subscribe(), true);
    check("ip.addr == ::/0", &subscribe(), true);
    check("ip.addr == 0.0.0.0/0", &subscribe(), false);
    check("ip.addr in {172.16.0.0/12 10.0.0.0/8}", &publish(), true);
    check("ip.addr > 10.1.2.2", &publish(), true);
}

#[test]
fn contains_is_case_sensitive_and_matches_is_not() {
    check("mqtt.topic contains \"kitchen\"", &publish(), true);
    check("mqtt.topic contains \"KITCHEN\"", &publish(), false);
    check("mqtt.topic matches \"KITCHEN/te.p$\"", &publish(), true);
    check("mqtt.topic matches \"(?-i)KITCHEN\"", &publish(), false);
    check("mqtt.topic matches \"^a/\"", &subscribe(), true);
    check("mqscope.anomaly contains \"COUNT\"", &subscribe(), true);
}

#[test]
fn sets_accept_values_ranges_and_optional_commas() {
    check("mqtt.msgtype in {PUBLISH PUBACK}", &puback(), true);
    check("mqtt.msgtype in {CONNECT, SUBSCRIBE}", &puback(), false);
    check("tcp.port in {1..1000 1883}", &publish(), true);
    check("tcp.port in {1..1000}", &publish(), false);
    check("tcp.port in {50000 .. 52000}", &publish(), true);
    check("mqtt.topic in {\"x\" \"a/#\"}", &subscribe(), true);
    check("mqscope.latency in {10.0..20}", &puback(), true);
}

#[test]
fn boolean_logic_has_wiresharks_precedence() {
    // `and` binds tighter than `or`: true || (false && false).
    check(
        "mqtt.qos == 1 || mqtt.qos == 2 && mqtt.retain == 1",
        &publish(),
        true,
    );
    check(
        "(mqtt.qos == 1 || mqtt.qos == 2) && mqtt.retain == 1",
        &publish(),
        false,
    );
    check("not mqtt.retain == 1", &publish(), true);
    check("!!mqtt.qos", &publish(), true);
    check("mqtt.retain == false && mqtt.retain == 0", &publish(), true);
}

#[test]
fn direction_and_anomaly_values() {
    check("mqscope.dir == to_broker", &publish(), true);
    check("mqscope.dir == \"TO_CLIENT\"", &puback(), true);
    check(
        "mqscope.anomaly == \"MQ-ACK-COUNT-MISMATCH\"",
        &subscribe(),
        true,
    );
    check(
        "mqscope.anomaly == MQ-ACK-COUNT-MISMATCH",
        &subscribe(),
        true,
    );
    check("mqscope.anomaly == MQ-QOS3", &subscribe(), false);
}

#[test]
fn the_empty_filter_matches_everything() {
    let f = Filter::parse("  ").unwrap();
    assert!(f.is_all());
    assert!(f.matches(&publish()));
    assert!(Filter::all().matches(&subscribe()));
    assert_eq!(Filter::parse(" mqtt ").unwrap().to_string(), "mqtt");
}

#[test]
fn unknown_fields_are_errors_with_a_hint_and_their_position() {
    let e = error("mqtt.qos == 1 && mqtt.topc == \"x\"");
    assert_eq!((e.offset, e.len), (17, 9));
    assert!(
        e.message.contains("did you mean \"mqtt.topic\""),
        "{}",
        e.message
    );
    let e = error("1883 == tcp.port");
    assert_eq!(e.offset, 0);
    assert!(e.message.contains("expected a field name"), "{}", e.message);
}

#[test]
fn syntax_errors_point_at_the_right_byte() {
    let cases: &[(&str, usize)] = &[
        ("mqtt.qos ==", 11),
        ("mqtt.qos == 1 &&", 16),
        ("(mqtt.qos == 1", 0),
        ("mqtt.qos == 1)", 13),
        ("mqtt.qos == 1 mqtt.retain", 14),
        ("mqtt.qos == x", 12),
        ("mqtt.qos == -1", 12),
        ("mqtt.retain == 2", 15),
        ("mqtt.retain > 0", 12),
        ("mqtt.qos contains \"1\"", 9),
        ("mqtt.topic matches \"(\"", 19),
        ("mqtt.topic in {}", 15),
        ("mqtt.topic in {\"a\"", 11),
        ("mqtt.topic in \"a\"", 14),
        ("tcp.port in {1..x}", 16),
        ("mqtt.topic in {a..b}", 15),
        ("ip.addr == 10.0.0.0/33", 11),
        ("ip.addr > 10.0.0.0/8", 10),
        ("mqtt == 1", 0),
        ("mqscope.dir == up", 15),
        ("mqtt.topic == mqtt.clientid", 14),
        ("&& mqtt", 0),
    ];
    for &(filter, offset) in cases {
        let e = error(filter);
        assert_eq!(e.offset, offset, "{filter}: {}", e.message);
        assert!(
            e.offset + e.len <= filter.len(),
            "{filter}: span past the end"
        );
    }
}

#[test]
fn misspelt_value_names_and_anomaly_codes_get_a_suggestion() {
    let e = error("mqtt.msgtype == PUBLSH");
    assert!(
        e.message.ends_with("(did you mean PUBLISH?)"),
        "{}",
        e.message
    );
    let e = error("mqscope.dir == to_brokr");
    assert!(
        e.message.ends_with("(did you mean to_broker?)"),
        "{}",
        e.message
    );
    let e = error("mqscope.anomaly == MQ-QOS4");
    assert_eq!(e.offset, 19);
    assert!(e.message.contains("unknown anomaly code"), "{}", e.message);
    assert!(e.message.contains("did you mean MQ-QOS3?"), "{}", e.message);
    assert!(
        !error("mqtt.msgtype == 99zz")
            .message
            .contains("did you mean")
    );
}

#[test]
fn anomaly_codes_compare_in_any_case() {
    let mut packet = subscribe();
    packet.anomalies = vec!["MQ-QOS3"];
    check("mqscope.anomaly == mq-qos3", &packet, true);
    check("mqscope.anomaly in {MQ-TCP-GAP mq-qos3}", &packet, true);
}

#[test]
fn regex_errors_fit_on_one_line() {
    let e = error("mqtt.topic matches \"a(\"");
    assert!(!e.message.contains('\n'), "{}", e.message);
    assert!(
        e.message.starts_with("invalid regular expression"),
        "{}",
        e.message
    );
}

#[test]
fn deep_nesting_is_an_error_not_a_stack_overflow() {
    let deep = format!("{}mqtt{}", "(".repeat(100_000), ")".repeat(100_000));
    assert!(error(&deep).message.contains("nested"));
    let nots = format!("{}mqtt", "!".repeat(100_000));
    assert!(error(&nots).message.contains("nested"));
    let shallow = format!("{}mqtt{}", "(".repeat(50), ")".repeat(50));
    assert!(Filter::parse(&shallow).is_ok());
}

#[test]
fn every_catalogued_field_parses_in_an_existence_test() {
    for info in FIELDS {
        Filter::parse(info.name).unwrap_or_else(|e| panic!("{}: {e}", info.name));
    }
}

proptest::proptest! {
    #[test]
    fn parsing_arbitrary_text_never_panics_and_errors_stay_in_bounds(text in "\\PC{0,64}") {
        if let Err(e) = Filter::parse(&text) {
            proptest::prop_assert!(e.offset <= text.len());
            proptest::prop_assert!(e.offset + e.len <= text.len());
            proptest::prop_assert!(text.is_char_boundary(e.offset));
        }
    }

    #[test]
    fn parsing_filter_shaped_text_never_panics(
        parts in proptest::collection::vec(
            proptest::prop_oneof![
                proptest::sample::select(FIELDS.iter().map(|f| f.name).collect::<Vec<_>>()),
                proptest::sample::select(vec!["==", "!=", "<", ">=", "&&", "||", "!", "(", ")", "{", "}", "..", ",",
                    "in", "contains", "matches", "1", "0x1f", "1.5", "\"a\"", "10.0.0.0/8", "::1", "PUBLISH", "true"]),
            ],
            0..16,
        )
    ) {
        let text = parts.join(" ");
        if let Ok(filter) = Filter::parse(&text) {
            let _ = filter.matches(&publish());
            let _ = filter.matches(&subscribe());
        }
    }
}

/// Atomic tests for the algebra property below; each evaluates on the sample packets.
const ATOMS: &[&str] = &[
    "mqtt.qos == 1",
    "mqtt.qos",
    "tcp.port != 1883",
    "tcp.port in {1..1000 40000}",
    "ip.addr == 10.0.0.0/8",
    "mqtt.topic contains \"a/\"",
    "mqtt.topic matches \"^sensors\"",
    "mqscope.anomaly",
    "mqscope.incomplete",
    "mqscope.latency > 10",
    "mqscope.dir == to_client",
    "mqtt.retain == 0",
];

proptest::proptest! {
    /// The combinators mean what they say and `&&` binds tighter than `||`, for any atoms:
    /// the parsed compound agrees with the compound of the atoms' own results.
    #[test]
    fn compound_filters_agree_with_their_parts(a in 0..ATOMS.len(), b in 0..ATOMS.len(), c in 0..ATOMS.len()) {
        let (a, b, c) = (ATOMS[a], ATOMS[b], ATOMS[c]);
        for packet in [publish(), subscribe(), puback()] {
            let eval = |text: &str| Filter::parse(text).unwrap().matches(&packet);
            let (x, y, z) = (eval(a), eval(b), eval(c));
            proptest::prop_assert_eq!(eval(&format!("{a} && {b}")), x && y);
            proptest::prop_assert_eq!(eval(&format!("{a} or {b}")), x || y);
            proptest::prop_assert_eq!(eval(&format!("!({a})")), !x);
            proptest::prop_assert_eq!(eval(&format!("not ({a}) and {b}")), !x && y);
            proptest::prop_assert_eq!(eval(&format!("{a} || {b} && {c}")), x || (y && z));
            proptest::prop_assert_eq!(eval(&format!("({a} || {b}) && {c}")), (x || y) && z);
        }
    }
}

#[test]
fn a_filter_can_be_shared_between_threads() {
    // The GUI parses on the UI thread and filters on the loader thread.
    fn shareable<T: Send + Sync + Clone>(_: &T) {}
    let filter = Filter::parse("mqtt.topic matches \"^a\"").unwrap();
    shareable(&filter);
    let copy = filter.clone();
    let handle = std::thread::spawn(move || copy.matches(&publish()));
    assert!(!handle.join().unwrap());
}

/// Regression: an unknown name of megabytes (text pasted into the filter box) was compared with
/// every catalogue entry by full edit distance: minutes of work before the error came back.
/// Names far longer than any candidate are now rejected without computing a distance.
#[test]
fn regression_megabyte_unknown_names_are_rejected_without_edit_distance_work() {
    let huge = "x".repeat(1 << 20);
    let field = error(&format!("{huge} == 1"));
    assert_eq!(field.offset, 0);
    assert!(!field.message.contains("did you mean"), "{}", field.message);
    let value = error(&format!("mqtt.msgtype == {huge}"));
    assert_eq!(value.offset, "mqtt.msgtype == ".len());
    assert!(!value.message.contains("did you mean"), "{}", value.message);
    // Typos still get their hint.
    assert!(error("mqtt.topc == x").message.contains("mqtt.topic"));
    assert!(error("mqtt.msgtype == PUBLSH").message.contains("PUBLISH"));
}
