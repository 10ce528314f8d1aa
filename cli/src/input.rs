//! Running captures through the capture pipeline into an event sink: one file, several files
//! merged by time, progress bars, and turning capture errors into messages that name the file.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;

use capture::CaptureError;
use capture::pipeline::{CaptureSummary, Pipeline, PipelineConfig};
use capture::source::{FileSource, RawFrame};
use dissector::analyze::{Analyzer, AnalyzerConfig, PacketView};
use dissector::input::{EventSink, Timestamp};
use dissector::model::{CaptureInfo, Trace};
use indicatif::{ProgressBar, ProgressStyle};

use crate::error::CliError;
use crate::flags::hiargs::{Common, Input};

/// Files over this size get a progress bar (when stderr is a terminal).
const PROGRESS_MIN_BYTES: u64 = 8 << 20;

/// One capture to analyse: a file, or several files merged into one by time.
#[derive(Debug, Clone)]
pub enum CaptureSource {
    /// One file.
    File(PathBuf),
    /// Several files read as one capture, frames in time order (as `mergecap` would).
    Merged(Vec<PathBuf>),
}

impl CaptureSource {
    /// The name shown in reports: the path, or the paths joined with `+`.
    pub fn label(&self) -> String {
        match self {
            CaptureSource::File(p) => p.display().to_string(),
            CaptureSource::Merged(ps) => ps
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join("+"),
        }
    }
}

/// The captures an input selection stands for, in order.
pub fn sources(input: &Input) -> Vec<CaptureSource> {
    if input.merge {
        vec![CaptureSource::Merged(input.files.clone())]
    } else {
        input
            .files
            .iter()
            .cloned()
            .map(CaptureSource::File)
            .collect()
    }
}

/// The pipeline configuration: default ports plus `--mqtt-port` / `--ws-port` / `--tls-port`.
pub fn pipeline_config(common: &Common) -> PipelineConfig {
    let mut config = PipelineConfig::default();
    for &p in &common.mqtt_ports {
        if !config.mqtt_ports.contains(&p) {
            config.mqtt_ports.push(p);
        }
    }
    for &p in &common.ws_ports {
        if !config.ws_ports.contains(&p) {
            config.ws_ports.push(p);
        }
    }
    for &p in &common.tls_ports {
        if !config.tls_ports.contains(&p) {
            config.tls_ports.push(p);
        }
    }
    config
}

/// A capture error as the user should read it, naming the file.
pub fn capture_error(path: &Path, e: CaptureError) -> CliError {
    match e {
        CaptureError::Open { source, .. } if source.kind() == std::io::ErrorKind::NotFound => {
            CliError::input(path, "no such file")
        }
        CaptureError::Open { source, .. } => {
            CliError::input(path, format!("cannot open: {source}"))
        }
        // These name the file themselves; the CLI's message already starts with it.
        CaptureError::NotACapture { magic, .. } => CliError::input(
            path,
            format!("not a pcap or pcapng capture (starts with {magic})"),
        ),
        CaptureError::Empty { .. } => {
            CliError::input(path, "empty file, not a pcap or pcapng capture")
        }
        other => CliError::input(path, other),
    }
}

/// The one-line description of the frames skipped for their link type, `None` when every
/// frame's link type is supported: "link type 147 unsupported: 12 frames skipped".
pub fn unsupported_linktypes(summary: &CaptureSummary) -> Option<String> {
    if summary.unknown_linktypes.is_empty() {
        return None;
    }
    let frames: u64 = summary.unknown_linktypes.iter().map(|&(_, n)| n).sum();
    let types = summary
        .unknown_linktypes
        .iter()
        .map(|&(t, _)| t.to_string())
        .collect::<Vec<_>>()
        .join(", ");
    let plural = |n: u64, one: &'static str, many: &'static str| if n == 1 { one } else { many };
    Some(format!(
        "{} {types} unsupported: {frames} {} skipped",
        plural(
            summary.unknown_linktypes.len() as u64,
            "link type",
            "link types"
        ),
        plural(frames, "frame", "frames"),
    ))
}

/// True when the capture had frames and every one was of an unsupported link type: nothing
/// in it could be decoded.
pub fn nothing_decodable(summary: &CaptureSummary) -> bool {
    let skipped: u64 = summary.unknown_linktypes.iter().map(|&(_, n)| n).sum();
    summary.frames > 0 && skipped >= summary.frames
}

/// Prints the unsupported link types of a capture on stderr, once per capture, for every
/// subcommand: without it a capture of an unsupported link type reads as "no MQTT traffic".
pub fn warn_unsupported_linktypes(label: &str, summary: &CaptureSummary) {
    if let Some(what) = unsupported_linktypes(summary) {
        eprintln!("mqscope: {label}: {what}");
    }
}

