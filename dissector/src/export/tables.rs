//! The six tables: how each row is made from the model. Columns that are also fields of the
//! per-packet JSON lines (shared/ARCHITECTURE.md) keep those names and meanings.

use std::collections::{HashMap, HashSet};

use super::schema::{column_name, table};
use crate::codec::PacketType;
use crate::filter::{Filter, transport_name};
use crate::input::{Direction, RoleSource, Timestamp};
use crate::model::{PacketRecord, Sym, Trace};

table!(PacketRow<'a>, PacketBuilder {
    frame: u64 = "frame holding the packet's last byte (Wireshark's frame.number)",
    first_frame: u64 = "frame holding the packet's first byte",
    ts: f64 = "capture time of `frame`, seconds since the Unix epoch",
    stream: Option<u32> = "connection (Wireshark's tcp.stream)",
    src: Option<&'a str> = "source endpoint, ip:port or [ipv6]:port",
    dst: Option<&'a str> = "destination endpoint",
    dir: &'a str = "to_broker or to_client",
    client_id: Option<&'a str> = "client identifier of the connection",
    r#type as "type": &'a str = "packet type name: CONNECT … AUTH",
    type_id: u32 = "packet type number, 1-15",
    version: Option<u32> = "protocol level the packet was decoded with: 3, 4 or 5",
    dup: bool = "PUBLISH DUP flag (false for other types)",
    qos: u32 = "PUBLISH QoS (0 for other types)",
    retain: bool = "PUBLISH RETAIN flag (false for other types)",
    packet_id: Option<u32> = "packet identifier, on the types that carry one",
    topic: Option<&'a str> = "PUBLISH topic (resolved through topic aliases) or first SUBSCRIBE/UNSUBSCRIBE filter",
    reason_code: Option<u32> = "reason or return code (first one of SUBACK/UNSUBACK)",
    remaining_length: u64 = "remaining length: bytes after the fixed header",
    fixed_header_len: u32 = "fixed header bytes (2-5)",
    variable_header_len: u32 = "variable header bytes, properties not counted",
    properties_len: u32 = "MQTT 5 property bytes, length field included",
    payload_len: u32 = "payload bytes",
    packet_len: u64 = "whole packet bytes: fixed header + remaining length",
    truncated: bool = "only the start of the packet was kept (over the payload limit)",
    decode_error: bool = "the packet could not be decoded past its fixed header",
    topic_from_alias: bool = "the topic came from a topic alias, not from the packet",
    transaction: Option<u64> = "the packet's transaction: `id` in the transactions table",
    latency_ms: Option<f64> = "latency of that transaction, milliseconds",
    incomplete: bool = "that transaction never completed",
    anomalies: String = "codes of the anomalies found on the packet, space-separated",
});

table!(ConnectionRow<'a>, ConnectionBuilder {
    stream: u32 = "Wireshark's tcp.stream",
    client: &'a str = "client endpoint, ip:port or [ipv6]:port",
    broker: &'a str = "broker endpoint",
    transport: &'a str = "tcp, websocket or tls",
    roles_from: &'a str = "how client and broker were told apart: handshake, port or connect",
    client_id: Option<&'a str> = "client identifier from CONNECT",
    username: Option<&'a str> = "user name from CONNECT",
    password: Option<&'a str> = "password text: only when the capture was analysed with passwords shown, else null",
    password_len: Option<u32> = "password length in bytes, when CONNECT had one",
    version: Option<u32> = "protocol level: 3, 4 or 5",
    version_inferred: bool = "the version was guessed (no CONNECT seen)",
    keep_alive: Option<u32> = "keep alive from CONNECT, seconds",
    clean_start: Option<bool> = "clean session (3.x) or clean start (5.0)",
    will_topic: Option<&'a str> = "will topic, when CONNECT had a will",
    connack_code: Option<u32> = "CONNACK return or reason code",
    session_present: Option<bool> = "CONNACK session present",
    opened_ts: f64 = "time of the first segment, seconds since the Unix epoch",
    opened_frame: u64 = "frame of the first segment",
    closed_ts: Option<f64> = "time it closed",
    closed_frame: Option<u64> = "frame it closed at",
    closed_by: Option<&'a str> = "disconnect, fin, rst, idle, keepalive or capture_end",
    closed_side: Option<&'a str> = "client or broker: who sent the RST or the first FIN",
    duration_s: f64 = "seconds from open to close (or to the end of the capture)",
    packets_to_broker: u64 = "MQTT packets client to broker",
    packets_to_client: u64 = "MQTT packets broker to client",
    bytes_to_broker: u64 = "MQTT bytes client to broker",
    bytes_to_client: u64 = "MQTT bytes broker to client",
    transactions: u64 = "transactions on the connection",
    incomplete: u64 = "transactions that never completed",
    anomalies: u64 = "anomalies on the connection",
    gap_bytes: u64 = "bytes lost in TCP gaps",
});

