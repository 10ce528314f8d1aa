//! Live capture through libpcap (the `pcap` crate): interfaces, BPF filter, snap length,
//! promiscuous and immediate mode, stop conditions, and an optional copy of every frame to a
//! pcap file (flushed when the capture stops, however it stops).

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use dissector::input::Timestamp;

use crate::error::CaptureError;
use crate::source::RawFrame;

/// A capture interface as libpcap lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InterfaceInfo {
    /// Name to pass to [`LiveOptions::interface`].
    pub name: String,
    /// Description, when libpcap has one.
    pub description: Option<String>,
    /// Addresses, as text.
    pub addresses: Vec<String>,
    /// The interface is up.
    pub up: bool,
    /// It is a loopback interface.
    pub loopback: bool,
}

/// Lists the interfaces libpcap can capture on.
pub fn list_interfaces() -> Result<Vec<InterfaceInfo>, CaptureError> {
    let devices = pcap::Device::list().map_err(|e| CaptureError::Live {
        interface: "(all)".to_string(),
        message: e.to_string(),
    })?;
    Ok(devices
        .into_iter()
        .map(|d| InterfaceInfo {
            up: d.flags.is_up(),
            loopback: d.flags.is_loopback(),
            addresses: d.addresses.iter().map(|a| a.addr.to_string()).collect(),
            description: d.desc,
            name: d.name,
        })
        .collect())
}

/// How to capture live.
#[derive(Debug, Clone)]
pub struct LiveOptions {
    /// Interface name (`lo`, `eth0`, `any`, …).
    pub interface: String,
    /// BPF capture filter (`man pcap-filter`), e.g. `tcp port 1883`.
    pub filter: Option<String>,
    /// Bytes captured per frame.
    pub snaplen: i32,
    /// Promiscuous mode.
    pub promiscuous: bool,
    /// Deliver frames as they arrive instead of in buffered batches.
    pub immediate: bool,
    /// Kernel capture buffer in bytes. Linux sizes the ring's slots by the snap length, so
    /// libpcap's 2 MB default holds only a handful of 256 KiB frames and drops bursts even on
    /// `lo` (measured: 20 mosquitto_pub runs lost 106 of 268 frames; with 32 MiB, none).
    pub buffer_size: i32,
    /// Stop after this many frames.
    pub max_frames: Option<u64>,
    /// Stop after this long.
    pub duration: Option<Duration>,
    /// Stop when this becomes true (set by a Ctrl-C handler).
    pub stop: Arc<AtomicBool>,
    /// Also write every captured frame to this pcap file.
    pub write_to: Option<PathBuf>,
}

impl LiveOptions {
    /// Defaults for an interface: whole frames, not promiscuous, immediate mode, no limits.
    pub fn new(interface: &str) -> LiveOptions {
        LiveOptions {
            interface: interface.to_string(),
            filter: None,
            snaplen: 262_144,
            promiscuous: false,
            immediate: true,
            buffer_size: DEFAULT_BUFFER_SIZE,
            max_frames: None,
            duration: None,
            stop: Arc::new(AtomicBool::new(false)),
            write_to: None,
        }
    }
}

/// Why a live capture ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LiveStop {
    /// The frame count was reached.
    Count,
    /// The duration passed.
    Duration,
    /// The stop flag was set.
    Stopped,
}

/// Default kernel capture buffer (see [`LiveOptions::buffer_size`]).
pub const DEFAULT_BUFFER_SIZE: i32 = 32 << 20;

/// Read timeout handed to libpcap (buffer flush interval where immediate mode is off).
const READ_TIMEOUT_MS: i32 = 200;
/// Pause when no frame is waiting, before the stop conditions are checked again.
const IDLE_POLL: Duration = Duration::from_millis(5);

/// An open live capture.
pub struct LiveSource {
    capture: pcap::Capture<pcap::Active>,
    savefile: Option<(pcap::Savefile, PathBuf)>,
    options: LiveOptions,
    linktype: u32,
    frames: u64,
    started: Instant,
}

impl std::fmt::Debug for LiveSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LiveSource")
            .field("interface", &self.options.interface)
            .field("linktype", &self.linktype)
            .field("frames", &self.frames)
            .finish_non_exhaustive()
    }
}

