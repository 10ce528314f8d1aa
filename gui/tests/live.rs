//! Live capture through the GUI with real components: libpcap on `lo`, a real `mosquitto`
//! broker and a real `mosquitto_pub` client. As root the packets must appear in the list and
//! the saved pcap must hold the frames; as any other user the dialog must say, in the window,
//! why capturing is refused and what to do.

use crate::common::harness_with;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use gui::MqscopeApp;
use std::process::{Command, Stdio};
use std::time::Duration;

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// The app with its live-capture dialog open (from the welcome screen's button; the File
/// menu has the same item) and the capture filter set to TCP port `port`.
fn live_dialog_for_port(port: u16) -> Harness<'static, MqscopeApp> {
    let mut h = harness_with(None);
    h.run_steps(2);
    h.get_by_label("Capture live…").click();
    h.run_steps(5);
    replace_text(&mut h, "Capture filter (BPF)", &format!("tcp port {port}"));
    h
}

fn replace_text(h: &mut Harness<'_, MqscopeApp>, label: &str, text: &str) {
    h.get_by_label(label).click();
    h.run_steps(2);
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    h.run_steps(1);
    h.get_by_label(label).type_text(text);
    h.run_steps(2);
}

struct Reaper(std::process::Child);

impl Drop for Reaper {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn live_capture_shows_packets_as_they_arrive_and_saves_the_frames() {
    let dir = tempfile::tempdir().expect("tempdir");
    let saved = dir.path().join("live.pcap");
    let port = free_port();
    let mut h = live_dialog_for_port(port);
    replace_text(
        &mut h,
        "Save frames to (pcap, optional)",
        &saved.display().to_string(),
    );
    assert_eq!(
        h.state().panels.live.interface,
        "lo",
        "loopback is preselected"
    );

    if !is_root() {
        h.get_by_label("Start capture").click();
        h.run_steps(3);
        h.get_by_label_contains("setcap");
        return;
    }

    let _broker = Reaper(
        Command::new("mosquitto")
            .args(["-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("mosquitto starts (apt install mosquitto)"),
    );
    let mut up = false;
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            up = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(up, "mosquitto did not start on port {port}");

    h.get_by_label("Start capture").click();
    h.run_steps(3);
    assert!(
        h.state().is_loading(),
        "capture running; problem: {:?}",
        h.state().panels.live.problem
    );
    let status = Command::new("mosquitto_pub")
        .args([
            "-p",
            &port.to_string(),
            "-t",
            "gui/live",
            "-m",
            "hello",
            "-q",
            "1",
            "-i",
            "gui-live",
        ])
        .status()
        .expect("mosquitto_pub runs");
    assert!(status.success());
    // CONNECT, CONNACK, PUBLISH, PUBACK, DISCONNECT arrive while the capture runs.
    let mut seen = 0;
    for _ in 0..2000 {
        h.step();
        seen = h.state().doc.as_ref().map_or(0, |d| d.total_packets);
        if seen >= 5 {
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    assert!(seen >= 5, "only {seen} packets appeared");
    h.get_by_label_contains("CONNECT \"gui-live\"");
    // A live packet's frame is kept in memory: its details show the lower layers (lo is
    // Ethernet on Linux) and the hex pane a tab for the frame.
    h.state_mut()
        .push(gui::app::commands::Command::SelectPacket(Some(0)));
    h.run_steps(3);
    h.get_by_label_contains("Ethernet II, Src: 00:00:00:00:00:00");
    h.get_by_label_contains(&format!("Dst Port: {port}"));

    h.get_by_label("Stop capture").click();
    for _ in 0..2000 {
        h.step();
        if !h.state().is_loading() {
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    assert!(!h.state().is_loading(), "the capture stopped");
    let bytes = std::fs::read(&saved).expect("the frames were saved");
    // pcap global header (24 bytes) plus at least the MQTT exchange's frames.
    assert!(bytes.len() > 24 + 5 * 60, "{} bytes saved", bytes.len());
    assert_eq!(
        &bytes[..4],
        &[0xd4, 0xc3, 0xb2, 0xa1],
        "a little-endian pcap file"
    );
}

/// Stop must end a capture that sees no traffic at all: a capture blocked in libpcap waiting
/// for a frame would never notice the flag. The bound below only guards against a hang.
#[test]
fn stopping_an_idle_live_capture_ends_its_thread() {
    if !is_root() {
        eprintln!("skipped: capturing on lo needs root (or CAP_NET_RAW)");
        return;
    }
    let port = free_port();
    // Nothing listens on this port: not a single frame matches.
    let mut h = live_dialog_for_port(port);
    h.get_by_label("Start capture").click();
    h.run_steps(3);
    assert!(
        h.state().is_loading(),
        "capture running; problem: {:?}",
        h.state().panels.live.problem
    );
    h.get_by_label("Stop capture").click();
    let guard = std::time::Instant::now();
    while h.state().is_loading() {
        assert!(
            guard.elapsed() < Duration::from_secs(60),
            "the capture thread did not end after Stop"
        );
        h.step();
        std::thread::sleep(Duration::from_millis(5));
    }
    let doc = h
        .state()
        .doc
        .as_ref()
        .expect("the capture's document stays open");
    assert!(doc.progress.done && doc.progress.cancelled);
    assert_eq!(doc.progress.frames, 0);
}
