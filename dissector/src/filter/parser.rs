//! Recursive-descent parser: tokens → a typed expression tree whose field names are already
//! resolved to [`Field`] ids and whose literals are already converted to the field's type, so
//! evaluation never looks at text again.
//!
//! Grammar (lowest precedence first; `and` binds tighter than `or`, as in Wireshark 4):
//! ```text
//! filter  := or EOF
//! or      := and (("||" | "or") and)*
//! and     := unary (("&&" | "and") unary)*
//! unary   := ("!" | "not") unary | "(" or ")" | test
//! test    := FIELD [ CMP value | "contains" value | "matches" value | "in" "{" item ([","] item)* "}" ]
//! item    := value [".." value]
//! ```

use std::net::IpAddr;

use regex::{Regex, RegexBuilder};

use super::FilterError;
use super::fields::{Field, FieldKind, NamedValue, distance_within, suggest};
use super::lexer::{CmpOp, Token, TokenKind};
use crate::model::AnomalyCode;

/// Nesting deeper than this is refused, so no input can exhaust the stack.
const MAX_DEPTH: usize = 128;

/// Regexes are compiled from user text: cap their compiled size (bytes).
const REGEX_SIZE_LIMIT: usize = 1 << 20;

/// A literal converted to its field's type.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Literal {
    Unsigned(u64),
    Float(f64),
    Bool(bool),
    Str(Box<str>),
    /// An address with a prefix length (a single address has the full length).
    Net(IpNet),
}

/// An IPv4 or IPv6 network.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct IpNet {
    pub addr: IpAddr,
    pub prefix: u8,
}

impl IpNet {
    fn max_prefix(addr: IpAddr) -> u8 {
        if addr.is_ipv4() { 32 } else { 128 }
    }
    /// True when the network is one address.
    pub fn is_host(&self) -> bool {
        self.prefix == Self::max_prefix(self.addr)
    }
    /// True when `ip` is inside the network (families must agree).
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

/// One element of an `in { … }` set.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum SetItem {
    One(Literal),
    /// Inclusive range of numbers.
    Range(Literal, Literal),
}

/// The compiled expression.
#[derive(Debug, Clone)]
pub(crate) enum Expr {
    /// Matches everything (the empty filter).
    True,
    And(Vec<Expr>),
    Or(Vec<Expr>),
    Not(Box<Expr>),
    Exists(Field),
    Compare {
        field: Field,
        op: CmpOp,
        value: Literal,
    },
    Contains {
        field: Field,
        needle: Box<str>,
    },
    Matches {
        field: Field,
        regex: Box<Regex>,
    },
    In {
        field: Field,
        items: Vec<SetItem>,
    },
}

impl Expr {
    /// True when `field` appears anywhere in the expression.
    pub(crate) fn uses(&self, field: Field) -> bool {
        match self {
            Expr::True => false,
            Expr::And(terms) | Expr::Or(terms) => terms.iter().any(|t| t.uses(field)),
            Expr::Not(inner) => inner.uses(field),
            Expr::Exists(f) | Expr::Compare { field: f, .. } | Expr::Contains { field: f, .. } => {
                *f == field
            }
            Expr::Matches { field: f, .. } | Expr::In { field: f, .. } => *f == field,
        }
    }
}

/// Parses a whole token list.
pub(crate) fn parse(input: &str, tokens: &[Token<'_>]) -> Result<Expr, FilterError> {
    let mut parser = Parser {
        input,
        tokens,
        pos: 0,
    };
    if tokens.is_empty() {
        return Ok(Expr::True);
    }
    let expr = parser.or(0)?;
    match parser.peek() {
        None => Ok(expr),
        Some(t) if t.kind == TokenKind::RParen => Err(FilterError::new(
            t.offset,
            t.len,
            "\")\" without a matching \"(\"",
        )),
        Some(t) => Err(FilterError::new(
            t.offset,
            t.len,
            format!(
                "expected \"&&\", \"||\" or the end of the filter, found {}",
                describe(&t.kind)
            ),
        )),
    }
}

struct Parser<'t, 'a> {
    input: &'a str,
    tokens: &'t [Token<'a>],
    pos: usize,
}

impl<'t, 'a> Parser<'t, 'a> {
    fn peek(&self) -> Option<&'t Token<'a>> {
        self.tokens.get(self.pos)
    }

