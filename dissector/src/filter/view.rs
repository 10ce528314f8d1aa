//! [`FieldSource`] implementations over the flow model: a packet of a [`Trace`] and a connection
//! of a [`Trace`]. The filter language itself knows nothing of the model's layout; this file is
//! the one place that maps field ids to model data.

use std::net::SocketAddr;
use std::ops::ControlFlow;

use super::{Field, FieldSource, FieldValue, Filter};
use crate::codec::{Packet, PacketType, ProtocolVersion};
use crate::input::{Direction, Transport};
use crate::model::{Connection, PacketMarks, PacketRecord, Trace};

type Visit<'v> = &'v mut dyn FnMut(FieldValue<'_>) -> ControlFlow<()>;

const CONTINUE: ControlFlow<()> = ControlFlow::Continue(());

/// One packet of a trace, as a filter sees it.
#[derive(Debug, Clone, Copy)]
pub struct PacketView<'t> {
    trace: &'t Trace,
    /// The model's packet index (`trace.packet_base` + position in `trace.packets`).
    packet_index: u64,
    record: &'t PacketRecord,
    conn: Option<&'t Connection>,
    /// The packet's bytes when the caller has them (the analyzer's callback); otherwise they are
    /// looked up in the trace, which has them only when it kept raw bytes.
    bytes: Option<&'t [u8]>,
}

impl<'t> PacketView<'t> {
    /// The packet at position `index` of `trace.packets` (not the packet index, which starts at
    /// `trace.packet_base`); `None` when out of range.
    pub fn new(trace: &'t Trace, index: usize) -> Option<PacketView<'t>> {
        let record = trace.packets.get(index)?;
        let packet_index = trace.packet_base.saturating_add(index as u64);
        Some(PacketView::from_record(trace, packet_index, record))
    }

    /// A packet whose record is not (or not yet) in `trace.packets`: the streaming analyzer's
    /// packet callback (`mqscope read -Y`, `live -Y`) hands out records it does not keep.
    /// `packet_index` is the model's packet index, which anomalies refer to.
    pub fn from_record(
        trace: &'t Trace,
        packet_index: u64,
        record: &'t PacketRecord,
    ) -> PacketView<'t> {
        let conn = trace.connection(record.conn as usize);
        PacketView {
            trace,
            packet_index,
            record,
            conn,
            bytes: None,
        }
    }

    /// The view of a packet the analyzer's callback reports, with its bytes.
    pub fn from_analyzed(
        trace: &'t Trace,
        packet: crate::analyze::PacketView<'t>,
    ) -> PacketView<'t> {
        PacketView {
            bytes: Some(packet.bytes),
            ..PacketView::from_record(trace, packet.index, packet.record)
        }
    }

    /// The packet's record.
    pub fn record(&self) -> &'t PacketRecord {
        self.record
    }

    /// The packet's protocol version, else its connection's.
    fn version(&self) -> Option<ProtocolVersion> {
        self.record
            .version
            .or_else(|| self.conn.and_then(|c| c.version))
    }

    fn is_v5(&self) -> bool {
        self.version() == Some(ProtocolVersion::V5)
    }

    /// True when the fixed header's bits 1-3 are QoS and DUP: PUBLISH, and in MQTT 3.1 also
    /// PUBREL, SUBSCRIBE and UNSUBSCRIBE.
    fn has_qos_bits(&self) -> bool {
        match self.record.packet_type {
            PacketType::Publish => true,
            PacketType::PubRel | PacketType::Subscribe | PacketType::Unsubscribe => {
                self.version() == Some(ProtocolVersion::V3_1)
            }
            _ => false,
        }
    }

    /// Every reason code of the packet: all of a SUBACK / UNSUBACK when its bytes are at hand,
    /// else the record's (first) one.
    fn reason_codes(&self, visit: Visit<'_>) -> ControlFlow<()> {
        let codes: &[u8] = match self.decoded() {
            Some(Packet::SubAck(ack)) => ack.reason_codes,
            Some(Packet::UnsubAck(ack)) => ack.reason_codes,
            _ => {
                return self
                    .record
                    .reason_code
                    .map_or(CONTINUE, |c| visit(FieldValue::Unsigned(u64::from(c))));
            }
        };
        codes
            .iter()
            .try_for_each(|&c| visit(FieldValue::Unsigned(u64::from(c))))
    }

    /// Source and destination endpoints, from the connection's roles and the direction.
    fn endpoints(&self) -> Option<(SocketAddr, SocketAddr)> {
        let conn = self.conn?;
        Some(match self.record.dir {
            Direction::ToBroker => (conn.client, conn.broker),
            Direction::ToClient => (conn.broker, conn.client),
        })
    }

    /// The decoded packet, for the list-valued fields the compact record keeps only the first
    /// of; `None` unless it is a SUBSCRIBE, SUBACK, UNSUBSCRIBE or UNSUBACK whose raw bytes the
    /// trace kept and that decodes.
    fn decoded(&self) -> Option<Packet<'t>> {
        let listed = matches!(
            self.record.packet_type,
            PacketType::Subscribe
                | PacketType::SubAck
                | PacketType::Unsubscribe
                | PacketType::UnsubAck
        );
        if !listed || self.record.truncated() {
            return None;
        }
        let version = self.version()?;
        let raw = self.bytes.or_else(|| self.trace.raw(self.packet_index))?;
        crate::codec::decode(raw, version).ok().map(|d| d.packet)
    }
}

