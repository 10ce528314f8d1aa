//! MQTT over WebSocket (MQTT 5.0 §6): the HTTP Upgrade handshake and RFC 6455 framing.
//!
//! The decoder streams: it never buffers a frame's payload, it unmasks each piece as it arrives
//! and hands it on, so a 64-bit frame length costs nothing. MQTT packets split across WebSocket
//! frames, or several in one frame, are the MQTT framer's business: it sees one byte stream.

/// Largest HTTP head (request or response) we look at.
pub const MAX_HTTP_HEAD: usize = 16 * 1024;

/// What the HTTP head of an Upgrade request or response says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpHead {
    /// Bytes of the head, including the blank line.
    pub len: usize,
    /// A request line (`GET … HTTP/1.1`) rather than a status line.
    pub is_request: bool,
    /// Status code of a response.
    pub status: Option<u16>,
    /// `Upgrade: websocket` present.
    pub upgrade_websocket: bool,
    /// `Sec-WebSocket-Protocol` names an MQTT subprotocol (`mqtt`, `mqttv3.1`).
    pub mqtt_subprotocol: bool,
}

/// Parses an HTTP/1.1 head at the start of `buf`: `Ok(None)` when the blank line has not arrived
/// yet, `Err(())` when it is not HTTP or is longer than [`MAX_HTTP_HEAD`].
#[allow(clippy::result_unit_err)]
pub fn parse_http_head(buf: &[u8]) -> Result<Option<HttpHead>, ()> {
    let looks_http = buf.starts_with(b"GET ") || buf.starts_with(b"HTTP/");
    let prefix_ok = b"GET ".starts_with(buf.get(..buf.len().min(4)).unwrap_or(&[]))
        || b"HTTP/".starts_with(buf.get(..buf.len().min(5)).unwrap_or(&[]));
    if !looks_http && !prefix_ok {
        return Err(());
    }
    let window = buf.get(..buf.len().min(MAX_HTTP_HEAD)).unwrap_or(buf);
    let Some(end) = window.windows(4).position(|w| w == b"\r\n\r\n") else {
        return if buf.len() >= MAX_HTTP_HEAD {
            Err(())
        } else {
            Ok(None)
        };
    };
    if !looks_http {
        return Err(());
    }
    let head = window.get(..end).unwrap_or(&[]);
    let text = String::from_utf8_lossy(head);
    let mut lines = text.split("\r\n");
    let first = lines.next().unwrap_or("");
    let is_request = first.starts_with("GET ");
    let status = if is_request {
        None
    } else {
        first.split(' ').nth(1).and_then(|s| s.parse().ok())
    };
    let mut upgrade_websocket = false;
    let mut mqtt_subprotocol = false;
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let name = name.trim();
        let value = value.trim();
        if name.eq_ignore_ascii_case("upgrade") {
            upgrade_websocket |= value
                .split(',')
                .any(|v| v.trim().eq_ignore_ascii_case("websocket"));
        } else if name.eq_ignore_ascii_case("sec-websocket-protocol") {
            // MQTT 5.0 §6.0: "mqtt"; MQTT 3.1 clients used "mqttv3.1".
            mqtt_subprotocol |= value.split(',').any(|v| {
                let v = v.trim();
                v.eq_ignore_ascii_case("mqtt") || v.eq_ignore_ascii_case("mqttv3.1")
            });
        }
    }
    Ok(Some(HttpHead {
        len: end + 4,
        is_request,
        status,
        upgrade_websocket,
        mqtt_subprotocol,
    }))
}

/// A WebSocket framing error: the stream cannot be followed further.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WsError {
    /// RSV bits set: an extension (e.g. permessage-deflate) we cannot undo.
    #[error("WebSocket frame with RSV bits {0:#x} (extension such as compression not supported)")]
    ReservedBits(u8),
    /// An opcode RFC 6455 §5.2 reserves.
    #[error("WebSocket frame with reserved opcode {0:#x}")]
    ReservedOpcode(u8),
    /// A control frame longer than 125 bytes or fragmented (RFC 6455 §5.5).
    #[error("invalid WebSocket control frame (opcode {0:#x})")]
    BadControlFrame(u8),
    /// A 64-bit length with the top bit set (RFC 6455 §5.2).
    #[error("WebSocket frame length has its most significant bit set")]
    BadLength,
    /// A continuation frame with no message in progress, or a new message inside one.
    #[error("WebSocket fragmentation out of order (opcode {0:#x})")]
    BadFragmentation(u8),
}

