//! `GET /api/v1/changes/stream`: the change log live over Server-Sent Events. Order, resume
//! without gap or repeat (with changes racing the reconnect), snapshot + stream reproducing the
//! export, the resync notice, other instances' changes, filters and the slow-consumer cut-off.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::{Value, json};

use crate::helpers::{TestApp, spawn_app, spawn_app_on, spawn_app_with};

/// One SSE event as the wire carries it.
#[derive(Debug, Clone)]
pub(crate) struct SseEvent {
    pub(crate) id: Option<String>,
    pub(crate) event: String,
    pub(crate) data: String,
}

impl SseEvent {
    pub(crate) fn json(&self) -> Value {
        serde_json::from_str(&self.data).unwrap()
    }

    fn seq(&self) -> i64 {
        self.id.as_deref().unwrap().parse().unwrap()
    }
}

/// A hand-rolled SSE reader over a streaming response body.
pub(crate) struct Sse {
    response: reqwest::Response,
    buffer: String,
}

impl Sse {
    pub(crate) async fn open(app: &TestApp, query: &str, last_event_id: Option<i64>) -> Sse {
        let mut request = app.client.get(format!("{}/api/v1/changes/stream{query}", app.base));
        if let Some(id) = last_event_id {
            request = request.header("Last-Event-ID", id.to_string());
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["content-type"], "text/event-stream");
        Sse {
            response,
            buffer: String::new(),
        }
    }

    /// The next event (heartbeat comments skipped); `None` when the stream ended.
    pub(crate) async fn next(&mut self) -> Option<SseEvent> {
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let mut event = SseEvent {
                    id: None,
                    event: "message".into(),
                    data: String::new(),
                };
                let mut comment_only = true;
                for line in block.lines() {
                    let (field, value) = line.split_once(':').unwrap_or((line, ""));
                    let value = value.strip_prefix(' ').unwrap_or(value);
                    match field {
                        "" => continue,
                        "id" => event.id = Some(value.to_owned()),
                        "event" => event.event = value.to_owned(),
                        "data" if event.data.is_empty() => event.data = value.to_owned(),
                        "data" => event.data = format!("{}\n{value}", event.data),
                        _ => {}
                    }
                    comment_only = false;
                }
                if comment_only {
                    continue;
                }
                return Some(event);
            }
            let chunk = tokio::time::timeout(Duration::from_secs(10), self.response.chunk())
                .await
                .expect("an event within 10 s")
                .unwrap()?;
            self.buffer.push_str(std::str::from_utf8(&chunk).unwrap());
        }
    }

    /// Change events until (and including) sequence `last`.
    async fn changes_through(&mut self, last: i64) -> Vec<SseEvent> {
        let mut events = Vec::new();
        while events.last().is_none_or(|event: &SseEvent| event.seq() < last) {
            let event = self.next().await.expect("the stream goes on");
            assert_ne!(event.event, "closed", "{}", event.data);
            events.push(event);
        }
        events
    }
}

#[tokio::test]
async fn stream_order_is_sequence_order_and_its_data_is_the_change_log() {
    let app = spawn_app().await;
    let mut stream = Sse::open(&app, "?after=0", None).await;
    for key in ["a", "b", "c"] {
        let id = app.create_flag(key).await["id"].as_i64().unwrap();
        app.put(&format!("/flags/{id}/enabled"), json!({"enabled": true}))
            .await
            .ok();
    }
    let events = stream.changes_through(6).await;
    let seqs: Vec<i64> = events.iter().map(SseEvent::seq).collect();
    assert_eq!(seqs, [1, 2, 3, 4, 5, 6]);
    assert_eq!(events[0].event, "flag.created");
    assert_eq!(events[1].event, "flag.enabled");
    let log = app.get("/changes?order=asc").await.ok();
    let streamed: Vec<Value> = events.iter().map(SseEvent::json).collect();
    assert_eq!(Value::from(streamed), log, "data is exactly GET /changes' entry");
}

