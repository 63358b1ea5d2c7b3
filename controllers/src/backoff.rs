//! Marathon's launch backoff (its `RateLimiter`): an app whose tasks keep failing waits longer
//! and longer before its next launch, up to `maxLaunchDelaySeconds`.
//!
//! Delays are kept per app and config version, in memory, as Marathon keeps them: a new config
//! starts with no delay, a scale does not reset it.

use std::collections::HashMap;
use std::time::Duration;

use schemas::{AppDefinition, PathId, Timestamp};
use tokio::time::Instant;

#[derive(Clone, Copy, Debug, PartialEq)]
struct Delay {
    config_version: Timestamp,
    /// When the delay was last set or advanced.
    reference: Instant,
    current: Duration,
}

/// Launch delays of all apps.
#[derive(Debug, Default)]
pub struct Backoff {
    delays: HashMap<PathId, Delay>,
}

impl Backoff {
    /// A task of `app` failed: start or grow its delay.
    pub fn failure(&mut self, app: &AppDefinition) {
        let now = Instant::now();
        let max = Duration::from_secs(app.max_launch_delay_seconds.into());
        let first = Duration::from_secs(app.backoff_seconds.into()).min(max);
        let version = app.config_version();
        let current = match self.delays.get(&app.id) {
            Some(d) if d.config_version == version => d.current.mul_f64(app.backoff_factor).min(max),
            _ => first,
        };
        self.delays.insert(
            app.id.clone(),
            Delay {
                config_version: version,
                reference: now,
                current,
            },
        );
    }

    /// A task of `app` got going: the delay clock restarts from now, keeping its length
    /// (Marathon's "advance").
    pub fn advance(&mut self, app: &AppDefinition) {
        if let Some(d) = self.delays.get_mut(&app.id)
            && d.config_version == app.config_version()
        {
            d.reference = Instant::now();
        }
    }

    /// Forgets the delay (DELETE /v2/queue/{app}/delay, or the app is gone).
    pub fn reset(&mut self, app: &PathId) {
        self.delays.remove(app);
    }

    /// When `app` may launch next; `None` means now. Delays of older configs do not apply,
    /// and a delay overdue by more than `maxLaunchDelaySeconds` is dropped.
    pub fn ready_at(&mut self, app: &AppDefinition) -> Option<Instant> {
        let d = self.delays.get(&app.id)?;
        let max = Duration::from_secs(app.max_launch_delay_seconds.into());
        let now = Instant::now();
        if d.config_version != app.config_version() || now > d.reference + max.max(d.current) {
            self.delays.remove(&app.id);
            return None;
        }
        let at = d.reference + d.current;
        (at > now).then_some(at)
    }

    /// The current delay of `app`, for the launch queue's `delay` view.
    pub fn current(&self, app: &PathId) -> Option<Duration> {
        self.delays.get(app).map(|d| d.current)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use schemas::VersionInfo;

    fn app(backoff: u32, factor: f64, max: u32, config: i64) -> AppDefinition {
        let mut a: AppDefinition = serde_json_app();
        a.backoff_seconds = backoff;
        a.backoff_factor = factor;
        a.max_launch_delay_seconds = max;
        let v = Timestamp::from_millis(config);
        a.version = Some(v);
        a.version_info = Some(VersionInfo {
            last_scaling_at: v,
            last_config_change_at: v,
        });
        a
    }

    fn serde_json_app() -> AppDefinition {
        serde_json::from_str(r#"{"id":"/a","cmd":"false"}"#).unwrap()
    }

    #[tokio::test(start_paused = true)]
    async fn grows_by_factor_up_to_max() {
        let mut b = Backoff::default();
        let a = app(1, 2.0, 5, 1);
        assert_eq!(b.ready_at(&a), None);
        b.failure(&a);
        assert_eq!(b.current(&a.id), Some(Duration::from_secs(1)));
        b.failure(&a);
        b.failure(&a);
        assert_eq!(b.current(&a.id), Some(Duration::from_secs(4)));
        b.failure(&a);
        assert_eq!(b.current(&a.id), Some(Duration::from_secs(5)));
        let at = b.ready_at(&a).unwrap();
        assert_eq!(at - Instant::now(), Duration::from_secs(5));
        tokio::time::advance(Duration::from_secs(5)).await;
        assert_eq!(b.ready_at(&a), None);
    }

    #[tokio::test(start_paused = true)]
    async fn marathon_defaults_and_advance() {
        let mut b = Backoff::default();
        let a = app(1, 1.15, 300, 1);
        b.failure(&a);
        b.failure(&a);
        assert_eq!(b.current(&a.id), Some(Duration::from_millis(1150)));
        tokio::time::advance(Duration::from_secs(1)).await;
        b.advance(&a);
        // The reference moved to now: the full 1.15 s applies again.
        assert_eq!(b.ready_at(&a).unwrap() - Instant::now(), Duration::from_millis(1150));
    }

    #[tokio::test(start_paused = true)]
    async fn new_config_resets_and_overdue_is_dropped() {
        let mut b = Backoff::default();
        let a = app(10, 2.0, 60, 1);
        b.failure(&a);
        let newer = app(10, 2.0, 60, 2);
        assert_eq!(b.ready_at(&newer), None);
        b.failure(&a);
        tokio::time::advance(Duration::from_secs(61)).await;
        assert_eq!(b.ready_at(&a), None);
        assert_eq!(b.current(&a.id), None);
    }
}
