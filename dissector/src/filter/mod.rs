//! The display-filter language shared by the CLI (`-Y`) and the GUI's filter bar.
//!
//! Wireshark's syntax and field names where Wireshark has the field (`mqtt.msgtype == PUBLISH &&
//! ip.addr == 10.0.0.0/8`), plus `mqscope.*` fields for what only the flow model knows. The full
//! language and every field are in `docs/filter.md`.
//!
//! A filter is parsed once ([`Filter::parse`]): field names become [`Field`] ids, literals are
//! converted to each field's type and regexes are compiled. Evaluation ([`Filter::matches`]) asks
//! a [`FieldSource`] for the values of those ids and allocates nothing, so the same filter runs
//! over millions of packets. The model's sources are [`PacketView`] and [`ConnectionView`].
//!
//! ```
//! use dissector::filter::{Filter, Field, FieldSource, FieldValue};
//! use std::ops::ControlFlow;
//!
//! struct Publish;
//! impl FieldSource for Publish {
//!     fn visit(&self, field: Field, visit: &mut dyn FnMut(FieldValue<'_>) -> ControlFlow<()>) -> ControlFlow<()> {
//!         match field {
//!             Field::MqttMsgType => visit(FieldValue::Unsigned(3)),
//!             Field::MqttTopic => visit(FieldValue::Str("sensors/kitchen/temp")),
//!             _ => ControlFlow::Continue(()),
//!         }
//!     }
//! }
//!
//! let filter = Filter::parse(r#"mqtt.msgtype == PUBLISH && mqtt.topic matches "^sensors/""#).unwrap();
//! assert!(filter.matches(&Publish));
//! let error = Filter::parse("mqtt.topc == x").unwrap_err();
//! assert_eq!(error.offset, 0);
//! assert!(error.message.contains("did you mean \"mqtt.topic\""));
//! ```

mod eval;
mod fields;
mod lexer;
mod parser;
mod view;

use std::fmt;
use std::net::IpAddr;
use std::ops::ControlFlow;

pub use fields::{FIELDS, Field, FieldInfo, FieldKind, NamedValue, suggest};
#[cfg(feature = "export")]
pub(crate) use view::transport_name;
pub use view::{ConnectionView, PacketView};

/// One value of a field, borrowed from the source.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum FieldValue<'a> {
    /// For [`FieldKind::Unsigned`] fields.
    Unsigned(u64),
    /// For [`FieldKind::Float`] fields.
    Float(f64),
    /// For [`FieldKind::Bool`] fields, and (as `true`) for [`FieldKind::Protocol`] fields.
    Bool(bool),
    /// For [`FieldKind::Str`] fields.
    Str(&'a str),
    /// For [`FieldKind::Ip`] fields.
    Ip(IpAddr),
}

/// Something a filter can be evaluated on: a packet, a connection, a test double.
///
/// Independent of the model's layout: the filter only ever asks for the values of one field.
pub trait FieldSource {
    /// Calls `visit` once for each value `field` has here (none when the field is absent, several
    /// for multi-valued fields such as `ip.addr`), stopping as soon as `visit` returns
    /// [`ControlFlow::Break`], which it then returns.
    fn visit(
        &self,
        field: Field,
        visit: &mut dyn FnMut(FieldValue<'_>) -> ControlFlow<()>,
    ) -> ControlFlow<()>;
}

/// A syntax or type error in a filter, with the place it is at.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message} (at byte {offset})")]
pub struct FilterError {
    /// Byte offset in the filter text where the problem starts (the text's length when
    /// something is missing at the end).
    pub offset: usize,
    /// Length in bytes of the offending part (0 at the end of the text), for underlining.
    pub len: usize,
    /// What is wrong, and how to fix it when we know.
    pub message: String,
}

impl FilterError {
    fn new(offset: usize, len: usize, message: impl Into<String>) -> FilterError {
        FilterError {
            offset,
            len,
            message: message.into(),
        }
    }
}

/// A parsed display filter. Cheap to evaluate, `Send + Sync`, cloneable.
#[derive(Debug, Clone)]
pub struct Filter {
    text: String,
    expr: parser::Expr,
}

impl Filter {
    /// Parses a filter. Empty (or blank) text gives the filter that matches everything.
    pub fn parse(text: &str) -> Result<Filter, FilterError> {
        let tokens = lexer::tokenize(text)?;
        let expr = parser::parse(text, &tokens)?;
        Ok(Filter {
            text: text.trim().to_string(),
            expr,
        })
    }

    /// The filter that matches everything.
    pub fn all() -> Filter {
        Filter {
            text: String::new(),
            expr: parser::Expr::True,
        }
    }

    /// True when this filter matches everything (it was empty).
    pub fn is_all(&self) -> bool {
        matches!(self.expr, parser::Expr::True)
    }

    /// The text it was parsed from, trimmed.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// True when the filter holds for `source`.
    pub fn matches<S: FieldSource + ?Sized>(&self, source: &S) -> bool {
        eval::eval(&self.expr, source)
    }

    /// True when the filter refers to `field` anywhere.
    pub fn uses(&self, field: Field) -> bool {
        self.expr.uses(field)
    }
}

impl fmt::Display for Filter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl std::str::FromStr for Filter {
    type Err = FilterError;
    fn from_str(s: &str) -> Result<Filter, FilterError> {
        Filter::parse(s)
    }
}

#[cfg(test)]
mod doc_tests;
#[cfg(test)]
pub(crate) mod testing;
#[cfg(test)]
mod tests;
