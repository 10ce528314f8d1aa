//! Cuts one direction of a reassembled stream into MQTT control packets, with provenance, and
//! keeps (or regains) packet-boundary synchronisation.
//!
//! Bytes arrive in chunks, each from one frame. Whole packets inside a chunk are delivered
//! without copying; only a packet that spans chunks is copied, into a buffer bounded by the
//! payload limit. A packet longer than the limit keeps its first bytes (headers) and the rest is
//! counted and skipped across chunks (the contract of `dissector::framing`).
//!
//! Synchronisation is lost at the start of a mid-connection capture, after missing bytes (a gap)
//! and after bytes that cannot be MQTT. Then the framer scans for the next position where
//! [`plausible::check_chain`] sees several credible packets in a row, reports the episode once
//! (a gap event or one `NotMqtt` issue) and carries on from there.

use dissector::framing::{FixedHeaderInfo, Framing, frame};
use dissector::input::{
    Direction, EventSink, GapEvent, MqttBytes, StreamEvent, Timestamp, TransportIssue,
    TransportIssueKind,
};

use crate::plausible::{self, Check};

/// Packets in a row that make a resynchronisation point credible.
const RESYNC_CHAIN: usize = 3;
/// Undecided candidate positions remembered while resynchronising.
const MAX_UNDECIDED: usize = 64;
/// Bytes we hold while a candidate is undecided before accepting it anyway.
const RESYNC_WINDOW: usize = 256 * 1024;
/// Bytes without any credible packet after which a direction is given up as not MQTT.
const GIVE_UP_AFTER: u64 = 4 << 20;
/// Header bytes kept of a packet over the payload limit.
const TRUNCATED_KEEP: u64 = 64 * 1024;

/// Where a delivered packet sits in the stream and in the capture.
#[derive(Debug, Clone, Copy)]
struct Span {
    stream_offset: u64,
    first_frame: u64,
    frame: u64,
    ts: Timestamp,
    packet_len: u64,
    truncated: bool,
}

/// Where a run of buffered bytes came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Mark {
    offset: u64,
    frame: u64,
    ts: Timestamp,
}

/// Why synchronisation was lost.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cause {
    /// The capture started inside the connection.
    StreamStart,
    /// Bytes were missing.
    Gap,
    /// Bytes were not MQTT.
    Garbage,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Synced,
    /// Inside a packet whose rest is not delivered; `buf` holds its first bytes.
    Skipping {
        start_offset: u64,
        first_frame: u64,
        packet_len: u64,
        remaining: u64,
        /// Head bytes to keep (less than the usual when bytes of the packet were lost).
        head_cap: usize,
    },
    /// Looking for a packet boundary; `buf` holds undecided bytes.
    Resync {
        cause: Cause,
        skipped: u64,
        first_frame: u64,
        first_ts: Timestamp,
        skip_offset: u64,
    },
    /// Given up on this direction: not MQTT.
    Abandoned,
}

/// A gap waiting to be reported when resynchronisation ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct PendingGap {
    missing: u64,
    frame: u64,
    ts: Timestamp,
}

/// Provenance of bytes being framed.
#[derive(Debug, Clone, Copy)]
enum Prov<'m> {
    /// All bytes from one frame.
    One(u64, Timestamp),
    /// Bytes from several frames.
    Marks(&'m [Mark]),
}

impl Prov<'_> {
    fn at(&self, offset: u64) -> (u64, Timestamp) {
        match self {
            Prov::One(f, ts) => (*f, *ts),
            Prov::Marks(marks) => {
                let i = marks.partition_point(|m| m.offset <= offset);
                marks
                    .get(i.saturating_sub(1))
                    .map(|m| (m.frame, m.ts))
                    .unwrap_or((0, Timestamp(0)))
            }
        }
    }
}

/// Per-direction MQTT framer.
#[derive(Debug)]
pub(crate) struct MqttFramer {
    stream: u32,
    dir: Direction,
    limit: u64,
    state: State,
    buf: Vec<u8>,
    /// Provenance of `buf` (first entry at `buf`'s start).
    marks: Vec<Mark>,
    /// Stream offset of the next byte pushed.
    offset: u64,
    pending_gap: Option<PendingGap>,
    /// Packets delivered.
    pub packets: u64,
    /// Whether any packet was ever delivered.
    synced_once: bool,
    /// Frame and time of the last bytes pushed.
    last: Option<(u64, Timestamp)>,
    /// Resync: `buf` positions before this were scanned.
    scanned: usize,
    /// Resync: positions that need more bytes to decide.
    undecided: Vec<usize>,
    /// TCP sequence number of stream offset 0, when the stream is the TCP payload itself (set
    /// by the owner; `None` for WebSocket-carried MQTT).
    pub(crate) tcp_seq_base: Option<u32>,
}

