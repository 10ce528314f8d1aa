//! `flows`, `seq`, `stats` on the samples.

use crate::common::{expected, is_tls, json_lines, run_sample, samples};

#[test]
fn flows_table_of_every_sample_matches_its_snapshot() {
    for name in samples() {
        let (code, out, err) = run_sample("flows", &name, &[]);
        assert_eq!(code, 0, "{name}: {err}");
        insta::assert_snapshot!(format!("flows_{name}"), out);
    }
}

#[test]
fn flows_json_agrees_with_the_ground_truth_streams() {
    for name in samples() {
        let (_, out, _) = run_sample("flows", &name, &["-T", "jsonl"]);
        let rows = json_lines(&out);
        let truth = expected(&name);
        let streams = truth["streams"].as_array().cloned().unwrap_or_default();
        assert_eq!(rows.len(), streams.len(), "{name}: connections");
        for (ours, theirs) in rows.iter().zip(&streams) {
            assert_eq!(ours["stream"], theirs["stream"], "{name}");
            if is_tls(&name) {
                assert_eq!(ours["transport"], "tls", "{name}");
                continue;
            }
            assert_eq!(ours["client_id"], theirs["client_id"], "{name}");
            assert_eq!(ours["version"], theirs["version"], "{name}");
            let count = |dir: &str| {
                theirs["packets"][dir]
                    .as_object()
                    .map_or(0, |m| m.values().filter_map(|v| v.as_u64()).sum::<u64>())
            };
            assert_eq!(
                ours["packets_to_broker"].as_u64(),
                Some(count("to_broker")),
                "{name}"
            );
            assert_eq!(
                ours["packets_to_client"].as_u64(),
                Some(count("to_client")),
                "{name}"
            );
        }
    }
}

#[test]
fn seq_draws_the_interrupted_qos2_flow_as_incomplete() {
    let (code, out, err) = run_sample("seq", "qos2-interrupted", &["--stream", "0"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("✗ missing PUBREL, PUBCOMP"), "{out}");
    insta::assert_snapshot!("seq_qos2-interrupted", out);
    let (_, mermaid, _) = run_sample("seq", "qos2-interrupted", &["-T", "mermaid"]);
    assert!(mermaid.starts_with("sequenceDiagram\n"), "{mermaid}");
    assert!(mermaid.contains("INCOMPLETE"), "{mermaid}");
    insta::assert_snapshot!("seq_qos2-interrupted_mermaid", mermaid);
    let (_, svg, _) = run_sample("seq", "mqtt5-session", &["--client", "pub5", "-T", "svg"]);
    assert!(svg.starts_with("<svg ") && svg.trim_end().ends_with("</svg>"));
    let arrows = svg.matches("class=\"message\"").count();
    let (_, pub5, _) = run_sample(
        "read",
        "mqtt5-session",
        &["-Y", "mqtt.clientid == \"pub5\"", "-T", "jsonl"],
    );
    assert_eq!(arrows, json_lines(&pub5).len());
}

#[test]
fn seq_writes_a_file_and_rejects_unknown_streams() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let file = dir.path().join("flow.svg");
    let path = file.to_string_lossy().into_owned();
    let (code, out, _) = run_sample("seq", "will-fired", &["-T", "svg", "-o", &path]);
    assert_eq!(code, 0);
    assert!(out.is_empty());
    let svg = std::fs::read_to_string(&file).unwrap_or_default();
    assert!(svg.contains("</svg>"));
    let (code, _, err) = run_sample("seq", "will-fired", &["--stream", "99"]);
    assert_eq!(code, 2);
    assert!(err.contains("tcp.stream 99"), "{err}");
}

#[test]
fn stats_matches_broker_fan_out_only_when_asked() {
    // mqtt5-session: three PUBLISHes into the broker, each delivered once to the subscriber.
    let (code, out, err) = run_sample("stats", "mqtt5-session", &["--fanout"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("Broker fan-out: 3 messages delivered as 3 copies (max 1 per message)"),
        "{out}"
    );
    let (_, json, _) = run_sample("stats", "mqtt5-session", &["--fanout", "-T", "json"]);
    let doc: serde_json::Value = serde_json::from_str(&json).unwrap_or_default();
    assert_eq!(doc["fanout_computed"], true);
    assert_eq!(doc["stats"]["fanout"]["deliveries"], 3);
    let (_, json, _) = run_sample("stats", "mqtt5-session", &["-T", "json"]);
    let doc: serde_json::Value = serde_json::from_str(&json).unwrap_or_default();
    assert_eq!(doc["fanout_computed"], false);
    assert_eq!(doc["stats"]["fanout"]["deliveries"], 0);
}

#[test]
fn stats_text_and_json() {
    let (code, out, err) = run_sample("stats", "mqtt5-session", &[]);
    assert_eq!(code, 0, "{err}");
    insta::assert_snapshot!("stats_mqtt5-session", out);
    for by in ["type", "version", "connection", "topic"] {
        let (code, out, _) = run_sample("stats", "mqtt5-session", &["--by", by, "-T", "json"]);
        assert_eq!(code, 0);
        let doc: serde_json::Value = serde_json::from_str(&out).unwrap_or_default();
        assert_eq!(doc["by"], by);
        let groups = doc["groups"].as_array().cloned().unwrap_or_default();
        assert!(!groups.is_empty(), "{by}");
        let sum = |k: &str| groups.iter().filter_map(|g| g[k].as_u64()).sum::<u64>();
        if by != "topic" {
            // Every grouping covers every packet and byte.
            assert_eq!(sum("packets"), 32, "{by}");
            assert_eq!(
                sum("fixed") + sum("variable") + sum("properties") + sum("payload"),
                doc["stats"]["header"]["mqtt_bytes"].as_u64().unwrap_or(0),
                "{by}"
            );
        }
    }
}
