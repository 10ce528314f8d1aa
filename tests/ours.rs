//! Our side of the comparison: `dissector::framing` and `dissector::codec` on the same streams
//! (today, with tshark as the TCP layer), and a [`RowCollector`] for the capture pipeline's
//! events (our whole stack).

use std::collections::HashMap;

use capture::{CaptureSummary, Pipeline, PipelineConfig};

use dissector::codec::{self, DecodeError, Decoded, Packet, ProtocolVersion};
use dissector::framing::{self, Framing};
use dissector::input::{Direction, EventSink, StreamEvent};

use crate::captures::Capture;
use crate::oracle::{self, Cut, CutPacket};
use crate::rows::PacketRow;
use crate::tshark;

/// `dissector::framing` as a [`Cut`] function.
pub fn dissector_cut(buf: &[u8]) -> Cut {
    match framing::frame(buf) {
        Framing::Complete(header) => {
            usize::try_from(header.packet_len()).map_or(Cut::Invalid, Cut::Whole)
        }
        Framing::NeedBody(_) | Framing::NeedHeader => Cut::NeedMore,
        Framing::Invalid(_) => Cut::Invalid,
    }
}

/// Per-stream protocol version, learned from CONNECT as the analyzer would.
#[derive(Debug, Default)]
pub struct Versions {
    by_stream: HashMap<u32, ProtocolVersion>,
}

impl Versions {
    /// Decodes one whole packet of `stream` with the stream's version (or, before any CONNECT,
    /// with `decode_unknown_version`), remembering the version a CONNECT announces.
    pub fn decode<'a>(&mut self, stream: u32, bytes: &'a [u8]) -> Result<Decoded<'a>, DecodeError> {
        let decoded = match self.by_stream.get(&stream) {
            Some(version) => codec::decode(bytes, *version)?,
            None => codec::decode_unknown_version(bytes)?.0,
        };
        if let Packet::Connect(connect) = &decoded.packet
            && let Some(version) = ProtocolVersion::from_level(connect.protocol_level & 0x7f)
        {
            self.by_stream.insert(stream, version);
        }
        Ok(decoded)
    }
}

/// Builds the row of one packet: fixed-header fields from the bytes, the rest from our decoder.
/// A decode error keeps the fixed header and records the error.
pub fn row_from_bytes(
    versions: &mut Versions,
    frame: u64,
    stream: u32,
    to_broker: Option<bool>,
    bytes: &[u8],
) -> PacketRow {
    let (first_byte, remaining_length) = match framing::read_fixed_header(bytes) {
        Ok(Some(header)) => (header.first_byte, header.remaining_length),
        _ => (bytes.first().copied().unwrap_or(0), 0),
    };
    let mut row = PacketRow::header_only(frame, stream, first_byte, remaining_length);
    row.to_broker = to_broker;
    match versions.decode(stream, bytes) {
        Ok(decoded) => fill(&mut row, &decoded.packet),
        Err(e) => row.error = Some(format!("{e:?}")),
    }
    row
}

/// Copies packet id and topics from a decoded packet.
fn fill(row: &mut PacketRow, packet: &Packet<'_>) {
    row.packet_id = packet.packet_id();
    match packet {
        Packet::Publish(p) => row.topics = vec![p.topic.to_string_lossy().into_owned()],
        Packet::Subscribe(s) => {
            row.topics = s
                .filters
                .iter()
                .map(|(f, _)| f.to_string_lossy().into_owned())
                .collect();
        }
        Packet::Unsubscribe(u) => {
            row.topics = u
                .filters
                .iter()
                .map(|f| f.to_string_lossy().into_owned())
                .collect();
        }
        _ => {}
    }
}

/// Our codec on a capture, with tshark as the TCP / WebSocket layer: the payloads tshark
/// extracts, ordered and cut by `dissector::framing`, decoded by `dissector::codec`.
pub fn codec_rows(capture: &Capture) -> Vec<PacketRow> {
    let packets: Vec<CutPacket> =
        oracle::reassemble(&tshark::payload_chunks(capture), dissector_cut);
    let mut versions = Versions::default();
    packets
        .iter()
        .map(|p| {
            row_from_bytes(
                &mut versions,
                p.frame,
                p.stream,
                Some(p.to_broker),
                &p.bytes,
            )
        })
        .collect()
}

/// An [`EventSink`] that turns the capture pipeline's `Packet` events into rows, decoding each
/// with `dissector::codec` (a packet longer than the payload limit is decoded from its prefix).
#[derive(Debug, Default)]
pub struct RowCollector {
    /// The rows, in event order.
    pub rows: Vec<PacketRow>,
    versions: Versions,
}

