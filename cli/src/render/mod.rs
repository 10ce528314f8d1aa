//! Output renderers: packets (line, JSON, detail tree) and tables.

pub mod packet;
pub mod table;
