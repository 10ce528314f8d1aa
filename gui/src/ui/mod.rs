//! The panels, one per file. Each draws from the document and the trace it is given and pushes
//! [`Command`]s; none changes the app itself.

pub mod colors;
pub mod connections;
pub mod details;
pub mod export_dialog;
pub mod filter_bar;
pub mod hex_pane;
pub mod live_dialog;
pub mod menu_bar;
pub mod packet_list;
pub mod qos_anomalies;
pub mod sequence;
pub mod statistics;
pub mod status_bar;

use crate::app::MqscopeApp;
use crate::app::commands::Command;
use crate::app::state::View;
use std::sync::Arc;

/// Every panel's own widget state.
#[derive(Default)]
pub struct Panels {
    /// Display-filter bar.
    pub filter_bar: filter_bar::FilterBar,
    /// Packet list.
    pub packet_list: packet_list::PacketList,
    /// Details tree.
    pub details: details::DetailsPanel,
    /// Hex pane.
    pub hex: hex_pane::HexPane,
    /// Connections view.
    pub connections: connections::ConnectionsPanel,
    /// Sequence diagram.
    pub sequence: sequence::SequencePanel,
    /// QoS & anomalies view.
    pub qos: qos_anomalies::QosAnomaliesPanel,
    /// Statistics view.
    pub statistics: statistics::StatisticsPanel,
    /// Live capture dialog.
    pub live: live_dialog::LiveDialog,
    /// Export dialog.
    pub export: export_dialog::ExportDialog,
}

/// Draws the whole window for one frame.
pub fn draw(app: &mut MqscopeApp, ui: &mut egui::Ui) {
    let mut cmds: Vec<Command> = Vec::new();
    egui::Panel::top("menu_bar").show(ui, |ui| {
        menu_bar::show(ui, &app.state, app.doc.as_ref(), &mut cmds);
    });
    egui::Panel::top("filter_bar").show(ui, |ui| {
        ui.add_space(2.0);
        let applied = app
            .doc
            .as_ref()
            .map_or("", |d| d.filter.as_ref().map_or("", |f| f.as_str()));
        app.panels.filter_bar.show(ui, applied, &mut cmds);
        ui.horizontal(|ui| {
            for v in View::ALL {
                if ui
                    .selectable_label(app.state.view == v, v.label())
                    .clicked()
                {
                    cmds.push(Command::ShowView(v));
                }
            }
        });
        ui.add_space(2.0);
    });
    egui::Panel::bottom("status_bar").show(ui, |ui| {
        status_bar::show(ui, app.doc.as_ref(), &mut cmds);
    });
    let show_passwords = app.state.show_passwords;
    let time_format = app.state.time_format;
    let view = app.state.view;
    match &mut app.doc {
        None => {
            egui::CentralPanel::default_margins().show(ui, |ui| welcome(ui, &app.state, &mut cmds));
        }
        Some(doc) => {
            let shared = Arc::clone(&doc.shared);
            let guard = shared.lock_for_ui();
            let trace = guard.trace();
            match view {
                View::Packets => {
                    let tree = doc.detail_tree(trace, show_passwords).cloned();
                    let raw = doc.packet_mqtt(trace);
                    let selection = doc.selection();
                    let packet_bytes = doc.packet_bytes();
                    let hex = crate::logic::packet_bytes::hex_content(
                        packet_bytes,
                        doc.hex_view,
                        raw,
                        selection.as_ref(),
                    );
                    let note = packet_bytes.and_then(|b| b.note.as_deref());
                    let hex_view = doc.hex_view;
                    // A panel is as tall as its content: each pane fills its height even when
                    // it has little to show, so the three-pane layout stays put.
                    egui::Panel::bottom("hex_pane")
                        .resizable(true)
                        .default_size(170.0)
                        .min_size(90.0)
                        .show(ui, |ui| {
                            app.panels.hex.show(ui, &hex, hex_view, note, &mut cmds);
                            ui.allocate_space(ui.available_size());
                        });
                    egui::Panel::bottom("details_pane")
                        .resizable(true)
                        .default_size(260.0)
                        .min_size(120.0)
                        .show(ui, |ui| {
                            app.panels.details.show(
                                ui,
                                doc.selected_packet,
                                tree.as_ref(),
                                doc.selected_field.as_deref(),
                                raw,
                                &mut cmds,
                            );
                            ui.allocate_space(ui.available_size());
                        });
                    egui::CentralPanel::default_margins().show(ui, |ui| {
                        app.panels
                            .packet_list
                            .show(ui, doc, trace, time_format, &mut cmds);
                    });
                    doc.scroll_to_selection = false;
                }
                View::Connections => {
                    egui::CentralPanel::default_margins().show(ui, |ui| {
                        app.panels.connections.show(
                            ui,
                            trace,
                            doc.selected_connection,
                            doc.table.connection(),
                            &mut cmds,
                        );
                    });
                }
                View::Sequence => {
                    egui::CentralPanel::default_margins().show(ui, |ui| {
                        app.panels.sequence.show(
                            ui,
                            app.diagram.as_ref(),
                            doc.selected_packet,
                            &mut cmds,
                        );
                    });
                }
                View::QosAnomalies => {
                    egui::CentralPanel::default_margins().show(ui, |ui| {
                        app.panels.qos.show(ui, trace, &mut cmds);
                    });
                }
                View::Statistics => {
                    egui::CentralPanel::default_margins().show(ui, |ui| {
                        app.panels
                            .statistics
                            .show(ui, trace, doc.is_loading(), &mut cmds);
                    });
                }
            }
        }
    }
    app.panels.live.show(ui.ctx(), &mut cmds);
    app.panels.export.show(ui.ctx(), &mut cmds);
    if let Some(message) = app.error.clone() {
        let mut open = true;
        egui::Window::new("Problem")
            .collapsible(false)
            .open(&mut open)
            .show(ui.ctx(), |ui| {
                ui.label(message);
                if ui.button("OK").clicked() {
                    app.error = None;
                }
            });
        if !open {
            app.error = None;
        }
    }
    app.commands.extend(cmds);
}

fn welcome(ui: &mut egui::Ui, state: &crate::app::state::AppState, cmds: &mut Vec<Command>) {
    ui.vertical_centered(|ui| {
        ui.add_space(40.0);
        ui.heading("mqscope");
        ui.label(
            "MQTT traffic on the wire: open a capture, drop one on this window, or capture live.",
        );
        ui.add_space(12.0);
        if ui.button("Open a capture… (Ctrl+O)").clicked() {
            cmds.push(Command::OpenDialog);
        }
        if ui.button("Capture live…").clicked() {
            cmds.push(Command::ShowLiveDialog(true));
        }
        if !state.recent.is_empty() {
            ui.add_space(12.0);
            ui.strong("Recent files");
            for p in state.recent.iter() {
                if ui.link(p.display().to_string()).clicked() {
                    cmds.push(Command::Open(p.to_path_buf()));
                }
            }
        }
    });
}
