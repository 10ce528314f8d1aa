//! The QoS view's table model: which transactions did not complete, and how each is described.

use dissector::model::{Trace, Transaction, TxKind, TxState};

/// Counts per transaction kind: (complete, not complete).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QosSummary {
    /// (kind, complete, unfinished, failed) for each kind that occurs.
    pub per_kind: Vec<(TxKind, usize, usize, usize)>,
}

impl QosSummary {
    /// Counts the trace's transactions.
    pub fn of(trace: &Trace) -> QosSummary {
        let mut per_kind = Vec::new();
        for kind in TxKind::ALL {
            let (mut ok, mut open, mut failed) = (0, 0, 0);
            for t in trace.transactions.iter().filter(|t| t.kind == kind) {
                match t.state {
                    TxState::Complete => ok += 1,
                    TxState::Failed(_) => failed += 1,
                    _ => open += 1,
                }
            }
            if ok + open + failed > 0 {
                per_kind.push((kind, ok, open, failed));
            }
        }
        QosSummary { per_kind }
    }

    /// One line: "qos1: 10 complete, 2 unfinished · qos2: …".
    pub fn text(&self) -> String {
        if self.per_kind.is_empty() {
            return "No transactions.".into();
        }
        self.per_kind
            .iter()
            .map(|(k, ok, open, failed)| {
                let mut s = format!("{}: {ok} complete, {open} unfinished", k.as_str());
                if *failed > 0 {
                    s.push_str(&format!(", {failed} failed"));
                }
                s
            })
            .collect::<Vec<_>>()
            .join(" · ")
    }
}

/// Indexes of the transactions that did not complete normally (incomplete, out of order,
/// response without request), in trace order. Failures by reason code are answers, not gaps,
/// and are counted in the summary instead.
pub fn unfinished(trace: &Trace) -> Vec<usize> {
    trace
        .transactions
        .iter()
        .enumerate()
        .filter(|(_, t)| !matches!(t.state, TxState::Complete | TxState::Failed(_)))
        .map(|(i, _)| i)
        .collect()
}

/// The cells of an unfinished transaction's row: stream, client id, kind, packet id, topic,
/// seen, missing, state.
pub fn transaction_cells(trace: &Trace, tx: &Transaction) -> [String; 8] {
    let join = |it: &mut dyn Iterator<Item = dissector::codec::PacketType>| {
        it.map(|t| t.name()).collect::<Vec<_>>().join(" → ")
    };
    [
        trace
            .connection(tx.conn as usize)
            .map_or(String::new(), |c| c.stream.to_string()),
        trace.client_id_of(tx.conn as usize).to_string(),
        tx.kind.as_str().to_string(),
        tx.packet_id.map_or(String::new(), |p| p.to_string()),
        trace.opt_str(tx.topic).unwrap_or("").to_string(),
        join(&mut tx.seen()),
        join(&mut tx.missing().iter().copied()),
        match tx.ended_by {
            Some(b) => format!("{} ({})", tx.state.as_str(), b.as_str()),
            None => tx.state.as_str().to_string(),
        },
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::logic::test_trace::sample_trace;
    use dissector::codec::PacketType;
    use dissector::input::{Direction, Timestamp};
    use dissector::model::{ClosedBy, TxStep};

    fn tx(kind: TxKind, state: TxState, steps: &[PacketType]) -> Transaction {
        Transaction {
            kind,
            conn: 0,
            dir: Direction::ToBroker,
            packet_id: Some(7),
            qos: 2,
            topic: None,
            steps: steps
                .iter()
                .map(|&t| TxStep {
                    packet: 2,
                    packet_type: t,
                    dir: Direction::ToBroker,
                    frame: 3,
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
    fn only_unanswered_exchanges_are_listed_and_described() {
        let mut trace = sample_trace();
        trace.transactions.push(tx(
            TxKind::Qos1,
            TxState::Complete,
            &[PacketType::Publish, PacketType::PubAck],
        ));
        trace.transactions.push(tx(
            TxKind::Qos2,
            TxState::IncompleteAtClose,
            &[PacketType::Publish, PacketType::PubRec],
        ));
        trace.transactions.push(tx(
            TxKind::Subscribe,
            TxState::Failed(0x80),
            &[PacketType::Subscribe, PacketType::SubAck],
        ));
        assert_eq!(unfinished(&trace), vec![1]);
        let cells = transaction_cells(&trace, &trace.transactions[1]);
        assert_eq!(cells[1], "dev-1");
        assert_eq!(cells[5], "PUBLISH → PUBREC");
        assert_eq!(cells[6], "PUBREL → PUBCOMP");
        assert_eq!(cells[7], "incomplete_at_close (rst)");
        let s = QosSummary::of(&trace);
        assert_eq!(
            s.text(),
            "subscribe: 0 complete, 0 unfinished, 1 failed · qos1: 1 complete, 0 unfinished · qos2: 0 complete, 1 unfinished"
        );
    }
}
