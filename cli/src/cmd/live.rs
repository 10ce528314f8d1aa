//! `mqscope live`: capture from an interface with libpcap and print packets as they are
//! analysed. Ctrl-C (or `-c`, `-a duration:S`) stops cleanly: the pipeline is finished, the
//! `-w` copy flushed, and a summary printed on stderr.

use std::io::{self, Write};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use capture::live::{LiveOptions, LiveSource, LiveStop, list_interfaces};
use capture::pipeline::Pipeline;
use dissector::filter::Filter;

use crate::cmd::read::PacketPrinter;
use crate::error::{CliError, stdout_err};
use crate::flags::hiargs::{Common, PacketOutput};
use crate::flags::lowargs::Format;
use crate::input::pipeline_config;

/// What `live` was asked to do.
#[derive(Debug)]
pub struct LiveRequest {
    /// Interface.
    pub interface: String,
    /// BPF filter.
    pub bpf: Option<String>,
    /// Display filter.
    pub filter: Filter,
    /// Savefile.
    pub write: Option<PathBuf>,
    /// Autostop.
    pub duration: Option<Duration>,
    /// Output.
    pub output: PacketOutput,
}

/// `live -D`: the interfaces libpcap can open.
pub fn list(format: Format) -> Result<u8, CliError> {
    let interfaces = list_interfaces().map_err(|e| CliError::Live(e.to_string()))?;
    let mut out = io::stdout().lock();
    if format == Format::Json {
        let rows: Vec<serde_json::Value> = interfaces
            .iter()
            .map(|i| {
                serde_json::json!({
                    "name": i.name, "description": i.description, "addresses": i.addresses,
                    "up": i.up, "loopback": i.loopback,
                })
            })
            .collect();
        let text = serde_json::to_string_pretty(&rows).map_err(|e| stdout_err(e.into()))?;
        writeln!(out, "{text}").map_err(stdout_err)?;
    } else {
        for (n, i) in interfaces.iter().enumerate() {
            let mut extra = Vec::new();
            if let Some(d) = &i.description {
                extra.push(d.clone());
            }
            if !i.addresses.is_empty() {
                extra.push(i.addresses.join(", "));
            }
            if !i.up {
                extra.push("down".into());
            }
            if i.loopback {
                extra.push("loopback".into());
            }
            let extra = if extra.is_empty() {
                String::new()
            } else {
                format!(" ({})", extra.join("; "))
            };
            writeln!(out, "{}. {}{extra}", n + 1, i.name).map_err(stdout_err)?;
        }
    }
    Ok(0)
}

/// The default capture filter: every port MQTT is decoded on (so `-w` stays small).
fn default_bpf(common: &Common) -> String {
    let config = pipeline_config(common);
    let ports: Vec<String> = config
        .mqtt_ports
        .iter()
        .chain(&config.tls_ports)
        .chain(&config.ws_ports)
        .map(|p| format!("tcp port {p}"))
        .collect();
    ports.join(" or ")
}

/// Runs `live`.
pub fn run(common: &Common, req: LiveRequest) -> Result<u8, CliError> {
    let stop = Arc::new(AtomicBool::new(false));
    let handler_stop = Arc::clone(&stop);
    // A second Ctrl-C while stopping kills the process the usual way.
    ctrlc::set_handler(move || {
        if handler_stop.swap(true, Ordering::SeqCst) {
            std::process::exit(130);
        }
    })
    .map_err(|e| CliError::Live(format!("cannot install the Ctrl-C handler: {e}")))?;
    let mut options = LiveOptions::new(&req.interface);
    options.filter = Some(req.bpf.clone().unwrap_or_else(|| default_bpf(common)));
    options.duration = req.duration;
    options.stop = Arc::clone(&stop);
    options.write_to = req.write.clone();
    let mut source = LiveSource::open(&options).map_err(|e| CliError::Live(e.to_string()))?;
    eprintln!(
        "mqscope: capturing on {} (filter: {}){}",
        req.interface,
        options.filter.as_deref().unwrap_or(""),
        req.write
            .as_ref()
            .map(|w| format!(", writing {}", w.display()))
            .unwrap_or_default()
    );
    let stdout = io::stdout();
    let mut out = io::LineWriter::new(stdout.lock());
    let mut printer = PacketPrinter::new(
        common,
        req.output,
        req.filter,
        &mut out,
        Arc::clone(&stop),
        true,
    );
    printer.next_capture(common, None);
    printer.begin();
    let mut pipeline = Pipeline::new(pipeline_config(common));
    let (why, error) = loop {
        match source.next_with(|frame| pipeline.push_frame(frame, &mut printer)) {
            Ok(Ok(())) => {}
            Ok(Err(why)) => break (Some(why), None),
            Err(e) => break (None, Some(CliError::Live(e.to_string()))),
        }
    };
    let flush_error = source.flush().err().map(|e| CliError::Live(e.to_string()));
    let summary = pipeline.finish(&mut printer);
    crate::input::warn_unsupported_linktypes(&req.interface, &summary);
    printer.end();
    let printed = printer.printed;
    let write_error = printer.write_error.take();
    let trace = std::mem::replace(
        &mut printer.analyzer,
        dissector::analyze::Analyzer::new(Default::default()),
    )
    .finish(summary.last_ts.unwrap_or_default());
    drop(printer);
    drop(out);
    let reason = match why {
        Some(LiveStop::Stopped)
            if write_error.is_none() && req.output.count.is_none_or(|c| printed < c) =>
        {
            "interrupted"
        }
        Some(LiveStop::Stopped) => "stopped",
        Some(LiveStop::Duration) => "duration reached",
        Some(LiveStop::Count) => "frame count reached",
        None => "capture error",
    };
    let (errors, warnings, notes) = trace.anomaly_counts();
    let incomplete = trace
        .transactions
        .iter()
        .filter(|t| t.state.is_incomplete())
        .count();
    let summary_line = format!(
        "mqscope: {reason}: {} frames, {} MQTT packets ({printed} shown) on {} connections; \
         {errors} errors, {warnings} warnings, {notes} notes; {incomplete} incomplete flows",
        summary.frames,
        trace.totals.packets,
        trace.connections.len(),
    );
    eprintln!("{summary_line}");
    if let Some(e) = write_error {
        return Err(stdout_err(e));
    }
    if let Some(e) = error.or(flush_error) {
        return Err(e);
    }
    Ok(0)
}
