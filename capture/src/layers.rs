//! One captured frame taken apart into its layers, as Wireshark's packet-details tree shows
//! them below the application: frame, link layer (Ethernet II, 802.1Q/802.1ad tags, Linux
//! cooked v1/v2, BSD loopback, raw IP), IPv4/IPv6, TCP and WebSocket frame headers. Every
//! field carries its byte range in the frame, so a viewer can highlight it.
//!
//! Pure and panic-free on any bytes: link boundaries come from [`crate::net::strip_link`],
//! IP and TCP from etherparse's lax slicing (a frame cut by the snap length shows what it has),
//! WebSocket headers from the decoder's own header reader. The dissection also says where the
//! application bytes (the MQTT stream) lie in the frame, unmasking included, so a viewer can
//! find a reassembled packet's bytes inside each frame it came from.

use std::net::{IpAddr, SocketAddr};
use std::ops::Range;

use etherparse::{
    EtherType, IpAuthHeaderSlice, IpNumber, Ipv6FragmentHeaderSlice, Ipv6RawExtHeaderSlice,
    LaxNetSlice, LaxSlicedPacket, SingleVlanHeaderSlice, TcpOptionElement, TcpOptionsIterator,
    TcpSlice, TransportSlice, ip_number,
};

use crate::net::{self, linktype};
use crate::source::RawFrame;
use crate::websocket;

/// One field of a layer: a name, its value as text, and the frame bytes it covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    /// The field's name, e.g. `Source port`.
    pub name: &'static str,
    /// Its value as shown, e.g. `1883`.
    pub value: String,
    /// Bytes of the frame it covers (None for values not stored in the frame, e.g. its time).
    pub range: Option<Range<usize>>,
    /// Sub-fields (flag bits, options).
    pub children: Vec<Field>,
}

impl Field {
    fn new(name: &'static str, value: impl Into<String>, range: Option<Range<usize>>) -> Field {
        Field {
            name,
            value: value.into(),
            range,
            children: Vec::new(),
        }
    }

    fn with(mut self, children: Vec<Field>) -> Field {
        self.children = children;
        self
    }

    /// `name: value`, the line a tree shows.
    pub fn label(&self) -> String {
        format!("{}: {}", self.name, self.value)
    }
}

/// What a layer is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LayerKind {
    /// The capture record: number, time, lengths.
    Frame,
    /// Link header (Ethernet, Linux cooked, loopback, raw).
    Link,
    /// An 802.1Q / 802.1ad tag.
    Vlan,
    /// IPv4 or IPv6.
    Ip,
    /// TCP.
    Tcp,
    /// An HTTP head (the WebSocket upgrade) in the TCP payload.
    Http,
    /// One WebSocket frame header.
    WebSocket,
    /// Bytes not decoded further (another protocol, a fragment, a cut header).
    Data,
}

/// One layer of a frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layer {
    /// What it is.
    pub kind: LayerKind,
    /// Its summary line, e.g. `Transmission Control Protocol, Src Port: 1883, …`.
    pub title: String,
    /// The bytes of the frame it covers (header only for IP and TCP, as Wireshark).
    pub range: Range<usize>,
    /// Its fields, in wire order.
    pub fields: Vec<Field>,
}

impl Layer {
    /// The first field named `name`, searched depth first.
    pub fn field(&self, name: &str) -> Option<&Field> {
        fn find<'a>(fields: &'a [Field], name: &str) -> Option<&'a Field> {
            fields.iter().find_map(|f| {
                (f.name == name)
                    .then_some(f)
                    .or_else(|| find(&f.children, name))
            })
        }
        find(&self.fields, name)
    }
}

/// A run of application bytes (the MQTT stream) inside the frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppSpan {
    /// Where the bytes lie in the frame.
    pub range: Range<usize>,
    /// WebSocket masking key, when the bytes are masked (RFC 6455 §5.3).
    pub mask: Option<[u8; 4]>,
    /// Masked with the key of a frame header in an earlier segment (a client's payload
    /// continued): the bytes are as captured, still masked, and the key unknown here.
    pub key_unknown: bool,
}

/// Which way a WebSocket connection's frame travels: clients mask, servers do not
/// (RFC 6455 §5.1), which also tells a frame header from payload bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WebSocketHint {
    /// Not a WebSocket connection: the TCP payload is the MQTT stream.
    None,
    /// WebSocket, client to server (frames masked).
    FromClient,
    /// WebSocket, server to client (frames unmasked).
    FromServer,
}

/// A frame taken apart.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FrameLayers {
    /// Outermost first: frame, link, tags, IP, TCP, WebSocket frames.
    pub layers: Vec<Layer>,
    /// Application bytes in frame order.
    pub app: Vec<AppSpan>,
    /// True when `app` accounts for every application byte of the frame. False when some could
    /// not be placed: a WebSocket segment starting inside a frame begun in an earlier segment
    /// (its header, so its key, is elsewhere), or a header cut short.
    pub app_complete: bool,
    /// Sender and receiver of the TCP segment, when the frame holds one.
    pub tcp: Option<(SocketAddr, SocketAddr)>,
    /// TCP sequence number of the segment's first payload byte, when the frame holds a
    /// segment: its sequence number, plus one on a SYN (RFC 9293 §3.4).
    pub payload_seq: Option<u32>,
}

impl FrameLayers {
    /// The first layer of a kind.
    pub fn layer(&self, kind: LayerKind) -> Option<&Layer> {
        self.layers.iter().find(|l| l.kind == kind)
    }

    /// The application bytes, unmasked, concatenated in frame order (a span whose key is
    /// unknown as captured).
    pub fn app_bytes(&self, data: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.app.iter().map(|s| s.range.len()).sum());
        for span in &self.app {
            let Some(bytes) = data.get(span.range.clone()) else {
                continue;
            };
            match span.mask {
                Some(key) => out.extend(bytes.iter().zip(key.iter().cycle()).map(|(b, k)| b ^ k)),
                None => out.extend_from_slice(bytes),
            }
        }
        out
    }

    /// Maps a range of [`FrameLayers::app_bytes`] to the frame ranges holding it (several when
    /// it crosses WebSocket frame headers).
    pub fn app_to_frame(&self, app: Range<usize>) -> Vec<Range<usize>> {
        let mut out = Vec::new();
        let mut at = 0usize;
        for span in &self.app {
            let len = span.range.len();
            let (lo, hi) = (app.start.max(at), app.end.min(at + len));
            if lo < hi {
                out.push(span.range.start + (lo - at)..span.range.start + (hi - at));
            }
            at += len;
        }
        out
    }
}

