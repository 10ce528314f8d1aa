//! The typed flow model of a capture: connections, sessions, packet records, transactions,
//! anomalies and broker deliveries, all owned and serde-serialisable.
//!
//! The [`crate::analyze::Analyzer`] builds a [`Trace`] from the capture layer's events; the CLI,
//! the GUI, the display filter and the exporter read it. Everything points by index: a packet
//! record names its connection by `conn` (an index into [`Trace::connections`]) and its
//! transaction by index into [`Trace::transactions`]; strings (topics, client ids) are interned
//! [`Sym`]s resolved with [`Trace::str`]. See `docs/model.md`.

mod anomaly;
mod intern;

pub use anomaly::{Anomaly, AnomalyCode, Severity};
pub use intern::{Interner, Sym};

/// True when a topic name matches a topic filter (MQTT 5.0 §4.7: `+` one level, `#` the rest,
/// `$`-topics not matched by a leading wildcard).
pub fn topic_matches(filter: &str, topic: &str) -> bool {
    if topic.starts_with('$') && (filter.starts_with('+') || filter.starts_with('#')) {
        return false;
    }
    let mut f = filter.split('/');
    let mut t = topic.split('/');
    loop {
        match (f.next(), t.next()) {
            (Some("#"), _) => return true,
            (Some("+"), Some(_)) => {}
            (Some(a), Some(b)) if a == b => {}
            (None, None) => return true,
            _ => return false,
        }
    }
}

use crate::codec::{HeaderSizes, PacketType, ProtocolVersion};
use crate::input::{Direction, RoleSource, Timestamp, Transport};
use std::net::SocketAddr;

/// Slot of a direction in per-direction arrays: client → broker first.
fn dir_slot(dir: Direction) -> usize {
    match dir {
        Direction::ToBroker => 0,
        Direction::ToClient => 1,
    }
}

/// Sentinel for "no index" inside compact records (exposed through `Option` accessors).
const NONE_U32: u32 = u32::MAX;

/// Bit flags of a [`PacketRecord`].
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize,
)]
pub struct PacketMarks(pub u8);

impl PacketMarks {
    /// At least one anomaly points at this packet.
    pub const HAS_ANOMALIES: u8 = 0x01;
    /// The packet was longer than the payload limit: only its start was seen.
    pub const TRUNCATED: u8 = 0x02;
    /// The packet could not be decoded (type and sizes come from the fixed header alone).
    pub const DECODE_ERROR: u8 = 0x04;
    /// PUBLISH DUP flag.
    pub const DUP: u8 = 0x08;
    /// PUBLISH RETAIN flag.
    pub const RETAIN: u8 = 0x10;
    /// The topic was resolved through a topic alias (not present in the packet itself).
    pub const TOPIC_FROM_ALIAS: u8 = 0x20;
    /// The packet carried a topic alias property.
    pub const HAS_TOPIC_ALIAS: u8 = 0x40;

    /// True when every bit of `bit` is set.
    #[inline]
    pub fn has(self, bit: u8) -> bool {
        self.0 & bit == bit
    }
    /// Sets `bit`.
    #[inline]
    pub fn set(&mut self, bit: u8) {
        self.0 |= bit;
    }
}

/// One MQTT control packet as the model keeps it: 64 bytes, strings interned.
///
/// Indexes: `conn` into [`Trace::connections`], [`PacketRecord::transaction`] into
/// [`Trace::transactions`]. The raw bytes (when kept) are at [`Trace::raw`].
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PacketRecord {
    /// Time of the frame holding the packet's last byte.
    pub ts: Timestamp,
    /// Frame (1-based) holding the packet's last byte — Wireshark's `frame.number` for it.
    pub frame: u64,
    /// Offset of the packet's first byte in its direction's reassembled stream.
    pub stream_offset: u64,
    /// `frame - first_frame`: how many frames back the packet's first byte is.
    pub frames_back: u32,
    /// Index of the connection in [`Trace::connections`].
    pub conn: u32,
    /// Topic (PUBLISH, resolved through topic aliases; first filter of SUBSCRIBE/UNSUBSCRIBE;
    /// will topic is on the connection).
    pub topic: Option<Sym>,
    tx: u32,
    /// Variable header bytes (properties not counted).
    pub variable_len: u32,
    /// Property bytes (length fields included).
    pub properties_len: u32,
    /// Payload bytes (as the header says, even when truncated).
    pub payload_len: u32,
    /// Packet identifier, when the type carries one.
    pub packet_id: Option<u16>,
    /// Packet type.
    pub packet_type: PacketType,
    /// The first byte of the fixed header (type nibble and flags).
    pub first_byte: u8,
    /// The version the packet was decoded with (None before any version is known and no guess worked).
    pub version: Option<ProtocolVersion>,
    /// Direction.
    pub dir: Direction,
    /// First reason/return code (CONNACK, acks, SUBACK's first, DISCONNECT, AUTH).
    pub reason_code: Option<u8>,
    /// Fixed header bytes (2..=5).
    pub fixed_len: u8,
    /// Flags: anomalies, truncated, decode error, dup, retain, alias.
    pub marks: PacketMarks,
}

