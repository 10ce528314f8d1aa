//! Analyzer integration tests: synthetic event sequences through the public API, one binary.

mod anomalies;
mod docs;
mod flows;
mod robust;
mod script;
mod stats;
mod wire;