/// Takes one frame apart. `ws` says whether its TCP payload is WebSocket framing, and which
/// way it goes. Never panics; what cannot be decoded ends the list as a [`LayerKind::Data`].
pub fn dissect(frame: &RawFrame<'_>, ws: WebSocketHint) -> FrameLayers {
    let data = frame.data;
    let mut out = FrameLayers {
        layers: vec![frame_layer(frame)],
        app: Vec::new(),
        app_complete: false,
        tcp: None,
        payload_seq: None,
    };
    let Some((ether_type, rest)) = net::strip_link(frame.linktype, data) else {
        out.layers.push(data_layer(
            format!(
                "Link layer: {} not decoded ({} bytes)",
                linktype_name(frame.linktype),
                data.len()
            ),
            0..data.len(),
        ));
        return out;
    };
    let link_len = data.len() - rest.len();
    link_layers(frame.linktype, data, link_len, &mut out.layers);
    if ether_type != EtherType::IPV4 && ether_type != EtherType::IPV6 {
        out.layers.push(data_layer(
            format!(
                "{} payload, not IP ({} bytes)",
                ether_type_name(ether_type),
                rest.len()
            ),
            link_len..data.len(),
        ));
        return out;
    }
    let Ok(sliced) = LaxSlicedPacket::from_ip(rest) else {
        out.layers.push(data_layer(
            format!("IP header cut short or invalid ({} bytes)", rest.len()),
            link_len..data.len(),
        ));
        return out;
    };
    let spans = Spans { base: data };
    let (fragmented, src, dst): (bool, IpAddr, IpAddr) = match &sliced.net {
        Some(LaxNetSlice::Ipv4(v4)) => {
            out.layers.push(ipv4_layer(&spans, v4));
            let h = v4.header();
            (
                v4.is_payload_fragmented(),
                h.source_addr().into(),
                h.destination_addr().into(),
            )
        }
        Some(LaxNetSlice::Ipv6(v6)) => {
            out.layers.push(ipv6_layer(&spans, v6));
            let h = v6.header();
            (
                v6.is_payload_fragmented(),
                h.source_addr().into(),
                h.destination_addr().into(),
            )
        }
        _ => return out,
    };
    let ip_payload = sliced.ip_payload().map(|p| p.payload);
    let payload_range = ip_payload.and_then(|p| spans.of(p));
    if fragmented {
        if let Some(r) = payload_range {
            out.layers.push(data_layer(
                format!(
                    "IP fragment ({} bytes): the datagram is reassembled from several frames",
                    r.len()
                ),
                r,
            ));
        }
        return out;
    }
    let tcp = match &sliced.transport {
        Some(TransportSlice::Tcp(tcp)) => tcp,
        _ => {
            let proto = sliced.ip_payload().map(|p| p.ip_number);
            if let Some(r) = payload_range {
                let what = match proto {
                    Some(IpNumber::TCP) => "TCP header cut short".to_string(),
                    Some(n) => format!("{}, not TCP", ip_number_name(n)),
                    None => "not TCP".to_string(),
                };
                out.layers
                    .push(data_layer(format!("{what} ({} bytes)", r.len()), r));
            }
            return out;
        }
    };
    out.layers.push(tcp_layer(&spans, tcp));
    out.tcp = Some((
        SocketAddr::new(src, tcp.source_port()),
        SocketAddr::new(dst, tcp.destination_port()),
    ));
    out.payload_seq = Some(tcp.sequence_number().wrapping_add(u32::from(tcp.syn())));
    let Some(payload) = spans.of(tcp.payload()) else {
        return out;
    };
    if payload.is_empty() {
        out.app_complete = true;
        return out;
    }
    match ws {
        WebSocketHint::None => {
            out.app.push(AppSpan {
                range: payload,
                mask: None,
                key_unknown: false,
            });
            out.app_complete = true;
        }
        WebSocketHint::FromClient | WebSocketHint::FromServer => {
            websocket_layers(data, payload, ws == WebSocketHint::FromClient, &mut out);
        }
    }
    out
}

/// Where borrowed sub-slices sit in the frame.
struct Spans<'a> {
    base: &'a [u8],
}

impl Spans<'_> {
    fn of(&self, part: &[u8]) -> Option<Range<usize>> {
        let start = (part.as_ptr() as usize).checked_sub(self.base.as_ptr() as usize)?;
        let end = start.checked_add(part.len())?;
        (end <= self.base.len()).then_some(start..end)
    }

    /// `n` bytes at `start`, when the frame has them.
    fn at(&self, start: usize, n: usize) -> Option<Range<usize>> {
        let end = start.checked_add(n)?;
        (end <= self.base.len()).then_some(start..end)
    }
}

fn data_layer(title: String, range: Range<usize>) -> Layer {
    Layer {
        kind: LayerKind::Data,
        title,
        range,
        fields: Vec::new(),
    }
}

fn frame_layer(frame: &RawFrame<'_>) -> Layer {
    let secs = frame.ts.0.div_euclid(1_000_000_000);
    let nanos = frame.ts.0.rem_euclid(1_000_000_000);
    let captured = frame.data.len();
    Layer {
        kind: LayerKind::Frame,
        title: format!(
            "Frame {}: {} bytes on wire ({} bits), {captured} bytes captured ({} bits)",
            frame.number,
            frame.wire_len,
            u64::from(frame.wire_len) * 8,
            captured as u64 * 8
        ),
        range: 0..captured,
        fields: vec![
            Field::new(
                "Encapsulation type",
                format!("{} ({})", linktype_name(frame.linktype), frame.linktype),
                None,
            ),
            Field::new("Epoch time", format!("{secs}.{nanos:09} seconds"), None),
            Field::new("Frame number", frame.number.to_string(), None),
            Field::new("Frame length", format!("{} bytes", frame.wire_len), None),
            Field::new("Capture length", format!("{captured} bytes"), None),
        ],
    }
}

/// The name of a pcap LINKTYPE_* value, as Wireshark's encapsulation names.
pub fn linktype_name(lt: u32) -> &'static str {
    match lt {
        linktype::NULL => "Null/Loopback",
        linktype::ETHERNET => "Ethernet",
        linktype::RAW | linktype::RAW_BSD_12 | linktype::RAW_BSD_14 => "Raw IP",
        linktype::LOOP => "OpenBSD loopback",
        linktype::LINUX_SLL => "Linux cooked-mode capture v1",
        linktype::IPV4 => "Raw IPv4",
        linktype::IPV6 => "Raw IPv6",
        linktype::LINUX_SLL2 => "Linux cooked-mode capture v2",
        _ => "Unknown link type",
    }
}

fn ether_type_name(t: EtherType) -> String {
    match t {
        EtherType::IPV4 => "IPv4 (0x0800)".to_string(),
        EtherType::IPV6 => "IPv6 (0x86dd)".to_string(),
        EtherType::ARP => "ARP (0x0806)".to_string(),
        EtherType::VLAN_TAGGED_FRAME => "802.1Q Virtual LAN (0x8100)".to_string(),
        EtherType::PROVIDER_BRIDGING => "802.1ad Provider Bridge (0x88a8)".to_string(),
        EtherType::VLAN_DOUBLE_TAGGED_FRAME => "QinQ (0x9100)".to_string(),
        other => format!("0x{:04x}", other.0),
    }
}

