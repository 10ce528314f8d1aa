//! Fuzz target `capture_file`: the input is a capture file (pcap, pcapng or gzip of either).
//! It runs through the whole capture pipeline: pcap-parser, link/IP/TCP, reassembly, WebSocket,
//! TLS and MQTT framing with resynchronisation. Besides "never panics, never hangs", it checks
//! that every reported packet is consistent: its bytes are never longer than its claimed length,
//! and only truncated packets are shorter.
#![no_main]

use capture::{FileSource, Pipeline, PipelineConfig};
use dissector::input::StreamEvent;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(source) = FileSource::from_reader(std::io::Cursor::new(data.to_vec()), "fuzz") else {
        return;
    };
    // Small limits so the fuzzer reaches the skipping and cap paths with small inputs.
    let config = PipelineConfig {
        payload_limit: 4096,
        reorder_cap: 8192,
        max_connections: 8,
        mqtt_ports: vec![1883, 0],
        ..PipelineConfig::default()
    };
    let mut sink = |event: StreamEvent<'_>| {
        if let StreamEvent::Packet(p) = event {
            assert!(p.bytes.len() as u64 <= p.packet_len);
            assert!(p.truncated || p.bytes.len() as u64 == p.packet_len);
            assert!(p.first_frame <= p.frame);
        }
    };
    let _ = Pipeline::new(config).run_source(source, &mut sink, None);
});
