//! Statistics over a [`Trace`]: header sizes (MQTT's selling point), latency distributions,
//! broker fan-out, the topic tree and rates over time. Plain Rust, serde-serialisable results;
//! the CLI prints them as tables or JSON, the GUI plots them.
//!
//! Everything here reads the retained packet records: a trace analysed in streaming mode
//! (no records kept) gives empty header statistics.

mod latency;
mod topics;

pub use latency::{
    ConnectionLatency, KindLatency, LatencyStats, LatencySummary, latency_samples, latency_stats,
    nearest_rank, summarise,
};
pub use topics::{TopicLevel, topic_tree};

use crate::codec::PacketType;
use crate::input::Direction;
use crate::model::{PacketMarks, PacketRecord, Trace};
use std::collections::HashSet;

/// What to compute and how finely.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatsConfig {
    /// Width of a rate bucket in nanoseconds (default one second).
    pub rate_bucket_nanos: i64,
    /// At most this many rate buckets: wider buckets are used for long captures.
    pub max_rate_buckets: usize,
}

impl Default for StatsConfig {
    fn default() -> StatsConfig {
        StatsConfig {
            rate_bucket_nanos: 1_000_000_000,
            max_rate_buckets: 100_000,
        }
    }
}

/// All statistics of a trace.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Stats {
    /// Header sizes and overhead.
    pub header: HeaderStats,
    /// Latency distributions.
    pub latency: LatencyStats,
    /// Broker fan-out.
    pub fanout: FanoutStats,
    /// Topic tree, one row per level, parents before children.
    pub topics: Vec<TopicLevel>,
    /// Packets and bytes over time.
    pub rates: Rates,
}

/// Computes every statistic with the default configuration.
pub fn compute(trace: &Trace) -> Stats {
    compute_with(trace, &StatsConfig::default())
}

/// Computes every statistic.
pub fn compute_with(trace: &Trace, config: &StatsConfig) -> Stats {
    Stats {
        header: header_stats(trace),
        latency: latency_stats(trace),
        fanout: fanout_stats(trace),
        topics: topic_tree(trace),
        rates: rates(trace, config),
    }
}

/// Byte totals of one packet type in one protocol version.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct HeaderRow {
    /// Packet type name ("PUBLISH").
    pub packet_type: String,
    /// Packet type number.
    pub type_id: u8,
    /// Protocol level (3, 4, 5), 0 when unknown.
    pub version: u8,
    /// Packets.
    pub packets: u64,
    /// Fixed header bytes.
    pub fixed: u64,
    /// Variable header bytes (properties not counted).
    pub variable: u64,
    /// Property bytes.
    pub properties: u64,
    /// Payload bytes.
    pub payload: u64,
}

impl HeaderRow {
    /// All bytes of these packets.
    pub fn total(&self) -> u64 {
        self.fixed + self.variable + self.properties + self.payload
    }
    /// Header bytes (fixed + variable + properties).
    pub fn header(&self) -> u64 {
        self.fixed + self.variable + self.properties
    }
}

/// Header-size statistics.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct HeaderStats {
    /// One row per (packet type, version) seen, ordered by type then version.
    pub rows: Vec<HeaderRow>,
    /// Packets whose remaining-length field is 1, 2, 3, 4 bytes.
    pub remaining_length_sizes: [u64; 4],
    /// Packets counted.
    pub packets: u64,
    /// Share of packets whose fixed header is 2 bytes (0 when there are none).
    pub two_byte_fixed_header_share: f64,
    /// MQTT bytes (whole packets).
    pub mqtt_bytes: u64,
    /// Header bytes: fixed + variable + properties.
    pub header_bytes: u64,
    /// Payload bytes.
    pub payload_bytes: u64,
    /// Header bytes as a share of MQTT bytes.
    pub header_share_of_mqtt: f64,
    /// Bytes on the wire of the MQTT connections (link + IP + TCP headers included).
    pub wire_bytes: u64,
    /// MQTT header bytes as a share of wire bytes.
    pub header_share_of_wire: f64,
    /// Everything but MQTT payload (MQTT headers and link/IP/TCP) as a share of wire bytes.
    pub overhead_share_of_wire: f64,
    /// Topic aliases: savings realised and possible.
    pub topic_alias: AliasSavings,
}

/// What topic aliases saved, and what they would have saved on repeated topics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AliasSavings {
    /// PUBLISHes whose topic came from an alias.
    pub used_packets: u64,
    /// Bytes those aliases saved (topic length − 3 bytes of alias property, each).
    pub used_saved_bytes: u64,
    /// PUBLISHes that repeated a topic already sent on the same connection and direction.
    pub repeated_packets: u64,
    /// Bytes an alias would have saved on those (topic length − 3, when positive).
    pub repeated_saveable_bytes: u64,
}

