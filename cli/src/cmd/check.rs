//! `mqscope check`: QoS completeness and anomaly checks as a CI gate. Exit 0 when clean, 1 when
//! a finding is at or above `--fail-on`, 2 on usage or input errors.

use std::fmt::Write as _;
use std::io::{self, Write};
use std::path::Path;

use dissector::analyze::{AnalyzerConfig, IncompleteFlow, qos_report};
use dissector::model::{Severity, TxKind};
use serde::Serialize;

use crate::cmd::rules::{RuleResult, Rules, evaluate};
use crate::error::{CliError, EXIT_ERROR, EXIT_FINDINGS, stdout_err};
use crate::flags::hiargs::{Common, Input};
use crate::flags::lowargs::{FailOn, Format};
use crate::input::{self, Analysed};
use crate::term::{Painter, Style};

/// The finding code of frames skipped for their link type (a capture-level finding, not one of
/// the analyzer's anomaly codes).
pub const LINKTYPE_UNSUPPORTED: &str = "LINKTYPE-UNSUPPORTED";

/// One capture in the report.
#[derive(Debug, Serialize)]
pub struct CaptureJson {
    /// Path (or merged paths).
    pub file: String,
    /// Frames read.
    pub frames: u64,
    /// MQTT packets.
    pub packets: u64,
    /// MQTT connections.
    pub connections: usize,
    /// The input error that cut it short, if any.
    pub error: Option<String>,
}

/// An incomplete flow with the severity it counts as.
#[derive(Debug, Serialize)]
pub struct FlowFinding {
    /// The capture.
    pub capture: String,
    /// Severity: "error" for QoS 1/2 flows (unless the rules say otherwise), else "warning".
    pub severity: Severity,
    /// The flow (shared/ARCHITECTURE.md fields).
    #[serde(flatten)]
    pub flow: IncompleteFlow,
}

/// One anomaly in the report.
#[derive(Debug, Serialize)]
pub struct AnomalyJson {
    /// The capture.
    pub capture: String,
    /// Stable code.
    pub code: &'static str,
    /// Severity it counts as (raised to error when the rules forbid the code).
    pub severity: Severity,
    /// `tcp.stream`.
    pub stream: Option<u32>,
    /// Frame (0 for a finding about the whole capture).
    pub frame: u64,
    /// Message.
    pub message: String,
}

/// A rule result with its capture.
#[derive(Debug, Serialize)]
pub struct RuleJson {
    /// The capture.
    pub capture: String,
    /// The result.
    #[serde(flatten)]
    pub result: RuleResult,
}

/// Totals and the verdict.
#[derive(Debug, Serialize)]
pub struct Summary {
    /// Error findings.
    pub errors: usize,
    /// Warning findings.
    pub warnings: usize,
    /// Note findings.
    pub notes: usize,
    /// Incomplete flows.
    pub incomplete_flows: usize,
    /// Rules not satisfied.
    pub rules_failed: usize,
    /// The threshold.
    pub fail_on: &'static str,
    /// True when the exit status is 1.
    pub failed: bool,
    /// The exit status.
    pub exit_code: u8,
}

/// The check report (`-T json`).
#[derive(Debug, Serialize)]
pub struct Report {
    /// The captures checked.
    pub captures: Vec<CaptureJson>,
    /// Every flow that did not complete.
    pub incomplete_flows: Vec<FlowFinding>,
    /// Every anomaly (except those the rules allow).
    pub anomalies: Vec<AnomalyJson>,
    /// Rule results.
    pub rules: Vec<RuleJson>,
    /// Totals and verdict.
    pub summary: Summary,
}

fn fail_on_name(f: FailOn) -> &'static str {
    match f {
        FailOn::Note => "note",
        FailOn::Warning => "warning",
        FailOn::Error => "error",
        FailOn::Never => "never",
    }
}

