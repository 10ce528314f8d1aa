//! The bytes behind a selected packet, apart from drawing: the raw frames it came from (read
//! back through the [`FrameStore`](super::frame_store::FrameStore)), each taken apart into
//! its layers, where the packet's MQTT bytes lie in each frame, and the hex pane's tabs over
//! them (Wireshark's "Frame (N bytes)" and "Reassembled TCP (M bytes)").
//!
//! The model keeps, per packet, the frame holding its last byte and how many frames back its
//! first byte is, not the frames in between (which may belong to other connections). So the
//! frames in that span are read, those of the packet's connection and direction kept, and the
//! packet's bytes matched against their application bytes (unmasked for WebSocket): forward
//! from the first frame, skipping a frame that does not continue the packet (a retransmission).
//!
//! When the trace did not keep the packet's bytes (MQTT directly on TCP, read from a seekable
//! file: see `dissector::analyze::RawBytes::UnlessRebuildable`), they are rebuilt instead: the
//! connection knows the TCP sequence number of the packet's first byte, so byte `i` is the one
//! at sequence number `seq + i` (modulo 2^32) in a segment of the packet's direction
//! ([`rebuild`]). The first copy of a byte wins, as in reassembly.

use super::frame_store::FrameLookup;
use capture::layers::{self, FrameLayers, WebSocketHint};
use capture::source::OwnedFrame;
use std::net::SocketAddr;
use std::ops::Range;

/// Which bytes a detail-tree line or a hex tab refers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ByteView {
    /// The packet's MQTT bytes, reassembled (and unmasked) from its frames.
    #[default]
    Mqtt,
    /// The raw captured frame with this number.
    Frame(u64),
}

/// One frame the packet came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PacketFrame {
    /// The frame as captured.
    pub frame: OwnedFrame,
    /// Its layers.
    pub layers: FrameLayers,
    /// The packet's bytes in it: (range of the MQTT bytes, range of the frame), in order.
    pub pieces: Vec<(Range<usize>, Range<usize>)>,
}

impl PacketFrame {
    /// Records that the application bytes `app` of this frame are the packet's MQTT bytes from
    /// `mqtt_start` on (one piece per contiguous run of frame bytes they map to).
    fn hold(&mut self, mqtt_start: usize, app: Range<usize>) {
        let mut at = mqtt_start;
        for r in self.layers.app_to_frame(app) {
            self.pieces.push((at..at + r.len(), r.clone()));
            at += r.len();
        }
    }

    /// MQTT bytes of the packet this frame holds.
    pub fn mqtt_len(&self) -> usize {
        self.pieces.iter().map(|(m, _)| m.len()).sum()
    }
}

/// What a selection shows below the MQTT layer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PacketBytes {
    /// The frames holding the packet's bytes, in frame order; the last one is the frame the
    /// packet completes in (whose layers the tree shows), even when no bytes could be placed.
    pub frames: Vec<PacketFrame>,
    /// Why frames are missing, when some are ("frame bytes no longer kept", …).
    pub note: Option<String>,
    /// The packet's MQTT bytes rebuilt from the frames, when the trace did not keep them
    /// ([`rebuild`]): its first bytes only when it is longer than [`MAX_REBUILD`] or bytes are
    /// missing from the frames.
    pub rebuilt: Option<Vec<u8>>,
}

/// Where to look for a packet's frames.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PacketWhere {
    /// Frame holding the first byte.
    pub first: u64,
    /// Frame holding the last byte.
    pub last: u64,
    /// Sender of the packet.
    pub src: SocketAddr,
    /// Receiver.
    pub dst: SocketAddr,
    /// WebSocket framing, and which way.
    pub ws: WebSocketHint,
}

/// Most frames read for one packet; a packet spread wider is shown by its first and last
/// frames (half each).
pub const MAX_FRAMES: u64 = 512;
/// Most frame bytes read for one packet.
const MAX_FRAME_BYTES: usize = 64 << 20;
/// Most MQTT bytes rebuilt for one packet: as many as the capture layer keeps of a packet over
/// its payload limit, enough for every header, and a hex pane that stays readable.
pub const MAX_REBUILD: usize = 64 << 10;

/// Reads a frame, or says in `note` why it cannot be had.
fn fetch_frame(
    n: u64,
    fetch: &mut dyn FnMut(u64) -> FrameLookup,
    note: &mut Option<String>,
) -> Option<OwnedFrame> {
    match fetch(n) {
        FrameLookup::Found(f) => Some(f),
        FrameLookup::Dropped => {
            *note = Some(format!(
                "Frame {n}: frame bytes no longer kept (the oldest frames of a live or \
                 compressed capture are dropped to bound memory)."
            ));
            None
        }
        FrameLookup::Unknown => {
            *note = Some(format!("Frame {n}: frame bytes not recorded."));
            None
        }
        FrameLookup::Failed(e) => {
            *note = Some(format!("Frame {n} could not be read again: {e}"));
            None
        }
    }
}

/// Rebuilds the first `len` MQTT bytes (at most [`MAX_REBUILD`]) of a packet sent directly on
/// TCP (`at.ws` is ignored) whose first byte has sequence number `seq`, from its frames, and
/// places them in those frames.
///
/// The frames looked in are `carrying` (the frames from `at.first` to `at.last` known to carry
/// the packet's connection and direction, see
/// [`FrameStore::frames_carrying`](super::frame_store::FrameStore::frames_carrying)) or, when
/// that is not known, every frame from `at.first` to `at.last`. They are read in order while
/// bytes are missing, at most [`MAX_FRAMES`] of them (the first and the last half when there
/// are more), then the last one, which heads the tree. A byte already filled keeps its first
/// copy in frame order (a retransmission adds nothing). The rebuilt bytes end at the first
/// byte no frame read holds, with a note saying which are missing.
pub fn rebuild(
    at: &PacketWhere,
    seq: u32,
    len: u64,
    carrying: Option<&[u64]>,
    fetch: &mut dyn FnMut(u64) -> FrameLookup,
) -> PacketBytes {
    let len = usize::try_from(len).unwrap_or(usize::MAX).min(MAX_REBUILD);
    let mut r = Rebuild {
        seq,
        src: at.src,
        dst: at.dst,
        bytes: vec![0u8; len],
        filled: vec![false; len],
        missing: len,
        read: 0,
        out: PacketBytes::default(),
    };
    let first = at.first.min(at.last);
    // The i-th frame to look in.
    let count = carrying.map_or(at.last - first + 1, |c| c.len() as u64);
    let number = |i: u64| match carrying {
        Some(c) => usize::try_from(i).ok().and_then(|i| c.get(i)).copied(),
        None => first.checked_add(i),
    };
    // Frames from index `head_end` to `tail_start` are not read.
    let (head_end, tail_start) = if count <= MAX_FRAMES {
        (count, count)
    } else {
        (MAX_FRAMES / 2, count - MAX_FRAMES / 2)
    };
    let mut not_read: Option<(u64, u64)> = None;
    let mut read_last = false;
    let mut i = 0u64;
    while i < count && r.missing > 0 {
        let skip_to = if r.read > MAX_FRAME_BYTES {
            count
        } else if i == head_end {
            tail_start
        } else {
            i
        };
        if skip_to > i {
            let from = not_read.map_or(number(i), |(f, _)| Some(f));
            let to = number(skip_to - 1);
            if let (Some(from), Some(to)) = (from, to) {
                not_read = Some((from, to.min(at.last.saturating_sub(1))));
            }
            i = skip_to;
            continue;
        }
        let Some(n) = number(i).filter(|&n| n <= at.last) else {
            break;
        };
        i += 1;
        r.visit(n, n == at.last, fetch);
        read_last |= n == at.last;
    }
    if !read_last {
        r.visit(at.last, true, fetch);
    }
    r.finish(not_read)
}