fn ip_number_name(n: IpNumber) -> String {
    format!("{} ({})", n.keyword_str().unwrap_or("Unknown"), n.0)
}

fn mac(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

fn be16(data: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes(data.get(at..at + 2)?.try_into().ok()?))
}

fn set(on: bool) -> &'static str {
    if on { "Set" } else { "Not set" }
}

/// The link header (`data[..link_len]`): the base header of the link type, then any VLAN tags
/// up to `link_len` (where [`net::strip_link`] found the network layer).
fn link_layers(lt: u32, data: &[u8], link_len: usize, layers: &mut Vec<Layer>) {
    let s = Spans { base: data };
    let (base_len, title, fields): (usize, String, Vec<Field>) = match lt {
        linktype::ETHERNET => {
            let (dst, src) = (
                data.get(0..6).map(mac).unwrap_or_default(),
                data.get(6..12).map(mac).unwrap_or_default(),
            );
            let et = be16(data, 12).unwrap_or(0);
            (
                14,
                format!("Ethernet II, Src: {src}, Dst: {dst}"),
                vec![
                    Field::new("Destination", dst, s.at(0, 6)),
                    Field::new("Source", src, s.at(6, 6)),
                    Field::new("Type", ether_type_name(EtherType(et)), s.at(12, 2)),
                ],
            )
        }
        // LINKTYPE_LINUX_SLL: packet type, ARPHRD type, address length, 8 address bytes,
        // protocol (all big-endian).
        linktype::LINUX_SLL => {
            let addr_len = usize::from(be16(data, 4).unwrap_or(0)).min(8);
            let src = data.get(6..6 + addr_len).map(mac).unwrap_or_default();
            (
                16,
                format!("Linux cooked capture v1, Src: {src}"),
                vec![
                    Field::new(
                        "Packet type",
                        sll_packet_type(u16::from(data.get(1).copied().unwrap_or(0))),
                        s.at(0, 2),
                    ),
                    Field::new(
                        "Link-layer address type",
                        be16(data, 2).unwrap_or(0).to_string(),
                        s.at(2, 2),
                    ),
                    Field::new(
                        "Link-layer address length",
                        addr_len.to_string(),
                        s.at(4, 2),
                    ),
                    Field::new("Source", src, s.at(6, 8)),
                    Field::new(
                        "Protocol",
                        ether_type_name(EtherType(be16(data, 14).unwrap_or(0))),
                        s.at(14, 2),
                    ),
                ],
            )
        }
        // LINKTYPE_LINUX_SLL2: protocol, reserved, interface index, ARPHRD type, packet type,
        // address length, 8 address bytes.
        linktype::LINUX_SLL2 => {
            let addr_len = usize::from(data.get(11).copied().unwrap_or(0)).min(8);
            let src = data.get(12..12 + addr_len).map(mac).unwrap_or_default();
            let ifindex = data
                .get(4..8)
                .and_then(|b| b.try_into().ok())
                .map_or(0, u32::from_be_bytes);
            (
                20,
                format!("Linux cooked capture v2, Src: {src}"),
                vec![
                    Field::new(
                        "Protocol",
                        ether_type_name(EtherType(be16(data, 0).unwrap_or(0))),
                        s.at(0, 2),
                    ),
                    Field::new(
                        "Reserved",
                        format!("0x{:04x}", be16(data, 2).unwrap_or(0)),
                        s.at(2, 2),
                    ),
                    Field::new("Interface index", ifindex.to_string(), s.at(4, 4)),
                    Field::new(
                        "Link-layer address type",
                        be16(data, 8).unwrap_or(0).to_string(),
                        s.at(8, 2),
                    ),
                    Field::new(
                        "Packet type",
                        sll_packet_type(u16::from(data.get(10).copied().unwrap_or(0))),
                        s.at(10, 1),
                    ),
                    Field::new(
                        "Link-layer address length",
                        addr_len.to_string(),
                        s.at(11, 1),
                    ),
                    Field::new("Source", src, s.at(12, 8)),
                ],
            )
        }
        linktype::NULL | linktype::LOOP => {
            let raw: [u8; 4] = data
                .get(0..4)
                .and_then(|b| b.try_into().ok())
                .unwrap_or_default();
            let family = net::loopback_family(lt, raw);
            let name = match family {
                2 => "IP",
                10 | 24 | 28 | 30 => "IPv6",
                _ => "Unknown",
            };
            (
                4,
                format!("{}, Family: {name} ({family})", linktype_name(lt)),
                vec![Field::new(
                    "Family",
                    format!("{name} ({family})"),
                    s.at(0, 4),
                )],
            )
        }
        _ => (
            0,
            "Raw packet data (no link-layer header)".to_string(),
            Vec::new(),
        ),
    };
    layers.push(Layer {
        kind: LayerKind::Link,
        title,
        range: 0..base_len.min(link_len),
        fields,
    });
    // The tags strip_link skipped, one layer each (Wireshark shows them so).
    let mut at = base_len;
    let mut tpid = match lt {
        linktype::ETHERNET => be16(data, 12),
        linktype::LINUX_SLL => be16(data, 14),
        linktype::LINUX_SLL2 => be16(data, 0),
        _ => None,
    };
    while at < link_len {
        let Some(tag) = data
            .get(at..)
            .and_then(|d| SingleVlanHeaderSlice::from_slice(d).ok())
        else {
            break;
        };
        let (pcp, dei, vid) = (
            tag.priority_code_point().value(),
            tag.drop_eligible_indicator(),
            tag.vlan_identifier().value(),
        );
        let name = if tpid == Some(0x88a8) {
            "802.1ad Provider Bridge"
        } else {
            "802.1Q Virtual LAN"
        };
        layers.push(Layer {
            kind: LayerKind::Vlan,
            title: format!("{name}, PRI: {pcp}, DEI: {}, ID: {vid}", u8::from(dei)),
            range: at..at + 4,
            fields: vec![
                Field::new("Priority", pcp.to_string(), s.at(at, 1)),
                Field::new("DEI", u8::from(dei).to_string(), s.at(at, 1)),
                Field::new("ID", vid.to_string(), s.at(at, 2)),
                Field::new("Type", ether_type_name(tag.ether_type()), s.at(at + 2, 2)),
            ],
        });
        tpid = Some(tag.ether_type().0);
        at += 4;
    }
}

fn sll_packet_type(t: u16) -> String {
    let name = match t {
        0 => "Unicast to us",
        1 => "Broadcast",
        2 => "Multicast",
        3 => "Unicast to another host",
        4 => "Sent by us",
        _ => "Unknown",
    };
    format!("{name} ({t})")
}

fn ds_field(tc: u8) -> String {
    format!("0x{tc:02x} (DSCP: {}, ECN: {})", tc >> 2, tc & 3)
}

