//! SVG rendering: a standalone document a browser shows as is (no scripts, no external fonts).
//! Coordinates are computed here from the model's rows and lanes, so the picture matches the
//! terminal and Mermaid renderings row for row.

use std::fmt::Write as _;

use super::{Diagram, Item, Mark, Side, clip};

/// Left edge of the client lifeline.
const CLIENT_X: f64 = 150.0;
/// Distance between the lifelines.
const SPAN: f64 = 520.0;
/// Height of one row.
const ROW_H: f64 = 26.0;
/// Top of the first row.
const TOP: f64 = 84.0;
/// Width of one bracket lane.
const LANE_W: f64 = 14.0;
/// Room for the annotations right of the brackets.
const NOTES_W: f64 = 380.0;

/// Renders `diagram` as an SVG document.
pub fn render(diagram: &Diagram) -> String {
    let broker_x = CLIENT_X + SPAN;
    let lanes = diagram.lanes() as f64;
    let notes_x = broker_x + 16.0 + lanes * LANE_W + 8.0;
    let width = notes_x + NOTES_W;
    let rows = diagram.items.len() as f64;
    let bottom = TOP + rows * ROW_H + 10.0;
    let height = bottom + 20.0;
    let mut out = String::new();
    let _ = writeln!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0}" height="{height:.0}" viewBox="0 0 {width:.0} {height:.0}" font-family="monospace" font-size="12">"#
    );
    out.push_str(concat!(
        "<defs>",
        r#"<marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="8" markerHeight="8" orient="auto-start-reverse">"#,
        r#"<path d="M0,0 L10,5 L0,10 z" fill="context-stroke"/></marker>"#,
        "</defs>\n",
        r##"<rect width="100%" height="100%" fill="#ffffff"/>"##,
        "\n"
    ));
    let _ = writeln!(out, r#"<title>{}</title>"#, xml(&diagram.title));
    let _ = writeln!(
        out,
        r#"<text x="10" y="20" font-size="14" font-weight="bold">{}</text>"#,
        xml(&diagram.title)
    );
    for (x, label) in [(CLIENT_X, &diagram.client), (broker_x, &diagram.broker)] {
        let _ = writeln!(
            out,
            r##"<rect x="{:.1}" y="34" width="220" height="24" rx="4" fill="#eef3fb" stroke="#4a6fa5"/><text x="{x:.1}" y="50" text-anchor="middle">{}</text>"##,
            x - 110.0,
            xml(&clip(label, 30))
        );
        let _ = writeln!(
            out,
            r##"<line x1="{x:.1}" y1="58" x2="{x:.1}" y2="{bottom:.1}" stroke="#4a6fa5" stroke-width="1.5"/>"##
        );
    }
    let _ = writeln!(
        out,
        r##"<text x="10" y="{:.1}" fill="#666666">t (s)</text>"##,
        TOP - 8.0
    );
    for (row, item) in diagram.items.iter().enumerate() {
        let y = row_y(row);
        let _ = writeln!(
            out,
            r##"<text x="10" y="{:.1}" fill="#666666">{:.6}</text>"##,
            y + 4.0,
            item.t()
        );
        match item {
            Item::Message(m) => {
                let (x1, x2) = match m.from {
                    Side::Client => (CLIENT_X, broker_x),
                    Side::Broker => (broker_x, CLIENT_X),
                };
                let colour = colour(m.mark);
                let _ = writeln!(
                    out,
                    r#"<g class="message" data-frame="{}"><line x1="{x1:.1}" y1="{y:.1}" x2="{x2:.1}" y2="{y:.1}" stroke="{colour}" stroke-width="1.3" marker-end="url(#arrow)"/><text x="{:.1}" y="{:.1}" text-anchor="middle" fill="{colour}">{}</text></g>"#,
                    m.frame,
                    CLIENT_X + SPAN / 2.0,
                    y - 4.0,
                    xml(&clip(&m.label, 70))
                );
            }
            Item::Note(n) => {
                let _ = writeln!(
                    out,
                    r##"<g class="note"><rect x="{:.1}" y="{:.1}" width="{:.1}" height="18" fill="#fff8e1" stroke="{}" stroke-dasharray="4 2"/><text x="{:.1}" y="{:.1}" text-anchor="middle">{}</text></g>"##,
                    CLIENT_X + 10.0,
                    y - 13.0,
                    SPAN - 20.0,
                    colour(n.mark.max(Mark::Note)),
                    CLIENT_X + SPAN / 2.0,
                    y,
                    xml(&clip(&n.text, 70))
                );
            }
        }
        let frame = match item {
            Item::Message(m) => m.frame,
            Item::Note(n) => n.frame,
        };
        let mut notes = vec![format!("#{frame}")];
        if let Item::Message(m) = item
            && !m.anomalies.is_empty()
        {
            notes.push(m.anomalies.join(" "));
        }
        for g in diagram
            .groups
            .iter()
            .filter(|g| g.first == row || g.last == row)
        {
            if g.first == row {
                notes.push(g.label.clone());
            }
            if g.last == row {
                notes.push(if g.complete {
                    "complete".to_string()
                } else {
                    format!("INCOMPLETE: {}", g.status)
                });
            }
        }
        let mark = match item {
            Item::Message(m) => m.mark,
            Item::Note(n) => n.mark,
        };
        let _ = writeln!(
            out,
            r#"<text x="{notes_x:.1}" y="{:.1}" fill="{}">{}</text>"#,
            y + 4.0,
            colour(mark),
            xml(&notes.join("  "))
        );
    }
    for g in &diagram.groups {
        let x = broker_x + 16.0 + g.lane as f64 * LANE_W;
        let (y1, y2) = (row_y(g.first) - 6.0, row_y(g.last) + 6.0);
        let (stroke, dash) = if g.complete {
            ("#4a6fa5", "")
        } else {
            ("#c62828", r#" stroke-dasharray="3 2""#)
        };
        let _ = writeln!(
            out,
            r#"<path class="group" d="M{:.1},{y1:.1} H{x:.1} V{y2:.1} H{:.1}" fill="none" stroke="{stroke}" stroke-width="1.5"{dash}><title>{}</title></path>"#,
            x - 6.0,
            x - 6.0,
            xml(&if g.complete {
                format!("{}: complete", g.label)
            } else {
                format!("{}: {}", g.label, g.status)
            })
        );
    }
    out.push_str("</svg>\n");
    out
}

fn row_y(row: usize) -> f64 {
    TOP + row as f64 * ROW_H + ROW_H / 2.0
}

fn colour(mark: Mark) -> &'static str {
    match mark {
        Mark::None => "#222222",
        Mark::Note => "#1565c0",
        Mark::Warning => "#e65100",
        Mark::Error => "#c62828",
    }
}

