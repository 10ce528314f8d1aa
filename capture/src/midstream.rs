//! Recognising MQTT caught mid-connection on a port we do not know, where neither the TCP
//! handshake nor the CONNECT was captured.
//!
//! A run of plausible packets alone is not enough on an arbitrary port (binary protocols can
//! look like a PINGRESP or two), so the evidence asked for is a conversation: several plausible
//! packets in a row in *each* direction, and acknowledgements in one direction that answer
//! requests in the other by packet identifier (PUBLISH QoS 1 → PUBACK, QoS 2 → PUBREC → PUBREL →
//! PUBCOMP, SUBSCRIBE → SUBACK, UNSUBSCRIBE → UNSUBACK; MQTT 5.0 §4.3, §4.8) or PINGREQ →
//! PINGRESP (§3.12, §3.13). The roles follow from who sends what (PINGREQ and SUBSCRIBE only come
//! from clients); contradicting roles reject the connection.

use dissector::framing::read_fixed_header;

use crate::plausible::{self, Check};

/// Consecutive plausible packets each direction must show.
pub(crate) const MIN_PACKETS: usize = 4;
/// Request/answer pairs across the two directions that must match.
pub(crate) const MIN_PAIRS: usize = 2;
/// Largest packet accepted while judging (the held bytes are a few KiB anyway).
const MAX_PACKET: u64 = 1 << 20;
/// Segment starts tried as the first packet boundary of a direction.
const MAX_STARTS: usize = 4;

/// The verdict on a connection's first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// MQTT; the client's direction when the packets tell it.
    Mqtt { client: Option<usize> },
    /// Not MQTT (or not credibly).
    NotMqtt,
    /// Not enough bytes yet.
    NeedMore,
}

/// One packet's identity: type, QoS (PUBLISH) and packet identifier when it has one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Seen {
    type_id: u8,
    qos: u8,
    id: Option<u16>,
}

/// The packets of one direction from `start` to the end of `buf`, if every one is plausible
/// (the last may be incomplete); `None` when the chain breaks.
fn chain_from(buf: &[u8], start: usize) -> Option<Vec<Seen>> {
    let mut pos = start;
    let mut out = Vec::new();
    while let Some(rest) = buf.get(pos..).filter(|r| !r.is_empty()) {
        match plausible::check_packet(rest, MAX_PACKET) {
            Check::Plausible(len) => {
                let header = read_fixed_header(rest).ok().flatten()?;
                let body = rest.get(usize::from(header.header_len)..)?;
                let type_id = header.type_id();
                let qos = (header.flags() >> 1) & 0x03;
                let id_at = match type_id {
                    3 if qos > 0 => {
                        let topic_len = u16::from_be_bytes([*body.first()?, *body.get(1)?]);
                        Some(2 + usize::from(topic_len))
                    }
                    4..=11 => Some(0),
                    _ => None,
                };
                let id = id_at
                    .and_then(|at| Some(u16::from_be_bytes([*body.get(at)?, *body.get(at + 1)?])));
                out.push(Seen { type_id, qos, id });
                pos = pos.checked_add(usize::try_from(len).ok()?)?;
            }
            Check::NeedMore => break,
            Check::Implausible => return None,
        }
    }
    Some(out)
}

/// The longest plausible chain of a direction starting at one of its first segment starts.
fn best_chain(buf: &[u8], starts: &[usize]) -> Option<Vec<Seen>> {
    starts
        .iter()
        .take(MAX_STARTS)
        .filter_map(|&s| chain_from(buf, s))
        .max_by_key(Vec::len)
}

/// Whether `answer` (sent the other way) answers `request`.
fn answers(request: &Seen, answer: &Seen) -> bool {
    let expected = match (request.type_id, request.qos) {
        (3, 1) => 4,
        (3, 2) => 5,
        (5, _) => 6,
        (6, _) => 7,
        (8, _) => 9,
        (10, _) => 11,
        (12, _) => 13,
        _ => return false,
    };
    answer.type_id == expected && (request.type_id == 12 || answer.id == request.id)
}

/// Requests in `from` answered in `to`, each answer used once.
fn pairs(from: &[Seen], to: &[Seen]) -> usize {
    let mut used = vec![false; to.len()];
    let mut n = 0;
    for req in from {
        if let Some(i) = (0..to.len()).find(|&i| {
            !used.get(i).copied().unwrap_or(true) && to.get(i).is_some_and(|a| answers(req, a))
        }) {
            if let Some(u) = used.get_mut(i) {
                *u = true;
            }
            n += 1;
        }
    }
    n
}

/// Whether a packet type is only ever sent by a client (`Some(true)`) or a broker
/// (`Some(false)`): MQTT 5.0 §3.1, §3.2, §3.8–§3.13.
fn sent_by_client(type_id: u8) -> Option<bool> {
    match type_id {
        1 | 8 | 10 | 12 => Some(true),
        2 | 9 | 11 | 13 => Some(false),
        _ => None,
    }
}