fn at_or_above(s: Severity, f: FailOn) -> bool {
    match f {
        FailOn::Note => true,
        FailOn::Warning => s >= Severity::Warning,
        FailOn::Error => s >= Severity::Error,
        FailOn::Never => false,
    }
}

/// Builds the report of analysed captures.
pub fn report(analysed: &[Analysed], rules: &Rules, fail_on: FailOn) -> Report {
    let mut captures = Vec::new();
    let mut flows = Vec::new();
    let mut anomalies = Vec::new();
    let mut rule_results = Vec::new();
    for a in analysed {
        let trace = &a.trace;
        let skipped = input::unsupported_linktypes(&a.summary);
        // A capture none of whose frames could be decoded cannot pass a check: it is an input
        // error (exit 2), as a file that is not a capture is. Some frames skipped among
        // decoded ones is a warning finding.
        let undecodable = skipped
            .as_ref()
            .filter(|_| input::nothing_decodable(&a.summary))
            .map(|what| format!("{}: nothing could be decoded: {what}", a.label));
        captures.push(CaptureJson {
            file: a.label.clone(),
            frames: a.summary.frames,
            packets: trace.totals.packets,
            connections: trace.connections.len(),
            error: a
                .error
                .as_ref()
                .map(|e| e.to_string())
                .or(undecodable.clone()),
        });
        if let (Some(what), None) = (skipped, &undecodable) {
            anomalies.push(AnomalyJson {
                capture: a.label.clone(),
                code: LINKTYPE_UNSUPPORTED,
                severity: Severity::Warning,
                stream: None,
                frame: 0,
                message: what,
            });
        }
        for flow in qos_report(trace).incomplete {
            let qos_flow = flow.kind == TxKind::Qos1.as_str() || flow.kind == TxKind::Qos2.as_str();
            let severity = match (qos_flow, rules.no_incomplete_flows) {
                (true, true) => Severity::Error,
                (true, false) => Severity::Note,
                (false, _) => Severity::Warning,
            };
            flows.push(FlowFinding {
                capture: a.label.clone(),
                severity,
                flow,
            });
        }
        for an in &trace.anomalies {
            if rules.allows(an.code) {
                continue;
            }
            let severity = if rules.forbids(an.code) {
                Severity::Error
            } else {
                an.severity
            };
            anomalies.push(AnomalyJson {
                capture: a.label.clone(),
                code: an.code.code(),
                severity,
                stream: an
                    .conn
                    .and_then(|c| trace.connection(c as usize))
                    .map(|c| c.stream),
                frame: an.frame,
                message: an.message.clone(),
            });
        }
        for result in evaluate(rules, trace) {
            rule_results.push(RuleJson {
                capture: a.label.clone(),
                result,
            });
        }
    }
    let severities = flows
        .iter()
        .map(|f| f.severity)
        .chain(anomalies.iter().map(|a| a.severity))
        .chain(
            rule_results
                .iter()
                .filter(|r| !r.result.passed)
                .map(|_| Severity::Error),
        );
    let (mut errors, mut warnings, mut notes, mut failing) = (0, 0, 0, false);
    for s in severities {
        match s {
            Severity::Error => errors += 1,
            Severity::Warning => warnings += 1,
            Severity::Note => notes += 1,
        }
        failing |= at_or_above(s, fail_on);
    }
    let input_error = captures.iter().any(|c| c.error.is_some());
    let exit_code = if input_error {
        EXIT_ERROR
    } else if failing {
        EXIT_FINDINGS
    } else {
        0
    };
    Report {
        captures,
        summary: Summary {
            errors,
            warnings,
            notes,
            incomplete_flows: flows.len(),
            rules_failed: rule_results.iter().filter(|r| !r.result.passed).count(),
            fail_on: fail_on_name(fail_on),
            failed: failing,
            exit_code,
        },
        incomplete_flows: flows,
        anomalies,
        rules: rule_results,
    }
}

