//! Statistics without packet records: on every sample capture and every public capture, a
//! `dissector::stats::StatsAccumulator` fed by a streaming analyzer's packet callback (no
//! records kept) gives exactly the `Stats` that `dissector::stats::compute` gives on the trace
//! that kept every record (what `mqscope stats` printed before it streamed, and what the GUI
//! shows).

use std::sync::{Arc, Mutex};

use capture::pipeline::Pipeline;
use dissector::analyze::{Analyzer, AnalyzerConfig};
use dissector::model::Trace;
use dissector::stats::{self, Stats, StatsAccumulator, StatsConfig};
use mqscope_tests::captures::{self, Capture};
use mqscope_tests::ours;

/// Runs `capture` through the pipeline into `analyzer` and finishes it. A capture cut short
/// (some public ones are) is analysed up to the damage, the same way on both sides.
fn run(capture: &Capture, mut analyzer: Analyzer) -> Trace {
    let mut pipeline = Pipeline::new(ours::configured_for(capture));
    let end = pipeline
        .run_file(&capture.path, &mut analyzer, None)
        .ok()
        .and_then(|s| s.last_ts)
        .or(analyzer.trace().totals.last_ts)
        .unwrap_or_default();
    analyzer.finish(end)
}

/// (statistics of the trace that kept every record, statistics accumulated while streaming,
/// the streaming trace).
fn both_ways(capture: &Capture) -> (Stats, Stats, Trace) {
    let retained = run(capture, Analyzer::new(AnalyzerConfig::default()));
    let acc = Arc::new(Mutex::new(Some(StatsAccumulator::new(
        &StatsConfig::default(),
    ))));
    let feed = Arc::clone(&acc);
    // As `mqscope stats` runs: no records and no completed transactions are kept; latency
    // comes from the completions the callback sees.
    let mut analyzer = Analyzer::new(AnalyzerConfig {
        retain_packets: false,
        retain_transactions: false,
        ..AnalyzerConfig::default()
    });
    analyzer.set_packet_callback(Box::new(move |trace, packet| {
        if let Some(acc) = feed.lock().unwrap().as_mut() {
            if let Some(c) = packet.completed {
                acc.add_completion(packet.record.conn, c.kind, c.latency_nanos);
            }
            acc.add(trace, packet.record);
        }
    }));
    let streamed = run(capture, analyzer);
    let acc = acc.lock().unwrap().take().unwrap();
    (stats::compute(&retained), acc.finish(&streamed), streamed)
}

#[test]
fn streaming_statistics_equal_those_of_the_retained_trace_on_every_sample() {
    let names = captures::sample_names();
    assert!(names.len() >= 10, "samples: {names:?}");
    let mut with_latency = 0usize;
    for name in names {
        let sample = captures::sample(&name);
        let (retained, streamed, trace) = both_ways(&sample.capture);
        assert!(
            trace.packets.is_empty(),
            "{name}: the streaming trace kept records"
        );
        assert!(
            trace
                .transactions
                .iter()
                .all(|t| t.state != dissector::model::TxState::Complete),
            "{name}: the streaming trace kept completed transactions"
        );
        // MQTT over TLS is not decrypted: only its wire bytes are counted.
        let encrypted = sample.expected.tls_keylog.is_some();
        assert_eq!(
            retained.header.packets == 0,
            encrypted,
            "{name}: packets counted"
        );
        assert_eq!(streamed, retained, "{name}");
        with_latency += usize::from(!retained.latency.overall.is_empty());
    }
    // Latency came through the completions, not from kept transactions.
    assert!(with_latency >= 10, "samples with latency: {with_latency}");
}

#[test]
fn record_order_does_not_change_the_statistics() {
    // Held-back records (`mqscope stats -Y` on a version field) and merged captures reach the
    // accumulator out of time order.
    for name in ["mqtt5-session", "persistent-session", "websocket"] {
        let sample = captures::sample(name);
        let trace = ours::analyze(&sample.capture);
        let mut acc = StatsAccumulator::new(&StatsConfig::default());
        for record in trace.packets.iter().rev() {
            acc.add(&trace, record);
        }
        assert_eq!(acc.packets(), trace.packets.len() as u64, "{name}");
        assert_eq!(acc.finish(&trace), stats::compute(&trace), "{name}");
    }
}

#[test]
fn streaming_statistics_equal_those_of_the_retained_trace_on_every_public_capture() {
    let Some(public) = captures::public_captures() else {
        eprintln!("public captures absent: skipped");
        return;
    };
    let mut counted = 0;
    for p in public {
        let (retained, streamed, _) = both_ways(&p.capture);
        counted += retained.header.packets;
        assert_eq!(streamed, retained, "{}", p.relative);
    }
    assert!(counted > 0, "no MQTT packet in any public capture");
}
