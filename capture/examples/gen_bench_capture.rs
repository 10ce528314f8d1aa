//! Writes a large synthetic multi-connection MQTT capture for benchmarks.
//!
//! `gen_bench_capture OUT.pcap SIZE_MB [CONNECTIONS] [SEED] [small]`
//!
//! Mixed MQTT 3.1 / 3.1.1 / 5.0 sessions on port 1883, PUBLISH QoS 0/1/2 with their
//! acknowledgement flows, payloads from a few bytes to 64 KiB, pings; the byte streams are cut
//! into TCP segments at random points, so segments carry several packets and packets (fixed
//! headers included) are split across segments. Prints the number of MQTT packets written.
//! With `small`, every payload is 8–127 bytes (telemetry-sized): many more packets per byte,
//! for measuring per-packet costs such as exporting ten million packet rows.

use std::collections::VecDeque;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::process::ExitCode;

/// xorshift64*: deterministic, dependency-free.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

fn varint(mut v: usize, out: &mut Vec<u8>) {
    loop {
        let mut b = (v % 128) as u8;
        v /= 128;
        if v > 0 {
            b |= 0x80;
        }
        out.push(b);
        if v == 0 {
            return;
        }
    }
}

fn packet(first: u8, body: &[u8], out: &mut Vec<u8>) {
    out.push(first);
    varint(body.len(), out);
    out.extend_from_slice(body);
}

fn mqtt_string(s: &[u8], out: &mut Vec<u8>) {
    out.extend_from_slice(&(s.len() as u16).to_be_bytes());
    out.extend_from_slice(s);
}

/// A reply the other side sends once this side's bytes up to `at` are on the wire: the first
/// of `steps` is queued on the other side, the rest follow as replies to it in turn (QoS 2:
/// PUBLISH → PUBREC → PUBREL → PUBCOMP).
struct Reply {
    at: u64,
    steps: Vec<Vec<u8>>,
}

/// One side's pending bytes and sequence number.
struct Side {
    seq: u32,
    queue: VecDeque<u8>,
    /// Bytes this side has sent (its stream offset).
    sent: u64,
    /// Bytes ever queued on this side (the offset where the next queued packet ends).
    queued: u64,
    /// Replies waiting for this side's bytes to be sent, in offset order.
    replies: VecDeque<Reply>,
}

impl Side {
    fn new(seq: u32) -> Side {
        Side {
            seq,
            queue: VecDeque::new(),
            sent: 0,
            queued: 0,
            replies: VecDeque::new(),
        }
    }

    /// Queues `bytes`; returns the stream offset where they end.
    fn push(&mut self, bytes: &[u8]) -> u64 {
        self.queue.extend(bytes.iter());
        self.queued += bytes.len() as u64;
        self.queued
    }

    /// Queues a packet the other side answers with `steps` once it has been sent.
    fn push_request(&mut self, bytes: &[u8], steps: Vec<Vec<u8>>) {
        let at = self.push(bytes);
        if !steps.is_empty() {
            self.replies.push_back(Reply { at, steps });
        }
    }
}

/// Moves the replies `from`'s sent bytes have released onto `to`'s queue.
fn release_replies(from: &mut Side, to: &mut Side) {
    while from.replies.front().is_some_and(|r| r.at <= from.sent) {
        let Some(mut reply) = from.replies.pop_front() else {
            break;
        };
        let first = reply.steps.remove(0);
        to.push_request(&first, reply.steps);
    }
}

struct Conn {
    client: ([u8; 4], u16),
    server: ([u8; 4], u16),
    version: u8,
    c: Side,
    s: Side,
    next_id: u16,
    publishes_left: u32,
    /// Index of this device's topic family (`site/S/dev/D/…`).
    device: u32,
    disconnect_sent: bool,
    /// Length of the CONNACK, the server's first bytes.
    connack_len: u64,
    open: bool,
}

struct Writer<W: Write> {
    out: W,
    ts_us: u64,
    frames: u64,
    bytes: u64,
}

impl<W: Write> Writer<W> {
    fn header(&mut self) -> std::io::Result<()> {
        let mut h = Vec::new();
        h.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
        h.extend_from_slice(&2u16.to_le_bytes());
        h.extend_from_slice(&4u16.to_le_bytes());
        h.extend_from_slice(&[0; 8]);
        h.extend_from_slice(&262_144u32.to_le_bytes());
        h.extend_from_slice(&1u32.to_le_bytes());
        self.out.write_all(&h)
    }

