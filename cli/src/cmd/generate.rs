//! `mqscope completions SHELL` and `mqscope man`: generated from the clap definition, so they
//! never drift from the real flags.

use std::io::{self, Write};

use clap::CommandFactory;

use crate::error::{CliError, stdout_err};
use crate::flags::lowargs::LowArgs;

/// Prints the completion script for `shell`.
pub fn completions(shell: clap_complete::Shell) -> Result<u8, CliError> {
    let mut cmd = LowArgs::command();
    let mut buf = Vec::new();
    clap_complete::generate(shell, &mut cmd, "mqscope", &mut buf);
    io::stdout().lock().write_all(&buf).map_err(stdout_err)?;
    Ok(0)
}

/// Prints the man page (roff): the main page followed by one section per subcommand.
pub fn man() -> Result<u8, CliError> {
    let cmd = LowArgs::command();
    let mut buf = Vec::new();
    clap_mangen::Man::new(cmd.clone())
        .render(&mut buf)
        .map_err(stdout_err)?;
    for sub in cmd.get_subcommands() {
        let title = format!("mqscope-{}", sub.get_name()).to_uppercase();
        clap_mangen::Man::new(sub.clone())
            .title(title)
            .render(&mut buf)
            .map_err(stdout_err)?;
    }
    io::stdout().lock().write_all(&buf).map_err(stdout_err)?;
    Ok(0)
}
