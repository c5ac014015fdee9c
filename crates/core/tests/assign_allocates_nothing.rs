//! The engine's promise that assigning a variant allocates nothing, checked with a counting
//! allocator (allocation-counter installs it in this test binary only).

// A test that cannot go on should stop loudly.
#![allow(clippy::expect_used)]

use bunting_core::eval::CompiledFlag;
use bunting_core::flag::Flag;
use serde_json::json;

/// The benchmark flag's shape: three segments of three constraints (regexes, IN lists,
/// numbers); the context fails the first two segments late and matches the third.
fn flag() -> Flag {
    let email = r#"".+@company\.com""#;
    let segment = |id: i64, constraints: [(&str, &str, &str); 3]| {
        let constraints: Vec<_> = constraints
            .iter()
            .zip(1..)
            .map(|(&(property, operator, value), n)| {
                json!({"id": id * 10 + n, "property": property, "operator": operator, "value": value})
            })
            .collect();
        json!({
            "id": id, "description": "", "rank": id, "rolloutPercent": 100,
            "constraints": constraints,
            "distributions": [
                {"id": id * 10 + 1, "percent": 50, "variantID": 1, "variantKey": "control"},
                {"id": id * 10 + 2, "percent": 50, "variantID": 2, "variantKey": "treatment"}
            ]
        })
    };
    serde_json::from_value(json!({
        "id": 1, "key": "checkout", "description": "", "enabled": true,
        "dataRecordsEnabled": false, "updatedAt": "2026-01-01T00:00:00.000Z",
        "variants": [
            {"id": 1, "key": "control", "attachment": {}},
            {"id": 2, "key": "treatment", "attachment": {}}
        ],
        "segments": [
            segment(1, [("email", "EREG", email), ("country", "IN", r#"["NL", "BE", "DE"]"#), ("age", "GTE", "18")]),
            segment(2, [("age", "GTE", "21"), ("email", "EREG", email), ("tier", "EQ", r#""gold""#)]),
            segment(3, [("country", "IN", r#"["US", "CA"]"#), ("email", "EREG", email), ("age", "GT", "18")])
        ]
    }))
    .expect("the fixture is a flag")
}

#[test]
fn assigning_a_variant_allocates_nothing() {
    let compiled = CompiledFlag::new(flag(), 1).expect("the fixture compiles");
    let context = json!({"country": "US", "email": "jo@company.com", "age": 30, "tier": "silver"});
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
