//! `check --rules RULES.toml`: what a capture must satisfy beyond the built-in checks.
//!
//! ```toml
//! no_incomplete_flows = true                 # default true: unfinished QoS 1/2 flows are errors
//! forbid_anomalies = ["MQ-QOS3"]            # these codes are errors whatever their severity
//! allow_anomalies = ["MQ-NO-DISCONNECT"]    # these codes are never findings
//! max_latency_ms = { percentile = 99.0, value = 250.0 }
//! max_header_overhead = 0.5                  # header bytes / all MQTT bytes
//! require_client_ids = ["sensor-17"]
//! require_topics = ["home/+/temp"]           # filters; each must match a PUBLISH topic
//! ```

use std::path::Path;

use dissector::model::{AnomalyCode, Trace, TxKind, TxState, topic_matches};
use dissector::stats::nearest_rank;
use serde::Deserialize;

use crate::error::CliError;

/// A latency bound: the `percentile`-th percentile of QoS 1/2 flow latencies at most `value` ms.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct LatencyRule {
    /// Percentile, 0..=100.
    pub percentile: f64,
    /// Milliseconds.
    pub value: f64,
}

/// The rules file.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Rules {
    /// Unfinished QoS 1/2 flows are errors (true) or notes (false).
    #[serde(default = "yes")]
    pub no_incomplete_flows: bool,
    /// Anomaly codes that are errors whatever their own severity.
    #[serde(default)]
    pub forbid_anomalies: Vec<String>,
    /// Anomaly codes that are never findings.
    #[serde(default)]
    pub allow_anomalies: Vec<String>,
    /// Latency bound.
    #[serde(default)]
    pub max_latency_ms: Option<LatencyRule>,
    /// Largest share of header bytes (fixed + variable + properties) in all MQTT bytes.
    #[serde(default)]
    pub max_header_overhead: Option<f64>,
    /// Client ids that must appear.
    #[serde(default)]
    pub require_client_ids: Vec<String>,
    /// Topic filters that must each match at least one PUBLISH topic.
    #[serde(default)]
    pub require_topics: Vec<String>,
}

fn yes() -> bool {
    true
}

impl Default for Rules {
    fn default() -> Rules {
        Rules {
            no_incomplete_flows: true,
            forbid_anomalies: Vec::new(),
            allow_anomalies: Vec::new(),
            max_latency_ms: None,
            max_header_overhead: None,
            require_client_ids: Vec::new(),
            require_topics: Vec::new(),
        }
    }
}

impl Rules {
    /// Reads and validates a rules file.
    pub fn load(path: &Path) -> Result<Rules, CliError> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                CliError::input(path, "no such file")
            } else {
                CliError::input(path, format!("cannot read: {e}"))
            }
        })?;
        Rules::parse(&text).map_err(|m| CliError::input(path, m))
    }

    /// Parses rules from TOML text; unknown keys and unknown anomaly codes are errors.
    pub fn parse(text: &str) -> Result<Rules, String> {
        let rules: Rules =
            toml::from_str(text).map_err(|e| format!("invalid rules: {}", e.message()))?;
        for code in rules.forbid_anomalies.iter().chain(&rules.allow_anomalies) {
            if AnomalyCode::from_code(code).is_none() {
                return Err(format!(
                    "invalid rules: unknown anomaly code {code:?} (see docs/anomalies.md)"
                ));
            }
        }
        if let Some(l) = &rules.max_latency_ms
            && (!(0.0..=100.0).contains(&l.percentile) || !l.value.is_finite() || l.value < 0.0)
        {
            return Err(
                "invalid rules: max_latency_ms needs 0 ≤ percentile ≤ 100 and a value ≥ 0".into(),
            );
        }
        if let Some(o) = rules.max_header_overhead
            && !(0.0..=1.0).contains(&o)
        {
            return Err("invalid rules: max_header_overhead is a share between 0 and 1".into());
        }
        Ok(rules)
    }

    /// True when the code is forbidden.
    pub fn forbids(&self, code: AnomalyCode) -> bool {
        self.forbid_anomalies
            .iter()
            .any(|c| c.eq_ignore_ascii_case(code.code()))
    }

    /// True when the code is allowed (never a finding).
    pub fn allows(&self, code: AnomalyCode) -> bool {
        self.allow_anomalies
            .iter()
            .any(|c| c.eq_ignore_ascii_case(code.code()))
    }
}