impl PacketRecord {
    /// A record with the given identity and everything else empty (the analyzer fills the rest).
    pub fn new(
        ts: Timestamp,
        frame: u64,
        conn: u32,
        dir: Direction,
        first_byte: u8,
    ) -> PacketRecord {
        PacketRecord {
            ts,
            frame,
            stream_offset: 0,
            frames_back: 0,
            conn,
            topic: None,
            tx: NONE_U32,
            variable_len: 0,
            properties_len: 0,
            payload_len: 0,
            packet_id: None,
            packet_type: PacketType::from_id(first_byte >> 4),
            first_byte,
            version: None,
            dir,
            reason_code: None,
            fixed_len: 0,
            marks: PacketMarks::default(),
        }
    }
    /// Frame holding the packet's first byte.
    #[inline]
    pub fn first_frame(&self) -> u64 {
        self.frame.saturating_sub(u64::from(self.frames_back))
    }
    /// The four flag bits of the fixed header.
    #[inline]
    pub fn flags(&self) -> u8 {
        self.first_byte & 0x0f
    }
    /// PUBLISH QoS from the flags (0..=3); 0 for other types.
    #[inline]
    pub fn qos(&self) -> u8 {
        if self.packet_type == PacketType::Publish {
            (self.first_byte >> 1) & 0x03
        } else {
            0
        }
    }
    /// PUBLISH DUP flag.
    #[inline]
    pub fn dup(&self) -> bool {
        self.packet_type == PacketType::Publish && self.first_byte & 0x08 != 0
    }
    /// PUBLISH RETAIN flag.
    #[inline]
    pub fn retain(&self) -> bool {
        self.packet_type == PacketType::Publish && self.first_byte & 0x01 != 0
    }
    /// Index of the transaction this packet is a step of, in [`Trace::transactions`].
    #[inline]
    pub fn transaction(&self) -> Option<usize> {
        (self.tx != NONE_U32).then_some(self.tx as usize)
    }
    /// Sets the transaction index.
    pub fn set_transaction(&mut self, tx: Option<usize>) {
        self.tx = tx
            .and_then(|t| u32::try_from(t).ok())
            .filter(|&t| t != NONE_U32)
            .unwrap_or(NONE_U32);
    }
    /// The header-size breakdown.
    pub fn sizes(&self) -> HeaderSizes {
        HeaderSizes {
            fixed: self.fixed_len,
            variable: self.variable_len,
            properties: self.properties_len,
            payload: self.payload_len,
        }
    }
    /// Stores a header-size breakdown.
    pub fn set_sizes(&mut self, sizes: HeaderSizes) {
        self.fixed_len = sizes.fixed;
        self.variable_len = sizes.variable;
        self.properties_len = sizes.properties;
        self.payload_len = sizes.payload;
    }
    /// Remaining length: everything after the fixed header.
    #[inline]
    pub fn remaining_length(&self) -> u64 {
        u64::from(self.variable_len) + u64::from(self.properties_len) + u64::from(self.payload_len)
    }
    /// Total packet length on the wire (fixed header included).
    #[inline]
    pub fn packet_len(&self) -> u64 {
        u64::from(self.fixed_len) + self.remaining_length()
    }
    /// True when at least one anomaly points at this packet.
    #[inline]
    pub fn has_anomalies(&self) -> bool {
        self.marks.has(PacketMarks::HAS_ANOMALIES)
    }
    /// True when the packet was cut at the payload limit.
    #[inline]
    pub fn truncated(&self) -> bool {
        self.marks.has(PacketMarks::TRUNCATED)
    }
    /// True when the packet could not be decoded.
    #[inline]
    pub fn decode_error(&self) -> bool {
        self.marks.has(PacketMarks::DECODE_ERROR)
    }
}

/// How a connection ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClosedBy {
    /// An MQTT DISCONNECT (the reason code, 0 in 3.x), followed by the transport close.
    Disconnect {
        /// Who sent the DISCONNECT.
        dir: Direction,
        /// Reason code (0 = normal disconnection).
        reason_code: u8,
    },
    /// TCP FIN without DISCONNECT.
    Fin,
    /// TCP RST without DISCONNECT.
    Rst,
    /// No segment for longer than the capture layer's idle timeout.
    IdleTimeout,
    /// Still open when the capture ended.
    CaptureEnd,
    /// The keepalive lapsed (1.5 × keep alive without a packet from the client) and the
    /// connection then went silent until it was closed.
    KeepAliveExpiry,
}

impl ClosedBy {
    /// The short name used in reports: "disconnect", "fin", "rst", "idle", "capture_end",
    /// "keepalive".
    pub fn as_str(&self) -> &'static str {
        match self {
            ClosedBy::Disconnect { .. } => "disconnect",
            ClosedBy::Fin => "fin",
            ClosedBy::Rst => "rst",
            ClosedBy::IdleTimeout => "idle",
            ClosedBy::CaptureEnd => "capture_end",
            ClosedBy::KeepAliveExpiry => "keepalive",
        }
    }
}

/// The will message announced in CONNECT.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct WillInfo {
    /// Will topic.
    pub topic: Sym,
    /// Will QoS.
    pub qos: u8,
    /// Will retain.
    pub retain: bool,
    /// Will payload size in bytes.
    pub payload_len: u32,
    /// Will properties, summarised ("name=value", one per property).
    pub properties: Vec<String>,
}

/// The password of a CONNECT: redacted unless the analyzer was asked to keep it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PasswordInfo {
    /// Length in bytes.
    pub len: u32,
    /// The password text (lossy UTF-8), only with `AnalyzerConfig::show_passwords`.
    pub text: Option<String>,
}

