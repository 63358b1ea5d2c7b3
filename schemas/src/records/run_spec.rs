//! What the reconcilers drive: an app or a pod. Both have instances, an upgrade strategy, a
//! kill selection, launch backoff and versions; the pure planning over them is shared.

use std::sync::Arc;

use crate::{
    AppDefinition, HealthCheck, HealthSpec, Instance, KillSelection, PathId, PodDefinition, Timestamp,
    UnreachableStrategy, UpgradeStrategy,
};

#[derive(Clone, Debug, PartialEq)]
pub enum RunSpec {
    App(Arc<AppDefinition>),
    Pod(Arc<PodDefinition>),
}

/// Launch backoff in whole and fractional seconds, for apps and pods alike.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Backoff {
    pub seconds: f64,
    pub factor: f64,
    pub max_seconds: f64,
}

impl RunSpec {
    pub fn id(&self) -> &PathId {
        match self {
            RunSpec::App(a) => &a.id,
            RunSpec::Pod(p) => &p.id,
        }
    }

    pub fn is_pod(&self) -> bool {
        matches!(self, RunSpec::Pod(_))
    }

    pub fn instances(&self) -> u32 {
        match self {
            RunSpec::App(a) => a.instances,
            RunSpec::Pod(p) => p.instances(),
        }
    }

    pub fn version_or_epoch(&self) -> Timestamp {
        match self {
            RunSpec::App(a) => a.version_or_epoch(),
            RunSpec::Pod(p) => p.version_or_epoch(),
        }
    }

    pub fn config_version(&self) -> Timestamp {
        match self {
            RunSpec::App(a) => a.config_version(),
            RunSpec::Pod(p) => p.config_version(),
        }
    }

    pub fn upgrade_strategy(&self) -> UpgradeStrategy {
        match self {
            RunSpec::App(a) => a.upgrade_strategy,
            RunSpec::Pod(p) => p.scheduling.upgrade,
        }
    }

    pub fn kill_selection(&self) -> KillSelection {
        match self {
            RunSpec::App(a) => a.kill_selection,
            RunSpec::Pod(p) => p.scheduling.kill_selection,
        }
    }

    pub fn unreachable_strategy(&self) -> UnreachableStrategy {
        match self {
            RunSpec::App(a) => a.unreachable_strategy,
            RunSpec::Pod(p) => p.scheduling.unreachable_strategy,
        }
    }

    pub fn backoff(&self) -> Backoff {
        match self {
            RunSpec::App(a) => Backoff {
                seconds: f64::from(a.backoff_seconds),
                factor: a.backoff_factor,
                max_seconds: f64::from(a.max_launch_delay_seconds),
            },
            RunSpec::Pod(p) => Backoff {
                seconds: p.scheduling.backoff.backoff,
                factor: p.scheduling.backoff.backoff_factor,
                max_seconds: p.scheduling.backoff.max_launch_delay,
            },
        }
    }

    /// How long a killed task may take to stop before SIGKILL: an app's
    /// `taskKillGracePeriodSeconds`, the longest `lifecycle.killGracePeriodSeconds` of a pod.
    pub fn kill_grace_seconds(&self) -> Option<f64> {
        match self {
            RunSpec::App(a) => a.task_kill_grace_period_seconds.map(f64::from),
            RunSpec::Pod(p) => p
                .containers
                .iter()
                .filter_map(|c| c.lifecycle.as_ref()?.kill_grace_period_seconds)
                .reduce(f64::max),
        }
    }

    /// What a task of this spec must report before it counts as healthy. A pod's container
    /// checks all run on the agent; the group is healthy when every checked container is.
    pub fn health_spec(&self) -> HealthSpec {
        match self {
            RunSpec::App(a) => HealthSpec::of(a),
            RunSpec::Pod(p) => HealthSpec {
                scheduler_checks: 0,
                agent_check: p.containers.iter().any(|c| c.health_check.is_some()),
                readiness_checks: 0,
            },
        }
    }

    /// The app's health checks (none for a pod: its checks ride on status updates).
    pub fn app_health_checks(&self) -> &[HealthCheck] {
        match self {
            RunSpec::App(a) => &a.health_checks,
            RunSpec::Pod(_) => &[],
        }
    }

    pub fn as_app(&self) -> Option<&Arc<AppDefinition>> {
        match self {
            RunSpec::App(a) => Some(a),
            RunSpec::Pod(_) => None,
        }
    }

    pub fn as_pod(&self) -> Option<&Arc<PodDefinition>> {
        match self {
            RunSpec::Pod(p) => Some(p),
            RunSpec::App(_) => None,
        }
    }
}

impl PodDefinition {
    /// The pod's version; stored pods always have one.
    pub fn version_or_epoch(&self) -> Timestamp {
        self.version.unwrap_or(Timestamp::from_millis(0))
    }

    /// When the config (not merely the scale) last changed.
    pub fn config_version(&self) -> Timestamp {
        self.version_info
            .map(|v| v.last_config_change_at)
            .unwrap_or_else(|| self.version_or_epoch())
    }
}

impl Instance {
    /// A new instance of `spec`, not yet launched.
    pub fn of(spec: &RunSpec, now: Timestamp) -> Self {
        Instance {
            instance_id: format!("{}.instance-{}", spec.id().safe_id(), uuid::Uuid::new_v4()),
            app_id: spec.id().clone(),
            run_spec_version: spec.version_or_epoch(),
            config_version: Some(spec.config_version()),
            goal: super::Goal::Running,
            incarnation: 0,
            task: None,
            kill_requested: false,
            last_failure: None,
            created_at: now,
            reservation: None,
        }
    }

    /// Whether this instance runs `spec`'s current config.
    pub fn runs_config_of_spec(&self, spec: &RunSpec) -> bool {
        match self.config_version {
            Some(c) => c == spec.config_version(),
            None => self.run_spec_version >= spec.config_version(),
        }
    }

    /// The id of a pod container's task in the next launch: `<instance>.<container>`, with
    /// the incarnation appended after the first (Mesos does not take a task id twice).
    pub fn next_container_task_id(&self, container: &str) -> String {
        match self.incarnation + 1 {
            1 => format!("{}.{container}", self.instance_id),
            n => format!("{}.{container}.{n}", self.instance_id),
        }
    }
}
