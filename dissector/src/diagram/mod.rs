//! Sequence diagrams of MQTT connections: one model, several renderers.
//!
//! A [`Diagram`] has two lifelines (client and broker), one [`Message`] arrow per MQTT packet,
//! [`Note`]s for what happened between packets (gaps, close), and [`Group`]s that bracket the
//! packets of one exchange (a QoS 1 or QoS 2 handshake, SUBSCRIBE/SUBACK, …), marked incomplete
//! when it never finished. Groups that overlap in time get different [`Group::lane`]s so every
//! renderer can draw them side by side without computing a layout of its own.
//!
//! Renderers: [`text::render`] (terminal), [`mermaid::render`] (Markdown pages),
//! [`svg::render`] (browsers). The GUI draws the same model with egui.
//!
//! ```
//! use dissector::diagram::{Diagram, Message, Side};
//! let mut d = Diagram::new("stream 0", "client 10.0.0.5:50000", "broker 10.0.0.1:1883");
//! d.push_message(Message::new(0.0, 1, Side::Client, "CONNECT"));
//! d.push_message(Message::new(0.0012, 2, Side::Broker, "CONNACK Success"));
//! let text = dissector::diagram::text::render(&d, 60);
//! assert!(text.contains("CONNECT"));
//! ```

pub mod build;
pub mod mermaid;
pub mod svg;
pub mod text;

/// Which lifeline a message starts from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Side {
    /// The client sent it (arrow client → broker).
    Client,
    /// The broker sent it (arrow broker → client).
    Broker,
}

/// How serious the worst mark on an item is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Mark {
    /// Nothing to flag.
    None,
    /// A note-level anomaly.
    Note,
    /// A warning (incomplete flow, keep-alive lapse, …).
    Warning,
    /// A protocol error.
    Error,
}

/// One arrow: an MQTT packet.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    /// Seconds since the diagram's first item.
    pub t: f64,
    /// Frame number of the packet.
    pub frame: u64,
    /// Sender.
    pub from: Side,
    /// Label, e.g. `PUBLISH q2 id=7 "home/temp"`.
    pub label: String,
    /// Anomaly codes on this packet.
    pub anomalies: Vec<String>,
    /// Worst severity among the anomalies (and incomplete-flow marks).
    pub mark: Mark,
    /// Index into [`Diagram::groups`] of the exchange this packet belongs to.
    pub group: Option<usize>,
}

impl Message {
    /// A message without anomalies or group.
    pub fn new(t: f64, frame: u64, from: Side, label: impl Into<String>) -> Message {
        Message {
            t,
            frame,
            from,
            label: label.into(),
            anomalies: Vec::new(),
            mark: Mark::None,
            group: None,
        }
    }
}

/// A note across both lifelines: a gap, the connection closing, an anomaly not tied to a packet.
#[derive(Debug, Clone, PartialEq)]
pub struct Note {
    /// Seconds since the diagram's first item.
    pub t: f64,
    /// Frame number where it happened.
    pub frame: u64,
    /// Text.
    pub text: String,
    /// How serious.
    pub mark: Mark,
}

/// A row of the diagram.
#[derive(Debug, Clone, PartialEq)]
pub enum Item {
    /// An arrow.
    Message(Message),
    /// A note.
    Note(Note),
}

impl Item {
    /// Seconds since the diagram's first item.
    pub fn t(&self) -> f64 {
        match self {
            Item::Message(m) => m.t,
            Item::Note(n) => n.t,
        }
    }
}

/// The packets of one exchange, bracketed together.
#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    /// Label, e.g. `QoS 2 id=7`.
    pub label: String,
    /// Index into [`Diagram::items`] of the first row.
    pub first: usize,
    /// Index into [`Diagram::items`] of the last row (inclusive).
    pub last: usize,
    /// True when the exchange finished as the spec wants.
    pub complete: bool,
    /// What is missing or went wrong when not complete, e.g. `missing PUBCOMP`.
    pub status: String,
    /// Column for the bracket: groups whose row ranges overlap get different lanes (0 = nearest
    /// the lifelines).
    pub lane: usize,
}

/// A sequence diagram of one connection (or of several, one after another).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Diagram {
    /// Title (stream, client id, version).
    pub title: String,
    /// Client lifeline label.
    pub client: String,
    /// Broker lifeline label.
    pub broker: String,
    /// The rows, in time order.
    pub items: Vec<Item>,
    /// Exchanges bracketing rows.
    pub groups: Vec<Group>,
}

impl Diagram {
    /// An empty diagram.
    pub fn new(
        title: impl Into<String>,
        client: impl Into<String>,
        broker: impl Into<String>,
    ) -> Diagram {
        Diagram {
            title: title.into(),
            client: client.into(),
            broker: broker.into(),
            ..Diagram::default()
        }
    }

    /// Appends an arrow; returns its row index.
    pub fn push_message(&mut self, message: Message) -> usize {
        self.items.push(Item::Message(message));
        self.items.len() - 1
    }

