//! Where the raw frames of a capture can be found again when a packet is selected.
//!
//! Like Wireshark, a capture file is not kept in memory: while loading, the loader records the
//! file offset of every frame (8 bytes per frame) and a selection reads its frames back through
//! [`capture::source::FrameReader`]. A gzip file cannot be read by offset and a live capture
//! has no file, so their frames' bytes are kept in memory instead, up to a byte budget; the
//! oldest are dropped first and asking for them then says so.
//!
//! A file-backed store also records, per frame, the connection and direction whose TCP
//! payload it carried (4 bytes per frame), so that a packet's bytes are looked for in its own
//! frames only, however much other traffic lies between them.

use capture::source::{FrameReader, OwnedFrame, RawFrame};
use dissector::input::{Direction, FrameSeen, Timestamp};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

/// Frame bytes kept in memory by default, for gzip files and live captures.
pub const DEFAULT_KEEP_BYTES: usize = 256 << 20;

/// Bytes per memory chunk (frames are packed; a chunk is dropped as a whole).
const CHUNK_BYTES: usize = 1 << 20;

/// What asking for a frame found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FrameLookup {
    /// The frame.
    Found(OwnedFrame),
    /// Kept in memory once, dropped since to stay within the budget.
    Dropped,
    /// Not recorded (not read yet, or the capture keeps no frames).
    Unknown,
    /// The file could not be read again (changed or removed since).
    Failed(String),
}

/// One kept frame's place in its chunk and what the chunk does not hold.
#[derive(Debug, Clone, Copy)]
struct Meta {
    start: u32,
    len: u32,
    wire_len: u32,
    linktype: u32,
    ts: i64,
}

/// Consecutive frames packed into one buffer.
#[derive(Debug)]
struct Chunk {
    first: u64,
    data: Vec<u8>,
    metas: Vec<Meta>,
}

impl Chunk {
    fn cost(&self) -> usize {
        self.data.capacity() + self.metas.capacity() * std::mem::size_of::<Meta>()
    }
}

/// The frames of one capture, by number.
#[derive(Debug, Default)]
pub struct FrameStore {
    /// File-backed: offset of frame `n` at `offsets[n - 1]`.
    offsets: Vec<u64>,
    reader: Option<FrameReader>,
    /// Memory-backed: the newest frames.
    chunks: VecDeque<Chunk>,
    budget: usize,
    used: usize,
    /// Frames below this number were dropped.
    dropped_below: u64,
    keep_in_memory: bool,
    /// File-backed: the connection and direction whose payload frame `n` carried at
    /// `carried[n - 1]` ([`direction_key`]; 0 for none or not known).
    carried: Vec<u32>,
}

/// A connection's direction as one number: `tcp.stream` × 2 + direction, plus one (0 stays
/// "none"); `None` for streams beyond what fits.
fn direction_key(stream: u32, dir: Direction) -> Option<u32> {
    let d = match dir {
        Direction::ToBroker => 1,
        Direction::ToClient => 2,
    };
    stream.checked_mul(2)?.checked_add(d)
}

/// A frame store shared by the loader (writing) and the UI (reading).
pub type SharedFrames = Arc<Mutex<FrameStore>>;

/// Locks a shared store (a panic on the loader must not take the UI down).
pub fn lock(frames: &SharedFrames) -> MutexGuard<'_, FrameStore> {
    frames.lock().unwrap_or_else(PoisonError::into_inner)
}

impl FrameStore {
    /// A store that keeps nothing (traces built in memory, tests).
    pub fn none() -> SharedFrames {
        Arc::default()
    }

    /// Frames read back from the file by offset.
    pub fn file(reader: FrameReader) -> SharedFrames {
        let shared = FrameStore::none();
        lock(&shared).read_back_with(reader);
        shared
    }

    /// Frames kept in memory, at most `budget` bytes of them (the oldest dropped first).
    pub fn in_memory(budget: usize) -> SharedFrames {
        let shared = FrameStore::none();
        lock(&shared).keep_in_memory_up_to(budget);
        shared
    }

    /// From now on, frames are read back through `reader` by their recorded offsets.
    pub fn read_back_with(&mut self, reader: FrameReader) {
        self.reader = Some(reader);
        self.keep_in_memory = false;
    }

    /// From now on, frames are kept in memory, at most `budget` bytes of them.
    pub fn keep_in_memory_up_to(&mut self, budget: usize) {
        self.reader = None;
        self.keep_in_memory = true;
        self.budget = budget;
    }

    /// Records where frame `number` lies in the file.
    pub fn record_offset(&mut self, number: u64, offset: u64) {
        // Frames are numbered from 1 without gaps; anything else is ignored rather than
        // misfiled.
        if number == self.offsets.len() as u64 + 1 {
            self.offsets.push(offset);
        }
    }

