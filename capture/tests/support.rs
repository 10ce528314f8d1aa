//! Test helpers: MQTT packet encoders, TCP conversations wrapped in any link layer, a tiny
//! pcap/pcapng writer, and an event recorder.

#![allow(dead_code)]

use std::net::{IpAddr, SocketAddr};

use capture::{Pipeline, PipelineConfig, RawFrame};
use dissector::input::{
    ConnectionClosed, ConnectionOpened, Direction, GapEvent, StreamEvent, Timestamp, TlsMetadata,
    TransportIssue,
};
use etherparse::PacketBuilder;

// ---------------------------------------------------------------- MQTT encoders

/// Encodes a remaining length (MQTT 5.0 §1.5.5).
pub fn varint(mut v: u32) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let mut b = (v % 128) as u8;
        v /= 128;
        if v > 0 {
            b |= 0x80;
        }
        out.push(b);
        if v == 0 {
            return out;
        }
    }
}

/// A packet from its first byte and body.
pub fn packet(first: u8, body: &[u8]) -> Vec<u8> {
    let mut p = vec![first];
    p.extend(varint(body.len() as u32));
    p.extend_from_slice(body);
    p
}

fn string(s: &[u8]) -> Vec<u8> {
    let mut v = (s.len() as u16).to_be_bytes().to_vec();
    v.extend_from_slice(s);
    v
}

/// CONNECT, MQTT 3.1.1, clean session, keepalive 60.
pub fn connect(client_id: &str) -> Vec<u8> {
    let mut body = string(b"MQTT");
    body.extend_from_slice(&[4, 0x02, 0, 60]);
    body.extend(string(client_id.as_bytes()));
    packet(0x10, &body)
}

/// CONNACK accepted.
pub fn connack() -> Vec<u8> {
    vec![0x20, 0x02, 0x00, 0x00]
}

/// PUBLISH with QoS 0 or 1.
pub fn publish(topic: &str, payload: &[u8], qos: u8, id: u16) -> Vec<u8> {
    let mut body = string(topic.as_bytes());
    if qos > 0 {
        body.extend_from_slice(&id.to_be_bytes());
    }
    body.extend_from_slice(payload);
    packet(0x30 | (qos << 1), &body)
}

/// PUBACK.
pub fn puback(id: u16) -> Vec<u8> {
    packet(0x40, &id.to_be_bytes())
}

/// PINGREQ.
pub fn pingreq() -> Vec<u8> {
    vec![0xc0, 0x00]
}

/// PINGRESP.
pub fn pingresp() -> Vec<u8> {
    vec![0xd0, 0x00]
}

/// SUBSCRIBE to one filter at QoS 1.
pub fn subscribe(id: u16, filter: &str) -> Vec<u8> {
    let mut body = id.to_be_bytes().to_vec();
    body.extend(string(filter.as_bytes()));
    body.push(1);
    packet(0x82, &body)
}

/// DISCONNECT.
pub fn disconnect() -> Vec<u8> {
    vec![0xe0, 0x00]
}

// ---------------------------------------------------------------- link layers

/// How frames are wrapped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Link {
    /// Ethernet II.
    Ethernet,
    /// Ethernet with one 802.1Q tag.
    Vlan,
    /// Ethernet with an 802.1ad S-tag and an 802.1Q C-tag.
    QinQ,
    /// Linux cooked v1.
    Sll,
    /// Linux cooked v2.
    Sll2,
    /// BSD loopback, little-endian family.
    Null,
    /// OpenBSD loopback, big-endian family.
    Loop,
    /// Raw IP (LINKTYPE_RAW).
    Raw,
}

impl Link {
    /// pcap link type number.
    pub fn linktype(self) -> u32 {
        match self {
            Link::Ethernet | Link::Vlan | Link::QinQ => 1,
            Link::Sll => 113,
            Link::Sll2 => 276,
            Link::Null => 0,
            Link::Loop => 108,
            Link::Raw => 101,
        }
    }