/// Limits a connection negotiated (MQTT 5 CONNECT and CONNACK properties; spec defaults when
/// absent). `None` means "not stated" (the spec default applies).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Limits {
    /// Client's receive maximum (limits QoS>0 PUBLISHes the broker may have in flight to it).
    pub client_receive_maximum: Option<u16>,
    /// Broker's receive maximum (limits QoS>0 PUBLISHes the client may have in flight).
    pub broker_receive_maximum: Option<u16>,
    /// Largest packet the client accepts.
    pub client_maximum_packet_size: Option<u32>,
    /// Largest packet the broker accepts.
    pub broker_maximum_packet_size: Option<u32>,
    /// Highest topic alias the client accepts (broker → client aliases).
    pub client_topic_alias_maximum: Option<u16>,
    /// Highest topic alias the broker accepts (client → broker aliases).
    pub broker_topic_alias_maximum: Option<u16>,
    /// Broker's maximum QoS (CONNACK; absent = 2).
    pub maximum_qos: Option<u8>,
    /// Broker supports retained messages (CONNACK; absent = true).
    pub retain_available: Option<bool>,
    /// Keep alive the broker imposes (CONNACK Server Keep Alive).
    pub server_keep_alive: Option<u16>,
    /// Client id the broker assigned (CONNACK Assigned Client Identifier).
    pub assigned_client_id: Option<Sym>,
    /// Session expiry interval requested in CONNECT (seconds).
    pub session_expiry_interval: Option<u32>,
}

/// Per-direction counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct DirCounters {
    /// MQTT packets.
    pub packets: u64,
    /// MQTT bytes (whole packets as their headers say).
    pub bytes: u64,
    /// Frames of the connection in this direction.
    pub frames: u64,
    /// Bytes on the wire (link + IP + TCP headers included).
    pub wire_bytes: u64,
    /// PUBLISH packets per QoS 0, 1, 2 (a malformed QoS 3 is not counted).
    pub publishes: [u64; 3],
}

/// TLS facts of a connection that was not decrypted.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TlsInfo {
    /// TLS version (e.g. 0x0303).
    pub version: Option<u16>,
    /// Server name indication.
    pub sni: Option<String>,
    /// Application-data bytes client → broker.
    pub bytes_to_broker: u64,
    /// Application-data bytes broker → client.
    pub bytes_to_client: u64,
}

/// One MQTT network connection (a TCP stream carrying MQTT).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Connection {
    /// Wireshark's `tcp.stream` number.
    pub stream: u32,
    /// Client endpoint.
    pub client: SocketAddr,
    /// Broker endpoint.
    pub broker: SocketAddr,
    /// Transport carrying MQTT.
    pub transport: Transport,
    /// How the roles were decided.
    pub roles_from: RoleSource,
    /// Negotiated protocol version (from CONNECT, or inferred when joined mid-stream).
    pub version: Option<ProtocolVersion>,
    /// True when the version was inferred (no CONNECT seen).
    pub version_inferred: bool,
    /// Client identifier from CONNECT.
    pub client_id: Option<Sym>,
    /// User name from CONNECT.
    pub username: Option<Sym>,
    /// Password presence and length (text only when asked for).
    pub password: Option<PasswordInfo>,
    /// Keep alive from CONNECT, seconds (0 = off).
    pub keep_alive: Option<u16>,
    /// Clean session (3.x) / clean start (5.0).
    pub clean_start: Option<bool>,
    /// The will, when CONNECT announced one.
    pub will: Option<WillInfo>,
    /// CONNECT properties, summarised ("name=value").
    pub connect_properties: Vec<String>,
    /// CONNACK return/reason code.
    pub connack_code: Option<u8>,
    /// CONNACK session present.
    pub session_present: Option<bool>,
    /// CONNACK properties, summarised ("name=value").
    pub connack_properties: Vec<String>,
    /// Negotiated limits.
    pub limits: Limits,
    /// Time of the first segment.
    pub opened_ts: Timestamp,
    /// Frame of the first segment.
    pub opened_frame: u64,
    /// Time it closed (None while open).
    pub closed_ts: Option<Timestamp>,
    /// Frame it closed at.
    pub closed_frame: Option<u64>,
    /// How it closed (None while open).
    pub closed_by: Option<ClosedBy>,
    /// Which side ended the TCP connection: the sender of the RST or of the first FIN (None
    /// while open, at capture end or idle timeout).
    pub closed_side: Option<Direction>,
    /// Client → broker counters.
    pub to_broker: DirCounters,
    /// Broker → client counters.
    pub to_client: DirCounters,
    /// TLS metadata, when the transport is TLS.
    pub tls: Option<TlsInfo>,
    /// Index of the session in [`Trace::sessions`].
    pub session: Option<u32>,
    /// Number of anomalies on this connection.
    pub anomaly_count: u32,
    /// Bytes lost in TCP gaps.
    pub gap_bytes: u64,
    /// Per direction (client → broker, broker → client): the TCP sequence number of stream
    /// offset 0, learned from the first packet that had one ([`MqttBytes::tcp_seq`]); `None`
    /// for WebSocket and TLS. Packet `p`'s bytes start at sequence number base +
    /// `p.stream_offset` (modulo 2^32): how they are found again in the capture's frames.
    ///
    /// [`MqttBytes::tcp_seq`]: crate::input::MqttBytes::tcp_seq
    #[serde(skip)]
    pub tcp_seq_base: [Option<u32>; 2],
}

