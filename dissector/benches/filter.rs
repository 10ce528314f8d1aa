//! Display-filter cost: parsing, and evaluation over every packet of a synthetic trace built by
//! the real analyzer (200 connections, 100 000 packets). `cargo bench -p dissector --bench filter`.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use dissector::analyze::{Analyzer, AnalyzerConfig};
use dissector::filter::Filter;
use dissector::input::*;
use dissector::model::Trace;
use std::hint::black_box;

/// A packet: first byte, then the remaining length (one byte: every body here is < 128) and body.
fn packet(first: u8, body: &[u8]) -> Vec<u8> {
    let mut out = vec![first, body.len() as u8];
    out.extend_from_slice(body);
    out
}

fn string(s: &str) -> Vec<u8> {
    let mut out = (s.len() as u16).to_be_bytes().to_vec();
    out.extend_from_slice(s.as_bytes());
    out
}

/// `conns` MQTT 3.1.1 connections, each publishing QoS 1 messages (PUBLISH + PUBACK) on 50
/// topics until the trace holds about `packets` packets.
fn trace(conns: u32, packets: u32) -> Trace {
    let mut analyzer = Analyzer::new(AnalyzerConfig::default());
    let mut frame = 0u64;
    let mut send = |analyzer: &mut Analyzer, stream: u32, dir: Direction, bytes: &[u8]| {
        frame += 1;
        analyzer.event(StreamEvent::Packet(MqttBytes {
            stream,
            dir,
            ts: Timestamp(frame as i64 * 100_000),
            first_frame: frame,
            frame,
            stream_offset: 0,
            tcp_seq: None,
            bytes,
            packet_len: bytes.len() as u64,
            truncated: false,
        }));
    };
    for c in 0..conns {
        analyzer.event(StreamEvent::Opened(ConnectionOpened {
            stream: c,
            client: format!("10.0.{}.{}:50000", c / 250, c % 250 + 1)
                .parse()
                .unwrap(),
            broker: "10.255.0.1:1883".parse().unwrap(),
            transport: Transport::Tcp,
            roles_from: RoleSource::Handshake,
            ts: Timestamp(0),
            frame: 0,
        }));
        let mut connect = string("MQTT");
        connect.extend_from_slice(&[4, 0x02, 0, 60]);
        connect.extend(string(&format!("client-{c}")));
        send(
            &mut analyzer,
            c,
            Direction::ToBroker,
            &packet(0x10, &connect),
        );
        send(
            &mut analyzer,
            c,
            Direction::ToClient,
            &packet(0x20, &[0, 0]),
        );
    }
    for i in 0..packets / 2 {
        let stream = i % conns;
        let id = (i / conns % 65_535 + 1) as u16;
        let mut publish = string(&format!("sensors/{}/temp", i % 50));
        publish.extend_from_slice(&id.to_be_bytes());
        publish.extend_from_slice(b"21.5");
        send(
            &mut analyzer,
            stream,
            Direction::ToBroker,
            &packet(0x32, &publish),
        );
        send(
            &mut analyzer,
            stream,
            Direction::ToClient,
            &packet(0x40, &id.to_be_bytes()),
        );
    }
    analyzer.finish(Timestamp(i64::MAX / 2))
}

const FILTERS: &[(&str, &str)] = &[
    ("msgtype", "mqtt.msgtype == PUBLISH"),
    (
        "and_or",
        "mqtt.qos >= 1 && (tcp.port == 1883 || ip.addr == 10.0.0.0/8) && !mqscope.anomaly",
    ),
    (
        "set",
        "mqtt.msgtype in {PUBACK PUBREC PUBCOMP} || tcp.stream in {1..20}",
    ),
    ("contains", "mqtt.topic contains \"/4\""),
    ("matches", "mqtt.topic matches \"^sensors/4[0-9]/\""),
    ("clientid", "mqtt.clientid == \"client-7\""),
    ("latency", "mqscope.latency > 1 || mqscope.incomplete"),
];

fn bench(c: &mut Criterion) {
    let trace = trace(200, 100_000);
    let mut group = c.benchmark_group("filter_eval");
    group.throughput(Throughput::Elements(trace.packets.len() as u64));
    for (name, text) in FILTERS {
        let filter = Filter::parse(text).unwrap();
        group.bench_function(*name, |b| {
            b.iter(|| black_box(filter.matching_packets(black_box(&trace)).len()))
        });
    }
    group.finish();
    let mut parse = c.benchmark_group("filter_parse");
    for (name, text) in FILTERS {
        parse.bench_function(*name, |b| {
            b.iter(|| Filter::parse(black_box(text)).map(|f| f.is_all()))
        });
    }
    parse.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
