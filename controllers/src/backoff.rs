//! Marathon's launch backoff (its `RateLimiter`): an app whose tasks keep failing waits longer
//! and longer before its next launch, up to `maxLaunchDelaySeconds`.
//!
//! The delay is a record in the store (`backoff/<app>`), written in the same batch as the
//! status update that moved it, so every server shows it in `/v2/queue` and a restart keeps
//! backing off a crash-looping app. A new config starts with no delay; a scale keeps it.
//! Everything here is a pure function of the record, the app and the time.

use schemas::{LaunchDelay, RunSpec, Timestamp};

/// The delay after a task of `app` failed at `now`: the first failure waits `backoffSeconds`,
/// each further one `backoffFactor` times longer, at most `maxLaunchDelaySeconds`.
pub(crate) fn after_failure(prev: Option<&LaunchDelay>, app: &RunSpec, now: Timestamp) -> LaunchDelay {
    let b = app.backoff();
    let max = (b.max_seconds * 1000.0) as u64;
    let first = ((b.seconds * 1000.0) as u64).min(max);
    let config_version = app.config_version();
    let delay_millis = match prev {
        Some(d) if d.config_version == config_version => ((d.delay_millis as f64 * b.factor) as u64).min(max),
        _ => first,
    };
    LaunchDelay {
        config_version,
        reference: now,
        delay_millis,
    }
}

/// A task of `app` got going: the delay clock restarts from `now`, keeping its length
/// (Marathon's "advance"). `None` when there is nothing to advance.
pub(crate) fn advanced(prev: Option<&LaunchDelay>, app: &RunSpec, now: Timestamp) -> Option<LaunchDelay> {
    prev.filter(|d| d.config_version == app.config_version())
        .map(|d| LaunchDelay {
            reference: now,
            ..d.clone()
        })
}

/// When `app` may launch next under `delay`; `None` means now. Delays of older configs do not
/// apply, and neither does a delay overdue by more than `maxLaunchDelaySeconds`.
pub(crate) fn ready_at(delay: Option<&LaunchDelay>, app: &RunSpec, now: Timestamp) -> Option<Timestamp> {
    let d = delay.filter(|d| d.config_version == app.config_version())?;
    let max = (app.backoff().max_seconds * 1000.0) as i64;
    let delay = d.delay_millis as i64;
    if now.millis() > d.reference.millis() + max.max(delay) {
        return None;
    }
    let at = Timestamp::from_millis(d.reference.millis() + delay);
    (at > now).then_some(at)
}

#[cfg(test)]
mod tests {
    use super::*;
    use schemas::VersionInfo;

    fn app(backoff: u32, factor: f64, max: u32, config: i64) -> RunSpec {
        let mut a: schemas::AppDefinition = serde_json::from_str(r#"{"id":"/a","cmd":"false"}"#).unwrap();
        a.backoff_seconds = backoff;
        a.backoff_factor = factor;
        a.max_launch_delay_seconds = max;
        let v = Timestamp::from_millis(config);
        a.version = Some(v);
        a.version_info = Some(VersionInfo {
            last_scaling_at: v,
            last_config_change_at: v,
        });
        RunSpec::App(std::sync::Arc::new(a))
    }

    fn at(secs: f64) -> Timestamp {
        Timestamp::from_millis((secs * 1000.0) as i64)
    }

    #[test]
    fn grows_by_factor_up_to_max() {
        let a = app(1, 2.0, 5, 1);
        assert_eq!(ready_at(None, &a, at(0.0)), None);
        let mut d = after_failure(None, &a, at(0.0));
        assert_eq!(d.delay_millis, 1000);
        d = after_failure(Some(&d), &a, at(0.0));
        d = after_failure(Some(&d), &a, at(0.0));
        assert_eq!(d.delay_millis, 4000);
        d = after_failure(Some(&d), &a, at(10.0));
        assert_eq!(d.delay_millis, 5000);
        assert_eq!(ready_at(Some(&d), &a, at(10.0)), Some(at(15.0)));
        assert_eq!(ready_at(Some(&d), &a, at(15.0)), None);
    }

    #[test]
    fn marathon_defaults_and_advance() {
        let a = app(1, 1.15, 300, 1);
        let d = after_failure(None, &a, at(0.0));
        let d = after_failure(Some(&d), &a, at(0.0));
        assert_eq!(d.delay_millis, 1150);
        // The reference moves to now: the full 1.15 s applies again.
        let d = advanced(Some(&d), &a, at(1.0)).unwrap();
        assert_eq!(ready_at(Some(&d), &a, at(1.0)), Some(at(2.15)));
    }

    #[test]
    fn new_config_resets_and_overdue_is_dropped() {
        let a = app(10, 2.0, 60, 1);
        let d = after_failure(None, &a, at(0.0));
        let newer = app(10, 2.0, 60, 2);
        assert_eq!(ready_at(Some(&d), &newer, at(0.0)), None);
        assert_eq!(advanced(Some(&d), &newer, at(0.0)), None);
        assert_eq!(after_failure(Some(&d), &newer, at(0.0)).delay_millis, 10_000);
        let d = after_failure(Some(&d), &a, at(0.0));
        assert_eq!(ready_at(Some(&d), &a, at(30.0)), None);
        assert_eq!(ready_at(Some(&d), &a, at(19.0)), Some(at(20.0)));
        assert_eq!(ready_at(Some(&d), &a, at(61.0)), None);
    }
}
