//! Is this byte position the start of a real MQTT control packet? Used where the stream position
//! is not known: after lost segments, when a capture starts mid-connection, after garbage, and
//! to recognise MQTT on an unknown port from its CONNECT.
//!
//! A fixed header alone is weak evidence (one byte in eight of random data has a legal type and
//! flags), so each check also looks at the start of the variable header, which the spec fixes
//! tightly for most packet types (MQTT 3.1.1 §3, MQTT 5.0 §3), and then at the following packets.

use dissector::framing::{FixedHeaderInfo, read_fixed_header, read_varint};

/// The verdict on one position.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    /// A credible packet of this many bytes starts here.
    Plausible(u64),
    /// Not a packet start.
    Implausible,
    /// More bytes are needed to decide.
    NeedMore,
}

/// Whether the fixed header's flags are the ones the spec requires for its type
/// (MQTT 5.0 §2.1.3; PUBLISH may not have QoS 3).
pub fn flags_legal(header: &FixedHeaderInfo) -> bool {
    match header.type_id() {
        0 => false,
        3 => (header.flags() >> 1) & 0x03 != 3,
        6 | 8 | 10 => header.flags() == 0x02,
        _ => header.flags() == 0,
    }
}

/// A header the stream-synchronised framer delivers only when what follows it confirms it:
/// reserved type 0 or flags the spec forbids. Such packets exist (buggy clients, test
/// captures), but they are also what garbage looks like.
pub fn suspicious(header: &FixedHeaderInfo) -> bool {
    !flags_legal(header)
}

/// MQTT 5.0 reason codes that may appear in acknowledgements (§2.4), plus 3.1.1 CONNACK return
/// codes 0–5.
fn reason_code_known(code: u8) -> bool {
    matches!(
        code,
        0x00..=0x05
            | 0x10
            | 0x11
            | 0x18
            | 0x19
            | 0x80..=0x8F
            | 0x90..=0x9F
            | 0xA0..=0xA2
    )
}

/// Reads a big-endian u16 at `at`.
fn be16(buf: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*buf.get(at)?, *buf.get(at + 1)?]))
}

/// Checks that `body[at..]` of a `len`-byte variable header is "property length varint, then
/// exactly that many bytes" filling the rest (MQTT 5.0 §2.2.2).
fn properties_fill(body: &[u8], at: usize, len: usize) -> Check {
    let Some(rest) = body.get(at..) else {
        return Check::NeedMore;
    };
    match read_varint(rest) {
        Ok(Some((plen, used, non_minimal))) => {
            if !non_minimal && at + usize::from(used) + plen as usize == len {
                Check::Plausible(0)
            } else {
                Check::Implausible
            }
        }
        Ok(None) => {
            if rest.len() >= len.saturating_sub(at) {
                Check::Implausible
            } else {
                Check::NeedMore
            }
        }
        Err(_) => Check::Implausible,
    }
}

/// Strict check of the packet starting at `buf[0]`: legal type and flags, minimal remaining
/// length no larger than `max_packet`, and a variable-header start the spec allows for the type.
pub fn check_packet(buf: &[u8], max_packet: u64) -> Check {
    let header = match read_fixed_header(buf) {
        Ok(Some(h)) => h,
        Ok(None) => return Check::NeedMore,
        Err(_) => return Check::Implausible,
    };
    if !flags_legal(&header) || header.non_minimal_length || header.packet_len() > max_packet {
        return Check::Implausible;
    }
    let rl = header.remaining_length as usize;
    let body = buf.get(usize::from(header.header_len)..).unwrap_or(&[]);
    // Bytes of the body we may look at: never past the packet's own end.
    let body = body.get(..rl.min(body.len())).unwrap_or(body);
    let verdict = match header.type_id() {
        1 => check_connect_body(body, rl),
        2 => check_connack_body(body, rl),
        3 => check_publish_body(body, rl, (header.flags() >> 1) & 0x03),
        4..=7 => check_ack_body(body, rl),
        8 => check_subscribe_body(body, rl, true),
        9 => check_suback_body(body, rl, false),
        10 => check_subscribe_body(body, rl, false),
        11 => check_suback_body(body, rl, true),
        12 | 13 => {
            if rl == 0 {
                Check::Plausible(0)
            } else {
                Check::Implausible
            }
        }
        14 | 15 => check_disconnect_or_auth_body(body, rl, header.type_id()),
        _ => Check::Implausible,
    };
    match verdict {
        Check::Plausible(_) => Check::Plausible(header.packet_len()),
        other => other,
    }
}

