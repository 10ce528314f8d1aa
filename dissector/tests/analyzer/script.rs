//! A scripted capture: the events a capture layer would send, built step by step.

use dissector::analyze::{Analyzer, AnalyzerConfig};
use dissector::input::*;
use dissector::model::{AnomalyCode, Trace};

/// One owned event (the real ones borrow their bytes).
#[derive(Debug, Clone)]
pub enum Ev {
    Open(ConnectionOpened),
    Packet {
        stream: u32,
        dir: Direction,
        ts: Timestamp,
        frame: u64,
        offset: u64,
        bytes: Vec<u8>,
        packet_len: u64,
        truncated: bool,
    },
    Gap(GapEvent),
    Issue(TransportIssue),
    Frame(FrameSeen),
    Close(ConnectionClosed),
}

/// Builds events with a running clock (1 ms per packet unless set) and frame counter.
#[derive(Debug, Clone)]
pub struct Script {
    pub events: Vec<Ev>,
    pub now: i64,
    pub frame: u64,
    offsets: std::collections::HashMap<(u32, bool), u64>,
}

pub const MS: i64 = 1_000_000;

/// The TCP sequence number of stream offset 0 per direction: the client's wraps around 2^32
/// after 256 bytes, as real initial sequence numbers may.
pub fn isn(dir: Direction) -> u32 {
    match dir {
        Direction::ToBroker => 0xffff_ff00,
        Direction::ToClient => 1_000,
    }
}
pub const SEC: i64 = 1_000_000_000;

impl Script {
    /// One connection (stream 0) opened with a handshake at t = 0.
    pub fn new() -> Script {
        Script::with_roles(RoleSource::Handshake)
    }

    /// One connection (stream 0) whose roles came from `roles`.
    pub fn with_roles(roles: RoleSource) -> Script {
        let mut s = Script {
            events: Vec::new(),
            now: 0,
            frame: 0,
            offsets: Default::default(),
        };
        s.open(0, roles);
        s
    }

    /// Opens another stream.
    pub fn open(&mut self, stream: u32, roles: RoleSource) -> &mut Script {
        self.frame += 1;
        let port = 50000 + stream as u16;
        self.events.push(Ev::Open(ConnectionOpened {
            stream,
            client: format!("10.0.0.1:{port}").parse().unwrap(),
            broker: "10.0.0.2:1883".parse().unwrap(),
            transport: Transport::Tcp,
            roles_from: roles,
            ts: Timestamp(self.now),
            frame: self.frame,
        }));
        self
    }

    /// Moves the clock to `nanos`.
    pub fn at(&mut self, nanos: i64) -> &mut Script {
        self.now = nanos;
        self
    }

    /// Advances the clock by `nanos`.
    pub fn wait(&mut self, nanos: i64) -> &mut Script {
        self.now += nanos;
        self
    }

    /// A packet on `stream` in `dir`.
    pub fn send(&mut self, stream: u32, dir: Direction, bytes: Vec<u8>) -> &mut Script {
        self.now += MS;
        self.frame += 1;
        let key = (stream, dir == Direction::ToBroker);
        let offset = *self.offsets.get(&key).unwrap_or(&0);
        self.offsets.insert(key, offset + bytes.len() as u64);
        let packet_len = bytes.len() as u64;
        self.events.push(Ev::Packet {
            stream,
            dir,
            ts: Timestamp(self.now),
            frame: self.frame,
            offset,
            bytes,
            packet_len,
            truncated: false,
        });
        self
    }

    /// Client → broker on stream 0.
    pub fn c(&mut self, bytes: impl Into<Vec<u8>>) -> &mut Script {
        self.send(0, Direction::ToBroker, bytes.into())
    }

    /// Broker → client on stream 0.
    pub fn b(&mut self, bytes: impl Into<Vec<u8>>) -> &mut Script {
        self.send(0, Direction::ToClient, bytes.into())
    }

    /// A truncated packet: only `keep` bytes of `bytes` were kept.
    pub fn truncated(&mut self, dir: Direction, bytes: Vec<u8>, keep: usize) -> &mut Script {
        // As the capture layer does: the over-limit issue comes first, when skipping starts.
        self.frame += 1;
        self.events.push(Ev::Issue(TransportIssue {
            stream: Some(0),
            dir: Some(dir),
            ts: Timestamp(self.now),
            frame: self.frame,
            kind: TransportIssueKind::PayloadOverLimit,
            detail: format!("packet of {} bytes is over the payload limit", bytes.len()),
        }));
        self.cut_by_gap(dir, bytes, keep)
    }

