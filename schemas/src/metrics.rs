//! The numbers the controllers and the store report about themselves, as plain data: the
//! controllers publish a [`ControllerMetrics`], the store keeps a [`Histogram`] of its commit
//! latency, and the API renders both (Prometheus text and Marathon's JSON).

use std::collections::BTreeMap;

/// Upper bounds, in seconds, of the buckets of every duration histogram: from sub-millisecond
/// store commits to reconciles that wait on a slow disk.
pub const SECONDS_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// A Prometheus-style histogram: observations counted per bucket (the last is +Inf) and summed.
#[derive(Clone, Debug, PartialEq)]
pub struct Histogram {
    bounds: &'static [f64],
    counts: Vec<u64>,
    sum: f64,
}

impl Default for Histogram {
    fn default() -> Self {
        Histogram::new(SECONDS_BUCKETS)
    }
}

impl Histogram {
    /// `bounds` must ascend.
    pub fn new(bounds: &'static [f64]) -> Self {
        Histogram {
            bounds,
            counts: vec![0; bounds.len() + 1],
            sum: 0.0,
        }
    }

    pub fn observe(&mut self, value: f64) {
        let bucket = self
            .bounds
            .iter()
            .position(|b| value <= *b)
            .unwrap_or(self.bounds.len());
        self.counts[bucket] += 1;
        self.sum += value;
    }

    pub fn count(&self) -> u64 {
        self.counts.iter().sum()
    }

    pub fn sum(&self) -> f64 {
        self.sum
    }

    /// `(upper bound, observations at or below it)` per bucket, ending with `+Inf`.
    pub fn cumulative(&self) -> impl Iterator<Item = (f64, u64)> + '_ {
        let bounds = self.bounds.iter().copied().chain([f64::INFINITY]);
        bounds.zip(self.counts.iter().scan(0, |acc, n| {
            *acc += n;
            Some(*acc)
        }))
    }

    /// The upper bound of the bucket holding the `q`-quantile (0 when empty); the largest
    /// finite bound when it lies beyond every bound.
    pub fn quantile(&self, q: f64) -> f64 {
        let count = self.count();
        if count == 0 {
            return 0.0;
        }
        let rank = (q.clamp(0.0, 1.0) * count as f64).ceil().max(1.0) as u64;
        let last = self.bounds.last().copied().unwrap_or(0.0);
        self.cumulative()
            .find(|(_, n)| *n >= rank)
            .map_or(last, |(le, _)| if le.is_finite() { le } else { last })
    }
}

/// What the controllers count: offers and what became of them, launches, status updates by
/// Mesos state, and how long reconciles take.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ControllerMetrics {
    pub offers_received: u64,
    pub offers_used: u64,
    pub offers_declined: u64,
    pub tasks_launched: u64,
    /// By Mesos state name (`TASK_RUNNING`, ...).
    pub status_updates: BTreeMap<&'static str, u64>,
    /// By controller (`apps`, `deployments`).
    pub reconcile_seconds: BTreeMap<&'static str, Histogram>,
    /// From an explicit task reconciliation request to the last answer it asked for.
    pub task_reconciliation_seconds: Histogram,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_cumulative_and_quantiles_are_bucket_bounds() {
        let mut h = Histogram::new(&[0.1, 1.0]);
        assert_eq!(h.quantile(0.5), 0.0);
        for v in [0.05, 0.05, 0.5, 7.0] {
            h.observe(v);
        }
        assert_eq!(h.count(), 4);
        assert!((h.sum() - 7.6).abs() < 1e-9);
        let buckets: Vec<_> = h.cumulative().collect();
        assert_eq!(buckets, vec![(0.1, 2), (1.0, 3), (f64::INFINITY, 4)]);
        assert_eq!(h.quantile(0.5), 0.1);
        assert_eq!(h.quantile(0.75), 1.0);
        assert_eq!(h.quantile(0.99), 1.0);
    }
}
