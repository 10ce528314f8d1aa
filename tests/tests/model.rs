//! The flow model against the samples' ground truth: what the recording script made happen
//! (who connected how and how each connection ended, which flows never finished or failed,
//! whose keepalive lapsed, which session resumed with queued messages, whose will fired) is
//! exactly what `capture::Pipeline` → `dissector::analyze::Analyzer` reports.

use std::collections::BTreeMap;

use dissector::analyze::qos_report;
use dissector::codec::PacketType;
use dissector::input::{Direction, Transport};
use dissector::model::{ClosedBy, Trace, TxState};
use mqscope_tests::captures::{self, Sample};
use mqscope_tests::{ours, tshark};

/// Stream numbers listed in a sample's `facts` under `key`.
fn fact_streams(sample: &Sample, key: &str) -> Vec<u32> {
    sample.expected.facts[key]
        .as_array()
        .map(|items| {
            items
                .iter()
                .filter_map(|v| v.as_u64())
                .map(|v| v as u32)
                .collect()
        })
        .unwrap_or_default()
}

/// Connection index of a stream in the trace.
fn conn_of(trace: &Trace, stream: u32) -> usize {
    trace
        .connections
        .iter()
        .position(|c| c.stream == stream)
        .unwrap_or_else(|| panic!("no connection for stream {stream}"))
}

/// Every connection: client id, version, keepalive, clean session, session present, will,
/// transport, and how it ended.
fn connections_match(name: &str) {
    let sample = captures::sample(name);
    let trace = ours::analyze(&sample.capture);
    assert_eq!(
        trace.connections.len(),
        sample.expected.streams.len(),
        "{name}: connections"
    );
    let keepalive_lapsed = fact_streams(&sample, "keepalive_expired_streams");
    let tshark_closers = tshark::available().then(|| tshark::tcp_closers(&sample.capture));
    let disconnect_reason = sample.expected.facts["disconnect_reason_code"]
        .as_u64()
        .unwrap_or(0) as u8;
    for want in &sample.expected.streams {
        let i = conn_of(&trace, want.stream);
        let got = &trace.connections[i];
        let at = format!("{name} stream {}", want.stream);
        assert_eq!(trace.client_id_of(i), want.client_id, "{at}: client id");
        assert_eq!(
            got.version.map(|v| v.level()),
            Some(want.version),
            "{at}: version"
        );
        assert_eq!(got.keep_alive, Some(want.keepalive), "{at}: keepalive");
        assert_eq!(
            got.clean_start,
            Some(want.clean_session),
            "{at}: clean session"
        );
        assert_eq!(
            got.session_present,
            Some(want.session_present),
            "{at}: session present"
        );
        let transport = if want.transport == "websocket" {
            Transport::WebSocket
        } else {
            Transport::Tcp
        };
        assert_eq!(got.transport, transport, "{at}: transport");
        let will = got
            .will
            .as_ref()
            .map(|w| (trace.str(w.topic).to_string(), w.qos, w.retain));
        let want_will = want
            .will
            .as_ref()
            .map(|w| (w.topic.clone(), w.qos, w.retain));
        assert_eq!(will, want_will, "{at}: will");
        let closed = match want.ended_by.as_str() {
            // Only clients send DISCONNECT in these samples; its reason is in the facts (v5).
            "disconnect" => {
                let reason_code = if want.version == 5 && want.will_fired {
                    disconnect_reason
                } else {
                    0
                };
                ClosedBy::Disconnect {
                    dir: Direction::ToBroker,
                    reason_code,
                }
            }
            "fin" if keepalive_lapsed.contains(&want.stream) => ClosedBy::KeepAliveExpiry,
            "fin" => ClosedBy::Fin,
            "rst" => ClosedBy::Rst,
            other => panic!("{at}: unknown ended_by {other}"),
        };
        assert_eq!(got.closed_by, Some(closed), "{at}: closed by");
        // Without a DISCONNECT the script knows who ended TCP (it killed the client, or the
        // broker dropped it); after one, either side's FIN may come first.
        if want.ended_by != "disconnect" {
            let side = match want.closed_by.as_str() {
                "client" => Direction::ToBroker,
                "broker" => Direction::ToClient,
                other => panic!("{at}: unknown closed_by {other}"),
            };
            assert_eq!(got.closed_side, Some(side), "{at}: side that ended TCP");
        }
        if let Some(closers) = &tshark_closers {
            let want_side = closers.get(&want.stream).map(|&port| {
                if port == got.broker.port() {
                    Direction::ToClient
                } else {
                    Direction::ToBroker
                }
            });
            assert_eq!(
                got.closed_side, want_side,
                "{at}: side that ended TCP, per tshark"
            );
        }
    }
    let total: u32 = sample.expected.packet_counts.values().sum();
    assert_eq!(trace.packets.len() as u32, total, "{name}: packet records");
}

