//! Analyzer integration tests: synthetic event sequences through the public API, one binary.

mod anomalies;
mod script;
mod wire;
