//! The packet list's table model, apart from drawing: which packets are shown (display filter,
//! connection filter), in which order (sortable columns), and what each cell says.
//!
//! Rows are packet indexes into the [`Trace`]; the table grows incrementally while a capture is
//! still loading ([`PacketTable::update`] only looks at packets it has not seen yet), so a
//! million-packet trace is filtered once, not once per frame.

use dissector::codec::PacketType;
use dissector::model::{PacketRecord, Trace};
use std::cmp::Ordering;

/// A column of the packet list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Column {
    /// Packet number (1-based, capture order).
    No,
    /// Time (absolute / relative / delta).
    Time,
    /// Frame holding the packet's last byte (`frame.number`).
    Frame,
    /// `tcp.stream`.
    Stream,
    /// Source endpoint.
    Source,
    /// Destination endpoint.
    Destination,
    /// Client id of the connection.
    ClientId,
    /// Packet type.
    Type,
    /// PUBLISH QoS.
    Qos,
    /// Packet identifier.
    PacketId,
    /// Topic.
    Topic,
    /// Packet length in bytes.
    Length,
    /// Summary.
    Info,
}

impl Column {
    /// The columns, left to right.
    pub const ALL: [Column; 13] = [
        Column::No,
        Column::Time,
        Column::Frame,
        Column::Stream,
        Column::Source,
        Column::Destination,
        Column::ClientId,
        Column::Type,
        Column::Qos,
        Column::PacketId,
        Column::Topic,
        Column::Length,
        Column::Info,
    ];

    /// Header text.
    pub fn title(self) -> &'static str {
        match self {
            Column::No => "No.",
            Column::Time => "Time",
            Column::Frame => "Frame",
            Column::Stream => "Stream",
            Column::Source => "Source",
            Column::Destination => "Destination",
            Column::ClientId => "Client ID",
            Column::Type => "Type",
            Column::Qos => "QoS",
            Column::PacketId => "Packet ID",
            Column::Topic => "Topic",
            Column::Length => "Length",
            Column::Info => "Info",
        }
    }

    /// Initial width in points.
    pub fn initial_width(self) -> f32 {
        match self {
            Column::No | Column::Frame | Column::Stream | Column::Qos => 46.0,
            Column::Time => 100.0,
            Column::Source | Column::Destination => 130.0,
            Column::ClientId => 90.0,
            Column::Type => 90.0,
            Column::PacketId | Column::Length => 62.0,
            Column::Topic => 140.0,
            Column::Info => 260.0,
        }
    }
}

/// Sort direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum SortOrder {
    /// Smallest first.
    Ascending,
    /// Largest first.
    Descending,
}

/// Which packets the table shows and in what order.
#[derive(Debug, Default)]
pub struct PacketTable {
    /// Packet indexes of the shown rows, in display order.
    rows: Vec<u64>,
    /// Number of trace packets already considered (packet index `packet_base + scanned`).
    scanned: u64,
    /// Sort column and order (None = capture order).
    sort: Option<(Column, SortOrder)>,
    /// Show only this connection (index into the trace's connections).
    connection: Option<u32>,
    /// Rows were appended since the last sort.
    unsorted_tail: bool,
}

/// A predicate on packets (the compiled display filter): `(trace, packet index) -> shown?`.
pub type PacketPredicate<'a> = &'a dyn Fn(&Trace, u64) -> bool;

impl PacketTable {
    /// An empty table (capture order, no filter).
    pub fn new() -> PacketTable {
        PacketTable::default()
    }

    /// The shown rows' packet indexes, in display order.
    pub fn rows(&self) -> &[u64] {
        &self.rows
    }

    /// Number of shown rows.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// True when no row is shown.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The packet index shown in display row `row`.
    pub fn packet_at(&self, row: usize) -> Option<u64> {
        self.rows.get(row).copied()
    }

    /// The display row of a packet, when shown.
    pub fn row_of(&self, packet: u64) -> Option<usize> {
        self.rows.iter().position(|&p| p == packet)
    }

