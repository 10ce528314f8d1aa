//! The glue: frames in, [`StreamEvent`]s out, in capture order.
//!
//! [`Pipeline::push_frame`] takes one frame at a time (tests feed frames without files);
//! [`Pipeline::run_file`] and [`Pipeline::run_live`] drive it from a source. Memory is bounded by
//! live connection state: per direction at most one partial MQTT packet (≤ payload limit), the
//! out-of-order cap, and a 1 KiB tail; the number of connections is capped too.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use dissector::input::{
    CloseHow, ConnectionClosed, ConnectionOpened, Direction, EventSink, FrameSeen, RoleSource,
    StreamEvent, Timestamp, TlsMetadata, Transport, TransportIssue, TransportIssueKind,
};
use foldhash::fast::RandomState;

use crate::error::CaptureError;
use crate::framer::MqttFramer;
use crate::live::{LiveOptions, LiveSource, LiveStop};
use crate::midstream::{self, Verdict};
use crate::net::{NetLayer, NetOutcome, TcpSegment};
use crate::plausible::{self, Check};
use crate::source::{FileSource, RawFrame};
use crate::tcp::{Delivered, HalfStream};
use crate::tls::TlsDirection;
use crate::websocket::{WsDecoder, parse_http_head};

/// What the pipeline treats as MQTT and how much it may hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PipelineConfig {
    /// Ports of MQTT directly on TCP (1883, plus `--mqtt-port`).
    pub mqtt_ports: Vec<u16>,
    /// Ports of MQTT over TLS (8883): metadata only.
    pub tls_ports: Vec<u16>,
    /// Ports where MQTT over WebSocket is recognised from the HTTP Upgrade.
    pub ws_ports: Vec<u16>,
    /// Packets longer than this keep only their first bytes; the rest is skipped.
    pub payload_limit: u64,
    /// Out-of-order bytes held per direction before a hole is declared lost.
    pub reorder_cap: usize,
    /// Connections tracked at once; the least recently active are dropped beyond it.
    pub max_connections: usize,
    /// A connection silent for this long (capture time) is closed; `None`: never.
    pub idle_timeout: Option<Duration>,
    /// Recognise MQTT on any port from a CONNECT at the start of a stream (answered by a
    /// CONNACK), and MQTT over WebSocket from an Upgrade naming the `mqtt` subprotocol.
    pub heuristic: bool,
}

impl Default for PipelineConfig {
    fn default() -> Self {
        PipelineConfig {
            mqtt_ports: vec![1883],
            tls_ports: vec![8883],
            ws_ports: vec![80, 8080, 8083, 8084, 9001, 443],
            payload_limit: 16 << 20,
            reorder_cap: 4 << 20,
            max_connections: 100_000,
            idle_timeout: Some(Duration::from_secs(3600)),
            heuristic: true,
        }
    }
}

/// What a whole run saw.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CaptureSummary {
    /// Frames read.
    pub frames: u64,
    /// Captured bytes of all frames.
    pub bytes: u64,
    /// TCP segments.
    pub tcp_segments: u64,
    /// Frames that were not TCP over IP.
    pub non_tcp_frames: u64,
    /// Frames whose headers were cut short or inconsistent.
    pub malformed_frames: u64,
    /// Unknown link types and how many frames had each (each reported once here).
    pub unknown_linktypes: Vec<(u32, u64)>,
    /// IP datagrams reassembled from fragments.
    pub ip_datagrams_reassembled: u64,
    /// Fragments that could not be reassembled.
    pub ip_fragment_errors: u64,
    /// TCP connections (Wireshark's `tcp.stream` count).
    pub tcp_streams: u64,
    /// Connections recognised as MQTT (any transport).
    pub mqtt_streams: u64,
    /// MQTT packets delivered.
    pub mqtt_packets: u64,
    /// Retransmitted segments on MQTT connections.
    pub retransmissions: u64,
    /// Out-of-order segments on MQTT connections.
    pub out_of_order: u64,
    /// Bytes missing from MQTT streams.
    pub missing_bytes: u64,
    /// Connections dropped because the table was full.
    pub connections_evicted: u64,
    /// Time of the first frame.
    pub first_ts: Option<Timestamp>,
    /// Time of the last frame.
    pub last_ts: Option<Timestamp>,
    /// The error that ended reading early (truncated or corrupt file), after every frame
    /// before it was processed.
    pub read_error: Option<String>,
}

/// How long a closed connection is remembered (capture time): late segments of it must not
/// start a new stream.
const TOMBSTONE_NS: i64 = 120_000_000_000;

/// Largest amount of a direction held while deciding whether a connection is MQTT (an HTTP
/// Upgrade head fits; a CONNECT is decided from its first dozen bytes).
const DETECT_HOLD: usize = 8 * 1024;
/// Most segments held per direction while deciding (tiny segments must not multiply the
/// per-chunk overhead).
const DETECT_CHUNKS: usize = 32;

/// Connection key independent of direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct FlowKey(SocketAddr, SocketAddr);

/// Hashes what identifies the endpoints, packed into few words: hashed once or twice per
/// frame, `SocketAddr`'s derived hash (a write per field, flow info and scope id included)
/// was a visible share of the pipeline. Equal keys hash equal, as `Eq` requires.
impl std::hash::Hash for FlowKey {
    fn hash<H: std::hash::Hasher>(&self, h: &mut H) {
        for addr in [&self.0, &self.1] {
            match addr {
                SocketAddr::V4(a) => {
                    h.write_u64(u64::from(a.ip().to_bits()) << 16 | u64::from(a.port()));
                }
                SocketAddr::V6(a) => {
                    h.write_u128(a.ip().to_bits());
                    h.write_u32(u32::from(a.port()) | 1 << 16);
                }
            }
        }
    }
}

impl FlowKey {
    fn new(a: SocketAddr, b: SocketAddr) -> FlowKey {
        if a <= b { FlowKey(a, b) } else { FlowKey(b, a) }
    }
}

/// The connections by address pair.
type ConnTable = HashMap<FlowKey, Conn, RandomState>;

/// What a connection carries, as far as we know.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Waiting for first bytes (heuristic or WebSocket port).
    Detecting,
    /// MQTT on TCP, WebSocket or TLS.
    Mqtt(Transport),
    /// Not ours.
    Ignored,
}

