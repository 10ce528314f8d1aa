//! One direction of a TCP connection reassembled into an ordered byte stream, each byte with the
//! frame it came from.
//!
//! Sequence numbers are compared as `Wrapping<u32>` distances from the next expected byte, so
//! wrap-around needs no special case; stream offsets are `u64` from the first byte after the SYN
//! (or the first byte seen, mid-stream). Out-of-order segments wait in a bounded map keyed by
//! offset; the first copy of any byte wins, and a later copy with different content is reported.

use std::collections::BTreeMap;
use std::num::Wrapping;

use dissector::input::{Timestamp, TransportIssueKind};

/// Bytes of recently delivered data kept to compare retransmissions with. Every delivered
/// segment refreshes it, so its size is a per-byte cost on every stream: 256 bytes check the
/// end of any retransmission (where a second copy that differs usually differs too) for a
/// fifth of the copying a whole MSS would cost.
const TAIL: usize = 256;
/// A sequence distance beyond this is not this connection's data (stale or bogus segment).
const MAX_WINDOW: i64 = 1 << 30;

/// What reassembly produces, in stream order.
#[derive(Debug, PartialEq, Eq)]
pub enum Delivered<'a> {
    /// The next bytes of the stream, from one frame.
    Bytes {
        /// The bytes.
        data: &'a [u8],
        /// Frame they came from.
        frame: u64,
        /// Its time.
        ts: Timestamp,
    },
    /// Bytes that were never captured.
    Gap {
        /// How many.
        missing: u64,
        /// Frame after the gap (or the frame that revealed it).
        frame: u64,
        /// Its time.
        ts: Timestamp,
    },
    /// A problem worth reporting.
    Issue {
        /// What.
        kind: TransportIssueKind,
        /// Details.
        detail: String,
        /// Frame.
        frame: u64,
        /// Time.
        ts: Timestamp,
    },
}

/// A segment waiting for the bytes before it.
#[derive(Debug)]
struct Pending {
    data: Vec<u8>,
    frame: u64,
    ts: Timestamp,
}

/// One direction of a TCP connection.
#[derive(Debug, Default)]
pub struct HalfStream {
    /// A segment of this direction was seen.
    pub initialized: bool,
    /// The stream began with a SYN we saw (so offset 0 is a packet boundary).
    pub started_with_syn: bool,
    next_seq: Wrapping<u32>,
    /// Stream offset of the next expected byte.
    pub next_offset: u64,
    pending: BTreeMap<u64, Pending>,
    pending_bytes: usize,
    tail: Vec<u8>,
    /// A FIN was seen; the sequence number it occupies.
    pub fin_seq: Option<Wrapping<u32>>,
    /// Retransmitted segments (all their data seen before).
    pub retransmissions: u64,
    /// Segments that arrived before earlier data.
    pub out_of_order: u64,
    /// Bytes declared missing.
    pub missing_bytes: u64,
}

impl HalfStream {
    /// A direction nothing was seen of.
    pub fn new() -> HalfStream {
        HalfStream::default()
    }

    /// Bytes held for reordering.
    pub fn pending_bytes(&self) -> usize {
        self.pending_bytes
    }

    /// The TCP sequence number of stream offset 0, once a segment was seen: the sequence
    /// number after the SYN, or of the first byte seen mid-stream. Delivering bytes and
    /// declaring gaps move the next sequence number and the next offset together, so their
    /// difference stays put.
    pub fn seq_base(&self) -> Option<u32> {
        self.initialized
            .then(|| (self.next_seq - Wrapping(self.next_offset as u32)).0)
    }

    /// What [`HalfStream::seq_base`] is once a segment starting at `seq` (a SYN when `syn`) was
    /// taken in: known before the segment is processed, so that packets framed while it is
    /// can be told their sequence numbers.
    pub fn seq_base_after(&self, seq: u32, syn: bool) -> u32 {
        let seq = Wrapping(seq);
        match self.restart(syn) {
            true if syn => (seq + Wrapping(1)).0,
            true => seq.0,
            false => (self.next_seq - Wrapping(self.next_offset as u32)).0,
        }
    }

