//! UI choices that outlive a session (persisted with eframe storage): theme, time format,
//! recent files, the last filter and the open view. Transient state lives in the document.

use crate::logic::recent::RecentFiles;
use crate::logic::time_format::TimeFormat;

/// Light or dark.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub enum ThemeChoice {
    /// Follow the system.
    #[default]
    System,
    /// Light theme.
    Light,
    /// Dark theme.
    Dark,
}

impl ThemeChoice {
    /// Every choice, in menu order.
    pub const ALL: [ThemeChoice; 3] = [ThemeChoice::System, ThemeChoice::Light, ThemeChoice::Dark];
    /// Menu label.
    pub fn label(self) -> &'static str {
        match self {
            ThemeChoice::System => "System theme",
            ThemeChoice::Light => "Light theme",
            ThemeChoice::Dark => "Dark theme",
        }
    }
    /// egui's preference for this choice.
    pub fn preference(self) -> egui::ThemePreference {
        match self {
            ThemeChoice::System => egui::ThemePreference::System,
            ThemeChoice::Light => egui::ThemePreference::Light,
            ThemeChoice::Dark => egui::ThemePreference::Dark,
        }
    }
}

/// The main area's views (tabs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub enum View {
    /// Packet list, details tree and hex pane (Wireshark's three panes).
    #[default]
    Packets,
    /// One row per connection.
    Connections,
    /// Sequence diagram of the selected connection.
    Sequence,
    /// QoS completeness and anomalies.
    QosAnomalies,
    /// Statistics plots.
    Statistics,
}

impl View {
    /// Every view, in tab order.
    pub const ALL: [View; 5] = [
        View::Packets,
        View::Connections,
        View::Sequence,
        View::QosAnomalies,
        View::Statistics,
    ];
    /// Tab label (also the accessible name tests click).
    pub fn label(self) -> &'static str {
        match self {
            View::Packets => "Packets",
            View::Connections => "Connections",
            View::Sequence => "Sequence diagram",
            View::QosAnomalies => "QoS & anomalies",
            View::Statistics => "Statistics",
        }
    }
}

/// What is persisted between runs.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct AppState {
    /// Theme.
    pub theme: ThemeChoice,
    /// Time column format.
    pub time_format: TimeFormat,
    /// Recently opened files.
    pub recent: RecentFiles,
    /// The open view.
    pub view: View,
    /// Show passwords of CONNECT packets instead of redacting them.
    pub show_passwords: bool,
}

impl AppState {
    /// The eframe storage key.
    pub const STORAGE_KEY: &'static str = "mqscope-gui-state";
}