/// What running one capture produced besides events.
#[derive(Debug)]
pub struct RunOutcome {
    /// The pipeline's counters (also for a capture that ended in an error).
    pub summary: CaptureSummary,
    /// The error that cut the capture short, after everything before it was processed.
    pub error: Option<CliError>,
    /// True when a file could not be opened or is not a capture: nothing of it was read.
    pub open_failed: bool,
}

/// Runs one capture through a fresh pipeline into `sink`, until its end or until `stop` is set
/// (`read -c N` reached its count, or stdout was closed).
pub fn run_capture(
    source: &CaptureSource,
    common: &Common,
    sink: &mut dyn EventSink,
    stop: &AtomicBool,
) -> RunOutcome {
    let mut pipeline = Pipeline::new(pipeline_config(common));
    match source {
        CaptureSource::File(path) => {
            let mut file = match FileSource::open(path) {
                Ok(f) => f,
                Err(e) => {
                    return RunOutcome {
                        summary: CaptureSummary::default(),
                        error: Some(capture_error(path, e)),
                        open_failed: true,
                    };
                }
            };
            let bar = progress_bar(common, file.total_bytes(), path);
            // The pipeline's own `run_source` cannot stop early; this is the same loop with a
            // stop check, so `read -c 10` on a 10 GB file ends at once.
            let mut next_report = 0u64;
            let mut error = None;
            while !stop.load(Ordering::Relaxed) {
                match file.next_with(|frame| pipeline.push_frame(frame, sink)) {
                    Ok(Some(())) => {}
                    Ok(None) => break,
                    Err(e) => {
                        error = Some(capture_error(path, e));
                        break;
                    }
                }
                let read = file.bytes_read();
                if read >= next_report {
                    bar.set_position(read);
                    next_report = read + (1 << 20);
                }
            }
            bar.finish_and_clear();
            let summary = pipeline.finish(sink);
            warn_unsupported_linktypes(&source.label(), &summary);
            RunOutcome {
                summary,
                error,
                open_failed: false,
            }
        }
        CaptureSource::Merged(paths) => {
            run_merged(&mut pipeline, paths, &source.label(), sink, stop)
        }
    }
}

fn progress_bar(common: &Common, total: Option<u64>, path: &Path) -> ProgressBar {
    let total = total.unwrap_or(0);
    if !common.progress || total < PROGRESS_MIN_BYTES || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(total);
    if let Ok(style) = ProgressStyle::with_template(
        "{msg} [{bar:40}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
    ) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message(
        path.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
    );
    bar
}

/// One frame copied out of its reader, waiting for its turn in the merge.
struct Held {
    ts: Timestamp,
    linktype: u32,
    caplen: u32,
    wire_len: u32,
    data: Vec<u8>,
}

/// Reads several files as one capture: always hands the pipeline the earliest pending frame
/// (ties in file order), numbering frames 1, 2, … across the merged capture.
fn run_merged(
    pipeline: &mut Pipeline,
    paths: &[PathBuf],
    label: &str,
    sink: &mut dyn EventSink,
    stop: &AtomicBool,
) -> RunOutcome {
    let mut readers: Vec<(usize, FileSource)> = Vec::new();
    let mut error = None;
    let mut open_failed = false;
    for (i, path) in paths.iter().enumerate() {
        match FileSource::open(path) {
            Ok(f) => readers.push((i, f)),
            Err(e) => {
                open_failed = true;
                error.get_or_insert(capture_error(path, e));
            }
        }
    }
    let mut next: Vec<Option<Held>> = Vec::with_capacity(readers.len());
    let pull =
        |reader: &mut FileSource, path: &Path, error: &mut Option<CliError>| -> Option<Held> {
            match reader.next_with(|f: &RawFrame<'_>| Held {
                ts: f.ts,
                linktype: f.linktype,
                caplen: f.caplen,
                wire_len: f.wire_len,
                data: f.data.to_vec(),
            }) {
                Ok(held) => held,
                Err(e) => {
                    error.get_or_insert(capture_error(path, e));
                    None
                }
            }
        };
    for (i, reader) in readers.iter_mut() {
        next.push(pull(reader, &paths[*i], &mut error));
    }
    let mut number = 0u64;
    while !stop.load(Ordering::Relaxed) {
        let pick = next
            .iter()
            .enumerate()
            .filter_map(|(k, h)| h.as_ref().map(|h| (h.ts, k)))
            .min();
        let Some((_, k)) = pick else { break };
        let Some(held) = next[k].take() else { break };
        number += 1;
        let frame = RawFrame {
            number,
            ts: held.ts,
            linktype: held.linktype,
            caplen: held.caplen,
            wire_len: held.wire_len,
            data: &held.data,
        };
        pipeline.push_frame(&frame, sink);
        let (i, reader) = &mut readers[k];
        next[k] = pull(reader, &paths[*i], &mut error);
    }
    let summary = pipeline.finish(sink);
    warn_unsupported_linktypes(label, &summary);
    RunOutcome {
        summary,
        error,
        open_failed,
    }
}

