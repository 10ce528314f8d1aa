//! Latency distributions of completed exchanges, per kind, per connection and overall.

use crate::model::{Trace, TxKind, TxState};

/// Percentiles of a set of latencies (nearest-rank), in nanoseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LatencySummary {
    /// Number of samples.
    pub count: u64,
    /// Smallest.
    pub min: i64,
    /// Median.
    pub p50: i64,
    /// 90th percentile.
    pub p90: i64,
    /// 99th percentile.
    pub p99: i64,
    /// Largest.
    pub max: i64,
    /// Arithmetic mean.
    pub mean: i64,
}

/// The `percent`-th percentile of `sorted` by nearest rank: the smallest value with at least
/// `percent` % of the values at or below it. `None` when empty.
pub fn nearest_rank<T: Copy>(sorted: &[T], percent: f64) -> Option<T> {
    let n = sorted.len();
    if n == 0 {
        return None;
    }
    // percent × n first, then / 100: exact for whole percents, so 90 % of 10 is rank 9, not 10.
    let rank = (percent * n as f64 / 100.0).ceil();
    let rank = if rank.is_nan() { 1 } else { rank as usize };
    sorted.get(rank.clamp(1, n) - 1).copied()
}

/// Summarises `samples` (sorted in place). All zero when empty.
pub fn summarise(samples: &mut [i64]) -> LatencySummary {
    if samples.is_empty() {
        return LatencySummary::default();
    }
    samples.sort_unstable();
    let n = samples.len();
    let rank = |p: f64| -> i64 { nearest_rank(samples, p).unwrap_or(0) };
    let sum: i128 = samples.iter().map(|&x| i128::from(x)).sum();
    LatencySummary {
        count: n as u64,
        min: samples.first().copied().unwrap_or(0),
        p50: rank(50.0),
        p90: rank(90.0),
        p99: rank(99.0),
        max: samples.last().copied().unwrap_or(0),
        mean: i64::try_from(sum / n as i128).unwrap_or(i64::MAX),
    }
}

/// The latency of one exchange kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct KindLatency {
    /// The kind.
    pub kind: TxKind,
    /// Its distribution.
    pub summary: LatencySummary,
}

/// Latencies of one connection.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ConnectionLatency {
    /// `tcp.stream`.
    pub stream: u32,
    /// Connection index.
    pub conn: u32,
    /// One entry per kind with at least one completed exchange.
    pub kinds: Vec<KindLatency>,
}

/// Latency distributions of completed exchanges.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LatencyStats {
    /// Over the whole trace, one entry per kind with samples (in [`TxKind::ALL`] order).
    pub overall: Vec<KindLatency>,
    /// Per connection (connections without completed exchanges omitted).
    pub per_connection: Vec<ConnectionLatency>,
}

impl LatencyStats {
    /// The overall distribution of one kind.
    pub fn of(&self, kind: TxKind) -> Option<&LatencySummary> {
        self.overall
            .iter()
            .find(|k| k.kind == kind)
            .map(|k| &k.summary)
    }
}

fn kind_slot(kind: TxKind) -> usize {
    TxKind::ALL.iter().position(|&k| k == kind).unwrap_or(0)
}

/// Latency samples gathered one completed exchange at a time (from the trace's transactions,
/// or from an analyzer's packet callback as exchanges complete: `PacketView::completed`).
#[derive(Debug, Clone, Default)]
pub struct LatencyAccumulator {
    /// Samples per kind (slots in `TxKind::ALL` order).
    overall: Vec<Vec<i64>>,
    /// Samples per connection index, then per kind (empty for connections without any).
    per_conn: Vec<Vec<Vec<i64>>>,
}

