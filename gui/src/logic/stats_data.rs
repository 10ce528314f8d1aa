//! The statistics view's plot series, apart from drawing: the dissector's statistics (the same
//! numbers `mqscope stats` prints) reshaped for plots — header bytes per type summed over
//! versions, rates bucketed for the screen, latency samples binned.

use dissector::codec::PacketType;
use dissector::model::{Trace, TxKind};
use dissector::stats::{self, HeaderStats, StatsConfig, TopicLevel};
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
    /// Per packet type (only types that occur), in type order, all versions together.
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
    /// IO graph bucket width in seconds.
    pub io_bucket_secs: f64,
    /// Packets and MQTT bytes per bucket, from the first bucket.
    pub io: Vec<(u64, u64)>,
    /// Topic tree, parents before children.
    pub topics: Vec<TopicLevel>,
}

/// IO-graph buckets aimed at (the dissector widens buckets to stay under the cap).
const IO_BUCKETS: usize = 400;

/// Sums the per-version rows of the header statistics into one row per packet type.
pub fn bytes_by_type(header: &HeaderStats) -> Vec<(PacketType, TypeBytes)> {
    let mut per_type: BTreeMap<u8, TypeBytes> = BTreeMap::new();
    for r in &header.rows {
        let t = per_type.entry(r.type_id).or_default();
        t.packets += r.packets;
        t.fixed += r.fixed;
        t.variable += r.variable;
        t.properties += r.properties;
        t.payload += r.payload;
    }
    per_type
        .into_iter()
        .map(|(id, b)| (PacketType::from_id(id), b))
        .collect()
}

impl StatsData {
    /// Computes every series.
    pub fn of(trace: &Trace) -> StatsData {
        let span = trace
            .packets
            .first()
            .zip(trace.packets.last())
            .map_or(0, |(f, l)| l.ts.nanos_since(f.ts).max(0));
        // Round bucket widths (1 ms … 1 day) giving at most about IO_BUCKETS buckets.
        let width = io_bucket_width(span as f64 / 1e9, IO_BUCKETS);
        let config = StatsConfig {
            rate_bucket_nanos: (width * 1e9) as i64,
            max_rate_buckets: IO_BUCKETS * 2,
        };
        let all = stats::compute_with(trace, &config);
        let header = &all.header;
        let by_type = bytes_by_type(header);
        let sum = |f: fn(&TypeBytes) -> u64| by_type.iter().map(|(_, b)| f(b)).sum::<u64>();
        let overhead = [
            ("Fixed headers", sum(|b| b.fixed)),
            ("Variable headers", sum(|b| b.variable)),
            ("Properties", sum(|b| b.properties)),
            ("Payload", sum(|b| b.payload)),
            // Everything on the wire that is not MQTT: link, IP and TCP headers.
            (
                "Link/IP/TCP headers",
                header.wire_bytes.saturating_sub(header.mqtt_bytes),
            ),
        ];
        let mut hist: BTreeMap<u64, u64> = BTreeMap::new();
        for p in &trace.packets {
            *hist
                .entry(p.remaining_length().max(1).next_power_of_two())
                .or_default() += 1;
        }
        let latencies_ms = TxKind::ALL
            .into_iter()
            .filter_map(|kind| {
                let v: Vec<f64> = stats::latency_samples(trace, Some(kind), None)
                    .into_iter()
                    .map(|n| n as f64 / 1e6)
                    .collect();
                (!v.is_empty()).then_some((kind, v))
            })
            .collect();
        let io = all
            .rates
            .buckets
            .iter()
            .map(|b| (b.packets.iter().sum::<u64>(), b.bytes.iter().sum::<u64>()))
            .collect();
        StatsData {
            by_type,
            remaining_length_sizes: header.remaining_length_sizes,
            remaining_length_histogram: hist.into_iter().collect(),
            overhead,
            latencies_ms,
            io_bucket_secs: all.rates.bucket_nanos as f64 / 1e9,
            io,
            topics: all.topics,
        }
    }
}

/// Chooses an IO-graph bucket width (seconds) giving at most about `max_buckets` buckets.
pub fn io_bucket_width(span_secs: f64, max_buckets: usize) -> f64 {
    const STEPS: [f64; 16] = [
        0.001, 0.01, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 300.0, 600.0, 1800.0, 3600.0,
        86_400.0,
    ];
    let target = span_secs / max_buckets.max(1) as f64;
    STEPS.into_iter().find(|&s| s >= target).unwrap_or(86_400.0)
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
        assert_eq!(
            s.remaining_length_histogram
                .iter()
                .map(|b| b.1)
                .sum::<u64>(),
            5
        );
    }

    #[test]
    fn rows_of_several_versions_add_up_to_one_type() {
        let header = HeaderStats {
            rows: vec![
                stats::HeaderRow {
                    packet_type: "PUBLISH".into(),
                    type_id: 3,
                    version: 4,
                    packets: 2,
                    fixed: 4,
                    variable: 10,
                    properties: 0,
                    payload: 7,
                },
                stats::HeaderRow {
                    packet_type: "PUBLISH".into(),
                    type_id: 3,
                    version: 5,
                    packets: 1,
                    fixed: 2,
                    variable: 5,
                    properties: 3,
                    payload: 1,
                },
            ],
            ..HeaderStats::default()
        };
        let rows = bytes_by_type(&header);
        assert_eq!(rows.len(), 1);
        assert_eq!(
            rows[0].1,
            TypeBytes {
                packets: 3,
                fixed: 6,
                variable: 15,
                properties: 3,
                payload: 8
            }
        );
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
