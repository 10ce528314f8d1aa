//! Transactions, QoS completeness, sessions, topic aliases, deliveries and the streaming modes.

use crate::script::*;
use crate::wire::{self, *};
use dissector::analyze::{Analyzer, AnalyzerConfig, RawBytes, qos_report};
use dissector::codec::{PacketType, ProtocolVersion};
use dissector::input::{
    CloseHow, Direction, EventSink, MqttBytes, RoleSource, StreamEvent, Timestamp,
};
use dissector::model::{AnomalyCode, ClosedBy, PacketMarks, Trace, TxKind, TxState};
use std::sync::{Arc, Mutex};

fn v3() -> Script {
    let mut s = Script::new();
    s.c(connect(4, "dev-1", 60)).b(connack(false, 0));
    s
}

#[test]
fn qos2_interrupted_after_pubrec_is_reported_where_it_stopped() {
    let mut s = v3();
    s.c(publish(2, false, false, b"cmd/door", Some(7), b"open"))
        .b(ack(5, 7));
    // The connection is reset 2.1 s after the PUBREC.
    s.wait(2100 * MS - MS).close(0, CloseHow::Rst);
    let t = s.run();
    let tx = t
        .transactions
        .iter()
        .find(|x| x.kind == TxKind::Qos2)
        .unwrap();
    assert_eq!(tx.state, TxState::IncompleteAtClose);
    assert_eq!(tx.ended_by, Some(ClosedBy::Rst));
    assert_eq!(tx.missing(), &[PacketType::PubRel, PacketType::PubComp]);

    let report = qos_report(&t);
    assert_eq!(report.incomplete.len(), 1);
    let flow = &report.incomplete[0];
    assert_eq!(
        flow.description,
        "QoS 2 PUBLISH id 7 to_broker: PUBREC seen, PUBREL never sent; connection reset 2.1 s later"
    );
    assert_eq!(
        (
            flow.kind.as_str(),
            flow.dir.as_str(),
            flow.packet_id,
            flow.qos
        ),
        ("qos2", "to_broker", Some(7), 2)
    );
    assert_eq!(flow.topic.as_deref(), Some("cmd/door"));
    assert_eq!(flow.seen, ["PUBLISH", "PUBREC"]);
    assert_eq!(flow.missing, ["PUBREL", "PUBCOMP"]);
    assert_eq!(flow.ended_by, "rst");
    assert_eq!(flow.client_id, "dev-1");
    assert_eq!(flow.frames, [4, 5]);
    assert_eq!(report.total.qos2.incomplete_at_close, 1);
    assert_eq!(report.total.publishes, [0, 0, 1]);
}

#[test]
fn qos1_never_acked_is_incomplete_at_capture_end() {
    let t = v3().c(publish(1, false, false, b"t", Some(1), b"x")).run();
    let tx = t
        .transactions
        .iter()
        .find(|x| x.kind == TxKind::Qos1)
        .unwrap();
    assert_eq!(tx.state, TxState::IncompleteAtCaptureEnd);
    assert_eq!(tx.ended_by, Some(ClosedBy::CaptureEnd));
    let report = qos_report(&t);
    assert_eq!(report.incomplete[0].missing, ["PUBACK"]);
    assert_eq!(report.incomplete[0].ended_by, "capture_end");
}

#[test]
fn complete_flows_carry_their_latency_and_link_their_packets() {
    let t = v3()
        .c(publish(1, false, false, b"t", Some(1), b"x"))
        .wait(4 * MS)
        .b(ack(4, 1))
        .c(publish(2, false, false, b"t", Some(2), b"y"))
        .b(ack(5, 2))
        .c(ack(6, 2))
        .b(ack(7, 2))
        .run();
    let kinds: Vec<_> = t.transactions.iter().map(|x| (x.kind, x.state)).collect();
    assert_eq!(
        kinds,
        [
            (TxKind::Connect, TxState::Complete),
            (TxKind::Qos1, TxState::Complete),
            (TxKind::Qos2, TxState::Complete)
        ]
    );
    // PUBLISH at +1 ms, then 4 ms wait and +1 ms for the PUBACK.
    assert_eq!(t.transactions[1].latency_nanos, Some(5 * MS));
    assert_eq!(t.transactions[2].latency_nanos, Some(3 * MS));
    assert_eq!(t.transactions[0].latency_nanos, Some(MS));
    for (i, p) in t.packets.iter().enumerate() {
        let tx = p
            .transaction()
            .expect("every packet here belongs to a transaction");
        assert!(
            t.transactions[tx]
                .steps
                .iter()
                .any(|s| s.packet == i as u64)
        );
    }
    assert!(t.anomalies.is_empty(), "{:#?}", t.anomalies);
}

