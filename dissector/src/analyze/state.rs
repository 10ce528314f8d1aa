//! Per-connection analysis state: what the analyzer must remember between packets.

use crate::codec::ProtocolVersion;
use crate::input::{Direction, RoleSource, Timestamp};
use crate::model::Sym;
use rustc_hash::FxHashMap;
use std::cell::Cell;
use std::collections::VecDeque;

/// Where a transaction lives while it is in flight.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TxHandle {
    /// Index in `Trace::transactions` (retaining mode).
    Kept(usize),
    /// Slot in the analyzer's slab (streaming mode).
    Slab(usize),
}

/// A packet-id flow in flight: a QoS 1/2 PUBLISH or a SUBSCRIBE/UNSUBSCRIBE.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Flight {
    /// Its transaction.
    pub tx: TxHandle,
    /// Hash of the PUBLISH payload (tells a retransmission from a reused id).
    pub payload_hash: u64,
    /// Number of topic filters of a SUBSCRIBE/UNSUBSCRIBE.
    pub filters: u32,
    /// QoS 2 progress: 0 PUBLISH seen, 1 PUBREC seen, 2 PUBREL seen.
    pub stage: u8,
    /// A PUBLISH (counts against Receive Maximum), not a SUBSCRIBE/UNSUBSCRIBE.
    pub is_publish: bool,
}

/// A PUBLISH into the broker waiting for its fan-out copies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PendingDelivery {
    /// Packet index.
    pub publish: u64,
    /// Connection index.
    pub conn: u32,
    /// Time.
    pub ts: Timestamp,
    /// Payload length.
    pub payload_len: u32,
    /// Index in `Trace::deliveries` once a first copy matched.
    pub delivery: Option<usize>,
}

/// Everything remembered about one connection during analysis.
#[derive(Debug)]
pub(crate) struct ConnState {
    /// Index in `Trace::connections`.
    pub idx: u32,
    /// How roles were decided (a mid-stream join excuses a missing CONNECT).
    pub roles_from: RoleSource,
    /// Version packets are decoded with.
    pub version: Option<ProtocolVersion>,
    /// CONNECT seen.
    pub connect_seen: bool,
    /// CONNACK seen.
    pub connack_seen: bool,
    /// The client sent at least one packet.
    pub client_spoke: bool,
    /// CONNECT waiting for CONNACK.
    pub connect_tx: Option<TxHandle>,
    /// AUTH exchange in progress.
    pub auth_tx: Option<TxHandle>,
    /// PINGREQs waiting for PINGRESP, oldest first.
    pub pings: VecDeque<TxHandle>,
    /// Packet-id flows in flight by (direction of the request, packet id).
    pub inflight: FxHashMap<(Direction, u16), Flight>,
    /// Transactions pushed out of `inflight` by a reused id; ended when the connection ends.
    pub orphans: Vec<TxHandle>,
    /// QoS 1/2 PUBLISHes in flight per direction (0 to broker, 1 to client).
    pub qos_inflight: [u32; 2],
    /// All packet-id flows in flight per direction.
    pub flight_count: [u32; 2],
    /// Receive Maximum currently exceeded per direction (report once per crossing).
    pub over_receive_max: [bool; 2],
    /// In-flight cap currently exceeded per direction.
    pub over_in_flight: [bool; 2],
    /// Topic alias → topic, per sender direction.
    pub aliases: [FxHashMap<u16, Sym>; 2],
    /// The last PUBLISH topic per direction (interning shortcut).
    pub last_topic: [Option<Sym>; 2],
    /// Keep alive from CONNECT.
    pub keep_alive: Option<u16>,
    /// Server Keep Alive from CONNACK (overrides the client's).
    pub server_keep_alive: Option<u16>,
    /// Time of the last client packet.
    pub last_client_ts: Option<Timestamp>,
    /// The current silence was already reported.
    pub keepalive_lapse_reported: bool,
    /// DISCONNECT seen: who sent it and the reason code.
    pub disconnect: Option<(Direction, u8)>,
    /// Open run of undecodable packets per direction: (anomaly index, further failures).
    pub decode_failures: [Option<(usize, u32)>; 2],
    /// A gap happened and no packet decoded since, per direction.
    pub after_gap: [bool; 2],
    /// Non-MQTT bytes already reported since the last good packet, per direction.
    pub not_mqtt_reported: [bool; 2],
    /// The capture layer announced that the next packet of this direction is over its payload
    /// limit (so a truncated packet is over the limit, not cut by a lost segment).
    pub over_limit_announced: [bool; 2],
    /// Reported once per connection.
    pub broker_early_reported: bool,
    /// Reported once per connection.
    pub client_early_reported: bool,
    /// Reported once per connection.
    pub mid_stream_reported: bool,
    /// CONNACK said session present.
    pub resumed: bool,
    /// The client subscribed on this connection.
    pub subscribed_since_connect: bool,
    /// CONNECT asked for a persistent session (kept for a session joined at CONNACK).
    pub persistent_request: bool,
    /// The will announced in CONNECT: topic, payload hash, Will Delay Interval (seconds).
    pub will: Option<(Sym, u64, u32)>,
    /// PUBLISHes to other clients that look like this connection's will, seen since its last
    /// packet (they become the will's copies if the connection then ends without DISCONNECT).
    pub will_copies: Vec<crate::model::DeliveryCopy>,
    /// A CONNACK arrived with no CONNECT: (packet, frame, time), reported unless a gap turns
    /// out to have hidden the CONNECT.
    pub connack_without_connect: Option<(u64, u64, Timestamp)>,
    /// A gap swallowed bytes before the client's first packet.
    pub start_lost: bool,
    /// The connection ended.
    pub closed: bool,
}

