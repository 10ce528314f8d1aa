//! The packet list (Wireshark's top pane): a virtualised table, so only the visible rows are
//! laid out and a million-row capture scrolls like a small one.

use super::colors;
use crate::app::commands::Command;
use crate::app::document::Document;
use crate::logic::packet_table::{self, Column, SortOrder};
use crate::logic::time_format::TimeFormat;
use dissector::model::Trace;
use egui_extras::{Column as TableColumn, TableBuilder};

/// The packet list panel.
#[derive(Debug, Default)]
pub struct PacketList;

impl PacketList {
    /// Draws the table; clicks become [`Command::SelectPacket`], header clicks [`Command::SortBy`].
    pub fn show(
        &mut self,
        ui: &mut egui::Ui,
        doc: &Document,
        trace: &Trace,
        time: TimeFormat,
        cmds: &mut Vec<Command>,
    ) {
        let dark = ui.visuals().dark_mode;
        let row_height = ui.text_style_height(&egui::TextStyle::Body) + 4.0;
        let first_ts = trace
            .totals
            .first_ts
            .or_else(|| trace.packets.first().map(|p| p.ts))
            .unwrap_or_default();
        let mut builder = TableBuilder::new(ui)
            .id_salt("packet_list")
            .striped(false)
            .resizable(true)
            .sense(egui::Sense::click())
            .auto_shrink([false, false])
            .cell_layout(egui::Layout::left_to_right(egui::Align::Center));
        for c in Column::ALL {
            let col = if c == Column::Info {
                TableColumn::remainder().at_least(120.0)
            } else {
                TableColumn::initial(c.initial_width())
                    .at_least(24.0)
                    .clip(true)
            };
            builder = builder.column(col);
        }
        if doc.scroll_to_selection
            && let Some(row) = doc.selected_packet.and_then(|p| doc.table.row_of(p))
        {
            builder = builder.scroll_to_row(row, None);
        }
        let sort = doc.table.sort();
        builder
            .header(row_height + 2.0, |mut header| {
                for c in Column::ALL {
                    header.col(|ui| {
                        let arrow = match sort {
                            Some((s, SortOrder::Ascending)) if s == c => " ▲",
                            Some((s, SortOrder::Descending)) if s == c => " ▼",
                            _ => "",
                        };
                        let title = if c == Column::Time {
                            format!("Time ({})", time.label())
                        } else {
                            c.title().to_string()
                        };
                        let r = ui.add(
                            egui::Button::new(
                                egui::RichText::new(format!("{title}{arrow}")).strong(),
                            )
                            .frame(false),
                        );
                        if r.on_hover_text(format!("Sort by {}", c.title())).clicked() {
                            cmds.push(Command::SortBy(c));
                        }
                    });
                }
            })
            .body(|body| {
                let rows = doc.table.rows();
                body.rows(row_height, rows.len(), |mut row| {
                    let i = row.index();
                    let Some(&packet) = rows.get(i) else { return };
                    let Some(rec) = trace.packet(packet) else {
                        return;
                    };
                    row.set_selected(doc.selected_packet == Some(packet));
                    let tint = colors::row_tint(rec.packet_type, dark);
                    let anomalous = rec.has_anomalies() || rec.decode_error();
                    for c in Column::ALL {
                        row.col(|ui| {
                            ui.painter().rect_filled(
                                ui.max_rect().expand2(egui::vec2(4.0, 2.0)),
                                0.0,
                                tint,
                            );
                            let text = if c == Column::Time {
                                let prev = i
                                    .checked_sub(1)
                                    .and_then(|p| rows.get(p))
                                    .and_then(|&p| trace.packet(p))
                                    .map(|r| r.ts);
                                time.format(rec.ts, first_ts, prev)
                            } else {
                                packet_table::cell_text(trace, packet, c)
                            };
                            let mut rt = egui::RichText::new(text);
                            if anomalous && matches!(c, Column::No | Column::Info) {
                                rt = rt.color(colors::warning(dark));
                            }
                            ui.add(egui::Label::new(rt).selectable(false).truncate());
                        });
                    }
                    if row.response().clicked() {
                        cmds.push(Command::SelectPacket(Some(packet)));
                    }
                });
            });
    }
}
