//! `GET /api/v1/changes/stream`: the change log as Server-Sent Events, for clients that keep a
//! local copy of the flags (an extension; Flagr has none).
//!
//! The change log is the source of truth: each stream holds only a cursor (the last sequence it
//! has read) and one page of changes, reads the log after its cursor, and waits for the
//! evaluation cache's notification (this instance's commits, or other instances' changes seen
//! by the change-log follower) when it has caught up. So nothing is missed or repeated, a
//! stream sees every instance's changes, and memory does not grow with a slow reader: the
//! reader's TCP window holds the server back, and a reader too far behind for too long is cut
//! off with its resume point. See docs/api.md for the events and the local-cache recipe.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::time::Instant;

use axum::Router;
use axum::http::{HeaderMap, HeaderName, HeaderValue};
use axum::middleware;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use bunting_core::change::ChangeEvent;
use bunting_core::environment::EnvironmentLabel;
use bunting_core::eval::{EvalCacheJson, EvalSnapshot, ExportFilter, export};
use bunting_core::flag::StoredFlag;
use bunting_core::webhook::filter::EventFilter;
use futures_util::Stream;
use serde::{Deserialize, Serialize};
use serde_json::json;
use tokio::sync::watch;

use super::AppState;
use super::environment::Env;
use super::error::{ApiError, schema_violation_as_bad_request};
use super::input::QueryParams;
use crate::config::StreamSettings;
use crate::service::flags::FlagService;
use crate::service::{ChangeQuery, SortOrder};

/// How many changes a stream reads from the log at a time: its whole buffer.
const PAGE: i64 = 100;

/// What every stream of this server shares.
#[derive(Clone)]
pub(crate) struct StreamContext {
    pub(crate) settings: StreamSettings,
    /// Turns true when the server begins to stop, so streams end and shutdown is not held up.
    pub(crate) shutdown: watch::Receiver<bool>,
}

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/changes/stream", get(stream_changes))
        .layer(middleware::map_response(schema_violation_as_bad_request))
}

async fn stream_changes(
    Env(state): Env<AppState>,
    headers: HeaderMap,
    query: QueryParams,
) -> Result<Response, ApiError> {
    let filter = StreamFilter::parse(&query)?;
    let last_event_id = headers
        .get("last-event-id")
        .map(|value| {
            value
                .to_str()
                .ok()
                .and_then(|text| text.trim().parse::<i64>().ok())
                .filter(|seq| *seq >= 0)
                .ok_or_else(|| {
                    ApiError::BadRequest("Last-Event-ID must be a change sequence: a non-negative integer".into())
                })
        })
        .transpose()?;
    let after = query.count("after")?;
    let snapshot = query.bool("snapshot")?.unwrap_or(false);
    if snapshot && after.is_some() {
        return Err(ApiError::BadRequest(
            "ask for a snapshot or for the changes after a sequence, not both".into(),
        ));
    }
    let flags = state.flags.clone();
    // Subscribed before anything is read, so no notification between the read and the wait is lost.
    let notifications = flags.change_notifications();
    // A reconnecting client (Last-Event-ID) already has its state; only a fresh one gets a snapshot.
    let (first, cursor) = match last_event_id.or(after) {
        Some(cursor) => match too_old_or_unknown(&flags, cursor).await? {
            Some(resync) => (Some(resync), None),
            None => (None, Some(cursor)),
        },
        None if snapshot => {
            let (stored, seq) = flags.live_flags_at_seq().await?;
            (Some(snapshot_event(stored, seq, &filter)?), Some(seq))
        }
        None => (None, Some(flags.max_change_seq().await?)),
    };
    let labels = state.environments.labels().await?;
    let tail = Tail {
        environment: super::changes::label(&labels, flags.environment()),
        flags,
        filter,
        settings: state.stream.settings.clone(),
        shutdown: state.stream.shutdown.clone(),
        notifications,
        first,
        // Without a cursor (a resync) the stream ends after its first event.
        after: cursor.unwrap_or_default(),
        closed: cursor.is_none(),
        pending: VecDeque::new(),
        caught_up_at: Instant::now(),
    };
    let heartbeat = tail.settings.heartbeat;
    let mut response = Sse::new(events(tail))
        .keep_alive(KeepAlive::new().interval(heartbeat))
        .into_response();
    // Asks buffering proxies (nginx) to pass each event on at once.
    response.headers_mut().insert(
        HeaderName::from_static("x-accel-buffering"),
        HeaderValue::from_static("no"),
    );
    Ok(response)
}