fn ipv4_layer(s: &Spans<'_>, v4: &etherparse::LaxIpv4Slice<'_>) -> Layer {
    let h = v4.header();
    let raw = h.slice();
    let Some(r) = s.of(raw) else {
        return data_layer("IPv4 header".to_string(), 0..0);
    };
    let at = r.start;
    let flags_byte = raw.get(6).copied().unwrap_or(0);
    let flag_names: Vec<&str> = [(0x40, "Don't fragment"), (0x20, "More fragments")]
        .iter()
        .filter(|(bit, _)| flags_byte & bit != 0)
        .map(|(_, n)| *n)
        .collect();
    let (src, dst) = (h.source_addr(), h.destination_addr());
    let mut fields = vec![
        Field::new("Version", h.version().to_string(), s.at(at, 1)),
        Field::new(
            "Header length",
            format!("{} bytes ({})", usize::from(h.ihl()) * 4, h.ihl()),
            s.at(at, 1),
        ),
        Field::new(
            "Differentiated services",
            ds_field(raw.get(1).copied().unwrap_or(0)),
            s.at(at + 1, 1),
        )
        .with(vec![
            Field::new("DSCP", h.dcp().value().to_string(), s.at(at + 1, 1)),
            Field::new("ECN", h.ecn().value().to_string(), s.at(at + 1, 1)),
        ]),
        Field::new("Total length", h.total_len().to_string(), s.at(at + 2, 2)),
        Field::new(
            "Identification",
            format!("0x{:04x} ({})", h.identification(), h.identification()),
            s.at(at + 4, 2),
        ),
        Field::new(
            "Flags",
            format!(
                "0x{:x}{}{}",
                flags_byte >> 5,
                if flag_names.is_empty() { "" } else { ", " },
                flag_names.join(", ")
            ),
            s.at(at + 6, 1),
        )
        .with(vec![
            Field::new("Reserved bit", set(flags_byte & 0x80 != 0), s.at(at + 6, 1)),
            Field::new("Don't fragment", set(h.dont_fragment()), s.at(at + 6, 1)),
            Field::new("More fragments", set(h.more_fragments()), s.at(at + 6, 1)),
        ]),
        Field::new(
            "Fragment offset",
            (h.fragments_offset().value() as u32 * 8).to_string(),
            s.at(at + 6, 2),
        ),
        Field::new("Time to live", h.ttl().to_string(), s.at(at + 8, 1)),
        Field::new("Protocol", ip_number_name(h.protocol()), s.at(at + 9, 1)),
        Field::new(
            "Header checksum",
            format!("0x{:04x}", h.header_checksum()),
            s.at(at + 10, 2),
        ),
        Field::new("Source address", src.to_string(), s.at(at + 12, 4)),
        Field::new("Destination address", dst.to_string(), s.at(at + 16, 4)),
    ];
    let options = h.options();
    if !options.is_empty() {
        fields.push(Field::new(
            "Options",
            format!("{} bytes", options.len()),
            s.of(options),
        ));
    }
    let exts = v4.extensions();
    if let Some(auth) = exts.auth {
        fields.push(Field::new(
            "Authentication header",
            format!("{} bytes", auth.slice().len()),
            s.of(auth.slice()),
        ));
    }
    Layer {
        kind: LayerKind::Ip,
        title: format!("Internet Protocol Version 4, Src: {src}, Dst: {dst}"),
        range: r,
        fields,
    }
}

fn ipv6_layer(s: &Spans<'_>, v6: &etherparse::LaxIpv6Slice<'_>) -> Layer {
    let h = v6.header();
    let raw = h.slice();
    let Some(r) = s.of(raw) else {
        return data_layer("IPv6 header".to_string(), 0..0);
    };
    let at = r.start;
    let (src, dst) = (
        IpAddr::from(h.source_addr()),
        IpAddr::from(h.destination_addr()),
    );
    let mut fields = vec![
        Field::new("Version", h.version().to_string(), s.at(at, 1)),
        Field::new("Traffic class", ds_field(h.traffic_class()), s.at(at, 2)),
        Field::new(
            "Flow label",
            format!("0x{:05x}", h.flow_label().value()),
            s.at(at + 1, 3),
        ),
        Field::new(
            "Payload length",
            h.payload_length().to_string(),
            s.at(at + 4, 2),
        ),
        Field::new(
            "Next header",
            ip_number_name(h.next_header()),
            s.at(at + 6, 1),
        ),
        Field::new("Hop limit", h.hop_limit().to_string(), s.at(at + 7, 1)),
        Field::new("Source address", src.to_string(), s.at(at + 8, 16)),
        Field::new("Destination address", dst.to_string(), s.at(at + 24, 16)),
    ];
    // Extension headers, walked here with etherparse's checked slices. Not with its
    // extension iterator: on a lax slice whose chain was cut short, the last header kept still
    // names a next extension header that is not there, and the iterator (which trusts a
    // strictly parsed chain) reads past the slice (found by the `stream_parsers` fuzz target).
    let exts = v6.extensions();
    let mut rest = exts.slice();
    let mut next = exts.first_header();
    let mut end = r.end;
    while let Some(kind) = next
        && !rest.is_empty()
    {
        let (name, len, detail, after) = match kind {
            ip_number::IPV6_HOP_BY_HOP | ip_number::IPV6_ROUTE | ip_number::IPV6_DEST_OPTIONS => {
                let Ok(e) = Ipv6RawExtHeaderSlice::from_slice(rest) else {
                    break;
                };
                let name = match kind {
                    ip_number::IPV6_HOP_BY_HOP => "Hop-by-hop options",
                    ip_number::IPV6_ROUTE => "Routing header",
                    _ => "Destination options",
                };
                (name, e.slice().len(), String::new(), e.next_header())
            }
            ip_number::IPV6_FRAG => {
                let Ok(f) = Ipv6FragmentHeaderSlice::from_slice(rest) else {
                    break;
                };
                let detail = format!(
                    ", offset {}, more fragments: {}, id 0x{:08x}",
                    u32::from(f.fragment_offset().value()) * 8,
                    f.more_fragments(),
                    f.identification()
                );
                ("Fragment header", f.slice().len(), detail, f.next_header())
            }
            ip_number::AUTH => {
                let Ok(a) = IpAuthHeaderSlice::from_slice(rest) else {
                    break;
                };
                (
                    "Authentication header",
                    a.slice().len(),
                    String::new(),
                    a.next_header(),
                )
            }
            _ => break,
        };
        let Some((bytes, after_bytes)) = rest.split_at_checked(len) else {
            break;
        };
        let range = s.of(bytes);
        if let Some(r) = &range {
            end = end.max(r.end);
        }
        fields.push(Field::new(name, format!("{len} bytes{detail}"), range));
        rest = after_bytes;
        next = Some(after);
    }
    Layer {
        kind: LayerKind::Ip,
        title: format!("Internet Protocol Version 6, Src: {src}, Dst: {dst}"),
        range: r.start..end,
        fields,
    }
}