/// Frame payload bytes unmasked and checked for an MQTT packet start while resynchronising
/// (enough for every variable-header check in `plausible`).
const RESYNC_PEEK: usize = 512;
/// Largest frame length believed while resynchronising: MQTT packets are at most 256 MiB
/// (MQTT 5.0 §1.5.5), and clients send them in one frame or several smaller ones.
const RESYNC_MAX_FRAME: u64 = 256 << 20;

/// Resynchronisation after a gap: undecided bytes and how many were given up.
#[derive(Debug, Default)]
struct Resync {
    /// Bytes from the first position not yet ruled out.
    buf: Vec<u8>,
    /// Bytes ruled out so far.
    skipped: u64,
    /// Whether frames in this direction are masked (client to server, RFC 6455 §5.3).
    masked: bool,
}

/// The verdict on one candidate frame-header position.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Candidate {
    Yes,
    No,
    NeedMore,
}

/// Whether `buf` starts with a credible WebSocket frame carrying the start of an MQTT packet: a
/// binary or continuation frame, RSV clear, the mask bit this direction must have, a length in
/// its minimal encoding and within MQTT's bounds, and a payload that begins with a plausible MQTT
/// packet (checked on the unmasked bytes).
fn candidate(buf: &[u8], masked: bool) -> Candidate {
    let (Some(&b0), Some(&b1)) = (buf.first(), buf.get(1)) else {
        return Candidate::NeedMore;
    };
    if b0 & 0x70 != 0 || !matches!(b0 & 0x0f, 0 | 2) || (b1 & 0x80 != 0) != masked {
        return Candidate::No;
    }
    let hlen = header_len(&[b0, b1]);
    let Some(header) = buf.get(..hlen) else {
        return Candidate::NeedMore;
    };
    let (len, at) = match b1 & 0x7f {
        126 => (u64::from(be_u16(header, 2)), 4),
        127 => {
            let mut b = [0u8; 8];
            if let Some(src) = header.get(2..10) {
                b.copy_from_slice(src);
            }
            (u64::from_be_bytes(b), 10)
        }
        n => (u64::from(n), 2),
    };
    let minimal = match b1 & 0x7f {
        126 => len >= 126,
        127 => len > 0xffff,
        _ => true,
    };
    // An MQTT packet is at least two bytes; a shorter frame cannot be checked.
    if !minimal || !(2..=RESYNC_MAX_FRAME).contains(&len) {
        return Candidate::No;
    }
    let key: Option<[u8; 4]> = masked.then(|| {
        let mut k = [0u8; 4];
        if let Some(src) = header.get(at..at + 4) {
            k.copy_from_slice(src);
        }
        k
    });
    let peek_len = usize::try_from(len).unwrap_or(usize::MAX).min(RESYNC_PEEK);
    let Some(payload) = buf.get(hlen..hlen + peek_len) else {
        return Candidate::NeedMore;
    };
    let unmasked: Vec<u8> = match key {
        Some(k) => payload
            .iter()
            .enumerate()
            .map(|(i, b)| b ^ k[i % 4])
            .collect(),
        None => payload.to_vec(),
    };
    match crate::plausible::check_packet(&unmasked, RESYNC_MAX_FRAME) {
        crate::plausible::Check::Plausible(_) => Candidate::Yes,
        // The checks looked at RESYNC_PEEK bytes without objection: credible enough.
        crate::plausible::Check::NeedMore if peek_len == RESYNC_PEEK => Candidate::Yes,
        _ => Candidate::No,
    }
}

fn be_u16(buf: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([
        buf.get(at).copied().unwrap_or(0),
        buf.get(at + 1).copied().unwrap_or(0),
    ])
}

/// The frame currently being read.
#[derive(Debug, Clone, Copy)]
struct CurrentFrame {
    opcode: u8,
    fin: bool,
    mask: Option<[u8; 4]>,
    /// Payload bytes still to come.
    remaining: u64,
    /// Payload bytes seen so far (mask index).
    seen: u64,
}

