//! The QoS completeness report: per connection and in total, counts per QoS and state, and every
//! flow that did not complete, with where it stopped. Its JSON is the `incomplete_flows` part of
//! the check report (shared/ARCHITECTURE.md).

use crate::model::{ClosedBy, Trace, Transaction, TxKind, TxState};

/// Counts of transactions by state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct StateCounts {
    /// Complete.
    pub complete: u64,
    /// Cut by the connection's end.
    pub incomplete_at_close: u64,
    /// Cut by the capture's end (or still in flight).
    pub incomplete_at_capture_end: u64,
    /// Answered with a failure reason code.
    pub failed: u64,
    /// Steps out of order.
    pub out_of_order: u64,
    /// Responses with no request.
    pub response_without_request: u64,
}

impl StateCounts {
    fn add(&mut self, state: TxState) {
        match state {
            TxState::Complete => self.complete += 1,
            TxState::IncompleteAtClose => self.incomplete_at_close += 1,
            TxState::InFlight | TxState::IncompleteAtCaptureEnd => {
                self.incomplete_at_capture_end += 1
            }
            TxState::Failed(_) => self.failed += 1,
            TxState::OutOfOrder => self.out_of_order += 1,
            TxState::ResponseWithoutRequest => self.response_without_request += 1,
        }
    }
    /// All transactions counted.
    pub fn total(&self) -> u64 {
        self.complete
            + self.incomplete_at_close
            + self.incomplete_at_capture_end
            + self.failed
            + self.out_of_order
            + self.response_without_request
    }
    /// Not completed (cut by close or capture end).
    pub fn incomplete(&self) -> u64 {
        self.incomplete_at_close + self.incomplete_at_capture_end
    }
}

/// PUBLISH counts per QoS and the states of QoS 1 and QoS 2 flows (plus the other exchanges).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct QosCounts {
    /// PUBLISH packets with QoS 0, 1, 2 (retransmissions included; QoS 3 not counted).
    pub publishes: [u64; 3],
    /// QoS 1 flows by state.
    pub qos1: StateCounts,
    /// QoS 2 flows by state.
    pub qos2: StateCounts,
    /// Other exchanges (connect, subscribe, unsubscribe, ping, auth) by state.
    pub requests: StateCounts,
}

impl QosCounts {
    fn add_tx(&mut self, tx: &Transaction) {
        match tx.kind {
            TxKind::Qos1 => self.qos1.add(tx.state),
            TxKind::Qos2 => self.qos2.add(tx.state),
            _ => self.requests.add(tx.state),
        }
    }
}

/// The QoS picture of one connection.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ConnectionQos {
    /// `tcp.stream`.
    pub stream: u32,
    /// Client id ("" when unknown).
    pub client_id: String,
    /// Counts.
    pub counts: QosCounts,
}

/// A flow that did not complete, and where it stopped.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct IncompleteFlow {
    /// `tcp.stream`.
    pub stream: u32,
    /// Client id ("" when unknown).
    pub client_id: String,
    /// Direction of its PUBLISH or request ("to_broker" / "to_client").
    pub dir: String,
    /// "qos1", "qos2", "subscribe", "unsubscribe", "connect", "ping" or "auth".
    pub kind: String,
    /// Packet id, when the exchange has one.
    pub packet_id: Option<u16>,
    /// PUBLISH QoS (0 for requests).
    pub qos: u8,
    /// Topic (PUBLISH) or first filter.
    pub topic: Option<String>,
    /// Packet types seen, in order.
    pub seen: Vec<String>,
    /// Packet types still owed.
    pub missing: Vec<String>,
    /// Frames of the packets seen.
    pub frames: Vec<u64>,
    /// How the connection ended: "disconnect", "fin", "rst", "idle", "keepalive", "capture_end".
    pub ended_by: String,
    /// Time of the last step.
    pub last_ts: f64,
    /// Seconds from the last step to the end.
    pub ended_after_secs: Option<f64>,
    /// Human summary, e.g. "QoS 2 PUBLISH id 7 to_broker: PUBREC seen, PUBREL never sent;
    /// connection reset 2.1 s later".
    pub description: String,
}

/// A flow answered with a failure reason code (e.g. PUBACK 0x87 Not authorized).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct FailedFlow {
    /// `tcp.stream`.
    pub stream: u32,
    /// Client id ("" when unknown).
    pub client_id: String,
    /// Direction of its PUBLISH or request.
    pub dir: String,
    /// "qos1", "qos2", "subscribe", "unsubscribe", "connect", "ping" or "auth".
    pub kind: String,
    /// Packet id, when the exchange has one.
    pub packet_id: Option<u16>,
    /// PUBLISH QoS (0 for requests).
    pub qos: u8,
    /// Topic (PUBLISH) or first filter.
    pub topic: Option<String>,
    /// Packet types seen, in order.
    pub seen: Vec<String>,
    /// Frames of the packets seen.
    pub frames: Vec<u64>,
    /// The failure reason code.
    pub reason_code: u8,
}

/// The QoS completeness report.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct QosReport {
    /// Totals over every connection.
    pub total: QosCounts,
    /// One entry per connection, in trace order.
    pub connections: Vec<ConnectionQos>,
    /// Every flow not completed, in order of its first packet.
    pub incomplete: Vec<IncompleteFlow>,
    /// Every flow ended by a failure reason code, in order of its first packet.
    pub failed: Vec<FailedFlow>,
}

