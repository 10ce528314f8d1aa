//! `mqscope stats`: header-size statistics (the table grouped by `--by`), remaining-length
//! sizes, overhead shares, topic-alias savings, latency percentiles, broker fan-out, the topic
//! tree and rates, all computed by `dissector::stats`.
//!
//! Streaming: the analyzer keeps no packet records; each one is counted as it is analysed
//! ([`StatsTap`] on the analysis thread) and dropped, so memory grows with connections and
//! topics, not packets. A display filter is applied to each record as it is analysed when
//! every field it reads is final by then ([`FilterTiming`]); a filter on what only the whole
//! capture settles (anomalies, latency, client ids…) falls back to keeping the records and
//! filtering the finished trace, as before.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::io::{self, Write};

use dissector::analyze::{self, AnalyzerConfig};
use dissector::codec::PacketType;
use dissector::filter::{FIELDS, Field, Filter, PacketView};
use dissector::model::{PacketRecord, Sym, Trace};
use dissector::stats::{HeaderRow, Stats, StatsAccumulator, StatsConfig};
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
    fn add_record(&mut self, p: &PacketRecord) {
        self.add(
            1,
            u64::from(p.fixed_len),
            u64::from(p.variable_len),
            u64::from(p.properties_len),
            u64::from(p.payload_len),
        );
    }
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
    pub groups: &'a [Group],
    /// Everything `dissector::stats` computes.
    pub stats: &'a Stats,
    /// Whether broker fan-out was matched (`--fanout`); when not, `stats.fanout` is empty.
    pub fanout_computed: bool,
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

/// Header bytes per connection or per topic, counted one packet record at a time; per type
/// and per version they come from the statistics' (type, version) rows.
#[derive(Debug)]
enum GroupTotals {
    /// `--by type|version`.
    FromRows,
    /// By connection index.
    Connections(Vec<Group>),
    /// PUBLISHes by topic (no topic and the empty topic are one group).
    Topics(HashMap<Option<Sym>, Group>),
}

impl GroupTotals {
    fn new(by: StatsBy) -> GroupTotals {
        match by {
            StatsBy::Type | StatsBy::Version => GroupTotals::FromRows,
            StatsBy::Connection => GroupTotals::Connections(Vec::new()),
            StatsBy::Topic => GroupTotals::Topics(HashMap::new()),
        }
    }

    fn add(&mut self, trace: &Trace, p: &PacketRecord) {
        match self {
            GroupTotals::FromRows => {}
            GroupTotals::Connections(v) => {
                let i = p.conn as usize;
                if i < trace.connections.len() && v.len() <= i {
                    v.resize_with(trace.connections.len(), Group::default);
                }
                if let Some(g) = v.get_mut(i) {
                    g.add_record(p);
                }
            }
            GroupTotals::Topics(m) => {
                if p.packet_type == PacketType::Publish {
                    m.entry(p.topic).or_default().add_record(p);
                }
            }
        }
    }

    /// The groups in display order, keyed from the final trace.
    fn finish(self, trace: &Trace, s: &Stats, by: StatsBy) -> Vec<Group> {
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
        match self {
            GroupTotals::FromRows if by == StatsBy::Version => {
                from_rows(&|r| (u32::from(r.version), version_name(r.version)))
            }
            GroupTotals::FromRows => from_rows(&|r| (u32::from(r.type_id), r.packet_type.clone())),
            // Every connection, also those without a (matching) packet.
            GroupTotals::Connections(mut counted) => {
                counted.resize_with(trace.connections.len(), Group::default);
                trace
                    .connections
                    .iter()
                    .zip(counted)
                    .enumerate()
                    .map(|(i, (c, g))| {
                        let id = trace.client_id_of(i);
                        let key = if id.is_empty() {
                            c.stream.to_string()
                        } else {
                            format!("{} \"{}\"", c.stream, escape(id))
                        };
                        Group { key, ..g }
                    })
                    .collect()
            }
            GroupTotals::Topics(counted) => {
                let mut m: BTreeMap<&str, Group> = BTreeMap::new();
                for (topic, g) in counted {
                    let topic = trace.opt_str(topic).unwrap_or("");
                    m.entry(topic)
                        .or_insert_with(|| Group {
                            key: escape(topic).into_owned(),
                            ..Group::default()
                        })
                        .add(g.packets, g.fixed, g.variable, g.properties, g.payload);
                }
                let mut v: Vec<Group> = m.into_values().collect();
                v.sort_by(|a, b| b.total().cmp(&a.total()).then_with(|| a.key.cmp(&b.key)));
                v
            }
        }
    }
}