/// The QoS completeness report lists exactly the flows the script left unfinished, with where
/// they stopped and the frames of their packets; the flows answered with a failure code are
/// failed, not incomplete.
fn flows_match(name: &str) {
    let sample = captures::sample(name);
    let trace = ours::analyze(&sample.capture);
    let got: Vec<_> = qos_report(&trace)
        .incomplete
        .into_iter()
        .map(|f| {
            (
                f.stream,
                f.client_id,
                f.dir,
                f.kind,
                f.packet_id,
                f.qos,
                f.topic,
                f.seen,
                f.missing,
                f.ended_by,
                f.frames,
            )
        })
        .collect();
    let want: Vec<_> = sample
        .expected
        .incomplete_flows
        .iter()
        .map(|f| {
            let f = f.clone();
            (
                f.stream,
                f.client_id,
                f.dir,
                f.kind,
                Some(f.packet_id),
                f.qos,
                Some(f.topic),
                f.seen,
                f.missing,
                f.ended_by.unwrap_or_default(),
                f.frames,
            )
        })
        .collect();
    assert_eq!(got, want, "{name}: incomplete flows");
    let failed: Vec<_> = trace
        .transactions
        .iter()
        .filter_map(|t| match t.state {
            TxState::Failed(code) => {
                let stream = trace.connections[t.conn as usize].stream;
                Some((
                    stream,
                    t.dir.as_str().to_string(),
                    t.kind.as_str().to_string(),
                    t.packet_id,
                    code,
                    t.steps.iter().map(|step| step.frame).collect::<Vec<_>>(),
                ))
            }
            _ => None,
        })
        .collect();
    let want_failed: Vec<_> = sample
        .expected
        .failed_flows
        .iter()
        .map(|f| {
            (
                f.stream,
                f.dir.clone(),
                f.kind.clone(),
                Some(f.packet_id),
                f.reason_code.unwrap_or(0),
                f.frames.clone(),
            )
        })
        .collect();
    assert_eq!(failed, want_failed, "{name}: flows failed by reason code");
}

/// Exactly the anomalies the script caused, by code and stream: a connection that ended
/// without DISCONNECT, a lapsed keepalive, a failure reason code. Real mosquitto traffic
/// triggers nothing else.
fn anomalies_match(name: &str) {
    let sample = captures::sample(name);
    let trace = ours::analyze(&sample.capture);
    let mut want: BTreeMap<(String, u32), u32> = BTreeMap::new();
    for s in &sample.expected.streams {
        if s.ended_by != "disconnect" {
            *want
                .entry(("MQ-NO-DISCONNECT".into(), s.stream))
                .or_default() += 1;
        }
    }
    for stream in fact_streams(&sample, "keepalive_expired_streams") {
        *want.entry(("MQ-KEEPALIVE".into(), stream)).or_default() += 1;
    }
    for f in &sample.expected.failed_flows {
        *want
            .entry(("MQ-FAILED-REASON".into(), f.stream))
            .or_default() += 1;
    }
    let mut got: BTreeMap<(String, u32), u32> = BTreeMap::new();
    for a in &trace.anomalies {
        let stream = a
            .conn
            .map_or(u32::MAX, |c| trace.connections[c as usize].stream);
        *got.entry((a.code.code().to_string(), stream)).or_default() += 1;
    }
    assert_eq!(got, want, "{name}: anomalies (code, stream) → count");
}

macro_rules! model_tests {
    ($($module:ident => $name:literal),* $(,)?) => {$(
        mod $module {
            #[test]
            fn connections_are_as_recorded() {
                super::connections_match($name);
            }
            #[test]
            fn incomplete_and_failed_flows_are_as_recorded() {
                super::flows_match($name);
            }
            #[test]
            fn anomalies_are_exactly_those_the_script_caused() {
                super::anomalies_match($name);
            }
        }
    )*};
}

for_each_visible_sample!(model_tests);

