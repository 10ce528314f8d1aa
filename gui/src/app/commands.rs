//! Everything a panel can ask for. Panels never change the app themselves: they push a
//! [`Command`], and [`super::MqscopeApp`] applies all of them once per frame in one place
//! (`command_handling.rs`), so panels stay easy to test and the logic stays central.

use super::state::{ThemeChoice, View};
use crate::logic::packet_table::Column;
use crate::logic::time_format::TimeFormat;
use std::path::PathBuf;

/// A table the export dialog can write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    /// Comma-separated values.
    Csv,
    /// Apache Parquet.
    Parquet,
}

impl ExportFormat {
    /// File extension.
    pub fn extension(self) -> &'static str {
        match self {
            ExportFormat::Csv => "csv",
            ExportFormat::Parquet => "parquet",
        }
    }
}

/// A request from a panel.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// Show the file dialog to open a capture.
    OpenDialog,
    /// Open (load) a capture file.
    Open(PathBuf),
    /// Stop loading the current file (what was read so far stays).
    CancelLoad,
    /// Close the current capture.
    Close,
    /// Select a packet (by packet index), or nothing.
    SelectPacket(Option<u64>),
    /// Select a field of the detail tree (by its path), or nothing.
    SelectField(Option<Vec<usize>>),
    /// Select the field covering a byte of a hex-pane tab (a click in the hex pane).
    SelectByte(crate::logic::packet_bytes::ByteView, usize),
    /// Show a tab of the hex pane.
    ShowBytes(crate::logic::packet_bytes::ByteView),
    /// Move the packet selection by rows (keyboard).
    StepSelection(isize),
    /// Apply the filter bar's text as the display filter.
    ApplyFilter(String),
    /// Sort by a column (toggles the order).
    SortBy(Column),
    /// Show only one connection's packets (or all).
    FilterConnection(Option<u32>),
    /// Select a connection (for the sequence diagram and the connection filter).
    SelectConnection(Option<u32>),
    /// Time column format.
    SetTimeFormat(TimeFormat),
    /// Theme.
    SetTheme(ThemeChoice),
    /// Switch the main view.
    ShowView(View),
    /// Export the current (filtered) packet table.
    ExportPackets(ExportFormat, PathBuf),
    /// Export the sequence diagram of the selected connection as SVG.
    ExportDiagramSvg(PathBuf),
    /// Ask for an export path with the file dialog, then export.
    ExportDialog(ExportTarget),
    /// Open the live-capture dialog.
    ShowLiveDialog(bool),
    /// Start a live capture.
    StartLive(LiveRequest),
    /// Stop the live capture.
    StopLive,
    /// Focus the filter bar (Ctrl+F).
    FocusFilter,
    /// Show CONNECT passwords instead of redacting them.
    SetShowPasswords(bool),
    /// Close the window (Ctrl+Q); eframe saves the state and exits.
    Quit,
}

/// What the export file dialog is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportTarget {
    /// The packet table in a format.
    Packets(ExportFormat),
    /// The sequence diagram as SVG.
    DiagramSvg,
}

/// The live-capture dialog's choices.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LiveRequest {
    /// Interface name.
    pub interface: String,
    /// BPF capture filter ("" = everything).
    pub bpf: String,
    /// Save the captured frames to this pcap file.
    pub save_to: Option<PathBuf>,
    /// Megabytes of frame bytes kept for the hex pane (the oldest frames are dropped beyond).
    pub keep_frames_mb: usize,
}
