//! The QoS & anomalies view: every exchange that did not complete (QoS 1/2 handshakes,
//! subscribe, ping, connect) and every anomaly; each row jumps to its packet.

use super::colors;
use crate::app::commands::Command;
use crate::app::state::View;
use crate::logic::qos::{self, QosSummary};
use dissector::model::Trace;
use egui_extras::{Column, TableBuilder};

/// The QoS & anomalies panel.
#[derive(Debug, Default)]
pub struct QosAnomaliesPanel;

impl QosAnomaliesPanel {
    /// Draws both tables.
    pub fn show(&mut self, ui: &mut egui::Ui, trace: &Trace, cmds: &mut Vec<Command>) {
        let dark = ui.visuals().dark_mode;
        let summary = QosSummary::of(trace);
        ui.heading("QoS completeness");
        ui.label(summary.text());
        let open = qos::unfinished(trace);
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
                        "State",
                    ] {
                        h.col(|ui| {
                            ui.strong(t);
                        });
                    }
                })
                .body(|body| {
                    body.rows(row_height, open.len(), |mut row| {
                        let Some(&ti) = open.get(row.index()) else {
                            return;
                        };
                        let Some(tx) = trace.transactions.get(ti) else {
                            return;
                        };
                        let cells = qos::transaction_cells(trace, tx);
                        for text in cells {
                            row.col(|ui| {
                                ui.add(
                                    egui::Label::new(
                                        egui::RichText::new(text).color(colors::warning(dark)),
                                    )
                                    .selectable(false)
                                    .truncate(),
                                );
                            });
                        }
                        if row.response().clicked()
                            && let Some(step) = tx.steps.first()
                        {
                            cmds.push(Command::SelectPacket(Some(step.packet)));
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
