//! Evaluation: the in-memory snapshot every evaluation reads and what keeps it fresh. The hot
//! path never touches the database or a lock a writer holds: it loads the current snapshot (an
//! atomic pointer read) and runs the pure engine of `bunting_core::eval`.
//!
//! - `cache`: the snapshot, swapped atomically after each change.
//! - `refresh`: following changes made elsewhere (other instances through the change log, or
//!   the flag file of eval-only mode).
//! - `injected`: Flagr's built-in context keys.

mod cache;
mod injected;
mod refresh;

use std::sync::Arc;

use axum::http::HeaderMap;
use bunting_core::eval::{
    EvalContext, EvalEnv, EvalResult, EvalResultRef, EvalSnapshot, EvaluationBatchRequest, evaluate_ref,
};
use time::OffsetDateTime;
use time::macros::format_description;

pub(crate) use cache::{EvalCache, EvalCaches};
pub(crate) use refresh::{StoreFollower, follow_json, load_json};

use crate::clock::Clock;
use crate::config::EvalSettings;
use crate::metrics::Metrics;
use crate::service::environments::EnvironmentService;

/// Evaluates requests against the current snapshot with the configured behaviour.
#[derive(Clone)]
pub(crate) struct Evaluator {
    /// The key of the environment `cache` holds the flags of: what metrics label evaluations
    /// with, and in eval-only mode the one base path served.
    environment: Arc<str>,
    cache: Arc<EvalCache>,
    /// Resolves other environments; `None` in eval-only mode, which has one set of flags.
    environments: Option<EnvironmentService>,
    clock: Arc<dyn Clock>,
    settings: Arc<EvalSettings>,
    metrics: Option<Arc<Metrics>>,
}

impl Evaluator {
    pub(crate) fn new(
        environment: &str,
        cache: Arc<EvalCache>,
        environments: Option<EnvironmentService>,
        clock: Arc<dyn Clock>,
        settings: EvalSettings,
        metrics: Option<Arc<Metrics>>,
    ) -> Evaluator {
        Evaluator {
            environment: environment.into(),
            cache,
            environments,
            clock,
            settings: Arc::new(settings),
            metrics,
        }
    }

    pub(crate) fn settings(&self) -> &EvalSettings {
        &self.settings
    }

    pub(crate) fn cache(&self) -> &EvalCache {
        &self.cache
    }

    /// The key of the environment this evaluator serves.
    pub(crate) fn environment(&self) -> &str {
        &self.environment
    }

    pub(crate) fn environments(&self) -> Option<&EnvironmentService> {
        self.environments.as_ref()
    }

    /// The same evaluator, reading environment `environment`'s cache.
    pub(crate) fn with_cache(&self, environment: &str, cache: Arc<EvalCache>) -> Evaluator {
        Evaluator {
            environment: environment.into(),
            cache,
            ..self.clone()
        }
    }

    /// One evaluation, handed to `answer` while the result still borrows the evaluated flag
    /// from the snapshot. `headers` feed the built-in context when it is on (Flagr injects no
    /// header keys for some routes, which pass `None`).
    pub(crate) fn evaluate<R>(
        &self,
        context: EvalContext,
        headers: Option<&HeaderMap>,
        answer: impl FnOnce(EvalResultRef<'_>) -> R,
    ) -> R {
        self.evaluate_on(&self.cache.snapshot(), context, headers, answer)
    }

    /// One evaluation against a snapshot the caller holds, to read the evaluated flag from the
    /// same snapshot (OFREP maps the result with the flag's variants and segments).
    pub(crate) fn evaluate_on<R>(
        &self,
        snapshot: &EvalSnapshot,
        mut context: EvalContext,
        headers: Option<&HeaderMap>,
        answer: impl FnOnce(EvalResultRef<'_>) -> R,
    ) -> R {
        let now = self.clock.now();
        if let Some(injected) = &self.settings.injected_context {
            injected.inject(&mut context.entity_context, now, headers);
        }
        let timestamp = timestamp(now);
        let mut random = random_entity_number;
        let mut env = EvalEnv {
            debug_enabled: self.settings.debug_enabled,
            timestamp: &timestamp,
            random: &mut random,
        };
        // `EvalSnapshot::evaluate`, with a result that borrows instead of copying.
        let flag = snapshot.lookup(context.flag_id, &context.flag_key);
        let result = evaluate_ref(flag, context, &mut env);
        if let Some(metrics) = &self.metrics {
            metrics.record_evaluation(&self.environment, &result);
        }
        answer(result)
    }

    /// Whether evaluations read request headers (the built-in context's header keys), so
    /// handlers copy them only then.
    pub(crate) fn reads_headers(&self) -> bool {
        self.settings.injected_context.is_some()
    }

    /// A batch: every entity against every selected flag, in Flagr's order.
    pub(crate) fn evaluate_batch(
        &self,
        mut request: EvaluationBatchRequest,
        headers: Option<&HeaderMap>,
    ) -> Vec<EvalResult> {
        let now = self.clock.now();
        if let Some(injected) = &self.settings.injected_context {
            for entity in &mut request.entities {
                injected.inject(&mut entity.entity_context, now, headers);
            }
        }
        let timestamp = timestamp(now);
        let mut random = random_entity_number;
        let mut env = EvalEnv {
            debug_enabled: self.settings.debug_enabled,
            timestamp: &timestamp,
            random: &mut random,
        };
        let results = self.cache.snapshot().evaluate_batch(&request, &mut env);
        if let Some(metrics) = &self.metrics {
            for result in &results {
                metrics.record_evaluation(&self.environment, &result.into());
            }
        }
        results
    }
}

/// Flagr's evaluation timestamp: RFC 3339 in UTC with whole seconds.
fn timestamp(now: OffsetDateTime) -> String {
    let format = format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");
    now.to_offset(time::UtcOffset::UTC).format(&format).unwrap_or_default()
}

/// The number in `randomly_generated_<n>` for an empty entity id: a non-negative 31-bit
/// integer, as Go's `rand.Int31`.
fn random_entity_number() -> u32 {
    rand::random::<u32>() >> 1
}
