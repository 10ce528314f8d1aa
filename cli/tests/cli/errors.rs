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

/// A pcap (Ethernet, IPv4, TCP port 1883) of one connection: handshake, then `segments`
/// (direction, bytes) in order.
pub fn tiny_capture(segments: &[(bool, &[u8])]) -> Vec<u8> {
    let mut out = Vec::new();
    // Global header: magic, v2.4, thiszone, sigfigs, snaplen, LINKTYPE_ETHERNET.
    out.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
    out.extend_from_slice(&2u16.to_le_bytes());
    out.extend_from_slice(&4u16.to_le_bytes());
    out.extend_from_slice(&[0; 8]);
    out.extend_from_slice(&65535u32.to_le_bytes());
    out.extend_from_slice(&1u32.to_le_bytes());
    let (client, broker) = ([10, 0, 0, 1], [10, 0, 0, 2]);
    let (mut seq_c, mut seq_b) = (1000u32, 5000u32);
    let frame = |out: &mut Vec<u8>,
                 n: u32,
                 to_broker: bool,
                 flags: u8,
                 seq: u32,
                 ack: u32,
                 payload: &[u8]| {
        let (src, dst, sport, dport) = if to_broker {
            (client, broker, 40000u16, 1883u16)
        } else {
            (broker, client, 1883, 40000)
        };
        let mut tcp = Vec::new();
        tcp.extend_from_slice(&sport.to_be_bytes());
        tcp.extend_from_slice(&dport.to_be_bytes());
        tcp.extend_from_slice(&seq.to_be_bytes());
        tcp.extend_from_slice(&ack.to_be_bytes());
        tcp.extend_from_slice(&[0x50, flags, 0xff, 0xff, 0, 0, 0, 0]);
        tcp.extend_from_slice(payload);
        let total = (20 + tcp.len()) as u16;
        let mut ip = vec![0x45, 0, 0, 0, 0, 0, 0x40, 0, 64, 6, 0, 0];
        ip[2..4].copy_from_slice(&total.to_be_bytes());
        ip.extend_from_slice(&src);
        ip.extend_from_slice(&dst);
        let sum = ip
            .chunks(2)
            .map(|w| u32::from(u16::from_be_bytes([w[0], w[1]])))
            .sum::<u32>();
        let sum = !(((sum & 0xffff) + (sum >> 16)) as u16);
        ip[10..12].copy_from_slice(&sum.to_be_bytes());
        let mut eth = vec![2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00];
        eth.extend_from_slice(&ip);
        eth.extend_from_slice(&tcp);
        for v in [n, 0, eth.len() as u32, eth.len() as u32] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        out.extend_from_slice(&eth);
    };
    frame(&mut out, 1, true, 0x02, seq_c, 0, &[]);
    frame(&mut out, 2, false, 0x12, seq_b, seq_c + 1, &[]);
    seq_c += 1;
    seq_b += 1;
    frame(&mut out, 3, true, 0x10, seq_c, seq_b, &[]);
    for (i, (to_broker, bytes)) in segments.iter().enumerate() {
        let n = 4 + i as u32;
        if *to_broker {
            frame(&mut out, n, true, 0x18, seq_c, seq_b, bytes);
            seq_c += bytes.len() as u32;
        } else {
            frame(&mut out, n, false, 0x18, seq_b, seq_c, bytes);
            seq_b += bytes.len() as u32;
        }
    }
    out
}

#[test]
fn control_characters_of_topics_and_payloads_never_reach_the_terminal() {
    // CONNECT (3.1.1, client id "x"), CONNACK, PUBLISH QoS 0 whose topic and payload hold
    // terminal escape sequences, a carriage return and a newline.
    let connect: &[u8] = &[
        0x10, 13, 0, 4, b'M', b'Q', b'T', b'T', 4, 2, 0, 60, 0, 1, b'x',
    ];
    let connack: &[u8] = &[0x20, 2, 0, 0];
    let topic = b"evil\x1b[2J/t";
    let payload = b"\x1b]0;pwned\x07 hi\r\n";
    let mut publish = vec![
        0x30,
        (2 + topic.len() + payload.len()) as u8,
        0,
        topic.len() as u8,
    ];
    publish.extend_from_slice(topic);
    publish.extend_from_slice(payload);
    let pcap = tiny_capture(&[(true, connect), (false, connack), (true, &publish)]);
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let path = dir.path().join("evil.pcap");
    std::fs::write(&path, pcap).unwrap_or_else(|e| panic!("{e}"));
    let path = path.to_string_lossy().into_owned();
    for args in [
        &["--payload", "text"][..],
        &["-V"][..],
        &["--payload", "json"][..],
    ] {
        let mut all = vec!["read", "-r", path.as_str()];
        all.extend_from_slice(args);
        let (code, out, err) = run(&all);
        assert_eq!(code, 0, "{err}");
        assert!(out.contains("PUBLISH"), "{out}");
        assert!(
            !out.contains('\x1b') && !out.contains('\x07') && !out.contains('\r'),
            "{out:?}"
        );
        assert!(out.contains("evil\\x1b[2J/t"), "{out}");
    }
    // JSON keeps the exact bytes (escaped by JSON itself).
    let (_, json, _) = run(&["read", "-r", &path, "-T", "jsonl", "--payload", "text"]);
    let rows = json_lines(&json);
    assert_eq!(rows.len(), 3, "{json}");
    assert_eq!(rows[2]["topic"], "evil\u{1b}[2J/t");
    assert_eq!(rows[2]["payload"], "\u{1b}]0;pwned\u{7} hi\r\n");
}

