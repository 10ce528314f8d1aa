//! Reason codes (MQTT 5.0 §2.4) and the 3.x return codes (MQTT 3.1.1 §3.2.2.3, §3.9.3), with
//! their spec names per packet type.

use super::types::{PacketType, ProtocolVersion};

/// The spec's name of `code` in a packet of `packet_type` under `version`, or `None` when the
/// code is not defined there (or the packet carries no reason code in that version).
///
/// ```
/// use dissector::codec::{reason_code_name, PacketType, ProtocolVersion};
/// assert_eq!(reason_code_name(PacketType::PubAck, ProtocolVersion::V5, 0x10), Some("No matching subscribers"));
/// assert_eq!(
///     reason_code_name(PacketType::ConnAck, ProtocolVersion::V3_1_1, 1),
///     Some("Connection Refused, unacceptable protocol version")
/// );
/// assert_eq!(reason_code_name(PacketType::PubRel, ProtocolVersion::V5, 0x10), None);
/// ```
pub fn reason_code_name(
    packet_type: PacketType,
    version: ProtocolVersion,
    code: u8,
) -> Option<&'static str> {
    if version.is_v5() {
        v5_name(packet_type, code)
    } else {
        v3_name(packet_type, code)
    }
}

/// True for a failure code: 0x80 and above (MQTT 5.0 §2.4; the 3.1.1 SUBACK failure 0x80).
/// The 3.x CONNACK refusals 1..=5 are below 0x80: use [`is_failure_in`] for those.
#[inline]
pub fn is_failure(code: u8) -> bool {
    code >= 0x80
}

/// True when `code` reports a failure in `packet_type` under `version`: as [`is_failure`], plus
/// every non-zero 3.x CONNACK return code.
pub fn is_failure_in(packet_type: PacketType, version: ProtocolVersion, code: u8) -> bool {
    if !version.is_v5() && packet_type == PacketType::ConnAck {
        code != 0
    } else {
        is_failure(code)
    }
}

/// True when `code` is defined for `packet_type` under `version`.
pub fn is_known_reason_code(packet_type: PacketType, version: ProtocolVersion, code: u8) -> bool {
    reason_code_name(packet_type, version, code).is_some()
}

fn v3_name(packet_type: PacketType, code: u8) -> Option<&'static str> {
    match (packet_type, code) {
        (PacketType::ConnAck, 0) => Some("Connection Accepted"),
        (PacketType::ConnAck, 1) => Some("Connection Refused, unacceptable protocol version"),
        (PacketType::ConnAck, 2) => Some("Connection Refused, identifier rejected"),
        (PacketType::ConnAck, 3) => Some("Connection Refused, Server unavailable"),
        (PacketType::ConnAck, 4) => Some("Connection Refused, bad user name or password"),
        (PacketType::ConnAck, 5) => Some("Connection Refused, not authorized"),
        (PacketType::SubAck, 0) => Some("Success - Maximum QoS 0"),
        (PacketType::SubAck, 1) => Some("Success - Maximum QoS 1"),
        (PacketType::SubAck, 2) => Some("Success - Maximum QoS 2"),
        // Defined by 3.1.1; 3.1 brokers send it too, so it is accepted for both.
        (PacketType::SubAck, 0x80) => Some("Failure"),
        _ => None,
    }
}