#[test]
fn dup_retransmission_is_linked_to_its_original() {
    let t = v3()
        .c(publish(1, false, false, b"t", Some(9), b"x"))
        .c(publish(1, true, false, b"t", Some(9), b"x"))
        .b(ack(4, 9))
        .run();
    let tx = t
        .transactions
        .iter()
        .find(|x| x.kind == TxKind::Qos1)
        .unwrap();
    assert_eq!(tx.state, TxState::Complete);
    assert_eq!(tx.retransmissions, [3]);
    assert_eq!(t.packets[3].transaction(), t.packets[2].transaction());
    assert!(t.anomalies.is_empty(), "{:#?}", t.anomalies);
}

#[test]
fn suback_keeps_granted_qos_and_refused_connect_fails_its_transaction() {
    let t = v3()
        .c(subscribe(2, &[("a", 2), ("b", 1)], false))
        .b(suback(2, &[1, 0x80], false))
        .run();
    let tx = t
        .transactions
        .iter()
        .find(|x| x.kind == TxKind::Subscribe)
        .unwrap();
    assert_eq!(tx.state, TxState::Complete);
    assert_eq!(tx.reason_codes, [1, 0x80]);
    assert_eq!(tx.topic.map(|s| t.str(s)), Some("a"));

    let t = Script::new()
        .c(connect(4, "c", 60))
        .b(connack(false, 4))
        .run();
    assert_eq!(t.transactions[0].state, TxState::Failed(4));
    assert_eq!(t.connections[0].connack_code, Some(4));
}

#[test]
fn topic_aliases_resolve_per_direction() {
    let mut s = Script::new();
    s.c(connect_full(5, 0x02, 60, Some(&p_u16(0x22, 4)), "a", &[]))
        .b(connack5(false, 0, &p_u16(0x22, 4)))
        // Client maps alias 1 to "up/x" and then uses it alone.
        .c(publish5(0, false, b"up/x", None, &p_u16(0x23, 1), b"1"))
        .c(publish5(0, false, b"", None, &p_u16(0x23, 1), b"2"))
        // Alias 1 the other way was never mapped by the broker.
        .b(publish5(0, false, b"", None, &p_u16(0x23, 1), b"3"));
    let t = s.run();
    assert_eq!(t.packets[3].topic.map(|x| t.str(x)), Some("up/x"));
    assert!(t.packets[3].marks.has(PacketMarks::TOPIC_FROM_ALIAS));
    assert_eq!(t.packets[4].topic, None);
    let codes: Vec<_> = t.anomalies.iter().map(|a| (a.code, a.packet)).collect();
    assert_eq!(codes, [(AnomalyCode::TopicAliasUnknown, Some(4))]);
    let limits = &t.connections[0].limits;
    assert_eq!(
        (
            limits.client_topic_alias_maximum,
            limits.broker_topic_alias_maximum
        ),
        (Some(4), Some(4))
    );
}

#[test]
fn persistent_session_reconnect_counts_queued_deliveries() {
    let mut s = Script::new();
    // clean session = 0 (flags 0x00).
    s.c(connect_full(4, 0x00, 60, None, "sensor", &[]))
        .b(connack(false, 0))
        .c(subscribe(1, &[("q", 1)], false));
    s.b(suback(1, &[1], false))
        .c(DISCONNECT)
        .close(0, CloseHow::Fin);
    s.wait(SEC).open(1, RoleSource::Handshake);
    s.send(
        1,
        Direction::ToBroker,
        connect_full(4, 0x00, 60, None, "sensor", &[]),
    );
    s.send(1, Direction::ToClient, connack(true, 0));
    s.send(
        1,
        Direction::ToClient,
        publish(1, false, false, b"q", Some(1), b"queued"),
    );
    s.send(1, Direction::ToBroker, ack(4, 1));
    let t = s.run();
    assert_eq!(t.sessions.len(), 1);
    let session = &t.sessions[0];
    assert_eq!(t.str(session.client_id), "sensor");
    assert_eq!(session.connections, [0, 1]);
    assert!(session.persistent);
    assert_eq!(
        (
            session.reconnects,
            session.resumed,
            session.queued_delivered
        ),
        (1, 1, 1)
    );
    assert_eq!(t.connections[1].session_present, Some(true));
    assert_eq!(
        t.connections[0].closed_by,
        Some(ClosedBy::Disconnect {
            dir: Direction::ToBroker,
            reason_code: 0
        })
    );
}

