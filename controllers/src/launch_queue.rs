//! The launch queue: which instances of which apps wait for an offer, and from when they may
//! launch (launch backoff). The app reconciler fills it; the driver takes from it on offers.
//!
//! It is an index over the store, never the truth: the driver re-reads each instance before
//! launching it, and the reconciler rebuilds an app's entry on every pass.
//!
//! It also keeps what each waiting app made of the offers it was shown ([`schemas::offers::OfferStats`]), and
//! publishes them on every change; an app's statistics go when it stops waiting.

use std::collections::BTreeMap;
use std::sync::Arc;

use parking_lot::Mutex;
use schemas::offers::{OfferStatsByApp, OfferView, RejectReason};
use schemas::{PathId, Timestamp};
use tokio::sync::{Notify, watch};
use tokio::time::Instant;

#[derive(Clone, Debug, PartialEq)]
pub struct QueuedApp {
    /// Instance ids waiting for a task, oldest first.
    pub instances: Vec<String>,
    /// No launch before this instant (launch backoff); `None` means now.
    pub not_before: Option<Instant>,
}

/// What one app made of one offer in a round of offers.
#[derive(Clone, Debug, PartialEq)]
pub enum OfferOutcome {
    /// Something of the app was launched on it.
    Used,
    /// Nothing of the app fitted, for these reasons.
    Unused(OfferView, Vec<RejectReason>),
}

pub struct LaunchQueue {
    inner: Mutex<Inner>,
    changed: Notify,
    stats_tx: watch::Sender<Arc<OfferStatsByApp>>,
}

#[derive(Default)]
struct Inner {
    apps: BTreeMap<PathId, QueuedApp>,
    stats: OfferStatsByApp,
}

impl Inner {
    /// Takes `app` out; true if it had statistics to forget.
    fn remove(&mut self, app: &PathId) -> bool {
        self.apps.remove(app);
        self.stats.remove(app).is_some()
    }
}

impl Default for LaunchQueue {
    fn default() -> Self {
        LaunchQueue::new(watch::channel(Arc::default()).0)
    }
}

impl LaunchQueue {
    /// A queue that publishes its offer statistics on `stats_tx`.
    pub fn new(stats_tx: watch::Sender<Arc<OfferStatsByApp>>) -> Self {
        LaunchQueue {
            inner: Mutex::new(Inner::default()),
            changed: Notify::new(),
            stats_tx,
        }
    }

    /// Replaces what waits for `app`; an empty list removes it.
    pub fn set(&self, app: &PathId, instances: Vec<String>, not_before: Option<Instant>) {
        let mut inner = self.inner.lock();
        if instances.is_empty() {
            if inner.remove(app) {
                self.publish(&inner);
            }
            return;
        }
        let entry = QueuedApp { instances, not_before };
        if inner.apps.get(app) != Some(&entry) {
            inner.apps.insert(app.clone(), entry);
            self.changed.notify_one();
        }
    }

    pub fn remove(&self, app: &PathId) {
        let mut inner = self.inner.lock();
        if inner.remove(app) {
            self.publish(&inner);
        }
    }

    /// Takes launched instances out so that the next offer does not try them again.
    pub fn remove_instances(&self, launched: &[(PathId, String)]) {
        let mut inner = self.inner.lock();
        let mut forgot = false;
        for (app, id) in launched {
            if let Some(q) = inner.apps.get_mut(app) {
                q.instances.retain(|i| i != id);
                if q.instances.is_empty() {
                    forgot |= inner.remove(app);
                }
            }
        }
        if forgot {
            self.publish(&inner);
        }
    }

    /// Adds what the apps made of a round of offers to their statistics. Apps that no longer
    /// wait are skipped: their statistics were forgotten with them.
    pub fn record_offers(&self, outcomes: Vec<(PathId, OfferOutcome)>, at: Timestamp) {
        if outcomes.is_empty() {
            return;
        }
        let mut inner = self.inner.lock();
        let Inner { apps, stats } = &mut *inner;
        for (app, outcome) in outcomes {
            if !apps.contains_key(&app) {
                continue;
            }
            let s = stats.entry(app).or_default();
            match outcome {
                OfferOutcome::Used => s.used(at),
                OfferOutcome::Unused(offer, reasons) => s.unused(offer, reasons, at),
            }
        }
        self.publish(&inner);
    }

    /// The statistics of every waiting app that was shown offers.
    pub fn offer_stats(&self) -> Arc<OfferStatsByApp> {
        self.stats_tx.borrow().clone()
    }

    fn publish(&self, inner: &Inner) {
        self.stats_tx.send_replace(Arc::new(inner.stats.clone()));
    }

    /// What may launch at `now`, interleaved across apps so that no app starves the others.
    pub fn launchable(&self, now: Instant) -> Vec<(PathId, String)> {
        let inner = self.inner.lock();
        let ready: Vec<_> = inner
            .apps
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
        self.inner
            .lock()
            .apps
            .values()
            .filter_map(|q| q.not_before)
            .filter(|t| *t > now)
            .min()
    }

    pub fn is_empty(&self) -> bool {
        self.inner.lock().apps.is_empty()
    }

    pub fn snapshot(&self) -> BTreeMap<PathId, QueuedApp> {
        self.inner.lock().apps.clone()
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

    #[test]
    fn keeps_offer_stats_while_an_app_waits() {
        let (tx, rx) = watch::channel(Arc::default());
        let q = LaunchQueue::new(tx);
        let offer = OfferView {
            agent_id: "agent-1".into(),
            ..Default::default()
        };
        let unused = OfferOutcome::Unused(offer, vec![RejectReason::InsufficientCpus]);
        q.set(&id("/a"), vec!["a1".into(), "a2".into()], None);
        q.set(&id("/b"), vec!["b1".into()], None);
        let at = Timestamp::from_millis(5);
        q.record_offers(
            vec![
                (id("/a"), unused.clone()),
                (id("/a"), OfferOutcome::Used),
                (id("/b"), unused.clone()),
                (id("/gone"), unused.clone()),
            ],
            at,
        );
        let stats = rx.borrow().clone();
        assert_eq!(stats.keys().cloned().collect::<Vec<_>>(), vec![id("/a"), id("/b")]);
        assert_eq!((stats[&id("/a")].processed, stats[&id("/a")].unused), (2, 1));
        assert_eq!(stats[&id("/a")].last_used_at, Some(at));

        // An app that stops waiting, launched or removed, takes its statistics along.
        q.remove_instances(&[(id("/a"), "a1".into())]);
        assert!(rx.borrow().contains_key(&id("/a")));
        q.remove_instances(&[(id("/a"), "a2".into())]);
        assert!(!rx.borrow().contains_key(&id("/a")));
        q.set(&id("/b"), vec![], None);
        assert!(rx.borrow().is_empty());
        assert!(q.offer_stats().is_empty());
    }
}