/// Which packet types a v5 code is defined for (bit n = packet type n), and its name there.
/// 0x00 has three names and is handled separately.
fn v5_name(packet_type: PacketType, code: u8) -> Option<&'static str> {
    use PacketType as P;
    const CONNACK: u16 = 1 << 2;
    const PUBACK: u16 = 1 << 4;
    const PUBREC: u16 = 1 << 5;
    const PUBREL: u16 = 1 << 6;
    const PUBCOMP: u16 = 1 << 7;
    const SUBACK: u16 = 1 << 9;
    const UNSUBACK: u16 = 1 << 11;
    const DISCONNECT: u16 = 1 << 14;
    const AUTH: u16 = 1 << 15;
    const PUB: u16 = PUBACK | PUBREC;

    if code == 0x00 {
        return match packet_type {
            P::ConnAck | P::PubAck | P::PubRec | P::PubRel | P::PubComp | P::UnsubAck | P::Auth => {
                Some("Success")
            }
            P::Disconnect => Some("Normal disconnection"),
            P::SubAck => Some("Granted QoS 0"),
            _ => None,
        };
    }
    let (name, allowed): (&'static str, u16) = match code {
        0x01 => ("Granted QoS 1", SUBACK),
        0x02 => ("Granted QoS 2", SUBACK),
        0x04 => ("Disconnect with Will Message", DISCONNECT),
        0x10 => ("No matching subscribers", PUB),
        0x11 => ("No subscription existed", UNSUBACK),
        0x18 => ("Continue authentication", AUTH),
        0x19 => ("Re-authenticate", AUTH),
        0x80 => (
            "Unspecified error",
            CONNACK | PUB | SUBACK | UNSUBACK | DISCONNECT,
        ),
        0x81 => ("Malformed Packet", CONNACK | DISCONNECT),
        0x82 => ("Protocol Error", CONNACK | DISCONNECT),
        0x83 => (
            "Implementation specific error",
            CONNACK | PUB | SUBACK | UNSUBACK | DISCONNECT,
        ),
        0x84 => ("Unsupported Protocol Version", CONNACK),
        0x85 => ("Client Identifier not valid", CONNACK),
        0x86 => ("Bad User Name or Password", CONNACK),
        0x87 => (
            "Not authorized",
            CONNACK | PUB | SUBACK | UNSUBACK | DISCONNECT,
        ),
        0x88 => ("Server unavailable", CONNACK),
        0x89 => ("Server busy", CONNACK | DISCONNECT),
        0x8A => ("Banned", CONNACK),
        0x8B => ("Server shutting down", DISCONNECT),
        0x8C => ("Bad authentication method", CONNACK | DISCONNECT),
        0x8D => ("Keep Alive timeout", DISCONNECT),
        0x8E => ("Session taken over", DISCONNECT),
        0x8F => ("Topic Filter invalid", SUBACK | UNSUBACK | DISCONNECT),
        0x90 => ("Topic Name invalid", CONNACK | PUB | DISCONNECT),
        0x91 => ("Packet Identifier in use", PUB | SUBACK | UNSUBACK),
        0x92 => ("Packet Identifier not found", PUBREL | PUBCOMP),
        0x93 => ("Receive Maximum exceeded", DISCONNECT),
        0x94 => ("Topic Alias invalid", DISCONNECT),
        0x95 => ("Packet too large", CONNACK | DISCONNECT),
        0x96 => ("Message rate too high", DISCONNECT),
        0x97 => ("Quota exceeded", CONNACK | PUB | SUBACK | DISCONNECT),
        0x98 => ("Administrative action", DISCONNECT),
        0x99 => ("Payload format invalid", CONNACK | PUB | DISCONNECT),
        0x9A => ("Retain not supported", CONNACK | DISCONNECT),
        0x9B => ("QoS not supported", CONNACK | DISCONNECT),
        0x9C => ("Use another server", CONNACK | DISCONNECT),
        0x9D => ("Server moved", CONNACK | DISCONNECT),
        0x9E => ("Shared Subscriptions not supported", SUBACK | DISCONNECT),
        0x9F => ("Connection rate exceeded", CONNACK | DISCONNECT),
        0xA0 => ("Maximum connect time", DISCONNECT),
        0xA1 => (
            "Subscription Identifiers not supported",
            SUBACK | DISCONNECT,
        ),
        0xA2 => ("Wildcard Subscriptions not supported", SUBACK | DISCONNECT),
        _ => return None,
    };
    (allowed & (1 << packet_type.id()) != 0).then_some(name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use PacketType as P;
    use ProtocolVersion as V;

    #[test]
    fn v5_success_has_a_name_per_packet_type() {
        assert_eq!(reason_code_name(P::ConnAck, V::V5, 0), Some("Success"));
        assert_eq!(
            reason_code_name(P::Disconnect, V::V5, 0),
            Some("Normal disconnection")
        );
        assert_eq!(reason_code_name(P::SubAck, V::V5, 0), Some("Granted QoS 0"));
        assert_eq!(reason_code_name(P::Publish, V::V5, 0), None);
    }

    #[test]
    fn v5_codes_are_only_named_where_the_spec_allows_them() {
        assert_eq!(
            reason_code_name(P::PubRel, V::V5, 0x92),
            Some("Packet Identifier not found")
        );
        assert_eq!(reason_code_name(P::PubAck, V::V5, 0x92), None);
        assert_eq!(
            reason_code_name(P::Disconnect, V::V5, 0x8E),
            Some("Session taken over")
        );
        assert_eq!(reason_code_name(P::ConnAck, V::V5, 0x8E), None);
        assert_eq!(
            reason_code_name(P::Auth, V::V5, 0x18),
            Some("Continue authentication")
        );
        assert_eq!(
            reason_code_name(P::UnsubAck, V::V5, 0x11),
            Some("No subscription existed")
        );
        assert_eq!(reason_code_name(P::Disconnect, V::V5, 0xA3), None);
    }

    #[test]
    fn v3_connack_return_codes_and_suback_failure() {
        assert_eq!(
            reason_code_name(P::ConnAck, V::V3_1, 5),
            Some("Connection Refused, not authorized")
        );
        assert_eq!(reason_code_name(P::ConnAck, V::V3_1_1, 6), None);
        assert_eq!(
            reason_code_name(P::SubAck, V::V3_1_1, 0x80),
            Some("Failure")
        );
        assert_eq!(reason_code_name(P::SubAck, V::V3_1_1, 0x87), None);
        assert_eq!(reason_code_name(P::PubAck, V::V3_1_1, 0), None);
    }

    #[test]
    fn failure_is_0x80_and_up_except_v3_connack() {
        assert!(!is_failure(0x7f));
        assert!(is_failure(0x80));
        assert!(is_failure_in(P::ConnAck, V::V3_1_1, 5));
        assert!(!is_failure_in(P::ConnAck, V::V3_1_1, 0));
        assert!(!is_failure_in(P::ConnAck, V::V5, 5));
        assert!(is_failure_in(P::SubAck, V::V3_1_1, 0x80));
    }
}
