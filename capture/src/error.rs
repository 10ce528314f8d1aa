//! The one error type of the capture crate: every message says where and, when the user can act,
//! what to do.

use std::path::PathBuf;

/// Why a capture could not be read (fully).
#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    /// The file could not be opened or read at all.
    #[error("cannot open {path}: {source}")]
    Open {
        /// The file.
        path: PathBuf,
        /// What the OS said.
        source: std::io::Error,
    },
    /// The file is empty.
    #[error("{what}: empty file, not a pcap or pcapng capture")]
    Empty {
        /// The file (or "input").
        what: String,
    },
    /// The file starts with neither a pcap nor a pcapng magic number.
    #[error("{what}: not a pcap or pcapng capture (starts with {magic})")]
    NotACapture {
        /// The file (or "input").
        what: String,
        /// The first bytes, in hex.
        magic: String,
    },
    /// The capture ends inside a record: every complete record before it was delivered.
    #[error(
        "capture truncated at byte {offset}: the record starting there is incomplete \
         ({frames} complete frames were read)"
    )]
    Truncated {
        /// Offset of the incomplete record (in the decompressed stream for `.gz`).
        offset: u64,
        /// Frames delivered before it.
        frames: u64,
    },
    /// A record or block header makes no sense (corrupt file); frames before it were delivered.
    #[error("corrupt capture at byte {offset}: {detail} ({frames} frames were read before it)")]
    Corrupt {
        /// Offset of the bad record header (in the decompressed stream for `.gz`).
        offset: u64,
        /// What is wrong.
        detail: String,
        /// Frames delivered before it.
        frames: u64,
    },
    /// Reading failed part way (I/O or decompression error).
    #[error("read error at byte {offset}: {detail}")]
    Read {
        /// Offset reached.
        offset: u64,
        /// What failed.
        detail: String,
    },
    /// Live capture is not permitted for this user.
    #[error(
        "no permission to capture on {interface}: {message}. Run as root, or grant the \
         capabilities once: sudo setcap cap_net_raw,cap_net_admin=eip {program}"
    )]
    PermissionDenied {
        /// The interface.
        interface: String,
        /// What libpcap said.
        message: String,
        /// The program to grant capabilities to.
        program: String,
    },
    /// No interface of that name.
    #[error("no capture interface named {interface:?}; available: {available}")]
    UnknownInterface {
        /// The name asked for.
        interface: String,
        /// The interfaces libpcap lists, comma separated.
        available: String,
    },
    /// The interface exists but is down (or went down while capturing).
    #[error(
        "interface {interface} is down: {message}. Bring it up (e.g. `ip link set {interface} up`) \
         and try again"
    )]
    InterfaceDown {
        /// The interface.
        interface: String,
        /// What libpcap said.
        message: String,
    },
    /// The BPF capture filter does not compile.
    #[error("invalid capture filter {filter:?}: {message} (see `man pcap-filter`)")]
    BadFilter {
        /// The filter text.
        filter: String,
        /// What libpcap said.
        message: String,
    },
    /// Writing the copy of captured frames failed.
    #[error("cannot write capture file {path}: {message}")]
    Write {
        /// The output file.
        path: PathBuf,
        /// What failed.
        message: String,
    },
    /// Any other libpcap failure.
    #[error("live capture on {interface} failed: {message}")]
    Live {
        /// The interface.
        interface: String,
        /// What libpcap said.
        message: String,
    },
}
