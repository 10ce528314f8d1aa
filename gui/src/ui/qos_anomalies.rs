//! The QoS & anomalies view: every exchange that did not complete (QoS 1/2 handshakes,
//! subscribe, ping, connect) and every anomaly; each row jumps to its packet.

use super::colors;
use crate::app::commands::Command;
use crate::app::state::View;
use crate::logic::qos::{QosTable, packet_in_frame};
use dissector::model::Trace;
use egui_extras::{Column, TableBuilder};

/// The QoS & anomalies panel.
#[derive(Debug, Default)]
pub struct QosAnomaliesPanel {
    /// The report table and the packet count it was built at.
    table: Option<(usize, QosTable)>,
}

impl QosAnomaliesPanel {
    /// Draws both tables.
    pub fn show(&mut self, ui: &mut egui::Ui, trace: &Trace, cmds: &mut Vec<Command>) {
        let dark = ui.visuals().dark_mode;
        // The report is rebuilt only when the trace grew.
        let stale = self
            .table
            .as_ref()
            .is_none_or(|(n, _)| *n != trace.packets.len());
        if stale {
            self.table = Some((trace.packets.len(), QosTable::of(trace)));
        }
        let Some((_, table)) = &self.table else {
            return;
        };
        ui.heading("QoS completeness");
        ui.label(&table.summary);
        let row_height = ui.text_style_height(&egui::TextStyle::Body) + 4.0;
        let half = (ui.available_height() / 2.0 - 40.0).max(80.0);
        ui.push_id("tx_table", |ui| {
            TableBuilder::new(ui)
                .id_salt("unfinished")
                .striped(true)
                .resizable(true)
                .sense(egui::Sense::click())
                .max_scroll_height(half)
                .auto_shrink([false, true])
                .columns(Column::auto().at_least(50.0).clip(true), 7)
                .column(Column::remainder())
                .header(row_height, |mut h| {
                    for t in [
                        "Stream",
                        "Client ID",
                        "Kind",
                        "Packet ID",
                        "Topic",
                        "Seen",
                        "Missing",
                        "Ended by",
                    ] {
                        h.col(|ui| {
                            ui.strong(t);
                        });
                    }
                })
                .body(|body| {
                    body.rows(row_height, table.rows.len(), |mut row| {
                        let Some(r) = table.rows.get(row.index()) else {
                            return;
                        };
                        let color = if r.failed {
                            colors::severity_color(dissector::model::Severity::Note, dark)
                        } else {
                            colors::warning(dark)
                        };
                        for text in &r.cells {
                            row.col(|ui| {
                                ui.add(
                                    egui::Label::new(egui::RichText::new(text).color(color))
                                        .selectable(false)
                                        .truncate(),
                                );
                            });
                        }
                        if row.response().on_hover_text(&r.description).clicked()
                            && let Some((stream, frame)) = r.jump
                            && let Some(p) = packet_in_frame(trace, stream, frame)
                        {
                            cmds.push(Command::SelectPacket(Some(p)));
                            cmds.push(Command::ShowView(View::Packets));
                        }
                    });
                });
        });
        ui.separator();
        let (e, w, n) = trace.anomaly_counts();
        ui.heading("Anomalies");
        ui.label(format!("{e} errors, {w} warnings, {n} notes"));
        ui.push_id("anomaly_table", |ui| {
            TableBuilder::new(ui)
                .id_salt("anomalies")
                .striped(true)
                .resizable(true)
                .sense(egui::Sense::click())
                .auto_shrink([false, false])
                .columns(Column::auto().at_least(50.0).clip(true), 4)
                .column(Column::remainder())
                .header(row_height, |mut h| {
                    for t in ["Severity", "Code", "Frame", "Stream", "Message"] {
                        h.col(|ui| {
                            ui.strong(t);
                        });
                    }
                })
                .body(|body| {
                    body.rows(row_height, trace.anomalies.len(), |mut row| {
                        let Some(a) = trace.anomalies.get(row.index()) else {
                            return;
                        };
                        let stream = a
                            .conn
                            .and_then(|c| trace.connection(c as usize))
                            .map_or(String::new(), |c| c.stream.to_string());
                        let color = colors::severity_color(a.severity, dark);
                        let cells = [
                            a.severity.to_string(),
                            a.code.code().to_string(),
                            a.frame.to_string(),
                            stream,
                            a.message.clone(),
                        ];
                        for text in cells {
                            row.col(|ui| {
                                ui.add(
                                    egui::Label::new(egui::RichText::new(text).color(color))
                                        .selectable(false)
                                        .truncate(),
                                );
                            });
                        }
                        let r = row.response().on_hover_text(format!(
                            "{} ({})",
                            a.code.title(),
                            a.code.spec_section()
                        ));
                        if r.clicked()
                            && let Some(p) = a.packet
                        {
                            cmds.push(Command::SelectPacket(Some(p)));
                            cmds.push(Command::ShowView(View::Packets));
                        }
                    });
                });
        });
    }
}
