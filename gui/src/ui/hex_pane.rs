//! The hex/ASCII pane (Wireshark's bottom pane): one tab per raw frame the selected packet came
//! from and one for its reassembled MQTT bytes, 16 bytes per row; the selected field's bytes
//! highlighted, the packet's share of a frame shaded; clicking a byte selects its field.

use super::colors;
use crate::app::commands::Command;
use crate::logic::hexdump::{self, BYTES_PER_ROW};
use crate::logic::packet_bytes::{ByteView, HexContent};
use std::ops::Range;

/// The hex pane.
#[derive(Debug, Default)]
pub struct HexPane {
    /// The highlight last scrolled to (scroll only when it changes).
    last_scrolled: Option<(ByteView, Range<usize>)>,
}

impl HexPane {
    /// Draws tab `view` of `content`; `note` says why frames are missing, when they are.
    pub fn show(
        &mut self,
        ui: &mut egui::Ui,
        content: &HexContent<'_>,
        view: ByteView,
        note: Option<&str>,
        cmds: &mut Vec<Command>,
    ) {
        if content.tabs.len() > 1 {
            ui.horizontal_wrapped(|ui| {
                for tab in &content.tabs {
                    if ui.selectable_label(tab.view == view, &tab.title).clicked() {
                        cmds.push(Command::ShowBytes(tab.view));
                    }
                }
            });
        }
        if let Some(note) = note {
            ui.weak(note);
        }
        let Some(bytes) = content.bytes else {
            ui.weak("No bytes: select a packet (raw bytes are kept for files opened in the GUI).");
            return;
        };
        // The tab actually shown (a packet without frames shows its MQTT bytes).
        let view = content
            .tabs
            .iter()
            .find(|t| t.view == view)
            .map_or(ByteView::Mqtt, |t| t.view);
        let dark = ui.visuals().dark_mode;
        let strong = colors::byte_highlight(dark);
        let shade = strong.gamma_multiply(0.35);
        let row_height = ui.text_style_height(&egui::TextStyle::Monospace) + 2.0;
        let rows = hexdump::row_count(bytes.len());
        let mut area = egui::ScrollArea::vertical()
            .id_salt("hex_scroll")
            .auto_shrink([false, false]);
        let first = content.selected.first().cloned().map(|r| (view, r));
        if first != self.last_scrolled {
            if let Some((_, h)) = &first {
                area = area.vertical_scroll_offset(hexdump::first_row_of(h) as f32 * row_height);
            }
            self.last_scrolled = first;
        }
        let color = |offset: usize| {
            if hexdump::in_any(offset, &content.selected) {
                Some(strong)
            } else if hexdump::in_any(offset, &content.packet) {
                Some(shade)
            } else {
                None
            }
        };
        area.show_rows(ui, row_height, rows, |ui, visible| {
            for row in visible {
                ui.horizontal(|ui| {
                    ui.spacing_mut().item_spacing.x = 0.0;
                    let mono = |s: String| egui::RichText::new(s).monospace();
                    ui.label(mono(format!("{}  ", hexdump::offset_label(row, bytes.len()))).weak());
                    let range = hexdump::row_range(row, bytes.len());
                    for col in 0..BYTES_PER_ROW {
                        let offset = range.start + col;
                        let text = match bytes.get(offset).filter(|_| offset < range.end) {
                            Some(b) => format!("{b:02x}"),
                            None => "  ".into(),
                        };
                        let sep = if col == 7 { "  " } else { " " };
                        let mut rt = mono(text);
                        if let Some(c) = color(offset) {
                            rt = rt.background_color(c);
                        }
                        let r = ui.add(
                            egui::Label::new(rt)
                                .sense(egui::Sense::click())
                                .selectable(false),
                        );
                        if r.clicked() && offset < range.end {
                            cmds.push(Command::SelectByte(view, offset));
                        }
                        ui.label(mono(sep.into()));
                    }
                    ui.label(mono("  ".into()));
                    for offset in range {
                        let Some(&b) = bytes.get(offset) else {
                            continue;
                        };
                        let mut rt = mono(hexdump::ascii_char(b).to_string());
                        if let Some(c) = color(offset) {
                            rt = rt.background_color(c);
                        }
                        let r = ui.add(
                            egui::Label::new(rt)
                                .sense(egui::Sense::click())
                                .selectable(false),
                        );
                        if r.clicked() {
                            cmds.push(Command::SelectByte(view, offset));
                        }
                    }
                });
            }
        });
    }
}
