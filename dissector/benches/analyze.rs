//! Analyzer throughput over a synthetic capture, against decoding alone (what the pipeline does
//! without analysis). `cargo bench -p dissector --bench analyze`; figures in docs/perf-model.md.

use criterion::{Criterion, Throughput, criterion_group};
use dissector::analyze::{Analyzer, AnalyzerConfig};
use dissector::codec::{self, ProtocolVersion};
use dissector::input::*;
use std::hint::black_box;

/// One owned packet event.
struct Pkt {
    stream: u32,
    dir: Direction,
    ts: i64,
    frame: u64,
    bytes: Vec<u8>,
}

fn pkt(first: u8, body: &[u8]) -> Vec<u8> {
    let mut out = vec![first];
    let mut len = body.len();
    loop {
        let mut b = (len % 128) as u8;
        len /= 128;
        if len > 0 {
            b |= 0x80;
        }
        out.push(b);
        if len == 0 {
            break;
        }
    }
    out.extend_from_slice(body);
    out
}

fn string(s: &[u8]) -> Vec<u8> {
    let mut out = (s.len() as u16).to_be_bytes().to_vec();
    out.extend_from_slice(s);
    out
}

/// `conns` MQTT 3.1.1 connections interleaved; each publishes `per_conn` messages cycling
/// through QoS 0, 1 and 2 (with their acks) on 50 topics, with a PINGREQ every 20 messages.
fn synthetic(conns: u32, per_conn: u32) -> Vec<Pkt> {
    let mut out = Vec::new();
    let mut ts = 0i64;
    let mut frame = 0u64;
    let mut push = |out: &mut Vec<Pkt>, stream, dir, bytes| {
        ts += 50_000;
        frame += 1;
        out.push(Pkt {
            stream,
            dir,
            ts,
            frame,
            bytes,
        });
    };
    for c in 0..conns {
        let mut body = string(b"MQTT");
        body.extend_from_slice(&[4, 0x02, 0, 60]);
        body.extend(string(format!("client-{c}").as_bytes()));
        push(&mut out, c, Direction::ToBroker, pkt(0x10, &body));
        push(&mut out, c, Direction::ToClient, pkt(0x20, &[0, 0]));
    }
    let payload = [0x42u8; 64];
    for i in 0..per_conn {
        for c in 0..conns {
            let topic = format!("site/{}/sensor/{}", c % 10, i % 50);
            let qos = (i % 3) as u8;
            let id = ((i % 60_000) + 1) as u16;
            let mut body = string(topic.as_bytes());
            if qos > 0 {
                body.extend_from_slice(&id.to_be_bytes());
            }
            body.extend_from_slice(&payload);
            push(
                &mut out,
                c,
                Direction::ToBroker,
                pkt(0x30 | (qos << 1), &body),
            );
            let idb = id.to_be_bytes();
            match qos {
                1 => push(&mut out, c, Direction::ToClient, pkt(0x40, &idb)),
                2 => {
                    push(&mut out, c, Direction::ToClient, pkt(0x50, &idb));
                    push(&mut out, c, Direction::ToBroker, pkt(0x62, &idb));
                    push(&mut out, c, Direction::ToClient, pkt(0x70, &idb));
                }
                _ => {}
            }
            if i % 20 == 19 {
                push(&mut out, c, Direction::ToBroker, vec![0xc0, 0]);
                push(&mut out, c, Direction::ToClient, vec![0xd0, 0]);
            }
        }
    }
    out
}

fn feed(a: &mut Analyzer, packets: &[Pkt], conns: u32) {
    for c in 0..conns {
        a.event(StreamEvent::Opened(ConnectionOpened {
            stream: c,
            client: std::net::SocketAddr::from(([10, 0, (c >> 8) as u8, c as u8], 40000)),
            broker: std::net::SocketAddr::from(([10, 1, 0, 1], 1883)),
            transport: Transport::Tcp,
            roles_from: RoleSource::Handshake,
            ts: Timestamp(0),
            frame: 0,
        }));
    }
    for p in packets {
        a.event(StreamEvent::Packet(MqttBytes {
            stream: p.stream,
            dir: p.dir,
            ts: Timestamp(p.ts),
            first_frame: p.frame,
            frame: p.frame,
            stream_offset: 0,
            tcp_seq: None,
            bytes: &p.bytes,
            packet_len: p.bytes.len() as u64,
            truncated: false,
        }));
    }
}

fn bench(c: &mut Criterion) {
    const CONNS: u32 = 100;
    let packets = synthetic(CONNS, 1000);
    let mut g = c.benchmark_group("analyze");
    g.throughput(Throughput::Elements(packets.len() as u64));
    g.sample_size(10);
    g.bench_function("decode_only", |b| {
        b.iter(|| {
            for p in &packets {
                let _ = black_box(codec::decode(black_box(&p.bytes), ProtocolVersion::V3_1_1));
            }
        })
    });
    g.bench_function("analyze_retained", |b| {
        b.iter(|| {
            let mut a = Analyzer::new(AnalyzerConfig::default());
            feed(&mut a, &packets, CONNS);
            black_box(a.finish(Timestamp(i64::MAX / 2)))
        })
    });
    g.bench_function("analyze_streaming", |b| {
        b.iter(|| {
            let mut a = Analyzer::new(AnalyzerConfig::streaming());
            feed(&mut a, &packets, CONNS);
            black_box(a.finish(Timestamp(i64::MAX / 2)))
        })
    });
    g.finish();
}

criterion_group!(benches, bench);

/// `MQSCOPE_ANALYZE_ONCE=decode|streaming|retained` runs that workload exactly once and exits,
/// without criterion: a fixed amount of work whose instruction count `valgrind --tool=callgrind`
/// reports repeatably on a loaded machine (see docs/perf-model.md).
fn main() {
    if let Ok(mode) = std::env::var("MQSCOPE_ANALYZE_ONCE") {
        const CONNS: u32 = 100;
        let packets = synthetic(CONNS, 1000);
        match mode.as_str() {
            "decode" => {
                for p in &packets {
                    let _ = black_box(codec::decode(black_box(&p.bytes), ProtocolVersion::V3_1_1));
                }
            }
            "streaming" | "retained" => {
                let config = if mode == "streaming" {
                    AnalyzerConfig::streaming()
                } else {
                    AnalyzerConfig::default()
                };
                let mut a = Analyzer::new(config);
                feed(&mut a, &packets, CONNS);
                black_box(a.finish(Timestamp(i64::MAX / 2)));
            }
            // Building the stream only: subtracted from the other modes' counts.
            "none" => {
                black_box(&packets);
            }
            other => eprintln!("MQSCOPE_ANALYZE_ONCE: unknown mode {other:?}"),
        }
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
