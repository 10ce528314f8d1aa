//! Placeholder until the analyzer benchmark lands.
fn main() {}