impl ConnState {
    /// Fresh state for a new connection.
    pub fn new(idx: u32, roles_from: RoleSource) -> ConnState {
        ConnState {
            idx,
            roles_from,
            version: None,
            connect_seen: false,
            connack_seen: false,
            client_spoke: false,
            connect_tx: None,
            auth_tx: None,
            pings: VecDeque::new(),
            inflight: FxHashMap::default(),
            orphans: Vec::new(),
            qos_inflight: [0; 2],
            flight_count: [0; 2],
            over_receive_max: [false; 2],
            over_in_flight: [false; 2],
            aliases: [FxHashMap::default(), FxHashMap::default()],
            last_topic: [None; 2],
            keep_alive: None,
            server_keep_alive: None,
            last_client_ts: None,
            keepalive_lapse_reported: false,
            disconnect: None,
            decode_failures: [None; 2],
            after_gap: [false; 2],
            not_mqtt_reported: [false; 2],
            over_limit_announced: [false; 2],
            broker_early_reported: false,
            client_early_reported: false,
            mid_stream_reported: false,
            resumed: false,
            subscribed_since_connect: false,
            persistent_request: false,
            will: None,
            will_copies: Vec::new(),
            start_lost: false,
            connack_without_connect: None,
            closed: false,
        }
    }

    /// The keep alive in force: the broker's Server Keep Alive wins (MQTT 5.0 §3.2.2.3.14).
    pub fn effective_keep_alive(&self) -> Option<u16> {
        self.server_keep_alive.or(self.keep_alive)
    }

    /// True when the connection's start is in the capture: a TCP handshake was seen and no gap
    /// hid the first client bytes. Only then is a missing CONNECT a protocol error.
    pub fn start_seen(&self) -> bool {
        self.roles_from == RoleSource::Handshake && !self.start_lost
    }

    /// Takes every unfinished transaction out of the tables.
    pub fn take_unfinished(&mut self) -> Vec<TxHandle> {
        let mut handles: Vec<TxHandle> = self.inflight.drain().map(|(_, f)| f.tx).collect();
        self.flight_count = [0; 2];
        self.qos_inflight = [0; 2];
        handles.extend(self.pings.drain(..));
        handles.extend(self.connect_tx.take());
        handles.extend(self.auth_tx.take());
        handles.append(&mut self.orphans);
        handles
    }