/// When a display filter's verdict on a packet is final.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FilterTiming {
    /// As soon as the packet is analysed.
    AsAnalysed,
    /// As soon as the packet is analysed if its record has a protocol version; otherwise the
    /// filter reads its connection's version, which may be learnt later (a CONNECT seen after
    /// it, a version inferred from later packets).
    AsAnalysedIfVersioned,
    /// Only on the finished trace: the filter reads anomalies, transaction outcomes,
    /// connection fields a later CONNECT or CONNACK may change, or the capture's start.
    AtTheEnd,
}

/// When the value of `field` for a packet is final. Exhaustive on purpose: a new field must be
/// placed here (see `dissector::filter::PacketView`'s `visit` for where each value comes from).
fn field_timing(field: Field) -> FilterTiming {
    match field {
        Field::Mqtt
        | Field::FrameNumber
        | Field::FrameTimeEpoch
        | Field::TcpStream
        | Field::IpAddr
        | Field::IpSrc
        | Field::IpDst
        | Field::TcpPort
        | Field::TcpSrcPort
        | Field::TcpDstPort
        | Field::MqttHdrFlags
        | Field::MqttMsgType
        | Field::MqttRetain
        | Field::MqttMsgId
        | Field::MqttTopic
        | Field::MqttTopicLen
        | Field::MqttLen
        | Field::MqttReasonCode
        | Field::Direction
        | Field::Transport
        | Field::PayloadLen
        | Field::HeaderLen
        | Field::PropertiesLen
        | Field::PacketLen => FilterTiming::AsAnalysed,
        Field::MqttQos
        | Field::MqttDupFlag
        | Field::MqttVersion
        | Field::MqttConAckVal
        | Field::MqttSubAckQos
        | Field::ReasonCodeOf(_) => FilterTiming::AsAnalysedIfVersioned,
        Field::FrameTimeRelative
        | Field::MqttClientId
        | Field::MqttUsername
        | Field::MqttKeepAlive
        | Field::MqttWillTopic
        | Field::Anomaly
        | Field::Severity
        | Field::Incomplete
        | Field::Latency => FilterTiming::AtTheEnd,
    }
}

/// When `filter`'s verdict on a packet is final: the latest of its fields'.
fn filter_timing(filter: &Filter) -> FilterTiming {
    let used = || {
        FIELDS
            .iter()
            .filter(|f| filter.uses(f.field))
            .map(|f| field_timing(f.field))
    };
    if used().any(|t| t == FilterTiming::AtTheEnd) {
        FilterTiming::AtTheEnd
    } else if used().any(|t| t == FilterTiming::AsAnalysedIfVersioned) {
        FilterTiming::AsAnalysedIfVersioned
    } else {
        FilterTiming::AsAnalysed
    }
}

/// Everything `stats` counts of one capture, fed one packet record at a time: on the analysis
/// thread as each packet is analysed, or from a finished trace's records.
#[derive(Debug)]
struct StatsTap {
    stats: StatsAccumulator,
    groups: GroupTotals,
    filter: Filter,
    /// Hold back records without a protocol version (see [`FilterTiming`]).
    defer_unversioned: bool,
    /// Records held back, with their packet indexes, to be filtered on the finished trace.
    deferred: Vec<(u64, PacketRecord)>,
}

impl StatsTap {
    fn new(filter: &Filter, timing: FilterTiming, by: StatsBy) -> StatsTap {
        StatsTap {
            stats: StatsAccumulator::new(&StatsConfig::default()),
            groups: GroupTotals::new(by),
            filter: filter.clone(),
            defer_unversioned: timing == FilterTiming::AsAnalysedIfVersioned,
            deferred: Vec::new(),
        }
    }

    /// Counts the record with packet index `index` if the filter keeps it.
    fn offer(&mut self, trace: &Trace, index: u64, record: &PacketRecord) {
        if !self.filter.is_all() {
            if self.defer_unversioned && record.version.is_none() {
                self.deferred.push((index, record.clone()));
                return;
            }
            // The view `matches_packet` builds for a kept record (no raw bytes), so a packet
            // is judged as it was when `stats` filtered the finished trace.
            if !self
                .filter
                .matches(&PacketView::from_record(trace, index, record))
            {
                return;
            }
        }
        self.stats.add(trace, record);
        self.groups.add(trace, record);
    }

    /// The analyzer's packet callback.
    fn step(&mut self, trace: &Trace, packet: analyze::PacketView<'_>) {
        // Latency is of every exchange, whatever the filter keeps (as from a whole trace).
        if let Some(c) = packet.completed {
            self.stats
                .add_completion(packet.record.conn, c.kind, c.latency_nanos);
        }
        self.offer(trace, packet.index, packet.record);
    }

    /// The statistics and groups, completed from the finished trace.
    fn finish(mut self, trace: &Trace, by: StatsBy) -> (Stats, Vec<Group>) {
        self.defer_unversioned = false;
        for (index, record) in std::mem::take(&mut self.deferred) {
            self.offer(trace, index, &record);
        }
        let stats = self.stats.finish(trace);
        let groups = self.groups.finish(trace, &stats, by);
        (stats, groups)
    }
}

