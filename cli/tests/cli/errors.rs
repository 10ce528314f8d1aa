//! Bad input: errors name the file and the problem, exit 2, partial output is kept; usage
//! errors exit 2; a closed stdout is a normal end.

use std::io::Read;
use std::process::Stdio;

use crate::common::{json_lines, mqscope_std, root, run};

#[test]
fn missing_file_is_named_with_exit_2() {
    let (code, out, err) = run(&["read", "-r", "no/such/file.pcap"]);
    assert_eq!(code, 2);
    assert!(out.is_empty());
    assert_eq!(err.trim(), "mqscope: no/such/file.pcap: no such file");
}

#[test]
fn a_file_that_is_not_a_capture_is_named_with_exit_2() {
    let (code, _, err) = run(&["flows", "-r", "samples/README.md"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("samples/README.md") && err.contains("not a pcap or pcapng capture"),
        "{err}"
    );
}

#[test]
fn truncated_file_prints_what_it_could_then_exits_2() {
    let full = std::fs::read(root().join("samples/mqtt311-session.pcap"))
        .unwrap_or_else(|e| panic!("{e}"));
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let cut = dir.path().join("cut.pcap");
    // Cut inside a record two thirds of the way in.
    std::fs::write(&cut, &full[..full.len() * 2 / 3]).unwrap_or_else(|e| panic!("{e}"));
    let path = cut.to_string_lossy().into_owned();
    let (code, out, err) = run(&["read", "-r", &path, "--mqtt-port", "1", "-T", "jsonl"]);
    assert_eq!(code, 2, "{err}");
    let rows = json_lines(&out);
    assert!(
        !rows.is_empty() && rows.len() < 46,
        "partial output: {} rows",
        rows.len()
    );
    assert!(
        err.contains(&path) && err.contains("truncated at byte"),
        "{err}"
    );
    // check still reports, and says which capture failed.
    let (code, out, err) = run(&["check", "-r", &path, "-T", "json"]);
    assert_eq!(code, 2);
    let report: serde_json::Value = serde_json::from_str(&out).unwrap_or_default();
    assert!(
        report["captures"][0]["error"]
            .as_str()
            .is_some_and(|e| e.contains("truncated")),
        "{out}"
    );
    assert!(err.contains("truncated"), "{err}");
}

#[test]
fn usage_errors_exit_2() {
    assert_eq!(run(&["read"]).0, 2);
    assert_eq!(
        run(&["read", "-r", "samples/will-fired.pcap", "-T", "junit"]).0,
        2
    );
    let (code, _, err) = run(&[
        "read",
        "-r",
        "samples/will-fired.pcap",
        "-Y",
        "mqtt.topc == 1",
    ]);
    assert_eq!(code, 2);
    assert!(
        err.contains("invalid display filter") && err.contains("mqtt.topic"),
        "{err}"
    );
    assert_eq!(run(&["--version"]).0, 0);
    assert_eq!(run(&["read", "--help"]).0, 0);
}

#[test]
fn closed_stdout_is_a_normal_end() {
    let mut child = mqscope_std()
        .args(["read", "-r", "samples/mqtt311-session.pcap", "-V"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{e}"));
    let mut stdout = child.stdout.take().unwrap_or_else(|| panic!("no stdout"));
    let mut first = [0u8; 16];
    let _ = stdout.read(&mut first);
    drop(stdout);
    let status = child.wait().unwrap_or_else(|e| panic!("{e}"));
    let mut err = String::new();
    if let Some(mut e) = child.stderr.take() {
        let _ = e.read_to_string(&mut err);
    }
    assert_eq!(status.code(), Some(0), "{err}");
    assert!(err.is_empty(), "{err}");
}

#[test]
fn every_subcommand_help_has_examples() {
    for sub in [
        "read",
        "live",
        "flows",
        "seq",
        "check",
        "stats",
        "export",
        "completions",
        "man",
    ] {
        let (code, out, _) = run(&[sub, "--help"]);
        assert_eq!(code, 0);
        assert!(out.contains("Examples:\n  mqscope "), "{sub}: {out}");
    }
}

#[test]
fn control_characters_in_names_are_escaped_in_text_output() {
    // The terminal never receives raw escape sequences: every string of the packet is escaped.
    let (_, out, _) = run(&[
        "read",
        "-r",
        "samples/mqtt311-session.pcap",
        "--mqtt-port",
        "1",
        "--payload",
        "text",
    ]);
    assert!(!out.contains('\x1b'));
    assert!(out.lines().all(|l| !l.contains('\r')));
}
