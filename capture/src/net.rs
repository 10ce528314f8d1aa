//! Link, IP and TCP headers: from a [`RawFrame`] to a [`TcpSegment`].
//!
//! Link layers: Ethernet (802.1Q / 802.1ad / QinQ tags), Linux cooked capture v1 and v2, raw
//! IPv4/IPv6, BSD loopback (NULL in host byte order, LOOP in network byte order). IPv4 and IPv6
//! (with extension headers) and TCP are sliced by `etherparse` in lax mode, so a frame cut by the
//! snap length still yields the bytes it has. IP fragments are reassembled with etherparse's
//! defragmentation pool, bounded in time.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};

use dissector::input::Timestamp;
use etherparse::defrag::IpDefragPool;
use etherparse::{
    EtherType, Ethernet2HeaderSlice, LaxNetSlice, LaxSlicedPacket, SingleVlanHeaderSlice,
    SlicedPacket, TcpSlice, TransportSlice,
};

use crate::source::RawFrame;

/// pcap LINKTYPE_* values this module understands.
pub mod linktype {
    /// BSD loopback: 4-byte address family in the capturing host's byte order.
    pub const NULL: u32 = 0;
    /// Ethernet II.
    pub const ETHERNET: u32 = 1;
    /// Raw IP as some BSDs number it (DLT_RAW = 12 or 14).
    pub const RAW_BSD_12: u32 = 12;
    /// Raw IP as OpenBSD numbers it.
    pub const RAW_BSD_14: u32 = 14;
    /// Raw IP (IPv4 or IPv6, by version nibble).
    pub const RAW: u32 = 101;
    /// OpenBSD loopback: 4-byte address family in network byte order.
    pub const LOOP: u32 = 108;
    /// Linux cooked capture v1 (the `any` device).
    pub const LINUX_SLL: u32 = 113;
    /// Raw IPv4.
    pub const IPV4: u32 = 228;
    /// Raw IPv6.
    pub const IPV6: u32 = 229;
    /// Linux cooked capture v2.
    pub const LINUX_SLL2: u32 = 276;
}

/// TCP header flags we act on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TcpFlags {
    /// SYN.
    pub syn: bool,
    /// ACK.
    pub ack: bool,
    /// FIN.
    pub fin: bool,
    /// RST.
    pub rst: bool,
    /// PSH.
    pub psh: bool,
}

/// One TCP segment with where it came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TcpSegment<'a> {
    /// Sender.
    pub src: SocketAddr,
    /// Receiver.
    pub dst: SocketAddr,
    /// Sequence number.
    pub seq: u32,
    /// Acknowledgment number (meaningful when `flags.ack`).
    pub ack: u32,
    /// Flags.
    pub flags: TcpFlags,
    /// Receive window.
    pub window: u16,
    /// Payload bytes present in the capture.
    pub payload: &'a [u8],
    /// Payload bytes the IP header promises but the capture cut off (snap length).
    pub missing: u32,
    /// Frame number.
    pub frame: u64,
    /// Frame time.
    pub ts: Timestamp,
}

/// What a frame turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NetOutcome<'a> {
    /// A TCP segment.
    Tcp(TcpSegment<'a>),
    /// Not TCP over IP (ARP, UDP, ICMP, …): ignored.
    NotTcp,
    /// A fragment held until its datagram is complete.
    FragmentHeld,
    /// Fragments that could not be reassembled (overlap, bad offsets).
    FragmentError,
    /// A link type we do not decode.
    UnknownLinkType(u32),
    /// Headers too short or inconsistent.
    Malformed,
}

/// Fragments older than this (capture time) are dropped (RFC 791 suggests up to 15 s; Linux
/// uses 30 s).
const FRAGMENT_TIMEOUT_NS: i64 = 30_000_000_000;
/// How often (in fragment frames) stale fragment buffers are swept.
const FRAGMENT_SWEEP_EVERY: u64 = 256;

/// Link/IP/TCP decoding state: IP defragmentation and counters.
#[derive(Debug, Default)]
pub struct NetLayer {
    defrag: IpDefragPool<i64, ()>,
    reassembled: Vec<u8>,
    fragments_seen: u64,
    /// Frames per unknown link type.
    pub unknown_linktypes: BTreeMap<u32, u64>,
    /// IP datagrams reassembled from fragments.
    pub datagrams_reassembled: u64,
}

impl NetLayer {
    /// A fresh decoder.
    pub fn new() -> NetLayer {
        NetLayer::default()
    }

