//! The evaluation cache: the immutable snapshot every evaluation reads, swapped atomically when
//! flags change. Readers never wait: a load is an atomic pointer read. Writers (this instance's
//! committed changes, the poller following other instances' changes, a reloaded JSON file)
//! take turns on a mutex and derive the next snapshot from the current one.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use arc_swap::ArcSwap;
use bunting_core::eval::{CompileError, EvalSnapshot, Severity};
use bunting_core::flag::{Id, StoredFlag};
use bunting_store::ChangeStamp;
use tokio::sync::watch;

pub(crate) struct EvalCache {
    snapshot: ArcSwap<EvalSnapshot>,
    versions: Mutex<Versions>,
    /// Ticks whenever the cache learns of a change (this instance's or, through the change-log
    /// follower, another's), so live change streams read the log then rather than polling it.
    changed: watch::Sender<()>,
}

/// A flag [`EvalCache::apply`] took: its id, and the version (the sequence of its latest
/// change) it replaced, 0 for a flag the cache did not have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Applied {
    pub(crate) flag_id: Id,
    pub(crate) replaced: i64,
}

/// What the cache has seen, so updates can arrive in any order: an update carrying an older
/// version of a flag than one already applied (deletions included) is dropped.
#[derive(Default)]
struct Versions {
    /// Each flag's latest change sequence seen, deleted flags included.
    flags: HashMap<Id, i64>,
    /// The change log is applied up to this sequence.
    log_seq: i64,
    /// Subscribers have been told of changes up to this sequence (this instance's own are
    /// applied before the log is read up to them): telling them again of no newer sequence
    /// would only make every stream read the log for nothing.
    told_through: i64,
}

impl EvalCache {
    /// A cache of `flags`, reflecting the change log up to `log_seq`.
    pub(crate) fn new(flags: Vec<StoredFlag>, log_seq: i64) -> EvalCache {
        let cache = EvalCache {
            snapshot: ArcSwap::from_pointee(EvalSnapshot::default()),
            versions: Mutex::default(),
            changed: watch::Sender::new(()),
        };
        cache.replace(flags, log_seq);
        cache
    }

    /// The current snapshot.
    pub(crate) fn snapshot(&self) -> arc_swap::Guard<Arc<EvalSnapshot>> {
        self.snapshot.load()
    }

    /// A receiver that sees a change each time the cache learns of one.
    pub(crate) fn subscribe(&self) -> watch::Receiver<()> {
        self.changed.subscribe()
    }

    /// The change-log sequence the cache reflects.
    pub(crate) fn log_seq(&self) -> i64 {
        self.lock().log_seq
    }

    /// The sequence of the first of `changes` whose flag the cache holds at an older version:
    /// the flags changed from there on need reading; `None` when it has every one already
    /// (this instance's own changes, applied at their commit).
    pub(crate) fn first_missing(&self, changes: &[ChangeStamp]) -> Option<i64> {
        let versions = self.lock();
        changes
            .iter()
            .find(|change| {
                versions
                    .flags
                    .get(&change.flag_id)
                    .is_none_or(|&seen| change.seq > seen)
            })
            .map(|change| change.seq)
    }

    /// Applies changed flags (newer versions replace, deleted flags leave) and records that the
    /// change log is applied up to `log_seq` when given. Returns the flags it took, each with the
    /// version it replaced (0 for a flag new to the cache): the changes after that version are
    /// the ones evaluation serves from now on.
    pub(crate) fn apply(&self, changed: Vec<StoredFlag>, log_seq: Option<i64>) -> Vec<Applied> {
        let mut versions = self.lock();
        let mut applied = Vec::new();
        let fresh: Vec<StoredFlag> = changed
            .into_iter()
            .filter(|stored| {
                let seen = versions.flags.get(&stored.flag.id).copied();
                let newer = seen.is_none_or(|seen| stored.snapshot_id > seen);
                if newer {
                    applied.push(Applied {
                        flag_id: stored.flag.id,
                        replaced: seen.unwrap_or(0),
                    });
                }
                newer
            })
            .collect();
        for stored in &fresh {
            versions.flags.insert(stored.flag.id, stored.snapshot_id);
        }
        if let Some(seq) = log_seq {
            versions.log_seq = versions.log_seq.max(seq);
        }
        let reaches = fresh.iter().map(|stored| stored.snapshot_id).chain(log_seq).max();
        let news = reaches.is_some_and(|seq| seq > versions.told_through);
        versions.told_through = versions.told_through.max(reaches.unwrap_or(0));
        if !fresh.is_empty() {
            let ids: Vec<Id> = fresh.iter().map(|stored| stored.flag.id).collect();
            let (next, errors) = self.snapshot.load().updated(fresh);
            report(&next, ids, &errors);
            self.snapshot.store(Arc::new(next));
        }
        // After the swap: a stream's client that evaluates on hearing of a change gets it.
        if news || !applied.is_empty() {
            self.changed.send_replace(());
        }
        applied
    }

