//! Our whole stack (`capture::Pipeline` → `EventSink` → `dissector::codec`) against tshark,
//! packet for packet, on every sample and public capture; and the pipeline's MQTT detection
//! without port hints (heuristic), which tshark does not do by default.

use std::collections::BTreeSet;

use capture::PipelineConfig;
use mqscope_tests::captures::{self, Capture};
use mqscope_tests::{assert_no_mismatch, compare, oracle, ours, tshark};

/// Given the capture's MQTT port, the pipeline's packets equal tshark's (except at the frames
/// tshark is known to get wrong, and everywhere on WebSocket, where tshark sees nothing) and
/// equal the independent stream truth everywhere.
fn agrees_given_the_port(capture: &Capture, tshark_wrong: &[u64], tshark_blind: bool) {
    let (ours, _) = ours::pipeline_rows(capture, ours::configured_for(capture));
    let truth = oracle::rows(capture);
    assert!(
        !truth.is_empty(),
        "{}: no MQTT in the capture",
        capture.name
    );
    assert_no_mismatch(
        &format!("{}: pipeline vs the stream truth", capture.name),
        &compare(&ours, &truth, &[]),
    );
    if !tshark_blind {
        let theirs = tshark::mqtt_rows(capture);
        assert_no_mismatch(
            &format!("{}: pipeline vs tshark", capture.name),
            &compare(&ours, &theirs, tshark_wrong),
        );
    }
}

fn sample_agrees(name: &str) {
    if !tshark::available() {
        return;
    }
    let sample = captures::sample(name);
    let notes = &sample.expected.tshark;
    agrees_given_the_port(&sample.capture, &notes.wrong_frames, !notes.decodes_mqtt);
}

/// With no port hint at all (default configuration), the pipeline still finds every packet of
/// a sample: each connection opens with a handshake and a CONNECT (or an Upgrade naming the
/// `mqtt` subprotocol). tshark needs `-d tcp.port==P,mqtt` for the same.
fn sample_found_by_heuristic(name: &str) {
    if !tshark::available() {
        return;
    }
    let sample = captures::sample(name);
    let (found, summary) = ours::pipeline_rows(&sample.capture, PipelineConfig::default());
    let truth = oracle::rows(&sample.capture);
    assert_no_mismatch(
        &format!("{name}: heuristic pipeline vs the stream truth"),
        &compare(&found, &truth, &[]),
    );
    assert_eq!(
        summary.mqtt_streams,
        sample.expected.streams.len() as u64,
        "{name}: MQTT streams"
    );
}

macro_rules! sample_tests {
    ($($module:ident => $name:literal),* $(,)?) => {$(
        mod $module {
            #[test]
            fn pipeline_agrees_with_tshark_given_the_port() {
                super::sample_agrees($name);
            }
            #[test]
            fn pipeline_finds_every_packet_without_a_port_hint() {
                super::sample_found_by_heuristic($name);
            }
        }
    )*};
}

for_each_visible_sample!(sample_tests);

/// Every public capture: pipeline vs tshark and vs the stream truth.
#[test]
fn pipeline_agrees_with_tshark_on_every_public_capture() {
    if !tshark::available() {
        return;
    }
    let Some(all) = captures::public_captures() else {
        return;
    };
    let mut failures = Vec::new();
    for public in &all {
        let result =
            std::panic::catch_unwind(|| agrees_given_the_port(&public.capture, &[], false));
        if let Err(panic) = result {
            let message = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            failures.push(message);
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} public captures differ:\n{}",
        failures.len(),
        all.len(),
        failures.join("\n\n")
    );
}

/// ndpi/coap_mqtt.pcap without `--mqtt-port 17501`: tshark finds no MQTT at all there unless
/// told `-d tcp.port==17501,mqtt`. Our heuristics must find every MQTT session on the unknown
/// port — the one that opens with a CONNECT (CONNECT/CONNACK heuristic) and the three that
/// were joined mid-stream (request/answer pairing heuristic) — all 153 packets, and nothing
/// that is not MQTT.
#[test]
fn heuristics_find_every_coap_mqtt_session_without_a_port_hint() {
    if !tshark::available() {
        return;
    }
    let Some(public) = captures::public_capture("ndpi/coap_mqtt.pcap") else {
        return;
    };
    let (found, _) = ours::pipeline_rows(&public.capture, PipelineConfig::default());
    let truth = oracle::rows(&public.capture);
    assert_eq!(
        truth.len(),
        153,
        "tshark with Decode As finds 153 MQTT packets"
    );
    let connect_streams: BTreeSet<u32> = truth
        .iter()
        .filter(|r| r.type_name() == "CONNECT")
        .map(|r| r.stream)
        .collect();
    assert_eq!(connect_streams.len(), 1, "one session opens with CONNECT");
    let truth_streams: BTreeSet<u32> = truth.iter().map(|r| r.stream).collect();
    let found_streams: BTreeSet<u32> = found.iter().map(|r| r.stream).collect();
    assert_eq!(
        found_streams, truth_streams,
        "every MQTT session, nothing else"
    );
    assert_no_mismatch(
        "coap_mqtt heuristics vs tshark with Decode As",
        &compare(&found, &truth, &[]),
    );
}
