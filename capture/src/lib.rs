//! `capture`: turns captures (pcap, pcapng, gzip, live libpcap) into ordered MQTT byte streams
//! per connection and direction, and reports them as [`dissector::input::StreamEvent`]s.
//!
//! Stages, one module each: [`source`] (files) and [`live`] (libpcap) produce
//! [`source::RawFrame`]s; [`net`] strips link/IP headers down to [`net::TcpSegment`]s; [`tcp`]
//! reassembles each direction with frame provenance; [`websocket`] and [`tls`] handle the other
//! transports; the MQTT framer cuts packets and resynchronises after gaps; [`pipeline`] glues
//! them together.
//!
//! ```no_run
//! use capture::pipeline::{Pipeline, PipelineConfig};
//! use dissector::input::StreamEvent;
//!
//! let mut packets = 0u64;
//! let mut sink = |event: StreamEvent<'_>| {
//!     if let StreamEvent::Packet(_) = event {
//!         packets += 1;
//!     }
//! };
//! let mut pipeline = Pipeline::new(PipelineConfig::default());
//! let summary = pipeline.run_file("capture.pcap".as_ref(), &mut sink, None)?;
//! println!("{} frames, {packets} MQTT packets", summary.frames);
//! # Ok::<(), capture::CaptureError>(())
//! ```
#![forbid(unsafe_code)]
#![deny(rustdoc::broken_intra_doc_links)]

pub mod error;
mod framer;
pub mod layers;
pub mod live;
mod midstream;
pub mod net;
pub mod pipeline;
pub mod plausible;
pub mod relay;
pub mod source;
pub mod tcp;
pub mod tls;
pub mod websocket;

pub use error::CaptureError;
pub use live::{LiveOptions, LiveSource, LiveStop, list_interfaces};
pub use pipeline::{CaptureSummary, Pipeline, PipelineConfig};
pub use source::{FileSource, RawFrame};
