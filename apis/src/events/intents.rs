//! What the API tells the event deriver before it writes, so that the deriver can attribute
//! a change set it later sees in the store: who posted the app change that created a
//! deployment (for `api_post_event`), and which deployment deletions are cancellations (for
//! `deployment_failed` instead of `deployment_success`).
//!
//! Intents are registered before the write and withdrawn when the write does not apply, so the
//! deriver never attributes a change set to a write that lost a race.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::watch;
use tokio::time::Instant;

use super::origin::Origin;

/// How long an intent whose change set the deriver never saw (it lagged and resynced) is
/// kept before it is forgotten.
const STALE_AFTER: Duration = Duration::from_secs(300);

/// How long the deriver waits for the API to say whether a deletion was its cancel. The
/// write is already applied or about to fail when the deriver asks, so this is a backstop.
const VERDICT_WAIT: Duration = Duration::from_secs(10);

/// Whether a cancel the API is writing applied, and at which revision.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Verdict {
    Pending,
    Applied(u64),
    Withdrawn,
}

#[derive(Default)]
pub(crate) struct Intents {
    /// Origins of app posts, by the id of the deployment their write creates.
    posts: Mutex<HashMap<String, (Origin, Instant)>>,
    /// API cancels of deployments, by deployment id.
    cancels: Mutex<HashMap<String, (watch::Receiver<Verdict>, Instant)>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Intents {
    /// Records that the write about to create deployment `deployment_id` comes from
    /// `origin`. Dropping the guard without [`PostGuard::applied`] withdraws it.
    pub(crate) fn post(self: &Arc<Self>, deployment_id: &str, origin: Origin) -> PostGuard {
        let now = Instant::now();
        let mut posts = lock(&self.posts);
        posts.retain(|_, (_, at)| now.duration_since(*at) < STALE_AFTER);
        posts.insert(deployment_id.to_string(), (origin, now));
        PostGuard {
            intents: self.clone(),
            id: deployment_id.to_string(),
            applied: false,
        }
    }

    /// The origin of the write that created `deployment_id`, if it was an API post.
    pub(crate) fn take_post(&self, deployment_id: &str) -> Option<Origin> {
        lock(&self.posts).remove(deployment_id).map(|(o, _)| o)
    }

    /// Records that the API is about to delete deployment `id` as a cancellation.
    pub(crate) fn cancel(self: &Arc<Self>, id: &str) -> CancelGuard {
        let (tx, rx) = watch::channel(Verdict::Pending);
        let now = Instant::now();
        let mut cancels = lock(&self.cancels);
        cancels.retain(|_, (_, at)| now.duration_since(*at) < STALE_AFTER);
        cancels.insert(id.to_string(), (rx, now));
        CancelGuard {
            intents: self.clone(),
            id: id.to_string(),
            tx,
        }
    }

    /// Whether the deletion of deployment `id` at `revision` was an API cancel. Waits (at
    /// most [`VERDICT_WAIT`]) while such a cancel is being written.
    pub(crate) async fn was_cancelled(&self, id: &str, revision: u64) -> bool {
        let Some(mut rx) = lock(&self.cancels).get(id).map(|(rx, _)| rx.clone()) else {
            return false;
        };
        // An error means the guard is gone; its last value is still there to read.
        let _ = tokio::time::timeout(VERDICT_WAIT, rx.wait_for(|v| *v != Verdict::Pending)).await;
        let verdict = *rx.borrow();
        if verdict == Verdict::Pending {
            tracing::warn!(
                deployment = id,
                "no verdict on a pending cancel; reporting the deletion as a success"
            );
        }
        let cancelled = verdict == Verdict::Applied(revision);
        if cancelled {
            lock(&self.cancels).remove(id);
        }
        cancelled
    }

    /// Deployments whose cancel applied but whose deletion the deriver never saw; they are
    /// consumed by a resync that finds them gone.
    pub(crate) fn take_applied_cancels(&self) -> Vec<String> {
        let mut cancels = lock(&self.cancels);
        let applied: Vec<String> = cancels
            .iter()
            .filter(|(_, (rx, _))| matches!(*rx.borrow(), Verdict::Applied(_)))
            .map(|(id, _)| id.clone())
            .collect();
        for id in &applied {
            cancels.remove(id);
        }
        applied
    }
}

/// An app post announced to the deriver; withdrawn on drop unless the write applied.
pub(crate) struct PostGuard {
    intents: Arc<Intents>,
    id: String,
    applied: bool,
}

impl PostGuard {
    pub(crate) fn applied(mut self) {
        self.applied = true;
    }
}

impl Drop for PostGuard {
    fn drop(&mut self) {
        if !self.applied {
            self.intents.take_post(&self.id);
        }
    }
}

/// A cancel announced to the deriver; withdrawn on drop unless it applied.
pub(crate) struct CancelGuard {
    intents: Arc<Intents>,
    id: String,
    tx: watch::Sender<Verdict>,
}

impl CancelGuard {
    /// The cancel applied at `revision`.
    pub(crate) fn applied(self, revision: u64) {
        self.tx.send_replace(Verdict::Applied(revision));
    }
}

impl Drop for CancelGuard {
    fn drop(&mut self) {
        if *self.tx.borrow() != Verdict::Pending {
            return;
        }
        self.tx.send_replace(Verdict::Withdrawn);
        let mut cancels = lock(&self.intents.cancels);
        // Only this guard's entry: a later cancel of the same id may have replaced it.
        if cancels
            .get(&self.id)
            .is_some_and(|(rx, _)| rx.same_channel(&self.tx.subscribe()))
        {
            cancels.remove(&self.id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn origin() -> Origin {
        Origin {
            client_ip: "10.0.0.1".into(),
            uri: "/v2/apps".into(),
            posts_app: true,
        }
    }

    #[test]
    fn a_post_is_kept_only_when_its_write_applied() {
        let intents = Arc::new(Intents::default());
        intents.post("d1", origin()).applied();
        drop(intents.post("d2", origin()));
        assert_eq!(intents.take_post("d1"), Some(origin()));
        assert_eq!(intents.take_post("d1"), None);
        assert_eq!(intents.take_post("d2"), None);
    }

    #[tokio::test(start_paused = true)]
    async fn a_deletion_is_a_cancel_only_at_the_cancel_revision() {
        let intents = Arc::new(Intents::default());
        assert!(!intents.was_cancelled("d", 5).await, "no cancel announced");

        // The deriver sees a deletion while the cancel is still being written: it waits.
        let guard = intents.cancel("d");
        let waiting = {
            let intents = intents.clone();
            tokio::spawn(async move { intents.was_cancelled("d", 7).await })
        };
        tokio::task::yield_now().await;
        assert!(!waiting.is_finished());
        guard.applied(7);
        assert!(waiting.await.unwrap());
        assert!(!intents.was_cancelled("d", 7).await, "consumed");

        // A controller deleted it first (revision 8); the API's cancel then failed.
        let guard = intents.cancel("e");
        let waiting = {
            let intents = intents.clone();
            tokio::spawn(async move { intents.was_cancelled("e", 8).await })
        };
        tokio::task::yield_now().await;
        drop(guard);
        assert!(!waiting.await.unwrap());

        // The API's cancel applied at 9, but the deletion seen is another one at 8.
        intents.cancel("f").applied(9);
        assert!(!intents.was_cancelled("f", 8).await);
        assert_eq!(intents.take_applied_cancels(), vec!["f".to_string()]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_verdict_that_never_comes_counts_as_no_cancel() {
        let intents = Arc::new(Intents::default());
        let _guard = intents.cancel("d");
        let start = Instant::now();
        assert!(!intents.was_cancelled("d", 1).await);
        assert!(start.elapsed() >= VERDICT_WAIT);
    }
}
