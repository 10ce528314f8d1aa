//! Terminal rendering: one row per item, the two lifelines as vertical bars, QoS exchanges as
//! brackets to the right of the broker lifeline (one column per lane).
//!
//! ```text
//!     t (s)  client 10.0.0.5:50000                          broker 10.0.0.1:1883
//!  0.000000  │─ CONNECT "sensor-17" ───────────────────────▶│     #4
//!  0.001200  │◀─ CONNACK Success ───────────────────────────│     #6
//!  0.002000  │─ PUBLISH q1 id=7 "home/temp" ───────────────▶│ ┐   #8   QoS 1 id=7
//!  0.003100  │◀─ PUBACK id=7 ───────────────────────────────│ ┘   #9   ✓ complete
//! ```

use std::fmt::Write as _;

use super::{Diagram, Item, Mark, clip};

/// Renders `diagram` with arrows `width` characters long (at least 20).
pub fn render(diagram: &Diagram, width: usize) -> String {
    let width = width.max(20);
    let lanes = diagram.lanes();
    let mut out = String::new();
    if !diagram.title.is_empty() {
        let _ = writeln!(out, "{}", diagram.title);
    }
    // Header: the lifeline names above their bars.
    let broker_col = width + 1;
    let client = clip(&diagram.client, broker_col.saturating_sub(1));
    let _ = writeln!(
        out,
        "{:>10}  {}{}{}",
        "t (s)",
        client,
        " ".repeat(broker_col.saturating_sub(client.chars().count()) + 1),
        diagram.broker
    );
    for (row, item) in diagram.items.iter().enumerate() {
        let _ = write!(out, "{:>10.6}  ", item.t());
        match item {
            Item::Message(m) => {
                let label = clip(&m.label, width.saturating_sub(5));
                let fill = width.saturating_sub(label.chars().count() + 4);
                match m.from {
                    super::Side::Client => {
                        let _ = write!(out, "│─ {label} {}▶│", "─".repeat(fill));
                    }
                    super::Side::Broker => {
                        let _ = write!(out, "│◀─ {label} {}│", "─".repeat(fill));
                    }
                }
            }
            Item::Note(n) => {
                // Same width as an arrow row (width + 2), so both lifelines stay straight.
                let text = clip(&n.text, width.saturating_sub(4));
                let body = match marker(n.mark) {
                    "" => format!("┆ {text}"),
                    m => format!("┆ {m} {text}"),
                };
                let pad = (width + 1).saturating_sub(body.chars().count());
                let _ = write!(out, "{body}{}┆", " ".repeat(pad));
            }
        }
        out.push(' ');
        out.push_str(&brackets(diagram, row, lanes));
        let frame = match item {
            Item::Message(m) => m.frame,
            Item::Note(n) => n.frame,
        };
        let _ = write!(out, " #{frame:<6}");
        let mut notes: Vec<String> = Vec::new();
        for g in diagram
            .groups
            .iter()
            .filter(|g| g.first == row || g.last == row)
        {
            let status = if g.complete {
                "✓ complete".to_string()
            } else {
                format!("✗ {}", g.status)
            };
            if g.first == row && g.last == row {
                notes.push(format!("{}: {status}", g.label));
            } else if g.first == row {
                notes.push(g.label.clone());
            } else {
                notes.push(status);
            }
        }
        if let Item::Message(m) = item
            && !m.anomalies.is_empty()
        {
            notes.push(format!("{} {}", marker(m.mark), m.anomalies.join(" ")));
        }
        let line = notes.join("  ");
        out.push_str(line.trim_end());
        // Trailing spaces make snapshot diffs and terminals noisy.
        while out.ends_with(' ') {
            out.pop();
        }
        out.push('\n');
    }
    terminal_safe(out)
}

