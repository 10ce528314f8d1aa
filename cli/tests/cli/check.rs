//! `check`: exit codes, the JSON report schema, JUnit, rules.

use crate::common::{expected, run, run_sample};

#[test]
fn check_exits_0_on_captures_whose_flows_all_complete() {
    for name in [
        "mqtt311-session",
        "mqtt31-session",
        "persistent-session",
        "split-header",
    ] {
        let (code, out, err) = run_sample("check", name, &[]);
        assert_eq!(code, 0, "{name}: {out}{err}");
        assert!(
            out.lines().last().is_some_and(|l| l.starts_with("PASS")),
            "{out}"
        );
    }
}

#[test]
fn check_exits_1_on_incomplete_qos_flows_and_reports_them_like_the_ground_truth() {
    for name in ["qos2-interrupted", "qos1-never-acked"] {
        let (code, out, err) = run_sample("check", name, &["-T", "json"]);
        assert_eq!(code, 1, "{name}: {err}");
        let report: serde_json::Value = serde_json::from_str(&out).unwrap_or_default();
        let truth = expected(name);
        let flows = report["incomplete_flows"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let want = truth["incomplete_flows"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        assert_eq!(flows.len(), want.len(), "{name}: {out}");
        for (ours, theirs) in flows.iter().zip(&want) {
            for key in [
                "stream",
                "client_id",
                "dir",
                "kind",
                "packet_id",
                "qos",
                "topic",
                "seen",
                "missing",
                "ended_by",
            ] {
                assert_eq!(ours[key], theirs[key], "{name}: {key}");
            }
            assert!(ours["frames"].as_array().is_some_and(|f| !f.is_empty()));
        }
        assert_eq!(report["summary"]["exit_code"], 1);
        for key in ["captures", "anomalies", "summary"] {
            assert!(report.get(key).is_some(), "{key}");
        }
    }
}

#[test]
fn fail_on_moves_the_threshold() {
    // keepalive-lapse has warnings only: clean by default, a failure with --fail-on warning.
    assert_eq!(run_sample("check", "keepalive-lapse", &[]).0, 0);
    assert_eq!(
        run_sample("check", "keepalive-lapse", &["--fail-on", "warning"]).0,
        1
    );
    assert_eq!(
        run_sample("check", "qos2-interrupted", &["--fail-on", "never"]).0,
        0
    );
}

#[test]
fn junit_report_has_a_failing_case_per_finding() {
    let (code, out, _) = run_sample("check", "qos2-interrupted", &["-T", "junit"]);
    assert_eq!(code, 1);
    assert!(
        out.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites"),
        "{out}"
    );
    assert_eq!(out.matches("<failure ").count(), 1, "{out}");
    assert!(out.contains("type=\"incomplete-qos2\""), "{out}");
    assert!(
        out.contains("<testcase classname=\"samples/qos2-interrupted.pcap\" name=\"anomalies\"/>"),
        "{out}"
    );
    assert!(out.contains("tests=\"2\" failures=\"1\""), "{out}");
    let (code, clean, _) = run_sample("check", "mqtt311-session", &["-T", "junit"]);
    assert_eq!(code, 0);
    assert!(!clean.contains("<failure"), "{clean}");
}

#[test]
fn rules_file_demands_ids_topics_latency_and_forbids_codes() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let rules = dir.path().join("rules.toml");
    let write = |text: &str| std::fs::write(&rules, text).unwrap_or_else(|e| panic!("{e}"));
    let path = rules.to_string_lossy().into_owned();
    write(
        "require_client_ids = [\"sub311\"]\nrequire_topics = [\"test/#\"]\nmax_latency_ms = { percentile = 99, value = 10000 }\n",
    );
    assert_eq!(
        run_sample("check", "mqtt311-session", &["--rules", &path]).0,
        0
    );
    write("require_client_ids = [\"nobody-here\"]\n");
    let (code, out, _) = run_sample("check", "mqtt311-session", &["--rules", &path]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("rule require_client_ids \"nobody-here\""),
        "{out}"
    );
    write("max_latency_ms = { percentile = 50, value = 0.0 }\n");
    assert_eq!(
        run_sample("check", "mqtt311-session", &["--rules", &path]).0,
        1
    );
    write("max_header_overhead = 0.01\n");
    assert_eq!(
        run_sample("check", "mqtt311-session", &["--rules", &path]).0,
        1
    );
    // Forbidding a warning-level code makes it an error.
    write("forbid_anomalies = [\"MQ-NO-DISCONNECT\"]\n");
    assert_eq!(
        run_sample("check", "keepalive-lapse", &["--rules", &path]).0,
        1
    );
    // Allowing QoS incompleteness as notes and the FIN warning: clean.
    write("no_incomplete_flows = false\nallow_anomalies = [\"MQ-NO-DISCONNECT\"]\n");
    assert_eq!(
        run_sample("check", "qos2-interrupted", &["--rules", &path]).0,
        0
    );
    write("no_such_rule = 1\n");
    let (code, _, err) = run_sample("check", "qos2-interrupted", &["--rules", &path]);
    assert_eq!(code, 2);
    assert!(
        err.contains("rules.toml") && err.contains("no_such_rule"),
        "{err}"
    );
}

#[test]
fn check_text_report_snapshot() {
    let (_, out, _) = run(&[
        "check",
        "-r",
        "samples/qos2-interrupted.pcap",
        "samples/keepalive-lapse.pcap",
    ]);
    insta::assert_snapshot!("check_text", out);
}