table!(TransactionRow<'a>, TransactionBuilder {
    id: u64 = "transaction number (the packets table's `transaction`)",
    stream: Option<u32> = "connection (tcp.stream)",
    client_id: Option<&'a str> = "client identifier of the connection",
    kind: &'a str = "connect, subscribe, unsubscribe, ping, qos1, qos2 or auth",
    dir: &'a str = "direction of the request or PUBLISH: to_broker or to_client",
    packet_id: Option<u32> = "packet identifier",
    qos: u32 = "QoS of the PUBLISH (0 for other kinds)",
    topic: Option<&'a str> = "topic of the PUBLISH, or first filter",
    state: &'a str = "complete, in_flight, incomplete_at_close, incomplete_at_capture_end, failed, out_of_order or response_without_request",
    incomplete: bool = "the transaction never completed",
    seen: String = "packet types seen, in order, space-separated",
    missing: String = "packet types still owed, space-separated",
    first_frame: Option<u64> = "frame of the first step",
    last_frame: Option<u64> = "frame of the last step",
    start_ts: Option<f64> = "time of the first step, seconds since the Unix epoch",
    end_ts: Option<f64> = "time of the last step, or of the end that cut it short",
    ended_by: Option<&'a str> = "for incomplete ones: disconnect, fin, rst, idle, keepalive or capture_end",
    latency_ms: Option<f64> = "request to final response, milliseconds",
    retransmissions: u32 = "retransmitted PUBLISHes (DUP)",
    reason_codes: String = "reason codes of the responses, decimal, space-separated",
});

table!(AnomalyRow<'a>, AnomalyBuilder {
    code: &'a str = "stable code, MQ-… (docs/anomalies.md)",
    severity: &'a str = "error, warning or note",
    title: &'a str = "what the code means",
    stream: Option<u32> = "connection (tcp.stream)",
    client_id: Option<&'a str> = "client identifier of the connection",
    frame: u64 = "frame where it was seen",
    ts: f64 = "time, seconds since the Unix epoch",
    dir: Option<&'a str> = "to_broker or to_client, when known",
    offset: Option<u32> = "byte offset inside the packet, when it points at a field",
    message: &'a str = "the specifics: ids, sizes, limits",
});

table!(DeliveryRow<'a>, DeliveryBuilder {
    publish_frame: Option<u64> = "frame of the PUBLISH into the broker",
    ts: f64 = "time of that PUBLISH, seconds since the Unix epoch",
    stream: Option<u32> = "publisher's connection (tcp.stream)",
    client_id: Option<&'a str> = "publisher's client identifier",
    topic: &'a str = "topic",
    payload_len: u32 = "payload bytes",
    payload_hash: String = "FNV-1a 64 hash of the payload, 16 hex digits",
    fanout: u32 = "copies the broker sent",
    subscriber_stream: Option<u32> = "this copy's connection (null when no copy was seen)",
    subscriber_client_id: Option<&'a str> = "this copy's client identifier",
    delivery_frame: Option<u64> = "frame of this copy",
    latency_ms: Option<f64> = "broker latency of this copy, milliseconds",
});

