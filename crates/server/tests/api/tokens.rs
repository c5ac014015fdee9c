//! API tokens and roles (`BUNTING_AUTH=tokens`): every route against every kind of caller, scopes
//! to environments, revocation and expiry, the actor of changes, Flagr's identity sources beside
//! tokens, the bootstrap token and the CLI.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use bunting::clock::ManualClock;
use bunting::config::{AuthSettings, BasicAuth};
use bunting_core::secret::Secret;
use bunting_core::token::Role;
use reqwest::Method;
use serde_json::{Value, json};
use sha2::Digest;
use time::OffsetDateTime;

use crate::helpers::{
    TestApp, database_env, query_text_on, spawn_app, spawn_app_on, spawn_app_with, spawn_app_with_clock,
};

const BOOTSTRAP: &str = "bnt_bootstrap-secret-for-tests-0123456789abcdef";

fn tokens_on(config: &mut bunting::Config) {
    config.auth = Some(AuthSettings {
        bootstrap_admin_token: Some(Secret::new(BOOTSTRAP)),
        ..AuthSettings::default()
    });
}

/// Makes a token with `body` as the admin `admin`; returns its secret.
async fn token(admin: &TestApp, body: Value) -> String {
    let created = admin.post("/tokens", body).await.ok();
    created["token"]
        .as_str()
        .expect("the secret is in the answer")
        .to_owned()
}

/// One request of the matrix: what it needs, and how to make it (objects it acts on are made
/// fresh for each caller, so a delete is a delete every time).
#[derive(Clone, Copy, Debug)]
enum Call {
    Health,
    OpenApi,
    Ui,
    Evaluate,
    EvaluateBatch,
    OfrepOne,
    OfrepAll,
    Exposures,
    Me,
    ListFlags,
    GetFlag,
    Snapshots,
    EntityTypes,
    AllTags,
    Segments,
    Variants,
    Export,
    Changes,
    ChangesInStaging,
    Stream,
    ListWebhooks,
    GetWebhook,
    Deliveries,
    WebhookEvents,
    ListEnvironments,
    GetEnvironment,
    Compare,
    CreateFlag,
    UpdateFlag,
    EnableFlag,
    DeleteFlag,
    DuplicateFlag,
    CreateSegment,
    CreateVariant,
    CreateConstraint,
    AddTag,
    SetDistribution,
    CreateWebhook,
    UpdateWebhook,
    RotateSecret,
    DeleteWebhook,
    Promote,
    CreateStagingFlag,
    CreateEnvironment,
    UpdateEnvironment,
    ListTokens,
    CreateToken,
    RevokeToken,
    EvaluateByQuery,
    EvaluateBatchByQuery,
    DatarSummary,
    DatarFlagSummary,
    MaxSnapshotId,
    FlagTags,
    Constraints,
    Distributions,
    ConstraintProblems,
    DeliveryDetail,
    RestoreFlag,
    ReorderSegments,
    UpdateSegment,
    DeleteSegment,
    UpdateConstraint,
    DeleteConstraint,
    UpdateVariant,
    DeleteVariant,
    RemoveTag,
    TestWebhook,
    Redeliver,
    DeleteEnvironment,
}

impl Call {
    const ALL: [Call; 70] = [
        Call::Health,
        Call::OpenApi,
        Call::Ui,
        Call::Evaluate,
        Call::EvaluateBatch,
        Call::OfrepOne,
        Call::OfrepAll,
        Call::Exposures,
        Call::Me,
        Call::ListFlags,
        Call::GetFlag,
        Call::Snapshots,
        Call::EntityTypes,
        Call::AllTags,
        Call::Segments,
        Call::Variants,
        Call::Export,
        Call::Changes,
        Call::ChangesInStaging,
        Call::Stream,
        Call::ListWebhooks,
        Call::GetWebhook,
        Call::Deliveries,
        Call::WebhookEvents,
        Call::ListEnvironments,
        Call::GetEnvironment,
        Call::Compare,
        Call::CreateFlag,
        Call::UpdateFlag,
        Call::EnableFlag,
        Call::DeleteFlag,
        Call::DuplicateFlag,
        Call::CreateSegment,
        Call::CreateVariant,
        Call::CreateConstraint,
        Call::AddTag,
        Call::SetDistribution,
        Call::CreateWebhook,
        Call::UpdateWebhook,
        Call::RotateSecret,
        Call::DeleteWebhook,
        Call::Promote,
        Call::CreateStagingFlag,
        Call::CreateEnvironment,
        Call::UpdateEnvironment,
        Call::ListTokens,
        Call::CreateToken,
        Call::RevokeToken,
        Call::EvaluateByQuery,
        Call::EvaluateBatchByQuery,
        Call::DatarSummary,
        Call::DatarFlagSummary,
        Call::MaxSnapshotId,
        Call::FlagTags,
        Call::Constraints,
        Call::Distributions,
        Call::ConstraintProblems,
        Call::DeliveryDetail,
        Call::RestoreFlag,
        Call::ReorderSegments,
        Call::UpdateSegment,
        Call::DeleteSegment,
        Call::UpdateConstraint,
        Call::DeleteConstraint,
        Call::UpdateVariant,
        Call::DeleteVariant,
        Call::RemoveTag,
        Call::TestWebhook,
        Call::Redeliver,
        Call::DeleteEnvironment,
    ];