    /// Wraps an IP packet.
    pub fn wrap(self, ip: &[u8]) -> Vec<u8> {
        let v6 = ip.first().is_some_and(|b| b >> 4 == 6);
        let ethertype: [u8; 2] = if v6 { [0x86, 0xdd] } else { [0x08, 0x00] };
        let mut f = Vec::new();
        match self {
            Link::Ethernet | Link::Vlan | Link::QinQ => {
                f.extend_from_slice(&[2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1]);
                if self == Link::QinQ {
                    f.extend_from_slice(&[0x88, 0xa8, 0x00, 0x64]);
                }
                if self != Link::Ethernet {
                    f.extend_from_slice(&[0x81, 0x00, 0x00, 0x0a]);
                }
                f.extend_from_slice(&ethertype);
            }
            Link::Sll => {
                f.extend_from_slice(&[0, 0, 0, 1, 0, 6, 2, 0, 0, 0, 0, 1, 0, 0]);
                f.extend_from_slice(&ethertype);
            }
            Link::Sll2 => {
                f.extend_from_slice(&ethertype);
                f.extend_from_slice(&[0, 0, 0, 0, 0, 1, 0, 1, 0, 6, 2, 0, 0, 0, 0, 1, 0, 0]);
            }
            Link::Null => {
                let fam: u32 = if v6 { 30 } else { 2 };
                f.extend_from_slice(&fam.to_le_bytes());
            }
            Link::Loop => {
                let fam: u32 = if v6 { 24 } else { 2 };
                f.extend_from_slice(&fam.to_be_bytes());
            }
            Link::Raw => {}
        }
        f.extend_from_slice(ip);
        f
    }
}

// ---------------------------------------------------------------- TCP conversations

/// TCP flags of a built segment.
#[derive(Debug, Clone, Copy, Default)]
pub struct Flags {
    pub syn: bool,
    pub ack: bool,
    pub fin: bool,
    pub rst: bool,
}

impl Flags {
    /// ACK alone.
    pub const ACK: Flags = Flags {
        syn: false,
        ack: true,
        fin: false,
        rst: false,
    };
    /// FIN with ACK.
    pub const FIN_ACK: Flags = Flags {
        fin: true,
        ..Flags::ACK
    };
}

/// A frame as written to a capture.
#[derive(Debug, Clone)]
pub struct Frame {
    pub ts: Timestamp,
    pub linktype: u32,
    pub data: Vec<u8>,
}

impl Frame {
    /// The frame as a source hands it to the pipeline, numbered `number` (1-based).
    pub fn raw(&self, number: u64) -> RawFrame<'_> {
        RawFrame {
            number,
            ts: self.ts,
            linktype: self.linktype,
            caplen: self.data.len() as u32,
            wire_len: self.data.len() as u32,
            data: &self.data,
        }
    }
}

/// Builds an IP+TCP packet.
pub fn tcp_packet(
    src: SocketAddr,
    dst: SocketAddr,
    seq: u32,
    ack: u32,
    flags: Flags,
    payload: &[u8],
) -> Vec<u8> {
    let builder = match (src.ip(), dst.ip()) {
        (IpAddr::V4(s), IpAddr::V4(d)) => PacketBuilder::ipv4(s.octets(), d.octets(), 64),
        (IpAddr::V6(s), IpAddr::V6(d)) => PacketBuilder::ipv6(s.octets(), d.octets(), 64),
        _ => panic!("mixed address families"),
    };
    let mut b = builder.tcp(src.port(), dst.port(), seq, 65000);
    if flags.syn {
        b = b.syn();
    }
    if flags.ack {
        b = b.ack(ack);
    }
    if flags.fin {
        b = b.fin();
    }
    if flags.rst {
        b = b.rst();
    }
    let mut out = Vec::with_capacity(b.size(payload.len()));
    b.write(&mut out, payload).expect("build packet");
    out
}

/// One TCP connection being written, with sequence numbers tracked per side.
#[derive(Debug, Clone)]
pub struct Conversation {
    pub client: SocketAddr,
    pub server: SocketAddr,
    pub link: Link,
    pub client_seq: u32,
    pub server_seq: u32,
    pub now: i64,
    pub frames: Vec<Frame>,
}

impl Conversation {
    /// A conversation with chosen initial sequence numbers.
    pub fn new(
        client: &str,
        server: &str,
        link: Link,
        client_isn: u32,
        server_isn: u32,
    ) -> Conversation {
        Conversation {
            client: client.parse().expect("client addr"),
            server: server.parse().expect("server addr"),
            link,
            client_seq: client_isn,
            server_seq: server_isn,
            now: 1_700_000_000_000_000_000,
            frames: Vec::new(),
        }
    }

