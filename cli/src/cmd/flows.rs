//! `mqscope flows`: one row per MQTT connection.

use std::io::{self, Write};

use dissector::analyze::{AnalyzerConfig, qos_report};
use dissector::filter::Filter;
use dissector::input::Direction;
use dissector::model::{ClosedBy, Trace};
use serde::Serialize;

use crate::cmd::read::finish_with_errors;
use crate::error::{CliError, stdout_err};
use crate::flags::hiargs::{Common, Input};
use crate::flags::lowargs::Format;
use crate::input::{self, Analysed};
use crate::render::table::{Align, Table};
use crate::term::escape;

/// One connection in the JSON output.
#[derive(Debug, Serialize)]
pub struct FlowJson {
    /// The capture it is from.
    pub capture: String,
    /// `tcp.stream`.
    pub stream: u32,
    /// Client endpoint.
    pub client: String,
    /// Broker endpoint.
    pub broker: String,
    /// "tcp", "websocket" or "tls".
    pub transport: String,
    /// Client identifier.
    pub client_id: Option<String>,
    /// User name.
    pub username: Option<String>,
    /// Protocol level.
    pub version: Option<u8>,
    /// True when the version was inferred (no CONNECT seen).
    pub version_inferred: bool,
    /// Keep alive, seconds.
    pub keep_alive: Option<u16>,
    /// Clean start / clean session.
    pub clean_start: Option<bool>,
    /// CONNACK code.
    pub connack_code: Option<u8>,
    /// Epoch seconds of the first segment.
    pub start: f64,
    /// Seconds from the first segment to the close (or the capture end).
    pub duration: f64,
    /// Packets client → broker.
    pub packets_to_broker: u64,
    /// Packets broker → client.
    pub packets_to_client: u64,
    /// MQTT bytes client → broker.
    pub bytes_to_broker: u64,
    /// MQTT bytes broker → client.
    pub bytes_to_client: u64,
    /// PUBLISH packets per QoS 0, 1, 2.
    pub publishes: [u64; 3],
    /// Unfinished QoS 1/2 flows and requests.
    pub incomplete: u64,
    /// Anomalies on the connection.
    pub anomalies: u32,
    /// How it ended: "disconnect", "fin", "rst", "idle", "keepalive", "capture_end".
    pub closed_by: Option<&'static str>,
    /// "client" or "broker": who sent the RST or the first FIN.
    pub closed_side: Option<&'static str>,
    /// Bytes lost in TCP gaps.
    pub gap_bytes: u64,
}

/// The connections of a trace the filter keeps: those with a packet it matches (all when no
/// filter).
pub fn selected_connections(trace: &Trace, filter: &Filter) -> Vec<usize> {
    if filter.is_all() {
        return (0..trace.connections.len()).collect();
    }
    let mut keep = vec![false; trace.connections.len()];
    for pos in filter.matching_packets(trace) {
        if let Some(k) = trace
            .packets
            .get(pos)
            .and_then(|p| keep.get_mut(p.conn as usize))
        {
            *k = true;
        }
    }
    keep.iter()
        .enumerate()
        .filter(|(_, k)| **k)
        .map(|(i, _)| i)
        .collect()
}

/// The rows of one capture.
pub fn flows(a: &Analysed, filter: &Filter) -> Vec<FlowJson> {
    let trace = &a.trace;
    let report = qos_report(trace);
    let end = trace.totals.last_ts.unwrap_or_default();
    selected_connections(trace, filter)
        .into_iter()
        .filter_map(|i| {
            let c = trace.connection(i)?;
            let q = report
                .connections
                .get(i)
                .map(|c| c.counts.clone())
                .unwrap_or_default();
            Some(FlowJson {
                capture: a.label.clone(),
                stream: c.stream,
                client: c.client.to_string(),
                broker: c.broker.to_string(),
                transport: format!("{:?}", c.transport).to_ascii_lowercase(),
                client_id: trace.opt_str(c.client_id).map(str::to_owned),
                username: trace.opt_str(c.username).map(str::to_owned),
                version: c.version.map(|v| v.level()),
                version_inferred: c.version_inferred,
                keep_alive: c.keep_alive,
                clean_start: c.clean_start,
                connack_code: c.connack_code,
                start: c.opened_ts.as_secs_f64(),
                duration: c.duration_nanos(end) as f64 / 1e9,
                packets_to_broker: c.to_broker.packets,
                packets_to_client: c.to_client.packets,
                bytes_to_broker: c.to_broker.bytes,
                bytes_to_client: c.to_client.bytes,
                publishes: q.publishes,
                incomplete: q.qos1.incomplete() + q.qos2.incomplete() + q.requests.incomplete(),
                anomalies: c.anomaly_count,
                closed_by: c.closed_by.as_ref().map(ClosedBy::as_str),
                closed_side: c.closed_side.map(Direction::sender),
                gap_bytes: c.gap_bytes,
            })
        })
        .collect()
}

