//! Prometheus metrics (`FLAGR_PROMETHEUS_*`), in the text format at `FLAGR_PROMETHEUS_PATH`.
//!
//! Flagr's series keep their names and labels, so existing dashboards keep working:
//! `flagr_eval_results` (evaluations that reached the segment walk, as Flagr counts them),
//! `flagr_requests_total` and, with the latency histogram on, `flagr_requests_buckets`. Bunting
//! adds its webhook delivery series: `bunting_webhook_attempts_total` per outcome, and the
//! pending and failed deliveries per webhook, read from the delivery log at each scrape; and
//! `bunting_flags_with_invalid_constraints`, the flags whose stored constraints do not compile,
//! read from the evaluation snapshots at each scrape; and `bunting_change_propagation_seconds`,
//! how long changes made through other instances took to reach this instance's evaluation.
//!
//! The per-flag series (`flagr_eval_results`, `bunting_flags_with_invalid_constraints`) and the
//! webhook series also carry an `environment` label, the environment's key, added after Flagr's
//! own labels: a query that does not name it sums over environments as before. Its values are
//! bounded by [`MAX_ENVIRONMENTS`].
//!
//! Counting costs nothing when metrics are off: every caller holds an `Option<Arc<Metrics>>`.
//! This module only counts and renders; the HTTP layer serves the scrape and counts requests
//! (`http::metrics`), reading what the gauges need from the services.

use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;
use std::sync::RwLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bunting_core::eval::EvalResultRef;
use bunting_core::webhook::retry::ErrorClass;

/// Prometheus' default buckets, in seconds, as Flagr's histogram uses them.
const LATENCY_BUCKETS: [f64; 11] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

/// The label Flagr writes for a value that is absent or empty.
const ABSENT: &str = "null";

/// Request paths and evaluation entity types label series as in Flagr, but they are client
/// input: after this many distinct values the rest share the label [`OTHER`], so a scan of
/// random URLs or made-up entity types cannot grow the series without bound.
const MAX_PATHS: usize = 1000;
const MAX_ENTITY_TYPES: usize = 100;
/// Environments are created by operators, not clients, but a script creating one per branch
/// or tenant could still multiply every per-flag series: the first this many environments this
/// instance sees (the default environment always among them) keep their key as the
/// `environment` label, the rest share [`OTHER`].
pub(crate) const MAX_ENVIRONMENTS: usize = 50;
const OTHER: &str = "(other)";

/// One webhook's deliveries waiting for an attempt and given up on, as the delivery log says.
pub(crate) struct DeliveryBacklog {
    pub(crate) environment: String,
    pub(crate) webhook_id: i64,
    pub(crate) pending: i64,
    pub(crate) failed: i64,
}

pub(crate) struct Metrics {
    eval_results: Counters,
    requests: Counters,
    latencies: Option<Histograms>,
    paths: BoundedLabel,
    entity_types: BoundedLabel,
    environments: BoundedLabel,
    webhook_attempts: Counters,
    /// One series without labels.
    propagation: Histograms,
}

impl Metrics {
    pub(crate) fn new(latency_histogram: bool) -> Metrics {
        Metrics {
            eval_results: Counters::default(),
            requests: Counters::default(),
            latencies: latency_histogram.then(Histograms::default),
            paths: BoundedLabel::new(MAX_PATHS),
            entity_types: BoundedLabel::new(MAX_ENTITY_TYPES),
            environments: BoundedLabel::new(MAX_ENVIRONMENTS),
            webhook_attempts: Counters::default(),
            propagation: Histograms::default(),
        }
    }

    /// Gives `environment` (the default one, at start-up) one of the bounded `environment`
    /// label values before any other environment can take them all.
    pub(crate) fn reserve_environment(&self, environment: &str) {
        self.environments.label(environment);
    }

    /// Counts an evaluation in `environment`, as Flagr does only when it reached the segment
    /// walk (a missing, disabled or segment-less flag is not counted).
    pub(crate) fn record_evaluation(&self, environment: &str, result: &EvalResultRef<'_>) {
        if !result.reached_segments() {
            return;
        }
        let flag_id = result.flag_id.to_string();
        let variant_id = result.variant_id.to_string();
        self.eval_results.increment(&[
            self.entity_types.label(&result.eval_context.entity_type),
            &flag_id,
            &result.flag_key,
            &variant_id,
            result.variant_key,
            self.environments.label(environment),
        ]);
    }

