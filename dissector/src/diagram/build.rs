//! Building a [`Diagram`] from a [`Trace`]: one arrow per retained packet of the chosen
//! connections, a group per transaction, notes for gaps and closes.

use std::collections::HashMap;

use super::{Diagram, Mark, Message, Note, Side};
use crate::codec::PacketType;
use crate::input::{Direction, Timestamp};
use crate::model::{
    AnomalyCode, ClosedBy, PacketRecord, Severity, Trace, Transaction, TxKind, TxState,
};

/// The diagram of the connections `conns` (indexes into [`Trace::connections`]), one after
/// another; `include` picks the packets drawn (a display filter), given each packet's index.
/// Times are seconds since the first connection opened.
pub fn connections(
    trace: &Trace,
    conns: &[usize],
    include: &dyn Fn(u64, &PacketRecord) -> bool,
) -> Diagram {
    let mut diagram = Diagram::default();
    let Some(first) = conns.first().and_then(|&c| trace.connection(c)) else {
        return diagram;
    };
    let origin = first.opened_ts;
    diagram.title = conns
        .iter()
        .map(|&c| title(trace, c))
        .collect::<Vec<_>>()
        .join(" | ");
    diagram.client = match conns.len() {
        1 => format!("client {}", first.client),
        _ => "client".to_string(),
    };
    diagram.broker = format!("broker {}", first.broker);
    for &conn in conns {
        append_connection(&mut diagram, trace, conn, origin, conns.len() > 1, include);
    }
    diagram.assign_lanes();
    diagram
}

/// The diagram of one connection.
pub fn connection(
    trace: &Trace,
    conn: usize,
    include: &dyn Fn(u64, &PacketRecord) -> bool,
) -> Diagram {
    connections(trace, &[conn], include)
}

/// `stream 3 · "sensor-17" · MQTT 5.0`.
fn title(trace: &Trace, conn: usize) -> String {
    let Some(c) = trace.connection(conn) else {
        return String::new();
    };
    let mut parts = vec![format!("stream {}", c.stream)];
    if let Some(id) = trace.opt_str(c.client_id) {
        // Escaped as the arrow labels are: the client id is wire data, and the title reaches
        // terminals, SVG and Mermaid alike (each also escapes its own syntax).
        parts.push(format!("\"{}\"", id.escape_debug()));
    }
    if let Some(v) = c.version {
        parts.push(format!(
            "MQTT {}{}",
            v.name(),
            if c.version_inferred {
                " (inferred)"
            } else {
                ""
            }
        ));
    }
    parts.join(" · ")
}

fn seconds(ts: Timestamp, origin: Timestamp) -> f64 {
    ts.nanos_since(origin) as f64 / 1e9
}

fn append_connection(
    diagram: &mut Diagram,
    trace: &Trace,
    conn: usize,
    origin: Timestamp,
    announce: bool,
    include: &dyn Fn(u64, &PacketRecord) -> bool,
) {
    let Some(c) = trace.connection(conn) else {
        return;
    };
    if announce {
        diagram.push_note(Note {
            t: seconds(c.opened_ts, origin),
            frame: c.opened_frame,
            text: format!("stream {} opened from {}", c.stream, c.client),
            mark: Mark::None,
        });
    }
    let mut row_of_packet: HashMap<u64, usize> = HashMap::new();
    // Anomalies not tied to a packet (gaps, keep-alive lapses) become notes, merged in by time;
    // MQ-NO-DISCONNECT is what the close note says already.
    let mut loose: Vec<&crate::model::Anomaly> = trace
        .anomalies_of_connection(conn)
        .filter(|a| a.packet.is_none() && a.code != AnomalyCode::ClosedWithoutDisconnect)
        .collect();
    loose.sort_by_key(|a| (a.ts, a.frame));
    let mut loose = loose.into_iter().peekable();
    for (idx, rec) in trace.packets_of_connection(conn) {
        if !include(idx, rec) {
            continue;
        }
        while let Some(a) = loose.next_if(|a| a.frame < rec.frame) {
            diagram.push_note(anomaly_note(a, origin));
        }
        let mut message = Message::new(
            seconds(rec.ts, origin),
            rec.frame,
            match rec.dir {
                Direction::ToBroker => Side::Client,
                Direction::ToClient => Side::Broker,
            },
            packet_label(trace, rec),
        );
        for a in trace.anomalies_of_packet(idx) {
            message.anomalies.push(a.code.code().to_string());
            message.mark = message.mark.max(severity_mark(a.severity));
        }
        row_of_packet.insert(idx, diagram.push_message(message));
    }
    for a in loose {
        diagram.push_note(anomaly_note(a, origin));
    }
    if let (Some(ts), Some(how)) = (c.closed_ts, c.closed_by) {
        let frame = c.closed_frame.unwrap_or_default();
        let side = c
            .closed_side
            .map_or(String::new(), |d| format!(" from the {}", d.sender()));
        let (text, mark) = match how {
            ClosedBy::Disconnect { dir, reason_code } => (
                format!(
                    "closed after DISCONNECT from the {} (reason 0x{reason_code:02x})",
                    dir.sender()
                ),
                Mark::None,
            ),
            ClosedBy::Fin => (
                format!("closed by TCP FIN{side} without DISCONNECT"),
                Mark::Warning,
            ),
            ClosedBy::Rst => (
                format!("reset by TCP RST{side} without DISCONNECT"),
                Mark::Warning,
            ),
            ClosedBy::IdleTimeout => ("idle timeout: no more segments".to_string(), Mark::Warning),
            ClosedBy::KeepAliveExpiry => (
                "keep alive expired, connection went silent".to_string(),
                Mark::Warning,
            ),
            ClosedBy::CaptureEnd => (
                "capture ended with the connection open".to_string(),
                Mark::None,
            ),
        };
        diagram.push_note(Note {
            t: seconds(ts, origin),
            frame,
            text,
            mark,
        });
    }
    for (_, tx) in trace.transactions_of_connection(conn) {
        let rows: Vec<usize> = tx
            .steps
            .iter()
            .filter_map(|s| row_of_packet.get(&s.packet).copied())
            .collect();
        if rows.len() < 2 && tx.state == TxState::Complete && tx.kind == TxKind::Ping {
            continue;
        }
        let (complete, status) = group_status(tx);
        diagram.push_group(group_label(tx), &rows, complete, status);
    }
}

