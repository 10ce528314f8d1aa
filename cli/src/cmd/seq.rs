//! `mqscope seq`: sequence diagrams of connections through `dissector::diagram`.

use std::io::{self, IsTerminal, Write};
use std::path::Path;

use dissector::analyze::AnalyzerConfig;
use dissector::diagram::{self, Diagram};

use crate::cmd::read::finish_with_errors;
use crate::error::{CliError, stdout_err};
use crate::flags::hiargs::{Common, Input};
use crate::flags::lowargs::Format;
use crate::input::{self, Analysed};

/// Arrow width of the terminal rendering.
fn text_width() -> usize {
    // Leave room for time, brackets and notes; never narrower than 40 nor wider than 72.
    let cols = std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.parse::<usize>().ok())
        .unwrap_or(120);
    cols.saturating_sub(60).clamp(40, 72)
}

/// The diagrams asked for in one capture: a stream, a client's connections, or every connection.
fn diagrams(
    a: &Analysed,
    input: &Input,
    stream: Option<u32>,
    client: Option<&str>,
) -> Vec<Diagram> {
    let trace = &a.trace;
    let include_all = |_: u64, _: &dissector::model::PacketRecord| true;
    let filter = &input.filter;
    let base = trace.packet_base;
    let include_filtered = |idx: u64, _: &dissector::model::PacketRecord| {
        idx.checked_sub(base)
            .is_some_and(|pos| filter.matches_packet(trace, pos as usize))
    };
    let include: &dyn Fn(u64, &dissector::model::PacketRecord) -> bool = if filter.is_all() {
        &include_all
    } else {
        &include_filtered
    };
    let conns: Vec<usize> = match (stream, client) {
        (Some(s), _) => trace.connection_index_of_stream(s).into_iter().collect(),
        (None, Some(id)) => (0..trace.connections.len())
            .filter(|&i| trace.client_id_of(i) == id)
            .collect(),
        (None, None) => crate::cmd::flows::selected_connections(trace, filter),
    };
    if conns.is_empty() {
        return Vec::new();
    }
    if client.is_some() {
        // One client's connections on one diagram, one after another.
        vec![diagram::build::connections(trace, &conns, include)]
    } else {
        conns
            .into_iter()
            .map(|c| diagram::build::connection(trace, c, include))
            .collect()
    }
}

/// Runs `seq`.
pub fn run(
    common: &Common,
    input: &Input,
    format: Format,
    stream: Option<u32>,
    client: Option<&str>,
    output: Option<&Path>,
) -> Result<u8, CliError> {
    let config = AnalyzerConfig {
        show_passwords: common.show_passwords,
        ..AnalyzerConfig::default()
    };
    let mut analysed = input::analyse_all(input, common, &config);
    if let Some(errors) = input::open_errors(&mut analysed) {
        return finish_with_errors(errors);
    }
    let mut all: Vec<Diagram> = analysed
        .iter()
        .flat_map(|a| diagrams(a, input, stream, client))
        .collect();
    if all.is_empty() {
        let errors: Vec<CliError> = analysed.iter_mut().filter_map(|a| a.error.take()).collect();
        if !errors.is_empty() {
            return finish_with_errors(errors);
        }
        // Name the capture(s) searched, as every input error does.
        let searched = analysed
            .iter()
            .map(|a| a.label.as_str())
            .collect::<Vec<_>>()
            .join(", ");
        return Err(CliError::input(
            Path::new(&searched),
            match (stream, client) {
                (Some(s), _) => format!("no MQTT connection with tcp.stream {s} in the capture"),
                (_, Some(c)) => format!(
                    "no MQTT connection of client id \"{}\" in the capture",
                    crate::term::escape(c)
                ),
                _ => "no MQTT connection in the capture".to_string(),
            },
        ));
    }
    if matches!(format, Format::Mermaid | Format::Svg) && all.len() > 1 {
        // Mermaid and SVG documents hold one diagram: draw every connection on one, in order.
        let mut merged = Diagram::new(
            all.iter()
                .map(|d| d.title.clone())
                .collect::<Vec<_>>()
                .join(" | "),
            "client",
            all.first().map(|d| d.broker.clone()).unwrap_or_default(),
        );
        for d in all.drain(..) {
            merged.append(d);
        }
        all.push(merged);
    }
    let mut text = String::new();
    for (i, d) in all.iter().enumerate() {
        match format {
            Format::Mermaid => text.push_str(&diagram::mermaid::render(d)),
            Format::Svg => text.push_str(&diagram::svg::render(d)),
            _ => {
                if i > 0 {
                    text.push('\n');
                }
                text.push_str(&diagram::text::render(d, text_width()));
            }
        }
    }
    match output {
        Some(path) => write_file(path, text.as_bytes())?,
        None => {
            let mut out = io::stdout().lock();
            if format == Format::Svg && out.is_terminal() {
                eprintln!("mqscope: writing SVG to a terminal; use -o FILE.svg or redirect stdout");
            }
            out.write_all(text.as_bytes()).map_err(stdout_err)?;
            out.flush().map_err(stdout_err)?;
        }
    }
    finish_with_errors(analysed.into_iter().filter_map(|a| a.error).collect())
}

/// Writes a file through a temporary file in the same directory and a rename, so a reader never
/// sees half a diagram.
pub fn write_file(path: &Path, bytes: &[u8]) -> Result<(), CliError> {
    dissector::export::write_file_atomically(path, bytes).map_err(|source| CliError::Output {
        what: path.display().to_string(),
        source,
    })
}