/// A Topic Alias property costs 3 bytes (identifier + two-byte value, MQTT 5.0 §3.3.2.3.4).
const ALIAS_PROPERTY_LEN: u64 = 3;

fn share(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64
    }
}

/// Header-size statistics of the retained packets.
pub fn header_stats(trace: &Trace) -> HeaderStats {
    let mut h = header_stats_of(trace, &trace.packets);
    // Every frame of every MQTT connection, also those that carried no whole packet.
    h.wire_bytes = trace.totals.wire_bytes;
    h.header_share_of_wire = share(h.header_bytes, h.wire_bytes);
    h.overhead_share_of_wire = share(h.wire_bytes.saturating_sub(h.payload_bytes), h.wire_bytes);
    h
}

/// Header-size statistics of a subset of the packet records (e.g. those a display filter
/// keeps). Wire bytes are those of the connections the subset touches.
pub fn header_stats_of<'t>(
    trace: &'t Trace,
    packets: impl IntoIterator<Item = &'t PacketRecord>,
) -> HeaderStats {
    let mut rows: std::collections::BTreeMap<(u8, u8), HeaderRow> = Default::default();
    let mut h = HeaderStats::default();
    let mut two_byte = 0u64;
    let mut topics_seen: HashSet<(u32, Direction, crate::model::Sym)> = HashSet::new();
    let mut conns: HashSet<u32> = HashSet::new();
    let mut packets_counted = 0u64;
    for p in packets {
        packets_counted += 1;
        conns.insert(p.conn);
        let version = p.version.map_or(0, |v| v.level());
        let row = rows
            .entry((p.packet_type.id(), version))
            .or_insert_with(|| HeaderRow {
                packet_type: p.packet_type.name().to_owned(),
                type_id: p.packet_type.id(),
                version,
                ..HeaderRow::default()
            });
        row.packets += 1;
        row.fixed += u64::from(p.fixed_len);
        row.variable += u64::from(p.variable_len);
        row.properties += u64::from(p.properties_len);
        row.payload += u64::from(p.payload_len);
        if let Some(n) = usize::from(p.fixed_len)
            .checked_sub(2)
            .and_then(|i| h.remaining_length_sizes.get_mut(i))
        {
            *n += 1;
        }
        if p.fixed_len == 2 {
            two_byte += 1;
        }
        if p.packet_type == PacketType::Publish
            && let Some(topic) = p.topic
        {
            let len = trace.str(topic).len() as u64;
            let saveable = len.saturating_sub(ALIAS_PROPERTY_LEN);
            if p.marks.has(PacketMarks::TOPIC_FROM_ALIAS) {
                h.topic_alias.used_packets += 1;
                h.topic_alias.used_saved_bytes += saveable;
            } else if !topics_seen.insert((p.conn, p.dir, topic)) {
                h.topic_alias.repeated_packets += 1;
                h.topic_alias.repeated_saveable_bytes += saveable;
            }
        }
    }
    h.rows = rows.into_values().collect();
    h.packets = packets_counted;
    h.two_byte_fixed_header_share = share(two_byte, h.packets);
    h.header_bytes = h.rows.iter().map(HeaderRow::header).sum();
    h.payload_bytes = h.rows.iter().map(|r| r.payload).sum();
    h.mqtt_bytes = h.header_bytes + h.payload_bytes;
    h.header_share_of_mqtt = share(h.header_bytes, h.mqtt_bytes);
    h.wire_bytes = conns
        .iter()
        .filter_map(|&c| trace.connection(c as usize))
        .map(|c| c.to_broker.wire_bytes + c.to_client.wire_bytes)
        .sum();
    h.header_share_of_wire = share(h.header_bytes, h.wire_bytes);
    h.overhead_share_of_wire = share(h.wire_bytes.saturating_sub(h.payload_bytes), h.wire_bytes);
    h
}

/// Header-size statistics per connection (`mqscope stats --by connection`), in one pass:
/// (connection index, its statistics), for connections with at least one packet record.
pub fn header_stats_by_connection(trace: &Trace) -> Vec<(u32, HeaderStats)> {
    let mut groups: Vec<Vec<&PacketRecord>> = vec![Vec::new(); trace.connections.len()];
    for p in &trace.packets {
        if let Some(g) = groups.get_mut(p.conn as usize) {
            g.push(p);
        }
    }
    groups
        .into_iter()
        .enumerate()
        .filter(|(_, g)| !g.is_empty())
        .map(|(i, g)| (i as u32, header_stats_of(trace, g)))
        .collect()
}