/// The `resync` event when the log cannot continue after `cursor`: a sequence beyond the latest
/// change (another database, or a log reset), or older than the oldest change kept.
async fn too_old_or_unknown(flags: &FlagService, cursor: i64) -> Result<Option<Event>, ApiError> {
    let latest = flags.max_change_seq().await?;
    let oldest = flags
        .changes(&ChangeQuery {
            order: SortOrder::Ascending,
            limit: Some(1),
            ..ChangeQuery::default()
        })
        .await?
        .first()
        .map_or(latest + 1, |change| change.seq);
    let message = if cursor > latest {
        format!("sequence {cursor} is beyond the latest change, {latest}: this log never had it")
    } else if cursor < oldest - 1 {
        format!("changes after {cursor} are no longer kept; the oldest kept is {oldest}")
    } else {
        return Ok(None);
    };
    let data = json!({"message": format!("{message}; load a snapshot (snapshot=true) and follow it"),
        "after": cursor, "oldest": oldest, "latest": latest});
    Ok(Some(Event::default().event("resync").data(data.to_string())))
}

/// The snapshot event: the selected live flags as the eval-cache export has them, and the
/// sequence they reflect.
fn snapshot_event(stored: Vec<StoredFlag>, seq: i64, filter: &StreamFilter) -> Result<Event, ApiError> {
    let selected = stored
        .into_iter()
        .filter(|flag| filter.selects_flag(&flag.flag))
        .collect();
    // Compiled as evaluation compiles them, so the snapshot holds what the export would.
    let (compiled, _) = EvalSnapshot::build(selected);
    #[derive(Serialize)]
    struct SnapshotJson<'a> {
        sequence: i64,
        #[serde(flatten)]
        export: EvalCacheJson<'a>,
    }
    let data = serde_json::to_string(&SnapshotJson {
        sequence: seq,
        export: export(compiled.flags(), &ExportFilter::default()),
    })?;
    Ok(Event::default().id(seq.to_string()).event("snapshot").data(data))
}

/// The stream's filters: `events` (webhook-style names and globs), `flag_keys`, `tags` (any of
/// them, on the flag before or after the change). Each given filter must hold.
struct StreamFilter {
    events: Option<EventFilter>,
    flag_keys: Vec<String>,
    tags: Vec<String>,
}