#[test]
fn progress_bar_only_on_a_terminal_and_only_for_big_files() {
    // A 9 MB capture: CONNECT, CONNACK, then 9,000 QoS 0 PUBLISHes of 1,000 bytes.
    let connect: &[u8] = &[
        0x10, 13, 0, 4, b'M', b'Q', b'T', b'T', 4, 2, 0, 60, 0, 1, b'x',
    ];
    let connack: &[u8] = &[0x20, 2, 0, 0];
    let mut publish = vec![0x30, 0xef, 0x07, 0, 3, b'a', b'/', b'b'];
    publish.resize(3 + 1007, b'p');
    let mut segments: Vec<(bool, &[u8])> = vec![(true, connect), (false, connack)];
    segments.extend(std::iter::repeat_n((true, publish.as_slice()), 9000));
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let path = dir.path().join("big.pcap");
    std::fs::write(&path, tiny_capture(&segments)).unwrap_or_else(|e| panic!("{e}"));
    let path = path.to_string_lossy().into_owned();
    // Not a terminal: nothing on stderr.
    let (code, out, err) = run(&["flows", "-r", &path]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("9001/1"), "{out}");
    assert!(err.is_empty(), "{err}");
    // A terminal (script(1) gives the program a pseudo-terminal): the bar is drawn.
    let Ok(script) = std::process::Command::new("script")
        .args([
            "-qec",
            &format!(
                "{} flows -r {path} > /dev/null",
                env!("CARGO_BIN_EXE_mqscope")
            ),
            "/dev/null",
        ])
        .output()
    else {
        eprintln!("skipped the terminal half: script(1) is not installed");
        return;
    };
    let tty = String::from_utf8_lossy(&script.stdout);
    assert!(tty.contains("big.pcap [") && tty.contains("MiB"), "{tty}");
    let quiet = std::process::Command::new("script")
        .args([
            "-qec",
            &format!(
                "{} flows -r {path} --no-progress > /dev/null",
                env!("CARGO_BIN_EXE_mqscope")
            ),
            "/dev/null",
        ])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default();
    assert!(!quiet.contains("MiB"), "{quiet}");
}

#[test]
fn a_missing_file_prints_nothing_on_stdout_for_every_whole_capture_view() {
    for args in [
        &["flows"][..],
        &["flows", "-T", "json"][..],
        &["stats"][..],
        &["stats", "-T", "json"][..],
        &["seq"][..],
    ] {
        let mut all = args.to_vec();
        all.extend_from_slice(&["-r", "no/such/file.pcap"]);
        let (code, out, err) = run(&all);
        assert_eq!(code, 2, "{args:?}: {err}");
        assert_eq!(out, "", "{args:?}");
        assert_eq!(
            err.trim(),
            "mqscope: no/such/file.pcap: no such file",
            "{args:?}"
        );
    }
    // One missing file among several: still nothing on stdout, the missing one is named.
    let (code, out, err) = run(&[
        "stats",
        "-r",
        "samples/mqtt311-session.pcap",
        "no/such/file.pcap",
    ]);
    assert_eq!((code, out.as_str()), (2, ""), "{err}");
    assert!(err.contains("no/such/file.pcap: no such file"), "{err}");
}

#[test]
fn export_of_a_missing_file_writes_no_file() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let target = dir.path().join("packets.csv");
    let target_s = target.to_string_lossy().into_owned();
    let (code, out, err) = run(&["export", "-r", "no/such/file.pcap", "-o", &target_s]);
    assert_eq!((code, out.as_str()), (2, ""), "{err}");
    assert_eq!(err.trim(), "mqscope: no/such/file.pcap: no such file");
    assert!(!target.exists());
}

#[test]
fn seq_without_a_matching_connection_names_the_capture() {
    let (code, out, err) = run(&[
        "seq",
        "-r",
        "samples/mqtt311-session.pcap",
        "--stream",
        "99",
    ]);
    assert_eq!((code, out.as_str()), (2, ""), "{err}");
    assert_eq!(
        err.trim(),
        "mqscope: samples/mqtt311-session.pcap: no MQTT connection with tcp.stream 99 in the capture"
    );
}