/// One direction of WebSocket framing.
#[derive(Debug, Default)]
pub struct WsDecoder {
    header: [u8; 14],
    header_len: usize,
    current: Option<CurrentFrame>,
    /// A fragmented data message is in progress.
    in_message: bool,
    scratch: Vec<u8>,
    failed: bool,
    /// After lost bytes: looking for the next frame header.
    resync: Option<Resync>,
    /// Bytes skipped by a finished resynchronisation, not yet reported.
    resynced: Option<u64>,
    /// A close frame was seen.
    pub closed: bool,
    /// Data frames seen.
    pub frames: u64,
}

impl WsDecoder {
    /// A decoder at a frame boundary.
    pub fn new() -> WsDecoder {
        WsDecoder::default()
    }

    /// `missing` stream bytes were lost. Inside a frame's payload the frame boundary is still
    /// known and framing continues (returns `true`); otherwise the decoder looks for the next
    /// credible frame header (see `candidate`), where `masked` is the mask bit frames of this
    /// direction carry, and reports the bytes it skipped through
    /// [`WsDecoder::take_resync`] once found (returns `false`).
    pub fn gap(&mut self, missing: u64, masked: bool) -> bool {
        if self.failed {
            return false;
        }
        if let Some(resync) = self.resync.as_mut() {
            resync.buf.clear();
            return false;
        }
        if self.header_len == 0
            && let Some(mut frame) = self.current
            && missing <= frame.remaining
        {
            frame.remaining -= missing;
            frame.seen += missing;
            self.current = if frame.remaining == 0 {
                self.end_frame(frame);
                None
            } else {
                Some(frame)
            };
            return true;
        }
        self.current = None;
        self.header_len = 0;
        self.resync = Some(Resync {
            masked,
            ..Resync::default()
        });
        false
    }

    /// Bytes skipped by a resynchronisation that has just succeeded (reported once).
    pub fn take_resync(&mut self) -> Option<u64> {
        self.resynced.take()
    }

    /// Whether the decoder is looking for a frame header after lost bytes.
    pub fn resyncing(&self) -> bool {
        self.resync.is_some()
    }

    /// Scans for a frame header; returns the bytes to decode from it when one is found.
    fn scan(&mut self, data: &[u8]) -> Option<Vec<u8>> {
        let resync = self.resync.as_mut()?;
        resync.buf.extend_from_slice(data);
        let mut at = 0;
        while at < resync.buf.len() {
            match candidate(resync.buf.get(at..).unwrap_or(&[]), resync.masked) {
                Candidate::No => at += 1,
                Candidate::NeedMore => break,
                Candidate::Yes => {
                    let skipped = resync.skipped + at as u64;
                    let rest = resync.buf.split_off(at);
                    // A continuation frame belongs to a message begun before the gap.
                    self.in_message = rest.first().is_some_and(|b| b & 0x0f == 0);
                    self.resync = None;
                    self.resynced = Some(skipped);
                    return Some(rest);
                }
            }
        }
        resync.skipped += at as u64;
        resync.buf.drain(..at);
        None
    }

    /// Feeds stream bytes; data-frame payload pieces (unmasked) go to `out`.
    pub fn push(&mut self, mut data: &[u8], out: &mut dyn FnMut(&[u8])) -> Result<(), WsError> {
        if self.failed {
            return Ok(());
        }
        if self.resync.is_some() {
            return match self.scan(data) {
                Some(rest) => self.push(&rest, out),
                None => Ok(()),
            };
        }
        while !data.is_empty() {
            match self.current {
                None => {
                    let used = self.read_header(data)?;
                    data = data.get(used..).unwrap_or(&[]);
                }
                Some(mut frame) => {
                    let n = (data.len() as u64).min(frame.remaining) as usize;
                    let (piece, rest) = data.split_at(n);
                    if matches!(frame.opcode, 0..=2) && !piece.is_empty() {
                        match frame.mask {
                            None => out(piece),
                            Some(key) => {
                                self.scratch.clear();
                                self.scratch.extend(piece.iter().enumerate().map(|(i, b)| {
                                    // RFC 6455 §5.3: octet i XOR key[i mod 4].
                                    b ^ key[((frame.seen + i as u64) % 4) as usize]
                                }));
                                out(&self.scratch);
                            }
                        }
                    }
                    frame.seen += n as u64;
                    frame.remaining -= n as u64;
                    data = rest;
                    self.current = if frame.remaining == 0 {
                        self.end_frame(frame);
                        None
                    } else {
                        Some(frame)
                    };
                }
            }
        }
        Ok(())
    }

