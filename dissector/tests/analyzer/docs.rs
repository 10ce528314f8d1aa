//! docs/anomalies.md cannot drift from the catalogue: its table is generated from
//! `AnomalyCode::ALL` and compared here (`UPDATE_DOCS=1` rewrites it).

use dissector::model::AnomalyCode;

const BEGIN: &str = "<!-- BEGIN CATALOGUE -->";
const END: &str = "<!-- END CATALOGUE -->";

fn catalogue_table() -> String {
    let mut out = String::from("| Code | Severity | Meaning | Spec |\n|---|---|---|---|\n");
    for c in AnomalyCode::ALL {
        out.push_str(&format!(
            "| `{}` | {} | {} | {} |\n",
            c.code(),
            c.severity(),
            c.title(),
            c.spec_section()
        ));
    }
    out
}

#[test]
fn anomalies_md_lists_every_code_as_the_enum_defines_it() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/anomalies.md");
    let doc = std::fs::read_to_string(path).expect("docs/anomalies.md exists");
    let (Some(b), Some(e)) = (doc.find(BEGIN), doc.find(END)) else {
        panic!("docs/anomalies.md lacks the {BEGIN} / {END} markers");
    };
    let current = &doc[b + BEGIN.len()..e];
    let expected = format!("\n{}", catalogue_table());
    if current != expected {
        if std::env::var_os("UPDATE_DOCS").is_some() {
            let updated = format!("{}{BEGIN}{expected}{}", &doc[..b], &doc[e..]);
            std::fs::write(path, updated).expect("rewrite docs/anomalies.md");
        } else {
            panic!(
                "docs/anomalies.md is out of date: run `UPDATE_DOCS=1 cargo test -p dissector --test analyzer docs`"
            );
        }
    }
}
