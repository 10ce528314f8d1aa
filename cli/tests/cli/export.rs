//! `export`: every table in every format, read back with polars; the packets table agrees
//! with `read -T jsonl` row for row.

use std::fs::File;

use polars::prelude::*;

use crate::common::{json_lines, run_sample};

fn read_parquet(path: &std::path::Path) -> DataFrame {
    let file = File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    ParquetReader::new(file)
        .finish()
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn read_csv(path: &std::path::Path) -> DataFrame {
    CsvReadOptions::default()
        .with_has_header(true)
        .try_into_reader_with_file_path(Some(path.to_path_buf()))
        .and_then(|r| r.finish())
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn export_directory_writes_all_six_tables_as_parquet() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let out = format!("{}/", dir.path().join("out").display());
    let (code, _, err) = run_sample("export", "mqtt5-session", &["-o", &out]);
    assert_eq!(code, 0, "{err}");
    let (_, jsonl, _) = run_sample("read", "mqtt5-session", &["-T", "jsonl"]);
    let packets = json_lines(&jsonl);
    for table in [
        "packets",
        "connections",
        "transactions",
        "anomalies",
        "deliveries",
        "topics",
    ] {
        let path = dir.path().join("out").join(format!("{table}.parquet"));
        let frame = read_parquet(&path);
        match table {
            "packets" => {
                assert_eq!(frame.height(), packets.len());
                let frames = frame
                    .column("frame")
                    .and_then(|c| c.cast(&DataType::UInt64))
                    .unwrap_or_else(|e| panic!("{e}"));
                let ours: Vec<u64> = frames
                    .u64()
                    .map(|c| c.into_no_null_iter().collect())
                    .unwrap_or_default();
                let want: Vec<u64> = packets.iter().filter_map(|p| p["frame"].as_u64()).collect();
                assert_eq!(ours, want);
            }
            "connections" => assert_eq!(frame.height(), 2),
            _ => {}
        }
        assert!(err.contains(&format!("{table}.parquet")), "{err}");
    }
}

#[test]
fn export_one_table_as_csv_and_jsonl() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let csv = dir.path().join("conns.csv");
    let (code, _, err) = run_sample(
        "export",
        "mqtt311-session",
        &["-o", &csv.to_string_lossy(), "--table", "connections"],
    );
    assert_eq!(code, 0, "{err}");
    let frame = read_csv(&csv);
    assert_eq!(frame.height(), 6);
    assert!(frame.column("stream").is_ok());
    let jsonl = dir.path().join("tx.jsonl");
    let (code, _, _) = run_sample(
        "export",
        "qos2-interrupted",
        &["-o", &jsonl.to_string_lossy(), "--table", "transactions"],
    );
    assert_eq!(code, 0);
    let rows = json_lines(&std::fs::read_to_string(&jsonl).unwrap_or_default());
    assert!(
        rows.iter().any(|r| r.to_string().contains("qos2")),
        "{rows:?}"
    );
    // No temporary files left behind.
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .map(|d| {
            d.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(names.len(), 2, "{names:?}");
}

#[test]
fn export_filter_keeps_the_matching_packets_only() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let path = dir.path().join("p.parquet");
    let (code, _, _) = run_sample(
        "export",
        "mqtt311-session",
        &["-o", &path.to_string_lossy(), "-Y", "mqtt.msgtype == 3"],
    );
    assert_eq!(code, 0);
    let (_, jsonl, _) = run_sample(
        "read",
        "mqtt311-session",
        &["-Y", "mqtt.msgtype == 3", "-T", "jsonl"],
    );
    assert_eq!(read_parquet(&path).height(), json_lines(&jsonl).len());
}

#[test]
fn export_refuses_an_unknown_extension_and_table() {
    let (code, _, err) = run_sample("export", "mqtt311-session", &["-o", "/tmp/x.txt"]);
    assert_eq!(code, 2);
    assert!(err.contains("x.txt"), "{err}");
    let (code, _, err) = run_sample(
        "export",
        "mqtt311-session",
        &["-o", "/tmp/x.csv", "--table", "bogus"],
    );
    assert_eq!(code, 2);
    assert!(err.contains("bogus"), "{err}");
}
