//! The statistics view's plot data, apart from drawing: series the plots show, bucketed for
//! the screen (per type, per remaining-length size, per time bucket) from the trace.

use dissector::codec::PacketType;
use dissector::model::{Trace, TxKind};
use std::collections::BTreeMap;

/// Header-size breakdown of one packet type: total bytes of each part over all its packets.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TypeBytes {
    /// Packets of the type.
    pub packets: u64,
    /// Fixed-header bytes.
    pub fixed: u64,
    /// Variable-header bytes (properties excluded).
    pub variable: u64,
    /// Property bytes.
    pub properties: u64,
    /// Payload bytes.
    pub payload: u64,
}

/// Everything the statistics view plots.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StatsData {
    /// Per packet type (only types that occur), in type order.
    pub by_type: Vec<(PacketType, TypeBytes)>,
    /// Packets per size of the remaining-length field (1..=4 bytes): index 0 = 1 byte.
    pub remaining_length_sizes: [u64; 4],
    /// Packets per remaining-length bucket: (upper bound inclusive, count), powers of two.
    pub remaining_length_histogram: Vec<(u64, u64)>,
    /// Byte shares: MQTT fixed headers, variable headers, properties, payload, and the
    /// link/IP/TCP bytes around them.
    pub overhead: [(&'static str, u64); 5],
    /// Latencies in milliseconds per transaction kind (complete exchanges).
    pub latencies_ms: Vec<(TxKind, Vec<f64>)>,
    /// IO graph: bucket width in seconds, and (packets, bytes) per bucket from the first packet.
    pub io_bucket_secs: f64,
    /// Packets and MQTT bytes per bucket.
    pub io: Vec<(u64, u64)>,
    /// Topic tree: every topic prefix with the packets below it.
    pub topics: TopicNode,
}

/// A level of the topic tree.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TopicNode {
    /// Packets whose topic is exactly this node.
    pub here: u64,
    /// Packets at or below this node.
    pub total: u64,
    /// Child levels by name.
    pub children: BTreeMap<String, TopicNode>,
}

impl TopicNode {
    /// Counts one packet on `topic`.
    pub fn add(&mut self, topic: &str) {
        self.total += 1;
        let mut node = self;
        for level in topic.split('/') {
            node = node.children.entry(level.to_string()).or_default();
            node.total += 1;
        }
        node.here += 1;
    }
}

/// Chooses an IO-graph bucket width giving at most about `max_buckets` buckets.
pub fn io_bucket_width(span_secs: f64, max_buckets: usize) -> f64 {
    const STEPS: [f64; 16] = [
        0.001, 0.01, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 300.0, 600.0, 1800.0, 3600.0,
        86_400.0,
    ];
    let target = span_secs / max_buckets.max(1) as f64;
    STEPS.into_iter().find(|&s| s >= target).unwrap_or(86_400.0)
}

