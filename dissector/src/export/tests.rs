//! The export against its documentation: docs/export.md lists every column of every table with
//! its type; each table of a sample trace is written in every format and read back (CSV and
//! Parquet with polars, JSON lines with serde_json) and compared with that page.

use std::collections::BTreeMap;
use std::fs::File;
use std::sync::Arc;

use polars::prelude::*;

use super::*;
use crate::filter::testing::sample_trace;

const DOC: &str = include_str!("../../../docs/export.md");

/// A column as docs/export.md gives it.
#[derive(Debug, Clone, PartialEq)]
struct DocColumn {
    name: String,
    ty: ColumnType,
    nullable: bool,
    meaning: String,
}

fn parse_type(label: &str) -> Option<(ColumnType, bool)> {
    let (base, nullable) = match label.strip_suffix('?') {
        Some(base) => (base, true),
        None => (label, false),
    };
    let ty = [
        ColumnType::U32,
        ColumnType::U64,
        ColumnType::F64,
        ColumnType::Bool,
        ColumnType::Str,
    ]
    .into_iter()
    .find(|t| t.name() == base)?;
    Some((ty, nullable))
}

/// The column tables of docs/export.md, by the `## name` heading above each.
fn doc_schemas() -> BTreeMap<String, Vec<DocColumn>> {
    let mut schemas: BTreeMap<String, Vec<DocColumn>> = BTreeMap::new();
    let mut current: Option<String> = None;
    for line in DOC.lines() {
        if let Some(heading) = line.strip_prefix("## ") {
            current = Table::from_name(heading.trim()).map(|t| t.name().to_string());
            continue;
        }
        let Some(table) = &current else { continue };
        let Some(rest) = line.strip_prefix("| `") else {
            continue;
        };
        let cells: Vec<&str> = rest.trim_end_matches(" |").split(" | ").collect();
        let [name, ty, meaning] = cells.as_slice() else {
            panic!("bad row in docs/export.md: {line}")
        };
        let (ty, nullable) =
            parse_type(ty).unwrap_or_else(|| panic!("bad type in docs/export.md: {line}"));
        schemas.entry(table.clone()).or_default().push(DocColumn {
            name: name.trim_end_matches('`').to_string(),
            ty,
            nullable,
            meaning: meaning.to_string(),
        });
    }
    schemas
}

#[test]
fn docs_list_every_column_of_every_table_as_the_code_has_it() {
    let docs = doc_schemas();
    assert_eq!(docs.len(), Table::ALL.len(), "one section per table");
    for table in Table::ALL {
        let documented = &docs[table.name()];
        let code: Vec<DocColumn> = table
            .schema()
            .iter()
            .map(|c| DocColumn {
                name: c.name.into(),
                ty: c.ty,
                nullable: c.nullable,
                meaning: c.doc.into(),
            })
            .collect();
        assert_eq!(documented, &code, "docs/export.md, table {table}");
    }
}

#[test]
fn jsonl_columns_shared_with_the_per_packet_json_keep_their_names() {
    let names: Vec<&str> = Table::Packets.schema().iter().map(|c| c.name).collect();
    for field in [
        "frame",
        "ts",
        "stream",
        "src",
        "dst",
        "dir",
        "type",
        "type_id",
        "version",
        "dup",
        "qos",
        "retain",
        "packet_id",
        "topic",
        "client_id",
        "remaining_length",
        "fixed_header_len",
        "variable_header_len",
        "properties_len",
        "payload_len",
        "anomalies",
    ] {
        assert!(names.contains(&field), "packets lacks {field}");
    }
}

fn polars_schema(columns: &[DocColumn]) -> SchemaRef {
    Arc::new(
        columns
            .iter()
            .map(|c| Field::new(c.name.as_str().into(), c.ty.dtype()))
            .collect(),
    )
}

fn assert_frame_matches_doc(frame: &DataFrame, columns: &[DocColumn], what: &str) {
    let names: Vec<&str> = frame
        .get_column_names()
        .into_iter()
        .map(|n| n.as_str())
        .collect();
    let expected: Vec<&str> = columns.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, expected, "{what}: column names");
    for (column, doc) in frame.columns().iter().zip(columns) {
        assert_eq!(
            column.dtype(),
            &doc.ty.dtype(),
            "{what}: type of {}",
            doc.name
        );
        if !doc.nullable {
            assert_eq!(
                column.null_count(),
                0,
                "{what}: {} is documented as never null",
                doc.name
            );
        }
    }
}