impl LatencyAccumulator {
    /// Adds one complete exchange of connection `conn`.
    pub fn add(&mut self, conn: u32, kind: TxKind, latency_nanos: i64) {
        let k = kind_slot(kind);
        if self.overall.is_empty() {
            self.overall = vec![Vec::new(); TxKind::ALL.len()];
        }
        if let Some(v) = self.overall.get_mut(k) {
            v.push(latency_nanos);
        }
        let c = conn as usize;
        if self.per_conn.len() <= c {
            self.per_conn.resize(c + 1, Vec::new());
        }
        if let Some(slots) = self.per_conn.get_mut(c) {
            if slots.is_empty() {
                *slots = vec![Vec::new(); TxKind::ALL.len()];
            }
            if let Some(v) = slots.get_mut(k) {
                v.push(latency_nanos);
            }
        }
    }

    /// The distributions; `trace` names the connections.
    pub fn finish(mut self, trace: &Trace) -> LatencyStats {
        let collect = |slots: &mut [Vec<i64>]| -> Vec<KindLatency> {
            TxKind::ALL
                .iter()
                .zip(slots.iter_mut())
                .filter(|(_, v)| !v.is_empty())
                .map(|(&kind, v)| KindLatency {
                    kind,
                    summary: summarise(v),
                })
                .collect()
        };
        LatencyStats {
            overall: collect(&mut self.overall),
            per_connection: self
                .per_conn
                .iter_mut()
                .enumerate()
                .filter(|(_, v)| v.iter().any(|s| !s.is_empty()))
                .map(|(i, v)| ConnectionLatency {
                    stream: trace.connections.get(i).map_or(0, |c| c.stream),
                    conn: i as u32,
                    kinds: collect(v),
                })
                .collect(),
        }
    }
}

/// Latency statistics of the trace's complete transactions: CONNECT→CONNACK, SUBSCRIBE→SUBACK,
/// UNSUBSCRIBE→UNSUBACK, PINGREQ→PINGRESP, QoS 1 PUBLISH→PUBACK, QoS 2 PUBLISH→PUBCOMP, AUTH.
pub fn latency_stats(trace: &Trace) -> LatencyStats {
    let mut acc = LatencyAccumulator::default();
    for tx in &trace.transactions {
        if let (TxState::Complete, Some(l)) = (tx.state, tx.latency_nanos) {
            acc.add(tx.conn, tx.kind, l);
        }
    }
    acc.finish(trace)
}

/// The latencies (nanoseconds, in transaction order) of complete exchanges, optionally of one
/// kind and one connection: the samples behind the percentiles, for histograms.
pub fn latency_samples(trace: &Trace, kind: Option<TxKind>, conn: Option<u32>) -> Vec<i64> {
    trace
        .transactions
        .iter()
        .filter(|tx| tx.state == TxState::Complete)
        .filter(|tx| kind.is_none_or(|k| tx.kind == k))
        .filter(|tx| conn.is_none_or(|c| tx.conn == c))
        .filter_map(|tx| tx.latency_nanos)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_of_sorted_values() {
        let v = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0];
        assert_eq!(nearest_rank(&v, 50.0), Some(5.0));
        assert_eq!(nearest_rank(&v, 99.0), Some(10.0));
        assert_eq!(nearest_rank(&v, 0.0), Some(1.0));
        assert_eq!(nearest_rank::<f64>(&[], 50.0), None);
        assert_eq!(nearest_rank(&v, 90.0), Some(9.0));
    }

    #[test]
    fn nearest_rank_percentiles_of_one_to_a_hundred() {
        let mut v: Vec<i64> = (1..=100).rev().collect();
        let s = summarise(&mut v);
        assert_eq!(
            (s.count, s.min, s.p50, s.p90, s.p99, s.max, s.mean),
            (100, 1, 50, 90, 99, 100, 50)
        );
    }

    #[test]
    fn percentiles_of_few_samples_are_actual_samples() {
        let mut v = vec![30, 10, 20];
        let s = summarise(&mut v);
        assert_eq!((s.p50, s.p90, s.p99, s.max), (20, 30, 30, 30));
        assert_eq!(summarise(&mut []), LatencySummary::default());
    }
}