#[tokio::test]
async fn resuming_yields_exactly_the_missing_changes_while_changes_race_the_reconnects() {
    let app = spawn_app().await;
    let writer = TestApp::at(&app.base);
    let total = 60;
    let writes = tokio::spawn(async move {
        for n in 0..total / 2 {
            let id = writer.create_flag(&format!("race{n}")).await["id"].as_i64().unwrap();
            writer
                .put(&format!("/flags/{id}/enabled"), json!({"enabled": true}))
                .await
                .ok();
        }
    });
    let mut seen: Vec<i64> = Vec::new();
    let mut stream = Sse::open(&app, "?after=0", None).await;
    let mut reconnects = 0;
    while seen.last().copied().unwrap_or(0) < total {
        // A few events, then drop the connection and resume from the last id received,
        // while the writer keeps going.
        for _ in 0..3 {
            let event = stream.next().await.expect("the stream goes on");
            seen.push(event.seq());
            if event.seq() == total {
                break;
            }
        }
        reconnects += 1;
        stream = Sse::open(&app, "", seen.last().copied()).await;
    }
    writes.await.unwrap();
    assert!(reconnects > 5);
    assert_eq!(seen, (1..=total).collect::<Vec<_>>(), "no gap, no repeat, in order");
}

/// A flag in a shape both the eval-cache export and the flag API can be brought to.
fn canonical(flag: &Value, go: bool) -> Value {
    let field = |value: &Value, api: &str, go_name: &str| value[if go { go_name } else { api }].clone();
    let text = |value: Value| if value.is_null() { json!("") } else { value };
    let list = |value: &Value, api: &str, go_name: &str, each: &dyn Fn(&Value) -> Value| -> Value {
        field(value, api, go_name)
            .as_array()
            .map(|items| items.iter().map(each).collect())
            .unwrap_or_default()
    };
    json!({
        "id": field(flag, "id", "ID"),
        "key": field(flag, "key", "Key"),
        "description": field(flag, "description", "Description"),
        "enabled": field(flag, "enabled", "Enabled"),
        // The flag API leaves empty text out, as Flagr does; Go prints it.
        "notes": text(field(flag, "notes", "Notes")),
        "entityType": text(field(flag, "entityType", "EntityType")),
        "dataRecordsEnabled": field(flag, "dataRecordsEnabled", "DataRecordsEnabled"),
        "tags": list(flag, "tags", "Tags", &|tag| field(tag, "value", "Value")),
        "variants": list(flag, "variants", "Variants", &|variant| json!([
            field(variant, "id", "ID"), field(variant, "key", "Key"), field(variant, "attachment", "Attachment")
        ])),
        "segments": list(flag, "segments", "Segments", &|segment| json!({
            "id": field(segment, "id", "ID"),
            "description": field(segment, "description", "Description"),
            "rank": field(segment, "rank", "Rank"),
            "rolloutPercent": field(segment, "rolloutPercent", "RolloutPercent"),
            "constraints": list(segment, "constraints", "Constraints", &|c| json!([
                field(c, "id", "ID"), field(c, "property", "Property"), field(c, "operator", "Operator"),
                field(c, "value", "Value")
            ])),
            "distributions": list(segment, "distributions", "Distributions", &|d| json!([
                field(d, "id", "ID"), field(d, "variantID", "VariantID"), field(d, "variantKey", "VariantKey"),
                field(d, "percent", "Percent")
            ])),
        })),
    })
}

/// A small deterministic generator, so a failure can be replayed.
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        ((self.0 >> 33) % n as u64) as usize
    }
}

