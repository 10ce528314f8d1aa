//! What the panels show, apart from drawing: pure functions and small state machines over the
//! trace, each unit-tested.

pub mod detail_tree;
pub mod diagram_view;
pub mod filtering;
pub mod frame_store;
pub mod hexdump;
pub mod packet_bytes;
pub mod packet_table;
pub mod qos;
pub mod recent;
pub mod stats_data;
pub mod time_format;

#[cfg(test)]
pub mod test_trace;
