//! The sequence-diagram view's model: the shared [`Diagram`] of one connection (built by the
//! dissector, the same one the CLI renders), plus which packet each arrow stands for, so a
//! click on an arrow selects its packet; and the row geometry with zoom.

use dissector::diagram::{Diagram, Item, build};
use dissector::model::{PacketRecord, Trace};

/// A diagram of one connection with its arrows' packets.
#[derive(Debug, Clone, PartialEq)]
pub struct DiagramView {
    /// The connection (index into the trace's connections).
    pub conn: usize,
    /// The diagram.
    pub diagram: Diagram,
    /// For each row of `diagram.items`: the packet index of an arrow, None for notes.
    pub packet_of_item: Vec<Option<u64>>,
    /// Number of packets the trace had when this was built (rebuild when it grows).
    pub built_at_packets: usize,
}

impl DiagramView {
    /// Builds the diagram of connection `conn` with the packets `include` accepts.
    pub fn build(
        trace: &Trace,
        conn: usize,
        include: &dyn Fn(u64, &PacketRecord) -> bool,
    ) -> DiagramView {
        let diagram = build::connection(trace, conn, include);
        // The builder draws one arrow per included packet of the connection, in packet order;
        // walking the same packets in the same order pairs each arrow with its packet.
        let mut packets = trace
            .packets_of_connection(conn)
            .filter(|(i, r)| include(*i, r))
            .map(|(i, _)| i);
        let packet_of_item = diagram
            .items
            .iter()
            .map(|item| match item {
                Item::Message(_) => packets.next(),
                Item::Note(_) => None,
            })
            .collect();
        DiagramView {
            conn,
            diagram,
            packet_of_item,
            built_at_packets: trace.packets.len(),
        }
    }

    /// The packet of row `row`, when it is an arrow.
    pub fn packet_at(&self, row: usize) -> Option<u64> {
        self.packet_of_item.get(row).copied().flatten()
    }

    /// The row of a packet's arrow.
    pub fn row_of_packet(&self, packet: u64) -> Option<usize> {
        self.packet_of_item.iter().position(|p| *p == Some(packet))
    }
}

/// Vertical layout of the rows: fixed height per row, scaled by zoom.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RowGeometry {
    /// Height of the header (lifeline titles).
    pub header: f32,
    /// Height of one row at zoom 1.
    pub row: f32,
    /// Zoom factor.
    pub zoom: f32,
}

impl RowGeometry {
    /// Zoom limits.
    pub const ZOOM_RANGE: std::ops::RangeInclusive<f32> = 0.5..=3.0;

    /// Top of row `i`.
    pub fn row_top(&self, i: usize) -> f32 {
        self.header + i as f32 * self.row * self.zoom
    }
    /// Height of a row.
    pub fn row_height(&self) -> f32 {
        self.row * self.zoom
    }
    /// Total height for `n` rows.
    pub fn total(&self, n: usize) -> f32 {
        self.row_top(n)
    }
    /// The rows that intersect the vertical span `top..bottom` (for drawing only visible rows).
    pub fn visible_rows(&self, top: f32, bottom: f32, n: usize) -> std::ops::Range<usize> {
        let h = self.row_height().max(1.0);
        let first = ((top - self.header) / h).floor().max(0.0) as usize;
        let last = ((bottom - self.header) / h).ceil().max(0.0) as usize;
        first.min(n)..last.saturating_add(1).min(n)
    }
    /// The zoom after a step (wheel or button), clamped.
    pub fn zoomed(&self, factor: f32) -> f32 {
        (self.zoom * factor).clamp(*Self::ZOOM_RANGE.start(), *Self::ZOOM_RANGE.end())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::logic::test_trace::sample_trace;

    #[test]
    fn every_arrow_knows_its_packet() {
        let trace = sample_trace();
        let v = DiagramView::build(&trace, 0, &|_, _| true);
        let arrows: Vec<u64> = v.packet_of_item.iter().flatten().copied().collect();
        // Connection 0 has packets 0, 1, 2 and 4; packet 3 is on connection 1.
        assert_eq!(arrows, vec![0, 1, 2, 4]);
        let row = v.row_of_packet(2).expect("row of packet 2");
        assert_eq!(v.packet_at(row), Some(2));
        match &v.diagram.items[row] {
            Item::Message(m) => assert_eq!(m.frame, 3),
            Item::Note(_) => panic!("row {row} is a note"),
        }
    }

    #[test]
    fn filtered_diagrams_pair_arrows_with_the_included_packets() {
        let trace = sample_trace();
        let v = DiagramView::build(&trace, 0, &|i, _| i != 1);
        let arrows: Vec<u64> = v.packet_of_item.iter().flatten().copied().collect();
        assert_eq!(arrows, vec![0, 2, 4]);
    }

    #[test]
    fn only_rows_in_the_viewport_are_visible() {
        let g = RowGeometry {
            header: 40.0,
            row: 20.0,
            zoom: 1.0,
        };
        assert_eq!(g.visible_rows(0.0, 100.0, 1000), 0..4);
        assert_eq!(g.visible_rows(440.0, 480.0, 1000), 20..23);
        assert_eq!(g.visible_rows(0.0, 10_000.0, 5), 0..5);
        assert_eq!(g.zoomed(100.0), 3.0);
        assert_eq!(g.zoomed(0.01), 0.5);
        assert_eq!(g.total(3), 100.0);
    }
}