impl FieldSource for PacketView<'_> {
    fn visit(&self, field: Field, visit: Visit<'_>) -> ControlFlow<()> {
        let r = self.record;
        let trace = self.trace;
        let is_publish = r.packet_type == PacketType::Publish;
        match field {
            Field::Mqtt => visit(FieldValue::Bool(true)),
            Field::FrameNumber => visit(FieldValue::Unsigned(r.frame)),
            Field::FrameTimeEpoch => visit(FieldValue::Float(r.ts.as_secs_f64())),
            Field::FrameTimeRelative => visit(FieldValue::Float(relative_secs(trace, r))),
            Field::TcpStream => self.conn.map_or(CONTINUE, |c| {
                visit(FieldValue::Unsigned(u64::from(c.stream)))
            }),
            Field::IpAddr => self.endpoints().map_or(CONTINUE, |(s, d)| {
                visit(FieldValue::Ip(s.ip()))?;
                visit(FieldValue::Ip(d.ip()))
            }),
            Field::IpSrc => self
                .endpoints()
                .map_or(CONTINUE, |(s, _)| visit(FieldValue::Ip(s.ip()))),
            Field::IpDst => self
                .endpoints()
                .map_or(CONTINUE, |(_, d)| visit(FieldValue::Ip(d.ip()))),
            Field::TcpPort => self.endpoints().map_or(CONTINUE, |(s, d)| {
                visit(FieldValue::Unsigned(u64::from(s.port())))?;
                visit(FieldValue::Unsigned(u64::from(d.port())))
            }),
            Field::TcpSrcPort => self.endpoints().map_or(CONTINUE, |(s, _)| {
                visit(FieldValue::Unsigned(u64::from(s.port())))
            }),
            Field::TcpDstPort => self.endpoints().map_or(CONTINUE, |(_, d)| {
                visit(FieldValue::Unsigned(u64::from(d.port())))
            }),
            Field::MqttMsgType => visit(FieldValue::Unsigned(u64::from(r.packet_type.id()))),
            // QoS and DUP are PUBLISH fields; MQTT 3.1 also gave PUBREL, SUBSCRIBE and UNSUBSCRIBE
            // a QoS (1) and a DUP flag (3.1 §3.6, §3.8, §3.10), and Wireshark shows them there.
            Field::MqttQos if self.has_qos_bits() => {
                visit(FieldValue::Unsigned(u64::from((r.first_byte >> 1) & 0x03)))
            }
            Field::MqttDupFlag if self.has_qos_bits() => {
                visit(FieldValue::Bool(r.first_byte & 0x08 != 0))
            }
            Field::MqttRetain if is_publish => visit(FieldValue::Bool(r.retain())),
            Field::MqttQos | Field::MqttDupFlag | Field::MqttRetain => CONTINUE,
            Field::MqttMsgId => r
                .packet_id
                .map_or(CONTINUE, |id| visit(FieldValue::Unsigned(u64::from(id)))),
            Field::MqttTopic => match self.decoded() {
                // Every topic filter of a SUBSCRIBE / UNSUBSCRIBE, when the raw bytes were kept.
                Some(Packet::Subscribe(sub)) => sub
                    .filters
                    .iter()
                    .try_for_each(|(f, _)| visit(FieldValue::Str(&f.to_string_lossy()))),
                Some(Packet::Unsubscribe(unsub)) => unsub
                    .filters
                    .iter()
                    .try_for_each(|f| visit(FieldValue::Str(&f.to_string_lossy()))),
                _ => trace
                    .opt_str(r.topic)
                    .map_or(CONTINUE, |t| visit(FieldValue::Str(t))),
            },
            Field::MqttClientId => self
                .conn
                .and_then(|c| trace.opt_str(c.client_id))
                .map_or(CONTINUE, |s| visit(FieldValue::Str(s))),
            Field::MqttUsername => self
                .conn
                .and_then(|c| trace.opt_str(c.username))
                .map_or(CONTINUE, |s| visit(FieldValue::Str(s))),
            Field::MqttVersion => r
                .version
                .or_else(|| self.conn.and_then(|c| c.version))
                .map_or(CONTINUE, |v| {
                    visit(FieldValue::Unsigned(u64::from(v.level())))
                }),
            Field::MqttLen => visit(FieldValue::Unsigned(r.remaining_length())),
            Field::MqttReasonCode => self.reason_codes(visit),
            Field::ReasonCodeOf(t) if r.packet_type == t && self.is_v5() => {
                self.reason_codes(visit)
            }
            Field::MqttSubAckQos if r.packet_type == PacketType::SubAck && !self.is_v5() => {
                self.reason_codes(visit)
            }
            Field::ReasonCodeOf(_) | Field::MqttSubAckQos => CONTINUE,
            Field::MqttKeepAlive if r.packet_type == PacketType::Connect => self
                .conn
                .and_then(|c| c.keep_alive)
                .map_or(CONTINUE, |k| visit(FieldValue::Unsigned(u64::from(k)))),
            Field::MqttKeepAlive => CONTINUE,
            Field::Direction => visit(FieldValue::Str(r.dir.as_str())),
            Field::MqttHdrFlags => visit(FieldValue::Unsigned(u64::from(r.first_byte))),
            Field::MqttTopicLen => match self.decoded() {
                Some(Packet::Subscribe(sub)) => sub
                    .filters
                    .iter()
                    .try_for_each(|(f, _)| visit(FieldValue::Unsigned(f.len() as u64))),
                Some(Packet::Unsubscribe(unsub)) => unsub
                    .filters
                    .iter()
                    .try_for_each(|f| visit(FieldValue::Unsigned(f.len() as u64))),
                _ if is_publish && r.marks.has(PacketMarks::TOPIC_FROM_ALIAS) => {
                    visit(FieldValue::Unsigned(0))
                }
                _ if is_publish
                    || r.packet_type == PacketType::Subscribe
                    || r.packet_type == PacketType::Unsubscribe =>
                {
                    trace
                        .opt_str(r.topic)
                        .map_or(CONTINUE, |t| visit(FieldValue::Unsigned(t.len() as u64)))
                }
                _ => CONTINUE,
            },
            Field::MqttWillTopic if r.packet_type == PacketType::Connect => self
                .conn
                .and_then(|c| c.will.as_ref())
                .map_or(CONTINUE, |w| visit(FieldValue::Str(trace.str(w.topic)))),
            Field::MqttWillTopic => CONTINUE,
            Field::MqttConAckVal if r.packet_type == PacketType::ConnAck && !self.is_v5() => r
                .reason_code
                .map_or(CONTINUE, |c| visit(FieldValue::Unsigned(u64::from(c)))),
            Field::MqttConAckVal => CONTINUE,
            Field::PacketLen => visit(FieldValue::Unsigned(r.packet_len())),
            Field::Transport => self.conn.map_or(CONTINUE, |c| {
                visit(FieldValue::Str(transport_name(c.transport)))
            }),
            // The per-packet mark saves the anomaly index lookup on the common, clean packet.
            Field::Anomaly if r.has_anomalies() => trace
                .anomalies_of_packet(self.packet_index)
                .try_for_each(|a| visit(FieldValue::Str(a.code.code()))),
            Field::Severity if r.has_anomalies() => trace
                .anomalies_of_packet(self.packet_index)
                .try_for_each(|a| visit(FieldValue::Str(a.severity.as_str()))),
            Field::Anomaly | Field::Severity => CONTINUE,
            Field::PayloadLen => visit(FieldValue::Unsigned(u64::from(r.payload_len))),
            Field::HeaderLen => visit(FieldValue::Unsigned(
                r.packet_len().saturating_sub(u64::from(r.payload_len)),
            )),
            Field::PropertiesLen => visit(FieldValue::Unsigned(u64::from(r.properties_len))),
            Field::Incomplete => {
                let incomplete = r
                    .transaction()
                    .and_then(|t| trace.transactions.get(t))
                    .is_some_and(|t| t.state.is_incomplete());
                if incomplete {
                    visit(FieldValue::Bool(true))
                } else {
                    CONTINUE
                }
            }
            Field::Latency => r
                .transaction()
                .and_then(|t| trace.transactions.get(t))
                .and_then(|t| t.latency_nanos)
                .map_or(CONTINUE, |ns| visit(FieldValue::Float(ns as f64 / 1e6))),
        }
    }
}