#[test]
fn broker_fan_out_is_matched_by_topic_and_payload() {
    let mut s = Script::new();
    s.c(connect(4, "pub", 60)).b(connack(false, 0));
    for stream in [1, 2] {
        s.open(stream, RoleSource::Handshake);
        s.send(
            stream,
            Direction::ToBroker,
            connect(4, &format!("sub{stream}"), 60),
        );
        s.send(stream, Direction::ToClient, connack(false, 0));
    }
    s.c(publish(0, false, false, b"t/1", None, b"reading"));
    s.wait(2 * MS);
    s.send(
        1,
        Direction::ToClient,
        publish(0, false, false, b"t/1", None, b"reading"),
    );
    s.send(
        2,
        Direction::ToClient,
        publish(0, false, false, b"t/1", None, b"reading"),
    );
    // Same topic, other payload: not a copy.
    s.send(
        2,
        Direction::ToClient,
        publish(0, false, false, b"t/1", None, b"other"),
    );
    let t = s.run();
    assert_eq!(t.deliveries.len(), 1);
    let d = &t.deliveries[0];
    assert_eq!(t.str(d.topic), "t/1");
    assert_eq!(d.conn, 0);
    let copies: Vec<_> = d.fanout.iter().map(|c| (c.conn, c.latency_nanos)).collect();
    assert_eq!(copies, [(1, 3 * MS), (2, 4 * MS)]);
}

#[test]
fn fan_out_candidates_beyond_the_cap_are_forgotten_oldest_first() {
    // 40 messages into the broker 1 ms apart, then the broker delivers the oldest and the
    // newest: all within the 5 s window, but only 8 candidates may be remembered.
    let mut s = Script::new();
    s.c(connect(4, "pub", 60)).b(connack(false, 0));
    s.open(1, RoleSource::Handshake);
    s.send(1, Direction::ToBroker, connect(4, "sub", 60));
    s.send(1, Direction::ToClient, connack(false, 0));
    for i in 0..40u8 {
        s.wait(MS);
        s.c(publish(0, false, false, b"t/1", None, &[i]));
    }
    s.wait(MS);
    for i in [0u8, 39] {
        s.send(
            1,
            Direction::ToClient,
            publish(0, false, false, b"t/1", None, &[i]),
        );
    }
    // Which message each matched delivery started from (its PUBLISH's packet index).
    let matched = |t: &Trace| -> Vec<u64> { t.deliveries.iter().map(|d| d.publish).collect() };
    let uncapped = matched(&s.run());
    assert_eq!(uncapped.len(), 2, "without a cap both copies are matched");
    let capped = s.run_with(AnalyzerConfig {
        max_delivery_candidates: 8,
        ..AnalyzerConfig::default()
    });
    assert_eq!(
        matched(&capped),
        [uncapped[1]],
        "only the newest message is still a candidate"
    );
}

#[test]
fn streaming_mode_hands_every_packet_to_the_callback_and_keeps_only_unfinished_flows() {
    let seen: Arc<Mutex<Vec<(u64, PacketType, bool)>>> = Arc::default();
    let sink = Arc::clone(&seen);
    let mut a = Analyzer::new(AnalyzerConfig::streaming());
    a.set_packet_callback(Box::new(move |trace: &Trace, view| {
        let marked = view.record.has_anomalies();
        assert_eq!(
            marked,
            trace.anomalies_of_packet(view.index).next().is_some()
        );
        sink.lock()
            .unwrap()
            .push((view.index, view.record.packet_type, marked));
    }));
    v3().c(publish(1, false, false, b"t", Some(1), b"x"))
        .b(ack(4, 1))
        .c(publish(1, false, false, b"t", Some(2), b"y"))
        .b(ack(4, 99))
        .feed(&mut a);
    let t = a.finish(Timestamp(10 * SEC));
    let seen = seen.lock().unwrap();
    let types: Vec<_> = seen.iter().map(|s| s.1).collect();
    assert_eq!(
        types,
        [
            PacketType::Connect,
            PacketType::ConnAck,
            PacketType::Publish,
            PacketType::PubAck,
            PacketType::Publish,
            PacketType::PubAck
        ]
    );
    assert_eq!(
        seen.iter().map(|s| s.0).collect::<Vec<_>>(),
        [0, 1, 2, 3, 4, 5]
    );
    assert!(seen[5].2, "the stray PUBACK is marked");
    assert!(t.packets.is_empty());
    assert_eq!(t.totals.packets, 6);
    // Kept: the unanswered PUBLISH id 2 and the stray PUBACK; the complete ones are gone.
    let kept: Vec<_> = t.transactions.iter().map(|x| (x.kind, x.state)).collect();
    assert_eq!(
        kept,
        [
            (TxKind::Qos1, TxState::ResponseWithoutRequest),
            (TxKind::Qos1, TxState::IncompleteAtCaptureEnd)
        ]
    );
}

#[test]
fn raw_bytes_are_kept_only_when_asked() {
    let publish_bytes = publish(0, false, false, b"t", None, b"abc");
    let mut s = v3();
    s.c(publish_bytes.clone());
    let t = s.run_with(AnalyzerConfig {
        raw_bytes: RawBytes::All,
        ..AnalyzerConfig::default()
    });
    assert_eq!(t.raw(2), Some(&publish_bytes[..]));
    assert_eq!(t.raw(0), Some(&connect(4, "dev-1", 60)[..]));
    assert_eq!(s.run().raw(2), None);
}