impl Connection {
    /// A connection as the capture layer announced it: endpoints, transport and open time;
    /// everything MQTT says about it is still unknown.
    pub fn new(
        stream: u32,
        client: SocketAddr,
        broker: SocketAddr,
        transport: Transport,
        roles_from: RoleSource,
        opened_ts: Timestamp,
        opened_frame: u64,
    ) -> Connection {
        Connection {
            stream,
            client,
            broker,
            transport,
            roles_from,
            version: None,
            version_inferred: false,
            client_id: None,
            username: None,
            password: None,
            keep_alive: None,
            clean_start: None,
            will: None,
            connect_properties: Vec::new(),
            connack_code: None,
            session_present: None,
            connack_properties: Vec::new(),
            limits: Limits::default(),
            opened_ts,
            opened_frame,
            closed_ts: None,
            closed_frame: None,
            closed_by: None,
            closed_side: None,
            to_broker: DirCounters::default(),
            to_client: DirCounters::default(),
            tls: None,
            session: None,
            anomaly_count: 0,
            gap_bytes: 0,
            tcp_seq_base: [None, None],
        }
    }
    /// The TCP sequence number of byte `offset` of direction `dir`'s stream, when the
    /// connection's sequence numbers are known ([`Connection::tcp_seq_base`]).
    pub fn tcp_seq_of(&self, dir: Direction, offset: u64) -> Option<u32> {
        self.tcp_seq_base[dir_slot(dir)].map(|base| base.wrapping_add(offset as u32))
    }
    /// The sequence base of one direction, to learn it.
    pub fn tcp_seq_base_mut(&mut self, dir: Direction) -> &mut Option<u32> {
        &mut self.tcp_seq_base[dir_slot(dir)]
    }
    /// Counters for one direction, to update.
    pub fn counters_mut(&mut self, dir: Direction) -> &mut DirCounters {
        match dir {
            Direction::ToBroker => &mut self.to_broker,
            Direction::ToClient => &mut self.to_client,
        }
    }
    /// Counters for one direction.
    pub fn counters(&self, dir: Direction) -> &DirCounters {
        match dir {
            Direction::ToBroker => &self.to_broker,
            Direction::ToClient => &self.to_client,
        }
    }
    /// Duration in nanoseconds, up to the close (or `until` while open).
    pub fn duration_nanos(&self, until: Timestamp) -> i64 {
        self.closed_ts.unwrap_or(until).nanos_since(self.opened_ts)
    }
}

/// One client id across connections: reconnects and persistent sessions.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Session {
    /// The client identifier (the assigned one when the client sent an empty id).
    pub client_id: Sym,
    /// Connections of this client, in the order they opened.
    pub connections: Vec<u32>,
    /// True when any CONNECT asked to keep the session (clean session = false, or session
    /// expiry interval > 0).
    pub persistent: bool,
    /// Connections after the first.
    pub reconnects: u32,
    /// Connections whose CONNACK said session present.
    pub resumed: u32,
    /// PUBLISHes the broker sent on resumed connections before the client subscribed anew:
    /// the queued messages delivered after reconnect.
    pub queued_delivered: u64,
}

/// What a transaction is.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum TxKind {
    /// CONNECT → CONNACK.
    Connect,
    /// SUBSCRIBE → SUBACK.
    Subscribe,
    /// UNSUBSCRIBE → UNSUBACK.
    Unsubscribe,
    /// PINGREQ → PINGRESP.
    Ping,
    /// QoS 1 PUBLISH → PUBACK.
    Qos1,
    /// QoS 2 PUBLISH → PUBREC → PUBREL → PUBCOMP.
    Qos2,
    /// AUTH exchange (MQTT 5 enhanced authentication), until CONNACK or final AUTH.
    Auth,
}

impl TxKind {
    /// Every kind.
    pub const ALL: [TxKind; 7] = [
        TxKind::Connect,
        TxKind::Subscribe,
        TxKind::Unsubscribe,
        TxKind::Ping,
        TxKind::Qos1,
        TxKind::Qos2,
        TxKind::Auth,
    ];

    /// "connect", "subscribe", "unsubscribe", "ping", "qos1", "qos2" or "auth".
    pub fn as_str(self) -> &'static str {
        match self {
            TxKind::Connect => "connect",
            TxKind::Subscribe => "subscribe",
            TxKind::Unsubscribe => "unsubscribe",
            TxKind::Ping => "ping",
            TxKind::Qos1 => "qos1",
            TxKind::Qos2 => "qos2",
            TxKind::Auth => "auth",
        }
    }
    /// The packet types of a complete exchange, in order.
    pub fn steps(self) -> &'static [PacketType] {
        match self {
            TxKind::Connect => &[PacketType::Connect, PacketType::ConnAck],
            TxKind::Subscribe => &[PacketType::Subscribe, PacketType::SubAck],
            TxKind::Unsubscribe => &[PacketType::Unsubscribe, PacketType::UnsubAck],
            TxKind::Ping => &[PacketType::PingReq, PacketType::PingResp],
            TxKind::Qos1 => &[PacketType::Publish, PacketType::PubAck],
            TxKind::Qos2 => &[
                PacketType::Publish,
                PacketType::PubRec,
                PacketType::PubRel,
                PacketType::PubComp,
            ],
            TxKind::Auth => &[PacketType::Auth, PacketType::Auth],
        }
    }
}

/// Where a transaction stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case", tag = "state", content = "reason_code")]
pub enum TxState {
    /// Still waiting for its next step (only while the analysis runs).
    InFlight,
    /// Every step seen.
    Complete,
    /// The connection closed before it completed.
    IncompleteAtClose,
    /// The capture ended before it completed (connection still open).
    IncompleteAtCaptureEnd,
    /// Answered with a failure reason code (≥ 0x80; CONNACK refused; SUBACK all failed).
    Failed(u8),
    /// Steps arrived in an order the spec does not allow (e.g. PUBCOMP before PUBREL).
    OutOfOrder,
    /// A response with no request in flight (a one-step transaction holding the response).
    ResponseWithoutRequest,
}