impl EventSink for RowCollector {
    fn event(&mut self, event: StreamEvent<'_>) {
        let StreamEvent::Packet(packet) = event else {
            return;
        };
        let to_broker = Some(packet.dir == Direction::ToBroker);
        let row = if packet.truncated {
            let (first_byte, remaining_length) = match framing::read_fixed_header(packet.bytes) {
                Ok(Some(header)) => (header.first_byte, header.remaining_length),
                _ => (packet.bytes.first().copied().unwrap_or(0), 0),
            };
            let mut row =
                PacketRow::header_only(packet.frame, packet.stream, first_byte, remaining_length);
            row.to_broker = to_broker;
            let version = self
                .versions
                .by_stream
                .get(&packet.stream)
                .copied()
                .unwrap_or(ProtocolVersion::V3_1_1);
            match codec::decode_partial(packet.bytes, packet.packet_len, version) {
                Ok(decoded) => fill(&mut row, &decoded.packet),
                Err(e) => row.error = Some(format!("{e:?}")),
            }
            row
        } else {
            row_from_bytes(
                &mut self.versions,
                packet.frame,
                packet.stream,
                to_broker,
                packet.bytes,
            )
        };
        self.rows.push(row);
    }
}

/// The pipeline configuration a user would give for this capture: the defaults plus its MQTT
/// port (`--mqtt-port`), WebSocket port or TLS port.
pub fn configured_for(capture: &Capture) -> PipelineConfig {
    let mut config = PipelineConfig::default();
    let ports = if capture.tls_keylog.is_some() {
        &mut config.tls_ports
    } else if capture.websocket {
        &mut config.ws_ports
    } else {
        &mut config.mqtt_ports
    };
    if !ports.contains(&capture.mqtt_port) {
        ports.push(capture.mqtt_port);
    }
    config
}

/// Our whole stack on a capture: `capture::Pipeline` with `config`, every MQTT packet decoded by
/// `dissector::codec`. Panics (naming the capture) when the file cannot be read.
pub fn pipeline_rows(
    capture: &Capture,
    config: PipelineConfig,
) -> (Vec<PacketRow>, CaptureSummary) {
    let mut sink = RowCollector::default();
    let mut pipeline = Pipeline::new(config);
    let summary = pipeline
        .run_file(&capture.path, &mut sink, None)
        .unwrap_or_else(|e| panic!("pipeline on {}: {e}", capture.name));
    (sink.rows, summary)
}

/// Our flow model of a capture: `capture::Pipeline` (port configured) feeding
/// `dissector::analyze::Analyzer` with its default configuration, finished at the capture's
/// last frame.
pub fn analyze(capture: &Capture) -> dissector::model::Trace {
    use dissector::analyze::{Analyzer, AnalyzerConfig};
    let mut analyzer = Analyzer::new(AnalyzerConfig::default());
    let mut pipeline = Pipeline::new(configured_for(capture));
    let summary = pipeline
        .run_file(&capture.path, &mut analyzer, None)
        .unwrap_or_else(|e| panic!("pipeline on {}: {e}", capture.name));
    analyzer.finish(summary.last_ts.unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;
    use dissector::input::{MqttBytes, Timestamp};

    fn event(stream: u32, frame: u64, bytes: &[u8]) -> StreamEvent<'_> {
        StreamEvent::Packet(MqttBytes {
            stream,
            dir: Direction::ToBroker,
            ts: Timestamp(0),
            first_frame: frame,
            frame,
            stream_offset: 0,
            tcp_seq: None,
            bytes,
            packet_len: bytes.len() as u64,
            truncated: false,
        })
    }

    #[test]
    fn the_collector_decodes_with_the_version_connect_announced() {
        // CONNECT v5 (client id "c"), then a v5 SUBSCRIBE id 7 with an empty property block.
        let connect = [
            0x10, 0x0e, 0x00, 0x04, b'M', b'Q', b'T', b'T', 0x05, 0x02, 0x00, 0x3c, 0x00, 0x00,
            0x01, b'c',
        ];
        let subscribe = [0x82, 0x07, 0x00, 0x07, 0x00, 0x00, 0x01, b'x', 0x01];
        let mut sink = RowCollector::default();
        sink.event(event(0, 4, &connect));
        sink.event(event(0, 6, &subscribe));
        let subscribe_row = &sink.rows[1];
        assert_eq!(subscribe_row.error, None);
        assert_eq!(subscribe_row.packet_id, Some(7));
        assert_eq!(subscribe_row.topics, ["x"]);
        assert_eq!(subscribe_row.frame, 6);
    }

    #[test]
    fn framing_answers_map_onto_cuts() {
        assert_eq!(dissector_cut(&[0xc0, 0x00]), Cut::Whole(2));
        assert_eq!(dissector_cut(&[0x30, 0x82]), Cut::NeedMore);
        assert_eq!(
            dissector_cut(&[0x30, 0xff, 0xff, 0xff, 0xff, 0x01]),
            Cut::Invalid
        );
    }
}