/// Runs `check`.
pub fn run(
    common: &Common,
    input: &Input,
    format: Format,
    fail_on: FailOn,
    rules: Option<&Path>,
) -> Result<u8, CliError> {
    let rules = match rules {
        Some(path) => Rules::load(path)?,
        None => Rules::default(),
    };
    // The report needs connections, anomalies and unfinished transactions: packet records are
    // kept only for the header-overhead and topic rules and completed transactions only for
    // the latency rule; fan-out matches are never shown.
    let config = AnalyzerConfig {
        show_passwords: common.show_passwords,
        retain_packets: rules.max_header_overhead.is_some() || !rules.require_topics.is_empty(),
        retain_transactions: rules.max_latency_ms.is_some(),
        track_deliveries: false,
        ..AnalyzerConfig::default()
    };
    let analysed = input::analyse_all(input, common, &config);
    let report = report(&analysed, &rules, fail_on);
    let painter = Painter {
        color: common.color && format == Format::Text,
    };
    let text = match format {
        Format::Json => {
            serde_json::to_string_pretty(&report).map_err(|e| stdout_err(e.into()))? + "\n"
        }
        Format::Junit => junit(&report, fail_on),
        _ => text(&report, painter),
    };
    let mut out = io::stdout().lock();
    out.write_all(text.as_bytes()).map_err(stdout_err)?;
    out.flush().map_err(stdout_err)?;
    for a in &analysed {
        if let Some(e) = &a.error {
            eprintln!("mqscope: {e}");
        }
    }
    Ok(report.summary.exit_code)
}

fn severity_style(s: Severity) -> (Style, &'static str) {
    match s {
        Severity::Error => (Style::Red, "error  "),
        Severity::Warning => (Style::Yellow, "warning"),
        Severity::Note => (Style::Blue, "note   "),
    }
}

/// The human report: findings grouped by capture, then a one-line verdict.
pub fn text(report: &Report, p: Painter) -> String {
    let mut s = String::new();
    for c in &report.captures {
        let _ = writeln!(
            s,
            "{} ({} frames, {} MQTT packets, {} connections)",
            p.paint(Style::Bold, &c.file),
            c.frames,
            c.packets,
            c.connections
        );
        if let Some(e) = &c.error {
            let _ = writeln!(s, "  {} {e}", p.paint(Style::Red, "input error:"));
        }
        for f in report
            .incomplete_flows
            .iter()
            .filter(|f| f.capture == c.file)
        {
            let (style, name) = severity_style(f.severity);
            let topic = f
                .flow
                .topic
                .as_deref()
                .map(|t| format!(" \"{}\"", crate::term::escape(t)))
                .unwrap_or_default();
            let _ = writeln!(
                s,
                "  {} incomplete {:<11} stream {} client \"{}\"{topic}: {} (frames {})",
                p.paint(style, name),
                f.flow.kind,
                f.flow.stream,
                crate::term::escape(&f.flow.client_id),
                f.flow.description,
                f.flow
                    .frames
                    .iter()
                    .map(u64::to_string)
                    .collect::<Vec<_>>()
                    .join(",")
            );
        }
        for a in report.anomalies.iter().filter(|a| a.capture == c.file) {
            let (style, name) = severity_style(a.severity);
            let stream = a.stream.map_or("-".to_string(), |s| s.to_string());
            let place = if a.code == LINKTYPE_UNSUPPORTED {
                "capture".to_string()
            } else {
                format!("stream {stream} frame {}", a.frame)
            };
            let _ = writeln!(
                s,
                "  {} {:<22} {place}: {}",
                p.paint(style, name),
                a.code,
                crate::term::escape(&a.message)
            );
        }
        for r in report.rules.iter().filter(|r| r.capture == c.file) {
            let verdict = if r.result.passed {
                p.paint(Style::Green, "pass   ")
            } else {
                p.paint(Style::Red, "error  ")
            };
            let _ = writeln!(
                s,
                "  {verdict} rule {}: {}",
                r.result.rule, r.result.message
            );
        }
    }
    let sm = &report.summary;
    let verdict = if sm.exit_code == EXIT_ERROR {
        p.paint(Style::Red, "INPUT ERROR").into_owned()
    } else if sm.failed {
        p.paint(Style::Red, "FAIL").into_owned()
    } else if sm.fail_on == "never" {
        // Report only: "PASS" would be misleading next to a list of errors.
        p.paint(Style::Bold, "REPORT").into_owned()
    } else {
        p.paint(Style::Green, "PASS").into_owned()
    };
    let _ = writeln!(
        s,
        "{verdict}: {} errors, {} warnings, {} notes ({} incomplete flows, {} rules failed; --fail-on {})",
        sm.errors, sm.warnings, sm.notes, sm.incomplete_flows, sm.rules_failed, sm.fail_on
    );
    s
}