    /// Decodes one frame down to TCP.
    pub fn decode<'s, 'a: 's>(&'s mut self, frame: &RawFrame<'a>) -> NetOutcome<'s> {
        let Some((ether_type, ip)) = strip_link(frame.linktype, frame.data) else {
            return match frame.linktype {
                linktype::NULL
                | linktype::ETHERNET
                | linktype::RAW
                | linktype::RAW_BSD_12
                | linktype::RAW_BSD_14
                | linktype::LOOP
                | linktype::LINUX_SLL
                | linktype::LINUX_SLL2
                | linktype::IPV4
                | linktype::IPV6 => NetOutcome::Malformed,
                other => {
                    *self.unknown_linktypes.entry(other).or_default() += 1;
                    NetOutcome::UnknownLinkType(other)
                }
            };
        };
        if ether_type != EtherType::IPV4 && ether_type != EtherType::IPV6 {
            return NetOutcome::NotTcp;
        }
        let Ok(sliced) = LaxSlicedPacket::from_ip(ip) else {
            return NetOutcome::Malformed;
        };
        let (src_ip, dst_ip, fragmented, promised): (IpAddr, IpAddr, bool, usize) =
            match &sliced.net {
                Some(LaxNetSlice::Ipv4(v4)) => {
                    let h = v4.header();
                    (
                        h.source_addr().into(),
                        h.destination_addr().into(),
                        v4.is_payload_fragmented(),
                        usize::from(h.total_len()),
                    )
                }
                Some(LaxNetSlice::Ipv6(v6)) => {
                    let h = v6.header();
                    (
                        h.source_addr().into(),
                        h.destination_addr().into(),
                        v6.is_payload_fragmented(),
                        40 + usize::from(h.payload_length()),
                    )
                }
                _ => return NetOutcome::NotTcp,
            };
        if fragmented {
            return self.defragment(ip, frame, src_ip, dst_ip);
        }
        let Some(TransportSlice::Tcp(tcp)) = &sliced.transport else {
            return NetOutcome::NotTcp;
        };
        let missing = promised.saturating_sub(ip.len()) as u32;
        NetOutcome::Tcp(segment(tcp, src_ip, dst_ip, missing, frame))
    }

    fn defragment<'s>(
        &'s mut self,
        ip: &[u8],
        frame: &RawFrame<'_>,
        src_ip: IpAddr,
        dst_ip: IpAddr,
    ) -> NetOutcome<'s> {
        self.fragments_seen += 1;
        if self.fragments_seen.is_multiple_of(FRAGMENT_SWEEP_EVERY) {
            let now = frame.ts.0;
            self.defrag
                .retain(|first_seen| now.saturating_sub(*first_seen) < FRAGMENT_TIMEOUT_NS);
        }
        // The pool wants strictly sliced packets; a fragment cut by the snap length cannot be
        // reassembled anyway.
        let Ok(strict) = SlicedPacket::from_ip(ip) else {
            return NetOutcome::FragmentError;
        };
        match self.defrag.process_sliced_packet(&strict, frame.ts.0, ()) {
            Ok(None) => NetOutcome::FragmentHeld,
            Err(_) => NetOutcome::FragmentError,
            Ok(Some(done)) => {
                self.datagrams_reassembled += 1;
                if done.ip_number != etherparse::IpNumber::TCP {
                    self.defrag.return_buf(done);
                    return NetOutcome::NotTcp;
                }
                self.reassembled.clear();
                self.reassembled.extend_from_slice(&done.payload);
                self.defrag.return_buf(done);
                match TcpSlice::from_slice(&self.reassembled) {
                    Ok(tcp) => NetOutcome::Tcp(segment(&tcp, src_ip, dst_ip, 0, frame)),
                    Err(_) => NetOutcome::Malformed,
                }
            }
        }
    }
}

fn segment<'s>(
    tcp: &TcpSlice<'s>,
    src_ip: IpAddr,
    dst_ip: IpAddr,
    missing: u32,
    frame: &RawFrame<'_>,
) -> TcpSegment<'s> {
    TcpSegment {
        src: SocketAddr::new(src_ip, tcp.source_port()),
        dst: SocketAddr::new(dst_ip, tcp.destination_port()),
        seq: tcp.sequence_number(),
        ack: tcp.acknowledgment_number(),
        flags: TcpFlags {
            syn: tcp.syn(),
            ack: tcp.ack(),
            fin: tcp.fin(),
            rst: tcp.rst(),
            psh: tcp.psh(),
        },
        window: tcp.window_size(),
        payload: tcp.payload(),
        missing,
        frame: frame.number,
        ts: frame.ts,
    }
}