/// Per-direction consumer of in-order bytes. Framers are boxed and created on a direction's
/// first delivery: a connection that never carries data (a bare SYN) keeps only the small
/// `None`, which is what bounds a SYN flood's memory.
#[derive(Debug)]
enum Consumer {
    None,
    Mqtt(Box<MqttFramer>),
    Ws {
        ws: Box<WsDecoder>,
        framer: Box<MqttFramer>,
        failed: bool,
    },
    Tls(Box<TlsDirection>),
}

/// Bytes held during detection, with their frame.
#[derive(Debug)]
struct Held {
    data: Vec<u8>,
    frame: u64,
    ts: Timestamp,
}

/// What detection has found so far.
#[derive(Debug, Default)]
struct Detect {
    held: [Vec<Held>; 2],
    held_len: [usize; 2],
    /// A held gap makes detection impossible.
    gap: bool,
    /// Direction that sent a CONNECT.
    connect_dir: Option<usize>,
    /// Direction that sent an MQTT WebSocket Upgrade request, and its head length.
    ws_request: Option<(usize, usize)>,
    /// Length of the 101 response head.
    ws_response: Option<usize>,
    /// On a TLS port: TLS or plain MQTT is decided from the client's first bytes.
    tls_port: bool,
    /// No handshake seen on an unknown port: MQTT may be recognised mid-stream.
    midstream_allowed: bool,
    /// The first bytes were not a connection start: judging them as a mid-stream conversation.
    midstream: bool,
    /// Frames seen while deciding (direction index, frame, time, wire length, payload length),
    /// reported once the connection is recognised.
    frames: Vec<(usize, u64, Timestamp, u32, u32)>,
}

/// Everything per connection except the two TCP halves (so both can be borrowed at once).
#[derive(Debug)]
struct Flow {
    stream: u32,
    /// Endpoint of direction 0's sender.
    a: SocketAddr,
    /// Endpoint of direction 1's sender.
    b: SocketAddr,
    /// Index of the client's sending direction, when known.
    client_dir: Option<usize>,
    roles_from: RoleSource,
    kind: Kind,
    opened: bool,
    consumers: [Consumer; 2],
    /// Per direction: its stream started with a SYN (framing starts synchronised).
    starts_synced: [bool; 2],
    /// Per direction: the TCP sequence number of stream offset 0, which the MQTT framer of a
    /// plain-TCP direction turns into each packet's `tcp_seq` (base + stream offset).
    seq_base: [Option<u32>; 2],
    /// Per direction: bytes went missing while the connection was still being recognised, so
    /// the framer's offsets no longer count from the stream's start and no packet of this
    /// direction is given a sequence number.
    seq_lost: [bool; 2],
    detect: Option<Box<Detect>>,
    tls: TlsMetadata,
    first_frame: u64,
    first_ts: Timestamp,
    payload_limit: u64,
}

/// One TCP connection.
#[derive(Debug)]
struct Conn {
    halves: [HalfStream; 2],
    flow: Flow,
    last_ts: Timestamp,
    fin: [bool; 2],
    /// Direction index of the side that ended the connection (first FIN, or the RST).
    closer: Option<usize>,
    closed: bool,
}

/// Frames in, events out: link/IP/TCP decoding, reassembly, MQTT detection and framing.
#[derive(Debug)]
pub struct Pipeline {
    config: PipelineConfig,
    net: NetLayer,
    /// Keyed by addresses anyone on the network chooses: a per-table random seed (foldhash)
    /// keeps collisions unplannable at a fraction of SipHash's cost (SipHash was a third of
    /// the pipeline's instructions).
    conns: ConnTable,
    next_stream: u32,
    summary: CaptureSummary,
    next_sweep: i64,
    last_frame: u64,
    last_ts: Timestamp,
}

