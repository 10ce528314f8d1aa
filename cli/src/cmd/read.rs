//! `mqscope read`: print each MQTT packet as soon as it is analysed. Memory stays bounded: the
//! analyzer keeps connections, open transactions and anomalies, never the packet records,
//! which are printed and dropped one by one.

use std::io::{self, IsTerminal, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use dissector::analyze::{Analyzer, AnalyzerConfig};
use dissector::filter::{Filter, PacketView};
use dissector::input::{EventSink, StreamEvent};

use crate::error::{CliError, EXIT_ERROR, stdout_err};
use crate::flags::hiargs::{Common, Input, PacketOutput};
use crate::flags::lowargs::Format;
use crate::input;
use crate::render::packet::{self, PacketCtx, PacketStyle};
use crate::term::Painter;

/// The analyzer settings for streaming output: packet records are handed over and dropped,
/// completed transactions are not kept.
pub fn streaming_config(common: &Common) -> AnalyzerConfig {
    AnalyzerConfig {
        retain_packets: true,
        show_passwords: common.show_passwords,
        ..AnalyzerConfig::streaming()
    }
}

/// An [`EventSink`] that feeds the analyzer and prints every packet it records, then forgets
/// the record.
pub struct PacketPrinter<'w> {
    /// The analyzer (its trace holds connections, anomalies, open transactions).
    pub analyzer: Analyzer,
    out: &'w mut dyn Write,
    output: PacketOutput,
    style: PacketStyle,
    filter: Filter,
    /// Packets printed so far (all captures).
    pub printed: u64,
    /// Set when the count is reached or writing failed: the caller stops reading.
    pub stop: Arc<AtomicBool>,
    /// The write error that stopped printing.
    pub write_error: Option<io::Error>,
    /// Name of the capture, added to JSON objects when several captures are printed.
    capture: Option<String>,
    /// Flush after every packet (terminal, live capture).
    flush_each: bool,
    /// JSON array output: true once the first element is written.
    json_started: bool,
}

impl<'w> PacketPrinter<'w> {
    /// A printer writing to `out`.
    pub fn new(
        common: &Common,
        output: PacketOutput,
        filter: Filter,
        out: &'w mut dyn Write,
        stop: Arc<AtomicBool>,
        flush_each: bool,
    ) -> PacketPrinter<'w> {
        PacketPrinter {
            analyzer: Analyzer::new(streaming_config(common)),
            out,
            output,
            style: PacketStyle {
                payload: output.payload,
                show_passwords: common.show_passwords,
                origin: None,
                painter: Painter {
                    color: common.color && output.format == Format::Text,
                },
            },
            filter,
            printed: 0,
            stop,
            write_error: None,
            capture: None,
            flush_each,
            json_started: false,
        }
    }

    /// Starts the next capture: a fresh analyzer (stream and frame numbers restart).
    pub fn next_capture(&mut self, common: &Common, label: Option<String>) {
        self.analyzer = Analyzer::new(streaming_config(common));
        self.style.origin = None;
        self.capture = label;
    }

    /// Writes the JSON array's opening (for `-T json`).
    pub fn begin(&mut self) {
        if self.output.format == Format::Json {
            self.write(b"[\n");
        }
    }

    /// Writes the JSON array's closing and flushes.
    pub fn end(&mut self) {
        if self.output.format == Format::Json {
            let tail: &[u8] = if self.json_started { b"\n]\n" } else { b"]\n" };
            self.write(tail);
        }
        if self.write_error.is_none()
            && let Err(e) = self.out.flush()
        {
            self.fail(e);
        }
    }

    fn write(&mut self, bytes: &[u8]) {
        if self.write_error.is_some() {
            return;
        }
        if let Err(e) = self.out.write_all(bytes) {
            self.fail(e);
        }
    }

    fn fail(&mut self, e: io::Error) {
        self.write_error = Some(e);
        self.stop.store(true, Ordering::Relaxed);
    }

    /// Prints the records the last event produced, then drops them.
    fn emit(&mut self, bytes: &[u8]) {
        let trace = self.analyzer.trace();
        if self.style.origin.is_none() {
            self.style.origin = trace.totals.first_ts;
        }
        let mut text = Vec::new();
        for pos in 0..trace.packets.len() {
            if self.stop.load(Ordering::Relaxed) {
                break;
            }
            if !self.filter.is_all() && !self.filter.matches_packet(trace, pos) {
                continue;
            }
            let Some(view) = PacketView::new(trace, pos) else {
                continue;
            };
            let index = trace.packet_base + pos as u64;
            let rec = view.record();
            // One MQTT event yields one record; its bytes are the event's.
            let raw = (pos + 1 == trace.packets.len()).then_some(bytes);
            let ctx = PacketCtx::new(trace, index, rec, raw);
            match self.output.format {
                Format::Json | Format::Jsonl => {
                    let mut obj = packet::json(&ctx, &self.style);
                    obj.capture = self.capture.clone();
                    if self.output.format == Format::Json {
                        text.extend_from_slice(if self.json_started { b",\n  " } else { b"  " });
                        self.json_started = true;
                    }
                    if serde_json::to_writer(&mut text, &obj).is_err() {
                        continue;
                    }
                    if self.output.format == Format::Jsonl {
                        text.push(b'\n');
                    }
                }
                _ => {
                    if self.output.verbose {
                        text.extend_from_slice(packet::detail(&ctx, &self.style).as_bytes());
                        text.push(b'\n');
                    } else {
                        text.extend_from_slice(packet::line(&ctx, &self.style).as_bytes());
                        text.push(b'\n');
                    }
                }
            }
            self.printed += 1;
            if self.output.count.is_some_and(|c| self.printed >= c) {
                self.stop.store(true, Ordering::Relaxed);
            }
        }
        // Forget the records: `read` holds no packet history.
        let trace = self.analyzer.trace_mut();
        trace.packets.clear();
        trace.packet_base = trace.totals.packets;
        if !text.is_empty() {
            self.write(&text);
            if self.flush_each
                && self.write_error.is_none()
                && let Err(e) = self.out.flush()
            {
                self.fail(e);
            }
        }
    }
}

