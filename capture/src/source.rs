//! Saved captures: pcap (µs and ns, both byte orders) and pcapng (several interfaces, each with its
//! own link type and time resolution), optionally gzip-compressed, read as a stream.
//!
//! Files are read with the pure-Rust `pcap-parser` (not libpcap) because it streams from any
//! `Read` (so `.gz` needs no temporary file), borrows frame bytes from its buffer (zero copy), and
//! tells exactly where a file is truncated or corrupt, so every complete record before the damage
//! is still delivered. See `docs/capture.md`.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use dissector::input::Timestamp;
use pcap_parser::pcapng::Block;
use pcap_parser::traits::{PcapNGPacketBlock, PcapReaderIterator};
use pcap_parser::{LegacyPcapReader, PcapBlockOwned, PcapError, PcapNGReader};

use crate::error::CaptureError;

/// One captured frame, borrowed from the source's buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RawFrame<'a> {
    /// Frame number, 1-based, as Wireshark's `frame.number`.
    pub number: u64,
    /// Capture time.
    pub ts: Timestamp,
    /// Link-layer type (the pcap LINKTYPE_* value, e.g. 1 = Ethernet).
    pub linktype: u32,
    /// Bytes captured (may be less than `wire_len` when cut by the snap length).
    pub caplen: u32,
    /// Length of the frame on the wire.
    pub wire_len: u32,
    /// The captured bytes.
    pub data: &'a [u8],
}

/// Initial read buffer: large enough for any Ethernet frame with room to spare.
const INITIAL_BUFFER: usize = 1 << 20;
/// Largest record we accept. Wireshark refuses records over 256 KiB for most link types; we allow
/// more for pcapng blocks with big options, but a record header claiming more is corrupt.
const MAX_RECORD: usize = 16 << 20;
/// Largest legacy pcap record when the file's snap length does not say otherwise (libpcap's
/// MAXIMUM_SNAPLEN).
const MAX_LEGACY_RECORD: u32 = 262_144;

/// A pcapng interface: what its packets' link type and timestamps mean.
#[derive(Debug, Clone, Copy)]
struct Interface {
    linktype: u32,
    /// Timestamp units per second.
    units_per_sec: u64,
    /// Seconds to add to every timestamp (if_tsoffset).
    offset_secs: i64,
}

/// What kind of file, once its header was read.
#[derive(Debug)]
enum Format {
    /// Before the first header block.
    Unknown,
    /// Legacy pcap.
    Pcap {
        linktype: u32,
        nanos: bool,
        max_record: u32,
        /// Record headers are big-endian.
        big_endian: bool,
    },
    /// pcapng: interfaces of the current section.
    PcapNg { interfaces: Vec<Interface> },
}

/// Counts bytes read from the underlying file, for progress reports.
struct CountingReader<R> {
    inner: R,
    count: Arc<AtomicU64>,
}

impl<R: Read> Read for CountingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// Fills the whole buffer unless the input ends: pcap-parser takes a short read as "no more
/// data", and decompressors return short reads all the time.
struct FullReader<R> {
    inner: R,
    /// Set when the input ended in the middle of a compressed stream (a cut `.gz`): the
    /// decoder's `UnexpectedEof` is turned into an end of input here and into
    /// [`CaptureError::Truncated`] by the source.
    cut: Option<Arc<AtomicBool>>,
}

impl<R: Read> Read for FullReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let mut filled = 0;
        while filled < buf.len() {
            match self.inner.read(&mut buf[filled..]) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e)
                    if e.kind() == std::io::ErrorKind::UnexpectedEof
                        && let Some(cut) = &self.cut =>
                {
                    cut.store(true, Ordering::Relaxed);
                    break;
                }
                Err(e) => {
                    if filled > 0 {
                        break;
                    }
                    return Err(e);
                }
            }
        }
        Ok(filled)
    }
}

/// A saved capture read as a stream of [`RawFrame`]s.
pub struct FileSource {
    reader: Box<dyn PcapReaderIterator + Send>,
    what: String,
    format: Format,
    /// Bytes of the block last returned, consumed on the next call.
    pending_consume: usize,
    /// Offset of the next record in the (decompressed) stream.
    offset: u64,
    frames: u64,
    capacity: usize,
    file_read: Arc<AtomicU64>,
    total: Option<u64>,
    /// The compressed input ended early (see `FullReader::cut`).
    input_cut: Arc<AtomicBool>,
}

