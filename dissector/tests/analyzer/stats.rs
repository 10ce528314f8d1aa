//! Statistics on small sequences whose numbers are computed by hand in the comments.

use crate::script::*;
use crate::wire::*;
use dissector::input::{Direction, RoleSource};
use dissector::model::TxKind;
use dissector::stats::{self, StatsConfig};

#[test]
fn header_sizes_per_type_and_overhead_shares() {
    let mut s = Script::new();
    // CONNECT: fixed 2; variable "MQTT"(6) + level + flags + keep alive(2) = 10; payload id "dev-1" = 7.
    s.c(connect(4, "dev-1", 60));
    // CONNACK: fixed 2, variable 2.
    s.b(connack(false, 0));
    // PUBLISH QoS 0 "sensors/temp" (12 chars): fixed 2, variable 14, payload 200 -> RL 214 needs 2 bytes.
    s.c(publish(0, false, false, b"sensors/temp", None, &[0u8; 200]));
    // Same topic again, 1-byte payload: fixed 2, variable 14, payload 1.
    s.c(publish(0, false, false, b"sensors/temp", None, b"x"));
    // Link/IP/TCP: 4 frames of 66 bytes of headers plus the MQTT bytes (19 + 4 + 217 + 17 = 257).
    s.wire(Direction::ToBroker, 66 * 4 + 257, 257);
    let t = s.run();
    let h = stats::header_stats(&t);
    let rows: Vec<_> = h
        .rows
        .iter()
        .map(|r| {
            (
                r.packet_type.as_str(),
                r.version,
                r.packets,
                r.fixed,
                r.variable,
                r.properties,
                r.payload,
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            ("CONNECT", 4, 1, 2, 10, 0, 7),
            ("CONNACK", 4, 1, 2, 2, 0, 0),
            ("PUBLISH", 4, 2, 5, 28, 0, 201)
        ]
    );
    assert_eq!(h.remaining_length_sizes, [3, 1, 0, 0]);
    assert_eq!(h.packets, 4);
    assert!((h.two_byte_fixed_header_share - 0.75).abs() < 1e-12);
    assert_eq!(
        (h.mqtt_bytes, h.header_bytes, h.payload_bytes),
        (257, 49, 208)
    );
    assert!((h.header_share_of_mqtt - 49.0 / 257.0).abs() < 1e-12);
    assert_eq!(h.wire_bytes, 521);
    assert!((h.header_share_of_wire - 49.0 / 521.0).abs() < 1e-12);
    assert!((h.overhead_share_of_wire - (521.0 - 208.0) / 521.0).abs() < 1e-12);
    // The repeat of "sensors/temp" could have saved 12 - 3 = 9 bytes with an alias.
    assert_eq!(
        (
            h.topic_alias.repeated_packets,
            h.topic_alias.repeated_saveable_bytes
        ),
        (1, 9)
    );
    assert_eq!(h.topic_alias.used_packets, 0);
}

#[test]
fn alias_savings_count_topics_resolved_from_aliases() {
    let mut s = Script::new();
    s.c(connect(5, "a", 60))
        .b(connack5(false, 0, &p_u16(0x22, 5)))
        .c(publish5(
            0,
            false,
            b"sensors/temp",
            None,
            &p_u16(0x23, 1),
            b"1",
        ))
        .c(publish5(0, false, b"", None, &p_u16(0x23, 1), b"2"))
        .c(publish5(0, false, b"", None, &p_u16(0x23, 1), b"3"));
    let h = stats::header_stats(&s.run());
    assert_eq!(
        (h.topic_alias.used_packets, h.topic_alias.used_saved_bytes),
        (2, 18)
    );
    assert_eq!(h.topic_alias.repeated_packets, 0);
    // v5 PUBLISH: properties = length byte + 3 alias bytes = 4 each.
    let publish = h.rows.iter().find(|r| r.packet_type == "PUBLISH").unwrap();
    assert_eq!((publish.version, publish.properties), (5, 12));
}

#[test]
fn latency_percentiles_per_kind_and_connection() {
    let mut s = Script::new();
    s.c(connect(4, "c", 60)).b(connack(false, 0)); // 1 ms
    for wait in [1, 2, 3, 4] {
        // PINGREQ, then PINGRESP after `wait` ms more (+1 ms per packet).
        s.c(PINGREQ).wait(wait * MS).b(PINGRESP);
    }
    let t = s.run();
    let l = stats::latency_stats(&t);
    let ping = l.of(TxKind::Ping).unwrap();
    // Latencies 2, 3, 4, 5 ms: nearest-rank p50 = 3 ms, p90 = p99 = max = 5 ms.
    assert_eq!(
        (ping.count, ping.p50, ping.p90, ping.p99, ping.max),
        (4, 3 * MS, 5 * MS, 5 * MS, 5 * MS)
    );
    assert_eq!(l.of(TxKind::Connect).unwrap().p50, MS);
    assert_eq!(l.per_connection.len(), 1);
    assert_eq!(l.per_connection[0].kinds.len(), 2);
    assert!(l.of(TxKind::Qos1).is_none());
}

#[test]
fn fanout_and_topic_tree_count_publishers_subscribers_and_retained() {
    let mut s = Script::new();
    s.c(connect(4, "pub", 60)).b(connack(false, 0));
    s.open(1, RoleSource::Handshake);
    s.send(1, Direction::ToBroker, connect(4, "sub", 60));
    s.send(1, Direction::ToClient, connack(false, 0));
    s.send(
        1,
        Direction::ToBroker,
        subscribe(1, &[("home/+/temp", 0)], false),
    );
    s.send(1, Direction::ToClient, suback(1, &[0], false));
    s.c(publish(0, false, false, b"home/kitchen/temp", None, b"21"));
    s.send(
        1,
        Direction::ToClient,
        publish(0, false, false, b"home/kitchen/temp", None, b"21"),
    );
    s.c(publish(0, false, false, b"home/kitchen/temp", None, b"22"));
    s.send(
        1,
        Direction::ToClient,
        publish(0, false, false, b"home/kitchen/temp", None, b"22"),
    );
    s.c(publish(0, false, true, b"home/hall", None, b"on"));
    let t = s.run();

    let f = stats::fanout_stats(&t);
    assert_eq!((f.deliveries, f.copies, f.max_fanout), (2, 2, 1));
    assert_eq!((f.latency.p50, f.latency.max), (MS, MS));

    let tree = stats::topic_tree(&t);
    let rows: Vec<_> = tree
        .iter()
        .map(|l| {
            (
                l.path.as_str(),
                l.depth,
                l.own_published,
                l.published,
                l.delivered,
                l.bytes,
                l.retained,
                l.publishers,
                l.subscribers,
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            ("home", 0, 0, 3, 2, 10, 1, 1, 1),
            ("home/hall", 1, 1, 1, 0, 2, 1, 1, 0),
            ("home/kitchen", 1, 0, 2, 2, 8, 0, 1, 1),
            ("home/kitchen/temp", 2, 2, 2, 2, 8, 0, 1, 1),
        ]
    );
}

#[test]
fn rates_bucket_packets_per_type_per_second() {
    let mut s = Script::new();
    s.at(SEC / 2).c(connect(4, "c", 60)); // t = 0.501 s
    s.b(connack(false, 0)); // 0.502 s
    s.at(2 * SEC).c(PINGREQ); // 2.001 s
    let t = s.run();
    let r = stats::rates(&t, &StatsConfig::default());
    assert_eq!(r.bucket_nanos, SEC);
    assert_eq!(r.buckets.len(), 3);
    assert_eq!(r.buckets[0].start, 0);
    assert_eq!((r.buckets[0].packets[1], r.buckets[0].packets[2]), (1, 1));
    assert_eq!(r.buckets[1].packets.iter().sum::<u64>(), 0);
    assert_eq!((r.buckets[2].packets[12], r.buckets[2].bytes[12]), (1, 2));

    // Capped bucket count: widened to a whole number of seconds.
    let r = stats::rates(
        &t,
        &StatsConfig {
            max_rate_buckets: 2,
            ..StatsConfig::default()
        },
    );
    assert_eq!(r.bucket_nanos, 2 * SEC);
    assert_eq!(r.buckets.len(), 2);
}

#[test]
fn compute_bundles_every_statistic_and_serialises() {
    let t = Script::new()
        .c(connect(4, "c", 60))
        .b(connack(false, 0))
        .run();
    let all = stats::compute(&t);
    assert_eq!(all.header.packets, 2);
    let json = serde_json::to_value(&all).unwrap();
    for key in ["header", "latency", "fanout", "topics", "rates"] {
        assert!(json.get(key).is_some(), "{key}");
    }
}

#[test]
fn header_stats_of_a_subset_and_per_connection() {
    let mut s = Script::new();
    s.c(connect(4, "a", 60))
        .b(connack(false, 0))
        .wire(Direction::ToBroker, 100, 19);
    s.open(1, RoleSource::Handshake);
    s.send(1, Direction::ToBroker, connect(4, "bb", 60));
    let t = s.run();
    // Only the CONNACK: 4 bytes, all header; connection 0 has 100 wire bytes.
    let only_connack = stats::header_stats_of(
        &t,
        t.packets
            .iter()
            .filter(|p| p.packet_type.name() == "CONNACK"),
    );
    assert_eq!(
        (
            only_connack.packets,
            only_connack.mqtt_bytes,
            only_connack.header_bytes
        ),
        (1, 4, 4)
    );
    assert_eq!(only_connack.wire_bytes, 100);
    let per_conn = stats::header_stats_by_connection(&t);
    let summary: Vec<_> = per_conn
        .iter()
        .map(|(c, h)| (*c, h.packets, h.mqtt_bytes))
        .collect();
    // CONNECT "a": fixed 2 + variable 10 + id 3 = 15, plus CONNACK 4; CONNECT "bb": 16.
    assert_eq!(summary, [(0, 2, 19), (1, 1, 16)]);
}

#[test]
fn latency_samples_are_the_complete_exchanges_of_a_kind() {
    let mut s = Script::new();
    s.c(connect(4, "c", 60)).b(connack(false, 0));
    s.c(PINGREQ).wait(MS).b(PINGRESP).c(PINGREQ);
    let t = s.run();
    assert_eq!(
        stats::latency_samples(&t, Some(TxKind::Ping), None),
        [2 * MS]
    );
    assert_eq!(stats::latency_samples(&t, None, Some(0)), [MS, 2 * MS]);
    assert!(stats::latency_samples(&t, None, Some(1)).is_empty());
}
