//! Export: the model as six tables — `packets`, `connections`, `transactions`, `anomalies`,
//! `deliveries`, `topics` — written as CSV, Parquet (through polars) or JSON lines (streamed with
//! serde_json). One copy, used by `mqscope export` and the GUI's export.
//!
//! Behind the cargo feature `export` (polars is the heaviest dependency of the workspace; the
//! dissector stays lean without it). Every table's schema is in `docs/export.md` and checked by a
//! test that writes each format and reads it back.
//!
//! Files are written to a temporary file in the target's directory and renamed into place when
//! complete, so a reader never sees half a file, even when the export fails or is killed.
//!
//! ```no_run
//! # fn demo(trace: &dissector::model::Trace) -> Result<(), dissector::export::ExportError> {
//! use dissector::export::{self, Format, Table};
//! use dissector::filter::Filter;
//! use std::path::Path;
//!
//! let rows = export::write_table(trace, Table::Packets, Path::new("out/packets.parquet"), None)?;
//! let errors = Filter::parse("mqscope.severity == error").expect("valid filter");
//! export::write_tables(trace, Path::new("out/errors"), Format::Csv, Some(&errors))?;
//! # let _ = rows; Ok(()) }
//! ```

mod schema;
mod tables;

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use polars::prelude::{CsvWriter, DataFrame, Field, ParquetWriter, PolarsError, Schema, SerWriter};

use crate::filter::Filter;
use crate::model::Trace;
pub use schema::{ColumnSpec, ColumnType};
use tables::{Endpoints, Selection};

/// One of the exported tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Table {
    /// One row per MQTT packet.
    Packets,
    /// One row per connection.
    Connections,
    /// One row per transaction (request/response flow, QoS handshake).
    Transactions,
    /// One row per anomaly.
    Anomalies,
    /// One row per copy a broker delivered of an incoming PUBLISH.
    Deliveries,
    /// One row per topic.
    Topics,
}

impl Table {
    /// Every table, in documentation order.
    pub const ALL: [Table; 6] = [
        Table::Packets,
        Table::Connections,
        Table::Transactions,
        Table::Anomalies,
        Table::Deliveries,
        Table::Topics,
    ];

    /// The table's name, also its file stem in a directory export.
    pub fn name(self) -> &'static str {
        match self {
            Table::Packets => "packets",
            Table::Connections => "connections",
            Table::Transactions => "transactions",
            Table::Anomalies => "anomalies",
            Table::Deliveries => "deliveries",
            Table::Topics => "topics",
        }
    }

    /// The table called `name`.
    pub fn from_name(name: &str) -> Option<Table> {
        Table::ALL
            .into_iter()
            .find(|t| t.name().eq_ignore_ascii_case(name))
    }

    /// The table's columns, in order.
    pub fn schema(self) -> &'static [ColumnSpec] {
        match self {
            Table::Packets => tables::PacketRow::SCHEMA,
            Table::Connections => tables::ConnectionRow::SCHEMA,
            Table::Transactions => tables::TransactionRow::SCHEMA,
            Table::Anomalies => tables::AnomalyRow::SCHEMA,
            Table::Deliveries => tables::DeliveryRow::SCHEMA,
            Table::Topics => tables::TopicRow::SCHEMA,
        }
    }
}

impl std::fmt::Display for Table {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// Comma-separated values with a header line.
    Csv,
    /// Apache Parquet.
    Parquet,
    /// One JSON object per line.
    JsonLines,
}

impl Format {
    /// Every format.
    pub const ALL: [Format; 3] = [Format::Csv, Format::Parquet, Format::JsonLines];

    /// The format a file name's extension says: `.csv`, `.parquet` (`.pq`), `.jsonl` (`.ndjson`,
    /// `.json`).
    pub fn from_path(path: &Path) -> Option<Format> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        match ext.as_str() {
            "csv" => Some(Format::Csv),
            "parquet" | "pq" => Some(Format::Parquet),
            "jsonl" | "ndjson" | "json" => Some(Format::JsonLines),
            _ => None,
        }
    }

    /// The extension a directory export gives its files.
    pub fn extension(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Parquet => "parquet",
            Format::JsonLines => "jsonl",
        }
    }
}

