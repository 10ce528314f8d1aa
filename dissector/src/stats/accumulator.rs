//! [`StatsAccumulator`]: every statistic that reads packet records, computed one record at a
//! time, so a streaming analysis (no records kept) gets the same [`Stats`] as [`super::compute`]
//! over a trace that kept them all. Memory grows with connections, topics and rate buckets,
//! never with packets.

use rustc_hash::FxHashSet;

use super::latency::LatencyAccumulator;
use super::rates::RateAccumulator;
use super::topics::TopicAccumulator;
use super::{HeaderRow, HeaderStats, Stats, StatsConfig, fanout_stats, latency_stats, share};
use crate::codec::PacketType;
use crate::input::Direction;
use crate::model::{PacketMarks, PacketRecord, Sym, Trace, TxKind};

/// A Topic Alias property costs 3 bytes (identifier + two-byte value, MQTT 5.0 §3.3.2.3.4).
const ALIAS_PROPERTY_LEN: u64 = 3;

/// Version slots per packet type: protocol levels 0 (unknown), 3, 4 and 5 index directly.
const VERSION_SLOTS: usize = 8;

/// Byte totals of one (packet type, version) pair.
#[derive(Debug, Clone, Copy, Default)]
struct RowSums {
    packets: u64,
    fixed: u64,
    variable: u64,
    properties: u64,
    payload: u64,
}

/// Header sizes, remaining-length sizes and topic-alias savings of the records added.
#[derive(Debug, Clone)]
pub(super) struct HeaderAccumulator {
    /// By packet type number × [`VERSION_SLOTS`] + protocol level.
    rows: [RowSums; 16 * VERSION_SLOTS],
    remaining_length_sizes: [u64; 4],
    two_byte: u64,
    packets: u64,
    alias: super::AliasSavings,
    /// Topics already sent without an alias, per connection and direction.
    topics_seen: FxHashSet<(u32, Direction, Sym)>,
    /// Connections with a record, by index (as long as the trace's connection list).
    touched: Vec<bool>,
}

impl Default for HeaderAccumulator {
    fn default() -> HeaderAccumulator {
        HeaderAccumulator {
            rows: [RowSums::default(); 16 * VERSION_SLOTS],
            remaining_length_sizes: [0; 4],
            two_byte: 0,
            packets: 0,
            alias: super::AliasSavings::default(),
            topics_seen: FxHashSet::default(),
            touched: Vec::new(),
        }
    }
}

impl HeaderAccumulator {
    /// Counts one record; `trace` resolves its topic and bounds its connection index.
    pub(super) fn add(&mut self, trace: &Trace, p: &PacketRecord) {
        self.packets += 1;
        let conn = p.conn as usize;
        if conn < trace.connections.len() {
            if self.touched.len() <= conn {
                self.touched.resize(trace.connections.len(), false);
            }
            if let Some(t) = self.touched.get_mut(conn) {
                *t = true;
            }
        }
        let version = usize::from(p.version.map_or(0, |v| v.level()));
        let slot = usize::from(p.packet_type.id()) * VERSION_SLOTS + version.min(VERSION_SLOTS - 1);
        if let Some(row) = self.rows.get_mut(slot) {
            row.packets += 1;
            row.fixed += u64::from(p.fixed_len);
            row.variable += u64::from(p.variable_len);
            row.properties += u64::from(p.properties_len);
            row.payload += u64::from(p.payload_len);
        }
        if let Some(n) = usize::from(p.fixed_len)
            .checked_sub(2)
            .and_then(|i| self.remaining_length_sizes.get_mut(i))
        {
            *n += 1;
        }
        if p.fixed_len == 2 {
            self.two_byte += 1;
        }
        if p.packet_type == PacketType::Publish
            && let Some(topic) = p.topic
        {
            let len = trace.str(topic).len() as u64;
            let saveable = len.saturating_sub(ALIAS_PROPERTY_LEN);
            if p.marks.has(PacketMarks::TOPIC_FROM_ALIAS) {
                self.alias.used_packets += 1;
                self.alias.used_saved_bytes += saveable;
            } else if !self.topics_seen.insert((p.conn, p.dir, topic)) {
                self.alias.repeated_packets += 1;
                self.alias.repeated_saveable_bytes += saveable;
            }
        }
    }

    /// Records added.
    pub(super) fn packets(&self) -> u64 {
        self.packets
    }

    /// Wire bytes of the connections the records belong to.
    pub(super) fn wire_bytes_of_touched_connections(&self, trace: &Trace) -> u64 {
        self.touched
            .iter()
            .enumerate()
            .filter(|&(_, &t)| t)
            .filter_map(|(c, _)| trace.connection(c))
            .map(|c| c.to_broker.wire_bytes + c.to_client.wire_bytes)
            .sum()
    }

