//! Marathon's rules for one scheduler-run health check of one task: what a probe's outcome does
//! to the recorded result, whether that is worth recording, and when the task must die.

use schemas::{HealthCheck, HealthResult, Timestamp};

/// What one probe found.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Outcome {
    Healthy,
    Unhealthy(String),
    /// A 1xx answer to a check with `ignoreHttp1xx`: as if no probe had run.
    Ignored,
}

/// What to do after a probe.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Step {
    /// The result to record, when it changed in a way worth a write: the first success, a
    /// recovery, or a failure that counts.
    pub record: Option<HealthResult>,
    /// Kill the task: it failed `maxConsecutiveFailures` times in a row.
    pub kill: Option<String>,
}

/// Applies `outcome` of check `index` to `prev`. Failures before the first success inside the
/// grace period (from `started_at`) do not count, as in Marathon.
pub(crate) fn step(
    check: &HealthCheck,
    index: usize,
    prev: Option<&HealthResult>,
    outcome: Outcome,
    started_at: Timestamp,
    now: Timestamp,
) -> Step {
    let mut r = prev.cloned().unwrap_or(HealthResult {
        index,
        alive: false,
        consecutive_failures: 0,
        first_success: None,
        last_success: None,
        last_failure: None,
        last_failure_cause: None,
    });
    let unchanged = Step {
        record: None,
        kill: None,
    };
    match outcome {
        Outcome::Ignored => unchanged,
        Outcome::Healthy => {
            let news = prev.is_none_or(|p| !p.alive || p.consecutive_failures > 0);
            r.alive = true;
            r.consecutive_failures = 0;
            r.first_success.get_or_insert(now);
            r.last_success = Some(now);
            Step {
                record: news.then_some(r),
                kill: None,
            }
        }
        Outcome::Unhealthy(cause) => {
            let grace_ends = started_at.millis() + i64::from(check.grace_period_seconds) * 1000;
            if r.first_success.is_none() && now.millis() < grace_ends {
                return unchanged;
            }
            r.alive = false;
            r.consecutive_failures += 1;
            r.last_failure = Some(now);
            r.last_failure_cause = Some(cause);
            let max = check.max_consecutive_failures;
            let kill = (max > 0 && r.consecutive_failures >= max).then(|| {
                format!(
                    "{} health check failed {} times consecutively: {}",
                    check.protocol,
                    r.consecutive_failures,
                    r.last_failure_cause.as_deref().unwrap_or_default()
                )
            });
            Step { record: Some(r), kill }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(grace: u32, max: u32) -> HealthCheck {
        let mut c: HealthCheck = serde_json::from_str(r#"{"protocol":"HTTP"}"#).unwrap();
        c.grace_period_seconds = grace;
        c.max_consecutive_failures = max;
        c
    }

    fn at(s: i64) -> Timestamp {
        Timestamp::from_millis(s * 1000)
    }

    fn down() -> Outcome {
        Outcome::Unhealthy("connection refused".into())
    }

    #[test]
    fn failures_in_grace_before_first_success_do_not_count() {
        let c = check(10, 3);
        assert_eq!(step(&c, 0, None, down(), at(0), at(5)).record, None);
        let s = step(&c, 0, None, down(), at(0), at(11));
        let r = s.record.unwrap();
        assert_eq!((r.alive, r.consecutive_failures), (false, 1));
        assert_eq!(r.last_failure_cause.as_deref(), Some("connection refused"));
    }

    #[test]
    fn after_a_success_failures_count_even_in_grace_and_kill_at_max() {
        let c = check(100, 2);
        let ok = step(&c, 0, None, Outcome::Healthy, at(0), at(1)).record.unwrap();
        assert!(ok.alive && ok.first_success == Some(at(1)));
        // A second success in a row is not news.
        assert_eq!(step(&c, 0, Some(&ok), Outcome::Healthy, at(0), at(2)).record, None);
        let f1 = step(&c, 0, Some(&ok), down(), at(0), at(3));
        assert_eq!(f1.kill, None);
        let f1 = f1.record.unwrap();
        let f2 = step(&c, 0, Some(&f1), down(), at(0), at(4));
        assert!(f2.kill.unwrap().contains("failed 2 times"));
        let back = step(&c, 0, Some(&f1), Outcome::Healthy, at(0), at(5)).record.unwrap();
        assert_eq!(
            (back.alive, back.consecutive_failures, back.first_success),
            (true, 0, Some(at(1)))
        );
    }

    #[test]
    fn zero_max_failures_never_kills_and_ignored_changes_nothing() {
        let c = check(0, 0);
        let mut prev = None;
        for s in 1..10 {
            let st = step(&c, 0, prev.as_ref(), down(), at(0), at(s));
            assert_eq!(st.kill, None);
            prev = st.record;
        }
        assert_eq!(prev.unwrap().consecutive_failures, 9);
        assert_eq!(
            step(&c, 0, None, Outcome::Ignored, at(0), at(1)),
            Step {
                record: None,
                kill: None
            }
        );
    }
}