    #[allow(clippy::too_many_arguments)]
    fn segment(
        &mut self,
        src: ([u8; 4], u16),
        dst: ([u8; 4], u16),
        seq: u32,
        ack: u32,
        flags: u8,
        payload: &[u8],
    ) -> std::io::Result<()> {
        self.ts_us += 7;
        let total = 14 + 20 + 20 + payload.len();
        let mut f = Vec::with_capacity(total + 16);
        f.extend_from_slice(&((self.ts_us / 1_000_000) as u32 + 1_700_000_000).to_le_bytes());
        f.extend_from_slice(&((self.ts_us % 1_000_000) as u32).to_le_bytes());
        f.extend_from_slice(&(total as u32).to_le_bytes());
        f.extend_from_slice(&(total as u32).to_le_bytes());
        f.extend_from_slice(&[2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 0x08, 0x00]);
        let ip_start = f.len();
        f.extend_from_slice(&[0x45, 0]);
        f.extend_from_slice(&((20 + 20 + payload.len()) as u16).to_be_bytes());
        f.extend_from_slice(&[0, 0, 0x40, 0, 64, 6, 0, 0]);
        f.extend_from_slice(&src.0);
        f.extend_from_slice(&dst.0);
        // IPv4 header checksum (RFC 791).
        let mut sum: u32 = 0;
        for pair in f[ip_start..ip_start + 20].chunks(2) {
            sum += u32::from(u16::from_be_bytes([pair[0], pair[1]]));
        }
        while sum > 0xffff {
            sum = (sum & 0xffff) + (sum >> 16);
        }
        let csum = !(sum as u16);
        f[ip_start + 10..ip_start + 12].copy_from_slice(&csum.to_be_bytes());
        f.extend_from_slice(&src.1.to_be_bytes());
        f.extend_from_slice(&dst.1.to_be_bytes());
        f.extend_from_slice(&seq.to_be_bytes());
        f.extend_from_slice(&ack.to_be_bytes());
        f.extend_from_slice(&[0x50, flags, 0xff, 0xff, 0, 0, 0, 0]);
        f.extend_from_slice(payload);
        self.out.write_all(&f)?;
        self.frames += 1;
        self.bytes += f.len() as u64;
        Ok(())
    }
}

const SYN: u8 = 0x02;
const ACK: u8 = 0x10;
const PSH: u8 = 0x08;
const FIN: u8 = 0x01;

fn connect_packet(version: u8, id: &str, out: &mut Vec<u8>) {
    let mut body = Vec::new();
    match version {
        3 => mqtt_string(b"MQIsdp", &mut body),
        _ => mqtt_string(b"MQTT", &mut body),
    }
    body.extend_from_slice(&[version, 0x02, 0, 60]);
    if version == 5 {
        body.extend_from_slice(&[5, 0x11, 0, 0, 0x0e, 0x10]); // session expiry
    }
    mqtt_string(id.as_bytes(), &mut body);
    packet(0x10, &body, out);
}

fn ack_packet(first: u8, id: u16, version: u8, out: &mut Vec<u8>) {
    let mut body = id.to_be_bytes().to_vec();
    if version == 5 {
        body.extend_from_slice(&[0, 0]);
    }
    packet(first, &body, out);
}

/// What a device reports on: a handful of metrics under its own topic prefix, as real fleets
/// do (the topic set grows with the devices, not with the messages).
const METRICS: [&str; 6] = ["temp", "humidity", "status", "power", "fw/progress", "log"];