    /// Appends a note; returns its row index.
    pub fn push_note(&mut self, note: Note) -> usize {
        self.items.push(Item::Note(note));
        self.items.len() - 1
    }

    /// Adds a group over rows `rows` (which must already exist), puts the rows' messages in it,
    /// and returns its index. Call [`Diagram::assign_lanes`] after the last group.
    pub fn push_group(
        &mut self,
        label: impl Into<String>,
        rows: &[usize],
        complete: bool,
        status: impl Into<String>,
    ) -> Option<usize> {
        let first = *rows.iter().min()?;
        let last = *rows.iter().max()?;
        if last >= self.items.len() {
            return None;
        }
        let index = self.groups.len();
        for &row in rows {
            if let Some(Item::Message(m)) = self.items.get_mut(row) {
                m.group = Some(index);
            }
        }
        self.groups.push(Group {
            label: label.into(),
            first,
            last,
            complete,
            status: status.into(),
            lane: 0,
        });
        Some(index)
    }

    /// Gives each group the lowest lane not used by a group whose rows overlap it (greedy
    /// interval colouring in order of first row: optimal for intervals).
    pub fn assign_lanes(&mut self) {
        let mut order: Vec<usize> = (0..self.groups.len()).collect();
        order.sort_by_key(|&i| (self.groups[i].first, self.groups[i].last));
        // lane_end[l] = last row occupied in lane l so far.
        let mut lane_end: Vec<usize> = Vec::new();
        for i in order {
            let (first, last) = (self.groups[i].first, self.groups[i].last);
            let lane = match lane_end.iter().position(|&end| end < first) {
                Some(l) => l,
                None => {
                    lane_end.push(0);
                    lane_end.len() - 1
                }
            };
            lane_end[lane] = last;
            self.groups[i].lane = lane;
        }
    }

    /// Appends `other`'s rows and groups after this diagram's, preceded by a note naming it
    /// (its title and client), and reassigns lanes: several connections on one diagram.
    pub fn append(&mut self, other: Diagram) {
        self.push_note(Note {
            t: other.items.first().map_or(0.0, Item::t),
            frame: 0,
            text: format!("{} ({})", other.title, other.client),
            mark: Mark::None,
        });
        let row_offset = self.items.len();
        let group_offset = self.groups.len();
        for item in other.items {
            self.items.push(match item {
                Item::Message(mut m) => {
                    m.group = m.group.map(|g| g + group_offset);
                    Item::Message(m)
                }
                note => note,
            });
        }
        for mut g in other.groups {
            g.first += row_offset;
            g.last += row_offset;
            self.groups.push(g);
        }
        self.assign_lanes();
    }

    /// Number of lanes the groups use.
    pub fn lanes(&self) -> usize {
        self.groups.iter().map(|g| g.lane + 1).max().unwrap_or(0)
    }
}

/// Cuts `s` to at most `max` characters, ending in `…` when cut: labels that fit a renderer's
/// column or box width.
fn clip(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn diagram_with_rows(n: usize) -> Diagram {
        let mut d = Diagram::new("t", "c", "b");
        for i in 0..n {
            d.push_message(Message::new(
                i as f64,
                i as u64 + 1,
                Side::Client,
                format!("m{i}"),
            ));
        }
        d
    }

    #[test]
    fn overlapping_groups_get_different_lanes_and_disjoint_ones_share() {
        let mut d = diagram_with_rows(6);
        d.push_group("a", &[0, 3], true, "");
        d.push_group("b", &[1, 2], true, "");
        d.push_group("c", &[4, 5], true, "");
        d.assign_lanes();
        assert_eq!(d.groups[0].lane, 0);
        assert_eq!(d.groups[1].lane, 1);
        assert_eq!(d.groups[2].lane, 0);
        assert_eq!(d.lanes(), 2);
    }

    #[test]
    fn append_shifts_rows_and_groups_after_a_separator_note() {
        let mut a = diagram_with_rows(2);
        a.push_group("g", &[0, 1], true, "");
        let mut b = diagram_with_rows(2);
        b.title = "stream 7".into();
        b.push_group("h", &[0, 1], false, "missing PUBACK");
        a.append(b);
        assert_eq!(a.items.len(), 5);
        assert!(matches!(&a.items[2], Item::Note(n) if n.text.starts_with("stream 7")));
        assert_eq!((a.groups[1].first, a.groups[1].last), (3, 4));
        assert!(matches!(&a.items[4], Item::Message(m) if m.group == Some(1)));
        assert_eq!(a.lanes(), 1);
    }

    #[test]
    fn push_group_marks_its_messages_and_rejects_unknown_rows() {
        let mut d = diagram_with_rows(2);
        assert_eq!(d.push_group("g", &[0, 1], false, "missing PUBACK"), Some(0));
        assert!(matches!(&d.items[1], Item::Message(m) if m.group == Some(0)));
        assert_eq!(d.push_group("bad", &[5], true, ""), None);
        assert_eq!(d.push_group("empty", &[], true, ""), None);
    }
}