/// A packet's bytes being rebuilt from its frames.
struct Rebuild {
    seq: u32,
    src: SocketAddr,
    dst: SocketAddr,
    bytes: Vec<u8>,
    filled: Vec<bool>,
    missing: usize,
    read: usize,
    out: PacketBytes,
}

impl Rebuild {
    /// Reads frame `n` and takes the packet's bytes it holds; keeps it when it holds some, or
    /// when it is the frame the packet completes in (`last`).
    fn visit(&mut self, n: u64, last: bool, fetch: &mut dyn FnMut(u64) -> FrameLookup) {
        let Some(frame) = fetch_frame(n, fetch, &mut self.out.note) else {
            return;
        };
        self.read += frame.data.len();
        let layers = layers::dissect(&frame.as_raw(), WebSocketHint::None);
        let mut pf = PacketFrame {
            frame,
            layers,
            pieces: Vec::new(),
        };
        if pf.layers.tcp == Some((self.src, self.dst)) {
            self.missing -= place_by_seq(&mut pf, self.seq, &mut self.bytes, &mut self.filled);
        }
        if !pf.pieces.is_empty() || last {
            self.out.frames.push(pf);
        }
    }

    /// The bytes up to the first one missing, with a note naming the missing ones and the
    /// frames `not_read`, if any.
    fn finish(mut self, not_read: Option<(u64, u64)>) -> PacketBytes {
        let len = self.bytes.len();
        let have = self.filled.iter().position(|f| !f).unwrap_or(len);
        if have < len {
            let end = self
                .filled
                .iter()
                .skip(have)
                .position(|&f| f)
                .map_or(len, |e| have + e);
            let mut why = format!(
                "MQTT bytes {have}–{end} of the packet are in none of the frames read (lost by \
                 the capture, or their frames could not be read)."
            );
            if let Some((from, to)) = not_read {
                why.push_str(&format!(
                    " Frames {from}–{to} were not read (at most {MAX_FRAMES} frames are read \
                     for a packet)."
                ));
            }
            self.out.note = Some(match self.out.note.take() {
                Some(n) => format!("{n} {why}"),
                None => why,
            });
        }
        self.bytes.truncate(have);
        self.out.rebuilt = (have > 0).then_some(self.bytes);
        self.out
    }
}

/// Copies the bytes of frame `pf` that belong to the packet starting at sequence number
/// `seq` into `bytes` where not yet `filled`, and records them as the frame's pieces; returns
/// how many were new.
fn place_by_seq(pf: &mut PacketFrame, seq: u32, bytes: &mut [u8], filled: &mut [bool]) -> usize {
    let Some(payload_seq) = pf.layers.payload_seq else {
        return 0;
    };
    // MQTT on TCP: the application bytes are the payload as captured.
    let app = pf.layers.app_bytes(&pf.frame.data);
    // Where the payload starts relative to the packet: a signed distance modulo 2^32 (RFC 9293
    // §3.4), negative for a segment that starts before the packet.
    let rel = i64::from(payload_seq.wrapping_sub(seq) as i32);
    let lo = rel.max(0);
    let hi = (rel + app.len() as i64).min(bytes.len() as i64);
    let mut new = 0usize;
    let mut m = lo;
    while m < hi {
        let start = m;
        let was_filled = filled.get(m as usize).copied().unwrap_or(true);
        while m < hi && filled.get(m as usize).copied().unwrap_or(true) == was_filled {
            m += 1;
        }
        if was_filled {
            continue;
        }
        let (mqtt, in_app) = (
            start as usize..m as usize,
            (start - rel) as usize..(m - rel) as usize,
        );
        let (Some(dst), Some(src)) = (bytes.get_mut(mqtt.clone()), app.get(in_app.clone())) else {
            continue;
        };
        dst.copy_from_slice(src);
        if let Some(f) = filled.get_mut(mqtt.clone()) {
            f.fill(true);
        }
        new += mqtt.len();
        pf.hold(mqtt.start, in_app);
    }
    new
}

/// Reads the frames of a packet whose MQTT bytes are `mqtt` (as kept: possibly a prefix) and
/// places those bytes in them. `fetch` gets a frame by number.
pub fn collect(
    at: &PacketWhere,
    mqtt: &[u8],
    fetch: &mut dyn FnMut(u64) -> FrameLookup,
) -> PacketBytes {
    let mut out = PacketBytes::default();
    let first = at.first.min(at.last);
    let span = at.last - first + 1;
    let numbers: Vec<u64> = if span <= MAX_FRAMES {
        (first..=at.last).collect()
    } else {
        out.note = Some(format!(
            "The packet spans {span} frames: only its first and last {} are read.",
            MAX_FRAMES / 2
        ));
        (first..first + MAX_FRAMES / 2)
            .chain(at.last + 1 - MAX_FRAMES / 2..=at.last)
            .collect()
    };
    let split = (span > MAX_FRAMES).then_some(first + MAX_FRAMES / 2);
    let mut candidates: Vec<(PacketFrame, Vec<u8>)> = Vec::new();
    let mut read = 0usize;
    for n in numbers {
        if read > MAX_FRAME_BYTES {
            out.note = Some(format!(
                "Frames from {n} on not read: the packet's frames exceed {} MiB.",
                MAX_FRAME_BYTES >> 20
            ));
            break;
        }
        let Some(frame) = fetch_frame(n, fetch, &mut out.note) else {
            continue;
        };
        read += frame.data.len();
        let layers = layers::dissect(&frame.as_raw(), at.ws);
        let ours = layers.tcp == Some((at.src, at.dst)) && !layers.app.is_empty();
        if ours || n == at.last {
            let app = if ours {
                layers.app_bytes(&frame.data)
            } else {
                Vec::new()
            };
            candidates.push((
                PacketFrame {
                    frame,
                    layers,
                    pieces: Vec::new(),
                },
                app,
            ));
        }
    }
    let (head, tail): (Vec<usize>, Vec<usize>) = (0..candidates.len())
        .partition(|&i| split.is_none_or(|s| candidates[i].0.frame.number < s));
    let mut placed = vec![None; candidates.len()];
    match_forward(&head, &candidates, mqtt, &mut placed);
    if !tail.is_empty() {
        match_backward(&tail, &candidates, mqtt, &mut placed);
    }
    let last_index = candidates.len().saturating_sub(1);
    for (i, ((mut pf, _), place)) in candidates.into_iter().zip(placed).enumerate() {
        if let Some((mqtt_range, app_start)) = place {
            pf.hold(mqtt_range.start, app_start..app_start + mqtt_range.len());
        }
        if !pf.pieces.is_empty() || (i == last_index && pf.frame.number == at.last) {
            out.frames.push(pf);
        }
    }
    out
}

