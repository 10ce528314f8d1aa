//! Saved captures: pcap (µs and ns, both byte orders) and pcapng (several interfaces, each with its
//! own link type and time resolution), optionally gzip-compressed, read as a stream.
//!
//! Files are read with the pure-Rust `pcap-parser` (not libpcap) because it streams from any
//! `Read` (so `.gz` needs no temporary file), borrows frame bytes from its buffer (zero copy), and
//! tells exactly where a file is truncated or corrupt, so every complete record before the damage
//! is still delivered. See `docs/capture.md`.

use std::fs::File;
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

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
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Interface {
    linktype: u32,
    /// Timestamp units per second.
    units_per_sec: u64,
    /// Seconds to add to every timestamp (if_tsoffset).
    offset_secs: i64,
}

/// What kind of file, once its header was read.
#[derive(Debug, Clone, PartialEq, Eq)]
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
    /// The input is gzip-compressed (offsets are then in the decompressed stream).
    compressed: bool,
    /// The file, when the capture can be re-read by offset (opened by path, not compressed).
    seekable: Option<PathBuf>,
    /// What each section's records mean, shared with the [`FrameReader`]s handed out.
    layout: Arc<Mutex<Layout>>,
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
        let meta = file.metadata().ok();
        let total = meta.as_ref().map(|m| m.len());
        // Only a regular file can be opened again and read by offset (not a pipe or a FIFO).
        let regular = meta.as_ref().is_some_and(std::fs::Metadata::is_file);
        let mut source = FileSource::from_reader(file, &path.display().to_string())?;
        source.total = total;
        if regular && !source.compressed {
            source.seekable = Some(path.to_path_buf());
        }
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
        let compressed = head.starts_with(&[0x1f, 0x8b]);
        let inner: Box<dyn Read + Send> = if compressed {
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
                source.compressed = compressed;
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
            compressed: false,
            seekable: None,
            layout: Arc::default(),
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

    /// Offset of the record last delivered by [`FileSource::next_with`] (its block or record
    /// header), in the file for uncompressed captures, in the decompressed stream for `.gz`.
    /// Valid inside the callback and until the next call.
    pub fn record_offset(&self) -> u64 {
        self.offset
    }

    /// A reader that reads frames again by [`FileSource::record_offset`], as Wireshark re-reads
    /// the selected frame from the file. `None` when the capture cannot be re-read by offset: a
    /// gzip file (no seeking in a deflate stream) or a source built from a reader. It shares
    /// what this source learns of the file's sections and interfaces as it reads on.
    pub fn frame_reader(&self) -> Option<FrameReader> {
        Some(FrameReader {
            path: self.seekable.clone()?,
            file: None,
            layout: Arc::clone(&self.layout),
        })
    }

    /// Reads the next frame and hands it to `f`; `Ok(None)` at the clean end of the capture.
    ///
    /// A callback rather than a returned borrow: the frame lives in the reader's buffer, which
    /// the next call reuses.
    pub fn next_with<T>(
        &mut self,
        f: impl FnOnce(&RawFrame<'_>) -> T,
    ) -> Result<Option<T>, CaptureError> {
        self.next_located(|frame, _| f(frame))
    }

    /// Like [`FileSource::next_with`], also handing over the frame's
    /// [`FileSource::record_offset`] (to index frames for a [`FrameReader`] while reading).
    pub fn next_located<T>(
        &mut self,
        f: impl FnOnce(&RawFrame<'_>, u64) -> T,
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
                    let starts_section = match &block {
                        PcapBlockOwned::LegacyHeader(h) => Some(h.is_bigendian()),
                        PcapBlockOwned::NG(Block::SectionHeader(shb)) => Some(shb.big_endian()),
                        _ => None,
                    };
                    let describes_interface =
                        matches!(block, PcapBlockOwned::NG(Block::InterfaceDescription(_)));
                    match classify_block(&mut self.format, block, self.frames + 1, self.offset) {
                        Ok(Some(frame)) => {
                            self.frames += 1;
                            return Ok(Some(f(&frame, self.offset)));
                        }
                        Ok(None) => {
                            if starts_section.is_some() || describes_interface {
                                self.layout
                                    .lock()
                                    .unwrap_or_else(PoisonError::into_inner)
                                    .update(self.offset, starts_section, &self.format);
                            }
                            Step::Continue
                        }
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

/// Most sections remembered for re-reading: a file of nothing but section headers must not
/// make the layout grow without bound (frames of later sections then cannot be re-read).
const MAX_SECTIONS: usize = 4096;
/// Most interfaces per section remembered for re-reading, for the same reason.
const MAX_INTERFACES: usize = 4096;

/// One section of a capture as far as it was read: where it starts and what its records mean.
#[derive(Debug, Clone)]
struct Section {
    /// Offset of its file header (pcap) or section header block (pcapng).
    start: u64,
    /// Its records are big-endian.
    big_endian: bool,
    /// Link type and time resolution of its records.
    format: Format,
}

/// The sections a [`FileSource`] has read, shared with its [`FrameReader`]s.
#[derive(Debug, Default)]
struct Layout {
    sections: Vec<Section>,
}

impl Layout {
    /// Takes in a header block read at `offset`: a new section (`starts_section` = its byte
    /// order), or an interface added to the current one.
    fn update(&mut self, offset: u64, starts_section: Option<bool>, format: &Format) {
        match starts_section {
            Some(big_endian) if self.sections.len() < MAX_SECTIONS => self.sections.push(Section {
                start: offset,
                big_endian,
                format: format.clone(),
            }),
            Some(_) => {}
            // One interface more: copy just it (cloning the whole list per block would be
            // quadratic in a file of many interface blocks).
            None => {
                if let Some(Section {
                    format: Format::PcapNg { interfaces: mine },
                    ..
                }) = self.sections.last_mut()
                    && let Format::PcapNg { interfaces } = format
                    && let Some(added) = interfaces.last()
                    && mine.len() < MAX_INTERFACES
                {
                    mine.push(*added);
                }
            }
        }
    }

    /// The section holding the record at `offset`.
    fn section_at(&self, offset: u64) -> Option<&Section> {
        let after = self.sections.partition_point(|s| s.start <= offset);
        self.sections.get(after.checked_sub(1)?)
    }
}

/// A frame read again from its file, owning its bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnedFrame {
    /// Frame number, 1-based.
    pub number: u64,
    /// Capture time.
    pub ts: Timestamp,
    /// Link-layer type (pcap LINKTYPE_*).
    pub linktype: u32,
    /// Length of the frame on the wire.
    pub wire_len: u32,
    /// The captured bytes.
    pub data: Vec<u8>,
}

impl OwnedFrame {
    /// Copies a borrowed frame.
    pub fn from_raw(frame: &RawFrame<'_>) -> OwnedFrame {
        OwnedFrame {
            number: frame.number,
            ts: frame.ts,
            linktype: frame.linktype,
            wire_len: frame.wire_len,
            data: frame.data.to_vec(),
        }
    }

    /// The frame as a [`RawFrame`] borrowing these bytes.
    pub fn as_raw(&self) -> RawFrame<'_> {
        RawFrame {
            number: self.number,
            ts: self.ts,
            linktype: self.linktype,
            caplen: u32::try_from(self.data.len()).unwrap_or(u32::MAX),
            wire_len: self.wire_len,
            data: &self.data,
        }
    }
}

/// Reads single frames of an uncompressed capture file by record offset (see
/// [`FileSource::frame_reader`]). Each read seeks and reads one record: nothing is cached.
#[derive(Debug)]
pub struct FrameReader {
    path: PathBuf,
    /// Opened on first use.
    file: Option<File>,
    layout: Arc<Mutex<Layout>>,
}

impl FrameReader {
    /// Reads the record at `offset` (a [`FileSource::record_offset`]) and numbers it `number`.
    /// An offset that holds no frame, or a file changed since it was read, is an error.
    pub fn read_frame_at(&mut self, offset: u64, number: u64) -> Result<OwnedFrame, CaptureError> {
        let section = self
            .layout
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .section_at(offset)
            .cloned()
            .ok_or_else(|| CaptureError::Corrupt {
                offset,
                detail: "no section of the file was read before this offset".to_string(),
                frames: 0,
            })?;
        let corrupt = |detail: String| CaptureError::Corrupt {
            offset,
            detail,
            frames: 0,
        };
        let read_error = |e: std::io::Error| CaptureError::Read {
            offset,
            detail: e.to_string(),
        };
        let file = match &mut self.file {
            Some(f) => f,
            None => {
                self.file
                    .insert(File::open(&self.path).map_err(|source| CaptureError::Open {
                        path: self.path.clone(),
                        source,
                    })?)
            }
        };
        file.seek(SeekFrom::Start(offset)).map_err(read_error)?;
        // Both formats start a record with a length we can read before the rest: pcap's
        // captured length at bytes 8..12 of its 16-byte header, pcapng's block length at 4..8.
        let (head_len, len_at) = match section.format {
            Format::Pcap { .. } => (16, 8),
            _ => (8, 4),
        };
        let mut record = vec![0u8; head_len];
        file.read_exact(&mut record).map_err(read_error)?;
        let raw: [u8; 4] = record
            .get(len_at..len_at + 4)
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| corrupt("short record header".to_string()))?;
        let claimed = if section.big_endian {
            u32::from_be_bytes(raw)
        } else {
            u32::from_le_bytes(raw)
        } as usize;
        let (total, limit) = match section.format {
            Format::Pcap { max_record, .. } => (claimed + 16, max_record as usize + 16),
            _ => (claimed, MAX_RECORD),
        };
        if total < head_len || total > limit {
            return Err(corrupt(format!("record claims {claimed} bytes")));
        }
        record.resize(total, 0);
        file.read_exact(&mut record[head_len..])
            .map_err(read_error)?;
        let mut format = section.format.clone();
        let block = match format {
            Format::Pcap { big_endian, .. } => {
                let parsed = if big_endian {
                    pcap_parser::parse_pcap_frame_be(&record)
                } else {
                    pcap_parser::parse_pcap_frame(&record)
                };
                parsed.map(|(_, b)| PcapBlockOwned::Legacy(b))
            }
            _ => {
                let parsed = if section.big_endian {
                    pcap_parser::pcapng::parse_block_be(&record)
                } else {
                    pcap_parser::pcapng::parse_block_le(&record)
                };
                parsed.map(|(_, b)| PcapBlockOwned::NG(b))
            }
        }
        .map_err(|e| corrupt(format!("unparsable record ({e:?})")))?;
        match classify_block(&mut format, block, number, offset) {
            Ok(Some(frame)) => Ok(OwnedFrame::from_raw(&frame)),
            Ok(None) => Err(corrupt(
                "the record at this offset is not a frame".to_string(),
            )),
            Err(detail) => Err(corrupt(detail)),
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

    /// Every frame of `path` read in order, with its record offset.
    fn frames_with_offsets(source: &mut FileSource) -> Vec<(u64, OwnedFrame)> {
        let mut out = Vec::new();
        while let Some(frame) = source
            .next_with(OwnedFrame::from_raw)
            .expect("sample reads")
        {
            out.push((source.record_offset(), frame));
        }
        out
    }

    #[test]
    fn every_frame_of_a_pcap_reads_back_identically_by_offset() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../samples/websocket.pcap");
        let mut source = FileSource::open(&path).expect("sample opens");
        let mut reader = source.frame_reader().expect("a plain file can be re-read");
        let frames = frames_with_offsets(&mut source);
        assert_eq!(frames.len(), 28);
        // Backwards, so every read seeks.
        for (offset, frame) in frames.iter().rev() {
            let again = reader
                .read_frame_at(*offset, frame.number)
                .expect("record re-reads");
            assert_eq!(&again, frame);
        }
        // Past the end of the file is an error, not a panic or an empty frame.
        assert!(reader.read_frame_at(1 << 40, 1).is_err());
    }

    /// A little-endian pcapng block: type, length, body padded to 32 bits, length again.
    fn ng_block(kind: u32, body: &[u8]) -> Vec<u8> {
        let padded = body.len().div_ceil(4) * 4;
        let len = (12 + padded) as u32;
        let mut b = Vec::new();
        b.extend_from_slice(&kind.to_le_bytes());
        b.extend_from_slice(&len.to_le_bytes());
        b.extend_from_slice(body);
        b.resize(8 + padded, 0);
        b.extend_from_slice(&len.to_le_bytes());
        b
    }

    fn ng_section(linktype: u16, payloads: &[&[u8]]) -> Vec<u8> {
        // SHB: byte-order magic, version 1.0, section length unknown (-1).
        let mut shb = 0x1a2b_3c4du32.to_le_bytes().to_vec();
        shb.extend_from_slice(&[1, 0, 0, 0]);
        shb.extend_from_slice(&(-1i64).to_le_bytes());
        let mut out = ng_block(0x0a0d_0d0a, &shb);
        let mut idb = linktype.to_le_bytes().to_vec();
        idb.extend_from_slice(&[0, 0, 0, 0, 0, 0]);
        out.extend(ng_block(1, &idb));
        for (i, p) in payloads.iter().enumerate() {
            let mut epb = 0u32.to_le_bytes().to_vec();
            epb.extend_from_slice(&0u32.to_le_bytes());
            epb.extend_from_slice(&(1_000_000 * (i as u32 + 1)).to_le_bytes());
            epb.extend_from_slice(&(p.len() as u32).to_le_bytes());
            epb.extend_from_slice(&(p.len() as u32).to_le_bytes());
            epb.extend_from_slice(p);
            out.extend(ng_block(6, &epb));
        }
        out
    }

    #[test]
    fn pcapng_frames_read_back_with_their_own_sections_link_type() {
        let mut file = ng_section(1, &[b"ethernet frame", b"second"]);
        file.extend(ng_section(101, &[b"\x45raw ip"]));
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("two-sections.pcapng");
        std::fs::write(&path, &file).expect("write");
        let mut source = FileSource::open(&path).expect("opens");
        let mut reader = source.frame_reader().expect("re-readable");
        let frames = frames_with_offsets(&mut source);
        assert_eq!(
            frames.iter().map(|(_, f)| f.linktype).collect::<Vec<_>>(),
            [1, 1, 101]
        );
        for (offset, frame) in frames.iter().rev() {
            assert_eq!(
                &reader
                    .read_frame_at(*offset, frame.number)
                    .expect("re-reads"),
                frame
            );
        }
        // The section header itself is no frame.
        assert!(reader.read_frame_at(0, 1).is_err());
    }

    #[test]
    fn gzip_and_reader_sources_cannot_be_re_read_by_offset() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../samples/websocket.pcap");
        let bytes = std::fs::read(&path).expect("sample");
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut gz, &bytes).expect("compress");
        let dir = tempfile::tempdir().expect("tempdir");
        let gz_path = dir.path().join("ws.pcap.gz");
        std::fs::write(&gz_path, gz.finish().expect("compress")).expect("write");
        assert!(
            FileSource::open(&gz_path)
                .expect("gz opens")
                .frame_reader()
                .is_none()
        );
        assert!(
            FileSource::from_reader(std::io::Cursor::new(bytes), "mem")
                .expect("opens")
                .frame_reader()
                .is_none()
        );
    }

    #[cfg(unix)]
    #[test]
    fn a_capture_read_from_a_fifo_cannot_be_re_read_by_offset() {
        let dir = tempfile::tempdir().expect("tempdir");
        let fifo = dir.path().join("capture.fifo");
        let made = std::process::Command::new("mkfifo").arg(&fifo).status();
        if !made.is_ok_and(|s| s.success()) {
            eprintln!("skipped: no mkfifo");
            return;
        }
        let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("../samples/websocket.pcap");
        let writer_path = fifo.clone();
        let writer = std::thread::spawn(move || {
            let bytes = std::fs::read(sample).expect("sample");
            std::fs::write(writer_path, bytes).expect("write to the fifo");
        });
        let mut source = FileSource::open(&fifo).expect("a fifo opens");
        assert!(source.frame_reader().is_none());
        assert_eq!(frames_with_offsets(&mut source).len(), 28);
        writer.join().expect("writer");
    }
}