    fn push(&mut self, ip: Vec<u8>) {
        self.now += 1_000_000;
        self.frames.push(Frame {
            ts: Timestamp(self.now),
            linktype: self.link.linktype(),
            data: self.link.wrap(&ip),
        });
    }

    /// SYN, SYN-ACK, ACK.
    pub fn handshake(&mut self) {
        let (c, s) = (self.client, self.server);
        let syn = Flags {
            syn: true,
            ..Flags::default()
        };
        self.push(tcp_packet(c, s, self.client_seq, 0, syn, &[]));
        self.client_seq = self.client_seq.wrapping_add(1);
        let synack = Flags {
            syn: true,
            ack: true,
            ..Flags::default()
        };
        self.push(tcp_packet(
            s,
            c,
            self.server_seq,
            self.client_seq,
            synack,
            &[],
        ));
        self.server_seq = self.server_seq.wrapping_add(1);
        let ack = Flags {
            ack: true,
            ..Flags::default()
        };
        self.push(tcp_packet(c, s, self.client_seq, self.server_seq, ack, &[]));
    }

    /// One segment from the client (`from_client`) or the server with `flags` and `data`, at
    /// the sender's next sequence number, which then advances by the data and by one for a FIN.
    fn send(&mut self, from_client: bool, flags: Flags, data: &[u8]) {
        let (src, dst, seq, ack) = if from_client {
            (self.client, self.server, self.client_seq, self.server_seq)
        } else {
            (self.server, self.client, self.server_seq, self.client_seq)
        };
        self.push(tcp_packet(src, dst, seq, ack, flags, data));
        let advance = data.len() as u32 + u32::from(flags.fin);
        let next = if from_client {
            &mut self.client_seq
        } else {
            &mut self.server_seq
        };
        *next = next.wrapping_add(advance);
    }

    /// Client sends bytes in one segment.
    pub fn client_sends(&mut self, data: &[u8]) {
        self.send(true, Flags::ACK, data);
    }

    /// Server sends bytes in one segment.
    pub fn server_sends(&mut self, data: &[u8]) {
        self.send(false, Flags::ACK, data);
    }

    /// Client sends a segment at an explicit sequence number without advancing (for reorder
    /// and retransmission tests); `ack` false leaves the ACK flag off.
    pub fn client_segment_at(&mut self, seq: u32, data: &[u8], ack: bool) {
        let flags = Flags {
            ack,
            ..Flags::default()
        };
        self.push(tcp_packet(
            self.client,
            self.server,
            seq,
            self.server_seq,
            flags,
            data,
        ));
    }

    /// Client's bytes lost: the sequence advances but nothing is captured.
    pub fn client_loses(&mut self, len: usize) {
        self.client_seq = self.client_seq.wrapping_add(len as u32);
    }

    /// FIN from the server, then from the client.
    pub fn server_closes_first(&mut self) {
        self.send(false, Flags::FIN_ACK, &[]);
        self.send(true, Flags::FIN_ACK, &[]);
    }

    /// RST from the server.
    pub fn server_resets(&mut self) {
        let rst = Flags {
            rst: true,
            ..Flags::ACK
        };
        self.send(false, rst, &[]);
    }

    /// FIN from both sides, the client's first.
    pub fn close(&mut self) {
        self.send(true, Flags::FIN_ACK, &[]);
        self.send(false, Flags::FIN_ACK, &[]);
    }
}

// ---------------------------------------------------------------- capture files

/// Writes a classic pcap: microsecond or nanosecond, little- or big-endian.
pub fn write_pcap(frames: &[Frame], nanos: bool, big_endian: bool) -> Vec<u8> {
    let linktype = frames.first().map(|f| f.linktype).unwrap_or(1);
    let u32b = |v: u32| {
        if big_endian {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        }
    };
    let u16b = |v: u16| {
        if big_endian {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        }
    };
    let magic: u32 = if nanos { 0xa1b2_3c4d } else { 0xa1b2_c3d4 };
    let mut out = Vec::new();
    out.extend_from_slice(&u32b(magic));
    out.extend_from_slice(&u16b(2));
    out.extend_from_slice(&u16b(4));
    out.extend_from_slice(&u32b(0));
    out.extend_from_slice(&u32b(0));
    out.extend_from_slice(&u32b(262_144));
    out.extend_from_slice(&u32b(linktype));
    for f in frames {
        let secs = (f.ts.0 / 1_000_000_000) as u32;
        let sub = (f.ts.0 % 1_000_000_000) as u32;
        let sub = if nanos { sub } else { sub / 1000 };
        out.extend_from_slice(&u32b(secs));
        out.extend_from_slice(&u32b(sub));
        out.extend_from_slice(&u32b(f.data.len() as u32));
        out.extend_from_slice(&u32b(f.data.len() as u32));
        out.extend_from_slice(&f.data);
    }
    out
}

