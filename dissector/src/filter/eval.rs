//! Evaluates a compiled expression against a [`FieldSource`]. Multi-valued fields match when any
//! value matches (Wireshark's rule); `!=` needs the field present with no value equal. Nothing
//! here allocates: values are borrowed and visited through a callback.

use std::cmp::Ordering;
use std::ops::ControlFlow;

use super::lexer::CmpOp;
use super::parser::{Expr, Literal, SetItem};
use super::{Field, FieldSource, FieldValue};

/// True when the expression holds for `src`.
pub(crate) fn eval<S: FieldSource + ?Sized>(expr: &Expr, src: &S) -> bool {
    match expr {
        Expr::True => true,
        Expr::And(terms) => terms.iter().all(|t| eval(t, src)),
        Expr::Or(terms) => terms.iter().any(|t| eval(t, src)),
        Expr::Not(inner) => !eval(inner, src),
        Expr::Exists(field) => any(src, *field, |_| true),
        Expr::Compare {
            field,
            op: CmpOp::Ne,
            value,
        } => {
            // Wireshark 4: `a != b` is "all a != b", and false when `a` is absent.
            let mut present = false;
            let equal_found = any(src, *field, |v| {
                present = true;
                equals(&v, value)
            });
            present && !equal_found
        }
        Expr::Compare { field, op, value } => any(src, *field, |v| compare(&v, *op, value)),
        Expr::Contains { field, needle } => any(
            src,
            *field,
            |v| matches!(v, FieldValue::Str(s) if s.contains(&**needle)),
        ),
        Expr::Matches { field, regex } => any(
            src,
            *field,
            |v| matches!(v, FieldValue::Str(s) if regex.is_match(s)),
        ),
        Expr::In { field, items } => any(src, *field, |v| {
            items.iter().any(|item| match item {
                SetItem::One(lit) => equals(&v, lit),
                SetItem::Range(low, high) => {
                    matches!(order(&v, low), Some(Ordering::Greater | Ordering::Equal))
                        && matches!(order(&v, high), Some(Ordering::Less | Ordering::Equal))
                }
            })
        }),
    }
}

/// True when some value of `field` satisfies `pred`; stops at the first one.
fn any<S: FieldSource + ?Sized>(
    src: &S,
    field: Field,
    mut pred: impl FnMut(FieldValue<'_>) -> bool,
) -> bool {
    src.visit(field, &mut |v| {
        if pred(v) {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    })
    .is_break()
}

/// `==`: equal values; an address equals a network that contains it.
fn equals(value: &FieldValue<'_>, lit: &Literal) -> bool {
    match (value, lit) {
        (FieldValue::Ip(ip), Literal::Net(net)) => net.contains(*ip),
        (FieldValue::Str(s), Literal::Str(l)) => *s == &**l,
        (FieldValue::Bool(b), Literal::Bool(l)) => b == l,
        _ => order(value, lit) == Some(Ordering::Equal),
    }
}

fn compare(value: &FieldValue<'_>, op: CmpOp, lit: &Literal) -> bool {
    if op == CmpOp::Eq {
        return equals(value, lit);
    }
    let Some(ord) = order(value, lit) else {
        return false;
    };
    match op {
        CmpOp::Eq => ord == Ordering::Equal,
        CmpOp::Ne => ord != Ordering::Equal,
        CmpOp::Lt => ord == Ordering::Less,
        CmpOp::Gt => ord == Ordering::Greater,
        CmpOp::Le => ord != Ordering::Greater,
        CmpOp::Ge => ord != Ordering::Less,
    }
}

/// How a value orders against a literal; `None` when they are of different kinds.
fn order(value: &FieldValue<'_>, lit: &Literal) -> Option<Ordering> {
    match (value, lit) {
        (FieldValue::Unsigned(v), Literal::Unsigned(l)) => Some(v.cmp(l)),
        (FieldValue::Unsigned(v), Literal::Float(l)) => (*v as f64).partial_cmp(l),
        (FieldValue::Float(v), Literal::Float(l)) => v.partial_cmp(l),
        (FieldValue::Float(v), Literal::Unsigned(l)) => v.partial_cmp(&(*l as f64)),
        (FieldValue::Str(v), Literal::Str(l)) => Some((*v).cmp(&**l)),
        (FieldValue::Bool(v), Literal::Bool(l)) => Some(v.cmp(l)),
        (FieldValue::Ip(v), Literal::Net(l)) if l.is_host() => match (v, l.addr) {
            (std::net::IpAddr::V4(a), std::net::IpAddr::V4(b)) => Some(a.cmp(&b)),
            (std::net::IpAddr::V6(a), std::net::IpAddr::V6(b)) => Some(a.cmp(&b)),
            _ => None,
        },
        _ => None,
    }
}
