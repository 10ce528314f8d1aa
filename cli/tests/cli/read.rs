//! `read`: text lines, the detail tree, JSON lines and their agreement with the ground truth.

use crate::common::{expected, is_tls, json_lines, run, run_sample, samples};

#[test]
fn read_text_of_every_sample_matches_its_snapshot() {
    for name in samples() {
        let (code, out, err) = run_sample("read", &name, &[]);
        assert_eq!(code, 0, "{name}: {err}");
        insta::assert_snapshot!(format!("read_{name}"), out);
    }
}

#[test]
fn read_verbose_shows_every_property_and_reason_codes_by_name() {
    let (code, out, err) = run_sample("read", "mqtt5-session", &["-V"]);
    assert_eq!(code, 0, "{err}");
    // Properties of pub5's first PUBLISH, by their spec names.
    for needle in [
        "Topic Alias (0x23): 1",
        "Correlation Data (0x09)",
        "Content Type (0x03)",
        "Response Topic (0x08)",
        "Reason code: 0x87 Not authorized",
        "Reason code: 0x10 No matching subscribers",
        "Reason code: 0x04 Disconnect with Will Message",
    ] {
        assert!(out.contains(needle), "missing {needle:?}");
    }
    insta::assert_snapshot!("read_verbose_mqtt5-session", out);
}

#[test]
fn read_jsonl_counts_match_the_ground_truth_of_every_sample() {
    for name in samples() {
        let (code, out, err) = run_sample("read", &name, &["-T", "jsonl"]);
        assert_eq!(code, 0, "{name}: {err}");
        let rows = json_lines(&out);
        if is_tls(&name) {
            // MQTT inside TLS is not decrypted: no packets, only connections (see flows).
            assert!(rows.is_empty(), "{name}: {out}");
            continue;
        }
        let truth = expected(&name);
        let counts = truth["packet_counts"]
            .as_object()
            .unwrap_or_else(|| panic!("{name}: packet_counts"));
        let total: u64 = counts.values().filter_map(|v| v.as_u64()).sum();
        assert_eq!(rows.len() as u64, total, "{name}: MQTT packet count");
        for (ty, n) in counts {
            let ours = rows.iter().filter(|r| r["type"] == ty.as_str()).count() as u64;
            assert_eq!(Some(ours), n.as_u64(), "{name}: {ty} count");
        }
        for r in &rows {
            for key in [
                "frame",
                "ts",
                "stream",
                "src",
                "dst",
                "dir",
                "type",
                "type_id",
                "version",
                "dup",
                "qos",
                "retain",
                "packet_id",
                "topic",
                "reason_codes",
                "remaining_length",
                "fixed_header_len",
                "variable_header_len",
                "properties_len",
                "payload_len",
                "anomalies",
            ] {
                assert!(r.get(key).is_some(), "{name}: no {key} in {r}");
            }
            let rl = r["remaining_length"].as_u64().unwrap_or(0);
            let parts = ["variable_header_len", "properties_len", "payload_len"]
                .iter()
                .filter_map(|k| r[*k].as_u64())
                .sum::<u64>();
            assert_eq!(rl, parts, "{name}: sizes add up in {r}");
        }
    }
}

#[test]
fn passwords_are_redacted_unless_asked_for() {
    let file = "/work/shared/captures/public/suricata-verify/mqtt311-pub-userpass__input.pcap";
    if !std::path::Path::new(file).exists() {
        eprintln!("skipped: {file} not present");
        return;
    }
    let (_, text, _) = run(&["read", "-r", file, "-V"]);
    assert!(text.contains("Password: <redacted"), "{text}");
    let (_, json, _) = run(&["read", "-r", file, "-T", "jsonl"]);
    assert!(json.contains("\"password\":\"<redacted>\""), "{json}");
    let (_, shown, _) = run(&["read", "-r", file, "-T", "jsonl", "--show-passwords"]);
    assert!(!shown.contains("<redacted>"), "{shown}");
    assert!(shown.contains("\"password\":\""), "{shown}");
}

#[test]
fn display_filter_and_count_select_packets() {
    let (code, out, _) = run_sample(
        "read",
        "mqtt5-session",
        &["-Y", "mqtt.msgtype == 3 && mqtt.qos == 2", "-T", "jsonl"],
    );
    assert_eq!(code, 0);
    let rows = json_lines(&out);
    assert!(!rows.is_empty());
    assert!(
        rows.iter().all(|r| r["type"] == "PUBLISH" && r["qos"] == 2),
        "{out}"
    );
    // `--filter` is the long alias the other docs use; the same filter, the same rows.
    let (_, long, _) = run_sample(
        "read",
        "mqtt5-session",
        &[
            "--filter",
            "mqtt.msgtype == 3 && mqtt.qos == 2",
            "-T",
            "jsonl",
        ],
    );
    assert_eq!(json_lines(&long), rows);
    let (_, out, _) = run_sample("read", "mqtt5-session", &["-c", "3"]);
    assert_eq!(out.lines().count(), 3, "{out}");
}

#[test]
fn json_format_is_one_array_of_the_jsonl_objects() {
    let (_, jsonl, _) = run_sample("read", "qos2-interrupted", &["-T", "jsonl"]);
    let (_, json, _) = run_sample("read", "qos2-interrupted", &["--format", "json"]);
    let array: serde_json::Value = serde_json::from_str(&json).unwrap_or_default();
    assert_eq!(
        array.as_array().map(Vec::as_slice),
        Some(json_lines(&jsonl).as_slice())
    );
}

#[test]
fn payloads_are_escaped_hex_or_json_as_asked() {
    let (_, out, _) = run_sample(
        "read",
        "mqtt311-session",
        &["-Y", "mqtt.msgtype == 3", "--payload", "hex", "-c", "1"],
    );
    assert!(out.contains("= "), "{out}");
    let (_, out, _) = run_sample(
        "read",
        "mqtt311-session",
        &[
            "-Y",
            "mqtt.msgtype == 3",
            "--payload",
            "text",
            "-T",
            "jsonl",
            "-c",
            "1",
        ],
    );
    let row = &json_lines(&out)[0];
    assert!(row["payload"].is_string(), "{row}");
    let (_, none, _) = run_sample(
        "read",
        "mqtt311-session",
        &[
            "-Y",
            "mqtt.msgtype == 3",
            "--payload",
            "none",
            "-T",
            "jsonl",
            "-c",
            "1",
        ],
    );
    assert!(json_lines(&none)[0].get("payload").is_none());
}

#[test]
fn several_files_are_read_one_after_another_or_merged() {
    let a = "samples/qos2-interrupted.pcap";
    let b = "samples/qos1-never-acked.pcap";
    let (code, out, _) = run(&["read", "-r", a, b, "-T", "jsonl"]);
    assert_eq!(code, 0);
    let rows = json_lines(&out);
    assert!(rows.iter().any(|r| r["capture"] == a) && rows.iter().any(|r| r["capture"] == b));
    let (code, merged, _) = run(&["read", "-r", a, b, "--merge", "-T", "jsonl"]);
    assert_eq!(code, 0);
    let merged = json_lines(&merged);
    assert_eq!(merged.len(), rows.len());
    // One capture: frames numbered across both files, times never going back.
    let ts: Vec<f64> = merged.iter().filter_map(|r| r["ts"].as_f64()).collect();
    assert!(ts.windows(2).all(|w| w[0] <= w[1]), "{ts:?}");
    let streams: std::collections::BTreeSet<u64> =
        merged.iter().filter_map(|r| r["stream"].as_u64()).collect();
    assert!(streams.len() >= 3, "{streams:?}");
}
