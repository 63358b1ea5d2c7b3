//! Health and readiness as the cluster records them, and the rules that turn those records into
//! "healthy" for deployments and counts.
//!
//! Health lives in the store, on the task it belongs to, so that a restarted or newly elected
//! leader continues deployments from what was last observed instead of from an empty cache
//! (Marathon lost its in-memory health on every leader change and stalled deployments).

use serde::{Deserialize, Serialize};

use crate::{AppDefinition, HealthCheck, Instance, TaskRecord, TaskState, Timestamp};

/// Who runs a health check.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CheckRunner {
    /// Pacer probes the task over the network (`HTTP`, `HTTPS`, `TCP`).
    Scheduler,
    /// The Mesos agent runs it next to the task and reports `healthy` in status updates
    /// (`COMMAND`, `MESOS_HTTP`, `MESOS_HTTPS`, `MESOS_TCP`).
    Agent,
}

impl HealthCheck {
    pub fn runner(&self) -> CheckRunner {
        match self.protocol.as_str() {
            "HTTP" | "HTTPS" | "TCP" => CheckRunner::Scheduler,
            _ => CheckRunner::Agent,
        }
    }
}

/// What a task reported or was observed to be, per check.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskHealth {
    /// The agent-run check's verdict from the last status update that carried one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent: Option<bool>,
    /// Results of the scheduler-run checks, by index among the app's `healthChecks`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub checks: Vec<HealthResult>,
    /// Results of the app's readiness checks, by name.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub readiness: Vec<ReadinessResult>,
    /// Set when Pacer killed the task for failing its health checks: the reason.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub killed_unhealthy: Option<String>,
}

impl TaskHealth {
    pub fn is_empty(&self) -> bool {
        *self == TaskHealth::default()
    }
}

/// One scheduler-run check's state for one task, with Marathon's `healthCheckResults` fields.
///
/// Recorded when `alive` or `consecutiveFailures` changes, so `lastSuccess` is the success
/// that last changed the state (the first after a failure), not every later one.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HealthResult {
    /// The check's index in the app's `healthChecks`.
    pub index: usize,
    pub alive: bool,
    pub consecutive_failures: u32,
    pub first_success: Option<Timestamp>,
    pub last_success: Option<Timestamp>,
    pub last_failure: Option<Timestamp>,
    pub last_failure_cause: Option<String>,
}

/// One readiness check's latest result for one task (Marathon's `readinessCheckResults`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReadinessResult {
    pub name: String,
    pub ready: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_response: Option<HttpResponse>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HttpResponse {
    pub status: u16,
    pub content_type: String,
    pub body: String,
}

/// What an app version expects of a task before it counts as healthy and ready.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HealthSpec {
    /// How many checks Pacer runs itself (indices into `healthChecks` of those checks).
    pub scheduler_checks: usize,
    /// Whether the agent runs a check (Mesos allows one per task).
    pub agent_check: bool,
    pub readiness_checks: usize,
}

impl HealthSpec {
    pub fn of(app: &AppDefinition) -> Self {
        HealthSpec {
            scheduler_checks: app
                .health_checks
                .iter()
                .filter(|c| c.runner() == CheckRunner::Scheduler)
                .count(),
            agent_check: app.health_checks.iter().any(|c| c.runner() == CheckRunner::Agent),
            readiness_checks: app.readiness_checks.len(),
        }
    }

    pub fn has_health_checks(&self) -> bool {
        self.scheduler_checks > 0 || self.agent_check
    }
}

/// A task's health as Marathon counts it in `tasksHealthy` / `tasksUnhealthy`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HealthVerdict {
    Healthy,
    Unhealthy,
    /// No check has reported yet, or the app has no checks.
    Unknown,
}

impl TaskRecord {
    /// The task's health against `spec`: healthy when every check has reported alive,
    /// unhealthy as soon as one reports dead.
    pub fn health_verdict(&self, spec: &HealthSpec) -> HealthVerdict {
        if !spec.has_health_checks() || self.state != TaskState::TASK_RUNNING {
            return HealthVerdict::Unknown;
        }
        let h = &self.health;
        let results = h
            .checks
            .iter()
            .map(|r| r.alive)
            .chain(h.agent.filter(|_| spec.agent_check));
        let mut reported = 0;
        for alive in results {
            if !alive {
                return HealthVerdict::Unhealthy;
            }
            reported += 1;
        }
        if reported == spec.scheduler_checks + usize::from(spec.agent_check) {
            HealthVerdict::Healthy
        } else {
            HealthVerdict::Unknown
        }
    }
}

impl Instance {
    /// The health of the current task (see [`TaskRecord::health_verdict`]).
    pub fn health(&self, spec: &HealthSpec) -> HealthVerdict {
        self.task
            .as_ref()
            .map_or(HealthVerdict::Unknown, |t| t.health_verdict(spec))
    }