/// A capture analysed into a whole trace.
#[derive(Debug)]
pub struct Analysed {
    /// Which capture.
    pub label: String,
    /// The trace.
    pub trace: Trace,
    /// Pipeline counters.
    pub summary: CaptureSummary,
    /// The error that cut it short, if any (the trace holds everything before it).
    pub error: Option<CliError>,
    /// True when a file could not be opened or is not a capture (see [`RunOutcome`]).
    pub open_failed: bool,
}

/// Runs a capture through the analyzer and returns the whole trace.
pub fn analyse(source: &CaptureSource, common: &Common, config: AnalyzerConfig) -> Analysed {
    run_analyzer(source, common, Analyzer::new(config))
}

/// Runs a capture through `analyzer` (on a second thread when there is one) and finishes it.
fn run_analyzer(source: &CaptureSource, common: &Common, mut analyzer: Analyzer) -> Analysed {
    let outcome = run_capture_offloaded(source, common, &mut analyzer);
    let end = outcome
        .summary
        .last_ts
        .or(analyzer.trace().totals.last_ts)
        .unwrap_or_default();
    let mut trace = analyzer.finish(end);
    trace.captures.push(capture_info(source, &outcome.summary));
    Analysed {
        label: source.label(),
        trace,
        summary: outcome.summary,
        error: outcome.error,
        open_failed: outcome.open_failed,
    }
}

/// [`analyse`] with `step` run on `state` for every packet record as the analyzer produces it
/// (on the analysis thread), and `state` handed back with the finished capture: a view
/// computed in one pass (`stats`) keeps its totals instead of the records, so
/// `config.retain_packets` can be off.
///
/// The packet callback owns `state`, so a packet costs no lock; the analyzer drops its callback
/// when it finishes, and that drop sends `state` back.
pub fn analyse_folding<S: Send + 'static>(
    source: &CaptureSource,
    common: &Common,
    config: AnalyzerConfig,
    state: S,
    step: fn(&mut S, &Trace, PacketView<'_>),
) -> (Analysed, S) {
    /// The callback's state, sent back when the callback is dropped.
    struct SendBackOnDrop<S> {
        state: Option<S>,
        to: mpsc::SyncSender<S>,
    }
    impl<S> Drop for SendBackOnDrop<S> {
        fn drop(&mut self) {
            if let Some(state) = self.state.take() {
                // Capacity 1 and one send: never blocks. The receiver outlives the analyzer.
                let _ = self.to.try_send(state);
            }
        }
    }
    let (to, back) = mpsc::sync_channel(1);
    let mut held = SendBackOnDrop {
        state: Some(state),
        to,
    };
    let mut analyzer = Analyzer::new(config);
    analyzer.set_packet_callback(Box::new(move |trace, packet| {
        if let Some(state) = held.state.as_mut() {
            step(state, trace, packet);
        }
    }));
    // `run_analyzer` finishes the analyzer: its callback, and with it `held`, is dropped there.
    let analysed = run_analyzer(source, common, analyzer);
    let Ok(state) = back.try_recv() else {
        unreachable!("Analyzer::finish drops the packet callback, which sends the state back")
    };
    (analysed, state)
}

/// [`run_capture`] into `sink`, with `sink` on a second thread when the machine has more
/// than one core (capture::relay: reading and framing overlap with analysis).
pub fn run_capture_offloaded<S: EventSink + Send>(
    source: &CaptureSource,
    common: &Common,
    sink: &mut S,
) -> RunOutcome {
    let stop = AtomicBool::new(false);
    if std::thread::available_parallelism().map_or(1, usize::from) > 1 {
        capture::relay::offload(sink, |relay| run_capture(source, common, relay, &stop))
    } else {
        run_capture(source, common, sink, &stop)
    }
}

/// The trace's record of where its frames came from.
pub fn capture_info(source: &CaptureSource, summary: &CaptureSummary) -> CaptureInfo {
    CaptureInfo {
        source: source.label(),
        frames: summary.frames,
        bytes: summary.bytes,
        first_ts: summary.first_ts,
        last_ts: summary.last_ts,
    }
}

/// The input errors of captures that could not be opened at all, when there is one: views
/// built from the whole run (`flows`, `stats`, `export`) print nothing then, since a table of
/// zeros for a missing file reads as "no traffic". A truncated or corrupt capture alone does
/// not stop the output: what came before the damage is worth showing.
pub fn open_errors(analysed: &mut [Analysed]) -> Option<Vec<CliError>> {
    if !analysed.iter().any(|a| a.open_failed) {
        return None;
    }
    Some(analysed.iter_mut().filter_map(|a| a.error.take()).collect())
}

/// Analyses every capture of an input selection, in order.
pub fn analyse_all(input: &Input, common: &Common, config: &AnalyzerConfig) -> Vec<Analysed> {
    sources(input)
        .iter()
        .map(|s| analyse(s, common, config.clone()))
        .collect()
}