impl LiveSource {
    /// Opens the interface, applies the filter and creates the copy file.
    pub fn open(options: &LiveOptions) -> Result<LiveSource, CaptureError> {
        let name = options.interface.as_str();
        let inactive = pcap::Capture::from_device(name)
            .map_err(|e| classify_open_error(name, &e))?
            .promisc(options.promiscuous)
            .snaplen(options.snaplen)
            .immediate_mode(options.immediate)
            .buffer_size(options.buffer_size)
            .timeout(READ_TIMEOUT_MS);
        // Non-blocking reads: with immediate mode, Linux libpcap ignores the read timeout and a
        // blocking read on a quiet interface would never let the stop conditions be checked.
        let mut capture = inactive
            .open()
            .map_err(|e| classify_open_error(name, &e))?
            .setnonblock()
            .map_err(|e| classify_open_error(name, &e))?;
        if let Some(filter) = &options.filter {
            capture
                .filter(filter, true)
                .map_err(|e| CaptureError::BadFilter {
                    filter: filter.clone(),
                    message: e.to_string(),
                })?;
        }
        let savefile = match &options.write_to {
            Some(path) => Some((
                capture.savefile(path).map_err(|e| CaptureError::Write {
                    path: path.clone(),
                    message: e.to_string(),
                })?,
                path.clone(),
            )),
            None => None,
        };
        let linktype = capture.get_datalink().0 as u32;
        Ok(LiveSource {
            capture,
            savefile,
            options: options.clone(),
            linktype,
            frames: 0,
            started: Instant::now(),
        })
    }

    /// The interface's link type.
    pub fn linktype(&self) -> u32 {
        self.linktype
    }

    /// Waits for the next frame and hands it to `f`; `Ok(Err(why))` when a stop condition
    /// ended the capture (the copy file is flushed then).
    pub fn next_with<T>(
        &mut self,
        f: impl FnOnce(&RawFrame<'_>) -> T,
    ) -> Result<Result<T, LiveStop>, CaptureError> {
        loop {
            if let Some(why) = self.should_stop() {
                self.flush()?;
                return Ok(Err(why));
            }
            match self.capture.next_packet() {
                Ok(packet) => {
                    if let Some((file, _)) = self.savefile.as_mut() {
                        file.write(&packet);
                    }
                    self.frames += 1;
                    let header = packet.header;
                    let ts = Timestamp::from_parts(
                        header.ts.tv_sec,
                        (header.ts.tv_usec as u32).saturating_mul(1000),
                    );
                    let frame = RawFrame {
                        number: self.frames,
                        ts,
                        linktype: self.linktype,
                        caplen: header.caplen,
                        wire_len: header.len,
                        data: packet.data,
                    };
                    return Ok(Ok(f(&frame)));
                }
                Err(pcap::Error::TimeoutExpired) => std::thread::sleep(IDLE_POLL),
                Err(e) => {
                    let _ = self.flush();
                    return Err(classify_read_error(&self.options.interface, &e));
                }
            }
        }
    }

    fn should_stop(&self) -> Option<LiveStop> {
        if self.options.stop.load(Ordering::Relaxed) {
            return Some(LiveStop::Stopped);
        }
        if self
            .options
            .max_frames
            .is_some_and(|max| self.frames >= max)
        {
            return Some(LiveStop::Count);
        }
        if self
            .options
            .duration
            .is_some_and(|d| self.started.elapsed() >= d)
        {
            return Some(LiveStop::Duration);
        }
        None
    }

    /// Writes buffered frames of the copy file to disk.
    pub fn flush(&mut self) -> Result<(), CaptureError> {
        if let Some((file, path)) = self.savefile.as_mut() {
            file.flush().map_err(|e| CaptureError::Write {
                path: path.clone(),
                message: e.to_string(),
            })?;
        }
        Ok(())
    }
}

impl Drop for LiveSource {
    fn drop(&mut self) {
        let _ = self.flush();
    }
}

fn program_name() -> String {
    std::env::current_exe()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|_| "mqscope".to_string())
}

fn classify_open_error(interface: &str, e: &pcap::Error) -> CaptureError {
    let message = e.to_string();
    let lower = message.to_lowercase();
    if lower.contains("permission") || lower.contains("not permitted") {
        CaptureError::PermissionDenied {
            interface: interface.to_string(),
            message,
            program: program_name(),
        }
    } else if lower.contains("no such device") || lower.contains("doesn't exist") {
        let available = list_interfaces()
            .map(|l| l.into_iter().map(|i| i.name).collect::<Vec<_>>().join(", "))
            .unwrap_or_default();
        CaptureError::UnknownInterface {
            interface: interface.to_string(),
            available,
        }
    } else if lower.contains("network is down") || lower.contains("not up") {
        CaptureError::InterfaceDown {
            interface: interface.to_string(),
            message,
        }
    } else {
        CaptureError::Live {
            interface: interface.to_string(),
            message,
        }
    }
}

fn classify_read_error(interface: &str, e: &pcap::Error) -> CaptureError {
    let message = e.to_string();
    let lower = message.to_lowercase();
    if lower.contains("network is down") || lower.contains("no such device") {
        CaptureError::InterfaceDown {
            interface: interface.to_string(),
            message,
        }
    } else {
        CaptureError::Live {
            interface: interface.to_string(),
            message,
        }
    }
}
