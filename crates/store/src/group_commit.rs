//! Group commit for flag changes: changes requested while another transaction is committing
//! wait for it, then commit together in one transaction — one counters lock, one read of the
//! webhooks, one commit (one WAL flush on PostgreSQL) for all of them — while each keeps its own
//! change event, deliveries and answer. Readers see the group's changes appear at once, each
//! with its deliveries, never one without the other.
//!
//! Each change queues itself and starts a task that waits for the turn; whoever gets the turn
//! commits everything queued by then, and the tasks of the changes it took find nothing left
//! when the turn reaches them. A group in which any change fails is rolled back and its changes are
//! made one at a time, so one change's refusal is never another's.

use std::sync::{Mutex, PoisonError};

use bunting_core::flag::Id;
use bunting_core::mutation::{Command, Origin, Outcome};
use tokio::sync::oneshot;

use crate::{EnvironmentId, Store, StoreError};

/// A flag change waiting for its group.
pub(crate) struct Request {
    pub(crate) environment: EnvironmentId,
    pub(crate) flag_id: Option<Id>,
    pub(crate) command: Command,
    pub(crate) origin: Origin,
}

struct Queued {
    request: Request,
    answer: oneshot::Sender<Result<Outcome, StoreError>>,
}

#[derive(Default)]
pub(crate) struct GroupCommit {
    queue: Mutex<Vec<Queued>>,
    /// Held while a group commits.
    turn: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for GroupCommit {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("GroupCommit")
    }
}

impl GroupCommit {
    fn take(&self) -> Vec<Queued> {
        std::mem::take(&mut *self.queue.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

impl Store {
    /// Makes `request` in the next group and answers its outcome.
    pub(crate) async fn mutate_in_group(&self, request: Request) -> Result<Outcome, StoreError> {
        let (answer, answered) = oneshot::channel();
        self.group
            .queue
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(Queued { request, answer });
        // In a task of its own, so a caller that goes away neither abandons the changes queued
        // with its own nor leaves its own waiting for the next change to come along.
        let store = self.clone();
        tokio::spawn(async move { store.commit_queued().await });
        answered.await.unwrap_or_else(|_| {
            Err(StoreError::unreadable(
                "the change was abandoned before it was made".to_owned(),
            ))
        })
    }

    /// Waits for the turn, then commits whatever is queued by then: nothing when an earlier
    /// turn already took this task's change with its own.
    async fn commit_queued(&self) {
        let _turn = self.group.turn.lock().await;
        let group = self.group.take();
        if !group.is_empty() {
            self.commit_group(group).await;
        }
    }

    async fn commit_group(&self, group: Vec<Queued>) {
        if group.len() > 1 {
            let requests: Vec<&Request> = group.iter().map(|queued| &queued.request).collect();
            if let Ok(outcomes) = self.mutate_all(&requests).await {
                for (queued, outcome) in group.into_iter().zip(outcomes) {
                    let _ = queued.answer.send(Ok(outcome));
                }
                return;
            }
        }
        for queued in group {
            let outcome = self
                .mutate_all(&[&queued.request])
                .await
                .map(|mut outcomes| outcomes.remove(0));
            // The caller may have gone away; its change is made all the same.
            let _ = queued.answer.send(outcome);
        }
    }
}