    fn next(&mut self) -> Option<&'t Token<'a>> {
        let t = self.tokens.get(self.pos);
        self.pos += usize::from(t.is_some());
        t
    }

    /// An error at the end of the input ("expected X").
    fn at_end(&self, message: impl Into<String>) -> FilterError {
        FilterError::new(self.input.len(), 0, message)
    }

    fn or(&mut self, depth: usize) -> Result<Expr, FilterError> {
        let mut terms = vec![self.and(depth)?];
        while self.peek().is_some_and(|t| t.kind == TokenKind::Or) {
            self.next();
            terms.push(self.and(depth)?);
        }
        Ok(if terms.len() == 1 {
            terms.pop().unwrap_or(Expr::True)
        } else {
            Expr::Or(terms)
        })
    }

    fn and(&mut self, depth: usize) -> Result<Expr, FilterError> {
        let mut terms = vec![self.unary(depth)?];
        while self.peek().is_some_and(|t| t.kind == TokenKind::And) {
            self.next();
            terms.push(self.unary(depth)?);
        }
        Ok(if terms.len() == 1 {
            terms.pop().unwrap_or(Expr::True)
        } else {
            Expr::And(terms)
        })
    }

    fn unary(&mut self, depth: usize) -> Result<Expr, FilterError> {
        let Some(token) = self.next() else {
            return Err(self.at_end("expected a field name, \"!\" or \"(\" here"));
        };
        if depth >= MAX_DEPTH {
            return Err(FilterError::new(
                token.offset,
                token.len,
                format!("nested more than {MAX_DEPTH} levels deep"),
            ));
        }
        match &token.kind {
            TokenKind::Not => Ok(Expr::Not(Box::new(self.unary(depth + 1)?))),
            TokenKind::LParen => {
                let inner = self.or(depth + 1)?;
                match self.next() {
                    Some(t) if t.kind == TokenKind::RParen => Ok(inner),
                    Some(t) => Err(FilterError::new(
                        t.offset,
                        t.len,
                        format!("expected \")\", found {}", describe(&t.kind)),
                    )),
                    None => Err(FilterError::new(
                        token.offset,
                        token.len,
                        "\"(\" is never closed",
                    )),
                }
            }
            TokenKind::Word(name) => {
                let field = resolve_field(name, token)?;
                self.test(field, token)
            }
            other => Err(FilterError::new(
                token.offset,
                token.len,
                format!(
                    "expected a field name, \"!\" or \"(\", found {}",
                    describe(other)
                ),
            )),
        }
    }

    /// What follows a field name: an operator and a value, or nothing (existence test).
    fn test(&mut self, field: Field, field_token: &Token<'_>) -> Result<Expr, FilterError> {
        let kind = field.kind();
        let Some(op_token) = self.peek() else {
            return Ok(Expr::Exists(field));
        };
        let refuse = |what: &str| {
            FilterError::new(
                op_token.offset,
                op_token.len,
                format!(
                    "{what} cannot be used with {} ({})",
                    field.name(),
                    kind.name()
                ),
            )
        };
        match &op_token.kind {
            TokenKind::Cmp(op) => {
                self.next();
                if kind == FieldKind::Protocol {
                    return Err(protocol_error(field, field_token));
                }
                let value_token = self.value_token()?;
                let value = literal(field, value_token)?;
                let ordering = !matches!(op, CmpOp::Eq | CmpOp::Ne);
                if ordering && kind == FieldKind::Bool {
                    return Err(refuse("an ordering operator"));
                }
                if ordering && matches!(&value, Literal::Net(net) if !net.is_host()) {
                    return Err(FilterError::new(
                        value_token.offset,
                        value_token.len,
                        "a network can only be compared with == or !=",
                    ));
                }
                Ok(Expr::Compare {
                    field,
                    op: *op,
                    value,
                })
            }
            TokenKind::Contains => {
                self.next();
                if kind != FieldKind::Str {
                    return Err(refuse("\"contains\""));
                }
                let value_token = self.value_token()?;
                let needle = text_of(value_token).ok_or_else(|| expected_string(value_token))?;
                Ok(Expr::Contains {
                    field,
                    needle: needle.into(),
                })
            }
            TokenKind::Matches => {
                self.next();
                if kind != FieldKind::Str {
                    return Err(refuse("\"matches\""));
                }
                let value_token = self.value_token()?;
                let pattern = text_of(value_token).ok_or_else(|| expected_string(value_token))?;
                // Wireshark's `matches` is case-insensitive unless the pattern says `(?-i)`.
                let regex = RegexBuilder::new(pattern)
                    .case_insensitive(true)
                    .size_limit(REGEX_SIZE_LIMIT)
                    .build()
                    .map_err(|e| {
                        FilterError::new(
                            value_token.offset,
                            value_token.len,
                            format!("invalid regular expression: {}", one_line(&e.to_string())),
                        )
                    })?;
                Ok(Expr::Matches {
                    field,
                    regex: Box::new(regex),
                })
            }
            TokenKind::In => {
                self.next();
                if kind == FieldKind::Protocol {
                    return Err(protocol_error(field, field_token));
                }
                self.set(field, op_token)
            }
            _ => Ok(Expr::Exists(field)),
        }
    }