#[test]
fn unless_rebuildable_keeps_only_bytes_that_cannot_be_found_again_by_sequence_number() {
    // The client's stream starts 256 bytes before its sequence numbers wrap around 2^32.
    let big = publish(0, false, false, b"t", None, &[7; 300]);
    let after = publish(0, false, false, b"u", None, b"after the wrap");
    let mut s = v3();
    s.c(big.clone())
        .c(subscribe(1, &[("a/#", 1), ("b", 0)], false))
        .b(suback(1, &[1, 0x80], false))
        .c(after.clone());
    let mut a = Analyzer::new(AnalyzerConfig {
        raw_bytes: RawBytes::UnlessRebuildable,
        ..AnalyzerConfig::default()
    });
    s.feed(&mut a);
    let offset = big.len() as u64 + 200;
    let packet = |tcp_seq: Option<u32>, stream_offset: u64| {
        StreamEvent::Packet(MqttBytes {
            stream: 0,
            dir: Direction::ToBroker,
            ts: Timestamp(1),
            first_frame: 90,
            frame: 90,
            stream_offset,
            tcp_seq,
            bytes: &[0xc0, 0x00],
            packet_len: 2,
            truncated: false,
        })
    };
    // No sequence number (as over WebSocket); one that contradicts the connection's base.
    a.event(packet(None, offset));
    a.event(packet(Some(12345), offset + 2));
    let t = a.finish(Timestamp(SEC));
    let c = &t.connections[0];
    assert_eq!(
        c.tcp_seq_base,
        [
            Some(isn(Direction::ToBroker)),
            Some(isn(Direction::ToClient))
        ]
    );
    let client_after = isn(Direction::ToBroker).wrapping_add(t.packets[5].stream_offset as u32);
    assert!(client_after < 1000, "the stream crossed the wrap");
    assert_eq!(
        c.tcp_seq_of(Direction::ToBroker, t.packets[5].stream_offset),
        Some(client_after)
    );
    let kept: Vec<bool> = (0..t.packets.len() as u64)
        .map(|i| t.raw(i).is_some())
        .collect();
    // CONNECT, CONNACK, PUBLISH, SUBSCRIBE, SUBACK, PUBLISH, no seq, wrong seq.
    assert_eq!(kept, [false, false, false, true, true, false, true, true]);
    assert_eq!(t.raw(4), Some(&suback(1, &[1, 0x80], false)[..]));
    assert_eq!(t.raw(6), Some(&[0xc0, 0x00][..]));
    // Nothing of the large PUBLISH was copied.
    assert!(t.raw_bytes.len() < 40, "{} bytes kept", t.raw_bytes.len());
}

#[test]
fn reserving_raw_bytes_makes_room_only_where_they_are_kept() {
    let mut kept = Analyzer::new(AnalyzerConfig {
        raw_bytes: RawBytes::All,
        ..AnalyzerConfig::default()
    });
    kept.reserve_raw_bytes(1 << 20);
    assert!(kept.trace().raw_bytes.capacity() >= 1 << 20);
    let mut s = v3();
    s.c(publish(0, false, false, b"t", None, b"abc"));
    s.feed(&mut kept);
    let t = kept.finish(Timestamp(0));
    assert_eq!(
        t.raw(2),
        Some(&publish(0, false, false, b"t", None, b"abc")[..])
    );

    let mut not_kept = Analyzer::new(AnalyzerConfig::default());
    not_kept.reserve_raw_bytes(1 << 20);
    assert_eq!(not_kept.trace().raw_bytes.capacity(), 0);
}

#[test]
fn packet_records_carry_sizes_and_positions() {
    let mut s = v3();
    s.c(publish(1, false, true, b"a/b", Some(3), b"hello"));
    let t = s.run();
    let p = &t.packets[2];
    assert_eq!(p.packet_type, PacketType::Publish);
    assert_eq!((p.qos(), p.retain(), p.dup()), (1, true, false));
    assert_eq!(p.packet_id, Some(3));
    assert_eq!(p.topic.map(|x| t.str(x)), Some("a/b"));
    // 2 fixed + (2 + 3 topic + 2 id) variable + 5 payload.
    assert_eq!(
        (p.fixed_len, p.variable_len, p.properties_len, p.payload_len),
        (2, 7, 0, 5)
    );
    assert_eq!(p.remaining_length(), 12);
    assert_eq!(p.version, Some(ProtocolVersion::V3_1_1));
    assert_eq!(p.frame, 4);
    assert_eq!(p.stream_offset, connect(4, "dev-1", 60).len() as u64);
    assert_eq!(t.connections[0].to_broker.packets, 2);
}