    /// Whether a segment (a SYN when `syn`) starts the stream afresh: the first segment seen,
    /// or a SYN before any byte was delivered or is waiting.
    fn restart(&self, syn: bool) -> bool {
        !self.initialized || (syn && self.next_offset == 0 && self.pending.is_empty())
    }

    /// Processes one segment of this direction.
    #[allow(clippy::too_many_arguments)]
    pub fn segment<'d>(
        &mut self,
        seq: u32,
        syn: bool,
        fin: bool,
        payload: &'d [u8],
        frame: u64,
        ts: Timestamp,
        reorder_cap: usize,
        out: &mut dyn FnMut(Delivered<'_>),
    ) {
        let mut seq = Wrapping(seq);
        if syn {
            if self.restart(true) {
                self.next_seq = seq + Wrapping(1);
                self.next_offset = 0;
                self.initialized = true;
                self.started_with_syn = true;
            }
            // Data on a SYN follows the SYN's own sequence number (RFC 9293 §3.4).
            seq += Wrapping(1);
        }
        if !self.initialized {
            self.next_seq = seq;
            self.initialized = true;
        }
        if fin {
            self.fin_seq = Some(seq + Wrapping(payload.len() as u32));
        }
        if payload.is_empty() {
            return;
        }
        let rel = i64::from((seq - self.next_seq).0 as i32);
        if rel.abs() > MAX_WINDOW {
            return;
        }
        // Keep-alive probe: one (garbage) byte, or none, just before the next expected byte.
        if rel == -1 && payload.len() <= 1 {
            return;
        }
        let len = payload.len() as i64;
        if rel + len <= 0 {
            self.retransmissions += 1;
            self.compare_with_tail(rel, payload, frame, ts, out);
            return;
        }
        let mut data = payload;
        if rel < 0 {
            // Partly old data: compare the old part, keep the new part.
            let old = (-rel) as usize;
            self.compare_with_tail(rel, data.get(..old).unwrap_or(&[]), frame, ts, out);
            data = data.get(old..).unwrap_or(&[]);
        }
        let offset = self.next_offset + rel.max(0) as u64;
        if offset == self.next_offset {
            self.deliver(data, frame, ts, out);
            self.drain_pending(out);
        } else {
            self.out_of_order += 1;
            self.insert_pending(offset, data, frame, ts, out);
            if self.pending_bytes > reorder_cap {
                out(Delivered::Issue {
                    kind: TransportIssueKind::ReorderBufferFull,
                    detail: format!(
                        "{} bytes waited for missing data (cap {reorder_cap}): the hole is \
                         treated as lost",
                        self.pending_bytes
                    ),
                    frame,
                    ts,
                });
                while self.pending_bytes > reorder_cap / 2 && !self.pending.is_empty() {
                    self.skip_to_pending(frame, ts, out);
                }
            }
        }
    }

