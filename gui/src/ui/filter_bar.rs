//! The display-filter bar: the shared filter language, checked while typing (errors shown
//! inline, at the place they are), applied with Enter or the Apply button.

use crate::app::commands::Command;
use dissector::filter::{Filter, FilterError};

/// The filter bar and its edit state.
#[derive(Debug, Default)]
pub struct FilterBar {
    /// The text being edited.
    pub text: String,
    /// Parse error of `text`, refreshed when it changes.
    pub error: Option<FilterError>,
    /// Give the text field keyboard focus on the next frame (Ctrl+F).
    pub focus_next_frame: bool,
}

/// Accessible name of the filter text field (tests find it by this).
pub const FILTER_LABEL: &str = "Display filter";

impl FilterBar {
    /// Draws the bar. `applied` is the filter currently in force, to show whether the text differs.
    pub fn show(&mut self, ui: &mut egui::Ui, applied: &str, cmds: &mut Vec<Command>) {
        ui.horizontal(|ui| {
            let label = ui.label(FILTER_LABEL);
            let bg = match (&self.error, self.text.trim() == applied.trim()) {
                (Some(_), _) => egui::Color32::from_rgba_unmultiplied(230, 60, 60, 60),
                (None, false) if !self.text.trim().is_empty() => {
                    egui::Color32::from_rgba_unmultiplied(220, 200, 60, 50)
                }
                (None, _) if !self.text.trim().is_empty() => {
                    egui::Color32::from_rgba_unmultiplied(60, 200, 90, 50)
                }
                _ => egui::Color32::TRANSPARENT,
            };
            let edit = egui::TextEdit::singleline(&mut self.text)
                .hint_text("e.g. mqtt.msgtype == PUBLISH && mqtt.qos > 0")
                .background_color(bg)
                .font(egui::TextStyle::Monospace)
                .desired_width(ui.available_width() - 140.0);
            let response = ui.add(edit).labelled_by(label.id);
            if self.focus_next_frame {
                response.request_focus();
                self.focus_next_frame = false;
            }
            if response.changed() {
                self.error = Filter::parse(&self.text).err();
            }
            let enter = response.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
            if ui
                .button("Apply")
                .on_hover_text("Apply the display filter (Enter)")
                .clicked()
                || enter
            {
                cmds.push(Command::ApplyFilter(self.text.clone()));
            }
            if ui
                .button("Clear")
                .on_hover_text("Show every packet")
                .clicked()
            {
                self.text.clear();
                self.error = None;
                cmds.push(Command::ApplyFilter(String::new()));
            }
        });
        if let Some(e) = &self.error {
            ui.horizontal_wrapped(|ui| {
                ui.spacing_mut().item_spacing.x = 0.0;
                let (before, bad, after) = split_at_error(&self.text, e);
                let mono = |s: &str| egui::RichText::new(s.to_string()).monospace();
                ui.label(mono(before));
                ui.label(
                    mono(if bad.is_empty() { "▁" } else { bad })
                        .background_color(egui::Color32::from_rgb(200, 50, 50))
                        .color(egui::Color32::WHITE),
                );
                ui.label(mono(after));
                ui.label(
                    egui::RichText::new(format!("   {} (column {})", e.message, e.offset + 1))
                        .color(ui.visuals().error_fg_color),
                );
            });
        }
    }
}

/// Splits the filter text around the error's span (clamped to char boundaries), for underlining.
pub fn split_at_error<'a>(text: &'a str, e: &FilterError) -> (&'a str, &'a str, &'a str) {
    let mut start = e.offset.min(text.len());
    while !text.is_char_boundary(start) {
        start -= 1;
    }
    let mut end = start.saturating_add(e.len).min(text.len());
    while !text.is_char_boundary(end) {
        end += 1;
    }
    (&text[..start], &text[start..end], &text[end..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_error_span_is_cut_out_of_the_text() {
        let e = FilterError {
            offset: 4,
            len: 3,
            message: "x".into(),
        };
        assert_eq!(split_at_error("abc xyz rest", &e), ("abc ", "xyz", " rest"));
    }

    #[test]
    fn an_error_at_the_end_has_an_empty_span() {
        let e = FilterError {
            offset: 99,
            len: 5,
            message: "x".into(),
        };
        assert_eq!(split_at_error("abc", &e), ("abc", "", ""));
    }

    #[test]
    fn spans_never_split_a_character() {
        let e = FilterError {
            offset: 1,
            len: 1,
            message: "x".into(),
        };
        let (a, b, c) = split_at_error("é=1", &e);
        assert_eq!(format!("{a}{b}{c}"), "é=1");
        assert!(b.is_empty() || b == "é" || b.starts_with('='));
    }
}
