//! Evaluation benchmarks: one flag whose third segment matches (3 segments × 3 constraints with
//! regexes and IN lists, a 2-variant distribution), a 100-flag batch for one entity, and the
//! snapshot rebuild a write triggers with 10,000 flags.
//!
//! Must not touch: anything but the public API; results are not asserted here.

use std::hint::black_box;

use bunting_core::eval::{CompiledFlag, EvalContext, EvalEnv, EvalSnapshot, EvaluationBatchRequest, EvaluationEntity};
use bunting_core::flag::{Constraint, Distribution, Flag, Id, Segment, StoredFlag, Variant};
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use serde_json::{Map, Value, json};
use time::OffsetDateTime;

fn segment(id: Id, constraints: [(&str, &str, &str); 3]) -> Segment {
    Segment {
        id,
        description: format!("segment {id}"),
        constraints: constraints
            .iter()
            .zip(1..)
            .map(|(&(property, operator, value), n)| Constraint {
                id: id * 10 + n,
                property: property.into(),
                operator: operator.into(),
                value: value.into(),
            })
            .collect(),
        distributions: vec![
            Distribution {
                id: id * 10 + 1,
                percent: 50,
                variant_id: 1,
                variant_key: "control".into(),
            },
            Distribution {
                id: id * 10 + 2,
                percent: 50,
                variant_id: 2,
                variant_key: "treatment".into(),
            },
        ],
        rank: id,
        rollout_percent: 100,
    }
}

/// Three segments; the context below fails the first on its second constraint and the second
/// on its third, and matches the third.
fn flag(id: Id) -> Flag {
    let countries = r#"["NL", "BE", "LU", "DE", "FR"]"#;
    let email = r#"".+@company\.com""#;
    let variant = |id, key: &str| Variant {
        id,
        key: key.into(),
        attachment: Map::new(),
    };
    Flag {
        id,
        key: format!("flag-{id}"),
        description: "benchmark flag".into(),
        enabled: true,
        tags: vec![],
        segments: vec![
            segment(
                1,
                [
                    ("email", "EREG", email),
                    ("country", "IN", countries),
                    ("age", "GTE", "18"),
                ],
            ),
            segment(
                2,
                [
                    ("age", "GTE", "21"),
                    ("email", "EREG", email),
                    ("tier", "EQ", r#""gold""#),
                ],
            ),
            segment(
                3,
                [
                    ("country", "IN", r#"["US", "CA", "MX"]"#),
                    ("email", "EREG", email),
                    ("age", "GT", "18"),
                ],
            ),
        ],
        variants: vec![variant(1, "control"), variant(2, "treatment")],
        data_records_enabled: false,
        entity_type: String::new(),
        notes: String::new(),
        created_by: String::new(),
        updated_by: String::new(),
        updated_at: OffsetDateTime::UNIX_EPOCH,
    }
}

fn context() -> Value {
    json!({"country": "US", "email": "jo@company.com", "age": 30, "tier": "silver"})
}

fn stored(count: Id, snapshot_id: i64) -> Vec<StoredFlag> {
    (1..=count)
        .map(|id| StoredFlag {
            flag: flag(id),
            deleted: false,
            snapshot_id,
        })
        .collect()
}

fn single(c: &mut Criterion) {
    let Ok(compiled) = CompiledFlag::new(flag(1), 1) else {
        panic!("the benchmark flag must compile");
    };
    let context = context();
    c.bench_function("assign/third_of_3_segments", |b| {
        b.iter(|| compiled.assign(black_box("user-12345"), black_box(&context)))
    });

    let (snapshot, _) = EvalSnapshot::build(stored(1, 1));
    let request = EvalContext {
        entity_id: "user-12345".into(),
        entity_context: Some(context.clone()),
        flag_id: 1,
        ..EvalContext::default()
    };
    let mut random = || 0;
    let mut env = EvalEnv {
        debug_enabled: false,
        timestamp: "2026-01-02T03:04:05Z",
        random: &mut random,
    };
    // The request is cloned outside the timing: a server moves the decoded request in.
    c.bench_function("evaluate/third_of_3_segments_with_result", |b| {
        b.iter_batched(
            || request.clone(),
            |request| snapshot.evaluate(request, &mut env),
            BatchSize::SmallInput,
        )
    });
}

fn batch(c: &mut Criterion) {
    let (snapshot, _) = EvalSnapshot::build(stored(100, 1));
    let context = context();
    c.bench_function("assign/100_flags", |b| {
        b.iter(|| {
            snapshot
                .flags()
                .filter_map(|flag| flag.assign(black_box("user-12345"), &context).variant_id)
                .count()
        })
    });

    let request = EvaluationBatchRequest {
        entities: vec![EvaluationEntity {
            entity_id: "user-12345".into(),
            entity_context: Some(context.clone()),
            ..EvaluationEntity::default()
        }],
        flag_ids: (1..=100).collect(),
        ..EvaluationBatchRequest::default()
    };
    let mut random = || 0;
    let mut env = EvalEnv {
        debug_enabled: false,
        timestamp: "2026-01-02T03:04:05Z",
        random: &mut random,
    };
    c.bench_function("evaluate_batch/100_flags_with_results", |b| {
        b.iter(|| snapshot.evaluate_batch(black_box(&request), &mut env))
    });
}

fn rebuild(c: &mut Criterion) {
    let mut group = c.benchmark_group("snapshot_10000_flags");
    group.sample_size(10);
    group.bench_function("build_from_scratch", |b| {
        b.iter_batched(|| stored(10_000, 1), EvalSnapshot::build, BatchSize::PerIteration)
    });
    let (previous, _) = EvalSnapshot::build(stored(10_000, 1));
    group.bench_function("update_after_one_write", |b| {
        b.iter_batched(
            || stored(1, 2),
            |changed| previous.updated(changed),
            BatchSize::PerIteration,
        )
    });
    group.finish();
}

criterion_group!(benches, single, batch, rebuild);
criterion_main!(benches);
