//! Counts (or lists) the MQTT packets of a capture: the benchmark and debugging driver.
//!
//! `cargo run --release -p capture --example mqtt_count -- FILE [--list] [--mqtt-port P]`
//! With `--list`, prints one line per packet: frame, stream, direction, type, length, in the
//! spirit of `tshark -T fields -e frame.number -e tcp.stream -e mqtt.msgtype`. With `--relay`,
//! the counting runs on a second thread behind `capture::relay::offload`, as the CLI runs its
//! analyzer: the difference to a plain run is what relaying the events costs.

use std::process::ExitCode;

use capture::{Pipeline, PipelineConfig};
use dissector::input::StreamEvent;

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let mut path = None;
    let mut list = false;
    let mut events = false;
    let mut relay = false;
    let mut config = PipelineConfig::default();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--list" => list = true,
            "--events" => events = true,
            "--relay" => relay = true,
            "--mqtt-port" => {
                if let Some(p) = args.next().and_then(|p| p.parse().ok()) {
                    config.mqtt_ports.push(p);
                }
            }
            "--no-heuristic" => config.heuristic = false,
            _ => path = Some(arg),
        }
    }
    let Some(path) = path else {
        eprintln!(
            "usage: mqtt_count FILE [--list] [--events] [--relay] [--mqtt-port P] [--no-heuristic]"
        );
        return ExitCode::from(2);
    };
    let mut packets = 0u64;
    let mut bytes = 0u64;
    let mut sink = |event: StreamEvent<'_>| match event {
        StreamEvent::Packet(p) => {
            packets += 1;
            bytes += p.packet_len;
            if list {
                println!(
                    "{}\t{}\t{}\t{}\t{}{}",
                    p.frame,
                    p.stream,
                    p.dir.as_str(),
                    p.bytes.first().map(|b| b >> 4).unwrap_or(0),
                    p.packet_len,
                    if p.truncated { "\ttruncated" } else { "" }
                );
            }
        }
        StreamEvent::Frame(_) => {}
        other => {
            if events {
                println!("# {other:?}");
            }
        }
    };
    let mut pipeline = Pipeline::new(config);
    let result = if relay {
        capture::relay::offload(&mut sink, |relayed| {
            pipeline.run_file(path.as_ref(), relayed, None)
        })
    } else {
        pipeline.run_file(path.as_ref(), &mut sink, None)
    };
    let summary = pipeline.summary().clone();
    eprintln!(
        "frames {} bytes {} tcp_streams {} mqtt_streams {} mqtt_packets {packets} mqtt_bytes {bytes}",
        summary.frames, summary.bytes, summary.tcp_streams, summary.mqtt_streams
    );
    match result {
        Ok(_) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}