    fn end_frame(&mut self, frame: CurrentFrame) {
        match frame.opcode {
            0..=2 => {
                self.frames += 1;
                self.in_message = !frame.fin;
            }
            8 => self.closed = true,
            _ => {}
        }
    }

    /// Reads (part of) a frame header; returns bytes used.
    fn read_header(&mut self, data: &[u8]) -> Result<usize, WsError> {
        let mut used = 0;
        loop {
            let needed = header_len(&self.header[..self.header_len]);
            if self.header_len >= needed {
                break;
            }
            let Some(&b) = data.get(used) else {
                return Ok(used);
            };
            if let Some(slot) = self.header.get_mut(self.header_len) {
                *slot = b;
            }
            self.header_len += 1;
            used += 1;
        }
        let result = self.decode_header();
        self.header_len = 0;
        match result {
            Ok(frame) => {
                if frame.remaining == 0 {
                    self.end_frame(frame);
                } else {
                    self.current = Some(frame);
                }
                Ok(used)
            }
            Err(e) => {
                self.failed = true;
                Err(e)
            }
        }
    }

    fn decode_header(&mut self) -> Result<CurrentFrame, WsError> {
        let h = read_header(self.header.get(..self.header_len).unwrap_or_default())
            .ok_or(WsError::BadLength)?;
        if h.rsv != 0 {
            return Err(WsError::ReservedBits(h.rsv));
        }
        if h.payload_len >> 63 != 0 {
            return Err(WsError::BadLength);
        }
        let (fin, opcode, mask, len) = (h.fin, h.opcode, h.mask, h.payload_len);
        match opcode {
            0 => {
                if !self.in_message {
                    return Err(WsError::BadFragmentation(opcode));
                }
            }
            1 | 2 => {
                if self.in_message {
                    return Err(WsError::BadFragmentation(opcode));
                }
            }
            8..=10 => {
                if len > 125 || !fin {
                    return Err(WsError::BadControlFrame(opcode));
                }
            }
            other => return Err(WsError::ReservedOpcode(other)),
        }
        Ok(CurrentFrame {
            opcode,
            fin,
            mask,
            remaining: len,
            seen: 0,
        })
    }
}

/// A WebSocket frame header as it stands at the start of a buffer (RFC 6455 §5.2), not yet
/// checked against the framing rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct WsHeader {
    /// FIN: the last frame of a message.
    pub fin: bool,
    /// RSV1..3 (non-zero only with an extension).
    pub rsv: u8,
    /// Opcode (0 continuation, 1 text, 2 binary, 8 close, 9 ping, 10 pong).
    pub opcode: u8,
    /// Masking key, when the MASK bit is set.
    pub mask: Option<[u8; 4]>,
    /// Payload length (7-bit, 16-bit or 64-bit form).
    pub payload_len: u64,
    /// Header bytes: 2, plus 2 or 8 of extended length, plus 4 of key.
    pub len: usize,
}

/// Reads the frame header at the start of `buf`; `None` when `buf` is shorter than it.
pub(crate) fn read_header(buf: &[u8]) -> Option<WsHeader> {
    let (&first, &second) = (buf.first()?, buf.get(1)?);
    let len = header_len(buf);
    let head = buf.get(..len)?;
    let (payload_len, key_at) = match second & 0x7f {
        126 => (u64::from(be_u16(head, 2)), 4),
        127 => (u64::from_be_bytes(head.get(2..10)?.try_into().ok()?), 10),
        n => (u64::from(n), 2),
    };
    let mask = if second & 0x80 != 0 {
        Some(head.get(key_at..key_at + 4)?.try_into().ok()?)
    } else {
        None
    };
    Some(WsHeader {
        fin: first & 0x80 != 0,
        rsv: (first >> 4) & 0x07,
        opcode: first & 0x0f,
        mask,
        payload_len,
        len,
    })
}

