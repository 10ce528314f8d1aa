//! `mqscope-gui`: the desktop app of mqscope (egui/eframe).
//!
//! Shaped like rerun's viewer: [`app`] owns the state, the open document and the command queue
//! (loading runs on a background thread); [`ui`] has one file per panel, each drawing from the
//! model it is given and pushing [`app::commands::Command`]s; [`logic`] holds what the panels
//! show (table model, detail tree with byte ranges, hex layout, diagram rows, plot data) apart
//! from drawing, unit-tested. The model, the filter language and the exporter are the
//! dissector's: the GUI has no copy of its own.
#![forbid(unsafe_code)]
#![deny(rustdoc::broken_intra_doc_links)]

pub mod app;
pub mod logic;
pub mod ui;

pub use app::MqscopeApp;