fn expected_rows(table: Table) -> usize {
    match table {
        Table::Packets => 9,
        Table::Connections => 2,
        Table::Transactions => 5,
        Table::Anomalies => 2,
        Table::Deliveries => 1,
        Table::Topics => 3,
    }
}

#[test]
fn parquet_files_read_back_with_the_documented_columns_and_types() {
    let trace = sample_trace();
    let dir = tempfile::tempdir().unwrap();
    let docs = doc_schemas();
    let written = write_tables(&trace, dir.path(), Format::Parquet, None).unwrap();
    assert_eq!(written.len(), 6);
    for file in written {
        assert_eq!(
            file.path,
            dir.path().join(format!("{}.parquet", file.table))
        );
        assert_eq!(file.rows, expected_rows(file.table), "{}", file.table);
        let frame = ParquetReader::new(File::open(&file.path).unwrap())
            .finish()
            .unwrap();
        assert_eq!(frame.height(), file.rows);
        assert_frame_matches_doc(
            &frame,
            &docs[file.table.name()],
            &format!("{}.parquet", file.table),
        );
    }
}

#[test]
fn csv_files_read_back_with_the_documented_columns_and_parse_as_their_types() {
    let trace = sample_trace();
    let dir = tempfile::tempdir().unwrap();
    let docs = doc_schemas();
    for file in write_tables(&trace, dir.path(), Format::Csv, None).unwrap() {
        let columns = &docs[file.table.name()];
        let header = std::fs::read_to_string(&file.path)
            .unwrap()
            .lines()
            .next()
            .unwrap_or_default()
            .to_string();
        let expected_header: Vec<&str> = columns.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(
            header,
            expected_header.join(","),
            "{}.csv header",
            file.table
        );
        // Reading with the documented schema fails if any value does not parse as its type.
        let frame = CsvReadOptions::default()
            .with_has_header(true)
            .with_schema(Some(polars_schema(columns)))
            .try_into_reader_with_file_path(Some(file.path.clone()))
            .unwrap()
            .finish()
            .unwrap_or_else(|e| panic!("{}.csv: {e}", file.table));
        assert_eq!(
            frame.height(),
            expected_rows(file.table),
            "{}.csv rows",
            file.table
        );
        let names: Vec<&str> = frame
            .get_column_names()
            .into_iter()
            .map(|n| n.as_str())
            .collect();
        assert_eq!(names, expected_header);
    }
}

#[test]
fn jsonl_lines_have_every_documented_key_with_values_of_its_type() {
    let trace = sample_trace();
    let dir = tempfile::tempdir().unwrap();
    let docs = doc_schemas();
    for file in write_tables(&trace, dir.path(), Format::JsonLines, None).unwrap() {
        let text = std::fs::read_to_string(&file.path).unwrap();
        assert_eq!(
            text.lines().count(),
            expected_rows(file.table),
            "{}.jsonl",
            file.table
        );
        for line in text.lines() {
            let object: serde_json::Map<String, serde_json::Value> =
                serde_json::from_str(line).unwrap();
            let columns = &docs[file.table.name()];
            assert_eq!(object.len(), columns.len(), "{}.jsonl: {line}", file.table);
            for c in columns {
                let value = object
                    .get(&c.name)
                    .unwrap_or_else(|| panic!("{}.jsonl lacks {}", file.table, c.name));
                let ok = match (c.ty, value) {
                    (_, serde_json::Value::Null) => c.nullable,
                    (ColumnType::U32, v) => v.as_u64().is_some_and(|n| n <= u64::from(u32::MAX)),
                    (ColumnType::U64, v) => v.as_u64().is_some(),
                    (ColumnType::F64, v) => v.as_f64().is_some(),
                    (ColumnType::Bool, v) => v.is_boolean(),
                    (ColumnType::Str, v) => v.is_string(),
                };
                assert!(
                    ok,
                    "{}.jsonl: {} = {value} is not {}",
                    file.table,
                    c.name,
                    c.ty.name()
                );
            }
        }
    }
}

#[test]
fn packet_rows_carry_the_model_values() {
    let trace = sample_trace();
    let frame = table_frame(&trace, Table::Packets, None).unwrap();
    let col = |name: &str| frame.column(name).unwrap().as_materialized_series().clone();
    assert_eq!(col("frame").u64().unwrap().get(2), Some(3));
    assert_eq!(col("type").str().unwrap().get(2), Some("PUBLISH"));
    assert_eq!(col("qos").u32().unwrap().get(2), Some(1));
    assert_eq!(col("packet_id").u32().unwrap().get(2), Some(7));
    assert_eq!(col("src").str().unwrap().get(2), Some("10.0.0.5:51000"));
    assert_eq!(
        col("dst").str().unwrap().get(5),
        Some("[2001:db8::2]:40000")
    );
    assert_eq!(col("latency_ms").f64().unwrap().get(3), Some(12.5));
    assert_eq!(
        col("anomalies").str().unwrap().get(7),
        Some("MQ-RETAIN-UNAVAILABLE")
    );
    assert_eq!(col("remaining_length").u64().unwrap().get(8), Some(316));
    assert_eq!(col("incomplete").bool().unwrap().get(6), Some(true));
    assert_eq!(col("packet_id").u32().unwrap().get(0), None);
}

