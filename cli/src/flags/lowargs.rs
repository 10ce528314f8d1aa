//! The flags as the user typed them: typed by clap, barely validated. [`super::hiargs`] turns
//! them into the [`super::Config`] the commands run with.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// `mqscope`: MQTT traffic analysis in the spirit of tshark.
#[derive(Debug, Parser)]
#[command(
    name = "mqscope",
    version,
    about = "Decode, check and measure MQTT traffic in captures (pcap, pcapng) or live",
    long_about = "Decode, check and measure MQTT 3.1 / 3.1.1 / 5.0 traffic in saved captures \
                  (pcap, pcapng) or live from an interface: packets, connections, sequence \
                  diagrams, QoS completeness and anomaly checks, header-size statistics, export.",
    after_help = "Exit status: 0 ok, 1 `check` found findings at or above --fail-on, 2 usage or input error.\n\
                  Examples:\n  mqscope read -r broker.pcap\n  mqscope check -r broker.pcap --fail-on warning\n  \
                  mqscope completions bash > /etc/bash_completion.d/mqscope"
)]
pub struct LowArgs {
    /// The subcommand.
    #[command(subcommand)]
    pub command: Command,
    /// Options every subcommand understands.
    #[command(flatten)]
    pub global: GlobalArgs,
}

/// Options shared by every subcommand (clap `global`, so they go before or after the subcommand).
#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Output format: text, json, jsonl (read, live, flows, stats), mermaid or svg (seq),
    /// json or junit (check).
    #[arg(short = 'T', long = "format", global = true, value_enum)]
    pub format: Option<Format>,
    /// When to colour text output.
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
    /// Show CONNECT passwords instead of redacting them.
    #[arg(long, global = true)]
    pub show_passwords: bool,
    /// Also decode MQTT on this TCP port (repeatable; 1883 and 8883 always are).
    #[arg(long = "mqtt-port", value_name = "PORT", global = true)]
    pub mqtt_ports: Vec<u16>,
    /// Also decode MQTT over WebSocket on this TCP port (repeatable; 80, 8080 and 8083 always are).
    #[arg(long = "ws-port", value_name = "PORT", global = true)]
    pub ws_ports: Vec<u16>,
    /// Also treat this TCP port as MQTT over TLS (repeatable; 8883 always is): connection and
    /// TLS metadata only, MQTT is not decrypted.
    #[arg(long = "tls-port", value_name = "PORT", global = true)]
    pub tls_ports: Vec<u16>,
    /// Never show a progress bar.
    #[arg(long, global = true)]
    pub no_progress: bool,
}

/// The `-T` / `--format` values (one option, the same on every subcommand).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Human-readable text (the default).
    Text,
    /// One JSON document.
    Json,
    /// One JSON object per line.
    Jsonl,
    /// Mermaid sequence diagram (`seq`).
    Mermaid,
    /// SVG sequence diagram (`seq`).
    Svg,
    /// JUnit XML (`check`).
    Junit,
}

impl Format {
    /// The name as typed on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Format::Text => "text",
            Format::Json => "json",
            Format::Jsonl => "jsonl",
            Format::Mermaid => "mermaid",
            Format::Svg => "svg",
            Format::Junit => "junit",
        }
    }
}

/// `--color`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    /// Colour when stdout is a terminal and NO_COLOR is not set.
    Auto,
    /// Always colour.
    Always,
    /// Never colour.
    Never,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print one line (or a detail tree) per MQTT packet of saved captures.
    #[command(after_help = READ_EXAMPLES)]
    Read(ReadArgs),
    /// Capture from an interface and decode as packets arrive.
    #[command(after_help = LIVE_EXAMPLES)]
    Live(LiveArgs),
    /// One row per MQTT connection: endpoints, client id, counts, incomplete flows, how it closed.
    #[command(after_help = FLOWS_EXAMPLES)]
    Flows(FlowsArgs),
    /// Sequence diagram of a connection (terminal, Mermaid or SVG).
    #[command(after_help = SEQ_EXAMPLES)]
    Seq(SeqArgs),
    /// QoS completeness and anomaly checks: a CI gate with exit codes.
    #[command(after_help = CHECK_EXAMPLES)]
    Check(CheckArgs),
    /// Header-size, latency, topic and rate statistics.
    #[command(after_help = STATS_EXAMPLES)]
    Stats(StatsArgs),
    /// Write tables (packets, connections, …) to Parquet, CSV or JSON lines.
    #[command(after_help = EXPORT_EXAMPLES)]
    Export(ExportArgs),
    /// Print a shell completion script.
    #[command(
        after_help = "Examples:\n  mqscope completions bash > ~/.local/share/bash-completion/completions/mqscope\n  \
                            mqscope completions zsh > ~/.zfunc/_mqscope"
    )]
    Completions(CompletionsArgs),
    /// Print the man page (roff) on stdout.
    #[command(after_help = "Examples:\n  mqscope man > mqscope.1 && man ./mqscope.1")]
    Man,
}