    /// The least role that may make the call; `None` for everyone.
    fn needs(self) -> Option<Role> {
        use Call::*;
        match self {
            Health | OpenApi | Ui => None,
            Evaluate | EvaluateBatch | EvaluateByQuery | EvaluateBatchByQuery | OfrepOne | OfrepAll | Exposures
            | Me => Some(Role::Evaluator),
            ListFlags | GetFlag | Snapshots | EntityTypes | AllTags | Segments | Variants | Export | Changes
            | ChangesInStaging | Stream | ListWebhooks | GetWebhook | Deliveries | WebhookEvents | ListEnvironments
            | GetEnvironment | Compare | DatarSummary | DatarFlagSummary | MaxSnapshotId | FlagTags | Constraints
            | Distributions | ConstraintProblems | DeliveryDetail => Some(Role::Viewer),
            CreateFlag | UpdateFlag | EnableFlag | DeleteFlag | DuplicateFlag | CreateSegment | CreateVariant
            | CreateConstraint | AddTag | SetDistribution | CreateWebhook | UpdateWebhook | RotateSecret
            | DeleteWebhook | Promote | CreateStagingFlag | RestoreFlag | ReorderSegments | UpdateSegment
            | DeleteSegment | UpdateConstraint | DeleteConstraint | UpdateVariant | DeleteVariant | RemoveTag
            | TestWebhook | Redeliver => Some(Role::Editor),
            CreateEnvironment | UpdateEnvironment | DeleteEnvironment | ListTokens | CreateToken | RevokeToken => {
                Some(Role::Admin)
            }
        }
    }

    /// Whether `status` is the answer of a call the caller may make: a success, except for
    /// Flagr's data-recording summaries (501, as Flagr without recording) and the calls whose
    /// success depends on a delivery's moment (a test send or redelivery may find it in flight).
    fn allowed(self, status: u16) -> bool {
        match self {
            Call::DatarSummary | Call::DatarFlagSummary => status == 501,
            Call::Redeliver => (200..300).contains(&status) || status == 409,
            _ => (200..300).contains(&status),
        }
    }

