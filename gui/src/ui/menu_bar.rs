//! The menu bar: File (open, recent, live capture, export, close), View (time format, theme,
//! passwords).

use crate::app::commands::{Command, ExportFormat, ExportTarget};
use crate::app::document::Document;
use crate::app::state::{AppState, ThemeChoice};
use crate::logic::time_format::TimeFormat;

/// Draws the menu bar.
pub fn show(ui: &mut egui::Ui, state: &AppState, doc: Option<&Document>, cmds: &mut Vec<Command>) {
    egui::MenuBar::new().ui(ui, |ui| {
        ui.menu_button("File", |ui| {
            if ui.button("Open… (Ctrl+O)").clicked() {
                cmds.push(Command::OpenDialog);
            }
            ui.menu_button("Open recent", |ui| {
                if state.recent.is_empty() {
                    ui.weak("No recent files");
                }
                for p in state.recent.iter() {
                    if ui.button(p.display().to_string()).clicked() {
                        cmds.push(Command::Open(p.to_path_buf()));
                    }
                }
            });
            if ui.button("Capture live…").clicked() {
                cmds.push(Command::ShowLiveDialog(true));
            }
            ui.separator();
            ui.add_enabled_ui(doc.is_some(), |ui| {
                if ui.button("Export packets as CSV…").clicked() {
                    cmds.push(Command::ExportDialog(ExportTarget::Packets(
                        ExportFormat::Csv,
                    )));
                }
                if ui.button("Export packets as Parquet…").clicked() {
                    cmds.push(Command::ExportDialog(ExportTarget::Packets(
                        ExportFormat::Parquet,
                    )));
                }
                if ui.button("Export sequence diagram as SVG…").clicked() {
                    cmds.push(Command::ExportDialog(ExportTarget::DiagramSvg));
                }
                ui.separator();
                if ui.button("Close capture").clicked() {
                    cmds.push(Command::Close);
                }
            });
            ui.separator();
            if ui.button("Quit (Ctrl+Q)").clicked() {
                cmds.push(Command::Quit);
            }
        });
        ui.menu_button("View", |ui| {
            ui.label("Time column");
            for f in TimeFormat::ALL {
                if ui.radio(state.time_format == f, f.label()).clicked() {
                    cmds.push(Command::SetTimeFormat(f));
                }
            }
            ui.separator();
            for t in ThemeChoice::ALL {
                if ui.radio(state.theme == t, t.label()).clicked() {
                    cmds.push(Command::SetTheme(t));
                }
            }
            ui.separator();
            let mut show = state.show_passwords;
            if ui.checkbox(&mut show, "Show CONNECT passwords").changed() {
                cmds.push(Command::SetShowPasswords(show));
            }
        });
        if let Some(doc) = doc {
            ui.separator();
            ui.label(egui::RichText::new(&doc.source).weak());
        }
    });
}