fn publish_packet(
    rng: &mut Rng,
    small: bool,
    version: u8,
    device: u32,
    qos: u8,
    id: u16,
    out: &mut Vec<u8>,
) {
    let mut body = Vec::new();
    let metric = METRICS[rng.below(METRICS.len() as u64) as usize];
    let topic = format!("site/{}/dev/{device}/{metric}", device % 50);
    mqtt_string(topic.as_bytes(), &mut body);
    if qos > 0 {
        body.extend_from_slice(&id.to_be_bytes());
    }
    if version == 5 {
        body.extend_from_slice(&[2, 0x01, 1]); // payload format indicator
    }
    let size = match rng.below(if small { 60 } else { 100 }) {
        0..=59 => 8 + rng.below(120),
        60..=89 => 128 + rng.below(1800),
        90..=98 => 2000 + rng.below(14_000),
        _ => 16_000 + rng.below(48_000),
    } as usize;
    body.extend((0..size).map(|i| (i as u8).wrapping_mul(7)));
    packet(0x30 | (qos << 1), &body, out);
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(out), Some(size_mb)) = (
        args.first(),
        args.get(1).and_then(|s| s.parse::<u64>().ok()),
    ) else {
        eprintln!("usage: gen_bench_capture OUT.pcap SIZE_MB [CONNECTIONS] [SEED] [small]");
        return ExitCode::from(2);
    };
    let conns_n: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(300);
    let seed: u64 = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(0x5eed);
    let small = args.get(4).is_some_and(|s| s == "small");
    match generate(out, size_mb << 20, conns_n, seed, small) {
        Ok((frames, bytes, packets)) => {
            println!("frames {frames} bytes {bytes} mqtt_packets {packets}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(1)
        }
    }
}

