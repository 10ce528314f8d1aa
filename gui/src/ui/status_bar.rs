//! The status bar: loading progress with a cancel button, packet counts, messages.

use crate::app::commands::Command;
use crate::app::document::Document;

/// Accessible name of the cancel button.
pub const CANCEL_LABEL: &str = "Cancel loading";

/// Draws the status bar.
pub fn show(ui: &mut egui::Ui, doc: Option<&Document>, cmds: &mut Vec<Command>) {
    ui.horizontal(|ui| {
        let Some(doc) = doc else {
            ui.label("No capture open.");
            return;
        };
        let p = &doc.progress;
        if doc.is_loading() {
            let live = doc.source.starts_with("live:");
            if live {
                ui.spinner();
                ui.label(format!("Capturing: {} frames", p.frames));
                if ui.button("Stop capture").clicked() {
                    cmds.push(Command::StopLive);
                }
            } else {
                let bar = match p.fraction() {
                    Some(f) => egui::ProgressBar::new(f).show_percentage(),
                    None => egui::ProgressBar::new(0.0).animate(true),
                };
                ui.add(bar.desired_width(180.0));
                if ui.button(CANCEL_LABEL).clicked() {
                    cmds.push(Command::CancelLoad);
                }
            }
        } else if let Some(e) = &p.error {
            ui.colored_label(ui.visuals().error_fg_color, format!("Stopped: {e}"));
        } else if p.cancelled {
            ui.colored_label(
                ui.visuals().warn_fg_color,
                "Loading cancelled: showing what was read.",
            );
        } else {
            ui.label(format!("Loaded in {:.2} s", p.elapsed.as_secs_f64()));
        }
        ui.separator();
        ui.label(format!(
            "Packets: {} · Displayed: {}",
            doc.total_packets,
            doc.table.len()
        ));
        if let Some(status) = &doc.status {
            ui.separator();
            ui.label(status);
        }
    });
}