/// A placement: the MQTT range a frame holds and where it starts in the frame's app bytes.
type Placement = Option<(Range<usize>, usize)>;

/// Places the packet from its start: the first frame ends with the packet's start (or holds
/// all of it), the next ones continue it.
fn match_forward(
    order: &[usize],
    c: &[(PacketFrame, Vec<u8>)],
    mqtt: &[u8],
    placed: &mut [Placement],
) {
    let mut pos = 0usize;
    for &i in order {
        if pos >= mqtt.len() {
            break;
        }
        let app = &c[i].1;
        if app.is_empty() {
            continue;
        }
        if pos == 0 {
            // The packet inside this frame, else the longest end of the frame that starts it.
            let (full, overlap) = kmp(&mqtt[..mqtt.len().min(app.len())], app);
            if let (Some(s), true) = (full, mqtt.len() <= app.len()) {
                placed[i] = Some((0..mqtt.len(), s));
                pos = mqtt.len();
            } else if overlap > 0 {
                placed[i] = Some((0..overlap, app.len() - overlap));
                pos = overlap;
            }
        } else {
            let n = (mqtt.len() - pos).min(app.len());
            let expect = &mqtt[pos..pos + n];
            let unmasked;
            let app = match c[i].0.layers.app.first() {
                Some(span) if span.key_unknown => {
                    unmasked = unmask_continuation(app, span.range.len(), expect);
                    &unmasked
                }
                _ => app,
            };
            if app.get(..n) == Some(expect) {
                placed[i] = Some((pos..pos + n, 0));
                pos += n;
            }
        }
    }
}

/// A client's WebSocket payload continued from an earlier segment is masked with a key whose
/// header is not in this frame (RFC 6455 §5.3: byte `i` of a payload is XORed with key byte
/// `i mod 4`). Where the packet must continue, the bytes to expect are known: four of them
/// give the key (rotated to this segment's phase), the rest of the span is unmasked with it
/// and then still has to match. The first `span` bytes of `app` are the continued payload.
fn unmask_continuation(app: &[u8], span: usize, expect: &[u8]) -> Vec<u8> {
    let mut out = app.to_vec();
    let known = span.min(expect.len()).min(4).min(app.len());
    if known < 4 && known < span {
        // Too few bytes to learn the whole key: leave the bytes masked (no match).
        return out;
    }
    let mut key = [0u8; 4];
    for (k, (a, e)) in key.iter_mut().zip(app.iter().zip(expect)).take(known) {
        *k = a ^ e;
    }
    for (i, b) in out.iter_mut().enumerate().take(span) {
        *b ^= key[i % 4];
    }
    out
}

/// The mirror of [`match_forward`] from the packet's end, for the frames after a gap.
fn match_backward(
    order: &[usize],
    c: &[(PacketFrame, Vec<u8>)],
    mqtt: &[u8],
    placed: &mut [Placement],
) {
    let mut end = mqtt.len();
    for &i in order.iter().rev() {
        if end == 0 {
            break;
        }
        let app = &c[i].1;
        if app.is_empty() || placed[i].is_some() {
            continue;
        }
        if end == mqtt.len() {
            // The longest start of the frame that ends the packet.
            let k = app.len().min(mqtt.len());
            let (_, e) = kmp(&app[..k], &mqtt[mqtt.len() - k..]);
            if e > 0 {
                placed[i] = Some((mqtt.len() - e..mqtt.len(), 0));
                end -= e;
            }
        } else {
            let n = end.min(app.len());
            if app.get(app.len() - n..) == mqtt.get(end - n..end) {
                placed[i] = Some((end - n..end, app.len() - n));
                end -= n;
            }
        }
    }
}

/// Knuth–Morris–Pratt over `text` with `pattern`, in time linear in both (a packet is matched
/// against frames of up to 256 KiB: a naive search could take quadratic time on repetitive
/// bytes). Returns where `pattern` first occurs whole, and the length of the longest prefix of
/// `pattern` that ends `text` (the whole pattern when an occurrence ends it).
fn kmp(pattern: &[u8], text: &[u8]) -> (Option<usize>, usize) {
    if pattern.is_empty() {
        return (None, 0);
    }
    // fail[i]: length of the longest proper prefix of pattern[..=i] that is also its suffix.
    let mut fail = vec![0usize; pattern.len()];
    let mut k = 0;
    for i in 1..pattern.len() {
        while k > 0 && pattern[i] != pattern[k] {
            k = fail[k - 1];
        }
        if pattern[i] == pattern[k] {
            k += 1;
        }
        fail[i] = k;
    }
    let (mut first, mut q) = (None, 0usize);
    for (i, &b) in text.iter().enumerate() {
        while q > 0 && (q == pattern.len() || b != pattern[q]) {
            q = fail[q - 1];
        }
        if b == pattern[q] {
            q += 1;
        }
        if q == pattern.len() && first.is_none() {
            first = Some(i + 1 - q);
        }
    }
    (first, q)
}

impl PacketBytes {
    /// Drops rebuilt bytes that do not start with the packet's first byte as the analyzer saw
    /// it (the sequence numbers led elsewhere), with a note: wrong bytes are worse than none.
    pub fn check_start(&mut self, first_byte: u8) {
        let Some(&found) = self.rebuilt.as_ref().and_then(|b| b.first()) else {
            return;
        };
        if found != first_byte {
            self.rebuilt = None;
            for f in &mut self.frames {
                f.pieces.clear();
            }
            self.note = Some(format!(
                "The packet's bytes could not be rebuilt from its frames: the byte at its \
                 sequence number is {found:#04x}, not its first byte {first_byte:#04x}."
            ));
        }
    }

    /// The frame numbered `n`, if it is one of the packet's.
    pub fn frame(&self, n: u64) -> Option<&PacketFrame> {
        self.frames.iter().find(|f| f.frame.number == n)
    }

    /// The frame the packet completes in (its layers head the details tree).
    pub fn last(&self) -> Option<&PacketFrame> {
        self.frames.last()
    }

    /// Where MQTT bytes `mqtt` lie in frame `n`.
    pub fn mqtt_in_frame(&self, n: u64, mqtt: &Range<usize>) -> Vec<Range<usize>> {
        let Some(f) = self.frame(n) else {
            return Vec::new();
        };
        f.pieces
            .iter()
            .filter_map(|(m, r)| {
                let (lo, hi) = (mqtt.start.max(m.start), mqtt.end.min(m.end));
                (lo < hi).then(|| r.start + (lo - m.start)..r.start + (hi - m.start))
            })
            .collect()
    }

    /// The MQTT offset of byte `byte` of frame `n`, when it is one of the packet's.
    pub fn frame_to_mqtt(&self, n: u64, byte: usize) -> Option<usize> {
        self.frame(n)?
            .pieces
            .iter()
            .find(|(_, r)| r.contains(&byte))
            .map(|(m, r)| m.start + (byte - r.start))
    }