table!(TopicRow<'a>, TopicBuilder {
    topic: &'a str = "topic name (or SUBSCRIBE filter)",
    publishes: u64 = "PUBLISH packets",
    publishes_to_broker: u64 = "PUBLISH packets from clients",
    publishes_to_client: u64 = "PUBLISH packets to subscribers",
    payload_bytes: u64 = "payload bytes of those PUBLISHes",
    header_bytes: u64 = "bytes before the payload in those PUBLISHes",
    qos0: u64 = "QoS 0 PUBLISHes",
    qos1: u64 = "QoS 1 PUBLISHes",
    qos2: u64 = "QoS 2 PUBLISHes",
    retained: u64 = "PUBLISHes with RETAIN",
    subscribes: u64 = "SUBSCRIBE packets whose first filter is this",
    publishers: u64 = "connections that published to it",
    first_ts: f64 = "first packet, seconds since the Unix epoch",
    last_ts: f64 = "last packet, seconds since the Unix epoch",
});

/// Which rows a filter keeps; computed once per export.
pub(crate) struct Selection {
    /// Per packet position: kept? `None` keeps all.
    packets: Option<Vec<bool>>,
    /// Per connection index: kept? `None` keeps all.
    connections: Option<Vec<bool>>,
    /// Per transaction index: has a kept packet? `None` keeps all.
    transactions: Option<Vec<bool>>,
}

impl Selection {
    pub(crate) fn new(trace: &Trace, filter: Option<&Filter>) -> Selection {
        let Some(filter) = filter.filter(|f| !f.is_all()) else {
            return Selection {
                packets: None,
                connections: None,
                transactions: None,
            };
        };
        let mut packets = vec![false; trace.packets.len()];
        let mut transactions = vec![false; trace.transactions.len()];
        for i in filter.matching_packets(trace) {
            if let Some(p) = packets.get_mut(i) {
                *p = true;
            }
            // Each step packet names its transaction, so one pass finds the kept transactions.
            let tx = trace.packets.get(i).and_then(PacketRecord::transaction);
            if let Some(t) = tx.and_then(|t| transactions.get_mut(t)) {
                *t = true;
            }
        }
        let mut connections = vec![false; trace.connections.len()];
        for i in filter.matching_connections(trace) {
            if let Some(c) = connections.get_mut(i) {
                *c = true;
            }
        }
        Selection {
            packets: Some(packets),
            connections: Some(connections),
            transactions: Some(transactions),
        }
    }

    fn packet_position(trace: &Trace, idx: u64) -> Option<usize> {
        usize::try_from(idx.checked_sub(trace.packet_base)?).ok()
    }

    /// Is the packet at this position kept?
    fn packet(&self, pos: usize) -> bool {
        self.packets
            .as_ref()
            .is_none_or(|m| m.get(pos).copied().unwrap_or(false))
    }

    /// Is the packet with this model packet index kept?
    fn packet_index(&self, trace: &Trace, idx: u64) -> bool {
        match &self.packets {
            None => true,
            Some(mask) => Self::packet_position(trace, idx)
                .and_then(|p| mask.get(p).copied())
                .unwrap_or(false),
        }
    }

    fn connection(&self, idx: usize) -> bool {
        self.connections
            .as_ref()
            .is_none_or(|m| m.get(idx).copied().unwrap_or(false))
    }
}

/// Endpoint strings, formatted once per connection rather than once per packet.
pub(crate) struct Endpoints {
    client: Vec<String>,
    broker: Vec<String>,
}

impl Endpoints {
    pub(crate) fn new(trace: &Trace) -> Endpoints {
        Endpoints {
            client: trace
                .connections
                .iter()
                .map(|c| c.client.to_string())
                .collect(),
            broker: trace
                .connections
                .iter()
                .map(|c| c.broker.to_string())
                .collect(),
        }
    }
}

fn secs(ts: Timestamp) -> f64 {
    ts.as_secs_f64()
}

fn ms(nanos: i64) -> f64 {
    nanos as f64 / 1e6
}

fn join<T: std::fmt::Display>(items: impl Iterator<Item = T>) -> String {
    let mut out = String::new();
    for item in items {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(&item.to_string());
    }
    out
}

fn roles_name(r: RoleSource) -> &'static str {
    match r {
        RoleSource::Handshake => "handshake",
        RoleSource::Port => "port",
        RoleSource::Connect => "connect",
    }
}

fn stream_of(trace: &Trace, conn: u32) -> Option<u32> {
    trace.connection(conn as usize).map(|c| c.stream)
}

