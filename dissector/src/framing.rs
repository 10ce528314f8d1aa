//! Framing: find where the next MQTT control packet in a byte stream ends, from its fixed header
//! alone (MQTT 5.0 §2.1.1, §1.5.5; MQTT 3.1.1 §2.2).
//!
//! The contract (after Suricata's MQTT parser): the caller holds the start of a stream; `frame`
//! answers "a whole packet of N bytes is here", "need more bytes" or "this cannot be an MQTT fixed
//! header". It never looks past the fixed header, so a huge claimed remaining length costs nothing:
//! the caller decides whether to buffer or to skip it.

/// The largest remaining length the 4-byte variable byte integer can carry (268,435,455).
pub const MAX_REMAINING_LENGTH: u32 = 268_435_455;

/// A parsed MQTT fixed header: first byte, remaining length and how it was encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FixedHeaderInfo {
    /// The first byte: packet type in the high nibble, flags in the low nibble.
    pub first_byte: u8,
    /// The remaining length: bytes of variable header plus payload.
    pub remaining_length: u32,
    /// Bytes of fixed header: 1 + the size of the remaining-length field (2..=5).
    pub header_len: u8,
    /// The remaining length used more bytes than needed (e.g. `80 00` for 0), which the spec forbids.
    pub non_minimal_length: bool,
}

impl FixedHeaderInfo {
    /// The packet type number, 0..=15 (0 and 15-in-v3 are reserved).
    #[inline]
    pub fn type_id(&self) -> u8 {
        self.first_byte >> 4
    }
    /// The four flag bits of the first byte.
    #[inline]
    pub fn flags(&self) -> u8 {
        self.first_byte & 0x0f
    }
    /// Total packet length: fixed header plus remaining length.
    #[inline]
    pub fn packet_len(&self) -> u64 {
        u64::from(self.header_len) + u64::from(self.remaining_length)
    }
}

/// Why bytes cannot be the start of an MQTT control packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum FramingError {
    /// The remaining length had a continuation bit set on its 4th byte (a 5th byte is invalid).
    #[error("remaining length longer than 4 bytes")]
    RemainingLengthTooLong,
}

/// What [`frame`] found at the start of a buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// A whole packet is in the buffer: its first `header.packet_len()` bytes.
    Complete(FixedHeaderInfo),
    /// The fixed header is complete but the packet is not; `header.packet_len()` bytes are needed
    /// in all (the caller may skip instead of buffering when that is too large).
    NeedBody(FixedHeaderInfo),
    /// The fixed header itself is cut short; at least one more byte is needed.
    NeedHeader,
    /// These bytes cannot start an MQTT fixed header.
    Invalid(FramingError),
}

/// Reads the fixed header at the start of `buf` and says whether a whole packet is present.
///
/// ```
/// use dissector::framing::{frame, Framing};
/// // PINGREQ: C0 00
/// assert!(matches!(frame(&[0xc0, 0x00, 0xff]), Framing::Complete(h) if h.packet_len() == 2));
/// assert_eq!(frame(&[0x30]), Framing::NeedHeader);
/// ```
pub fn frame(buf: &[u8]) -> Framing {
    match read_fixed_header(buf) {
        Ok(Some(header)) => {
            if (buf.len() as u64) >= header.packet_len() {
                Framing::Complete(header)
            } else {
                Framing::NeedBody(header)
            }
        }
        Ok(None) => Framing::NeedHeader,
        Err(e) => Framing::Invalid(e),
    }
}

/// Parses the fixed header; `Ok(None)` when `buf` ends inside it.
pub fn read_fixed_header(buf: &[u8]) -> Result<Option<FixedHeaderInfo>, FramingError> {
    let Some((&first_byte, rest)) = buf.split_first() else {
        return Ok(None);
    };
    match read_varint(rest)? {
        Some((value, used, non_minimal)) => Ok(Some(FixedHeaderInfo {
            first_byte,
            remaining_length: value,
            header_len: 1 + used,
            non_minimal_length: non_minimal,
        })),
        None => Ok(None),
    }
}

