//! Codec throughput: frame() + decode() over a realistic in-memory stream, one core.
//!
//! The streams are built with the codec's own encoder from a fixed pseudo-random seed, so every
//! run measures the same bytes:
//! - `v311_mixed`: 10,000 packets of an MQTT 3.1.1 connection: 85 % small PUBLISH (QoS 0/1,
//!   telemetry-like topics, 16–256 byte payloads), 2 % large PUBLISH (8–64 KiB), the rest
//!   PUBACK, PINGREQ/PINGRESP, SUBSCRIBE/SUBACK, CONNECT/CONNACK.
//! - `v5_mixed`: the same mix in MQTT 5.0 with properties (topic alias, user property, message
//!   expiry, reason codes).
//! - `v311_small_publish`: small PUBLISH only (the packets/s worst case).
//!
//! Each stream is measured twice: `decode/*` in wall-clock time, `decode_cpu/*` in this
//! thread's CPU time (see [`ThreadCpuTime`]).
//!
//! Run: `cargo bench -p dissector --bench decode`. Figures: docs/perf-codec.md.

use std::hint::black_box;
use std::time::Duration;

use criterion::measurement::{Measurement, ValueFormatter, WallTime};
use criterion::{Criterion, SamplingMode, Throughput, criterion_group, criterion_main};
use dissector::codec::{
    ConnAck, Connect, ConnectFlags, MqttStr, Packet, PropertiesBuilder, PropertyId, PropertyValue,
    ProtocolVersion, PubAckLike, Publish, ReasonOnly, SubAck, Subscribe, SubscribeFiltersBuilder,
    SubscriptionOptions, decode, encode,
};
use dissector::framing::{Framing, frame};

/// A small deterministic generator (xorshift64*), so the streams are the same on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Which mix of packets to build.
#[derive(Clone, Copy)]
enum Mix {
    Mixed,
    SmallPublishOnly,
}

/// Builds `count` packets of `version` into one contiguous stream.
fn build_stream(version: ProtocolVersion, mix: Mix, count: usize) -> Vec<u8> {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut out = Vec::new();
    let v5 = version.is_v5();
    let big = vec![0x5au8; 64 * 1024];
    let mut props = PropertiesBuilder::new();
    props
        .push(PropertyId::TOPIC_ALIAS, PropertyValue::TwoByteInt(3))
        .unwrap();
    props
        .push(
            PropertyId::MESSAGE_EXPIRY_INTERVAL,
            PropertyValue::FourByteInt(60),
        )
        .unwrap();
    props.user_property("trace-id", "4bf92f3577b34da6").unwrap();
    let publish_props = v5.then(|| props.properties());
    let empty = PropertiesBuilder::new();
    let empty_props = v5.then(|| empty.properties());
    let mut filters = SubscribeFiltersBuilder::new();
    filters
        .push(b"sensors/+/temperature", SubscriptionOptions(1))
        .unwrap();
    filters.push(b"alerts/#", SubscriptionOptions(2)).unwrap();
    let topics: Vec<String> = (0..64)
        .map(|i| format!("sensors/building-{}/floor-{}/temperature", i % 7, i % 13))
        .collect();
    let mut payload = Vec::new();
    for n in 0..count {
        let roll = match mix {
            Mix::Mixed => rng.below(100),
            Mix::SmallPublishOnly => 0,
        };
        let packet_id = (n % 65_535 + 1) as u16;
        let packet = match roll {
            0..=84 => {
                payload.clear();
                let len = 16 + rng.below(240) as usize;
                payload.extend((0..len).map(|i| b'0' + (i % 10) as u8));
                let qos = (rng.below(2)) as u8;
                let topic = &topics[rng.below(64) as usize];
                Packet::Publish(Publish {
                    dup: false,
                    qos,
                    retain: false,
                    topic: MqttStr(topic.as_bytes()),
                    packet_id: (qos > 0).then_some(packet_id),
                    properties: publish_props,
                    payload: &payload,
                })
            }
            85..=86 => {
                let len = 8 * 1024 + rng.below(56 * 1024) as usize;
                Packet::Publish(Publish {
                    dup: false,
                    qos: 1,
                    retain: false,
                    topic: MqttStr(b"firmware/blob"),
                    packet_id: Some(packet_id),
                    properties: publish_props,
                    payload: &big[..len],
                })
            }
            87..=93 => Packet::PubAck(PubAckLike {
                packet_id,
                reason_code: v5.then_some(0x10),
                properties: None,
            }),
            94..=95 => Packet::PingReq,
            96 => Packet::PingResp,
            97 => Packet::Subscribe(Subscribe {
                packet_id,
                properties: empty_props,
                filters: filters.filters(),
            }),
            98 => Packet::SubAck(SubAck {
                packet_id,
                properties: empty_props,
                reason_codes: &[1, 2],
            }),
            _ => {
                if rng.below(2) == 0 {
                    Packet::Connect(Connect {
                        protocol_name: MqttStr(b"MQTT"),
                        protocol_level: version.level(),
                        flags: ConnectFlags(0xc2),
                        keep_alive: 60,
                        properties: empty_props,
                        client_id: MqttStr(b"device-0042"),
                        will: None,
                        username: Some(MqttStr(b"user")),
                        password: Some(b"secret"),
                    })
                } else if v5 {
                    Packet::Disconnect(ReasonOnly {
                        reason_code: Some(0),
                        properties: None,
                    })
                } else {
                    Packet::ConnAck(ConnAck {
                        ack_flags: 0,
                        session_present: false,
                        reason_code: 0,
                        properties: None,
                    })
                }
            }
        };
        encode(&packet, version, &mut out).unwrap();
    }
    out
}