impl TxState {
    /// "in_flight", "complete", "incomplete_at_close", "incomplete_at_capture_end", "failed",
    /// "out_of_order" or "response_without_request".
    pub fn as_str(self) -> &'static str {
        match self {
            TxState::InFlight => "in_flight",
            TxState::Complete => "complete",
            TxState::IncompleteAtClose => "incomplete_at_close",
            TxState::IncompleteAtCaptureEnd => "incomplete_at_capture_end",
            TxState::Failed(_) => "failed",
            TxState::OutOfOrder => "out_of_order",
            TxState::ResponseWithoutRequest => "response_without_request",
        }
    }
    /// True for the states a completeness check reports (not complete, not failed by a valid
    /// reason code).
    pub fn is_incomplete(self) -> bool {
        matches!(
            self,
            TxState::InFlight | TxState::IncompleteAtClose | TxState::IncompleteAtCaptureEnd
        )
    }
}

/// One step of a transaction: a packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TxStep {
    /// Packet index in the trace.
    pub packet: u64,
    /// Packet type.
    pub packet_type: PacketType,
    /// Direction of the packet.
    pub dir: Direction,
    /// Frame of the packet.
    pub frame: u64,
    /// Time of the packet.
    pub ts: Timestamp,
}

/// A transaction's steps, in order: inline up to four (a QoS 2 delivery's PUBLISH, PUBREC,
/// PUBREL, PUBCOMP), on the heap beyond (AUTH exchanges, repeats).
pub type TxSteps = smallvec::SmallVec<[TxStep; 4]>;

/// A request/response exchange, or a QoS 1/2 delivery, on one connection.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Transaction {
    /// What exchange.
    pub kind: TxKind,
    /// Index of the connection.
    pub conn: u32,
    /// Direction of the request (of the PUBLISH for QoS flows).
    pub dir: Direction,
    /// Packet identifier (None for connect, ping, auth).
    pub packet_id: Option<u16>,
    /// PUBLISH QoS (QoS flows), or 0.
    pub qos: u8,
    /// PUBLISH topic, or the first filter of SUBSCRIBE/UNSUBSCRIBE.
    pub topic: Option<Sym>,
    /// The packets of the exchange, in the order seen.
    pub steps: TxSteps,
    /// DUP retransmissions of the request (packet indexes), linked to this original.
    pub retransmissions: Vec<u64>,
    /// State.
    pub state: TxState,
    /// How the connection ended, when the transaction was cut by it.
    pub ended_by: Option<ClosedBy>,
    /// Time of that end.
    pub ended_ts: Option<Timestamp>,
    /// Nanoseconds from the request to the final step (complete or failed exchanges).
    pub latency_nanos: Option<i64>,
    /// SUBACK/UNSUBACK reason codes, or the failure reason code of an ack.
    pub reason_codes: Vec<u8>,
}

impl Transaction {
    /// The packet types seen, in order.
    pub fn seen(&self) -> impl Iterator<Item = PacketType> + '_ {
        self.steps.iter().map(|s| s.packet_type)
    }
    /// The packet types still owed for the exchange to complete (empty when complete).
    pub fn missing(&self) -> &'static [PacketType] {
        let steps = self.kind.steps();
        if matches!(self.state, TxState::Complete | TxState::Failed(_)) {
            return &[];
        }
        let done = self.steps.len().min(steps.len());
        steps.get(done..).unwrap_or(&[])
    }
    /// Time of the first step.
    pub fn start_ts(&self) -> Option<Timestamp> {
        self.steps.first().map(|s| s.ts)
    }
}

/// One PUBLISH into the broker matched to the PUBLISHes the broker sent to subscribers (same
/// topic and payload, within a time window).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Delivery {
    /// The incoming PUBLISH (packet index).
    pub publish: u64,
    /// Publishing connection.
    pub conn: u32,
    /// Topic.
    pub topic: Sym,
    /// Payload length.
    pub payload_len: u32,
    /// Hash of the payload bytes seen (`analyze::payload_hash`; equal payloads hash equal).
    pub payload_hash: u64,
    /// Time of the incoming PUBLISH.
    pub ts: Timestamp,
    /// The fanned-out copies.
    pub fanout: Vec<DeliveryCopy>,
}

/// One copy of a delivery the broker sent to a subscriber.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct DeliveryCopy {
    /// Subscriber connection.
    pub conn: u32,
    /// The outgoing PUBLISH (packet index).
    pub packet: u64,
    /// Broker latency in nanoseconds (outgoing − incoming).
    pub latency_nanos: i64,
}

/// A will that became due: its connection ended without a normal DISCONNECT (MQTT 5.0
/// §3.1.2.5), and the PUBLISHes of it the broker sent to subscribers (same topic and payload).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct WillOutcome {
    /// The connection whose will it is.
    pub conn: u32,
    /// Will topic.
    pub topic: Sym,
    /// When the connection ended.
    pub triggered_ts: Timestamp,
    /// How it ended.
    pub triggered_by: ClosedBy,
    /// Will Delay Interval in seconds (MQTT 5; 0 otherwise).
    pub delay_secs: u32,
    /// The will's copies seen going to subscribers; latency from the client's last packet (the
    /// broker often publishes before the capture layer reports the close).
    pub copies: Vec<DeliveryCopy>,
}

impl WillOutcome {
    /// True when the broker was seen publishing the will.
    pub fn fired(&self) -> bool {
        !self.copies.is_empty()
    }
}