/// Reads an MQTT variable byte integer (MQTT 5.0 §1.5.5): `(value, bytes used, non-minimal)`,
/// `Ok(None)` when the input ends before its last byte.
pub fn read_varint(buf: &[u8]) -> Result<Option<(u32, u8, bool)>, FramingError> {
    let mut value: u32 = 0;
    for i in 0..4u8 {
        let Some(&byte) = buf.get(usize::from(i)) else {
            return Ok(None);
        };
        value |= u32::from(byte & 0x7f) << (7 * u32::from(i));
        if byte & 0x80 == 0 {
            // A last byte of 0 after at least one continuation byte means a shorter encoding existed.
            let non_minimal = i > 0 && byte == 0;
            return Ok(Some((value, i + 1, non_minimal)));
        }
    }
    Err(FramingError::RemainingLengthTooLong)
}

/// How many bytes the minimal encoding of `value` as a variable byte integer takes (1..=4).
pub fn varint_len(value: u32) -> u8 {
    match value {
        0..=127 => 1,
        128..=16_383 => 2,
        16_384..=2_097_151 => 3,
        _ => 4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varint_boundaries_from_the_spec_table() {
        assert_eq!(read_varint(&[0x00]), Ok(Some((0, 1, false))));
        assert_eq!(read_varint(&[0x7f]), Ok(Some((127, 1, false))));
        assert_eq!(read_varint(&[0x80, 0x01]), Ok(Some((128, 2, false))));
        assert_eq!(read_varint(&[0xff, 0x7f]), Ok(Some((16_383, 2, false))));
        assert_eq!(
            read_varint(&[0x80, 0x80, 0x01]),
            Ok(Some((16_384, 3, false)))
        );
        assert_eq!(
            read_varint(&[0xff, 0xff, 0x7f]),
            Ok(Some((2_097_151, 3, false)))
        );
        assert_eq!(
            read_varint(&[0x80, 0x80, 0x80, 0x01]),
            Ok(Some((2_097_152, 4, false)))
        );
        assert_eq!(
            read_varint(&[0xff, 0xff, 0xff, 0x7f]),
            Ok(Some((MAX_REMAINING_LENGTH, 4, false)))
        );
    }

    #[test]
    fn fifth_continuation_byte_is_invalid() {
        assert_eq!(
            read_varint(&[0xff, 0xff, 0xff, 0x80]),
            Err(FramingError::RemainingLengthTooLong)
        );
    }

    #[test]
    fn non_minimal_encoding_is_flagged() {
        assert_eq!(read_varint(&[0x80, 0x00]), Ok(Some((0, 2, true))));
        assert_eq!(read_varint(&[0x81, 0x80, 0x00]), Ok(Some((1, 3, true))));
    }

    #[test]
    fn frame_reports_need_more_and_complete() {
        assert_eq!(frame(&[]), Framing::NeedHeader);
        assert_eq!(frame(&[0x30, 0x80]), Framing::NeedHeader);
        let publish = [0x30, 0x05, 0x00, 0x01, b'a', b'h', b'i'];
        match frame(&publish[..4]) {
            Framing::NeedBody(h) => assert_eq!(h.packet_len(), 7),
            other => panic!("expected NeedBody, got {other:?}"),
        }
        match frame(&publish) {
            Framing::Complete(h) => {
                assert_eq!(h.type_id(), 3);
                assert_eq!(h.header_len, 2);
                assert_eq!(h.remaining_length, 5);
            }
            other => panic!("expected Complete, got {other:?}"),
        }
    }

    #[test]
    fn huge_claim_needs_only_the_header() {
        // 256 MB claimed: framing answers from five bytes.
        match frame(&[0x30, 0xff, 0xff, 0xff, 0x7f]) {
            Framing::NeedBody(h) => assert_eq!(h.packet_len(), 5 + u64::from(MAX_REMAINING_LENGTH)),
            other => panic!("expected NeedBody, got {other:?}"),
        }
    }

    #[test]
    fn varint_len_matches_encoding() {
        for v in [
            0u32,
            127,
            128,
            16_383,
            16_384,
            2_097_151,
            2_097_152,
            MAX_REMAINING_LENGTH,
        ] {
            let expected = match v {
                0..=127 => 1,
                128..=16_383 => 2,
                16_384..=2_097_151 => 3,
                _ => 4,
            };
            assert_eq!(varint_len(v), expected);
        }
    }
}