    /// Records that frame `seen.frame` carried TCP payload of its connection's direction
    /// (file-backed stores only; frames without payload are not recorded).
    pub fn record_seen(&mut self, seen: &FrameSeen) {
        if self.keep_in_memory || seen.tcp_payload_len == 0 {
            return;
        }
        let (Some(key), Some(i)) = (
            direction_key(seen.stream, seen.dir),
            seen.frame
                .checked_sub(1)
                .and_then(|i| usize::try_from(i).ok()),
        ) else {
            return;
        };
        // Frames are reported in order, except those a connection held while it was being
        // recognised, which come later; never beyond the frames read.
        if i >= self.carried.len() && i < self.offsets.len() {
            self.carried.resize(i + 1, 0);
        }
        if let Some(slot) = self.carried.get_mut(i) {
            *slot = key;
        }
    }

    /// The frames from `first` to `last` that carried payload of `stream`'s direction `dir`,
    /// in order; `None` when the store does not know (frames kept in memory, or none of that
    /// span recorded for it).
    pub fn frames_carrying(
        &self,
        stream: u32,
        dir: Direction,
        first: u64,
        last: u64,
    ) -> Option<Vec<u64>> {
        let key = direction_key(stream, dir)?;
        let lo = usize::try_from(first.checked_sub(1)?).ok()?;
        let hi = usize::try_from(last).ok()?.min(self.carried.len());
        let found: Vec<u64> = self
            .carried
            .get(lo..hi)?
            .iter()
            .zip(first..)
            .filter(|&(&k, _)| k == key)
            .map(|(_, n)| n)
            .collect();
        (!found.is_empty()).then_some(found)
    }

    /// Keeps a copy of `frame` (memory-backed stores only), dropping the oldest chunks beyond
    /// the budget.
    pub fn keep(&mut self, frame: &RawFrame<'_>) {
        if !self.keep_in_memory {
            return;
        }
        let len = frame.data.len();
        let fits = self.chunks.back().is_some_and(|c| {
            c.first + c.metas.len() as u64 == frame.number
                && c.data.len() + len <= c.data.capacity()
        });
        if !fits {
            let chunk = Chunk {
                first: frame.number,
                data: Vec::with_capacity(CHUNK_BYTES.max(len)),
                metas: Vec::new(),
            };
            self.used += chunk.cost();
            self.chunks.push_back(chunk);
        }
        let Some(chunk) = self.chunks.back_mut() else {
            return;
        };
        let before = chunk.cost();
        let meta = Meta {
            start: chunk.data.len() as u32,
            len: len as u32,
            wire_len: frame.wire_len,
            linktype: frame.linktype,
            ts: frame.ts.0,
        };
        chunk.data.extend_from_slice(frame.data);
        chunk.metas.push(meta);
        self.used = self.used - before + chunk.cost();
        while self.used > self.budget && self.chunks.len() > 1 {
            if let Some(old) = self.chunks.pop_front() {
                self.used -= old.cost();
                self.dropped_below = old.first + old.metas.len() as u64;
            }
        }
    }

    /// The capture has been read to its end: the index gives back its spare capacity.
    pub fn finish(&mut self) {
        self.offsets.shrink_to_fit();
        self.carried.shrink_to_fit();
    }

    /// Bytes this store holds in memory (offsets and carriers, or kept frames).
    pub fn memory_bytes(&self) -> usize {
        self.offsets.capacity() * 8 + self.carried.capacity() * 4 + self.used
    }

    /// True when frames are kept in memory (gzip file, live capture) rather than re-read.
    pub fn keeps_in_memory(&self) -> bool {
        self.keep_in_memory
    }