#[test]
fn mid_stream_connection_infers_version_5_from_properties() {
    let t = Script::with_roles(RoleSource::Port)
        .c(publish5(1, false, b"t", Some(1), &p_byte(0x01, 1), b"x"))
        .b(ack(4, 1))
        .run();
    let c = &t.connections[0];
    assert_eq!(c.version, Some(ProtocolVersion::V5));
    assert!(c.version_inferred);
    let codes: Vec<_> = t.anomalies.iter().map(|a| a.code).collect();
    assert_eq!(codes, [AnomalyCode::MidStream]);
}

#[test]
fn silence_past_keepalive_then_reset_is_keepalive_expiry() {
    let mut s = Script::new();
    s.c(connect(4, "k", 10))
        .b(connack(false, 0))
        .wait(20 * SEC)
        .close(0, CloseHow::Rst);
    let t = s.run();
    assert_eq!(t.connections[0].closed_by, Some(ClosedBy::KeepAliveExpiry));
    assert_eq!(count(&t, AnomalyCode::KeepAliveViolated), 1);
    assert_eq!(count(&t, AnomalyCode::ClosedWithoutDisconnect), 1);
}

#[test]
fn server_keep_alive_overrides_the_clients() {
    // Client asks 100 s, broker imposes 5 s: 8 s of silence breaks 1.5 × 5.
    let mut s = Script::new();
    s.c(connect(5, "k", 100))
        .b(connack5(false, 0, &p_u16(0x13, 5)))
        .wait(8 * SEC)
        .c(PINGREQ)
        .b(PINGRESP);
    let t = s.run();
    assert_eq!(count(&t, AnomalyCode::KeepAliveViolated), 1);
    assert_eq!(t.connections[0].limits.server_keep_alive, Some(5));
}

#[test]
fn password_is_redacted_unless_asked() {
    // flags: user name 0x80 | password 0x40 | clean 0x02.
    let mut rest = s(b"user");
    rest.extend(s(b"secret"));
    let mut sc = Script::new();
    sc.c(connect_full(4, 0xc2, 60, None, "c", &rest));
    let t = sc.run();
    let pw = t.connections[0].password.as_ref().unwrap();
    assert_eq!((pw.len, pw.text.as_deref()), (6, None));
    assert_eq!(t.connections[0].username.map(|u| t.str(u)), Some("user"));
    assert!(!serde_json::to_string(&t).unwrap().contains("secret"));
    let t = sc.run_with(AnalyzerConfig {
        show_passwords: true,
        ..AnalyzerConfig::default()
    });
    assert_eq!(
        t.connections[0].password.as_ref().unwrap().text.as_deref(),
        Some("secret")
    );
}

#[test]
fn wire_accounting_counts_frames_per_direction() {
    let mut s = v3();
    s.wire(Direction::ToBroker, 80, 14)
        .wire(Direction::ToClient, 70, 4);
    let t = s.run();
    assert_eq!(
        (
            t.totals.frames,
            t.totals.wire_bytes,
            t.totals.tcp_payload_bytes
        ),
        (2, 150, 18)
    );
    assert_eq!(t.connections[0].to_broker.wire_bytes, 80);
    assert_eq!(t.connections[0].to_client.frames, 1);
}

#[test]
fn trace_round_trips_through_json() {
    let t = v3()
        .c(publish(1, false, false, b"t", Some(1), b"x"))
        .b(ack(4, 9))
        .run();
    let json = serde_json::to_string(&t).unwrap();
    let mut back: Trace = serde_json::from_str(&json).unwrap();
    back.rebuild_indexes();
    assert_eq!(back.packets, t.packets);
    assert_eq!(back.anomalies, t.anomalies);
    assert_eq!(back.connection_index_of_stream(0), Some(0));
    assert_eq!(back.anomalies_of_packet(3).count(), 1);
}

#[test]
fn take_new_packets_hands_out_each_record_once() {
    let mut s = v3();
    s.c(publish(0, false, false, b"t", None, b"x"))
        .c(PINGREQ)
        .b(PINGRESP);
    // Events: open, CONNECT, CONNACK | PUBLISH, PINGREQ, PINGRESP.
    let mut tail = s.clone();
    tail.events = s.events.split_off(3);

    let mut a = Analyzer::new(AnalyzerConfig::streaming());
    a.hold_new_packets();
    s.feed(&mut a);
    let first: Vec<_> = a
        .take_new_packets()
        .into_iter()
        .map(|(i, r)| (i, r.packet_type))
        .collect();
    assert_eq!(first, [(0, PacketType::Connect), (1, PacketType::ConnAck)]);
    assert!(a.take_new_packets().is_empty());
    tail.feed(&mut a);
    let second: Vec<_> = a
        .take_new_packets()
        .into_iter()
        .map(|(i, r)| (i, r.packet_type))
        .collect();
    assert_eq!(
        second,
        [
            (2, PacketType::Publish),
            (3, PacketType::PingReq),
            (4, PacketType::PingResp)
        ]
    );
    assert!(a.trace().packets.is_empty());
    assert_eq!(a.trace().packet_base, 5);

    // Retaining: copies, and the trace keeps every record.
    let mut a = Analyzer::new(AnalyzerConfig::default());
    s.feed(&mut a);
    assert_eq!(a.take_new_packets().len(), 2);
    tail.feed(&mut a);
    assert_eq!(
        a.take_new_packets()
            .iter()
            .map(|(i, _)| *i)
            .collect::<Vec<_>>(),
        [2, 3, 4]
    );
    assert_eq!(a.trace().packets.len(), 5);

    // Streaming without asking to hold them: records are not kept at all.
    let mut a = Analyzer::new(AnalyzerConfig::streaming());
    s.feed(&mut a);
    tail.feed(&mut a);
    assert!(a.trace().packets.is_empty());
    assert!(a.take_new_packets().is_empty());
    assert_eq!(a.trace().totals.packets, 5);
}

