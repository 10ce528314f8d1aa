//! `dissector`: the MQTT wire codec and the flow model of mqscope. Pure: bytes in, typed values
//! out, no files, no sockets.
//!
//! Entry points:
//! - [`framing::frame`]: where does the next MQTT control packet in a byte stream end?
//! - [`codec::decode`]: one whole packet's bytes → a borrowed, typed [`codec::Packet`].
//! - [`codec::encode`]: the mirror of `decode`, for tests and tools that build traffic.
#![forbid(unsafe_code)]
#![deny(rustdoc::broken_intra_doc_links)]

pub mod analyze;
pub mod codec;
#[cfg(feature = "export")]
pub mod export;
pub mod filter;
pub mod framing;
pub mod input;
pub mod model;
pub mod stats;

pub use nom;