/// One topic filter of a SUBSCRIBE (its SUBACK code is in the transaction of `packet`, in the
/// same position).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Subscription {
    /// Connection index.
    pub conn: u32,
    /// Packet index of the SUBSCRIBE.
    pub packet: u64,
    /// The topic filter.
    pub filter: Sym,
    /// The subscription options byte (requested QoS in bits 0–1).
    pub options: u8,
}

/// One capture source that went into the trace.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CaptureInfo {
    /// File path or interface name.
    pub source: String,
    /// Frames read.
    pub frames: u64,
    /// Bytes read (frames' captured lengths).
    pub bytes: u64,
    /// Time of the first frame.
    pub first_ts: Option<Timestamp>,
    /// Time of the last frame.
    pub last_ts: Option<Timestamp>,
}

/// Totals of a trace.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Totals {
    /// MQTT packets analysed (also those no longer retained).
    pub packets: u64,
    /// MQTT bytes.
    pub mqtt_bytes: u64,
    /// Frames of MQTT connections.
    pub frames: u64,
    /// Wire bytes of those frames.
    pub wire_bytes: u64,
    /// TCP payload bytes of those frames.
    pub tcp_payload_bytes: u64,
    /// Anomalies not stored because the anomaly cap was reached.
    pub anomalies_dropped: u64,
    /// Time of the first event.
    pub first_ts: Option<Timestamp>,
    /// Time of the last event.
    pub last_ts: Option<Timestamp>,
}

/// Everything known about a capture.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct Trace {
    /// The sources (filled by the caller: the analyzer does not know files).
    pub captures: Vec<CaptureInfo>,
    /// Connections, in order of `tcp.stream` appearance.
    pub connections: Vec<Connection>,
    /// Sessions (client ids across connections).
    pub sessions: Vec<Session>,
    /// Packet records; `packets[i]` has packet index `packet_base + i`.
    pub packets: Vec<PacketRecord>,
    /// Packet index of `packets[0]` (non-zero only when streaming drops old records).
    pub packet_base: u64,
    /// Transactions, in order of their first step.
    pub transactions: Vec<Transaction>,
    /// Anomalies, in order found.
    pub anomalies: Vec<Anomaly>,
    /// Broker fan-out deliveries.
    pub deliveries: Vec<Delivery>,
    /// Wills due because a connection ended without a normal DISCONNECT, with the copies the
    /// broker was seen to publish.
    #[serde(default)]
    pub wills: Vec<WillOutcome>,
    /// Every topic filter of every SUBSCRIBE, in order.
    #[serde(default)]
    pub subscriptions: Vec<Subscription>,
    /// Interned strings.
    pub strings: Interner,
    /// Raw MQTT bytes of the retained packets whose bytes are kept, back to back (see
    /// [`AnalyzerConfig::raw_bytes`](crate::analyze::AnalyzerConfig::raw_bytes)).
    #[serde(skip)]
    pub raw_bytes: Vec<u8>,
    /// `raw_offsets[i]..raw_offsets[i+1]` is packet `packet_base + i` in `raw_bytes` (empty
    /// when its bytes were not kept).
    #[serde(skip)]
    pub raw_offsets: Vec<u64>,
    /// Totals.
    pub totals: Totals,
    /// Connection index by `tcp.stream` (sorted by stream; connections arrive in stream order
    /// almost always, so this is a cheap binary search).
    #[serde(skip)]
    by_stream: Vec<(u32, u32)>,
    /// First anomaly index per packet index (sparse), for `anomalies_of_packet`; the others of
    /// the same packet follow through `anomaly_next` (no allocation per anomalous packet).
    #[serde(skip)]
    anomalies_by_packet: rustc_hash::FxHashMap<u64, u32>,
    /// Per anomaly: the next anomaly of the same packet, or `NO_NEXT_ANOMALY`.
    #[serde(skip)]
    anomaly_next: Vec<u32>,
}

/// End of a packet's chain in `Trace::anomaly_next`.
const NO_NEXT_ANOMALY: u32 = u32::MAX;

impl Trace {
    /// An empty trace.
    pub fn new() -> Trace {
        Trace::default()
    }

    /// The string of an interned symbol.
    #[inline]
    pub fn str(&self, sym: Sym) -> &str {
        self.strings.resolve(sym)
    }

    /// The string of an optional symbol.
    #[inline]
    pub fn opt_str(&self, sym: Option<Sym>) -> Option<&str> {
        sym.map(|s| self.strings.resolve(s))
    }

    /// A connection by index.
    pub fn connection(&self, idx: usize) -> Option<&Connection> {
        self.connections.get(idx)
    }

    /// The index of the connection with this `tcp.stream`.
    pub fn connection_index_of_stream(&self, stream: u32) -> Option<usize> {
        self.by_stream
            .binary_search_by_key(&stream, |&(s, _)| s)
            .ok()
            .and_then(|i| self.by_stream.get(i))
            .map(|&(_, c)| c as usize)
    }

    /// A packet record by packet index (None when out of range or no longer retained).
    pub fn packet(&self, idx: u64) -> Option<&PacketRecord> {
        let i = idx.checked_sub(self.packet_base)?;
        self.packets.get(usize::try_from(i).ok()?)
    }

    /// Mutable packet record by packet index.
    pub fn packet_mut(&mut self, idx: u64) -> Option<&mut PacketRecord> {
        let i = idx.checked_sub(self.packet_base)?;
        self.packets.get_mut(usize::try_from(i).ok()?)
    }

