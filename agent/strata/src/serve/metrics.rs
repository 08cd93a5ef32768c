//! The agent's Prometheus metrics (`strata_agent_*`): counters and a duration histogram
//! fed by each pass, gauges derived from the published `/status`.

use std::sync::atomic::AtomicU64;
use std::sync::{PoisonError, RwLock};

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::{Registry, Unit};

use crate::status::{Outcome, Pass, Status, WorkloadState};

/// The `Content-Type` of [`Metrics::encode`]'s output.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

const OUTCOMES: [Outcome; 4] = [
    Outcome::Ready,
    Outcome::Stalled,
    Outcome::Waiting,
    Outcome::Transient,
];

/// Reconcile passes take from well under a second (nothing changed) to minutes
/// (waiting on a rollout).
const DURATION_BUCKETS: [f64; 12] = [
    0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0,
];

fn duration_histogram() -> Histogram {
    Histogram::new(DURATION_BUCKETS)
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabel {
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RevisionLabels {
    kind: &'static str,
    revision: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct WorkloadLabel {
    state: &'static str,
}

#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    /// Updates take it for writing and scrapes for reading, so a scrape never sees half
    /// an update (e.g. `revision_info` cleared but not yet set again).
    consistency: RwLock<()>,
    reconcile_duration: Family<OutcomeLabel, Histogram>,
    reconcile: Family<OutcomeLabel, Counter>,
    objects_applied: Counter,
    objects_pruned: Counter,
    objects_failed: Counter,
    drift_objects: Counter,
    revision_info: Family<RevisionLabels, Gauge>,
    last_success_timestamp: Gauge<f64, AtomicU64>,
    is_leader: Gauge,
    workloads: Family<WorkloadLabel, Gauge>,
    inventory_objects: Gauge,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut metrics = Metrics {
            registry: Registry::with_prefix("strata_agent"),
            consistency: RwLock::new(()),
            reconcile_duration: Family::new_with_constructor(duration_histogram),
            reconcile: Family::default(),
            objects_applied: Counter::default(),
            objects_pruned: Counter::default(),
            objects_failed: Counter::default(),
            drift_objects: Counter::default(),
            revision_info: Family::default(),
            last_success_timestamp: Gauge::default(),
            is_leader: Gauge::default(),
            workloads: Family::default(),
            inventory_objects: Gauge::default(),
        };
        // Every outcome and state from the start, so rates and sums have a zero to begin
        // from rather than a series that appears with its first event.
        for outcome in OUTCOMES {
            let label = OutcomeLabel {
                outcome: outcome.as_str(),
            };
            let _ = metrics.reconcile_duration.get_or_create(&label);
            let _ = metrics.reconcile.get_or_create(&label);
        }
        for state in WorkloadState::ALL {
            let _ = metrics.workloads.get_or_create(&WorkloadLabel {
                state: state.as_str(),
            });
        }
        metrics.register();
        metrics
    }

    fn register(&mut self) {
        let registry = &mut self.registry;
        // Counters are registered without `_total`: the encoder appends it.
        registry.register_with_unit(
            "reconcile_duration",
            "How long reconcile passes took, by outcome",
            Unit::Seconds,
            self.reconcile_duration.clone(),
        );
        registry.register(
            "reconcile",
            "Reconcile passes, by outcome",
            self.reconcile.clone(),
        );
        registry.register(
            "objects_applied",
            "Objects applied (created or changed)",
            self.objects_applied.clone(),
        );
        registry.register(
            "objects_pruned",
            "Objects deleted because they left the config repo",
            self.objects_pruned.clone(),
        );
        registry.register(
            "objects_failed",
            "Objects that failed to apply or prune",
            self.objects_failed.clone(),
        );
        registry.register(
            "drift_objects",
            "Objects changed out of band and restored",
            self.drift_objects.clone(),
        );
        registry.register(
            "revision_info",
            "The revision last fetched and last applied in full (value 1)",
            self.revision_info.clone(),
        );
        registry.register_with_unit(
            "last_success_timestamp",
            "When a pass last ended without error, in Unix seconds (0: not yet)",
            Unit::Seconds,
            self.last_success_timestamp.clone(),
        );
        registry.register(
            "is_leader",
            "1 when this replica holds the lease and applies",
            self.is_leader.clone(),
        );
        registry.register(
            "workloads",
            "Workloads by health state",
            self.workloads.clone(),
        );
        registry.register(
            "inventory_objects",
            "Objects the agent applied and keeps track of",
            self.inventory_objects.clone(),
        );
    }

    /// Counts one finished pass.
    pub fn record_pass(&self, pass: &Pass) {
        let _update = self
            .consistency
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        let label = OutcomeLabel {
            outcome: pass.outcome.as_str(),
        };
        self.reconcile_duration
            .get_or_create(&label)
            .observe(pass.duration_ms as f64 / 1000.0);
        self.reconcile.get_or_create(&label).inc();
        self.objects_applied.inc_by(pass.objects.applied as u64);
        self.objects_pruned.inc_by(pass.objects.pruned as u64);
        self.objects_failed.inc_by(pass.objects.failed as u64);
    }

    /// Sets the gauges from a newly published status.
    pub fn observe_status(&self, status: &Status) {
        let _update = self
            .consistency
            .write()
            .unwrap_or_else(PoisonError::into_inner);

        // Only the current revisions: an info metric with stale label values would read
        // as the agent being at several revisions at once.
        self.revision_info.clear();
        for (kind, stamp) in [
            ("fetched", &status.last_fetched),
            ("applied", &status.last_applied),
        ] {
            if let Some(stamp) = stamp {
                self.revision_info
                    .get_or_create(&RevisionLabels {
                        kind,
                        revision: stamp.revision.clone(),
                    })
                    .set(1);
            }
        }

        let last_success = status
            .last_success
            .map_or(0.0, |at| at.as_millisecond() as f64 / 1000.0);
        self.last_success_timestamp.set(last_success);
        self.is_leader.set(i64::from(status.leader.is_leader));
        for state in WorkloadState::ALL {
            let count = status
                .workloads
                .iter()
                .filter(|w| w.state() == state)
                .count();
            self.workloads
                .get_or_create(&WorkloadLabel {
                    state: state.as_str(),
                })
                .set(count as i64);
        }
        self.inventory_objects.set(status.inventory as i64);

        // `drift.total` counts since the agent started, so the counter follows it; a
        // status published twice for one pass does not count its drift twice.
        let seen = self.drift_objects.get();
        if status.drift.total > seen {
            self.drift_objects.inc_by(status.drift.total - seen);
        }
    }

    /// The OpenMetrics text exposition, `# EOF` included.
    pub fn encode(&self) -> String {
        let _scrape = self
            .consistency
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &self.registry)
            .expect("writing to a String cannot fail");
        text
    }
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};
    use std::time::Duration;

    use axum::http::StatusCode;
    use jiff::Timestamp;

    use super::*;
    use crate::serve::AgentState;
    use crate::serve::testing::{Server, sample_status};
    use crate::status::{ObjectCounts, Pass};

    /// One sample line: `name{labels} value`.
    #[derive(Debug)]
    struct Sample {
        name: String,
        labels: BTreeMap<String, String>,
        value: f64,
    }

    /// A strict reading of the OpenMetrics text format, enough for what the agent
    /// exposes: every sample belongs to a family declared by `# TYPE` before it, values
    /// are floats, histogram buckets are cumulative and end with `+Inf`, `# EOF` is last.
    fn parse(text: &str) -> (BTreeMap<String, String>, Vec<Sample>) {
        let mut types: BTreeMap<String, String> = BTreeMap::new();
        let mut samples = Vec::new();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.last(), Some(&"# EOF"), "exposition ends with # EOF");
        assert!(text.ends_with("# EOF\n"));
        for line in &lines[..lines.len() - 1] {
            if let Some(comment) = line.strip_prefix("# ") {
                let mut parts = comment.splitn(3, ' ');
                let keyword = parts.next().unwrap();
                let family = parts.next().expect("a comment names its family");
                assert!(valid_name(family), "{line}");
                match keyword {
                    "TYPE" => {
                        let kind = parts.next().expect("# TYPE has a type");
                        assert!(
                            ["counter", "gauge", "histogram", "info", "unknown"].contains(&kind),
                            "{line}"
                        );
                        assert!(
                            types.insert(family.to_owned(), kind.to_owned()).is_none(),
                            "{family} typed twice"
                        );
                    }
                    "HELP" | "UNIT" => {}
                    other => panic!("unknown comment {other}: {line}"),
                }
                continue;
            }
            assert!(
                !line.starts_with('#') && !line.is_empty(),
                "stray line {line:?}"
            );
            samples.push(parse_sample(line));
        }
        for sample in &samples {
            let family = family_of(&sample.name, &types)
                .unwrap_or_else(|| panic!("{} has no # TYPE", sample.name));
            let suffix = &sample.name[family.len()..];
            let allowed: &[&str] = match types[family].as_str() {
                "counter" => &["_total", "_created"],
                "histogram" => &["_bucket", "_sum", "_count", "_created"],
                _ => &[""],
            };
            assert!(
                allowed.contains(&suffix),
                "{} in a {}",
                sample.name,
                types[family]
            );
        }
        check_histograms(&types, &samples);
        (types, samples)
    }

    fn valid_name(name: &str) -> bool {
        let mut chars = name.chars();
        chars
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
            && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
    }

    fn parse_sample(line: &str) -> Sample {
        // Label values here hold no `}`, so the first one closes the label set.
        let end = match line.find('{') {
            Some(_) => {
                line.find('}')
                    .unwrap_or_else(|| panic!("unclosed labels: {line}"))
                    + 1
            }
            None => line.find(' ').unwrap_or_else(|| panic!("no value: {line}")),
        };
        let (name_and_labels, rest) = line.split_at(end);
        let (name, labels) = match name_and_labels.split_once('{') {
            Some((name, labels)) => (name, parse_labels(labels.strip_suffix('}').unwrap())),
            None => (name_and_labels, BTreeMap::new()),
        };
        assert!(valid_name(name), "{line}");
        let mut fields = rest
            .strip_prefix(' ')
            .unwrap_or_else(|| panic!("one space before the value: {line}"))
            .split(' ');
        let value = fields.next().unwrap();
        let value: f64 = match value {
            "+Inf" => f64::INFINITY,
            "-Inf" => f64::NEG_INFINITY,
            _ => value
                .parse()
                .unwrap_or_else(|_| panic!("value is not a float: {line}")),
        };
        if let Some(timestamp) = fields.next() {
            timestamp
                .parse::<f64>()
                .unwrap_or_else(|_| panic!("timestamp is not a number: {line}"));
        }
        assert!(fields.next().is_none(), "trailing fields: {line}");
        Sample {
            name: name.to_owned(),
            labels,
            value,
        }
    }

    /// `a="x",b="y"`; the agent's label values hold no quotes or commas.
    fn parse_labels(text: &str) -> BTreeMap<String, String> {
        let mut labels = BTreeMap::new();
        if text.is_empty() {
            return labels;
        }
        for pair in text.split(',') {
            let (key, value) = pair
                .split_once('=')
                .unwrap_or_else(|| panic!("label {pair}"));
            assert!(valid_name(key), "label name {key}");
            let value = value
                .strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .unwrap_or_else(|| panic!("unquoted label value {pair}"));
            assert!(labels.insert(key.to_owned(), value.to_owned()).is_none());
        }
        labels
    }

    /// The family a sample belongs to: the longest declared name it starts with.
    fn family_of<'a>(sample: &str, types: &'a BTreeMap<String, String>) -> Option<&'a str> {
        types
            .keys()
            .filter(|family| sample.starts_with(family.as_str()))
            .max_by_key(|family| family.len())
            .map(String::as_str)
    }

    fn check_histograms(types: &BTreeMap<String, String>, samples: &[Sample]) {
        for (family, _) in types.iter().filter(|(_, kind)| *kind == "histogram") {
            let bucket_name = format!("{family}_bucket");
            let mut series: BTreeMap<BTreeMap<String, String>, Vec<(f64, f64)>> = BTreeMap::new();
            for sample in samples.iter().filter(|s| s.name == bucket_name) {
                let mut labels = sample.labels.clone();
                let le = labels.remove("le").expect("a bucket has le");
                let le = if le == "+Inf" {
                    f64::INFINITY
                } else {
                    le.parse().expect("le is a float")
                };
                series.entry(labels).or_default().push((le, sample.value));
            }
            assert!(!series.is_empty(), "{family} has buckets");
            for (labels, buckets) in series {
                assert!(
                    buckets
                        .windows(2)
                        .all(|w| w[0].0 < w[1].0 && w[0].1 <= w[1].1),
                    "{family}{labels:?}: buckets increase and are cumulative: {buckets:?}"
                );
                let (le, inf_count) = *buckets.last().unwrap();
                assert_eq!(le, f64::INFINITY, "{family}{labels:?} ends with +Inf");
                let count = samples
                    .iter()
                    .find(|s| s.name == format!("{family}_count") && s.labels == labels)
                    .expect("a histogram has _count");
                assert_eq!(
                    count.value, inf_count,
                    "{family}: +Inf bucket equals _count"
                );
            }
        }
    }

    fn value(samples: &[Sample], name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        let labels: BTreeMap<String, String> = labels
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        samples
            .iter()
            .find(|s| s.name == name && s.labels == labels)
            .map(|s| s.value)
    }

    fn pass(outcome: Outcome, duration_ms: u64, objects: ObjectCounts) -> Pass {
        Pass {
            revision: Some("0123456789abcdef0123456789abcdef01234567".into()),
            started: Timestamp::UNIX_EPOCH,
            duration_ms,
            trigger: "interval".into(),
            outcome,
            steps: Vec::new(),
            objects,
        }
    }

    #[test]
    fn fresh_metrics_parse_and_start_at_zero() {
        let (types, samples) = parse(&Metrics::new().encode());
        let expected = [
            ("strata_agent_reconcile_duration_seconds", "histogram"),
            ("strata_agent_reconcile", "counter"),
            ("strata_agent_objects_applied", "counter"),
            ("strata_agent_objects_pruned", "counter"),
            ("strata_agent_objects_failed", "counter"),
            ("strata_agent_drift_objects", "counter"),
            ("strata_agent_last_success_timestamp_seconds", "gauge"),
            ("strata_agent_is_leader", "gauge"),
            ("strata_agent_workloads", "gauge"),
            ("strata_agent_inventory_objects", "gauge"),
        ];
        for (name, kind) in expected {
            assert_eq!(types.get(name).map(String::as_str), Some(kind), "{name}");
        }
        assert_eq!(
            value(
                &samples,
                "strata_agent_reconcile_total",
                &[("outcome", "stalled")]
            ),
            Some(0.0)
        );
        assert_eq!(
            value(&samples, "strata_agent_workloads", &[("state", "failed")]),
            Some(0.0)
        );
        assert!(
            !samples
                .iter()
                .any(|s| s.name == "strata_agent_revision_info")
        );
    }

    #[tokio::test]
    async fn metrics_endpoint_reflects_passes_and_status() {
        let state = AgentState::new(
            crate::status::Status::default(),
            None,
            Duration::from_secs(60),
        );
        let server = Server::start(state.clone()).await;

        let applied = ObjectCounts {
            applied: 3,
            unchanged: 50,
            pruned: 1,
            failed: 0,
        };
        state.record_pass(&pass(Outcome::Ready, 1_500, applied));
        let failed = ObjectCounts {
            applied: 1,
            unchanged: 0,
            pruned: 0,
            failed: 2,
        };
        state.record_pass(&pass(Outcome::Transient, 40, failed));

        let mut status = sample_status();
        state.publish(status.clone());
        // A newer revision replaces the old one in revision_info; drift.total grows.
        status.last_fetched.as_mut().unwrap().revision = "fedcba9876543210".into();
        status.drift.total += 2;
        state.publish(status.clone());
        // Publishing the same status again counts no drift twice.
        state.publish(status.clone());

        let response = server.get("/metrics").await;
        assert_eq!(response.status, StatusCode::OK);
        assert_eq!(response.content_type(), Some(CONTENT_TYPE));
        let (types, samples) = parse(&response.body);
        assert_eq!(types["strata_agent_revision_info"], "gauge");
        let get = |name: &str, labels: &[(&str, &str)]| {
            value(&samples, name, labels).unwrap_or_else(|| panic!("{name}{labels:?} missing"))
        };

        assert_eq!(
            get("strata_agent_reconcile_total", &[("outcome", "ready")]),
            1.0
        );
        assert_eq!(
            get("strata_agent_reconcile_total", &[("outcome", "transient")]),
            1.0
        );
        assert_eq!(
            get(
                "strata_agent_reconcile_duration_seconds_count",
                &[("outcome", "ready")]
            ),
            1.0
        );
        assert_eq!(
            get(
                "strata_agent_reconcile_duration_seconds_sum",
                &[("outcome", "ready")]
            ),
            1.5
        );
        assert_eq!(
            get(
                "strata_agent_reconcile_duration_seconds_bucket",
                &[("outcome", "ready"), ("le", "1.0")]
            ),
            0.0
        );
        assert_eq!(
            get(
                "strata_agent_reconcile_duration_seconds_bucket",
                &[("outcome", "ready"), ("le", "2.5")]
            ),
            1.0
        );
        assert_eq!(get("strata_agent_objects_applied_total", &[]), 4.0);
        assert_eq!(get("strata_agent_objects_pruned_total", &[]), 1.0);
        assert_eq!(get("strata_agent_objects_failed_total", &[]), 2.0);
        assert_eq!(
            get("strata_agent_drift_objects_total", &[]),
            status.drift.total as f64
        );

        let revisions: BTreeSet<(String, String)> = samples
            .iter()
            .filter(|s| s.name == "strata_agent_revision_info")
            .map(|s| {
                assert_eq!(s.value, 1.0);
                (s.labels["kind"].clone(), s.labels["revision"].clone())
            })
            .collect();
        let applied_revision = status.last_applied.as_ref().unwrap().revision.clone();
        assert_eq!(
            revisions,
            BTreeSet::from([
                ("fetched".to_owned(), "fedcba9876543210".to_owned()),
                ("applied".to_owned(), applied_revision),
            ])
        );
        assert_eq!(
            get("strata_agent_last_success_timestamp_seconds", &[]),
            status.last_success.unwrap().as_second() as f64
        );
        assert_eq!(get("strata_agent_is_leader", &[]), 1.0);
        assert_eq!(get("strata_agent_workloads", &[("state", "ready")]), 1.0);
        assert_eq!(
            get("strata_agent_workloads", &[("state", "progressing")]),
            1.0
        );
        assert_eq!(get("strata_agent_workloads", &[("state", "failed")]), 1.0);
        assert_eq!(
            get("strata_agent_inventory_objects", &[]),
            status.inventory as f64
        );
    }
}