    /// The other direction acknowledged up to `ack`: bytes before it that we never saw were
    /// lost by the capture, not by the network.
    pub fn acked(
        &mut self,
        ack: u32,
        frame: u64,
        ts: Timestamp,
        out: &mut dyn FnMut(Delivered<'_>),
    ) {
        if !self.initialized {
            return;
        }
        let mut rel = i64::from((Wrapping(ack) - self.next_seq).0 as i32);
        if rel <= 0 || rel > MAX_WINDOW {
            return;
        }
        // A FIN occupies one sequence number of its own.
        if let Some(fin) = self.fin_seq
            && i64::from((Wrapping(ack) - fin).0 as i32) >= 0
        {
            rel -= 1;
            if rel <= 0 {
                return;
            }
        }
        let target = self.next_offset + rel as u64;
        while self.next_offset < target {
            match self.pending.first_key_value() {
                Some((&start, _)) if start <= target => self.skip_to_pending(frame, ts, out),
                _ => {
                    let missing = target - self.next_offset;
                    self.gap(missing, frame, ts, out);
                }
            }
        }
    }

    /// The stream is ending: whatever waits behind holes is delivered after gaps.
    pub fn flush(&mut self, frame: u64, ts: Timestamp, out: &mut dyn FnMut(Delivered<'_>)) {
        while !self.pending.is_empty() {
            self.skip_to_pending(frame, ts, out);
        }
    }

    fn gap(&mut self, missing: u64, frame: u64, ts: Timestamp, out: &mut dyn FnMut(Delivered<'_>)) {
        self.next_offset += missing;
        self.next_seq += Wrapping(missing as u32);
        self.missing_bytes += missing;
        self.tail.clear();
        out(Delivered::Gap { missing, frame, ts });
    }

    /// Gives up on the hole before the first pending segment.
    fn skip_to_pending(&mut self, frame: u64, ts: Timestamp, out: &mut dyn FnMut(Delivered<'_>)) {
        let Some((&start, pending)) = self.pending.first_key_value() else {
            return;
        };
        if start > self.next_offset {
            let (pf, pts) = (pending.frame, pending.ts);
            let _ = (frame, ts);
            self.gap(start - self.next_offset, pf, pts, out);
        }
        self.drain_pending(out);
    }

    fn deliver(
        &mut self,
        data: &[u8],
        frame: u64,
        ts: Timestamp,
        out: &mut dyn FnMut(Delivered<'_>),
    ) {
        if data.is_empty() {
            return;
        }
        self.next_offset += data.len() as u64;
        self.next_seq += Wrapping(data.len() as u32);
        // Remember the last bytes for comparing retransmissions. The tail may grow to twice
        // its size before the old half is dropped, so each byte is moved at most once more.
        if data.len() >= TAIL {
            self.tail.clear();
            self.tail
                .extend_from_slice(data.get(data.len() - TAIL..).unwrap_or(&[]));
        } else {
            if self.tail.len() + data.len() > 2 * TAIL {
                let excess = self.tail.len() + data.len() - TAIL;
                self.tail.drain(..excess.min(self.tail.len()));
            }
            self.tail.extend_from_slice(data);
        }
        out(Delivered::Bytes { data, frame, ts });
    }

    /// Delivers pending segments that now continue the stream.
    fn drain_pending(&mut self, out: &mut dyn FnMut(Delivered<'_>)) {
        while let Some(entry) = self.pending.first_entry() {
            let start = *entry.key();
            if start > self.next_offset {
                break;
            }
            let pending = entry.remove();
            self.pending_bytes -= pending.data.len();
            let end = start + pending.data.len() as u64;
            if end <= self.next_offset {
                continue;
            }
            let skip = (self.next_offset - start) as usize;
            let fresh = pending.data.get(skip..).unwrap_or(&[]);
            self.deliver(fresh, pending.frame, pending.ts, out);
        }
    }

    /// Stores an early segment; bytes already pending keep their first copy.
    fn insert_pending(
        &mut self,
        offset: u64,
        data: &[u8],
        frame: u64,
        ts: Timestamp,
        out: &mut dyn FnMut(Delivered<'_>),
    ) {
        let mut start = offset;
        let end = offset + data.len() as u64;
        // Walk existing segments that overlap [start, end), inserting only the uncovered parts.
        let overlapping: Vec<(u64, u64)> = self
            .pending
            .range(..end)
            .rev()
            .take_while(|(s, p)| *s + p.data.len() as u64 > offset || **s >= offset)
            .map(|(s, p)| (*s, *s + p.data.len() as u64))
            .filter(|(s, e)| *e > offset && *s < end)
            .collect();
        let mut covered: Vec<(u64, u64)> = overlapping;
        covered.sort_unstable();
        let mut mismatch = false;
        for &(s, e) in &covered {
            // Compare the overlap.
            let lo = s.max(offset);
            let hi = e.min(end);
            if let (Some(existing), Some(new)) = (
                self.pending
                    .get(&s)
                    .and_then(|p| p.data.get((lo - s) as usize..(hi - s) as usize)),
                data.get((lo - offset) as usize..(hi - offset) as usize),
            ) && existing != new
            {
                mismatch = true;
            }
        }
        for (s, e) in covered.iter().copied().chain(std::iter::once((end, end))) {
            if s > start {
                let piece = data
                    .get((start - offset) as usize..(s.min(end) - offset) as usize)
                    .unwrap_or(&[]);
                if !piece.is_empty() {
                    self.pending_bytes += piece.len();
                    self.pending.insert(
                        start,
                        Pending {
                            data: piece.to_vec(),
                            frame,
                            ts,
                        },
                    );
                }
            }
            start = start.max(e);
            if start >= end {
                break;
            }
        }
        if mismatch {
            out(Delivered::Issue {
                kind: TransportIssueKind::OverlapMismatch,
                detail: "segment overlaps buffered data with different bytes (first copy kept)"
                    .to_string(),
                frame,
                ts,
            });
        }
    }

    /// Compares bytes at relative position `rel` (negative: already delivered) with what was
    /// delivered, where they overlap the kept tail (a retransmission starting further back is
    /// compared on its last bytes).
    fn compare_with_tail(
        &mut self,
        rel: i64,
        data: &[u8],
        frame: u64,
        ts: Timestamp,
        out: &mut dyn FnMut(Delivered<'_>),
    ) {
        let back = (-rel) as usize; // how far before next_offset the data starts
        let tail_len = self.tail.len();
        // Where `data` and the tail overlap, as indexes into each.
        let (data_start, tail_start) = if back > tail_len {
            (back - tail_len, 0)
        } else {
            (0, tail_len - back)
        };
        let n = data
            .len()
            .saturating_sub(data_start)
            .min(tail_len - tail_start);
        if n == 0 {
            return;
        }
        if let (Some(old), Some(new)) = (
            self.tail.get(tail_start..tail_start + n),
            data.get(data_start..data_start + n),
        ) && old != new
        {
            out(Delivered::Issue {
                kind: TransportIssueKind::OverlapMismatch,
                detail: format!(
                    "retransmitted bytes differ from the first copy ({n} bytes compared; first \
                     copy kept)"
                ),
                frame,
                ts,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(half: &mut HalfStream, segs: &[(u32, &[u8])], cap: usize) -> (Vec<u8>, Vec<String>) {
        let mut bytes = Vec::new();
        let mut notes = Vec::new();
        for (i, (seq, data)) in segs.iter().enumerate() {
            half.segment(
                *seq,
                false,
                false,
                data,
                i as u64 + 1,
                Timestamp(0),
                cap,
                &mut |d| match d {
                    Delivered::Bytes { data, .. } => bytes.extend_from_slice(data),
                    Delivered::Gap { missing, .. } => notes.push(format!("gap {missing}")),
                    Delivered::Issue { kind, .. } => notes.push(format!("{kind:?}")),
                },
            );
        }
        (bytes, notes)
    }

    #[test]
    fn the_sequence_base_is_known_before_each_segment_and_survives_gaps_and_wraparound() {
        let isn = u32::MAX - 1;
        let mut half = HalfStream::new();
        assert_eq!(half.seq_base(), None);
        // (seq, syn, payload): the SYN, a retransmitted SYN, data across the 2^32 wrap, a
        // segment after a hole (delivered once the ACK declares the hole lost), then more.
        let segs: [(u32, bool, &[u8]); 5] = [
            (isn, true, b""),
            (isn, true, b""),
            (isn.wrapping_add(1), false, b"abcd"),
            (isn.wrapping_add(9), false, b"ijk"),
            (isn.wrapping_add(12), false, b"lm"),
        ];
        let base = isn.wrapping_add(1);
        for (i, (seq, syn, data)) in segs.into_iter().enumerate() {
            assert_eq!(half.seq_base_after(seq, syn), base, "segment {i}");
            half.segment(
                seq,
                syn,
                false,
                data,
                i as u64,
                Timestamp(0),
                1 << 20,
                &mut |_| {},
            );
            assert_eq!(half.seq_base(), Some(base), "segment {i}");
            if i == 3 {
                half.acked(isn.wrapping_add(12), 9, Timestamp(0), &mut |_| {});
                assert_eq!(half.next_offset, 11);
            }
        }
        assert_eq!(half.next_offset, 13);
        // Mid-stream: the first byte seen is offset 0.
        let mut mid = HalfStream::new();
        assert_eq!(mid.seq_base_after(77, false), 77);
        mid.segment(
            77,
            false,
            false,
            b"xy",
            1,
            Timestamp(0),
            1 << 20,
            &mut |_| {},
        );
        assert_eq!(mid.seq_base(), Some(77));
        // A late SYN once bytes were delivered changes nothing.
        assert_eq!(mid.seq_base_after(5, true), 77);
    }

    #[test]
    fn reorders_and_drops_duplicates_across_sequence_wrap() {
        let base = u32::MAX - 3;
        let mut half = HalfStream::new();
        let segs: [(u32, &[u8]); 4] = [
            (base, b"ab"),
            (base.wrapping_add(4), b"ef"),
            (base.wrapping_add(2), b"cd"),
            (base.wrapping_add(2), b"cd"),
        ];
        let (bytes, notes) = run(&mut half, &segs, 1 << 20);
        assert_eq!(bytes, b"abcdef");
        assert!(notes.is_empty(), "{notes:?}");
        assert_eq!(half.retransmissions, 1);
    }

    #[test]
    fn differing_retransmission_is_reported_and_first_copy_kept() {
        let mut half = HalfStream::new();
        let (bytes, notes) = run(&mut half, &[(100, b"abcd"), (102, b"XYef")], 1 << 20);
        assert_eq!(bytes, b"abcdef");
        assert_eq!(notes, ["OverlapMismatch"]);
    }

    #[test]
    fn a_retransmission_longer_than_the_tail_is_compared_on_its_last_bytes() {
        let first: Vec<u8> = (0..1460u32).map(|i| i as u8).collect();
        // Same length, same start: differs only in its last byte (inside the tail).
        let mut late_change = first.clone();
        late_change[1459] ^= 0xff;
        // Differs only in its first byte: beyond the tail, not compared.
        let mut early_change = first.clone();
        early_change[0] ^= 0xff;
        for (resent, want) in [
            (&first, Vec::<&str>::new()),
            (&late_change, vec!["OverlapMismatch"]),
            (&early_change, Vec::new()),
        ] {
            let mut half = HalfStream::new();
            let (bytes, notes) = run(&mut half, &[(0, &first), (0, resent)], 1 << 20);
            assert_eq!(bytes, first);
            assert_eq!(notes, want);
            assert_eq!(half.retransmissions, 1);
        }
    }

    #[test]
    fn reorder_cap_turns_the_hole_into_a_gap() {
        let mut half = HalfStream::new();
        let (bytes, notes) = run(&mut half, &[(0, b"a"), (11, b"0123456789")], 8);
        assert_eq!(bytes, b"a0123456789");
        assert_eq!(notes, ["ReorderBufferFull", "gap 10"]);
    }

    #[test]
    fn ack_beyond_seen_data_declares_capture_loss() {
        let mut half = HalfStream::new();
        let mut notes = Vec::new();
        half.segment(
            1000,
            false,
            false,
            b"abc",
            1,
            Timestamp(0),
            1 << 20,
            &mut |_| {},
        );
        half.acked(1010, 2, Timestamp(0), &mut |d| {
            if let Delivered::Gap { missing, .. } = d {
                notes.push(missing)
            }
        });
        assert_eq!(notes, [7]);
        assert_eq!(half.next_offset, 10);
    }
}
