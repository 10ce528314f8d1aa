//! `mqscope stats`: header-size statistics (the table grouped by `--by`), remaining-length
//! sizes, overhead shares, topic-alias savings, latency percentiles, broker fan-out, the topic
//! tree and rates, all computed by `dissector::stats`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{self, Write};

use dissector::analyze::AnalyzerConfig;
use dissector::stats::{self, HeaderRow, Stats};
use serde::Serialize;

use crate::cmd::read::finish_with_errors;
use crate::error::{CliError, stdout_err};
use crate::flags::hiargs::{Common, Input};
use crate::flags::lowargs::{Format, StatsBy};
use crate::input::{self, Analysed};
use crate::render::table::{Align, Table};
use crate::term::escape;

/// Header bytes of one group (a type, a version, a connection or a topic).
#[derive(Debug, Clone, Default, Serialize)]
pub struct Group {
    /// Group key: type name, "3.1.1", stream number, topic.
    pub key: String,
    /// Packets.
    pub packets: u64,
    /// Fixed header bytes.
    pub fixed: u64,
    /// Variable header bytes.
    pub variable: u64,
    /// Property bytes.
    pub properties: u64,
    /// Payload bytes.
    pub payload: u64,
}

impl Group {
    fn add(&mut self, packets: u64, fixed: u64, variable: u64, properties: u64, payload: u64) {
        self.packets += packets;
        self.fixed += fixed;
        self.variable += variable;
        self.properties += properties;
        self.payload += payload;
    }
    fn total(&self) -> u64 {
        self.fixed + self.variable + self.properties + self.payload
    }
    fn header_share(&self) -> f64 {
        let total = self.total();
        if total == 0 {
            0.0
        } else {
            (total - self.payload) as f64 / total as f64
        }
    }
}

/// The `-T json` document of one capture.
#[derive(Debug, Serialize)]
pub struct StatsJson<'a> {
    /// The capture.
    pub capture: &'a str,
    /// The grouping of `groups`.
    pub by: &'static str,
    /// Header bytes per group.
    pub groups: Vec<Group>,
    /// Everything `dissector::stats` computes.
    pub stats: &'a Stats,
}

fn version_name(level: u8) -> String {
    dissector::codec::ProtocolVersion::from_level(level)
        .map_or("unknown".into(), |v| v.name().to_string())
}

fn by_name(by: StatsBy) -> &'static str {
    match by {
        StatsBy::Type => "type",
        StatsBy::Version => "version",
        StatsBy::Connection => "connection",
        StatsBy::Topic => "topic",
    }
}

/// Groups the header bytes. Types and versions come from the library's (type, version) rows;
/// connections and topics from the packet records.
pub fn groups(a: &Analysed, s: &Stats, by: StatsBy) -> Vec<Group> {
    let trace = &a.trace;
    let from_rows = |key: &dyn Fn(&HeaderRow) -> (u32, String)| {
        let mut m: BTreeMap<u32, Group> = BTreeMap::new();
        for r in &s.header.rows {
            let (order, name) = key(r);
            let g = m.entry(order).or_insert_with(|| Group {
                key: name,
                ..Group::default()
            });
            g.add(r.packets, r.fixed, r.variable, r.properties, r.payload);
        }
        m.into_values().collect::<Vec<_>>()
    };
    match by {
        StatsBy::Type => from_rows(&|r| (u32::from(r.type_id), r.packet_type.clone())),
        StatsBy::Version => from_rows(&|r| (u32::from(r.version), version_name(r.version))),
        StatsBy::Connection => {
            let mut v: Vec<Group> = trace
                .connections
                .iter()
                .enumerate()
                .map(|(i, c)| {
                    let id = trace.client_id_of(i);
                    let key = if id.is_empty() {
                        c.stream.to_string()
                    } else {
                        format!("{} \"{}\"", c.stream, escape(id))
                    };
                    Group {
                        key,
                        ..Group::default()
                    }
                })
                .collect();
            for p in &trace.packets {
                if let Some(g) = v.get_mut(p.conn as usize) {
                    g.add(
                        1,
                        u64::from(p.fixed_len),
                        u64::from(p.variable_len),
                        u64::from(p.properties_len),
                        u64::from(p.payload_len),
                    );
                }
            }
            v
        }
        StatsBy::Topic => {
            let mut m: BTreeMap<&str, Group> = BTreeMap::new();
            for p in trace
                .packets
                .iter()
                .filter(|p| p.packet_type == dissector::codec::PacketType::Publish)
            {
                let topic = trace.opt_str(p.topic).unwrap_or("");
                let g = m.entry(topic).or_insert_with(|| Group {
                    key: escape(topic).into_owned(),
                    ..Group::default()
                });
                g.add(
                    1,
                    u64::from(p.fixed_len),
                    u64::from(p.variable_len),
                    u64::from(p.properties_len),
                    u64::from(p.payload_len),
                );
            }
            let mut v: Vec<Group> = m.into_values().collect();
            v.sort_by(|a, b| b.total().cmp(&a.total()).then_with(|| a.key.cmp(&b.key)));
            v
        }
    }
}