/// Builds the QoS completeness report of a trace.
pub fn qos_report(trace: &Trace) -> QosReport {
    let mut report = QosReport {
        total: QosCounts::default(),
        connections: trace
            .connections
            .iter()
            .enumerate()
            .map(|(i, c)| ConnectionQos {
                stream: c.stream,
                client_id: trace.client_id_of(i).to_owned(),
                counts: QosCounts::default(),
            })
            .collect(),
        incomplete: Vec::new(),
        failed: Vec::new(),
    };
    // From the connections' counters, so a trace analysed without packet records counts too.
    for (c, counts) in trace.connections.iter().zip(report.connections.iter_mut()) {
        for q in 0..3 {
            let n = c.to_broker.publishes[q] + c.to_client.publishes[q];
            counts.counts.publishes[q] += n;
            report.total.publishes[q] += n;
        }
    }
    let mut incomplete: Vec<(u64, IncompleteFlow)> = Vec::new();
    let mut failed: Vec<(u64, FailedFlow)> = Vec::new();
    for tx in &trace.transactions {
        report.total.add_tx(tx);
        if let Some(c) = report.connections.get_mut(tx.conn as usize) {
            c.counts.add_tx(tx);
        }
        let first = tx.steps.first().map_or(0, |s| s.packet);
        if tx.state.is_incomplete() {
            incomplete.push((first, incomplete_flow(trace, tx)));
        }
        if let TxState::Failed(reason_code) = tx.state {
            failed.push((first, failed_flow(trace, tx, reason_code)));
        }
    }
    failed.sort_by_key(|(k, _)| *k);
    report.failed = failed.into_iter().map(|(_, f)| f).collect();
    incomplete.sort_by_key(|(k, _)| *k);
    report.incomplete = incomplete.into_iter().map(|(_, f)| f).collect();
    report
}

fn incomplete_flow(trace: &Trace, tx: &Transaction) -> IncompleteFlow {
    let conn = trace.connection(tx.conn as usize);
    let seen: Vec<String> = tx.seen().map(|t| t.name().to_owned()).collect();
    let missing: Vec<String> = tx.missing().iter().map(|t| t.name().to_owned()).collect();
    let ended_by = tx.ended_by.map_or("capture_end", |e| e.as_str()).to_owned();
    let last_ts = tx.steps.last().map(|s| s.ts);
    let ended_after = match (tx.ended_ts, last_ts) {
        (Some(e), Some(l)) => Some(e.nanos_since(l) as f64 / 1e9),
        _ => None,
    };
    IncompleteFlow {
        stream: conn.map_or(0, |c| c.stream),
        client_id: trace.client_id_of(tx.conn as usize).to_owned(),
        dir: tx.dir.as_str().to_owned(),
        kind: tx.kind.as_str().to_owned(),
        packet_id: tx.packet_id,
        qos: tx.qos,
        topic: trace.opt_str(tx.topic).map(str::to_owned),
        frames: tx.steps.iter().map(|s| s.frame).collect(),
        description: describe(tx, ended_after),
        seen,
        missing,
        ended_by,
        last_ts: last_ts.map_or(0.0, |t| t.as_secs_f64()),
        ended_after_secs: ended_after,
    }
}

fn failed_flow(trace: &Trace, tx: &Transaction, reason_code: u8) -> FailedFlow {
    FailedFlow {
        stream: trace.connection(tx.conn as usize).map_or(0, |c| c.stream),
        client_id: trace.client_id_of(tx.conn as usize).to_owned(),
        dir: tx.dir.as_str().to_owned(),
        kind: tx.kind.as_str().to_owned(),
        packet_id: tx.packet_id,
        qos: tx.qos,
        topic: trace.opt_str(tx.topic).map(str::to_owned),
        seen: tx.seen().map(|t| t.name().to_owned()).collect(),
        frames: tx.steps.iter().map(|s| s.frame).collect(),
        reason_code,
    }
}

/// "QoS 2 PUBLISH id 7 to_broker: PUBREC seen, PUBREL never sent; connection reset 2.1 s later".
fn describe(tx: &Transaction, ended_after: Option<f64>) -> String {
    let what = match tx.kind {
        TxKind::Qos1 => "QoS 1 PUBLISH".to_owned(),
        TxKind::Qos2 => "QoS 2 PUBLISH".to_owned(),
        other => other.steps().first().map_or("?", |t| t.name()).to_owned(),
    };
    let id = tx.packet_id.map(|p| format!(" id {p}")).unwrap_or_default();
    let last = tx.steps.last().map_or("nothing", |s| s.packet_type.name());
    let next = tx.missing().first().map_or("?", |t| t.name());
    let ending = match tx.ended_by {
        Some(ClosedBy::Disconnect { .. }) => "DISCONNECT",
        Some(ClosedBy::Fin) => "connection closed (FIN)",
        Some(ClosedBy::Rst) => "connection reset",
        Some(ClosedBy::IdleTimeout) => "connection idle",
        Some(ClosedBy::KeepAliveExpiry) => "keep alive expired",
        Some(ClosedBy::CaptureEnd) | None => "capture ended",
    };
    let later = ended_after
        .map(|s| format!(" {s:.1} s later"))
        .unwrap_or_default();
    format!(
        "{what}{id} {}: {last} seen, {next} never sent; {ending}{later}",
        tx.dir.as_str()
    )
}