impl EventSink for PacketPrinter<'_> {
    fn event(&mut self, event: StreamEvent<'_>) {
        // The bytes borrow the pipeline's buffer, not the event: keep them past the hand-over.
        let bytes = match &event {
            StreamEvent::Packet(p) => Some(p.bytes),
            _ => None,
        };
        if self.stop.load(Ordering::Relaxed) {
            return;
        }
        self.analyzer.event(event);
        if let Some(bytes) = bytes {
            self.emit(bytes);
        }
    }
}

/// Runs `read`.
pub fn run(common: &Common, input: &Input, output: PacketOutput) -> Result<u8, CliError> {
    let stdout = io::stdout();
    let is_tty = stdout.is_terminal();
    let mut out = io::BufWriter::with_capacity(1 << 16, stdout.lock());
    let stop = Arc::new(AtomicBool::new(false));
    let sources = input::sources(input);
    let several = sources.len() > 1;
    let mut printer = PacketPrinter::new(
        common,
        output,
        input.filter.clone(),
        &mut out,
        Arc::clone(&stop),
        is_tty,
    );
    printer.begin();
    let mut errors: Vec<CliError> = Vec::new();
    for source in &sources {
        if stop.load(Ordering::Relaxed) {
            break;
        }
        printer.next_capture(common, several.then(|| source.label()));
        if several && output.format == Format::Text {
            let header = format!("# {}\n", source.label());
            printer.write(header.as_bytes());
        }
        let outcome = input::run_capture(source, common, &mut printer, &stop);
        if let Some(e) = outcome.error {
            errors.push(e);
        }
    }
    printer.end();
    if let Some(e) = printer.write_error.take() {
        return Err(stdout_err(e));
    }
    drop(printer);
    drop(out);
    finish_with_errors(errors)
}

/// Prints input errors (after the partial output) and returns the exit status.
pub fn finish_with_errors(errors: Vec<CliError>) -> Result<u8, CliError> {
    if errors.is_empty() {
        return Ok(0);
    }
    for e in &errors {
        eprintln!("mqscope: {e}");
    }
    Ok(EXIT_ERROR)
}