    /// Which environments the call acts in: the default (`production`), `staging`, or all.
    fn environment(self) -> Option<&'static str> {
        use Call::*;
        match self {
            Health | OpenApi | Ui | Me | WebhookEvents | ListEnvironments => None,
            ChangesInStaging | CreateStagingFlag => Some("staging"),
            Changes | Compare | CreateEnvironment | DeleteEnvironment | ListTokens | CreateToken | RevokeToken => {
                Some("*")
            }
            _ => Some("production"),
        }
    }

    /// The method, the path under the server's base and the body, with what it acts on made
    /// by `admin` first.
    async fn prepare(self, admin: &TestApp, n: usize) -> (Method, String, Option<Value>) {
        use Call::*;
        let fresh = || async {
            let key = format!("fresh-{self:?}-{n}").to_lowercase();
            admin.create_flag(&key).await["id"].as_i64().unwrap()
        };
        let webhook = || async {
            admin
                .create_webhook(json!({"url": "http://127.0.0.1:9/hook", "events": ["flag.*"]}))
                .await
        };
        // A simple_boolean_flag flag: its id, its segment's and its variant's.
        let boolean = || async {
            let key = format!("boolean-{self:?}-{n}").to_lowercase();
            let flag = admin.create_boolean_flag(&key).await;
            let id = |value: &Value| value["id"].as_i64().unwrap();
            (id(&flag), id(&flag["segments"][0]), id(&flag["variants"][0]))
        };
        // A webhook and the id of a test delivery sent to it.
        let sent = || async {
            let webhook = webhook().await;
            let delivery = admin.post(&format!("/webhooks/{webhook}/test"), json!({})).await.ok();
            (webhook, delivery["id"].as_str().unwrap().to_owned())
        };
        let api = |path: &str| format!("/api/v1{path}");
        match self {
            Health => (Method::GET, api("/health"), None),
            OpenApi => (Method::GET, api("/openapi.json"), None),
            Ui => (Method::GET, "/".into(), None),
            Evaluate => (
                Method::POST,
                api("/evaluation"),
                Some(json!({"flagKey": "shared", "entityID": "u1", "entityContext": {}})),
            ),
            EvaluateBatch => (
                Method::POST,
                api("/evaluation/batch"),
                Some(json!({"entities": [{"entityID": "u1", "entityContext": {}}], "flagKeys": ["shared"]})),
            ),
            OfrepOne => (
                Method::POST,
                "/ofrep/v1/evaluate/flags/shared".into(),
                Some(json!({"context": {"targetingKey": "u1"}})),
            ),
            OfrepAll => (
                Method::POST,
                api("/ofrep/v1/evaluate/flags"),
                Some(json!({"context": {"targetingKey": "u1"}})),
            ),
            Exposures => (
                Method::POST,
                api("/exposures"),
                Some(json!({"exposures": [{"entityID": "u1", "flagKey": "shared"}]})),
            ),
            Me => (Method::GET, api("/me"), None),
            ListFlags => (Method::GET, api("/flags"), None),
            GetFlag => (Method::GET, api("/flags/1"), None),
            Snapshots => (Method::GET, api("/flags/1/snapshots"), None),
            EntityTypes => (Method::GET, api("/flags/entity_types"), None),
            AllTags => (Method::GET, api("/tags"), None),
            Segments => (Method::GET, api("/flags/1/segments"), None),
            Variants => (Method::GET, api("/flags/1/variants"), None),
            Export => (Method::GET, api("/export/eval_cache/json"), None),
            Changes => (Method::GET, api("/changes"), None),
            ChangesInStaging => (Method::GET, format!("/environments/staging{}", api("/changes")), None),
            Stream => (Method::GET, api("/changes/stream"), None),
            ListWebhooks => (Method::GET, api("/webhooks"), None),
            GetWebhook => (Method::GET, api(&format!("/webhooks/{}", webhook().await)), None),
            Deliveries => (
                Method::GET,
                api(&format!("/webhooks/{}/deliveries", webhook().await)),
                None,
            ),
            WebhookEvents => (Method::GET, api("/webhook_events"), None),
            ListEnvironments => (Method::GET, api("/environments"), None),
            GetEnvironment => (Method::GET, api("/environments/production"), None),
            Compare => (Method::GET, api("/compare/shared"), None),
            CreateFlag => (
                Method::POST,
                api("/flags"),
                Some(json!({"key": format!("made-{n}"), "description": "by the matrix"})),
            ),
            UpdateFlag => (
                Method::PUT,
                api(&format!("/flags/{}", fresh().await)),
                Some(json!({"description": "changed"})),
            ),
            EnableFlag => (
                Method::PUT,
                api(&format!("/flags/{}/enabled", fresh().await)),
                Some(json!({"enabled": true})),
            ),
            DeleteFlag => (Method::DELETE, api(&format!("/flags/{}", fresh().await)), None),
            DuplicateFlag => (Method::POST, api(&format!("/flags/{}/duplicate", fresh().await)), None),
            CreateSegment => (
                Method::POST,
                api(&format!("/flags/{}/segments", fresh().await)),
                Some(json!({"description": "everyone", "rolloutPercent": 100})),
            ),
            CreateVariant => (
                Method::POST,
                api(&format!("/flags/{}/variants", fresh().await)),
                Some(json!({"key": "on"})),
            ),
            CreateConstraint => {
                let flag = fresh().await;
                let segment = created_id(
                    admin,
                    &format!("/flags/{flag}/segments"),
                    json!({"description": "s", "rolloutPercent": 100}),
                )
                .await;
                (
                    Method::POST,
                    api(&format!("/flags/{flag}/segments/{segment}/constraints")),
                    Some(json!({"property": "country", "operator": "EQ", "value": "\"NL\""})),
                )
            }
            AddTag => (
                Method::POST,
                api(&format!("/flags/{}/tags", fresh().await)),
                Some(json!({"value": "team-a"})),
            ),
            SetDistribution => {
                let flag = fresh().await;
                let variant = created_id(admin, &format!("/flags/{flag}/variants"), json!({"key": "on"})).await;
                let segment = created_id(
                    admin,
                    &format!("/flags/{flag}/segments"),
                    json!({"description": "s", "rolloutPercent": 100}),
                )
                .await;
                (
                    Method::PUT,
                    api(&format!("/flags/{flag}/segments/{segment}/distributions")),
                    Some(json!({"distributions": [{"variantID": variant, "variantKey": "on", "percent": 100}]})),
                )
            }
            CreateWebhook => (
                Method::POST,
                api("/webhooks"),
                Some(json!({"url": "http://127.0.0.1:9/made", "events": ["flag.*"]})),
            ),
            UpdateWebhook => (
                Method::PUT,
                api(&format!("/webhooks/{}", webhook().await)),
                Some(json!({"description": "changed"})),
            ),
            RotateSecret => (
                Method::POST,
                api(&format!("/webhooks/{}/secret/rotate", webhook().await)),
                None,
            ),
            DeleteWebhook => (Method::DELETE, api(&format!("/webhooks/{}", webhook().await)), None),
            Promote => (
                Method::POST,
                api("/environments/staging/promote"),
                Some(json!({"from": "production", "flags": ["shared"], "dryRun": true})),
            ),
            CreateStagingFlag => (
                Method::POST,
                format!("/environments/staging{}", api("/flags")),
                Some(json!({"key": format!("staging-made-{n}"), "description": "by the matrix"})),
            ),
            CreateEnvironment => (
                Method::POST,
                api("/environments"),
                Some(json!({"key": format!("env-{n}"), "name": "made by the matrix"})),
            ),
            UpdateEnvironment => (
                Method::PUT,
                api("/environments/production"),
                Some(json!({"description": format!("changed {n}")})),
            ),
            EvaluateByQuery => (
                Method::GET,
                api("/evaluation?json=%7B%22flagKey%22%3A%22shared%22%2C%22entityID%22%3A%22u1%22%7D"),
                None,
            ),
            EvaluateBatchByQuery => (
                Method::GET,
                api(
                    "/evaluation/batch?json=%7B%22entities%22%3A%5B%7B%22entityID%22%3A%22u1%22%7D%5D%2C%22flagKeys%22%3A%5B%22shared%22%5D%7D",
                ),
                None,
            ),
            DatarSummary => (Method::GET, api("/datar/summary"), None),
            DatarFlagSummary => (Method::GET, api("/datar/flags/1/summary"), None),
            MaxSnapshotId => (Method::GET, api("/flags/snapshots/max_id"), None),
            FlagTags => (Method::GET, api("/flags/1/tags"), None),
            Constraints => {
                let (flag, segment, _) = boolean().await;
                (
                    Method::GET,
                    api(&format!("/flags/{flag}/segments/{segment}/constraints")),
                    None,
                )
            }
            Distributions => {
                let (flag, segment, _) = boolean().await;
                (
                    Method::GET,
                    api(&format!("/flags/{flag}/segments/{segment}/distributions")),
                    None,
                )
            }
            ConstraintProblems => (Method::GET, api("/constraint_problems"), None),
            DeliveryDetail => {
                let (webhook, delivery) = sent().await;
                (
                    Method::GET,
                    api(&format!("/webhooks/{webhook}/deliveries/{delivery}")),
                    None,
                )
            }
            RestoreFlag => {
                let flag = fresh().await;
                admin.delete(&format!("/flags/{flag}")).await.ok();
                (Method::PUT, api(&format!("/flags/{flag}/restore")), None)
            }
            ReorderSegments => {
                let (flag, segment, _) = boolean().await;
                (
                    Method::PUT,
                    api(&format!("/flags/{flag}/segments/reorder")),
                    Some(json!({"segmentIDs": [segment]})),
                )
            }
            UpdateSegment => {
                let (flag, segment, _) = boolean().await;
                (
                    Method::PUT,
                    api(&format!("/flags/{flag}/segments/{segment}")),
                    Some(json!({"description": "changed", "rolloutPercent": 50})),
                )
            }
            DeleteSegment => {
                let (flag, segment, _) = boolean().await;
                (Method::DELETE, api(&format!("/flags/{flag}/segments/{segment}")), None)
            }
            UpdateConstraint | DeleteConstraint => {
                let (flag, segment, _) = boolean().await;
                let constraints = format!("/flags/{flag}/segments/{segment}/constraints");
                let constraint = created_id(
                    admin,
                    &constraints,
                    json!({"property": "country", "operator": "EQ", "value": "\"NL\""}),
                )
                .await;
                let path = api(&format!("{constraints}/{constraint}"));
                match self {
                    UpdateConstraint => (
                        Method::PUT,
                        path,
                        Some(json!({"property": "country", "operator": "EQ", "value": "\"DE\""})),
                    ),
                    _ => (Method::DELETE, path, None),
                }
            }
            UpdateVariant => {
                let (flag, _, variant) = boolean().await;
                (
                    Method::PUT,
                    api(&format!("/flags/{flag}/variants/{variant}")),
                    Some(json!({"key": "on", "attachment": {"changed": true}})),
                )
            }
            DeleteVariant => {
                let flag = fresh().await;
                let variant = created_id(admin, &format!("/flags/{flag}/variants"), json!({"key": "spare"})).await;
                (Method::DELETE, api(&format!("/flags/{flag}/variants/{variant}")), None)
            }
            RemoveTag => {
                let flag = fresh().await;
                let tag = created_id(admin, &format!("/flags/{flag}/tags"), json!({"value": "team-b"})).await;
                (Method::DELETE, api(&format!("/flags/{flag}/tags/{tag}")), None)
            }
            TestWebhook => (Method::POST, api(&format!("/webhooks/{}/test", webhook().await)), None),
            Redeliver => {
                let (webhook, delivery) = sent().await;
                (
                    Method::POST,
                    api(&format!("/webhooks/{webhook}/deliveries/{delivery}/redeliver")),
                    None,
                )
            }
            DeleteEnvironment => {
                let key = format!("doomed-{n}");
                admin.post("/environments", json!({"key": key})).await.ok();
                (Method::DELETE, api(&format!("/environments/{key}")), None)
            }
            ListTokens => (Method::GET, api("/tokens"), None),
            CreateToken => (
                Method::POST,
                api("/tokens"),
                Some(json!({"name": format!("made-{n}"), "role": "viewer"})),
            ),
            RevokeToken => {
                let id = created_id(
                    admin,
                    "/tokens",
                    json!({"name": format!("to-revoke-{n}"), "role": "viewer"}),
                )
                .await;
                (Method::DELETE, api(&format!("/tokens/{id}")), None)
            }
        }
    }
}

