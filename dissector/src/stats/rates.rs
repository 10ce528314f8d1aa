//! Packets and bytes per type over time (the IO graph), counted packet by packet.
//!
//! Buckets are aligned to multiples of their width (counted from the epoch), so a bucket of
//! width `2w` is exactly two neighbouring buckets of width `w`. The width starts at
//! [`StatsConfig::rate_bucket_nanos`] and doubles, merging neighbours pairwise, whenever the
//! buckets from the earliest packet to the latest would outnumber
//! [`StatsConfig::max_rate_buckets`]. Memory is thus bounded by the cap, not by the packets,
//! the capture's span or the order of its timestamps; and the result is the one a pass over
//! the whole capture would choose: the smallest width `configured × 2^k` whose buckets fit.
//! A capture whose buckets fit at the configured width (100 000 s at the defaults) is bucketed
//! at that width.

use std::collections::VecDeque;

use super::{RateBucket, Rates, StatsConfig};

/// Packets and bytes per packet type number of one bucket.
#[derive(Debug, Clone, Copy, Default)]
struct Counts {
    packets: [u64; 16],
    bytes: [u64; 16],
}

impl Counts {
    fn merge(&mut self, other: &Counts) {
        for (a, b) in self.packets.iter_mut().zip(&other.packets) {
            *a += b;
        }
        for (a, b) in self.bytes.iter_mut().zip(&other.bytes) {
            *a += b;
        }
    }
}

/// Rate buckets filled one packet at a time, in any timestamp order.
#[derive(Debug, Clone)]
pub(super) struct RateAccumulator {
    /// The configured width, nanoseconds (at least 1).
    base: i64,
    /// At most this many buckets from the first to the last (at least 2: buckets are aligned to
    /// the epoch, so timestamps on both sides of it never share one, however wide).
    max: i128,
    /// Current width: `base × 2^k`. i128: for timestamps spread over i64's whole range the
    /// width that fits the cap may exceed i64.
    width: i128,
    /// Bucket number (timestamp divided by `width`, rounded down) of `buckets[0]`.
    first: i128,
    /// Consecutive buckets, empty ones included.
    buckets: VecDeque<Counts>,
    /// The bucket the previous packet went to: [start, end) in nanoseconds and its position.
    /// Packets come mostly in time order, so most skip the division.
    hot: Option<(i128, i128, usize)>,
}

impl RateAccumulator {
    /// No buckets yet.
    pub(super) fn new(config: &StatsConfig) -> RateAccumulator {
        let base = config.rate_bucket_nanos.max(1);
        RateAccumulator {
            base,
            max: i128::try_from(config.max_rate_buckets.max(2)).unwrap_or(i128::MAX),
            width: i128::from(base),
            first: 0,
            buckets: VecDeque::new(),
            hot: None,
        }
    }

    /// Counts one packet of type number `type_id` (0..=15) and `bytes` bytes at `ts`.
    pub(super) fn add(&mut self, ts: i64, type_id: u8, bytes: u64) {
        let t = i128::from(ts);
        let pos = match self.hot {
            Some((start, end, pos)) if start <= t && t < end => pos,
            _ => self.locate(t),
        };
        let t = usize::from(type_id);
        if let Some(b) = self.buckets.get_mut(pos)
            && let (Some(c), Some(n)) = (b.packets.get_mut(t), b.bytes.get_mut(t))
        {
            *c += 1;
            *n += bytes;
        }
    }

