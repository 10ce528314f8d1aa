//! The connections view: one row per MQTT connection (as `mqscope flows`); clicking a row
//! selects the connection (for the sequence diagram) and filters the packet list to it.

use super::colors;
use crate::app::commands::Command;
use crate::logic::time_format::{format_duration, format_seconds};
use dissector::model::Trace;
use egui_extras::{Column, TableBuilder};

/// The connections panel.
#[derive(Debug, Default)]
pub struct ConnectionsPanel;

const HEADERS: [&str; 12] = [
    "Stream",
    "Client",
    "Broker",
    "Client ID",
    "Version",
    "Keep alive",
    "Packets c→b/b→c",
    "Bytes c→b/b→c",
    "Start",
    "Duration",
    "Closed by",
    "Anomalies",
];

impl ConnectionsPanel {
    /// Draws the table. `selected` is the selected connection, `filtered` the one the packet
    /// list is restricted to.
    pub fn show(
        &mut self,
        ui: &mut egui::Ui,
        trace: &Trace,
        selected: Option<u32>,
        filtered: Option<u32>,
        cmds: &mut Vec<Command>,
    ) {
        let dark = ui.visuals().dark_mode;
        ui.horizontal(|ui| {
            ui.label(format!("{} connections", trace.connections.len()));
            if filtered.is_some()
                && ui
                    .button("Show all packets")
                    .on_hover_text("Lift the connection filter")
                    .clicked()
            {
                cmds.push(Command::FilterConnection(None));
            }
        });
        let first = trace.totals.first_ts.unwrap_or_default();
        let until = trace.totals.last_ts.unwrap_or_default();
        let row_height = ui.text_style_height(&egui::TextStyle::Body) + 4.0;
        let mut builder = TableBuilder::new(ui)
            .id_salt("connections")
            .striped(true)
            .resizable(true)
            .sense(egui::Sense::click())
            .auto_shrink([false, false]);
        for (i, _) in HEADERS.iter().enumerate() {
            builder = builder.column(if i + 1 == HEADERS.len() {
                Column::remainder().at_least(60.0)
            } else {
                Column::auto().at_least(40.0).clip(true)
            });
        }
        builder
            .header(row_height, |mut h| {
                for title in HEADERS {
                    h.col(|ui| {
                        ui.strong(title);
                    });
                }
            })
            .body(|body| {
                body.rows(row_height, trace.connections.len(), |mut row| {
                    let i = row.index();
                    let Some(c) = trace.connections.get(i) else {
                        return;
                    };
                    let idx = i as u32;
                    row.set_selected(selected == Some(idx));
                    let closed = c
                        .closed_by
                        .map_or_else(|| "open".to_string(), |b| b.as_str().to_string());
                    let cells = [
                        c.stream.to_string(),
                        c.client.to_string(),
                        c.broker.to_string(),
                        trace.client_id_of(i).to_string(),
                        c.version.map_or("?", |v| v.name()).to_string(),
                        c.keep_alive.map_or(String::new(), |k| format!("{k} s")),
                        format!("{}/{}", c.to_broker.packets, c.to_client.packets),
                        format!("{}/{}", c.to_broker.bytes, c.to_client.bytes),
                        format_seconds(c.opened_ts.nanos_since(first)),
                        format_duration(c.duration_nanos(until)),
                        closed,
                        c.anomaly_count.to_string(),
                    ];
                    for (col, text) in cells.into_iter().enumerate() {
                        row.col(|ui| {
                            let mut rt = egui::RichText::new(text);
                            if col + 1 == HEADERS.len() && c.anomaly_count > 0 {
                                rt = rt.color(colors::warning(dark));
                            }
                            ui.add(egui::Label::new(rt).selectable(false).truncate());
                        });
                    }
                    if row.response().clicked() {
                        cmds.push(Command::SelectConnection(Some(idx)));
                        cmds.push(Command::FilterConnection(Some(idx)));
                    }
                });
            });
    }
}