/// Why an export failed.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// The file name does not say which format to write.
    #[error("{}: unknown export format (use .csv, .parquet or .jsonl)", path.display())]
    UnknownFormat {
        /// The target.
        path: PathBuf,
    },
    /// Reading or writing a file failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// polars could not build or write a table.
    #[error("{}: {source}", path.display())]
    Polars {
        /// The file (empty when building a table in memory).
        path: PathBuf,
        /// The cause.
        source: PolarsError,
    },
}

/// One file an export wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportedFile {
    /// Which table.
    pub table: Table,
    /// Where.
    pub path: PathBuf,
    /// How many rows.
    pub rows: usize,
}

/// Builds a table as a polars DataFrame. With a filter, only the rows related to the packets it
/// keeps: those packets, their connections (connection fields), transactions, anomalies,
/// deliveries and topics.
pub fn table_frame(
    trace: &Trace,
    table: Table,
    filter: Option<&Filter>,
) -> Result<DataFrame, ExportError> {
    let sel = Selection::new(trace, filter);
    build_frame(trace, table, &sel).map_err(|source| ExportError::Polars {
        path: PathBuf::new(),
        source,
    })
}

fn build_frame(trace: &Trace, table: Table, sel: &Selection) -> Result<DataFrame, PolarsError> {
    // Rows are produced through a callback so JSON lines can stream them; here they are
    // collected column by column. The callbacks never fail when collecting.
    macro_rules! collect {
        ($builder:ty, $rows:expr) => {{
            let mut builder = <$builder>::default();
            let _ = $rows(&mut |row| {
                builder.push(row);
                Ok(())
            });
            builder.finish()
        }};
    }
    let ends = Endpoints::new(trace);
    match table {
        Table::Packets => collect!(tables::PacketBuilder, |f| tables::packet_rows(
            trace, sel, &ends, f
        )),
        Table::Connections => collect!(tables::ConnectionBuilder, |f| tables::connection_rows(
            trace, sel, &ends, f
        )),
        Table::Transactions => collect!(tables::TransactionBuilder, |f| tables::transaction_rows(
            trace, sel, f
        )),
        Table::Anomalies => collect!(tables::AnomalyBuilder, |f| tables::anomaly_rows(
            trace, sel, f
        )),
        Table::Deliveries => collect!(tables::DeliveryBuilder, |f| tables::delivery_rows(
            trace, sel, f
        )),
        Table::Topics => collect!(tables::TopicBuilder, |f| tables::topic_rows(trace, sel, f)),
    }
}

/// Writes one table to `path` in the format its extension names; returns the number of rows.
pub fn write_table(
    trace: &Trace,
    table: Table,
    path: &Path,
    filter: Option<&Filter>,
) -> Result<usize, ExportError> {
    let format = Format::from_path(path).ok_or_else(|| ExportError::UnknownFormat {
        path: path.to_path_buf(),
    })?;
    let sel = Selection::new(trace, filter);
    write_selected(trace, table, path, format, &sel)
}

