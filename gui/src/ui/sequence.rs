//! The sequence diagram of the selected connection: two lifelines, one arrow per packet with
//! its label and time, exchanges bracketed (incomplete ones in the warning colour), anomalies
//! marked. Clicking an arrow selects its packet; zoom with the slider or Ctrl+wheel. Only the
//! rows in view are drawn, so long connections stay quick.

use super::colors;
use crate::app::commands::{Command, ExportTarget};
use crate::logic::diagram_view::{DiagramView, RowGeometry};
use dissector::diagram::{Item, Mark, Side};
use egui::{Align2, Color32, FontId, Pos2, Rect, Sense, Stroke, Vec2};

/// The sequence-diagram panel and its zoom.
#[derive(Debug)]
pub struct SequencePanel {
    /// Vertical zoom.
    pub zoom: f32,
}

impl Default for SequencePanel {
    fn default() -> Self {
        SequencePanel { zoom: 1.0 }
    }
}

const TIME_COLUMN: f32 = 90.0;
const LANE_WIDTH: f32 = 14.0;
const MIN_SPAN: f32 = 360.0;
/// Room right of the broker lifeline for its title.
const RIGHT_MARGIN: f32 = 130.0;

fn mark_color(mark: Mark, dark: bool, normal: Color32) -> Color32 {
    match mark {
        Mark::None => normal,
        Mark::Note => colors::severity_color(dissector::model::Severity::Note, dark),
        Mark::Warning => colors::severity_color(dissector::model::Severity::Warning, dark),
        Mark::Error => colors::severity_color(dissector::model::Severity::Error, dark),
    }
}

