//! Where traces come from and where tables go: the capture pipeline (file or live) feeding the
//! dissector's analyzer, and the dissector's exporter. Thin glue: the GUI owns no model, filter
//! or export logic of its own.

use super::commands::{ExportFormat, LiveRequest};
use super::loading::{Producer, SharedTrace, SourceProgress, TraceHolder};
use crate::logic::frame_store::{self, FrameStore, SharedFrames};
use capture::{FileSource, LiveOptions, LiveSource, Pipeline, PipelineConfig};
use dissector::analyze::{Analyzer, AnalyzerConfig, RawBytes};
use dissector::export;
use dissector::filter::Filter;
use dissector::input::{EventSink, FrameSeen, MqttBytes, StreamEvent};
use dissector::model::Trace;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

impl TraceHolder for Analyzer {
    fn trace(&self) -> &Trace {
        Analyzer::trace(self)
    }
    fn event_sink(&mut self) -> Option<&mut dyn EventSink> {
        Some(self)
    }
    fn finish(self: Box<Self>) -> Box<dyn TraceHolder> {
        let end = self.trace().totals.last_ts.unwrap_or_default();
        Box::new(Analyzer::finish(*self, end))
    }
}

/// The analyzer as the GUI runs it: every record and transaction kept, raw bytes (for the hex
/// pane and details tree) as `raw_bytes` says, passwords redacted unless asked.
pub fn gui_analyzer(show_passwords: bool, raw_bytes: RawBytes) -> Analyzer {
    Analyzer::new(AnalyzerConfig {
        raw_bytes,
        show_passwords,
        ..AnalyzerConfig::default()
    })
}

/// A shared trace, the producer that reads `path` into it, and the store through which the
/// capture's frames are found again (offsets into the file, or for gzip the frames' bytes).
///
/// A plain capture file can be read again by offset, so only the packet bytes that cannot be
/// rebuilt from its frames are kept ([`RawBytes::UnlessRebuildable`]): copying every packet's
/// bytes cost a third of the load time of a large file. A gzip file's frames are kept in
/// memory within a budget and the oldest dropped, so there every packet's bytes are kept.
pub fn file(path: &Path, show_passwords: bool) -> (Arc<SharedTrace>, Producer, SharedFrames) {
    let source = FileSource::open(path).map_err(|e| e.to_string());
    let rereadable = source.as_ref().is_ok_and(|s| s.frame_reader().is_some());
    let mut analyzer = if rereadable {
        gui_analyzer(show_passwords, RawBytes::UnlessRebuildable)
    } else {
        gui_analyzer(show_passwords, RawBytes::All)
    };
    // The packets' raw bytes never exceed the file (a gzip file's only make it grow later).
    if let Ok(meta) = std::fs::metadata(path) {
        analyzer.reserve_raw_bytes(usize::try_from(meta.len()).unwrap_or(0));
    }
    let shared = SharedTrace::new(Box::new(analyzer));
    let frames = FrameStore::none();
    let loader_frames = Arc::clone(&frames);
    let producer: Producer = Box::new(move |sink, progress, cancel| {
        run_file(source?, &loader_frames, sink, progress, cancel)
    });
    (shared, producer, frames)
}

/// Frames between progress reports.
const PROGRESS_FRAMES: u64 = 4096;

/// Runs the capture pipeline over an opened capture file, frame by frame, so it can stop
/// between any two frames when `cancel` is set (connections are then closed as at capture
/// end). Each frame's offset goes to `frames` (its bytes, for a gzip file, within the default
/// budget).
fn run_file(
    mut source: FileSource,
    frames: &SharedFrames,
    sink: &mut dyn EventSink,
    progress: &mut dyn FnMut(SourceProgress),
    cancel: &AtomicBool,
) -> Result<(), String> {
    let indexed = match source.frame_reader() {
        Some(reader) => {
            frame_store::lock(frames).read_back_with(reader);
            true
        }
        None => {
            frame_store::lock(frames).keep_in_memory_up_to(frame_store::DEFAULT_KEEP_BYTES);
            false
        }
    };
    let total = source.total_bytes();
    let mut pipeline = Pipeline::new(PipelineConfig::default());
    // Which connection's direction each frame carried, recorded with the next frame's offset
    // (one lock per frame); a selection always reads the frame a packet completes in.
    let mut seen: Vec<FrameSeen> = Vec::new();
    let result = loop {
        if cancel.load(Ordering::Acquire) {
            break Ok(());
        }
        let step = source.next_located(|frame, offset| {
            // Recorded before the pipeline sees the frame, so a packet it completes can be
            // shown with its frame at once (and never with the trace lock held).
            let mut store = frame_store::lock(frames);
            if indexed {
                store.record_offset(frame.number, offset);
                for f in seen.drain(..) {
                    store.record_seen(&f);
                }
            } else {
                store.keep(frame);
            }
            drop(store);
            if indexed {
                let mut noting = NoteCarriers {
                    inner: &mut *sink,
                    seen: &mut seen,
                };
                pipeline.push_frame(frame, &mut noting)
            } else {
                pipeline.push_frame(frame, &mut *sink)
            }
        });
        match step {
            Ok(Some(())) => {}
            Ok(None) => break Ok(()),
            // Truncated or corrupt: keep everything decoded before the damage, say why it ended.
            Err(e) => break Err(e.to_string()),
        }
        if source.frames().is_multiple_of(PROGRESS_FRAMES) {
            progress(SourceProgress {
                bytes_read: source.bytes_read(),
                total_bytes: total,
                frames: source.frames(),
            });
        }
    };
    pipeline.finish(&mut *sink);
    for f in seen.drain(..) {
        frame_store::lock(frames).record_seen(&f);
    }
    frame_store::lock(frames).finish();
    progress(SourceProgress {
        bytes_read: source.bytes_read(),
        total_bytes: total,
        frames: source.frames(),
    });
    result
}

