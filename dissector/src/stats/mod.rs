//! Statistics over a [`Trace`]: header sizes (MQTT's selling point), latency distributions,
//! broker fan-out, the topic tree and rates over time. Plain Rust, serde-serialisable results;
//! the CLI prints them as tables or JSON, the GUI plots them.
//!
//! Two ways in, one implementation. [`compute`] reads a trace's retained packet records. A
//! trace analysed in streaming mode keeps none: feed each record to a [`StatsAccumulator`] as
//! the analyzer hands it over (its packet callback), then [`StatsAccumulator::finish`] with the
//! final trace. [`compute`] is that same accumulator run over the retained records, so both
//! give equal [`Stats`]. Latency comes from the trace's complete transactions, or, when they
//! are not kept, from the completions the callback reports (`PacketView::completed`, fed with
//! [`StatsAccumulator::add_completion`]); fan-out comes from the trace's deliveries
//! (`track_deliveries`).

mod accumulator;
mod latency;
mod rates;
mod topics;

pub use accumulator::StatsAccumulator;

pub use latency::{
    ConnectionLatency, KindLatency, LatencyAccumulator, LatencyStats, LatencySummary,
    latency_samples, latency_stats, nearest_rank, summarise,
};
pub use topics::{TopicLevel, topic_tree};

use crate::model::{PacketRecord, Trace};

/// What to compute and how finely.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatsConfig {
    /// Width of a rate bucket in nanoseconds (default one second).
    pub rate_bucket_nanos: i64,
    /// At most this many rate buckets (at least 2): a capture longer than that many widths is
    /// bucketed at `rate_bucket_nanos × 2^k`, the smallest such width that fits.
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

/// Computes every statistic of the retained packet records (a [`StatsAccumulator`] fed with
/// each of them).
pub fn compute_with(trace: &Trace, config: &StatsConfig) -> Stats {
    let mut acc = StatsAccumulator::new(config);
    for p in &trace.packets {
        acc.add(trace, p);
    }
    acc.finish(trace)
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

fn share(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64
    }
}

/// Header-size statistics of the retained packets.
pub fn header_stats(trace: &Trace) -> HeaderStats {
    let mut acc = accumulator::HeaderAccumulator::default();
    for p in &trace.packets {
        acc.add(trace, p);
    }
    // Every frame of every MQTT connection, also those that carried no whole packet.
    acc.finish(trace.totals.wire_bytes)
}

/// Header-size statistics of a subset of the packet records (e.g. those a display filter
/// keeps). Wire bytes are those of the connections the subset touches.
pub fn header_stats_of<'t>(
    trace: &'t Trace,
    packets: impl IntoIterator<Item = &'t PacketRecord>,
) -> HeaderStats {
    let mut acc = accumulator::HeaderAccumulator::default();
    for p in packets {
        acc.add(trace, p);
    }
    let wire_bytes = acc.wire_bytes_of_touched_connections(trace);
    acc.finish(wire_bytes)
}

/// Header-size statistics per connection (`mqscope stats --by connection`), in one pass:
/// (connection index, its statistics), for connections with at least one packet record.
pub fn header_stats_by_connection(trace: &Trace) -> Vec<(u32, HeaderStats)> {
    let mut groups: Vec<accumulator::HeaderAccumulator> = Vec::new();
    groups.resize_with(trace.connections.len(), Default::default);
    for p in &trace.packets {
        if let Some(g) = groups.get_mut(p.conn as usize) {
            g.add(trace, p);
        }
    }
    groups
        .into_iter()
        .enumerate()
        .filter(|(_, g)| g.packets() > 0)
        .map(|(i, g)| {
            let wire_bytes = g.wire_bytes_of_touched_connections(trace);
            (i as u32, g.finish(wire_bytes))
        })
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
    let mut acc = rates::RateAccumulator::new(config);
    for p in &trace.packets {
        acc.add(p.ts.0, p.packet_type.id(), p.packet_len());
    }
    acc.finish()
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
