//! Every supported link layer, IPv4 and IPv6, VLAN and QinQ tags: the same MQTT session must
//! come out identically.

use capture::PipelineConfig;
use dissector::input::{Direction, RoleSource, Transport};

use crate::support::{Conversation, Link, run_frames, standard_session};

fn session_over(link: Link, client: &str, server: &str) {
    let mut conv = Conversation::new(client, server, link, 1000, 5000);
    let (c, s) = standard_session(&mut conv);
    let (rec, summary) = run_frames(&conv.frames, PipelineConfig::default());
    assert_eq!(
        rec.packets(0, Direction::ToBroker),
        c,
        "{link:?}: client packets"
    );
    assert_eq!(
        rec.packets(0, Direction::ToClient),
        s,
        "{link:?}: server packets"
    );
    let opened = rec.opened();
    assert_eq!(opened.len(), 1);
    assert_eq!(opened[0].client, conv.client);
    assert_eq!(opened[0].broker, conv.server);
    assert_eq!(opened[0].roles_from, RoleSource::Handshake);
    assert_eq!(opened[0].transport, Transport::Tcp);
    assert_eq!(summary.tcp_streams, 1);
    assert_eq!(summary.mqtt_packets, 9);
    // Every frame of the connection is reported for wire accounting.
    assert_eq!(rec.frames_seen, conv.frames.len() as u64);
}

#[test]
fn ethernet_ipv4() {
    session_over(Link::Ethernet, "10.0.0.2:50000", "10.0.0.1:1883");
}

#[test]
fn ethernet_ipv6() {
    session_over(Link::Ethernet, "[2001:db8::2]:50000", "[2001:db8::1]:1883");
}

#[test]
fn ethernet_with_802_1q_tag() {
    session_over(Link::Vlan, "10.0.0.2:50000", "10.0.0.1:1883");
}

#[test]
fn ethernet_with_qinq_tags_ipv6() {
    session_over(Link::QinQ, "[2001:db8::2]:50000", "[2001:db8::1]:1883");
}

#[test]
fn linux_cooked_v1() {
    session_over(Link::Sll, "127.0.0.1:50000", "127.0.0.1:1883");
}

#[test]
fn linux_cooked_v2_ipv6() {
    session_over(Link::Sll2, "[::1]:50000", "[::1]:1883");
}

#[test]
fn bsd_null_loopback_both_families() {
    session_over(Link::Null, "127.0.0.1:50000", "127.0.0.1:1883");
    session_over(Link::Null, "[::1]:50000", "[::1]:1883");
}

#[test]
fn openbsd_loop_big_endian_family() {
    session_over(Link::Loop, "127.0.0.1:50000", "127.0.0.1:1883");
}

#[test]
fn raw_ip_both_versions() {
    session_over(Link::Raw, "192.0.2.2:50000", "192.0.2.1:1883");
    session_over(Link::Raw, "[2001:db8::2]:50000", "[2001:db8::1]:1883");
}

#[test]
fn unknown_link_type_is_counted_once_per_type() {
    let mut conv = Conversation::new("10.0.0.2:50000", "10.0.0.1:1883", Link::Ethernet, 1, 2);
    standard_session(&mut conv);
    let mut frames = conv.frames.clone();
    for f in frames.iter_mut().take(3) {
        f.linktype = 147; // LINKTYPE_USER0
    }
    let (_, summary) = run_frames(&frames, PipelineConfig::default());
    assert_eq!(summary.unknown_linktypes, vec![(147, 3)]);
}

/// Splits an IPv4 packet into two fragments, the first carrying `first_len` payload bytes (a
/// multiple of 8).
fn fragment_v4(packet: &[u8], first_len: usize) -> [Vec<u8>; 2] {
    let ihl = usize::from(packet[0] & 0x0f) * 4;
    let (header, payload) = packet.split_at(ihl);
    let make = |part: &[u8], offset: usize, more: bool| {
        let mut h = header.to_vec();
        h[2..4].copy_from_slice(&((ihl + part.len()) as u16).to_be_bytes());
        let flags_offset = ((offset / 8) as u16) | if more { 0x2000 } else { 0 };
        h[6..8].copy_from_slice(&flags_offset.to_be_bytes());
        h[10..12].copy_from_slice(&[0, 0]);
        h.extend_from_slice(part);
        h
    };
    [
        make(&payload[..first_len], 0, true),
        make(&payload[first_len..], first_len, false),
    ]
}

#[test]
fn ipv4_fragments_are_reassembled() {
    use crate::support::{Flags, Frame, connect, tcp_packet};
    let mut conv = Conversation::new(
        "10.0.0.2:50000",
        "10.0.0.1:1883",
        Link::Ethernet,
        1000,
        5000,
    );
    conv.handshake();
    let c = connect("fragmented-client-with-a-long-id");
    let ip = tcp_packet(
        conv.client,
        conv.server,
        conv.client_seq,
        conv.server_seq,
        Flags {
            ack: true,
            ..Flags::default()
        },
        &c,
    );
    let mut frames = conv.frames.clone();
    for (i, part) in fragment_v4(&ip, 24).iter().enumerate() {
        frames.push(Frame {
            ts: dissector::input::Timestamp(conv.now + 1000 * (i as i64 + 1)),
            linktype: 1,
            data: Link::Ethernet.wrap(part),
        });
    }
    let (rec, summary) = run_frames(&frames, PipelineConfig::default());
    assert_eq!(summary.ip_datagrams_reassembled, 1);
    assert_eq!(rec.packets(0, Direction::ToBroker), vec![c]);
}
