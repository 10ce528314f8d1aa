//! Resolving the parsed flags into a [`Config`]: formats checked against the subcommand, the
//! display filter parsed once, ports merged with the defaults, autostop conditions read.

use std::path::PathBuf;
use std::time::Duration;

use dissector::export::Table;
use dissector::filter::Filter;

use super::lowargs::{self, ExportFormat, FailOn, Format, LowArgs, PayloadMode, StatsBy};
use crate::error::CliError;
use crate::term;

/// Options every command shares.
#[derive(Debug, Clone)]
pub struct Common {
    /// Colour text output.
    pub color: bool,
    /// Show CONNECT passwords.
    pub show_passwords: bool,
    /// Extra MQTT ports.
    pub mqtt_ports: Vec<u16>,
    /// Extra MQTT-over-WebSocket ports.
    pub ws_ports: Vec<u16>,
    /// Extra MQTT-over-TLS ports.
    pub tls_ports: Vec<u16>,
    /// Progress bar allowed (still only on a terminal, for big files).
    pub progress: bool,
}

/// Validated input selection.
#[derive(Debug, Clone)]
pub struct Input {
    /// Files, in the order given.
    pub files: Vec<PathBuf>,
    /// Merge them into one capture by time.
    pub merge: bool,
    /// Display filter (matches everything when not given).
    pub filter: Filter,
}

/// Packet printer options (`read`, `live`).
#[derive(Debug, Clone, Copy)]
pub struct PacketOutput {
    /// text, json or jsonl.
    pub format: Format,
    /// `-V`.
    pub verbose: bool,
    /// `--payload`.
    pub payload: Option<PayloadMode>,
    /// `-c`.
    pub count: Option<u64>,
}

/// What to run.
#[derive(Debug, Clone)]
pub enum Run {
    /// `read`.
    Read {
        /// Input.
        input: Input,
        /// Output.
        output: PacketOutput,
    },
    /// `live -D`.
    ListInterfaces {
        /// Output format.
        format: Format,
    },
    /// `live`.
    Live {
        /// Interface.
        interface: String,
        /// BPF filter.
        bpf: Option<String>,
        /// Display filter.
        filter: Filter,
        /// Savefile.
        write: Option<PathBuf>,
        /// Stop after this long.
        duration: Option<Duration>,
        /// Output.
        output: PacketOutput,
    },
    /// `flows`.
    Flows {
        /// Input.
        input: Input,
        /// text, json or jsonl.
        format: Format,
    },
    /// `seq`.
    Seq {
        /// Input.
        input: Input,
        /// text, mermaid or svg.
        format: Format,
        /// One stream.
        stream: Option<u32>,
        /// The connections of one client.
        client: Option<String>,
        /// Output file.
        output: Option<PathBuf>,
    },
    /// `check`.
    Check {
        /// Input.
        input: Input,
        /// text, json or junit.
        format: Format,
        /// Failure threshold.
        fail_on: FailOn,
        /// Rules file.
        rules: Option<PathBuf>,
    },
    /// `stats`.
    Stats {
        /// Input.
        input: Input,
        /// text or json.
        format: Format,
        /// Grouping.
        by: StatsBy,
        /// Broker fan-out matching.
        fanout: bool,
    },
    /// `export`.
    Export {
        /// Input.
        input: Input,
        /// Output file or directory.
        output: PathBuf,
        /// Tables to write (one for a file, all for a directory by default).
        tables: Vec<String>,
        /// File format.
        format: ExportFormat,
        /// Writing a directory.
        to_dir: bool,
    },
    /// `completions`.
    Completions(clap_complete::Shell),
    /// `man`.
    Man,
}

/// Everything a run needs.
#[derive(Debug, Clone)]
pub struct Config {
    /// Shared options.
    pub common: Common,
    /// The command.
    pub run: Run,
}

fn format_for(cmd: &str, given: Option<Format>, allowed: &[Format]) -> Result<Format, CliError> {
    let format = given.unwrap_or(Format::Text);
    if allowed.contains(&format) {
        Ok(format)
    } else {
        let names: Vec<&str> = allowed.iter().map(|f| f.name()).collect();
        Err(CliError::usage(format!(
            "`{cmd}` cannot write -T {}; choose one of: {}",
            format.name(),
            names.join(", ")
        )))
    }
}

fn parse_filter(text: Option<&str>) -> Result<Filter, CliError> {
    match text {
        None => Ok(Filter::all()),
        Some(text) => Filter::parse(text).map_err(|e| {
            // Point at the problem under the filter text, as Wireshark's filter bar does.
            let caret = format!("{}{}", " ".repeat(e.offset), "^".repeat(e.len.max(1)));
            CliError::usage(format!(
                "invalid display filter: {}\n  {text}\n  {caret}",
                e.message
            ))
        }),
    }
}