impl MqttFramer {
    /// A framer that starts synchronised (the stream start was seen) or not (mid-stream).
    pub(crate) fn new(stream: u32, dir: Direction, limit: u64, synced: bool) -> MqttFramer {
        MqttFramer {
            stream,
            dir,
            limit,
            state: if synced {
                State::Synced
            } else {
                State::Resync {
                    cause: Cause::StreamStart,
                    skipped: 0,
                    first_frame: 0,
                    first_ts: Timestamp(0),
                    skip_offset: 0,
                }
            },
            buf: Vec::new(),
            marks: Vec::new(),
            offset: 0,
            pending_gap: None,
            packets: 0,
            synced_once: false,
            last: None,
            scanned: 0,
            undecided: Vec::new(),
            tcp_seq_base: None,
        }
    }

    /// Bytes currently held.
    pub(crate) fn buffered(&self) -> usize {
        self.buf.capacity()
    }

    fn max_packet(&self) -> u64 {
        // A credible resynchronisation point is not a claim beyond the payload limit (at least
        // 1 MiB, so a small test limit does not reject ordinary packets).
        self.limit.max(1 << 20)
    }

    /// Frames the next bytes of the stream, all from `frame`.
    pub(crate) fn push(
        &mut self,
        data: &[u8],
        frame: u64,
        ts: Timestamp,
        sink: &mut dyn EventSink,
    ) {
        if !data.is_empty() {
            // A packet cut by the end of the stream is stamped with the last frame seen.
            self.last = Some((frame, ts));
        }
        let mut rest = data;
        while !rest.is_empty() {
            match self.state {
                State::Abandoned => {
                    self.offset += rest.len() as u64;
                    return;
                }
                State::Skipping { .. } => {
                    let used = self.skip(rest, frame, ts, sink);
                    rest = rest.get(used..).unwrap_or(&[]);
                }
                State::Resync { .. } => {
                    if let State::Resync {
                        first_frame,
                        first_ts,
                        ..
                    } = &mut self.state
                        && *first_frame == 0
                    {
                        *first_frame = frame;
                        *first_ts = ts;
                    }
                    self.mark(frame, ts);
                    self.buf.extend_from_slice(rest);
                    self.offset += rest.len() as u64;
                    self.try_resync(false, sink);
                    return;
                }
                State::Synced => {
                    if self.buf.is_empty() {
                        let start = self.offset;
                        self.offset += rest.len() as u64;
                        self.synced(rest, start, Prov::One(frame, ts), sink);
                        rest = &[];
                    } else {
                        let used = self.fill_partial(rest, frame, ts, sink);
                        rest = rest.get(used..).unwrap_or(&[]);
                    }
                    if matches!(self.state, State::Resync { .. }) {
                        self.try_resync(false, sink);
                        return;
                    }
                }
            }
        }
    }

    fn mark(&mut self, frame: u64, ts: Timestamp) {
        if self.marks.last().is_none_or(|m| m.frame != frame) {
            self.marks.push(Mark {
                offset: self.offset,
                frame,
                ts,
            });
        }
    }

    fn emit(&mut self, bytes: &[u8], span: Span, sink: &mut dyn EventSink) {
        let packet = self.counted_packet(span);
        sink.event(StreamEvent::Packet(MqttBytes { bytes, ..packet }));
    }

    /// Emits the packet assembled in `buf` (all of it), offering the sink the buffer itself
    /// (see [`EventSink::packet_in_buffer`]); `buf` may come back as another allocation.
    fn emit_buffer(&mut self, span: Span, sink: &mut dyn EventSink) {
        let packet = self.counted_packet(span);
        sink.packet_in_buffer(packet, &mut self.buf);
    }

