//! The packet list's time column: absolute, relative to the first packet, or delta to the
//! previous displayed packet (Wireshark's three common views).

use dissector::input::Timestamp;

/// How the time column is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub enum TimeFormat {
    /// Wall-clock time of day (UTC), with microseconds.
    Absolute,
    /// Seconds since the first packet of the capture.
    #[default]
    Relative,
    /// Seconds since the previous packet shown in the list.
    Delta,
}

impl TimeFormat {
    /// All formats, in menu order.
    pub const ALL: [TimeFormat; 3] = [
        TimeFormat::Absolute,
        TimeFormat::Relative,
        TimeFormat::Delta,
    ];

    /// Label for menus and the column header.
    pub fn label(self) -> &'static str {
        match self {
            TimeFormat::Absolute => "Absolute",
            TimeFormat::Relative => "Relative",
            TimeFormat::Delta => "Delta",
        }
    }

    /// Formats `ts`; `first` is the capture's first packet time, `previous` the time of the row
    /// shown above (None for the first row).
    pub fn format(self, ts: Timestamp, first: Timestamp, previous: Option<Timestamp>) -> String {
        match self {
            TimeFormat::Absolute => format_time_of_day(ts),
            TimeFormat::Relative => format_seconds(ts.nanos_since(first)),
            TimeFormat::Delta => format_seconds(previous.map_or(0, |p| ts.nanos_since(p))),
        }
    }
}

/// Signed nanoseconds as seconds with six decimals ("1.000250", "-0.000001").
pub fn format_seconds(nanos: i64) -> String {
    let sign = if nanos < 0 { "-" } else { "" };
    let abs = nanos.unsigned_abs();
    format!(
        "{sign}{}.{:06}",
        abs / 1_000_000_000,
        (abs % 1_000_000_000) / 1_000
    )
}

/// Time of day in UTC, "HH:MM:SS.uuuuuu" (the date is in the status bar, rows stay narrow).
pub fn format_time_of_day(ts: Timestamp) -> String {
    let secs = ts.0.div_euclid(1_000_000_000);
    let micros = ts.0.rem_euclid(1_000_000_000) / 1_000;
    let day_secs = secs.rem_euclid(86_400);
    format!(
        "{:02}:{:02}:{:02}.{:06}",
        day_secs / 3600,
        (day_secs / 60) % 60,
        day_secs % 60,
        micros
    )
}

/// A latency or duration for humans: "850 µs", "12.3 ms", "4.20 s".
pub fn format_duration(nanos: i64) -> String {
    let abs = nanos.unsigned_abs() as f64;
    let sign = if nanos < 0 { "-" } else { "" };
    if abs < 1_000.0 {
        format!("{sign}{abs:.0} ns")
    } else if abs < 1_000_000.0 {
        format!("{sign}{:.0} µs", abs / 1e3)
    } else if abs < 1_000_000_000.0 {
        format!("{sign}{:.1} ms", abs / 1e6)
    } else {
        format!("{sign}{:.2} s", abs / 1e9)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_time_counts_from_the_first_packet() {
        let first = Timestamp(1_000_000_000);
        let t = Timestamp(2_000_250_000);
        assert_eq!(TimeFormat::Relative.format(t, first, None), "1.000250");
    }

    #[test]
    fn delta_time_is_zero_on_the_first_row_and_the_gap_after() {
        let first = Timestamp(5);
        assert_eq!(
            TimeFormat::Delta.format(Timestamp(5), first, None),
            "0.000000"
        );
        assert_eq!(
            TimeFormat::Delta.format(
                Timestamp(3_500_000_000),
                first,
                Some(Timestamp(1_000_000_000))
            ),
            "2.500000"
        );
    }

    #[test]
    fn absolute_time_is_utc_time_of_day() {
        // 2024-01-01T13:14:15.123456Z
        let ts = Timestamp::from_parts(1_704_114_855, 123_456_789);
        assert_eq!(TimeFormat::Absolute.format(ts, ts, None), "13:14:15.123456");
    }

    #[test]
    fn negative_seconds_keep_their_sign() {
        assert_eq!(format_seconds(-1_000), "-0.000001");
    }

    #[test]
    fn durations_pick_a_readable_unit() {
        assert_eq!(format_duration(850_000), "850 µs");
        assert_eq!(format_duration(12_300_000), "12.3 ms");
        assert_eq!(format_duration(4_200_000_000), "4.20 s");
    }
}
