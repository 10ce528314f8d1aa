//! The display filter applied to a packet of a trace: the dissector's filter language and its
//! packet view, nothing of our own.

use dissector::filter::{Filter, PacketView};
use dissector::model::Trace;

/// True when packet `packet` (a packet index) of `trace` passes `filter`.
pub fn matches(filter: &Filter, trace: &Trace, packet: u64) -> bool {
    let Some(position) = packet
        .checked_sub(trace.packet_base)
        .and_then(|p| usize::try_from(p).ok())
    else {
        return false;
    };
    PacketView::new(trace, position).is_some_and(|view| filter.matches(&view))
}