fn input(args: lowargs::InputArgs) -> Result<Input, CliError> {
    if args.merge && args.files.len() < 2 {
        return Err(CliError::usage("--merge needs at least two files after -r"));
    }
    Ok(Input {
        files: args.files,
        merge: args.merge,
        filter: parse_filter(args.filter.as_deref())?,
    })
}

fn packet_output(
    cmd: &str,
    format: Option<Format>,
    args: lowargs::PacketOutputArgs,
) -> Result<PacketOutput, CliError> {
    let format = format_for(cmd, format, &[Format::Text, Format::Json, Format::Jsonl])?;
    if args.count == Some(0) {
        return Err(CliError::usage("-c must be at least 1"));
    }
    Ok(PacketOutput {
        format,
        verbose: args.verbose,
        payload: args.payload,
        count: args.count,
    })
}

/// Reads `-a duration:S` (tshark's autostop syntax; only `duration` is supported).
pub fn parse_autostop(conditions: &[String]) -> Result<Option<Duration>, CliError> {
    let mut duration = None;
    for c in conditions {
        match c.split_once(':') {
            Some(("duration", secs)) => {
                let secs: f64 = secs
                    .parse()
                    .ok()
                    .filter(|s: &f64| s.is_finite() && *s > 0.0)
                    .ok_or_else(|| {
                        CliError::usage(format!(
                            "-a {c}: the duration must be a positive number of seconds"
                        ))
                    })?;
                duration = Some(Duration::from_secs_f64(secs));
            }
            _ => {
                return Err(CliError::usage(format!(
                    "-a {c}: unknown autostop condition (supported: duration:SECONDS)"
                )));
            }
        }
    }
    Ok(duration)
}

fn export_format_of(
    path: &std::path::Path,
    given: Option<ExportFormat>,
) -> Result<ExportFormat, CliError> {
    if let Some(f) = given {
        return Ok(f);
    }
    match path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("parquet") | Some("pq") => Ok(ExportFormat::Parquet),
        Some("csv") => Ok(ExportFormat::Csv),
        Some("jsonl") | Some("ndjson") | Some("json") => Ok(ExportFormat::Jsonl),
        _ => Err(CliError::usage(format!(
            "cannot tell the export format of {}: use .parquet, .csv or .jsonl, or --as",
            path.display()
        ))),
    }
}

impl TryFrom<LowArgs> for Config {
    type Error = CliError;