/// Removes the link-layer header: the EtherType of what follows and its bytes. `None` for an
/// unknown link type or a header cut short.
pub fn strip_link(linktype: u32, data: &[u8]) -> Option<(EtherType, &[u8])> {
    match linktype {
        linktype::ETHERNET => {
            let eth = Ethernet2HeaderSlice::from_slice(data).ok()?;
            strip_vlan_tags(eth.ether_type(), data.get(eth.slice().len()..)?)
        }
        // Linux cooked v1 (16 bytes): packet type, ARPHRD, addr len, 8-byte addr, protocol.
        linktype::LINUX_SLL => {
            let proto = u16::from_be_bytes(data.get(14..16)?.try_into().ok()?);
            strip_vlan_tags(EtherType(proto), data.get(16..)?)
        }
        // Linux cooked v2 (20 bytes): protocol first, then reserved, ifindex, ARPHRD, …
        linktype::LINUX_SLL2 => {
            let proto = u16::from_be_bytes(data.get(0..2)?.try_into().ok()?);
            strip_vlan_tags(EtherType(proto), data.get(20..)?)
        }
        linktype::RAW | linktype::RAW_BSD_12 | linktype::RAW_BSD_14 => match data.first()? >> 4 {
            4 => Some((EtherType::IPV4, data)),
            6 => Some((EtherType::IPV6, data)),
            _ => None,
        },
        linktype::IPV4 => Some((EtherType::IPV4, data)),
        linktype::IPV6 => Some((EtherType::IPV6, data)),
        linktype::NULL | linktype::LOOP => {
            let family = loopback_family(linktype, data.get(0..4)?.try_into().ok()?);
            let payload = data.get(4..)?;
            match family {
                2 => Some((EtherType::IPV4, payload)),
                // AF_INET6 differs per BSD: 24 (NetBSD/OpenBSD), 28 (FreeBSD), 30 (macOS).
                10 | 24 | 28 | 30 => Some((EtherType::IPV6, payload)),
                _ => Some((EtherType(0), payload)),
            }
        }
        _ => None,
    }
}

/// The address family of a NULL or LOOP header (BSD `AF_*` value).
pub(crate) fn loopback_family(linktype: u32, raw: [u8; 4]) -> u32 {
    // NULL is in the capturing host's byte order, which the file does not record: the family
    // values are small, so the non-zero end tells the order.
    if linktype == linktype::LOOP || (raw[0] == 0 && raw[1] == 0) {
        u32::from_be_bytes(raw)
    } else {
        u32::from_le_bytes(raw)
    }
}

/// Skips 802.1Q (0x8100), 802.1ad (0x88a8) and old QinQ (0x9100) tags, however many are stacked
/// (bounded by the frame).
fn strip_vlan_tags(mut ether_type: EtherType, mut rest: &[u8]) -> Option<(EtherType, &[u8])> {
    while matches!(
        ether_type,
        EtherType::VLAN_TAGGED_FRAME
            | EtherType::PROVIDER_BRIDGING
            | EtherType::VLAN_DOUBLE_TAGGED_FRAME
    ) {
        let tag = SingleVlanHeaderSlice::from_slice(rest).ok()?;
        ether_type = tag.ether_type();
        rest = rest.get(tag.slice().len()..)?;
    }
    Some((ether_type, rest))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn null_loopback_family_in_either_byte_order() {
        let le = [2u8, 0, 0, 0, 0x45];
        let be = [0u8, 0, 0, 2, 0x45];
        assert_eq!(
            strip_link(linktype::NULL, &le).map(|r| r.0),
            Some(EtherType::IPV4)
        );
        assert_eq!(
            strip_link(linktype::NULL, &be).map(|r| r.0),
            Some(EtherType::IPV4)
        );
        let v6_macos = [30u8, 0, 0, 0, 0x60];
        assert_eq!(
            strip_link(linktype::NULL, &v6_macos).map(|r| r.0),
            Some(EtherType::IPV6)
        );
    }

    #[test]
    fn stacked_vlan_tags_are_skipped() {
        // 88a8 (S-tag) then 8100 (C-tag) then IPv4.
        let mut frame = vec![0u8; 12];
        frame.extend_from_slice(&[0x88, 0xa8, 0x00, 0x0a, 0x81, 0x00, 0x00, 0x14, 0x08, 0x00]);
        frame.push(0x45);
        let (et, rest) = strip_link(linktype::ETHERNET, &frame).expect("tags parse");
        assert_eq!(et, EtherType::IPV4);
        assert_eq!(rest, &[0x45]);
    }

    #[test]
    fn short_headers_are_rejected_without_panic() {
        for lt in [0, 1, 101, 108, 113, 228, 229, 276] {
            for len in 0..24 {
                let _ = strip_link(lt, &vec![0x81; len]);
            }
        }
    }
}