#[test]
fn mid_stream_connection_reset_is_closed_without_disconnect() {
    let t = Script::with_roles(RoleSource::Port)
        .c(PINGREQ)
        .b(PINGRESP)
        .close(0, CloseHow::Rst)
        .run();
    assert_eq!(count(&t, AnomalyCode::ClosedWithoutDisconnect), 1);
}

#[test]
fn the_side_that_reset_the_connection_is_recorded_and_named() {
    let t = Script::with_roles(RoleSource::Port)
        .c(PINGREQ)
        .b(PINGRESP)
        .close_from(0, CloseHow::Rst, Some(Direction::ToClient))
        .run();
    let c = &t.connections[0];
    assert_eq!(c.closed_by, Some(ClosedBy::Rst));
    assert_eq!(c.closed_side, Some(Direction::ToClient));
    let a = t
        .anomalies
        .iter()
        .find(|a| a.code == AnomalyCode::ClosedWithoutDisconnect)
        .expect("closed without DISCONNECT");
    assert_eq!(
        a.message,
        "closed by rst from the broker without DISCONNECT"
    );
}

#[test]
fn capture_end_has_no_closing_side() {
    let t = Script::with_roles(RoleSource::Port).c(PINGREQ).run();
    assert_eq!(t.connections[0].closed_by, Some(ClosedBy::CaptureEnd));
    assert_eq!(t.connections[0].closed_side, None);
}

#[test]
fn will_of_a_killed_client_is_matched_to_the_broker_publishing_it() {
    // Stream 0: watcher subscribed to will/#. Stream 1: "dying" with a will, reset.
    let mut s = Script::new();
    s.c(connect(4, "watcher", 60))
        .b(connack(false, 0))
        .c(subscribe(1, &[("will/#", 1)], false))
        .b(suback(1, &[1], false));
    s.open(1, RoleSource::Handshake);
    let mut will = wire::s(b"will/dying");
    will.extend(wire::s(b"gone"));
    s.send(
        1,
        Direction::ToBroker,
        connect_full(4, 0x0e, 60, None, "dying", &will),
    );
    s.send(1, Direction::ToClient, connack(false, 0));
    s.close(1, CloseHow::Rst);
    s.b(publish(1, false, false, b"will/dying", Some(1), b"gone"))
        .c(ack(4, 1));
    let t = s.run();
    assert_eq!(t.wills.len(), 1);
    let w = t.will_of(1).unwrap();
    assert!(w.fired());
    assert_eq!(
        (t.str(w.topic), w.triggered_by),
        ("will/dying", ClosedBy::Rst)
    );
    // Latency from the dying client's last packet (its CONNECT): CONNACK, close, PUBLISH = 3 ms.
    assert_eq!(
        w.copies
            .iter()
            .map(|c| (c.conn, c.latency_nanos))
            .collect::<Vec<_>>(),
        [(0, 3 * MS)]
    );
}

#[test]
fn normal_disconnect_discards_the_will_and_0x04_keeps_it() {
    let mut will = wire::s(b"w");
    will.extend(wire::s(b"x"));
    let t = Script::new()
        .c(connect_full(4, 0x06, 60, None, "c", &will))
        .b(connack(false, 0))
        .c(DISCONNECT)
        .close(0, CloseHow::Fin)
        .run();
    assert!(t.wills.is_empty());

    // 5.0: CONNECT with will (empty will properties), DISCONNECT 0x04 Disconnect with Will Message.
    let mut will5 = props(&[]);
    will5.extend(wire::s(b"w"));
    will5.extend(wire::s(b"x"));
    let t = Script::new()
        .c(connect_full(5, 0x06, 60, Some(&[]), "c", &will5))
        .b(connack5(false, 0, &[]))
        .c(pkt(0xe0, &[0x04, 0x00]))
        .close(0, CloseHow::Fin)
        .run();
    assert_eq!(t.wills.len(), 1);
    assert!(!t.wills[0].fired(), "no subscriber saw it in this capture");
}

