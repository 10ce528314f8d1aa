//! The statistics view (egui_plot): header-size breakdown per type (stacked bars), remaining-
//! length size histogram, overhead shares, latency distributions, IO graph, topic tree.

use super::colors;
use crate::app::commands::Command;
use crate::logic::stats_data::{StatsData, TypeBytes, histogram};
use dissector::model::Trace;
use dissector::stats::TopicLevel;
use egui_plot::{Bar, BarChart, Legend, Line, Plot};
use std::time::{Duration, Instant};

/// The statistics panel with its cached data.
#[derive(Debug, Default)]
pub struct StatisticsPanel {
    data: Option<(usize, Instant, StatsData)>,
}

const PLOT_HEIGHT: f32 = 200.0;

impl StatisticsPanel {
    /// Draws the plots (recomputed when packets arrive, at most once a second while loading).
    pub fn show(
        &mut self,
        ui: &mut egui::Ui,
        trace: &Trace,
        loading: bool,
        _cmds: &mut Vec<Command>,
    ) {
        let n = trace.packets.len();
        let stale = match &self.data {
            None => true,
            Some((count, at, _)) => {
                *count != n && (!loading || at.elapsed() >= Duration::from_secs(1))
            }
        };
        if stale {
            self.data = Some((n, Instant::now(), StatsData::of(trace)));
        }
        let Some((_, _, data)) = &self.data else {
            return;
        };
        egui::ScrollArea::vertical()
            .id_salt("stats_scroll")
            .auto_shrink([false, false])
            .show(ui, |ui| {
                header_sizes(ui, data);
                remaining_length(ui, data);
                overhead(ui, data);
                latencies(ui, data);
                io_graph(ui, data);
                ui.heading("Topics");
                topic_tree(ui, &data.topics);
            });
    }
}

