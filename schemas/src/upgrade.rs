//! How a rolling restart begins: how many old instances to kill at once and how many instances
//! may exist at most, from the app's `upgradeStrategy` (Marathon's `computeRestartStrategy`).

use crate::UpgradeStrategy;

/// The start of a restart: kill `kill_immediately` old instances now, and never run more than
/// `max_capacity` old and new instances together.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RestartStrategy {
    pub kill_immediately: u32,
    pub max_capacity: u32,
}

/// Marathon's TaskReplaceActor.computeRestartStrategy (see marathon-reference.md §7).
///
/// `instances` is the target count; `healthy_count` the old and new instances that should be
/// running and are considered healthy; `current_count` the instances running now (old and new,
/// healthy or not, except new ones failing to start); `resident` whether the app has persistent
/// volumes. With `minHealthy = ceil(n·minimumHealthCapacity)` and
/// `maxCapacity = floor(n·(1+maximumOverCapacity))`, it kills the healthy instances above
/// `minHealthy`. When no room is left to start anything (`minHealthy == maxCapacity <= healthy`)
/// a normal app may go one instance over capacity, and a resident one (whose reservations
/// cannot grow) kills one more instead. Instances above the target count are always killed.
/// Strategy values outside [0, 1] (which validation rejects) are clamped into it.
pub fn restart_strategy(
    instances: u32,
    strategy: UpgradeStrategy,
    healthy_count: u32,
    current_count: u32,
    resident: bool,
) -> RestartStrategy {
    let n = f64::from(instances);
    let min_health = clamp_unit(strategy.minimum_health_capacity);
    let over = clamp_unit(strategy.maximum_over_capacity);
    // `as` saturates: the products stay within [0, 2·u32::MAX] and round as Marathon's do.
    let min_healthy = (n * min_health).ceil() as u32;
    let mut max_capacity = (n * (1.0 + over)) as u32;
    let mut kill_immediately = healthy_count.saturating_sub(min_healthy);
    if min_healthy == max_capacity && max_capacity <= healthy_count {
        if resident {
            kill_immediately = healthy_count - min_healthy + 1;
        } else {
            max_capacity = max_capacity.saturating_add(1);
        }
    }
    if current_count > instances {
        kill_immediately = kill_immediately.max(current_count - instances);
    }
    // Only reachable with zero instances (a resident app scaled to nothing): never kill more
    // instances than exist.
    kill_immediately = kill_immediately.min(healthy_count.max(current_count));
    RestartStrategy {
        kill_immediately,
        max_capacity,
    }
}

fn clamp_unit(x: f64) -> f64 {
    if x.is_nan() { 0.0 } else { x.clamp(0.0, 1.0) }
}

#[cfg(test)]
mod tests;
