//! The one place where commands change the app.

use super::MqscopeApp;
use super::commands::{Command, ExportFormat, ExportTarget};
use super::document::Document;
use super::loading::LoadJob;
use super::sources;
use super::state::View;
use std::path::{Path, PathBuf};

impl MqscopeApp {
    /// Applies every queued command, in order.
    pub fn handle_commands(&mut self) {
        // Commands may queue more commands (e.g. a dialog result); bound the rounds.
        for _ in 0..8 {
            if self.commands.is_empty() {
                break;
            }
            let commands = std::mem::take(&mut self.commands);
            for c in commands {
                self.handle(c);
            }
        }
    }

    fn handle(&mut self, command: Command) {
        match command {
            Command::OpenDialog => self.spawn_open_dialog(),
            Command::Open(path) => self.open_file(&path),
            Command::CancelLoad => {
                if let Some(job) = self.doc.as_ref().and_then(|d| d.job.as_ref()) {
                    job.cancel();
                }
            }
            Command::Close => {
                self.doc = None;
                self.diagram = None;
            }
            Command::SelectPacket(p) => {
                if let Some(doc) = &mut self.doc {
                    doc.select_packet(p);
                    doc.scroll_to_selection = true;
                }
            }
            Command::SelectField(path) => {
                if let Some(doc) = &mut self.doc {
                    doc.select_field(path);
                }
            }
            Command::SelectByte(view, b) => {
                if let Some(doc) = &mut self.doc {
                    doc.select_byte(view, b);
                }
            }
            Command::ShowBytes(view) => {
                if let Some(doc) = &mut self.doc {
                    doc.hex_view = view;
                }
            }
            Command::StepSelection(delta) => {
                if let Some(doc) = &mut self.doc {
                    let next = doc.table.step_selection(doc.selected_packet, delta);
                    doc.select_packet(next);
                    doc.scroll_to_selection = true;
                }
            }
            Command::ApplyFilter(text) => {
                if let Some(doc) = &mut self.doc {
                    doc.apply_filter(&text);
                    self.panels.filter_bar.error = doc.filter_error.clone();
                }
                self.panels.filter_bar.text = text;
            }
            Command::SortBy(column) => {
                if let Some(doc) = &mut self.doc {
                    doc.table.toggle_sort(column);
                    doc.refresh();
                }
            }
            Command::FilterConnection(conn) => {
                if let Some(doc) = &mut self.doc {
                    doc.table.set_connection(conn);
                    doc.refresh();
                }
            }
            Command::SelectConnection(conn) => {
                if let Some(doc) = &mut self.doc {
                    doc.selected_connection = conn;
                }
            }
            Command::SetTimeFormat(f) => self.state.time_format = f,
            Command::SetTheme(t) => self.state.theme = t,
            Command::ShowView(v) => self.state.view = v,
            Command::ExportPackets(format, path) => self.export_packets(format, &path),
            Command::ExportDiagramSvg(path) => self.export_diagram(&path),
            Command::ExportDialog(target) => self
                .panels
                .export
                .open(target, self.default_export_path(target)),
            Command::ShowLiveDialog(open) => {
                self.panels.live.open = open;
                if open {
                    self.panels.live.refresh_interfaces();
                }
            }
            Command::StartLive(req) => self.start_live(req),
            Command::StopLive => {
                if let Some(job) = self.doc.as_ref().and_then(|d| d.job.as_ref()) {
                    job.cancel();
                }
            }
            Command::FocusFilter => self.panels.filter_bar.focus_next_frame = true,
            Command::Quit => {
                if let Some(ctx) = &self.ctx {
                    ctx.send_viewport_cmd(egui::ViewportCommand::Close);
                }
            }
            Command::SetShowPasswords(show) => {
                self.state.show_passwords = show;
                if let Some(doc) = &mut self.doc {
                    doc.invalidate_detail();
                }
            }
        }
    }