impl std::fmt::Debug for FileSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileSource")
            .field("what", &self.what)
            .field("offset", &self.offset)
            .field("frames", &self.frames)
            .finish_non_exhaustive()
    }
}

impl FileSource {
    /// Opens a pcap, pcapng or gzip-compressed capture (recognised by content, not by name).
    pub fn open(path: &Path) -> Result<FileSource, CaptureError> {
        let file = File::open(path).map_err(|source| CaptureError::Open {
            path: path.to_path_buf(),
            source,
        })?;
        let total = file.metadata().ok().map(|m| m.len());
        let mut source = FileSource::from_reader(file, &path.display().to_string())?;
        source.total = total;
        Ok(source)
    }

    /// Reads a capture from any byte stream; `what` names it in error messages.
    pub fn from_reader<R: Read + Send + 'static>(
        reader: R,
        what: &str,
    ) -> Result<FileSource, CaptureError> {
        let file_read = Arc::new(AtomicU64::new(0));
        let counting = CountingReader {
            inner: reader,
            count: Arc::clone(&file_read),
        };
        let mut buffered = BufReader::with_capacity(64 * 1024, counting);
        let head = buffered.fill_buf().map_err(|e| CaptureError::Read {
            offset: 0,
            detail: e.to_string(),
        })?;
        // RFC 1952 §2.3.1: a gzip member starts with 1f 8b.
        let input_cut = Arc::new(AtomicBool::new(false));
        let inner: Box<dyn Read + Send> = if head.starts_with(&[0x1f, 0x8b]) {
            Box::new(FullReader {
                inner: BufReader::with_capacity(
                    64 * 1024,
                    flate2::bufread::MultiGzDecoder::new(buffered),
                ),
                cut: Some(Arc::clone(&input_cut)),
            })
        } else {
            Box::new(FullReader {
                inner: buffered,
                cut: None,
            })
        };
        match FileSource::from_stream(inner, what, file_read) {
            Ok(mut source) => {
                source.input_cut = input_cut;
                Ok(source)
            }
            // A gzip cut before four bytes decompress looks empty or unrecognisable (the magic
            // is "aa bb cc dd", 11 characters, when complete): it is truncated.
            Err(CaptureError::Empty { .. }) if input_cut.load(Ordering::Relaxed) => {
                Err(CaptureError::Truncated {
                    offset: 0,
                    frames: 0,
                })
            }
            Err(CaptureError::NotACapture { magic, .. })
                if magic.len() < 11 && input_cut.load(Ordering::Relaxed) =>
            {
                Err(CaptureError::Truncated {
                    offset: 0,
                    frames: 0,
                })
            }
            Err(e) => Err(e),
        }
    }

    fn from_stream(
        mut stream: Box<dyn Read + Send>,
        what: &str,
        file_read: Arc<AtomicU64>,
    ) -> Result<FileSource, CaptureError> {
        let mut magic = [0u8; 4];
        let n = stream.read(&mut magic).map_err(|e| CaptureError::Read {
            offset: 0,
            detail: e.to_string(),
        })?;
        if n == 0 {
            return Err(CaptureError::Empty {
                what: what.to_string(),
            });
        }
        let head = &magic[..n];
        let is_pcapng = head == [0x0a, 0x0d, 0x0d, 0x0a];
        let is_pcap = matches!(
            head,
            [0xd4, 0xc3, 0xb2, 0xa1]
                | [0xa1, 0xb2, 0xc3, 0xd4]
                | [0x4d, 0x3c, 0xb2, 0xa1]
                | [0xa1, 0xb2, 0x3c, 0x4d]
        );
        if !is_pcap && !is_pcapng {
            let magic = head
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<Vec<_>>()
                .join(" ");
            return Err(CaptureError::NotACapture {
                what: what.to_string(),
                magic,
            });
        }
        // Give the magic back to the parser.
        let chained: Box<dyn Read + Send> = Box::new(FullReader {
            inner: std::io::Cursor::new(magic[..n].to_vec()).chain(stream),
            cut: None,
        });
        let header_error = |e: PcapError<&[u8]>| match e {
            PcapError::Incomplete(_) | PcapError::UnexpectedEof | PcapError::Eof => {
                CaptureError::Truncated {
                    offset: 0,
                    frames: 0,
                }
            }
            other => CaptureError::Corrupt {
                offset: 0,
                detail: format!("bad file header ({other:?})"),
                frames: 0,
            },
        };
        let reader: Box<dyn PcapReaderIterator + Send> = if is_pcapng {
            Box::new(PcapNGReader::new(INITIAL_BUFFER, chained).map_err(header_error)?)
        } else {
            Box::new(LegacyPcapReader::new(INITIAL_BUFFER, chained).map_err(header_error)?)
        };
        Ok(FileSource {
            reader,
            what: what.to_string(),
            format: Format::Unknown,
            pending_consume: 0,
            offset: 0,
            frames: 0,
            capacity: INITIAL_BUFFER,
            file_read,
            total: None,
            input_cut: Arc::new(AtomicBool::new(false)),
        })
    }

    /// Bytes read so far from the file itself (compressed bytes for `.gz`), for progress.
    pub fn bytes_read(&self) -> u64 {
        self.file_read.load(Ordering::Relaxed)
    }

    /// Size of the file, when known.
    pub fn total_bytes(&self) -> Option<u64> {
        self.total
    }

    /// Frames delivered so far.
    pub fn frames(&self) -> u64 {
        self.frames
    }

    /// Reads the next frame and hands it to `f`; `Ok(None)` at the clean end of the capture.
    ///
    /// A callback rather than a returned borrow: the frame lives in the reader's buffer, which
    /// the next call reuses.
    pub fn next_with<T>(
        &mut self,
        f: impl FnOnce(&RawFrame<'_>) -> T,
    ) -> Result<Option<T>, CaptureError> {
        loop {
            if self.pending_consume > 0 {
                self.reader.consume_noshift(self.pending_consume);
                self.offset += self.pending_consume as u64;
                self.pending_consume = 0;
            }
            let step = match self.reader.next() {
                Ok((len, block)) => {
                    self.pending_consume = len;
                    match classify_block(&mut self.format, block, self.frames + 1, self.offset) {
                        Ok(Some(frame)) => {
                            self.frames += 1;
                            return Ok(Some(f(&frame)));
                        }
                        Ok(None) => Step::Continue,
                        Err(detail) => Step::Fail(CaptureError::Corrupt {
                            offset: self.offset,
                            detail,
                            frames: self.frames,
                        }),
                    }
                }
                Err(PcapError::Eof) => Step::End,
                Err(PcapError::Incomplete(_)) => Step::Refill,
                Err(PcapError::UnexpectedEof) => Step::Fail(CaptureError::Truncated {
                    offset: self.offset,
                    frames: self.frames,
                }),
                Err(PcapError::BufferTooSmall) => Step::Grow,
                Err(PcapError::ReadError) => Step::Fail(CaptureError::Read {
                    offset: self.offset,
                    detail: "read or decompression failed".to_string(),
                }),
                Err(other) => Step::Fail(CaptureError::Corrupt {
                    offset: self.offset,
                    detail: describe_parse_error(&other),
                    frames: self.frames,
                }),
            };
            match step {
                Step::Continue => {}
                Step::End if self.input_cut.load(Ordering::Relaxed) => {
                    return Err(CaptureError::Truncated {
                        offset: self.offset,
                        frames: self.frames,
                    });
                }
                Step::End => return Ok(None),
                Step::Fail(e) => return Err(e),
                // A record header claiming more than the file allows is corrupt, whether or not
                // the file has that many bytes left: say so before waiting for them.
                Step::Refill if self.claim_too_large() => {
                    return Err(CaptureError::Corrupt {
                        offset: self.offset,
                        detail: format!(
                            "record claims {} bytes, more than the {} allowed",
                            self.claimed_record_len().unwrap_or(0),
                            self.record_limit()
                        ),
                        frames: self.frames,
                    });
                }
                Step::Refill => self.refill()?,
                Step::Grow => self.grow()?,
            }
        }
    }

    fn refill(&mut self) -> Result<(), CaptureError> {
        self.reader.refill().map_err(|_| CaptureError::Read {
            offset: self.offset,
            detail: "read or decompression failed".to_string(),
        })
    }

    /// Largest record (with its header) the file's own header allows.
    fn record_limit(&self) -> usize {
        match self.format {
            Format::Pcap { max_record, .. } => max_record as usize + 16,
            _ => MAX_RECORD,
        }
    }

    /// Whether the next record's header claims more than [`FileSource::record_limit`], or (an
    /// pcapng Enhanced Packet Block) more captured bytes than its own block holds.
    fn claim_too_large(&self) -> bool {
        self.claimed_record_len()
            .is_some_and(|c| c > self.record_limit())
            || self.epb_caplen_beyond_block()
    }

    /// pcapng §4.3: an EPB is 28 bytes of header fields, the packet data padded to 32 bits, and
    /// the 4-byte trailing length; a captured length beyond that cannot be.
    fn epb_caplen_beyond_block(&self) -> bool {
        if !matches!(self.format, Format::PcapNg { .. }) {
            return false;
        }
        let data = self.reader.data();
        let word = |at: usize| -> Option<[u8; 4]> { data.get(at..at + 4)?.try_into().ok() };
        let (Some(kind), Some(block_len), Some(caplen)) = (word(0), word(4), word(20)) else {
            return false;
        };
        // The block type (6) tells the section's byte order.
        let read = if u32::from_le_bytes(kind) == 6 {
            u32::from_le_bytes
        } else if u32::from_be_bytes(kind) == 6 {
            u32::from_be_bytes
        } else {
            return false;
        };
        u64::from(read(caplen)) + 32 > u64::from(read(block_len))
    }

    /// The next record does not fit the buffer: a big record, or a corrupt length.
    fn grow(&mut self) -> Result<(), CaptureError> {
        let claimed = self.claimed_record_len();
        let limit = self.record_limit();
        if claimed.is_some_and(|c| c > limit) || self.capacity >= MAX_RECORD {
            return Err(CaptureError::Corrupt {
                offset: self.offset,
                detail: format!(
                    "record claims {} bytes, more than the {} allowed",
                    claimed.unwrap_or(self.capacity),
                    limit
                ),
                frames: self.frames,
            });
        }
        let new_size = (self.capacity * 2).min(MAX_RECORD);
        if !self.reader.grow(new_size) {
            return Err(CaptureError::Corrupt {
                offset: self.offset,
                detail: "record too large to buffer".to_string(),
                frames: self.frames,
            });
        }
        self.capacity = new_size;
        self.refill()
    }

    /// The length the next record's header claims, read from the buffer.
    fn claimed_record_len(&self) -> Option<usize> {
        let data = self.reader.data();
        match self.format {
            Format::Pcap { big_endian, .. } => {
                let raw: [u8; 4] = data.get(8..12)?.try_into().ok()?;
                let caplen = if big_endian {
                    u32::from_be_bytes(raw)
                } else {
                    u32::from_le_bytes(raw)
                };
                Some(caplen as usize + 16)
            }
            _ => {
                let raw: [u8; 4] = data.get(4..8)?.try_into().ok()?;
                let le = u32::from_le_bytes(raw);
                let be = u32::from_be_bytes(raw);
                Some(le.min(be) as usize)
            }
        }
    }
}