    /// The hex pane's tabs: one per frame, then the reassembled MQTT bytes.
    pub fn tabs(&self, mqtt_len: Option<usize>) -> Vec<HexTab> {
        let mut tabs: Vec<HexTab> = self
            .frames
            .iter()
            .map(|f| HexTab {
                view: ByteView::Frame(f.frame.number),
                title: format!("Frame {} ({} bytes)", f.frame.number, f.frame.data.len()),
            })
            .collect();
        if let Some(len) = mqtt_len {
            tabs.push(HexTab {
                view: ByteView::Mqtt,
                title: format!("Reassembled MQTT ({len} bytes)"),
            });
        }
        tabs
    }

    /// The bytes a tab shows (`mqtt` for [`ByteView::Mqtt`]).
    pub fn bytes<'a>(&'a self, view: ByteView, mqtt: Option<&'a [u8]>) -> Option<&'a [u8]> {
        match view {
            ByteView::Mqtt => mqtt,
            ByteView::Frame(n) => self.frame(n).map(|f| f.frame.data.as_slice()),
        }
    }

    /// The ranges of a tab to highlight for a selected field (`field` = its view and range):
    /// the field itself in its own tab, and an MQTT field's bytes in each frame holding them.
    pub fn highlight_in(
        &self,
        tab: ByteView,
        field: Option<&(ByteView, Range<usize>)>,
    ) -> Vec<Range<usize>> {
        match (field, tab) {
            (Some((v, r)), t) if *v == t => vec![r.clone()],
            (Some((ByteView::Mqtt, r)), ByteView::Frame(n)) => self.mqtt_in_frame(n, r),
            _ => Vec::new(),
        }
    }

    /// The packet's own bytes in a frame tab (shaded, as the packet's share of the frame).
    pub fn packet_in(&self, tab: ByteView) -> Vec<Range<usize>> {
        match tab {
            ByteView::Frame(n) => self
                .frame(n)
                .map(|f| f.pieces.iter().map(|(_, r)| r.clone()).collect())
                .unwrap_or_default(),
            ByteView::Mqtt => Vec::new(),
        }
    }

    /// The tab to show after a field was selected: the field's own, unless it is an MQTT
    /// field and the current frame tab holds some of its bytes (a click in a frame's MQTT
    /// bytes keeps the frame in view).
    pub fn tab_for(&self, current: ByteView, field: &(ByteView, Range<usize>)) -> ByteView {
        match (field, current) {
            ((ByteView::Mqtt, r), ByteView::Frame(n)) if !self.mqtt_in_frame(n, r).is_empty() => {
                current
            }
            ((v, _), _) => *v,
        }
    }

    /// The tab shown when the packet is selected: the frame it completes in, as Wireshark.
    pub fn default_tab(&self) -> ByteView {
        self.last()
            .map_or(ByteView::Mqtt, |f| ByteView::Frame(f.frame.number))
    }
}

/// One tab of the hex pane.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HexTab {
    /// What it shows.
    pub view: ByteView,
    /// Its title, e.g. `Frame 8 (89 bytes)`.
    pub title: String,
}

/// What the hex pane draws for the tab `view`: the tabs, the shown bytes, the selected field's
/// ranges (strong highlight) and the packet's bytes in a frame (shaded).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HexContent<'a> {
    /// Tabs, frames first.
    pub tabs: Vec<HexTab>,
    /// The bytes of the tab shown (None: nothing to show for it).
    pub bytes: Option<&'a [u8]>,
    /// The selected field's bytes in that tab.
    pub selected: Vec<Range<usize>>,
    /// The packet's MQTT bytes in that tab (frames only).
    pub packet: Vec<Range<usize>>,
}

/// No frames: the MQTT bytes alone.
static NO_FRAMES: PacketBytes = PacketBytes {
    frames: Vec::new(),
    note: None,
    rebuilt: None,
};