/// Judges the bytes held so far of both directions (`bufs[d]`, with the offsets where its
/// segments start in `starts[d]`); `final_call` when no more bytes will come.
pub(crate) fn judge(bufs: [&[u8]; 2], starts: [&[usize]; 2], final_call: bool) -> Verdict {
    let undecided = if final_call {
        Verdict::NotMqtt
    } else {
        Verdict::NeedMore
    };
    let mut chains: [Vec<Seen>; 2] = [Vec::new(), Vec::new()];
    let mut silent = false;
    for ((chain, buf), st) in chains.iter_mut().zip(bufs).zip(starts) {
        if buf.is_empty() {
            silent = true;
            continue;
        }
        match best_chain(buf, st) {
            Some(found) => *chain = found,
            // Bytes that are not MQTT from any segment start: stop holding them (even while
            // the other direction is still silent).
            None => return Verdict::NotMqtt,
        }
    }
    if silent {
        return undecided;
    }
    let [c0, c1] = &chains;
    if c0.len() < MIN_PACKETS || c1.len() < MIN_PACKETS {
        return undecided;
    }
    // Roles: each direction's role-revealing packets must agree, and the two must differ.
    let mut role: [Option<bool>; 2] = [None, None];
    for (d, chain) in chains.iter().enumerate() {
        for seen in chain {
            if let Some(client) = sent_by_client(seen.type_id) {
                match role[d] {
                    Some(r) if r != client => return Verdict::NotMqtt,
                    _ => role[d] = Some(client),
                }
            }
        }
    }
    if role[0].is_some() && role[0] == role[1] {
        return Verdict::NotMqtt;
    }
    if pairs(c0, c1) + pairs(c1, c0) < MIN_PAIRS {
        return undecided;
    }
    let client = match role {
        [Some(true), _] | [_, Some(false)] => Some(0),
        [Some(false), _] | [_, Some(true)] => Some(1),
        _ => None,
    };
    Verdict::Mqtt { client }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn publish_q1(id: u16) -> Vec<u8> {
        let mut p = vec![0x32, 7, 0, 3, b'a', b'/', b'b'];
        p.extend_from_slice(&id.to_be_bytes());
        p
    }

    fn puback(id: u16) -> Vec<u8> {
        let mut p = vec![0x40, 2];
        p.extend_from_slice(&id.to_be_bytes());
        p
    }

    #[test]
    fn publishes_acknowledged_the_other_way_are_mqtt_with_roles_from_pings() {
        let mut a: Vec<u8> = (1..=4).flat_map(publish_q1).collect();
        a.extend([0xc0, 0x00]);
        let mut b: Vec<u8> = (1..=4).flat_map(puback).collect();
        b.extend([0xd0, 0x00]);
        assert_eq!(
            judge([&a, &b], [&[0], &[0]], false),
            Verdict::Mqtt { client: Some(0) }
        );
        assert_eq!(
            judge([&b, &a], [&[0], &[0]], false),
            Verdict::Mqtt { client: Some(1) }
        );
    }

    #[test]
    fn plausible_packets_without_matching_answers_are_not_enough() {
        let a: Vec<u8> = (1..=4).flat_map(publish_q1).collect();
        let b: Vec<u8> = (11..=14).flat_map(puback).collect();
        assert_eq!(judge([&a, &b], [&[0], &[0]], false), Verdict::NeedMore);
        assert_eq!(judge([&a, &b], [&[0], &[0]], true), Verdict::NotMqtt);
    }

    #[test]
    fn pings_from_both_sides_contradict_the_roles() {
        let a: Vec<u8> = [[0xc0, 0], [0xd0, 0]].repeat(3).concat();
        assert_eq!(judge([&a, &a], [&[0], &[0]], false), Verdict::NotMqtt);
    }

    #[test]
    fn text_and_tls_records_are_rejected_at_once() {
        let http = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n".to_vec();
        let tls = vec![0x17, 3, 3, 0, 4, 1, 2, 3, 4];
        assert_eq!(judge([&http, &tls], [&[0], &[0]], false), Verdict::NotMqtt);
        // Also while the other direction has said nothing yet: nothing is held for it.
        assert_eq!(judge([&[], &tls], [&[], &[0]], false), Verdict::NotMqtt);
    }

    proptest::proptest! {
        /// Random bytes both ways, cut into random segments, are never taken for MQTT.
        #[test]
        fn random_conversations_are_not_mqtt(
            a in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..3000),
            b in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..3000),
            cuts in proptest::collection::vec(1usize..400, 1..8),
        ) {
            let starts = |len: usize| -> Vec<usize> {
                let mut at = 0;
                let mut v = vec![0];
                for c in &cuts {
                    at += c;
                    if at < len {
                        v.push(at);
                    }
                }
                v
            };
            let (sa, sb) = (starts(a.len()), starts(b.len()));
            for final_call in [false, true] {
                let verdict = judge([&a, &b], [&sa, &sb], final_call);
                let is_mqtt = matches!(verdict, Verdict::Mqtt { .. });
                proptest::prop_assert!(!is_mqtt, "judged MQTT: {:?}", verdict);
            }
        }
    }

    #[test]
    fn a_later_segment_start_is_tried_when_the_capture_begins_mid_packet() {
        let mut a = vec![0x99, 0x42, 0x01];
        let tail = a.len();
        a.extend((1..=4).flat_map(publish_q1));
        let b: Vec<u8> = (1..=4).flat_map(puback).collect();
        assert_eq!(
            judge([&a, &b], [&[0, tail], &[0]], false),
            Verdict::Mqtt { client: None }
        );
    }
}
