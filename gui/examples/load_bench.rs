//! Measures what opening a capture in the GUI costs, without a window: the same loader thread,
//! analyzer (raw bytes kept for the hex pane) and packet table the app uses, with the "UI"
//! taking the trace lock every 16 ms as a 60 Hz frame would.
//!
//! `cargo run --release -p gui --example load_bench -- FILE` prints the time until the first
//! screenful of rows (50) is there, the full load time, the packet count, and peak RSS.

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
        "frame_index_bytes={}",
        gui::logic::frame_store::lock(&doc.frames).memory_bytes()
    );
    println!("peak_rss_kib={}", peak_rss_kib());
}