    /// Counts a finished delivery attempt of a webhook of `environment`: `delivered`, or the
    /// class of its failure.
    pub(crate) fn record_attempt(&self, environment: &str, webhook_id: i64, failure: Option<ErrorClass>) {
        let result = failure.map_or("delivered", ErrorClass::name);
        self.webhook_attempts
            .increment(&[&webhook_id.to_string(), result, self.environments.label(environment)]);
    }

    /// Records how long a change made elsewhere took from its commit to this instance's
    /// evaluation snapshot.
    pub(crate) fn record_propagation(&self, lag: Duration) {
        self.propagation.observe(&[], lag.as_secs_f64());
    }

    pub(crate) fn record_request(&self, status: &str, path: &str, method: &str, took: Duration) {
        let labels = [status, self.paths.label(path), method];
        self.requests.increment(&labels);
        if let Some(latencies) = &self.latencies {
            latencies.observe(&labels, took.as_secs_f64());
        }
    }

    /// The scrape: every series in Prometheus' text format. `flags_with_invalid_constraints` is
    /// the count in each environment whose flags this instance has loaded.
    pub(crate) fn render(
        &self,
        backlogs: &[DeliveryBacklog],
        flags_with_invalid_constraints: &[(String, usize)],
    ) -> String {
        let mut text = String::new();
        self.eval_results.render_counter(
            &mut text,
            "flagr_eval_results",
            "A counter of eval results",
            &[
                "EntityType",
                "FlagID",
                "FlagKey",
                "VariantID",
                "VariantKey",
                "environment",
            ],
        );
        self.requests.render_counter(
            &mut text,
            "flagr_requests_total",
            "The total http requests received",
            &["status", "path", "method"],
        );
        if let Some(latencies) = &self.latencies {
            latencies.render_histogram(
                &mut text,
                "flagr_requests_buckets",
                "A histogram of latencies for requests received",
                &["status", "path", "method"],
            );
        }
        self.webhook_attempts.render_counter(
            &mut text,
            "bunting_webhook_attempts_total",
            "Webhook delivery attempts made by this instance, by outcome (delivered or the failure's class)",
            &["webhook_id", "result", "environment"],
        );
        self.propagation.render_histogram(
            &mut text,
            "bunting_change_propagation_seconds",
            "Time from the commit of a change made through another instance to this instance's evaluation \
             serving it",
            &[],
        );
        if !backlogs.is_empty() {
            let name = "bunting_webhook_deliveries";
            header(
                &mut text,
                name,
                "Deliveries waiting for an attempt or given up on, per webhook",
                "gauge",
            );
            for backlog in backlogs {
                let id = backlog.webhook_id.to_string();
                let environment = self.environments.label(&backlog.environment);
                for (status, count) in [("pending", backlog.pending), ("failed", backlog.failed)] {
                    let labels = [
                        ("webhook_id", id.as_str()),
                        ("status", status),
                        ("environment", environment),
                    ];
                    series_line(&mut text, name, &labels, count);
                }
            }
        }
        // Environments past the bound add up under one label.
        let mut invalid: Vec<(&str, usize)> = Vec::new();
        for (environment, count) in flags_with_invalid_constraints {
            let label = self.environments.label(environment);
            match invalid.iter_mut().find(|(seen, _)| *seen == label) {
                Some((_, total)) => *total += count,
                None => invalid.push((label, *count)),
            }
        }
        if !invalid.is_empty() {
            let name = "bunting_flags_with_invalid_constraints";
            header(
                &mut text,
                name,
                "Flags holding a constraint that does not compile (stored by an older version): left out of \
                 evaluation, or with a segment that never matches",
                "gauge",
            );
            for (environment, count) in invalid {
                series_line(&mut text, name, &[("environment", environment)], count);
            }
        }
        text
    }
}

/// A label whose values come from clients: the first `limit` distinct values are kept, the
/// rest read [`OTHER`].
struct BoundedLabel {
    seen: RwLock<HashSet<String>>,
    limit: usize,
}

impl BoundedLabel {
    fn new(limit: usize) -> BoundedLabel {
        BoundedLabel {
            seen: RwLock::default(),
            limit,
        }
    }

