//! The independent truth: tshark's TCP / WebSocket payloads, put in sequence order here and
//! cut into MQTT packets by a deliberately small framer and field reader that share no code
//! with `dissector`. Used where tshark's MQTT dissector is blind or wrong, and to check the
//! samples hold what their ground truth says.

use std::collections::HashMap;

use crate::captures::Capture;
use crate::rows::PacketRow;
use crate::tshark::{self, Chunk};

/// What a framer says about the start of a buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cut {
    /// A whole packet of this many bytes is at the start.
    Whole(usize),
    /// More bytes are needed.
    NeedMore,
    /// These bytes cannot start a packet: the stream has lost sync.
    Invalid,
}

/// One MQTT packet cut from a direction's byte stream.
#[derive(Debug, Clone)]
pub struct CutPacket {
    /// Frame holding the packet's last byte.
    pub frame: u64,
    /// `tcp.stream`.
    pub stream: u32,
    /// Travels to the broker.
    pub to_broker: bool,
    /// The packet's bytes, fixed header first.
    pub bytes: Vec<u8>,
}

/// Is `a` before `b` in TCP sequence space (RFC 793 modular comparison)?
fn seq_before(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) < 0
}

/// Puts each direction's payloads in sequence order (dropping retransmitted bytes; a hole in
/// the sequence drops the partial packet before it, as sync is lost) and cuts packets with
/// `cut`. A packet belongs to the frame that completed it.
pub fn reassemble(chunks: &[Chunk], cut: impl Fn(&[u8]) -> Cut) -> Vec<CutPacket> {
    struct Half {
        next: u32,
        buf: Vec<u8>,
    }
    let mut halves: HashMap<(u32, bool), Half> = HashMap::new();
    let mut out = Vec::new();
    for chunk in chunks {
        let half = halves
            .entry((chunk.stream, chunk.to_broker))
            .or_insert_with(|| Half {
                next: chunk.seq,
                buf: Vec::new(),
            });
        let end = chunk.seq.wrapping_add(chunk.data.len() as u32);
        if !seq_before(half.next, end) {
            continue; // all of it seen before
        }
        let mut data = &chunk.data[..];
        if seq_before(chunk.seq, half.next) {
            let overlap = half.next.wrapping_sub(chunk.seq) as usize;
            data = data.get(overlap..).unwrap_or_default();
        } else if seq_before(half.next, chunk.seq) {
            half.buf.clear(); // bytes missing: whatever was pending cannot be completed
        }
        half.buf.extend_from_slice(data);
        half.next = end;
        loop {
            match cut(&half.buf) {
                Cut::Whole(len) if len <= half.buf.len() => {
                    let bytes: Vec<u8> = half.buf.drain(..len).collect();
                    out.push(CutPacket {
                        frame: chunk.frame,
                        stream: chunk.stream,
                        to_broker: chunk.to_broker,
                        bytes,
                    });
                }
                Cut::Whole(_) | Cut::NeedMore => break,
                Cut::Invalid => {
                    half.buf.clear();
                    break;
                }
            }
        }
    }
    out
}

/// What the start of a buffer says as an MQTT fixed header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FixedHeader {
    /// Remaining length and the fixed header's size in bytes.
    Complete(u32, usize),
    /// Cut short: more bytes needed.
    Short,
    /// The remaining length has a 5th byte (MQTT 5.0 §1.5.5 allows at most 4).
    TooLong,
}

/// Reads the fixed header, independently of `dissector::framing`.
pub fn read_fixed_header(buf: &[u8]) -> FixedHeader {
    let mut value: u32 = 0;
    for i in 0..4 {
        let Some(&byte) = buf.get(1 + i) else {
            return FixedHeader::Short;
        };
        value |= u32::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            return FixedHeader::Complete(value, 2 + i);
        }
    }
    FixedHeader::TooLong
}

/// This module's framer.
pub fn cut(buf: &[u8]) -> Cut {
    match read_fixed_header(buf) {
        FixedHeader::Complete(len, header) => {
            let total = header + len as usize;
            if buf.len() >= total {
                Cut::Whole(total)
            } else {
                Cut::NeedMore
            }
        }
        FixedHeader::Short => Cut::NeedMore,
        FixedHeader::TooLong => Cut::Invalid,
    }
}

/// Reads a two-byte length-prefixed string at `*at`, advancing it.
fn read_str(body: &[u8], at: &mut usize) -> Option<String> {
    let len = usize::from(u16::from_be_bytes([*body.get(*at)?, *body.get(*at + 1)?]));
    let text = body.get(*at + 2..*at + 2 + len)?;
    *at += 2 + len;
    Some(String::from_utf8_lossy(text).into_owned())
}

fn read_u16(body: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*body.get(at)?, *body.get(at + 1)?]))
}

/// Skips an MQTT 5 property block (variable byte integer length, then the properties).
fn skip_properties(body: &[u8], at: &mut usize) -> Option<()> {
    let mut len = 0usize;
    for i in 0..4 {
        let byte = *body.get(*at)?;
        *at += 1;
        len |= usize::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            *at += len;
            return Some(());
        }
    }
    None
}