/// Runs `flows`.
pub fn run(common: &Common, input: &Input, format: Format) -> Result<u8, CliError> {
    // Without a filter the table needs only connections (with their counters) and transactions
    // (for the incomplete count): the packet records are dropped as they pass, as are fan-out
    // matches (not shown). A filter picks connections by their packets, so it keeps them.
    let streaming = input.filter.is_all();
    let config = AnalyzerConfig {
        show_passwords: common.show_passwords,
        retain_packets: !streaming,
        // Only unfinished flows are counted, and those are kept either way.
        retain_transactions: false,
        track_deliveries: false,
        ..AnalyzerConfig::default()
    };
    let mut analysed = input::analyse_all(input, common, &config);
    if let Some(errors) = input::open_errors(&mut analysed) {
        return finish_with_errors(errors);
    }
    let rows: Vec<FlowJson> = analysed
        .iter()
        .flat_map(|a| flows(a, &input.filter))
        .collect();
    let mut out = io::BufWriter::new(io::stdout().lock());
    match format {
        Format::Json => {
            serde_json::to_writer_pretty(&mut out, &rows).map_err(|e| stdout_err(e.into()))?;
            out.write_all(b"\n").map_err(stdout_err)?;
        }
        Format::Jsonl => {
            for r in &rows {
                serde_json::to_writer(&mut out, r).map_err(|e| stdout_err(e.into()))?;
                out.write_all(b"\n").map_err(stdout_err)?;
            }
        }
        _ => {
            let several = analysed.len() > 1;
            for a in &analysed {
                if several {
                    writeln!(out, "# {}", a.label).map_err(stdout_err)?;
                }
                let table = text_table(rows.iter().filter(|r| r.capture == a.label));
                out.write_all(table.as_bytes()).map_err(stdout_err)?;
            }
        }
    }
    out.flush().map_err(stdout_err)?;
    drop(out);
    finish_with_errors(analysed.into_iter().filter_map(|a| a.error).collect())
}

fn text_table<'a>(rows: impl Iterator<Item = &'a FlowJson>) -> String {
    let mut t = Table::new(&[
        ("stream", Align::Right),
        ("client", Align::Left),
        ("broker", Align::Left),
        ("client id", Align::Left),
        ("ver", Align::Left),
        ("duration", Align::Right),
        ("pkts →/←", Align::Right),
        ("bytes →/←", Align::Right),
        ("q0/q1/q2", Align::Right),
        ("incomplete", Align::Right),
        ("anomalies", Align::Right),
        ("closed", Align::Left),
    ]);
    for r in rows {
        let version = match (r.version, r.version_inferred) {
            (Some(3), inferred) => format!("3.1{}", if inferred { "?" } else { "" }),
            (Some(4), inferred) => format!("3.1.1{}", if inferred { "?" } else { "" }),
            (Some(5), inferred) => format!("5.0{}", if inferred { "?" } else { "" }),
            _ => "-".into(),
        };
        t.row(vec![
            r.stream.to_string(),
            r.client.clone(),
            r.broker.clone(),
            r.client_id
                .as_deref()
                .map_or("-".into(), |s| escape(s).into_owned()),
            version,
            format!("{:.3}s", r.duration),
            format!("{}/{}", r.packets_to_broker, r.packets_to_client),
            format!("{}/{}", r.bytes_to_broker, r.bytes_to_client),
            format!("{}/{}/{}", r.publishes[0], r.publishes[1], r.publishes[2]),
            r.incomplete.to_string(),
            r.anomalies.to_string(),
            // After a DISCONNECT, who then closed TCP is a detail; for the rest it is the point.
            match (r.closed_by, r.closed_side) {
                (Some(how), Some(side)) if how != "disconnect" => format!("{how}:{side}"),
                (Some(how), _) => how.to_string(),
                (None, _) => "-".to_string(),
            },
        ]);
    }
    t.render()
}