    fn label<'a>(&self, value: &'a str) -> &'a str {
        if read(&self.seen).contains(value) {
            return value;
        }
        let mut seen = write(&self.seen);
        if seen.len() < self.limit {
            seen.insert(value.to_owned());
            return value;
        }
        OTHER
    }
}

/// The series of one metric, by label values (in the metric's label order).
#[derive(Default)]
struct Family<T> {
    series: RwLock<HashMap<Vec<String>, T>>,
}

type Counters = Family<AtomicU64>;
type Histograms = Family<Histogram>;

impl<T: Default> Family<T> {
    /// Applies `change` to the series of these label values, creating it first if need be.
    fn update(&self, labels: &[&str], change: impl Fn(&T)) {
        let key: Vec<String> = labels
            .iter()
            .map(|value| if value.is_empty() { ABSENT } else { value }.to_owned())
            .collect();
        if let Some(series) = read(&self.series).get(&key) {
            change(series);
            return;
        }
        change(write(&self.series).entry(key).or_default());
    }

    /// Writes the metric's header and `line` for each series, in label order; nothing while
    /// the metric has no series.
    fn render(
        &self,
        text: &mut String,
        (name, help, kind): (&str, &str, &str),
        names: &[&str],
        line: impl Fn(&mut String, &[(&str, &str)], &T),
    ) {
        let series = read(&self.series);
        if series.is_empty() {
            return;
        }
        header(text, name, help, kind);
        let mut sorted: Vec<_> = series.iter().collect();
        sorted.sort_by(|a, b| a.0.cmp(b.0));
        for (values, value) in sorted {
            let labels: Vec<(&str, &str)> = names.iter().copied().zip(values.iter().map(String::as_str)).collect();
            line(text, &labels, value);
        }
    }
}

impl Counters {
    fn increment(&self, labels: &[&str]) {
        self.update(labels, |count| {
            count.fetch_add(1, Ordering::Relaxed);
        });
    }

    fn render_counter(&self, text: &mut String, name: &str, help: &str, names: &[&str]) {
        self.render(text, (name, help, "counter"), names, |text, labels, count| {
            series_line(text, name, labels, count.load(Ordering::Relaxed));
        });
    }
}

#[derive(Default)]
struct Histogram {
    /// Observations at or below each of [`LATENCY_BUCKETS`] (not cumulative; summed at render).
    buckets: [AtomicU64; LATENCY_BUCKETS.len()],
    count: AtomicU64,
    sum_micros: AtomicU64,
}

impl Histograms {
    fn observe(&self, labels: &[&str], seconds: f64) {
        self.update(labels, |histogram| {
            if let Some(bucket) = LATENCY_BUCKETS.iter().position(|&bound| seconds <= bound) {
                histogram.buckets[bucket].fetch_add(1, Ordering::Relaxed);
            }
            histogram.count.fetch_add(1, Ordering::Relaxed);
            // Whole microseconds: a request's duration is far below u64's range.
            let micros = (seconds * 1e6).round() as u64;
            histogram.sum_micros.fetch_add(micros, Ordering::Relaxed);
        });
    }

    fn render_histogram(&self, text: &mut String, name: &str, help: &str, names: &[&str]) {
        let bucket = format!("{name}_bucket");
        self.render(text, (name, help, "histogram"), names, |text, labels, histogram| {
            let mut cumulative = 0;
            for (bound, count) in LATENCY_BUCKETS.iter().zip(&histogram.buckets) {
                cumulative += count.load(Ordering::Relaxed);
                let le = bound.to_string();
                let with_le: Vec<(&str, &str)> = labels.iter().copied().chain([("le", le.as_str())]).collect();
                series_line(text, &bucket, &with_le, cumulative);
            }
            let count = histogram.count.load(Ordering::Relaxed);
            let with_inf: Vec<(&str, &str)> = labels.iter().copied().chain([("le", "+Inf")]).collect();
            series_line(text, &bucket, &with_inf, count);
            let sum = histogram.sum_micros.load(Ordering::Relaxed) as f64 / 1e6;
            series_line(text, &format!("{name}_sum"), labels, sum);
            series_line(text, &format!("{name}_count"), labels, count);
        });
    }
}

fn header(text: &mut String, name: &str, help: &str, kind: &str) {
    let _ = writeln!(text, "# HELP {name} {help}");
    let _ = writeln!(text, "# TYPE {name} {kind}");
}

