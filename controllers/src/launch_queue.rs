//! The launch queue: which instances of which apps wait for an offer, and from when they may
//! launch (launch backoff). The app reconciler fills it; the driver takes from it on offers.
//!
//! It is an index over the store, never the truth: the driver re-reads each instance before
//! launching it, and the reconciler rebuilds an app's entry on every pass.

use std::collections::BTreeMap;

use parking_lot::Mutex;
use schemas::PathId;
use tokio::sync::Notify;
use tokio::time::Instant;

#[derive(Clone, Debug, PartialEq)]
pub struct QueuedApp {
    /// Instance ids waiting for a task, oldest first.
    pub instances: Vec<String>,
    /// No launch before this instant (launch backoff); `None` means now.
    pub not_before: Option<Instant>,
}

#[derive(Default)]
pub struct LaunchQueue {
    apps: Mutex<BTreeMap<PathId, QueuedApp>>,
    changed: Notify,
}

impl LaunchQueue {
    /// Replaces what waits for `app`; an empty list removes it.
    pub fn set(&self, app: &PathId, instances: Vec<String>, not_before: Option<Instant>) {
        let mut apps = self.apps.lock();
        if instances.is_empty() {
            apps.remove(app);
            return;
        }
        let entry = QueuedApp { instances, not_before };
        if apps.get(app) != Some(&entry) {
            apps.insert(app.clone(), entry);
            self.changed.notify_one();
        }
    }

    pub fn remove(&self, app: &PathId) {
        self.apps.lock().remove(app);
    }

    /// Takes launched instances out so that the next offer does not try them again.
    pub fn remove_instances(&self, launched: &[(PathId, String)]) {
        let mut apps = self.apps.lock();
        for (app, id) in launched {
            if let Some(q) = apps.get_mut(app) {
                q.instances.retain(|i| i != id);
                if q.instances.is_empty() {
                    apps.remove(app);
                }
            }
        }
    }

    /// What may launch at `now`, interleaved across apps so that no app starves the others.
    pub fn launchable(&self, now: Instant) -> Vec<(PathId, String)> {
        let apps = self.apps.lock();
        let ready: Vec<_> = apps
            .iter()
            .filter(|(_, q)| q.not_before.is_none_or(|t| t <= now))
            .collect();
        let longest = ready.iter().map(|(_, q)| q.instances.len()).max().unwrap_or(0);
        let mut out = Vec::new();
        for i in 0..longest {
            for (app, q) in &ready {
                if let Some(id) = q.instances.get(i) {
                    out.push(((*app).clone(), id.clone()));
                }
            }
        }
        out
    }

    /// The soonest instant at which something now delayed may launch.
    pub fn next_not_before(&self, now: Instant) -> Option<Instant> {
        self.apps
            .lock()
            .values()
            .filter_map(|q| q.not_before)
            .filter(|t| *t > now)
            .min()
    }

    pub fn is_empty(&self) -> bool {
        self.apps.lock().is_empty()
    }

    pub fn snapshot(&self) -> BTreeMap<PathId, QueuedApp> {
        self.apps.lock().clone()
    }

    /// Resolves when an app's entry was added or changed since the last call.
    pub async fn changed(&self) {
        self.changed.notified().await
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn id(s: &str) -> PathId {
        PathId::parse(s).unwrap()
    }

    #[tokio::test(start_paused = true)]
    async fn interleaves_apps_and_respects_delays() {
        let q = LaunchQueue::default();
        let now = Instant::now();
        q.set(&id("/a"), vec!["a1".into(), "a2".into(), "a3".into()], None);
        q.set(&id("/b"), vec!["b1".into()], None);
        q.set(&id("/c"), vec!["c1".into()], Some(now + Duration::from_secs(5)));
        let order: Vec<_> = q.launchable(now).into_iter().map(|(_, i)| i).collect();
        assert_eq!(order, vec!["a1", "b1", "a2", "a3"]);
        assert_eq!(q.next_not_before(now), Some(now + Duration::from_secs(5)));
        assert_eq!(q.launchable(now + Duration::from_secs(5)).len(), 5);
        q.remove_instances(&[(id("/b"), "b1".into())]);
        assert!(!q.snapshot().contains_key(&id("/b")));
        q.set(&id("/a"), vec![], None);
        assert_eq!(q.snapshot().len(), 1);
    }
}
