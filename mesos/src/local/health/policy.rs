//! How probe results become health: Mesos's grace period and consecutive-failure rules.
//!
//! Failures are ignored while the task is in its grace period (counted from the launch, delay
//! included) until the first success; after that success, or once the grace period is over,
//! every failure counts. The health the framework hears of changes on the first counted
//! result and on every flip; `max_failures` counted failures in a row kill the task.

use std::time::Duration;

/// What one probe result asks of the agent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Outcome {
    /// The task's health changed to this: send a TASK_RUNNING update carrying it.
    pub report: Option<bool>,
    /// The task failed this many checks in a row and must be killed.
    pub kill: Option<u32>,
}

#[derive(Debug, Clone)]
pub(crate) struct Policy {
    grace: Duration,
    max_failures: u32,
    succeeded: bool,
    failures: u32,
    healthy: Option<bool>,
}

impl Policy {
    /// `known` is the health the framework was last told (checking resumed after an agent
    /// restart): once there is one, the grace period no longer applies.
    pub(crate) fn new(grace: Duration, max_failures: u32, known: Option<bool>) -> Self {
        Self {
            grace,
            max_failures,
            succeeded: known.is_some(),
            failures: 0,
            healthy: known,
        }
    }

    /// Takes one probe result, `since_launch` after the task was launched.
    pub(crate) fn observe(&mut self, ok: bool, since_launch: Duration) -> Outcome {
        if ok {
            self.succeeded = true;
            self.failures = 0;
            return self.settle(true);
        }
        if !self.succeeded && since_launch < self.grace {
            return Outcome::default();
        }
        self.failures = self.failures.saturating_add(1);
        let mut outcome = self.settle(false);
        if self.max_failures > 0 && self.failures >= self.max_failures {
            outcome.kill = Some(self.failures);
        }
        outcome
    }

    fn settle(&mut self, healthy: bool) -> Outcome {
        let changed = self.healthy != Some(healthy);
        self.healthy = Some(healthy);
        Outcome {
            report: changed.then_some(healthy),
            kill: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GRACE: Duration = Duration::from_secs(10);
    const IN_GRACE: Duration = Duration::from_secs(5);
    const AFTER_GRACE: Duration = Duration::from_secs(11);

    fn report(healthy: bool) -> Outcome {
        Outcome {
            report: Some(healthy),
            kill: None,
        }
    }

    #[test]
    fn failures_in_the_grace_period_are_ignored_until_the_first_success() {
        let mut p = Policy::new(GRACE, 2, None);
        for _ in 0..5 {
            assert_eq!(p.observe(false, IN_GRACE), Outcome::default());
        }
        assert_eq!(p.observe(true, IN_GRACE), report(true));
        // After a success the grace period no longer shields the task.
        assert_eq!(p.observe(false, IN_GRACE), report(false));
        assert_eq!(
            p.observe(false, IN_GRACE),
            Outcome {
                report: None,
                kill: Some(2)
            }
        );
    }

    #[test]
    fn failures_count_once_the_grace_period_is_over() {
        let mut p = Policy::new(GRACE, 3, None);
        assert_eq!(p.observe(false, IN_GRACE), Outcome::default());
        assert_eq!(p.observe(false, AFTER_GRACE), report(false));
        assert_eq!(p.observe(false, AFTER_GRACE), Outcome::default());
        assert_eq!(p.observe(false, AFTER_GRACE).kill, Some(3));
    }

    #[test]
    fn only_changes_are_reported_and_a_success_resets_the_count() {
        let mut p = Policy::new(Duration::ZERO, 3, None);
        assert_eq!(p.observe(true, AFTER_GRACE), report(true));
        assert_eq!(p.observe(true, AFTER_GRACE), Outcome::default());
        assert_eq!(p.observe(false, AFTER_GRACE), report(false));
        assert_eq!(p.observe(false, AFTER_GRACE), Outcome::default());
        assert_eq!(p.observe(true, AFTER_GRACE), report(true));
        assert_eq!(p.observe(false, AFTER_GRACE), report(false));
        assert_eq!(p.observe(false, AFTER_GRACE), Outcome::default());
        assert_eq!(p.observe(false, AFTER_GRACE).kill, Some(3));
    }

    #[test]
    fn a_single_allowed_failure_reports_and_kills_at_once() {
        let mut p = Policy::new(Duration::ZERO, 1, Some(true));
        assert_eq!(
            p.observe(false, Duration::ZERO),
            Outcome {
                report: Some(false),
                kill: Some(1)
            }
        );
    }

    #[test]
    fn zero_consecutive_failures_never_kills() {
        let mut p = Policy::new(Duration::ZERO, 0, None);
        assert_eq!(p.observe(false, AFTER_GRACE), report(false));
        for _ in 0..100 {
            assert_eq!(p.observe(false, AFTER_GRACE), Outcome::default());
        }
    }

    #[test]
    fn resumed_checking_keeps_the_known_health_and_skips_the_grace_period() {
        let mut p = Policy::new(GRACE, 3, Some(true));
        assert_eq!(p.observe(true, IN_GRACE), Outcome::default());
        assert_eq!(p.observe(false, IN_GRACE), report(false));
        let mut unhealthy = Policy::new(GRACE, 3, Some(false));
        assert_eq!(unhealthy.observe(false, IN_GRACE), Outcome::default());
        assert_eq!(unhealthy.observe(true, IN_GRACE), report(true));
    }
}
