//! The common row both sides of a comparison are reduced to, and the comparison itself.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

/// Type names by number (MQTT 5.0 §2.1.2), for messages.
pub const TYPE_NAMES: [&str; 16] = [
    "RESERVED",
    "CONNECT",
    "CONNACK",
    "PUBLISH",
    "PUBACK",
    "PUBREC",
    "PUBREL",
    "PUBCOMP",
    "SUBSCRIBE",
    "SUBACK",
    "UNSUBSCRIBE",
    "UNSUBACK",
    "PINGREQ",
    "PINGRESP",
    "DISCONNECT",
    "AUTH",
];

/// The name of a packet type number ("PUBLISH"); "?" outside 0..=15.
pub fn type_name(type_id: u8) -> &'static str {
    TYPE_NAMES.get(usize::from(type_id)).copied().unwrap_or("?")
}

/// One MQTT control packet, reduced to what tshark and we can both say about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PacketRow {
    /// Wireshark's `frame.number` of the frame holding the packet's last byte.
    pub frame: u64,
    /// Wireshark's `tcp.stream`.
    pub stream: u32,
    /// True when the packet travels to the broker's port; `None` when the source cannot tell.
    pub to_broker: Option<bool>,
    /// Packet type, 0..=15.
    pub type_id: u8,
    /// The four flag bits of the first byte (PUBLISH: DUP, QoS, RETAIN).
    pub flags: u8,
    /// Packet identifier, for the packets that carry one.
    pub packet_id: Option<u16>,
    /// PUBLISH: its topic; SUBSCRIBE / UNSUBSCRIBE: the topic filters, in order.
    pub topics: Vec<String>,
    /// The fixed header's remaining length.
    pub remaining_length: u32,
    /// tshark replaced an empty PUBLISH topic with the one its topic alias stands for.
    pub topic_from_alias: bool,
    /// Why the source could not decode past the fixed header, if it could not.
    pub error: Option<String>,
}

impl PacketRow {
    /// A row with only the fixed header known.
    pub fn header_only(
        frame: u64,
        stream: u32,
        first_byte: u8,
        remaining_length: u32,
    ) -> PacketRow {
        PacketRow {
            frame,
            stream,
            to_broker: None,
            type_id: first_byte >> 4,
            flags: first_byte & 0x0f,
            packet_id: None,
            topics: Vec::new(),
            remaining_length,
            topic_from_alias: false,
            error: None,
        }
    }
    /// PUBLISH QoS (flag bits 2-1); `None` for other types.
    pub fn qos(&self) -> Option<u8> {
        (self.type_id == 3).then_some((self.flags >> 1) & 3)
    }
    /// PUBLISH DUP (flag bit 3); `None` for other types.
    pub fn dup(&self) -> Option<bool> {
        (self.type_id == 3).then_some(self.flags & 0x08 != 0)
    }
    /// PUBLISH RETAIN (flag bit 0); `None` for other types.
    pub fn retain(&self) -> Option<bool> {
        (self.type_id == 3).then_some(self.flags & 0x01 != 0)
    }
    /// The type's name.
    pub fn type_name(&self) -> &'static str {
        type_name(self.type_id)
    }
}

impl fmt::Display for PacketRow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} flags={:#x} rl={}",
            self.type_name(),
            self.flags,
            self.remaining_length
        )?;
        if let Some(id) = self.packet_id {
            write!(f, " id={id}")?;
        }
        if !self.topics.is_empty() {
            write!(f, " topics={:?}", self.topics)?;
        }
        if let Some(e) = &self.error {
            write!(f, " error={e}")?;
        }
        Ok(())
    }
}

/// One difference between two row lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mismatch {
    /// The frame it is in.
    pub frame: u64,
    /// What differs.
    pub what: String,
}

impl fmt::Display for Mismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "frame {}: {}", self.frame, self.what)
    }
}

