//! The analyzer: turns the capture layer's [`StreamEvent`]s into a [`Trace`] — connections,
//! sessions, packet records, transactions with their QoS completeness, anomalies and broker
//! deliveries.
//!
//! Every per-packet step is O(1): connections are found by `tcp.stream` in a hash map,
//! in-flight transactions by (direction, packet id) in a per-connection hash map (Suricata's
//! MQTT parser once went quadratic by scanning its transaction list; we never scan), topic
//! aliases per direction in a hash map, broker fan-out candidates by (topic, payload hash).
//!
//! ```
//! use dissector::analyze::{Analyzer, AnalyzerConfig};
//! use dissector::input::*;
//! let mut a = Analyzer::new(AnalyzerConfig::default());
//! let client = "10.0.0.1:50000".parse().unwrap();
//! let broker = "10.0.0.2:1883".parse().unwrap();
//! a.event(StreamEvent::Opened(ConnectionOpened {
//!     stream: 0, client, broker, transport: Transport::Tcp, roles_from: RoleSource::Handshake,
//!     ts: Timestamp(0), frame: 1,
//! }));
//! // PINGREQ without CONNECT first: the analyzer reports MQ-FIRST-NOT-CONNECT.
//! a.event(StreamEvent::Packet(MqttBytes {
//!     stream: 0, dir: Direction::ToBroker, ts: Timestamp(1), first_frame: 4, frame: 4,
//!     stream_offset: 0, tcp_seq: Some(1001), bytes: &[0xc0, 0x00], packet_len: 2,
//!     truncated: false,
//! }));
//! let trace = a.finish(Timestamp(2));
//! assert_eq!(trace.packets.len(), 1);
//! assert!(trace.anomalies.iter().any(|x| x.code.code() == "MQ-FIRST-NOT-CONNECT"));
//! ```

mod qos;
mod state;

pub use qos::{
    ConnectionQos, FailedFlow, IncompleteFlow, QosCounts, QosReport, StateCounts, qos_report,
};

use crate::codec::{
    self, DecodeError, DecodeErrorKind, Decoded, Packet, PacketType, Properties, PropertyValue,
    ProtocolVersion, WarningKind,
};
use crate::framing::{FramingError, read_fixed_header};
use crate::input::{
    CloseHow, ConnectionClosed, ConnectionOpened, Direction, EventSink, FrameSeen, GapEvent,
    MqttBytes, RoleSource, StreamEvent, Timestamp, TlsMetadata, Transport, TransportIssue,
    TransportIssueKind,
};
use crate::model::{
    Anomaly, AnomalyCode, ClosedBy, Connection, Delivery, DeliveryCopy, PacketMarks, PacketRecord,
    PasswordInfo, Session, Subscription, Sym, TlsInfo, Trace, Transaction, TxKind, TxState, TxStep,
    WillInfo, WillOutcome,
};
use rustc_hash::FxHashMap;
use state::{ConnState, Conns, Flight, PendingDelivery, TxHandle};

/// A session's unfinished QoS flows: (direction, packet id) → (transaction index, payload hash).
type SessionFlights = FxHashMap<(Direction, u16), (usize, u64)>;

/// What the analyzer keeps and how it judges.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnalyzerConfig {
    /// Keep every packet record in the trace (the GUI, `flows`, `export`). Off for bounded-memory
    /// streaming (`read`, `live`): records are handed to the packet callback and dropped.
    pub retain_packets: bool,
    /// Keep completed transactions (off for streaming: only unfinished or failed ones are kept).
    pub retain_transactions: bool,
    /// Which retained packets keep their raw MQTT bytes (the GUI's hex pane and details tree).
    /// None by default.
    pub raw_bytes: RawBytes,
    /// Match broker fan-out into [`Trace::deliveries`] (off for streaming: the list grows with
    /// every message a broker fans out).
    pub track_deliveries: bool,
    /// Keep CONNECT passwords as text (otherwise only presence and length).
    pub show_passwords: bool,
    /// Window for matching a PUBLISH into the broker with its fan-out copies, nanoseconds.
    pub delivery_window_nanos: i64,
    /// Most PUBLISHes into the broker remembered for fan-out matching at once. When more than
    /// this arrive within the window, the oldest are forgotten early, so memory stays bounded
    /// whatever the message rate (and the table stays small enough to be fast).
    pub max_delivery_candidates: usize,
    /// In-flight transactions per connection and direction above which MQ-TOO-MANY-IN-FLIGHT
    /// is reported.
    pub max_in_flight: u32,
    /// At most this many anomalies are stored; further ones are only counted.
    pub max_anomalies: usize,
}

impl Default for AnalyzerConfig {
    fn default() -> AnalyzerConfig {
        AnalyzerConfig {
            retain_packets: true,
            retain_transactions: true,
            raw_bytes: RawBytes::None,
            track_deliveries: true,
            show_passwords: false,
            delivery_window_nanos: 5_000_000_000,
            // At 100,000 messages a second this still spans 0.65 s; a broker's fan-out takes
            // milliseconds.
            max_delivery_candidates: 1 << 16,
            max_in_flight: 1000,
            max_anomalies: 1_000_000,
        }
    }
}

impl AnalyzerConfig {
    /// The bounded-memory configuration for streaming output: no packet records, no completed
    /// transactions, no raw bytes, no fan-out matching.
    pub fn streaming() -> AnalyzerConfig {
        AnalyzerConfig {
            retain_packets: false,
            retain_transactions: false,
            track_deliveries: false,
            ..AnalyzerConfig::default()
        }
    }
}

/// Which packets' raw MQTT bytes the trace keeps ([`Trace::raw`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RawBytes {
    /// None: records only.
    #[default]
    None,
    /// Every retained packet's.
    All,
    /// Only the bytes that cannot be found again in the capture's frames: those of packets
    /// without a TCP sequence number (MQTT over WebSocket, whose bytes are unmasked from the
    /// frames' payload) or whose sequence number does not follow from their connection's
    /// [`Connection::tcp_seq_base`], and those of SUBSCRIBE, SUBACK, UNSUBSCRIBE and UNSUBACK
    /// (rare and small), whose every topic filter and reason code the filter language decodes
    /// from the trace. The others are rebuilt from their frames by whoever can read them again
    /// (the GUI, from a seekable capture file).
    UnlessRebuildable,
}

/// A packet just analysed, as the packet callback sees it.
#[derive(Debug, Clone, Copy)]
pub struct PacketView<'a> {
    /// Packet index in the trace.
    pub index: u64,
    /// The record (its anomalies are already in the trace: [`Trace::anomalies_of_packet`]).
    pub record: &'a PacketRecord,
    /// The packet's bytes as captured (its start only when truncated).
    pub bytes: &'a [u8],
    /// The exchange this packet completed, if it completed one (a PUBACK its QoS 1 flow, a
    /// PUBCOMP its QoS 2 flow, a CONNACK its CONNECT, …): what latency statistics need when
    /// the transactions themselves are not kept.
    pub completed: Option<Completed>,
}

/// An exchange completed by a packet: its kind and its latency (request to final step).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Completed {
    /// What exchange.
    pub kind: TxKind,
    /// Nanoseconds from the request to this packet.
    pub latency_nanos: i64,
}

/// A callback run for every packet once it is analysed.
pub type PacketCallback = Box<dyn FnMut(&Trace, PacketView<'_>) + Send>;

/// Builds a [`Trace`] from [`StreamEvent`]s.
pub struct Analyzer {
    config: AnalyzerConfig,
    trace: Trace,
    conns: Conns,
    sessions_by_client: FxHashMap<Sym, u32>,
    /// Transactions not kept in the trace (streaming mode), by slab slot.
    slab: Vec<Option<Transaction>>,
    slab_free: Vec<usize>,
    /// The newest PUBLISH into the broker per (topic, payload hash), within the delivery window.
    recent_publishes: FxHashMap<(Sym, u64), PendingDelivery>,
    /// Wills due, by (topic, payload hash): (index in `Trace::wills`, deadline, time of the
    /// client's last packet).
    pending_wills: FxHashMap<(Sym, u64), (usize, i64, Timestamp)>,
    /// Wills of open connections by (topic, payload hash): the connection's stream.
    armed_wills: FxHashMap<(Sym, u64), u32>,
    /// Unfinished QoS flows of ended connections, per session: (direction, packet id) →
    /// (index in `Trace::transactions`, payload hash).
    session_flights: FxHashMap<u32, SessionFlights>,
    /// Capture time of the next sweep of `recent_publishes`.
    next_delivery_sweep: i64,
    on_packet: Option<PacketCallback>,
    /// Highest frame number seen in any event.
    last_frame: u64,
    /// Without `retain_packets`, records wait for `take_new_packets` (else they are dropped).
    hold_new_packets: bool,
    /// Packet index up to which `take_new_packets` handed records out.
    taken_upto: u64,
    cur: PacketRecord,
    cur_index: u64,
    /// The exchange the current packet completed, for the packet callback.
    cur_completed: Option<Completed>,
}

impl std::fmt::Debug for Analyzer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Analyzer")
            .field("config", &self.config)
            .field("packets", &self.trace.totals.packets)
            .field("connections", &self.trace.connections.len())
            .finish_non_exhaustive()
    }
}

impl EventSink for Analyzer {
    fn event(&mut self, event: StreamEvent<'_>) {
        self.note_time(event_ts(&event));
        self.last_frame = self.last_frame.max(event_frame(&event));
        match event {
            StreamEvent::Opened(o) => self.on_opened(o),
            StreamEvent::Frame(f) => self.on_frame(f),
            StreamEvent::Packet(p) => self.on_packet_bytes(p),
            StreamEvent::Gap(g) => self.on_gap(g),
            StreamEvent::Issue(i) => self.on_issue(i),
            StreamEvent::Tls(t) => self.on_tls(t),
            StreamEvent::Closed(c) => self.on_closed(c),
        }
    }
}

fn event_frame(event: &StreamEvent<'_>) -> u64 {
    match event {
        StreamEvent::Opened(o) => o.frame,
        StreamEvent::Frame(f) => f.frame,
        StreamEvent::Packet(p) => p.frame,
        StreamEvent::Gap(g) => g.frame,
        StreamEvent::Issue(i) => i.frame,
        StreamEvent::Tls(_) => 0,
        StreamEvent::Closed(c) => c.frame,
    }
}

fn event_ts(event: &StreamEvent<'_>) -> Timestamp {
    match event {
        StreamEvent::Opened(o) => o.ts,
        StreamEvent::Frame(f) => f.ts,
        StreamEvent::Packet(p) => p.ts,
        StreamEvent::Gap(g) => g.ts,
        StreamEvent::Issue(i) => i.ts,
        StreamEvent::Tls(_) => Timestamp(i64::MIN),
        StreamEvent::Closed(c) => c.ts,
    }
}

/// A 64-bit hash of a payload (FxHash over 8-byte words, then the length): cheap, and equal
/// payloads hash equal, which is all fan-out and retransmission matching need. Not stable
/// across versions of this crate; do not persist it.
pub fn payload_hash(bytes: &[u8]) -> u64 {
    use std::hash::Hasher;
    let mut h = rustc_hash::FxHasher::default();
    h.write(bytes);
    h.write_usize(bytes.len());
    h.finish()
}

fn dir_index(dir: Direction) -> usize {
    match dir {
        Direction::ToBroker => 0,
        Direction::ToClient => 1,
    }
}

fn fmt_secs(nanos: i64) -> String {
    format!("{:.3} s", nanos as f64 / 1e9)
}

impl Analyzer {
    /// A new analyzer with an empty trace.
    pub fn new(config: AnalyzerConfig) -> Analyzer {
        let mut trace = Trace::new();
        if config.raw_bytes != RawBytes::None && config.retain_packets {
            trace.raw_offsets.push(0);
        }
        Analyzer {
            config,
            trace,
            conns: Conns::default(),
            sessions_by_client: FxHashMap::default(),
            slab: Vec::new(),
            slab_free: Vec::new(),
            recent_publishes: FxHashMap::default(),
            next_delivery_sweep: i64::MIN,
            session_flights: FxHashMap::default(),
            pending_wills: FxHashMap::default(),
            armed_wills: FxHashMap::default(),
            on_packet: None,
            last_frame: 0,
            taken_upto: 0,
            hold_new_packets: false,
            cur: PacketRecord::new(Timestamp(0), 0, 0, Direction::ToBroker, 0),
            cur_index: 0,
            cur_completed: None,
        }
    }