/// The loop every consumer runs: frame the next packet, decode it, move on. Returns the packet
/// count and a checksum of decoded fields so nothing is optimised away.
fn decode_stream(stream: &[u8], version: ProtocolVersion) -> (usize, u64) {
    let mut at = 0;
    let mut packets = 0;
    let mut sum = 0u64;
    while let Some(rest) = stream.get(at..) {
        let Framing::Complete(header) = frame(rest) else {
            break;
        };
        let decoded = decode(rest, version).expect("valid stream");
        sum = sum
            .wrapping_add(u64::from(decoded.sizes.payload))
            .wrapping_add(u64::from(decoded.packet.packet_id().unwrap_or(0)));
        packets += 1;
        at += header.packet_len() as usize;
    }
    (packets, sum)
}

/// Thread CPU time (`/proc/thread-self/schedstat`, nanoseconds on the CPU): on a shared machine
/// wall-clock time also counts the time other processes held the core; this counts only ours,
/// which is what "per core" means. The kernel updates the figure at least every scheduler tick,
/// so each sample (tens of milliseconds) is exact to a few percent.
struct ThreadCpuTime;

/// Wall time, only for its nanosecond formatter.
static WALL: WallTime = WallTime;

fn thread_cpu_ns() -> u64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

impl Measurement for ThreadCpuTime {
    type Intermediate = u64;
    type Value = u64;
    fn start(&self) -> u64 {
        thread_cpu_ns()
    }
    fn end(&self, start: u64) -> u64 {
        thread_cpu_ns().saturating_sub(start)
    }
    fn add(&self, a: &u64, b: &u64) -> u64 {
        a + b
    }
    fn zero(&self) -> u64 {
        0
    }
    fn to_f64(&self, value: &u64) -> f64 {
        *value as f64
    }
    fn formatter(&self) -> &dyn ValueFormatter {
        WALL.formatter()
    }
}

fn bench_streams<M: Measurement>(c: &mut Criterion<M>, group_name: &str, flat: bool) {
    for (name, version, mix) in [
        ("v311_mixed", ProtocolVersion::V3_1_1, Mix::Mixed),
        ("v5_mixed", ProtocolVersion::V5, Mix::Mixed),
        (
            "v311_small_publish",
            ProtocolVersion::V3_1_1,
            Mix::SmallPublishOnly,
        ),
    ] {
        let stream = build_stream(version, mix, 10_000);
        let (packets, _) = decode_stream(&stream, version);
        assert_eq!(packets, 10_000);
        let mut group = c.benchmark_group(group_name);
        if flat {
            // Equal, long samples: each spans many scheduler ticks (see `ThreadCpuTime`).
            group.sampling_mode(SamplingMode::Flat);
        }
        group.throughput(Throughput::ElementsAndBytes {
            elements: packets as u64,
            bytes: stream.len() as u64,
        });
        group.bench_function(name, |b| {
            b.iter(|| decode_stream(black_box(&stream), black_box(version)))
        });
        group.finish();
    }
}

fn bench_wall(c: &mut Criterion) {
    bench_streams(c, "decode", false);
}

fn bench_cpu(c: &mut Criterion<ThreadCpuTime>) {
    bench_streams(c, "decode_cpu", true);
}

criterion_group!(wall, bench_wall);
criterion_group! {
    name = cpu;
    config = Criterion::default()
        .with_measurement(ThreadCpuTime)
        .sample_size(20)
        .measurement_time(Duration::from_secs(10));
    targets = bench_cpu
}
criterion_main!(wall, cpu);
