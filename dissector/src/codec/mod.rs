//! The MQTT wire codec: zero-copy, version-aware decoding of every control packet of MQTT 3.1
//! (`MQIsdp`, level 3), 3.1.1 (level 4) and 5.0 (level 5), and an encoder that mirrors it.
//!
//! [`decode`] takes one whole packet (as cut by [`crate::framing`]) and the negotiated protocol
//! version, and returns a [`Decoded`]: the fixed header, a borrowed [`Packet`], the header-size
//! breakdown and the non-fatal [`Warnings`] found on the way. Fatal problems are a [`DecodeError`]
//! with a kind and a byte offset; [`DecodeErrorKind::Incomplete`] is kept apart from invalid input.

mod types;

pub use types::*;

/// Decodes one whole control packet. `bytes` starts at the fixed header; bytes after the packet
/// (as the remaining length says) are ignored. `version` is the connection's negotiated version
/// (CONNECT carries its own and ignores it).
///
/// STUB: replaced by the real nom decoder (issue 2).
pub fn decode(bytes: &[u8], version: ProtocolVersion) -> Result<Decoded<'_>, DecodeError> {
    let _ = (bytes, version);
    Err(DecodeError { kind: DecodeErrorKind::InvalidValue, offset: 0 })
}