fn series_line(text: &mut String, name: &str, labels: &[(&str, &str)], value: impl std::fmt::Display) {
    let _ = writeln!(text, "{name}{} {value}", label_set(labels));
}

/// `{a="1",b="x"}`, with values escaped as the text format requires; nothing without labels.
fn label_set(labels: &[(&str, &str)]) -> String {
    if labels.is_empty() {
        return String::new();
    }
    let pairs: Vec<String> = labels
        .iter()
        .map(|(name, value)| {
            let escaped = value.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n");
            format!("{name}=\"{escaped}\"")
        })
        .collect();
    format!("{{{}}}", pairs.join(","))
}

/// A poisoned lock only means a panic elsewhere mid-update of a counter map; the counts are
/// still usable.
fn read<T>(lock: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn write<T>(lock: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(
            label_set(&[("path", "/a\"b\\c\nd"), ("method", "GET")]),
            r#"{path="/a\"b\\c\nd",method="GET"}"#
        );
    }

    #[test]
    fn histogram_buckets_are_cumulative_and_end_with_the_count() {
        let histograms = Histograms::default();
        for seconds in [0.001, 0.02, 0.02, 20.0] {
            histograms.observe(&["200"], seconds);
        }
        let mut text = String::new();
        histograms.render_histogram(&mut text, "h", "help", &["status"]);
        assert!(text.contains("h_bucket{status=\"200\",le=\"0.005\"} 1\n"), "{text}");
        assert!(text.contains("h_bucket{status=\"200\",le=\"0.025\"} 3\n"), "{text}");
        assert!(text.contains("h_bucket{status=\"200\",le=\"10\"} 3\n"), "{text}");
        assert!(text.contains("h_bucket{status=\"200\",le=\"+Inf\"} 4\n"), "{text}");
        assert!(text.contains("h_count{status=\"200\"} 4\n"), "{text}");
        assert!(text.contains("h_sum{status=\"200\"} 20.041\n"), "{text}");
    }

    #[test]
    fn values_beyond_the_limit_share_one_label() {
        let paths = BoundedLabel::new(3);
        for path in ["/a", "/b", "/c"] {
            assert_eq!(paths.label(path), path);
        }
        assert_eq!(paths.label("/one/too/many"), OTHER);
        assert_eq!(paths.label("/b"), "/b", "known values keep their label");
    }

    #[test]
    fn environments_past_the_bound_share_one_label_the_default_always_keeps_its_own() {
        let metrics = Metrics::new(false);
        metrics.reserve_environment("production");
        let keys: Vec<String> = (0..MAX_ENVIRONMENTS + 2).map(|n| format!("env-{n}")).collect();
        for key in &keys {
            metrics.record_attempt(key, 7, None);
        }
        metrics.record_attempt("production", 7, None);
        let invalid: Vec<(String, usize)> = keys.iter().map(|key| (key.clone(), 1)).collect();
        let text = metrics.render(&[], &invalid);
        let attempts = |environment: &str| {
            format!(
                "bunting_webhook_attempts_total{{webhook_id=\"7\",result=\"delivered\",environment=\"{environment}\"}}"
            )
        };
        assert!(text.contains(&format!("{} 1\n", attempts("production"))), "{text}");
        let last_kept = &keys[MAX_ENVIRONMENTS - 2];
        assert!(text.contains(&format!("{} 1\n", attempts(last_kept))), "{text}");
        // The default took one place; of the others, three are past the bound.
        assert!(text.contains(&format!("{} 3\n", attempts(OTHER))), "{text}");
        assert!(!text.contains(&keys[MAX_ENVIRONMENTS - 1]), "{text}");
        let gauges = text
            .lines()
            .filter(|line| line.starts_with("bunting_flags_with_invalid_constraints{"))
            .count();
        assert_eq!(gauges, MAX_ENVIRONMENTS - 1 + 1, "{text}");
        assert!(
            text.contains("bunting_flags_with_invalid_constraints{environment=\"(other)\"} 3\n"),
            "{text}"
        );
    }

    #[test]
    fn empty_label_values_read_null_as_in_flagr() {
        let counters = Counters::default();
        counters.increment(&["", "1"]);
        counters.increment(&["", "1"]);
        let mut text = String::new();
        counters.render_counter(&mut text, "c", "help", &["VariantKey", "FlagID"]);
        assert!(text.contains("c{VariantKey=\"null\",FlagID=\"1\"} 2\n"), "{text}");
    }
}
