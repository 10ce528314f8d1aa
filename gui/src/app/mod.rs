//! The application: owns the persisted [`AppState`], the open [`Document`], the panels and the
//! command queue. Each frame: take in loader progress, draw the panels (which only push
//! [`Command`]s), then apply the commands in one place ([`command_handling`]).

pub mod command_handling;
pub mod commands;
pub mod document;
pub mod loading;
pub mod sources;
pub mod state;

use crate::logic::diagram_view::DiagramView;
use crate::ui;
use commands::Command;
use document::Document;
use state::{AppState, View};
use std::path::PathBuf;
use std::sync::mpsc::{Receiver, Sender};

/// The mqscope GUI.
pub struct MqscopeApp {
    /// Persisted choices.
    pub state: AppState,
    /// The open capture.
    pub doc: Option<Document>,
    /// Commands pushed this frame.
    pub(crate) commands: Vec<Command>,
    /// Commands from other threads (file dialogs).
    pub(crate) async_tx: Sender<Command>,
    async_rx: Receiver<Command>,
    /// The panels.
    pub panels: ui::Panels,
    /// The sequence diagram of the selected connection (rebuilt when it changes).
    pub(crate) diagram: Option<DiagramView>,
    /// An error to show in a window (open failures, export failures, capture permissions).
    pub error: Option<String>,
    /// The egui context, to wake the UI from the loader thread.
    pub(crate) ctx: Option<egui::Context>,
    /// Theme applied last (apply only on change).
    applied_theme: Option<state::ThemeChoice>,
    /// The font fallback is installed.
    fonts_set: bool,
}

/// Adds the monospace font (Hack) as a fallback of the proportional one: its arrows and box
/// symbols (→ ▲ ▼) are used in labels, and egui's default proportional font lacks them.
fn install_fonts(ctx: &egui::Context) {
    let mut fonts = egui::FontDefinitions::default();
    let mono: Vec<String> = fonts
        .families
        .get(&egui::FontFamily::Monospace)
        .cloned()
        .unwrap_or_default();
    if let Some(prop) = fonts.families.get_mut(&egui::FontFamily::Proportional) {
        for name in mono {
            if !prop.contains(&name) {
                prop.push(name);
            }
        }
    }
    ctx.set_fonts(fonts);
}

impl MqscopeApp {
    /// A new app with the persisted state (if any) and an optional file to open.
    pub fn new(state: AppState, open: Option<PathBuf>) -> MqscopeApp {
        let (async_tx, async_rx) = std::sync::mpsc::channel();
        let mut app = MqscopeApp {
            state,
            doc: None,
            commands: Vec::new(),
            async_tx,
            async_rx,
            panels: ui::Panels::default(),
            diagram: None,
            error: None,
            ctx: None,
            applied_theme: None,
            fonts_set: false,
        };
        if let Some(path) = open {
            app.commands.push(Command::Open(path));
        }
        app
    }

    /// Builds the app from eframe's creation context (restores the persisted state).
    pub fn from_creation_context(
        cc: &eframe::CreationContext<'_>,
        open: Option<PathBuf>,
    ) -> MqscopeApp {
        let state = cc
            .storage
            .and_then(|s| eframe::get_value::<AppState>(s, AppState::STORAGE_KEY))
            .unwrap_or_default();
        let mut app = MqscopeApp::new(state, open);
        app.ctx = Some(cc.egui_ctx.clone());
        app
    }

    /// Queues a command (as a panel would).
    pub fn push(&mut self, command: Command) {
        self.commands.push(command);
    }

    /// True while a file loads or a live capture runs.
    pub fn is_loading(&self) -> bool {
        self.doc.as_ref().is_some_and(Document::is_loading)
    }

    /// Draws one frame and applies the commands it produced.
    pub fn show(&mut self, ui: &mut egui::Ui) {
        if !self.fonts_set {
            install_fonts(ui.ctx());
            self.fonts_set = true;
        }
        if self.ctx.is_none() {
            self.ctx = Some(ui.ctx().clone());
        }
        if self.applied_theme != Some(self.state.theme) {
            ui.ctx().set_theme(self.state.theme.preference());
            self.applied_theme = Some(self.state.theme);
        }
        while let Ok(c) = self.async_rx.try_recv() {
            self.commands.push(c);
        }
        // Apply what arrived since the last frame before drawing, so a frame shows fresh state.
        self.handle_commands();
        if let Some(doc) = &mut self.doc {
            doc.refresh();
            if doc.is_loading() {
                // Keep frames coming while the loader works (it also wakes us on progress).
                ui.ctx()
                    .request_repaint_after(std::time::Duration::from_millis(100));
            }
        }
        self.read_input(ui);
        self.refresh_diagram();
        ui::draw(self, ui);
        self.handle_commands();
    }

    /// Keyboard shortcuts and dropped files.
    fn read_input(&mut self, ui: &egui::Ui) {
        let typing = ui.ctx().egui_wants_keyboard_input();
        let page = 20isize;
        ui.input_mut(|i| {
            if i.consume_key(egui::Modifiers::COMMAND, egui::Key::O) {
                self.commands.push(Command::OpenDialog);
            }
            if i.consume_key(egui::Modifiers::COMMAND, egui::Key::F) {
                self.commands.push(Command::FocusFilter);
            }
            if i.consume_key(egui::Modifiers::COMMAND, egui::Key::Q) {
                self.commands.push(Command::Quit);
            }
            if !typing && self.state.view == View::Packets {
                for (key, delta) in [
                    (egui::Key::ArrowDown, 1),
                    (egui::Key::ArrowUp, -1),
                    (egui::Key::PageDown, page),
                    (egui::Key::PageUp, -page),
                ] {
                    if i.consume_key(egui::Modifiers::NONE, key) {
                        self.commands.push(Command::StepSelection(delta));
                    }
                }
                if i.consume_key(egui::Modifiers::NONE, egui::Key::Home) {
                    self.commands.push(Command::StepSelection(isize::MIN / 2));
                }
                if i.consume_key(egui::Modifiers::NONE, egui::Key::End) {
                    self.commands.push(Command::StepSelection(isize::MAX / 2));
                }
            }
            if let Some(path) = i
                .raw
                .dropped_files
                .iter()
                .map(|f| f.path().to_path_buf())
                .find(|p| !p.as_os_str().is_empty())
            {
                self.commands.push(Command::Open(path));
            }
        });
    }

    /// Rebuilds the sequence diagram when the selected connection changed or packets arrived.
    fn refresh_diagram(&mut self) {
        if self.state.view != View::Sequence {
            return;
        }
        let Some(doc) = &self.doc else {
            self.diagram = None;
            return;
        };
        let Some(conn) = doc.selected_connection else {
            self.diagram = None;
            return;
        };
        let shared = std::sync::Arc::clone(&doc.shared);
        let guard = shared.lock_for_ui();
        let trace = guard.trace();
        let stale = self
            .diagram
            .as_ref()
            .is_none_or(|d| d.conn != conn as usize || d.built_at_packets != trace.packets.len());
        if stale {
            self.diagram = Some(DiagramView::build(trace, conn as usize, &|_, _| true));
        }
    }
}

impl eframe::App for MqscopeApp {
    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        self.show(ui);
    }

    fn save(&mut self, storage: &mut dyn eframe::Storage) {
        eframe::set_value(storage, AppState::STORAGE_KEY, &self.state);
    }
}