/// The id of what `POST path` with `body` made.
async fn created_id(admin: &TestApp, path: &str, body: Value) -> i64 {
    admin.post(path, body).await.ok()["id"].as_i64().expect("an id")
}

/// Who calls: the role they hold and the environments they may act in (`None`: no credentials
/// that count).
struct Caller {
    label: &'static str,
    client: TestApp,
    role: Option<Role>,
    staging_only: bool,
    /// The message a refused credential gets instead of a role check.
    refused_because: Option<&'static str>,
}

#[tokio::test]
async fn every_route_answers_each_kind_of_caller_exactly() {
    let clock = Arc::new(ManualClock::new(OffsetDateTime::now_utc()));
    let app = spawn_app_with_clock(clock.clone(), tokens_on).await;
    let admin = app.bearer(BOOTSTRAP);
    admin.post("/environments", json!({"key": "staging"})).await.ok();
    admin.create_flag("shared").await;
    admin.environment("staging").create_flag("shared").await;
    let in_an_hour = time::format_description::well_known::Rfc3339;
    let expires = (clock_now(&clock) + time::Duration::hours(1))
        .format(&in_an_hour)
        .unwrap();
    let mut callers = vec![Caller {
        label: "no token",
        client: TestApp::at(&app.base),
        role: None,
        staging_only: false,
        refused_because: None,
    }];
    for role in ["admin", "editor", "viewer", "evaluator"] {
        callers.push(Caller {
            label: role,
            client: app.bearer(&token(&admin, json!({"name": role, "role": role})).await),
            role: Role::from_name(role),
            staging_only: false,
            refused_because: None,
        });
    }
    callers.push(Caller {
        label: "editor of staging",
        client: app.bearer(
            &token(
                &admin,
                json!({"name": "stager", "role": "editor", "environments": ["staging"]}),
            )
            .await,
        ),
        role: Some(Role::Editor),
        staging_only: true,
        refused_because: None,
    });
    let revoked = token(&admin, json!({"name": "gone", "role": "admin"})).await;
    let revoked_id = admin.get("/tokens").await.ok().as_array().unwrap()[0]["id"].clone();
    admin.delete(&format!("/tokens/{revoked_id}")).await.ok();
    callers.push(Caller {
        label: "revoked admin",
        client: app.bearer(&revoked),
        role: None,
        staging_only: false,
        refused_because: Some("revoked"),
    });
    let expiring = token(&admin, json!({"name": "brief", "role": "admin", "expiresAt": expires})).await;
    callers.push(Caller {
        label: "expired admin",
        client: app.bearer(&expiring),
        role: None,
        staging_only: false,
        refused_because: Some("expired"),
    });
    callers.push(Caller {
        label: "unknown token",
        client: app.bearer("bnt_never-issued-0000000000000000000000000000"),
        role: None,
        staging_only: false,
        refused_because: Some("not known"),
    });
    clock.advance(Duration::from_secs(2 * 3600));

    let document = admin.get("/openapi.json").await.ok();
    let mut untried: BTreeSet<(String, String)> = document["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(path, operations)| {
            operations
                .as_object()
                .unwrap()
                .keys()
                .filter(|method| ["get", "post", "put", "delete", "patch"].contains(&method.as_str()))
                .map(move |method| (method.to_uppercase(), path.clone()))
        })
        .collect();
    let mut n = 0;
    for call in Call::ALL {
        for caller in &callers {
            n += 1;
            let (method, path, body) = call.prepare(&admin, n).await;
            untried.retain(|(documented_method, template)| {
                !(*documented_method == method.as_str() && matches_template(template, &path))
            });
            let mut request = caller
                .client
                .client
                .request(method.clone(), format!("{}{path}", app.base));
            if let Some(body) = body {
                request = request.json(&body);
            }
            let response = request.send().await.expect("the server answers");
            let status = response.status().as_u16();
            // The stream never ends: its status is all there is to see.
            let text = if matches!(call, Call::Stream) && status == 200 {
                String::new()
            } else {
                response.text().await.unwrap_or_default()
            };
            let what = format!("{method} {path} as {}", caller.label);
            let expected = expected_status(call, caller);
            match expected {
                Expected::Allowed => assert!(call.allowed(status), "{what}: {status} {text}"),
                Expected::Status(expected) => assert_eq!(status, expected, "{what}: {text}"),
            }
            if let Some(reason) = caller.refused_because {
                assert!(text.contains(reason), "{what} says why: {text}");
            }
            if expected == Expected::Status(403) && !caller.staging_only {
                let needed = call.needs().unwrap().name();
                assert!(
                    text.contains(&format!("needs the {needed} role")),
                    "{what} names the role: {text}"
                );
            }
        }
    }
    assert!(
        untried.is_empty(),
        "documented routes the matrix does not try: {untried:?}"
    );
}