fn ms(nanos: i64) -> String {
    format!("{:.3}", nanos as f64 / 1e6)
}

fn pct(x: f64) -> String {
    format!("{:.1} %", x * 100.0)
}

/// The text report of one capture.
pub fn text(label: &str, groups: &[Group], by: StatsBy, s: &Stats) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{label}");
    let _ = writeln!(out, "\nHeader sizes by {} (bytes)", by_name(by));
    let mut t = Table::new(&[
        (by_name(by), Align::Left),
        ("packets", Align::Right),
        ("fixed", Align::Right),
        ("variable", Align::Right),
        ("properties", Align::Right),
        ("payload", Align::Right),
        ("total", Align::Right),
        ("header share", Align::Right),
    ]);
    let mut all = Group {
        key: "all".into(),
        ..Group::default()
    };
    for g in groups {
        all.add(g.packets, g.fixed, g.variable, g.properties, g.payload);
        t.row(vec![
            g.key.clone(),
            g.packets.to_string(),
            g.fixed.to_string(),
            g.variable.to_string(),
            g.properties.to_string(),
            g.payload.to_string(),
            g.total().to_string(),
            pct(g.header_share()),
        ]);
    }
    t.row(vec![
        all.key.clone(),
        all.packets.to_string(),
        all.fixed.to_string(),
        all.variable.to_string(),
        all.properties.to_string(),
        all.payload.to_string(),
        all.total().to_string(),
        pct(all.header_share()),
    ]);
    out.push_str(&t.render());
    let h = &s.header;
    let rl = h.remaining_length_sizes;
    let _ = writeln!(
        out,
        "\nRemaining-length field: 1 byte {} · 2 bytes {} · 3 bytes {} · 4 bytes {} packets ({} with a 2-byte fixed header)",
        rl[0],
        rl[1],
        rl[2],
        rl[3],
        pct(h.two_byte_fixed_header_share)
    );
    let _ = writeln!(
        out,
        "Overhead: MQTT headers are {} of MQTT bytes ({} of {}); on the wire ({} bytes) headers are {}, everything but payload {}",
        pct(h.header_share_of_mqtt),
        h.header_bytes,
        h.mqtt_bytes,
        h.wire_bytes,
        pct(h.header_share_of_wire),
        pct(h.overhead_share_of_wire)
    );
    let a = &h.topic_alias;
    let _ = writeln!(
        out,
        "Topic aliases: {} PUBLISHes used one (saved {} bytes); {} repeated a topic without one (could save {} bytes)",
        a.used_packets, a.used_saved_bytes, a.repeated_packets, a.repeated_saveable_bytes
    );
    if !s.latency.overall.is_empty() {
        let _ = writeln!(out, "\nLatency of completed exchanges (ms)");
        let mut t = Table::new(&[
            ("exchange", Align::Left),
            ("count", Align::Right),
            ("min", Align::Right),
            ("p50", Align::Right),
            ("p90", Align::Right),
            ("p99", Align::Right),
            ("max", Align::Right),
            ("mean", Align::Right),
        ]);
        for k in &s.latency.overall {
            let l = &k.summary;
            t.row(vec![
                k.kind.as_str().to_string(),
                l.count.to_string(),
                ms(l.min),
                ms(l.p50),
                ms(l.p90),
                ms(l.p99),
                ms(l.max),
                ms(l.mean),
            ]);
        }
        out.push_str(&t.render());
    }
    if s.fanout.deliveries > 0 {
        let l = &s.fanout.latency;
        let _ = writeln!(
            out,
            "\nBroker fan-out: {} messages delivered as {} copies (max {} per message); broker latency p50 {} ms, p99 {} ms",
            s.fanout.deliveries,
            s.fanout.copies,
            s.fanout.max_fanout,
            ms(l.p50),
            ms(l.p99)
        );
    }
    if !s.topics.is_empty() {
        let _ = writeln!(out, "\nTopic tree");
        let mut t = Table::new(&[
            ("topic", Align::Left),
            ("published", Align::Right),
            ("delivered", Align::Right),
            ("bytes", Align::Right),
            ("retained", Align::Right),
            ("publishers", Align::Right),
            ("subscribers", Align::Right),
            ("msg/s", Align::Right),
        ]);
        for l in &s.topics {
            let indent = "  ".repeat(l.depth as usize);
            let name = if l.name.is_empty() {
                "(empty)".to_string()
            } else {
                escape(&l.name).into_owned()
            };
            t.row(vec![
                format!("{indent}{name}"),
                l.published.to_string(),
                l.delivered.to_string(),
                l.bytes.to_string(),
                l.retained.to_string(),
                l.publishers.to_string(),
                l.subscribers.to_string(),
                format!("{:.2}", l.rate),
            ]);
        }
        out.push_str(&t.render());
    }
    let r = &s.rates;
    if let Some(peak) = r
        .buckets
        .iter()
        .max_by_key(|b| b.packets.iter().sum::<u64>())
    {
        let total: u64 = r
            .buckets
            .iter()
            .map(|b| b.packets.iter().sum::<u64>())
            .sum();
        let secs = r.bucket_nanos as f64 / 1e9 * r.buckets.len() as f64;
        let _ = writeln!(
            out,
            "\nRates: {total} packets over {secs:.0} s ({:.2}/s on average); busiest {:.0} s bucket had {} packets",
            if secs > 0.0 { total as f64 / secs } else { 0.0 },
            r.bucket_nanos as f64 / 1e9,
            peak.packets.iter().sum::<u64>()
        );
    }
    out
}

