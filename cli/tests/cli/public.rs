//! Every subcommand on every public capture (shared/captures/public): never a panic, never an
//! input error on a readable capture, and text and JSON agree on the packet count.

use crate::common::{json_lines, run};

fn public_captures() -> Vec<String> {
    let root = std::path::Path::new("/work/shared/captures/public");
    let mut found = Vec::new();
    let mut dirs = vec![root.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                dirs.push(path);
            } else if path
                .extension()
                .is_some_and(|e| e == "pcap" || e == "pcapng")
            {
                found.push(path.to_string_lossy().into_owned());
            }
        }
    }
    found.sort();
    found
}

#[test]
fn every_subcommand_runs_cleanly_on_every_public_capture() {
    let files = public_captures();
    if files.is_empty() {
        eprintln!("skipped: /work/shared/captures/public is not present on this machine");
        return;
    }
    for f in &files {
        for sub in ["read", "flows", "check", "stats", "seq"] {
            let (code, _, err) = run(&[sub, "-r", f]);
            // `seq` on a capture without MQTT says so (2); everything else is 0 or 1 (check).
            let no_mqtt = sub == "seq" && err.contains("no MQTT connection");
            assert!(
                code == 0 || (sub == "check" && code == 1) || no_mqtt,
                "{sub} {f}: exit {code}: {err}"
            );
        }
        let (_, text, _) = run(&["read", "-r", f]);
        let (_, jsonl, _) = run(&["read", "-r", f, "-T", "jsonl", "-V"]);
        assert_eq!(text.lines().count(), json_lines(&jsonl).len(), "{f}");
    }
}