/// What to do after one `next()` of the parser.
enum Step {
    Continue,
    End,
    Refill,
    Grow,
    Fail(CaptureError),
}

fn describe_parse_error(e: &PcapError<&[u8]>) -> String {
    match e {
        PcapError::HeaderNotRecognized => "block header not recognised".to_string(),
        PcapError::NomError(_, kind) => format!("unparsable block ({kind:?})"),
        PcapError::OwnedNomError(_, kind) => format!("unparsable block ({kind:?})"),
        other => format!("{other:?}"),
    }
}

/// Turns a parsed block into a frame, or records what a header block says. `Err` for a block
/// that contradicts the file (packet on an undeclared interface, impossible lengths).
fn classify_block<'a>(
    format: &mut Format,
    block: PcapBlockOwned<'a>,
    number: u64,
    _offset: u64,
) -> Result<Option<RawFrame<'a>>, String> {
    match block {
        PcapBlockOwned::LegacyHeader(header) => {
            *format = Format::Pcap {
                linktype: header.network.0 as u32,
                nanos: header.is_nanosecond_precision(),
                max_record: header.snaplen.max(MAX_LEGACY_RECORD),
                big_endian: header.is_bigendian(),
            };
            Ok(None)
        }
        PcapBlockOwned::Legacy(record) => {
            let Format::Pcap {
                linktype,
                nanos,
                max_record,
                ..
            } = *format
            else {
                return Err("pcap record before the file header".to_string());
            };
            if record.caplen > max_record {
                return Err(format!(
                    "record header claims {} captured bytes (snap length allows {max_record})",
                    record.caplen
                ));
            }
            let sub = if nanos {
                record.ts_usec
            } else {
                record.ts_usec.saturating_mul(1000)
            };
            Ok(Some(RawFrame {
                number,
                ts: Timestamp::from_parts(i64::from(record.ts_sec), sub),
                linktype,
                caplen: record.caplen,
                wire_len: record.origlen,
                data: record.data,
            }))
        }
        PcapBlockOwned::NG(block) => classify_ng_block(format, block, number),
    }
}

