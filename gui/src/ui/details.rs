//! The packet-details tree (Wireshark's middle pane): frame, transport, MQTT fixed header,
//! variable header, every property and reason code by name, payload as text / hex / JSON.
//! Clicking a line selects its field, which the hex pane highlights.

use crate::app::commands::Command;
use crate::logic::detail_tree::{DetailTree, FieldNode, payload_views};

/// How the payload box shows the payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PayloadMode {
    /// UTF-8 text.
    #[default]
    Text,
    /// Hex dump.
    Hex,
    /// Pretty-printed JSON.
    Json,
}

/// The details panel and its view state.
#[derive(Debug, Default)]
pub struct DetailsPanel {
    /// Payload view.
    pub payload_mode: PayloadMode,
    /// The payload views of the packet shown (rendered once per selection, not per frame).
    payload_cache: Option<(u64, crate::logic::detail_tree::PayloadViews)>,
}

impl DetailsPanel {
    /// Draws the tree of the selected packet.
    pub fn show(
        &mut self,
        ui: &mut egui::Ui,
        packet: Option<u64>,
        tree: Option<&DetailTree>,
        selected: Option<&[usize]>,
        raw: Option<&[u8]>,
        cmds: &mut Vec<Command>,
    ) {
        let Some(tree) = tree else {
            ui.weak("Select a packet to see its fields.");
            return;
        };
        egui::ScrollArea::both()
            .id_salt("details_scroll")
            .auto_shrink([false, false])
            .show(ui, |ui| {
                let mut path = Vec::new();
                for (i, node) in tree.roots.iter().enumerate() {
                    path.push(i);
                    show_node(ui, node, &mut path, selected, cmds);
                    path.pop();
                }
                if let (Some(range), Some(raw)) = (tree.payload.clone(), raw)
                    && let Some(payload) = raw.get(range)
                {
                    ui.separator();
                    self.show_payload(ui, packet.unwrap_or(u64::MAX), payload);
                }
            });
    }

    fn show_payload(&mut self, ui: &mut egui::Ui, packet: u64, payload: &[u8]) {
        if self
            .payload_cache
            .as_ref()
            .is_none_or(|(p, _)| *p != packet)
        {
            self.payload_cache = Some((packet, payload_views(payload)));
        }
        let Some((_, views)) = &self.payload_cache else {
            return;
        };
        let views = views.clone();
        ui.horizontal(|ui| {
            ui.label(format!("Payload ({} bytes) as", payload.len()));
            ui.selectable_value(&mut self.payload_mode, PayloadMode::Text, "Text");
            ui.selectable_value(&mut self.payload_mode, PayloadMode::Hex, "Hex");
            ui.add_enabled_ui(views.json.is_some(), |ui| {
                ui.selectable_value(&mut self.payload_mode, PayloadMode::Json, "JSON")
                    .on_disabled_hover_text("The payload is not a JSON object or array");
            });
        });
        let text = match self.payload_mode {
            PayloadMode::Text => views.text.unwrap_or_else(|| "(not UTF-8: see Hex)".into()),
            PayloadMode::Hex => views.hex,
            PayloadMode::Json => views.json.unwrap_or_else(|| "(not JSON)".into()),
        };
        ui.add(egui::Label::new(egui::RichText::new(text).monospace()).wrap());
    }
}

fn show_node(
    ui: &mut egui::Ui,
    node: &FieldNode,
    path: &mut Vec<usize>,
    selected: Option<&[usize]>,
    cmds: &mut Vec<Command>,
) {
    let is_selected = selected == Some(path.as_slice());
    if node.children.is_empty() {
        ui.horizontal(|ui| {
            ui.add_space(ui.spacing().indent);
            if ui.selectable_label(is_selected, &node.label).clicked() {
                cmds.push(Command::SelectField(Some(path.clone())));
            }
        });
        return;
    }
    let id = ui.make_persistent_id(("detail_node", path.as_slice()));
    // Like Wireshark: the MQTT section open (three levels deep, so properties show), the frame
    // and transport summaries closed; and whatever leads to the selected field.
    let on_selected_path = selected.is_some_and(|s| s.starts_with(path));
    let default_open = path.len() > 1 && path.len() <= 3
        || node.label.starts_with("MQ Telemetry")
        || node.label.starts_with("Anomalies");
    let mut state = egui::collapsing_header::CollapsingState::load_with_default_open(
        ui.ctx(),
        id,
        default_open,
    );
    if on_selected_path && !state.is_open() && selected.is_some_and(|s| s.len() > path.len()) {
        state.set_open(true);
    }
    state
        .show_header(ui, |ui| {
            if ui.selectable_label(is_selected, &node.label).clicked() {
                cmds.push(Command::SelectField(Some(path.clone())));
            }
        })
        .body(|ui| {
            for (i, child) in node.children.iter().enumerate() {
                path.push(i);
                show_node(ui, child, path, selected, cmds);
                path.pop();
            }
        });
}
