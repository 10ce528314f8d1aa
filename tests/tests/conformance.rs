//! Conformance: our decoding of every sample capture and every public capture, compared packet
//! for packet with tshark's (type, flags, packet id, topics, remaining length, stream, frame),
//! and the samples checked against the ground truth their recording script wrote.
//!
//! Needs tshark (CI installs it); `MQSCOPE_SKIP_TSHARK=1` skips with a message. The public
//! captures are outside the repository: their tests skip with a message when the folder is
//! absent.

mod live;
mod model;
mod pipeline;
mod public;
mod robustness;
mod samples;
