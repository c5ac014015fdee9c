//! The shape the background loops share: a round every interval until shutdown. Retention and
//! the evaluation refresh use it; the dispatcher has its own loop, because it also wakes for
//! changes and finished attempts and picks its next wait from what is due.

use std::time::Duration;

use tokio::sync::watch;

/// When the first round runs.
pub(crate) enum FirstRound {
    Now,
    AfterInterval,
}

/// Paces a loop: `while rounds.next().await { … }` runs a round every interval until shutdown.
pub(crate) struct Rounds {
    interval: Duration,
    shutdown: watch::Receiver<bool>,
    first: Option<FirstRound>,
}

impl Rounds {
    pub(crate) fn every(interval: Duration, first: FirstRound, shutdown: watch::Receiver<bool>) -> Rounds {
        Rounds {
            interval,
            shutdown,
            first: Some(first),
        }
    }

    /// Waits until the next round is due: `true` then, `false` once shutdown is asked for (a
    /// round under way is never cut short, as this is only awaited between rounds).
    pub(crate) async fn next(&mut self) -> bool {
        if let Some(FirstRound::Now) = self.first.take() {
            return true;
        }
        tokio::select! {
            () = tokio::time::sleep(self.interval) => true,
            _ = self.shutdown.changed() => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn rounds_come_until_shutdown() {
        let (stop, stopped) = watch::channel(false);
        let mut now = Rounds::every(Duration::from_secs(3600), FirstRound::Now, stopped.clone());
        assert!(now.next().await, "the first round at once");
        let mut later = Rounds::every(Duration::from_millis(1), FirstRound::AfterInterval, stopped);
        assert!(later.next().await);
        assert!(later.next().await);
        stop.send(true).unwrap();
        assert!(!now.next().await, "shutdown ends the wait for the next round");
        assert!(!later.next().await);
    }
}