fn client_id_of(trace: &Trace, conn: u32) -> Option<&str> {
    trace
        .connection(conn as usize)
        .and_then(|c| trace.opt_str(c.client_id))
}

/// Calls `emit` with every kept packet row, in capture order.
pub(crate) fn packet_rows<'a>(
    trace: &'a Trace,
    sel: &Selection,
    ends: &'a Endpoints,
    mut emit: impl FnMut(PacketRow<'a>) -> std::io::Result<()>,
) -> std::io::Result<()> {
    for (pos, r) in trace.packets.iter().enumerate() {
        if !sel.packet(pos) {
            continue;
        }
        let idx = trace.packet_base.saturating_add(pos as u64);
        let conn = r.conn as usize;
        let (client, broker) = (
            ends.client.get(conn).map(String::as_str),
            ends.broker.get(conn).map(String::as_str),
        );
        let (src, dst) = match r.dir {
            crate::input::Direction::ToBroker => (client, broker),
            crate::input::Direction::ToClient => (broker, client),
        };
        let tx = r
            .transaction()
            .and_then(|t| trace.transactions.get(t).map(|tx| (t, tx)));
        let anomalies = if r.has_anomalies() {
            join(trace.anomalies_of_packet(idx).map(|a| a.code.code()))
        } else {
            String::new()
        };
        emit(PacketRow {
            frame: r.frame,
            first_frame: r.first_frame(),
            ts: secs(r.ts),
            stream: stream_of(trace, r.conn),
            src,
            dst,
            dir: r.dir.as_str(),
            client_id: client_id_of(trace, r.conn),
            r#type: r.packet_type.name(),
            type_id: u32::from(r.packet_type.id()),
            version: r.version.map(|v| u32::from(v.level())),
            dup: r.dup(),
            qos: u32::from(r.qos()),
            retain: r.retain(),
            packet_id: r.packet_id.map(u32::from),
            topic: trace.opt_str(r.topic),
            reason_code: r.reason_code.map(u32::from),
            remaining_length: r.remaining_length(),
            fixed_header_len: u32::from(r.fixed_len),
            variable_header_len: r.variable_len,
            properties_len: r.properties_len,
            payload_len: r.payload_len,
            packet_len: r.packet_len(),
            truncated: r.truncated(),
            decode_error: r.decode_error(),
            topic_from_alias: r.marks.has(crate::model::PacketMarks::TOPIC_FROM_ALIAS),
            transaction: tx.map(|(t, _)| t as u64),
            latency_ms: tx.and_then(|(_, t)| t.latency_nanos).map(ms),
            incomplete: tx.is_some_and(|(_, t)| t.state.is_incomplete()),
            anomalies,
        })?;
    }
    Ok(())
}

/// Calls `emit` with every kept connection row.
pub(crate) fn connection_rows<'a>(
    trace: &'a Trace,
    sel: &Selection,
    ends: &'a Endpoints,
    mut emit: impl FnMut(ConnectionRow<'a>) -> std::io::Result<()>,
) -> std::io::Result<()> {
    // Per-connection transaction counts in one pass over the transactions.
    let mut tx_counts = vec![(0u64, 0u64); trace.connections.len()];
    for t in &trace.transactions {
        if let Some(c) = tx_counts.get_mut(t.conn as usize) {
            c.0 += 1;
            c.1 += u64::from(t.state.is_incomplete());
        }
    }
    let end = trace
        .totals
        .last_ts
        .or_else(|| trace.packets.last().map(|p| p.ts));
    for (i, c) in trace.connections.iter().enumerate() {
        if !sel.connection(i) {
            continue;
        }
        let (transactions, incomplete) = tx_counts.get(i).copied().unwrap_or_default();
        emit(ConnectionRow {
            stream: c.stream,
            client: ends.client.get(i).map_or("", String::as_str),
            broker: ends.broker.get(i).map_or("", String::as_str),
            transport: transport_name(c.transport),
            roles_from: roles_name(c.roles_from),
            client_id: trace.opt_str(c.client_id),
            username: trace.opt_str(c.username),
            // The analyzer decides redaction: the text is only there when it was asked to keep it.
            password: c.password.as_ref().and_then(|p| p.text.as_deref()),
            password_len: c.password.as_ref().map(|p| p.len),
            version: c.version.map(|v| u32::from(v.level())),
            version_inferred: c.version_inferred,
            keep_alive: c.keep_alive.map(u32::from),
            clean_start: c.clean_start,
            will_topic: c.will.as_ref().map(|w| trace.str(w.topic)),
            connack_code: c.connack_code.map(u32::from),
            session_present: c.session_present,
            opened_ts: secs(c.opened_ts),
            opened_frame: c.opened_frame,
            closed_ts: c.closed_ts.map(secs),
            closed_frame: c.closed_frame,
            closed_by: c.closed_by.map(|b| b.as_str()),
            closed_side: c.closed_side.map(Direction::sender),
            duration_s: c.duration_nanos(end.unwrap_or(c.opened_ts)).max(0) as f64 / 1e9,
            packets_to_broker: c.to_broker.packets,
            packets_to_client: c.to_client.packets,
            bytes_to_broker: c.to_broker.bytes,
            bytes_to_client: c.to_client.bytes,
            transactions,
            incomplete,
            anomalies: u64::from(c.anomaly_count),
            gap_bytes: c.gap_bytes,
        })?;
    }
    Ok(())
}