const READ_EXAMPLES: &str = "Examples:
  mqscope read -r broker.pcap
  mqscope read -r broker.pcap -Y 'mqtt.msgtype == 3 && mqtt.qos > 0'
  mqscope read -r broker.pcap -V --payload hex -c 10
  mqscope read -r a.pcap b.pcapng --merge -T jsonl | jq .topic
  mqscope read -r ws.pcap --ws-port 9001";
const LIVE_EXAMPLES: &str = "Examples:
  mqscope live -D
  sudo mqscope live -i lo -f 'tcp port 1883'
  sudo mqscope live -i eth0 -w out.pcap -a duration:60
  sudo mqscope live -i any -c 100 -T jsonl";
const FLOWS_EXAMPLES: &str = "Examples:
  mqscope flows -r broker.pcap
  mqscope flows -r broker.pcap -Y 'mqtt.clientid contains \"sensor\"' -T json";
const SEQ_EXAMPLES: &str = "Examples:
  mqscope seq -r broker.pcap --stream 0
  mqscope seq -r broker.pcap --client sensor-17 -T mermaid > flow.md
  mqscope seq -r broker.pcap --stream 3 -T svg -o flow.svg";
const CHECK_EXAMPLES: &str = "Examples:
  mqscope check -r broker.pcap
  mqscope check -r broker.pcap --fail-on warning -T junit > mqtt-report.xml
  mqscope check -r broker.pcap --rules ci/mqtt-rules.toml -T json

Exit status: 0 clean, 1 findings at or above --fail-on, 2 usage or input error.
Rules file (TOML, every key optional):
  no_incomplete_flows = true          # QoS 1/2 (and request/response) flows must complete
  forbid_anomalies = [\"MQ-P001\"]      # anomaly codes that are findings at error severity
  max_latency_ms = { percentile = 99, value = 250.0 }
  max_header_overhead = 0.5           # MQTT header bytes / all MQTT bytes
  require_client_ids = [\"sensor-17\"]
  require_topics = [\"home/+/temp\"]    # topic filters; each must match a PUBLISH topic";
const STATS_EXAMPLES: &str = "Examples:
  mqscope stats -r broker.pcap
  mqscope stats -r broker.pcap --by topic
  mqscope stats -r broker.pcap --by connection -T json";
const EXPORT_EXAMPLES: &str = "Examples:
  mqscope export -r broker.pcap -o packets.parquet
  mqscope export -r broker.pcap -o conns.csv --table connections
  mqscope export -r broker.pcap -o out/          # every table, Parquet
  mqscope export -r broker.pcap -o out/ --as csv";

/// Where packets come from, for the commands that read saved captures.
#[derive(Debug, Args)]
pub struct InputArgs {
    /// Capture files to read (pcap or pcapng, optionally gzipped); several are read one after
    /// another unless --merge is given.
    #[arg(short = 'r', long = "read-file", value_name = "FILE", num_args = 1.., required = true)]
    pub files: Vec<PathBuf>,
    /// Read several files as one capture, frames merged in time order.
    #[arg(long)]
    pub merge: bool,
    /// Display filter (Wireshark field names: mqtt.msgtype, mqtt.topic, tcp.stream, …).
    #[arg(
        short = 'Y',
        long = "display-filter",
        visible_alias = "filter",
        value_name = "FILTER"
    )]
    pub filter: Option<String>,
}

/// How payloads are shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PayloadMode {
    /// UTF-8 text (control characters escaped), or hex when not text.
    Text,
    /// Hex dump.
    Hex,
    /// Pretty JSON when the payload parses as JSON, else text.
    Json,
    /// Not shown.
    None,
}

/// Output options of the packet printers (`read`, `live`).
#[derive(Debug, Args)]
pub struct PacketOutputArgs {
    /// Print the full detail tree of each packet (every field, property and reason code).
    #[arg(short = 'V', long = "verbose")]
    pub verbose: bool,
    /// How to show PUBLISH payloads (and will messages).
    #[arg(long, value_enum)]
    pub payload: Option<PayloadMode>,
    /// Stop after this many printed packets.
    #[arg(short = 'c', long = "count", value_name = "N")]
    pub count: Option<u64>,
}

/// `mqscope read`.
#[derive(Debug, Args)]
pub struct ReadArgs {
    /// Input files and filter.
    #[command(flatten)]
    pub input: InputArgs,
    /// Output options.
    #[command(flatten)]
    pub output: PacketOutputArgs,
}

