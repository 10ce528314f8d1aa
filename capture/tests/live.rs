//! Live capture on `lo` with a real mosquitto broker and real clients.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use capture::{CaptureError, LiveOptions, Pipeline, PipelineConfig};

use crate::support::Recorder;

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn have(program: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

#[test]
fn live_capture_on_loopback_decodes_a_real_broker_and_clients() {
    if !have("mosquitto") || !have("mosquitto_pub") || !have("mosquitto_sub") {
        eprintln!("skipped: mosquitto and mosquitto-clients are not installed");
        return;
    }
    let port = free_port();
    let dir = tempfile::tempdir().expect("tempdir");
    let copy = dir.path().join("live.pcap");
    let stop = Arc::new(AtomicBool::new(false));
    let mut options = LiveOptions::new("lo");
    options.filter = Some(format!("tcp port {port}"));
    options.stop = Arc::clone(&stop);
    options.write_to = Some(copy.clone());
    options.duration = Some(Duration::from_secs(30)); // a safety net, not a timing assertion

    // Check that capture is permitted before starting anything else.
    match capture::LiveSource::open(&options) {
        Err(CaptureError::PermissionDenied { .. }) => {
            eprintln!("skipped: live capture needs root or CAP_NET_RAW (run as root in CI)");
            return;
        }
        Err(e) => panic!("cannot capture on lo: {e}"),
        Ok(probe) => drop(probe),
    }

    let _broker = Killed(
        Command::new("mosquitto")
            .args(["-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start mosquitto"),
    );
    let capture_thread = std::thread::spawn(move || {
        let mut rec = Recorder::default();
        let result = Pipeline::new(PipelineConfig::default()).run_live(&options, &mut rec);
        (rec, result)
    });
    // Wait until the broker accepts connections (bounded retries, no timing assertion).
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    eprintln!("live: broker up");
    let sub = Command::new("mosquitto_sub")
        .args([
            "-p",
            &port.to_string(),
            "-t",
            "mqscope/live",
            "-q",
            "1",
            "-C",
            "1",
            "-i",
            "live-sub",
            // A bound, so a broken broker cannot hang the test (not a timing assertion).
            "-W",
            "20",
        ])
        .stdout(Stdio::piped())
        .spawn()
        .expect("start mosquitto_sub");
    std::thread::sleep(Duration::from_millis(500));
    let pub_status = Command::new("mosquitto_pub")
        .args([
            "-p",
            &port.to_string(),
            "-t",
            "mqscope/live",
            "-q",
            "1",
            // Retained, so the subscriber gets it whether or not its SUBSCRIBE came first.
            "-r",
            "-m",
            "hello",
            "-i",
            "live-pub",
        ])
        .status()
        .expect("run mosquitto_pub");
    assert!(pub_status.success());
    eprintln!("live: published");
    let out = sub
        .wait_with_output()
        .expect("subscriber ends after one message");
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "hello");
    std::thread::sleep(Duration::from_millis(300));
    stop.store(true, Ordering::Relaxed);
    eprintln!("live: stopping capture");
    let (rec, result) = capture_thread.join().expect("capture thread");
    let (summary, _why) = result.expect("live capture");
    let types = rec.types();
    // Both clients connected and were acknowledged; the subscriber subscribed; the publisher's
    // QoS 1 PUBLISH was acknowledged and delivered to the subscriber, which acknowledged it.
    for (t, name, min) in [
        (1, "CONNECT", 2),
        (2, "CONNACK", 2),
        (8, "SUBSCRIBE", 1),
        (9, "SUBACK", 1),
        (3, "PUBLISH", 2),
        (4, "PUBACK", 2),
        // mosquitto_pub always sends DISCONNECT; mosquitto_sub -C 1 may just close.
        (14, "DISCONNECT", 1),
    ] {
        let n = types.iter().filter(|x| **x == t).count();
        assert!(n >= min, "{name}: {n} seen, types {types:?}");
    }
    assert_eq!(summary.mqtt_streams, 2);
    // The copy file holds every frame and decodes the same.
    let mut again = Recorder::default();
    Pipeline::new(PipelineConfig::default())
        .run_file(&copy, &mut again, None)
        .expect("copy file is complete");
    assert_eq!(again.types(), types);
}