    /// The raw MQTT bytes of a packet (only when kept, see
    /// [`RawBytes`](crate::analyze::RawBytes); truncated packets give their start).
    pub fn raw(&self, idx: u64) -> Option<&[u8]> {
        let i = usize::try_from(idx.checked_sub(self.packet_base)?).ok()?;
        let start = usize::try_from(*self.raw_offsets.get(i)?).ok()?;
        let end = usize::try_from(*self.raw_offsets.get(i + 1)?).ok()?;
        // An empty range is a packet whose bytes were not kept: every MQTT packet has at
        // least its two-byte fixed header (§2.1.1).
        self.raw_bytes.get(start..end).filter(|b| !b.is_empty())
    }

    /// The anomalies that point at a packet.
    pub fn anomalies_of_packet(&self, idx: u64) -> impl Iterator<Item = &Anomaly> + '_ {
        let mut at = self.anomalies_by_packet.get(&idx).copied();
        std::iter::from_fn(move || {
            let i = at?;
            at = self
                .anomaly_next
                .get(i as usize)
                .copied()
                .filter(|&n| n != NO_NEXT_ANOMALY);
            Some(i)
        })
        .filter_map(|a| self.anomalies.get(a as usize))
    }

    /// The retained packet records of a connection, with their packet indexes.
    pub fn packets_of_connection(
        &self,
        conn: usize,
    ) -> impl Iterator<Item = (u64, &PacketRecord)> + '_ {
        let base = self.packet_base;
        self.packets
            .iter()
            .enumerate()
            .filter(move |(_, p)| p.conn as usize == conn)
            .map(move |(i, p)| (base + i as u64, p))
    }

    /// The transactions of a connection.
    pub fn transactions_of_connection(
        &self,
        conn: usize,
    ) -> impl Iterator<Item = (usize, &Transaction)> + '_ {
        self.transactions
            .iter()
            .enumerate()
            .filter(move |(_, t)| t.conn as usize == conn)
    }

    /// The anomalies of a connection.
    pub fn anomalies_of_connection(&self, conn: usize) -> impl Iterator<Item = &Anomaly> + '_ {
        self.anomalies
            .iter()
            .filter(move |a| a.conn.map(|c| c as usize) == Some(conn))
    }

    /// The will that became due when a connection ended, if any.
    pub fn will_of(&self, conn: usize) -> Option<&WillOutcome> {
        self.wills.iter().find(|w| w.conn as usize == conn)
    }

    /// Client id of a connection as text ("" when unknown).
    pub fn client_id_of(&self, conn: usize) -> &str {
        self.connections
            .get(conn)
            .and_then(|c| c.client_id)
            .map_or("", |s| self.str(s))
    }

    /// Adds a connection and indexes it by stream; returns its index.
    pub fn push_connection(&mut self, connection: Connection) -> usize {
        let idx = self.connections.len();
        let stream = connection.stream;
        self.connections.push(connection);
        let entry = (stream, idx as u32);
        match self.by_stream.binary_search_by_key(&stream, |&(s, _)| s) {
            // A reused stream number (4-tuple reuse reported as one stream) points at the newest.
            Ok(pos) => {
                if let Some(slot) = self.by_stream.get_mut(pos) {
                    *slot = entry;
                }
            }
            Err(pos) => self.by_stream.insert(pos, entry),
        }
        idx
    }

    /// Adds an anomaly, marks its packet and counts it on its connection; returns its index.
    pub fn push_anomaly(&mut self, anomaly: Anomaly) -> usize {
        let idx = self.anomalies.len();
        // One slot per anomaly, aligned with `anomalies` even if a caller pushed to it directly.
        self.anomaly_next.resize(idx + 1, NO_NEXT_ANOMALY);
        if let Some(p) = anomaly.packet {
            self.link_anomaly(p, idx as u32);
            if let Some(rec) = self.packet_mut(p) {
                rec.marks.set(PacketMarks::HAS_ANOMALIES);
            }
        }
        if let Some(c) = anomaly
            .conn
            .and_then(|c| self.connections.get_mut(c as usize))
        {
            c.anomaly_count = c.anomaly_count.saturating_add(1);
        }
        self.anomalies.push(anomaly);
        idx
    }

    /// Rebuilds the lookup indexes after deserialising a trace.
    pub fn rebuild_indexes(&mut self) {
        self.by_stream = self
            .connections
            .iter()
            .enumerate()
            .map(|(i, c)| (c.stream, i as u32))
            .collect();
        self.by_stream.sort_unstable();
        self.by_stream.dedup_by_key(|e| e.0);
        self.anomalies_by_packet.clear();
        self.anomaly_next.clear();
        let packets: Vec<Option<u64>> = self.anomalies.iter().map(|a| a.packet).collect();
        self.anomaly_next.resize(packets.len(), NO_NEXT_ANOMALY);
        for (i, p) in packets.into_iter().enumerate() {
            if let Some(p) = p {
                self.link_anomaly(p, i as u32);
            }
        }
    }

    /// Appends anomaly `idx` (whose `anomaly_next` slot exists) to the chain of packet `p`,
    /// keeping the packet's anomalies in push order.
    fn link_anomaly(&mut self, p: u64, idx: u32) {
        match self.anomalies_by_packet.entry(p) {
            std::collections::hash_map::Entry::Vacant(e) => {
                e.insert(idx);
            }
            std::collections::hash_map::Entry::Occupied(e) => {
                // Chains are a packet's few anomalies: walking to the end is short.
                let mut at = *e.get();
                while let Some(&next) = self.anomaly_next.get(at as usize) {
                    if next == NO_NEXT_ANOMALY {
                        break;
                    }
                    at = next;
                }
                if let Some(slot) = self.anomaly_next.get_mut(at as usize) {
                    *slot = idx;
                }
            }
        }
    }

    /// Counts of anomalies per severity: (errors, warnings, notes).
    pub fn anomaly_counts(&self) -> (usize, usize, usize) {
        self.anomalies
            .iter()
            .fold((0, 0, 0), |(e, w, n), a| match a.severity {
                Severity::Error => (e + 1, w, n),
                Severity::Warning => (e, w + 1, n),
                Severity::Note => (e, w, n + 1),
            })
    }
}