    /// The current sort.
    pub fn sort(&self) -> Option<(Column, SortOrder)> {
        self.sort
    }

    /// The connection the rows are restricted to.
    pub fn connection(&self) -> Option<u32> {
        self.connection
    }

    /// Forgets every row; the next [`update`](Self::update) filters the whole trace again
    /// (after the filter or the connection changed).
    pub fn invalidate(&mut self) {
        self.rows.clear();
        self.scanned = 0;
        self.unsorted_tail = false;
    }

    /// Restricts the rows to one connection (or lifts it) and invalidates.
    pub fn set_connection(&mut self, connection: Option<u32>) {
        if self.connection != connection {
            self.connection = connection;
            self.invalidate();
        }
    }

    /// Clicking a header: first ascending, then descending, then back to capture order.
    pub fn toggle_sort(&mut self, column: Column) {
        self.sort = match self.sort {
            Some((c, SortOrder::Ascending)) if c == column => Some((column, SortOrder::Descending)),
            Some((c, SortOrder::Descending)) if c == column => None,
            _ => Some((column, SortOrder::Ascending)),
        };
        self.unsorted_tail = true;
    }

    /// Sets the sort directly.
    pub fn set_sort(&mut self, sort: Option<(Column, SortOrder)>) {
        self.sort = sort;
        self.unsorted_tail = true;
    }

    /// Takes in the packets added to `trace` since the last call, keeps those `predicate`
    /// accepts, and re-sorts when asked (`resort`: the caller throttles sorting while a capture
    /// is still loading). Returns the number of rows added.
    pub fn update(
        &mut self,
        trace: &Trace,
        predicate: Option<PacketPredicate<'_>>,
        resort: bool,
    ) -> usize {
        let base = trace.packet_base;
        let end = base + trace.packets.len() as u64;
        // Records dropped from the front (streaming) or a new trace: start again.
        if self.scanned < base || self.scanned > end {
            self.invalidate();
            self.scanned = base;
        }
        let before = self.rows.len();
        let start = self.scanned.max(base);
        for idx in start..end {
            let Some(rec) = trace.packet(idx) else {
                continue;
            };
            if self.connection.is_some_and(|c| c != rec.conn) {
                continue;
            }
            if predicate.is_some_and(|p| !p(trace, idx)) {
                continue;
            }
            self.rows.push(idx);
        }
        self.scanned = end;
        let added = self.rows.len() - before;
        if added > 0 && self.sort.is_some() {
            self.unsorted_tail = true;
        }
        if resort && self.unsorted_tail {
            self.apply_sort(trace);
        }
        added
    }

    /// True when rows were added or the sort changed since the rows were last sorted.
    pub fn needs_sort(&self) -> bool {
        self.unsorted_tail
    }

    fn apply_sort(&mut self, trace: &Trace) {
        self.unsorted_tail = false;
        match self.sort {
            None => self.rows.sort_unstable(),
            Some((column, order)) => {
                // Stable sort with the packet index as the final key keeps equal rows in capture
                // order, as Wireshark does.
                self.rows.sort_by(|&a, &b| {
                    let ord = compare_packets(trace, column, a, b).then(a.cmp(&b));
                    match order {
                        SortOrder::Ascending => ord,
                        SortOrder::Descending => ord.reverse(),
                    }
                });
            }
        }
    }

    /// Moves a selection by `delta` rows (arrows ±1, page keys ±page), clamped to the table.
    /// With nothing selected, a downward move selects the first row and an upward one the last.
    pub fn step_selection(&self, selected: Option<u64>, delta: isize) -> Option<u64> {
        if self.rows.is_empty() {
            return None;
        }
        let last = self.rows.len() - 1;
        let row = match selected.and_then(|p| self.row_of(p)) {
            Some(row) => row.saturating_add_signed(delta).min(last),
            None if delta >= 0 => 0,
            None => last,
        };
        self.packet_at(row)
    }
}