/// The hex pane's content for tab `view` of a packet with MQTT bytes `mqtt`, frames `bytes`
/// (None when its frames are not known) and selected field `field`.
pub fn hex_content<'a>(
    bytes: Option<&'a PacketBytes>,
    view: ByteView,
    mqtt: Option<&'a [u8]>,
    field: Option<&(ByteView, Range<usize>)>,
) -> HexContent<'a> {
    let pb = bytes.unwrap_or(&NO_FRAMES);
    let tabs = pb.tabs(mqtt.map(<[u8]>::len));
    // A tab that is not there (a packet without frames) falls back to the MQTT bytes.
    let view = if tabs.iter().any(|t| t.view == view) {
        view
    } else {
        ByteView::Mqtt
    };
    HexContent {
        bytes: pb.bytes(view, mqtt),
        selected: pb.highlight_in(view, field),
        packet: pb.packet_in(view),
        tabs,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dissector::input::Timestamp;

    const CLIENT: &str = "10.0.0.1:51000";
    const BROKER: &str = "10.0.0.2:1883";

    fn tcp_frame(number: u64, src: &str, dst: &str, payload: &[u8]) -> OwnedFrame {
        tcp_frame_at(number, src, dst, 1, payload)
    }

    /// A frame whose segment starts at sequence number `seq`.
    fn tcp_frame_at(number: u64, src: &str, dst: &str, seq: u32, payload: &[u8]) -> OwnedFrame {
        let (s, d): (SocketAddr, SocketAddr) = (src.parse().unwrap(), dst.parse().unwrap());
        let (std::net::IpAddr::V4(si), std::net::IpAddr::V4(di)) = (s.ip(), d.ip()) else {
            unreachable!("test addresses are IPv4")
        };
        let builder = etherparse::PacketBuilder::ethernet2([0; 6], [0; 6])
            .ipv4(si.octets(), di.octets(), 64)
            .tcp(s.port(), d.port(), seq, 100);
        let mut data = Vec::new();
        builder.write(&mut data, payload).expect("build");
        OwnedFrame {
            number,
            ts: Timestamp(0),
            linktype: 1,
            wire_len: data.len() as u32,
            data,
        }
    }

    fn fetch_from(frames: Vec<OwnedFrame>) -> impl FnMut(u64) -> FrameLookup {
        move |n| {
            frames
                .iter()
                .find(|f| f.number == n)
                .cloned()
                .map_or(FrameLookup::Unknown, FrameLookup::Found)
        }
    }

    fn at(first: u64, last: u64) -> PacketWhere {
        PacketWhere {
            first,
            last,
            src: CLIENT.parse().unwrap(),
            dst: BROKER.parse().unwrap(),
            ws: WebSocketHint::None,
        }
    }

    /// Ethernet + IPv4 + TCP header bytes before the payload in these frames.
    const HDR: usize = 14 + 20 + 20;

    #[test]
    fn a_packet_inside_one_frame_is_found_after_the_packet_before_it() {
        // PINGREQ then the selected PUBLISH in the same segment.
        let publish = b"\x30\x05\x00\x01tab";
        let mut payload = b"\xc0\x00".to_vec();
        payload.extend_from_slice(publish);
        let mut fetch = fetch_from(vec![tcp_frame(4, CLIENT, BROKER, &payload)]);
        let pb = collect(&at(4, 4), publish, &mut fetch);
        assert_eq!(pb.frames.len(), 1);
        assert_eq!(pb.frames[0].pieces, vec![(0..7, HDR + 2..HDR + 9)]);
        assert_eq!(pb.mqtt_in_frame(4, &(2..4)), vec![HDR + 4..HDR + 6]);
        assert_eq!(pb.frame_to_mqtt(4, HDR + 8), Some(6));
        assert_eq!(pb.frame_to_mqtt(4, HDR), None);
        assert_eq!(pb.default_tab(), ByteView::Frame(4));
        let titles: Vec<_> = pb.tabs(Some(7)).into_iter().map(|t| t.title).collect();
        assert_eq!(titles, ["Frame 4 (63 bytes)", "Reassembled MQTT (7 bytes)"]);
    }

    #[test]
    fn a_reassembled_packet_skips_other_connections_and_retransmissions() {
        let publish: Vec<u8> = b"\x30\x0d\x00\x03a/bhello, w".to_vec();
        let frames = vec![
            // The packet's first 6 bytes, after a PINGREQ.
            tcp_frame(
                10,
                CLIENT,
                BROKER,
                &[&b"\xc0\x00"[..], &publish[..6]].concat(),
            ),
            // Another connection in between.
            tcp_frame(11, "10.0.0.9:4000", BROKER, &publish[6..]),
            // A retransmission of the first bytes.
            tcp_frame(12, CLIENT, BROKER, &publish[..6]),
            // The broker's ACK.
            tcp_frame(13, BROKER, CLIENT, b""),
            tcp_frame(14, CLIENT, BROKER, &publish[6..]),
        ];
        let mut fetch = fetch_from(frames);
        let pb = collect(&at(10, 14), &publish, &mut fetch);
        let numbers: Vec<u64> = pb.frames.iter().map(|f| f.frame.number).collect();
        assert_eq!(numbers, [10, 14]);
        assert_eq!(pb.frames[0].pieces, vec![(0..6, HDR + 2..HDR + 8)]);
        assert_eq!(pb.frames[1].pieces, vec![(6..15, HDR..HDR + 9)]);
        // A field across the boundary lights up in both frames.
        assert_eq!(pb.mqtt_in_frame(10, &(4..9)), vec![HDR + 6..HDR + 8]);
        assert_eq!(pb.mqtt_in_frame(14, &(4..9)), vec![HDR..HDR + 3]);
        assert_eq!(pb.note, None);
    }

    #[test]
    fn dropped_frames_are_said_and_the_last_frame_still_heads_the_tree() {
        let publish = b"\x30\x05\x00\x01tab";
        let mut fetch = |n: u64| {
            if n == 20 {
                FrameLookup::Dropped
            } else {
                FrameLookup::Found(tcp_frame(n, CLIENT, BROKER, &publish[3..]))
            }
        };
        let pb = collect(&at(20, 21), publish, &mut fetch);
        assert!(
            pb.note
                .as_deref()
                .is_some_and(|n| n.contains("no longer kept"))
        );
        assert_eq!(pb.last().map(|f| f.frame.number), Some(21));
        // Only the tail could be checked, not placed: the start is missing.
        assert!(pb.frames[0].pieces.is_empty());
    }

    #[test]
    fn a_packet_wider_than_the_frame_cap_is_placed_from_both_ends() {
        let len = MAX_FRAMES as usize + 10;
        let mqtt: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
        let mut fetch = |n: u64| {
            let i = (n - 1) as usize;
            FrameLookup::Found(tcp_frame(n, CLIENT, BROKER, &mqtt[i..i + 1]))
        };
        let pb = collect(&at(1, len as u64), &mqtt, &mut fetch);
        assert!(pb.note.is_some());
        assert_eq!(pb.frames.len(), MAX_FRAMES as usize);
        let last = pb.last().expect("last frame");
        assert_eq!(last.pieces, vec![(len - 1..len, HDR..HDR + 1)]);
        assert_eq!(pb.frames[0].pieces, vec![(0..1, HDR..HDR + 1)]);
    }

    #[test]
    fn highlights_follow_the_field_into_the_frame_tabs() {
        let publish = b"\x30\x05\x00\x01tab";
        let mut fetch = fetch_from(vec![tcp_frame(1, CLIENT, BROKER, publish)]);
        let pb = collect(&at(1, 1), publish, &mut fetch);
        let mqtt_field = (ByteView::Mqtt, 2..5);
        assert_eq!(
            pb.highlight_in(ByteView::Mqtt, Some(&mqtt_field)),
            vec![2..5]
        );
        assert_eq!(
            pb.highlight_in(ByteView::Frame(1), Some(&mqtt_field)),
            vec![HDR + 2..HDR + 5]
        );
        let tcp_field = (ByteView::Frame(1), 34..36);
        assert_eq!(
            pb.highlight_in(ByteView::Frame(1), Some(&tcp_field)),
            vec![34..36]
        );
        assert!(pb.highlight_in(ByteView::Mqtt, Some(&tcp_field)).is_empty());
        assert_eq!(pb.packet_in(ByteView::Frame(1)), vec![HDR..HDR + 7]);
        // Selecting an MQTT field keeps the frame tab that shows it; a TCP field opens its
        // frame.
        assert_eq!(
            pb.tab_for(ByteView::Frame(1), &mqtt_field),
            ByteView::Frame(1)
        );
        assert_eq!(pb.tab_for(ByteView::Mqtt, &tcp_field), ByteView::Frame(1));
    }

    #[test]
    fn a_client_websocket_payload_continued_in_the_next_segment_is_unmasked_and_placed() {
        // A 20-byte PUBLISH in one masked binary frame, cut after 8 payload bytes.
        let mqtt = b"\x30\x12\x00\x03a/babcdefghijklm";
        let key = [0x10, 0x22, 0x33, 0x44];
        let masked: Vec<u8> = mqtt
            .iter()
            .zip(key.iter().cycle())
            .map(|(b, k)| b ^ k)
            .collect();
        let mut first = vec![0x82, 0x80 | 20];
        first.extend_from_slice(&key);
        first.extend_from_slice(&masked[..8]);
        // The continuation starts with 'a' ^ 0x10 = 0x71: RSV bits set, no header.
        let frames = vec![
            tcp_frame(1, CLIENT, BROKER, &first),
            tcp_frame(2, CLIENT, BROKER, &masked[8..]),
        ];
        let mut fetch = fetch_from(frames);
        let mut w = at(1, 2);
        w.ws = WebSocketHint::FromClient;
        let pb = collect(&w, mqtt, &mut fetch);
        let numbers: Vec<u64> = pb.frames.iter().map(|f| f.frame.number).collect();
        assert_eq!(numbers, [1, 2]);
        assert_eq!(pb.frames[0].pieces, vec![(0..8, HDR + 6..HDR + 14)]);
        assert_eq!(pb.frames[1].pieces, vec![(8..20, HDR..HDR + 12)]);
        // Bytes that do not continue the packet are not taken for it, whatever the key.
        let mut other = mqtt.to_vec();
        other[15] ^= 0xff;
        let mut fetch = fetch_from(vec![
            tcp_frame(1, CLIENT, BROKER, &first),
            tcp_frame(2, CLIENT, BROKER, &masked[8..]),
        ]);
        let pb = collect(&w, &other, &mut fetch);
        assert!(pb.frames.last().is_some_and(|f| f.pieces.is_empty()));
    }

    #[test]
    fn a_packet_inside_one_frame_is_rebuilt_at_its_sequence_number() {
        // PINGREQ then the selected PUBLISH in one segment starting at seq 5000.
        let publish = b"\x30\x05\x00\x01tab";
        let payload = [&b"\xc0\x00"[..], publish].concat();
        let mut fetch = fetch_from(vec![tcp_frame_at(4, CLIENT, BROKER, 5000, &payload)]);
        let pb = rebuild(&at(4, 4), 5002, 7, None, &mut fetch);
        assert_eq!(pb.rebuilt.as_deref(), Some(&publish[..]));
        assert_eq!(pb.frames.len(), 1);
        assert_eq!(pb.frames[0].pieces, vec![(0..7, HDR + 2..HDR + 9)]);
        assert_eq!(pb.note, None);
        // The hex pane shows them as it would kept bytes.
        let hex = hex_content(Some(&pb), ByteView::Mqtt, pb.rebuilt.as_deref(), None);
        assert_eq!(hex.bytes, Some(&publish[..]));
    }

    #[test]
    fn a_packet_over_three_frames_skips_a_retransmission_and_another_connection() {
        let publish: Vec<u8> = b"\x30\x11\x00\x03a/bhello, world".to_vec();
        let seq = 7000u32;
        let frames = vec![
            // A PINGREQ, then the packet's first 4 bytes.
            tcp_frame_at(
                10,
                CLIENT,
                BROKER,
                seq - 2,
                &[&b"\xc0\x00"[..], &publish[..4]].concat(),
            ),
            // Another connection, same sequence numbers and different bytes.
            tcp_frame_at(11, "10.0.0.9:4000", BROKER, seq + 4, b"XXXXXXXX"),
            tcp_frame_at(12, CLIENT, BROKER, seq + 4, &publish[4..10]),
            // A retransmission of bytes 2..10 with different content: the first copy wins.
            tcp_frame_at(13, CLIENT, BROKER, seq + 2, b"ZZZZZZZZ"),
            // The broker's ACK.
            tcp_frame_at(14, BROKER, CLIENT, 1, b""),
            // The rest, and the start of the next packet.
            tcp_frame_at(
                15,
                CLIENT,
                BROKER,
                seq + 10,
                &[&publish[10..], b"\xc0"].concat(),
            ),
        ];
        let mut fetch = fetch_from(frames);
        let pb = rebuild(&at(10, 15), seq, publish.len() as u64, None, &mut fetch);
        assert_eq!(pb.rebuilt.as_deref(), Some(&publish[..]));
        let numbers: Vec<u64> = pb.frames.iter().map(|f| f.frame.number).collect();
        assert_eq!(numbers, [10, 12, 15]);
        assert_eq!(pb.frames[0].pieces, vec![(0..4, HDR + 2..HDR + 6)]);
        assert_eq!(pb.frames[1].pieces, vec![(4..10, HDR..HDR + 6)]);
        assert_eq!(pb.frames[2].pieces, vec![(10..19, HDR..HDR + 9)]);
        assert_eq!(pb.mqtt_in_frame(12, &(2..5)), vec![HDR..HDR + 1]);
        assert_eq!(pb.note, None);
    }

    #[test]
    fn sequence_numbers_wrap_around_inside_a_packet() {
        let publish: Vec<u8> = b"\x30\x08\x00\x01tabcde".to_vec();
        let seq = u32::MAX - 2;
        let frames = vec![
            tcp_frame_at(1, CLIENT, BROKER, seq, &publish[..5]),
            tcp_frame_at(2, CLIENT, BROKER, 2, &publish[5..]),
        ];
        let mut fetch = fetch_from(frames);
        let pb = rebuild(&at(1, 2), seq, publish.len() as u64, None, &mut fetch);
        assert_eq!(pb.rebuilt.as_deref(), Some(&publish[..]));
        assert_eq!(pb.frames[1].pieces, vec![(5..10, HDR..HDR + 5)]);
    }

    #[test]
    fn missing_frames_give_a_note_and_only_the_bytes_before_them() {
        let publish: Vec<u8> = b"\x30\x08\x00\x01tabcde".to_vec();
        let frame = |n: u64, seq: u32, bytes: &[u8]| tcp_frame_at(n, CLIENT, BROKER, seq, bytes);
        // The first frame is gone: no bytes at all, and the note says why.
        let (f2, f3) = (frame(2, 104, &publish[4..7]), frame(3, 107, &publish[7..]));
        let mut fetch = |n: u64| match n {
            1 => FrameLookup::Dropped,
            2 => FrameLookup::Found(f2.clone()),
            _ => FrameLookup::Found(f3.clone()),
        };
        let pb = rebuild(&at(1, 3), 100, 10, None, &mut fetch);
        assert_eq!(pb.rebuilt, None);
        let note = pb.note.as_deref().unwrap_or_default();
        assert!(note.contains("no longer kept"), "{note}");
        assert!(note.contains("bytes 0–4"), "{note}");
        assert_eq!(pb.last().map(|f| f.frame.number), Some(3));
        // A frame in the middle is gone: the bytes before it, and a note.
        let mut fetch = fetch_from(vec![frame(1, 100, &publish[..4]), f3.clone()]);
        let pb = rebuild(&at(1, 3), 100, 10, None, &mut fetch);
        assert_eq!(pb.rebuilt.as_deref(), Some(&publish[..4]));
        let note = pb.note.as_deref().unwrap_or_default();
        assert!(
            note.contains("not recorded") && note.contains("bytes 4–7"),
            "{note}"
        );
    }

    #[test]
    fn a_packet_spread_over_more_frames_than_the_cap_is_rebuilt_up_to_them() {
        let len = MAX_FRAMES as usize + 88;
        let data: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
        let mut fetch = |n: u64| {
            let i = (n - 1) as usize;
            FrameLookup::Found(tcp_frame_at(n, CLIENT, BROKER, i as u32, &data[i..i + 1]))
        };
        let pb = rebuild(&at(1, len as u64), 0, len as u64, None, &mut fetch);
        // The first half of the cap is read, then the last half: the bytes between are missing.
        let half = MAX_FRAMES as usize / 2;
        assert_eq!(pb.rebuilt.as_deref(), Some(&data[..half]));
        let note = pb.note.as_deref().unwrap_or_default();
        let (from, to) = (half + 1, len - half);
        assert!(
            note.contains(&format!("bytes {half}–{}", len - half)),
            "{note}"
        );
        assert!(
            note.contains(&format!("Frames {from}–{to} were not read")),
            "{note}"
        );
        assert_eq!(pb.frames.len(), 2 * half);
        // The last frame heads the tree, with the packet's last byte.
        let last = pb.last().map(|f| f.pieces.clone());
        assert_eq!(last, Some(vec![(len - 1..len, HDR..HDR + 1)]));
    }

    #[test]
    fn a_packet_among_much_other_traffic_is_found_in_the_first_and_last_frames_of_its_span() {
        // The packet's middle segment comes near the end of a span wider than the cap, the
        // frames between being another connection's.
        let publish: Vec<u8> = b"\x30\x0c\x00\x01tabcdefghi".to_vec();
        let last = MAX_FRAMES + 60;
        let mut fetch = |n: u64| {
            FrameLookup::Found(match n {
                1 => tcp_frame_at(n, CLIENT, BROKER, 500, &publish[..5]),
                _ if n == last - 20 => tcp_frame_at(n, CLIENT, BROKER, 505, &publish[5..10]),
                _ if n == last => tcp_frame_at(n, CLIENT, BROKER, 510, &publish[10..]),
                _ => tcp_frame_at(n, "10.0.0.9:4000", BROKER, 1, b"other"),
            })
        };
        let pb = rebuild(&at(1, last), 500, publish.len() as u64, None, &mut fetch);
        assert_eq!(pb.rebuilt.as_deref(), Some(&publish[..]));
        assert_eq!(pb.note, None);
        let numbers: Vec<u64> = pb.frames.iter().map(|f| f.frame.number).collect();
        assert_eq!(numbers, [1, last - 20, last]);
        // Moved to the middle of the span, the segment is found through the frames known to
        // carry the connection's direction, and only those are read.
        let mid = last / 2;
        let mut asked = Vec::new();
        let mut fetch = |n: u64| {
            asked.push(n);
            FrameLookup::Found(match n {
                1 => tcp_frame_at(n, CLIENT, BROKER, 500, &publish[..5]),
                _ if n == mid => tcp_frame_at(n, CLIENT, BROKER, 505, &publish[5..10]),
                _ if n == last => tcp_frame_at(n, CLIENT, BROKER, 510, &publish[10..]),
                _ => tcp_frame_at(n, "10.0.0.9:4000", BROKER, 1, b"other"),
            })
        };
        let carrying = [1, mid, last];
        let pb = rebuild(
            &at(1, last),
            500,
            publish.len() as u64,
            Some(&carrying),
            &mut fetch,
        );
        assert_eq!(pb.rebuilt.as_deref(), Some(&publish[..]));
        assert_eq!(asked, carrying);
        // Without that list the middle is not read, and the note says so.
        let mut fetch = |n: u64| {
            FrameLookup::Found(match n {
                1 => tcp_frame_at(n, CLIENT, BROKER, 500, &publish[..5]),
                _ if n == mid => tcp_frame_at(n, CLIENT, BROKER, 505, &publish[5..10]),
                _ if n == last => tcp_frame_at(n, CLIENT, BROKER, 510, &publish[10..]),
                _ => tcp_frame_at(n, "10.0.0.9:4000", BROKER, 1, b"other"),
            })
        };
        let pb = rebuild(&at(1, last), 500, publish.len() as u64, None, &mut fetch);
        assert_eq!(pb.rebuilt.as_deref(), Some(&publish[..5]));
        let note = pb.note.as_deref().unwrap_or_default();
        let half = MAX_FRAMES / 2;
        let unread = format!("Frames {}–{} were not read", half + 1, last - half);
        assert!(note.contains(&unread), "{note}");
    }

    #[test]
    fn rebuilt_bytes_that_do_not_start_the_packet_are_dropped() {
        let mut fetch = fetch_from(vec![tcp_frame_at(1, CLIENT, BROKER, 100, b"\xc0\x00")]);
        let mut pb = rebuild(&at(1, 1), 100, 2, None, &mut fetch);
        pb.check_start(0xc0);
        assert_eq!(pb.rebuilt.as_deref(), Some(&b"\xc0\x00"[..]));
        pb.check_start(0xd0);
        assert_eq!(pb.rebuilt, None);
        assert!(pb.frames.iter().all(|f| f.pieces.is_empty()));
        assert!(pb.note.as_deref().is_some_and(|n| n.contains("0xc0")));
    }

    #[test]
    fn a_packet_longer_than_the_bound_is_rebuilt_up_to_it() {
        let chunk = 1400usize;
        let len = MAX_REBUILD + 3 * chunk;
        let data: Vec<u8> = (0..len).map(|i| (i % 253) as u8).collect();
        let frames: Vec<OwnedFrame> = data
            .chunks(chunk)
            .enumerate()
            .map(|(i, c)| tcp_frame_at(i as u64 + 1, CLIENT, BROKER, (i * chunk) as u32, c))
            .collect();
        let last = frames.len() as u64;
        let mut fetch = fetch_from(frames);
        let pb = rebuild(&at(1, last), 0, len as u64, None, &mut fetch);
        assert_eq!(pb.rebuilt.as_deref(), Some(&data[..MAX_REBUILD]));
        assert_eq!(pb.note, None);
        // Frames past the bound are not read, except the last one, which heads the tree.
        let numbers: Vec<u64> = pb.frames.iter().map(|f| f.frame.number).collect();
        let needed = MAX_REBUILD.div_ceil(chunk) as u64;
        assert_eq!(numbers.len() as u64, needed + 1);
        assert_eq!(numbers.last(), Some(&last));
    }

    proptest::proptest! {
        /// However a packet is cut into segments, whatever their order, however many are sent
        /// twice and whichever frames of another connection lie between them (with the same
        /// sequence numbers and other bytes), its bytes are rebuilt exactly, across the 2^32
        /// wrap too, and each byte is placed once, in a frame holding that very byte.
        #[test]
        fn any_segmentation_of_a_packet_is_rebuilt_exactly(
            packet in proptest::collection::vec(proptest::prelude::any::<u8>(), 1..3000),
            seq in proptest::prelude::any::<u32>(),
            cuts in proptest::collection::vec(0usize..3000, 0..12),
            order_seed in proptest::prelude::any::<u64>(),
            resend in proptest::collection::vec(proptest::prelude::any::<bool>(), 12),
        ) {
            let mut bounds: Vec<usize> = cuts.into_iter().map(|c| c % packet.len()).collect();
            bounds.extend([0, packet.len()]);
            bounds.sort_unstable();
            bounds.dedup();
            let mut segments: Vec<(usize, usize)> = bounds.windows(2).map(|w| (w[0], w[1])).collect();
            // A reproducible shuffle, then some segments again.
            let mut state = order_seed | 1;
            for i in (1..segments.len()).rev() {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                segments.swap(i, (state % (i as u64 + 1)) as usize);
            }
            let again: Vec<(usize, usize)> = segments
                .iter()
                .zip(&resend)
                .filter(|(_, r)| **r)
                .map(|(s, _)| *s)
                .collect();
            segments.extend(again);
            let mut frames = Vec::new();
            for (lo, hi) in segments {
                let n = frames.len() as u64 + 1;
                let at_seq = seq.wrapping_add(lo as u32);
                frames.push(tcp_frame_at(n, CLIENT, BROKER, at_seq, &packet[lo..hi]));
                let other = vec![0xee; hi - lo];
                frames.push(tcp_frame_at(n + 1, "10.0.0.9:4000", BROKER, at_seq, &other));
            }
            let last = frames.len() as u64;
            let mut fetch = fetch_from(frames);
            let pb = rebuild(&at(1, last), seq, packet.len() as u64, None, &mut fetch);
            proptest::prop_assert_eq!(pb.rebuilt.as_deref(), Some(&packet[..]));
            proptest::prop_assert_eq!(pb.note, None);
            let mut placed = vec![0u8; packet.len()];
            for f in &pb.frames {
                for (m, r) in &f.pieces {
                    proptest::prop_assert_eq!(&f.frame.data[r.clone()], &packet[m.clone()]);
                    for i in m.clone() {
                        placed[i] += 1;
                    }
                }
            }
            proptest::prop_assert!(placed.iter().all(|&n| n == 1));
        }
    }

    /// Every plain-TCP packet of the sample captures: the bytes rebuilt from the file's frames
    /// by sequence number are the bytes the analyzer saw (kept with `RawBytes::All`).
    #[test]
    fn bytes_rebuilt_from_the_sample_files_equal_the_bytes_the_analyzer_kept() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../samples");
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .expect("samples")
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "pcap"))
            .collect();
        files.sort();
        assert!(files.len() >= 10, "{files:?}");
        let mut checked = 0;
        for path in &files {
            checked += rebuilt_equal_kept(path);
        }
        assert!(checked > 100, "only {checked} packets checked");
    }

    /// The same over every capture file under `$MQSCOPE_CAPTURES` (real captures that are not
    /// part of the repository): `MQSCOPE_CAPTURES=dir cargo test -p gui -- --ignored`.
    #[test]
    #[ignore = "needs MQSCOPE_CAPTURES"]
    fn bytes_rebuilt_from_the_captures_in_mqscope_captures_equal_the_kept_bytes() {
        let dir = std::env::var_os("MQSCOPE_CAPTURES").expect("MQSCOPE_CAPTURES");
        let mut dirs = vec![std::path::PathBuf::from(dir)];
        let mut checked = 0;
        while let Some(d) = dirs.pop() {
            for e in std::fs::read_dir(&d).expect("dir").flatten() {
                let path = e.path();
                let ext = path.extension().and_then(|x| x.to_str()).unwrap_or("");
                if path.is_dir() {
                    dirs.push(path);
                } else if matches!(ext, "pcap" | "pcapng" | "cap")
                    && capture::FileSource::open(&path).is_ok_and(|s| s.frame_reader().is_some())
                {
                    checked += rebuilt_equal_kept(&path);
                }
            }
        }
        eprintln!("{checked} packets rebuilt");
        assert!(checked > 0);
    }

    /// Checks every packet of `path` whose bytes can be rebuilt; returns how many.
    pub(crate) fn rebuilt_equal_kept(path: &std::path::Path) -> usize {
        use crate::logic::frame_store::FrameStore;
        use dissector::analyze::{Analyzer, AnalyzerConfig, RawBytes};
        use dissector::input::{Direction, Transport};
        let mut source = capture::FileSource::open(path).expect("open");
        let mut store = FrameStore::default();
        store.read_back_with(source.frame_reader().expect("a plain file"));
        let mut analyzer = Analyzer::new(AnalyzerConfig {
            raw_bytes: RawBytes::All,
            ..AnalyzerConfig::default()
        });
        let mut pipeline = capture::Pipeline::new(capture::PipelineConfig::default());
        let mut seen = Vec::new();
        // A damaged file ends the reading, as it does in the GUI.
        while let Ok(Some(())) = source.next_located(|frame, offset| {
            store.record_offset(frame.number, offset);
            pipeline.push_frame(frame, &mut |ev: dissector::input::StreamEvent<'_>| {
                if let dissector::input::StreamEvent::Frame(f) = &ev {
                    seen.push(*f);
                }
                dissector::input::EventSink::event(&mut analyzer, ev);
            });
        }) {}
        pipeline.finish(&mut analyzer);
        for f in &seen {
            store.record_seen(f);
        }
        let trace = analyzer.finish(Timestamp(i64::MAX));
        let mut checked = 0;
        for (i, rec) in trace.packets.iter().enumerate() {
            let c = &trace.connections[rec.conn as usize];
            let (src, dst) = match rec.dir {
                Direction::ToBroker => (c.client, c.broker),
                Direction::ToClient => (c.broker, c.client),
            };
            let Some(seq) = c.tcp_seq_of(rec.dir, rec.stream_offset) else {
                assert_ne!(c.transport, Transport::Tcp, "{path:?} packet {i}: no seq");
                continue;
            };
            let at = PacketWhere {
                first: rec.first_frame(),
                last: rec.frame,
                src,
                dst,
                ws: WebSocketHint::None,
            };
            let kept = trace.raw(i as u64).expect("kept");
            let carrying = store.frames_carrying(c.stream, rec.dir, at.first, at.last);
            let mut fetch = |n| store.get(n);
            let mut pb = rebuild(&at, seq, rec.packet_len(), carrying.as_deref(), &mut fetch);
            pb.check_start(rec.first_byte);
            let want = &kept[..kept.len().min(MAX_REBUILD)];
            assert_eq!(
                pb.rebuilt.as_deref(),
                Some(want),
                "{path:?} packet {i}, frames {}..={}, seq {seq}: {:?}, placed in {:?}",
                at.first,
                at.last,
                pb.note,
                pb.frames
                    .iter()
                    .map(|f| (f.frame.number, f.layers.payload_seq, f.pieces.clone()))
                    .collect::<Vec<_>>()
            );
            let placed: usize = pb.frames.iter().map(PacketFrame::mqtt_len).sum();
            assert_eq!(placed, want.len(), "{path:?} packet {i}");
            checked += 1;
        }
        checked
    }

    #[test]
    fn kmp_finds_the_first_occurrence_and_the_overlap_at_the_end() {
        assert_eq!(kmp(b"ab", b"xxabyab"), (Some(2), 2));
        assert_eq!(kmp(b"abc", b"xxab"), (None, 2));
        assert_eq!(kmp(b"aab", b"aaaa"), (None, 2));
        assert_eq!(kmp(b"a", b""), (None, 0));
        assert_eq!(kmp(b"", b"abc"), (None, 0));
        // Repetitive bytes stay linear: 256 KiB of zeros against a pattern that never ends.
        let text = vec![0u8; 256 << 10];
        let mut pattern = vec![0u8; 128 << 10];
        pattern.push(1);
        assert_eq!(kmp(&pattern, &text), (None, 128 << 10));
    }

    #[test]
    fn hex_content_shows_the_chosen_tab_or_falls_back_to_the_mqtt_bytes() {
        let publish = b"\x30\x05\x00\x01tab";
        let mut fetch = fetch_from(vec![tcp_frame(1, CLIENT, BROKER, publish)]);
        let pb = collect(&at(1, 1), publish, &mut fetch);
        let field = (ByteView::Mqtt, 4..7);
        let frame = hex_content(Some(&pb), ByteView::Frame(1), Some(publish), Some(&field));
        assert_eq!(frame.tabs.len(), 2);
        assert_eq!(frame.bytes.map(<[u8]>::len), Some(HDR + 7));
        assert_eq!(frame.selected, vec![HDR + 4..HDR + 7]);
        assert_eq!(frame.packet, vec![HDR..HDR + 7]);
        let mqtt = hex_content(None, ByteView::Frame(1), Some(publish), Some(&field));
        assert_eq!(mqtt.tabs.len(), 1);
        assert_eq!(mqtt.bytes, Some(&publish[..]));
        assert_eq!(mqtt.selected, vec![4..7]);
        assert!(
            hex_content(None, ByteView::Mqtt, None, None)
                .bytes
                .is_none()
        );
    }
}