impl Pipeline {
    /// A pipeline with the given configuration.
    pub fn new(config: PipelineConfig) -> Pipeline {
        Pipeline {
            config,
            net: NetLayer::new(),
            conns: ConnTable::default(),
            next_stream: 0,
            summary: CaptureSummary::default(),
            next_sweep: i64::MIN,
            last_frame: 0,
            last_ts: Timestamp(0),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &PipelineConfig {
        &self.config
    }

    /// Counters so far (complete after [`Pipeline::finish`]).
    pub fn summary(&self) -> &CaptureSummary {
        &self.summary
    }

    /// Reads a whole capture file (pcap, pcapng, gzip) and reports its events. `progress` gets
    /// (bytes read, file size) now and then. A truncated or corrupt file: every frame before
    /// the damage is processed, connections are closed as at capture end, then the error is
    /// returned (and recorded in [`CaptureSummary::read_error`]).
    pub fn run_file(
        &mut self,
        path: &Path,
        sink: &mut dyn EventSink,
        progress: Option<&mut dyn FnMut(u64, u64)>,
    ) -> Result<CaptureSummary, CaptureError> {
        let source = FileSource::open(path)?;
        self.run_source(source, sink, progress)
    }

    /// Like [`Pipeline::run_file`] for an already opened source.
    pub fn run_source(
        &mut self,
        mut source: FileSource,
        sink: &mut dyn EventSink,
        mut progress: Option<&mut dyn FnMut(u64, u64)>,
    ) -> Result<CaptureSummary, CaptureError> {
        let total = source.total_bytes().unwrap_or(0);
        let mut next_report = 0u64;
        let result = loop {
            match source.next_with(|frame| self.push_frame(frame, sink)) {
                Ok(Some(())) => {}
                Ok(None) => break Ok(()),
                Err(e) => break Err(e),
            }
            if let Some(report) = progress.as_mut() {
                let read = source.bytes_read();
                if read >= next_report {
                    report(read, total);
                    next_report = read + (1 << 20);
                }
            }
        };
        if let Some(report) = progress.as_mut() {
            report(source.bytes_read(), total);
        }
        let summary = self.finish(sink);
        match result {
            Ok(()) => Ok(summary),
            Err(e) => {
                self.summary.read_error = Some(e.to_string());
                Err(e)
            }
        }
    }

    /// Captures live until a stop condition (count, duration, stop flag) and reports events
    /// as frames arrive. The copy file, if any, is flushed before returning.
    pub fn run_live(
        &mut self,
        options: &LiveOptions,
        sink: &mut dyn EventSink,
    ) -> Result<(CaptureSummary, LiveStop), CaptureError> {
        let mut source = LiveSource::open(options)?;
        let stop = loop {
            match source.next_with(|frame| self.push_frame(frame, sink)) {
                Ok(Ok(())) => {}
                Ok(Err(why)) => break Ok(why),
                Err(e) => break Err(e),
            }
        };
        let flushed = source.flush();
        let mut summary = self.finish(sink);
        if let Err(e) = &stop {
            self.summary.read_error = Some(e.to_string());
            summary.read_error = Some(e.to_string());
        }
        let why = stop?;
        flushed?;
        Ok((summary, why))
    }

    /// Processes one frame.
    pub fn push_frame(&mut self, frame: &RawFrame<'_>, sink: &mut dyn EventSink) {
        self.summary.frames += 1;
        self.summary.bytes += u64::from(frame.caplen);
        if self.summary.first_ts.is_none() {
            self.summary.first_ts = Some(frame.ts);
        }
        self.summary.last_ts = Some(frame.ts);
        self.last_frame = frame.number;
        self.last_ts = frame.ts;
        self.maybe_sweep(frame.ts, frame.number, sink);
        let wire_len = frame.wire_len;
        let outcome = self.net.decode(frame);
        let segment = match outcome {
            NetOutcome::Tcp(segment) => segment,
            NetOutcome::NotTcp | NetOutcome::FragmentHeld => {
                self.summary.non_tcp_frames += 1;
                return;
            }
            NetOutcome::FragmentError => {
                self.summary.ip_fragment_errors += 1;
                sink.event(StreamEvent::Issue(TransportIssue {
                    stream: None,
                    dir: None,
                    ts: frame.ts,
                    frame: frame.number,
                    kind: TransportIssueKind::IpFragmentsDropped,
                    detail: "IP fragment could not be reassembled".to_string(),
                }));
                return;
            }
            NetOutcome::UnknownLinkType(_) => return,
            NetOutcome::Malformed => {
                self.summary.malformed_frames += 1;
                return;
            }
        };
        self.summary.tcp_segments += 1;
        Self::handle_segment(
            &self.config,
            &mut self.conns,
            &mut self.next_stream,
            &mut self.summary,
            segment,
            wire_len,
            sink,
        );
    }

    fn handle_segment(
        config: &PipelineConfig,
        conns: &mut ConnTable,
        next_stream: &mut u32,
        summary: &mut CaptureSummary,
        seg: TcpSegment<'_>,
        wire_len: u32,
        sink: &mut dyn EventSink,
    ) {
        let key = FlowKey::new(seg.src, seg.dst);
        let new_syn = seg.flags.syn && !seg.flags.ack;
        let replace = match conns.get(&key) {
            None => true,
            Some(conn) => {
                // A new SYN on a closed or closing 4-tuple starts a new connection; so does a
                // SYN with another initial sequence number after data flowed.
                new_syn
                    && (conn.closed
                        || conn.fin.iter().any(|f| *f)
                        || conn.halves.iter().any(|h| h.next_offset > 0))
            }
        };
        if replace {
            if let Some(mut old) = conns.remove(&key)
                && !old.closed
            {
                close_conn(&mut old, CloseHow::Fin, seg.frame, seg.ts, summary, sink);
            }
            if conns.len() >= config.max_connections.max(1) {
                evict(
                    conns,
                    config.max_connections.max(1),
                    seg.frame,
                    seg.ts,
                    summary,
                    sink,
                );
            }
            let conn = new_conn(config, *next_stream, &seg, sink);
            *next_stream = next_stream.wrapping_add(1);
            summary.tcp_streams += 1;
            if conn.flow.opened {
                summary.mqtt_streams += 1;
            }
            conns.insert(key, conn);
        }
        let Some(conn) = conns.get_mut(&key) else {
            return;
        };
        conn.last_ts = seg.ts;
        if conn.closed {
            return;
        }
        let d = if seg.src == conn.flow.a { 0 } else { 1 };
        if conn.flow.kind == Kind::Ignored {
            track_close_only(conn, d, &seg, summary, sink);
            return;
        }
        let was_opened = conn.flow.opened;
        if conn.flow.opened {
            emit_frame_seen(&conn.flow, d, &seg, wire_len, sink);
        } else if let Some(det) = conn.flow.detect.as_mut()
            && det.frames.len() < DETECT_CHUNKS * 4
        {
            det.frames
                .push((d, seg.frame, seg.ts, wire_len, seg.payload.len() as u32));
        }
        // The consumer itself is made on the direction's first delivery (`Flow::route`).
        conn.flow.starts_synced[d] =
            !conn.halves[d].initialized && seg.flags.syn || conn.halves[d].started_with_syn;
        {
            let Conn { halves, flow, .. } = &mut *conn;
            let [h0, h1] = halves;
            let (this, other) = if d == 0 { (h0, h1) } else { (h1, h0) };
            if !this.initialized && !seg.flags.syn && seg.payload.is_empty() && !seg.flags.fin {
                // A bare ACK says nothing about this direction's stream start.
            } else {
                if !flow.seq_lost[d] {
                    flow.seq_base[d] = Some(this.seq_base_after(seg.seq, seg.flags.syn));
                }
                let before = this.next_offset;
                this.segment(
                    seg.seq,
                    seg.flags.syn,
                    seg.flags.fin,
                    seg.payload,
                    seg.frame,
                    seg.ts,
                    config.reorder_cap,
                    &mut |del| flow.route(d, del, sink),
                );
                // Bytes the snap length cut off become a gap right after what was present.
                if seg.missing > 0 && this.next_offset > before {
                    flow.issue(
                        Some(d),
                        TransportIssueKind::FrameTruncated,
                        format!("{} payload bytes cut by the snap length", seg.missing),
                        seg.frame,
                        seg.ts,
                        sink,
                    );
                    this.acked(this_seq_end(&seg), seg.frame, seg.ts, &mut |del| {
                        flow.route(d, del, sink)
                    });
                }
            }
            if seg.flags.ack && flow.kind != Kind::Ignored {
                other.acked(seg.ack, seg.frame, seg.ts, &mut |del| {
                    flow.route(1 - d, del, sink)
                });
            }
        }
        if !was_opened && conn.flow.opened {
            summary.mqtt_streams += 1;
        }
        if seg.flags.rst {
            conn.closer = Some(d);
            close_conn(conn, CloseHow::Rst, seg.frame, seg.ts, summary, sink);
            return;
        }
        if seg.flags.fin {
            conn.closer.get_or_insert(d);
            conn.fin[d] = true;
            if conn.fin[0] && conn.fin[1] {
                close_conn(conn, CloseHow::Fin, seg.frame, seg.ts, summary, sink);
            }
        }
    }

    /// Closes connections idle for longer than the timeout (checked once per second of
    /// capture time).
    fn maybe_sweep(&mut self, now: Timestamp, frame: u64, sink: &mut dyn EventSink) {
        if now.0 < self.next_sweep {
            return;
        }
        self.next_sweep = now.0.saturating_add(1_000_000_000);
        // Closed connections stay only long enough to claim their late segments (a final ACK,
        // a retransmitted FIN).
        self.conns
            .retain(|_, c| !c.closed || now.nanos_since(c.last_ts) <= TOMBSTONE_NS);
        let Some(idle) = self.config.idle_timeout else {
            return;
        };
        let idle_ns = i64::try_from(idle.as_nanos()).unwrap_or(i64::MAX);
        let mut stale: Vec<(u32, FlowKey)> = self
            .conns
            .iter()
            .filter(|(_, c)| now.nanos_since(c.last_ts) > idle_ns)
            .map(|(k, c)| (c.flow.stream, *k))
            .collect();
        stale.sort_unstable();
        for (_, key) in stale {
            if let Some(mut conn) = self.conns.remove(&key)
                && !conn.closed
            {
                close_conn(
                    &mut conn,
                    CloseHow::IdleTimeout,
                    frame,
                    now,
                    &mut self.summary,
                    sink,
                );
            }
        }
    }

    /// Ends the run: every open connection is flushed and closed (as at capture end, or by FIN
    /// when one side had sent it). Returns the summary.
    pub fn finish(&mut self, sink: &mut dyn EventSink) -> CaptureSummary {
        let mut open: Vec<(u32, FlowKey)> = self
            .conns
            .iter()
            .filter(|(_, c)| !c.closed)
            .map(|(k, c)| (c.flow.stream, *k))
            .collect();
        open.sort_unstable();
        for (_, key) in open {
            if let Some(conn) = self.conns.get_mut(&key) {
                let how = if conn.fin.iter().any(|f| *f) {
                    CloseHow::Fin
                } else {
                    CloseHow::CaptureEnd
                };
                close_conn(
                    conn,
                    how,
                    self.last_frame,
                    self.last_ts,
                    &mut self.summary,
                    sink,
                );
            }
        }
        self.conns.clear();
        self.summary.unknown_linktypes = self
            .net
            .unknown_linktypes
            .iter()
            .map(|(k, v)| (*k, *v))
            .collect();
        self.summary.ip_datagrams_reassembled = self.net.datagrams_reassembled;
        self.summary.clone()
    }

    /// Connections currently tracked.
    pub fn tracked_connections(&self) -> usize {
        self.conns.len()
    }

    /// Bytes currently buffered by reassembly and framing (for memory tests).
    pub fn buffered_bytes(&self) -> usize {
        self.conns
            .values()
            .map(|c| {
                c.halves
                    .iter()
                    .map(HalfStream::pending_bytes)
                    .sum::<usize>()
                    + c.flow
                        .consumers
                        .iter()
                        .map(|k| match k {
                            Consumer::Mqtt(f) => f.buffered(),
                            Consumer::Ws { framer, .. } => framer.buffered(),
                            _ => 0,
                        })
                        .sum::<usize>()
            })
            .sum()
    }
}

/// Sequence number just after the present payload of `seg` (plus the missing bytes).
fn this_seq_end(seg: &TcpSegment<'_>) -> u32 {
    seg.seq
        .wrapping_add(u32::from(seg.flags.syn))
        .wrapping_add(seg.payload.len() as u32)
        .wrapping_add(seg.missing)
}

fn emit_frame_seen(
    flow: &Flow,
    d: usize,
    seg: &TcpSegment<'_>,
    wire_len: u32,
    sink: &mut dyn EventSink,
) {
    sink.event(StreamEvent::Frame(FrameSeen {
        stream: flow.stream,
        dir: flow.direction(d),
        frame: seg.frame,
        ts: seg.ts,
        wire_len,
        tcp_payload_len: seg.payload.len() as u32,
    }));
}

/// An ignored connection only needs its end, so the 4-tuple's next SYN starts a new stream.
fn track_close_only(
    conn: &mut Conn,
    d: usize,
    seg: &TcpSegment<'_>,
    _summary: &mut CaptureSummary,
    _sink: &mut dyn EventSink,
) {
    if seg.flags.rst {
        conn.closed = true;
    }
    if seg.flags.fin {
        conn.fin[d] = true;
        if conn.fin[0] && conn.fin[1] {
            conn.closed = true;
        }
    }
}

fn new_conn(
    config: &PipelineConfig,
    stream: u32,
    seg: &TcpSegment<'_>,
    sink: &mut dyn EventSink,
) -> Conn {
    let (a, b) = (seg.src, seg.dst);
    // Roles from the handshake: the SYN sender is the client.
    let mut client_dir = if seg.flags.syn && !seg.flags.ack {
        Some(0)
    } else if seg.flags.syn && seg.flags.ack {
        Some(1)
    } else {
        None
    };
    let mut roles_from = RoleSource::Handshake;
    let port_in = |ports: &[u16]| -> Option<usize> {
        // The side listening on the port is the broker: the other side's direction is the
        // client's.
        if ports.contains(&b.port()) {
            Some(0)
        } else if ports.contains(&a.port()) {
            Some(1)
        } else {
            None
        }
    };
    let kind = if let Some(c) = port_in(&config.mqtt_ports) {
        Some((Kind::Mqtt(Transport::Tcp), c))
    } else if let Some(c) = port_in(&config.tls_ports) {
        // TLS or plain MQTT: the client's first bytes tell (some brokers accept both).
        Some((Kind::Detecting, c))
    } else if let Some(c) = port_in(&config.ws_ports) {
        Some((Kind::Detecting, c))
    } else if config.heuristic {
        Some((Kind::Detecting, 0))
    } else {
        None
    };
    let (kind, port_client) = kind.unwrap_or((Kind::Ignored, 0));
    let tls_port = port_in(&config.tls_ports).is_some() && port_in(&config.mqtt_ports).is_none();
    if client_dir.is_none() && (matches!(kind, Kind::Mqtt(_)) || tls_port) {
        client_dir = Some(port_client);
        roles_from = RoleSource::Port;
    }
    let unknown_port = port_in(&config.ws_ports).is_none() && !tls_port;
    let detect = (kind == Kind::Detecting).then(|| {
        Box::new(Detect {
            tls_port,
            midstream_allowed: unknown_port && client_dir.is_none(),
            ..Detect::default()
        })
    });
    let mut conn = Conn {
        halves: [HalfStream::new(), HalfStream::new()],
        flow: Flow {
            stream,
            a,
            b,
            client_dir,
            roles_from,
            kind,
            opened: false,
            consumers: [Consumer::None, Consumer::None],
            starts_synced: [false, false],
            seq_base: [None, None],
            seq_lost: [false, false],
            detect,
            tls: TlsMetadata {
                stream,
                ..TlsMetadata::default()
            },
            first_frame: seg.frame,
            first_ts: seg.ts,
            payload_limit: config.payload_limit,
        },
        last_ts: seg.ts,
        fin: [false, false],
        closer: None,
        closed: false,
    };
    if matches!(kind, Kind::Mqtt(_)) {
        conn.flow.open(sink);
    }
    conn
}

/// Drops the least recently active eighth of the table.
fn evict(
    conns: &mut ConnTable,
    max: usize,
    frame: u64,
    ts: Timestamp,
    summary: &mut CaptureSummary,
    sink: &mut dyn EventSink,
) {
    // Closed connections go first and silently: dropping them loses nothing.
    conns.retain(|_, c| !c.closed);
    if conns.len() < max {
        return;
    }
    let mut ages: Vec<(Timestamp, u32, FlowKey)> = conns
        .iter()
        .map(|(k, c)| (c.last_ts, c.flow.stream, *k))
        .collect();
    let n = (max / 8).max(1).min(ages.len());
    if n == 0 {
        return;
    }
    ages.select_nth_unstable(n - 1);
    let mut victims: Vec<(Timestamp, u32, FlowKey)> = ages.into_iter().take(n).collect();
    victims.sort_unstable_by_key(|v| v.1);
    sink.event(StreamEvent::Issue(TransportIssue {
        stream: None,
        dir: None,
        ts,
        frame,
        kind: TransportIssueKind::ConnectionTableFull,
        detail: format!("{max} connections tracked: the {n} least recently active were dropped"),
    }));
    for (_, _, key) in victims {
        if let Some(mut conn) = conns.remove(&key) {
            summary.connections_evicted += 1;
            if !conn.closed {
                close_conn(&mut conn, CloseHow::IdleTimeout, frame, ts, summary, sink);
            }
        }
    }
}

/// Flushes both directions, finishes detection and framing, reports the close.
fn close_conn(
    conn: &mut Conn,
    how: CloseHow,
    frame: u64,
    ts: Timestamp,
    summary: &mut CaptureSummary,
    sink: &mut dyn EventSink,
) {
    if conn.closed {
        return;
    }
    conn.closed = true;
    let was_opened = conn.flow.opened;
    {
        let Conn { halves, flow, .. } = &mut *conn;
        if flow.kind != Kind::Ignored {
            for (d, half) in halves.iter_mut().enumerate() {
                half.flush(frame, ts, &mut |del| flow.route(d, del, sink));
            }
        }
        if flow.kind == Kind::Detecting {
            flow.detect_at_end(sink);
        }
    }
    if !was_opened && conn.flow.opened {
        summary.mqtt_streams += 1;
    }
    for half in &conn.halves {
        if conn.flow.opened {
            summary.retransmissions += half.retransmissions;
            summary.out_of_order += half.out_of_order;
            summary.missing_bytes += half.missing_bytes;
        }
    }
    let flow = &mut conn.flow;
    for consumer in flow.consumers.iter_mut() {
        match consumer {
            Consumer::Mqtt(framer) | Consumer::Ws { framer, .. } => {
                framer.finish(sink);
                summary.mqtt_packets += framer.packets;
            }
            _ => {}
        }
    }
    if flow.opened {
        if flow.kind == Kind::Mqtt(Transport::Tls) {
            sink.event(StreamEvent::Tls(flow.tls.clone()));
        }
        let by = match how {
            CloseHow::Fin | CloseHow::Rst => conn
                .closer
                .filter(|_| flow.client_dir.is_some())
                .map(|d| flow.direction(d)),
            CloseHow::IdleTimeout | CloseHow::CaptureEnd => None,
        };
        sink.event(StreamEvent::Closed(ConnectionClosed {
            stream: flow.stream,
            ts,
            frame,
            how,
            by,
        }));
    }
    // Keep only the tombstone (stream number, closed flag) for late segments.
    conn.halves = [HalfStream::new(), HalfStream::new()];
    flow.consumers = [Consumer::None, Consumer::None];
    flow.detect = None;
}

impl Flow {
    fn direction(&self, d: usize) -> Direction {
        match self.client_dir {
            Some(c) if c == d => Direction::ToBroker,
            Some(_) => Direction::ToClient,
            // Unknown roles only while detecting, before anything is reported.
            None => Direction::ToBroker,
        }
    }

    fn endpoints(&self) -> (SocketAddr, SocketAddr) {
        match self.client_dir {
            Some(1) => (self.b, self.a),
            _ => (self.a, self.b),
        }
    }

    fn open(&mut self, sink: &mut dyn EventSink) {
        if self.opened {
            return;
        }
        self.opened = true;
        let (client, broker) = self.endpoints();
        let transport = match self.kind {
            Kind::Mqtt(t) => t,
            _ => Transport::Tcp,
        };
        sink.event(StreamEvent::Opened(ConnectionOpened {
            stream: self.stream,
            client,
            broker,
            transport,
            roles_from: self.roles_from,
            ts: self.first_ts,
            frame: self.first_frame,
        }));
    }

    /// Creates direction `d`'s consumer on its first delivery (bytes or a gap).
    fn ensure_consumer(&mut self, d: usize, starts_synced: bool) {
        if !matches!(self.consumers[d], Consumer::None) {
            return;
        }
        let dir = self.direction(d);
        self.consumers[d] = match self.kind {
            Kind::Mqtt(Transport::Tcp) => Consumer::Mqtt(Box::new(MqttFramer::new(
                self.stream,
                dir,
                self.payload_limit,
                starts_synced,
            ))),
            Kind::Mqtt(Transport::Tls) => Consumer::Tls(Box::new(TlsDirection::new())),
            _ => Consumer::None,
        };
    }

    fn issue(
        &self,
        d: Option<usize>,
        kind: TransportIssueKind,
        detail: String,
        frame: u64,
        ts: Timestamp,
        sink: &mut dyn EventSink,
    ) {
        if !self.opened {
            return;
        }
        sink.event(StreamEvent::Issue(TransportIssue {
            stream: Some(self.stream),
            dir: d.map(|d| self.direction(d)),
            ts,
            frame,
            kind,
            detail,
        }));
    }

    /// Routes reassembled bytes (or a gap) of direction `d`.
    fn route(&mut self, d: usize, del: Delivered<'_>, sink: &mut dyn EventSink) {
        match del {
            Delivered::Issue {
                kind,
                detail,
                frame,
                ts,
            } => self.issue(Some(d), kind, detail, frame, ts, sink),
            Delivered::Bytes { data, frame, ts } => {
                if self.kind == Kind::Detecting {
                    self.detect_bytes(d, data, frame, ts, sink);
                } else {
                    self.ensure_consumer(d, self.starts_synced[d]);
                    self.consume(d, data, frame, ts, sink);
                }
            }
            Delivered::Gap { missing, frame, ts } => {
                if self.kind == Kind::Detecting {
                    if let Some(det) = self.detect.as_mut() {
                        det.gap = true;
                    }
                    self.decide(true, sink);
                    if self.kind == Kind::Detecting || self.kind == Kind::Ignored {
                        // The held bytes will be framed as if the gap were not there.
                        self.seq_lost[d] = true;
                        self.seq_base[d] = None;
                        return;
                    }
                }
                self.ensure_consumer(d, self.starts_synced[d]);
                self.consume_gap(d, missing, frame, ts, sink);
            }
        }
    }

    fn consume(
        &mut self,
        d: usize,
        data: &[u8],
        frame: u64,
        ts: Timestamp,
        sink: &mut dyn EventSink,
    ) {
        let stream = self.stream;
        let dir = self.direction(d);
        let seq_base = self.seq_base[d];
        match &mut self.consumers[d] {
            Consumer::None => {}
            Consumer::Mqtt(framer) => {
                framer.tcp_seq_base = seq_base;
                framer.push(data, frame, ts, sink);
            }
            Consumer::Ws { ws, framer, failed } => {
                if *failed {
                    return;
                }
                let result = ws.push(data, &mut |piece| framer.push(piece, frame, ts, sink));
                if let Some(skipped) = ws.take_resync() {
                    sink.event(StreamEvent::Issue(TransportIssue {
                        stream: Some(stream),
                        dir: Some(dir),
                        ts,
                        frame,
                        kind: TransportIssueKind::WebSocketError,
                        detail: format!(
                            "WebSocket framing lost after missing bytes, resynchronised on the \
                             next credible frame header ({skipped} bytes skipped)"
                        ),
                    }));
                }
                if let Err(e) = result {
                    *failed = true;
                    sink.event(StreamEvent::Issue(TransportIssue {
                        stream: Some(stream),
                        dir: Some(dir),
                        ts,
                        frame,
                        kind: TransportIssueKind::WebSocketError,
                        detail: format!("{e}; the rest of this direction is skipped"),
                    }));
                }
            }
            Consumer::Tls(tls) => {
                let changed = tls.push(data);
                let app = tls.app_bytes;
                let findings = tls.findings.clone();
                if dir == Direction::ToBroker {
                    self.tls.bytes_to_broker = app;
                    if findings.sni.is_some() {
                        self.tls.sni = findings.sni;
                    }
                    if self.tls.version.is_none() {
                        self.tls.version = findings.version;
                    }
                } else {
                    self.tls.bytes_to_client = app;
                    if findings.server_hello {
                        self.tls.version = findings.version;
                    }
                }
                if changed {
                    sink.event(StreamEvent::Tls(self.tls.clone()));
                }
            }
        }
    }

    fn consume_gap(
        &mut self,
        d: usize,
        missing: u64,
        frame: u64,
        ts: Timestamp,
        sink: &mut dyn EventSink,
    ) {
        let dir = self.direction(d);
        let seq_base = self.seq_base[d];
        match &mut self.consumers[d] {
            Consumer::None => {}
            Consumer::Mqtt(framer) => {
                framer.tcp_seq_base = seq_base;
                framer.gap(missing, frame, ts, sink);
            }
            Consumer::Ws { ws, framer, failed } => {
                if !*failed {
                    // Client-to-broker frames are masked (RFC 6455 §5.3). Inside a frame the
                    // WebSocket layer keeps its place; either way the MQTT framer sees the loss
                    // and resynchronises on its own packet boundaries.
                    ws.gap(missing, dir == Direction::ToBroker);
                    framer.gap(missing, frame, ts, sink);
                }
            }
            Consumer::Tls(tls) => tls.gap(),
        }
    }

    /// Holds bytes while deciding what the connection carries.
    fn detect_bytes(
        &mut self,
        d: usize,
        data: &[u8],
        frame: u64,
        ts: Timestamp,
        sink: &mut dyn EventSink,
    ) {
        let Some(det) = self.detect.as_mut() else {
            return;
        };
        let room = DETECT_HOLD.saturating_sub(det.held_len[d]);
        if room == 0 || det.held[d].len() >= DETECT_CHUNKS {
            self.kind = Kind::Ignored;
            self.detect = None;
            return;
        }
        let piece = data.get(..room.min(data.len())).unwrap_or(data);
        det.held_len[d] += piece.len();
        det.held[d].push(Held {
            data: piece.to_vec(),
            frame,
            ts,
        });
        if piece.len() < data.len() || det.held[d].len() >= DETECT_CHUNKS {
            // More than we hold for detection: decide now with what we have.
            self.decide(true, sink);
            if self.kind != Kind::Detecting && self.kind != Kind::Ignored {
                // Confirmed: the rest of this chunk goes to the new consumer.
                let rest = data.get(piece.len()..).unwrap_or(&[]);
                self.consume(d, rest, frame, ts, sink);
            }
            return;
        }
        self.decide(false, sink);
    }

    fn detect_at_end(&mut self, sink: &mut dyn EventSink) {
        self.decide(true, sink);
        if self.kind == Kind::Detecting {
            self.kind = Kind::Ignored;
        }
    }

    /// Looks at the held bytes; `final_call` when no more bytes will help.
    fn decide(&mut self, final_call: bool, sink: &mut dyn EventSink) {
        let Some(det) = self.detect.as_mut() else {
            return;
        };
        let first: [Vec<u8>; 2] = [joined(&det.held[0]), joined(&det.held[1])];
        // Which direction spoke first decides who must have sent the CONNECT or GET.
        let speaker = match (det.held[0].first(), det.held[1].first()) {
            (Some(x), Some(y)) => Some(if x.frame <= y.frame { 0 } else { 1 }),
            (Some(_), None) => Some(0),
            (None, Some(_)) => Some(1),
            (None, None) => None,
        };
        if det.tls_port {
            if let Some(c) = self.client_dir {
                self.decide_tls_port(c, &first[c], final_call, sink);
            }
            return;
        }
        if det.midstream {
            self.decide_midstream(&first, final_call, sink);
            return;
        }
        let Some(c) = self.client_dir.or(speaker) else {
            return;
        };
        let s = 1 - c;
        let client_bytes = &first[c];
        if det.connect_dir.is_none() && det.ws_request.is_none() {
            if client_bytes.is_empty() {
                if !first[s].is_empty() {
                    // The server spoke first: MQTT brokers never do.
                    self.give_up();
                }
                return;
            }
            let connect = if client_bytes.first() == Some(&0x10) {
                let limit = self.payload_limit.max(1 << 20);
                plausible::check_packet(client_bytes, limit)
            } else {
                Check::Implausible
            };
            match connect {
                Check::Plausible(_) => det.connect_dir = Some(c),
                Check::NeedMore if !final_call => return,
                Check::NeedMore | Check::Implausible => match parse_http_head(client_bytes) {
                    Ok(Some(head))
                        if head.is_request && head.upgrade_websocket && head.mqtt_subprotocol =>
                    {
                        det.ws_request = Some((c, head.len));
                    }
                    Ok(None) if !final_call => return,
                    _ => {
                        if det.midstream_allowed {
                            // Not a connection start: perhaps MQTT caught mid-stream.
                            det.midstream = true;
                            self.decide_midstream(&first, final_call, sink);
                        } else {
                            self.give_up();
                        }
                        return;
                    }
                },
            }
        }
        let server_bytes = &first[s];
        if det.connect_dir.is_some() {
            let confirmed = if server_bytes.is_empty() {
                // No answer yet: wait, or (at the end) accept the CONNECT alone.
                if !final_call {
                    return;
                }
                !det.gap || det.held_len[c] > 0
            } else {
                match server_bytes.first() {
                    Some(0x20) => match plausible::check_packet(server_bytes, 1 << 20) {
                        Check::Plausible(_) => true,
                        Check::NeedMore => {
                            if !final_call {
                                return;
                            }
                            true
                        }
                        Check::Implausible => false,
                    },
                    _ => false,
                }
            };
            if !confirmed {
                self.give_up();
                return;
            }
            self.confirm(c, Transport::Tcp, 0, 0, true, sink);
            return;
        }
        if let Some((_, req_len)) = det.ws_request {
            if server_bytes.is_empty() {
                if final_call {
                    self.give_up();
                }
                return;
            }
            match parse_http_head(server_bytes) {
                Ok(Some(head)) if head.status == Some(101) => {
                    det.ws_response = Some(head.len);
                    self.confirm(c, Transport::WebSocket, req_len, head.len, true, sink);
                }
                Ok(None) if !final_call => {}
                _ => self.give_up(),
            }
        }
    }

    /// On a TLS port: a TLS record (handshake content type 22, RFC 8446 §5.1) means TLS; a
    /// credible CONNECT means plain MQTT on TCP. Anything else stays TLS (metadata only), as
    /// before the first bytes were looked at.
    fn decide_tls_port(
        &mut self,
        c: usize,
        client: &[u8],
        final_call: bool,
        sink: &mut dyn EventSink,
    ) {
        let transport = match client.first() {
            None if !final_call => return,
            Some(0x10) => match plausible::check_packet(client, self.payload_limit.max(1 << 20)) {
                Check::Plausible(_) => Transport::Tcp,
                Check::NeedMore if !final_call => return,
                _ => Transport::Tls,
            },
            // A TLS record header (content types 20–24, RFC 8446 §5.1) at a capture start.
            Some(0x14..=0x18) => Transport::Tls,
            // Caught mid-stream, neither TLS nor a CONNECT: plain MQTT only with the evidence
            // the mid-stream heuristic asks for on unknown ports.
            Some(_) if self.roles_from == RoleSource::Port => {
                let Some(det) = self.detect.as_ref() else {
                    return;
                };
                let first = [joined(&det.held[0]), joined(&det.held[1])];
                let starts = det.held.each_ref().map(|h| chunk_starts(h));
                match midstream::judge([&first[0], &first[1]], [&starts[0], &starts[1]], final_call)
                {
                    Verdict::NeedMore => return,
                    Verdict::Mqtt { .. } => {
                        self.confirm(c, Transport::Tcp, 0, 0, false, sink);
                        return;
                    }
                    Verdict::NotMqtt => Transport::Tls,
                }
            }
            _ => Transport::Tls,
        };
        self.confirm(c, transport, 0, 0, true, sink);
    }

    /// No handshake and no CONNECT on an unknown port: MQTT only when both directions hold a
    /// conversation (see [`midstream`]). Framing then starts unsynchronised, so a first packet
    /// cut by the capture start is skipped and reported like any mid-stream start.
    fn decide_midstream(
        &mut self,
        first: &[Vec<u8>; 2],
        final_call: bool,
        sink: &mut dyn EventSink,
    ) {
        let Some(det) = self.detect.as_ref() else {
            return;
        };
        let starts = det.held.each_ref().map(|h| chunk_starts(h));
        let verdict =
            midstream::judge([&first[0], &first[1]], [&starts[0], &starts[1]], final_call);
        match verdict {
            Verdict::NeedMore => {}
            Verdict::NotMqtt => self.give_up(),
            Verdict::Mqtt { client } => {
                // Without a telling packet, the side on the lower port is taken as the broker
                // (brokers listen on fixed, usually low ports; clients use ephemeral ones).
                let c = client.unwrap_or(if self.a.port() < self.b.port() { 1 } else { 0 });
                self.client_dir = Some(c);
                self.roles_from = RoleSource::Port;
                self.confirm(c, Transport::Tcp, 0, 0, false, sink);
            }
        }
    }

    fn give_up(&mut self) {
        self.kind = Kind::Ignored;
        self.detect = None;
    }

    /// Detection succeeded: open the connection and replay what was held (after the HTTP heads
    /// for WebSocket). `synced`: the held bytes start at a packet boundary.
    fn confirm(
        &mut self,
        c: usize,
        transport: Transport,
        skip_client: usize,
        skip_server: usize,
        synced: bool,
        sink: &mut dyn EventSink,
    ) {
        let Some(det) = self.detect.take() else {
            return;
        };
        if self.client_dir.is_none() {
            self.client_dir = Some(c);
            self.roles_from = RoleSource::Connect;
        } else {
            self.client_dir = Some(c);
        }
        self.kind = Kind::Mqtt(transport);
        self.open(sink);
        for d in [c, 1 - c] {
            let dir = self.direction(d);
            let framer = Box::new(MqttFramer::new(
                self.stream,
                dir,
                self.payload_limit,
                synced,
            ));
            self.consumers[d] = match transport {
                Transport::Tls => Consumer::Tls(Box::new(TlsDirection::new())),
                Transport::WebSocket => Consumer::Ws {
                    ws: Box::new(WsDecoder::new()),
                    framer,
                    failed: false,
                },
                _ => Consumer::Mqtt(framer),
            };
        }
        let Detect { held, frames, .. } = *det;
        for (d, frame, ts, wire_len, tcp_payload_len) in frames {
            sink.event(StreamEvent::Frame(FrameSeen {
                stream: self.stream,
                dir: self.direction(d),
                frame,
                ts,
                wire_len,
                tcp_payload_len,
            }));
        }
        let [h0, h1] = held;
        let by_dir = if c == 0 {
            [(0, h0), (1, h1)]
        } else {
            [(1, h1), (0, h0)]
        };
        for (d, chunks) in by_dir {
            let mut skip = if d == c { skip_client } else { skip_server };
            for chunk in chunks {
                let cut = skip.min(chunk.data.len());
                skip -= cut;
                let rest = chunk.data.get(cut..).unwrap_or(&[]);
                if !rest.is_empty() {
                    self.consume(d, rest, chunk.frame, chunk.ts, sink);
                }
            }
        }
    }
}

/// Offsets in the joined held bytes where each held segment starts.
fn chunk_starts(held: &[Held]) -> Vec<usize> {
    let mut at = 0usize;
    held.iter()
        .map(|h| {
            let start = at;
            at += h.data.len();
            start
        })
        .collect()
}

fn joined(held: &[Held]) -> Vec<u8> {
    let mut v = Vec::with_capacity(held.iter().map(|h| h.data.len()).sum());
    for h in held {
        v.extend_from_slice(&h.data);
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::RawFrame;

    /// An Ethernet/IPv4/TCP frame from 10.0.0.1:`port` to the broker at 10.0.0.2:1883.
    fn frame_to_broker(port: u16, seq: u32, syn: bool, payload: &[u8]) -> Vec<u8> {
        let builder = etherparse::PacketBuilder::ethernet2([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2])
            .ipv4([10, 0, 0, 1], [10, 0, 0, 2], 64)
            .tcp(port, 1883, seq, 65535);
        let builder = if syn { builder.syn() } else { builder.ack(1) };
        let mut out = Vec::new();
        builder
            .write(&mut out, payload)
            .unwrap_or_else(|e| panic!("{e}"));
        out
    }

    fn push(p: &mut Pipeline, number: u64, data: &[u8]) {
        let frame = RawFrame {
            number,
            ts: Timestamp(number as i64 * 1_000_000),
            linktype: 1,
            caplen: data.len() as u32,
            wire_len: data.len() as u32,
            data,
        };
        p.push_frame(&frame, &mut |_: StreamEvent<'_>| {});
    }

    fn framers(p: &Pipeline) -> usize {
        p.conns
            .values()
            .flat_map(|c| c.flow.consumers.iter())
            .filter(|c| !matches!(c, Consumer::None))
            .count()
    }

    #[test]
    fn a_connection_without_data_keeps_no_framer() {
        let mut p = Pipeline::new(PipelineConfig::default());
        for (i, port) in (40_000..40_100).enumerate() {
            push(&mut p, i as u64 + 1, &frame_to_broker(port, 7, true, &[]));
        }
        assert_eq!(p.conns.len(), 100);
        assert_eq!(framers(&p), 0, "bare SYNs made framers");
        // The first bytes of a direction make its framer, synchronised on the SYN's stream.
        push(
            &mut p,
            101,
            &frame_to_broker(40_000, 8, false, &[0xc0, 0x00]),
        );
        assert_eq!(framers(&p), 1);
        assert_eq!(p.summary.mqtt_packets, 0); // counted when the framer finishes
        let summary = p.finish(&mut |_: StreamEvent<'_>| {});
        assert_eq!(
            summary.mqtt_packets, 1,
            "the PINGREQ after the SYN was framed"
        );
    }
}