/// The `mqscope.transport` value, also the export's `transport` column.
pub(crate) fn transport_name(t: Transport) -> &'static str {
    match t {
        Transport::Tcp => "tcp",
        Transport::WebSocket => "websocket",
        Transport::Tls => "tls",
    }
}

/// Seconds from the start of the capture (its first frame, else the first event) to the packet.
fn relative_secs(trace: &Trace, r: &PacketRecord) -> f64 {
    let start = trace
        .captures
        .iter()
        .filter_map(|c| c.first_ts)
        .min()
        .or(trace.totals.first_ts)
        .or_else(|| trace.packets.first().map(|p| p.ts))
        .unwrap_or(r.ts);
    r.ts.nanos_since(start) as f64 / 1e9
}

/// One connection of a trace, as a filter sees it: the connection's own fields (stream,
/// endpoints, client id, user name, version, keep alive), the anomalies pointing at it and
/// whether it has an incomplete transaction. Per-packet fields (`mqtt.msgtype`, `mqtt.topic`…)
/// are absent, so a test on them does not match.
#[derive(Debug, Clone, Copy)]
pub struct ConnectionView<'t> {
    trace: &'t Trace,
    conn: &'t Connection,
    index: usize,
    /// Known in advance when many connections are filtered at once (see
    /// [`Filter::matching_connections`]); otherwise looked up when asked.
    incomplete: Option<bool>,
}

