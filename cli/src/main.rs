//! `mqscope`: the command-line front end of the mqscope MQTT analyser.
//!
//! Thin by design: [`flags`] parses and validates the command line into a [`flags::Config`],
//! [`input`] runs captures through the `capture` pipeline into the `dissector` analyzer, one
//! module per subcommand in [`cmd`] wires them, and [`render`] turns the model into text, JSON,
//! and reports. Exit status: 0 ok, 1 `check` findings, 2 usage or input error; a closed stdout
//! (`mqscope read … | head`) is a normal end.
#![forbid(unsafe_code)]

mod cmd;
mod error;
mod flags;
mod input;
mod render;
mod term;

use std::process::ExitCode;

use clap::Parser;

use crate::error::{CliError, EXIT_ERROR};
use crate::flags::Config;
use crate::flags::hiargs::Run;
use crate::flags::lowargs::LowArgs;

fn main() -> ExitCode {
    let low = match LowArgs::try_parse() {
        Ok(low) => low,
        Err(e) => {
            // clap prints help/version itself; those are successes, the rest usage errors (2).
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { EXIT_ERROR } else { 0 });
        }
    };
    match Config::try_from(low).and_then(run) {
        Ok(code) => ExitCode::from(code),
        Err(e) if e.is_broken_pipe() => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("mqscope: {e}");
            ExitCode::from(EXIT_ERROR)
        }
    }
}

/// Runs the configured command; returns the exit status.
fn run(config: Config) -> Result<u8, CliError> {
    let common = &config.common;
    match config.run {
        Run::Read { input, output } => cmd::read::run(common, &input, output),
        Run::ListInterfaces { format } => cmd::live::list(format),
        Run::Live {
            interface,
            bpf,
            filter,
            write,
            duration,
            output,
        } => cmd::live::run(
            common,
            cmd::live::LiveRequest {
                interface,
                bpf,
                filter,
                write,
                duration,
                output,
            },
        ),
        Run::Flows { input, format } => cmd::flows::run(common, &input, format),
        Run::Seq {
            input,
            format,
            stream,
            client,
            output,
        } => cmd::seq::run(
            common,
            &input,
            format,
            stream,
            client.as_deref(),
            output.as_deref(),
        ),
        Run::Check {
            input,
            format,
            fail_on,
            rules,
        } => cmd::check::run(common, &input, format, fail_on, rules.as_deref()),
        Run::Stats {
            input,
            format,
            by,
            fanout,
        } => cmd::stats::run(common, &input, format, by, fanout),
        Run::Export {
            input,
            output,
            tables,
            format,
            to_dir,
        } => cmd::export::run(common, &input, &output, &tables, format, to_dir),
        Run::Completions(shell) => cmd::generate::completions(shell),
        Run::Man => cmd::generate::man(),
    }
}
