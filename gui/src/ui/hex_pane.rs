//! The hex/ASCII pane (Wireshark's bottom pane): the selected packet's raw MQTT bytes, 16 per
//! row, the selected field's bytes highlighted; clicking a byte selects its field.

use super::colors;
use crate::app::commands::Command;
use crate::logic::hexdump::{self, BYTES_PER_ROW};
use std::ops::Range;

/// The hex pane.
#[derive(Debug, Default)]
pub struct HexPane {
    /// The highlight last scrolled to (scroll only when it changes).
    last_scrolled: Option<Range<usize>>,
}

impl HexPane {
    /// Draws `bytes` with `highlight`; `frames` says where a reassembled packet came from.
    pub fn show(
        &mut self,
        ui: &mut egui::Ui,
        bytes: Option<&[u8]>,
        highlight: Option<Range<usize>>,
        frames: Option<(u64, u64)>,
        cmds: &mut Vec<Command>,
    ) {
        let Some(bytes) = bytes else {
            ui.weak("No bytes: select a packet (raw bytes are kept for files opened in the GUI).");
            return;
        };
        if let Some((first, last)) = frames
            && first != last
        {
            ui.label(format!(
                "Reassembled MQTT packet: {} bytes from frames {first}–{last}",
                bytes.len()
            ));
        }
        let dark = ui.visuals().dark_mode;
        let hl_color = colors::byte_highlight(dark);
        let row_height = ui.text_style_height(&egui::TextStyle::Monospace) + 2.0;
        let rows = hexdump::row_count(bytes.len());
        let mut area = egui::ScrollArea::vertical()
            .id_salt("hex_scroll")
            .auto_shrink([false, false]);
        if highlight != self.last_scrolled {
            if let Some(h) = &highlight {
                area = area.vertical_scroll_offset(hexdump::first_row_of(h) as f32 * row_height);
            }
            self.last_scrolled = highlight.clone();
        }
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
                        if hexdump::is_highlighted(offset, highlight.as_ref()) {
                            rt = rt.background_color(hl_color);
                        }
                        let r = ui.add(
                            egui::Label::new(rt)
                                .sense(egui::Sense::click())
                                .selectable(false),
                        );
                        if r.clicked() && offset < range.end {
                            cmds.push(Command::SelectByte(offset));
                        }
                        ui.label(mono(sep.into()));
                    }
                    ui.label(mono("  ".into()));
                    for offset in range {
                        let Some(&b) = bytes.get(offset) else {
                            continue;
                        };
                        let mut rt = mono(hexdump::ascii_char(b).to_string());
                        if hexdump::is_highlighted(offset, highlight.as_ref()) {
                            rt = rt.background_color(hl_color);
                        }
                        let r = ui.add(
                            egui::Label::new(rt)
                                .sense(egui::Sense::click())
                                .selectable(false),
                        );
                        if r.clicked() {
                            cmds.push(Command::SelectByte(offset));
                        }
                    }
                });
            }
        });
    }
}