/// Reads type, flags, packet id, topic(s) and remaining length of one whole packet.
/// `version` is the stream's protocol level (5 changes SUBSCRIBE / UNSUBSCRIBE layout).
pub fn row(packet: &CutPacket, version: u8) -> PacketRow {
    let bytes = &packet.bytes;
    let (remaining, header) = match read_fixed_header(bytes) {
        FixedHeader::Complete(remaining, header) => (remaining, header),
        FixedHeader::Short | FixedHeader::TooLong => (0, bytes.len()),
    };
    let first = bytes.first().copied().unwrap_or(0);
    let mut row = PacketRow::header_only(packet.frame, packet.stream, first, remaining);
    row.to_broker = Some(packet.to_broker);
    let body = bytes.get(header..).unwrap_or_default();
    match row.type_id {
        3 => {
            let mut at = 0;
            if let Some(topic) = read_str(body, &mut at) {
                row.topics.push(topic);
                if row.qos() != Some(0) {
                    row.packet_id = read_u16(body, at);
                }
            }
        }
        4..=7 | 9 | 11 => row.packet_id = read_u16(body, 0),
        8 | 10 => {
            row.packet_id = read_u16(body, 0);
            let mut at = 2;
            if version == 5 && skip_properties(body, &mut at).is_none() {
                return row;
            }
            while at < body.len() {
                let Some(filter) = read_str(body, &mut at) else {
                    break;
                };
                row.topics.push(filter);
                if row.type_id == 8 {
                    at += 1; // requested QoS / subscription options
                }
            }
        }
        _ => {}
    }
    row
}

/// The protocol level a CONNECT announces (the byte after the protocol name).
pub fn connect_level(bytes: &[u8]) -> Option<u8> {
    let FixedHeader::Complete(_, header) = read_fixed_header(bytes) else {
        return None;
    };
    let body = bytes.get(header..)?;
    let name_len = usize::from(read_u16(body, 0)?);
    body.get(2 + name_len).copied()
}

/// The truth rows of a capture: tshark payloads, this module's framing and field reader.
pub fn rows(capture: &Capture) -> Vec<PacketRow> {
    let packets = reassemble(&tshark::payload_chunks(capture), cut);
    let mut versions: HashMap<u32, u8> = HashMap::new();
    packets
        .iter()
        .map(|p| {
            if p.bytes.first().map(|b| b >> 4) == Some(1)
                && let Some(level) = connect_level(&p.bytes)
            {
                versions.insert(p.stream, level & 0x7f);
            }
            row(p, versions.get(&p.stream).copied().unwrap_or(4))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunk(frame: u64, seq: u32, data: &[u8]) -> Chunk {
        Chunk {
            frame,
            stream: 0,
            to_broker: true,
            seq,
            data: data.to_vec(),
        }
    }

    #[test]
    fn a_packet_split_inside_its_fixed_header_belongs_to_the_frame_of_its_last_byte() {
        // PUBLISH QoS 0, remaining length 130 (2-byte varint 0x82 0x01), split after 0x82.
        let mut packet = vec![0x30, 0x82, 0x01, 0x00, 0x01, b't'];
        packet.resize(3 + 130, b'x');
        let chunks = [
            chunk(1, 1, &packet[..2]),
            chunk(2, 3, &packet[2..3]),
            chunk(5, 4, &packet[3..]),
        ];
        let cut_packets = reassemble(&chunks, cut);
        assert_eq!(cut_packets.len(), 1);
        assert_eq!(cut_packets[0].frame, 5);
        let r = row(&cut_packets[0], 4);
        assert_eq!(
            (r.type_id, r.remaining_length, r.topics.clone()),
            (3, 130, vec!["t".to_string()])
        );
    }

    #[test]
    fn retransmitted_bytes_are_dropped_and_overlaps_trimmed() {
        let chunks = [
            chunk(1, 1, &[0xc0, 0x00]),
            chunk(2, 1, &[0xc0, 0x00]),
            chunk(3, 2, &[0x00, 0xd0, 0x00]),
        ];
        let types: Vec<u8> = reassemble(&chunks, cut)
            .iter()
            .map(|p| p.bytes[0])
            .collect();
        assert_eq!(types, [0xc0, 0xd0]);
    }

    #[test]
    fn a_five_byte_remaining_length_is_invalid() {
        assert_eq!(cut(&[0x30, 0xff, 0xff, 0xff, 0xff, 0x01]), Cut::Invalid);
        assert_eq!(cut(&[0x30, 0xff]), Cut::NeedMore);
    }

    #[test]
    fn v5_subscribe_filters_are_read_after_the_properties() {
        // SUBSCRIBE id 4, properties length 2 (one byte property 0x0b = 1), filter "a/b" opts 1.
        let bytes = vec![
            0x82, 0x0a, 0x00, 0x04, 0x02, 0x0b, 0x01, 0x00, 0x03, b'a', b'/', b'b', 0x01,
        ];
        let bytes = {
            let mut b = bytes;
            b[1] = (b.len() - 2) as u8;
            b
        };
        let p = CutPacket {
            frame: 1,
            stream: 0,
            to_broker: true,
            bytes,
        };
        let r = row(&p, 5);
        assert_eq!(r.packet_id, Some(4));
        assert_eq!(r.topics, ["a/b"]);
    }
}
