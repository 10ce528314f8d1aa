//! Trace → tables (polars DataFrames) → CSV, Parquet or JSON lines.