impl<'t> ConnectionView<'t> {
    /// The connection at `index` of `trace.connections`; `None` when out of range.
    pub fn new(trace: &'t Trace, index: usize) -> Option<ConnectionView<'t>> {
        let conn = trace.connections.get(index)?;
        Some(ConnectionView {
            trace,
            conn,
            index,
            incomplete: None,
        })
    }

    fn has_incomplete_transaction(&self) -> bool {
        self.incomplete.unwrap_or_else(|| {
            self.trace
                .transactions_of_connection(self.index)
                .any(|(_, t)| t.state.is_incomplete())
        })
    }
}

impl FieldSource for ConnectionView<'_> {
    fn visit(&self, field: Field, visit: Visit<'_>) -> ControlFlow<()> {
        let c = self.conn;
        let trace = self.trace;
        match field {
            Field::Mqtt => visit(FieldValue::Bool(true)),
            Field::FrameNumber => visit(FieldValue::Unsigned(c.opened_frame)),
            Field::FrameTimeEpoch => visit(FieldValue::Float(c.opened_ts.as_secs_f64())),
            Field::TcpStream => visit(FieldValue::Unsigned(u64::from(c.stream))),
            Field::IpAddr => {
                visit(FieldValue::Ip(c.client.ip()))?;
                visit(FieldValue::Ip(c.broker.ip()))
            }
            Field::TcpPort => {
                visit(FieldValue::Unsigned(u64::from(c.client.port())))?;
                visit(FieldValue::Unsigned(u64::from(c.broker.port())))
            }
            Field::MqttClientId => trace
                .opt_str(c.client_id)
                .map_or(CONTINUE, |s| visit(FieldValue::Str(s))),
            Field::MqttUsername => trace
                .opt_str(c.username)
                .map_or(CONTINUE, |s| visit(FieldValue::Str(s))),
            Field::MqttVersion => c.version.map_or(CONTINUE, |v| {
                visit(FieldValue::Unsigned(u64::from(v.level())))
            }),
            Field::MqttKeepAlive => c
                .keep_alive
                .map_or(CONTINUE, |k| visit(FieldValue::Unsigned(u64::from(k)))),
            Field::Anomaly if c.anomaly_count > 0 => trace
                .anomalies_of_connection(self.index)
                .try_for_each(|a| visit(FieldValue::Str(a.code.code()))),
            Field::Severity if c.anomaly_count > 0 => trace
                .anomalies_of_connection(self.index)
                .try_for_each(|a| visit(FieldValue::Str(a.severity.as_str()))),
            Field::Incomplete if self.has_incomplete_transaction() => visit(FieldValue::Bool(true)),
            Field::Transport => visit(FieldValue::Str(transport_name(c.transport))),
            Field::MqttWillTopic => c
                .will
                .as_ref()
                .map_or(CONTINUE, |w| visit(FieldValue::Str(trace.str(w.topic)))),
            Field::MqttConAckVal if c.version != Some(ProtocolVersion::V5) => c
                .connack_code
                .map_or(CONTINUE, |v| visit(FieldValue::Unsigned(u64::from(v)))),
            Field::ReasonCodeOf(PacketType::ConnAck) if c.version == Some(ProtocolVersion::V5) => c
                .connack_code
                .map_or(CONTINUE, |v| visit(FieldValue::Unsigned(u64::from(v)))),
            _ => CONTINUE,
        }
    }
}