/// The outcome of one measured rule.
#[derive(Debug, Clone, serde::Serialize, PartialEq)]
pub struct RuleResult {
    /// Rule name as in the file.
    pub rule: String,
    /// True when satisfied.
    pub passed: bool,
    /// What was measured.
    pub message: String,
}

/// Evaluates the measured rules (latency, overhead, required ids and topics) on a trace.
pub fn evaluate(rules: &Rules, trace: &Trace) -> Vec<RuleResult> {
    let mut results = Vec::new();
    if let Some(l) = &rules.max_latency_ms {
        let mut lat: Vec<f64> = trace
            .transactions
            .iter()
            .filter(|t| {
                matches!(t.kind, TxKind::Qos1 | TxKind::Qos2) && t.state == TxState::Complete
            })
            .filter_map(|t| t.latency_nanos)
            .map(|n| n as f64 / 1e6)
            .collect();
        lat.sort_by(f64::total_cmp);
        let rule = format!("max_latency_ms p{} <= {}", l.percentile, l.value);
        results.push(match nearest_rank(&lat, l.percentile) {
            Some(v) => RuleResult {
                rule,
                passed: v <= l.value,
                message: format!(
                    "p{} of {} QoS 1/2 flow latencies is {v:.3} ms",
                    l.percentile,
                    lat.len()
                ),
            },
            None => RuleResult {
                rule,
                passed: true,
                message: "no complete QoS 1/2 flow to measure".into(),
            },
        });
    }
    if let Some(max) = rules.max_header_overhead {
        let (total, payload) = trace.packets.iter().fold((0u64, 0u64), |(t, p), r| {
            (t + r.packet_len(), p + u64::from(r.payload_len))
        });
        let share = if total == 0 {
            0.0
        } else {
            (total - payload.min(total)) as f64 / total as f64
        };
        results.push(RuleResult {
            rule: format!("max_header_overhead <= {max}"),
            passed: share <= max,
            message: format!(
                "header bytes are {:.1} % of {total} MQTT bytes",
                share * 100.0
            ),
        });
    }
    for id in &rules.require_client_ids {
        let seen = (0..trace.connections.len()).any(|i| trace.client_id_of(i) == id);
        results.push(RuleResult {
            rule: format!("require_client_ids {id:?}"),
            passed: seen,
            message: if seen {
                "client id present".into()
            } else {
                "no connection with this client id".into()
            },
        });
    }
    for filter in &rules.require_topics {
        let seen = trace
            .packets
            .iter()
            .filter(|p| p.packet_type == dissector::codec::PacketType::Publish)
            .filter_map(|p| trace.opt_str(p.topic))
            .any(|t| topic_matches(filter, t));
        results.push(RuleResult {
            rule: format!("require_topics {filter:?}"),
            passed: seen,
            message: if seen {
                "a PUBLISH topic matches".into()
            } else {
                "no PUBLISH topic matches".into()
            },
        });
    }
    results
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_parse_with_defaults_and_reject_unknown_keys_and_codes() {
        let r = Rules::parse("").unwrap_or_default();
        assert!(r.no_incomplete_flows);
        let r = Rules::parse(
            "no_incomplete_flows = false\nforbid_anomalies = [\"MQ-QOS3\"]\nmax_latency_ms = { percentile = 99, value = 250 }\n",
        );
        let r = r.unwrap_or_default();
        assert!(!r.no_incomplete_flows);
        assert!(r.forbids(AnomalyCode::Qos3));
        assert_eq!(
            r.max_latency_ms,
            Some(LatencyRule {
                percentile: 99.0,
                value: 250.0
            })
        );
        assert!(Rules::parse("max_latncy_ms = 3").is_err());
        assert!(
            Rules::parse("forbid_anomalies = [\"MQ-NOPE\"]")
                .unwrap_err()
                .contains("MQ-NOPE")
        );
        assert!(Rules::parse("max_header_overhead = 2.0").is_err());
    }
}
