//! Splits a filter string into tokens, each with its byte span, so every error can point at the
//! exact place in the text the user typed.

use super::FilterError;

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CmpOp {
    Eq,
    Ne,
    Lt,
    Gt,
    Le,
    Ge,
}

impl CmpOp {
    /// The keyword spelling (`eq`, `ne`, …), case-insensitive as in Wireshark.
    fn from_keyword(word: &str) -> Option<CmpOp> {
        Some(match word.to_ascii_lowercase().as_str() {
            "eq" => CmpOp::Eq,
            "ne" => CmpOp::Ne,
            "lt" => CmpOp::Lt,
            "gt" => CmpOp::Gt,
            "le" => CmpOp::Le,
            "ge" => CmpOp::Ge,
            _ => return None,
        })
    }
}

/// What a token is.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum TokenKind<'a> {
    LParen,
    RParen,
    LBrace,
    RBrace,
    Comma,
    DotDot,
    Not,
    And,
    Or,
    Cmp(CmpOp),
    Contains,
    Matches,
    In,
    /// A quoted string, escapes resolved.
    Quoted(String),
    /// A field name, number, address, network or bare value name.
    Word(&'a str),
}

/// A token and where it is in the input.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Token<'a> {
    pub kind: TokenKind<'a>,
    pub offset: usize,
    pub len: usize,
}

/// Bytes that make up a bare word: field names (`mqtt.topic`), numbers (`0x1f`, `1.5`), IPv4,
/// IPv6 and CIDR literals (`10.0.0.0/8`, `fe80::1`) and value names (`MQ-QOS3`, `to_broker`).
fn is_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-' | b':' | b'/')
}

/// Tokenizes the whole input.
pub(crate) fn tokenize(input: &str) -> Result<Vec<Token<'_>>, FilterError> {
    let bytes = input.as_bytes();
    let mut tokens = Vec::new();
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        let start = i;
        let two = bytes.get(i..i + 2).unwrap_or(&[]);
        let (kind, len) = match b {
            b' ' | b'\t' | b'\r' | b'\n' => {
                i += 1;
                continue;
            }
            b'(' => (TokenKind::LParen, 1),
            b')' => (TokenKind::RParen, 1),
            b'{' => (TokenKind::LBrace, 1),
            b'}' => (TokenKind::RBrace, 1),
            b',' => (TokenKind::Comma, 1),
            _ if two == b"==" => (TokenKind::Cmp(CmpOp::Eq), 2),
            _ if two == b"!=" => (TokenKind::Cmp(CmpOp::Ne), 2),
            _ if two == b"<=" => (TokenKind::Cmp(CmpOp::Le), 2),
            _ if two == b">=" => (TokenKind::Cmp(CmpOp::Ge), 2),
            _ if two == b"&&" => (TokenKind::And, 2),
            _ if two == b"||" => (TokenKind::Or, 2),
            _ if two == b".." => (TokenKind::DotDot, 2),
            b'<' => (TokenKind::Cmp(CmpOp::Lt), 1),
            b'>' => (TokenKind::Cmp(CmpOp::Gt), 1),
            b'!' => (TokenKind::Not, 1),
            b'=' => {
                return Err(FilterError::new(
                    start,
                    1,
                    "\"=\" is not an operator: use \"==\"",
                ));
            }
            b'&' => {
                return Err(FilterError::new(
                    start,
                    1,
                    "\"&\" is not an operator: use \"&&\" or \"and\"",
                ));
            }
            b'|' => {
                return Err(FilterError::new(
                    start,
                    1,
                    "\"|\" is not an operator: use \"||\" or \"or\"",
                ));
            }
            b'"' => {
                let (text, len) = quoted(input, start)?;
                (TokenKind::Quoted(text), len)
            }
            _ if is_word_byte(b) => {
                let mut end = start;
                while let Some(&c) = bytes.get(end) {
                    // `..` ends a word: it separates the ends of a range in a set (`{1..5}`) and
                    // occurs in no field name, number or address.
                    if !is_word_byte(c) || (c == b'.' && bytes.get(end + 1) == Some(&b'.')) {
                        break;
                    }
                    end += 1;
                }
                let word = &input[start..end];
                let kind = match word.to_ascii_lowercase().as_str() {
                    "and" => TokenKind::And,
                    "or" => TokenKind::Or,
                    "not" => TokenKind::Not,
                    "contains" => TokenKind::Contains,
                    "matches" => TokenKind::Matches,
                    "in" => TokenKind::In,
                    lower => match CmpOp::from_keyword(lower) {
                        Some(op) => TokenKind::Cmp(op),
                        None => TokenKind::Word(word),
                    },
                };
                (kind, end - start)
            }
            _ => {
                let ch = input[start..].chars().next().unwrap_or('?');
                return Err(FilterError::new(
                    start,
                    ch.len_utf8(),
                    format!("unexpected character {ch:?}"),
                ));
            }
        };
        tokens.push(Token {
            kind,
            offset: start,
            len,
        });
        i = start + len;
    }
    Ok(tokens)
}

