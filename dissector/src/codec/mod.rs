//! The MQTT wire codec: zero-copy, version-aware decoding of every control packet of MQTT 3.1
//! (`MQIsdp`, level 3), 3.1.1 (level 4) and 5.0 (level 5), and an encoder that mirrors it.
//!
//! [`decode`] takes one whole packet (as cut by [`crate::framing`]) and the negotiated protocol
//! version, and returns a [`Decoded`]: the fixed header, a borrowed [`Packet`], the header-size
//! breakdown and the non-fatal [`Warnings`] found on the way. Fatal problems are a [`DecodeError`]
//! with a kind and a byte offset; [`DecodeErrorKind::Incomplete`] is kept apart from invalid input.
//! Decoding borrows everything from the input and never allocates.
//!
//! - [`decode_partial`]: the header fields of a packet whose payload was not captured whole.
//! - [`decode_unknown_version`]: for connections whose CONNECT was not seen.
//! - [`Properties::iter`]: MQTT 5 properties as a lazy typed iterator, validated once at decode
//!   time; [`PropertyId`] has the spec names, wire types and where each property is allowed.
//! - [`reason_code_name`], [`is_failure`]: reason and return codes for display.
//! - [`encode`], [`PropertiesBuilder`], [`SubscribeFiltersBuilder`]: build any packet.
//!
//! ```
//! use dissector::codec::{decode, Packet, ProtocolVersion};
//! use dissector::framing::{frame, Framing};
//!
//! let stream = [0xc0, 0x00, 0x30, 0x04, 0x00, 0x01, b't', b'x'];
//! let mut at = 0;
//! let mut types = Vec::new();
//! while let Framing::Complete(header) = frame(&stream[at..]) {
//!     let decoded = decode(&stream[at..], ProtocolVersion::V3_1_1).unwrap();
//!     types.push(decoded.packet.packet_type().name());
//!     at += header.packet_len() as usize;
//! }
//! assert_eq!(types, ["PINGREQ", "PUBLISH"]);
//! ```

mod decode;
mod encode;
mod filters;
mod properties;
mod reason;
mod types;
mod wire;

#[cfg(test)]
mod tests;

pub use decode::{decode, decode_partial, decode_unknown_version};
pub use encode::{
    EncodeError, PropertiesBuilder, SubscribeFiltersBuilder, UnsubscribeFiltersBuilder, encode,
    write_var_int,
};
pub use filters::{SubscribeFilterIter, UnsubscribeFilterIter};
pub use properties::PropertyIter;
pub use reason::{is_failure, is_failure_in, is_known_reason_code, reason_code_name};
pub use types::*;