impl SequencePanel {
    /// Draws the diagram (or a hint when no connection is selected).
    pub fn show(
        &mut self,
        ui: &mut egui::Ui,
        view: Option<&DiagramView>,
        selected_packet: Option<u64>,
        cmds: &mut Vec<Command>,
    ) {
        let Some(view) = view else {
            ui.weak(
                "Select a connection (Connections view) or a packet to see its sequence diagram.",
            );
            return;
        };
        let d = &view.diagram;
        ui.horizontal(|ui| {
            ui.strong(&d.title);
            ui.separator();
            ui.add(egui::Slider::new(&mut self.zoom, RowGeometry::ZOOM_RANGE).text("Zoom"));
            if ui
                .button("Export SVG…")
                .on_hover_text("Save this diagram as an SVG file")
                .clicked()
            {
                cmds.push(Command::ExportDialog(ExportTarget::DiagramSvg));
            }
            let incomplete = d.groups.iter().filter(|g| !g.complete).count();
            ui.label(format!(
                "{} rows, {} exchanges, {incomplete} incomplete",
                d.items.len(),
                d.groups.len()
            ));
        });
        let dark = ui.visuals().dark_mode;
        let fg = ui.visuals().text_color();
        let weak = ui.visuals().weak_text_color();
        let warn = colors::warning(dark);
        let lanes = d.lanes() as f32;
        let geo = RowGeometry {
            header: 36.0,
            row: 26.0,
            zoom: self.zoom,
        };
        let span = (ui.available_width() - TIME_COLUMN - lanes * LANE_WIDTH - 20.0 - RIGHT_MARGIN)
            .max(MIN_SPAN);
        let width = TIME_COLUMN + lanes * LANE_WIDTH + 20.0 + span + RIGHT_MARGIN;
        let height = geo.total(d.items.len()) + 20.0;
        // Ctrl+wheel zooms.
        if ui.ui_contains_pointer() {
            let (ctrl, dy) = ui.input(|i| (i.modifiers.command, i.smooth_scroll_delta.y));
            if ctrl && dy != 0.0 {
                self.zoom = geo.zoomed(if dy > 0.0 { 1.1 } else { 1.0 / 1.1 });
            }
        }
        let scroll_to = selected_packet.and_then(|p| view.row_of_packet(p));
        egui::ScrollArea::both()
            .id_salt("sequence_scroll")
            .auto_shrink([false, false])
            .show_viewport(ui, |ui, viewport| {
                let (rect, _) = ui.allocate_exact_size(Vec2::new(width, height), Sense::hover());
                let origin = rect.min;
                let client_x = origin.x + TIME_COLUMN + lanes * LANE_WIDTH + 20.0;
                let broker_x = client_x + span;
                let painter = ui.painter_at(rect);
                // Lifelines and their titles.
                for (x, title) in [(client_x, &d.client), (broker_x, &d.broker)] {
                    painter.text(
                        Pos2::new(x, origin.y + 4.0),
                        Align2::CENTER_TOP,
                        title,
                        FontId::proportional(13.0),
                        fg,
                    );
                    painter.line_segment(
                        [Pos2::new(x, origin.y + 24.0), Pos2::new(x, rect.max.y)],
                        Stroke::new(1.5, weak),
                    );
                }
                let visible = geo.visible_rows(viewport.min.y, viewport.max.y, d.items.len());
                // Group brackets that overlap the visible rows.
                for g in d
                    .groups
                    .iter()
                    .filter(|g| g.first < visible.end && g.last >= visible.start)
                {
                    let x = client_x - 12.0 - g.lane as f32 * LANE_WIDTH;
                    let top = origin.y + geo.row_top(g.first) + 4.0;
                    let bottom = origin.y + geo.row_top(g.last) + geo.row_height() - 4.0;
                    let color = if g.complete { weak } else { warn };
                    let stroke = Stroke::new(if g.complete { 1.0 } else { 2.0 }, color);
                    painter.line_segment([Pos2::new(x, top), Pos2::new(x, bottom)], stroke);
                    painter.line_segment([Pos2::new(x, top), Pos2::new(x + 5.0, top)], stroke);
                    painter
                        .line_segment([Pos2::new(x, bottom), Pos2::new(x + 5.0, bottom)], stroke);
                    let hover =
                        Rect::from_min_max(Pos2::new(x - 3.0, top), Pos2::new(x + 5.0, bottom));
                    let text = if g.complete {
                        g.label.clone()
                    } else {
                        format!("{}: {}", g.label, g.status)
                    };
                    ui.interact(
                        hover,
                        ui.scope_id().with(("group", g.first, g.last, g.lane)),
                        Sense::hover(),
                    )
                    .on_hover_text(text);
                }
                for row in visible {
                    let Some(item) = d.items.get(row) else {
                        continue;
                    };
                    let top = origin.y + geo.row_top(row);
                    let mid = top + geo.row_height() * 0.65;
                    painter.text(
                        Pos2::new(origin.x + 4.0, mid),
                        Align2::LEFT_CENTER,
                        format!("{:.6}", item.t()),
                        FontId::monospace(11.0),
                        weak,
                    );
                    match item {
                        Item::Message(m) => {
                            let (from, to) = match m.from {
                                Side::Client => (client_x, broker_x),
                                Side::Broker => (broker_x, client_x),
                            };
                            let selected = scroll_to == Some(row);
                            let color = mark_color(
                                m.mark,
                                dark,
                                if selected {
                                    ui.visuals().selection.stroke.color
                                } else {
                                    fg
                                },
                            );
                            let width = if selected { 2.5 } else { 1.5 };
                            let stroke = Stroke::new(width, color);
                            let (a, b) = (Pos2::new(from, mid), Pos2::new(to, mid));
                            painter.line_segment([a, b], stroke);
                            // A small fixed-size head (egui's arrow scales its head with the length).
                            let dir = if to > from { -1.0 } else { 1.0 };
                            for dy in [-4.0, 4.0] {
                                painter
                                    .line_segment([b, Pos2::new(to + dir * 9.0, mid + dy)], stroke);
                            }
                            let mut label = m.label.clone();
                            if !m.anomalies.is_empty() {
                                label = format!("[!] {label}  [{}]", m.anomalies.join(", "));
                            }
                            let label_rect = Rect::from_center_size(
                                Pos2::new(
                                    (client_x + broker_x) / 2.0,
                                    mid - geo.row_height() * 0.35,
                                ),
                                Vec2::new(span - 20.0, geo.row_height() * 0.6),
                            );
                            let button = egui::Button::new(
                                egui::RichText::new(&label).color(color).size(12.0),
                            )
                            .frame(false);
                            let r = ui
                                .put(label_rect, button)
                                .on_hover_text(format!("frame {} · click to select", m.frame));
                            let arrow_rect = Rect::from_min_max(
                                Pos2::new(client_x.min(broker_x), mid - 5.0),
                                Pos2::new(client_x.max(broker_x), mid + 5.0),
                            );
                            let arrow_hit = ui.interact(
                                arrow_rect,
                                ui.scope_id().with(("arrow", row)),
                                Sense::click(),
                            );
                            if (r.clicked() || arrow_hit.clicked())
                                && let Some(p) = view.packet_at(row)
                            {
                                cmds.push(Command::SelectPacket(Some(p)));
                            }
                        }
                        Item::Note(n) => {
                            let color = mark_color(n.mark, dark, weak);
                            let note_rect = Rect::from_min_max(
                                Pos2::new(client_x - 6.0, top + 3.0),
                                Pos2::new(broker_x + 6.0, top + geo.row_height() - 3.0),
                            );
                            painter.rect_stroke(
                                note_rect,
                                3.0,
                                Stroke::new(1.0, color),
                                egui::StrokeKind::Inside,
                            );
                            painter.text(
                                note_rect.center(),
                                Align2::CENTER_CENTER,
                                &n.text,
                                FontId::proportional(11.5),
                                color,
                            );
                        }
                    }
                }
            });
    }
}