/// CONNECT (3.1 §3.1, 3.1.1 §3.1.2, 5.0 §3.1.2): protocol name "MQIsdp" level 3 or "MQTT"
/// level 4/5 (bridges set the top bit of the level), reserved connect-flag bit 0 clear.
pub fn check_connect_body(body: &[u8], rl: usize) -> Check {
    if rl < 10 {
        return Check::Implausible;
    }
    let Some(name_len) = be16(body, 0) else {
        return Check::NeedMore;
    };
    let (name, levels): (&[u8], &[u8]) = match name_len {
        4 => (b"MQTT", &[4, 5]),
        6 => (b"MQIsdp", &[3]),
        _ => return Check::Implausible,
    };
    let name_end = 2 + usize::from(name_len);
    let Some(got) = body.get(2..name_end) else {
        let have = body.get(2..).unwrap_or(&[]);
        return if name.starts_with(have) {
            Check::NeedMore
        } else {
            Check::Implausible
        };
    };
    if got != name {
        return Check::Implausible;
    }
    let (Some(&level), Some(&flags)) = (body.get(name_end), body.get(name_end + 1)) else {
        return Check::NeedMore;
    };
    if !levels.contains(&(level & 0x7f)) || flags & 0x01 != 0 {
        return Check::Implausible;
    }
    Check::Plausible(0)
}

/// CONNACK: acknowledge flags 0 or 1 and a known return/reason code; MQTT 5.0 adds properties.
fn check_connack_body(body: &[u8], rl: usize) -> Check {
    if rl < 2 {
        return Check::Implausible;
    }
    let (Some(&ack_flags), Some(&code)) = (body.first(), body.get(1)) else {
        return Check::NeedMore;
    };
    if ack_flags > 1 || !reason_code_known(code) {
        return Check::Implausible;
    }
    if rl == 2 {
        return Check::Plausible(0);
    }
    properties_fill(body, 2, rl)
}

/// PUBLISH: topic length within the packet, a topic without NUL or wildcards that is valid
/// UTF-8 as far as present, and a non-zero packet id for QoS 1/2 (3.1.1 §3.3.2).
fn check_publish_body(body: &[u8], rl: usize, qos: u8) -> Check {
    let Some(topic_len) = be16(body, 0) else {
        return if rl < 2 {
            Check::Implausible
        } else {
            Check::NeedMore
        };
    };
    let topic_len = usize::from(topic_len);
    let id_len = if qos > 0 { 2 } else { 0 };
    if 2 + topic_len + id_len > rl {
        return Check::Implausible;
    }
    let topic_end = 2 + topic_len;
    let present = body.get(2..topic_end.min(body.len())).unwrap_or(&[]);
    if present.iter().any(|&b| b == 0 || b == b'+' || b == b'#') {
        return Check::Implausible;
    }
    if let Err(e) = std::str::from_utf8(present)
        && e.error_len().is_some()
    {
        return Check::Implausible;
    }
    if present.len() < topic_len {
        return Check::NeedMore;
    }
    if qos > 0 {
        match be16(body, topic_end) {
            Some(0) => return Check::Implausible,
            Some(_) => {}
            None => return Check::NeedMore,
        }
    }
    Check::Plausible(0)
}

