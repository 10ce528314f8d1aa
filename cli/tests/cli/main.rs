//! End-to-end tests of the `mqscope` binary on the sample captures (samples/*.pcap, recorded
//! from a real mosquitto) and on public captures: exact text output (insta snapshots), parsed
//! JSON / JUnit / CSV / Parquet, exit codes, bad input, tshark agreement, live capture on `lo`.

mod check;
mod common;
mod errors;
mod export;
mod generate;
mod live;
mod public;
mod read;
mod tshark;
mod views;
