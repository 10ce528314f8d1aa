//! Command-line flags: [`lowargs`] is what clap parses, [`hiargs`] the validated [`Config`]
//! the commands run with (ripgrep's split: parsing stays dumb, resolution is testable).

pub mod hiargs;
pub mod lowargs;

pub use hiargs::Config;