    /// Whether every readiness check has reported ready (trivially true without checks).
    pub fn is_ready(&self, spec: &HealthSpec) -> bool {
        spec.readiness_checks == 0
            || self.task.as_ref().is_some_and(|t| {
                t.health.readiness.len() >= spec.readiness_checks && t.health.readiness.iter().all(|r| r.ready)
            })
    }

    /// Whether the instance adds capacity for deployments and rolling upgrades: its task runs,
    /// nobody is killing it, its health checks (if any) report alive and its readiness checks
    /// (if any) report ready.
    pub fn counts_as_healthy(&self, spec: &HealthSpec) -> bool {
        !self.kill_requested
            && self.state() == Some(TaskState::TASK_RUNNING)
            && (!spec.has_health_checks() || self.health(spec) == HealthVerdict::Healthy)
            && self.is_ready(spec)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Goal, PathId};

    fn app(json: &str) -> AppDefinition {
        serde_json::from_str(json).unwrap()
    }

    fn running(health: TaskHealth) -> Instance {
        let t = Timestamp::from_millis(1);
        Instance {
            instance_id: "a.instance-1".into(),
            app_id: PathId::parse("/a").unwrap(),
            run_spec_version: t,
            config_version: None,
            goal: Goal::Running,
            incarnation: 1,
            task: Some(TaskRecord {
                task_id: "a.instance-1._app.1".into(),
                agent_id: "ag".into(),
                host: "h".into(),
                ports: vec![],
                state: TaskState::TASK_RUNNING,
                staged_at: t,
                started_at: Some(t),
                updated_at: t,
                message: None,
                health,
                containers: vec![],
            }),
            kill_requested: false,
            last_failure: None,
            created_at: t,
            reservation: None,
        }
    }

    fn result(index: usize, alive: bool) -> HealthResult {
        HealthResult {
            index,
            alive,
            consecutive_failures: u32::from(!alive),
            first_success: None,
            last_success: None,
            last_failure: None,
            last_failure_cause: None,
        }
    }

    #[test]
    fn runner_follows_protocol() {
        let a = app(
            r#"{"id":"/a","cmd":"x","healthChecks":[{"protocol":"HTTP"},{"protocol":"TCP"},
                {"protocol":"COMMAND","command":{"value":"true"}},{"protocol":"MESOS_HTTP"}]}"#,
        );
        let runners: Vec<_> = a.health_checks.iter().map(HealthCheck::runner).collect();
        use CheckRunner::*;
        assert_eq!(runners, vec![Scheduler, Scheduler, Agent, Agent]);
        let spec = HealthSpec::of(&a);
        assert_eq!((spec.scheduler_checks, spec.agent_check), (2, true));
    }

    #[test]
    fn without_checks_running_is_enough() {
        let spec = HealthSpec::of(&app(r#"{"id":"/a","cmd":"x"}"#));
        let i = running(TaskHealth::default());
        assert_eq!(i.health(&spec), HealthVerdict::Unknown);
        assert!(i.counts_as_healthy(&spec));
    }

    #[test]
    fn every_check_must_report_alive() {
        let spec = HealthSpec::of(&app(
            r#"{"id":"/a","cmd":"x","healthChecks":[{"protocol":"HTTP"},{"protocol":"MESOS_TCP"}]}"#,
        ));
        let mut h = TaskHealth::default();
        assert!(!running(h.clone()).counts_as_healthy(&spec));
        h.checks.push(result(0, true));
        assert_eq!(running(h.clone()).health(&spec), HealthVerdict::Unknown);
        h.agent = Some(true);
        assert_eq!(running(h.clone()).health(&spec), HealthVerdict::Healthy);
        assert!(running(h.clone()).counts_as_healthy(&spec));
        h.agent = Some(false);
        assert_eq!(running(h.clone()).health(&spec), HealthVerdict::Unhealthy);
        h.agent = None;
        h.checks[0] = result(0, false);
        assert_eq!(running(h).health(&spec), HealthVerdict::Unhealthy);
    }

    #[test]
    fn readiness_gates_capacity_and_killing_removes_it() {
        let spec = HealthSpec::of(&app(r#"{"id":"/a","cmd":"x","readinessChecks":[{}]}"#));
        let mut h = TaskHealth::default();
        assert!(!running(h.clone()).counts_as_healthy(&spec));
        h.readiness.push(ReadinessResult {
            name: "readinessCheck".into(),
            ready: true,
            last_response: None,
        });
        let mut i = running(h);
        assert!(i.counts_as_healthy(&spec));
        i.kill_requested = true;
        assert!(!i.counts_as_healthy(&spec));
    }
}
