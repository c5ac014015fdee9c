//! The evaluation engine end to end: hand-computed vectors for the segment walk, blank results,
//! JSON shapes, lookup and batch order, and property tests for distribution, rollout and
//! determinism.
//!
//! Must not touch: constraint syntax details (those are the constraint module's tests).

use proptest::prelude::*;
use serde_json::{Map, Value, json};
use time::OffsetDateTime;

use super::bucket::DistributionArray;
use super::*;
use crate::constraint::MatchError;
use crate::flag::{Constraint, Distribution, Flag, Id, Segment, StoredFlag, Tag, Variant};

fn variant(id: Id, key: &str) -> Variant {
    let mut attachment = Map::new();
    attachment.insert("color".into(), json!(key));
    Variant {
        id,
        key: key.into(),
        attachment: attachment.into(),
    }
}

fn segment(
    id: Id,
    rank: i64,
    rollout_percent: i64,
    constraints: &[(&str, &str, &str)],
    distribution: &[(Id, i64)],
) -> Segment {
    Segment {
        id,
        description: format!("segment {id}"),
        constraints: constraints
            .iter()
            .zip(1..)
            .map(|(&(property, operator, value), n)| Constraint {
                id: id * 100 + n,
                property: property.into(),
                operator: operator.into(),
                value: value.into(),
            })
            .collect(),
        distributions: distribution
            .iter()
            .map(|&(variant_id, percent)| Distribution {
                id: id * 100 + variant_id,
                percent,
                variant_id,
                variant_key: format!("v{variant_id}"),
            })
            .collect(),
        rank,
        rollout_percent,
    }
}

fn flag(id: Id, segments: Vec<Segment>) -> Flag {
    Flag {
        id,
        key: format!("flag-{id}"),
        description: "d".into(),
        enabled: true,
        tags: vec![],
        segments,
        variants: vec![variant(1, "v1"), variant(2, "v2")],
        data_records_enabled: false,
        entity_type: String::new(),
        notes: String::new(),
        created_by: String::new(),
        updated_by: String::new(),
        updated_at: OffsetDateTime::UNIX_EPOCH,
    }
}

fn compiled(flag: Flag) -> CompiledFlag {
    CompiledFlag::new(flag, 7).unwrap()
}

fn stored(flag: Flag, snapshot_id: i64) -> StoredFlag {
    StoredFlag {
        flag,
        deleted: false,
        snapshot_id,
    }
}