    /// `{ item item … }` after `in`.
    fn set(&mut self, field: Field, in_token: &Token<'_>) -> Result<Expr, FilterError> {
        match self.next() {
            Some(t) if t.kind == TokenKind::LBrace => {}
            Some(t) => {
                return Err(FilterError::new(
                    t.offset,
                    t.len,
                    format!("expected \"{{\" after \"in\", found {}", describe(&t.kind)),
                ));
            }
            None => return Err(self.at_end("expected \"{\" after \"in\"")),
        }
        let mut items = Vec::new();
        loop {
            match self.peek() {
                Some(t) if t.kind == TokenKind::RBrace => {
                    self.next();
                    if items.is_empty() {
                        return Err(FilterError::new(
                            t.offset,
                            t.len,
                            "empty set: put at least one value between { }",
                        ));
                    }
                    return Ok(Expr::In { field, items });
                }
                Some(t) if t.kind == TokenKind::Comma && !items.is_empty() => {
                    self.next();
                }
                Some(_) => {}
                None => {
                    return Err(FilterError::new(
                        in_token.offset,
                        self.input.len() - in_token.offset,
                        "set is never closed: missing \"}\"",
                    ));
                }
            }
            let low_token = self.value_token()?;
            let low = literal(field, low_token)?;
            if self.peek().is_some_and(|t| t.kind == TokenKind::DotDot) {
                self.next();
                let high_token = self.value_token()?;
                let high = literal(field, high_token)?;
                if !matches!(low, Literal::Unsigned(_) | Literal::Float(_)) {
                    return Err(FilterError::new(
                        low_token.offset,
                        high_token.offset + high_token.len - low_token.offset,
                        "ranges (a..b) need a number field",
                    ));
                }
                items.push(SetItem::Range(low, high));
            } else {
                // A network in a set is fine: membership means "inside any of them".
                items.push(SetItem::One(low));
            }
        }
    }

    /// The next token, which must be a value (a word or a quoted string).
    fn value_token(&mut self) -> Result<&'t Token<'a>, FilterError> {
        match self.next() {
            Some(t) if matches!(t.kind, TokenKind::Word(_) | TokenKind::Quoted(_)) => Ok(t),
            Some(t) => Err(FilterError::new(
                t.offset,
                t.len,
                format!("expected a value, found {}", describe(&t.kind)),
            )),
            None => Err(self.at_end("expected a value here")),
        }
    }
}

fn resolve_field(name: &str, token: &Token<'_>) -> Result<Field, FilterError> {
    if let Some(field) = Field::from_name(name) {
        return Ok(field);
    }
    let looks_like_value = name.bytes().next().is_some_and(|b| b.is_ascii_digit());
    let message = match suggest(name) {
        Some(hint) => format!("unknown field \"{name}\" (did you mean \"{hint}\"?)"),
        None if looks_like_value => format!(
            "expected a field name, found the value \"{name}\" (write the field first: tcp.port == {name})"
        ),
        None => format!("unknown field \"{name}\""),
    };
    Err(FilterError::new(token.offset, token.len, message))
}

fn protocol_error(field: Field, token: &Token<'_>) -> FilterError {
    FilterError::new(
        token.offset,
        token.len,
        format!(
            "\"{}\" is a protocol: test it alone, without an operator",
            field.name()
        ),
    )
}