/// Compares two packets by one column's value.
pub fn compare_packets(trace: &Trace, column: Column, a: u64, b: u64) -> Ordering {
    let (Some(ra), Some(rb)) = (trace.packet(a), trace.packet(b)) else {
        return a.cmp(&b);
    };
    match column {
        Column::No | Column::Info => a.cmp(&b),
        Column::Time => ra.ts.cmp(&rb.ts),
        Column::Frame => ra.frame.cmp(&rb.frame),
        Column::Stream => stream_of(trace, ra).cmp(&stream_of(trace, rb)),
        Column::Source => endpoints(trace, ra)
            .map(|e| e.0)
            .cmp(&endpoints(trace, rb).map(|e| e.0)),
        Column::Destination => endpoints(trace, ra)
            .map(|e| e.1)
            .cmp(&endpoints(trace, rb).map(|e| e.1)),
        Column::ClientId => trace
            .client_id_of(ra.conn as usize)
            .cmp(trace.client_id_of(rb.conn as usize)),
        Column::Type => ra.packet_type.cmp(&rb.packet_type),
        Column::Qos => ra.qos().cmp(&rb.qos()),
        Column::PacketId => ra.packet_id.cmp(&rb.packet_id),
        Column::Topic => trace.opt_str(ra.topic).cmp(&trace.opt_str(rb.topic)),
        Column::Length => ra.packet_len().cmp(&rb.packet_len()),
    }
}

fn stream_of(trace: &Trace, rec: &PacketRecord) -> Option<u32> {
    trace.connection(rec.conn as usize).map(|c| c.stream)
}

/// Source and destination socket addresses of a packet.
pub fn endpoints(
    trace: &Trace,
    rec: &PacketRecord,
) -> Option<(std::net::SocketAddr, std::net::SocketAddr)> {
    let c = trace.connection(rec.conn as usize)?;
    Some(match rec.dir {
        dissector::input::Direction::ToBroker => (c.client, c.broker),
        dissector::input::Direction::ToClient => (c.broker, c.client),
    })
}

/// The text of one cell (all but the time column, which depends on the neighbouring row).
pub fn cell_text(trace: &Trace, packet: u64, column: Column) -> String {
    let Some(rec) = trace.packet(packet) else {
        return String::new();
    };
    match column {
        Column::No => (packet + 1).to_string(),
        Column::Time => String::new(),
        Column::Frame => rec.frame.to_string(),
        Column::Stream => stream_of(trace, rec)
            .map(|s| s.to_string())
            .unwrap_or_default(),
        Column::Source => endpoints(trace, rec)
            .map(|e| e.0.to_string())
            .unwrap_or_default(),
        Column::Destination => endpoints(trace, rec)
            .map(|e| e.1.to_string())
            .unwrap_or_default(),
        Column::ClientId => trace.client_id_of(rec.conn as usize).to_string(),
        Column::Type => rec.packet_type.name().to_string(),
        Column::Qos => {
            if rec.packet_type == PacketType::Publish {
                rec.qos().to_string()
            } else {
                String::new()
            }
        }
        Column::PacketId => rec.packet_id.map(|p| p.to_string()).unwrap_or_default(),
        Column::Topic => trace.opt_str(rec.topic).unwrap_or("").to_string(),
        Column::Length => rec.packet_len().to_string(),
        Column::Info => info_text(trace, packet, rec),
    }
}

