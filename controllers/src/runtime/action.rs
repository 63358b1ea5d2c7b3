//! What a reconcile asks the runtime to do next.

use std::time::Duration;

/// The outcome of one reconcile of one key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Action {
    requeue_after: Option<Duration>,
}

impl Action {
    /// Run the reconcile for this key again after `d`, even if nothing changes.
    pub fn requeue(d: Duration) -> Self {
        Self { requeue_after: Some(d) }
    }

    /// Nothing to do until the key's objects change.
    pub fn await_change() -> Self {
        Self { requeue_after: None }
    }

    pub fn requeue_after(&self) -> Option<Duration> {
        self.requeue_after
    }

    /// The sooner of two actions: a reconcile that does several things requeues for the first.
    pub fn min(self, other: Action) -> Action {
        match (self.requeue_after, other.requeue_after) {
            (Some(a), Some(b)) => Action::requeue(a.min(b)),
            (a, b) => Action { requeue_after: a.or(b) },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn min_prefers_the_earliest_requeue() {
        let a = Action::requeue(Duration::from_secs(5));
        let b = Action::requeue(Duration::from_secs(1));
        assert_eq!(a.min(b), b);
        assert_eq!(a.min(Action::await_change()), a);
        assert_eq!(
            Action::await_change().min(Action::await_change()),
            Action::await_change()
        );
    }
}
