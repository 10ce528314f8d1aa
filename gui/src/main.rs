//! `mqscope-gui [FILE]`: opens the desktop app, loading FILE when given.

use std::path::PathBuf;
use std::process::ExitCode;

const USAGE: &str = "usage: mqscope-gui [FILE]\n\nOpens the mqscope desktop app; FILE (pcap, pcapng, or gzipped) is loaded at start.";

fn main() -> ExitCode {
    let mut file: Option<PathBuf> = None;
    for arg in std::env::args_os().skip(1) {
        match arg.to_str() {
            Some("-h" | "--help") => {
                println!("{USAGE}");
                return ExitCode::SUCCESS;
            }
            Some("-V" | "--version") => {
                println!("mqscope-gui {}", env!("CARGO_PKG_VERSION"));
                return ExitCode::SUCCESS;
            }
            Some(s) if s.starts_with('-') => {
                eprintln!("mqscope-gui: unknown option {s}\n{USAGE}");
                return ExitCode::from(2);
            }
            _ if file.is_none() => file = Some(PathBuf::from(arg)),
            _ => {
                eprintln!("mqscope-gui: only one FILE can be opened\n{USAGE}");
                return ExitCode::from(2);
            }
        }
    }
    let options = eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default()
            .with_title("mqscope")
            .with_inner_size([1280.0, 860.0])
            .with_drag_and_drop(true),
        ..Default::default()
    };
    let result = eframe::run_native(
        "mqscope",
        options,
        Box::new(move |cc| Ok(Box::new(gui::MqscopeApp::from_creation_context(cc, file)))),
    );
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("mqscope-gui: {e}");
            ExitCode::FAILURE
        }
    }
}
