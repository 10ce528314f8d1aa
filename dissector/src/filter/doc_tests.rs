//! Keeps `docs/filter.md` honest: every example in it parses (or fails, where the page says it
//! does) and evaluates, and its field table lists exactly the catalogue, with the same types and
//! meanings.

use super::testing::sample_trace;
use super::{FIELDS, Filter};

const DOC: &str = include_str!("../../../docs/filter.md");

/// The lines of every fenced block whose info string is `tag`.
fn blocks(tag: &str) -> Vec<&'static str> {
    let mut lines = Vec::new();
    let mut inside = false;
    for line in DOC.lines() {
        if let Some(info) = line.strip_prefix("```") {
            inside = !inside && info.trim() == tag;
            continue;
        }
        if inside && !line.trim().is_empty() {
            lines.push(line);
        }
    }
    lines
}

#[test]
fn every_example_in_the_doc_parses_and_evaluates() {
    let examples = blocks("filter");
    assert!(
        examples.len() >= 25,
        "only {} examples found",
        examples.len()
    );
    let trace = sample_trace();
    for example in examples {
        let filter =
            Filter::parse(example).unwrap_or_else(|e| panic!("docs/filter.md: {example:?}: {e}"));
        // Evaluated on packets and connections: must not panic; the sample makes some match.
        let _ = filter.matching_packets(&trace);
        let _ = filter.matching_connections(&trace);
    }
}

#[test]
fn every_error_example_in_the_doc_is_refused() {
    let examples = blocks("filter-error");
    assert!(!examples.is_empty());
    for example in examples {
        assert!(
            Filter::parse(example).is_err(),
            "docs/filter.md says {example:?} is an error"
        );
    }
}

#[test]
fn the_doc_shows_the_error_the_parser_gives() {
    let e = Filter::parse("mqtt.topc == \"a/b\"").unwrap_err();
    assert!(
        DOC.contains(&e.message),
        "docs/filter.md should quote: {}",
        e.message
    );
}

#[test]
fn the_field_table_matches_the_catalogue() {
    let rows: Vec<(String, String, String)> = DOC
        .lines()
        .filter_map(|l| {
            let cells: Vec<&str> = l.strip_prefix("| `")?.split(" | ").collect();
            let [name, kind, meaning] = cells.as_slice() else {
                return None;
            };
            Some((
                name.trim_end_matches('`').to_string(),
                kind.to_string(),
                meaning.trim_end_matches(" |").to_string(),
            ))
        })
        .filter(|(_, kind, _)| FIELDS.iter().any(|f| f.kind.name() == kind))
        .collect();
    let expected: Vec<(String, String, String)> = FIELDS
        .iter()
        .map(|f| {
            (
                f.name.to_string(),
                f.kind.name().to_string(),
                f.doc.to_string(),
            )
        })
        .collect();
    assert_eq!(rows, expected);
}