fn anomaly_note(a: &crate::model::Anomaly, origin: Timestamp) -> Note {
    Note {
        t: seconds(a.ts, origin),
        frame: a.frame,
        text: format!(
            "{} {}",
            a.code.code(),
            if a.code == AnomalyCode::TcpGap {
                &a.message
            } else {
                a.code.title()
            }
        ),
        mark: severity_mark(a.severity),
    }
}

fn severity_mark(s: Severity) -> Mark {
    match s {
        Severity::Note => Mark::Note,
        Severity::Warning => Mark::Warning,
        Severity::Error => Mark::Error,
    }
}

/// `QoS 2 id=7`, `SUBSCRIBE id=3`, `CONNECT`, `PING`, `AUTH`.
pub fn group_label(tx: &Transaction) -> String {
    let id = tx
        .packet_id
        .map(|id| format!(" id={id}"))
        .unwrap_or_default();
    let base = match tx.kind {
        TxKind::Qos1 => format!("QoS 1{id}"),
        TxKind::Qos2 => format!("QoS 2{id}"),
        TxKind::Subscribe => format!("SUBSCRIBE{id}"),
        TxKind::Unsubscribe => format!("UNSUBSCRIBE{id}"),
        TxKind::Connect => "CONNECT".to_string(),
        TxKind::Ping => "PING".to_string(),
        TxKind::Auth => "AUTH".to_string(),
    };
    let dir = match (tx.kind, tx.dir) {
        (TxKind::Qos1 | TxKind::Qos2, Direction::ToBroker) => " →",
        (TxKind::Qos1 | TxKind::Qos2, Direction::ToClient) => " ←",
        _ => "",
    };
    format!("{base}{dir}")
}

/// Whether the exchange finished, and what went wrong when it did not.
pub fn group_status(tx: &Transaction) -> (bool, String) {
    let missing = || {
        tx.missing()
            .iter()
            .map(|t| t.name())
            .collect::<Vec<_>>()
            .join(", ")
    };
    match tx.state {
        TxState::Complete => (true, String::new()),
        TxState::Failed(rc) => (true, format!("failed with reason 0x{rc:02x}")),
        TxState::InFlight => (false, format!("missing {}", missing())),
        TxState::IncompleteAtClose => (
            false,
            format!(
                "missing {} (connection closed: {})",
                missing(),
                tx.ended_by.map_or("unknown", |e| e.as_str())
            ),
        ),
        TxState::IncompleteAtCaptureEnd => {
            (false, format!("missing {} (capture ended)", missing()))
        }
        TxState::OutOfOrder => (false, "steps out of order".to_string()),
        TxState::ResponseWithoutRequest => (false, "response without a request".to_string()),
    }
}

/// A short label for an arrow: type, flags, packet id, topic, reason code, payload size.
pub fn packet_label(trace: &Trace, rec: &PacketRecord) -> String {
    let mut s = rec.packet_type.name().to_string();
    if rec.packet_type == PacketType::Publish {
        s.push_str(&format!(" q{}", rec.qos()));
        if rec.dup() {
            s.push_str(" dup");
        }
        if rec.retain() {
            s.push_str(" retain");
        }
    }
    if let Some(id) = rec.packet_id {
        s.push_str(&format!(" id={id}"));
    }
    if rec.packet_type == PacketType::Connect
        && let Some(c) = trace.connection(rec.conn as usize)
        && let Some(id) = trace.opt_str(c.client_id)
    {
        s.push_str(&format!(" \"{}\"", id.escape_debug()));
    }
    if let Some(topic) = trace.opt_str(rec.topic) {
        s.push_str(&format!(" \"{}\"", topic.escape_debug()));
    }
    if let Some(rc) = rec.reason_code
        && (rc != 0 || rec.packet_type == PacketType::ConnAck)
    {
        s.push_str(&format!(" rc=0x{rc:02x}"));
    }
    if rec.packet_type == PacketType::Publish {
        s.push_str(&format!(" ({} B)", rec.payload_len));
    }
    if rec.decode_error() {
        s.push_str(" [malformed]");
    }
    s
}