/// The info column: the same short label the sequence diagram and the CLI show, plus the
/// first anomaly's code.
pub fn info_text(trace: &Trace, packet: u64, rec: &PacketRecord) -> String {
    let mut s = dissector::diagram::build::packet_label(trace, rec);
    if rec.truncated() {
        s.push_str(" [truncated]");
    }
    let mut anomalies = trace.anomalies_of_packet(packet);
    if let Some(a) = anomalies.next() {
        s.push_str(&format!(" [!] {}", a.code.code()));
        let more = anomalies.count();
        if more > 0 {
            s.push_str(&format!(" +{more}"));
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::logic::test_trace::sample_trace;

    #[test]
    fn update_takes_in_only_new_packets_and_applies_the_predicate() {
        let mut trace = sample_trace();
        let mut t = PacketTable::new();
        let only_publish = |tr: &Trace, i: u64| {
            tr.packet(i)
                .is_some_and(|r| r.packet_type == PacketType::Publish)
        };
        let added = t.update(&trace, Some(&only_publish), true);
        assert_eq!(added, 2);
        assert_eq!(t.rows(), &[2, 3]);
        // A packet arrives while loading: only it is looked at.
        let mut extra = trace.packets[2].clone();
        extra.frame = 99;
        trace.packets.push(extra);
        assert_eq!(t.update(&trace, Some(&only_publish), true), 1);
        assert_eq!(t.rows(), &[2, 3, 5]);
    }

    #[test]
    fn connection_filter_keeps_only_that_connections_packets() {
        let trace = sample_trace();
        let mut t = PacketTable::new();
        t.set_connection(Some(1));
        t.update(&trace, None, true);
        assert!(
            t.rows()
                .iter()
                .all(|&i| trace.packet(i).is_some_and(|r| r.conn == 1))
        );
        assert_eq!(t.len(), 1);
        t.set_connection(None);
        t.update(&trace, None, true);
        assert_eq!(t.len(), trace.packets.len());
    }

    #[test]
    fn sorting_cycles_ascending_descending_capture_order() {
        let trace = sample_trace();
        let mut t = PacketTable::new();
        t.update(&trace, None, true);
        t.toggle_sort(Column::Length);
        t.update(&trace, None, true);
        let lens: Vec<u64> = t
            .rows()
            .iter()
            .map(|&i| trace.packet(i).map_or(0, |r| r.packet_len()))
            .collect();
        assert!(lens.windows(2).all(|w| w[0] <= w[1]), "{lens:?}");
        t.toggle_sort(Column::Length);
        t.update(&trace, None, true);
        let lens: Vec<u64> = t
            .rows()
            .iter()
            .map(|&i| trace.packet(i).map_or(0, |r| r.packet_len()))
            .collect();
        assert!(lens.windows(2).all(|w| w[0] >= w[1]), "{lens:?}");
        t.toggle_sort(Column::Length);
        t.update(&trace, None, true);
        assert_eq!(t.rows(), &[0, 1, 2, 3, 4]);
    }

    #[test]
    fn sorting_waits_until_the_caller_allows_it() {
        let trace = sample_trace();
        let mut t = PacketTable::new();
        t.set_sort(Some((Column::Length, SortOrder::Descending)));
        t.update(&trace, None, false);
        assert!(t.needs_sort());
        assert_eq!(t.rows(), &[0, 1, 2, 3, 4]);
        t.update(&trace, None, true);
        assert!(!t.needs_sort());
        assert_ne!(t.rows(), &[0, 1, 2, 3, 4]);
    }

    #[test]
    fn keyboard_steps_clamp_to_the_table() {
        let trace = sample_trace();
        let mut t = PacketTable::new();
        t.update(&trace, None, true);
        assert_eq!(t.step_selection(None, 1), Some(0));
        assert_eq!(t.step_selection(None, -1), Some(4));
        assert_eq!(t.step_selection(Some(0), -1), Some(0));
        assert_eq!(t.step_selection(Some(1), 20), Some(4));
        assert_eq!(t.step_selection(Some(3), 1), Some(4));
        assert_eq!(PacketTable::new().step_selection(Some(3), 1), None);
    }

    #[test]
    fn cells_show_the_records_fields() {
        let trace = sample_trace();
        assert_eq!(cell_text(&trace, 2, Column::Type), "PUBLISH");
        assert_eq!(cell_text(&trace, 2, Column::Qos), "1");
        assert_eq!(cell_text(&trace, 2, Column::Topic), "sensors/t1");
        assert_eq!(cell_text(&trace, 2, Column::Source), "10.0.0.1:50000");
        assert_eq!(cell_text(&trace, 2, Column::ClientId), "dev-1");
        assert_eq!(cell_text(&trace, 0, Column::Qos), "");
        assert_eq!(cell_text(&trace, 99, Column::Type), "");
        assert!(cell_text(&trace, 2, Column::Info).starts_with("PUBLISH q1 id=7"));
    }
}
