//! MQTT over TLS (port 8883): metadata only. The record layer (RFC 8446 §5.1) is followed to
//! count application-data bytes, and the first handshake messages are read for the version
//! (ServerHello, with the `supported_versions` extension for TLS 1.3) and the server name
//! (ClientHello SNI, RFC 6066 §3). Nothing is decrypted.

/// Largest handshake prefix buffered (ClientHello/ServerHello fit easily).
const MAX_HANDSHAKE: usize = 64 * 1024;

/// What one direction's records told us so far.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TlsFindings {
    /// Version offered (ClientHello) or chosen (ServerHello).
    pub version: Option<u16>,
    /// Server name from the ClientHello.
    pub sni: Option<String>,
    /// Whether a ServerHello was read (its version is the negotiated one).
    pub server_hello: bool,
}

/// One direction of the TLS record layer.
#[derive(Debug, Default)]
pub struct TlsDirection {
    header: [u8; 5],
    header_len: usize,
    record_type: u8,
    remaining: usize,
    handshake: Vec<u8>,
    handshake_done: bool,
    /// Application-data record payload bytes.
    pub app_bytes: u64,
    /// Not TLS after all (or lost after a gap): only counting stopped.
    pub lost: bool,
    /// What was learned.
    pub findings: TlsFindings,
}

impl TlsDirection {
    /// A direction at a record boundary.
    pub fn new() -> TlsDirection {
        TlsDirection::default()
    }

    /// Feeds stream bytes; returns true when `findings` changed.
    pub fn push(&mut self, mut data: &[u8]) -> bool {
        let before = self.findings.clone();
        while !data.is_empty() && !self.lost {
            if self.header_len < 5 {
                let take = (5 - self.header_len).min(data.len());
                if let (Some(dst), Some(src)) = (
                    self.header.get_mut(self.header_len..self.header_len + take),
                    data.get(..take),
                ) {
                    dst.copy_from_slice(src);
                }
                self.header_len += take;
                data = data.get(take..).unwrap_or(&[]);
                if self.header_len == 5 {
                    let [kind, major, _, hi, lo] = self.header;
                    // Content types 20–24 (RFC 8446 §5.1, RFC 6520) and version 3.x.
                    if !(20..=24).contains(&kind) || major != 3 {
                        self.lost = true;
                        break;
                    }
                    self.record_type = kind;
                    self.remaining = usize::from(u16::from_be_bytes([hi, lo]));
                    if self.remaining == 0 {
                        self.header_len = 0;
                    }
                }
                continue;
            }
            let take = self.remaining.min(data.len());
            let (piece, rest) = data.split_at(take);
            match self.record_type {
                23 => self.app_bytes += take as u64,
                22 if !self.handshake_done => {
                    let room = MAX_HANDSHAKE.saturating_sub(self.handshake.len());
                    self.handshake
                        .extend_from_slice(piece.get(..room.min(piece.len())).unwrap_or(&[]));
                    self.parse_handshake();
                }
                _ => {}
            }
            self.remaining -= take;
            data = rest;
            if self.remaining == 0 {
                self.header_len = 0;
            }
        }
        before != self.findings
    }

    /// Bytes were lost: the record boundary is unknown from here on.
    pub fn gap(&mut self) {
        self.lost = true;
    }

    fn parse_handshake(&mut self) {
        // Handshake header: type (1), length (3) (RFC 8446 §4).
        let Some(&[kind, a, b, c]) = self
            .handshake
            .get(..4)
            .and_then(|s| <&[u8; 4]>::try_from(s).ok())
        else {
            return;
        };
        let len = (usize::from(a) << 16) | (usize::from(b) << 8) | usize::from(c);
        let body = self.handshake.get(4..).unwrap_or(&[]);
        let body = body.get(..len.min(body.len())).unwrap_or(body);
        let complete = body.len() >= len || self.handshake.len() >= MAX_HANDSHAKE;
        if !complete {
            return;
        }
        match kind {
            1 => {
                if let Some((version, sni)) = parse_client_hello(body) {
                    self.findings.version = Some(version);
                    self.findings.sni = sni;
                }
            }
            2 => {
                if let Some(version) = parse_server_hello(body) {
                    self.findings.version = Some(version);
                    self.findings.server_hello = true;
                }
            }
            _ => {}
        }
        self.handshake_done = true;
        self.handshake = Vec::new();
    }
}

/// A checked cursor over handshake bytes.
struct Reader<'a> {
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let (head, rest) = (self.buf.get(..n)?, self.buf.get(n..)?);
        self.buf = rest;
        Some(head)
    }
    fn u8(&mut self) -> Option<u8> {
        self.take(1)?.first().copied()
    }
    fn u16(&mut self) -> Option<u16> {
        let b = self.take(2)?;
        Some(u16::from_be_bytes([*b.first()?, *b.get(1)?]))
    }
    fn vec8(&mut self) -> Option<&'a [u8]> {
        let n = self.u8()?;
        self.take(usize::from(n))
    }
    fn vec16(&mut self) -> Option<&'a [u8]> {
        let n = self.u16()?;
        self.take(usize::from(n))
    }
}

