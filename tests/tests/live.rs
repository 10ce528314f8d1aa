//! Live capture end to end: the `mqtt311-session` sample's scenario is played again against a
//! real mosquitto on loopback while `capture::Pipeline::run_live` captures it with libpcap. What
//! the live pipeline decodes must equal the sample's ground truth, tshark's decoding of the
//! capture's copy file, and our own offline decoding of that copy.

use std::collections::BTreeMap;
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use capture::{CaptureError, LiveOptions, LiveSource, Pipeline};
use mqscope_tests::captures::{self, Capture};
use mqscope_tests::ours::{self, RowCollector};
use mqscope_tests::rows;
use mqscope_tests::{assert_no_mismatch, compare, tshark};

/// A child process killed and reaped when the test ends, however it ends.
struct Reaped(Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A scratch directory under the system temp dir, removed when the test ends.
struct ScratchDir(std::path::PathBuf);

impl ScratchDir {
    fn new() -> ScratchDir {
        let path = std::env::temp_dir().join(format!("mqscope-live-{}", std::process::id()));
        std::fs::create_dir_all(&path).expect("scratch directory");
        ScratchDir(path)
    }
    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn installed(program: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

/// Runs a client to completion and insists it succeeded.
fn run(program: &str, args: &[&str]) {
    let status = Command::new(program)
        .args(args)
        .stdout(Stdio::null())
        .status()
        .unwrap_or_else(|e| panic!("{program}: {e}"));
    assert!(status.success(), "{program} {args:?}: {status}");
}

/// Plays the mqtt311-session scenario (as samples/record.sh does) against the broker on `port`.
fn play_mqtt311_session(port: u16, dir: &Path) {
    let port_s = port.to_string();
    let ready = dir.join("sub311.ready");
    let raw_client = captures::samples_dir().join("mqtt_raw.py");
    let sub = Command::new("python3")
        .arg(&raw_client)
        .args(["sub311", "--port", &port_s, "--count", "4", "--ready"])
        .arg(&ready)
        .stdout(Stdio::null())
        .spawn()
        .expect("start the raw subscriber");
    let mut sub = Reaped(sub);
    // Bounded wait for the subscription (ordering only, nothing is asserted about time).
    for _ in 0..200 {
        if ready.exists() {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(ready.exists(), "the raw subscriber never subscribed");
    let publish = |id: &str, topic: &str, qos: &str, retain: bool| {
        let mut args = vec!["-V", "mqttv311", "-h", "127.0.0.1", "-p", &port_s, "-i", id];
        args.extend(["-t", topic, "-m", "live message", "-q", qos]);
        if retain {
            args.push("-r");
        }
        run("mosquitto_pub", &args);
        std::thread::sleep(Duration::from_millis(200));
    };
    publish("pub311-q0", "test/qos0", "0", false);
    publish("pub311-q1", "test/qos1", "1", false);
    publish("pub311-q2", "test/qos2", "2", false);
    publish("pub311-ret", "test/retained", "1", true);
    let status = sub.0.wait().expect("raw subscriber");
    assert!(status.success(), "raw subscriber: {status}");
    run(
        "mosquitto_sub",
        &[
            "-V",
            "mqttv311",
            "-h",
            "127.0.0.1",
            "-p",
            &port_s,
            "-i",
            "late311",
            "-t",
            "test/retained",
            "-q",
            "1",
            "-C",
            "1",
        ],
    );
}

// Regression: the live source once lost frames on `lo` in every run (libpcap's 2 MB default
// ring holds only a few 256 KiB snaplen slots); this test asserts every frame arrives.
#[test]
fn live_capture_of_a_real_session_matches_ground_truth_tshark_and_offline_decoding() {
    for program in ["mosquitto", "mosquitto_pub", "mosquitto_sub", "python3"] {
        if !installed(program) {
            eprintln!(
                "SKIP: {program} is not installed (apt-get install mosquitto mosquitto-clients python3)"
            );
            return;
        }
    }
    if !tshark::available() {
        return;
    }
    let port = free_port();
    let dir = ScratchDir::new();
    let copy = dir.path().join("live.pcap");
    let stop = Arc::new(AtomicBool::new(false));
    let mut options = LiveOptions::new("lo");
    options.filter = Some(format!("tcp port {port}"));
    options.stop = Arc::clone(&stop);
    options.write_to = Some(copy.clone());
    options.duration = Some(Duration::from_secs(120)); // a safety net, not a timing assertion
    match LiveSource::open(&options) {
        Err(CaptureError::PermissionDenied { .. }) => {
            eprintln!("SKIP: live capture needs root or CAP_NET_RAW (CI runs as root)");
            return;
        }
        Err(e) => panic!("cannot capture on lo: {e}"),
        Ok(probe) => drop(probe),
    }

    let config = dir.path().join("mosquitto.conf");
    std::fs::write(
        &config,
        format!("listener {port} 127.0.0.1\nallow_anonymous true\n"),
    )
    .expect("broker configuration");
    let broker = Command::new("mosquitto")
        .arg("-c")
        .arg(&config)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start mosquitto");
    let _broker = Reaped(broker);
    // Wait for the broker before the capture starts, so these probes are not captured.
    let listening = (0..100).any(|_| {
        std::thread::sleep(Duration::from_millis(50));
        TcpStream::connect(("127.0.0.1", port)).is_ok()
    });
    assert!(listening, "mosquitto did not start on port {port}");

    let capture = Capture {
        name: "live.pcap".into(),
        path: copy.clone(),
        mqtt_port: port,
        websocket: false,
        tls_keylog: None,
    };
    let pipeline_config = ours::configured_for(&capture);
    let capturing = std::thread::spawn(move || {
        let mut sink = RowCollector::default();
        let result = Pipeline::new(pipeline_config).run_live(&options, &mut sink);
        (sink.rows, result)
    });
    std::thread::sleep(Duration::from_millis(1000)); // let libpcap open before the first SYN
    play_mqtt311_session(port, dir.path());
    std::thread::sleep(Duration::from_millis(500)); // the last FIN/ACK
    stop.store(true, Ordering::Relaxed);
    // Seen here (libpcap 1.10, immediate mode on `lo`): an idle read does not time out, so the
    // stop flag is only noticed when the next packet arrives. Nudge it with empty connections
    // (no MQTT in them) until the capture thread ends.
    for _ in 0..100 {
        if capturing.is_finished() {
            break;
        }
        drop(TcpStream::connect(("127.0.0.1", port)));
        std::thread::sleep(Duration::from_millis(100));
    }
    let (live, result) = capturing.join().expect("capture thread");
    result.expect("live capture");

    // Exactly the packets of the recorded sample, stream by stream and direction by direction.
    let sample = captures::sample("mqtt311-session");
    let mut want = BTreeMap::new();
    for s in &sample.expected.streams {
        for (dir, counts) in &s.packets {
            want.insert((s.stream, dir == "to_broker"), counts.clone());
        }
    }
    // tshark on the copy file, and our offline decoding of it.
    let theirs = tshark::mqtt_rows(&capture);
    let (offline, _) = ours::pipeline_rows(&capture, ours::configured_for(&capture));
    // Every check runs before any assertion, so a failure shows where the packets went.
    let checks = [
        (
            "copy file (tshark) vs the ground truth",
            rows::counts(&theirs) == want,
        ),
        (
            "offline decoding of the copy vs the ground truth",
            rows::counts(&offline) == want,
        ),
        (
            "live pipeline vs the ground truth",
            rows::counts(&live) == want,
        ),
    ];
    let failed: Vec<&str> = checks
        .iter()
        .filter(|(_, ok)| !ok)
        .map(|(what, _)| *what)
        .collect();
    let diff = compare(&live, &theirs, &[]);
    let listed: Vec<String> = diff.iter().map(|m| m.to_string()).collect();
    assert!(
        failed.is_empty() && diff.is_empty(),
        "failed: {failed:?}\nexpected {want:?}\ncopy (tshark) {:?}\nlive {:?}\nlive vs tshark on the copy:\n{}",
        rows::counts(&theirs),
        rows::counts(&live),
        listed.join("\n")
    );
    assert_no_mismatch("live vs offline", &compare(&live, &offline, &[]));
}