/// Escapes what a terminal would act on rather than show: control characters other than the
/// line ends this renderer writes, and bidirectional overrides. The builder already escapes
/// wire text; this keeps any text put into a [`Diagram`] by other code from moving the cursor
/// or retitling the terminal.
fn terminal_safe(out: String) -> String {
    let unsafe_char = |c: char| {
        (c.is_control() && c != '\n')
            || matches!(c, '\u{2028}' | '\u{2029}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
    };
    if !out.chars().any(unsafe_char) {
        return out;
    }
    let mut safe = String::with_capacity(out.len() + 16);
    for c in out.chars() {
        if unsafe_char(c) {
            let _ = write!(safe, "\\u{{{:x}}}", c as u32);
        } else {
            safe.push(c);
        }
    }
    safe
}

/// The bracket characters of every lane at `row`.
fn brackets(diagram: &Diagram, row: usize, lanes: usize) -> String {
    let mut cols = vec![' '; lanes];
    for g in &diagram.groups {
        if row < g.first || row > g.last {
            continue;
        }
        let c = if g.first == g.last {
            if g.complete { ']' } else { '╳' }
        } else if row == g.first {
            '┐'
        } else if row == g.last {
            if g.complete { '┘' } else { '╳' }
        } else if g.complete {
            '│'
        } else {
            '┆'
        };
        if let Some(slot) = cols.get_mut(g.lane) {
            *slot = c;
        }
    }
    let mut s = String::with_capacity(lanes * 2);
    for c in cols {
        s.push(c);
        s.push(' ');
    }
    s
}

fn marker(mark: Mark) -> &'static str {
    match mark {
        Mark::None => "",
        Mark::Note => "ⓘ",
        Mark::Warning => "⚠",
        Mark::Error => "✖",
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Message, Note, Side};
    use super::*;

    #[test]
    fn arrows_point_from_sender_and_group_brackets_span_their_rows() {
        let mut d = Diagram::new("stream 0", "client", "broker");
        let a = d.push_message(Message::new(0.0, 1, Side::Client, "PUBLISH q1 id=7"));
        let b = d.push_message(Message::new(0.5, 2, Side::Broker, "PUBACK id=7"));
        d.push_group("QoS 1 id=7", &[a, b], true, "");
        d.assign_lanes();
        let text = render(&d, 40);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "stream 0");
        assert!(
            lines[2].contains("│─ PUBLISH q1 id=7 ") && lines[2].contains("▶│ ┐"),
            "{text}"
        );
        assert!(lines[2].ends_with("QoS 1 id=7"));
        assert!(
            lines[3].contains("│◀─ PUBACK id=7 ") && lines[3].contains("│ ┘"),
            "{text}"
        );
        assert!(lines[3].ends_with("✓ complete"));
        // Both arrows are the same width, so the broker lifeline is one straight column.
        let col = |l: &str, c: char| l.chars().position(|x| x == c);
        assert_eq!(
            col(lines[2], '▶').map(|c| c + 1),
            lines[3]
                .chars()
                .skip(13)
                .position(|x| x == '│')
                .map(|c| c + 13)
        );
    }

    #[test]
    fn incomplete_single_packet_group_and_notes_are_marked() {
        let mut d = Diagram::new("", "c", "b");
        let mut m = Message::new(0.0, 3, Side::Client, "PUBLISH q2 id=9");
        m.anomalies.push("MQ-QOS2-ORDER".into());
        m.mark = Mark::Error;
        let r = d.push_message(m);
        d.push_note(Note {
            t: 1.0,
            frame: 4,
            text: "closed by RST".into(),
            mark: Mark::Warning,
        });
        d.push_group("QoS 2 id=9", &[r], false, "missing PUBREC, PUBREL, PUBCOMP");
        d.assign_lanes();
        let text = render(&d, 30);
        assert!(text.contains("╳"), "{text}");
        assert!(
            text.contains("QoS 2 id=9: ✗ missing PUBREC, PUBREL, PUBCOMP"),
            "{text}"
        );
        assert!(text.contains("✖ MQ-QOS2-ORDER"), "{text}");
        assert!(text.contains("┆ ⚠ closed by RST"), "{text}");
        // A note row is exactly as wide as an arrow row.
        let widths: Vec<usize> = text
            .lines()
            .map(|l| l.find(" #").map_or(0, |i| l[..i].chars().count()))
            .collect();
        assert_eq!(widths[1], widths[2], "{text}");
    }

    #[test]
    fn control_characters_put_in_a_diagram_never_reach_the_terminal() {
        let mut d = Diagram::new("stream 0 · \"ev\u{1b}[31mil\0\u{7}\"", "c\r", "b\u{202e}");
        d.push_message(Message::new(0.0, 1, Side::Client, "CONNECT \u{9b}2J"));
        d.push_note(Note {
            t: 1.0,
            frame: 2,
            text: "note\ttab".into(),
            mark: Mark::None,
        });
        let text = render(&d, 40);
        assert!(
            !text.chars().any(|c| c.is_control() && c != '\n'),
            "{text:?}"
        );
        assert!(!text.contains('\u{202e}'), "{text:?}");
        assert!(
            text.starts_with("stream 0 · \"ev\\u{1b}[31mil\\u{0}\\u{7}\"\n"),
            "{text:?}"
        );
        assert!(text.contains("CONNECT \\u{9b}2J"), "{text:?}");
        assert!(text.contains("note\\u{9}tab"), "{text:?}");
        assert_eq!(text.lines().count(), 4, "{text:?}");
    }

    #[test]
    fn long_labels_are_clipped_not_wrapped() {
        let mut d = Diagram::new("", "c", "b");
        d.push_message(Message::new(0.0, 1, Side::Client, "x".repeat(200)));
        let text = render(&d, 30);
        assert!(text.lines().all(|l| l.chars().count() < 80), "{text}");
        assert!(text.contains('…'));
    }
}