/// Header length implied by the bytes read so far (RFC 6455 §5.2).
fn header_len(partial: &[u8]) -> usize {
    let Some(&second) = partial.get(1) else {
        return 2;
    };
    let ext = match second & 0x7f {
        126 => 2,
        127 => 8,
        _ => 0,
    };
    let mask = if second & 0x80 != 0 { 4 } else { 0 };
    2 + ext + mask
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collect(dec: &mut WsDecoder, chunks: &[&[u8]]) -> Result<Vec<u8>, WsError> {
        let mut out = Vec::new();
        for c in chunks {
            dec.push(c, &mut |p| out.extend_from_slice(p))?;
        }
        Ok(out)
    }

    #[test]
    fn masked_frame_is_unmasked_even_when_split_anywhere() {
        // RFC 6455 §5.7 example: masked "Hello".
        let frame = [
            0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58,
        ];
        for cut in 0..frame.len() {
            let mut dec = WsDecoder::new();
            let out = collect(&mut dec, &[&frame[..cut], &frame[cut..]]).expect("valid");
            assert_eq!(out, b"Hello", "cut at {cut}");
        }
    }

    #[test]
    fn fragmented_message_with_interleaved_ping() {
        // RFC 6455 §5.7: "Hel" + ping + "lo".
        let bytes = [
            0x01, 0x03, b'H', b'e', b'l', 0x89, 0x00, 0x80, 0x02, b'l', b'o',
        ];
        let mut dec = WsDecoder::new();
        assert_eq!(collect(&mut dec, &[&bytes]).expect("valid"), b"Hello");
    }

    #[test]
    fn sixteen_and_sixty_four_bit_lengths() {
        let mut frame = vec![0x82, 126, 0x01, 0x00];
        frame.extend(std::iter::repeat_n(7u8, 256));
        let mut dec = WsDecoder::new();
        assert_eq!(collect(&mut dec, &[&frame]).expect("valid").len(), 256);
        let mut big = vec![0x82, 127, 0, 0, 0, 0, 0, 0, 0x01, 0x00];
        big.extend(std::iter::repeat_n(7u8, 256));
        let mut dec = WsDecoder::new();
        assert_eq!(collect(&mut dec, &[&big]).expect("valid").len(), 256);
    }

    #[test]
    fn close_frame_is_noted_and_bad_control_frame_rejected() {
        let mut dec = WsDecoder::new();
        collect(&mut dec, &[&[0x88, 0x02, 0x03, 0xe8]]).expect("valid close");
        assert!(dec.closed);
        let mut dec = WsDecoder::new();
        assert_eq!(
            collect(&mut dec, &[&[0x09, 0x00]]),
            Err(WsError::BadControlFrame(9))
        );
    }

    /// A masked binary frame carrying `payload`.
    fn masked(payload: &[u8]) -> Vec<u8> {
        let key = [0xa1, 0xb2, 0xc3, 0xd4];
        let mut f = vec![0x82, 0x80 | payload.len() as u8];
        f.extend_from_slice(&key);
        f.extend(payload.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
        f
    }

    #[test]
    fn gap_inside_a_payload_keeps_frame_sync_and_the_mask_phase() {
        let frame = masked(b"\x30\x07\x00\x01tpayl");
        let mut dec = WsDecoder::new();
        let mut out = Vec::new();
        dec.push(&frame[..8], &mut |p| out.extend_from_slice(p))
            .expect("valid");
        assert!(dec.gap(3, true), "a gap inside the payload keeps sync");
        dec.push(&frame[11..], &mut |p| out.extend_from_slice(p))
            .expect("valid");
        assert_eq!(out, b"\x30\x07payl");
        assert_eq!(dec.take_resync(), None);
    }

    #[test]
    fn gap_across_a_header_resynchronises_on_the_next_credible_frame() {
        let pingreq = masked(&[0xc0, 0x00]);
        let publish = masked(b"\x30\x05\x00\x01tpa");
        // Garbage that looks like frame headers with the wrong mask bit or an opcode of text.
        let mut after = vec![0x02, 0x82, 0x81, 0x02, 0x00];
        let skip = after.len() as u64;
        after.extend_from_slice(&pingreq);
        after.extend_from_slice(&publish);
        let mut dec = WsDecoder::new();
        let mut out = Vec::new();
        dec.push(&publish[..4], &mut |p| out.extend_from_slice(p))
            .expect("valid");
        assert!(!dec.gap(100, true));
        assert!(dec.resyncing());
        for b in &after {
            dec.push(&[*b], &mut |p| out.extend_from_slice(p))
                .expect("valid");
        }
        assert_eq!(dec.take_resync(), Some(skip));
        assert_eq!(out, b"\xc0\x00\x30\x05\x00\x01tpa");
        // Server-to-client frames are never masked: the same bytes do not resync there.
        let mut dec = WsDecoder::new();
        assert!(!dec.gap(1, false));
        dec.push(&pingreq, &mut |_| {}).expect("valid");
        assert_eq!(dec.take_resync(), None);
    }

    proptest::proptest! {
        /// Whatever was lost before a frame boundary, every frame from that boundary on is
        /// delivered exactly (the first candidate checked is the real header).
        #[test]
        fn after_a_gap_ending_at_a_frame_boundary_every_later_frame_is_delivered(
            payloads in proptest::collection::vec(
                (proptest::collection::vec(proptest::prelude::any::<u8>(), 0..40), 0u8..3),
                2..12,
            ),
            start_pick in proptest::prelude::any::<proptest::sample::Index>(),
            boundary_pick in proptest::prelude::any::<proptest::sample::Index>(),
            chunk in 1usize..50,
        ) {
            // Frames of PINGREQ or a QoS 0 PUBLISH with a short topic and the random payload.
            let packets: Vec<Vec<u8>> = payloads
                .iter()
                .map(|(body, kind)| match kind {
                    0 => vec![0xc0, 0x00],
                    _ => {
                        let mut p = vec![0x30, (4 + body.len()) as u8, 0, 2, b'a', b'b'];
                        p.extend_from_slice(body);
                        p
                    }
                })
                .collect();
            let frames: Vec<Vec<u8>> = packets.iter().map(|p| masked(p)).collect();
            let mut starts = Vec::new();
            let mut stream = Vec::new();
            for f in &frames {
                starts.push(stream.len());
                stream.extend_from_slice(f);
            }
            let b = 1 + boundary_pick.index(frames.len() - 1);
            let q = starts[b];
            let p = start_pick.index(q);
            let mut dec = WsDecoder::new();
            let mut out = Vec::new();
            dec.push(&stream[..p], &mut |x| out.extend_from_slice(x)).expect("valid");
            let before = out.clone();
            dec.gap((q - p) as u64, true);
            for piece in stream[q..].chunks(chunk) {
                dec.push(piece, &mut |x| out.extend_from_slice(x)).expect("valid");
            }
            let want: Vec<u8> = packets[b..].concat();
            proptest::prop_assert_eq!(&out[before.len()..], &want[..]);
        }

        /// Any bytes after a gap, either mask expectation: no panic, and memory held while
        /// resynchronising stays small.
        #[test]
        fn resynchronising_on_arbitrary_bytes_never_panics_and_holds_little(
            junk in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..2000),
            masked_dir in proptest::prelude::any::<bool>(),
            chunk in 1usize..300,
        ) {
            let mut dec = WsDecoder::new();
            dec.gap(10, masked_dir);
            for piece in junk.chunks(chunk) {
                let _ = dec.push(piece, &mut |_| {});
                if let Some(r) = dec.resync.as_ref() {
                    proptest::prop_assert!(r.buf.len() <= 14 + RESYNC_PEEK + chunk);
                }
            }
        }
    }

    #[test]
    fn upgrade_request_with_mqtt_subprotocol() {
        let req = b"GET /mqtt HTTP/1.1\r\nHost: b\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
Sec-WebSocket-Protocol: mqtt\r\n\r\n\x82";
        let head = parse_http_head(req).expect("http").expect("complete");
        assert!(head.is_request && head.upgrade_websocket && head.mqtt_subprotocol);
        assert_eq!(head.len, req.len() - 1);
        let resp = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n";
        let head = parse_http_head(resp).expect("http").expect("complete");
        assert_eq!(head.status, Some(101));
        assert_eq!(parse_http_head(b"GET / HT"), Ok(None));
        assert_eq!(parse_http_head(b"\x10\x0c\x00\x04MQTT"), Err(()));
    }
}