/// Whether `path` (as sent, under any base) is an instance of the document's `template`.
fn matches_template(template: &str, path: &str) -> bool {
    let path = path.split('?').next().unwrap_or(path);
    let path = path.strip_prefix("/environments/staging").unwrap_or(path);
    let path = path.strip_prefix("/api/v1").unwrap_or(path);
    let (template, path): (Vec<&str>, Vec<&str>) = (template.split('/').collect(), path.split('/').collect());
    template.len() == path.len()
        && template
            .iter()
            .zip(&path)
            .all(|(expected, sent)| expected.starts_with('{') || expected == sent)
}

#[derive(Debug, PartialEq, Eq)]
enum Expected {
    Allowed,
    Status(u16),
}

fn expected_status(call: Call, caller: &Caller) -> Expected {
    // A credential that does not work is refused wherever it is sent.
    if caller.refused_because.is_some() {
        return Expected::Status(401);
    }
    let Some(needed) = call.needs() else {
        return Expected::Allowed;
    };
    let Some(role) = caller.role else {
        return Expected::Status(401);
    };
    if !role.includes(needed) {
        return Expected::Status(403);
    }
    match (caller.staging_only, call.environment()) {
        (true, Some("production" | "*")) => Expected::Status(403),
        _ => Expected::Allowed,
    }
}

