//! The hex/ASCII pane's layout, apart from drawing: which byte sits in which row and column,
//! how each is written, and which bytes a selected field covers.

use std::ops::Range;

/// Bytes per hex-dump row (Wireshark's layout: 16, split 8 + 8).
pub const BYTES_PER_ROW: usize = 16;

/// Number of rows needed for `len` bytes.
pub fn row_count(len: usize) -> usize {
    len.div_ceil(BYTES_PER_ROW)
}

/// The byte offsets shown in `row`, clipped to `len`.
pub fn row_range(row: usize, len: usize) -> Range<usize> {
    let start = row.saturating_mul(BYTES_PER_ROW).min(len);
    start..start.saturating_add(BYTES_PER_ROW).min(len)
}

/// The offset column of a row: "0000", "0010", … (wider when the packet is over 64 KiB).
pub fn offset_label(row: usize, len: usize) -> String {
    let offset = row.saturating_mul(BYTES_PER_ROW);
    if len > 0xffff {
        format!("{offset:08x}")
    } else {
        format!("{offset:04x}")
    }
}

/// The ASCII column's character for a byte: printable ASCII as is, anything else as '.'.
pub fn ascii_char(byte: u8) -> char {
    if byte.is_ascii_graphic() || byte == b' ' {
        char::from(byte)
    } else {
        '.'
    }
}

/// The byte offset under a hex-column cell: `column` counts hex cells from the left (0..16).
pub fn byte_at(row: usize, column: usize, len: usize) -> Option<usize> {
    if column >= BYTES_PER_ROW {
        return None;
    }
    let offset = row.checked_mul(BYTES_PER_ROW)?.checked_add(column)?;
    (offset < len).then_some(offset)
}

/// True when `offset` falls in the highlighted range.
pub fn is_highlighted(offset: usize, highlight: Option<&Range<usize>>) -> bool {
    highlight.is_some_and(|r| r.contains(&offset))
}

/// True when `offset` falls in any of `ranges`.
pub fn in_any(offset: usize, ranges: &[Range<usize>]) -> bool {
    ranges.iter().any(|r| r.contains(&offset))
}

/// The first row of a highlighted range, to scroll it into view.
pub fn first_row_of(range: &Range<usize>) -> usize {
    range.start / BYTES_PER_ROW
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_cover_every_byte_once() {
        assert_eq!(row_count(0), 0);
        assert_eq!(row_count(16), 1);
        assert_eq!(row_count(17), 2);
        assert_eq!(row_range(1, 17), 16..17);
        assert_eq!(row_range(5, 17), 17..17);
    }

    #[test]
    fn byte_lookup_stops_at_the_end_of_the_packet() {
        assert_eq!(byte_at(0, 3, 10), Some(3));
        assert_eq!(byte_at(0, 12, 10), None);
        assert_eq!(byte_at(1, 0, 20), Some(16));
        assert_eq!(byte_at(0, 16, 100), None);
        assert_eq!(byte_at(usize::MAX, 1, 100), None);
    }

    #[test]
    fn non_printable_bytes_show_as_dots() {
        assert_eq!(ascii_char(b'A'), 'A');
        assert_eq!(ascii_char(0x00), '.');
        assert_eq!(ascii_char(0x7f), '.');
        assert_eq!(ascii_char(0xe9), '.');
    }

    #[test]
    fn offsets_widen_for_large_packets() {
        assert_eq!(offset_label(1, 100), "0010");
        assert_eq!(offset_label(1, 70_000), "00000010");
    }

    #[test]
    fn highlight_is_half_open() {
        let r = 2..4;
        assert!(!is_highlighted(1, Some(&r)));
        assert!(is_highlighted(2, Some(&r)));
        assert!(!is_highlighted(4, Some(&r)));
        assert!(!is_highlighted(2, None));
        assert_eq!(first_row_of(&(33..40)), 2);
        assert!(in_any(5, &[0..2, 4..6]));
        assert!(!in_any(3, &[0..2, 4..6]));
        assert!(!in_any(0, &[]));
    }
}
