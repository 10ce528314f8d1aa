//! The live-capture dialog: interface list from libpcap, optional BPF filter, optional save
//! file; problems (permissions above all) are shown here, in the window, with what to do.

use crate::app::commands::{Command, LiveRequest};
use crate::app::sources;
use std::path::PathBuf;

/// The dialog's state.
#[derive(Debug, Default)]
pub struct LiveDialog {
    /// Shown?
    pub open: bool,
    /// Interfaces (name, description), or why they could not be listed.
    pub interfaces: Option<Result<Vec<(String, String)>, String>>,
    /// Chosen interface.
    pub interface: String,
    /// BPF filter.
    pub bpf: String,
    /// Save path ("" = do not save).
    pub save_to: String,
    /// Megabytes of frame bytes kept for the hex pane.
    pub keep_frames_mb: usize,
    /// The last problem starting a capture.
    pub problem: Option<String>,
}

impl LiveDialog {
    /// Lists the interfaces again.
    pub fn refresh_interfaces(&mut self) {
        let list = sources::interfaces();
        if self.interface.is_empty()
            && let Ok(l) = &list
        {
            // Loopback is where a local broker is; otherwise the first interface.
            self.interface = l
                .iter()
                .find(|(n, _)| n == "lo")
                .or_else(|| l.first())
                .map(|(n, _)| n.clone())
                .unwrap_or_default();
        }
        if self.bpf.is_empty() {
            self.bpf = "tcp port 1883 or tcp port 8883".into();
        }
        if self.keep_frames_mb == 0 {
            self.keep_frames_mb = crate::logic::frame_store::DEFAULT_KEEP_BYTES >> 20;
        }
        self.interfaces = Some(list);
    }

    /// Draws the dialog when open.
    pub fn show(&mut self, ctx: &egui::Context, cmds: &mut Vec<Command>) {
        if !self.open {
            return;
        }
        let mut open = self.open;
        egui::Window::new("Live capture")
            .open(&mut open)
            .collapsible(false)
            .show(ctx, |ui| {
                match &self.interfaces {
                    Some(Ok(list)) => {
                        egui::ComboBox::from_label("Interface")
                            .selected_text(self.interface.clone())
                            .show_ui(ui, |ui| {
                                for (name, desc) in list {
                                    let text = if desc.is_empty() {
                                        name.clone()
                                    } else {
                                        format!("{name} — {desc}")
                                    };
                                    ui.selectable_value(&mut self.interface, name.clone(), text);
                                }
                            });
                    }
                    Some(Err(e)) => {
                        ui.colored_label(ui.visuals().error_fg_color, e);
                    }
                    None => {
                        ui.label("Listing interfaces…");
                    }
                }
                ui.horizontal(|ui| {
                    let l = ui.label("Capture filter (BPF)");
                    ui.text_edit_singleline(&mut self.bpf).labelled_by(l.id);
                });
                ui.horizontal(|ui| {
                    let l = ui.label("Save frames to (pcap, optional)");
                    ui.text_edit_singleline(&mut self.save_to).labelled_by(l.id);
                });
                ui.horizontal(|ui| {
                    let l = ui.label("Keep frame bytes (MB, oldest dropped)");
                    ui.add(egui::DragValue::new(&mut self.keep_frames_mb).range(1..=65_536))
                        .labelled_by(l.id);
                });
                if let Some(p) = &self.problem {
                    ui.separator();
                    ui.colored_label(ui.visuals().error_fg_color, p);
                }
                ui.separator();
                ui.horizontal(|ui| {
                    let ready = !self.interface.is_empty();
                    if ui
                        .add_enabled(ready, egui::Button::new("Start capture"))
                        .clicked()
                    {
                        cmds.push(Command::StartLive(LiveRequest {
                            interface: self.interface.clone(),
                            bpf: self.bpf.trim().to_string(),
                            save_to: (!self.save_to.trim().is_empty())
                                .then(|| PathBuf::from(self.save_to.trim())),
                            keep_frames_mb: self.keep_frames_mb.max(1),
                        }));
                    }
                    if ui.button("Refresh interfaces").clicked() {
                        self.refresh_interfaces();
                    }
                });
            });
        self.open = open;
    }
}