/// Escapes text for XML character data and attribute values; drops characters XML 1.0 forbids.
fn xml(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(' '),
            c if c.is_control() => out.push('�'),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::Message;
    use super::*;

    #[test]
    fn every_message_is_one_arrow_and_text_is_escaped() {
        let mut d = Diagram::new("stream <0>", "client", "broker & co");
        d.push_message(Message::new(0.0, 1, Side::Client, "PUBLISH \"a<b>\""));
        d.push_message(Message::new(0.1, 2, Side::Broker, "PUBACK\x01"));
        d.push_group("QoS 1 id=1", &[0, 1], true, "");
        d.assign_lanes();
        let svg = render(&d);
        assert_eq!(
            svg.matches("marker-end=\"url(#arrow)\"").count(),
            2,
            "{svg}"
        );
        // The broker's answer runs right to left.
        assert!(
            svg.contains(r#"<line x1="670.0" y1="123.0" x2="150.0""#),
            "{svg}"
        );
        assert_eq!(svg.matches("class=\"message\"").count(), 2);
        assert_eq!(svg.matches("class=\"group\"").count(), 1);
        assert!(svg.contains("PUBLISH &quot;a&lt;b&gt;&quot;"));
        assert!(svg.contains("broker &amp; co"));
        assert!(!svg.contains('\x01'));
        assert!(svg.starts_with("<svg ") && svg.trim_end().ends_with("</svg>"));
    }
}