fn ms(nanos: i64) -> String {
    format!("{:.3}", nanos as f64 / 1e6)
}

fn pct(x: f64) -> String {
    format!("{:.1} %", x * 100.0)
}

/// The text report of one capture.
/// `fanout` says whether broker fan-out was matched (else a line says how to ask for it).
pub fn text(label: &str, groups: &[Group], by: StatsBy, s: &Stats, fanout: bool) -> String {
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
    if !fanout {
        let _ = writeln!(out, "\nBroker fan-out: not matched (add --fanout)");
    } else if s.fanout.deliveries > 0 {
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

/// Analyses one capture into its statistics and groups: streaming unless the filter needs the
/// finished trace.
fn analyse(
    source: &input::CaptureSource,
    common: &Common,
    filter: &Filter,
    by: StatsBy,
    fanout: bool,
) -> (Analysed, Stats, Vec<Group>) {
    let timing = filter_timing(filter);
    let tap = StatsTap::new(filter, timing, by);
    let config = AnalyzerConfig {
        show_passwords: common.show_passwords,
        // Latency comes from the completions the packet callback sees; fan-out (asked for)
        // needs the deliveries. A filter judged at the end keeps packets and transactions.
        track_deliveries: fanout,
        retain_packets: timing == FilterTiming::AtTheEnd,
        retain_transactions: timing == FilterTiming::AtTheEnd,
        ..AnalyzerConfig::default()
    };
    let (a, tap) = if config.retain_packets {
        let a = input::analyse(source, common, config);
        let mut tap = tap;
        for (index, record) in (a.trace.packet_base..).zip(&a.trace.packets) {
            tap.offer(&a.trace, index, record);
        }
        (a, tap)
    } else {
        input::analyse_folding(source, common, config, tap, StatsTap::step)
    };
    let (stats, groups) = tap.finish(&a.trace, by);
    (a, stats, groups)
}

/// Runs `stats`.
pub fn run(
    common: &Common,
    input: &Input,
    format: Format,
    by: StatsBy,
    fanout: bool,
) -> Result<u8, CliError> {
    let mut analysed = Vec::new();
    let mut computed = Vec::new();
    for source in input::sources(input) {
        let (a, s, g) = analyse(&source, common, &input.filter, by, fanout);
        analysed.push(a);
        computed.push((s, g));
    }
    if let Some(errors) = input::open_errors(&mut analysed) {
        return finish_with_errors(errors);
    }
    let mut out = io::BufWriter::new(io::stdout().lock());
    match format {
        Format::Json => {
            let docs: Vec<StatsJson<'_>> = analysed
                .iter()
                .zip(&computed)
                .map(|(a, (s, g))| StatsJson {
                    capture: &a.label,
                    by: by_name(by),
                    groups: g,
                    stats: s,
                    fanout_computed: fanout,
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
            for (i, (a, (s, g))) in analysed.iter().zip(&computed).enumerate() {
                if i > 0 {
                    out.write_all(b"\n").map_err(stdout_err)?;
                }
                out.write_all(text(&a.label, g, by, s, fanout).as_bytes())
                    .map_err(stdout_err)?;
            }
        }
    }
    out.flush().map_err(stdout_err)?;
    drop(out);
    finish_with_errors(analysed.into_iter().filter_map(|a| a.error).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn timing(text: &str) -> FilterTiming {
        filter_timing(&Filter::parse(text).unwrap())
    }

    #[test]
    fn filters_on_the_packet_itself_are_applied_as_packets_are_analysed() {
        assert_eq!(timing(""), FilterTiming::AsAnalysed);
        assert_eq!(
            timing("mqtt.msgtype == PUBLISH && mqtt.topic contains \"a\" && tcp.port == 1883"),
            FilterTiming::AsAnalysed
        );
    }

    #[test]
    fn filters_reading_the_protocol_version_wait_for_records_without_one() {
        assert_eq!(timing("mqtt.qos == 1"), FilterTiming::AsAnalysedIfVersioned);
        assert_eq!(
            timing("mqtt.msgtype == PUBLISH || mqtt.ver == 5"),
            FilterTiming::AsAnalysedIfVersioned
        );
    }

    #[test]
    fn filters_on_what_the_whole_capture_settles_need_the_finished_trace() {
        for text in [
            "mqscope.anomaly",
            "mqscope.latency > 10",
            "mqscope.incomplete",
            "mqtt.clientid == \"x\"",
            "not (mqtt.qos == 1 and frame.time_relative < 2)",
        ] {
            assert_eq!(timing(text), FilterTiming::AtTheEnd, "{text}");
        }
    }
}
