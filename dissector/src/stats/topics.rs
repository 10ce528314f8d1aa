//! The topic tree: per topic level, messages, bytes, publishers, subscribers, retained messages
//! and rate, each counted over the level's whole subtree.

use crate::codec::PacketType;
use crate::input::Direction;
use crate::model::{PacketRecord, Sym, Trace, topic_matches};
use rustc_hash::{FxHashMap, FxHashSet};
use std::collections::{BTreeMap, HashSet};

/// One level of the topic tree (e.g. `home/kitchen` under `home`), with its subtree's counts.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct TopicLevel {
    /// Full path of the level ("home/kitchen").
    pub path: String,
    /// Last segment ("kitchen").
    pub name: String,
    /// 0 for a first-level segment.
    pub depth: u32,
    /// PUBLISHes into the broker on this exact topic.
    pub own_published: u64,
    /// PUBLISHes into the broker in the subtree.
    pub published: u64,
    /// PUBLISHes out of the broker (deliveries to subscribers) in the subtree.
    pub delivered: u64,
    /// Payload bytes of all those PUBLISHes.
    pub bytes: u64,
    /// PUBLISHes with RETAIN in the subtree.
    pub retained: u64,
    /// Distinct connections publishing into the subtree.
    pub publishers: u64,
    /// Distinct connections with a subscription matching a topic of the subtree.
    pub subscribers: u64,
    /// Published messages per second over the capture's duration.
    pub rate: f64,
}

#[derive(Debug, Default)]
struct Acc {
    published: u64,
    delivered: u64,
    bytes: u64,
    retained: u64,
    /// Fx: hashed once per PUBLISH into the broker.
    publishers: FxHashSet<u32>,
}

#[derive(Default)]
struct Node {
    own_published: u64,
    published: u64,
    delivered: u64,
    bytes: u64,
    retained: u64,
    publishers: HashSet<u32>,
    subscribers: HashSet<u32>,
}

/// Per-topic counts of PUBLISH records, added one record at a time; the tree is built at the
/// end, when the trace's subscriptions and time span are known. Memory grows with topics and
/// their publishers, not with packets.
#[derive(Debug, Default)]
pub(super) struct TopicAccumulator {
    by_topic: FxHashMap<Sym, Acc>,
}

impl TopicAccumulator {
    /// Counts one packet record (anything but a PUBLISH with a topic is ignored).
    pub(super) fn add(&mut self, p: &PacketRecord) {
        if p.packet_type != PacketType::Publish {
            return;
        }
        let Some(topic) = p.topic else { return };
        let acc = self.by_topic.entry(topic).or_default();
        match p.dir {
            Direction::ToBroker => {
                acc.published += 1;
                acc.publishers.insert(p.conn);
            }
            Direction::ToClient => acc.delivered += 1,
        }
        acc.bytes += u64::from(p.payload_len);
        if p.retain() {
            acc.retained += 1;
        }
    }

    /// The tree, in depth-first order (parents first, siblings by name). Subscribers come from
    /// `trace.subscriptions`, rates from the trace's time span.
    pub(super) fn finish(self, trace: &Trace) -> Vec<TopicLevel> {
        let by_topic = self.by_topic;
        // Distinct (connection, filter) pairs; matched against each distinct topic once.
        let filters: HashSet<(u32, Sym)> = trace
            .subscriptions
            .iter()
            .map(|s| (s.conn, s.filter))
            .collect();

        let mut tree: BTreeMap<Vec<&str>, Node> = BTreeMap::new();
        for (&topic, acc) in &by_topic {
            let name = trace.str(topic);
            let subscribers: HashSet<u32> = filters
                .iter()
                .filter(|(_, f)| topic_matches(trace.str(*f), name))
                .map(|(c, _)| *c)
                .collect();
            let segments: Vec<&str> = name.split('/').collect();
            for depth in 1..=segments.len() {
                let key = segments.get(..depth).unwrap_or(&[]).to_vec();
                let node = tree.entry(key).or_default();
                node.published += acc.published;
                node.delivered += acc.delivered;
                node.bytes += acc.bytes;
                node.retained += acc.retained;
                node.publishers.extend(&acc.publishers);
                node.subscribers.extend(&subscribers);
                if depth == segments.len() {
                    node.own_published += acc.published;
                }
            }
        }
        let seconds = match (trace.totals.first_ts, trace.totals.last_ts) {
            (Some(f), Some(l)) => l.nanos_since(f) as f64 / 1e9,
            _ => 0.0,
        };
        tree.into_iter()
            .map(|(segments, n)| TopicLevel {
                path: segments.join("/"),
                name: segments.last().map_or("", |s| s).to_owned(),
                depth: segments.len().saturating_sub(1) as u32,
                own_published: n.own_published,
                published: n.published,
                delivered: n.delivered,
                bytes: n.bytes,
                retained: n.retained,
                publishers: n.publishers.len() as u64,
                subscribers: n.subscribers.len() as u64,
                rate: if seconds > 0.0 {
                    n.published as f64 / seconds
                } else {
                    0.0
                },
            })
            .collect()
    }
}

/// The topic tree of the retained PUBLISH records, in depth-first order (parents first,
/// siblings by name).
pub fn topic_tree(trace: &Trace) -> Vec<TopicLevel> {
    let mut acc = TopicAccumulator::default();
    for p in &trace.packets {
        acc.add(p);
    }
    acc.finish(trace)
}