    /// Runs `callback` for every packet as soon as it is analysed (streaming output).
    pub fn set_packet_callback(&mut self, callback: PacketCallback) {
        self.on_packet = Some(callback);
    }

    /// With [`RawBytes::All`], makes room for `additional` more raw bytes at once: a caller
    /// that knows the capture's size (the raw bytes of its packets never exceed it) saves the
    /// copies of growing the buffer step by step, hundreds of megabytes on a large file. Only
    /// address space is taken until bytes arrive; when even that is refused, the buffer grows
    /// as it would have anyway.
    pub fn reserve_raw_bytes(&mut self, additional: usize) {
        if self.config.raw_bytes == RawBytes::All && self.config.retain_packets {
            let _ = self.trace.raw_bytes.try_reserve(additional);
        }
    }

    /// The configuration.
    pub fn config(&self) -> &AnalyzerConfig {
        &self.config
    }

    /// The trace so far (progressive views; in-flight transactions are in state `InFlight`).
    pub fn trace(&self) -> &Trace {
        &self.trace
    }

    /// The trace so far, mutable (e.g. to fill [`Trace::captures`]).
    pub fn trace_mut(&mut self) -> &mut Trace {
        &mut self.trace
    }

    /// Feeds every event of an iterator.
    pub fn feed<'a>(&mut self, events: impl IntoIterator<Item = StreamEvent<'a>>) {
        for e in events {
            self.event(e);
        }
    }

    /// Ends the analysis: open connections end as "capture end" at `end_ts`, their unfinished
    /// transactions become incomplete at capture end, and the trace is returned.
    pub fn finish(mut self, end_ts: Timestamp) -> Trace {
        let open = self.conns.open_streams();
        // The capture's last frame: the close of a connection still open at the end.
        let frame = self.last_frame;
        for stream in open {
            self.close_connection(stream, end_ts, frame, CloseHow::CaptureEnd, None);
        }
        // Packets that arrived on a connection after its close started transactions that can
        // no longer finish: they end with the connection's end.
        for (conn, handles) in self.conns.take_all_unfinished() {
            let (closed_by, closed_ts) = self.trace.connections.get(conn as usize).map_or(
                (ClosedBy::CaptureEnd, end_ts),
                |c| {
                    (
                        c.closed_by.unwrap_or(ClosedBy::CaptureEnd),
                        c.closed_ts.unwrap_or(end_ts),
                    )
                },
            );
            self.end_transactions(
                conn,
                handles,
                TxState::IncompleteAtClose,
                closed_by,
                closed_ts,
            );
        }
        // Streaming mode: the slab holds nothing after every connection closed; flush anyway.
        for slot in std::mem::take(&mut self.slab).into_iter().flatten() {
            if slot.state != TxState::Complete {
                self.trace.transactions.push(slot);
            }
        }
        self.trace
    }

    fn note_time(&mut self, ts: Timestamp) {
        if ts.0 == i64::MIN {
            return;
        }
        let t = &mut self.trace.totals;
        t.first_ts = Some(t.first_ts.map_or(ts, |f| f.min(ts)));
        t.last_ts = Some(t.last_ts.map_or(ts, |l| l.max(ts)));
    }

    // ---------------------------------------------------------------------------------------
    // Anomalies

    // Every field of an anomaly is a separate fact; a struct for them would only be built here.
    #[allow(clippy::too_many_arguments)]
    fn anomaly(
        &mut self,
        code: AnomalyCode,
        stream: Option<u32>,
        dir: Option<Direction>,
        packet: Option<u64>,
        frame: u64,
        ts: Timestamp,
        offset: Option<u32>,
        message: String,
    ) -> Option<usize> {
        let conn = stream.and_then(|s| self.conns.get(&s)).map(|c| c.idx);
        self.anomaly_on(code, conn, dir, packet, frame, ts, offset, message)
    }

    /// [`Analyzer::anomaly`] with the connection given by its index.
    #[allow(clippy::too_many_arguments)]
    fn anomaly_on(
        &mut self,
        code: AnomalyCode,
        conn: Option<u32>,
        dir: Option<Direction>,
        packet: Option<u64>,
        frame: u64,
        ts: Timestamp,
        offset: Option<u32>,
        message: String,
    ) -> Option<usize> {
        if self.trace.anomalies.len() >= self.config.max_anomalies {
            self.trace.totals.anomalies_dropped += 1;
            return None;
        }
        let idx = self.trace.push_anomaly(Anomaly {
            code,
            severity: code.severity(),
            conn,
            dir,
            packet,
            frame,
            ts,
            offset,
            message,
        });
        if packet.is_some() && packet == Some(self.cur_index) {
            self.cur.marks.set(PacketMarks::HAS_ANOMALIES);
        }
        Some(idx)
    }

    /// An anomaly about the packet being analysed.
    fn packet_anomaly(
        &mut self,
        stream: u32,
        code: AnomalyCode,
        offset: Option<u32>,
        message: String,
    ) -> Option<usize> {
        let (dir, idx, frame, ts) = (self.cur.dir, self.cur_index, self.cur.frame, self.cur.ts);
        self.anomaly(
            code,
            Some(stream),
            Some(dir),
            Some(idx),
            frame,
            ts,
            offset,
            message,
        )
    }

    // ---------------------------------------------------------------------------------------
    // Connections

    fn on_opened(&mut self, o: ConnectionOpened) {
        if let Some(old) = self.conns.get(&o.stream)
            && !old.closed
        {
            // 4-tuple reuse without a close event: end the old one first.
            self.close_connection(o.stream, o.ts, o.frame, CloseHow::Fin, None);
        }
        let idx = self.trace.push_connection(Connection::new(
            o.stream,
            o.client,
            o.broker,
            o.transport,
            o.roles_from,
            o.ts,
            o.frame,
        ));
        self.conns
            .insert(o.stream, ConnState::new(idx as u32, o.roles_from));
    }

    /// The state of a stream, creating a connection with unknown endpoints when the capture
    /// layer never announced it.
    fn ensure_conn(&mut self, stream: u32, ts: Timestamp, frame: u64) {
        if self.conns.contains_key(&stream) {
            return;
        }
        let unspecified = std::net::SocketAddr::from(([0, 0, 0, 0], 0));
        let idx = self.trace.push_connection(Connection::new(
            stream,
            unspecified,
            unspecified,
            Transport::Tcp,
            RoleSource::Port,
            ts,
            frame,
        ));
        self.conns
            .insert(stream, ConnState::new(idx as u32, RoleSource::Port));
    }

    fn conn_mut(&mut self, stream: u32) -> Option<&mut Connection> {
        let idx = self.conns.get(&stream)?.idx as usize;
        self.trace.connections.get_mut(idx)
    }

    fn on_frame(&mut self, f: FrameSeen) {
        let t = &mut self.trace.totals;
        t.frames += 1;
        t.wire_bytes += u64::from(f.wire_len);
        t.tcp_payload_bytes += u64::from(f.tcp_payload_len);
        // Frames of a stream never announced count in the totals only (its first MQTT packet
        // creates the connection).
        if let Some(c) = self.conn_mut(f.stream) {
            let d = c.counters_mut(f.dir);
            d.frames += 1;
            d.wire_bytes += u64::from(f.wire_len);
        }
    }

    fn on_tls(&mut self, t: TlsMetadata) {
        // TLS metadata may be all the capture layer can say about an encrypted connection.
        let ts = self.trace.totals.last_ts.unwrap_or_default();
        self.ensure_conn(t.stream, ts, self.last_frame);
        if let Some(c) = self.conn_mut(t.stream) {
            c.transport = Transport::Tls;
            c.tls = Some(TlsInfo {
                version: t.version,
                sni: t.sni,
                bytes_to_broker: t.bytes_to_broker,
                bytes_to_client: t.bytes_to_client,
            });
        }
    }

    fn on_gap(&mut self, g: GapEvent) {
        self.ensure_conn(g.stream, g.ts, g.frame);
        if let Some(c) = self.conn_mut(g.stream) {
            c.gap_bytes += g.missing;
        }
        self.anomaly(
            AnomalyCode::TcpGap,
            Some(g.stream),
            Some(g.dir),
            None,
            g.frame,
            g.ts,
            None,
            format!("{} bytes missing {}", g.missing, g.dir.as_str()),
        );
        if g.resync_skipped > 0 {
            self.anomaly(
                AnomalyCode::NotMqtt,
                Some(g.stream),
                Some(g.dir),
                None,
                g.frame,
                g.ts,
                None,
                format!(
                    "{} bytes after the gap skipped until MQTT framing resynchronised",
                    g.resync_skipped
                ),
            );
        }
        if let Some(st) = self.conns.get_mut(&g.stream) {
            // Until a packet decodes cleanly again, garbage and its consequences are one finding.
            st.after_gap[dir_index(g.dir)] = true;
            if !st.client_spoke && g.dir == Direction::ToBroker {
                // The connection's start is lost: what follows is judged as mid-stream.
                st.start_lost = true;
                // A CONNACK seen before this gap was reported no CONNECT was hidden by it.
                st.connack_without_connect = None;
            }
            st.not_mqtt_reported[dir_index(g.dir)] = g.resync_skipped > 0;
        }
    }

    fn on_issue(&mut self, i: TransportIssue) {
        let code = match i.kind {
            // The truncated packet itself arrives with `truncated` and is reported there; remember
            // that its truncation is the limit's doing, not a lost segment's.
            TransportIssueKind::PayloadOverLimit => {
                if let (Some(s), Some(d)) = (i.stream, i.dir)
                    && let Some(st) = self.conns.get_mut(&s)
                {
                    st.over_limit_announced[dir_index(d)] = true;
                }
                return;
            }
            TransportIssueKind::NotMqtt => {
                if let (Some(s), Some(d)) = (i.stream, i.dir)
                    && let Some(st) = self.conns.get_mut(&s)
                {
                    let k = dir_index(d);
                    if st.not_mqtt_reported[k] {
                        return;
                    }
                    st.not_mqtt_reported[k] = true;
                }
                AnomalyCode::NotMqtt
            }
            _ => AnomalyCode::TransportIssue,
        };
        let kind = serde_json::to_value(i.kind)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        let message = if i.detail.is_empty() {
            kind
        } else {
            format!("{kind}: {}", i.detail)
        };
        self.anomaly(code, i.stream, i.dir, None, i.frame, i.ts, None, message);
    }

    fn on_closed(&mut self, c: ConnectionClosed) {
        self.close_connection(c.stream, c.ts, c.frame, c.how, c.by);
    }

    fn close_connection(
        &mut self,
        stream: u32,
        ts: Timestamp,
        frame: u64,
        how: CloseHow,
        by: Option<Direction>,
    ) {
        let Some(st) = self.conns.get_mut(&stream) else {
            return;
        };
        if st.closed {
            return;
        }
        st.closed = true;
        let idx = st.idx as usize;
        let disconnect = st.disconnect;
        let connect_seen = st.connect_seen;
        let keep_alive = st.effective_keep_alive();
        let last_client = st.last_client_ts;
        let ka_reported = st.keepalive_lapse_reported;
        let pending_connack = st.connack_without_connect.take();
        let will_key = st.will;
        let will_copies = std::mem::take(&mut st.will_copies);
        let idx_u32 = st.idx;
        let publish_flights: Vec<(Direction, u16, u64, TxHandle)> = st
            .inflight
            .iter()
            .filter(|(_, f)| f.is_publish)
            .map(|(&(d, pid), f)| (d, pid, f.payload_hash, f.tx))
            .collect();
        let handles = st.take_unfinished();
        // A closed connection keeps only its flags: long live captures see many connections.
        st.release_memory();

        if let Some(p) = pending_connack {
            self.report_connack_without_connect(stream, p);
        }
        // Keep alive: the broker drops a client silent for 1.5 × keep alive (§3.1.2.10).
        let mut lapsed = false;
        if let (Some(ka), Some(last)) = (keep_alive, last_client)
            && ka > 0
            && how != CloseHow::CaptureEnd
        {
            let limit = i64::from(ka) * 1_500_000_000;
            if ts.nanos_since(last) > limit {
                lapsed = true;
                if !ka_reported {
                    self.anomaly(
                        AnomalyCode::KeepAliveViolated,
                        Some(stream),
                        Some(Direction::ToBroker),
                        None,
                        frame,
                        ts,
                        None,
                        format!(
                            "no packet from the client for {} before the connection ended (keep alive {ka} s)",
                            fmt_secs(ts.nanos_since(last))
                        ),
                    );
                }
            }
        }
        let closed_by = match (disconnect, how) {
            (Some((dir, reason_code)), _) => ClosedBy::Disconnect { dir, reason_code },
            (None, CloseHow::CaptureEnd) => ClosedBy::CaptureEnd,
            (None, _) if lapsed => ClosedBy::KeepAliveExpiry,
            (None, CloseHow::Fin) => ClosedBy::Fin,
            (None, CloseHow::Rst) => ClosedBy::Rst,
            (None, CloseHow::IdleTimeout) => ClosedBy::IdleTimeout,
        };
        if let Some(c) = self.trace.connections.get_mut(idx) {
            c.closed_ts = Some(ts);
            c.closed_frame = Some(frame);
            c.closed_by = Some(closed_by);
            c.closed_side = by;
        }
        let will_expected = disconnect.is_none_or(|(_, rc)| rc == 0x04);
        let mqtt_seen = connect_seen
            || self
                .trace
                .connections
                .get(idx)
                .is_some_and(|c| c.to_broker.packets + c.to_client.packets > 0);
        if mqtt_seen && disconnect.is_none() && how != CloseHow::CaptureEnd {
            let will = self
                .trace
                .connections
                .get(idx)
                .and_then(|c| c.will.as_ref())
                .map(|w| self.trace.str(w.topic).to_owned());
            let how_s = ClosedBy::as_str(&closed_by);
            let side = by.map_or(String::new(), |d| format!(" from the {}", d.sender()));
            let message = match will {
                Some(topic) if will_expected => format!(
                    "closed by {how_s}{side} without DISCONNECT; will on \"{topic}\" expected"
                ),
                _ => format!("closed by {how_s}{side} without DISCONNECT"),
            };
            self.anomaly(
                AnomalyCode::ClosedWithoutDisconnect,
                Some(stream),
                None,
                None,
                frame,
                ts,
                None,
                message,
            );
        }
        // MQTT 5.0 §3.1.2.5: the will is published when the connection ends without a normal
        // DISCONNECT (or with 0x04 Disconnect with Will Message), after any Will Delay Interval.
        if let Some((topic, hash, delay)) = will_key {
            if self.armed_wills.get(&(topic, hash)) == Some(&stream) {
                self.armed_wills.remove(&(topic, hash));
            }
            if will_expected && how != CloseHow::CaptureEnd {
                let w = self.trace.wills.len();
                let since = last_client.unwrap_or(ts);
                self.trace.wills.push(WillOutcome {
                    conn: idx_u32,
                    topic,
                    triggered_ts: ts,
                    triggered_by: closed_by,
                    delay_secs: delay,
                    copies: will_copies,
                });
                let deadline =
                    ts.0.saturating_add(i64::from(delay).saturating_mul(1_000_000_000))
                        .saturating_add(self.config.delivery_window_nanos);
                self.pending_wills
                    .insert((topic, hash), (w, deadline, since));
            }
        }
        let state = if how == CloseHow::CaptureEnd {
            TxState::IncompleteAtCaptureEnd
        } else {
            TxState::IncompleteAtClose
        };
        let ended = self.end_transactions(idx_u32, handles, state, closed_by, ts);
        self.remember_session_flights(idx, &publish_flights, &ended);
    }

    /// QoS flows cut by the end of a connection whose session persists are resent on the
    /// session's next connection (MQTT 5.0 §4.4); remember them to link the resend.
    fn remember_session_flights(
        &mut self,
        conn: usize,
        flights: &[(Direction, u16, u64, TxHandle)],
        ended: &[(TxHandle, Option<usize>)],
    ) {
        let Some(c) = self.trace.connections.get(conn) else {
            return;
        };
        let persistent =
            c.clean_start == Some(false) || c.limits.session_expiry_interval.is_some_and(|e| e > 0);
        let Some(session) = c.session.filter(|_| persistent && !flights.is_empty()) else {
            return;
        };
        let table = self.session_flights.entry(session).or_default();
        for &(dir, pid, hash, h) in flights {
            if let Some(&(_, Some(index))) = ended.iter().find(|(eh, _)| *eh == h) {
                table.insert((dir, pid), (index, hash));
            }
        }
    }

    /// Ends the unfinished transactions of a connection that ended (`closed_by` at `ts`), in
    /// the order of their first packets; an unanswered PINGREQ is also an anomaly.
    fn end_transactions(
        &mut self,
        conn: u32,
        handles: Vec<TxHandle>,
        state: TxState,
        closed_by: ClosedBy,
        ts: Timestamp,
    ) -> Vec<(TxHandle, Option<usize>)> {
        let mut ended = Vec::with_capacity(handles.len());
        let mut ordered: Vec<(u64, TxHandle)> = handles
            .into_iter()
            .map(|h| {
                (
                    self.tx_mut(h)
                        .and_then(|t| t.steps.first())
                        .map_or(u64::MAX, |s| s.packet),
                    h,
                )
            })
            .collect();
        ordered.sort_unstable_by_key(|&(first, _)| first);
        for (_, h) in ordered {
            let info = self.tx_mut(h).map(|t| {
                (
                    t.kind,
                    t.state,
                    t.steps.first().map(|s| (s.frame, s.ts, s.packet)),
                )
            });
            if let Some((TxKind::Ping, TxState::InFlight, Some((f, t, p)))) = info {
                self.anomaly_on(
                    AnomalyCode::PingWithoutResponse,
                    Some(conn),
                    Some(Direction::ToBroker),
                    Some(p),
                    f,
                    t,
                    None,
                    format!(
                        "PINGREQ never answered; connection ended {} later",
                        fmt_secs(ts.nanos_since(t))
                    ),
                );
            }
            if let Some(tx) = self.tx_mut(h) {
                if tx.state == TxState::InFlight {
                    tx.state = state;
                }
                tx.ended_by = Some(closed_by);
                tx.ended_ts = Some(ts);
            }
            let index = self.tx_release(h);
            ended.push((h, index));
        }
        ended
    }

    // ---------------------------------------------------------------------------------------
    // Transactions storage: kept in the trace (index) or, streaming, in a slab until they end.

    fn tx_new(&mut self, tx: Transaction) -> TxHandle {
        if self.config.retain_transactions {
            let i = self.trace.transactions.len();
            self.trace.transactions.push(tx);
            TxHandle::Kept(i)
        } else if let Some(slot) = self.slab_free.pop() {
            if let Some(s) = self.slab.get_mut(slot) {
                *s = Some(tx);
            }
            TxHandle::Slab(slot)
        } else {
            self.slab.push(Some(tx));
            TxHandle::Slab(self.slab.len() - 1)
        }
    }

    fn tx_mut(&mut self, h: TxHandle) -> Option<&mut Transaction> {
        match h {
            TxHandle::Kept(i) => self.trace.transactions.get_mut(i),
            TxHandle::Slab(i) => self.slab.get_mut(i).and_then(Option::as_mut),
        }
    }

    /// The transaction left the in-flight tables; in streaming mode it leaves memory too
    /// (unless it is worth reporting).
    /// Returns the transaction's index in `Trace::transactions` when it is (or stays) there.
    fn tx_release(&mut self, h: TxHandle) -> Option<usize> {
        match h {
            TxHandle::Kept(i) => return Some(i),
            TxHandle::Slab(_) => {}
        }
        if let TxHandle::Slab(i) = h
            && let Some(tx) = self.slab.get_mut(i).and_then(Option::take)
        {
            self.slab_free.push(i);
            if tx.state != TxState::Complete {
                self.trace.transactions.push(tx);
                return Some(self.trace.transactions.len() - 1);
            }
        }
        None
    }

    fn step(&self) -> TxStep {
        TxStep {
            packet: self.cur_index,
            packet_type: self.cur.packet_type,
            dir: self.cur.dir,
            frame: self.cur.frame,
            ts: self.cur.ts,
        }
    }

    /// Starts a transaction whose first step is the current packet.
    fn tx_start(
        &mut self,
        kind: TxKind,
        packet_id: Option<u16>,
        qos: u8,
        topic: Option<Sym>,
    ) -> TxHandle {
        let tx = Transaction {
            kind,
            conn: self.cur.conn,
            dir: self.cur.dir,
            packet_id,
            qos,
            topic,
            steps: smallvec::smallvec![self.step()],
            retransmissions: Vec::new(),
            state: TxState::InFlight,
            ended_by: None,
            ended_ts: None,
            latency_nanos: None,
            reason_codes: Vec::new(),
        };
        let h = self.tx_new(tx);
        self.link_cur(h);
        h
    }

    fn link_cur(&mut self, h: TxHandle) {
        if let TxHandle::Kept(i) = h {
            self.cur.set_transaction(Some(i));
        }
    }

    /// Adds the current packet as the next step.
    fn tx_step(&mut self, h: TxHandle) {
        let step = self.step();
        if let Some(tx) = self.tx_mut(h) {
            tx.steps.push(step);
        }
        self.link_cur(h);
    }

    /// Adds the current packet as a repeat (retransmission) of a step already seen.
    fn tx_repeat(&mut self, h: TxHandle) {
        let idx = self.cur_index;
        if let Some(tx) = self.tx_mut(h) {
            tx.retransmissions.push(idx);
        }
        self.link_cur(h);
    }

    /// Ends a transaction with `state` at the current packet (latency from its first step).
    fn tx_finish(&mut self, h: TxHandle, state: TxState) {
        let ts = self.cur.ts;
        let mut completed = None;
        if let Some(tx) = self.tx_mut(h) {
            tx.state = state;
            tx.latency_nanos = tx.steps.first().map(|s| ts.nanos_since(s.ts));
            if let (TxState::Complete, Some(latency_nanos)) = (state, tx.latency_nanos) {
                completed = Some(Completed {
                    kind: tx.kind,
                    latency_nanos,
                });
            }
        }
        if completed.is_some() {
            self.cur_completed = completed;
        }
        self.tx_release(h);
    }

    /// A response with nothing to answer: a one-step transaction and an anomaly.
    fn response_without_request(&mut self, stream: u32, kind: TxKind, what: String) {
        let pid = self.cur.packet_id;
        let h = self.tx_start(kind, pid, 0, None);
        self.tx_finish(h, TxState::ResponseWithoutRequest);
        if let Some(tx) = self.tx_mut(h) {
            tx.latency_nanos = None;
        }
        self.packet_anomaly(stream, AnomalyCode::AckWithoutRequest, None, what);
    }

    // ---------------------------------------------------------------------------------------
    // Packets

    fn on_packet_bytes(&mut self, p: MqttBytes<'_>) {
        self.ensure_conn(p.stream, p.ts, p.first_frame);
        let Some(st) = self.conns.get(&p.stream) else {
            return;
        };
        let conn_idx = st.idx;
        let first_byte = p.bytes.first().copied().unwrap_or(0);
        let mut rec = PacketRecord::new(p.ts, p.frame, conn_idx, p.dir, first_byte);
        rec.stream_offset = p.stream_offset;
        rec.frames_back = u32::try_from(p.frame.saturating_sub(p.first_frame)).unwrap_or(u32::MAX);
        if p.truncated {
            rec.marks.set(PacketMarks::TRUNCATED);
        }
        self.cur = rec;
        self.cur_completed = None;
        self.cur_index = self.trace.totals.packets;
        self.trace.totals.packets += 1;
        self.trace.totals.mqtt_bytes += p.packet_len;
        let mut rebuildable = false;
        if let Some(c) = self.conn_mut(p.stream) {
            if let Some(seq) = p.tcp_seq {
                // Sequence numbers count modulo 2^32 (RFC 9293 §3.4).
                let base = c.tcp_seq_base_mut(p.dir);
                let b = *base.get_or_insert(seq.wrapping_sub(p.stream_offset as u32));
                rebuildable = b.wrapping_add(p.stream_offset as u32) == seq;
            }
            let d = c.counters_mut(p.dir);
            d.packets += 1;
            d.bytes += p.packet_len;
            // PUBLISH (type 3): QoS in bits 1-2 of the first byte (§3.3.1).
            if first_byte >> 4 == 3
                && let Some(n) = d.publishes.get_mut(usize::from((first_byte >> 1) & 3))
            {
                *n += 1;
            }
        }

        self.analyse_packet(&p);

        // Hand the record over.
        let rec = std::mem::replace(
            &mut self.cur,
            PacketRecord::new(Timestamp(0), 0, 0, Direction::ToBroker, 0),
        );
        if let Some(cb) = self.on_packet.as_mut() {
            cb(
                &self.trace,
                PacketView {
                    index: self.cur_index,
                    record: &rec,
                    bytes: p.bytes,
                    completed: self.cur_completed.take(),
                },
            );
        }
        if self.config.retain_packets {
            self.trace.packets.push(rec);
            let keep = match self.config.raw_bytes {
                RawBytes::None => false,
                RawBytes::All => true,
                // SUBSCRIBE 8, SUBACK 9, UNSUBSCRIBE 10, UNSUBACK 11 (§2.1.2).
                RawBytes::UnlessRebuildable => !rebuildable || matches!(first_byte >> 4, 8..=11),
            };
            if keep {
                self.trace.raw_bytes.extend_from_slice(p.bytes);
            }
            if self.config.raw_bytes != RawBytes::None {
                // A packet not kept gets an empty range (none is empty: §2.1.1).
                self.trace
                    .raw_offsets
                    .push(self.trace.raw_bytes.len() as u64);
            }
        } else if self.hold_new_packets {
            // Pull-style streaming: the record waits for `take_new_packets`.
            self.trace.packets.push(rec);
        } else {
            self.trace.packet_base = self.trace.totals.packets;
        }
    }

    /// Pull-style streaming: without `retain_packets`, keep each new record until
    /// [`Analyzer::take_new_packets`] takes it (the caller must keep taking for memory to stay
    /// bounded). Otherwise such records are dropped once the callback, if any, has seen them.
    pub fn hold_new_packets(&mut self) {
        self.hold_new_packets = true;
    }

    /// The records analysed since the previous call, with their packet indexes (pull-style
    /// streaming, the alternative to [`Analyzer::set_packet_callback`]). Without
    /// `retain_packets` they leave the trace, and are there only after
    /// [`Analyzer::hold_new_packets`]; with it they are copies and the trace keeps them.
    pub fn take_new_packets(&mut self) -> Vec<(u64, PacketRecord)> {
        let start = self.taken_upto.max(self.trace.packet_base);
        let from = usize::try_from(start - self.trace.packet_base).unwrap_or(usize::MAX);
        let taken: Vec<(u64, PacketRecord)> = if self.config.retain_packets {
            self.trace
                .packets
                .get(from..)
                .unwrap_or(&[])
                .iter()
                .cloned()
                .zip(start..)
                .map(|(r, i)| (i, r))
                .collect()
        } else {
            let base = self.trace.packet_base;
            let drained: Vec<_> = self
                .trace
                .packets
                .drain(..)
                .zip(base..)
                .map(|(r, i)| (i, r))
                .collect();
            self.trace.packet_base = self.trace.totals.packets;
            drained
        };
        self.taken_upto = self.trace.totals.packets;
        taken
    }

    fn analyse_packet(&mut self, p: &MqttBytes<'_>) {
        let stream = p.stream;

        // Fixed header (framing already accepted it; read it again for its encoding facts).
        match read_fixed_header(p.bytes) {
            Ok(Some(h)) => {
                self.cur.fixed_len = h.header_len;
                self.cur.payload_len = h.remaining_length;
                if h.non_minimal_length {
                    self.packet_anomaly(
                        stream,
                        AnomalyCode::RemainingLengthNotMinimal,
                        Some(1),
                        format!(
                            "remaining length {} encoded in {} bytes",
                            h.remaining_length,
                            h.header_len - 1
                        ),
                    );
                }
            }
            Err(FramingError::RemainingLengthTooLong) => {
                self.packet_anomaly(
                    stream,
                    AnomalyCode::RemainingLengthTooLong,
                    Some(1),
                    "remaining length field continues past 4 bytes".into(),
                );
                self.cur.marks.set(PacketMarks::DECODE_ERROR);
                return;
            }
            Ok(None) => {
                self.cur.marks.set(PacketMarks::DECODE_ERROR);
                self.decode_failed(
                    stream,
                    p.dir,
                    DecodeError {
                        kind: DecodeErrorKind::Incomplete { needed: None },
                        offset: p.bytes.len(),
                    },
                );
                return;
            }
        }
        // A packet is also delivered truncated when a lost segment ends inside it; that is the
        // TCP gap's finding (already reported), not the payload limit's.
        let over_limit = p.truncated
            && self
                .conns
                .get_mut(&stream)
                .is_some_and(|st| std::mem::take(&mut st.over_limit_announced[dir_index(p.dir)]));
        if over_limit {
            self.packet_anomaly(
                stream,
                AnomalyCode::PayloadOverLimit,
                None,
                format!(
                    "{} byte packet: {} bytes kept, payload skipped",
                    p.packet_len,
                    p.bytes.len()
                ),
            );
        }

        let Some(st) = self.conns.get(&stream) else {
            return;
        };
        let version = st.version;
        let ptype = PacketType::from_id(self.cur.first_byte >> 4);
        // Fast path: the connection's version is known and the packet is whole (almost always).
        // The decoded packet stays where it was decoded and is used by reference: it is a few
        // hundred bytes, and moving it around was a measurable share of the analysis.
        if let Some(v) = version
            && ptype != PacketType::Connect
            && !p.truncated
            && let Ok(decoded) = &codec::decode(p.bytes, v)
        {
            self.analyse_decoded(stream, p, decoded, v, None);
            return;
        }
        match &self.decode(p, version, ptype) {
            Ok((decoded, used, mismatch)) => {
                let mismatch_with = if *mismatch { version } else { None };
                self.analyse_decoded(stream, p, decoded, *used, mismatch_with);
            }
            Err(e) => {
                self.cur.marks.set(PacketMarks::DECODE_ERROR);
                self.undecodable_packet_seen(stream, p.dir, ptype);
                self.decode_failed(stream, p.dir, *e);
            }
        }
    }

    /// Everything after a successful decode. `mismatch_with` is the negotiated version when the
    /// packet only decoded with the other layout.
    fn analyse_decoded(
        &mut self,
        stream: u32,
        p: &MqttBytes<'_>,
        decoded: &Decoded<'_>,
        used: ProtocolVersion,
        mismatch_with: Option<ProtocolVersion>,
    ) {
        let k = dir_index(p.dir);
        if let Some(st) = self.conns.get_mut(&stream) {
            st.decode_failures[k] = None;
            st.after_gap[k] = false;
            st.not_mqtt_reported[k] = false;
        }
        self.cur.version = Some(used);
        self.cur.set_sizes(decoded.sizes);
        if let Some(negotiated) = mismatch_with {
            self.packet_anomaly(
                stream,
                AnomalyCode::VersionMismatch,
                None,
                format!(
                    "{} decodes only as MQTT {} on a {} connection",
                    decoded.packet.packet_type(),
                    used.name(),
                    negotiated.name()
                ),
            );
        }
        self.warnings(stream, decoded);
        self.limits_checks(stream, decoded);
        self.handle(stream, p, decoded, used);
    }

    /// Decodes with the connection's version; mid-stream connections infer it.
    /// Returns (decoded, version used, encoded for the other version than negotiated).
    fn decode<'b>(
        &mut self,
        p: &MqttBytes<'b>,
        version: Option<ProtocolVersion>,
        ptype: PacketType,
    ) -> Result<(Decoded<'b>, ProtocolVersion, bool), DecodeError> {
        let dec = |v: ProtocolVersion| {
            if p.truncated {
                codec::decode_partial(p.bytes, p.packet_len, v)
            } else {
                codec::decode(p.bytes, v)
            }
        };
        if ptype == PacketType::Connect {
            let d = dec(ProtocolVersion::V3_1_1)?;
            let v = match &d.packet {
                Packet::Connect(c) => {
                    ProtocolVersion::from_level(c.protocol_level).unwrap_or(ProtocolVersion::V3_1_1)
                }
                _ => ProtocolVersion::V3_1_1,
            };
            return Ok((d, v, false));
        }
        match version {
            Some(v) => match dec(v) {
                Ok(d) => Ok((d, v, false)),
                Err(e) if matches!(e.kind, DecodeErrorKind::Incomplete { .. }) => Err(e),
                Err(e) => {
                    let other = if v.is_v5() {
                        ProtocolVersion::V3_1_1
                    } else {
                        ProtocolVersion::V5
                    };
                    match dec(other) {
                        Ok(d) if d.warnings.is_empty() => Ok((d, other, true)),
                        _ => Err(e),
                    }
                }
            },
            None if p.truncated => {
                let d = dec(ProtocolVersion::V3_1_1).or_else(|_| dec(ProtocolVersion::V5))?;
                Ok((d, ProtocolVersion::V3_1_1, false))
            }
            None => {
                let (d, v) = codec::decode_unknown_version(p.bytes)?;
                // Lock the version only on unambiguous evidence (decode_unknown_version's own
                // advice: one packet may fit both layouts).
                let certain = match v {
                    ProtocolVersion::V5 => {
                        ptype != PacketType::PingReq && ptype != PacketType::PingResp
                    }
                    _ => {
                        !matches!(
                            ptype,
                            PacketType::PingReq | PacketType::PingResp | PacketType::Reserved
                        ) && codec::decode(p.bytes, ProtocolVersion::V5).is_err()
                    }
                };
                if certain && let Some(st) = self.conns.get_mut(&p.stream) {
                    st.version = Some(v);
                    let idx = st.idx as usize;
                    if let Some(c) = self.trace.connections.get_mut(idx) {
                        c.version = Some(v);
                        c.version_inferred = true;
                    }
                }
                Ok((d, v, false))
            }
        }
    }

    /// One anomaly per run of undecodable packets (and none inside a garbage run after a gap
    /// that was already reported), so a garbage stream is one finding, not a cascade.
    fn decode_failed(&mut self, stream: u32, dir: Direction, e: DecodeError) {
        let k = dir_index(dir);
        let Some(st) = self.conns.get_mut(&stream) else {
            return;
        };
        if let Some((aidx, n)) = st.decode_failures[k].as_mut() {
            *n += 1;
            let (aidx, n) = (*aidx, *n);
            if let Some(a) = self.trace.anomalies.get_mut(aidx) {
                if let Some(cut) = a.message.find(" (+") {
                    a.message.truncate(cut);
                }
                a.message
                    .push_str(&format!(" (+{n} more undecodable packets after it)"));
            }
            return;
        }
        let after_gap = st.after_gap[k];
        let (code, message) = match e.kind {
            DecodeErrorKind::RemainingLengthTooLong => {
                (AnomalyCode::RemainingLengthTooLong, e.to_string())
            }
            _ if after_gap => (
                AnomalyCode::NotMqtt,
                format!("undecodable bytes after a TCP gap ({e})"),
            ),
            _ => (
                AnomalyCode::Malformed,
                format!("{}: {e}", self.cur.packet_type),
            ),
        };
        let offset = u32::try_from(e.offset).ok();
        if let Some(aidx) = self.packet_anomaly(stream, code, offset, message)
            && let Some(st) = self.conns.get_mut(&stream)
        {
            st.decode_failures[k] = Some((aidx, 0));
        }
    }

    fn warnings(&mut self, stream: u32, d: &Decoded<'_>) {
        for w in d.warnings.iter() {
            let (code, message) = match w.kind {
                WarningKind::ReservedFlags => (
                    AnomalyCode::ReservedFlags,
                    format!("{} flags 0x{:x}", self.cur.packet_type, self.cur.flags()),
                ),
                WarningKind::Qos3 => (AnomalyCode::Qos3, "PUBLISH QoS bits are 3".to_owned()),
                WarningKind::DupOnQos0 => (AnomalyCode::DupOnQos0, "DUP set on QoS 0".to_owned()),
                WarningKind::NonMinimalVarInt => {
                    // The remaining length was reported from the fixed header already.
                    if w.offset == 1 {
                        continue;
                    }
                    (
                        AnomalyCode::RemainingLengthNotMinimal,
                        "variable byte integer not minimally encoded".to_owned(),
                    )
                }
                WarningKind::InvalidUtf8 => (
                    AnomalyCode::InvalidUtf8,
                    format!("ill-formed UTF-8 at byte {}", w.offset),
                ),
                WarningKind::NullCharacter => (
                    AnomalyCode::NullCharacter,
                    format!("U+0000 at byte {}", w.offset),
                ),
                WarningKind::WildcardInTopicName => (
                    AnomalyCode::TopicWildcard,
                    "wildcard in PUBLISH topic name".to_owned(),
                ),
                WarningKind::EmptyTopicName => (
                    AnomalyCode::TopicEmpty,
                    "empty PUBLISH topic name".to_owned(),
                ),
                WarningKind::PacketIdZero => (
                    AnomalyCode::PacketIdZero,
                    format!("{} with packet identifier 0", self.cur.packet_type),
                ),
                WarningKind::UnknownProperty(id) => {
                    (AnomalyCode::PropertyUnknown, format!("property 0x{id:02x}"))
                }
                WarningKind::PropertyNotAllowed(id) => (
                    AnomalyCode::PropertyNotAllowed,
                    format!("{} in {}", property_name(id), self.cur.packet_type),
                ),
                WarningKind::DuplicateProperty(id) => (
                    AnomalyCode::PropertyDuplicate,
                    format!("{} repeated in {}", property_name(id), self.cur.packet_type),
                ),
                WarningKind::ConnectReservedFlag => (
                    AnomalyCode::ConnectReservedFlag,
                    "CONNECT flags bit 0 set".to_owned(),
                ),
                WarningKind::InvalidWillFlags => (
                    AnomalyCode::InvalidWillFlags,
                    "will QoS/retain inconsistent with the will flag".to_owned(),
                ),
                WarningKind::PasswordWithoutUsername => (
                    AnomalyCode::PasswordWithoutUsername,
                    "password flag without user name flag".to_owned(),
                ),
                WarningKind::UnknownProtocol => (
                    AnomalyCode::UnknownProtocol,
                    "protocol name/level not MQIsdp/3, MQTT/4 or MQTT/5".to_owned(),
                ),
                WarningKind::ReservedBitsSet => (
                    AnomalyCode::ReservedBits,
                    format!("reserved bits set in {}", self.cur.packet_type),
                ),
                WarningKind::NoTopicFilters => (
                    AnomalyCode::NoTopicFilters,
                    format!("{} without topic filters", self.cur.packet_type),
                ),
                WarningKind::UnknownReasonCode(rc) => (
                    AnomalyCode::UnknownReasonCode,
                    format!("reason code 0x{rc:02x} in {}", self.cur.packet_type),
                ),
                WarningKind::TrailingBytes => (
                    AnomalyCode::TrailingBytes,
                    format!("bytes after the last field of {}", self.cur.packet_type),
                ),
                WarningKind::InvalidTopicFilter => (
                    AnomalyCode::InvalidTopicFilter,
                    format!("malformed topic filter in {}", self.cur.packet_type),
                ),
                WarningKind::InvalidSharedSubscription => (
                    AnomalyCode::InvalidSharedSubscription,
                    format!(
                        "$share/ filter without a share name or topic filter in {}",
                        self.cur.packet_type
                    ),
                ),
                WarningKind::PropertyValueOutOfRange(id) => (
                    AnomalyCode::PropertyValueOutOfRange,
                    format!(
                        "{} in {} must be {}",
                        property_name(id),
                        self.cur.packet_type,
                        property_allowed_values(id)
                    ),
                ),
            };
            self.packet_anomaly(stream, code, Some(w.offset), message);
        }
        if d.warnings.dropped > 0 {
            self.packet_anomaly(
                stream,
                AnomalyCode::Malformed,
                None,
                format!("{} further findings not listed", d.warnings.dropped),
            );
        }
    }

    /// Maximum packet size (both ways) from the negotiated limits.
    fn limits_checks(&mut self, stream: u32, _d: &Decoded<'_>) {
        let Some(c) = self
            .conns
            .get(&stream)
            .and_then(|s| self.trace.connections.get(s.idx as usize))
        else {
            return;
        };
        let limit = match self.cur.dir {
            Direction::ToBroker => c.limits.broker_maximum_packet_size,
            Direction::ToClient => c.limits.client_maximum_packet_size,
        };
        let len = self.cur.packet_len();
        if let Some(max) = limit
            && len > u64::from(max)
        {
            self.packet_anomaly(
                stream,
                AnomalyCode::PacketTooLarge,
                None,
                format!(
                    "{} of {len} bytes; receiver's maximum packet size is {max}",
                    self.cur.packet_type
                ),
            );
        }
    }

    fn handle(
        &mut self,
        stream: u32,
        p: &MqttBytes<'_>,
        d: &Decoded<'_>,
        version: ProtocolVersion,
    ) {
        let dir = p.dir;
        self.cur.packet_id = d.packet.packet_id();
        let ptype = d.packet.packet_type();
        self.cur.packet_type = ptype;
        self.order_checks(stream, dir, ptype);
        if dir == Direction::ToBroker {
            self.keepalive_check(stream);
        }
        match &d.packet {
            Packet::Connect(c) => self.on_connect(stream, c),
            Packet::ConnAck(c) => self.on_connack(stream, c, version),
            Packet::Publish(pb) => self.on_publish(stream, pb),
            Packet::PubAck(a) => {
                self.cur.reason_code = a.reason_code;
                self.on_puback(stream, a.packet_id, a.reason_code.unwrap_or(0));
            }
            Packet::PubRec(a) => {
                self.cur.reason_code = a.reason_code;
                self.on_pubrec(stream, a.packet_id, a.reason_code.unwrap_or(0));
            }
            Packet::PubRel(a) => {
                self.cur.reason_code = a.reason_code;
                self.on_pubrel(stream, a.packet_id, a.reason_code.unwrap_or(0));
            }
            Packet::PubComp(a) => {
                self.cur.reason_code = a.reason_code;
                self.on_pubcomp(stream, a.packet_id, a.reason_code.unwrap_or(0));
            }
            Packet::Subscribe(s) => {
                let mut first = None;
                let mut count = 0u32;
                for (f, options) in s.filters.iter() {
                    let filter = self.trace.strings.intern_bytes(f.bytes());
                    first.get_or_insert(filter);
                    self.trace.subscriptions.push(Subscription {
                        conn: self.cur.conn,
                        packet: self.cur_index,
                        filter,
                        options: options.0,
                    });
                    count += 1;
                }
                self.cur.topic = first;
                self.on_request(stream, TxKind::Subscribe, s.packet_id, first, count);
            }
            Packet::Unsubscribe(u) => {
                let mut first = None;
                let mut count = 0u32;
                for f in u.filters.iter() {
                    if first.is_none() {
                        first = Some(self.trace.strings.intern_bytes(f.bytes()));
                    }
                    count += 1;
                }
                self.cur.topic = first;
                self.on_request(stream, TxKind::Unsubscribe, u.packet_id, first, count);
            }
            Packet::SubAck(s) => {
                self.cur.reason_code = s.reason_codes.first().copied();
                self.on_sub_response(stream, TxKind::Subscribe, s.packet_id, s.reason_codes, true);
            }
            Packet::UnsubAck(u) => {
                self.cur.reason_code = u.reason_codes.first().copied();
                self.on_sub_response(
                    stream,
                    TxKind::Unsubscribe,
                    u.packet_id,
                    u.reason_codes,
                    version.is_v5(),
                );
            }
            Packet::PingReq => {
                let h = self.tx_start(TxKind::Ping, None, 0, None);
                if let Some(st) = self.conns.get_mut(&stream) {
                    st.pings.push_back(h);
                }
            }
            Packet::PingResp => {
                let h = self
                    .conns
                    .get_mut(&stream)
                    .and_then(|st| st.pings.pop_front());
                match h {
                    Some(h) => {
                        self.tx_step(h);
                        self.tx_finish(h, TxState::Complete);
                    }
                    None => self.response_without_request(
                        stream,
                        TxKind::Ping,
                        "PINGRESP without PINGREQ".into(),
                    ),
                }
            }
            Packet::Disconnect(r) => {
                let rc = r.reason_code.unwrap_or(0);
                self.cur.reason_code = r.reason_code;
                if let Some(st) = self.conns.get_mut(&stream) {
                    st.disconnect = Some((dir, rc));
                }
                if rc >= 0x80 {
                    let name = codec::reason_code_name(PacketType::Disconnect, version, rc)
                        .unwrap_or("unknown");
                    self.packet_anomaly(
                        stream,
                        AnomalyCode::DisconnectWithError,
                        None,
                        format!("DISCONNECT {} 0x{rc:02x} {name}", dir.as_str()),
                    );
                }
            }
            Packet::Auth(r) => {
                let rc = r.reason_code.unwrap_or(0);
                self.cur.reason_code = r.reason_code;
                let existing = self.conns.get(&stream).and_then(|st| st.auth_tx);
                match existing {
                    Some(h) => {
                        self.tx_step(h);
                        // 0x00 Success ends the exchange; 0x18 Continue keeps it going.
                        if rc == 0x00 {
                            if let Some(st) = self.conns.get_mut(&stream) {
                                st.auth_tx = None;
                            }
                            self.tx_finish(h, TxState::Complete);
                        }
                    }
                    None => {
                        let h = self.tx_start(TxKind::Auth, None, 0, None);
                        if let Some(st) = self.conns.get_mut(&stream) {
                            st.auth_tx = Some(h);
                        }
                    }
                }
            }
            Packet::Reserved { type_id, .. } => {
                self.packet_anomaly(
                    stream,
                    AnomalyCode::ReservedPacketType,
                    None,
                    format!("packet type {type_id} on a {} connection", version.name()),
                );
            }
        }
    }

    /// A packet that did not decode still says what it is: an undecodable CONNECT is the
    /// connection's CONNECT (what follows must not be reported as "CONNACK without CONNECT").
    fn undecodable_packet_seen(&mut self, stream: u32, dir: Direction, ptype: PacketType) {
        if dir == Direction::ToBroker
            && let Some(st) = self.conns.get_mut(&stream)
        {
            st.client_spoke = true;
            if ptype == PacketType::Connect {
                st.connect_seen = true;
            }
        }
    }

    fn report_connack_without_connect(
        &mut self,
        stream: u32,
        (packet, frame, ts): (u64, u64, Timestamp),
    ) {
        self.anomaly(
            AnomalyCode::ConnAckWithoutConnect,
            Some(stream),
            Some(Direction::ToClient),
            Some(packet),
            frame,
            ts,
            None,
            "CONNACK with no CONNECT on this connection".into(),
        );
    }

    /// First packet, second CONNECT, packets before CONNACK.
    fn order_checks(&mut self, stream: u32, dir: Direction, ptype: PacketType) {
        let Some(st) = self.conns.get_mut(&stream) else {
            return;
        };
        let first_client = dir == Direction::ToBroker && !st.client_spoke;
        if dir == Direction::ToBroker {
            st.client_spoke = true;
        }
        let pending = if dir == Direction::ToBroker {
            st.connack_without_connect.take()
        } else {
            None
        };
        if let Some(p) = pending {
            self.report_connack_without_connect(stream, p);
        }
        let Some(st) = self.conns.get_mut(&stream) else {
            return;
        };
        let (connect_seen, connack_seen) = (st.connect_seen, st.connack_seen);
        let start_seen = st.start_seen();
        if first_client && ptype != PacketType::Connect && !connect_seen {
            if start_seen {
                self.packet_anomaly(
                    stream,
                    AnomalyCode::FirstNotConnect,
                    None,
                    format!("first client packet is {ptype}"),
                );
            } else {
                self.mid_stream(stream);
            }
        }
        let Some(st) = self.conns.get_mut(&stream) else {
            return;
        };
        if connect_seen && !connack_seen {
            match dir {
                Direction::ToClient
                    if !matches!(ptype, PacketType::ConnAck | PacketType::Auth)
                        && !st.broker_early_reported =>
                {
                    st.broker_early_reported = true;
                    self.packet_anomaly(
                        stream,
                        AnomalyCode::BrokerBeforeConnAck,
                        None,
                        format!("{ptype} before CONNACK"),
                    );
                }
                Direction::ToBroker
                    if !matches!(ptype, PacketType::Connect | PacketType::Auth)
                        && !st.client_early_reported =>
                {
                    st.client_early_reported = true;
                    self.packet_anomaly(
                        stream,
                        AnomalyCode::ClientBeforeConnAck,
                        None,
                        format!("{ptype} before CONNACK"),
                    );
                }
                _ => {}
            }
        }
    }

    fn mid_stream(&mut self, stream: u32) {
        let Some(st) = self.conns.get_mut(&stream) else {
            return;
        };
        if st.mid_stream_reported {
            return;
        }
        st.mid_stream_reported = true;
        self.packet_anomaly(
            stream,
            AnomalyCode::MidStream,
            None,
            "no CONNECT seen on this connection".into(),
        );
    }

    /// MQTT 5.0 §3.1.2.10: the broker disconnects a client silent for 1.5 × keep alive.
    fn keepalive_check(&mut self, stream: u32) {
        let ts = self.cur.ts;
        let Some(st) = self.conns.get_mut(&stream) else {
            return;
        };
        // Copies of this client's will seen while it was still talking were not its will.
        st.will_copies.clear();
        let ka = st.effective_keep_alive();
        let last = st.last_client_ts.replace(ts);
        st.keepalive_lapse_reported = false;
        if let (Some(ka), Some(last)) = (ka, last)
            && ka > 0
        {
            let silent = ts.nanos_since(last);
            if silent > i64::from(ka) * 1_500_000_000 {
                self.packet_anomaly(
                    stream,
                    AnomalyCode::KeepAliveViolated,
                    None,
                    format!(
                        "{} without a client packet (keep alive {ka} s, limit {:.1} s)",
                        fmt_secs(silent),
                        f64::from(ka) * 1.5
                    ),
                );
            }
        }
    }

    fn on_connect(&mut self, stream: u32, c: &codec::Connect<'_>) {
        let Some(st) = self.conns.get_mut(&stream) else {
            return;
        };
        if self.cur.dir == Direction::ToClient {
            return;
        }
        if st.connect_seen {
            self.packet_anomaly(
                stream,
                AnomalyCode::SecondConnect,
                None,
                "CONNECT on a connection that already sent one".into(),
            );
            return;
        }
        st.connect_seen = true;
        let version = ProtocolVersion::from_level(c.protocol_level);
        st.version = version.or(st.version);
        st.keep_alive = Some(c.keep_alive);
        st.last_client_ts = Some(self.cur.ts);
        let idx = st.idx;
        let h = self.tx_start(TxKind::Connect, None, 0, None);
        if let Some(st) = self.conns.get_mut(&stream) {
            st.connect_tx = Some(h);
        }
        let strings = &mut self.trace.strings;
        let client_id = strings.intern_bytes(c.client_id.bytes());
        let username = c.username.map(|u| strings.intern_bytes(u.bytes()));
        let will = c.will.as_ref().map(|w| WillInfo {
            topic: strings.intern_bytes(w.topic.bytes()),
            qos: w.qos,
            retain: w.retain,
            payload_len: u32::try_from(w.payload.len()).unwrap_or(u32::MAX),
            properties: w.properties.map(summarise_properties).unwrap_or_default(),
        });
        let will_key = will.as_ref().zip(c.will.as_ref()).map(|(info, w)| {
            let delay = w
                .properties
                .and_then(|p| p.will_delay_interval())
                .unwrap_or(0);
            (info.topic, payload_hash(w.payload), delay)
        });
        if let Some(st) = self.conns.get_mut(&stream) {
            st.will = will_key;
        }
        if let Some((topic, hash, _)) = will_key {
            self.armed_wills.insert((topic, hash), stream);
        }
        let password = c.password.map(|pw| PasswordInfo {
            len: u32::try_from(pw.len()).unwrap_or(u32::MAX),
            text: self
                .config
                .show_passwords
                .then(|| String::from_utf8_lossy(pw).into_owned()),
        });
        let props = c.properties;
        let Some(conn) = self.trace.connections.get_mut(idx as usize) else {
            return;
        };
        conn.version = version;
        conn.version_inferred = false;
        conn.client_id = Some(client_id);
        conn.username = username;
        conn.password = password;
        conn.keep_alive = Some(c.keep_alive);
        conn.clean_start = Some(c.flags.clean_start());
        conn.will = will;
        if let Some(p) = props {
            conn.connect_properties = summarise_properties(p);
            conn.limits.client_receive_maximum = p.receive_maximum();
            conn.limits.client_maximum_packet_size = p.maximum_packet_size();
            conn.limits.client_topic_alias_maximum = p.topic_alias_maximum();
            conn.limits.session_expiry_interval = p.session_expiry_interval();
        }
        let persistent =
            !c.flags.clean_start() || conn.limits.session_expiry_interval.is_some_and(|s| s > 0);
        if !c.client_id.is_empty() {
            self.join_session(idx, client_id, persistent);
            if c.flags.clean_start()
                && let Some(session) = self.sessions_by_client.get(&client_id)
            {
                // Clean start discards the session and its unfinished flows (§3.1.2.4).
                self.session_flights.remove(session);
            }
        } else if let Some(st) = self.conns.get_mut(&stream) {
            st.persistent_request = persistent;
        }
    }

    fn join_session(&mut self, conn: u32, client_id: Sym, persistent: bool) {
        let sessions = &mut self.trace.sessions;
        let sidx = *self.sessions_by_client.entry(client_id).or_insert_with(|| {
            sessions.push(Session {
                client_id,
                connections: Vec::new(),
                persistent: false,
                reconnects: 0,
                resumed: 0,
                queued_delivered: 0,
            });
            (sessions.len() - 1) as u32
        });
        if let Some(s) = self.trace.sessions.get_mut(sidx as usize) {
            if !s.connections.is_empty() {
                s.reconnects += 1;
            }
            s.connections.push(conn);
            s.persistent |= persistent;
        }
        if let Some(c) = self.trace.connections.get_mut(conn as usize) {
            c.session = Some(sidx);
        }
    }

    fn on_connack(&mut self, stream: u32, ack: &codec::ConnAck<'_>, version: ProtocolVersion) {
        self.cur.reason_code = Some(ack.reason_code);
        let Some(st) = self.conns.get_mut(&stream) else {
            return;
        };
        if self.cur.dir == Direction::ToBroker {
            return;
        }
        let connect_tx = st.connect_tx.take();
        let auth_tx = st.auth_tx.take();
        let first_connack = !st.connack_seen;
        st.connack_seen = true;
        let refused = codec::is_failure_in(PacketType::ConnAck, version, ack.reason_code);
        let idx = st.idx;
        let persistent_request = st.persistent_request;
        if !refused {
            st.resumed = ack.session_present;
            if let Some(p) = ack.properties {
                st.server_keep_alive = p.server_keep_alive();
            }
        }
        if let Some(h) = auth_tx {
            self.tx_step(h);
            self.tx_finish(
                h,
                if refused {
                    TxState::Failed(ack.reason_code)
                } else {
                    TxState::Complete
                },
            );
        }
        match connect_tx {
            Some(h) => {
                self.tx_step(h);
                self.tx_finish(
                    h,
                    if refused {
                        TxState::Failed(ack.reason_code)
                    } else {
                        TxState::Complete
                    },
                );
                if let Some(tx) = self.tx_mut(h) {
                    tx.reason_codes.push(ack.reason_code);
                }
            }
            None => {
                let connect_seen = self.conns.get(&stream).is_some_and(|s| s.connect_seen);
                if !connect_seen {
                    let (idx, frame, ts) = (self.cur_index, self.cur.frame, self.cur.ts);
                    if let Some(st) = self.conns.get_mut(&stream)
                        && st.start_seen()
                    {
                        // Judged when the client's side shows whether a gap hid its CONNECT
                        // (the capture layer reports a gap only when later bytes arrive).
                        st.connack_without_connect = Some((idx, frame, ts));
                    } else {
                        self.mid_stream(stream);
                    }
                } else if first_connack {
                    // Only reachable when the connect transaction was cut (e.g. AUTH before).
                } else {
                    self.response_without_request(stream, TxKind::Connect, "second CONNACK".into());
                }
            }
        }
        if refused {
            let name = codec::reason_code_name(PacketType::ConnAck, version, ack.reason_code)
                .unwrap_or("unknown");
            self.packet_anomaly(
                stream,
                AnomalyCode::ConnectRefused,
                None,
                format!("CONNACK 0x{:02x} {name}", ack.reason_code),
            );
        }
        let mut assigned = None;
        let Some(conn) = self.trace.connections.get_mut(idx as usize) else {
            return;
        };
        conn.connack_code = Some(ack.reason_code);
        conn.session_present = Some(ack.session_present);
        if let Some(p) = ack.properties {
            conn.connack_properties = summarise_properties(p);
            let l = &mut conn.limits;
            l.broker_receive_maximum = p.receive_maximum();
            l.broker_maximum_packet_size = p.maximum_packet_size();
            l.broker_topic_alias_maximum = p.topic_alias_maximum();
            l.maximum_qos = p.maximum_qos();
            l.retain_available = p.retain_available();
            l.server_keep_alive = p.server_keep_alive();
            assigned = p.assigned_client_identifier();
        }
        if let Some(a) = assigned {
            let sym = self.trace.strings.intern_bytes(a.bytes());
            if let Some(conn) = self.trace.connections.get_mut(idx as usize) {
                conn.limits.assigned_client_id = Some(sym);
                if conn
                    .client_id
                    .is_none_or(|c| self.trace.strings.resolve(c).is_empty())
                {
                    conn.client_id = Some(sym);
                }
            }
            if self
                .trace
                .connections
                .get(idx as usize)
                .is_some_and(|c| c.session.is_none())
            {
                self.join_session(idx, sym, persistent_request);
            }
        }
        if ack.session_present
            && !refused
            && let Some(s) = self
                .trace
                .connections
                .get(idx as usize)
                .and_then(|c| c.session)
                .and_then(|s| self.trace.sessions.get_mut(s as usize))
        {
            s.resumed += 1;
        }
    }

    fn on_publish(&mut self, stream: u32, pb: &codec::Publish<'_>) {
        let dir = self.cur.dir;
        let k = dir_index(dir);
        if pb.dup {
            self.cur.marks.set(PacketMarks::DUP);
        }
        if pb.retain {
            self.cur.marks.set(PacketMarks::RETAIN);
        }
        // Topic and topic alias (MQTT 5.0 §3.3.2.3.4): aliases are per direction, and bounded
        // by the receiver's Topic Alias Maximum (absent = 0: no aliases allowed).
        let alias = pb.properties.and_then(|p| p.topic_alias());
        let mut topic =
            (!pb.topic.is_empty()).then(|| self.intern_topic(stream, k, pb.topic.bytes()));
        if let Some(alias) = alias {
            self.cur.marks.set(PacketMarks::HAS_TOPIC_ALIAS);
            let max = self
                .conns
                .get(&stream)
                .and_then(|s| self.trace.connections.get(s.idx as usize))
                .and_then(|c| match dir {
                    Direction::ToBroker => c.limits.broker_topic_alias_maximum,
                    Direction::ToClient => c.limits.client_topic_alias_maximum,
                });
            if alias == 0 {
                self.packet_anomaly(
                    stream,
                    AnomalyCode::TopicAliasZero,
                    None,
                    "topic alias 0".into(),
                );
            } else {
                if alias > max.unwrap_or(0) {
                    self.packet_anomaly(
                        stream,
                        AnomalyCode::TopicAliasAboveMax,
                        None,
                        format!(
                            "topic alias {alias} above the receiver's maximum {}",
                            max.unwrap_or(0)
                        ),
                    );
                }
                match topic {
                    Some(t) => {
                        if let Some(st) = self.conns.get_mut(&stream) {
                            st.aliases[k].insert(alias, t);
                        }
                    }
                    None => {
                        let known = self
                            .conns
                            .get(&stream)
                            .and_then(|st| st.aliases[k].get(&alias).copied());
                        match known {
                            Some(t) => {
                                topic = Some(t);
                                self.cur.marks.set(PacketMarks::TOPIC_FROM_ALIAS);
                            }
                            None => {
                                self.packet_anomaly(
                                    stream,
                                    AnomalyCode::TopicAliasUnknown,
                                    None,
                                    format!("topic alias {alias} never mapped {}", dir.as_str()),
                                );
                            }
                        }
                    }
                }
            }
        }
        self.cur.topic = topic;

        // Broker's declared limits bind the client (MQTT 5.0 §3.2.2.3.4, §3.2.2.3.5).
        if dir == Direction::ToBroker {
            let limits = self
                .conns
                .get(&stream)
                .and_then(|s| self.trace.connections.get(s.idx as usize))
                .map(|c| (c.limits.maximum_qos, c.limits.retain_available));
            if let Some((max_qos, retain_available)) = limits {
                if let Some(m) = max_qos
                    && pb.qos > m
                    && pb.qos < 3
                {
                    self.packet_anomaly(
                        stream,
                        AnomalyCode::QosAboveMaximum,
                        None,
                        format!("QoS {} above maximum QoS {m}", pb.qos),
                    );
                }
                if pb.retain && retain_available == Some(false) {
                    self.packet_anomaly(
                        stream,
                        AnomalyCode::RetainNotAvailable,
                        None,
                        "RETAIN set, broker said retain not available".into(),
                    );
                }
            }
        }

        // The payload hash serves will and fan-out matching and the in-flight tables; a QoS 0
        // PUBLISH that none of them looks at skips it (payloads run to megabytes).
        let wills_waiting = !(self.pending_wills.is_empty() && self.armed_wills.is_empty());
        let needs_hash = matches!(pb.qos, 1 | 2)
            || self.config.track_deliveries
            || (dir == Direction::ToClient && wills_waiting);
        let hash = if needs_hash {
            payload_hash(pb.payload)
        } else {
            0
        };
        if dir == Direction::ToClient
            && !(self.pending_wills.is_empty() && self.armed_wills.is_empty())
            && let Some(t) = topic
        {
            self.match_will(t, hash);
        }
        if self.config.track_deliveries
            && let Some(t) = topic
        {
            self.track_delivery(t, hash, pb.payload.len());
        }
        if dir == Direction::ToClient
            && let Some(st) = self.conns.get(&stream)
            && st.resumed
            && !st.subscribed_since_connect
            && let Some(s) = self
                .trace
                .connections
                .get(st.idx as usize)
                .and_then(|c| c.session)
                .and_then(|s| self.trace.sessions.get_mut(s as usize))
        {
            s.queued_delivered += 1;
        }

        if pb.qos == 0 || pb.qos == 3 {
            return;
        }
        let Some(pid) = pb.packet_id else { return };
        let kind = if pb.qos == 1 {
            TxKind::Qos1
        } else {
            TxKind::Qos2
        };
        let existing = self
            .conns
            .get(&stream)
            .and_then(|st| st.inflight.get(&(dir, pid)).copied());
        if let Some(f) = existing {
            let same_message = f.payload_hash == hash && f.is_publish;
            if same_message && f.stage == 0 {
                // The sender repeated a PUBLISH not yet acknowledged: a retransmission
                // (MQTT 5.0 §4.4: only on reconnect, always with DUP).
                self.tx_repeat(f.tx);
                if !pb.dup {
                    self.packet_anomaly(
                        stream,
                        AnomalyCode::RetransmitWithoutDup,
                        None,
                        format!("PUBLISH id {pid} sent again without DUP"),
                    );
                }
                return;
            }
            if same_message && pb.dup && f.stage > 0 {
                self.tx_repeat(f.tx);
                self.packet_anomaly(
                    stream,
                    AnomalyCode::Qos2Order,
                    None,
                    format!("PUBLISH id {pid} resent after PUBREC"),
                );
                return;
            }
            self.packet_anomaly(
                stream,
                AnomalyCode::PacketIdInUse,
                None,
                format!(
                    "packet id {pid} reused {} while still in flight",
                    dir.as_str()
                ),
            );
            if let Some(st) = self.conns.get_mut(&stream) {
                st.remove_flight(dir, pid);
                st.orphans.push(f.tx);
            }
        }
        self.link_session_resend(stream, dir, pid, hash, pb.dup);
        let h = self.tx_start(kind, Some(pid), pb.qos, topic);
        self.add_flight(
            stream,
            dir,
            pid,
            Flight {
                tx: h,
                payload_hash: hash,
                filters: 0,
                stage: 0,
                is_publish: true,
            },
        );
    }

    /// Interns a PUBLISH topic; a connection usually repeats its last topic in a direction,
    /// which a byte comparison recognises without hashing.
    fn intern_topic(&mut self, stream: u32, k: usize, bytes: &[u8]) -> Sym {
        let last = self.conns.get(&stream).and_then(|st| st.last_topic[k]);
        if let Some(sym) = last
            && self.trace.strings.resolve(sym).as_bytes() == bytes
        {
            return sym;
        }
        let sym = self.trace.strings.intern_bytes(bytes);
        if let Some(st) = self.conns.get_mut(&stream) {
            st.last_topic[k] = Some(sym);
        }
        sym
    }

    /// A QoS PUBLISH that resends a flow its session left unfinished on an earlier connection:
    /// the earlier transaction lists it among its retransmissions.
    fn link_session_resend(&mut self, stream: u32, dir: Direction, pid: u16, hash: u64, dup: bool) {
        if self.session_flights.is_empty() {
            return;
        }
        let Some(session) = self
            .conns
            .get(&stream)
            .and_then(|st| self.trace.connections.get(st.idx as usize))
            .and_then(|c| c.session)
        else {
            return;
        };
        let Some(table) = self.session_flights.get_mut(&session) else {
            return;
        };
        let Some((index, old_hash)) = table.remove(&(dir, pid)) else {
            return;
        };
        if old_hash != hash {
            return;
        }
        let packet = self.cur_index;
        if let Some(tx) = self.trace.transactions.get_mut(index) {
            tx.retransmissions.push(packet);
        }
        if !dup {
            self.packet_anomaly(
                stream,
                AnomalyCode::RetransmitWithoutDup,
                None,
                format!("PUBLISH id {pid} resent after reconnect without DUP"),
            );
        }
    }

    fn add_flight(&mut self, stream: u32, dir: Direction, pid: u16, flight: Flight) {
        let k = dir_index(dir);
        let max_in_flight = self.config.max_in_flight;
        let Some(st) = self.conns.get_mut(&stream) else {
            return;
        };
        st.insert_flight(dir, pid, flight);
        let idx = st.idx as usize;
        let total = st.flight_count[k];
        let mut too_many = false;
        if total > max_in_flight {
            if !st.over_in_flight[k] {
                st.over_in_flight[k] = true;
                too_many = true;
            }
        } else {
            st.over_in_flight[k] = false;
        }
        let mut over_rm = None;
        if flight.is_publish {
            let n = st.qos_inflight[k];
            // The receiver's Receive Maximum (MQTT 5.0 §3.3.4; absent = 65,535).
            let rm = self.trace.connections.get(idx).and_then(|c| match dir {
                Direction::ToBroker => c.limits.broker_receive_maximum,
                Direction::ToClient => c.limits.client_receive_maximum,
            });
            if let Some(rm) = rm
                && n > u32::from(rm)
            {
                if !st.over_receive_max[k] {
                    st.over_receive_max[k] = true;
                    over_rm = Some((n, rm));
                }
            } else {
                st.over_receive_max[k] = false;
            }
        }
        if too_many {
            self.packet_anomaly(
                stream,
                AnomalyCode::TooManyInFlight,
                None,
                format!(
                    "{total} transactions in flight {} (limit {max_in_flight})",
                    dir.as_str()
                ),
            );
        }
        if let Some((n, rm)) = over_rm {
            self.packet_anomaly(
                stream,
                AnomalyCode::ReceiveMaximumExceeded,
                None,
                format!(
                    "{n} QoS 1/2 PUBLISHes in flight {}, receive maximum {rm}",
                    dir.as_str()
                ),
            );
        }
    }

    /// Removes a flight from the tables and returns it.
    fn take_flight(&mut self, stream: u32, dir: Direction, pid: u16) -> Option<Flight> {
        self.conns.get_mut(&stream)?.remove_flight(dir, pid)
    }

    /// A copy of a flight, left in the tables (the QoS 2 steps that only advance its stage
    /// update it in place instead of removing and re-inserting it).
    fn peek_flight(&self, stream: u32, dir: Direction, pid: u16) -> Option<Flight> {
        self.conns.get(&stream)?.inflight.get(&(dir, pid)).copied()
    }

    /// Moves a flight that stays in flight to its next QoS 2 stage.
    fn set_flight_stage(&mut self, stream: u32, dir: Direction, pid: u16, stage: u8) {
        if let Some(f) = self
            .conns
            .get_mut(&stream)
            .and_then(|st| st.inflight.get_mut(&(dir, pid)))
        {
            f.stage = stage;
        }
    }

    fn flight_kind(&mut self, f: &Flight) -> Option<TxKind> {
        self.tx_mut(f.tx).map(|t| t.kind)
    }

    fn fail_or_complete(&mut self, stream: u32, h: TxHandle, rc: u8) {
        if rc >= 0x80 {
            if let Some(tx) = self.tx_mut(h) {
                tx.reason_codes.push(rc);
            }
            self.tx_finish(h, TxState::Failed(rc));
            let t = self.cur.packet_type;
            self.packet_anomaly(
                stream,
                AnomalyCode::FailedByReasonCode,
                None,
                format!("{t} reason code 0x{rc:02x}"),
            );
        } else {
            self.tx_finish(h, TxState::Complete);
        }
    }

    fn on_puback(&mut self, stream: u32, pid: u16, rc: u8) {
        let req = self.cur.dir.reverse();
        let Some(f) = self.take_flight(stream, req, pid) else {
            self.response_without_request(
                stream,
                TxKind::Qos1,
                format!("PUBACK id {pid} with no QoS 1 PUBLISH in flight"),
            );
            return;
        };
        match self.flight_kind(&f) {
            Some(TxKind::Qos1) => {
                self.tx_step(f.tx);
                self.fail_or_complete(stream, f.tx, rc);
            }
            Some(TxKind::Qos2) => {
                self.tx_step(f.tx);
                self.tx_finish(f.tx, TxState::OutOfOrder);
                self.packet_anomaly(
                    stream,
                    AnomalyCode::Qos2Order,
                    None,
                    format!("PUBACK answers QoS 2 PUBLISH id {pid}"),
                );
            }
            _ => {
                self.restore_flight(stream, req, pid, f);
                self.response_without_request(
                    stream,
                    TxKind::Qos1,
                    format!("PUBACK id {pid} answers no PUBLISH"),
                );
            }
        }
    }

    fn restore_flight(&mut self, stream: u32, dir: Direction, pid: u16, f: Flight) {
        if let Some(st) = self.conns.get_mut(&stream) {
            st.insert_flight(dir, pid, f);
        }
    }

    fn on_pubrec(&mut self, stream: u32, pid: u16, rc: u8) {
        let req = self.cur.dir.reverse();
        let Some(f) = self.peek_flight(stream, req, pid) else {
            self.response_without_request(
                stream,
                TxKind::Qos2,
                format!("PUBREC id {pid} with no QoS 2 PUBLISH in flight"),
            );
            return;
        };
        match (self.flight_kind(&f), f.stage) {
            (Some(TxKind::Qos2), 0) => {
                if rc >= 0x80 {
                    // MQTT 5.0 §4.3.3: a failed PUBREC ends the flow.
                    self.take_flight(stream, req, pid);
                    self.tx_step(f.tx);
                    self.fail_or_complete(stream, f.tx, rc);
                } else {
                    self.tx_step(f.tx);
                    self.set_flight_stage(stream, req, pid, 1);
                }
            }
            (Some(TxKind::Qos2), 1) => {
                // PUBREC repeated (the sender repeated the PUBLISH, or the receiver resent).
                self.tx_repeat(f.tx);
            }
            (Some(TxKind::Qos2), _) => {
                self.take_flight(stream, req, pid);
                self.tx_step(f.tx);
                self.tx_finish(f.tx, TxState::OutOfOrder);
                self.packet_anomaly(
                    stream,
                    AnomalyCode::Qos2Order,
                    None,
                    format!("PUBREC id {pid} after PUBREL"),
                );
            }
            (Some(TxKind::Qos1), _) => {
                self.take_flight(stream, req, pid);
                self.tx_step(f.tx);
                self.tx_finish(f.tx, TxState::OutOfOrder);
                self.packet_anomaly(
                    stream,
                    AnomalyCode::Qos2Order,
                    None,
                    format!("PUBREC answers QoS 1 PUBLISH id {pid}"),
                );
            }
            _ => {
                self.response_without_request(
                    stream,
                    TxKind::Qos2,
                    format!("PUBREC id {pid} answers no PUBLISH"),
                );
            }
        }
    }

    fn on_pubrel(&mut self, stream: u32, pid: u16, _rc: u8) {
        // PUBREL travels the PUBLISH's way.
        let req = self.cur.dir;
        let Some(f) = self.peek_flight(stream, req, pid) else {
            self.response_without_request(
                stream,
                TxKind::Qos2,
                format!("PUBREL id {pid} with no QoS 2 flow in flight"),
            );
            return;
        };
        match (self.flight_kind(&f), f.stage) {
            (Some(TxKind::Qos2), 1) => {
                self.tx_step(f.tx);
                self.set_flight_stage(stream, req, pid, 2);
            }
            (Some(TxKind::Qos2), 2) => {
                self.tx_repeat(f.tx);
            }
            (Some(TxKind::Qos2), _) => {
                // PUBREL before PUBREC.
                self.tx_step(f.tx);
                if let Some(tx) = self.tx_mut(f.tx) {
                    tx.state = TxState::OutOfOrder;
                }
                self.set_flight_stage(stream, req, pid, 2);
                self.packet_anomaly(
                    stream,
                    AnomalyCode::Qos2Order,
                    None,
                    format!("PUBREL id {pid} before PUBREC"),
                );
            }
            _ => {
                self.response_without_request(
                    stream,
                    TxKind::Qos2,
                    format!("PUBREL id {pid} for a flow that is not QoS 2"),
                );
            }
        }
    }

    fn on_pubcomp(&mut self, stream: u32, pid: u16, rc: u8) {
        let req = self.cur.dir.reverse();
        let Some(f) = self.take_flight(stream, req, pid) else {
            self.response_without_request(
                stream,
                TxKind::Qos2,
                format!("PUBCOMP id {pid} with no QoS 2 flow in flight"),
            );
            return;
        };
        match (self.flight_kind(&f), f.stage) {
            (Some(TxKind::Qos2), 2) => {
                self.tx_step(f.tx);
                let out_of_order = self
                    .tx_mut(f.tx)
                    .is_some_and(|t| t.state == TxState::OutOfOrder);
                if out_of_order {
                    self.tx_finish(f.tx, TxState::OutOfOrder);
                } else {
                    self.fail_or_complete(stream, f.tx, rc);
                }
            }
            (Some(TxKind::Qos2), stage) => {
                self.tx_step(f.tx);
                self.tx_finish(f.tx, TxState::OutOfOrder);
                let before = if stage == 0 { "PUBREC" } else { "PUBREL" };
                self.packet_anomaly(
                    stream,
                    AnomalyCode::Qos2Order,
                    None,
                    format!("PUBCOMP id {pid} before {before}"),
                );
            }
            _ => {
                self.restore_flight(stream, req, pid, f);
                self.response_without_request(
                    stream,
                    TxKind::Qos2,
                    format!("PUBCOMP id {pid} for a flow that is not QoS 2"),
                );
            }
        }
    }

    fn on_request(
        &mut self,
        stream: u32,
        kind: TxKind,
        pid: u16,
        topic: Option<Sym>,
        filters: u32,
    ) {
        let dir = self.cur.dir;
        if kind == TxKind::Subscribe
            && let Some(st) = self.conns.get_mut(&stream)
        {
            st.subscribed_since_connect = true;
        }
        if let Some(old) = self.take_flight(stream, dir, pid) {
            self.packet_anomaly(
                stream,
                AnomalyCode::PacketIdInUse,
                None,
                format!(
                    "packet id {pid} reused {} while still in flight",
                    dir.as_str()
                ),
            );
            if let Some(st) = self.conns.get_mut(&stream) {
                st.orphans.push(old.tx);
            }
        }
        let h = self.tx_start(kind, Some(pid), 0, topic);
        self.add_flight(
            stream,
            dir,
            pid,
            Flight {
                tx: h,
                payload_hash: 0,
                filters,
                stage: 0,
                is_publish: false,
            },
        );
    }

    fn on_sub_response(
        &mut self,
        stream: u32,
        kind: TxKind,
        pid: u16,
        codes: &[u8],
        check_count: bool,
    ) {
        let req = self.cur.dir.reverse();
        let name = self.cur.packet_type;
        let Some(f) = self.take_flight(stream, req, pid) else {
            self.response_without_request(
                stream,
                kind,
                format!("{name} id {pid} with no request in flight"),
            );
            return;
        };
        if self.flight_kind(&f) != Some(kind) {
            self.restore_flight(stream, req, pid, f);
            self.response_without_request(
                stream,
                kind,
                format!("{name} id {pid} answers a different request"),
            );
            return;
        }
        self.tx_step(f.tx);
        if let Some(tx) = self.tx_mut(f.tx) {
            tx.reason_codes.extend_from_slice(codes);
        }
        let filters = f.filters;
        if check_count && codes.len() != filters as usize && !self.cur.truncated() {
            self.packet_anomaly(
                stream,
                AnomalyCode::AckCountMismatch,
                None,
                format!(
                    "{name} has {} reason codes for {filters} filters",
                    codes.len()
                ),
            );
        }
        match codes.first() {
            Some(&rc) if !codes.is_empty() && codes.iter().all(|&c| c >= 0x80) => {
                self.tx_finish(f.tx, TxState::Failed(rc));
                self.packet_anomaly(
                    stream,
                    AnomalyCode::FailedByReasonCode,
                    None,
                    format!("{name} refused every filter (0x{rc:02x})"),
                );
            }
            _ => self.tx_finish(f.tx, TxState::Complete),
        }
    }

    /// A PUBLISH out of the broker carrying a pending will (same topic and payload, before the
    /// will's deadline) is one of the will's copies.
    fn match_will(&mut self, topic: Sym, hash: u64) {
        let now = self.cur.ts;
        let (conn, packet) = (self.cur.conn, self.cur_index);
        // A will whose connection already ended.
        self.pending_wills
            .retain(|_, &mut (_, deadline, _)| now.0 <= deadline);
        if let Some(&(w, _, since)) = self.pending_wills.get(&(topic, hash)) {
            if let Some(will) = self.trace.wills.get_mut(w) {
                let latency_nanos = now.nanos_since(since);
                will.copies.push(DeliveryCopy {
                    conn,
                    packet,
                    latency_nanos,
                });
            }
            return;
        }
        // The broker often publishes the will before the capture layer reports the close (it
        // reacts to the client's FIN or to DISCONNECT 0x04): keep the copy with the connection
        // until it ends; a packet from that client in between discards it.
        if let Some(&stream) = self.armed_wills.get(&(topic, hash))
            && let Some(st) = self.conns.get_mut(&stream)
            && st.idx != conn
            && !st.closed
        {
            let latency_nanos = st.last_client_ts.map_or(0, |t| now.nanos_since(t));
            st.will_copies.push(DeliveryCopy {
                conn,
                packet,
                latency_nanos,
            });
        }
    }

    /// More PUBLISHes into the broker arrived within the delivery window than
    /// `max_delivery_candidates`: keeps at most half of them, the newest, by halving the
    /// horizon until few enough are left (each pass is linear in a bounded table, and one
    /// happens per half-table of PUBLISHes: amortised O(1) per packet).
    fn forget_oldest_candidates(&mut self, now: Timestamp) {
        let keep = self.config.max_delivery_candidates / 2;
        let mut horizon = self.config.delivery_window_nanos;
        while self.recent_publishes.len() > keep && horizon > 0 {
            horizon /= 2;
            self.recent_publishes
                .retain(|_, p| now.nanos_since(p.ts) <= horizon);
        }
        if self.recent_publishes.len() > keep {
            // All at the very same instant: nothing tells them apart by age.
            self.recent_publishes.clear();
        }
    }

    /// Broker fan-out: a PUBLISH into the broker is remembered by (topic, payload hash) for the
    /// delivery window; a PUBLISH out of the broker with the same key is one of its copies.
    fn track_delivery(&mut self, topic: Sym, hash: u64, payload_len: usize) {
        let ts = self.cur.ts;
        let window = self.config.delivery_window_nanos;
        // Forget candidates older than the window: one sweep per window of capture time keeps
        // the table at the messages of about two windows, amortised O(1) per packet.
        if ts.0 >= self.next_delivery_sweep {
            self.recent_publishes
                .retain(|_, p| ts.nanos_since(p.ts) <= window);
            self.next_delivery_sweep = ts.0.saturating_add(window.max(1));
        }
        let key = (topic, hash);
        match self.cur.dir {
            Direction::ToBroker => {
                if self.cur.dup() {
                    return;
                }
                if self.recent_publishes.len() >= self.config.max_delivery_candidates {
                    self.forget_oldest_candidates(ts);
                }
                // The newest PUBLISH of a (topic, payload) is the one its copies belong to.
                self.recent_publishes.insert(
                    key,
                    PendingDelivery {
                        publish: self.cur_index,
                        conn: self.cur.conn,
                        ts,
                        payload_len: u32::try_from(payload_len).unwrap_or(u32::MAX),
                        delivery: None,
                    },
                );
            }
            Direction::ToClient => {
                let Some(p) = self.recent_publishes.get_mut(&key) else {
                    return;
                };
                let latency = ts.nanos_since(p.ts);
                if latency > window {
                    return;
                }
                let copy = DeliveryCopy {
                    conn: self.cur.conn,
                    packet: self.cur_index,
                    latency_nanos: latency,
                };
                match p.delivery {
                    Some(d) => {
                        if let Some(d) = self.trace.deliveries.get_mut(d) {
                            d.fanout.push(copy);
                        }
                    }
                    None => {
                        p.delivery = Some(self.trace.deliveries.len());
                        self.trace.deliveries.push(Delivery {
                            publish: p.publish,
                            conn: p.conn,
                            topic,
                            payload_len: p.payload_len,
                            payload_hash: hash,
                            ts: p.ts,
                            fanout: vec![copy],
                        });
                    }
                }
            }
        }
    }
}