fn tcp_layer(s: &Spans<'_>, tcp: &TcpSlice<'_>) -> Layer {
    let header = tcp.header_slice();
    let Some(r) = s.of(header) else {
        return data_layer("TCP header".to_string(), 0..0);
    };
    let at = r.start;
    let flags = be16(header, 12).unwrap_or(0) & 0x0fff;
    let bits: [(u16, &'static str, &'static str); 9] = [
        (0x100, "Accurate ECN", "AE"),
        (0x080, "Congestion window reduced", "CWR"),
        (0x040, "ECN-Echo", "ECE"),
        (0x020, "Urgent", "URG"),
        (0x010, "Acknowledgment", "ACK"),
        (0x008, "Push", "PSH"),
        (0x004, "Reset", "RST"),
        (0x002, "Syn", "SYN"),
        (0x001, "Fin", "FIN"),
    ];
    let on: Vec<&str> = bits
        .iter()
        .rev()
        .filter(|(b, _, _)| flags & b != 0)
        .map(|(_, _, short)| *short)
        .collect();
    // Every flag bit covers the two bytes of the flags field, as the field itself does.
    let mut flag_fields = vec![Field::new(
        "Reserved",
        set(flags & 0xe00 != 0),
        s.at(at + 12, 2),
    )];
    flag_fields.extend(
        bits.iter()
            .map(|(b, name, _)| Field::new(name, set(flags & b != 0), s.at(at + 12, 2))),
    );
    let payload_len = tcp.payload().len();
    let mut fields = vec![
        Field::new("Source port", tcp.source_port().to_string(), s.at(at, 2)),
        Field::new(
            "Destination port",
            tcp.destination_port().to_string(),
            s.at(at + 2, 2),
        ),
        Field::new(
            "Sequence number (raw)",
            tcp.sequence_number().to_string(),
            s.at(at + 4, 4),
        ),
        Field::new(
            "Acknowledgment number (raw)",
            tcp.acknowledgment_number().to_string(),
            s.at(at + 8, 4),
        ),
        Field::new(
            "Header length",
            format!("{} bytes ({})", header.len(), tcp.data_offset()),
            s.at(at + 12, 1),
        ),
        Field::new(
            "Flags",
            format!("0x{flags:03x} ({})", on.join(", ")),
            s.at(at + 12, 2),
        )
        .with(flag_fields),
        Field::new("Window", tcp.window_size().to_string(), s.at(at + 14, 2)),
        Field::new(
            "Checksum",
            format!("0x{:04x}", tcp.checksum()),
            s.at(at + 16, 2),
        ),
        Field::new(
            "Urgent pointer",
            tcp.urgent_pointer().to_string(),
            s.at(at + 18, 2),
        ),
    ];
    let options = tcp.options();
    if !options.is_empty() {
        fields.push(tcp_options(s, options));
    }
    if payload_len > 0 {
        fields.push(Field::new(
            "TCP payload",
            format!("{payload_len} bytes"),
            s.of(tcp.payload()),
        ));
    }
    Layer {
        kind: LayerKind::Tcp,
        title: format!(
            "Transmission Control Protocol, Src Port: {}, Dst Port: {}, Seq: {}, Ack: {}, Len: {payload_len}",
            tcp.source_port(),
            tcp.destination_port(),
            tcp.sequence_number(),
            tcp.acknowledgment_number()
        ),
        range: r,
        fields,
    }
}

fn tcp_options(s: &Spans<'_>, options: &[u8]) -> Field {
    let base = s.of(options).map_or(0, |r| r.start);
    let mut children = Vec::new();
    let mut names = Vec::new();
    let mut it = TcpOptionsIterator::from_slice(options);
    loop {
        let before = options.len() - it.rest().len();
        let Some(next) = it.next() else {
            break;
        };
        let after = options.len() - it.rest().len();
        let range = s.at(base + before, after.saturating_sub(before).max(1));
        let (name, value) = match next {
            Ok(TcpOptionElement::Noop) => ("No-Operation (NOP)", String::new()),
            Ok(TcpOptionElement::MaximumSegmentSize(m)) => {
                ("Maximum segment size", format!("{m} bytes"))
            }
            Ok(TcpOptionElement::WindowScale(w)) => (
                "Window scale",
                format!("{w} (multiply by {})", 1u64 << u32::from(w.min(30))),
            ),
            Ok(TcpOptionElement::SelectiveAcknowledgementPermitted) => {
                ("SACK permitted", String::new())
            }
            Ok(TcpOptionElement::SelectiveAcknowledgement(first, rest)) => (
                "SACK",
                std::iter::once(Some(first))
                    .chain(rest)
                    .flatten()
                    .map(|(l, r)| format!("{l}-{r}"))
                    .collect::<Vec<_>>()
                    .join(" "),
            ),
            Ok(TcpOptionElement::Timestamp(v, e)) => {
                ("Timestamps", format!("TSval {v}, TSecr {e}"))
            }
            Err(e) => {
                children.push(Field::new(
                    "Malformed option",
                    e.to_string(),
                    s.at(base + before, options.len() - before),
                ));
                break;
            }
        };
        names.push(name);
        children.push(Field::new(name, value, range));
    }
    Field::new(
        "Options",
        format!("({} bytes), {}", options.len(), names.join(", ")),
        s.of(options),
    )
    .with(children)
}

fn ws_opcode_name(op: u8) -> &'static str {
    match op {
        0 => "Continuation",
        1 => "Text",
        2 => "Binary",
        8 => "Connection Close",
        9 => "Ping",
        10 => "Pong",
        _ => "Reserved",
    }
}

