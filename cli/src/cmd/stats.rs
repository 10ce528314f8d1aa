//! `mqscope stats`: header-size statistics, latency percentiles, topics and rates.

use crate::error::CliError;
use crate::flags::hiargs::{Common, Input};
use crate::flags::lowargs::{Format, StatsBy};

/// Runs `stats`.
pub fn run(common: &Common, input: &Input, format: Format, by: StatsBy) -> Result<u8, CliError> {
    let _ = (common, input, format, by);
    Err(CliError::usage("stats: not yet available"))
}
