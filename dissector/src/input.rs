//! What the capture layer tells the analyzer: the events of reassembled MQTT streams.
//!
//! This is the contract between `capture` (which produces these, in capture order) and
//! [`crate`]'s analyzer (which consumes them through [`EventSink`]). Plain data, no I/O, so tests
//! can drive the analyzer without any capture file.

use std::net::SocketAddr;

/// A capture timestamp: nanoseconds since the Unix epoch.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Default,
    serde::Serialize,
    serde::Deserialize,
)]
pub struct Timestamp(pub i64);

impl Timestamp {
    /// Seconds since the epoch as a float (the JSON `ts` field).
    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / 1e9
    }
    /// From seconds and a sub-second part in nanoseconds.
    pub fn from_parts(secs: i64, nanos: u32) -> Timestamp {
        Timestamp(
            secs.saturating_mul(1_000_000_000)
                .saturating_add(i64::from(nanos)),
        )
    }
    /// Nanoseconds from `earlier` to `self` (negative when `earlier` is later).
    pub fn nanos_since(self, earlier: Timestamp) -> i64 {
        self.0.saturating_sub(earlier.0)
    }
}

/// Which way a packet travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// From the client to the broker.
    ToBroker,
    /// From the broker to the client.
    ToClient,
}

impl Direction {
    /// "to_broker" or "to_client" (the JSON `dir` field).
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::ToBroker => "to_broker",
            Direction::ToClient => "to_client",
        }
    }
    /// "client" or "broker": the side that sends in this direction.
    pub fn sender(self) -> &'static str {
        match self {
            Direction::ToBroker => "client",
            Direction::ToClient => "broker",
        }
    }
    /// The other direction.
    pub fn reverse(self) -> Direction {
        match self {
            Direction::ToBroker => Direction::ToClient,
            Direction::ToClient => Direction::ToBroker,
        }
    }
}

/// How MQTT is carried on a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Transport {
    /// MQTT directly on TCP.
    Tcp,
    /// MQTT in WebSocket binary frames (HTTP Upgrade seen).
    #[serde(rename = "websocket")]
    WebSocket,
    /// TLS (port 8883): metadata only, MQTT not decrypted.
    Tls,
}

/// How client and broker roles were decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RoleSource {
    /// The SYN sender is the client.
    Handshake,
    /// No handshake seen: the side on the MQTT port is the broker.
    Port,
    /// No handshake seen: the side that sent CONNECT is the client.
    Connect,
}

/// A new MQTT connection (a TCP stream recognised as MQTT).
#[derive(Debug, Clone, PartialEq)]
pub struct ConnectionOpened {
    /// Wireshark's `tcp.stream` number (0-based, in order of first segment).
    pub stream: u32,
    /// Client endpoint.
    pub client: SocketAddr,
    /// Broker endpoint.
    pub broker: SocketAddr,
    /// Transport carrying MQTT.
    pub transport: Transport,
    /// How roles were decided.
    pub roles_from: RoleSource,
    /// Time of the connection's first segment.
    pub ts: Timestamp,
    /// Frame number (1-based) of the connection's first segment.
    pub frame: u64,
}

/// One whole MQTT control packet cut from a stream by framing.
#[derive(Debug, Clone, PartialEq)]
pub struct MqttBytes<'a> {
    /// The connection's `tcp.stream`.
    pub stream: u32,
    /// Direction.
    pub dir: Direction,
    /// Time of the frame holding the packet's last byte.
    pub ts: Timestamp,
    /// Frame holding the packet's first byte.
    pub first_frame: u64,
    /// Frame holding the packet's last byte (the packet's `frame`, as Wireshark numbers it).
    pub frame: u64,
    /// Offset of the packet's first byte in the direction's reassembled stream.
    pub stream_offset: u64,
    /// TCP sequence number of the packet's first byte, when the packet's bytes are the TCP
    /// payload itself (MQTT directly on TCP); `None` when they are not (WebSocket-carried MQTT,
    /// whose stream offsets count unmasked WebSocket payload) or the producer does not know.
    /// With it a packet's bytes can be found again in its frames.
    pub tcp_seq: Option<u32>,
    /// The packet's bytes: all of them, or only the first ones when `truncated`.
    pub bytes: &'a [u8],
    /// The packet's full length as its fixed header says.
    pub packet_len: u64,
    /// True when the packet was longer than the payload limit: `bytes` holds only its start,
    /// the rest was counted and skipped (headers are still decodable).
    pub truncated: bool,
}

/// Bytes missing from a stream (segments never captured).
#[derive(Debug, Clone, PartialEq)]
pub struct GapEvent {
    /// The connection's `tcp.stream`.
    pub stream: u32,
    /// Direction.
    pub dir: Direction,
    /// Time of the frame after the gap.
    pub ts: Timestamp,
    /// Frame after the gap.
    pub frame: u64,
    /// Number of missing bytes.
    pub missing: u64,
    /// Bytes skipped after the gap before MQTT framing was found again.
    pub resync_skipped: u64,
}