/// PUBACK, PUBREC, PUBREL, PUBCOMP: packet id ≠ 0; 5.0 may add a reason code and properties.
fn check_ack_body(body: &[u8], rl: usize) -> Check {
    if rl < 2 {
        return Check::Implausible;
    }
    match be16(body, 0) {
        Some(0) => return Check::Implausible,
        Some(_) => {}
        None => return Check::NeedMore,
    }
    if rl == 2 {
        return Check::Plausible(0);
    }
    let Some(&code) = body.get(2) else {
        return Check::NeedMore;
    };
    if !reason_code_known(code) {
        return Check::Implausible;
    }
    if rl == 3 {
        return Check::Plausible(0);
    }
    properties_fill(body, 3, rl)
}

/// Largest SUBSCRIBE/SUBACK family packet believed while resynchronising: real ones are
/// small, and these types are otherwise weakly constrained.
const MAX_SUBSCRIBE_RL: usize = 64 * 1024;

/// A packet id ≠ 0 at the start of `body`.
fn packet_id_ok(body: &[u8]) -> Check {
    match be16(body, 0) {
        Some(0) => Check::Implausible,
        Some(_) => Check::Plausible(0),
        None => Check::NeedMore,
    }
}

/// Whichever of two readings is more credible: either is enough, both must fail to reject.
fn either(a: Check, b: Check) -> Check {
    match (a, b) {
        (Check::Plausible(x), _) | (_, Check::Plausible(x)) => Check::Plausible(x),
        (Check::NeedMore, _) | (_, Check::NeedMore) => Check::NeedMore,
        _ => Check::Implausible,
    }
}

/// A topic filter (length-prefixed, non-empty, no NUL, UTF-8 as far as present) at
/// `body[at..]`, within the packet's `rl` bytes with `after` more bytes (options) behind it.
fn filter_at(body: &[u8], at: usize, rl: usize, after: usize) -> Check {
    let Some(len) = be16(body, at) else {
        return if at + 2 > rl {
            Check::Implausible
        } else {
            Check::NeedMore
        };
    };
    let len = usize::from(len);
    if len == 0 || at + 2 + len + after > rl {
        return Check::Implausible;
    }
    let present = body
        .get(at + 2..(at + 2 + len).min(body.len()))
        .unwrap_or(&[]);
    if present.contains(&0) {
        return Check::Implausible;
    }
    if let Err(e) = std::str::from_utf8(present)
        && e.error_len().is_some()
    {
        return Check::Implausible;
    }
    if present.len() < len {
        return Check::NeedMore;
    }
    if after > 0 {
        // Subscription options: QoS ≠ 3, reserved bits 6–7 clear (MQTT 5.0 §3.8.3.1).
        return match body.get(at + 2 + len) {
            Some(&o) if o & 0xc0 == 0 && o & 0x03 != 3 => Check::Plausible(0),
            Some(_) => Check::Implausible,
            None => Check::NeedMore,
        };
    }
    Check::Plausible(0)
}

/// SUBSCRIBE / UNSUBSCRIBE: packet id ≠ 0 and a credible first topic filter, read as 3.1.1
/// (filter right after the id) or as 5.0 (properties first).
fn check_subscribe_body(body: &[u8], rl: usize, with_options: bool) -> Check {
    let after = usize::from(with_options);
    if rl < 2 + 3 + after || rl > MAX_SUBSCRIBE_RL {
        return Check::Implausible;
    }
    match packet_id_ok(body) {
        Check::Plausible(_) => {}
        other => return other,
    }
    let v311 = filter_at(body, 2, rl, after);
    let v5 = match body.get(2..).map(read_varint) {
        Some(Ok(Some((plen, used, false)))) => {
            filter_at(body, 2 + usize::from(used) + plen as usize, rl, after)
        }
        Some(Ok(None)) | None => Check::NeedMore,
        _ => Check::Implausible,
    };
    either(v311, v5)
}