/// Calls `emit` with every transaction that has a kept packet.
pub(crate) fn transaction_rows<'a>(
    trace: &'a Trace,
    sel: &Selection,
    mut emit: impl FnMut(TransactionRow<'a>) -> std::io::Result<()>,
) -> std::io::Result<()> {
    for (id, t) in trace.transactions.iter().enumerate() {
        if !sel
            .transactions
            .as_ref()
            .is_none_or(|m| m.get(id).copied().unwrap_or(false))
        {
            continue;
        }
        let first = t.steps.first();
        let last = t.steps.last();
        emit(TransactionRow {
            id: id as u64,
            stream: stream_of(trace, t.conn),
            client_id: client_id_of(trace, t.conn),
            kind: t.kind.as_str(),
            dir: t.dir.as_str(),
            packet_id: t.packet_id.map(u32::from),
            qos: u32::from(t.qos),
            topic: trace.opt_str(t.topic),
            state: t.state.as_str(),
            incomplete: t.state.is_incomplete(),
            seen: join(t.seen().map(PacketType::name)),
            missing: join(t.missing().iter().map(|p| p.name())),
            first_frame: first.map(|s| s.frame),
            last_frame: last.map(|s| s.frame),
            start_ts: t.start_ts().map(secs),
            end_ts: t.ended_ts.or(last.map(|s| s.ts)).map(secs),
            ended_by: t
                .ended_by
                .filter(|_| t.state.is_incomplete())
                .map(|b| b.as_str()),
            latency_ms: t.latency_nanos.map(ms),
            retransmissions: u32::try_from(t.retransmissions.len()).unwrap_or(u32::MAX),
            reason_codes: join(t.reason_codes.iter()),
        })?;
    }
    Ok(())
}

/// Calls `emit` with every anomaly on a kept packet (or, for anomalies of a whole connection,
/// on a kept connection).
pub(crate) fn anomaly_rows<'a>(
    trace: &'a Trace,
    sel: &Selection,
    mut emit: impl FnMut(AnomalyRow<'a>) -> std::io::Result<()>,
) -> std::io::Result<()> {
    for a in &trace.anomalies {
        let kept = match (a.packet, a.conn) {
            (Some(p), _) => sel.packet_index(trace, p),
            (None, Some(c)) => sel.connection(c as usize),
            (None, None) => sel.packets.is_none(),
        };
        if !kept {
            continue;
        }
        emit(AnomalyRow {
            code: a.code.code(),
            severity: a.severity.as_str(),
            title: a.code.title(),
            stream: a.conn.and_then(|c| stream_of(trace, c)),
            client_id: a.conn.and_then(|c| client_id_of(trace, c)),
            frame: a.frame,
            ts: secs(a.ts),
            dir: a.dir.map(|d| d.as_str()),
            offset: a.offset,
            message: &a.message,
        })?;
    }
    Ok(())
}