    /// The position of the bucket of `t`, adding buckets (and widening them when they would
    /// exceed the cap) as needed.
    fn locate(&mut self, t: i128) -> usize {
        loop {
            let idx = t.div_euclid(self.width);
            let (lo, hi) = match self.buckets.len() {
                0 => (idx, idx),
                n => (self.first.min(idx), (self.first + n as i128 - 1).max(idx)),
            };
            if hi - lo < self.max {
                // Fits: grow at the front or back (at most `max` buckets in all).
                if self.buckets.is_empty() {
                    self.first = idx;
                }
                while self.first > lo {
                    self.buckets.push_front(Counts::default());
                    self.first -= 1;
                }
                let pos = usize::try_from(idx - self.first).unwrap_or(0);
                if self.buckets.len() <= pos {
                    self.buckets.resize(pos + 1, Counts::default());
                }
                let start = idx * self.width;
                self.hot = Some((start, start + self.width, pos));
                return pos;
            }
            self.double();
        }
    }

    /// Doubles the width, merging bucket `2i` and `2i + 1` (by bucket number) into `i`.
    fn double(&mut self) {
        self.width *= 2;
        self.hot = None;
        let old = std::mem::take(&mut self.buckets);
        let first = self.first.div_euclid(2);
        for (i, counts) in old.into_iter().enumerate() {
            let pos = usize::try_from((self.first + i as i128).div_euclid(2) - first).unwrap_or(0);
            if self.buckets.len() <= pos {
                self.buckets.resize(pos + 1, Counts::default());
            }
            if let Some(b) = self.buckets.get_mut(pos) {
                b.merge(&counts);
            }
        }
        self.first = first;
    }