/// Runs `f` with an environment whose random numbers count up from 1000.
fn with_env<T>(debug_enabled: bool, f: impl FnOnce(&mut EvalEnv<'_>) -> T) -> T {
    let mut next = 1000;
    let mut random = || {
        next += 1;
        next
    };
    let mut env = EvalEnv {
        debug_enabled,
        timestamp: "2026-01-02T03:04:05Z",
        random: &mut random,
    };
    f(&mut env)
}

fn request(flag_id: Id, entity_id: &str, entity_context: Value) -> EvalContext {
    EvalContext {
        entity_id: entity_id.into(),
        entity_context: Some(entity_context),
        flag_id,
        ..EvalContext::default()
    }
}

/// The walk's result as (segment, variant) ids.
fn assigned(flag: &CompiledFlag, entity_id: &str, context: Value) -> (Option<Id>, Option<Id>) {
    let assignment = flag.assign(entity_id, &context);
    (assignment.segment_id, assignment.variant_id)
}

#[test]
fn spec_example_fifty_fifty_at_half_rollout() {
    let flag = compiled(flag(1, vec![segment(10, 0, 50, &[], &[(1, 50), (2, 50)])]));
    assert_eq!(bucket(1, "123"), 352);
    assert_eq!(assigned(&flag, "123", Value::Null), (None, None));
    let full = compiled(flag_with_rollout(100));
    assert_eq!(assigned(&full, "123", Value::Null), (Some(10), Some(1)));
}

fn flag_with_rollout(rollout: i64) -> Flag {
    flag(1, vec![segment(10, 0, rollout, &[], &[(1, 50), (2, 50)])])
}

#[test]
fn segments_run_by_rank_then_id_and_the_first_match_decides() {
    let gated = &[("country", "EQ", r#""NL""#)];
    let flag = compiled(flag(
        1,
        vec![
            segment(30, 1, 100, &[], &[(2, 100)]),
            segment(20, 0, 100, gated, &[(1, 100)]),
            // Same rank as 30 but a lower id, so it runs first among rank 1 — and it matches
            // everyone with a 0% rollout, which ends the walk without a variant.
            segment(25, 1, 0, &[], &[(1, 100)]),
        ],
    ));
    assert_eq!(assigned(&flag, "u", json!({"country": "NL"})), (Some(20), Some(1)));
    assert_eq!(assigned(&flag, "u", json!({"country": "DE"})), (None, None));
}

#[test]
fn constrained_segments_need_an_object_context() {
    let flag = compiled(flag(
        1,
        vec![
            segment(1, 0, 100, &[("tier", "NEQ", r#""free""#)], &[(1, 100)]),
            segment(2, 1, 100, &[], &[(2, 100)]),
        ],
    ));
    for context in [Value::Null, json!("paid"), json!([1]), json!(3)] {
        assert_eq!(assigned(&flag, "u", context), (Some(2), Some(2)));
    }
    assert_eq!(assigned(&flag, "u", json!({"tier": "paid"})), (Some(1), Some(1)));
    // A type error is no match, even for NEQ, and the walk goes on.
    assert_eq!(assigned(&flag, "u", json!({"tier": 1})), (Some(2), Some(2)));
    assert_eq!(assigned(&flag, "u", json!({})), (Some(2), Some(2)));
}

#[test]
fn constraints_are_anded() {
    let flag = compiled(flag(
        1,
        vec![segment(
            1,
            0,
            100,
            &[("email", "EREG", r#"".+@company\\.com""#), ("age", "GTE", "18")],
            &[(2, 100)],
        )],
    ));
    let context = |email: &str, age: i64| json!({"email": email, "age": age});
    assert_eq!(assigned(&flag, "u", context("a@company\\.com", 30)), (Some(1), Some(2)));
    assert_eq!(assigned(&flag, "u", context("a@company\\.com", 17)), (None, None));
    assert_eq!(assigned(&flag, "u", context("a@other.com", 30)), (None, None));
}

#[test]
fn no_distribution_means_no_variant() {
    let flag = compiled(flag(1, vec![segment(1, 0, 100, &[], &[])]));
    assert_eq!(assigned(&flag, "u", Value::Null), (None, None));
}

#[test]
fn a_distribution_naming_a_missing_variant_still_reports_its_id() {
    let flag = compiled(flag(1, vec![segment(1, 0, 100, &[], &[(9, 100)])]));
    let assignment = flag.assign("u", &Value::Null);
    assert_eq!(assignment.variant_id, Some(9));
    assert!(assignment.variant.is_none());
}

#[test]
fn stored_constraints_that_do_not_compile_name_the_culprit() {
    let broken = flag(
        3,
        vec![segment(4, 0, 100, &[("a", "EQ", "1"), ("b", "EQ", "CA")], &[(1, 100)])],
    );
    let error = CompiledFlag::new(broken, 1).unwrap_err();
    assert_eq!(
        (error.flag_id, error.segment_id, error.constraint_id),
        (3, 4, Some(402))
    );
    assert_eq!(
        error.to_string(),
        "flag 3, segment 4, constraint 402: unquoted string: CA"
    );
}

#[test]
fn blank_results_carry_flagr_messages_and_shapes() {
    let snapshot = snapshot_of(vec![
        disabled(flag(2, vec![segment(1, 0, 100, &[], &[(1, 100)])])),
        flag(3, vec![]),
    ]);
    with_env(true, |env| {
        let missing = snapshot.evaluate(
            EvalContext {
                flag_id: 99,
                flag_key: "nope".into(),
                ..EvalContext::default()
            },
            env,
        );
        assert_eq!(
            serde_json::to_value(&missing).unwrap(),
            json!({
                "evalContext": {"flagID": 99, "flagKey": "nope"},
                "evalDebugLog": {"msg": "flagID 99 not found or deleted", "segmentDebugLogs": null},
                "flagID": 99,
                "flagKey": "nope",
                "recordSource": "evaluation",
                "timestamp": "2026-01-02T03:04:05Z"
            })
        );
        let by_key = snapshot.evaluate(
            EvalContext {
                flag_key: "nope".into(),
                ..EvalContext::default()
            },
            env,
        );
        assert_eq!(by_key.eval_debug_log.msg, "flagID 0 not found or deleted");
        assert_eq!(by_key.flag_id, 0);
        let disabled = snapshot.evaluate(request(2, "", json!({})), env);
        assert_eq!(disabled.eval_debug_log.msg, "flagID 2 is not enabled");
        assert_eq!(disabled.flag_key, "flag-2");
        assert_eq!(disabled.flag_snapshot_id, 2);
        assert_eq!(disabled.flag_tags, vec!["team a".to_owned()]);
        assert!(disabled.data_records_enabled);
        assert_eq!(disabled.eval_context.entity_id, "", "no substitution for blanks");
        let empty = snapshot.evaluate(request(3, "u", json!({})), env);
        assert_eq!(empty.eval_debug_log.msg, "flagID 3 has no segments");
    });
}

fn disabled(mut flag: Flag) -> Flag {
    flag.enabled = false;
    flag.data_records_enabled = true;
    flag.tags = vec![Tag {
        id: 1,
        value: "team a".into(),
    }];
    flag
}

fn snapshot_of(flags: Vec<Flag>) -> EvalSnapshot {
    let flags = flags
        .into_iter()
        .map(|flag| {
            let snapshot_id = flag.id;
            stored(flag, snapshot_id)
        })
        .collect();
    let (snapshot, errors) = EvalSnapshot::build(flags);
    assert!(errors.is_empty(), "{errors:?}");
    snapshot
}

#[test]
fn evaluated_result_json() {
    let mut f = flag(1, vec![segment(10, 0, 100, &[], &[(1, 50), (2, 50)])]);
    f.entity_type = "user".into();
    let snapshot = snapshot_of(vec![f]);
    let result = with_env(false, |env| {
        let mut context = request(1, "123", json!({"a": 1}));
        context.entity_type = "ignored".into();
        context.enable_debug = true;
        snapshot.evaluate(context, env)
    });
    assert_eq!(
        serde_json::to_string(&result).unwrap(),
        concat!(
            r#"{"evalContext":{"enableDebug":true,"entityContext":{"a":1},"entityID":"123","#,
            r#""entityType":"user","flagID":1},"evalDebugLog":{"segmentDebugLogs":null},"#,
            r#""flagID":1,"flagKey":"flag-1","flagSnapshotID":1,"recordSource":"evaluation","#,
            r#""segmentID":10,"timestamp":"2026-01-02T03:04:05Z","#,
            r#""variantAttachment":{"color":"v1"},"variantID":1,"variantKey":"v1"}"#
        )
    );
    let parsed: EvalResult = serde_json::from_str(&serde_json::to_string(&result).unwrap()).unwrap();
    assert_eq!(parsed, result);
}

#[test]
fn borrowed_results_encode_as_owned_ones() {
    let mut f = flag(1, vec![segment(10, 0, 100, &[], &[(1, 50), (2, 50)])]);
    f.tags = vec![Tag {
        id: 1,
        value: "team a".into(),
    }];
    let snapshot = snapshot_of(vec![f, disabled(flag(2, vec![])), flag(3, vec![])]);
    let requests = [
        request(1, "123", json!({"a": 1, "b": ["x"]})),
        request(1, "", json!(null)),
        request(2, "u", json!({})),
        request(3, "u", json!({})),
        EvalContext {
            flag_key: "nope".into(),
            enable_debug: true,
            ..request(99, "u", json!({"a": 1}))
        },
        EvalContext {
            enable_debug: true,
            ..request(1, "u", json!({"a": 1}))
        },
    ];
    for debug_enabled in [false, true] {
        for context in &requests {
            let flag = snapshot.lookup(context.flag_id, &context.flag_key);
            // The same random entity number for both: each `with_env` starts from the same one.
            let borrowed = with_env(debug_enabled, |env| {
                serde_json::to_string(&evaluate_ref(flag, context.clone(), env)).unwrap()
            });
            let owned = with_env(debug_enabled, |env| {
                serde_json::to_string(&snapshot.evaluate(context.clone(), env)).unwrap()
            });
            assert_eq!(borrowed, owned, "{context:?}, debug {debug_enabled}");
        }
    }
}

#[test]
fn empty_entity_ids_are_generated_per_evaluation() {
    let snapshot = snapshot_of(vec![flag(1, vec![segment(1, 0, 100, &[], &[(1, 100)])])]);
    with_env(false, |env| {
        let first = snapshot.evaluate(request(1, "", json!({})), env);
        let second = snapshot.evaluate(request(1, "", json!({})), env);
        assert_eq!(first.eval_context.entity_id, "randomly_generated_1001");
        assert_eq!(second.eval_context.entity_id, "randomly_generated_1002");
    });
}

#[test]
fn debug_logs_need_both_switches() {
    let snapshot = snapshot_of(vec![flag(
        1,
        vec![
            segment(1, 0, 100, &[("country", "EQ", r#""NL""#)], &[(1, 100)]),
            segment(2, 1, 50, &[], &[(1, 50), (2, 50)]),
        ],
    )]);
    let mut context = request(1, "123", json!({"country": "DE"}));
    context.enable_debug = true;
    let logs = |enabled: bool, context: EvalContext| {
        with_env(enabled, |env| snapshot.evaluate(context, env))
            .eval_debug_log
            .segment_debug_logs
    };
    assert_eq!(logs(false, context.clone()), None);
    let mut quiet = context.clone();
    quiet.enable_debug = false;
    assert_eq!(logs(true, quiet), None);
    let logs = logs(true, context).unwrap();
    assert_eq!(logs.len(), 2);
    assert_eq!(logs[0].segment_id, 1);
    assert_eq!(
        logs[0].msg,
        r#"constraint not match. constraint: (country == "NL"), entity_context: map[country:DE]."#
    );
    assert_eq!(
        logs[1].msg,
        "matched all constraints. rollout no. {BucketNum:352 DistributionArray:{VariantIDs:[1 2] \
         PercentsAccumulated:[500 1000]} VariantID:1 RolloutPercent:50}"
    );
}

#[test]
fn debug_logs_explain_skipped_segments() {
    let flag = compiled(flag(
        1,
        vec![
            segment(1, 0, 100, &[("n", "GT", "1")], &[(1, 100)]),
            segment(2, 1, 100, &[("n", "GT", "1")], &[(1, 100)]),
            segment(3, 2, 0, &[], &[(1, 100)]),
        ],
    ));
    let (_, logs) = flag.assign_debug("u", &json!("text"));
    assert_eq!(
        logs[0].msg,
        "constraints are present in the segment_id 1, but got invalid entity_context: \
         (string) (len=4) \"text\"\n."
    );
    assert_eq!(logs[2].msg, "matched all constraints. rollout no. 0% rolloutPercent");
    let (_, logs) = flag.assign_debug("u", &json!({"n": "2"}));
    assert_eq!(logs[0].msg, MatchError::TypeMismatch.to_string());
}

#[test]
fn debug_logs_name_constraints_that_can_never_match() {
    let flag = compiled(flag(
        1,
        vec![
            segment(
                1,
                0,
                100,
                &[("age", "GT", "18"), ("country", "IN", r#""DE""#)],
                &[(1, 100)],
            ),
            segment(2, 1, 100, &[("code", "EREG", r#""(""#)], &[(1, 100)]),
            segment(3, 2, 100, &[("n", "GT", "1")], &[(1, 100)]),
        ],
    ));
    let (_, logs) = flag.assign_debug("u", &json!({"age": 30, "country": "DE", "code": "(", "n": 0}));
    assert_eq!(
        logs[0].msg,
        "operand types do not fit the operator; constraint 102 (country IN \"DE\") can never match: IN needs a \
         JSON list of strings or of numbers, such as [\"a\",\"b\"] or [1,2], but the value is a string"
    );
    assert_eq!(
        logs[1].msg,
        "invalid regular expression; constraint 201 (code EREG \"(\") does not compile: invalid regular \
         expression \"(\": unclosed group"
    );
    assert!(
        logs[2]
            .msg
            .starts_with("constraint not match. constraint: (n > 1.000), entity_context: "),
        "a segment without such constraints keeps Flagr's message: {}",
        logs[2].msg
    );
    assert!(!logs[2].msg.contains("; constraint"), "{}", logs[2].msg);
}

#[test]
fn check_flag_lists_every_problem_by_segment() {
    let checked = flag(
        1,
        vec![
            segment(
                1,
                0,
                100,
                &[("age", "GT", "18"), ("country", "IN", r#""DE""#)],
                &[(1, 100)],
            ),
            segment(2, 1, 100, &[("code", "EREG", r#""(""#), ("s", "EQ", "x")], &[(1, 100)]),
        ],
    );
    let problems = check_flag(&checked);
    let summary: Vec<_> = problems
        .iter()
        .map(|p| (p.segment_id, p.constraint_id, p.severity()))
        .collect();
    assert_eq!(
        summary,
        [
            (1, Some(102), Severity::Warning),
            (2, Some(201), Severity::Error),
            (2, Some(202), Severity::Error)
        ]
    );
    assert_eq!(
        problems[2].to_string(),
        "constraint 202 (s EQ x) does not compile: unquoted string: x"
    );
}

#[test]
fn snapshots_count_flags_with_constraints_that_do_not_compile() {
    let bad_regex = flag(2, vec![segment(1, 0, 100, &[("code", "EREG", r#""(""#)], &[(1, 100)])]);
    let unparsable = flag(3, vec![segment(2, 0, 100, &[("a", "EQ", "x")], &[(1, 100)])]);
    let never = flag(4, vec![segment(3, 0, 100, &[("a", "IN", r#""x""#)], &[(1, 100)])]);
    let (snapshot, _) = EvalSnapshot::build(vec![
        stored(flag(1, vec![]), 1),
        stored(bad_regex, 1),
        stored(unparsable, 1),
        stored(never, 1),
    ]);
    assert!(
        snapshot.get(2).is_some(),
        "a bad regex leaves the rest of its flag evaluating"
    );
    assert!(
        snapshot.get(3).is_none(),
        "a constraint that does not parse leaves its flag out"
    );
    assert_eq!(snapshot.flags_with_invalid_constraints(), 2, "warnings do not count");
    let fixed = flag(3, vec![segment(2, 0, 100, &[("a", "EQ", r#""x""#)], &[(1, 100)])]);
    let (updated, _) = snapshot.updated(vec![stored(fixed, 2)]);
    assert_eq!(updated.flags_with_invalid_constraints(), 1);
}

#[test]
fn lookup_follows_flagr() {
    let mut numeric_key = flag(5, vec![]);
    numeric_key.key = "7".into();
    let mut zero_key = flag(6, vec![]);
    zero_key.key = "0".into();
    let snapshot = snapshot_of(vec![flag(7, vec![]), numeric_key, zero_key]);
    let found = |id, key: &str| snapshot.lookup(id, key).map(CompiledFlag::id);
    assert_eq!(found(7, "flag-5"), Some(7), "the id wins over the key");
    assert_eq!(found(0, "flag-5"), Some(6), "key \"0\" answers requests without an id");
    assert_eq!(found(99, "flag-7"), Some(7));
    assert_eq!(found(99, "7"), Some(7), "a numeric key resolves by id first");
    assert_eq!(found(99, "07"), None, "only canonical decimals are ids");
    assert_eq!(found(99, "missing"), None);
}

#[test]
fn snapshots_skip_deleted_and_broken_flags_and_share_unchanged_ones() {
    let mut deleted = stored(flag(2, vec![]), 1);
    deleted.deleted = true;
    let broken = flag(3, vec![segment(1, 0, 100, &[("a", "EQ", "x")], &[])]);
    let (first, errors) = EvalSnapshot::build(vec![stored(flag(1, vec![]), 1), deleted, stored(broken, 1)]);
    assert_eq!(first.flags().map(CompiledFlag::id).collect::<Vec<_>>(), [1]);
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].flag_id, 3);

    let (second, _) = first.updated(vec![stored(flag(4, vec![]), 1)]);
    assert!(
        std::ptr::eq(first.get(1).unwrap(), second.get(1).unwrap()),
        "untouched flags are shared"
    );
    assert_eq!(second.flags().map(CompiledFlag::id).collect::<Vec<_>>(), [1, 4]);
    let (third, _) = second.updated(vec![stored(flag(1, vec![]), 2)]);
    assert!(!std::ptr::eq(second.get(1).unwrap(), third.get(1).unwrap()));
    assert_eq!(third.get(1).unwrap().snapshot_id(), 2);
    let mut gone = stored(flag(4, vec![]), 3);
    gone.deleted = true;
    let (fourth, _) = third.updated(vec![gone]);
    assert_eq!(
        fourth.flags().map(CompiledFlag::id).collect::<Vec<_>>(),
        [1],
        "a deleted flag leaves the snapshot"
    );
    assert!(fourth.lookup(4, "").is_none());
}

fn tagged(id: Id, tags: &[&str]) -> Flag {
    let mut flag = flag(id, vec![segment(id, 0, 100, &[], &[(1, 100)])]);
    flag.tags = tags
        .iter()
        .zip(1..)
        .map(|(value, tag_id)| Tag {
            id: tag_id,
            value: (*value).into(),
        })
        .collect();
    flag
}

#[test]
fn tags_select_by_union_or_intersection() {
    let snapshot = snapshot_of(vec![
        tagged(3, &["web", "beta"]),
        tagged(1, &["web"]),
        tagged(2, &["beta"]),
    ]);
    let select = |tags: &[&str], operator| {
        let tags: Vec<String> = tags.iter().map(|t| (*t).to_owned()).collect();
        snapshot
            .flags_by_tags(&tags, operator)
            .into_iter()
            .map(CompiledFlag::id)
            .collect::<Vec<_>>()
    };
    assert_eq!(select(&["web", "beta"], TagsOperator::Any), [1, 2, 3]);
    assert_eq!(select(&["web", "nope"], TagsOperator::Any), [1, 3]);
    assert_eq!(select(&["web", "beta"], TagsOperator::All), [3]);
    assert_eq!(select(&["web", "nope"], TagsOperator::All), Vec::<Id>::new());
    assert_eq!(select(&[], TagsOperator::All), Vec::<Id>::new());
}

#[test]
fn batch_is_entity_major_tags_then_ids_then_keys() {
    let snapshot = snapshot_of(vec![tagged(1, &["web"]), tagged(2, &["web"]), tagged(3, &[])]);
    let request = EvaluationBatchRequest {
        entities: vec![
            EvaluationEntity {
                entity_id: "a".into(),
                entity_type: "user".into(),
                entity_context: Some(json!({"x": 1})),
            },
            EvaluationEntity {
                entity_id: "b".into(),
                ..EvaluationEntity::default()
            },
        ],
        flag_ids: vec![3, 99, 3],
        flag_keys: vec!["flag-1".into(), "flag-1".into(), "nope".into()],
        flag_tags: vec!["web".into()],
        flag_tags_operator: Some(TagsOperator::All),
        enable_debug: false,
    };
    assert_eq!(request.evaluation_count(), 2 * (2 + 2 + 1));
    let results = with_env(false, |env| snapshot.evaluate_batch(&request, env));
    let summary: Vec<(String, Id, String, String)> = results
        .iter()
        .map(|r| {
            (
                r.eval_context.entity_id.clone(),
                r.flag_id,
                r.flag_key.clone(),
                r.eval_debug_log.msg.clone(),
            )
        })
        .collect();
    let row = |entity: &str, id: Id, key: &str, msg: &str| (entity.to_owned(), id, key.to_owned(), msg.to_owned());
    let mut expected = vec![];
    for entity in ["a", "b"] {
        expected.extend([
            row(entity, 1, "flag-1", ""),
            row(entity, 2, "flag-2", ""),
            row(entity, 3, "flag-3", ""),
            row(entity, 99, "", "flagID 99 not found or deleted"),
            row(entity, 1, "flag-1", ""),
            row(entity, 0, "nope", "flagID 0 not found or deleted"),
        ]);
    }
    assert_eq!(summary, expected);
    // Each result echoes its entity and what selected the flag.
    assert_eq!(results[0].eval_context.flag_tags, ["web"]);
    assert_eq!(results[0].eval_context.flag_tags_operator, Some(TagsOperator::All));
    assert_eq!(results[0].eval_context.entity_type, "user");
    assert_eq!(results[0].eval_context.entity_context, Some(json!({"x": 1})));
    assert_eq!(results[2].eval_context.flag_id, 3);
    assert!(results[2].eval_context.flag_tags.is_empty());
    assert_eq!(results[4].eval_context.flag_key, "flag-1");
}

#[test]
fn snapshots_can_be_shared_across_threads() {
    fn shareable<T: Send + Sync>() {}
    shareable::<EvalSnapshot>();
    shareable::<CompiledFlag>();
}

#[test]
fn requests_parse_with_go_leniency() {
    let context: EvalContext =
        serde_json::from_str(r#"{"entityID": null, "flagID": 3, "entityContext": null, "flagTagsOperator": "ALL"}"#)
            .unwrap();
    assert_eq!(context.entity_id, "");
    assert_eq!(context.entity_context, None);
    assert_eq!(context.flag_tags_operator, Some(TagsOperator::All));
    assert!(serde_json::from_str::<EvalContext>(r#"{"flagTagsOperator": "SOME"}"#).is_err());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// Over many entities each variant's share approaches its configured percent.
    #[test]
    fn shares_converge_to_percents(
        flag_id in 1_i64..1_000_000,
        cuts in prop::collection::btree_set(1_i64..100, 1..4),
    ) {
        let mut bounds: Vec<i64> = vec![0];
        bounds.extend(cuts);
        bounds.push(100);
        let distribution: Vec<(Id, i64)> = bounds
            .windows(2)
            .zip(1..)
            .map(|(pair, variant_id)| (variant_id, pair[1] - pair[0]))
            .collect();
        let flag = compiled(flag(flag_id, vec![segment(1, 0, 100, &[], &distribution)]));
        let entities = 20_000;
        let mut counts = vec![0_u32; distribution.len()];
        for i in 0..entities {
            let assignment = flag.assign(&format!("user-{i}"), &Value::Null);
            let variant = assignment.variant_id.unwrap();
            counts[usize::try_from(variant - 1).unwrap()] += 1;
        }
        for (&(_, percent), &count) in distribution.iter().zip(&counts) {
            let share = f64::from(count) * 100.0 / f64::from(entities);
            prop_assert!((share - percent as f64).abs() < 2.0, "{share} vs {percent}");
        }
    }

    /// Within each variant's range, the rolled-out buckets are a prefix, and raising the
    /// rollout only adds entities.
    #[test]
    fn rollout_is_a_prefix_of_each_range(
        flag_id in 1_i64..1_000_000,
        first_percent in 0_i64..=100,
        rollout in 0_i64..=100,
        extra in 0_i64..=100,
    ) {
        let array = DistributionArray::new(&[
            Distribution { id: 1, percent: first_percent, variant_id: 1, variant_key: "a".into() },
            Distribution { id: 2, percent: 100 - first_percent, variant_id: 2, variant_key: "b".into() },
        ]);
        let salt = flag_id.to_string();
        let raised = (rollout + extra).min(100);
        // Per variant: the highest assigned bucket and the lowest unassigned one.
        let mut highest_in = [None::<u32>; 2];
        let mut lowest_out = [None::<u32>; 2];
        for i in 0..3000 {
            let entity = format!("e{i}");
            let outcome = array.rollout(salt.as_bytes(), &entity, rollout);
            let bucket = bucket(flag_id, &entity);
            let chosen = array.rollout(salt.as_bytes(), &entity, 100).variant_id().unwrap();
            let slot = usize::try_from(chosen - 1).unwrap();
            match outcome.variant_id() {
                Some(variant) => {
                    prop_assert_eq!(variant, chosen);
                    highest_in[slot] = highest_in[slot].max(Some(bucket));
                    prop_assert!(array.rollout(salt.as_bytes(), &entity, raised).variant_id().is_some());
                }
                None => {
                    lowest_out[slot] = Some(lowest_out[slot].map_or(bucket, |b| b.min(bucket)));
                }
            }
        }
        for slot in 0..2 {
            if let (Some(highest), Some(lowest)) = (highest_in[slot], lowest_out[slot]) {
                prop_assert!(highest < lowest, "variant {}: {highest} >= {lowest}", slot + 1);
            }
        }
    }

    /// The same request always gets the same result, however the flag was built and whatever
    /// else the snapshot holds.
    #[test]
    fn evaluation_is_deterministic(
        entity_id in "[a-z0-9-]{1,24}",
        age in 0_i64..100,
        rollout in 0_i64..=100,
        other_flags in 0_i64..5,
    ) {
        let build = || flag(1, vec![
            segment(1, 0, rollout, &[("age", "GTE", "18")], &[(1, 30), (2, 70)]),
            segment(2, 1, 100, &[], &[(2, 100)]),
        ]);
        let alone = snapshot_of(vec![build()]);
        let mut crowd = vec![build()];
        crowd.extend((2..2 + other_flags).map(|id| flag(id, vec![])));
        let crowded = snapshot_of(crowd);
        let context = request(1, &entity_id, json!({"age": age}));
        let first = with_env(true, |env| alone.evaluate(context.clone(), env));
        let again = with_env(true, |env| alone.evaluate(context.clone(), env));
        let elsewhere = with_env(true, |env| crowded.evaluate(context.clone(), env));
        prop_assert_eq!(&first, &again);
        prop_assert_eq!(&first, &elsewhere);
    }

    /// Any constraint text compiles or fails cleanly, and evaluation never panics.
    #[test]
    fn constraints_never_panic(
        property in ".{0,12}",
        operator in prop::sample::select(vec![
            "EQ", "NEQ", "LT", "LTE", "GT", "GTE", "EREG", "NEREG", "IN", "NOTIN", "CONTAINS",
            "NOTCONTAINS",
        ]),
        value in r#"[ -~é\n]{0,24}"#,
    ) {
        if let Ok(constraint) = crate::constraint::compile(&property, operator, &value) {
            let _ = constraint.matches(&Map::new());
            let _ = constraint.to_string();
        }
    }
}