    /// Opens a capture file: a loader thread starts filling a new document.
    pub fn open_file(&mut self, path: &Path) {
        if !path.is_file() {
            self.error = Some(format!("Cannot open {}: no such file.", path.display()));
            self.state.recent.remove(path);
            return;
        }
        let (shared, producer, frames) = sources::file(path, self.state.show_passwords);
        let wake = self
            .ctx
            .clone()
            .map(|ctx| Box::new(move || ctx.request_repaint()) as Box<dyn Fn() + Send>);
        match LoadJob::spawn(std::sync::Arc::clone(&shared), producer, wake) {
            Ok(job) => {
                let mut doc = Document::new(path.display().to_string(), shared, Some(job));
                doc.frames = frames;
                self.doc = Some(doc);
                self.diagram = None;
                self.state.recent.push(path);
                // Keep the filter the user had typed: apply it to the new capture.
                let text = self.panels.filter_bar.text.clone();
                if !text.trim().is_empty()
                    && let Some(doc) = &mut self.doc
                {
                    doc.apply_filter(&text);
                }
            }
            Err(e) => self.error = Some(format!("Cannot start loading {}: {e}", path.display())),
        }
    }

    fn start_live(&mut self, req: super::commands::LiveRequest) {
        match sources::live(&req, self.state.show_passwords) {
            Ok((shared, producer, stop, frames)) => {
                let wake = self
                    .ctx
                    .clone()
                    .map(|ctx| Box::new(move || ctx.request_repaint()) as Box<dyn Fn() + Send>);
                match LoadJob::spawn_with_cancel(
                    std::sync::Arc::clone(&shared),
                    producer,
                    wake,
                    stop,
                ) {
                    Ok(job) => {
                        let mut doc =
                            Document::new(format!("live: {}", req.interface), shared, Some(job));
                        doc.frames = frames;
                        self.doc = Some(doc);
                        self.diagram = None;
                        self.panels.live.open = false;
                        self.panels.live.problem = None;
                    }
                    Err(e) => {
                        self.panels.live.problem =
                            Some(format!("Cannot start the capture thread: {e}"))
                    }
                }
            }
            // Shown in the dialog, with what to do about it.
            Err(problem) => self.panels.live.problem = Some(problem),
        }
    }

    fn spawn_open_dialog(&self) {
        let tx = self.async_tx.clone();
        let ctx = self.ctx.clone();
        // rfd blocks until the dialog closes: run it off the UI thread.
        let _ = std::thread::Builder::new()
            .name("open-dialog".into())
            .spawn(move || {
                let picked = rfd::FileDialog::new()
                    .set_title("Open a capture")
                    .add_filter("Captures", &["pcap", "pcapng", "cap", "gz"])
                    .add_filter("All files", &["*"])
                    .pick_file();
                if let Some(path) = picked {
                    let _ = tx.send(Command::Open(path));
                    if let Some(ctx) = ctx {
                        ctx.request_repaint();
                    }
                }
            });
    }

    fn default_export_path(&self, target: ExportTarget) -> PathBuf {
        let stem = self
            .doc
            .as_ref()
            .and_then(|d| {
                Path::new(&d.source)
                    .file_stem()
                    .map(|s| s.to_string_lossy().into_owned())
            })
            .unwrap_or_else(|| "mqscope".into());
        let name = match target {
            ExportTarget::Packets(f) => format!("{stem}-packets.{}", f.extension()),
            ExportTarget::DiagramSvg => format!("{stem}-sequence.svg"),
        };
        std::env::current_dir().unwrap_or_default().join(name)
    }

    fn export_packets(&mut self, format: ExportFormat, path: &Path) {
        let Some(doc) = &mut self.doc else { return };
        let shared = std::sync::Arc::clone(&doc.shared);
        let guard = shared.lock_for_ui();
        let trace = guard.trace();
        let stream = doc
            .table
            .connection()
            .and_then(|c| trace.connection(c as usize))
            .map(|c| c.stream);
        let result = sources::table_filter(doc.filter.as_ref(), stream)
            .and_then(|filter| sources::export_packets(trace, filter.as_ref(), format, path));
        drop(guard);
        match result {
            Ok((written, n)) => {
                doc.status = Some(format!("Exported {n} packets to {}", written.display()))
            }
            Err(e) => self.error = Some(format!("Export to {} failed: {e}", path.display())),
        }
    }

    fn export_diagram(&mut self, path: &Path) {
        let Some(view) = &self.diagram else {
            self.error =
                Some("Select a connection first: there is no sequence diagram to export.".into());
            return;
        };
        let svg = dissector::diagram::svg::render(&view.diagram);
        match dissector::export::write_file_atomically(path, svg.as_bytes()) {
            Ok(()) => {
                if let Some(doc) = &mut self.doc {
                    doc.status = Some(format!("Saved the sequence diagram to {}", path.display()));
                }
            }
            Err(e) => self.error = Some(format!("Saving {} failed: {e}", path.display())),
        }
        self.state.view = View::Sequence;
    }
}