    /// A packet whose middle was lost: delivered truncated without an over-limit announcement.
    pub fn cut_by_gap(&mut self, dir: Direction, bytes: Vec<u8>, keep: usize) -> &mut Script {
        self.now += MS;
        self.frame += 1;
        let packet_len = bytes.len() as u64;
        let kept = bytes[..keep].to_vec();
        self.events.push(Ev::Packet {
            stream: 0,
            dir,
            ts: Timestamp(self.now),
            frame: self.frame,
            offset: 0,
            bytes: kept,
            packet_len,
            truncated: true,
        });
        self
    }

    /// A gap on stream 0.
    pub fn gap(&mut self, dir: Direction, missing: u64, resync_skipped: u64) -> &mut Script {
        self.frame += 1;
        self.events.push(Ev::Gap(GapEvent {
            stream: 0,
            dir,
            ts: Timestamp(self.now),
            frame: self.frame,
            missing,
            resync_skipped,
        }));
        self
    }

    /// A transport issue on stream 0.
    pub fn issue(&mut self, kind: TransportIssueKind, detail: &str) -> &mut Script {
        self.frame += 1;
        self.events.push(Ev::Issue(TransportIssue {
            stream: Some(0),
            dir: Some(Direction::ToBroker),
            ts: Timestamp(self.now),
            frame: self.frame,
            kind,
            detail: detail.to_owned(),
        }));
        self
    }

    /// A frame seen on stream 0 with its wire and payload lengths.
    pub fn wire(&mut self, dir: Direction, wire_len: u32, tcp_payload_len: u32) -> &mut Script {
        self.events.push(Ev::Frame(FrameSeen {
            stream: 0,
            dir,
            frame: self.frame,
            ts: Timestamp(self.now),
            wire_len,
            tcp_payload_len,
        }));
        self
    }

    /// Closes `stream` without saying which side did.
    pub fn close(&mut self, stream: u32, how: CloseHow) -> &mut Script {
        self.close_from(stream, how, None)
    }

    /// Closes `stream`, ended by the sender of direction `by` (first FIN or RST).
    pub fn close_from(&mut self, stream: u32, how: CloseHow, by: Option<Direction>) -> &mut Script {
        self.now += MS;
        self.frame += 1;
        self.events.push(Ev::Close(ConnectionClosed {
            stream,
            ts: Timestamp(self.now),
            frame: self.frame,
            how,
            by,
        }));
        self
    }

    /// Feeds every event into `a`.
    pub fn feed(&self, a: &mut Analyzer) {
        for e in &self.events {
            let ev = match e {
                Ev::Open(o) => StreamEvent::Opened(o.clone()),
                Ev::Packet {
                    stream,
                    dir,
                    ts,
                    frame,
                    offset,
                    bytes,
                    packet_len,
                    truncated,
                } => StreamEvent::Packet(MqttBytes {
                    stream: *stream,
                    dir: *dir,
                    ts: *ts,
                    first_frame: *frame,
                    frame: *frame,
                    stream_offset: *offset,
                    tcp_seq: Some(isn(*dir).wrapping_add(*offset as u32)),
                    bytes,
                    packet_len: *packet_len,
                    truncated: *truncated,
                }),
                Ev::Gap(g) => StreamEvent::Gap(g.clone()),
                Ev::Issue(i) => StreamEvent::Issue(i.clone()),
                Ev::Frame(f) => StreamEvent::Frame(*f),
                Ev::Close(c) => StreamEvent::Closed(c.clone()),
            };
            a.event(ev);
        }
    }

    /// Runs the script through an analyzer with `config`, ending one second after the last event.
    pub fn run_with(&self, config: AnalyzerConfig) -> Trace {
        let mut a = Analyzer::new(config);
        self.feed(&mut a);
        a.finish(Timestamp(self.now + SEC))
    }

    /// Runs with the default configuration.
    pub fn run(&self) -> Trace {
        self.run_with(AnalyzerConfig::default())
    }
}

/// How many anomalies of `code`.
pub fn count(trace: &Trace, code: AnomalyCode) -> usize {
    trace.anomalies.iter().filter(|a| a.code == code).count()
}