    /// Frees the tables of a closed connection.
    pub fn release_memory(&mut self) {
        self.inflight = FxHashMap::default();
        self.aliases = [FxHashMap::default(), FxHashMap::default()];
        self.pings = VecDeque::new();
        self.orphans = Vec::new();
    }

    /// Records a flight (counts per direction kept in step with the map).
    pub fn insert_flight(&mut self, dir: Direction, pid: u16, flight: Flight) {
        let k = dir_slot(dir);
        if let Some(old) = self.inflight.insert((dir, pid), flight) {
            self.uncount(k, &old);
        }
        self.flight_count[k] += 1;
        if flight.is_publish {
            self.qos_inflight[k] += 1;
        }
    }

    /// Removes a flight.
    pub fn remove_flight(&mut self, dir: Direction, pid: u16) -> Option<Flight> {
        let f = self.inflight.remove(&(dir, pid))?;
        self.uncount(dir_slot(dir), &f);
        Some(f)
    }

    fn uncount(&mut self, k: usize, f: &Flight) {
        self.flight_count[k] = self.flight_count[k].saturating_sub(1);
        if f.is_publish {
            self.qos_inflight[k] = self.qos_inflight[k].saturating_sub(1);
        }
    }
}

/// 0 for to-broker, 1 for to-client.
pub(crate) fn dir_slot(dir: Direction) -> usize {
    match dir {
        Direction::ToBroker => 0,
        Direction::ToClient => 1,
    }
}

/// The connections' states by `tcp.stream`, with a one-entry cache: one packet's analysis looks
/// its connection up many times, and consecutive packets mostly share a connection.
#[derive(Debug, Default)]
pub(crate) struct Conns {
    by_stream: FxHashMap<u32, usize>,
    states: Vec<ConnState>,
    last: Cell<Option<(u32, usize)>>,
}

impl Conns {
    #[inline]
    fn slot(&self, stream: u32) -> Option<usize> {
        if let Some((s, i)) = self.last.get()
            && s == stream
        {
            return Some(i);
        }
        let i = *self.by_stream.get(&stream)?;
        self.last.set(Some((stream, i)));
        Some(i)
    }

    /// The state of a stream.
    #[inline]
    pub fn get(&self, stream: &u32) -> Option<&ConnState> {
        self.slot(*stream).and_then(|i| self.states.get(i))
    }

    /// The state of a stream, mutable.
    #[inline]
    pub fn get_mut(&mut self, stream: &u32) -> Option<&mut ConnState> {
        self.slot(*stream).and_then(|i| self.states.get_mut(i))
    }

    /// True when the stream is known.
    pub fn contains_key(&self, stream: &u32) -> bool {
        self.slot(*stream).is_some()
    }

    /// Adds the state of a (new or reused) stream; the stream now names it.
    pub fn insert(&mut self, stream: u32, state: ConnState) {
        self.states.push(state);
        self.by_stream.insert(stream, self.states.len() - 1);
        self.last.set(None);
    }

    /// Takes the unfinished transactions of every connection (by connection index).
    pub fn take_all_unfinished(&mut self) -> Vec<(u32, Vec<TxHandle>)> {
        self.states
            .iter_mut()
            .map(|st| (st.idx, st.take_unfinished()))
            .filter(|(_, h)| !h.is_empty())
            .collect()
    }

    /// Streams whose current connection is still open.
    pub fn open_streams(&self) -> Vec<u32> {
        let mut v: Vec<u32> = self
            .by_stream
            .iter()
            .filter(|&(_, &i)| self.states.get(i).is_some_and(|s| !s.closed))
            .map(|(&s, _)| s)
            .collect();
        v.sort_unstable();
        v
    }
}