fn clock_now(clock: &ManualClock) -> OffsetDateTime {
    use bunting::clock::Clock;
    clock.now()
}

#[tokio::test]
async fn the_secret_is_shown_once_and_only_its_hash_is_stored() {
    let app = spawn_app_with(tokens_on).await;
    let admin = app.bearer(BOOTSTRAP);
    let created = admin
        .post(
            "/tokens",
            json!({"name": "ci-deploy", "role": "editor", "environments": ["production"]}),
        )
        .await
        .ok();
    let secret = created["token"].as_str().unwrap();
    assert!(secret.starts_with("bnt_") && secret.len() >= 40, "{secret}");
    assert_eq!(created["name"], "ci-deploy");
    assert_eq!(created["environments"], json!(["production"]));
    let listed = admin.get("/tokens").await.ok();
    let listed = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|token| token["name"] == "ci-deploy")
        .unwrap()
        .clone();
    assert_eq!(listed.get("token"), None, "the secret is never shown again");
    assert_eq!(listed["createdBy"], "bootstrap-admin");

    let rows = query_text_on(
        app.database_url(),
        "SELECT name, role, environments, secret_hash, created_by FROM api_tokens",
    )
    .await;
    let everything: String = rows.iter().flatten().flatten().cloned().collect::<Vec<_>>().join(" ");
    for secret in [secret, BOOTSTRAP] {
        assert!(!everything.contains(secret), "no secret in the clear: {everything}");
        assert!(!everything.contains(&secret["bnt_".len()..]));
        let hash = hex(&sha2::Sha256::digest(secret.as_bytes()));
        assert!(everything.contains(&hash), "its SHA-256 is what is kept");
    }
    let changes = admin.get("/changes?event=token.created").await.ok();
    let logged = changes.to_string();
    assert!(!logged.contains(secret), "the change log never holds a secret");
    assert!(logged.contains("ci-deploy"));
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

#[tokio::test]
async fn a_token_for_one_environment_acts_only_there() {
    let app = spawn_app_with(tokens_on).await;
    let admin = app.bearer(BOOTSTRAP);
    admin.post("/environments", json!({"key": "staging"})).await.ok();
    admin.create_flag("checkout").await;
    let secret = token(
        &admin,
        json!({"name": "stager", "role": "editor", "environments": ["staging"]}),
    )
    .await;
    let stager = app.bearer(&secret);

    stager.environment("staging").create_flag("checkout").await;
    let refused = stager.post("/flags", json!({"key": "sneaky"})).await.error(403);
    assert!(refused.contains("environment \"production\""), "{refused}");
    let by_header = stager
        .send(
            stager
                .client
                .get(format!("{}/api/v1/flags", app.base))
                .header("X-Bunting-Environment", "staging"),
        )
        .await;
    assert_eq!(
        by_header.status, 200,
        "the header names the environment as the base path does"
    );
    stager.environment("staging").get("/changes").await.ok();
    let across = stager.get("/changes").await.error(403);
    assert!(across.contains("every environment"), "{across}");
    let audit = stager
        .environment("staging")
        .post(
            "/webhooks",
            json!({"url": "http://127.0.0.1:9/all", "events": ["*"], "allEnvironments": true}),
        )
        .await
        .error(403);
    assert!(audit.contains("a webhook for every environment"), "{audit}");
    let from_production = stager
        .post(
            "/environments/staging/promote",
            json!({"from": "production", "all": true, "dryRun": true}),
        )
        .await
        .error(403);
    assert!(from_production.contains("\"production\""), "{from_production}");
    let audit_id = admin
        .create_webhook(json!({"url": "http://127.0.0.1:9/all", "events": ["*"], "allEnvironments": true}))
        .await;
    let repoint = stager
        .put(
            &format!("/webhooks/{audit_id}"),
            json!({"url": "http://127.0.0.1:9/mine"}),
        )
        .await;
    assert_eq!(repoint.status, 403, "{:?}", repoint.body);
}