/// Passes every event on to `inner`, noting on the way which connection's direction each
/// frame carried (for the frame store); packets assembled in a buffer stay in it.
struct NoteCarriers<'a> {
    inner: &'a mut dyn EventSink,
    seen: &'a mut Vec<FrameSeen>,
}

impl EventSink for NoteCarriers<'_> {
    fn event(&mut self, event: StreamEvent<'_>) {
        if let StreamEvent::Frame(f) = &event {
            self.seen.push(*f);
        }
        self.inner.event(event);
    }

    fn packet_in_buffer(&mut self, packet: MqttBytes<'static>, buf: &mut Vec<u8>) {
        self.inner.packet_in_buffer(packet, buf);
    }
}

/// A shared trace, the producer that captures live as `req` says, and the stop flag the
/// capture watches. A problem opening the interface (permissions, unknown interface, bad BPF)
/// comes back as text that says what to do.
pub fn live(
    req: &LiveRequest,
    show_passwords: bool,
) -> Result<(Arc<SharedTrace>, Producer, Arc<AtomicBool>, SharedFrames), String> {
    let mut options = LiveOptions::new(&req.interface);
    options.filter = Some(req.bpf.clone()).filter(|f| !f.trim().is_empty());
    options.write_to = req.save_to.clone();
    let stop = Arc::clone(&options.stop);
    // Opened here, on the UI thread, so a refusal is shown in the dialog right away.
    let mut source = LiveSource::open(&options).map_err(|e| e.to_string())?;
    // The frames are kept in memory within a budget, the oldest dropped: every packet's bytes
    // are kept so that none is lost with its frames.
    let shared = SharedTrace::new(Box::new(gui_analyzer(show_passwords, RawBytes::All)));
    // No file to read frames back from: the newest are kept, up to the budget asked for.
    let kept = FrameStore::in_memory(req.keep_frames_mb.saturating_mul(1 << 20));
    let loader_kept = Arc::clone(&kept);
    let producer: Producer = Box::new(move |sink, progress, cancel| {
        let mut pipeline = Pipeline::new(PipelineConfig::default());
        let mut frames = 0u64;
        let mut bytes = 0u64;
        let result = loop {
            // Stopping is prompt by construction: the source reads without blocking (it
            // checks its stop flag before every read and every 5 ms while the interface is
            // idle), and the job's own cancel flag is checked here between any two frames too,
            // should a caller hand over a different flag than the source's.
            if cancel.load(Ordering::Acquire) {
                break Ok(());
            }
            match source.next_with(|frame| {
                bytes += u64::from(frame.caplen);
                frame_store::lock(&loader_kept).keep(frame);
                pipeline.push_frame(frame, sink)
            }) {
                Ok(Ok(())) => {
                    frames += 1;
                    progress(SourceProgress {
                        bytes_read: bytes,
                        total_bytes: None,
                        frames,
                    });
                }
                Ok(Err(_stopped)) => break Ok(()),
                Err(e) => break Err(e.to_string()),
            }
        };
        pipeline.finish(sink);
        // Dropping the source flushes the savefile.
        drop(source);
        progress(SourceProgress {
            bytes_read: bytes,
            total_bytes: None,
            frames,
        });
        result
    });
    Ok((shared, producer, stop, kept))
}

/// The capture interfaces libpcap offers, with descriptions.
pub fn interfaces() -> Result<Vec<(String, String)>, String> {
    let list = capture::list_interfaces().map_err(|e| e.to_string())?;
    Ok(list
        .into_iter()
        .map(|i| {
            let mut desc = i.description.unwrap_or_default();
            if !i.addresses.is_empty() {
                if !desc.is_empty() {
                    desc.push_str(", ");
                }
                desc.push_str(&i.addresses.join(" "));
            }
            if !i.up {
                desc.push_str(" (down)");
            }
            (i.name, desc)
        })
        .collect())
}

/// The filter that selects exactly the packet list's rows: the display filter, and the
/// connection the list is restricted to (as `tcp.stream`), in the shared filter language.
pub fn table_filter(
    display: Option<&Filter>,
    stream: Option<u32>,
) -> Result<Option<Filter>, String> {
    let text = match (display.map(Filter::as_str), stream) {
        (None, None) => return Ok(None),
        (Some(f), None) => f.to_string(),
        (None, Some(s)) => format!("tcp.stream == {s}"),
        (Some(f), Some(s)) => format!("({f}) && tcp.stream == {s}"),
    };
    Filter::parse(&text).map(Some).map_err(|e| e.to_string())
}

/// Exports the packet table of `trace`, restricted by `filter`, to `path` in `format` (the
/// extension is set to match); returns the path written and the row count.
pub fn export_packets(
    trace: &Trace,
    filter: Option<&Filter>,
    format: ExportFormat,
    path: &Path,
) -> Result<(std::path::PathBuf, usize), String> {
    let mut path = path.to_path_buf();
    if path.extension().and_then(|e| e.to_str()) != Some(format.extension()) {
        path.set_extension(format.extension());
    }
    let rows = export::write_table(trace, export::Table::Packets, &path, filter)
        .map_err(|e| e.to_string())?;
    Ok((path, rows))
}