fn ng_block(kind: u32, body: &[u8]) -> Vec<u8> {
    let pad = (4 - body.len() % 4) % 4;
    let total = (12 + body.len() + pad) as u32;
    let mut b = kind.to_le_bytes().to_vec();
    b.extend_from_slice(&total.to_le_bytes());
    b.extend_from_slice(body);
    b.extend(std::iter::repeat_n(0u8, pad));
    b.extend_from_slice(&total.to_le_bytes());
    b
}

/// Writes a pcapng with one interface per distinct link type (in order of first use), a
/// name-resolution block and a custom block that readers must skip.
pub fn write_pcapng(frames: &[Frame]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut shb = 0x1a2b_3c4d_u32.to_le_bytes().to_vec();
    shb.extend_from_slice(&1u16.to_le_bytes());
    shb.extend_from_slice(&0u16.to_le_bytes());
    shb.extend_from_slice(&(-1i64).to_le_bytes());
    out.extend(ng_block(0x0a0d_0d0a, &shb));
    let mut interfaces: Vec<u32> = Vec::new();
    for f in frames {
        if !interfaces.contains(&f.linktype) {
            interfaces.push(f.linktype);
        }
    }
    for lt in &interfaces {
        let mut idb = (*lt as u16).to_le_bytes().to_vec();
        idb.extend_from_slice(&0u16.to_le_bytes());
        idb.extend_from_slice(&262_144u32.to_le_bytes());
        // if_tsresol = 9 (nanoseconds), then opt_endofopt.
        idb.extend_from_slice(&[9, 0, 1, 0, 9, 0, 0, 0, 0, 0, 0, 0]);
        out.extend(ng_block(1, &idb));
    }
    // Name resolution block: one IPv4 record, then end of records.
    let mut nrb = vec![1, 0, 8, 0, 10, 0, 0, 1, b'h', b'o', b's', 0];
    nrb.extend_from_slice(&[0, 0, 0, 0]);
    out.extend(ng_block(4, &nrb));
    // A custom block (0x00000BAD) with a private enterprise number.
    out.extend(ng_block(0x0000_0bad, &[0, 0, 0x7f, 0xff, 1, 2, 3, 4]));
    for f in frames {
        let if_id = interfaces
            .iter()
            .position(|l| *l == f.linktype)
            .unwrap_or(0) as u32;
        let ts = f.ts.0 as u64;
        let mut epb = if_id.to_le_bytes().to_vec();
        epb.extend_from_slice(&((ts >> 32) as u32).to_le_bytes());
        epb.extend_from_slice(&(ts as u32).to_le_bytes());
        epb.extend_from_slice(&(f.data.len() as u32).to_le_bytes());
        epb.extend_from_slice(&(f.data.len() as u32).to_le_bytes());
        epb.extend_from_slice(&f.data);
        let pad = (4 - f.data.len() % 4) % 4;
        epb.extend(std::iter::repeat_n(0u8, pad));
        out.extend(ng_block(6, &epb));
    }
    out
}

// ---------------------------------------------------------------- recording events

/// An owned copy of a [`StreamEvent`].
#[derive(Debug, Clone, PartialEq)]
pub enum Rec {
    Opened(ConnectionOpened),
    Packet {
        stream: u32,
        dir: Direction,
        first_frame: u64,
        frame: u64,
        offset: u64,
        tcp_seq: Option<u32>,
        bytes: Vec<u8>,
        packet_len: u64,
        truncated: bool,
    },
    Gap(GapEvent),
    Issue(TransportIssue),
    Tls(TlsMetadata),
    Closed(ConnectionClosed),
}

/// Collects events.
#[derive(Debug, Default)]
pub struct Recorder {
    pub events: Vec<Rec>,
    pub frames_seen: u64,
}