    /// The statistics, with `wire_bytes` as the bytes on the wire the shares are taken of.
    pub(super) fn finish(self, wire_bytes: u64) -> HeaderStats {
        let rows: Vec<HeaderRow> = self
            .rows
            .iter()
            .enumerate()
            .filter(|(_, r)| r.packets > 0)
            .map(|(slot, r)| {
                let packet_type = PacketType::from_id((slot / VERSION_SLOTS) as u8);
                HeaderRow {
                    packet_type: packet_type.name().to_owned(),
                    type_id: packet_type.id(),
                    version: (slot % VERSION_SLOTS) as u8,
                    packets: r.packets,
                    fixed: r.fixed,
                    variable: r.variable,
                    properties: r.properties,
                    payload: r.payload,
                }
            })
            .collect();
        let header_bytes: u64 = rows.iter().map(HeaderRow::header).sum();
        let payload_bytes: u64 = rows.iter().map(|r| r.payload).sum();
        let mqtt_bytes = header_bytes + payload_bytes;
        HeaderStats {
            rows,
            remaining_length_sizes: self.remaining_length_sizes,
            packets: self.packets,
            two_byte_fixed_header_share: share(self.two_byte, self.packets),
            mqtt_bytes,
            header_bytes,
            payload_bytes,
            header_share_of_mqtt: share(header_bytes, mqtt_bytes),
            wire_bytes,
            header_share_of_wire: share(header_bytes, wire_bytes),
            overhead_share_of_wire: share(wire_bytes.saturating_sub(payload_bytes), wire_bytes),
            topic_alias: self.alias,
        }
    }
}

/// Every statistic that reads packet records, fed one record at a time: from a streaming
/// analyzer's packet callback as each packet is analysed, or from a trace's retained records
/// ([`super::compute_with`] does exactly that). [`StatsAccumulator::finish`] adds what the
/// final trace knows: wire bytes, subscriptions, the capture's span, latency and fan-out.
///
/// ```
/// use dissector::model::Trace;
/// use dissector::stats::{self, StatsAccumulator, StatsConfig};
///
/// let trace = Trace::new();
/// let mut acc = StatsAccumulator::new(&StatsConfig::default());
/// for record in &trace.packets {
///     acc.add(&trace, record);
/// }
/// assert_eq!(acc.finish(&trace), stats::compute(&trace));
/// ```
#[derive(Debug)]
pub struct StatsAccumulator {
    header: HeaderAccumulator,
    topics: TopicAccumulator,
    rates: RateAccumulator,
    /// Completed exchanges fed with [`StatsAccumulator::add_completion`]; when none were,
    /// latency comes from the final trace's transactions.
    latency: Option<LatencyAccumulator>,
}

impl StatsAccumulator {
    /// Nothing counted yet; `config` sets the rate buckets.
    pub fn new(config: &StatsConfig) -> StatsAccumulator {
        StatsAccumulator {
            header: HeaderAccumulator::default(),
            topics: TopicAccumulator::default(),
            rates: RateAccumulator::new(config),
            latency: None,
        }
    }

    /// Counts one completed exchange (its connection index, kind and latency), as an
    /// analyzer without `retain_transactions` reports it in `PacketView::completed`. Once
    /// this is used, latency comes from what was fed, not from the trace's transactions.
    pub fn add_completion(&mut self, conn: u32, kind: TxKind, latency_nanos: i64) {
        self.latency
            .get_or_insert_with(LatencyAccumulator::default)
            .add(conn, kind, latency_nanos);
    }

    /// Counts one packet record of `trace` (which resolves its topic; the record need not be
    /// kept in it). Records may come in any order.
    pub fn add(&mut self, trace: &Trace, packet: &PacketRecord) {
        self.header.add(trace, packet);
        self.topics.add(packet);
        self.rates
            .add(packet.ts.0, packet.packet_type.id(), packet.packet_len());
    }

    /// Records counted so far.
    pub fn packets(&self) -> u64 {
        self.header.packets()
    }

    /// The statistics, completed from the final `trace`: wire bytes of every MQTT connection,
    /// subscribers and span for the topic tree, latency from its transactions (unless
    /// completions were fed) and fan-out from its deliveries.
    pub fn finish(self, trace: &Trace) -> Stats {
        Stats {
            // Every frame of every MQTT connection, also those that carried no whole packet.
            header: self.header.finish(trace.totals.wire_bytes),
            latency: match self.latency {
                Some(fed) => fed.finish(trace),
                None => latency_stats(trace),
            },
            fanout: fanout_stats(trace),
            topics: self.topics.finish(trace),
            rates: self.rates.finish(),
        }
    }
}