/// SUBACK / UNSUBACK: packet id ≠ 0, then (3.1.1) return codes 0, 1, 2 or 0x80 — UNSUBACK has
/// none — or (5.0) properties and known reason codes.
fn check_suback_body(body: &[u8], rl: usize, unsuback: bool) -> Check {
    if !(2..=MAX_SUBSCRIBE_RL).contains(&rl) || (!unsuback && rl < 3) {
        return Check::Implausible;
    }
    match packet_id_ok(body) {
        Check::Plausible(_) => {}
        other => return other,
    }
    let codes_ok = |codes: &[u8]| -> bool {
        codes.iter().all(|&c| {
            if unsuback {
                matches!(c, 0x00 | 0x11 | 0x80 | 0x83 | 0x87 | 0x8f | 0x91)
            } else {
                matches!(
                    c,
                    0x00..=0x02 | 0x80 | 0x83 | 0x87 | 0x8f | 0x91 | 0x97 | 0x9e | 0xa1 | 0xa2
                )
            }
        })
    };
    let v311 = if unsuback {
        if rl == 2 {
            Check::Plausible(0)
        } else {
            Check::Implausible
        }
    } else {
        let codes = body.get(2..rl.min(body.len())).unwrap_or(&[]);
        if codes.iter().all(|c| matches!(c, 0x00..=0x02 | 0x80)) {
            if body.len() >= rl {
                Check::Plausible(0)
            } else {
                Check::NeedMore
            }
        } else {
            Check::Implausible
        }
    };
    let v5 = match body.get(2..).map(read_varint) {
        Some(Ok(Some((plen, used, false)))) => {
            let codes_at = 2 + usize::from(used) + plen as usize;
            if codes_at >= rl {
                Check::Implausible
            } else {
                let codes = body.get(codes_at..rl.min(body.len())).unwrap_or(&[]);
                if !codes_ok(codes) {
                    Check::Implausible
                } else if body.len() >= rl {
                    Check::Plausible(0)
                } else {
                    Check::NeedMore
                }
            }
        }
        Some(Ok(None)) | None => Check::NeedMore,
        _ => Check::Implausible,
    };
    either(v311, v5)
}

/// DISCONNECT and AUTH: empty, or (5.0) a reason code and properties.
fn check_disconnect_or_auth_body(body: &[u8], rl: usize, type_id: u8) -> Check {
    if rl == 0 {
        return Check::Plausible(0);
    }
    let Some(&code) = body.first() else {
        return Check::NeedMore;
    };
    let known = if type_id == 15 {
        matches!(code, 0x00 | 0x18 | 0x19)
    } else {
        reason_code_known(code)
    };
    if !known {
        return Check::Implausible;
    }
    if rl == 1 {
        return Check::Plausible(0);
    }
    properties_fill(body, 1, rl)
}