/// A copy of a sample whose pcap header claims link type 147 (LINKTYPE_USER0), which mqscope
/// does not decode.
fn unsupported_linktype_copy(dir: &std::path::Path) -> String {
    let mut bytes = std::fs::read(root().join("samples/mqtt311-session.pcap"))
        .unwrap_or_else(|e| panic!("{e}"));
    bytes.splice(20..24, 147u32.to_le_bytes());
    let path = dir.join("user0.pcap");
    std::fs::write(&path, bytes).unwrap_or_else(|e| panic!("{e}"));
    path.to_string_lossy().into_owned()
}

#[test]
fn an_unsupported_link_type_is_named_on_stderr_by_every_subcommand() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let path = unsupported_linktype_copy(dir.path());
    let warning = format!("mqscope: {path}: link type 147 unsupported: 104 frames skipped");
    for sub in ["read", "flows", "seq", "check", "stats"] {
        let (_, _, err) = run(&[sub, "-r", &path]);
        assert_eq!(
            err.lines().filter(|l| *l == warning).count(),
            1,
            "{sub}: {err}"
        );
    }
    // seq has nothing to draw and says so, naming the capture.
    let (code, _, err) = run(&["seq", "-r", &path]);
    assert_eq!(code, 2);
    assert!(
        err.contains(&format!(
            "mqscope: {path}: no MQTT connection in the capture"
        )),
        "{err}"
    );
}

#[test]
fn check_of_a_capture_with_no_decodable_frame_is_an_input_error_not_a_pass() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let path = unsupported_linktype_copy(dir.path());
    let (code, out, err) = run(&["check", "-r", &path, "-T", "json"]);
    assert_eq!(code, 2, "{out}{err}");
    let report: serde_json::Value = serde_json::from_str(&out).unwrap_or_default();
    assert_eq!(
        report["captures"][0]["error"],
        format!("{path}: nothing could be decoded: link type 147 unsupported: 104 frames skipped")
    );
    assert_eq!(report["summary"]["exit_code"], 2);
}

#[test]
fn check_reports_skipped_link_type_frames_beside_decoded_ones_as_a_warning() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let path = unsupported_linktype_copy(dir.path());
    let args = [
        "check",
        "--merge",
        "-r",
        &path,
        "samples/mqtt311-session.pcap",
        "-T",
        "json",
    ];
    let (code, out, err) = run(&args);
    assert_eq!(code, 0, "{out}{err}");
    let report: serde_json::Value = serde_json::from_str(&out).unwrap_or_default();
    let skipped: Vec<_> = report["anomalies"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|a| a["code"] == "LINKTYPE-UNSUPPORTED")
        .collect();
    assert_eq!(skipped.len(), 1, "{out}");
    assert_eq!(skipped[0]["severity"], "warning");
    assert_eq!(
        skipped[0]["message"],
        "link type 147 unsupported: 104 frames skipped"
    );
    // A warning: fails the gate only when asked to.
    let mut strict = args.to_vec();
    strict.extend_from_slice(&["--fail-on", "warning"]);
    let (code, _, _) = run(&strict);
    assert_eq!(code, 1);
    let (_, junit, _) = run(&[
        "check",
        "--merge",
        "-r",
        &path,
        "samples/mqtt311-session.pcap",
        "-T",
        "junit",
        "--fail-on",
        "warning",
    ]);
    assert!(
        junit.contains("name=\"LINKTYPE-UNSUPPORTED\">")
            && junit
                .contains("message=\"link type 147 unsupported: 104 frames skipped (warning)\""),
        "{junit}"
    );
}

#[test]
fn seq_escapes_a_client_id_with_terminal_escapes_in_every_format() {
    // CONNECT (3.1.1) whose client id holds ESC [31m, NUL and BEL; then CONNACK.
    let id = b"ev\x1b[31mil\x00\x07";
    let mut connect = vec![0x10, (12 + id.len()) as u8];
    connect.extend_from_slice(&[0, 4, b'M', b'Q', b'T', b'T', 4, 2, 0, 60, 0, id.len() as u8]);
    connect.extend_from_slice(id);
    let connack: &[u8] = &[0x20, 2, 0, 0];
    let pcap = tiny_capture(&[(true, &connect), (false, connack)]);
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let path = dir.path().join("evil-id.pcap");
    std::fs::write(&path, pcap).unwrap_or_else(|e| panic!("{e}"));
    let path = path.to_string_lossy().into_owned();
    for format in ["text", "mermaid", "svg"] {
        let (code, out, err) = run(&["seq", "-r", &path, "-T", format]);
        assert_eq!(code, 0, "{format}: {err}");
        assert!(out.contains("CONNECT"), "{format}: {out}");
        assert!(
            !out.chars().any(|c| c.is_control() && c != '\n'),
            "{format}: {out:?}"
        );
    }
    let (_, text, _) = run(&["seq", "-r", &path]);
    let title = text.lines().next().unwrap_or_default();
    assert_eq!(
        title, "stream 0 · \"ev\\u{1b}[31mil\\0\\u{7}\" · MQTT 3.1.1",
        "{text}"
    );
}
