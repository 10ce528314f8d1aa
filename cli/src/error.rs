//! The CLI's errors: each says which file and what went wrong, and maps to an exit status.

use std::io;
use std::path::{Path, PathBuf};

/// Exit status for usage and input errors (tshark's convention is 2 as well).
pub const EXIT_ERROR: u8 = 2;
/// Exit status when `check` found failures.
pub const EXIT_FINDINGS: u8 = 1;

/// Everything that ends a run early.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// Bad flags or flag combinations (after clap's own checks).
    #[error("{0}")]
    Usage(String),
    /// A capture or rules file could not be used.
    #[error("{}: {problem}", path.display())]
    Input {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        problem: String,
    },
    /// Writing output failed (other than a closed pipe).
    #[error("writing {what}: {source}")]
    Output {
        /// What was being written.
        what: String,
        /// The I/O error.
        source: io::Error,
    },
    /// Live capture failed.
    #[error("live capture: {0}")]
    Live(String),
}

impl CliError {
    /// An input error for `path`.
    pub fn input(path: &Path, problem: impl std::fmt::Display) -> CliError {
        CliError::Input {
            path: path.to_path_buf(),
            problem: problem.to_string(),
        }
    }
    /// A usage error.
    pub fn usage(msg: impl Into<String>) -> CliError {
        CliError::Usage(msg.into())
    }
    /// True when the error is stdout being closed by its reader (`mqscope read … | head`):
    /// that is a normal end, not a failure.
    pub fn is_broken_pipe(&self) -> bool {
        matches!(self, CliError::Output { source, .. } if source.kind() == io::ErrorKind::BrokenPipe)
    }
}

/// Writing to stdout: turns I/O errors into [`CliError::Output`].
pub fn stdout_err(source: io::Error) -> CliError {
    CliError::Output {
        what: "standard output".into(),
        source,
    }
}