/// Calls `emit` with one row per delivered copy (one row with empty copy columns for a PUBLISH
/// no copy of which was seen), for deliveries whose incoming PUBLISH is kept.
pub(crate) fn delivery_rows<'a>(
    trace: &'a Trace,
    sel: &Selection,
    mut emit: impl FnMut(DeliveryRow<'a>) -> std::io::Result<()>,
) -> std::io::Result<()> {
    for d in &trace.deliveries {
        if !sel.packet_index(trace, d.publish) {
            continue;
        }
        let row = |copy: Option<&crate::model::DeliveryCopy>| DeliveryRow {
            publish_frame: trace.packet(d.publish).map(|p| p.frame),
            ts: secs(d.ts),
            stream: stream_of(trace, d.conn),
            client_id: client_id_of(trace, d.conn),
            topic: trace.str(d.topic),
            payload_len: d.payload_len,
            payload_hash: format!("{:016x}", d.payload_hash),
            fanout: u32::try_from(d.fanout.len()).unwrap_or(u32::MAX),
            subscriber_stream: copy.and_then(|c| stream_of(trace, c.conn)),
            subscriber_client_id: copy.and_then(|c| client_id_of(trace, c.conn)),
            delivery_frame: copy.and_then(|c| trace.packet(c.packet)).map(|p| p.frame),
            latency_ms: copy.map(|c| ms(c.latency_nanos)),
        };
        if d.fanout.is_empty() {
            emit(row(None))?;
        }
        for copy in &d.fanout {
            emit(row(Some(copy)))?;
        }
    }
    Ok(())
}

#[derive(Default)]
struct TopicAgg {
    publishes: u64,
    to_broker: u64,
    to_client: u64,
    payload: u64,
    header: u64,
    qos: [u64; 3],
    retained: u64,
    subscribes: u64,
    publishers: HashSet<u32>,
    first: Option<Timestamp>,
    last: Option<Timestamp>,
}

impl TopicAgg {
    fn add(&mut self, r: &PacketRecord) {
        self.first = Some(self.first.map_or(r.ts, |f| f.min(r.ts)));
        self.last = Some(self.last.map_or(r.ts, |l| l.max(r.ts)));
        match r.packet_type {
            PacketType::Publish => {
                self.publishes += 1;
                self.payload += u64::from(r.payload_len);
                self.header += r.packet_len().saturating_sub(u64::from(r.payload_len));
                if let Some(q) = self.qos.get_mut(usize::from(r.qos())) {
                    *q += 1;
                }
                self.retained += u64::from(r.retain());
                match r.dir {
                    crate::input::Direction::ToBroker => {
                        self.to_broker += 1;
                        self.publishers.insert(r.conn);
                    }
                    crate::input::Direction::ToClient => self.to_client += 1,
                }
            }
            PacketType::Subscribe => self.subscribes += 1,
            _ => {}
        }
    }
}

/// Calls `emit` with one row per topic of the kept packets, in order of first appearance.
pub(crate) fn topic_rows<'a>(
    trace: &'a Trace,
    sel: &Selection,
    mut emit: impl FnMut(TopicRow<'a>) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let mut order: Vec<Sym> = Vec::new();
    let mut aggs: HashMap<Sym, TopicAgg> = HashMap::new();
    for (pos, r) in trace.packets.iter().enumerate() {
        let Some(topic) = r.topic.filter(|_| sel.packet(pos)) else {
            continue;
        };
        aggs.entry(topic)
            .or_insert_with(|| {
                order.push(topic);
                TopicAgg::default()
            })
            .add(r);
    }
    for topic in order {
        let Some(a) = aggs.get(&topic) else { continue };
        emit(TopicRow {
            topic: trace.str(topic),
            publishes: a.publishes,
            publishes_to_broker: a.to_broker,
            publishes_to_client: a.to_client,
            payload_bytes: a.payload,
            header_bytes: a.header,
            qos0: a.qos[0],
            qos1: a.qos[1],
            qos2: a.qos[2],
            retained: a.retained,
            subscribes: a.subscribes,
            publishers: a.publishers.len() as u64,
            first_ts: a.first.map_or(0.0, secs),
            last_ts: a.last.map_or(0.0, secs),
        })?;
    }
    Ok(())
}