fn classify_ng_block<'a>(
    format: &mut Format,
    block: Block<'a>,
    number: u64,
) -> Result<Option<RawFrame<'a>>, String> {
    match block {
        Block::SectionHeader(_) => {
            // Interface ids restart in each section (pcapng §4.1).
            *format = Format::PcapNg {
                interfaces: Vec::new(),
            };
            Ok(None)
        }
        Block::InterfaceDescription(idb) => {
            let units_per_sec = idb.ts_resolution().unwrap_or(1_000_000).max(1);
            let interface = Interface {
                linktype: idb.linktype.0 as u32,
                units_per_sec,
                offset_secs: idb.if_tsoffset,
            };
            match format {
                Format::PcapNg { interfaces } => interfaces.push(interface),
                _ => {
                    *format = Format::PcapNg {
                        interfaces: vec![interface],
                    }
                }
            }
            Ok(None)
        }
        Block::EnhancedPacket(epb) => {
            let interface = ng_interface(format, epb.if_id)?;
            let units = (u64::from(epb.ts_high) << 32) | u64::from(epb.ts_low);
            let ts = ng_timestamp(units, interface);
            // EPB data is padded to 32 bits; caplen says how much is the frame (pcapng §4.3).
            let data = epb
                .data
                .get(..epb.caplen as usize)
                .ok_or_else(|| format!("packet block caplen {} exceeds its data", epb.caplen))?;
            Ok(Some(RawFrame {
                number,
                ts,
                linktype: interface.linktype,
                caplen: data.len() as u32,
                wire_len: epb.orig_len(),
                data,
            }))
        }
        Block::SimplePacket(spb) => {
            // pcapng §4.4: a Simple Packet Block belongs to interface 0 and has no timestamp.
            let interface = ng_interface(format, 0)?;
            let data = spb
                .data
                .get(..(spb.origlen as usize).min(spb.data.len()))
                .unwrap_or(spb.data);
            Ok(Some(RawFrame {
                number,
                ts: Timestamp(0),
                linktype: interface.linktype,
                caplen: data.len() as u32,
                wire_len: spb.orig_len(),
                data,
            }))
        }
        // Name resolution, statistics, comments, journal, secrets, custom and unknown blocks
        // carry no frames.
        _ => Ok(None),
    }
}

