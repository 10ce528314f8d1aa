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

    /// Feeds stream bytes; data-frame payload pieces (unmasked) go to `out`.
    pub fn push(&mut self, mut data: &[u8], out: &mut dyn FnMut(&[u8])) -> Result<(), WsError> {
        if self.failed {
            return Ok(());
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
        let h = &self.header;
        let fin = h[0] & 0x80 != 0;
        let rsv = (h[0] >> 4) & 0x07;
        let opcode = h[0] & 0x0f;
        let masked = h[1] & 0x80 != 0;
        let len7 = h[1] & 0x7f;
        if rsv != 0 {
            return Err(WsError::ReservedBits(rsv));
        }
        let (len, at) = match len7 {
            126 => (u64::from(u16::from_be_bytes([h[2], h[3]])), 4),
            127 => {
                let mut b = [0u8; 8];
                b.copy_from_slice(&h[2..10]);
                let len = u64::from_be_bytes(b);
                if len >> 63 != 0 {
                    return Err(WsError::BadLength);
                }
                (len, 10)
            }
            n => (u64::from(n), 2),
        };
        let mask = masked.then(|| [h[at], h[at + 1], h[at + 2], h[at + 3]]);
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