    fn try_from(low: LowArgs) -> Result<Config, CliError> {
        let g = low.global;
        let common = Common {
            color: term::use_color(g.color),
            show_passwords: g.show_passwords,
            mqtt_ports: g.mqtt_ports,
            ws_ports: g.ws_ports,
            tls_ports: g.tls_ports,
            progress: !g.no_progress,
        };
        let format = g.format;
        let run = match low.command {
            lowargs::Command::Read(a) => Run::Read {
                output: packet_output("read", format, a.output)?,
                input: input(a.input)?,
            },
            lowargs::Command::Live(a) => {
                if a.list_interfaces {
                    Run::ListInterfaces {
                        format: format_for("live -D", format, &[Format::Text, Format::Json])?,
                    }
                } else {
                    let interface = a
                        .interface
                        .ok_or_else(|| CliError::usage("live needs -i IFACE (or -D)"))?;
                    Run::Live {
                        interface,
                        bpf: a.bpf,
                        filter: parse_filter(a.filter.as_deref())?,
                        write: a.write,
                        duration: parse_autostop(&a.autostop)?,
                        output: packet_output("live", format, a.output)?,
                    }
                }
            }
            lowargs::Command::Flows(a) => Run::Flows {
                format: format_for(
                    "flows",
                    format,
                    &[Format::Text, Format::Json, Format::Jsonl],
                )?,
                input: input(a.input)?,
            },
            lowargs::Command::Seq(a) => Run::Seq {
                format: format_for("seq", format, &[Format::Text, Format::Mermaid, Format::Svg])?,
                input: input(a.input)?,
                stream: a.stream,
                client: a.client,
                output: a.output,
            },
            lowargs::Command::Check(a) => Run::Check {
                format: format_for(
                    "check",
                    format,
                    &[Format::Text, Format::Json, Format::Junit],
                )?,
                input: input(a.input)?,
                fail_on: a.fail_on,
                rules: a.rules,
            },
            lowargs::Command::Stats(a) => Run::Stats {
                format: format_for("stats", format, &[Format::Text, Format::Json])?,
                input: input(a.input)?,
                by: a.by,
                fanout: a.fanout,
            },
            lowargs::Command::Export(a) => {
                if format.is_some() {
                    return Err(CliError::usage(
                        "export takes its format from -o's extension or --as, not -T",
                    ));
                }
                let text = a.output.to_string_lossy();
                let to_dir = text.ends_with('/')
                    || text.ends_with(std::path::MAIN_SEPARATOR)
                    || a.output.is_dir();
                let format = if to_dir {
                    a.as_format.unwrap_or(ExportFormat::Parquet)
                } else {
                    export_format_of(&a.output, a.as_format)?
                };
                let tables = match a.table {
                    Some(t) => match Table::from_name(&t) {
                        Some(table) => vec![table.name().to_string()],
                        None => {
                            return Err(CliError::usage(format!(
                                "unknown table {:?}; tables: {}",
                                t.to_ascii_lowercase(),
                                Table::ALL.map(Table::name).join(", ")
                            )));
                        }
                    },
                    None if to_dir => Table::ALL.iter().map(|t| t.name().to_string()).collect(),
                    None => vec!["packets".to_string()],
                };
                Run::Export {
                    input: input(a.input)?,
                    output: a.output,
                    tables,
                    format,
                    to_dir,
                }
            }
            lowargs::Command::Completions(a) => Run::Completions(a.shell),
            lowargs::Command::Man => Run::Man,
        };
        Ok(Config { common, run })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn config(args: &[&str]) -> Result<Config, CliError> {
        let low = LowArgs::try_parse_from(std::iter::once("mqscope").chain(args.iter().copied()))
            .map_err(|e| CliError::usage(e.to_string()))?;
        Config::try_from(low)
    }

    #[test]
    fn format_is_one_option_accepted_before_or_after_the_subcommand() {
        for args in [
            &["-T", "json", "stats", "-r", "a.pcap"][..],
            &["stats", "-r", "a.pcap", "--format", "json"][..],
        ] {
            match config(args) {
                Ok(Config {
                    run: Run::Stats { format, .. },
                    ..
                }) => assert_eq!(format, Format::Json),
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn formats_a_subcommand_cannot_write_are_usage_errors() {
        let err = config(&["read", "-r", "a.pcap", "-T", "svg"])
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("`read` cannot write -T svg"), "{err}");
        assert!(config(&["check", "-r", "a.pcap", "-T", "junit"]).is_ok());
        assert!(config(&["seq", "-r", "a.pcap", "-T", "mermaid"]).is_ok());
    }

    #[test]
    fn bad_display_filter_points_at_the_problem() {
        let err = config(&["read", "-r", "a.pcap", "-Y", "mqtt.qos =="])
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.starts_with("invalid display filter"), "{err}");
        assert!(err.contains('^'), "{err}");
    }

    #[test]
    fn several_files_and_merge() {
        match config(&["read", "-r", "a.pcap", "b.pcapng", "--merge"]) {
            Ok(Config {
                run: Run::Read { input, .. },
                ..
            }) => {
                assert_eq!(input.files.len(), 2);
                assert!(input.merge);
            }
            other => panic!("{other:?}"),
        }
        assert!(config(&["read", "-r", "a.pcap", "--merge"]).is_err());
    }

    #[test]
    fn autostop_reads_durations_and_rejects_the_rest() {
        assert_eq!(
            parse_autostop(&["duration:2.5".into()]).ok().flatten(),
            Some(Duration::from_millis(2500))
        );
        assert!(parse_autostop(&["duration:-1".into()]).is_err());
        assert!(parse_autostop(&["filesize:10".into()]).is_err());
    }

    #[test]
    fn export_format_comes_from_the_extension_or_directory() {
        match config(&[
            "export",
            "-r",
            "a.pcap",
            "-o",
            "out.csv",
            "--table",
            "connections",
        ]) {
            Ok(Config {
                run:
                    Run::Export {
                        format,
                        tables,
                        to_dir,
                        ..
                    },
                ..
            }) => {
                assert_eq!(format, ExportFormat::Csv);
                assert_eq!(tables, vec!["connections".to_string()]);
                assert!(!to_dir);
            }
            other => panic!("{other:?}"),
        }
        match config(&["export", "-r", "a.pcap", "-o", "outdir/"]) {
            Ok(Config {
                run:
                    Run::Export {
                        format,
                        tables,
                        to_dir,
                        ..
                    },
                ..
            }) => {
                assert_eq!(format, ExportFormat::Parquet);
                assert_eq!(tables.len(), Table::ALL.len());
                assert!(to_dir);
            }
            other => panic!("{other:?}"),
        }
        assert!(config(&["export", "-r", "a.pcap", "-o", "out.txt"]).is_err());
        assert!(config(&["export", "-r", "a.pcap", "-o", "o.csv", "--table", "nope"]).is_err());
    }
}
