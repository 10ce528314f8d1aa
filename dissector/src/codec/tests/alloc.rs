//! Decoding never touches the heap: every view borrows from the input and warnings are kept
//! inline. Counted per thread with a counting global allocator (allocation-counter).

use std::hint::black_box;

use super::*;

/// Packets of every type, v3.1.1 and v5, including findings, properties and filters.
fn corpus() -> Vec<(Vec<u8>, ProtocolVersion)> {
    use ProtocolVersion::{V3_1, V3_1_1, V5};
    [
        ("102d00064d514973647003c2003c00136d79766f69636569736d7970617373706f7274000475736572000470617373", V3_1),
        ("10cc0100044d51545405c6003c3c2700002b672100de110000022b22029a2600097573657270726f703100087573657276616c312600097573657270726f703200087573657276616c3200136d79766f69636569736d7970617373706f72744b03000a6d7977696c6c74797065090007313233343536370200000085019008000f726573706f6e73655f746f706963312600097573657270726f703500087573657276616c3518000000c8000977696c6c746f706963000b77696c6c6d657373616765000475736572000470617373", V5),
        ("200600000322000a", V5),
        ("325e0006746f706963580001430300066d79747970650900053132333435020000004d015808000f726573706f6e73655f746f706963312300052600097573657270726f703300087573657276616c33626161626161626c61636b7368656570", V5),
        ("3e0a00042b00ff2300007879", V3_1_1),
        ("4003000110", V5),
        ("821400010006746f70696358000006746f7069635900", V3_1_1),
        ("900400010080", V3_1_1),
        ("a20b0002000006746f70696358", V5),
        ("b00400030011", V5),
        ("c000", V3_1_1),
        ("e01d041b110000007a2600097573657270726f703400087573657276616c34", V5),
        ("f00a1808150005534352414d", V5),
        ("3009000301000523000102", V5),
    ]
    .into_iter()
    .map(|(h, v)| (hex(h), v))
    .collect()
}

#[test]
fn decoding_allocates_nothing() {
    // The counter must be live, or a zero below would prove nothing.
    let probe = allocation_counter::measure(|| drop(black_box(Vec::<u8>::with_capacity(8))));
    assert_eq!(probe.count_total, 1, "counting allocator installed");

    let corpus = corpus();
    let info = allocation_counter::measure(|| {
        for (bytes, version) in &corpus {
            for v in [*version, ProtocolVersion::V3_1_1, ProtocolVersion::V5] {
                if let Ok(d) = decode(black_box(bytes), v) {
                    for p in d.packet.properties().into_iter().flat_map(|p| p.iter()) {
                        black_box(p.ok());
                    }
                    if let Packet::Subscribe(s) = &d.packet {
                        black_box(s.filters.iter().count());
                    }
                    black_box(&d);
                }
                black_box(decode_partial(bytes, bytes.len() as u64 + 100, v).ok());
                black_box(decode(&bytes[..bytes.len() / 2], v).err());
            }
            black_box(decode_unknown_version(bytes).ok());
        }
    });
    assert_eq!(info.count_total, 0, "decode allocated: {info:?}");
}