fn expected_string(token: &Token<'_>) -> FilterError {
    FilterError::new(token.offset, token.len, "expected a string")
}

/// The text of a value token, or `None` if it is something else.
fn text_of<'t>(token: &'t Token<'_>) -> Option<&'t str> {
    match &token.kind {
        TokenKind::Quoted(s) => Some(s),
        TokenKind::Word(w) => Some(w),
        _ => None,
    }
}

/// Converts a value token to `field`'s type.
fn literal(field: Field, token: &Token<'_>) -> Result<Literal, FilterError> {
    let info = field.info();
    let text = text_of(token)
        .ok_or_else(|| FilterError::new(token.offset, token.len, "expected a value"))?;
    let err = |message: String| FilterError::new(token.offset, token.len, message);
    let named = info
        .names
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(text))
        .map(|&(_, v)| v);
    match info.kind {
        FieldKind::Protocol => Err(err(format!(
            "\"{}\" is a protocol: test it alone",
            info.name
        ))),
        FieldKind::Unsigned => match named {
            Some(NamedValue::Number(n)) => Ok(Literal::Unsigned(n)),
            _ => parse_unsigned(text).map(Literal::Unsigned).ok_or_else(|| {
                let names = info.names.iter().map(|(n, _)| *n).collect::<Vec<_>>();
                if names.is_empty() {
                    err(format!(
                        "{} needs a whole number, not \"{text}\"",
                        info.name
                    ))
                } else {
                    err(format!(
                        "{} needs a number or one of {}, not \"{text}\"{}",
                        info.name,
                        names.join(", "),
                        hint(closest(text, names.iter().copied()))
                    ))
                }
            }),
        },
        FieldKind::Float => parse_float(text)
            .map(Literal::Float)
            .ok_or_else(|| err(format!("{} needs a number, not \"{text}\"", info.name))),
        FieldKind::Bool => match text.to_ascii_lowercase().as_str() {
            "1" | "true" => Ok(Literal::Bool(true)),
            "0" | "false" => Ok(Literal::Bool(false)),
            _ => Err(err(format!(
                "{} is a boolean: compare it with 1, 0, true or false",
                info.name
            ))),
        },
        FieldKind::Str => {
            if let Some(NamedValue::Text(canonical)) = named {
                return Ok(Literal::Str(canonical.into()));
            }
            if !info.names.is_empty() {
                let names = info.names.iter().map(|(n, _)| *n).collect::<Vec<_>>();
                return Err(err(format!(
                    "{} is one of {}, not \"{text}\"{}",
                    info.name,
                    names.join(", "),
                    hint(closest(text, names.iter().copied()))
                )));
            }
            if field == Field::Anomaly {
                // Codes are a closed catalogue: a typo would silently match nothing.
                return match AnomalyCode::from_code(text) {
                    Some(code) => Ok(Literal::Str(code.code().into())),
                    None => Err(err(format!(
                        "unknown anomaly code \"{text}\"{}",
                        hint(closest(text, AnomalyCode::ALL.iter().map(|c| c.code())))
                    ))),
                };
            }
            if let TokenKind::Word(word) = token.kind
                && Field::from_name(word).is_some()
            {
                return Err(err(format!(
                    "comparing two fields is not supported; to compare with the text, quote it: \"{word}\""
                )));
            }
            Ok(Literal::Str(text.into()))
        }
        FieldKind::Ip => parse_net(text).map(Literal::Net).ok_or_else(|| {
            err(format!(
                "{} needs an IPv4 or IPv6 address or network (10.0.0.0/8), not \"{text}\"",
                info.name
            ))
        }),
    }
}

/// The candidate closest to `text` (case-insensitive), when it is close enough to be a typo.
fn closest<'n>(text: &str, candidates: impl Iterator<Item = &'n str>) -> Option<&'n str> {
    let lower = text.to_ascii_lowercase();
    let limit = (text.len() / 3).max(2);
    candidates
        .filter_map(|c| distance_within(&lower, &c.to_ascii_lowercase(), limit).map(|d| (c, d)))
        .min_by_key(|&(_, d)| d)
        .map(|(c, _)| c)
}

/// " (did you mean X?)" or nothing.
fn hint(suggestion: Option<&str>) -> String {
    suggestion.map_or_else(String::new, |s| format!(" (did you mean {s}?)"))
}