/// One random change to one of `flags` (or a new flag); returns the flag ids now live.
async fn random_change(app: &TestApp, random: &mut Lcg, flags: &mut Vec<i64>, n: usize) {
    if flags.is_empty() || random.below(4) == 0 {
        flags.push(app.create_flag(&format!("random{n}")).await["id"].as_i64().unwrap());
        return;
    }
    let id = flags[random.below(flags.len())];
    let reply = match random.below(7) {
        0 => {
            app.put(
                &format!("/flags/{id}/enabled"),
                json!({"enabled": random.below(2) == 0}),
            )
            .await
        }
        1 => {
            app.put(&format!("/flags/{id}"), json!({"description": format!("changed {n}")}))
                .await
        }
        2 => {
            app.post(&format!("/flags/{id}/variants"), json!({"key": format!("v{n}")}))
                .await
        }
        3 => {
            app.post(
                &format!("/flags/{id}/tags"),
                json!({"value": format!("t{}", random.below(3))}),
            )
            .await
        }
        4 => {
            app.post(
                &format!("/flags/{id}/segments"),
                json!({"description": format!("s{n}"), "rolloutPercent": random.below(101)}),
            )
            .await
        }
        5 if flags.len() > 2 => {
            flags.retain(|flag| *flag != id);
            app.delete(&format!("/flags/{id}")).await
        }
        _ => {
            app.put(&format!("/flags/{id}"), json!({"notes": format!("note {n}")}))
                .await
        }
    };
    assert_eq!(reply.status, 200, "{}", reply.body);
}

