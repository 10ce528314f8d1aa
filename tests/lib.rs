//! Helpers shared by the workspace-level tests: locating captures, running tshark, and turning
//! each side of the tshark comparison into the same per-packet rows.
//!
//! Four sources of [`PacketRow`]s, one per MQTT control packet, in capture order:
//! - [`tshark::mqtt_rows`]: tshark's MQTT dissector (the oracle).
//! - [`oracle::rows`]: tshark as a TCP / WebSocket parser only, with a tiny independent MQTT
//!   framer in this crate: the truth where tshark's MQTT dissector is blind (WebSocket) or
//!   loses sync (a fixed header split across TCP segments).
//! - [`ours::codec_rows`]: the same tshark-extracted streams cut by `dissector::framing` and
//!   decoded by `dissector::codec`: our codec, isolated from our TCP layer.
//! - [`ours::pipeline_rows`]: `capture::Pipeline` feeding [`ours::RowCollector`], an
//!   `EventSink` that decodes each `MqttBytes` with `dissector::codec`: our whole stack.
//!
//! [`compare`] lines two row lists up frame by frame and names every difference.

#![forbid(unsafe_code)]

pub mod captures;
pub mod oracle;
pub mod ours;
pub mod rows;
pub mod tshark;

pub use captures::{Capture, Expected, PublicCapture, Sample};
pub use rows::{Mismatch, PacketRow, assert_no_mismatch, compare};