impl dissector::input::EventSink for Recorder {
    fn event(&mut self, event: StreamEvent<'_>) {
        let rec = match event {
            StreamEvent::Opened(o) => Rec::Opened(o),
            StreamEvent::Frame(_) => {
                self.frames_seen += 1;
                return;
            }
            StreamEvent::Packet(p) => Rec::Packet {
                stream: p.stream,
                dir: p.dir,
                first_frame: p.first_frame,
                frame: p.frame,
                offset: p.stream_offset,
                tcp_seq: p.tcp_seq,
                bytes: p.bytes.to_vec(),
                packet_len: p.packet_len,
                truncated: p.truncated,
            },
            StreamEvent::Gap(g) => Rec::Gap(g),
            StreamEvent::Issue(i) => Rec::Issue(i),
            StreamEvent::Tls(t) => Rec::Tls(t),
            StreamEvent::Closed(c) => Rec::Closed(c),
        };
        self.events.push(rec);
    }
}

impl Recorder {
    /// Packet bytes of one stream and direction, in order.
    pub fn packets(&self, stream: u32, dir: Direction) -> Vec<Vec<u8>> {
        self.events
            .iter()
            .filter_map(|e| match e {
                Rec::Packet {
                    stream: s,
                    dir: d,
                    bytes,
                    ..
                } if *s == stream && *d == dir => Some(bytes.clone()),
                _ => None,
            })
            .collect()
    }

    /// All packets' first bytes' types, in event order.
    pub fn types(&self) -> Vec<u8> {
        self.events
            .iter()
            .filter_map(|e| match e {
                Rec::Packet { bytes, .. } => bytes.first().map(|b| b >> 4),
                _ => None,
            })
            .collect()
    }

    /// Issues of a kind.
    pub fn issues(&self, kind: dissector::input::TransportIssueKind) -> Vec<&TransportIssue> {
        self.events
            .iter()
            .filter_map(|e| match e {
                Rec::Issue(i) if i.kind == kind => Some(i),
                _ => None,
            })
            .collect()
    }

    /// Gap events.
    pub fn gaps(&self) -> Vec<&GapEvent> {
        self.events
            .iter()
            .filter_map(|e| match e {
                Rec::Gap(g) => Some(g),
                _ => None,
            })
            .collect()
    }

    /// Opened events.
    pub fn opened(&self) -> Vec<&ConnectionOpened> {
        self.events
            .iter()
            .filter_map(|e| match e {
                Rec::Opened(o) => Some(o),
                _ => None,
            })
            .collect()
    }
}

/// Feeds frames straight into a pipeline (no file) and returns what it reported.
pub fn run_frames(frames: &[Frame], config: PipelineConfig) -> (Recorder, capture::CaptureSummary) {
    let mut pipeline = Pipeline::new(config);
    let mut rec = Recorder::default();
    for (i, f) in frames.iter().enumerate() {
        pipeline.push_frame(&f.raw(i as u64 + 1), &mut rec);
    }
    let summary = pipeline.finish(&mut rec);
    (rec, summary)
}

/// Runs a capture held in memory through `run_file` (via a temporary file).
pub fn run_bytes(
    bytes: &[u8],
    config: PipelineConfig,
) -> (
    Recorder,
    Result<capture::CaptureSummary, capture::CaptureError>,
) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("capture.bin");
    std::fs::write(&path, bytes).expect("write capture");
    let mut pipeline = Pipeline::new(config);
    let mut rec = Recorder::default();
    let result = pipeline.run_file(&path, &mut rec, None);
    (rec, result)
}

/// A standard short MQTT session: CONNECT/CONNACK, SUBSCRIBE, PUBLISH QoS 1 + PUBACK, PING,
/// DISCONNECT. Returns (client packets, server packets).
pub fn standard_session(conv: &mut Conversation) -> (Vec<Vec<u8>>, Vec<Vec<u8>>) {
    let c = [
        connect("dev-1"),
        subscribe(1, "a/#"),
        publish("a/b", b"hello", 1, 7),
        pingreq(),
        disconnect(),
    ];
    let s = [connack(), packet(0x90, &[0, 1, 1]), puback(7), pingresp()];
    conv.handshake();
    conv.client_sends(&c[0]);
    conv.server_sends(&s[0]);
    conv.client_sends(&c[1]);
    conv.server_sends(&s[1]);
    conv.client_sends(&c[2]);
    conv.server_sends(&s[2]);
    conv.client_sends(&c[3]);
    conv.server_sends(&s[3]);
    conv.client_sends(&c[4]);
    conv.close();
    (c.to_vec(), s.to_vec())
}