fn property_name(id: u8) -> String {
    codec::PropertyId(id)
        .name()
        .map_or_else(|| format!("property 0x{id:02x}"), str::to_owned)
}

/// What the spec allows for a property whose range the codec checks (see
/// `WarningKind::PropertyValueOutOfRange`).
fn property_allowed_values(id: u8) -> &'static str {
    match codec::PropertyId(id) {
        codec::PropertyId::RECEIVE_MAXIMUM
        | codec::PropertyId::MAXIMUM_PACKET_SIZE
        | codec::PropertyId::SUBSCRIPTION_IDENTIFIER => "non-zero",
        _ => "0 or 1",
    }
}

/// "Name=value" for every property (binary data as its length).
pub fn summarise_properties(p: Properties<'_>) -> Vec<String> {
    p.iter()
        .map_while(Result::ok)
        .map(|prop| {
            let name = property_name(prop.id.0);
            let value = match prop.value {
                PropertyValue::Byte(v) => v.to_string(),
                PropertyValue::TwoByteInt(v) => v.to_string(),
                PropertyValue::FourByteInt(v) | PropertyValue::VarInt(v) => v.to_string(),
                PropertyValue::Utf8String(s) => s.to_string_lossy().into_owned(),
                PropertyValue::Utf8StringPair(k, v) => {
                    format!("{}:{}", k.to_string_lossy(), v.to_string_lossy())
                }
                PropertyValue::BinaryData(b) => format!("<{} bytes>", b.len()),
            };
            format!("{name}={value}")
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn analyzer_can_run_on_a_loading_thread() {
        fn sendable<T: Send>() {}
        sendable::<Analyzer>();
    }

    #[test]
    fn payload_hash_tells_payloads_apart_and_matches_equal_ones() {
        assert_eq!(payload_hash(b"reading 21"), payload_hash(b"reading 21"));
        assert_ne!(payload_hash(b"reading 21"), payload_hash(b"reading 22"));
        // The length is part of the hash: trailing zero bytes make a different payload.
        assert_ne!(payload_hash(b"a"), payload_hash(b"a\0"));
        assert_ne!(payload_hash(b""), payload_hash(b"\0"));
    }
}
