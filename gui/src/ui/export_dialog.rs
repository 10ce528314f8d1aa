//! The export dialog: where to write the current (filtered) packet table (CSV or Parquet) or
//! the sequence diagram (SVG). A path field (with a Browse… file dialog) and an Export button.

use crate::app::commands::{Command, ExportFormat, ExportTarget};
use std::path::PathBuf;

/// Accessible name of the path field.
pub const PATH_LABEL: &str = "Export to file";

/// The dialog's state.
#[derive(Debug, Default)]
pub struct ExportDialog {
    /// What to export, while open.
    pub target: Option<ExportTarget>,
    /// Destination path.
    pub path: String,
}

impl ExportDialog {
    /// Opens the dialog for `target` with a suggested path.
    pub fn open(&mut self, target: ExportTarget, suggested: PathBuf) {
        self.target = Some(target);
        self.path = suggested.display().to_string();
    }

    /// Draws the dialog when open.
    pub fn show(&mut self, ctx: &egui::Context, cmds: &mut Vec<Command>) {
        let Some(target) = self.target else { return };
        let title = match target {
            ExportTarget::Packets(ExportFormat::Csv) => "Export packets (CSV)",
            ExportTarget::Packets(ExportFormat::Parquet) => "Export packets (Parquet)",
            ExportTarget::DiagramSvg => "Export sequence diagram (SVG)",
        };
        let mut open = true;
        let mut done = false;
        egui::Window::new(title).open(&mut open).collapsible(false).show(ctx, |ui| {
            if let ExportTarget::Packets(_) = target {
                ui.label("Writes the rows the packet list shows (display and connection filters applied).");
            }
            ui.horizontal(|ui| {
                let l = ui.label(PATH_LABEL);
                ui.add(egui::TextEdit::singleline(&mut self.path).desired_width(360.0)).labelled_by(l.id);
                if ui.button("Browse…").clicked() {
                    let ext = match target {
                        ExportTarget::Packets(f) => f.extension(),
                        ExportTarget::DiagramSvg => "svg",
                    };
                    if let Some(p) = rfd::FileDialog::new().add_filter(ext, &[ext]).set_file_name(self.path.clone()).save_file() {
                        self.path = p.display().to_string();
                    }
                }
            });
            ui.horizontal(|ui| {
                if ui.add_enabled(!self.path.trim().is_empty(), egui::Button::new("Export")).clicked() {
                    let path = PathBuf::from(self.path.trim());
                    cmds.push(match target {
                        ExportTarget::Packets(f) => Command::ExportPackets(f, path),
                        ExportTarget::DiagramSvg => Command::ExportDiagramSvg(path),
                    });
                    done = true;
                }
                if ui.button("Cancel").clicked() {
                    done = true;
                }
            });
        });
        if !open || done {
            self.target = None;
        }
    }
}