#[test]
fn a_filter_keeps_the_matching_packets_and_the_rows_that_refer_to_them() {
    let trace = sample_trace();
    let filter = Filter::parse("mqtt.clientid == app").unwrap();
    let height = |table| table_frame(&trace, table, Some(&filter)).unwrap().height();
    assert_eq!(height(Table::Packets), 4);
    assert_eq!(height(Table::Connections), 1);
    assert_eq!(height(Table::Transactions), 2);
    assert_eq!(height(Table::Anomalies), 1);
    // The delivery's incoming PUBLISH is sensor-1's, which the filter drops.
    assert_eq!(height(Table::Deliveries), 0);
    assert_eq!(height(Table::Topics), 2);
    assert_eq!(
        table_frame(&trace, Table::Packets, Some(&Filter::all()))
            .unwrap()
            .height(),
        9
    );
}

#[test]
fn passwords_are_exported_only_when_the_model_kept_them() {
    let mut trace = sample_trace();
    let password = |trace: &Trace| {
        let frame = table_frame(trace, Table::Connections, None).unwrap();
        let column = frame
            .column("password")
            .unwrap()
            .as_materialized_series()
            .clone();
        column.str().unwrap().get(0).map(str::to_string)
    };
    assert_eq!(password(&trace), None);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.jsonl");
    write_table(&trace, Table::Connections, &path, None).unwrap();
    assert!(!std::fs::read_to_string(&path).unwrap().contains("secret"));
    if let Some(p) = trace.connections[0].password.as_mut() {
        p.text = Some("secret".into());
    }
    assert_eq!(password(&trace).as_deref(), Some("secret"));
}

#[test]
fn the_extension_chooses_the_format_and_unknown_ones_are_refused() {
    assert_eq!(
        Format::from_path(Path::new("a/b.PARQUET")),
        Some(Format::Parquet)
    );
    assert_eq!(Format::from_path(Path::new("b.csv")), Some(Format::Csv));
    assert_eq!(
        Format::from_path(Path::new("b.ndjson")),
        Some(Format::JsonLines)
    );
    assert_eq!(Format::from_path(Path::new("b")), None);
    let trace = sample_trace();
    let dir = tempfile::tempdir().unwrap();
    let err = write_table(&trace, Table::Packets, &dir.path().join("x.xlsx"), None).unwrap_err();
    assert!(matches!(err, ExportError::UnknownFormat { .. }), "{err}");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn a_whole_file_replaces_the_old_one_and_leaves_no_temporary_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("flows.svg");
    std::fs::write(&path, "old").unwrap();
    write_file_atomically(&path, b"<svg/>").unwrap();
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "<svg/>");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    let missing = dir.path().join("no-such-dir").join("x.svg");
    assert!(write_file_atomically(&missing, b"x").is_err());
    assert!(write_file_atomically(dir.path(), b"x").is_err());
}

#[test]
fn a_failed_write_leaves_the_old_file_and_no_temporary_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("packets.csv");
    std::fs::write(&path, "old").unwrap();
    let result = write_atomically(&path, |out| {
        out.write_all(b"half a fi")?;
        Err::<(), _>(std::io::Error::other("disk full"))
    });
    assert!(matches!(result, Err(ExportError::Io { .. })));
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "old");
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, [std::ffi::OsString::from("packets.csv")]);
}

#[test]
fn a_successful_write_replaces_the_file_and_leaves_no_temporary_file() {
    let trace = sample_trace();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("anomalies.jsonl");
    std::fs::write(&path, "old").unwrap();
    assert_eq!(
        write_table(&trace, Table::Anomalies, &path, None).unwrap(),
        2
    );
    assert!(
        std::fs::read_to_string(&path)
            .unwrap()
            .starts_with("{\"code\":\"MQ-RETAIN-UNAVAILABLE\"")
    );
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
}