    /// Replaces every flag (a reloaded flag file, the start-up load).
    pub(crate) fn replace(&self, flags: Vec<StoredFlag>, log_seq: i64) {
        let mut versions = self.lock();
        versions.flags = flags
            .iter()
            .map(|stored| (stored.flag.id, stored.snapshot_id))
            .collect();
        versions.log_seq = log_seq;
        versions.told_through = log_seq;
        let ids: Vec<Id> = flags.iter().map(|stored| stored.flag.id).collect();
        let (next, errors) = EvalSnapshot::build(flags);
        report(&next, ids, &errors);
        self.snapshot.store(Arc::new(next));
        self.changed.send_replace(());
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Versions> {
        // The versions are plain data; a panic while holding the lock leaves them usable.
        self.versions.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Flags are validated when written, so a constraint that does not compile means stored data
/// written before writes refused it (an invalid regex, say). Said loudly for each flag the
/// snapshot just compiled (`ids`): a flag left out of evaluation as an error, a flag evaluated
/// with a segment that never matches as a warning. The count is also a metric.
fn report(snapshot: &EvalSnapshot, ids: Vec<Id>, errors: &[CompileError]) {
    for error in errors {
        tracing::error!(%error, flag_id = error.flag_id, "flag left out of evaluation");
    }
    for id in ids {
        let Some(flag) = snapshot.get(id) else { continue };
        for problem in flag.problems().filter(|problem| problem.severity() == Severity::Error) {
            tracing::warn!(
                flag_id = id,
                flag_key = %flag.flag().key,
                segment_id = problem.segment_id,
                %problem,
                "stored constraint does not compile; its segment never matches"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bunting_core::flag::Flag;

    fn stored(id: Id, key: &str, snapshot_id: i64, deleted: bool) -> StoredFlag {
        let flag: Flag = serde_json::from_value(serde_json::json!({
            "id": id, "key": key, "description": "d", "enabled": true, "dataRecordsEnabled": false,
            "updatedAt": "2026-12-01T00:00:00.000Z"
        }))
        .unwrap();
        StoredFlag {
            flag,
            deleted,
            snapshot_id,
        }
    }

    #[test]
    fn older_versions_never_overwrite_newer_ones() {
        let cache = EvalCache::new(vec![stored(1, "a", 1, false)], 1);
        cache.apply(vec![stored(1, "b", 3, false)], None);
        cache.apply(vec![stored(1, "stale", 2, false)], None);
        assert_eq!(cache.snapshot().get(1).unwrap().flag().key, "b");
        cache.apply(vec![stored(1, "b", 4, true)], Some(4));
        cache.apply(vec![stored(1, "b", 3, false)], None);
        assert!(
            cache.snapshot().get(1).is_none(),
            "a stale update does not bring back a deleted flag"
        );
        assert_eq!(cache.log_seq(), 4);
    }

    #[test]
    fn apply_names_the_flags_it_took_and_the_versions_they_replaced() {
        let cache = EvalCache::new(vec![stored(1, "a", 1, false)], 1);
        let applied = cache.apply(
            vec![
                stored(1, "a", 5, false),
                stored(2, "new", 6, false),
                stored(3, "x", 2, false),
            ],
            Some(6),
        );
        assert_eq!(
            applied,
            [
                Applied {
                    flag_id: 1,
                    replaced: 1
                },
                Applied {
                    flag_id: 2,
                    replaced: 0
                },
                Applied {
                    flag_id: 3,
                    replaced: 0
                },
            ]
        );
        assert!(
            cache.apply(vec![stored(1, "a", 5, false)], Some(6)).is_empty(),
            "a version already applied is not taken again"
        );
    }

    #[test]
    fn subscribers_hear_of_each_sequence_once() {
        let cache = EvalCache::new(vec![stored(1, "a", 3, false)], 3);
        let mut changes = cache.subscribe();
        changes.mark_unchanged();
        cache.apply(vec![stored(1, "a", 5, false)], None);
        assert!(changes.has_changed().unwrap(), "this instance's change");
        changes.mark_unchanged();
        cache.apply(Vec::new(), Some(5));
        assert!(
            !changes.has_changed().unwrap(),
            "the follower reaching the same change tells nobody again"
        );
        cache.apply(Vec::new(), Some(6));
        assert!(changes.has_changed().unwrap(), "a change of no flag here (a webhook's)");
    }

    #[test]
    fn the_first_missing_change_is_the_first_newer_than_the_cache_has() {
        let cache = EvalCache::new(vec![stored(1, "a", 3, false)], 3);
        let change = |seq, flag_id| ChangeStamp {
            seq,
            flag_id,
            occurred_at: time::OffsetDateTime::UNIX_EPOCH,
        };
        assert_eq!(cache.first_missing(&[change(3, 1)]), None, "version 3 is held");
        assert_eq!(
            cache.first_missing(&[change(3, 1), change(4, 2), change(5, 1)]),
            Some(4)
        );
        assert_eq!(cache.first_missing(&[]), None);
    }
}

/// One evaluation cache per environment, created when an environment is first served.
#[derive(Default)]
pub(crate) struct EvalCaches {
    by_environment: std::sync::RwLock<std::collections::HashMap<i64, Arc<EvalCache>>>,
}

impl EvalCaches {
    pub(crate) fn get(&self, environment: i64) -> Option<Arc<EvalCache>> {
        self.read().get(&environment).cloned()
    }

    /// Adds `cache` for `environment`, unless another request added one first: that one wins,
    /// so every caller shares one cache.
    pub(crate) fn insert(&self, environment: i64, cache: EvalCache) -> Arc<EvalCache> {
        let mut caches = self
            .by_environment
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        caches.entry(environment).or_insert_with(|| Arc::new(cache)).clone()
    }

    pub(crate) fn remove(&self, environment: i64) {
        self.by_environment
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(&environment);
    }

    /// Every environment's cache, for the change-log follower.
    pub(crate) fn all(&self) -> Vec<(i64, Arc<EvalCache>)> {
        self.read().iter().map(|(id, cache)| (*id, cache.clone())).collect()
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, std::collections::HashMap<i64, Arc<EvalCache>>> {
        self.by_environment
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}