impl Filter {
    /// True when the filter holds for the packet at position `index` of `trace.packets`
    /// (false when there is no such packet).
    pub fn matches_packet(&self, trace: &Trace, index: usize) -> bool {
        PacketView::new(trace, index).is_some_and(|p| self.matches(&p))
    }

    /// Positions in `trace.packets` of the packets the filter holds for, in order.
    pub fn matching_packets(&self, trace: &Trace) -> Vec<usize> {
        if self.is_all() {
            return (0..trace.packets.len()).collect();
        }
        (0..trace.packets.len())
            .filter(|&i| self.matches_packet(trace, i))
            .collect()
    }

    /// True when the filter holds for a packet the analyzer's callback reports (streaming
    /// output: the record need not be kept in the trace).
    pub fn matches_analyzed(&self, trace: &Trace, packet: crate::analyze::PacketView<'_>) -> bool {
        self.matches(&PacketView::from_analyzed(trace, packet))
    }

    /// True when the filter holds for the connection at `index` of `trace.connections`, on the
    /// connection's own fields ([`ConnectionView`]); its packets are not looked at.
    pub fn matches_connection(&self, trace: &Trace, index: usize) -> bool {
        ConnectionView::new(trace, index).is_some_and(|c| self.matches(&c))
    }

    /// Indexes in `trace.connections` of the connections the filter selects, in order: those
    /// whose own fields match ([`Filter::matches_connection`]) and those with a packet that
    /// matches. So `mqtt.msgtype == PUBLISH` selects the connections that published and
    /// `mqscope.anomaly == "MQ-KEEPALIVE"` those with that connection-level finding. The one
    /// rule for `mqscope flows -Y`, the GUI's connection view and filtered exports. One pass
    /// over the packets and one over the transactions, not one per connection.
    pub fn matching_connections(&self, trace: &Trace) -> Vec<usize> {
        let count = trace.connections.len();
        if self.is_all() {
            return (0..count).collect();
        }
        let mut keep = vec![false; count];
        for pos in self.matching_packets(trace) {
            let conn = trace.packets.get(pos).map(|p| p.conn as usize);
            if let Some(k) = conn.and_then(|c| keep.get_mut(c)) {
                *k = true;
            }
        }
        let incomplete = self.uses(Field::Incomplete).then(|| {
            let mut flags = vec![false; count];
            for t in trace
                .transactions
                .iter()
                .filter(|t| t.state.is_incomplete())
            {
                if let Some(flag) = flags.get_mut(t.conn as usize) {
                    *flag = true;
                }
            }
            flags
        });
        (0..count)
            .filter(|&i| {
                keep.get(i).copied().unwrap_or(false)
                    || ConnectionView::new(trace, i).is_some_and(|mut view| {
                        view.incomplete = incomplete.as_ref().and_then(|f| f.get(i).copied());
                        self.matches(&view)
                    })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::sample_trace;
    use super::*;

    /// Frame numbers of the packets a filter keeps in the sample trace.
    #[track_caller]
    fn frames(filter: &str) -> Vec<u64> {
        let trace = sample_trace();
        let filter = Filter::parse(filter).unwrap_or_else(|e| panic!("{filter}: {e}"));
        filter
            .matching_packets(&trace)
            .into_iter()
            .map(|i| trace.packets[i].frame)
            .collect()
    }

    #[track_caller]
    fn streams(filter: &str) -> Vec<usize> {
        let trace = sample_trace();
        Filter::parse(filter).unwrap().matching_connections(&trace)
    }

    #[test]
    fn packet_fields_come_from_the_record_and_its_connection() {
        assert_eq!(frames("mqtt.msgtype == PUBLISH"), [3, 8, 9]);
        assert_eq!(frames("mqtt.qos == 1"), [3]);
        assert_eq!(frames("mqtt.qos == 0"), [8]);
        assert_eq!(frames("mqtt.retain == 1"), [8]);
        assert_eq!(frames("mqtt.dupflag == true"), [9]);
        assert_eq!(frames("mqtt.msgid == 7"), [3, 4]);
        assert_eq!(frames("mqtt.topic == \"sensors/#\""), [7]);
        assert_eq!(frames("mqtt.clientid == app"), [5, 6, 7, 8]);
        assert_eq!(
            frames("mqtt.username == alice && mqtt.msgtype == CONNECT"),
            [1]
        );
        assert_eq!(frames("mqtt.ver == 4 && mqtt.msgtype == CONNACK"), [6]);
        assert_eq!(frames("mqtt.kalive == 60"), [1, 5]);
        assert_eq!(frames("mqtt.len > 100"), [9]);
        assert_eq!(
            frames("mqtt.reason_code == 0 && mqtt.msgtype == PUBACK"),
            [4]
        );
        assert_eq!(frames("frame.number in {2..3}"), [2, 3]);
        assert_eq!(frames("mqscope.payload_len == 300"), [9]);
        assert_eq!(frames("mqscope.header_len == 4"), [4, 6, 7]);
        assert_eq!(
            frames("mqscope.properties_len == 1 && mqscope.dir == to_client"),
            [2]
        );
        assert_eq!(frames("mqtt.hdrflags == 0x3c"), [9]);
        assert_eq!(frames("mqtt.topic_len == 20"), [3, 8]);
        assert_eq!(frames("mqtt.topic_len == 9"), [7]);
        assert_eq!(frames("mqscope.packet_len == 318"), [9]);
        assert_eq!(frames("mqscope.transport == tcp").len(), 9);
        // Stream 0 is MQTT 5, stream 1 MQTT 3.1.1: each has its own CONNACK field.
        assert_eq!(frames("mqtt.conack.val == 0"), [6]);
        assert_eq!(frames("mqtt.connack.reason_code == 0"), [2]);
        assert_eq!(frames("mqtt.puback.reason_code == 0"), [4]);
        assert_eq!(frames("mqtt.suback.qos"), Vec::<u64>::new());
    }

    #[test]
    fn addresses_and_ports_follow_the_direction() {
        assert_eq!(frames("ip.src == 10.0.0.5"), [1, 3, 9]);
        assert_eq!(frames("ip.dst == 10.0.0.5"), [2, 4]);
        assert_eq!(
            frames("ip.addr == 2001:db8::/32 && tcp.srcport == 1883"),
            [6, 8]
        );
        assert_eq!(frames("tcp.dstport == 40000"), [6, 8]);
        assert_eq!(frames("tcp.port == 51000 && tcp.stream == 0").len(), 5);
        assert_eq!(frames("tcp.stream == 1"), [5, 6, 7, 8]);
    }

    #[test]
    fn model_fields_anomalies_incomplete_and_latency() {
        assert_eq!(frames("mqscope.anomaly"), [8]);
        assert_eq!(frames("mqscope.anomaly == MQ-RETAIN-UNAVAILABLE"), [8]);
        assert_eq!(frames("mqscope.severity == error"), [8]);
        assert_eq!(frames("mqscope.incomplete"), [7, 9]);
        assert_eq!(frames("mqscope.latency > 10"), [3, 4]);
        assert_eq!(frames("mqscope.latency"), [1, 2, 3, 4, 5, 6]);
        assert_eq!(frames("frame.time_relative >= 0.017"), [4, 8, 9]);
        assert_eq!(frames("frame.time_epoch < 1700000000.001"), [1]);
    }

    #[test]
    fn connections_match_on_their_own_fields_or_through_a_matching_packet() {
        assert_eq!(streams("mqtt"), [0, 1]);
        assert_eq!(streams("ip.addr == 10.0.0.0/8"), [0]);
        assert_eq!(streams("mqtt.clientid == app"), [1]);
        assert_eq!(streams("mqtt.ver == 5"), [0]);
        assert_eq!(streams("mqscope.transport == TLS"), Vec::<usize>::new());
        assert_eq!(streams("mqtt.conack.val == 0"), [1]);
        assert_eq!(streams("mqtt.connack.reason_code == 0"), [0]);
        assert_eq!(streams("mqscope.anomaly == MQ-KEEPALIVE"), [0]);
        assert_eq!(streams("mqscope.anomaly"), [0, 1]);
        assert_eq!(streams("mqscope.incomplete"), [0, 1]);
        assert_eq!(streams("mqtt.msgtype == PUBLISH"), [0, 1]);
        assert_eq!(streams("mqtt.msgtype == SUBSCRIBE"), [1]);
        assert_eq!(streams("mqtt.qos == 2"), [0]);
        let trace = sample_trace();
        let filter = Filter::parse("mqscope.incomplete && tcp.port == 40000").unwrap();
        assert!(filter.matches_connection(&trace, 1));
        assert!(!filter.matches_connection(&trace, 0));
        assert!(!filter.matches_connection(&trace, 2));
    }

    #[test]
    fn out_of_range_positions_never_match() {
        let trace = sample_trace();
        assert!(!Filter::all().matches_packet(&trace, 99));
        assert!(PacketView::new(&trace, 9).is_none());
        assert_eq!(Filter::all().matching_packets(&trace).len(), 9);
    }
}