/// Whether `buf` starts with a chain of credible packets: `Plausible(first packet's length)`
/// after `want` packets in a row, or when the chain ends exactly at the end of `buf` and
/// `buf_ends_segment` (senders flush whole packets, so a chain landing on the segment boundary
/// is strong evidence), or when `at_end` (no more bytes will come) after at least one packet.
pub fn check_chain(
    buf: &[u8],
    max_packet: u64,
    want: usize,
    buf_ends_segment: bool,
    at_end: bool,
) -> Check {
    let mut pos: u64 = 0;
    let mut count = 0usize;
    let mut first_len = 0u64;
    loop {
        let rest = usize::try_from(pos)
            .ok()
            .and_then(|p| buf.get(p..))
            .unwrap_or(&[]);
        if rest.is_empty() && count > 0 && (buf_ends_segment || at_end) && pos == buf.len() as u64 {
            return Check::Plausible(first_len);
        }
        if rest.is_empty() && pos > buf.len() as u64 {
            // The last packet runs past the bytes we have: at the end, only the complete ones
            // before it count.
            return if at_end && count > 1 {
                Check::Plausible(first_len)
            } else {
                Check::NeedMore
            };
        }
        match check_packet(rest, max_packet) {
            Check::Plausible(len) => {
                if count == 0 {
                    first_len = len;
                }
                count += 1;
                if count >= want {
                    return Check::Plausible(first_len);
                }
                pos += len;
            }
            Check::Implausible => return Check::Implausible,
            Check::NeedMore => {
                return if at_end && count > 0 {
                    Check::Plausible(first_len)
                } else if at_end {
                    Check::Implausible
                } else {
                    Check::NeedMore
                };
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAX: u64 = 1 << 24;

    #[test]
    fn connect_311_and_31_are_plausible() {
        let v311 = [
            0x10, 0x10, 0x00, 0x04, b'M', b'Q', b'T', b'T', 0x04, 0x02, 0x00, 0x3c, 0x00, 0x04,
            b'a', b'b', b'c', b'd',
        ];
        assert_eq!(check_packet(&v311, MAX), Check::Plausible(18));
        let v31 = [
            0x10, 0x12, 0x00, 0x06, b'M', b'Q', b'I', b's', b'd', b'p', 0x03, 0x02, 0x00, 0x3c,
            0x00, 0x04, b'a', b'b', b'c', b'd',
        ];
        assert_eq!(check_packet(&v31, MAX), Check::Plausible(20));
        // Protocol name cut short: undecided, not rejected.
        assert_eq!(check_packet(&v311[..5], MAX), Check::NeedMore);
    }

    #[test]
    fn http_text_is_not_mqtt() {
        let text = b"GET /mqtt HTTP/1.1\r\nHost: broker\r\nUpgrade: websocket\r\n\r\n";
        for i in 0..text.len() {
            assert_ne!(
                check_chain(&text[i..], MAX, 3, true, false),
                Check::Plausible(0),
                "false start at {i}"
            );
            assert!(!matches!(
                check_chain(&text[i..], MAX, 3, true, false),
                Check::Plausible(_)
            ));
        }
    }

    #[test]
    fn ack_with_zero_packet_id_is_implausible() {
        assert_eq!(
            check_packet(&[0x40, 0x02, 0x00, 0x00], MAX),
            Check::Implausible
        );
        assert_eq!(
            check_packet(&[0x40, 0x02, 0x00, 0x07], MAX),
            Check::Plausible(4)
        );
        // MQTT 5.0 PUBACK with reason 0x10 and empty properties.
        assert_eq!(
            check_packet(&[0x40, 0x04, 0x00, 0x07, 0x10, 0x00], MAX),
            Check::Plausible(6)
        );
    }

    #[test]
    fn chain_needs_three_or_a_segment_end() {
        let two_pings = [0xc0, 0x00, 0xd0, 0x00];
        assert_eq!(
            check_chain(&two_pings, MAX, 3, false, false),
            Check::NeedMore
        );
        assert_eq!(
            check_chain(&two_pings, MAX, 3, true, false),
            Check::Plausible(2)
        );
        let three = [0xc0, 0x00, 0xd0, 0x00, 0xc0, 0x00, 0x99];
        assert_eq!(
            check_chain(&three, MAX, 3, false, false),
            Check::Plausible(2)
        );
    }

    #[test]
    fn publish_topic_rules() {
        // QoS 0, topic "a/b", payload "x".
        let ok = [0x30, 0x06, 0x00, 0x03, b'a', b'/', b'b', b'x'];
        assert_eq!(check_packet(&ok, MAX), Check::Plausible(8));
        let wildcard = [0x30, 0x06, 0x00, 0x03, b'a', b'/', b'#', b'x'];
        assert_eq!(check_packet(&wildcard, MAX), Check::Implausible);
        let too_long_topic = [0x30, 0x03, 0x00, 0x09, b'a'];
        assert_eq!(check_packet(&too_long_topic, MAX), Check::Implausible);
    }
}