/// The WebSocket frames of a TCP payload (`payload` is its range in `data`): an HTTP head
/// first if there is one (the upgrade), then frame headers one after the other. A segment that
/// starts inside a frame cannot be told from a header: it is shown as data and its application
/// bytes are left unplaced (`app_complete` false).
fn websocket_layers(data: &[u8], payload: Range<usize>, from_client: bool, out: &mut FrameLayers) {
    let mut at = payload.start;
    let end = payload.end;
    let s = Spans { base: data };
    let rest = |at: usize| data.get(at..end).unwrap_or_default();
    if let Ok(Some(head)) = websocket::parse_http_head(rest(at)) {
        out.layers.push(Layer {
            kind: LayerKind::Http,
            title: format!("Hypertext Transfer Protocol ({} bytes)", head.len),
            range: at..at + head.len,
            fields: Vec::new(),
        });
        at += head.len;
    }
    while at < end {
        let header = websocket::read_header(rest(at));
        let credible = header.filter(|h| {
            h.rsv == 0
                && matches!(h.opcode, 0 | 1 | 2 | 8..=10)
                && h.mask.is_some() == from_client
                && h.payload_len >> 63 == 0
        });
        let Some(h) = credible else {
            let title = if header.is_none() {
                format!(
                    "WebSocket frame header continues in the next segment ({} bytes)",
                    end - at
                )
            } else if at == payload.start {
                // Unmasked (server) payload is usable as is; masked (client) payload needs the
                // key of a header in an earlier segment, which a caller knowing the bytes to
                // expect can recover.
                out.app.push(AppSpan {
                    range: at..end,
                    mask: None,
                    key_unknown: from_client,
                });
                format!(
                    "WebSocket payload continued from an earlier segment ({} bytes)",
                    end - at
                )
            } else {
                format!("Data, not a WebSocket frame header ({} bytes)", end - at)
            };
            out.layers.push(data_layer(title, at..end));
            return;
        };
        let key_at = at + h.len - if h.mask.is_some() { 4 } else { 0 };
        let body_start = at + h.len;
        let body_end = body_start
            .saturating_add(usize::try_from(h.payload_len).unwrap_or(usize::MAX))
            .min(end);
        let mut fields = vec![
            Field::new("Fin", if h.fin { "True" } else { "False" }, s.at(at, 1)),
            Field::new("Reserved", format!("0x{:x}", h.rsv), s.at(at, 1)),
            Field::new(
                "Opcode",
                format!("{} ({})", ws_opcode_name(h.opcode), h.opcode),
                s.at(at, 1),
            ),
            Field::new(
                "Mask",
                if h.mask.is_some() { "True" } else { "False" },
                s.at(at + 1, 1),
            ),
            Field::new(
                "Payload length",
                h.payload_len.to_string(),
                s.at(at + 1, key_at - at - 1),
            ),
        ];
        if let Some(key) = h.mask {
            fields.push(Field::new(
                "Masking key",
                key.iter().map(|b| format!("{b:02x}")).collect::<String>(),
                s.at(key_at, 4),
            ));
        }
        let in_segment = body_end - body_start;
        fields.push(Field::new(
            if h.mask.is_some() {
                "Masked payload"
            } else {
                "Payload"
            },
            if (in_segment as u64) < h.payload_len {
                format!(
                    "{in_segment} of {} bytes (continues in the next segment)",
                    h.payload_len
                )
            } else {
                format!("{in_segment} bytes")
            },
            Some(body_start..body_end),
        ));
        out.layers.push(Layer {
            kind: LayerKind::WebSocket,
            title: format!(
                "WebSocket, {}{}, {} bytes",
                ws_opcode_name(h.opcode),
                if h.fin { ", Fin" } else { "" },
                h.payload_len
            ),
            range: at..body_start,
            fields,
        });
        // Data frames carry the MQTT stream (RFC 6455 §5.6); control frames do not.
        if h.opcode <= 2 && body_end > body_start {
            out.app.push(AppSpan {
                range: body_start..body_end,
                mask: h.mask,
                key_unknown: false,
            });
        }
        at = body_end;
    }
    out.app_complete = true;
}

#[cfg(test)]
mod tests {
    use super::*;
    use dissector::input::Timestamp;
    use proptest::prelude::*;

