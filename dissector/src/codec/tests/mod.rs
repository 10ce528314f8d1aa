//! Codec tests: hex fixtures per packet type and version (one comment per field), real packets
//! captured from mosquitto, property tests for round trips and robustness.

mod alloc;
mod fixtures;
mod properties;
mod robustness;
mod roundtrip;

use super::*;

/// Concatenates field byte strings into one packet.
pub(super) fn cat(fields: &[&[u8]]) -> Vec<u8> {
    fields.concat()
}

/// Hex text (whitespace ignored) to bytes.
pub(super) fn hex(text: &str) -> Vec<u8> {
    let digits: Vec<u8> = text.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    digits
        .chunks(2)
        .map(|pair| {
            let s = std::str::from_utf8(pair).expect("hex digits");
            u8::from_str_radix(s, 16).expect("hex digits")
        })
        .collect()
}

/// Decodes and checks the invariants every decode must keep: sizes add up to the packet
/// length, and a packet without warnings is canonical, so encoding it gives the bytes back.
#[track_caller]
pub(super) fn decode_ok(bytes: &[u8], version: ProtocolVersion) -> Decoded<'_> {
    let decoded = decode(bytes, version).expect("decodes");
    assert_eq!(
        decoded.sizes.total(),
        decoded.header.packet_len(),
        "sizes add up: {decoded:?}"
    );
    if decoded.warnings.is_empty() {
        let mut out = Vec::new();
        encode(&decoded.packet, version, &mut out).expect("encodes");
        assert_eq!(
            out,
            &bytes[..bytes.len().min(out.len())],
            "encode(decode(x)) == x"
        );
        assert_eq!(out.len() as u64, decoded.header.packet_len());
    }
    decoded
}

/// The warning kinds of a decode, in order.
pub(super) fn kinds(decoded: &Decoded<'_>) -> Vec<WarningKind> {
    decoded.warnings.iter().map(|w| w.kind).collect()
}

/// The warnings of a decode as (kind, offset).
pub(super) fn warnings(decoded: &Decoded<'_>) -> Vec<(WarningKind, u32)> {
    decoded
        .warnings
        .iter()
        .map(|w| (w.kind, w.offset))
        .collect()
}
