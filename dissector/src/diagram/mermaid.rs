//! Mermaid `sequenceDiagram` rendering, for Markdown pages (GitHub, GitLab and most wikis render
//! it). Exchanges become `rect` blocks where they nest; Mermaid blocks cannot interleave, so an
//! exchange that overlaps another without nesting keeps only its label in the arrow text.

use std::fmt::Write as _;

use super::{Diagram, Item, Mark, Side};

/// Renders `diagram` as Mermaid source (without the surrounding Markdown fence).
pub fn render(diagram: &Diagram) -> String {
    let mut out = String::from("sequenceDiagram\n");
    if !diagram.title.is_empty() {
        let _ = writeln!(out, "    title {}", escape(&diagram.title));
    }
    let _ = writeln!(out, "    participant C as {}", escape(&diagram.client));
    let _ = writeln!(out, "    participant B as {}", escape(&diagram.broker));
    let boxed = nestable_groups(diagram);
    for (row, item) in diagram.items.iter().enumerate() {
        // Open the blocks starting here, outermost (longest) first.
        let mut opening: Vec<usize> = boxed
            .iter()
            .copied()
            .filter(|&g| diagram.groups[g].first == row)
            .collect();
        opening.sort_by_key(|&g| std::cmp::Reverse(diagram.groups[g].last));
        for g in opening {
            let colour = if diagram.groups[g].complete {
                "rgba(66, 133, 244, 0.12)"
            } else {
                "rgba(219, 68, 55, 0.15)"
            };
            let _ = writeln!(out, "    rect {colour}");
        }
        match item {
            Item::Message(m) => {
                let (from, to) = match m.from {
                    Side::Client => ("C", "B"),
                    Side::Broker => ("B", "C"),
                };
                let mut label = format!("{:.6} #{} {}", m.t, m.frame, m.label);
                if let Some(group) = m
                    .group
                    .filter(|g| !boxed.contains(g))
                    .and_then(|g| diagram.groups.get(g))
                {
                    // A group index from outside the diagram is ignored, not a panic.
                    let _ = write!(label, " [{}]", group.label);
                }
                let _ = writeln!(out, "    {from}->>{to}: {}", escape(&label));
                if !m.anomalies.is_empty() {
                    let _ = writeln!(
                        out,
                        "    Note right of B: {}",
                        escape(&format!("{} {}", mark_word(m.mark), m.anomalies.join(" ")))
                    );
                }
            }
            Item::Note(n) => {
                let _ = writeln!(
                    out,
                    "    Note over C,B: {}",
                    escape(&format!(
                        "{:.6} #{} {}{}",
                        n.t,
                        n.frame,
                        mark_prefix(n.mark),
                        n.text
                    ))
                );
            }
        }
        // Close the blocks ending here, innermost (shortest) first, each with its outcome.
        let mut ending: Vec<usize> = (0..diagram.groups.len())
            .filter(|&g| diagram.groups[g].last == row)
            .collect();
        ending.sort_by_key(|&g| std::cmp::Reverse(diagram.groups[g].first));
        for g in ending {
            let group = &diagram.groups[g];
            let outcome = if group.complete {
                format!("{}: complete", group.label)
            } else {
                format!("{}: INCOMPLETE, {}", group.label, group.status)
            };
            let _ = writeln!(out, "    Note over C,B: {}", escape(&outcome));
            if boxed.contains(&g) {
                out.push_str("    end\n");
            }
        }
    }
    out
}

/// The groups that can be drawn as blocks: a laminar subset (every pair nested or disjoint),
/// chosen greedily in order of first row.
fn nestable_groups(diagram: &Diagram) -> Vec<usize> {
    let mut order: Vec<usize> = (0..diagram.groups.len()).collect();
    order.sort_by_key(|&g| {
        (
            diagram.groups[g].first,
            std::cmp::Reverse(diagram.groups[g].last),
        )
    });
    let mut stack: Vec<usize> = Vec::new();
    let mut chosen = Vec::new();
    for g in order {
        let (first, last) = (diagram.groups[g].first, diagram.groups[g].last);
        while let Some(&top) = stack.last() {
            if diagram.groups[top].last < first {
                stack.pop();
            } else {
                break;
            }
        }
        let fits = stack
            .last()
            .is_none_or(|&top| last <= diagram.groups[top].last);
        // A block cannot start on the row where its parent ends (the note and `end` follow the row).
        if fits {
            stack.push(g);
            chosen.push(g);
        }
    }
    chosen
}

fn mark_word(mark: Mark) -> &'static str {
    match mark {
        Mark::None | Mark::Note => "note:",
        Mark::Warning => "warning:",
        Mark::Error => "error:",
    }
}

fn mark_prefix(mark: Mark) -> &'static str {
    match mark {
        Mark::None => "",
        Mark::Note => "note: ",
        Mark::Warning => "warning: ",
        Mark::Error => "error: ",
    }
}

/// Makes text safe inside a Mermaid statement: Mermaid ends statements at `;` and newlines,
/// starts comments at `%%`, and reads `#…;` as entity codes and `<…>` as HTML.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '#' => out.push_str("#35;"),
            ';' => out.push_str("#59;"),
            '%' => out.push_str("#37;"),
            '<' => out.push_str("#lt;"),
            '>' => out.push_str("#gt;"),
            '\n' | '\r' => out.push(' '),
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
    fn nested_groups_become_rect_blocks_and_interleaved_ones_become_labels() {
        let mut d = Diagram::new("s0", "client", "broker");
        for i in 0..4 {
            d.push_message(Message::new(i as f64, i + 1, Side::Client, format!("P{i}")));
        }
        d.push_group("A", &[0, 2], true, "");
        d.push_group("B", &[1, 3], false, "missing PUBACK");
        let src = render(&d);
        assert_eq!(src.matches("rect ").count(), 1, "{src}");
        assert_eq!(src.matches("    end\n").count(), 1, "{src}");
        assert!(src.contains("P1 [B]"), "{src}");
        assert!(
            src.contains("Note over C,B: B: INCOMPLETE, missing PUBACK"),
            "{src}"
        );
    }

    #[test]
    fn labels_cannot_break_out_of_their_statement() {
        let mut d = Diagram::new("", "c", "b");
        d.push_message(Message::new(
            0.0,
            1,
            Side::Broker,
            "topic a;b%%c\nd<script>#",
        ));
        let src = render(&d);
        let line = src
            .lines()
            .find(|l| l.contains("B->>C"))
            .unwrap_or_default();
        let mut rest = line
            .split_once(": ")
            .map_or("", |(_, text)| text)
            .to_string();
        for entity in ["#59;", "#35;", "#37;", "#lt;", "#gt;"] {
            rest = rest.replace(entity, "");
        }
        assert!(!rest.contains([';', '#', '%', '<', '>']), "{line}");
        assert_eq!(src.lines().count(), 4, "{src}");
    }
}
