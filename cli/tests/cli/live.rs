//! `live` on `lo` against a real mosquitto broker and mosquitto_pub: packets are printed as
//! they arrive, `-w` keeps a readable copy, Ctrl-C (SIGINT) ends cleanly with a summary.
//! Needs root (or CAP_NET_RAW); skipped with the reason when capture is not permitted.

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use crate::common::{json_lines, mqscope_std, run};

/// A mosquitto broker on a free loopback port, stopped on drop.
struct Broker {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Broker {
    fn start() -> Option<Broker> {
        let port = TcpListener::bind("127.0.0.1:0")
            .ok()?
            .local_addr()
            .ok()?
            .port();
        let dir = tempfile::tempdir().ok()?;
        let conf = dir.path().join("mosquitto.conf");
        std::fs::write(
            &conf,
            format!("listener {port} 127.0.0.1\nallow_anonymous true\n"),
        )
        .ok()?;
        let child = Command::new("mosquitto")
            .arg("-c")
            .arg(&conf)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .ok()?;
        // Wait (bounded) until it accepts connections.
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Some(Broker {
                    child,
                    port,
                    _dir: dir,
                });
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }

    fn publish(&self, topic: &str, message: &str, qos: &str) {
        let status = Command::new("mosquitto_pub")
            .args([
                "-h",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-t",
                topic,
                "-m",
                message,
                "-q",
                qos,
                "-i",
                "live-test",
            ])
            .status();
        assert!(status.is_ok_and(|s| s.success()), "mosquitto_pub failed");
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Lines of a child's stdout, as they come.
fn line_channel(child: &mut Child) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    if let Some(out) = child.stdout.take() {
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
    }
    rx
}

fn capture_permitted() -> Result<(), String> {
    let (code, _, err) = run(&["live", "-D"]);
    if code != 0 {
        return Err(format!("cannot list interfaces: {err}"));
    }
    // Opening `lo` needs CAP_NET_RAW: try a capture that stops at once.
    let (code, _, err) = run(&["live", "-i", "lo", "-a", "duration:0.2"]);
    if code != 0 {
        return Err(format!(
            "live capture on lo not permitted here: {}",
            err.trim()
        ));
    }
    Ok(())
}

/// `mqscope live` on `lo`, capturing and decoding only the broker's `port`, its output piped;
/// each test adds its own flags.
fn live_on_lo(port: &str) -> Command {
    let mut command = mqscope_std();
    command
        .args(["live", "-i", "lo", "-f", &format!("tcp port {port}")])
        .args(["--mqtt-port", port])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command
}

#[test]
fn live_capture_on_lo_prints_packets_writes_a_copy_and_stops_on_sigint() {
    if let Err(why) = capture_permitted() {
        eprintln!("skipped: {why}");
        return;
    }
    let Some(broker) = Broker::start() else {
        panic!("mosquitto did not start (apt-get install mosquitto mosquitto-clients)");
    };
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let copy = dir.path().join("live.pcap");
    let port = broker.port.to_string();
    let mut child = live_on_lo(&port)
        .args(["-T", "jsonl"])
        .arg("-w")
        .arg(&copy)
        .spawn()
        .unwrap_or_else(|e| panic!("{e}"));
    let lines = line_channel(&mut child);
    // Publish until the capture has seen our PUBLISH (the first may race the capture start).
    let mut seen = Vec::new();
    'outer: for attempt in 0..20 {
        broker.publish("live/test", &format!("hello {attempt}"), "1");
        while let Ok(line) = lines.recv_timeout(Duration::from_millis(500)) {
            seen.push(line);
            if seen.iter().any(|l| l.contains("\"type\":\"PUBACK\"")) {
                break 'outer;
            }
        }
    }
    let rows = json_lines(&seen.join("\n"));
    assert!(
        rows.iter()
            .any(|r| r["type"] == "PUBLISH" && r["topic"] == "live/test" && r["qos"] == 1),
        "{seen:?}"
    );
    assert!(rows.iter().any(|r| r["type"] == "CONNECT"), "{seen:?}");
    // Ctrl-C.
    let pid = child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-INT", &pid])
            .status()
            .is_ok_and(|s| s.success())
    );
    let out = child.wait_with_output().unwrap_or_else(|e| panic!("{e}"));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(
        err.contains("mqscope: interrupted:") && err.contains("MQTT packets"),
        "{err}"
    );
    // The copy is complete and decodes to at least what was printed.
    let (code, replay, rerr) = run(&[
        "read",
        "-r",
        &copy.to_string_lossy(),
        "--mqtt-port",
        &port,
        "-T",
        "jsonl",
    ]);
    assert_eq!(code, 0, "{rerr}");
    let replay = json_lines(&replay);
    assert!(
        replay.len() >= rows.len(),
        "{} < {}",
        replay.len(),
        rows.len()
    );
    assert!(
        replay
            .iter()
            .any(|r| r["type"] == "PUBLISH" && r["topic"] == "live/test")
    );
}

#[test]
fn live_stops_after_the_duration_and_count() {
    if let Err(why) = capture_permitted() {
        eprintln!("skipped: {why}");
        return;
    }
    let Some(broker) = Broker::start() else {
        panic!("mosquitto did not start")
    };
    let port = broker.port.to_string();
    let mut child = live_on_lo(&port)
        .args(["-c", "2", "-a", "duration:30"])
        .spawn()
        .unwrap_or_else(|e| panic!("{e}"));
    let lines = line_channel(&mut child);
    let mut got = Vec::new();
    for _ in 0..20 {
        broker.publish("live/count", "x", "0");
        while let Ok(l) = lines.recv_timeout(Duration::from_millis(300)) {
            got.push(l);
        }
        if got.len() >= 2 {
            break;
        }
    }
    // -c 2: two packets printed, then the capture ends by itself (stops at the next frame).
    broker.publish("live/count", "y", "0");
    let out = child.wait_with_output().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(got.len(), 2, "{got:?}");
}