fn generate(
    path: &str,
    target: u64,
    conns_n: usize,
    seed: u64,
    small: bool,
) -> std::io::Result<(u64, u64, u64)> {
    let mut rng = Rng(seed | 1);
    let file = File::create(path)?;
    let mut w = Writer {
        out: BufWriter::with_capacity(1 << 20, file),
        ts_us: 0,
        frames: 0,
        bytes: 0,
    };
    w.header()?;
    let mut packets = 0u64;
    let mut next_port: u32 = 20_000;
    let mut new_conn = |rng: &mut Rng,
                        w: &mut Writer<BufWriter<File>>,
                        packets: &mut u64|
     -> std::io::Result<Conn> {
        next_port += 1;
        let client = (
            [10, 0, (next_port >> 8) as u8, next_port as u8],
            (next_port % 40_000 + 20_000) as u16,
        );
        let server = ([10, 255, 0, 1], 1883);
        let version = [3u8, 4, 4, 5, 5][rng.below(5) as usize];
        let cisn = rng.next() as u32;
        let sisn = rng.next() as u32;
        w.segment(client, server, cisn, 0, SYN, &[])?;
        w.segment(server, client, sisn, cisn.wrapping_add(1), SYN | ACK, &[])?;
        w.segment(
            client,
            server,
            cisn.wrapping_add(1),
            sisn.wrapping_add(1),
            ACK,
            &[],
        )?;
        let mut c = Vec::new();
        connect_packet(version, &format!("dev-{next_port}"), &mut c);
        let mut s = Vec::new();
        packet(
            0x20,
            if version == 5 { &[0, 0, 0] } else { &[0, 0] },
            &mut s,
        );
        *packets += 2;
        let connack_len = s.len() as u64;
        let mut client_side = Side::new(cisn.wrapping_add(1));
        client_side.push_request(&c, vec![s]);
        Ok(Conn {
            client,
            server,
            version,
            c: client_side,
            s: Side::new(sisn.wrapping_add(1)),
            next_id: 1,
            publishes_left: 50 + rng.below(2000) as u32,
            device: rng.below(5000) as u32,
            disconnect_sent: false,
            connack_len,
            open: true,
        })
    };
    let mut conns: Vec<Conn> = Vec::with_capacity(conns_n);
    for _ in 0..conns_n {
        conns.push(new_conn(&mut rng, &mut w, &mut packets)?);
    }
    let mut scratch = Vec::new();
    while w.bytes < target {
        let i = rng.below(conns.len() as u64) as usize;
        let conn = &mut conns[i];
        // Produce traffic when the queues run low. Every reply is queued only once the packet
        // it answers has been sent (see `Reply`), so the capture is causally consistent: acks
        // follow their PUBLISH, PUBREL follows PUBREC, DISCONNECT follows the last reply.
        // (Only after the CONNACK, the server's first bytes, is on the wire: clients wait for it.)
        if conn.c.queue.len() < 3000 && conn.publishes_left > 0 && conn.s.sent >= conn.connack_len {
            let v = conn.version;
            let n = 1 + rng.below(4);
            for _ in 0..n {
                let qos = [0u8, 0, 1, 1, 2][rng.below(5) as usize];
                let id = conn.next_id;
                conn.next_id = conn.next_id.checked_add(1).unwrap_or(1);
                scratch.clear();
                publish_packet(&mut rng, small, v, conn.device, qos, id, &mut scratch);
                let ack = |first: u8| {
                    let mut b = Vec::new();
                    ack_packet(first, id, v, &mut b);
                    b
                };
                let steps = match qos {
                    1 => vec![ack(0x40)],
                    2 => vec![ack(0x50), ack(0x62), ack(0x70)],
                    _ => Vec::new(),
                };
                packets += 1 + steps.len() as u64;
                conn.c.push_request(&scratch, steps);
                // The broker also delivers messages to this client now and then.
                if rng.below(4) == 0 {
                    scratch.clear();
                    publish_packet(&mut rng, small, v, conn.device, 0, 0, &mut scratch);
                    conn.s.push(&scratch);
                    packets += 1;
                }
                conn.publishes_left -= 1;
                if conn.publishes_left == 0 {
                    break;
                }
            }
            if rng.below(20) == 0 {
                conn.c.push_request(&[0xc0, 0x00], vec![vec![0xd0, 0x00]]);
                packets += 2;
            }
        }
        if conn.publishes_left == 0
            && !conn.disconnect_sent
            && conn.c.replies.is_empty()
            && conn.s.replies.is_empty()
            && conn.s.queue.is_empty()
        {
            conn.c.push(&[0xe0, 0x00]);
            conn.disconnect_sent = true;
            packets += 1;
        }
        // Emit one segment from one side: random size, often full MSS, sometimes tiny.
        let from_client = rng.below(3) != 0 || conn.s.queue.is_empty();
        let mss = match rng.below(10) {
            0 => 1 + rng.below(6) as usize,
            1..=3 => 1 + rng.below(1460) as usize,
            _ => 1460,
        };
        let (src, dst, side, other_seq) = if from_client {
            (conn.client, conn.server, &mut conn.c, conn.s.seq)
        } else {
            (conn.server, conn.client, &mut conn.s, conn.c.seq)
        };
        let n = mss.min(side.queue.len());
        if n > 0 {
            let payload: Vec<u8> = side.queue.drain(..n).collect();
            w.segment(src, dst, side.seq, other_seq, ACK | PSH, &payload)?;
            side.seq = side.seq.wrapping_add(n as u32);
            side.sent += n as u64;
        }
        if from_client {
            release_replies(&mut conn.c, &mut conn.s);
        } else {
            release_replies(&mut conn.s, &mut conn.c);
        }
        if conn.disconnect_sent && conn.c.queue.is_empty() && conn.s.queue.is_empty() && conn.open {
            let (c, s) = (conn.client, conn.server);
            w.segment(c, s, conn.c.seq, conn.s.seq, FIN | ACK, &[])?;
            w.segment(s, c, conn.s.seq, conn.c.seq.wrapping_add(1), FIN | ACK, &[])?;
            conn.open = false;
            conns[i] = new_conn(&mut rng, &mut w, &mut packets)?;
        }
    }
    // Drain and close everything so every counted packet is in the file: send both queues
    // until no reply is left to release (each reply can release one more).
    for conn in conns.iter_mut() {
        loop {
            let mut moved = false;
            for from_client in [true, false] {
                let (src, dst, side, other_seq) = if from_client {
                    (conn.client, conn.server, &mut conn.c, conn.s.seq)
                } else {
                    (conn.server, conn.client, &mut conn.s, conn.c.seq)
                };
                while !side.queue.is_empty() {
                    let n = 1460.min(side.queue.len());
                    let payload: Vec<u8> = side.queue.drain(..n).collect();
                    w.segment(src, dst, side.seq, other_seq, ACK | PSH, &payload)?;
                    side.seq = side.seq.wrapping_add(n as u32);
                    side.sent += n as u64;
                    moved = true;
                }
                if from_client {
                    release_replies(&mut conn.c, &mut conn.s);
                } else {
                    release_replies(&mut conn.s, &mut conn.c);
                }
            }
            if !moved {
                if conn.disconnect_sent {
                    break;
                }
                conn.c.push(&[0xe0, 0x00]);
                conn.disconnect_sent = true;
                packets += 1;
            }
        }
        let (c, s) = (conn.client, conn.server);
        w.segment(c, s, conn.c.seq, conn.s.seq, FIN | ACK, &[])?;
        w.segment(s, c, conn.s.seq, conn.c.seq.wrapping_add(1), FIN | ACK, &[])?;
    }
    w.out.flush()?;
    Ok((w.frames, w.bytes + 24, packets))
}