#[tokio::test]
async fn a_snapshot_and_the_stream_reproduce_the_export_after_random_changes() {
    let app = spawn_app().await;
    let mut random = Lcg(12);
    let mut flags = Vec::new();
    for n in 0..10 {
        random_change(&app, &mut random, &mut flags, n).await;
    }
    let mut stream = Sse::open(&app, "?snapshot=true", None).await;
    let snapshot = stream.next().await.unwrap();
    assert_eq!(snapshot.event, "snapshot");
    let snapshot_json = snapshot.json();
    assert_eq!(snapshot_json["sequence"], snapshot.seq());
    assert_eq!(snapshot.seq(), app.max_id().await);
    let mut cache: BTreeMap<i64, Value> = snapshot_json["Flags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|flag| (flag["ID"].as_i64().unwrap(), canonical(flag, true)))
        .collect();
    for n in 10..110 {
        random_change(&app, &mut random, &mut flags, n).await;
    }
    for event in stream.changes_through(app.max_id().await).await {
        let change = event.json();
        let Some(id) = change["flag_id"].as_i64() else { continue };
        let deleted = change["events"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["event"] == "flag.deleted");
        if deleted {
            cache.remove(&id);
        } else {
            cache.insert(id, canonical(&change["data"], false));
        }
    }
    let export = app.get("/export/eval_cache/json").await.ok();
    let expected: BTreeMap<i64, Value> = export["Flags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|flag| (flag["ID"].as_i64().unwrap(), canonical(flag, true)))
        .collect();
    assert!(expected.len() >= 3, "{}", expected.len());
    assert_eq!(cache, expected);
}

#[tokio::test]
async fn a_resume_point_the_log_never_had_is_reported_as_resync() {
    let app = spawn_app().await;
    app.create_flag("one").await;
    let mut stream = Sse::open(&app, "?after=50", None).await;
    let resync = stream.next().await.unwrap();
    assert_eq!(resync.event, "resync");
    assert_eq!(resync.json()["latest"], 1);
    assert_eq!(resync.json()["after"], 50);
    assert!(stream.next().await.is_none(), "the stream ends after a resync");
    let mut header = Sse::open(&app, "", Some(2)).await;
    assert_eq!(header.next().await.unwrap().event, "resync");

    let reply = app
        .send(
            app.client
                .get(format!("{}/api/v1/changes/stream", app.base))
                .header("Last-Event-ID", "nope"),
        )
        .await;
    assert!(reply.error(400).contains("Last-Event-ID"));
    assert!(app.get("/changes/stream?after=-1").await.error(400).contains("after"));
    assert!(
        app.get("/changes/stream?events=flag.exploded")
            .await
            .error(400)
            .contains("unknown events")
    );
    assert!(
        app.get("/changes/stream?after=1&snapshot=true")
            .await
            .error(400)
            .contains("not both")
    );
}

#[tokio::test]
async fn a_stream_on_one_instance_sees_changes_made_through_another() {
    let a = spawn_app().await;
    let b = spawn_app_on(&a, |config| {
        config.evaluation.refresh_interval = Duration::from_millis(50)
    })
    .await;
    let mut stream = Sse::open(&b, "", None).await;
    let flag = a.create_flag("elsewhere").await;
    let event = stream.next().await.unwrap();
    assert_eq!(event.event, "flag.created");
    assert_eq!(event.json()["flag_id"], flag["id"]);
}

#[tokio::test]
async fn filters_select_events_flag_keys_and_tags() {
    let app = spawn_app().await;
    let mut enabled = Sse::open(&app, "?after=0&events=flag.enabled,flag.disabled", None).await;
    let mut keyed = Sse::open(&app, "?after=0&flag_keys=kept", None).await;
    let mut tagged = Sse::open(&app, "?after=0&tags=web", None).await;
    let kept = app.create_flag("kept").await["id"].as_i64().unwrap();
    let other = app.create_flag("other").await["id"].as_i64().unwrap();
    app.put(&format!("/flags/{other}/enabled"), json!({"enabled": true}))
        .await
        .ok();
    app.post(&format!("/flags/{other}/tags"), json!({"value": "web"}))
        .await
        .ok();
    app.put(&format!("/flags/{kept}/enabled"), json!({"enabled": true}))
        .await
        .ok();
    // 1 kept created, 2 other created, 3 other enabled, 4 other tagged, 5 kept enabled.
    let names = |events: Vec<SseEvent>| -> Vec<(i64, String)> {
        events.into_iter().map(|event| (event.seq(), event.event)).collect()
    };
    assert_eq!(
        names(enabled.changes_through(5).await),
        [(3, "flag.enabled".to_owned()), (5, "flag.enabled".to_owned())]
    );
    assert_eq!(
        names(keyed.changes_through(5).await),
        [(1, "flag.created".to_owned()), (5, "flag.enabled".to_owned())]
    );
    let first = tagged.next().await.unwrap();
    assert_eq!((first.seq(), first.json()["flag_id"].as_i64()), (4, Some(other)));
}

#[tokio::test]
async fn a_consumer_that_falls_behind_is_cut_off_with_its_resume_point() {
    let app = spawn_app_with(|config| {
        config.max_body_bytes = 4 * 1024 * 1024;
        config.stream.max_lag = 5;
        config.stream.max_behind = Duration::from_millis(300);
    })
    .await;
    let id = app.create_flag("big").await["id"].as_i64().unwrap();
    let mut stream = Sse::open(&app, "", None).await;
    // Large changes fill the socket buffers while the consumer reads nothing, so the server's
    // stream stops being polled; then it falls further behind.
    for n in 0..80 {
        let notes = format!("{n}{}", "x".repeat(256 * 1024));
        app.put(&format!("/flags/{id}"), json!({"notes": notes})).await.ok();
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    for n in 0..10 {
        app.put(&format!("/flags/{id}"), json!({"description": format!("late {n}")}))
            .await
            .ok();
    }
    let last = app.max_id().await;
    let mut received = Vec::new();
    let closed = loop {
        let event = stream.next().await.expect("a closing event before the end");
        if event.event == "closed" {
            break event;
        }
        received.push(event.seq());
    };
    assert!(stream.next().await.is_none(), "the stream ends after it");
    let closed_json = closed.json();
    assert_eq!(closed_json["reason"], "lagging");
    let resume = closed_json["resume_after"].as_i64().unwrap();
    assert_eq!(closed.seq(), resume);
    assert_eq!(
        received.last().copied(),
        Some(resume),
        "resumes after the last change it sent"
    );
    assert!(resume < last);
    // Resumed where this server's tight limits do not apply: reading the first 20 MB page may
    // itself take longer than 300 ms on a busy machine, and the resume point is the log's, not
    // the instance's.
    let patient = spawn_app_on(&app, |_| {}).await;
    let mut resumed = Sse::open(&patient, "", Some(resume)).await;
    let rest: Vec<i64> = resumed.changes_through(last).await.iter().map(SseEvent::seq).collect();
    assert_eq!(rest, ((resume + 1)..=last).collect::<Vec<_>>());
}