/// `mqscope live`.
#[derive(Debug, Args)]
pub struct LiveArgs {
    /// Interface to capture on.
    #[arg(
        short = 'i',
        long = "interface",
        value_name = "IFACE",
        required_unless_present = "list_interfaces"
    )]
    pub interface: Option<String>,
    /// List the interfaces and exit.
    #[arg(short = 'D', long = "list-interfaces")]
    pub list_interfaces: bool,
    /// Capture filter (BPF syntax); default: the MQTT and WebSocket ports.
    #[arg(short = 'f', value_name = "BPF")]
    pub bpf: Option<String>,
    /// Display filter.
    #[arg(
        short = 'Y',
        long = "display-filter",
        visible_alias = "filter",
        value_name = "FILTER"
    )]
    pub filter: Option<String>,
    /// Also write the raw frames to this pcap file (flushed on exit, Ctrl-C included).
    #[arg(short = 'w', value_name = "OUT.pcap")]
    pub write: Option<PathBuf>,
    /// Autostop condition: `duration:SECONDS`.
    #[arg(short = 'a', long = "autostop", value_name = "duration:S")]
    pub autostop: Vec<String>,
    /// Output options.
    #[command(flatten)]
    pub output: PacketOutputArgs,
}

/// `mqscope flows`.
#[derive(Debug, Args)]
pub struct FlowsArgs {
    /// Input files and filter (the filter keeps connections with a matching packet).
    #[command(flatten)]
    pub input: InputArgs,
}

/// `mqscope seq`.
#[derive(Debug, Args)]
pub struct SeqArgs {
    /// Input files and filter (the filter selects the packets drawn).
    #[command(flatten)]
    pub input: InputArgs,
    /// The connection to draw (its tcp.stream number).
    #[arg(long, value_name = "N", conflicts_with = "client")]
    pub stream: Option<u32>,
    /// Draw the connections of this client id.
    #[arg(long, value_name = "ID")]
    pub client: Option<String>,
    /// Write the diagram to this file instead of stdout.
    #[arg(short = 'o', long = "output-file", value_name = "FILE")]
    pub output: Option<PathBuf>,
}

/// `--fail-on` severities.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, ValueEnum)]
pub enum FailOn {
    /// Notes, warnings and errors are failures.
    Note,
    /// Warnings and errors are failures.
    Warning,
    /// Only errors are failures (the default).
    Error,
    /// Nothing fails (report only).
    Never,
}

/// `mqscope check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Input files and filter.
    #[command(flatten)]
    pub input: InputArgs,
    /// Lowest severity that makes the exit status 1.
    #[arg(long, value_enum, default_value_t = FailOn::Error)]
    pub fail_on: FailOn,
    /// Rules the capture must satisfy (TOML; see below).
    #[arg(long, value_name = "RULES.toml")]
    pub rules: Option<PathBuf>,
}

/// `stats --by` groupings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StatsBy {
    /// Per packet type.
    Type,
    /// Per protocol version.
    Version,
    /// Per connection.
    Connection,
    /// Per topic.
    Topic,
}

/// `mqscope stats`.
#[derive(Debug, Args)]
pub struct StatsArgs {
    /// Input files and filter.
    #[command(flatten)]
    pub input: InputArgs,
    /// Group the header-size table by this key.
    #[arg(long, value_enum, default_value_t = StatsBy::Type)]
    pub by: StatsBy,
    /// Also match each PUBLISH into the broker with the copies it delivered (fan-out count
    /// and broker latency). Keeps every message of a delivery window: about half again the
    /// time on a busy capture.
    #[arg(long)]
    pub fanout: bool,
}

/// File formats of `export`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExportFormat {
    /// Apache Parquet.
    Parquet,
    /// Comma-separated values with a header row.
    Csv,
    /// One JSON object per line.
    Jsonl,
}

/// `mqscope export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Input files and filter (the filter selects rows of the packets table).
    #[command(flatten)]
    pub input: InputArgs,
    /// Output file (format from the extension), or a directory ending in `/` for every table.
    #[arg(
        short = 'o',
        long = "output-file",
        value_name = "FILE|DIR/",
        required = true
    )]
    pub output: PathBuf,
    /// Table to write to a file (default: packets).
    #[arg(long, value_name = "TABLE")]
    pub table: Option<String>,
    /// File format when it cannot be taken from the extension (directories: default parquet).
    #[arg(long = "as", value_enum, value_name = "FORMAT")]
    pub as_format: Option<ExportFormat>,
}

/// `mqscope completions`.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}