impl StatsData {
    /// Computes every series in one pass over the packets (plus the transactions).
    pub fn of(trace: &Trace) -> StatsData {
        let mut per_type = [TypeBytes::default(); 16];
        let mut rl_sizes = [0u64; 4];
        let mut hist: BTreeMap<u64, u64> = BTreeMap::new();
        let mut topics = TopicNode::default();
        let first = trace.packets.first().map(|p| p.ts);
        let last = trace.packets.last().map(|p| p.ts);
        let span = match (first, last) {
            (Some(f), Some(l)) => l.nanos_since(f).max(0) as f64 / 1e9,
            _ => 0.0,
        };
        let bucket = io_bucket_width(span, 400);
        let mut io: Vec<(u64, u64)> = Vec::new();
        for p in &trace.packets {
            let t = &mut per_type[usize::from(p.packet_type.id())];
            t.packets += 1;
            t.fixed += u64::from(p.fixed_len);
            t.variable += u64::from(p.variable_len);
            t.properties += u64::from(p.properties_len);
            t.payload += u64::from(p.payload_len);
            let rl_bytes = usize::from(p.fixed_len.saturating_sub(1)).clamp(1, 4);
            if let Some(slot) = rl_sizes.get_mut(rl_bytes - 1) {
                *slot += 1;
            }
            let rl = p.remaining_length();
            let upper = rl.max(1).next_power_of_two();
            *hist.entry(upper).or_default() += 1;
            if let Some(topic) = trace.opt_str(p.topic)
                && p.packet_type == PacketType::Publish
            {
                topics.add(topic);
            }
            if let Some(f) = first {
                let b = (p.ts.nanos_since(f).max(0) as f64 / 1e9 / bucket) as usize;
                if io.len() <= b {
                    io.resize(b + 1, (0, 0));
                }
                if let Some(slot) = io.get_mut(b) {
                    slot.0 += 1;
                    slot.1 += p.packet_len();
                }
            }
        }
        let by_type: Vec<_> = PacketType::ALL
            .into_iter()
            .zip(per_type)
            .filter(|(_, b)| b.packets > 0)
            .collect();
        let sum = |f: fn(&TypeBytes) -> u64| by_type.iter().map(|(_, b)| f(b)).sum::<u64>();
        let overhead = [
            ("Fixed headers", sum(|b| b.fixed)),
            ("Variable headers", sum(|b| b.variable)),
            ("Properties", sum(|b| b.properties)),
            ("Payload", sum(|b| b.payload)),
            // Everything on the wire that is not TCP payload: link, IP and TCP headers.
            (
                "Link/IP/TCP headers",
                trace
                    .totals
                    .wire_bytes
                    .saturating_sub(trace.totals.tcp_payload_bytes),
            ),
        ];
        let mut latencies_ms = Vec::new();
        for kind in TxKind::ALL {
            let v: Vec<f64> = trace
                .transactions
                .iter()
                .filter(|t| t.kind == kind)
                .filter_map(|t| t.latency_nanos)
                .map(|n| n as f64 / 1e6)
                .collect();
            if !v.is_empty() {
                latencies_ms.push((kind, v));
            }
        }
        StatsData {
            by_type,
            remaining_length_sizes: rl_sizes,
            remaining_length_histogram: hist.into_iter().collect(),
            overhead,
            latencies_ms,
            io_bucket_secs: bucket,
            io,
            topics,
        }
    }
}

/// A histogram of `values` over `bins` equal bins between their min and max: (bin start, count).
pub fn histogram(values: &[f64], bins: usize) -> Vec<(f64, u64)> {
    let bins = bins.max(1);
    let (min, max) = values
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &v| {
            (lo.min(v), hi.max(v))
        });
    if !min.is_finite() || !max.is_finite() {
        return Vec::new();
    }
    let width = ((max - min) / bins as f64).max(f64::EPSILON);
    let mut counts = vec![0u64; bins];
    for &v in values {
        let i = (((v - min) / width) as usize).min(bins - 1);
        if let Some(c) = counts.get_mut(i) {
            *c += 1;
        }
    }
    counts
        .into_iter()
        .enumerate()
        .map(|(i, c)| (min + i as f64 * width, c))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::logic::test_trace::sample_trace;

    #[test]
    fn header_bytes_are_summed_per_type() {
        let s = StatsData::of(&sample_trace());
        let publish = s
            .by_type
            .iter()
            .find(|(t, _)| *t == PacketType::Publish)
            .map(|(_, b)| *b);
        let publish = publish.expect("publishes counted");
        assert_eq!(publish.packets, 2);
        assert_eq!(publish.fixed, 4);
        assert_eq!(publish.payload, 13);
        assert_eq!(s.remaining_length_sizes, [5, 0, 0, 0]);
        assert_eq!(s.io.iter().map(|b| b.0).sum::<u64>(), 5);
    }

    #[test]
    fn topic_tree_counts_every_level() {
        let mut t = TopicNode::default();
        t.add("a/b/c");
        t.add("a/b");
        t.add("x");
        assert_eq!(t.total, 3);
        assert_eq!(t.children["a"].total, 2);
        assert_eq!(t.children["a"].children["b"].here, 1);
        assert_eq!(t.children["a"].children["b"].children["c"].here, 1);
    }

    #[test]
    fn histograms_put_the_maximum_in_the_last_bin() {
        let h = histogram(&[0.0, 1.0, 2.0, 10.0], 5);
        assert_eq!(h.len(), 5);
        assert_eq!(h.iter().map(|b| b.1).sum::<u64>(), 4);
        assert_eq!(h[4].1, 1);
        assert!(histogram(&[], 5).is_empty());
    }

    #[test]
    fn io_buckets_grow_with_the_span() {
        assert_eq!(io_bucket_width(1.0, 100), 0.01);
        assert_eq!(io_bucket_width(3600.0, 100), 60.0);
        assert_eq!(io_bucket_width(1e9, 10), 86_400.0);
    }
}