#[test]
fn failed_flows_are_listed_with_their_reason_code() {
    let mut s = Script::new();
    s.c(connect(5, "p", 60)).b(connack5(false, 0, &[]));
    s.c(publish5(1, false, b"secret/x", Some(6), &[], b"x"))
        .b(ack5(4, 6, 0x87));
    s.c(publish5(2, false, b"secret/y", Some(7), &[], b"y"))
        .b(ack5(5, 7, 0x87));
    let report = qos_report(&s.run());
    let failed: Vec<_> = report
        .failed
        .iter()
        .map(|f| (f.kind.as_str(), f.packet_id, f.reason_code, f.seen.len()))
        .collect();
    assert_eq!(
        failed,
        [("qos1", Some(6), 0x87, 2), ("qos2", Some(7), 0x87, 2)]
    );
    assert!(report.incomplete.is_empty());
    assert_eq!((report.total.qos1.failed, report.total.qos2.failed), (1, 1));
}

#[test]
fn will_published_before_the_close_event_still_counts() {
    // 5.0 DISCONNECT 0x04: the broker publishes the will to the watcher before the capture
    // layer reports the publisher's close.
    let mut s = Script::new();
    s.c(connect(5, "watcher", 60)).b(connack5(false, 0, &[]));
    s.open(1, RoleSource::Handshake);
    let mut will5 = props(&[]);
    will5.extend(wire::s(b"w/t"));
    will5.extend(wire::s(b"bye"));
    s.send(
        1,
        Direction::ToBroker,
        connect_full(5, 0x06, 60, Some(&[]), "pub", &will5),
    );
    s.send(1, Direction::ToClient, connack5(false, 0, &[]));
    s.send(1, Direction::ToBroker, pkt(0xe0, &[0x04, 0x00]));
    s.b(publish5(0, false, b"w/t", None, &[], b"bye"));
    s.close(1, CloseHow::Fin);
    let t = s.run();
    let w = t.will_of(1).unwrap();
    assert!(w.fired());
    assert_eq!(w.copies[0].latency_nanos, MS);

    // The same PUBLISH while the will's client is still talking is not its will.
    let mut s = Script::new();
    s.c(connect(4, "watcher", 60)).b(connack(false, 0));
    s.open(1, RoleSource::Handshake);
    let mut will = wire::s(b"w/t");
    will.extend(wire::s(b"bye"));
    s.send(
        1,
        Direction::ToBroker,
        connect_full(4, 0x06, 60, None, "pub", &will),
    );
    s.b(publish(0, false, false, b"w/t", None, b"bye"));
    s.send(1, Direction::ToBroker, PINGREQ.to_vec());
    s.close(1, CloseHow::Rst);
    let t = s.run();
    assert!(!t.will_of(1).unwrap().fired());
}

#[test]
fn gap_over_the_connect_makes_the_connection_mid_stream_not_wrong() {
    let t = Script::new()
        .gap(Direction::ToBroker, 16, 0)
        .b(connack(false, 0))
        .c(subscribe(1, &[("a", 0)], false))
        .run();
    let codes: Vec<_> = t.anomalies.iter().map(|a| a.code).collect();
    assert_eq!(codes, [AnomalyCode::TcpGap, AnomalyCode::MidStream]);
}

#[test]
fn undecodable_connect_still_counts_as_the_connect() {
    // CONNECT whose protocol name length (0x00ff) runs past the body.
    let t = Script::new()
        .c(pkt(0x10, &[0x00, 0xff, b'M']))
        .b(connack(false, 0))
        .c(PINGREQ)
        .b(PINGRESP)
        .run();
    let codes: Vec<_> = t.anomalies.iter().map(|a| a.code).collect();
    assert_eq!(codes, [AnomalyCode::Malformed]);
}

#[test]
fn connack_before_the_gap_report_that_hid_the_connect_is_not_an_error() {
    // The capture layer reports the client-side gap only when the client's next bytes arrive,
    // after the broker's CONNACK.
    let t = Script::new()
        .b(connack(false, 0))
        .gap(Direction::ToBroker, 16, 0)
        .c(subscribe(1, &[("a", 0)], false))
        .run();
    let codes: Vec<_> = t.anomalies.iter().map(|a| a.code).collect();
    assert_eq!(codes, [AnomalyCode::TcpGap, AnomalyCode::MidStream]);
}