/// Reads a double-quoted string starting at `start` (the quote); returns its text and the
/// token's length. Escapes: `\"`, `\\`, `\n`, `\r`, `\t`, `\0`, `\xHH` (ASCII only).
fn quoted(input: &str, start: usize) -> Result<(String, usize), FilterError> {
    let mut text = String::new();
    let mut chars = input[start + 1..].char_indices();
    while let Some((i, c)) = chars.next() {
        let at = start + 1 + i;
        match c {
            '"' => return Ok((text, at + 1 - start)),
            '\\' => {
                let Some((_, e)) = chars.next() else { break };
                match e {
                    '"' | '\\' => text.push(e),
                    'n' => text.push('\n'),
                    'r' => text.push('\r'),
                    't' => text.push('\t'),
                    '0' => text.push('\0'),
                    'x' => {
                        let hex: String = chars.by_ref().take(2).map(|(_, h)| h).collect();
                        match u8::from_str_radix(&hex, 16) {
                            Ok(v) if hex.len() == 2 && v.is_ascii() => text.push(char::from(v)),
                            _ => {
                                return Err(FilterError::new(
                                    at,
                                    2 + hex.len(),
                                    "\\x needs two hex digits of an ASCII character (00-7f)",
                                ));
                            }
                        }
                    }
                    other => {
                        return Err(FilterError::new(
                            at,
                            1 + other.len_utf8(),
                            format!("unknown escape \\{other}"),
                        ));
                    }
                }
            }
            _ => text.push(c),
        }
    }
    Err(FilterError::new(
        start,
        input.len() - start,
        "string is not closed: missing \"",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(input: &str) -> Vec<TokenKind<'_>> {
        tokenize(input)
            .unwrap()
            .into_iter()
            .map(|t| t.kind)
            .collect()
    }

    #[test]
    fn operators_need_no_spaces_around_them() {
        assert_eq!(
            kinds("tcp.port==1883&&!mqtt.retain"),
            vec![
                TokenKind::Word("tcp.port"),
                TokenKind::Cmp(CmpOp::Eq),
                TokenKind::Word("1883"),
                TokenKind::And,
                TokenKind::Not,
                TokenKind::Word("mqtt.retain"),
            ]
        );
    }

    #[test]
    fn addresses_networks_and_codes_are_single_words() {
        assert_eq!(kinds("10.0.0.0/8"), vec![TokenKind::Word("10.0.0.0/8")]);
        assert_eq!(kinds("fe80::1"), vec![TokenKind::Word("fe80::1")]);
        assert_eq!(kinds("MQ-QOS3"), vec![TokenKind::Word("MQ-QOS3")]);
    }

    #[test]
    fn a_range_splits_at_the_double_dot() {
        assert_eq!(
            kinds("{1..5}"),
            vec![
                TokenKind::LBrace,
                TokenKind::Word("1"),
                TokenKind::DotDot,
                TokenKind::Word("5"),
                TokenKind::RBrace
            ]
        );
    }

    #[test]
    fn keywords_are_case_insensitive_and_spelled_operators_work() {
        assert_eq!(
            kinds("AND or Not ge"),
            vec![
                TokenKind::And,
                TokenKind::Or,
                TokenKind::Not,
                TokenKind::Cmp(CmpOp::Ge)
            ]
        );
    }

    #[test]
    fn quoted_strings_resolve_escapes_and_report_their_length() {
        let tokens = tokenize(r#""a\"b\x41\n" x"#).unwrap();
        assert_eq!(tokens[0].kind, TokenKind::Quoted("a\"bA\n".to_string()));
        assert_eq!(tokens[0].len, 12);
        assert_eq!(tokens[1].offset, 13);
    }

    #[test]
    fn errors_point_at_the_offending_byte() {
        assert_eq!(tokenize("a = 1").unwrap_err().offset, 2);
        assert_eq!(tokenize("a & b").unwrap_err().offset, 2);
        assert_eq!(tokenize("x == \"open").unwrap_err().offset, 5);
        assert_eq!(tokenize("x == é").unwrap_err().offset, 5);
        assert_eq!(tokenize(r#""\q""#).unwrap_err().offset, 1);
        assert_eq!(tokenize(r#""\x4""#).unwrap_err().offset, 1);
    }
}
