//! Helpers shared by the workspace-level tests: locating captures, running tshark.