/// Runs `stats`.
pub fn run(common: &Common, input: &Input, format: Format, by: StatsBy) -> Result<u8, CliError> {
    let config = AnalyzerConfig {
        show_passwords: common.show_passwords,
        ..AnalyzerConfig::default()
    };
    let mut analysed = input::analyse_all(input, common, &config);
    if let Some(errors) = input::open_errors(&mut analysed) {
        return finish_with_errors(errors);
    }
    if !input.filter.is_all() {
        // Statistics of the packets the filter keeps.
        for a in &mut analysed {
            let keep = input.filter.matching_packets(&a.trace);
            let packets = keep
                .into_iter()
                .filter_map(|i| a.trace.packets.get(i).cloned())
                .collect();
            a.trace.packets = packets;
        }
    }
    let computed: Vec<Stats> = analysed.iter().map(|a| stats::compute(&a.trace)).collect();
    let mut out = io::BufWriter::new(io::stdout().lock());
    match format {
        Format::Json => {
            let docs: Vec<StatsJson<'_>> = analysed
                .iter()
                .zip(&computed)
                .map(|(a, s)| StatsJson {
                    capture: &a.label,
                    by: by_name(by),
                    groups: groups(a, s, by),
                    stats: s,
                })
                .collect();
            // One capture: one object; several: an array of them.
            let result = if docs.len() == 1 {
                serde_json::to_writer_pretty(&mut out, &docs[0])
            } else {
                serde_json::to_writer_pretty(&mut out, &docs)
            };
            result.map_err(|e| stdout_err(e.into()))?;
            out.write_all(b"\n").map_err(stdout_err)?;
        }
        _ => {
            for (i, (a, s)) in analysed.iter().zip(&computed).enumerate() {
                if i > 0 {
                    out.write_all(b"\n").map_err(stdout_err)?;
                }
                out.write_all(text(&a.label, &groups(a, s, by), by, s).as_bytes())
                    .map_err(stdout_err)?;
            }
        }
    }
    out.flush().map_err(stdout_err)?;
    drop(out);
    finish_with_errors(analysed.into_iter().filter_map(|a| a.error).collect())
}
