//! Conformance: our decoding of every sample capture and every public capture, compared packet
//! for packet with tshark's (type, flags, packet id, topics, remaining length, stream, frame),
//! and the samples checked against the ground truth their recording script wrote.
//!
//! Needs tshark (CI installs it); `MQSCOPE_SKIP_TSHARK=1` skips with a message. The public
//! captures are outside the repository: their tests skip with a message when the folder is
//! absent.

/// Expands `$suite! { module => "sample-name", … }` over every recorded sample tshark can see
/// (all but `tls`), so each per-sample suite (samples, pipeline, model) covers the same list and
/// a new sample is added in one place.
macro_rules! for_each_visible_sample {
    ($suite:ident) => {
        $suite! {
            mqtt311_session => "mqtt311-session",
            mqtt5_session => "mqtt5-session",
            mqtt31_session => "mqtt31-session",
            will_fired => "will-fired",
            qos2_interrupted => "qos2-interrupted",
            qos1_never_acked => "qos1-never-acked",
            qos1_redelivered => "qos1-redelivered",
            persistent_session => "persistent-session",
            keepalive_lapse => "keepalive-lapse",
            websocket => "websocket",
            split_header => "split-header",
        }
    };
}

mod live;
mod model;
mod pipeline;
mod public;
mod robustness;
mod samples;
mod stats_streaming;
