//! Column types and the `table!` macro that declares a table once: its row struct (serialised to
//! JSON lines by serde), its schema (checked against docs/export.md) and its column builder
//! (turned into a polars DataFrame). One declaration, so the three can never disagree.

use polars::prelude::*;

/// The value type of a column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ColumnType {
    /// Unsigned 32-bit integer (polars `UInt32`).
    U32,
    /// Unsigned 64-bit integer (polars `UInt64`).
    U64,
    /// 64-bit float (polars `Float64`).
    F64,
    /// Boolean (polars `Boolean`).
    Bool,
    /// UTF-8 text (polars `String`).
    Str,
}

impl ColumnType {
    /// The name docs/export.md uses: `u32`, `u64`, `f64`, `bool`, `str`.
    pub fn name(self) -> &'static str {
        match self {
            ColumnType::U32 => "u32",
            ColumnType::U64 => "u64",
            ColumnType::F64 => "f64",
            ColumnType::Bool => "bool",
            ColumnType::Str => "str",
        }
    }

    /// The polars data type of the column.
    pub fn dtype(self) -> DataType {
        match self {
            ColumnType::U32 => DataType::UInt32,
            ColumnType::U64 => DataType::UInt64,
            ColumnType::F64 => DataType::Float64,
            ColumnType::Bool => DataType::Boolean,
            ColumnType::Str => DataType::String,
        }
    }
}

/// One column of a table's schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ColumnSpec {
    /// Column name (the JSON lines key).
    pub name: &'static str,
    /// Value type.
    pub ty: ColumnType,
    /// True when the column may hold nulls.
    pub nullable: bool,
    /// One-line meaning, as docs/export.md gives it.
    pub doc: &'static str,
}

impl ColumnSpec {
    /// The type as docs/export.md writes it: `u32`, or `u32?` when nullable.
    pub fn type_label(&self) -> String {
        format!("{}{}", self.ty.name(), if self.nullable { "?" } else { "" })
    }
}

/// A Rust type that can be a cell of a column.
pub(crate) trait Cell: Sized {
    const TYPE: ColumnType;
    const NULLABLE: bool;
    fn column(name: &str, values: Vec<Self>) -> Column;
}

macro_rules! numeric_cell {
    ($t:ty, $chunked:ty, $ct:expr) => {
        impl Cell for $t {
            const TYPE: ColumnType = $ct;
            const NULLABLE: bool = false;
            fn column(name: &str, values: Vec<Self>) -> Column {
                <$chunked>::from_vec(name.into(), values)
                    .into_series()
                    .into_column()
            }
        }
        impl Cell for Option<$t> {
            const TYPE: ColumnType = $ct;
            const NULLABLE: bool = true;
            fn column(name: &str, values: Vec<Self>) -> Column {
                <$chunked>::from_iter_options(name.into(), values.into_iter())
                    .into_series()
                    .into_column()
            }
        }
    };
}

numeric_cell!(u32, UInt32Chunked, ColumnType::U32);
numeric_cell!(u64, UInt64Chunked, ColumnType::U64);
numeric_cell!(f64, Float64Chunked, ColumnType::F64);

impl Cell for bool {
    const TYPE: ColumnType = ColumnType::Bool;
    const NULLABLE: bool = false;
    fn column(name: &str, values: Vec<Self>) -> Column {
        BooleanChunked::from_slice(name.into(), &values)
            .into_series()
            .into_column()
    }
}

impl Cell for Option<bool> {
    const TYPE: ColumnType = ColumnType::Bool;
    const NULLABLE: bool = true;
    fn column(name: &str, values: Vec<Self>) -> Column {
        BooleanChunked::from_slice_options(name.into(), &values)
            .into_series()
            .into_column()
    }
}

impl Cell for &str {
    const TYPE: ColumnType = ColumnType::Str;
    const NULLABLE: bool = false;
    fn column(name: &str, values: Vec<Self>) -> Column {
        StringChunked::from_slice(name.into(), &values)
            .into_series()
            .into_column()
    }
}

impl Cell for Option<&str> {
    const TYPE: ColumnType = ColumnType::Str;
    const NULLABLE: bool = true;
    fn column(name: &str, values: Vec<Self>) -> Column {
        StringChunked::from_slice_options(name.into(), &values)
            .into_series()
            .into_column()
    }
}

impl Cell for String {
    const TYPE: ColumnType = ColumnType::Str;
    const NULLABLE: bool = false;
    fn column(name: &str, values: Vec<Self>) -> Column {
        StringChunked::from_iter_values(name.into(), values.iter().map(String::as_str))
            .into_series()
            .into_column()
    }
}

/// The column name: the explicit one when given (for names that are Rust keywords), else the
/// field's name.
macro_rules! column_name {
    ($field:ident) => {
        stringify!($field)
    };
    ($field:ident, $name:literal) => {
        $name
    };
}

/// Declares a table:
/// `table!(Row<'a>, Builder { field [as "name"]: Type = "doc", … })`.
///
/// The lifetime is passed in because macro lifetimes are hygienic.
macro_rules! table {
    ($row:ident<$lt:lifetime>, $builder:ident { $( $field:ident $(as $name:literal)? : $ty:ty = $doc:literal, )* }) => {
        /// One row of the table; serialised as one JSON line.
        #[derive(Debug, Clone, serde::Serialize)]
        pub(crate) struct $row<$lt> {
            $( #[doc = $doc] $(#[serde(rename = $name)])? pub $field: $ty, )*
        }

        impl<$lt> $row<$lt> {
            /// The table's columns, in order.
            pub(crate) const SCHEMA: &'static [$crate::export::schema::ColumnSpec] = &[
                $( $crate::export::schema::ColumnSpec {
                    name: column_name!($field $(, $name)?),
                    ty: <$ty as $crate::export::schema::Cell>::TYPE,
                    nullable: <$ty as $crate::export::schema::Cell>::NULLABLE,
                    doc: $doc,
                }, )*
            ];
        }

        /// Collects rows column by column.
        #[derive(Default)]
        pub(crate) struct $builder<$lt> {
            $( $field: Vec<$ty>, )*
        }

        impl<$lt> $builder<$lt> {
            pub(crate) fn push(&mut self, row: $row<$lt>) {
                $( self.$field.push(row.$field); )*
            }
            pub(crate) fn finish(self) -> polars::prelude::PolarsResult<polars::prelude::DataFrame> {
                polars::prelude::DataFrame::new_infer_height(vec![
                    $( <$ty as $crate::export::schema::Cell>::column(column_name!($field $(, $name)?), self.$field), )*
                ])
            }
        }
    };
}

pub(crate) use {column_name, table};
