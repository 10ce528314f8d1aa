//! `mqscope export`: the model's tables through `dissector::export` (polars for CSV and
//! Parquet, streamed JSON lines). Files appear complete or not at all (temp file + rename).

use std::path::Path;

use dissector::analyze::AnalyzerConfig;
use dissector::export::{self, Table};

use crate::cmd::read::finish_with_errors;
use crate::error::CliError;
use crate::flags::hiargs::{Common, Input};
use crate::flags::lowargs::ExportFormat;
use crate::input;

fn library_format(f: ExportFormat) -> export::Format {
    match f {
        ExportFormat::Parquet => export::Format::Parquet,
        ExportFormat::Csv => export::Format::Csv,
        ExportFormat::Jsonl => export::Format::JsonLines,
    }
}

/// Runs `export`.
pub fn run(
    common: &Common,
    input: &Input,
    output: &Path,
    tables: &[String],
    format: ExportFormat,
    to_dir: bool,
) -> Result<u8, CliError> {
    if input.files.len() > 1 && !input.merge {
        return Err(CliError::usage(
            "export writes one capture: add --merge to export several files as one",
        ));
    }
    if !to_dir && export::Format::from_path(output) != Some(library_format(format)) {
        return Err(CliError::usage(format!(
            "{}: the file extension must match the format ({})",
            output.display(),
            library_format(format).extension()
        )));
    }
    // Broker fan-out matching keeps every PUBLISH of a delivery window in a table: worth it
    // only when the deliveries are exported.
    let deliveries = tables
        .iter()
        .any(|n| Table::from_name(n) == Some(Table::Deliveries));
    let config = AnalyzerConfig {
        show_passwords: common.show_passwords,
        track_deliveries: deliveries,
        ..AnalyzerConfig::default()
    };
    let mut analysed = input::analyse_all(input, common, &config);
    if let Some(errors) = input::open_errors(&mut analysed) {
        return finish_with_errors(errors);
    }
    let filter = (!input.filter.is_all()).then_some(&input.filter);
    let write_error = |e: export::ExportError| CliError::Output {
        what: "export".into(),
        source: std::io::Error::other(e.to_string()),
    };
    for a in &analysed {
        let all = tables.len() == Table::ALL.len();
        if to_dir && all {
            let files = export::write_tables(&a.trace, output, library_format(format), filter)
                .map_err(write_error)?;
            for f in files {
                eprintln!("mqscope: wrote {} rows to {}", f.rows, f.path.display());
            }
        } else {
            for name in tables {
                let table = Table::from_name(name)
                    .ok_or_else(|| CliError::usage(format!("unknown table {name:?}")))?;
                let path = if to_dir {
                    std::fs::create_dir_all(output).map_err(|source| CliError::Output {
                        what: output.display().to_string(),
                        source,
                    })?;
                    output.join(format!(
                        "{}.{}",
                        table.name(),
                        library_format(format).extension()
                    ))
                } else {
                    output.to_path_buf()
                };
                let rows =
                    export::write_table(&a.trace, table, &path, filter).map_err(write_error)?;
                eprintln!("mqscope: wrote {rows} rows to {}", path.display());
            }
        }
    }
    finish_with_errors(analysed.into_iter().filter_map(|a| a.error).collect())
}
