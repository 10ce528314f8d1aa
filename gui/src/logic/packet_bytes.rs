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
        let frame = match fetch(n) {
            FrameLookup::Found(f) => f,
            FrameLookup::Dropped => {
                out.note = Some(format!(
                    "Frame {n}: frame bytes no longer kept (the oldest frames of a live or \
                     compressed capture are dropped to bound memory)."
                ));
                continue;
            }
            FrameLookup::Unknown => {
                out.note = Some(format!("Frame {n}: frame bytes not recorded."));
                continue;
            }
            FrameLookup::Failed(e) => {
                out.note = Some(format!("Frame {n} could not be read again: {e}"));
                continue;
            }
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
            let mut m = mqtt_range.start;
            let app_range = app_start..app_start + mqtt_range.len();
            for r in pf.layers.app_to_frame(app_range) {
                pf.pieces.push((m..m + r.len(), r.clone()));
                m += r.len();
            }
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
        let (s, d): (SocketAddr, SocketAddr) = (src.parse().unwrap(), dst.parse().unwrap());
        let (std::net::IpAddr::V4(si), std::net::IpAddr::V4(di)) = (s.ip(), d.ip()) else {
            unreachable!("test addresses are IPv4")
        };
        let builder = etherparse::PacketBuilder::ethernet2([0; 6], [0; 6])
            .ipv4(si.octets(), di.octets(), 64)
            .tcp(s.port(), d.port(), 1, 100);
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
