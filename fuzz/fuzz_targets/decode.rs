//! Fuzz target `decode`: the input is a byte stream as it would come off a TCP connection.
//! Framing walks it packet by packet; every whole packet is decoded in all three versions and
//! with the version unknown; a packet cut by the end of the input goes to `decode_partial`.
//! Besides "never panics", it checks what must hold for every decode: the header sizes add up
//! to the packet length, every lazy view can be walked, and a packet decoded without findings
//! is canonical, so encoding it gives the same bytes back.
#![no_main]

use dissector::codec::{
    Decoded, Packet, ProtocolVersion, decode, decode_partial, decode_unknown_version, encode,
};
use dissector::framing::{Framing, frame};
use libfuzzer_sys::fuzz_target;

const VERSIONS: [ProtocolVersion; 3] = [
    ProtocolVersion::V3_1,
    ProtocolVersion::V3_1_1,
    ProtocolVersion::V5,
];

fuzz_target!(|data: &[u8]| {
    let mut at = 0;
    while let Some(rest) = data.get(at..) {
        match frame(rest) {
            Framing::Complete(header) => {
                let len = header.packet_len() as usize;
                for version in VERSIONS {
                    if let Ok(decoded) = decode(rest, version) {
                        check(&decoded, &rest[..len], version);
                    }
                }
                if let Ok((decoded, version)) = decode_unknown_version(rest) {
                    check(&decoded, &rest[..len], version);
                }
                at += len;
            }
            Framing::NeedBody(header) => {
                for version in VERSIONS {
                    if let Ok(decoded) = decode_partial(rest, header.packet_len(), version) {
                        assert_eq!(decoded.sizes.total(), header.packet_len());
                        walk(&decoded);
                    }
                }
                break;
            }
            Framing::NeedHeader | Framing::Invalid(_) => break,
        }
    }
});

/// The invariants of a successful decode of the whole packet `bytes`.
fn check(decoded: &Decoded<'_>, bytes: &[u8], version: ProtocolVersion) {
    assert_eq!(decoded.sizes.total(), bytes.len() as u64);
    walk(decoded);
    // Reserved types keep their body but not their flags; everything else is canonical when
    // nothing was reported.
    if decoded.warnings.is_empty() && !matches!(decoded.packet, Packet::Reserved { .. }) {
        let mut out = Vec::with_capacity(bytes.len());
        encode(&decoded.packet, version, &mut out).expect("a decoded packet encodes");
        assert_eq!(
            out, bytes,
            "encode(decode(x)) != x for a packet without findings"
        );
    }
}

/// Walks every lazy view of a decoded packet.
fn walk(decoded: &Decoded<'_>) {
    let will_properties = match &decoded.packet {
        Packet::Connect(c) => c.will.as_ref().and_then(|w| w.properties),
        _ => None,
    };
    for properties in decoded
        .packet
        .properties()
        .copied()
        .into_iter()
        .chain(will_properties)
    {
        for property in properties.iter() {
            let _ = property.map(|p| (p.id.name(), p.value));
        }
    }
    match &decoded.packet {
        Packet::Subscribe(s) => assert_eq!(s.filters.iter().count(), s.filters.len()),
        Packet::Unsubscribe(u) => assert_eq!(u.filters.iter().count(), u.filters.len()),
        _ => {}
    }
}
