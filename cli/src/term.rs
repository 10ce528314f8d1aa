//! Terminal concerns: whether to colour, ANSI styles, and escaping untrusted text so a payload
//! can never drive the terminal (control characters, escape sequences).

use std::borrow::Cow;
use std::fmt::Write as _;
use std::io::IsTerminal;

use crate::flags::lowargs::ColorChoice;

/// Decides colour for stdout: `--color always|never`, else only on a terminal and only when
/// `NO_COLOR` is unset or empty (<https://no-color.org>).
pub fn use_color(choice: ColorChoice) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
            !no_color && std::io::stdout().is_terminal()
        }
    }
}

/// An ANSI style; renders to nothing when colour is off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// Dimmed (times, frame numbers).
    Dim,
    /// Bold (packet types, headings).
    Bold,
    /// Red (errors).
    Red,
    /// Yellow (warnings).
    Yellow,
    /// Cyan (to-broker direction, topics).
    Cyan,
    /// Magenta (to-client direction).
    Magenta,
    /// Green (ok).
    Green,
    /// Blue (notes).
    Blue,
}

impl Style {
    fn code(self) -> &'static str {
        match self {
            Style::Dim => "2",
            Style::Bold => "1",
            Style::Red => "31",
            Style::Yellow => "33",
            Style::Cyan => "36",
            Style::Magenta => "35",
            Style::Green => "32",
            Style::Blue => "34",
        }
    }
}

/// Paints text with styles when enabled.
#[derive(Debug, Clone, Copy)]
pub struct Painter {
    /// True when ANSI escapes are written.
    pub color: bool,
}

impl Painter {
    /// Wraps `text` in the style's escape sequence when colour is on.
    pub fn paint<'a>(&self, style: Style, text: &'a str) -> Cow<'a, str> {
        if self.color && !text.is_empty() {
            Cow::Owned(format!("\x1b[{}m{}\x1b[0m", style.code(), text))
        } else {
            Cow::Borrowed(text)
        }
    }
}

/// Escapes untrusted text for a terminal or a line-oriented file: control characters (C0, DEL,
/// C1), and the line/paragraph separators become `\n`, `\t`, `\x1b`, `\u{85}`…; backslashes
/// and double quotes are escaped so the result can be shown in quotes unambiguously.
pub fn escape(text: &str) -> Cow<'_, str> {
    if !text.chars().any(needs_escape) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            c if (c as u32) < 0x80 && needs_escape(c) => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c if needs_escape(c) => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

fn needs_escape(c: char) -> bool {
    c.is_control()
        || c == '\\'
        || c == '"'
        // Bidirectional overrides and line separators reorder or break what follows on screen.
        || matches!(c, '\u{2028}' | '\u{2029}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// Escapes only control characters and bidirectional overrides (for text that is already
/// quoted by its own syntax, such as compact JSON).
pub fn escape_controls(text: &str) -> Cow<'_, str> {
    if !text
        .chars()
        .any(|c| needs_escape(c) && c != '\\' && c != '"')
    {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if needs_escape(c) && c != '\\' && c != '"' {
            let _ = write!(out, "\\u{{{:x}}}", c as u32);
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// Bytes as text for display: UTF-8 with invalid sequences as `\xNN`, then [`escape`]d.
pub fn escape_bytes(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for chunk in bytes.utf8_chunks() {
        out.push_str(&escape(chunk.valid()));
        for b in chunk.invalid() {
            let _ = write!(out, "\\x{b:02x}");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_leaves_plain_text_borrowed() {
        assert!(matches!(escape("home/temp 21.5°C"), Cow::Borrowed(_)));
    }

    #[test]
    fn escape_neutralises_terminal_escape_sequences() {
        assert_eq!(escape("a\x1b[2Jb\x07"), "a\\x1b[2Jb\\x07");
        assert_eq!(escape("line\nnext\r\t"), "line\\nnext\\r\\t");
        assert_eq!(escape("\u{9b}31m"), "\\u{9b}31m");
        assert_eq!(escape("say \"hi\" \\"), "say \\\"hi\\\" \\\\");
        assert_eq!(escape("abc\u{202e}def"), "abc\\u{202e}def");
    }

    #[test]
    fn escape_bytes_shows_invalid_utf8_as_hex() {
        assert_eq!(escape_bytes(b"ok\xff\xfe\n"), "ok\\xff\\xfe\\n");
    }

    #[test]
    fn painter_without_color_is_identity() {
        let p = Painter { color: false };
        assert_eq!(p.paint(Style::Red, "x"), "x");
        let p = Painter { color: true };
        assert_eq!(p.paint(Style::Red, "x"), "\x1b[31mx\x1b[0m");
    }
}