/// ClientHello (RFC 8446 §4.1.2): highest offered version and SNI.
fn parse_client_hello(body: &[u8]) -> Option<(u16, Option<String>)> {
    let mut r = Reader { buf: body };
    let legacy_version = r.u16()?;
    r.take(32)?; // random
    r.vec8()?; // session id
    r.vec16()?; // cipher suites
    r.vec8()?; // compression methods
    let mut version = legacy_version;
    let mut sni = None;
    let Some(extensions) = r.vec16() else {
        return Some((version, sni));
    };
    let mut ext = Reader { buf: extensions };
    while let (Some(kind), Some(data)) = (ext.u16(), ext.vec16()) {
        match kind {
            0 => {
                let mut list = Reader { buf: data };
                let mut names = Reader { buf: list.vec16()? };
                while let (Some(name_type), Some(name)) = (names.u8(), names.vec16()) {
                    if name_type == 0 {
                        sni = Some(String::from_utf8_lossy(name).into_owned());
                        break;
                    }
                }
            }
            43 => {
                let mut versions = Reader {
                    buf: Reader { buf: data }.vec8()?,
                };
                while let Some(v) = versions.u16() {
                    // Skip GREASE values (RFC 8701: 0x?a?a).
                    if v & 0x0f0f != 0x0a0a && v > version {
                        version = v;
                    }
                }
            }
            _ => {}
        }
    }
    Some((version, sni))
}

/// ServerHello (RFC 8446 §4.1.3): the negotiated version.
fn parse_server_hello(body: &[u8]) -> Option<u16> {
    let mut r = Reader { buf: body };
    let legacy_version = r.u16()?;
    r.take(32)?;
    r.vec8()?;
    r.u16()?; // cipher suite
    r.u8()?; // compression
    let Some(extensions) = r.vec16() else {
        return Some(legacy_version);
    };
    let mut ext = Reader { buf: extensions };
    while let (Some(kind), Some(data)) = (ext.u16(), ext.vec16()) {
        if kind == 43 {
            return Reader { buf: data }.u16();
        }
    }
    Some(legacy_version)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client_hello(sni: &str, versions: &[u16]) -> Vec<u8> {
        let mut exts = Vec::new();
        let name = sni.as_bytes();
        let mut sni_ext = Vec::new();
        sni_ext.extend_from_slice(&((name.len() + 3) as u16).to_be_bytes());
        sni_ext.push(0);
        sni_ext.extend_from_slice(&(name.len() as u16).to_be_bytes());
        sni_ext.extend_from_slice(name);
        exts.extend_from_slice(&0u16.to_be_bytes());
        exts.extend_from_slice(&(sni_ext.len() as u16).to_be_bytes());
        exts.extend_from_slice(&sni_ext);
        let mut sv = vec![(versions.len() * 2) as u8];
        for v in versions {
            sv.extend_from_slice(&v.to_be_bytes());
        }
        exts.extend_from_slice(&43u16.to_be_bytes());
        exts.extend_from_slice(&(sv.len() as u16).to_be_bytes());
        exts.extend_from_slice(&sv);
        let mut body = vec![0x03, 0x03];
        body.extend_from_slice(&[0u8; 32]);
        body.push(0); // session id
        body.extend_from_slice(&[0x00, 0x02, 0x13, 0x01]); // one suite
        body.extend_from_slice(&[0x01, 0x00]); // null compression
        body.extend_from_slice(&(exts.len() as u16).to_be_bytes());
        body.extend_from_slice(&exts);
        let mut hs = vec![1u8];
        hs.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
        hs.extend_from_slice(&body);
        let mut rec = vec![22u8, 3, 1];
        rec.extend_from_slice(&(hs.len() as u16).to_be_bytes());
        rec.extend_from_slice(&hs);
        rec
    }

    #[test]
    fn client_hello_gives_sni_and_highest_version_across_any_split() {
        let rec = client_hello("broker.example", &[0x3a3a, 0x0304, 0x0303]);
        for cut in 0..rec.len() {
            let mut dir = TlsDirection::new();
            dir.push(&rec[..cut]);
            dir.push(&rec[cut..]);
            assert_eq!(
                dir.findings.sni.as_deref(),
                Some("broker.example"),
                "cut {cut}"
            );
            assert_eq!(dir.findings.version, Some(0x0304));
        }
    }

    #[test]
    fn application_data_is_counted_and_non_tls_is_dropped() {
        let mut dir = TlsDirection::new();
        dir.push(&[23, 3, 3, 0, 4, 1, 2, 3, 4, 23, 3, 3, 0, 2, 9]);
        dir.push(&[9]);
        assert_eq!(dir.app_bytes, 6);
        let mut plain = TlsDirection::new();
        plain.push(b"\x10\x0c\x00\x04MQTT");
        assert!(plain.lost);
    }
}