impl StreamFilter {
    fn parse(query: &QueryParams) -> Result<StreamFilter, ApiError> {
        let list = |name: &str| -> Vec<String> {
            query
                .string(name)
                .map(|text| {
                    text.split(',')
                        .map(str::trim)
                        .filter(|item| !item.is_empty())
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default()
        };
        let events = match query.string("events") {
            None => None,
            Some(text) => {
                Some(EventFilter::parse(&[text]).map_err(|error| ApiError::BadRequest(format!("events: {error}")))?)
            }
        };
        Ok(StreamFilter {
            events,
            flag_keys: list("flag_keys"),
            tags: list("tags"),
        })
    }

    /// Whether a flag belongs in the snapshot.
    fn selects_flag(&self, flag: &bunting_core::flag::Flag) -> bool {
        (self.flag_keys.is_empty() || self.flag_keys.contains(&flag.key))
            && (self.tags.is_empty() || flag.tags.iter().any(|tag| self.tags.contains(&tag.value)))
    }

    /// The SSE event name of `change`: its first event the filter passes; `None` when the
    /// filters leave the change out.
    fn event_name(&self, change: &ChangeEvent) -> Option<&'static str> {
        if !self.flag_keys.is_empty() && !change.flag_key.as_ref().is_some_and(|key| self.flag_keys.contains(key)) {
            return None;
        }
        if !self.tags.is_empty() && change.flag_id.is_none()
            || !self.tags.is_empty()
                && !self.tagged(change.previous.as_deref())
                && !self.tagged(change.current.as_deref())
        {
            return None;
        }
        change
            .events
            .iter()
            .map(|event| event.kind.name())
            .find(|name| self.events.as_ref().is_none_or(|filter| filter.matches(name)))
    }

    /// Whether a flag document carries one of the wanted tags.
    fn tagged(&self, document: Option<&str>) -> bool {
        #[derive(Deserialize)]
        struct Tagged {
            #[serde(default)]
            tags: Vec<TagValue>,
        }
        #[derive(Deserialize)]
        struct TagValue {
            value: String,
        }
        document
            .and_then(|text| serde_json::from_str::<Tagged>(text).ok())
            .is_some_and(|flag| flag.tags.iter().any(|tag| self.tags.contains(&tag.value)))
    }
}

/// One stream's position in the change log.
struct Tail {
    flags: FlagService,
    /// The stream's environment (it follows one), as each event names it.
    environment: EnvironmentLabel,
    filter: StreamFilter,
    settings: StreamSettings,
    shutdown: watch::Receiver<bool>,
    notifications: watch::Receiver<()>,
    /// Sent before any change: the snapshot or the resync notice.
    first: Option<Event>,
    /// The last sequence read (sent or filtered out): where a reconnect resumes.
    after: i64,
    closed: bool,
    /// Changes read and not yet sent: at most one page.
    pending: VecDeque<ChangeEvent>,
    /// When the stream last found nothing new to send.
    caught_up_at: Instant,
}

fn events(tail: Tail) -> impl Stream<Item = Result<Event, Infallible>> {
    futures_util::stream::unfold(tail, |mut tail| async move {
        let event = tail.next().await?;
        Some((Ok(event), tail))
    })
}

impl Tail {
    /// The next event, or `None` once the stream is over.
    async fn next(&mut self) -> Option<Event> {
        if let Some(first) = self.first.take() {
            return Some(first);
        }
        loop {
            if self.closed {
                return None;
            }
            // A dropped sender means the server is gone too.
            if *self.shutdown.borrow() || self.shutdown.has_changed().is_err() {
                return Some(self.close("shutdown", "the server is stopping"));
            }
            if let Some(change) = self.pending.pop_front() {
                self.after = change.seq;
                let Some(name) = self.filter.event_name(&change) else {
                    continue;
                };
                return Some(match change.to_json(&self.environment) {
                    Ok(data) => Event::default().id(change.seq.to_string()).event(name).data(data),
                    Err(error) => {
                        tracing::error!(%error, seq = change.seq, "cannot serialize a change for a stream");
                        self.after = change.seq - 1;
                        self.close("error", "the server could not read the change log")
                    }
                });
            }
            if let Err(event) = self.refill().await {
                return Some(event);
            }
            if !self.pending.is_empty() {
                continue;
            }
            self.caught_up_at = Instant::now();
            // Woken by a change or by shutdown, which the top of the loop notices. The cache
            // (the sender) lives as long as the server, so `changed` cannot fail before shutdown.
            tokio::select! {
                _ = self.notifications.changed() => {},
                _ = self.shutdown.wait_for(|stopping| *stopping) => {},
            }
        }
    }

    /// Reads the next page after the cursor; `Err` is the stream's closing event.
    async fn refill(&mut self) -> Result<(), Event> {
        // Marked seen before the read: a change committed after it wakes the wait that follows.
        self.notifications.borrow_and_update();
        let read = self
            .flags
            .changes(&ChangeQuery {
                // A stream follows the environment of its base path (unprefixed: the default).
                environment: Some(self.flags.environment()),
                after_seq: Some(self.after),
                order: SortOrder::Ascending,
                limit: Some(PAGE),
                ..ChangeQuery::default()
            })
            .await;
        let page = match read {
            Ok(page) => page,
            Err(error) => {
                tracing::warn!(%error, "cannot read the change log for a stream; closing it");
                return Err(self.close("error", "the server could not read the change log"));
            }
        };
        let Some(last) = page.last() else { return Ok(()) };
        let head = if page.len() < PAGE as usize {
            last.seq
        } else {
            self.flags.max_change_seq().await.unwrap_or(last.seq)
        };
        if head - self.after > self.settings.max_lag && self.caught_up_at.elapsed() > self.settings.max_behind {
            return Err(self.close(
                "lagging",
                &format!(
                    "this stream is {} changes behind and has not caught up for {:?}; reconnect to resume",
                    head - self.after,
                    self.settings.max_behind
                ),
            ));
        }
        self.pending.extend(page);
        Ok(())
    }

    /// The final event: why the stream ends and where to resume (also its id, so an
    /// EventSource reconnects from there by itself).
    fn close(&mut self, reason: &str, message: &str) -> Event {
        self.closed = true;
        let data = json!({"reason": reason, "message": message, "resume_after": self.after});
        Event::default()
            .id(self.after.to_string())
            .event("closed")
            .data(data.to_string())
    }
}