/// Decimal, or hexadecimal with `0x`, as Wireshark accepts.
fn parse_unsigned(text: &str) -> Option<u64> {
    match text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        Some(hex) => u64::from_str_radix(hex, 16).ok(),
        None if text.bytes().all(|b| b.is_ascii_digit()) => text.parse().ok(),
        None => None,
    }
}

/// A plain decimal number (`12`, `0.5`, `1e3`); no `inf` or `nan`.
fn parse_float(text: &str) -> Option<f64> {
    let plain = text
        .bytes()
        .next()
        .is_some_and(|b| b.is_ascii_digit() || b == b'.');
    text.parse::<f64>().ok().filter(|v| plain && v.is_finite())
}

/// `addr` or `addr/prefix`.
fn parse_net(text: &str) -> Option<IpNet> {
    let (addr, prefix) = match text.split_once('/') {
        Some((addr, prefix)) => (addr, Some(prefix)),
        None => (text, None),
    };
    let addr: IpAddr = addr.parse().ok()?;
    let max = IpNet::max_prefix(addr);
    let prefix = match prefix {
        Some(p) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => {
            p.parse::<u8>().ok().filter(|&p| p <= max)?
        }
        Some(_) => return None,
        None => max,
    };
    Some(IpNet { addr, prefix })
}

/// How a token is named in "found …" messages.
fn describe(kind: &TokenKind<'_>) -> String {
    match kind {
        TokenKind::LParen => "\"(\"".into(),
        TokenKind::RParen => "\")\"".into(),
        TokenKind::LBrace => "\"{\"".into(),
        TokenKind::RBrace => "\"}\"".into(),
        TokenKind::Comma => "\",\"".into(),
        TokenKind::DotDot => "\"..\"".into(),
        TokenKind::Not => "\"!\"".into(),
        TokenKind::And => "\"&&\"".into(),
        TokenKind::Or => "\"||\"".into(),
        TokenKind::Cmp(_) => "a comparison operator".into(),
        TokenKind::Contains => "\"contains\"".into(),
        TokenKind::Matches => "\"matches\"".into(),
        TokenKind::In => "\"in\"".into(),
        TokenKind::Quoted(s) => format!("the string \"{s}\""),
        TokenKind::Word(w) => format!("\"{w}\""),
    }
}

/// The regex crate's errors span several lines (with a caret drawing); the filter bar has one.
fn one_line(message: &str) -> String {
    message
        .lines()
        .map(str::trim)
        .rfind(|l| !l.is_empty() && !l.starts_with('^'))
        .unwrap_or(message)
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn networks_contain_their_addresses_only() {
        let net = parse_net("10.0.0.0/8").unwrap();
        assert!(net.contains("10.200.3.4".parse().unwrap()));
        assert!(!net.contains("11.0.0.1".parse().unwrap()));
        assert!(!net.contains("::ffff:10.0.0.1".parse().unwrap()));
        let all = parse_net("0.0.0.0/0").unwrap();
        assert!(all.contains("255.255.255.255".parse().unwrap()));
        let v6 = parse_net("fe80::/10").unwrap();
        assert!(v6.contains("fe80::1".parse().unwrap()));
        assert!(!v6.contains("2001:db8::1".parse().unwrap()));
        assert!(parse_net("::1").unwrap().is_host());
    }

    #[test]
    fn malformed_networks_are_rejected() {
        for bad in [
            "10.0.0.0/33",
            "10.0.0.0/",
            "10.0.0/8",
            "::1/129",
            "10.0.0.0/+8",
            "host",
        ] {
            assert_eq!(parse_net(bad), None, "{bad}");
        }
    }

    #[test]
    fn numbers_parse_in_decimal_and_hex_only() {
        assert_eq!(parse_unsigned("1883"), Some(1883));
        assert_eq!(parse_unsigned("0x10"), Some(16));
        assert_eq!(parse_unsigned("-1"), None);
        assert_eq!(parse_unsigned("+1"), None);
        assert_eq!(parse_unsigned("99999999999999999999"), None);
        assert_eq!(parse_float("0.5"), Some(0.5));
        assert_eq!(parse_float("inf"), None);
        assert_eq!(parse_float("1e999"), None);
    }
}
