//! Placeholder; the codec benchmark lands with the codec.
fn main() {}