fn header_sizes(ui: &mut egui::Ui, data: &StatsData) {
    ui.heading("Header size per packet type");
    let names: Vec<String> = data
        .by_type
        .iter()
        .map(|(t, _)| t.name().to_string())
        .collect();
    type Part = (&'static str, fn(&TypeBytes) -> u64, egui::Color32);
    let parts: [Part; 4] = [
        (
            "Fixed header",
            |b| b.fixed,
            egui::Color32::from_rgb(90, 140, 230),
        ),
        (
            "Variable header",
            |b| b.variable,
            egui::Color32::from_rgb(230, 170, 60),
        ),
        (
            "Properties",
            |b| b.properties,
            egui::Color32::from_rgb(160, 110, 220),
        ),
        (
            "Payload",
            |b| b.payload,
            egui::Color32::from_rgb(80, 190, 100),
        ),
    ];
    let mut charts: Vec<BarChart> = Vec::new();
    for (name, get, color) in parts {
        let bars = data
            .by_type
            .iter()
            .enumerate()
            .map(|(i, (t, b))| {
                Bar::new(i as f64, get(b) as f64)
                    .name(format!("{} {name}", t.name()))
                    .width(0.6)
            })
            .collect();
        let mut chart = BarChart::new(name, bars).color(color);
        let below: Vec<&BarChart> = charts.iter().collect();
        chart = chart.stack_on(&below);
        charts.push(chart);
    }
    Plot::new("header_sizes")
        .height(PLOT_HEIGHT)
        .legend(Legend::default())
        .y_axis_label("bytes")
        .x_axis_formatter(category_axis(names))
        .allow_scroll(false)
        .show(ui, |plot| {
            for c in charts {
                plot.bar_chart(c);
            }
        });
}

/// An x axis of categories: bar `i` stands at `x = i` and is labelled `labels[i]`; marks
/// between bars stay blank.
fn category_axis(
    labels: Vec<String>,
) -> impl Fn(egui_plot::GridMark, &std::ops::RangeInclusive<f64>) -> String {
    move |mark, _| {
        labels
            .get(mark.value.round() as usize)
            .filter(|_| mark.value.fract() == 0.0)
            .cloned()
            .unwrap_or_default()
    }
}

fn remaining_length(ui: &mut egui::Ui, data: &StatsData) {
    ui.heading("Remaining length");
    let [one, two, three, four] = data.remaining_length_sizes;
    ui.label(format!(
        "Remaining-length field: 1 byte × {one}, 2 bytes × {two}, 3 bytes × {three}, 4 bytes × {four}"
    ));
    let labels: Vec<String> = data
        .remaining_length_histogram
        .iter()
        .map(|(upper, _)| format!("≤{upper}"))
        .collect();
    let bars = data
        .remaining_length_histogram
        .iter()
        .enumerate()
        .map(|(i, (upper, count))| {
            Bar::new(i as f64, *count as f64)
                .name(format!("≤ {upper} bytes"))
                .width(0.8)
        })
        .collect();
    Plot::new("remaining_length")
        .height(PLOT_HEIGHT)
        .y_axis_label("packets")
        .x_axis_formatter(category_axis(labels))
        .allow_scroll(false)
        .show(ui, |plot| plot.bar_chart(BarChart::new("packets", bars)));
}

fn overhead(ui: &mut egui::Ui, data: &StatsData) {
    ui.heading("Where the bytes go");
    let total: u64 = data.overhead.iter().map(|(_, b)| b).sum();
    egui::Grid::new("overhead_grid")
        .striped(true)
        .show(ui, |ui| {
            for (name, bytes) in data.overhead {
                let share = if total > 0 {
                    bytes as f32 / total as f32
                } else {
                    0.0
                };
                ui.label(name);
                ui.label(format!("{bytes} B"));
                ui.add(
                    egui::ProgressBar::new(share)
                        .desired_width(240.0)
                        .text(format!("{:.1} %", share * 100.0)),
                );
                ui.end_row();
            }
        });
}

fn latencies(ui: &mut egui::Ui, data: &StatsData) {
    ui.heading("Latency distributions");
    if data.latencies_ms.is_empty() {
        ui.weak("No completed exchanges.");
        return;
    }
    let lines: Vec<(String, Vec<[f64; 2]>)> = data
        .latencies_ms
        .iter()
        .map(|(kind, v)| {
            let h = histogram(v, 30);
            (
                format!("{} ({})", kind.as_str(), v.len()),
                h.into_iter().map(|(x, c)| [x, c as f64]).collect(),
            )
        })
        .collect();
    Plot::new("latencies")
        .height(PLOT_HEIGHT)
        .legend(Legend::default())
        .x_axis_label("ms")
        .y_axis_label("exchanges")
        .allow_scroll(false)
        .show(ui, |plot| {
            for (name, points) in lines {
                plot.line(Line::new(name, points));
            }
        });
}

fn io_graph(ui: &mut egui::Ui, data: &StatsData) {
    ui.heading(format!("IO graph ({} s buckets)", data.io_bucket_secs));
    let w = data.io_bucket_secs;
    let packets: Vec<[f64; 2]> = data
        .io
        .iter()
        .enumerate()
        .map(|(i, (p, _))| [i as f64 * w, *p as f64])
        .collect();
    let bytes: Vec<[f64; 2]> = data
        .io
        .iter()
        .enumerate()
        .map(|(i, (_, b))| [i as f64 * w, *b as f64])
        .collect();
    Plot::new("io_packets")
        .height(PLOT_HEIGHT * 0.8)
        .legend(Legend::default())
        .x_axis_label("seconds")
        .allow_scroll(false)
        .show(ui, |plot| {
            plot.line(
                Line::new("packets", packets)
                    .color(colors::type_color(dissector::codec::PacketType::Publish)),
            );
        });
    Plot::new("io_bytes")
        .height(PLOT_HEIGHT * 0.8)
        .legend(Legend::default())
        .x_axis_label("seconds")
        .allow_scroll(false)
        .show(ui, |plot| {
            plot.line(
                Line::new("MQTT bytes", bytes)
                    .color(colors::type_color(dissector::codec::PacketType::Connect)),
            );
        });
}

fn topic_tree(ui: &mut egui::Ui, levels: &[TopicLevel]) {
    if levels.is_empty() {
        ui.weak("No PUBLISH topics.");
        return;
    }
    // Parents come before children: a level is shown when every ancestor is open.
    let mut open_depth: u32 = 0;
    for (i, level) in levels.iter().enumerate() {
        if level.depth > open_depth {
            continue;
        }
        open_depth = level.depth;
        let has_children = levels.get(i + 1).is_some_and(|n| n.depth > level.depth);
        let name = if level.name.is_empty() {
            "(empty)"
        } else {
            level.name.as_str()
        };
        let text = format!(
            "{name} — {} published, {} delivered, {} B, {} publishers, {} subscribers{}",
            level.published,
            level.delivered,
            level.bytes,
            level.publishers,
            level.subscribers,
            if level.retained > 0 {
                format!(", {} retained", level.retained)
            } else {
                String::new()
            }
        );
        ui.horizontal(|ui| {
            ui.add_space(level.depth as f32 * ui.spacing().indent);
            if has_children {
                let id = ui.make_persistent_id(("topic", &level.path));
                let mut open = ui.data_mut(|d| *d.get_persisted_mut_or(id, level.depth == 0));
                if ui
                    .selectable_label(open, format!("{} {text}", if open { "▼" } else { "▶" }))
                    .clicked()
                {
                    open = !open;
                    ui.data_mut(|d| d.insert_persisted(id, open));
                }
                if open {
                    open_depth = level.depth + 1;
                }
            } else {
                ui.label(format!("   {text}"));
            }
        });
    }
}
