//! `dissector`: the MQTT wire codec and the flow model of mqscope. Pure: bytes in, typed values
//! out, no files, no sockets.
//!
//! Entry points:
//! - [`framing::frame`]: where does the next MQTT control packet in a byte stream end?
//! - [`codec::decode`]: one whole packet's bytes → a borrowed, typed [`codec::Packet`].
//! - [`codec::encode`]: the mirror of `decode`, for tests and tools that build traffic.
//! - [`filter::Filter`]: the display-filter language (Wireshark's syntax and field names) that
//!   the CLI's `-Y` and the GUI's filter bar share.
//! - `export` (cargo feature `export`): the model as tables in CSV, Parquet or JSON lines.
#![forbid(unsafe_code)]
#![deny(rustdoc::broken_intra_doc_links)]

pub mod analyze;
pub mod codec;
pub mod diagram;
#[cfg(feature = "export")]
pub mod export;
pub mod filter;
pub mod framing;
pub mod input;
pub mod model;
pub mod stats;

pub use nom;