/// Compares `ours` with `reference` frame by frame, packets in order within a frame: stream,
/// type, flags (so QoS, DUP, RETAIN), packet id, topics and remaining length. Frames in `skip`
/// are left out on both sides (the caller checks them another way). One accepted difference:
/// where one side resolved a topic alias (`topic_from_alias`, tshark does), the other side's
/// empty wire topic matches.
pub fn compare(ours: &[PacketRow], reference: &[PacketRow], skip: &[u64]) -> Vec<Mismatch> {
    let skip: BTreeSet<u64> = skip.iter().copied().collect();
    let by_frame = |rows: &[PacketRow]| {
        let mut map: BTreeMap<u64, Vec<PacketRow>> = BTreeMap::new();
        for row in rows.iter().filter(|r| !skip.contains(&r.frame)) {
            map.entry(row.frame).or_default().push(row.clone());
        }
        map
    };
    let (ours, reference) = (by_frame(ours), by_frame(reference));
    let frames: BTreeSet<u64> = ours.keys().chain(reference.keys()).copied().collect();
    let mut out = Vec::new();
    let empty = Vec::new();
    for frame in frames {
        let a = ours.get(&frame).unwrap_or(&empty);
        let b = reference.get(&frame).unwrap_or(&empty);
        if a.len() != b.len() {
            let list = |rows: &[PacketRow]| {
                rows.iter()
                    .map(|r| r.to_string())
                    .collect::<Vec<_>>()
                    .join("; ")
            };
            out.push(Mismatch {
                frame,
                what: format!(
                    "{} packet(s) here, reference {}: ours [{}], reference [{}]",
                    a.len(),
                    b.len(),
                    list(a),
                    list(b)
                ),
            });
            continue;
        }
        for (i, (x, y)) in a.iter().zip(b).enumerate() {
            let mut diffs = Vec::new();
            if x.stream != y.stream {
                diffs.push(format!("stream {} vs {}", x.stream, y.stream));
            }
            if x.type_id != y.type_id {
                diffs.push(format!("type {} vs {}", x.type_name(), y.type_name()));
            }
            if x.flags != y.flags {
                diffs.push(format!("flags {:#x} vs {:#x}", x.flags, y.flags));
            }
            if x.packet_id != y.packet_id {
                diffs.push(format!("packet id {:?} vs {:?}", x.packet_id, y.packet_id));
            }
            let empty_topic = |r: &PacketRow| r.topics.len() == 1 && r.topics[0].is_empty();
            let alias_ok =
                (y.topic_from_alias && empty_topic(x)) || (x.topic_from_alias && empty_topic(y));
            if x.topics != y.topics && !alias_ok {
                diffs.push(format!("topics {:?} vs {:?}", x.topics, y.topics));
            }
            if x.remaining_length != y.remaining_length {
                diffs.push(format!(
                    "remaining length {} vs {}",
                    x.remaining_length, y.remaining_length
                ));
            }
            if let (Some(p), Some(q)) = (x.to_broker, y.to_broker)
                && p != q
            {
                diffs.push(format!("to_broker {p} vs {q}"));
            }
            if !diffs.is_empty() {
                out.push(Mismatch {
                    frame,
                    what: format!(
                        "packet {} ({}): {}{}",
                        i + 1,
                        y.type_name(),
                        diffs.join(", "),
                        x.error
                            .as_ref()
                            .map(|e| format!(" [ours: {e}]"))
                            .unwrap_or_default()
                    ),
                });
            }
        }
    }
    out
}

/// Fails the calling test with every mismatch listed, one per line, headed by `what`.
#[track_caller]
pub fn assert_no_mismatch(what: &str, found: &[Mismatch]) {
    let listed: Vec<String> = found.iter().map(|m| m.to_string()).collect();
    assert!(
        found.is_empty(),
        "{what}: {} mismatch(es)\n{}",
        found.len(),
        listed.join("\n")
    );
}

/// Packet counts per (stream, to_broker, type name), for checks against a sample's ground truth.
pub fn counts(rows: &[PacketRow]) -> BTreeMap<(u32, bool), BTreeMap<String, u32>> {
    let mut out: BTreeMap<(u32, bool), BTreeMap<String, u32>> = BTreeMap::new();
    for row in rows {
        let dir = row.to_broker.unwrap_or(true);
        *out.entry((row.stream, dir))
            .or_default()
            .entry(row.type_name().to_string())
            .or_default() += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn publish(frame: u64, topic: &str) -> PacketRow {
        PacketRow {
            topics: vec![topic.to_string()],
            packet_id: Some(1),
            ..PacketRow::header_only(frame, 0, 0x32, 10)
        }
    }

    #[test]
    fn identical_rows_have_no_mismatch() {
        let rows = vec![publish(4, "a/b"), PacketRow::header_only(6, 0, 0x40, 2)];
        assert!(compare(&rows, &rows, &[]).is_empty());
    }

    #[test]
    fn each_differing_field_is_named_with_its_frame() {
        let ours = vec![publish(4, "a/b")];
        let mut theirs = publish(4, "a/c");
        theirs.flags = 0x3;
        theirs.remaining_length = 11;
        let found = compare(&ours, &[theirs], &[]);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].frame, 4);
        for part in ["flags 0x2 vs 0x3", "topics", "remaining length 10 vs 11"] {
            assert!(
                found[0].what.contains(part),
                "{} lacks {part}",
                found[0].what
            );
        }
    }

    #[test]
    fn a_missing_packet_and_skipped_frames() {
        let ours = vec![publish(4, "a")];
        let theirs = vec![publish(4, "a"), PacketRow::header_only(4, 0, 0xc0, 0)];
        assert_eq!(compare(&ours, &theirs, &[]).len(), 1);
        assert!(compare(&ours, &theirs, &[4]).is_empty());
    }

    #[test]
    fn an_alias_resolved_topic_matches_an_empty_wire_topic_only() {
        let mut theirs = publish(9, "v5/props");
        theirs.topic_from_alias = true;
        assert!(compare(&[publish(9, "")], &[theirs.clone()], &[]).is_empty());
        assert!(compare(&[theirs.clone()], &[publish(9, "")], &[]).is_empty());
        assert_eq!(compare(&[publish(9, "other")], &[theirs], &[]).len(), 1);
    }
}
