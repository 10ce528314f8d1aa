//! One module per subcommand.

pub mod check;
pub mod export;
pub mod flows;
pub mod generate;
pub mod live;
pub mod read;
pub mod rules;
pub mod seq;
pub mod stats;