    /// Frame `number`, read back from the file or copied from memory.
    pub fn get(&mut self, number: u64) -> FrameLookup {
        if let Some(reader) = &mut self.reader {
            let Some(&offset) = number
                .checked_sub(1)
                .and_then(|i| self.offsets.get(usize::try_from(i).ok()?))
            else {
                return FrameLookup::Unknown;
            };
            return match reader.read_frame_at(offset, number) {
                Ok(frame) => FrameLookup::Found(frame),
                Err(e) => FrameLookup::Failed(e.to_string()),
            };
        }
        if number < self.dropped_below {
            return FrameLookup::Dropped;
        }
        let after = self.chunks.partition_point(|c| c.first <= number);
        let Some(chunk) = after.checked_sub(1).and_then(|i| self.chunks.get(i)) else {
            return FrameLookup::Unknown;
        };
        let Some(meta) = usize::try_from(number - chunk.first)
            .ok()
            .and_then(|i| chunk.metas.get(i))
        else {
            return FrameLookup::Unknown;
        };
        let start = meta.start as usize;
        let Some(data) = chunk.data.get(start..start + meta.len as usize) else {
            return FrameLookup::Unknown;
        };
        FrameLookup::Found(OwnedFrame {
            number,
            ts: Timestamp(meta.ts),
            linktype: meta.linktype,
            wire_len: meta.wire_len,
            data: data.to_vec(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(number: u64, data: &[u8]) -> RawFrame<'_> {
        RawFrame {
            number,
            ts: Timestamp(number as i64 * 1000),
            linktype: 1,
            caplen: data.len() as u32,
            wire_len: data.len() as u32 + 4,
            data,
        }
    }

    #[test]
    fn memory_store_returns_kept_frames_and_says_when_old_ones_were_dropped() {
        // Budget for about two chunks: 3 chunks' worth of 100 KiB frames drops the first.
        let shared = FrameStore::in_memory(2 * CHUNK_BYTES + CHUNK_BYTES / 2);
        let mut store = lock(&shared);
        let big = vec![7u8; 100 * 1024];
        for n in 1..=30 {
            store.keep(&frame(n, &big));
        }
        assert!(store.memory_bytes() <= 2 * CHUNK_BYTES + CHUNK_BYTES / 2);
        assert_eq!(store.get(1), FrameLookup::Dropped);
        match store.get(30) {
            FrameLookup::Found(f) => {
                assert_eq!(
                    (f.number, f.wire_len, f.data.len()),
                    (30, 100 * 1024 + 4, 100 * 1024)
                );
                assert_eq!(f.ts, Timestamp(30_000));
            }
            other => panic!("frame 30 is kept: {other:?}"),
        }
        assert_eq!(store.get(31), FrameLookup::Unknown);
    }

    #[test]
    fn a_frame_larger_than_a_chunk_is_kept_whole() {
        let shared = FrameStore::in_memory(DEFAULT_KEEP_BYTES);
        let mut store = lock(&shared);
        store.keep(&frame(1, b"small"));
        let huge = vec![1u8; CHUNK_BYTES + 10];
        store.keep(&frame(2, &huge));
        store.keep(&frame(3, b"after"));
        assert!(matches!(store.get(2), FrameLookup::Found(f) if f.data.len() == CHUNK_BYTES + 10));
        assert!(matches!(store.get(3), FrameLookup::Found(f) if f.data == b"after"));
        assert!(matches!(store.get(1), FrameLookup::Found(f) if f.data == b"small"));
    }

    #[test]
    fn the_frames_carrying_a_direction_are_listed_in_order_within_a_span() {
        let seen = |stream: u32, dir: Direction, frame: u64, len: u32| FrameSeen {
            stream,
            dir,
            frame,
            ts: Timestamp(0),
            wire_len: 60 + len,
            tcp_payload_len: len,
        };
        let mut store = FrameStore::default();
        // As a file-backed store records them: offsets first, carriers after.
        for n in 1..=8 {
            store.record_offset(n, n * 100);
        }
        store.record_seen(&seen(0, Direction::ToBroker, 1, 10));
        store.record_seen(&seen(1, Direction::ToBroker, 2, 10));
        store.record_seen(&seen(0, Direction::ToClient, 3, 10));
        store.record_seen(&seen(0, Direction::ToBroker, 4, 0)); // a bare ACK
        store.record_seen(&seen(0, Direction::ToBroker, 6, 10));
        // A frame held while its connection was recognised is reported late.
        store.record_seen(&seen(0, Direction::ToBroker, 5, 10));
        // Never beyond the frames read.
        store.record_seen(&seen(0, Direction::ToBroker, 9, 10));
        let of = |first, last| store.frames_carrying(0, Direction::ToBroker, first, last);
        assert_eq!(of(1, 8), Some(vec![1, 5, 6]));
        assert_eq!(of(2, 5), Some(vec![5]));
        assert_eq!(of(2, 4), None);
        assert_eq!(of(7, 100), None);
        assert_eq!(
            store.frames_carrying(0, Direction::ToClient, 1, 8),
            Some(vec![3])
        );
        assert_eq!(store.frames_carrying(2, Direction::ToClient, 1, 8), None);
        assert_eq!(
            store.memory_bytes(),
            store.offsets.capacity() * 8 + store.carried.capacity() * 4
        );
        // Frames kept in memory are not indexed so.
        let mut memory = FrameStore::default();
        memory.keep_in_memory_up_to(1 << 20);
        memory.record_seen(&seen(0, Direction::ToBroker, 1, 10));
        assert_eq!(memory.frames_carrying(0, Direction::ToBroker, 1, 1), None);
    }

    #[test]
    fn file_store_reads_frames_back_by_recorded_offset() {
        let path =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../samples/websocket.pcap");
        let mut source = capture::FileSource::open(&path).expect("sample");
        let shared = FrameStore::file(source.frame_reader().expect("plain file"));
        let mut copies = Vec::new();
        while let Some(copy) = source
            .next_located(|f, offset| {
                lock(&shared).record_offset(f.number, offset);
                OwnedFrame::from_raw(f)
            })
            .expect("reads")
        {
            copies.push(copy);
        }
        let mut store = lock(&shared);
        // 8 bytes per frame (a vector's spare capacity at most doubles it until the end).
        assert!((copies.len() * 8..=copies.len() * 16).contains(&store.memory_bytes()));
        store.finish();
        assert_eq!(store.memory_bytes(), copies.len() * 8);
        for c in copies.iter().rev() {
            assert_eq!(store.get(c.number), FrameLookup::Found(c.clone()));
        }
        assert_eq!(store.get(0), FrameLookup::Unknown);
        assert_eq!(store.get(copies.len() as u64 + 1), FrameLookup::Unknown);
    }
}
