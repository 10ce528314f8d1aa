//! nom primitives for the MQTT data representations (MQTT 5.0 §1.5) and the decoding context
//! that turns positions into packet offsets and collects warnings.
//!
//! Every parser here works on *complete* input: the packet body has already been cut to exactly
//! `remaining_length` bytes, so running out of bytes means a field runs past the end of the
//! packet (`Truncated`), never "need more".

use nom::IResult;
use nom::bytes::complete::take;
use nom::error::{ErrorKind, ParseError};
use nom::number::complete::{be_u8, be_u16, be_u32};

use super::types::{DecodeError, DecodeErrorKind, MqttStr, ProtocolVersion, WarningKind, Warnings};
use crate::framing::read_varint;

/// The codec's nom error: what went wrong and how many input bytes were left at that point
/// (the offset from the start of the packet is derived from it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct WireError {
    pub kind: DecodeErrorKind,
    pub remaining: usize,
}

impl WireError {
    /// An error of `kind` at the start of `at`.
    pub fn at(kind: DecodeErrorKind, at: &[u8]) -> nom::Err<WireError> {
        nom::Err::Error(WireError {
            kind,
            remaining: at.len(),
        })
    }
}

impl ParseError<&[u8]> for WireError {
    // nom's own complete parsers only fail for lack of bytes: on a body cut to its remaining
    // length that is a field running past the end of the packet.
    fn from_error_kind(input: &[u8], _kind: ErrorKind) -> Self {
        WireError {
            kind: DecodeErrorKind::Truncated,
            remaining: input.len(),
        }
    }
    fn append(_input: &[u8], _kind: ErrorKind, other: Self) -> Self {
        other
    }
}

/// Result of a codec parser.
pub(crate) type PResult<'a, T> = IResult<&'a [u8], T, WireError>;

/// Converts a nom error into a [`DecodeError`] for input whose end is `end` bytes from the
/// start of the packet.
pub(crate) fn to_decode_error(err: nom::Err<WireError>, end: usize) -> DecodeError {
    match err {
        nom::Err::Error(e) | nom::Err::Failure(e) => DecodeError {
            kind: e.kind,
            offset: end.saturating_sub(e.remaining),
        },
        // Complete parsers never say Incomplete; if one did, the body was too short.
        nom::Err::Incomplete(_) => DecodeError {
            kind: DecodeErrorKind::Truncated,
            offset: end,
        },
    }
}

/// One byte.
#[inline]
pub(crate) fn byte(i: &[u8]) -> PResult<'_, u8> {
    be_u8(i)
}

/// Two-byte integer, big-endian (§1.5.2).
#[inline]
pub(crate) fn two_byte_int(i: &[u8]) -> PResult<'_, u16> {
    be_u16(i)
}

/// Four-byte integer, big-endian (§1.5.3).
#[inline]
pub(crate) fn four_byte_int(i: &[u8]) -> PResult<'_, u32> {
    be_u32(i)
}

/// Variable byte integer (§1.5.5): `(value, non_minimal)`. Five bytes is `MalformedVarInt`.
#[inline]
pub(crate) fn var_int(i: &[u8]) -> PResult<'_, (u32, bool)> {
    match read_varint(i) {
        Ok(Some((value, used, non_minimal))) => {
            let (rest, _) = take(usize::from(used))(i)?;
            Ok((rest, (value, non_minimal)))
        }
        Ok(None) => Err(WireError::at(DecodeErrorKind::Truncated, i)),
        Err(_) => Err(WireError::at(DecodeErrorKind::MalformedVarInt, i)),
    }
}

/// Binary data (§1.5.6) and the bytes of a UTF-8 string (§1.5.4): two-byte length, then data.
#[inline]
pub(crate) fn length_prefixed(i: &[u8]) -> PResult<'_, &[u8]> {
    let (rest, len) = be_u16(i)?;
    match rest.split_at_checked(usize::from(len)) {
        Some((data, rest)) => Ok((rest, data)),
        // Report the field where it starts (its length prefix), not where the data ran out.
        None => Err(WireError::at(DecodeErrorKind::Truncated, i)),
    }
}

/// What a string check found: the first invalid UTF-8 byte and the first U+0000, as offsets
/// into the string.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct StrCheck {
    pub invalid_utf8_at: Option<usize>,
    pub null_at: Option<usize>,
}

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGHS: u64 = 0x8080_8080_8080_8080;

/// Non-zero when some byte of `word` is 0 (exact for "any", the classic SWAR test).
#[inline(always)]
const fn zero_byte_in(word: u64) -> u64 {
    word.wrapping_sub(ONES) & !word & HIGHS
}