/// Writes every table into the directory `dir` (created if missing) as `packets.<ext>`,
/// `connections.<ext>`, …; returns what it wrote.
pub fn write_tables(
    trace: &Trace,
    dir: &Path,
    format: Format,
    filter: Option<&Filter>,
) -> Result<Vec<ExportedFile>, ExportError> {
    std::fs::create_dir_all(dir).map_err(|source| ExportError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    let sel = Selection::new(trace, filter);
    Table::ALL
        .into_iter()
        .map(|table| {
            let path = dir.join(format!("{}.{}", table.name(), format.extension()));
            let rows = write_selected(trace, table, &path, format, &sel)?;
            Ok(ExportedFile { table, path, rows })
        })
        .collect()
}

/// What `mqscope export -o TARGET` does: a directory target (an existing directory, or a path
/// written with a trailing `/`) gets every table in `dir_format`; a file target gets `table` in
/// the format its extension names.
pub fn export(
    trace: &Trace,
    target: &Path,
    table: Table,
    dir_format: Format,
    filter: Option<&Filter>,
) -> Result<Vec<ExportedFile>, ExportError> {
    let text = target.as_os_str().to_string_lossy();
    if target.is_dir() || text.ends_with('/') || text.ends_with(std::path::MAIN_SEPARATOR) {
        return write_tables(trace, target, dir_format, filter);
    }
    let rows = write_table(trace, table, target, filter)?;
    Ok(vec![ExportedFile {
        table,
        path: target.to_path_buf(),
        rows,
    }])
}

fn write_selected(
    trace: &Trace,
    table: Table,
    path: &Path,
    format: Format,
    sel: &Selection,
) -> Result<usize, ExportError> {
    write_in_batches(trace, table, path, format, sel, BATCH_ROWS)
}

/// [`write_selected`] with a chosen batch size (tests use small ones).
fn write_in_batches(
    trace: &Trace,
    table: Table,
    path: &Path,
    format: Format,
    sel: &Selection,
    batch_rows: usize,
) -> Result<usize, ExportError> {
    let schema = polars_schema(table);
    let other = std::io::Error::other;
    match format {
        Format::JsonLines => write_atomically(path, |out| write_jsonl(trace, table, sel, out)),
        Format::Csv => write_atomically(path, |out| {
            let mut writer = CsvWriter::new(out)
                .include_header(true)
                .batched(&schema)
                .map_err(other)?;
            let rows = write_batches(trace, table, sel, batch_rows, &mut |frame| {
                writer.write_batch(&frame).map_err(other)
            })?;
            writer.finish().map_err(other)?;
            Ok(rows)
        }),
        Format::Parquet => write_atomically(path, |out| {
            let mut writer = ParquetWriter::new(out).batched(&schema).map_err(other)?;
            let rows = write_batches(trace, table, sel, batch_rows, &mut |frame| {
                writer.write_batch(&frame).map_err(other)
            })?;
            writer.finish().map_err(other)?;
            Ok(rows)
        }),
    }
}

/// Rows per batch written to CSV and Parquet: memory stays bounded (about 300 bytes a packet row
/// while it is collected, so ~80 MB) whatever the capture's size, and each Parquet row group is
/// large enough to compress and scan well.
const BATCH_ROWS: usize = 256 * 1024;

/// The polars schema of a table, from its column specs.
fn polars_schema(table: Table) -> Schema {
    table
        .schema()
        .iter()
        .map(|c| Field::new(c.name.into(), c.ty.dtype()))
        .collect()
}

/// Produces the table's rows and hands them to `sink` as frames of at most `batch_rows` rows
/// (one empty frame for an empty table, so the writer still learns the columns); returns the
/// number of rows.
fn write_batches(
    trace: &Trace,
    table: Table,
    sel: &Selection,
    batch_rows: usize,
    sink: &mut dyn FnMut(DataFrame) -> std::io::Result<()>,
) -> std::io::Result<usize> {
    macro_rules! batches {
        ($builder:ty, $rows:expr) => {{
            let mut builder = <$builder>::default();
            let mut pending = 0usize;
            let mut total = 0usize;
            $rows(&mut |row| {
                builder.push(row);
                pending += 1;
                if pending >= batch_rows {
                    let frame = std::mem::take(&mut builder)
                        .finish()
                        .map_err(std::io::Error::other)?;
                    sink(frame)?;
                    total += pending;
                    pending = 0;
                }
                Ok(())
            })?;
            if pending > 0 || total == 0 {
                sink(builder.finish().map_err(std::io::Error::other)?)?;
            }
            Ok(total + pending)
        }};
    }
    let ends = Endpoints::new(trace);
    match table {
        Table::Packets => batches!(tables::PacketBuilder, |f| tables::packet_rows(
            trace, sel, &ends, f
        )),
        Table::Connections => {
            batches!(tables::ConnectionBuilder, |f| tables::connection_rows(
                trace, sel, &ends, f
            ))
        }
        Table::Transactions => batches!(tables::TransactionBuilder, |f| tables::transaction_rows(
            trace, sel, f
        )),
        Table::Anomalies => batches!(tables::AnomalyBuilder, |f| tables::anomaly_rows(
            trace, sel, f
        )),
        Table::Deliveries => batches!(tables::DeliveryBuilder, |f| tables::delivery_rows(
            trace, sel, f
        )),
        Table::Topics => batches!(tables::TopicBuilder, |f| tables::topic_rows(trace, sel, f)),
    }
}

/// Streams a table as JSON lines: one row at a time, never the whole table in memory.
fn write_jsonl(
    trace: &Trace,
    table: Table,
    sel: &Selection,
    out: &mut dyn Write,
) -> std::io::Result<usize> {
    let mut rows = 0usize;
    let mut line = |row: &dyn erased::Row| -> std::io::Result<()> {
        row.write_json(out)?;
        out.write_all(b"\n")?;
        rows += 1;
        Ok(())
    };
    let ends = Endpoints::new(trace);
    match table {
        Table::Packets => tables::packet_rows(trace, sel, &ends, |r| line(&r))?,
        Table::Connections => tables::connection_rows(trace, sel, &ends, |r| line(&r))?,
        Table::Transactions => tables::transaction_rows(trace, sel, |r| line(&r))?,
        Table::Anomalies => tables::anomaly_rows(trace, sel, |r| line(&r))?,
        Table::Deliveries => tables::delivery_rows(trace, sel, |r| line(&r))?,
        Table::Topics => tables::topic_rows(trace, sel, |r| line(&r))?,
    }
    Ok(rows)
}

mod erased {
    /// Any serialisable row, behind a trait object so one closure writes every table.
    pub(super) trait Row {
        fn write_json(&self, out: &mut dyn std::io::Write) -> std::io::Result<()>;
    }
    impl<T: serde::Serialize> Row for T {
        fn write_json(&self, out: &mut dyn std::io::Write) -> std::io::Result<()> {
            serde_json::to_writer(out, self).map_err(std::io::Error::other)
        }
    }
}

/// Writes `bytes` to `path` through a temporary file next to it and a rename, as every export
/// does, so that a reader never sees half a file; for outputs that are not tables (diagrams).
/// On any error the temporary file is removed and `path` is left as it was.
pub fn write_file_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    replace_atomically(path, |out| out.write_all(bytes))
}

