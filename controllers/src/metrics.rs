//! What the controllers count, kept as plain data ([`ControllerMetrics`]) behind a watch
//! channel: the controllers update it in place, and whoever holds a receiver (the API) reads
//! the current numbers. Each server has its own; nothing is global.

use std::time::Duration;

use schemas::metrics::ControllerMetrics;
use tokio::sync::watch;

/// Cheap to clone; every clone updates the same numbers.
#[derive(Clone, Debug)]
pub struct Metrics {
    tx: watch::Sender<ControllerMetrics>,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics {
            tx: watch::channel(ControllerMetrics::default()).0,
        }
    }
}

impl Metrics {
    /// The current numbers, for readers outside the controllers.
    pub fn subscribe(&self) -> watch::Receiver<ControllerMetrics> {
        self.tx.subscribe()
    }

    /// A copy of the current numbers.
    pub fn snapshot(&self) -> ControllerMetrics {
        self.tx.borrow().clone()
    }

    /// One round of offers: how many came, how many were used (accepted with launches) and
    /// declined, and how many tasks were launched on them.
    pub(crate) fn offers(&self, received: usize, used: usize, declined: usize, launched: usize) {
        self.tx.send_modify(|m| {
            m.offers_received += received as u64;
            m.offers_used += used as u64;
            m.offers_declined += declined as u64;
            m.tasks_launched += launched as u64;
        });
    }

    /// Status updates received, by Mesos state name.
    pub(crate) fn status_updates(&self, states: impl IntoIterator<Item = &'static str>) {
        self.tx.send_modify(|m| {
            for state in states {
                *m.status_updates.entry(state).or_default() += 1;
            }
        });
    }

    /// One reconcile of `controller` took `took`.
    pub(crate) fn reconciled(&self, controller: &'static str, took: Duration) {
        self.tx.send_modify(|m| {
            m.reconcile_seconds
                .entry(controller)
                .or_default()
                .observe(took.as_secs_f64())
        });
    }

    /// An explicit task reconciliation was answered in full after `took`.
    pub(crate) fn task_reconciliation(&self, took: Duration) {
        self.tx
            .send_modify(|m| m.task_reconciliation_seconds.observe(took.as_secs_f64()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_clone_and_subscriber_sees_the_same_numbers() {
        let metrics = Metrics::default();
        let rx = metrics.subscribe();
        let clone = metrics.clone();
        metrics.offers(3, 1, 2, 4);
        clone.status_updates(["TASK_RUNNING", "TASK_FAILED", "TASK_RUNNING"]);
        clone.reconciled("apps", Duration::from_millis(3));
        let m = rx.borrow().clone();
        assert_eq!(
            (m.offers_received, m.offers_used, m.offers_declined, m.tasks_launched),
            (3, 1, 2, 4)
        );
        assert_eq!(m.status_updates["TASK_RUNNING"], 2);
        assert_eq!(m.reconcile_seconds["apps"].count(), 1);
        assert_eq!(metrics.snapshot(), m);
    }
}