/// Broker fan-out statistics.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct FanoutStats {
    /// PUBLISHes into the broker matched to at least one copy out.
    pub deliveries: u64,
    /// Copies out.
    pub copies: u64,
    /// Largest fan-out of one message.
    pub max_fanout: u64,
    /// Broker latency over every copy.
    pub latency: LatencySummary,
}

/// Fan-out statistics of the trace's deliveries.
pub fn fanout_stats(trace: &Trace) -> FanoutStats {
    let mut latencies: Vec<i64> = Vec::new();
    let mut max_fanout = 0u64;
    for d in &trace.deliveries {
        max_fanout = max_fanout.max(d.fanout.len() as u64);
        latencies.extend(d.fanout.iter().map(|c| c.latency_nanos));
    }
    FanoutStats {
        deliveries: trace.deliveries.len() as u64,
        copies: latencies.len() as u64,
        max_fanout,
        latency: summarise(&mut latencies),
    }
}

/// One time bucket of the IO graph.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RateBucket {
    /// Start of the bucket, nanoseconds since the epoch.
    pub start: i64,
    /// Packets per packet type number (index 0..=15).
    pub packets: [u64; 16],
    /// MQTT bytes per packet type number.
    pub bytes: [u64; 16],
}

/// Packets and bytes per type over time.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Rates {
    /// Bucket width in nanoseconds.
    pub bucket_nanos: i64,
    /// Consecutive buckets from the first packet to the last (empty ones included).
    pub buckets: Vec<RateBucket>,
}

/// Rates over time of the retained packets.
pub fn rates(trace: &Trace, config: &StatsConfig) -> Rates {
    let (Some(first), Some(last)) = (
        trace.packets.iter().map(|p| p.ts).min(),
        trace.packets.iter().map(|p| p.ts).max(),
    ) else {
        return Rates {
            bucket_nanos: config.rate_bucket_nanos.max(1),
            buckets: Vec::new(),
        };
    };
    let base = config.rate_bucket_nanos.max(1);
    let max = i64::try_from(config.max_rate_buckets.max(1)).unwrap_or(i64::MAX);
    // Buckets are aligned to multiples of their width; widen to a whole multiple of the
    // configured width (labels stay round) until they fit the cap.
    // i128 arithmetic: timestamps from a damaged capture may sit anywhere in i64's range.
    let count = |width: i64| {
        let start = i128::from(first.0) - i128::from(first.0.rem_euclid(width));
        (start, (i128::from(last.0) - start) / i128::from(width) + 1)
    };
    let max128 = i128::from(max);
    let mut factor = (last.nanos_since(first).max(0) / base / max).max(1);
    let mut width = base.saturating_mul(factor);
    let (mut start, mut n) = count(width);
    while n > max128 && width < i64::MAX / 2 {
        factor += 1;
        width = base.saturating_mul(factor);
        (start, n) = count(width);
    }
    let n = usize::try_from(n.min(max128)).unwrap_or(0);
    let mut buckets: Vec<RateBucket> = (0..n)
        .map(|i| RateBucket {
            start: i64::try_from(start + i as i128 * i128::from(width)).unwrap_or(i64::MAX),
            ..RateBucket::default()
        })
        .collect();
    for p in &trace.packets {
        let i = usize::try_from((i128::from(p.ts.0) - start) / i128::from(width)).unwrap_or(0);
        if let Some(b) = buckets.get_mut(i) {
            let t = usize::from(p.packet_type.id());
            if let (Some(c), Some(bytes)) = (b.packets.get_mut(t), b.bytes.get_mut(t)) {
                *c += 1;
                *bytes += p.packet_len();
            }
        }
    }
    Rates {
        bucket_nanos: width,
        buckets,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::{Direction, Timestamp};
    use crate::model::PacketRecord;

    #[test]
    fn rates_survive_timestamps_at_both_ends_of_the_range() {
        let mut t = Trace::new();
        for ts in [i64::MIN, 0, i64::MAX] {
            t.packets.push(PacketRecord::new(
                Timestamp(ts),
                1,
                0,
                Direction::ToBroker,
                0xc0,
            ));
        }
        let r = rates(&t, &StatsConfig::default());
        assert!(r.buckets.len() <= StatsConfig::default().max_rate_buckets);
        let total: u64 = r.buckets.iter().map(|b| b.packets[12]).sum();
        assert_eq!(total, 3);
    }
}