#[test]
fn redelivery_on_the_next_connection_of_a_persistent_session_is_linked() {
    // redeliv (clean session 0) gets PUBLISH id 1, never acks, disconnects; on reconnect the
    // broker resends it with DUP and the client acks.
    let mut s = Script::new();
    s.c(connect_full(4, 0x00, 60, None, "redeliv", &[]))
        .b(connack(false, 0));
    s.b(publish(1, false, false, b"redo/x", Some(1), b"m"))
        .c(DISCONNECT)
        .close(0, CloseHow::Fin);
    s.open(1, RoleSource::Handshake);
    s.send(
        1,
        Direction::ToBroker,
        connect_full(4, 0x00, 60, None, "redeliv", &[]),
    );
    s.send(1, Direction::ToClient, connack(true, 0));
    s.send(
        1,
        Direction::ToClient,
        publish(1, true, false, b"redo/x", Some(1), b"m"),
    );
    s.send(1, Direction::ToBroker, ack(4, 1));
    for config in [AnalyzerConfig::default(), AnalyzerConfig::streaming()] {
        let t = s.run_with(config);
        let report = qos_report(&t);
        assert_eq!(
            report.incomplete.len(),
            1,
            "the first delivery stays incomplete"
        );
        let first = t
            .transactions
            .iter()
            .find(|x| x.kind == TxKind::Qos1 && x.conn == 0)
            .unwrap();
        // Packets: CONNECT, CONNACK, PUBLISH, DISCONNECT | CONNECT, CONNACK, PUBLISH (6), PUBACK.
        assert_eq!(first.retransmissions, [6]);
        assert!(t.anomalies.is_empty(), "{:#?}", t.anomalies);
    }

    // Without DUP the resend is flagged; after a clean start nothing is linked.
    let mut no_dup = s.clone();
    no_dup.events.retain(|e| !matches!(e, crate::script::Ev::Packet { bytes, stream: 1, .. } if bytes.first() == Some(&0x3a)));
    no_dup.send(
        1,
        Direction::ToClient,
        publish(1, false, false, b"redo/x", Some(1), b"m"),
    );
    let t = no_dup.run();
    assert_eq!(count(&t, AnomalyCode::RetransmitWithoutDup), 1);
}

#[test]
fn tls_metadata_alone_makes_a_tls_connection() {
    let mut a = Analyzer::new(AnalyzerConfig::default());
    a.event(dissector::input::StreamEvent::Tls(
        dissector::input::TlsMetadata {
            stream: 3,
            version: Some(0x0304),
            sni: Some("broker.example".into()),
            bytes_to_broker: 100,
            bytes_to_client: 200,
        },
    ));
    let t = a.finish(Timestamp(SEC));
    assert_eq!(t.connections.len(), 1);
    let c = &t.connections[0];
    assert_eq!(
        (c.stream, c.transport),
        (3, dissector::input::Transport::Tls)
    );
    assert_eq!(
        c.tls.as_ref().and_then(|x| x.sni.as_deref()),
        Some("broker.example")
    );
    assert!(t.anomalies.is_empty(), "{:#?}", t.anomalies);
}

#[test]
fn streaming_memory_does_not_grow_with_finished_flows() {
    let mut s = v3();
    for i in 0..2_000u16 {
        let id = i % 100 + 1;
        s.c(publish(1, false, false, b"t", Some(id), &i.to_be_bytes()))
            .b(ack(4, id));
        s.b(publish(0, false, false, b"t", None, &i.to_be_bytes()));
    }
    let mut a = Analyzer::new(AnalyzerConfig::streaming());
    a.set_packet_callback(Box::new(|_: &Trace, _| {}));
    s.feed(&mut a);
    let t = a.trace();
    assert_eq!(t.totals.packets, 2 + 3 * 2_000);
    assert!(t.packets.is_empty());
    assert!(t.transactions.is_empty(), "only unfinished flows are kept");
    assert!(t.deliveries.is_empty());
    assert!(t.anomalies.is_empty(), "{:#?}", t.anomalies);
    assert_eq!(t.strings.len(), 2, "client id and topic");
}

/// Regression (robustness sweep): a 1 KB PUBLISH whose middle segment was lost reached the
/// analyzer truncated and was reported as over the 16 MB payload limit.
#[test]
fn packet_cut_by_a_lost_segment_is_not_over_the_payload_limit() {
    let mut s = v3();
    s.gap(Direction::ToBroker, 400, 0).cut_by_gap(
        Direction::ToBroker,
        publish(1, false, false, b"big", Some(3), &[7u8; 1000]),
        300,
    );
    let t = s.run();
    assert_eq!(count(&t, AnomalyCode::PayloadOverLimit), 0);
    assert_eq!(count(&t, AnomalyCode::TcpGap), 1);

    // The same packet announced by the capture layer as over its limit is reported as such.
    let mut s = v3();
    s.truncated(
        Direction::ToBroker,
        publish(1, false, false, b"big", Some(3), &[7u8; 1000]),
        300,
    );
    assert_eq!(count(&s.run(), AnomalyCode::PayloadOverLimit), 1);
}