fn ng_interface(format: &Format, if_id: u32) -> Result<Interface, String> {
    match format {
        Format::PcapNg { interfaces } => interfaces
            .get(if_id as usize)
            .copied()
            .ok_or_else(|| format!("packet on interface {if_id}, which no block declared")),
        _ => Err("packet block before any section header".to_string()),
    }
}

/// pcapng timestamps count `units_per_sec` units since the epoch (plus if_tsoffset seconds).
fn ng_timestamp(units: u64, interface: Interface) -> Timestamp {
    let per_sec = interface.units_per_sec;
    let secs = units / per_sec;
    let frac = units % per_sec;
    let nanos = (u128::from(frac) * 1_000_000_000 / u128::from(per_sec)) as u32;
    let secs = i64::try_from(secs)
        .unwrap_or(i64::MAX)
        .saturating_add(interface.offset_secs);
    Timestamp::from_parts(secs, nanos)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ng_timestamp_converts_microsecond_and_nanosecond_units() {
        let micro = Interface {
            linktype: 1,
            units_per_sec: 1_000_000,
            offset_secs: 0,
        };
        assert_eq!(
            ng_timestamp(1_500_000_250, micro),
            Timestamp::from_parts(1500, 250_000)
        );
        let nano = Interface {
            units_per_sec: 1_000_000_000,
            ..micro
        };
        assert_eq!(
            ng_timestamp(2_000_000_007, nano),
            Timestamp::from_parts(2, 7)
        );
    }

    #[test]
    fn not_a_capture_names_the_first_bytes() {
        let err = FileSource::from_reader(std::io::Cursor::new(b"GET / HTTP".to_vec()), "x")
            .expect_err("text is not a capture");
        assert!(err.to_string().contains("47 45 54 20"), "{err}");
    }

    #[test]
    fn empty_input_is_reported() {
        let err = FileSource::from_reader(std::io::Cursor::new(Vec::new()), "x")
            .expect_err("empty is not a capture");
        assert!(matches!(err, CaptureError::Empty { .. }));
    }
}