/// persistent-session.pcap: one session `psub` over streams 0 and 2, persistent, resumed once
/// (CONNACK session present), with the three messages queued while away delivered on resume.
#[test]
fn a_persistent_session_resumes_with_its_queued_messages() {
    let sample = captures::sample("persistent-session");
    let trace = ours::analyze(&sample.capture);
    let session = trace
        .sessions
        .iter()
        .find(|s| trace.str(s.client_id) == "psub")
        .expect("a session for psub");
    let streams: Vec<u32> = session
        .connections
        .iter()
        .map(|&c| trace.connections[c as usize].stream)
        .collect();
    assert_eq!(streams, [0, 2]);
    assert!(session.persistent);
    assert_eq!((session.reconnects, session.resumed), (1, 1));
    let queued = sample.expected.facts["queued_messages_delivered"].as_u64();
    assert_eq!(Some(session.queued_delivered), queued);
}

/// will-fired.pcap and mqtt5-session.pcap: the will of the client that vanished (FIN, no
/// DISCONNECT) or that disconnected with reason 0x04 reaches the subscriber as a PUBLISH on
/// the will topic, and the model holds that will on the dying client's connection.
#[test]
fn a_fired_will_is_announced_and_delivered() {
    for name in ["will-fired", "mqtt5-session"] {
        let sample = captures::sample(name);
        let trace = ours::analyze(&sample.capture);
        assert!(sample.expected.will_fired, "{name}");
        for dying in sample.expected.streams.iter().filter(|s| s.will_fired) {
            let will = dying.will.as_ref().expect("a fired will was announced");
            let conn = &trace.connections[conn_of(&trace, dying.stream)];
            let model_will = conn.will.as_ref().expect("the model keeps the will");
            assert_eq!(trace.str(model_will.topic), will.topic, "{name}");
            let delivered = trace.packets.iter().any(|p| {
                p.packet_type == PacketType::Publish
                    && p.dir == Direction::ToClient
                    && trace.opt_str(p.topic) == Some(will.topic.as_str())
            });
            assert!(
                delivered,
                "{name}: no PUBLISH on {} reached a subscriber",
                will.topic
            );
        }
    }
}

/// qos1-redelivered.pcap: the broker resends the unacknowledged PUBLISH id 1 on the resumed
/// session with DUP set; the model keeps the first delivery incomplete (stream 0) and the
/// resent one complete (stream 2), and counts it as a queued message delivered on resume.
#[test]
fn an_unacknowledged_qos1_delivery_is_resent_with_dup_on_resume() {
    let sample = captures::sample("qos1-redelivered");
    let trace = ours::analyze(&sample.capture);
    let resumed = conn_of(&trace, 2) as u32;
    let resent: Vec<_> = trace
        .packets
        .iter()
        .filter(|p| p.conn == resumed && p.packet_type == PacketType::Publish)
        .collect();
    assert_eq!(resent.len(), 1);
    assert_eq!(resent[0].first_byte & 0x08, 0x08, "DUP set");
    assert_eq!(resent[0].packet_id, Some(1));
    let qos1_on_resumed: Vec<TxState> = trace
        .transactions
        .iter()
        .filter(|t| t.conn == resumed && t.kind.as_str() == "qos1")
        .map(|t| t.state)
        .collect();
    assert_eq!(qos1_on_resumed, [TxState::Complete]);
    let session = trace
        .sessions
        .iter()
        .find(|s| trace.str(s.client_id) == "redeliv")
        .expect("session");
    assert_eq!((session.resumed, session.queued_delivered), (1, 1));
}

/// tls.pcap: two MQTT-over-TLS connections the model can only describe from the outside: TLS
/// transport, the SNI and the negotiated version (1.3, then 1.2), application data both ways, and
/// no MQTT packet (nothing is decrypted; tshark decodes 10 with the recorded key log).
#[test]
fn tls_connections_carry_sni_and_version_and_no_decoded_mqtt() {
    let sample = captures::sample("tls");
    let trace = ours::analyze(&sample.capture);
    assert_eq!(trace.connections.len(), 2);
    assert!(
        trace.packets.is_empty(),
        "nothing decrypted, nothing decoded"
    );
    let versions = &sample.expected.facts["tls_versions"];
    for want in &sample.expected.streams {
        let conn = &trace.connections[conn_of(&trace, want.stream)];
        assert_eq!(conn.transport, Transport::Tls, "stream {}", want.stream);
        let tls = conn.tls.as_ref().expect("TLS metadata");
        assert_eq!(tls.sni.as_deref(), sample.expected.facts["sni"].as_str());
        let version = versions[want.stream.to_string()].as_u64().map(|v| v as u16);
        assert_eq!(tls.version, version, "stream {}: TLS version", want.stream);
        assert!(
            tls.bytes_to_broker > 0 && tls.bytes_to_client > 0,
            "application data both ways"
        );
    }
}
