//! Conformance against tshark: filled in with the capture pipeline.