/// How a connection ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CloseHow {
    /// TCP FIN (both or one side).
    Fin,
    /// TCP RST.
    Rst,
    /// No segment for longer than the idle timeout.
    IdleTimeout,
    /// Still open when the capture ended.
    CaptureEnd,
}

/// A connection ended at the transport level.
#[derive(Debug, Clone, PartialEq)]
pub struct ConnectionClosed {
    /// The connection's `tcp.stream`.
    pub stream: u32,
    /// Time of the closing segment (or of the capture's last frame).
    pub ts: Timestamp,
    /// Frame of the closing segment (or the capture's last frame).
    pub frame: u64,
    /// How it ended.
    pub how: CloseHow,
    /// The side that ended it: the sender of the RST, or of the first FIN. `None` when the
    /// capture ended or the idle timeout struck first, or the roles were never known.
    pub by: Option<Direction>,
}

/// A transport-level problem the capture layer found (the analyzer turns these into anomalies).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TransportIssueKind {
    /// Retransmitted segment overlapping earlier data with different bytes (first data kept).
    OverlapMismatch,
    /// Out-of-order buffer cap hit for a direction; the buffered data was given up as a gap.
    ReorderBufferFull,
    /// Too many tracked connections; the oldest idle one was dropped.
    ConnectionTableFull,
    /// Bytes that are not MQTT on an MQTT stream (skipped until framing resynchronised).
    NotMqtt,
    /// A packet longer than the payload limit (counted and skipped, header decoded).
    PayloadOverLimit,
    /// Frame cut by the snap length; its missing bytes are a gap.
    FrameTruncated,
    /// IPv4 fragments that could not be reassembled.
    IpFragmentsDropped,
    /// WebSocket framing error on a WebSocket stream.
    WebSocketError,
}

/// A transport-level problem, with where it was seen.
#[derive(Debug, Clone, PartialEq)]
pub struct TransportIssue {
    /// The connection's `tcp.stream`, when it belongs to one.
    pub stream: Option<u32>,
    /// Direction, when known.
    pub dir: Option<Direction>,
    /// Time.
    pub ts: Timestamp,
    /// Frame.
    pub frame: u64,
    /// What.
    pub kind: TransportIssueKind,
    /// Human detail (sizes, offsets).
    pub detail: String,
}

/// TLS metadata of a connection on the MQTT-over-TLS port (not decrypted).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TlsMetadata {
    /// The connection's `tcp.stream`.
    pub stream: u32,
    /// Negotiated (or offered) TLS version, e.g. 0x0303 for TLS 1.2, 0x0304 for 1.3.
    pub version: Option<u16>,
    /// Server name indication from the ClientHello.
    pub sni: Option<String>,
    /// Application-data bytes client → broker.
    pub bytes_to_broker: u64,
    /// Application-data bytes broker → client.
    pub bytes_to_client: u64,
}

/// Per-frame wire accounting for frames of MQTT connections, so statistics can relate MQTT
/// bytes to all bytes on the wire (link + IP + TCP headers included).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameSeen {
    /// The connection's `tcp.stream`.
    pub stream: u32,
    /// Direction.
    pub dir: Direction,
    /// Frame number.
    pub frame: u64,
    /// Time.
    pub ts: Timestamp,
    /// Original length of the frame on the wire.
    pub wire_len: u32,
    /// TCP payload bytes in the frame.
    pub tcp_payload_len: u32,
}

/// Everything the capture layer reports, in capture order.
#[derive(Debug, Clone, PartialEq)]
pub enum StreamEvent<'a> {
    /// A new MQTT connection.
    Opened(ConnectionOpened),
    /// A frame of an MQTT connection (wire accounting).
    Frame(FrameSeen),
    /// A whole MQTT control packet.
    Packet(MqttBytes<'a>),
    /// Missing bytes.
    Gap(GapEvent),
    /// A transport-level problem.
    Issue(TransportIssue),
    /// TLS metadata learned (sent again when it changes).
    Tls(TlsMetadata),
    /// The connection ended.
    Closed(ConnectionClosed),
}

/// A consumer of [`StreamEvent`]s: the analyzer, a printer, a test's recorder.
pub trait EventSink {
    /// Receives one event; events arrive in capture order.
    fn event(&mut self, event: StreamEvent<'_>);

    /// Receives a whole packet that the producer assembled in a buffer of its own: the
    /// packet's bytes are all of `buf` (`packet.bytes` is ignored). A sink that keeps packet
    /// bytes beyond the call (a relay to another thread) may take the allocation instead of
    /// copying it, leaving another `Vec` in its place, which the producer clears and reuses.
    /// By default the packet is handed to [`EventSink::event`] and `buf` is left alone.
    fn packet_in_buffer(&mut self, packet: MqttBytes<'static>, buf: &mut Vec<u8>) {
        self.event(StreamEvent::Packet(MqttBytes {
            bytes: buf.as_slice(),
            ..packet
        }));
    }
}

impl<F: FnMut(StreamEvent<'_>)> EventSink for F {
    fn event(&mut self, event: StreamEvent<'_>) {
        self(event)
    }
}