    fn raw(linktype: u32, data: &[u8]) -> RawFrame<'_> {
        RawFrame {
            number: 7,
            ts: Timestamp::from_parts(1_795_556_569, 518_919_000),
            linktype,
            caplen: data.len() as u32,
            wire_len: data.len() as u32,
            data,
        }
    }

    /// Ethernet / IPv4 / TCP with MSS, NOP, window scale options and `payload`.
    fn ethernet_tcp(payload: &[u8]) -> Vec<u8> {
        let builder = etherparse::PacketBuilder::ethernet2([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2])
            .ipv4([10, 0, 0, 1], [10, 0, 0, 2], 64)
            .tcp(51000, 1883, 1000, 512)
            .ack(77)
            .psh()
            .options(&[
                TcpOptionElement::MaximumSegmentSize(1460),
                TcpOptionElement::Noop,
                TcpOptionElement::WindowScale(7),
            ])
            .expect("options fit");
        let mut out = Vec::new();
        builder.write(&mut out, payload).expect("build");
        out
    }

    #[test]
    fn data_on_a_syn_starts_one_after_the_syns_sequence_number() {
        let builder = etherparse::PacketBuilder::ethernet2([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2])
            .ipv4([10, 0, 0, 1], [10, 0, 0, 2], 64)
            .tcp(51000, 1883, u32::MAX, 512)
            .syn();
        let mut frame = Vec::new();
        builder.write(&mut frame, b"\xc0\x00").expect("build");
        let l = dissect(&raw(linktype::ETHERNET, &frame), WebSocketHint::None);
        assert_eq!(l.payload_seq, Some(0));
    }

    #[test]
    fn ethernet_ipv4_tcp_fields_have_values_and_byte_ranges() {
        let frame = ethernet_tcp(b"\xc0\x00");
        let l = dissect(&raw(linktype::ETHERNET, &frame), WebSocketHint::None);
        let kinds: Vec<_> = l.layers.iter().map(|l| l.kind).collect();
        assert_eq!(
            kinds,
            [
                LayerKind::Frame,
                LayerKind::Link,
                LayerKind::Ip,
                LayerKind::Tcp
            ]
        );
        let eth = l.layer(LayerKind::Link).expect("ethernet");
        assert!(eth.title.starts_with("Ethernet II"));
        assert_eq!(
            eth.field("Source").map(|f| f.value.as_str()),
            Some("02:00:00:00:00:01")
        );
        assert_eq!(
            eth.field("Type").and_then(|f| f.range.clone()),
            Some(12..14)
        );
        let ip = l.layer(LayerKind::Ip).expect("ip");
        assert_eq!(ip.range, 14..34);
        assert_eq!(
            ip.field("Time to live").map(|f| f.value.as_str()),
            Some("64")
        );
        assert_eq!(
            ip.field("Protocol").map(|f| f.value.as_str()),
            Some("TCP (6)")
        );
        assert_eq!(
            ip.field("Source address").and_then(|f| f.range.clone()),
            Some(26..30)
        );
        let tcp = l.layer(LayerKind::Tcp).expect("tcp");
        assert_eq!(l.payload_seq, Some(1000));
        assert_eq!(
            tcp.field("Destination port").map(|f| f.value.as_str()),
            Some("1883")
        );
        assert_eq!(
            tcp.field("Destination port").and_then(|f| f.range.clone()),
            Some(36..38)
        );
        assert_eq!(
            tcp.field("Sequence number (raw)").map(|f| f.value.as_str()),
            Some("1000")
        );
        assert_eq!(
            tcp.field("Flags").map(|f| f.value.as_str()),
            Some("0x018 (PSH, ACK)")
        );
        assert_eq!(
            tcp.field("Maximum segment size").map(|f| f.value.as_str()),
            Some("1460 bytes")
        );
        assert_eq!(
            tcp.field("Maximum segment size")
                .and_then(|f| f.range.clone()),
            Some(54..58)
        );
        assert_eq!(
            tcp.field("Window scale").and_then(|f| f.range.clone()),
            Some(59..62)
        );
        assert_eq!(
            tcp.field("TCP payload").and_then(|f| f.range.clone()),
            Some(62..64)
        );
        assert!(l.app_complete);
        assert_eq!(
            l.tcp.map(|(s, d)| (s.to_string(), d.to_string())),
            Some(("10.0.0.1:51000".into(), "10.0.0.2:1883".into()))
        );
        assert_eq!(l.app_bytes(&frame), b"\xc0\x00");
        assert_eq!(l.app_to_frame(1..2), vec![63..64]);
    }

    #[test]
    fn vlan_tags_and_linux_cooked_headers_are_layers_of_their_own() {
        // Ethernet with an 802.1ad tag then an 802.1Q tag in front of the IPv4 packet.
        let inner = ethernet_tcp(b"x");
        let mut tagged = inner[..12].to_vec();
        tagged.extend_from_slice(&[0x88, 0xa8, 0x20, 0x0a, 0x81, 0x00, 0x00, 0x14, 0x08, 0x00]);
        tagged.extend_from_slice(&inner[14..]);
        let l = dissect(&raw(linktype::ETHERNET, &tagged), WebSocketHint::None);
        let tags: Vec<_> = l
            .layers
            .iter()
            .filter(|l| l.kind == LayerKind::Vlan)
            .collect();
        assert_eq!(tags.len(), 2);
        assert_eq!(
            tags[0].title,
            "802.1ad Provider Bridge, PRI: 1, DEI: 0, ID: 10"
        );
        assert_eq!(tags[1].title, "802.1Q Virtual LAN, PRI: 0, DEI: 0, ID: 20");
        assert_eq!(tags[1].range, 18..22);
        assert_eq!(l.app_bytes(&tagged), b"x");

        // Linux cooked v1 (sent by us, ARPHRD 772 loopback) and v2 around the same IP packet.
        let mut sll = vec![0, 4, 0x03, 0x04, 0, 6, 1, 2, 3, 4, 5, 6, 0, 0, 0x08, 0x00];
        sll.extend_from_slice(&inner[14..]);
        let l = dissect(&raw(linktype::LINUX_SLL, &sll), WebSocketHint::None);
        let link = l.layer(LayerKind::Link).expect("sll");
        assert_eq!(
            link.title,
            "Linux cooked capture v1, Src: 01:02:03:04:05:06"
        );
        assert_eq!(
            link.field("Packet type").map(|f| f.value.as_str()),
            Some("Sent by us (4)")
        );
        assert_eq!(
            l.layer(LayerKind::Ip).map(|i| i.range.clone()),
            Some(16..36)
        );
        let mut sll2 = vec![
            0x08, 0x00, 0, 0, 0, 0, 0, 3, 0x03, 0x04, 0, 6, 1, 2, 3, 4, 5, 6, 0, 0,
        ];
        sll2.extend_from_slice(&inner[14..]);
        let l = dissect(&raw(linktype::LINUX_SLL2, &sll2), WebSocketHint::None);
        let link = l.layer(LayerKind::Link).expect("sll2");
        assert_eq!(
            link.field("Interface index").map(|f| f.value.as_str()),
            Some("3")
        );
        assert_eq!(l.layer(LayerKind::Tcp).map(|t| t.range.start), Some(40));
    }

    #[test]
    fn loopback_and_raw_ipv6_frames_decode_down_to_tcp() {
        let builder = etherparse::PacketBuilder::ipv6([0; 16], [1; 16], 9).tcp(1883, 40000, 5, 100);
        let mut v6 = Vec::new();
        builder.write(&mut v6, b"\x20\x02\x00\x00").expect("build");
        let mut null = 30u32.to_le_bytes().to_vec();
        null.extend_from_slice(&v6);
        let l = dissect(&raw(linktype::NULL, &null), WebSocketHint::None);
        assert_eq!(
            l.layer(LayerKind::Link).map(|k| k.title.as_str()),
            Some("Null/Loopback, Family: IPv6 (30)")
        );
        let ip = l.layer(LayerKind::Ip).expect("ipv6");
        assert!(ip.title.starts_with("Internet Protocol Version 6"));
        assert_eq!(ip.field("Hop limit").map(|f| f.value.as_str()), Some("9"));
        assert_eq!(
            ip.field("Destination address")
                .and_then(|f| f.range.clone()),
            Some(28..44)
        );
        let l = dissect(&raw(linktype::RAW, &v6), WebSocketHint::None);
        assert_eq!(
            l.layer(LayerKind::Tcp)
                .and_then(|t| t.field("Source port"))
                .map(|f| f.value.as_str()),
            Some("1883")
        );
        assert_eq!(l.app_bytes(&v6), b"\x20\x02\x00\x00");
    }

    #[test]
    fn websocket_frames_are_unmasked_and_mapped_back_to_the_frame() {
        // Two masked binary frames in one segment: "\x10\x01" and "\xc0\x00".
        let key = [0x5f, 0xdc, 0x3c, 0x01];
        let mut ws = Vec::new();
        for msg in [&b"\x10\x01"[..], &b"\xc0\x00"[..]] {
            ws.extend_from_slice(&[0x82, 0x80 | msg.len() as u8]);
            ws.extend_from_slice(&key);
            ws.extend(msg.iter().zip(key.iter().cycle()).map(|(b, k)| b ^ k));
        }
        let frame = ethernet_tcp(&ws);
        let l = dissect(&raw(linktype::ETHERNET, &frame), WebSocketHint::FromClient);
        let frames: Vec<_> = l
            .layers
            .iter()
            .filter(|l| l.kind == LayerKind::WebSocket)
            .collect();
        assert_eq!(frames.len(), 2);
        assert_eq!(
            frames[0].field("Opcode").map(|f| f.value.as_str()),
            Some("Binary (2)")
        );
        assert_eq!(
            frames[0].field("Masking key").map(|f| f.value.as_str()),
            Some("5fdc3c01")
        );
        assert!(l.app_complete);
        assert_eq!(l.app_bytes(&frame), b"\x10\x01\xc0\x00");
        // The second MQTT packet lies after the second header (62 + 8 + 6).
        assert_eq!(l.app_to_frame(2..4), vec![76..78]);
        assert_eq!(l.app_to_frame(1..3), vec![69..70, 76..77]);
        // Server-to-client framing must be unmasked: these headers are not credible then.
        let l = dissect(&raw(linktype::ETHERNET, &frame), WebSocketHint::FromServer);
        assert!(!l.app_complete);
        assert_eq!(l.layers.last().map(|l| l.kind), Some(LayerKind::Data));
    }

    #[test]
    fn cut_and_unknown_frames_end_in_a_data_layer() {
        let frame = ethernet_tcp(b"abc");
        for len in 0..frame.len() {
            let l = dissect(&raw(linktype::ETHERNET, &frame[..len]), WebSocketHint::None);
            assert_eq!(l.layers[0].kind, LayerKind::Frame);
        }
        let l = dissect(&raw(147, &frame), WebSocketHint::None);
        assert_eq!(l.layers.len(), 2);
        assert!(l.layers[1].title.contains("not decoded"));
    }

    /// Frame 8 of samples/websocket.pcap against `tshark -V -Y frame.number==8`.
    #[test]
    fn websocket_sample_frame_matches_tshark() {
        let path =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../samples/websocket.pcap");
        let mut source = crate::FileSource::open(&path).expect("sample");
        let mut frame = None;
        while let Some(f) = source
            .next_with(crate::source::OwnedFrame::from_raw)
            .expect("reads")
        {
            if f.number == 8 {
                frame = Some(f);
            }
        }
        let frame = frame.expect("frame 8");
        let l = dissect(&frame.as_raw(), WebSocketHint::FromClient);
        let value = |kind: LayerKind, name: &str| {
            l.layer(kind)
                .and_then(|x| x.field(name))
                .map(|f| f.value.clone())
                .unwrap_or_default()
        };
        assert!(
            l.layers[0]
                .title
                .starts_with("Frame 8: 89 bytes on wire (712 bits)")
        );
        assert_eq!(
            value(LayerKind::Frame, "Epoch time"),
            "1795556569.518919000 seconds"
        );
        assert_eq!(value(LayerKind::Ip, "Identification"), "0x89f1 (35313)");
        assert_eq!(value(LayerKind::Ip, "Flags"), "0x2, Don't fragment");
        assert_eq!(value(LayerKind::Ip, "Header checksum"), "0xb2b9");
        assert_eq!(value(LayerKind::Tcp, "Source port"), "45300");
        assert_eq!(value(LayerKind::Tcp, "Destination port"), "36283");
        assert_eq!(value(LayerKind::Tcp, "Sequence number (raw)"), "2594165437");
        assert_eq!(
            value(LayerKind::Tcp, "Acknowledgment number (raw)"),
            "2806135614"
        );
        assert_eq!(value(LayerKind::Tcp, "Header length"), "32 bytes (8)");
        assert_eq!(value(LayerKind::Tcp, "Window"), "64");
        assert_eq!(value(LayerKind::Tcp, "Checksum"), "0xfe3f");
        assert_eq!(
            value(LayerKind::Tcp, "Options"),
            "(12 bytes), No-Operation (NOP), No-Operation (NOP), Timestamps"
        );
        assert_eq!(
            value(LayerKind::Tcp, "Timestamps"),
            "TSval 534644443, TSecr 365854893"
        );
        assert_eq!(value(LayerKind::WebSocket, "Payload length"), "17");
        assert_eq!(value(LayerKind::WebSocket, "Masking key"), "5fdc3c01");
        let hex: String = l
            .app_bytes(&frame.data)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(hex, "100f00044d5154540402003c0003777331");
    }

    /// The `stream_parsers` fuzz target's first finding: raw IPv6 whose hop-by-hop header names
    /// a routing header the frame does not hold. etherparse's extension iterator read past the
    /// slice on it (undefined behaviour, caught by the debug precondition checks).
    #[test]
    fn an_ipv6_extension_chain_cut_short_is_walked_safely() {
        // Next header 0 (hop-by-hop); its next header 0x2b (routing) is cut off.
        let mut frame = vec![0x6a, 0x01, 0x0e, 0xff, 0xf8];
        frame.extend_from_slice(&[0u8; 37]);
        frame.extend_from_slice(&[0x3f, 0, 0, 0, 0xff, 0]);
        assert_eq!(frame.len(), 48);
        for lt in [linktype::RAW, linktype::IPV6] {
            let l = dissect(&raw(lt, &frame), WebSocketHint::None);
            assert!(l.layer(LayerKind::Ip).is_some());
        }
        // A well-formed chain is listed: hop-by-hop then fragment, then TCP.
        let mut v6 = vec![0x60, 0, 0, 0, 0, 36, 0, 64];
        v6.extend_from_slice(&[0u8; 32]);
        v6.extend_from_slice(&[44, 0, 1, 4, 0, 0, 0, 0]);
        v6.extend_from_slice(&[6, 0, 0, 0, 0, 0, 0, 9]);
        v6.extend_from_slice(&[
            0x07, 0x5b, 0x9c, 0x40, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x02, 1, 0,
        ]);
        v6.extend_from_slice(&[0, 0, 0, 0]);
        let l = dissect(&raw(linktype::IPV6, &v6), WebSocketHint::None);
        let ip = l.layer(LayerKind::Ip).expect("ipv6");
        assert_eq!(
            ip.field("Hop-by-hop options").and_then(|f| f.range.clone()),
            Some(40..48)
        );
        assert_eq!(
            ip.field("Fragment header").map(|f| f.value.as_str()),
            Some("8 bytes, offset 0, more fragments: false, id 0x00000009")
        );
        assert_eq!(ip.range, 0..56);
        assert_eq!(
            l.layer(LayerKind::Tcp)
                .and_then(|t| t.field("Source port"))
                .map(|f| f.value.as_str()),
            Some("1883")
        );
    }

    fn assert_ranges_inside(fields: &[Field], len: usize) {
        for f in fields {
            if let Some(r) = &f.range {
                assert!(r.start <= r.end && r.end <= len, "{f:?} outside {len}");
            }
            assert_ranges_inside(&f.children, len);
        }
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic_and_every_range_lies_in_the_frame(
            lt in prop::sample::select(vec![0u32, 1, 12, 14, 101, 108, 113, 228, 229, 276, 999]),
            data in prop::collection::vec(any::<u8>(), 0..200),
            ws in prop::sample::select(vec![WebSocketHint::None, WebSocketHint::FromClient, WebSocketHint::FromServer]),
        ) {
            let l = dissect(&raw(lt, &data), ws);
            for layer in &l.layers {
                prop_assert!(layer.range.end <= data.len());
                assert_ranges_inside(&layer.fields, data.len());
            }
            for span in &l.app {
                prop_assert!(span.range.end <= data.len());
            }
            let app = l.app_bytes(&data);
            prop_assert_eq!(l.app_to_frame(0..app.len()).iter().map(|r| r.len()).sum::<usize>(), app.len());
        }

        #[test]
        fn tcp_payloads_behind_real_headers_are_found_whatever_their_bytes(
            payload in prop::collection::vec(any::<u8>(), 0..300),
        ) {
            let frame = ethernet_tcp(&payload);
            let l = dissect(&raw(linktype::ETHERNET, &frame), WebSocketHint::None);
            prop_assert!(l.app_complete);
            prop_assert_eq!(l.app_bytes(&frame), payload);
        }
    }
}