/// True when no byte of `bytes` is 0x00, ≥ 0x80, or (with `wildcards`) `+` / `#`: the common
/// case, which needs no further check. Eight bytes at a time.
#[inline(always)]
fn plain(bytes: &[u8], wildcards: bool) -> bool {
    let mut chunks = bytes.chunks_exact(8);
    let mut odd = 0u64;
    for chunk in &mut chunks {
        let Ok(eight) = <[u8; 8]>::try_from(chunk) else {
            return false;
        };
        let word = u64::from_le_bytes(eight);
        odd |= (word & HIGHS) | zero_byte_in(word);
        if wildcards {
            odd |= zero_byte_in(word ^ (ONES * u64::from(b'+')))
                | zero_byte_in(word ^ (ONES * u64::from(b'#')));
        }
    }
    odd == 0
        && chunks
            .remainder()
            .iter()
            .all(|&b| b != 0 && b < 0x80 && !(wildcards && (b == b'+' || b == b'#')))
}

/// True when `bytes` is ASCII without 0x00: valid UTF-8 without U+0000, nothing to report.
#[inline]
pub(crate) fn plain_ascii(bytes: &[u8]) -> bool {
    plain(bytes, false)
}

/// True when `bytes` is plain ASCII (see [`plain_ascii`]) without the topic wildcards `+`, `#`.
#[inline]
pub(crate) fn plain_topic(bytes: &[u8]) -> bool {
    plain(bytes, true)
}

/// Checks a UTF-8 string field (§1.5.4): well-formed UTF-8 and no U+0000.
#[inline]
pub(crate) fn check_str(bytes: &[u8]) -> StrCheck {
    if plain_ascii(bytes) {
        return StrCheck::default();
    }
    let invalid_utf8_at = match std::str::from_utf8(bytes) {
        Ok(_) => None,
        Err(e) => Some(e.valid_up_to()),
    };
    // U+0000 is encoded as a single 0x00 byte in UTF-8; 0x00 never occurs inside a multi-byte
    // sequence, so a byte search is exact.
    let null_at = bytes.iter().position(|&b| b == 0);
    StrCheck {
        invalid_utf8_at,
        null_at,
    }
}

/// Decoding state for one packet: where offsets are measured from, the version whose layout
/// applies, the warnings found so far and the byte counts for [`super::HeaderSizes`].
pub(crate) struct Cx {
    /// Length of the input slice the body was cut from (offset of its end from packet start).
    pub end: usize,
    /// Layout to decode with.
    pub version: ProtocolVersion,
    /// Findings so far.
    pub warnings: Warnings,
    /// Property bytes (length fields included) read so far.
    pub property_bytes: u32,
    /// Payload start as "bytes left in the body", and property bytes read before it.
    pub payload_mark: Option<(usize, u32)>,
    /// Decoding a prefix of a larger packet (`decode_partial`): the last variable-size field may
    /// be cut, and nothing is "trailing".
    pub partial: bool,
    /// Bytes of the packet beyond the input (`decode_partial`), 0 otherwise.
    pub missing: usize,
}

impl Cx {
    /// A context for input whose end is `end` bytes from the start of the packet.
    pub fn new(end: usize, version: ProtocolVersion, missing: usize) -> Cx {
        Cx {
            end,
            version,
            warnings: Warnings::default(),
            property_bytes: 0,
            payload_mark: None,
            partial: missing > 0,
            missing,
        }
    }

    /// Offset from the start of the packet of the first byte of `rest`.
    #[inline]
    pub fn offset(&self, rest: &[u8]) -> u32 {
        // Packets are at most 5 + 268,435,455 bytes, so this fits in u32.
        u32::try_from(self.end.saturating_sub(rest.len())).unwrap_or(u32::MAX)
    }

    /// Records a finding at the start of `at`.
    #[inline]
    pub fn warn(&mut self, kind: WarningKind, at: &[u8]) {
        let offset = self.offset(at);
        self.warnings.push(kind, offset);
    }

    /// Records a finding at an explicit packet offset.
    #[inline]
    pub fn warn_at(&mut self, kind: WarningKind, offset: u32) {
        self.warnings.push(kind, offset);
    }

    /// Marks the start of the payload (the rest of the body from here on).
    #[inline]
    pub fn mark_payload(&mut self, rest: &[u8]) {
        self.payload_mark = Some((rest.len(), self.property_bytes));
    }

    /// Reads a UTF-8 string field and records invalid UTF-8 / U+0000 with their offsets; the
    /// bytes are kept either way.
    #[inline]
    pub fn string<'a>(&mut self, i: &'a [u8]) -> PResult<'a, MqttStr<'a>> {
        let (rest, bytes) = length_prefixed(i)?;
        self.check_string(bytes, self.offset(i) + 2);
        Ok((rest, MqttStr(bytes)))
    }

    /// Records the findings of [`check_str`] for a string whose first byte is at `offset`.
    #[inline]
    pub fn check_string(&mut self, bytes: &[u8], offset: u32) {
        if !plain_ascii(bytes) {
            self.report_string(bytes, offset);
        }
    }

    /// The slow path of [`Cx::check_string`]: non-ASCII or U+0000 present.
    #[cold]
    fn report_string(&mut self, bytes: &[u8], offset: u32) {
        let check = check_str(bytes);
        if let Some(at) = check.invalid_utf8_at {
            self.warn_at(WarningKind::InvalidUtf8, offset + at as u32);
        }
        if let Some(at) = check.null_at {
            self.warn_at(WarningKind::NullCharacter, offset + at as u32);
        }
    }
}