/// [`replace_atomically`], its error naming `path`.
fn write_atomically<T>(
    path: &Path,
    write: impl FnOnce(&mut BufWriter<&File>) -> std::io::Result<T>,
) -> Result<T, ExportError> {
    replace_atomically(path, write).map_err(|source| ExportError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// Writes through `write` into a temporary file next to `path`, then renames it to `path`. On
/// any error the temporary file is removed and `path` is left as it was.
fn replace_atomically<T>(
    path: &Path,
    write: impl FnOnce(&mut BufWriter<&File>) -> std::io::Result<T>,
) -> std::io::Result<T> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path
        .file_name()
        .ok_or_else(|| std::io::Error::other("not a file name"))?;
    let (file, temp) = create_temp(&dir, name)?;
    let result = (|| {
        let mut out = BufWriter::new(&file);
        let value = write(&mut out)?;
        out.flush()?;
        drop(out);
        file.sync_all()?;
        std::fs::rename(&temp, path)?;
        Ok(value)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    result
}

/// A new file `.<name>.<pid>.<n>.tmp` in `dir` (never an existing one).
fn create_temp(dir: &Path, name: &std::ffi::OsStr) -> std::io::Result<(File, PathBuf)> {
    let pid = std::process::id();
    let mut last_error = None;
    for n in 0..100u32 {
        let mut temp_name = std::ffi::OsString::from(".");
        temp_name.push(name);
        temp_name.push(format!(".{pid}.{n}.tmp"));
        let temp = dir.join(temp_name);
        match File::options().write(true).create_new(true).open(&temp) {
            Ok(file) => return Ok((file, temp)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => last_error = Some(e),
            Err(e) => return Err(e),
        }
    }
    Err(last_error.unwrap_or_else(|| std::io::Error::other("no free temporary file name")))
}

#[cfg(test)]
mod tests;
