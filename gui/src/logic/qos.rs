//! The QoS view's table model: the dissector's completeness report (the same one
//! `mqscope check` prints) as rows, each knowing which packet to jump to.

use dissector::analyze::{QosReport, StateCounts, qos_report};
use dissector::model::Trace;

/// One row of the QoS table.
#[derive(Debug, Clone, PartialEq)]
pub struct QosRow {
    /// Cells: stream, client id, kind, packet id, topic, seen, missing, how it ended.
    pub cells: [String; 8],
    /// The report's one-line description (tooltip).
    pub description: String,
    /// `tcp.stream` and frame of the exchange's first packet, to jump to.
    pub jump: Option<(u32, u64)>,
    /// True for failures by reason code (an answer, not a gap).
    pub failed: bool,
}

/// The report as the view shows it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct QosTable {
    /// Summary line.
    pub summary: String,
    /// Unfinished exchanges first, then failed ones.
    pub rows: Vec<QosRow>,
}

fn counts(name: &str, c: &StateCounts) -> Option<String> {
    (c.total() > 0).then(|| {
        let mut s = format!(
            "{name}: {} complete, {} incomplete",
            c.complete,
            c.incomplete()
        );
        if c.failed > 0 {
            s.push_str(&format!(", {} failed", c.failed));
        }
        if c.out_of_order + c.response_without_request > 0 {
            s.push_str(&format!(
                ", {} out of order",
                c.out_of_order + c.response_without_request
            ));
        }
        s
    })
}

impl QosTable {
    /// Builds the table from the trace's report.
    pub fn of(trace: &Trace) -> QosTable {
        QosTable::from_report(&qos_report(trace))
    }

    /// Builds the table from a report.
    pub fn from_report(report: &QosReport) -> QosTable {
        let t = &report.total;
        let parts: Vec<String> = [
            counts("QoS 1", &t.qos1),
            counts("QoS 2", &t.qos2),
            counts("requests", &t.requests),
        ]
        .into_iter()
        .flatten()
        .collect();
        let summary = if parts.is_empty() {
            "No QoS 1/2 flows or requests.".to_string()
        } else {
            format!(
                "PUBLISH QoS 0/1/2: {}/{}/{} · {}",
                t.publishes[0],
                t.publishes[1],
                t.publishes[2],
                parts.join(" · ")
            )
        };
        let mut rows: Vec<QosRow> = report
            .incomplete
            .iter()
            .map(|f| QosRow {
                cells: [
                    f.stream.to_string(),
                    f.client_id.clone(),
                    f.kind.clone(),
                    f.packet_id.map_or(String::new(), |p| p.to_string()),
                    f.topic.clone().unwrap_or_default(),
                    f.seen.join(" → "),
                    f.missing.join(" → "),
                    f.ended_by.clone(),
                ],
                description: f.description.clone(),
                jump: f.frames.first().map(|&fr| (f.stream, fr)),
                failed: false,
            })
            .collect();
        rows.extend(report.failed.iter().map(|f| QosRow {
            cells: [
                f.stream.to_string(),
                f.client_id.clone(),
                f.kind.clone(),
                f.packet_id.map_or(String::new(), |p| p.to_string()),
                f.topic.clone().unwrap_or_default(),
                f.seen.join(" → "),
                String::new(),
                format!("failed 0x{:02x}", f.reason_code),
            ],
            description: format!(
                "{} answered with reason code 0x{:02x}",
                f.kind, f.reason_code
            ),
            jump: f.frames.first().map(|&fr| (f.stream, fr)),
            failed: true,
        }));
        QosTable { summary, rows }
    }
}

/// The first packet of connection `stream` in frame `frame` (the report names frames).
pub fn packet_in_frame(trace: &Trace, stream: u32, frame: u64) -> Option<u64> {
    let conn = trace.connection_index_of_stream(stream)?;
    trace
        .packets
        .iter()
        .position(|p| p.frame == frame && p.conn as usize == conn)
        .map(|i| trace.packet_base + i as u64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::logic::test_trace::sample_trace;
    use dissector::codec::PacketType;
    use dissector::input::{Direction, Timestamp};
    use dissector::model::{ClosedBy, Transaction, TxKind, TxState, TxStep};

    fn tx(kind: TxKind, state: TxState, steps: &[(u64, PacketType)]) -> Transaction {
        Transaction {
            kind,
            conn: 0,
            dir: Direction::ToBroker,
            packet_id: Some(7),
            qos: 2,
            topic: None,
            steps: steps
                .iter()
                .map(|&(p, t)| TxStep {
                    packet: p,
                    packet_type: t,
                    dir: Direction::ToBroker,
                    frame: p + 1,
                    ts: Timestamp(0),
                })
                .collect(),
            retransmissions: vec![],
            state,
            ended_by: Some(ClosedBy::Rst),
            ended_ts: None,
            latency_nanos: None,
            reason_codes: vec![],
        }
    }

    #[test]
    fn unfinished_and_failed_exchanges_become_rows_that_jump_to_their_first_packet() {
        let mut trace = sample_trace();
        trace.transactions.push(tx(
            TxKind::Qos1,
            TxState::Complete,
            &[(2, PacketType::Publish), (4, PacketType::PubAck)],
        ));
        trace.transactions.push(tx(
            TxKind::Qos2,
            TxState::IncompleteAtClose,
            &[(2, PacketType::Publish)],
        ));
        trace.transactions.push(tx(
            TxKind::Subscribe,
            TxState::Failed(0x80),
            &[(0, PacketType::Subscribe)],
        ));
        let table = QosTable::of(&trace);
        assert_eq!(table.rows.len(), 2);
        let open = &table.rows[0];
        assert!(!open.failed);
        assert_eq!(open.cells[1], "dev-1");
        assert_eq!(open.cells[5], "PUBLISH");
        assert_eq!(open.cells[6], "PUBREC → PUBREL → PUBCOMP");
        assert_eq!(open.jump, Some((0, 3)));
        assert_eq!(packet_in_frame(&trace, 0, 3), Some(2));
        assert!(table.rows[1].failed);
        assert_eq!(table.rows[1].cells[7], "failed 0x80");
        assert!(
            table.summary.contains("QoS 2: 0 complete, 1 incomplete"),
            "{}",
            table.summary
        );
    }

    #[test]
    fn frames_of_other_connections_do_not_match() {
        let trace = sample_trace();
        // Frame 4 holds packet 3, which is on stream 1.
        assert_eq!(packet_in_frame(&trace, 0, 4), None);
        assert_eq!(packet_in_frame(&trace, 1, 4), Some(3));
        assert_eq!(packet_in_frame(&trace, 9, 4), None);
    }
}
