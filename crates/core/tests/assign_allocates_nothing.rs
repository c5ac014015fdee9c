//! The engine's promise that assigning a variant allocates nothing, checked with a counting
//! allocator (allocation-counter installs it in this test binary only).

// A test that cannot go on should stop loudly.
#![allow(clippy::expect_used)]

use bunting_core::eval::CompiledFlag;

#[path = "../benches/fixture/mod.rs"]
mod fixture;

#[test]
fn assigning_a_variant_allocates_nothing() {
    let compiled = CompiledFlag::new(fixture::flag(1), 1).expect("the benchmark flag compiles");
    let context = fixture::context();
    // The first match on a thread sets up the regex engine's per-thread cache: start-up cost.
    assert_eq!(compiled.assign("user-0", &context).segment_id, Some(3));

    let mut assigned = 0;
    let allocations = allocation_counter::measure(|| {
        for n in 0..1000 {
            let entity = if n % 2 == 0 { "user-12345" } else { "user-67890" };
            assigned += usize::from(compiled.assign(entity, &context).variant.is_some());
        }
    });
    assert_eq!(assigned, 1000);
    assert_eq!(allocations.count_total, 0, "allocations during 1000 assignments");
}
