//! Fuzz target `stream_parsers`: the capture crate's parsers of bytes from the wire that work
//! below MQTT: link-layer stripping, the HTTP Upgrade head, RFC 6455 WebSocket framing (fed in
//! two pieces split where the first byte says), the TLS record layer and the MQTT
//! resynchronisation checks, and the per-frame layer dissection the GUI's details tree shows.
//! None may panic; WebSocket output never exceeds its input, nor do a frame's MQTT bytes.
#![no_main]

use capture::layers::{WebSocketHint, dissect};
use capture::net::strip_link;
use capture::source::RawFrame;
use capture::plausible::{check_chain, check_packet};
use capture::tls::TlsDirection;
use capture::websocket::{WsDecoder, parse_http_head};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    for linktype in [0, 1, 12, 101, 108, 113, 228, 229, 276] {
        let _ = strip_link(linktype, rest);
        for ws in [WebSocketHint::None, WebSocketHint::FromClient, WebSocketHint::FromServer] {
            let frame = RawFrame {
                number: 1,
                ts: dissector::input::Timestamp(0),
                linktype,
                caplen: rest.len() as u32,
                wire_len: rest.len() as u32,
                data: rest,
            };
            assert!(dissect(&frame, ws).app_bytes(rest).len() <= rest.len());
        }
    }
    let _ = parse_http_head(rest);
    let cut = usize::from(selector) % (rest.len() + 1);
    let (a, b) = rest.split_at(cut);
    let mut ws = WsDecoder::new();
    let mut out = 0usize;
    if ws.push(a, &mut |p| out += p.len()).is_ok() {
        let _ = ws.push(b, &mut |p| out += p.len());
    }
    assert!(out <= rest.len());
    let mut tls = TlsDirection::new();
    tls.push(a);
    tls.push(b);
    assert!(tls.app_bytes <= rest.len() as u64);
    let _ = check_packet(rest, 1 << 20);
    for at_end in [false, true] {
        let _ = check_chain(rest, 1 << 20, 3, true, at_end);
    }
});
