//! Integration tests of the capture crate: one binary, one module per concern.

mod support;

mod files;
mod links;
mod live;
mod real_captures;
mod reassembly;
mod resync;
mod sequence;
mod transports;