#[test]
fn writing_into_a_missing_directory_is_an_io_error_naming_the_file() {
    let trace = sample_trace();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("missing").join("t.parquet");
    let err = write_table(&trace, Table::Topics, &path, None).unwrap_err();
    assert!(matches!(err, ExportError::Io { .. }));
    assert!(err.to_string().contains("t.parquet"), "{err}");
}

#[test]
fn an_empty_trace_exports_empty_tables_with_their_columns() {
    let trace = Trace::new();
    let dir = tempfile::tempdir().unwrap();
    let docs = doc_schemas();
    for file in write_tables(&trace, dir.path(), Format::Parquet, None).unwrap() {
        assert_eq!(file.rows, 0);
        let frame = ParquetReader::new(File::open(&file.path).unwrap())
            .finish()
            .unwrap();
        assert_frame_matches_doc(
            &frame,
            &docs[file.table.name()],
            &format!("empty {}", file.table),
        );
    }
}

#[test]
fn export_writes_one_table_to_a_file_and_every_table_to_a_directory() {
    let trace = sample_trace();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("t.csv");
    let one = export(&trace, &file, Table::Topics, Format::Parquet, None).unwrap();
    assert_eq!(
        one,
        [ExportedFile {
            table: Table::Topics,
            path: file.clone(),
            rows: 3
        }]
    );
    let slash = format!("{}/all/", dir.path().display());
    let all = export(
        &trace,
        Path::new(&slash),
        Table::Topics,
        Format::JsonLines,
        None,
    )
    .unwrap();
    let names: Vec<_> = all
        .iter()
        .map(|f| f.path.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        names,
        [
            "packets.jsonl",
            "connections.jsonl",
            "transactions.jsonl",
            "anomalies.jsonl",
            "deliveries.jsonl",
            "topics.jsonl"
        ]
    );
    // An existing directory without the trailing slash is a directory target too.
    let again = export(
        &trace,
        &dir.path().join("all"),
        Table::Packets,
        Format::Csv,
        None,
    )
    .unwrap();
    assert_eq!(again.len(), 6);
    assert!(again.iter().all(|f| f.path.extension().unwrap() == "csv"));
}

#[test]
fn tables_larger_than_a_batch_are_written_in_several_batches_with_the_same_content() {
    let trace = sample_trace();
    let sel = Selection::new(&trace, None);
    let mut sizes = Vec::new();
    let rows = write_batches(&trace, Table::Packets, &sel, 2, &mut |frame| {
        sizes.push(frame.height());
        Ok(())
    })
    .unwrap();
    assert_eq!((rows, sizes), (9, vec![2, 2, 2, 2, 1]));

    let whole = table_frame(&trace, Table::Packets, None).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let parquet = dir.path().join("p.parquet");
    write_in_batches(&trace, Table::Packets, &parquet, Format::Parquet, &sel, 2).unwrap();
    let back = ParquetReader::new(File::open(&parquet).unwrap())
        .finish()
        .unwrap();
    assert!(back.equals_missing(&whole), "{back}\n{whole}");

    let csv = dir.path().join("p.csv");
    write_in_batches(&trace, Table::Packets, &csv, Format::Csv, &sel, 4).unwrap();
    let text = std::fs::read_to_string(&csv).unwrap();
    assert_eq!(text.lines().count(), 10, "one header line and nine rows");
    assert_eq!(text.lines().filter(|l| l.starts_with("frame,")).count(), 1);
}

#[test]
fn every_format_writes_the_same_rows_for_the_same_filter() {
    let trace = sample_trace();
    for text in [
        "",
        "mqtt.msgtype == PUBLISH",
        "tcp.stream == 1",
        "mqscope.anomaly",
        "mqtt.qos == 2",
    ] {
        let filter = Filter::parse(text).unwrap();
        for table in Table::ALL {
            let expected = table_frame(&trace, table, Some(&filter)).unwrap();
            let dir = tempfile::tempdir().unwrap();
            let parquet = dir.path().join("t.parquet");
            let jsonl = dir.path().join("t.jsonl");
            let csv = dir.path().join("t.csv");
            let rows = [&parquet, &jsonl, &csv]
                .map(|p| write_table(&trace, table, p, Some(&filter)).unwrap());
            assert_eq!(rows, [expected.height(); 3], "{table} with {text:?}");
            let back = ParquetReader::new(File::open(&parquet).unwrap())
                .finish()
                .unwrap();
            assert!(back.equals_missing(&expected), "{table} with {text:?}");
            let lines = std::fs::read_to_string(&jsonl).unwrap().lines().count();
            assert_eq!(lines, expected.height(), "{table} with {text:?}");
        }
    }
}