#[tokio::test]
async fn every_change_names_who_made_it() {
    let app = spawn_app_with(tokens_on).await;
    let admin = app.bearer(BOOTSTRAP);
    let editor = app.bearer(&token(&admin, json!({"name": "release-bot", "role": "editor"})).await);
    let flag = editor.create_flag("made-by-bot").await["id"].as_i64().unwrap();
    let history = admin.get(&format!("/flags/{flag}/snapshots")).await.ok();
    assert_eq!(history[0]["updatedBy"], "release-bot");
    let bot = admin.get("/tokens").await.ok().as_array().unwrap()[0]["id"].clone();
    admin.delete(&format!("/tokens/{bot}")).await.ok();
    let changes = admin.get("/changes?event=token.*").await.ok();
    let made: Vec<(String, String)> = changes
        .as_array()
        .unwrap()
        .iter()
        .map(|change| {
            (
                change["events"][0]["event"].as_str().unwrap().to_owned(),
                change["actor"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert!(
        made.contains(&("token.revoked".into(), "bootstrap-admin".into())),
        "{made:?}"
    );
    assert!(
        made.contains(&("token.created".into(), "bootstrap-admin".into())),
        "{made:?}"
    );
    assert!(
        made.contains(&("token.created".into(), "BUNTING_BOOTSTRAP_ADMIN_TOKEN".into())),
        "{made:?}"
    );
    let gone = editor.post("/flags", json!({"key": "after-revocation"})).await;
    assert_eq!(gone.status, 401);

    // Without tokens, nobody identified is `anonymous`, never an empty actor.
    let open = spawn_app().await;
    let flag = open.create_flag("open").await["id"].as_i64().unwrap();
    assert_eq!(
        open.get(&format!("/flags/{flag}/snapshots")).await.ok()[0]["updatedBy"],
        "anonymous"
    );
}

#[tokio::test]
async fn flagr_identities_get_the_identity_role_and_tokens_pass_flagrs_gate() {
    let app = spawn_app_with(|config| {
        tokens_on(config);
        config.identity.basic_auth = Some(BasicAuth {
            username: "ops".into(),
            password: "hunter2".into(),
            whitelist_paths: vec!["/api/v1/health".into()],
            exact_whitelist_paths: vec![],
        });
    })
    .await;
    let basic = |method: Method, password: &str| {
        app.client
            .request(method, format!("{}/api/v1/flags", app.base))
            .basic_auth("ops", Some(password))
    };
    let reply = app.send(basic(Method::GET, "hunter2")).await;
    assert_eq!(reply.status, 200, "a basic-auth user is a viewer by default");
    let reply = app
        .send(basic(Method::POST, "hunter2").json(&json!({"key": "by-ops"})))
        .await;
    assert_eq!(reply.status, 403, "{:?}", reply.body);
    assert!(
        reply.body["message"]
            .as_str()
            .unwrap()
            .contains("user \"ops\" has the viewer role")
    );
    assert_eq!(app.send(basic(Method::GET, "wrong")).await.status, 401);
    // A token needs no basic-auth credentials: Flagr's gate lets it through.
    app.bearer(BOOTSTRAP).create_flag("by-admin").await;
}

#[tokio::test]
async fn anonymous_callers_get_only_the_role_the_operator_opens() {
    let app = spawn_app_with(|config| {
        tokens_on(config);
        config.auth.as_mut().unwrap().anonymous_role = Some(Role::Evaluator);
    })
    .await;
    app.bearer(BOOTSTRAP).create_flag("public").await;
    let anonymous = TestApp::at(&app.base);
    let evaluated = anonymous
        .post(
            "/evaluation",
            json!({"flagKey": "public", "entityID": "u1", "entityContext": {}}),
        )
        .await;
    assert_eq!(evaluated.status, 200);
    assert_eq!(anonymous.get("/flags").await.status, 403);
    let me = anonymous.get("/me").await.ok();
    assert_eq!(
        me,
        json!({"authentication": "tokens", "name": "anonymous", "role": "evaluator", "environments": null})
    );
}

#[tokio::test]
async fn the_bootstrap_token_is_made_once_and_stays_revoked() {
    let app = spawn_app_with(tokens_on).await;
    let admin = app.bearer(BOOTSTRAP);
    let listed = admin.get("/tokens").await.ok();
    assert_eq!(listed.as_array().unwrap().len(), 1);
    let second = spawn_app_on(&app, tokens_on).await;
    let again = second.bearer(BOOTSTRAP).get("/tokens").await.ok();
    assert_eq!(again.as_array().unwrap().len(), 1, "not made twice: {again}");
    assert_eq!(again[0]["createdAt"], listed[0]["createdAt"]);
    let id = listed[0]["id"].clone();
    let other = token(&admin, json!({"name": "keeper", "role": "admin"})).await;
    admin.delete(&format!("/tokens/{id}")).await.ok();
    let third = spawn_app_on(&app, tokens_on).await;
    let refused = third.bearer(BOOTSTRAP).get("/tokens").await.error(401);
    assert!(refused.contains("revoked"), "{refused}");
    assert_eq!(
        third.bearer(&other).get("/tokens").await.ok().as_array().unwrap().len(),
        2
    );
}

#[tokio::test]
async fn bad_token_requests_are_refused_with_what_to_fix() {
    let app = spawn_app_with(tokens_on).await;
    let admin = app.bearer(BOOTSTRAP);
    for (body, says) in [
        (json!({"role": "viewer"}), "name"),
        (json!({"name": "x", "role": "owner"}), "role must be one of"),
        (
            json!({"name": "x", "role": "viewer", "environments": ["nowhere"]}),
            "environment \"nowhere\" does not exist",
        ),
        (
            json!({"name": "x", "role": "viewer", "environments": []}),
            "environments",
        ),
        (
            json!({"name": "x", "role": "viewer", "expiresAt": "tomorrow"}),
            "RFC 3339",
        ),
        (
            json!({"name": "x", "role": "viewer", "expiresAt": "2000-01-01T00:00:00Z"}),
            "not in the future",
        ),
        (json!({"name": "bootstrap-admin", "role": "viewer"}), "already named"),
        (json!({"name": "x", "role": "viewer", "scope": "all"}), "scope"),
    ] {
        let message = admin.post("/tokens", body.clone()).await.error(400);
        assert!(message.contains(says), "{body}: {message}");
    }
    assert_eq!(admin.delete("/tokens/999").await.status, 404);
}

#[tokio::test]
async fn the_cli_prints_a_token_that_works() {
    let app = spawn_app_with(tokens_on).await;
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_bunting"))
        .args(["token", "create", "--role", "viewer", "--name", "from-cli"])
        .envs(database_env(app.database_url()))
        .env("RUST_BACKTRACE", "1")
        .output()
        .expect("bunting runs");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let secret = String::from_utf8(output.stdout).unwrap().trim().to_owned();
    assert!(secret.starts_with("bnt_"), "{secret}");
    let viewer = app.bearer(&secret);
    viewer.get("/flags").await.ok();
    assert_eq!(viewer.post("/flags", json!({"key": "nope"})).await.status, 403);

    let refused = std::process::Command::new(env!("CARGO_BIN_EXE_bunting"))
        .args(["token", "create", "--role", "owner"])
        .envs(database_env(app.database_url()))
        .env("RUST_BACKTRACE", "1")
        .output()
        .expect("bunting runs");
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.starts_with("error: --role must be one of"), "{stderr}");
    assert!(!stderr.contains("backtrace"), "{stderr}");
}

#[tokio::test]
async fn a_viewer_reads_webhooks_but_no_secret() {
    let app = spawn_app_with(tokens_on).await;
    let admin = app.bearer(BOOTSTRAP);
    let secret = "whsec_c2VjcmV0LXRoYXQtbXVzdC1uZXZlci1sZWFr";
    let id = admin
        .create_webhook(json!({
            "url": "http://hook-user:url-password-never-shown@127.0.0.1:9/hook",
            "events": ["flag.*"],
            "secret": secret,
        }))
        .await;
    admin.create_flag("fires-a-delivery").await;
    let viewer = app.bearer(&token(&admin, json!({"name": "auditor", "role": "viewer"})).await);
    let mut seen = String::new();
    for path in [
        "/webhooks".to_owned(),
        format!("/webhooks/{id}"),
        format!("/webhooks/{id}/deliveries"),
        "/changes".to_owned(),
        "/tokens".to_owned(),
    ] {
        let reply = viewer.get(&path).await;
        seen.push_str(&format!("{path} {} {}\n", reply.status, reply.body));
    }
    assert!(seen.contains("\"hasSecret\":true"), "{seen}");
    assert!(!seen.contains(secret), "{seen}");
    assert!(!seen.contains("url-password-never-shown"), "{seen}");
    assert!(seen.contains("/tokens 403"), "a viewer does not list tokens: {seen}");
    let rotate = viewer.post(&format!("/webhooks/{id}/secret/rotate"), json!({})).await;
    assert_eq!(rotate.status, 403, "the one answer with a secret in it needs an editor");
}
