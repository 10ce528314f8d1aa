//! Measures what opening a capture in the GUI costs, without a window: the same loader thread,
//! analyzer (raw bytes kept only where they cannot be rebuilt from the file's frames) and packet
//! table the app uses, with the "UI" taking the trace lock every 16 ms as a 60 Hz frame would.
//!
//! `cargo run --release -p gui --example load_bench -- FILE` prints the time until the first
//! screenful of rows (50) is there, the full load time, the packet count, the time to select
//! the longest packet (its frames read back, its bytes rebuilt, its details tree built), the bytes
//! of raw MQTT the trace kept, and peak RSS.

use gui::app::document::Document;
use gui::app::loading::LoadJob;
use gui::app::sources;
use std::time::{Duration, Instant};

fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0)
}

fn main() {
    let Some(path) = std::env::args_os().nth(1).map(std::path::PathBuf::from) else {
        eprintln!("usage: load_bench FILE");
        std::process::exit(2);
    };
    let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    let started = Instant::now();
    let (shared, producer, frames) = sources::file(&path, false);
    let job = match LoadJob::spawn(std::sync::Arc::clone(&shared), producer, None) {
        Ok(j) => j,
        Err(e) => {
            eprintln!("load_bench: {e}");
            std::process::exit(1);
        }
    };
    let mut doc = Document::new(path.display().to_string(), shared, Some(job));
    doc.frames = frames;
    let mut first_screen = None;
    let mut frames = 0u64;
    while doc.is_loading() {
        doc.refresh();
        frames += 1;
        if first_screen.is_none() && doc.table.len() >= 50 {
            first_screen = Some(started.elapsed());
        }
        std::thread::sleep(Duration::from_millis(16));
    }
    doc.refresh();
    let total = started.elapsed();
    if let Some(e) = &doc.progress.error {
        eprintln!("load_bench: stopped early: {e}");
    }
    // The longest packet: the most frames to read back and bytes to rebuild.
    let longest = {
        let guard = doc.shared.lock_for_ui();
        let trace = guard.trace();
        (0..trace.packets.len() as u64).max_by_key(|&p| trace.packet(p).map(|r| r.packet_len()))
    };
    let selecting = Instant::now();
    doc.select_packet(longest);
    let shared = std::sync::Arc::clone(&doc.shared);
    let guard = shared.lock_for_ui();
    let trace = guard.trace();
    let fields = doc.detail_tree(trace, false).map_or(0, |t| t.roots.len());
    let select = selecting.elapsed();
    let mqtt_len = doc.packet_mqtt(trace).map_or(0, <[u8]>::len);
    let kept_raw = trace.raw_bytes.len();
    drop(guard);
    println!("file_bytes={size}");
    println!("packets={}", doc.total_packets);
    println!("rows={}", doc.table.len());
    println!(
        "first_screen_s={:.3}",
        first_screen.unwrap_or(total).as_secs_f64()
    );
    println!("load_s={:.3}", total.as_secs_f64());
    println!("ui_frames={frames}");
    println!(
        "select_longest_s={:.6} (tree roots {fields}, {mqtt_len} MQTT bytes)",
        select.as_secs_f64()
    );
    println!("raw_bytes_kept={kept_raw}");
    println!(
        "frame_index_bytes={}",
        gui::logic::frame_store::lock(&doc.frames).memory_bytes()
    );
    println!("peak_rss_kib={}", peak_rss_kib());
}
