//! Helpers: the binary, the workspace root, sample captures and their ports.

use std::path::{Path, PathBuf};

use assert_cmd::Command;

/// The workspace root (parent of `cli/`): tests run there so output names `samples/…` stably.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

/// `mqscope` with the workspace root as working directory, colour off.
pub fn mqscope() -> Command {
    let mut cmd = Command::cargo_bin("mqscope").unwrap_or_else(|e| panic!("mqscope binary: {e}"));
    cmd.current_dir(root())
        .env("NO_COLOR", "1")
        .env_remove("COLUMNS");
    cmd
}

/// `mqscope` as a plain std command (for spawning with pipes), same environment as [`mqscope`].
pub fn mqscope_std() -> std::process::Command {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_mqscope"));
    cmd.current_dir(root())
        .env("NO_COLOR", "1")
        .env_remove("COLUMNS");
    cmd
}

/// Every sample capture name (without `.pcap`), sorted.
pub fn samples() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(root().join("samples"))
        .map(|d| {
            d.filter_map(|e| e.ok())
                .filter_map(|e| {
                    e.file_name()
                        .to_str()
                        .and_then(|n| n.strip_suffix(".pcap"))
                        .map(str::to_owned)
                })
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    assert!(!names.is_empty(), "no samples/*.pcap");
    names
}

/// The ground truth JSON of a sample.
pub fn expected(name: &str) -> serde_json::Value {
    let path = root().join("samples/expected").join(format!("{name}.json"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// `-r samples/NAME.pcap` plus the port flags the sample's broker used (random ports).
pub fn sample_args(name: &str) -> Vec<String> {
    let e = expected(name);
    let mut args = vec!["-r".to_string(), format!("samples/{name}.pcap")];
    if is_tls(name) {
        args.extend(["--tls-port".to_string(), e["mqtt_port"].to_string()]);
    } else if let Some(ws) = e.get("websocket_port").and_then(|p| p.as_u64()) {
        args.extend(["--ws-port".to_string(), ws.to_string()]);
    } else if let Some(p) = e.get("mqtt_port").and_then(|p| p.as_u64()) {
        args.extend(["--mqtt-port".to_string(), p.to_string()]);
    }
    args
}

/// True for a sample whose MQTT is inside TLS (not decrypted: connections and metadata only).
pub fn is_tls(name: &str) -> bool {
    expected(name)["streams"]
        .as_array()
        .is_some_and(|s| s.iter().any(|c| c["transport"] == "tls"))
}

/// Runs mqscope and returns (exit code, stdout, stderr).
pub fn run(args: &[&str]) -> (i32, String, String) {
    let out = mqscope()
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("running mqscope: {e}"));
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Runs `mqscope SUBCOMMAND <sample args> EXTRA…`.
pub fn run_sample(sub: &str, name: &str, extra: &[&str]) -> (i32, String, String) {
    let args = sample_args(name);
    let mut all: Vec<&str> = vec![sub];
    all.extend(args.iter().map(String::as_str));
    all.extend_from_slice(extra);
    run(&all)
}

/// Parses JSON lines.
pub fn json_lines(text: &str) -> Vec<serde_json::Value> {
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}
