//! Evaluation benchmarks: one flag whose third segment matches (3 segments × 3 constraints with
//! regexes and IN lists, a 2-variant distribution), a 100-flag batch for one entity, and the
//! snapshot rebuild a write triggers with 10,000 flags.
//!
//! Must not touch: anything but the public API; results are not asserted here.

use std::hint::black_box;

use bunting_core::eval::{CompiledFlag, EvalContext, EvalEnv, EvalSnapshot, EvaluationBatchRequest, EvaluationEntity};
use bunting_core::flag::{Id, StoredFlag};
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use fixture::{context, flag};

mod fixture;

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