fn xml(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if c.is_control() => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

/// JUnit XML: one test suite per capture; each finding at or above `--fail-on` is a failing
/// test case, and each check family that found nothing is one passing test case, so CI systems
/// show both what broke and what was checked.
pub fn junit(report: &Report, fail_on: FailOn) -> String {
    let mut suites = String::new();
    let (mut all_tests, mut all_failures) = (0usize, 0usize);
    for c in &report.captures {
        let mut cases = String::new();
        let (mut tests, mut failures) = (0usize, 0usize);
        let mut case = |name: &str, failure: Option<(&str, String)>| {
            tests += 1;
            let _ = write!(
                cases,
                "    <testcase classname=\"{}\" name=\"{}\"",
                xml(&c.file),
                xml(name)
            );
            match failure {
                Some((kind, message)) => {
                    failures += 1;
                    let _ = write!(
                        cases,
                        ">\n      <failure type=\"{}\" message=\"{}\">{}</failure>\n    </testcase>\n",
                        xml(kind),
                        xml(&message),
                        xml(&message)
                    );
                }
                None => cases.push_str("/>\n"),
            }
        };
        if let Some(e) = &c.error {
            case("input", Some(("input-error", e.clone())));
        }
        let flows: Vec<_> = report
            .incomplete_flows
            .iter()
            .filter(|f| f.capture == c.file && at_or_above(f.severity, fail_on))
            .collect();
        if flows.is_empty() {
            case("qos completeness", None);
        }
        for f in flows {
            case(
                &format!(
                    "incomplete {} stream {} id {}",
                    f.flow.kind,
                    f.flow.stream,
                    f.flow.packet_id.map_or("-".into(), |i| i.to_string())
                ),
                Some((
                    &format!("incomplete-{}", f.flow.kind),
                    f.flow.description.clone(),
                )),
            );
        }
        let anomalies: Vec<_> = report
            .anomalies
            .iter()
            .filter(|a| a.capture == c.file && at_or_above(a.severity, fail_on))
            .collect();
        if anomalies.is_empty() {
            case("anomalies", None);
        }
        for a in anomalies {
            let name = if a.code == LINKTYPE_UNSUPPORTED {
                a.code.to_string()
            } else {
                format!(
                    "{} stream {} frame {}",
                    a.code,
                    a.stream.map_or("-".into(), |s| s.to_string()),
                    a.frame
                )
            };
            case(
                &name,
                Some((a.code, format!("{} ({})", a.message, a.severity.as_str()))),
            );
        }
        for r in report.rules.iter().filter(|r| r.capture == c.file) {
            let failure = (!r.result.passed && fail_on != FailOn::Never)
                .then(|| ("rule", r.result.message.clone()));
            case(&format!("rule {}", r.result.rule), failure);
        }
        all_tests += tests;
        all_failures += failures;
        let _ = write!(
            suites,
            "  <testsuite name=\"mqscope check {}\" tests=\"{tests}\" failures=\"{failures}\" errors=\"0\">\n{cases}  </testsuite>\n",
            xml(&c.file)
        );
    }
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"mqscope check\" tests=\"{all_tests}\" failures=\"{all_failures}\">\n{suites}</testsuites>\n"
    )
}
