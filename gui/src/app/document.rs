//! One open capture (file or live): the shared trace the loader fills, and the view state over
//! it (table, filter, selection) that the panels read.

use super::loading::{LoadJob, LoadProgress, SharedTrace};
use crate::logic::detail_tree::{self, DetailTree};
use crate::logic::frame_store::{self, FrameStore, SharedFrames};
use crate::logic::packet_bytes::{self, ByteView, PacketBytes, PacketWhere};
use crate::logic::packet_table::PacketTable;
use capture::layers::WebSocketHint;
use dissector::filter::{Filter, FilterError};
use dissector::input::{Direction, Transport};
use dissector::model::Trace;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How often the table is re-sorted while packets are still arriving (sorting a million rows
/// is not free; once loading is done it is sorted right away).
const RESORT_WHILE_LOADING: Duration = Duration::from_secs(1);

/// An open capture and the view state over it.
pub struct Document {
    /// File path or interface name, for the title bar.
    pub source: String,
    /// The trace.
    pub shared: Arc<SharedTrace>,
    /// The loading (or live capture) job, while it runs.
    pub job: Option<LoadJob>,
    /// Last progress reported by the job.
    pub progress: LoadProgress,
    /// Shown rows.
    pub table: PacketTable,
    /// The applied display filter (None = show everything).
    pub filter: Option<Filter>,
    /// The filter bar's text.
    pub filter_text: String,
    /// The filter bar's parse error, shown inline.
    pub filter_error: Option<FilterError>,
    /// The selected packet (packet index).
    pub selected_packet: Option<u64>,
    /// The selected field of the detail tree (path).
    pub selected_field: Option<Vec<usize>>,
    /// The selected connection (index), for the sequence diagram.
    pub selected_connection: Option<u32>,
    /// Where the capture's raw frames can be found again (file offsets or kept bytes).
    pub frames: SharedFrames,
    /// The hex pane's tab: a frame of the selected packet, or its MQTT bytes.
    pub hex_view: ByteView,
    /// The packet `hex_view` was chosen for.
    tab_packet: Option<u64>,
    /// The detail tree and frames of the selected packet (built once per selection).
    detail: Option<(u64, DetailTree, PacketBytes)>,
    /// When the table was last sorted.
    last_sort: Option<Instant>,
    /// Scroll the packet list to the selection on the next frame.
    pub scroll_to_selection: bool,
    /// A message for the status bar (export done, errors).
    pub status: Option<String>,
    /// Packets in the trace at the last refresh.
    pub total_packets: usize,
}

impl Document {
    /// A document over a shared trace.
    pub fn new(
        source: impl Into<String>,
        shared: Arc<SharedTrace>,
        job: Option<LoadJob>,
    ) -> Document {
        Document {
            source: source.into(),
            shared,
            job,
            progress: LoadProgress::default(),
            table: PacketTable::new(),
            filter: None,
            filter_text: String::new(),
            filter_error: None,
            selected_packet: None,
            selected_field: None,
            selected_connection: None,
            frames: FrameStore::none(),
            hex_view: ByteView::Mqtt,
            tab_packet: None,
            detail: None,
            last_sort: None,
            scroll_to_selection: false,
            status: None,
            total_packets: 0,
        }
    }

    /// A document over a finished trace (tests, and traces built elsewhere).
    pub fn from_trace(source: impl Into<String>, trace: Trace) -> Document {
        let shared = SharedTrace::new(Box::new(trace));
        let mut doc = Document::new(source, shared, None);
        doc.progress.done = true;
        doc.refresh();
        doc
    }

    /// True while the loader or the live capture still runs.
    pub fn is_loading(&self) -> bool {
        self.job.is_some()
    }

    /// Takes in the job's progress and the packets added since the last frame.
    pub fn refresh(&mut self) {
        if let Some(job) = &mut self.job {
            let (progress, finished) = job.poll();
            if let Some(p) = progress {
                self.progress = p;
            }
            if finished {
                self.job = None;
                self.progress.done = true;
            }
        }
        let now = Instant::now();
        let resort = !self.is_loading()
            || self
                .last_sort
                .is_none_or(|t| now.duration_since(t) >= RESORT_WHILE_LOADING);
        let shared = Arc::clone(&self.shared);
        let guard = shared.lock_for_ui();
        let trace = guard.trace();
        self.total_packets = trace.packets.len();
        let needed_sort = self.table.needs_sort();
        match &self.filter {
            Some(f) => {
                let f = f.clone();
                let pred = move |t: &Trace, i: u64| crate::logic::filtering::matches(&f, t, i);
                self.table.update(trace, Some(&pred), resort);
            }
            None => {
                self.table.update(trace, None, resort);
            }
        }
        if resort && needed_sort {
            self.last_sort = Some(now);
        }
    }

    /// Parses and applies a display filter; a syntax error stays in the bar, the list unchanged.
    pub fn apply_filter(&mut self, text: &str) {
        self.filter_text = text.to_string();
        match Filter::parse(text) {
            Ok(f) => {
                self.filter_error = None;
                self.filter = (!f.is_all()).then_some(f);
                self.table.invalidate();
                self.refresh();
            }
            Err(e) => self.filter_error = Some(e),
        }
    }

    /// Checks the filter text while typing (inline errors), without applying it.
    pub fn check_filter(&mut self, text: &str) {
        self.filter_error = Filter::parse(text).err();
    }

    /// Selects a packet and forgets the field selection.
    pub fn select_packet(&mut self, packet: Option<u64>) {
        if self.selected_packet != packet {
            self.selected_packet = packet;
            self.selected_field = None;
            if let Some(p) = packet {
                let shared = Arc::clone(&self.shared);
                let guard = shared.lock_for_ui();
                if let Some(rec) = guard.trace().packet(p) {
                    self.selected_connection = Some(rec.conn);
                }
            }
        }
    }

    /// The detail tree of the selected packet (built on first use, with the packet's frames
    /// read back from the frame store; the hex pane then shows the frame it completes in).
    pub fn detail_tree(&mut self, trace: &Trace, show_password: bool) -> Option<&DetailTree> {
        let p = self.selected_packet?;
        if self.detail.as_ref().is_none_or(|(q, _, _)| *q != p) {
            let bytes = self.packet_bytes_of(trace, p);
            let tree = detail_tree::build_with_frames(trace, p, show_password, &bytes);
            // A new packet opens on the frame it completes in; a rebuilt tree (the password
            // setting changed) keeps the tab.
            if self.tab_packet != Some(p) {
                self.hex_view = bytes.default_tab();
                self.tab_packet = Some(p);
            }
            self.detail = Some((p, tree, bytes));
        }
        self.detail.as_ref().map(|(_, t, _)| t)
    }

    /// Reads the frames packet `p` came from.
    fn packet_bytes_of(&self, trace: &Trace, p: u64) -> PacketBytes {
        let Some(rec) = trace.packet(p) else {
            return PacketBytes::default();
        };
        let Some(c) = trace.connection(rec.conn as usize) else {
            return PacketBytes::default();
        };
        let (src, dst, ws) = match rec.dir {
            Direction::ToBroker => (c.client, c.broker, WebSocketHint::FromClient),
            Direction::ToClient => (c.broker, c.client, WebSocketHint::FromServer),
        };
        let at = PacketWhere {
            first: rec.first_frame(),
            last: rec.frame,
            src,
            dst,
            ws: if c.transport == Transport::WebSocket {
                ws
            } else {
                WebSocketHint::None
            },
        };
        let mut store = frame_store::lock(&self.frames);
        if let Some(mqtt) = trace.raw(p) {
            return packet_bytes::collect(&at, mqtt, &mut |n| store.get(n));
        }
        // Not kept: rebuilt from the frames by sequence number (MQTT directly on TCP).
        let carrying = store.frames_carrying(c.stream, rec.dir, at.first, at.last);
        let mut fetch = |n| store.get(n);
        match c
            .tcp_seq_of(rec.dir, rec.stream_offset)
            .filter(|_| c.transport == Transport::Tcp)
        {
            Some(seq) => {
                let mut bytes = packet_bytes::rebuild(
                    &at,
                    seq,
                    rec.packet_len(),
                    carrying.as_deref(),
                    &mut fetch,
                );
                bytes.check_start(rec.first_byte);
                bytes
            }
            None => packet_bytes::collect(&at, &[], &mut fetch),
        }
    }

    /// The selected packet's MQTT bytes: as the trace kept them, else as rebuilt from its
    /// frames (once its tree was built).
    pub fn packet_mqtt<'a>(&'a self, trace: &'a Trace) -> Option<&'a [u8]> {
        let p = self.selected_packet?;
        trace
            .raw(p)
            .or_else(|| self.packet_bytes().and_then(|b| b.rebuilt.as_deref()))
    }

    /// The selected packet's frames, once its tree was built.
    pub fn packet_bytes(&self) -> Option<&PacketBytes> {
        let (p, _, bytes) = self.detail.as_ref()?;
        (Some(*p) == self.selected_packet).then_some(bytes)
    }

    /// Forgets the cached detail tree (e.g. the password setting changed).
    pub fn invalidate_detail(&mut self) {
        self.detail = None;
    }

    /// The view and byte range of the selected field.
    pub fn selection(&self) -> Option<(ByteView, std::ops::Range<usize>)> {
        let (p, tree, _) = self.detail.as_ref()?;
        if Some(*p) != self.selected_packet {
            return None;
        }
        tree.selection(self.selected_field.as_deref()?)
    }

    /// The byte range of the selected field in the selected packet's MQTT bytes (None for a
    /// field of a frame's lower layers).
    pub fn highlighted_bytes(&self) -> Option<std::ops::Range<usize>> {
        match self.selection()? {
            (ByteView::Mqtt, r) => Some(r),
            _ => None,
        }
    }

    /// Selects a field of the tree; the hex pane turns to the tab holding its bytes.
    pub fn select_field(&mut self, path: Option<Vec<usize>>) {
        self.selected_field = path;
        if let (Some(sel), Some(bytes)) = (self.selection(), self.packet_bytes()) {
            self.hex_view = bytes.tab_for(self.hex_view, &sel);
        }
    }

    /// Selects the field covering `byte` of the tab showing `view`.
    pub fn select_byte(&mut self, view: ByteView, byte: usize) {
        if let Some((p, tree, bytes)) = &self.detail
            && Some(*p) == self.selected_packet
        {
            self.hex_view = view;
            let path = tree.field_for_click(bytes, view, byte);
            self.select_field(path);
        }
    }
}