    /// Counts a packet about to be emitted and describes it (without its bytes).
    fn counted_packet(&mut self, span: Span) -> MqttBytes<'static> {
        self.packets += 1;
        self.synced_once = true;
        MqttBytes {
            stream: self.stream,
            dir: self.dir,
            ts: span.ts,
            first_frame: span.first_frame,
            frame: span.frame,
            stream_offset: span.stream_offset,
            // Sequence numbers count modulo 2^32 (RFC 9293 §3.4).
            tcp_seq: self
                .tcp_seq_base
                .map(|base| base.wrapping_add(span.stream_offset as u32)),
            bytes: &[],
            packet_len: span.packet_len,
            truncated: span.truncated,
        }
    }

    /// Frames `data` (starting at stream offset `start`, nothing buffered) until it ends inside a
    /// packet or synchronisation is lost. Returns the bytes consumed (all of them unless the
    /// state changed to one that handles the rest).
    fn synced(
        &mut self,
        data: &[u8],
        start: u64,
        prov: Prov<'_>,
        sink: &mut dyn EventSink,
    ) -> usize {
        let mut pos = 0usize;
        while let Some(rest) = data.get(pos..).filter(|r| !r.is_empty()) {
            let off = start + pos as u64;
            match frame(rest) {
                Framing::Complete(h) => {
                    let len = h.packet_len() as usize;
                    if plausible::suspicious(&h) && !corroborated(rest, len, self.max_packet()) {
                        self.lose_sync(Cause::Garbage, rest, off, prov);
                        return data.len();
                    }
                    let (first_frame, _) = prov.at(off);
                    let (frame_no, ts) = prov.at(off + len as u64 - 1);
                    let bytes = rest.get(..len).unwrap_or(rest);
                    self.emit(
                        bytes,
                        Span {
                            stream_offset: off,
                            first_frame,
                            frame: frame_no,
                            ts,
                            packet_len: len as u64,
                            truncated: false,
                        },
                        sink,
                    );
                    pos += len;
                }
                Framing::NeedBody(h) => {
                    if plausible::suspicious(&h) {
                        self.lose_sync(Cause::Garbage, rest, off, prov);
                        return data.len();
                    }
                    let (first_frame, first_ts) = prov.at(off);
                    if h.packet_len() > self.limit {
                        self.start_skipping(h, rest, off, first_frame, first_ts, sink);
                    } else {
                        self.start_partial(rest, off, first_frame, first_ts, h.packet_len());
                    }
                    return data.len();
                }
                Framing::NeedHeader => {
                    let (first_frame, first_ts) = prov.at(off);
                    self.start_partial(rest, off, first_frame, first_ts, 5);
                    return data.len();
                }
                Framing::Invalid(_) => {
                    self.lose_sync(Cause::Garbage, rest, off, prov);
                    return data.len();
                }
            }
        }
        data.len()
    }

    fn start_partial(&mut self, rest: &[u8], off: u64, first_frame: u64, ts: Timestamp, want: u64) {
        self.buf.clear();
        // Reserve for what is present (at least a page), not for what the header claims: a
        // claim is not a promise, and memory must follow the bytes that really arrive.
        let claim = usize::try_from(want.min(self.limit)).unwrap_or(usize::MAX);
        self.buf.reserve(claim.min(rest.len().max(4096)));
        self.buf.extend_from_slice(rest);
        self.marks.clear();
        self.marks.push(Mark {
            offset: off,
            frame: first_frame,
            ts,
        });
    }

    fn start_skipping(
        &mut self,
        h: FixedHeaderInfo,
        rest: &[u8],
        off: u64,
        first_frame: u64,
        ts: Timestamp,
        sink: &mut dyn EventSink,
    ) {
        sink.event(StreamEvent::Issue(TransportIssue {
            stream: Some(self.stream),
            dir: Some(self.dir),
            ts,
            frame: first_frame,
            kind: TransportIssueKind::PayloadOverLimit,
            detail: format!(
                "packet of {} bytes at stream offset {off} is over the payload limit of {} \
                 bytes: headers kept, the rest skipped",
                h.packet_len(),
                self.limit
            ),
        }));
        let keep = self.keep();
        self.buf.clear();
        self.buf
            .extend_from_slice(rest.get(..keep.min(rest.len())).unwrap_or(rest));
        self.marks.clear();
        self.state = State::Skipping {
            start_offset: off,
            first_frame,
            packet_len: h.packet_len(),
            remaining: h.packet_len() - rest.len() as u64,
            head_cap: keep,
        };
    }

    fn keep(&self) -> usize {
        self.limit.min(TRUNCATED_KEEP) as usize
    }

    /// Consumes bytes of a packet being skipped; returns the bytes used.
    fn skip(&mut self, data: &[u8], frame: u64, ts: Timestamp, sink: &mut dyn EventSink) -> usize {
        let State::Skipping {
            start_offset,
            first_frame,
            packet_len,
            remaining,
            head_cap,
        } = self.state
        else {
            return 0;
        };
        let n = (data.len() as u64).min(remaining) as usize;
        let room = head_cap.saturating_sub(self.buf.len());
        if room > 0 {
            self.buf
                .extend_from_slice(data.get(..room.min(n)).unwrap_or(&[]));
        }
        self.offset += n as u64;
        let remaining = remaining - n as u64;
        if remaining == 0 {
            let span = Span {
                stream_offset: start_offset,
                first_frame,
                frame,
                ts,
                packet_len,
                truncated: true,
            };
            self.emit_head(span, sink);
            self.state = State::Synced;
        } else {
            self.state = State::Skipping {
                start_offset,
                first_frame,
                packet_len,
                remaining,
                head_cap,
            };
        }
        n
    }

    /// Completes the packet held in `buf` from `data`; returns the bytes used.
    fn fill_partial(
        &mut self,
        data: &[u8],
        frame_no: u64,
        ts: Timestamp,
        sink: &mut dyn EventSink,
    ) -> usize {
        let buf_offset = self.marks.first().map(|m| m.offset).unwrap_or(self.offset);
        let (first_frame, first_ts) = self
            .marks
            .first()
            .map(|m| (m.frame, m.ts))
            .unwrap_or((frame_no, ts));
        let mut used = 0usize;
        loop {
            match frame(&self.buf) {
                Framing::NeedHeader => {
                    let Some(&b) = data.get(used) else {
                        break;
                    };
                    self.buf.push(b);
                    used += 1;
                    self.offset += 1;
                }
                Framing::NeedBody(h) => {
                    if plausible::suspicious(&h) {
                        return self.partial_is_garbage(data, used, frame_no, ts);
                    }
                    if h.packet_len() > self.limit {
                        let head = std::mem::take(&mut self.buf);
                        self.start_skipping(h, &head, buf_offset, first_frame, first_ts, sink);
                        return used;
                    }
                    let need = (h.packet_len() - self.buf.len() as u64) as usize;
                    let take = need.min(data.len() - used);
                    self.buf
                        .extend_from_slice(data.get(used..used + take).unwrap_or(&[]));
                    used += take;
                    self.offset += take as u64;
                    if take < need {
                        break;
                    }
                }
                Framing::Complete(h) => {
                    if plausible::suspicious(&h) && data.len() > used {
                        let next = data.get(used..).unwrap_or(&[]);
                        if !matches!(
                            plausible::check_packet(next, self.max_packet()),
                            Check::Plausible(_) | Check::NeedMore
                        ) {
                            return self.partial_is_garbage(data, used, frame_no, ts);
                        }
                    }
                    let len = h.packet_len();
                    self.emit_buffer(
                        Span {
                            stream_offset: buf_offset,
                            first_frame,
                            frame: frame_no,
                            ts,
                            packet_len: len,
                            truncated: false,
                        },
                        sink,
                    );
                    self.buf.clear();
                    self.marks.clear();
                    break;
                }
                Framing::Invalid(_) => {
                    return self.partial_is_garbage(data, used, frame_no, ts);
                }
            }
        }
        used
    }

    /// The buffered partial packet turned out to be garbage: resynchronise over it and `data`.
    fn partial_is_garbage(
        &mut self,
        data: &[u8],
        used: usize,
        frame_no: u64,
        ts: Timestamp,
    ) -> usize {
        let buf_offset = self.marks.first().map(|m| m.offset).unwrap_or(self.offset);
        let (first_frame, first_ts) = self
            .marks
            .first()
            .map(|m| (m.frame, m.ts))
            .unwrap_or((frame_no, ts));
        self.state = State::Resync {
            cause: Cause::Garbage,
            skipped: 0,
            first_frame,
            first_ts,
            skip_offset: buf_offset,
        };
        self.reset_scan();
        self.mark(frame_no, ts);
        let rest = data.get(used..).unwrap_or(&[]);
        self.buf.extend_from_slice(rest);
        self.offset += rest.len() as u64;
        data.len()
    }

    /// Synchronisation lost at `off` inside synced data: buffer the rest and scan it.
    fn lose_sync(&mut self, cause: Cause, rest: &[u8], off: u64, prov: Prov<'_>) {
        let (first_frame, first_ts) = prov.at(off);
        let mut marks: Vec<Mark> = match prov {
            Prov::One(f, ts) => vec![Mark {
                offset: off,
                frame: f,
                ts,
            }],
            Prov::Marks(m) => {
                let i = m.partition_point(|k| k.offset <= off).saturating_sub(1);
                let mut v = m.get(i..).unwrap_or(&[]).to_vec();
                if let Some(first) = v.first_mut() {
                    first.offset = first.offset.max(off);
                }
                v
            }
        };
        let mut buf = std::mem::take(&mut self.buf);
        buf.clear();
        buf.extend_from_slice(rest);
        std::mem::swap(&mut self.marks, &mut marks);
        self.reset_scan();
        self.buf = buf;
        self.state = State::Resync {
            cause,
            skipped: 0,
            first_frame,
            first_ts,
            skip_offset: off,
        };
    }

    /// Scans `buf` for a credible packet boundary; on success reports the episode and frames
    /// the rest of `buf` normally (iterating, not recursing, when that loses sync again).
    fn try_resync(&mut self, at_end: bool, sink: &mut dyn EventSink) {
        while let State::Resync {
            cause,
            mut skipped,
            first_frame,
            first_ts,
            skip_offset,
        } = self.state
        {
            let max_packet = self.max_packet();
            // Positions left undecided last time are re-checked; positions before `scanned`
            // were rejected for good (more bytes never make an implausible start plausible).
            let mut found = None;
            let mut undecided = Vec::new();
            let candidates = std::mem::take(&mut self.undecided)
                .into_iter()
                .chain(self.scanned..self.buf.len());
            for i in candidates {
                let candidate = self.buf.get(i..).unwrap_or(&[]);
                match plausible::check_chain(candidate, max_packet, RESYNC_CHAIN, true, at_end) {
                    Check::Plausible(_) => {
                        found = Some(i);
                        break;
                    }
                    Check::Implausible => {}
                    Check::NeedMore => {
                        // A false start claiming a long packet must not block the real
                        // boundary behind it: keep scanning, remember a few undecided.
                        if undecided.len() < MAX_UNDECIDED {
                            undecided.push(i);
                        }
                    }
                }
            }
            self.scanned = self.buf.len();
            let first_undecided = undecided.first().copied();
            if found.is_none()
                && let Some(u) = first_undecided
                && self.buf.len() - u > RESYNC_WINDOW
            {
                found = Some(u);
            }
            let wait_at = first_undecided;
            let buf_start = self.offset - self.buf.len() as u64;
            let drop = found.or(wait_at).unwrap_or(self.buf.len());
            skipped += drop as u64;
            if found.is_none() {
                // Nothing credible yet: forget the rejected prefix, keep the undecided rest.
                self.buf.drain(..drop);
                self.scanned -= drop;
                self.undecided = undecided.into_iter().map(|u| u - drop).collect();
                self.trim_marks(buf_start + drop as u64);
                self.state = State::Resync {
                    cause,
                    skipped,
                    first_frame,
                    first_ts,
                    skip_offset,
                };
                // No boundary ever found: at a stream start, that is not a mid-stream join but
                // bytes that are not MQTT.
                let cause = if cause == Cause::StreamStart && !self.synced_once && skipped > 0 {
                    Cause::Garbage
                } else {
                    cause
                };
                if at_end {
                    self.report_episode(cause, skipped, first_frame, first_ts, skip_offset, sink);
                    self.buf.clear();
                    self.marks.clear();
                    self.reset_scan();
                    self.state = State::Synced;
                } else if skipped > GIVE_UP_AFTER && !self.synced_once {
                    self.report_episode(cause, skipped, first_frame, first_ts, skip_offset, sink);
                    self.buf = Vec::new();
                    self.marks = Vec::new();
                    self.state = State::Abandoned;
                }
                return;
            }
            self.report_episode(cause, skipped, first_frame, first_ts, skip_offset, sink);
            self.state = State::Synced;
            self.scanned = 0;
            self.undecided.clear();
            let data = std::mem::take(&mut self.buf);
            let marks = std::mem::take(&mut self.marks);
            let start = buf_start + drop as u64;
            let rest = data.get(drop..).unwrap_or(&[]);
            // `offset` already counts these bytes; a partial packet left in `buf` gets its mark
            // from `marks` through `Prov::at`.
            self.synced(rest, start, Prov::Marks(&marks), sink);
        }
    }

    /// Forgets what resynchronisation scanning had found (the buffer changed wholesale).
    fn reset_scan(&mut self) {
        self.scanned = 0;
        self.undecided.clear();
    }

    fn trim_marks(&mut self, keep_from: u64) {
        let i = self
            .marks
            .partition_point(|m| m.offset <= keep_from)
            .saturating_sub(1);
        self.marks.drain(..i);
        if let Some(first) = self.marks.first_mut() {
            first.offset = first.offset.max(keep_from);
        }
    }

    fn report_episode(
        &mut self,
        cause: Cause,
        skipped: u64,
        first_frame: u64,
        first_ts: Timestamp,
        skip_offset: u64,
        sink: &mut dyn EventSink,
    ) {
        let gap = self.pending_gap.take();
        match (cause, gap) {
            (_, Some(gap)) => sink.event(StreamEvent::Gap(GapEvent {
                stream: self.stream,
                dir: self.dir,
                ts: gap.ts,
                frame: gap.frame,
                missing: gap.missing,
                resync_skipped: skipped,
            })),
            (Cause::StreamStart, None) if skipped > 0 => sink.event(StreamEvent::Gap(GapEvent {
                stream: self.stream,
                dir: self.dir,
                ts: first_ts,
                frame: first_frame,
                missing: 0,
                resync_skipped: skipped,
            })),
            (Cause::Garbage, None) => sink.event(StreamEvent::Issue(TransportIssue {
                stream: Some(self.stream),
                dir: Some(self.dir),
                ts: first_ts,
                frame: first_frame,
                kind: TransportIssueKind::NotMqtt,
                detail: format!(
                    "{skipped} bytes that are not MQTT skipped from stream offset {skip_offset} \
                     until the next credible packet boundary"
                ),
            })),
            _ => {}
        }
    }

    /// `missing` bytes of the stream were never captured; the next byte pushed follows them.
    pub(crate) fn gap(
        &mut self,
        missing: u64,
        frame_no: u64,
        ts: Timestamp,
        sink: &mut dyn EventSink,
    ) {
        if missing == 0 {
            return;
        }
        let gap_start = self.offset;
        self.offset += missing;
        let gap_end = self.offset;
        let report_now = |this: &mut MqttFramer, sink: &mut dyn EventSink| {
            sink.event(StreamEvent::Gap(GapEvent {
                stream: this.stream,
                dir: this.dir,
                ts,
                frame: frame_no,
                missing,
                resync_skipped: 0,
            }));
        };
        match self.state {
            State::Abandoned => {}
            State::Skipping {
                start_offset,
                first_frame,
                packet_len,
                remaining,
                ..
            } => {
                if missing <= remaining {
                    // The gap lies inside a payload we skip anyway: framing stays intact.
                    let remaining = remaining - missing;
                    // Bytes after the hole are not the packet's head any more.
                    self.state = State::Skipping {
                        start_offset,
                        first_frame,
                        packet_len,
                        remaining,
                        head_cap: self.buf.len(),
                    };
                    report_now(self, sink);
                    self.finish_skip_if_done(frame_no, ts, sink);
                } else {
                    let span = Span {
                        stream_offset: start_offset,
                        first_frame,
                        frame: frame_no,
                        ts,
                        packet_len,
                        truncated: true,
                    };
                    self.emit_head(span, sink);
                    self.start_gap_resync(missing, frame_no, ts);
                }
            }
            State::Synced => {
                let header = match frame(&self.buf) {
                    Framing::NeedBody(h) if !self.buf.is_empty() => Some(h),
                    _ => None,
                };
                let buf_offset = self.marks.first().map(|m| m.offset).unwrap_or(gap_start);
                match header {
                    Some(h) if buf_offset + h.packet_len() >= gap_end => {
                        // The gap ends inside the packet being assembled: deliver its head as
                        // truncated and skip to its known end, staying synchronised.
                        let first_frame = self.marks.first().map(|m| m.frame).unwrap_or(frame_no);
                        let remaining = buf_offset + h.packet_len() - gap_end;
                        let keep = self.keep();
                        self.buf.truncate(keep);
                        self.state = State::Skipping {
                            start_offset: buf_offset,
                            first_frame,
                            packet_len: h.packet_len(),
                            remaining,
                            head_cap: self.buf.len(),
                        };
                        report_now(self, sink);
                        self.finish_skip_if_done(frame_no, ts, sink);
                    }
                    _ => self.start_gap_resync(missing, frame_no, ts),
                }
            }
            State::Resync { .. } => {
                // Bytes before and after a gap are not contiguous: rescan from after it.
                if let State::Resync { skipped, .. } = &mut self.state {
                    *skipped += self.buf.len() as u64;
                }
                self.buf.clear();
                self.marks.clear();
                self.reset_scan();
                let total = self.pending_gap.map(|g| g.missing).unwrap_or(0) + missing;
                self.pending_gap = Some(PendingGap {
                    missing: total,
                    frame: self.pending_gap.map(|g| g.frame).unwrap_or(frame_no),
                    ts: self.pending_gap.map(|g| g.ts).unwrap_or(ts),
                });
            }
        }
    }

    fn finish_skip_if_done(&mut self, frame_no: u64, ts: Timestamp, sink: &mut dyn EventSink) {
        if let State::Skipping {
            start_offset,
            first_frame,
            packet_len,
            remaining: 0,
            ..
        } = self.state
        {
            let span = Span {
                stream_offset: start_offset,
                first_frame,
                frame: frame_no,
                ts,
                packet_len,
                truncated: true,
            };
            self.emit_head(span, sink);
            self.marks.clear();
            self.state = State::Synced;
        }
    }

    /// Delivers the kept head of a skipped packet as one truncated packet; the buffer is left
    /// empty (its allocation kept).
    fn emit_head(&mut self, span: Span, sink: &mut dyn EventSink) {
        let head = std::mem::take(&mut self.buf);
        self.emit(&head, span, sink);
        self.buf = head;
        self.buf.clear();
    }

    fn start_gap_resync(&mut self, missing: u64, frame_no: u64, ts: Timestamp) {
        self.reset_scan();
        self.buf.clear();
        self.marks.clear();
        self.pending_gap = Some(PendingGap {
            missing,
            frame: frame_no,
            ts,
        });
        self.state = State::Resync {
            cause: Cause::Gap,
            skipped: 0,
            first_frame: 0,
            first_ts: ts,
            skip_offset: self.offset,
        };
    }

    /// The stream ended: decide what is still undecided.
    pub(crate) fn finish(&mut self, sink: &mut dyn EventSink) {
        self.try_resync(true, sink);
        if let State::Skipping {
            start_offset,
            first_frame,
            packet_len,
            ..
        } = self.state
        {
            // The stream ended inside a packet over the limit: its headers are still worth
            // reporting (the end is missing either way).
            let (frame, ts) = self.last.unwrap_or((first_frame, Timestamp(0)));
            let span = Span {
                stream_offset: start_offset,
                first_frame,
                frame,
                ts,
                packet_len,
                truncated: true,
            };
            self.emit_head(span, sink);
            self.state = State::Synced;
        }
        if let Some(gap) = self.pending_gap.take() {
            sink.event(StreamEvent::Gap(GapEvent {
                stream: self.stream,
                dir: self.dir,
                ts: gap.ts,
                frame: gap.frame,
                missing: gap.missing,
                resync_skipped: 0,
            }));
        }
        self.buf = Vec::new();
        self.marks = Vec::new();
    }
}

/// A suspicious but complete packet is accepted when the stream continues credibly after it
/// (or ends with it).
fn corroborated(rest: &[u8], len: usize, max_packet: u64) -> bool {
    let next = rest.get(len..).unwrap_or(&[]);
    next.is_empty()
        || matches!(
            plausible::check_packet(next, max_packet),
            Check::Plausible(_) | Check::NeedMore
        )
}