/// The examples of `docs/model.md`, compiled and run as doctests so the page cannot rot.
#[cfg(doctest)]
#[doc = include_str!("../../../docs/model.md")]
pub struct ModelDocExamples;

#[cfg(test)]
mod tests {
    use super::*;

    fn finding(packet: Option<u64>, message: &str) -> Anomaly {
        Anomaly {
            code: AnomalyCode::Malformed,
            severity: AnomalyCode::Malformed.severity(),
            conn: None,
            dir: None,
            packet,
            frame: 0,
            ts: Timestamp(0),
            offset: None,
            message: message.into(),
        }
    }

    #[test]
    fn anomalies_of_a_packet_come_back_in_push_order_and_survive_a_rebuild() {
        let mut trace = Trace::default();
        // Interleaved packets, a finding without a packet, and one pushed behind the
        // trace's back (its index slot must still line up).
        trace.push_anomaly(finding(Some(3), "a"));
        trace.push_anomaly(finding(Some(5), "b"));
        trace.push_anomaly(finding(None, "c"));
        trace.anomalies.push(finding(Some(9), "d"));
        trace.push_anomaly(finding(Some(3), "e"));
        trace.push_anomaly(finding(Some(3), "f"));
        let of = |t: &Trace, p| {
            t.anomalies_of_packet(p)
                .map(|a| a.message.clone())
                .collect::<Vec<_>>()
        };
        assert_eq!(of(&trace, 3), ["a", "e", "f"]);
        assert_eq!(of(&trace, 5), ["b"]);
        assert!(of(&trace, 4).is_empty());
        trace.rebuild_indexes();
        assert_eq!(of(&trace, 3), ["a", "e", "f"]);
        assert_eq!(of(&trace, 9), ["d"]);
    }

    #[test]
    fn topic_filters_match_as_the_spec_says() {
        assert!(topic_matches("a/+/c", "a/b/c"));
        assert!(topic_matches("a/#", "a"));
        assert!(topic_matches("a/#", "a/b/c"));
        assert!(topic_matches("#", "x/y"));
        assert!(topic_matches("+/+", "/x"));
        assert!(!topic_matches("a/+", "a/b/c"));
        assert!(!topic_matches("a/b", "a"));
        // §4.7.2: wildcards at the first level do not match $-topics.
        assert!(!topic_matches("#", "$SYS/uptime"));
        assert!(!topic_matches("+/uptime", "$SYS/uptime"));
        assert!(topic_matches("$SYS/#", "$SYS/uptime"));
    }

    #[test]
    fn trace_can_be_shared_across_threads() {
        fn shareable<T: Send + Sync>() {}
        shareable::<Trace>();
    }

    #[test]
    fn packet_record_is_at_most_64_bytes() {
        assert!(
            std::mem::size_of::<PacketRecord>() <= 64,
            "{}",
            std::mem::size_of::<PacketRecord>()
        );
    }

    #[test]
    fn anomaly_codes_are_unique_and_prefixed() {
        let mut seen = std::collections::HashSet::new();
        for c in AnomalyCode::ALL {
            assert!(c.code().starts_with("MQ-"), "{c:?}");
            assert!(seen.insert(c.code()), "duplicate {}", c.code());
            assert_eq!(AnomalyCode::from_code(c.code()), Some(*c));
        }
    }

    #[test]
    fn packet_record_flags_read_the_first_byte() {
        // PUBLISH, DUP, QoS 2, RETAIN: 0011 1101
        let r = PacketRecord::new(Timestamp(0), 1, 0, Direction::ToBroker, 0x3d);
        assert_eq!(r.packet_type, PacketType::Publish);
        assert_eq!(r.qos(), 2);
        assert!(r.dup());
        assert!(r.retain());
        assert_eq!(r.transaction(), None);
    }

    #[test]
    fn transaction_index_round_trips_through_the_compact_field() {
        let mut r = PacketRecord::new(Timestamp(0), 1, 0, Direction::ToBroker, 0x30);
        r.set_transaction(Some(7));
        assert_eq!(r.transaction(), Some(7));
        r.set_transaction(None);
        assert_eq!(r.transaction(), None);
    }

    #[test]
    fn missing_steps_of_a_qos2_flow_stopped_after_pubrec() {
        let step = |t| TxStep {
            packet: 0,
            packet_type: t,
            dir: Direction::ToBroker,
            frame: 1,
            ts: Timestamp(0),
        };
        let tx = Transaction {
            kind: TxKind::Qos2,
            conn: 0,
            dir: Direction::ToBroker,
            packet_id: Some(7),
            qos: 2,
            topic: None,
            steps: smallvec::smallvec![step(PacketType::Publish), step(PacketType::PubRec)],
            retransmissions: vec![],
            state: TxState::IncompleteAtClose,
            ended_by: Some(ClosedBy::Rst),
            ended_ts: None,
            latency_nanos: None,
            reason_codes: vec![],
        };
        assert_eq!(tx.missing(), &[PacketType::PubRel, PacketType::PubComp]);
    }
}
