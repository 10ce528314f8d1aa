//! The display filter and the export on a trace built by the real analyzer from real MQTT bytes
//! (an MQTT 3.1.1 session written byte by byte), so the model fields the filter and the tables
//! read are the ones the analyzer fills, not a hand-made imitation.

use dissector::analyze::{Analyzer, AnalyzerConfig, RawBytes};
use dissector::filter::Filter;
use dissector::input::*;
use dissector::model::Trace;

/// One MQTT 3.1.1 packet of the session: direction and bytes.
struct Step(Direction, &'static [u8]);

#[rustfmt::skip]
const SESSION: &[Step] = &[
    // CONNECT: "MQTT" level 4, flags 0xc2 (user name, password, clean session), keep alive 60,
    // client id "dev-1", user name "u", password "pw".
    Step(Direction::ToBroker, &[0x10, 0x18, 0x00, 0x04, b'M', b'Q', b'T', b'T', 0x04, 0xc2, 0x00, 0x3c,
        0x00, 0x05, b'd', b'e', b'v', b'-', b'1', 0x00, 0x01, b'u', 0x00, 0x02, b'p', b'w']),
    // CONNACK: session present 0, return code 0.
    Step(Direction::ToClient, &[0x20, 0x02, 0x00, 0x00]),
    // SUBSCRIBE id 1: "a/b" QoS 1, "c/#" QoS 0.
    Step(Direction::ToBroker, &[0x82, 0x0e, 0x00, 0x01, 0x00, 0x03, b'a', b'/', b'b', 0x01,
        0x00, 0x03, b'c', b'/', b'#', 0x00]),
    // SUBACK id 1: granted 1, failure 0x80.
    Step(Direction::ToClient, &[0x90, 0x04, 0x00, 0x01, 0x01, 0x80]),
    // PUBLISH QoS 1 id 2 "a/b" payload "hi", and its PUBACK.
    Step(Direction::ToBroker, &[0x32, 0x09, 0x00, 0x03, b'a', b'/', b'b', 0x00, 0x02, b'h', b'i']),
    Step(Direction::ToClient, &[0x40, 0x02, 0x00, 0x02]),
    // PUBLISH QoS 2 id 3 "a/b" payload "x": no PUBREC ever comes.
    Step(Direction::ToBroker, &[0x34, 0x08, 0x00, 0x03, b'a', b'/', b'b', 0x00, 0x03, b'x']),
];

/// Feeds the session to the analyzer, one packet per frame, 1 ms apart.
fn analyse(config: AnalyzerConfig) -> Trace {
    feed(Analyzer::new(config))
}

fn feed(mut analyzer: Analyzer) -> Trace {
    analyzer.event(StreamEvent::Opened(ConnectionOpened {
        stream: 0,
        client: "192.168.1.20:50000".parse().unwrap(),
        broker: "192.168.1.1:1883".parse().unwrap(),
        transport: Transport::Tcp,
        roles_from: RoleSource::Handshake,
        ts: Timestamp(0),
        frame: 1,
    }));
    let mut offsets = [0u64; 2];
    for (i, Step(dir, bytes)) in SESSION.iter().enumerate() {
        let frame = i as u64 + 4;
        let offset = &mut offsets[usize::from(*dir == Direction::ToClient)];
        analyzer.event(StreamEvent::Packet(MqttBytes {
            stream: 0,
            dir: *dir,
            ts: Timestamp(frame as i64 * 1_000_000),
            first_frame: frame,
            frame,
            stream_offset: *offset,
            tcp_seq: Some(0xffff_fff0_u32.wrapping_add(*offset as u32)),
            bytes,
            packet_len: bytes.len() as u64,
            truncated: false,
        }));
        *offset += bytes.len() as u64;
    }
    analyzer.finish(Timestamp(100_000_000))
}

fn frames(trace: &Trace, filter: &str) -> Vec<u64> {
    let filter = Filter::parse(filter).unwrap_or_else(|e| panic!("{filter}: {e}"));
    filter
        .matching_packets(trace)
        .into_iter()
        .map(|i| trace.packets[i].frame)
        .collect()
}

#[test]
fn filters_select_the_analysed_packets() {
    let trace = analyse(AnalyzerConfig::default());
    assert_eq!(trace.packets.len(), 7);
    assert_eq!(frames(&trace, "mqtt.msgtype == PUBLISH"), [8, 10]);
    assert_eq!(frames(&trace, "mqtt.qos == 2"), [10]);
    assert_eq!(
        frames(
            &trace,
            "mqtt.clientid == \"dev-1\" && mqtt.msgtype == CONNACK"
        ),
        [5]
    );
    assert_eq!(
        frames(&trace, "mqtt.username == u && mqtt.kalive == 60"),
        [4]
    );
    assert_eq!(frames(&trace, "ip.src == 192.168.1.1"), [5, 7, 9]);
    assert_eq!(
        frames(&trace, "tcp.dstport == 1883 && mqtt.msgid == 2"),
        [8]
    );
    assert_eq!(frames(&trace, "mqtt.msgid == 2"), [8, 9]);
    assert_eq!(frames(&trace, "mqscope.incomplete"), [10]);
    assert_eq!(frames(&trace, "mqscope.latency == 1"), [4, 5, 6, 7, 8, 9]);
    assert_eq!(frames(&trace, "mqscope.latency > 1"), Vec::<u64>::new());
    assert_eq!(
        frames(
            &trace,
            "mqtt.ver == 4 && mqtt.len == 2 && mqscope.dir == to_client"
        ),
        [5, 9]
    );
}

#[test]
fn without_raw_bytes_only_the_first_subscribe_filter_and_suback_code_are_known() {
    let trace = analyse(AnalyzerConfig::default());
    assert_eq!(frames(&trace, "mqtt.topic == \"a/b\""), [6, 8, 10]);
    assert_eq!(frames(&trace, "mqtt.topic == \"c/#\""), Vec::<u64>::new());
    assert_eq!(
        frames(&trace, "mqtt.reason_code == 0x80"),
        Vec::<u64>::new()
    );
}

#[test]
fn with_raw_bytes_every_subscribe_filter_and_suback_code_is_a_value() {
    // Bytes that can be rebuilt from frames are not kept, but those the filter decodes are.
    for raw_bytes in [RawBytes::All, RawBytes::UnlessRebuildable] {
        with_raw_bytes(raw_bytes);
    }
}

fn with_raw_bytes(raw_bytes: RawBytes) {
    let trace = analyse(AnalyzerConfig {
        raw_bytes,
        ..AnalyzerConfig::default()
    });
    assert_eq!(frames(&trace, "mqtt.topic == \"c/#\""), [6]);
    assert_eq!(
        frames(
            &trace,
            "mqtt.topic matches \"^c/\" && mqtt.topic == \"a/b\""
        ),
        [6]
    );
    assert_eq!(frames(&trace, "mqtt.reason_code == 0x80"), [7]);
    assert_eq!(frames(&trace, "mqtt.reason_code == 1"), [7]);
}

#[test]
fn streaming_output_filters_the_records_the_analyzer_does_not_keep() {
    use std::sync::{Arc, Mutex};
    let filter =
        Filter::parse("mqtt.topic == \"c/#\" || mqtt.msgtype == PUBACK || mqtt.clientid == nobody")
            .unwrap();
    let kept = Arc::new(Mutex::new(Vec::new()));
    let mut analyzer = Analyzer::new(AnalyzerConfig::streaming());
    let sink = Arc::clone(&kept);
    analyzer.set_packet_callback(Box::new(move |trace, packet| {
        if filter.matches_analyzed(trace, packet) {
            sink.lock().unwrap().push(packet.record.frame);
        }
    }));
    let trace = feed(analyzer);
    assert!(trace.packets.is_empty(), "streaming keeps no records");
    // The SUBSCRIBE matches on its second filter: the callback's bytes are decoded.
    assert_eq!(*kept.lock().unwrap(), [6, 9]);
}

#[test]
fn connections_filter_on_their_own_fields() {
    let trace = analyse(AnalyzerConfig::default());
    let connections = |f: &str| Filter::parse(f).unwrap().matching_connections(&trace);
    assert_eq!(
        connections("mqtt.clientid == \"dev-1\" && mqscope.incomplete"),
        [0]
    );
    assert_eq!(connections("ip.addr == 10.0.0.0/8"), Vec::<usize>::new());
}

#[cfg(feature = "export")]
mod export {
    use super::*;
    use dissector::export::{self, Format, Table};
    use polars::prelude::*;

    #[test]
    fn every_table_of_an_analysed_trace_is_written_and_read_back() {
        let trace = analyse(AnalyzerConfig::default());
        let dir = tempfile::tempdir().unwrap();
        let files = export::write_tables(&trace, dir.path(), Format::Parquet, None).unwrap();
        assert_eq!(files.len(), Table::ALL.len());
        let packets = files.iter().find(|f| f.table == Table::Packets).unwrap();
        let frame = ParquetReader::new(std::fs::File::open(&packets.path).unwrap())
            .finish()
            .unwrap();
        assert_eq!(frame.height(), 7);
        let types = frame
            .column("type")
            .unwrap()
            .as_materialized_series()
            .clone();
        assert_eq!(types.str().unwrap().get(0), Some("CONNECT"));
        assert_eq!(types.str().unwrap().get(6), Some("PUBLISH"));
        let transactions = files
            .iter()
            .find(|f| f.table == Table::Transactions)
            .unwrap();
        assert!(
            transactions.rows >= 3,
            "CONNECT, SUBSCRIBE, QoS 1 and QoS 2 flows: {}",
            transactions.rows
        );
    }

    #[test]
    fn the_password_stays_out_of_the_export_unless_the_analyzer_kept_it() {
        for (show, expected) in [(false, None), (true, Some("pw"))] {
            let trace = analyse(AnalyzerConfig {
                show_passwords: show,
                ..AnalyzerConfig::default()
            });
            let frame = export::table_frame(&trace, Table::Connections, None).unwrap();
            let password = frame
                .column("password")
                .unwrap()
                .as_materialized_series()
                .str()
                .unwrap()
                .get(0);
            assert_eq!(password, expected);
            let length = frame
                .column("password_len")
                .unwrap()
                .as_materialized_series()
                .u32()
                .unwrap()
                .get(0);
            assert_eq!(length, Some(2));
        }
    }

    #[test]
    fn a_filtered_export_writes_only_the_matching_packets() {
        let trace = analyse(AnalyzerConfig::default());
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("publishes.csv");
        let filter = Filter::parse("mqtt.msgtype == PUBLISH").unwrap();
        assert_eq!(
            export::write_table(&trace, Table::Packets, &path, Some(&filter)).unwrap(),
            2
        );
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text.lines().count(), 3, "{text}");
        assert!(
            text.lines().skip(1).all(|l| l.contains(",PUBLISH,")),
            "{text}"
        );
    }
}