    /// The buckets, from the earliest packet's to the latest's.
    pub(super) fn finish(self) -> Rates {
        if self.buckets.is_empty() {
            return Rates {
                bucket_nanos: self.base,
                buckets: Vec::new(),
            };
        }
        let clamp = |x: i128| i64::try_from(x).unwrap_or(if x < 0 { i64::MIN } else { i64::MAX });
        Rates {
            bucket_nanos: clamp(self.width),
            buckets: self
                .buckets
                .into_iter()
                .enumerate()
                .map(|(i, c)| RateBucket {
                    start: clamp((self.first + i as i128) * self.width),
                    packets: c.packets,
                    bytes: c.bytes,
                })
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const SEC: i64 = 1_000_000_000;

    fn config(width: i64, max: usize) -> StatsConfig {
        StatsConfig {
            rate_bucket_nanos: width,
            max_rate_buckets: max,
        }
    }

    fn run(config: &StatsConfig, packets: &[(i64, u8, u64)]) -> Rates {
        let mut acc = RateAccumulator::new(config);
        for &(ts, t, bytes) in packets {
            acc.add(ts, t, bytes);
        }
        acc.finish()
    }

    /// The same buckets computed with the whole capture at hand: the smallest width
    /// `base × 2^k` whose aligned buckets fit the cap, then every packet counted directly.
    fn reference(config: &StatsConfig, packets: &[(i64, u8, u64)]) -> Rates {
        let base = i128::from(config.rate_bucket_nanos.max(1));
        let max = config.max_rate_buckets.max(2) as i128;
        let first = packets.iter().map(|p| i128::from(p.0)).min().unwrap_or(0);
        let last = packets.iter().map(|p| i128::from(p.0)).max().unwrap_or(0);
        let mut width = base;
        while last.div_euclid(width) - first.div_euclid(width) + 1 > max {
            width *= 2;
        }
        let lo = first.div_euclid(width);
        let n = (last.div_euclid(width) - lo + 1) as usize;
        // Widths and starts beyond i64 (timestamps over its whole range) saturate.
        let clamp = |x: i128| x.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64;
        let mut buckets: Vec<RateBucket> = (0..n)
            .map(|i| RateBucket {
                start: clamp((lo + i as i128) * width),
                ..RateBucket::default()
            })
            .collect();
        for &(ts, t, bytes) in packets {
            let b = &mut buckets[(i128::from(ts).div_euclid(width) - lo) as usize];
            b.packets[usize::from(t)] += 1;
            b.bytes[usize::from(t)] += bytes;
        }
        Rates {
            bucket_nanos: clamp(width),
            buckets,
        }
    }

    #[test]
    fn buckets_are_aligned_to_their_width_with_empty_ones_between() {
        let r = run(
            &config(SEC, 10),
            &[(SEC / 2, 1, 10), (SEC / 2 + 1, 2, 4), (2 * SEC + 1, 12, 2)],
        );
        assert_eq!(r.bucket_nanos, SEC);
        let starts: Vec<i64> = r.buckets.iter().map(|b| b.start).collect();
        assert_eq!(starts, [0, SEC, 2 * SEC]);
        assert_eq!((r.buckets[0].packets[1], r.buckets[0].bytes[1]), (1, 10));
        assert_eq!((r.buckets[0].packets[2], r.buckets[0].bytes[2]), (1, 4));
        assert_eq!(
            r.buckets[1],
            RateBucket {
                start: SEC,
                ..RateBucket::default()
            }
        );
        assert_eq!((r.buckets[2].packets[12], r.buckets[2].bytes[12]), (1, 2));
    }

    #[test]
    fn width_doubles_and_merges_neighbours_when_over_the_cap() {
        // Seconds 0..=4 at a cap of 3 buckets: 1 s gives 5, 2 s gives 3 ([0,2) [2,4) [4,6)).
        let packets: Vec<(i64, u8, u64)> = (0..5).map(|s| (s * SEC, 3, 100 + s as u64)).collect();
        let r = run(&config(SEC, 3), &packets);
        assert_eq!(r.bucket_nanos, 2 * SEC);
        let counts: Vec<(i64, u64, u64)> = r
            .buckets
            .iter()
            .map(|b| (b.start, b.packets[3], b.bytes[3]))
            .collect();
        assert_eq!(counts, [(0, 2, 201), (2 * SEC, 2, 205), (4 * SEC, 1, 104)]);
    }

    #[test]
    fn a_packet_before_the_first_grows_the_buckets_at_the_front() {
        let r = run(&config(SEC, 100), &[(5 * SEC, 4, 1), (2 * SEC, 5, 1)]);
        let starts: Vec<i64> = r.buckets.iter().map(|b| b.start).collect();
        assert_eq!(starts, [2 * SEC, 3 * SEC, 4 * SEC, 5 * SEC]);
        assert_eq!((r.buckets[0].packets[5], r.buckets[3].packets[4]), (1, 1));
    }

    #[test]
    fn negative_timestamps_round_down_to_their_bucket() {
        let r = run(&config(SEC, 100), &[(-1, 1, 1), (0, 1, 1)]);
        let starts: Vec<i64> = r.buckets.iter().map(|b| b.start).collect();
        assert_eq!(starts, [-SEC, 0]);
    }

    #[test]
    fn timestamps_across_the_whole_range_fit_the_smallest_cap() {
        let packets = [(i64::MIN, 12, 2), (0, 12, 2), (i64::MAX, 12, 2)];
        let r = run(&config(SEC, 1), &packets);
        // The cap is at least two buckets: the epoch always separates them.
        assert_eq!(r.buckets.len(), 2);
        assert_eq!(r.buckets.iter().map(|b| b.packets[12]).sum::<u64>(), 3);
        assert_eq!(r, reference(&config(SEC, 1), &packets));
    }

    #[test]
    fn no_packets_give_no_buckets_at_the_configured_width() {
        let r = run(&config(0, 10), &[]);
        assert_eq!((r.bucket_nanos, r.buckets.len()), (1, 0));
    }

    proptest! {
        /// Whatever the order of the packets and however often the width doubles on the way,
        /// the buckets are those computed with the whole capture at hand.
        #[test]
        fn any_order_gives_the_whole_capture_buckets(
            packets in prop::collection::vec((-50_000i64..50_000, 0u8..16, 0u64..1000), 1..200),
            width in 1i64..2_000,
            max in 1usize..40,
        ) {
            let config = config(width, max);
            let r = run(&config, &packets);
            prop_assert!(r.buckets.len() <= max.max(2));
            prop_assert_eq!(r, reference(&config, &packets));
        }
    }
}
