//! Where the memory of 10,000 benchmark flags goes: live bytes and allocations after parsing
//! 10,000 copies of the fixture flag's stored document (`bench/fixture.py`, as the store holds
//! it), and after building the evaluation snapshot from them.
//!
//! Run: cargo run --release -p bunting-core --example flag_memory

// A measuring tool: a broken fixture should stop it loudly.
#![allow(clippy::expect_used)]

use bunting_core::eval::EvalSnapshot;
use bunting_core::flag::{Flag, StoredFlag};

const FLAGS: usize = 10_000;
const DOCUMENT: &str = include_str!("benchmark_flag.json");

/// Runs `step`, reports what it leaves allocated (live bytes and allocations) per flag, and
/// returns its result.
fn kept<T>(name: &str, step: impl FnOnce() -> T) -> T {
    let mut result = None;
    let info = allocation_counter::measure(|| result = Some(step()));
    println!(
        "{name}: {:.1} MB live, {} bytes and {} allocations per flag",
        info.bytes_current as f64 / 1e6,
        info.bytes_current / FLAGS as i64,
        info.count_current / FLAGS as i64
    );
    result.expect("the step ran")
}

fn main() {
    let flags: Vec<StoredFlag> = kept("parsed flags", || {
        (1..=FLAGS as i64)
            .map(|id| {
                let mut flag: Flag = serde_json::from_str(DOCUMENT).expect("the fixture flag parses");
                flag.id = id;
                flag.key = format!("flag-{id}");
                StoredFlag {
                    flag,
                    deleted: false,
                    snapshot_id: id,
                }
            })
            .collect()
    });
    let snapshot = kept("snapshot built from them (parsed flags moved in)", || {
        let (snapshot, errors) = EvalSnapshot::build(flags);
        assert!(errors.is_empty());
        snapshot
    });
    assert_eq!(snapshot.len(), FLAGS);
}
