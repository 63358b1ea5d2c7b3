//! Status for GitOps tools: an app's `generation`, `observedGeneration` and Kubernetes-style
//! `conditions` (`Available`, `Progressing`, `Degraded`), derived from the store on every read.
//!
//! Nothing here is stored. `generation` is the app's `version` in epoch milliseconds: the API
//! gives every change of the spec (scale, config, restart, rollback) a strictly later version,
//! so it only grows, survives version pruning and is the same on every server.
//! `observedGeneration` is the generation the cluster has finished rolling out: while
//! deployments of the app run, the generation the oldest of them started from (0 for a
//! creation); otherwise `generation` itself. `lastTransitionTime` is the time of the record
//! that decides the condition (deployment start, task start or failure, backoff), since no
//! transition history is kept.

use std::sync::Arc;

use schemas::{
    AppDefinition, Deployment, Goal, HealthSpec, HealthVerdict, Instance, LaunchDelay, TaskState, Timestamp,
};
use serde::Serialize;

/// The status fields added to an AppInfo.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct AppStatus {
    pub generation: i64,
    pub observed_generation: i64,
    pub conditions: Vec<Condition>,
}

/// One condition, spelled as Kubernetes does.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Condition {
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// `"True"` or `"False"`, strings as in Kubernetes.
    pub status: &'static str,
    pub reason: &'static str,
    pub message: String,
    pub last_transition_time: Timestamp,
}

fn condition(kind: &'static str, on: bool, reason: &'static str, message: String, at: Timestamp) -> Condition {
    Condition {
        kind,
        status: if on { "True" } else { "False" },
        reason,
        message,
        last_transition_time: at,
    }
}

/// The status of `app`, given its instances, the deployments that affect it (any order) and
/// its launch delay.
pub(crate) fn of(
    app: &AppDefinition,
    instances: &[Arc<Instance>],
    deployments: &[Arc<Deployment>],
    delay: Option<&LaunchDelay>,
    now: Timestamp,
) -> AppStatus {
    let generation = app.version_or_epoch().millis();
    let oldest = deployments.iter().min_by_key(|d| (d.version, d.id.clone()));
    let observed_generation = match oldest {
        Some(d) => d
            .original
            .get(&app.id)
            .and_then(|o| o.as_ref())
            .map_or(0, |o| o.version_or_epoch().millis()),
        None => generation,
    };
    AppStatus {
        generation,
        observed_generation,
        conditions: vec![
            available(app, instances),
            progressing(app, oldest.map(Arc::as_ref), deployments.len()),
            degraded(app, instances, delay, now),
        ],
    }
}

/// True when as many instances as wanted run the current config and count as healthy
/// (running, health checks alive and readiness checks ready where the app has them).
fn available(app: &AppDefinition, instances: &[Arc<Instance>]) -> Condition {
    let spec = HealthSpec::of(app);
    let good: Vec<&Instance> = instances
        .iter()
        .map(Arc::as_ref)
        .filter(|i| i.goal == Goal::Running && i.runs_config_of(app) && i.counts_as_healthy(&spec))
        .collect();
    let wanted = app.instances as usize;
    let message = format!(
        "{}/{wanted} instances run the current config and are healthy",
        good.len()
    );
    if good.len() >= wanted {
        let at = good
            .iter()
            .filter_map(|i| i.task.as_ref()?.started_at)
            .max()
            .unwrap_or(app.version_or_epoch());
        condition("Available", true, "InstancesAvailable", message, at)
    } else {
        let at = instances
            .iter()
            .filter_map(|i| i.task.as_ref().map(|t| t.updated_at))
            .chain([app.version_or_epoch()])
            .max()
            .unwrap_or(app.version_or_epoch());
        condition("Available", false, "InstancesUnavailable", message, at)
    }
}

fn progressing(app: &AppDefinition, oldest: Option<&Deployment>, count: usize) -> Condition {
    match oldest {
        Some(d) => {
            let total = d.steps.len();
            let step = (d.current_step + 1).min(total);
            let more = if count > 1 {
                format!(" ({} more queued)", count - 1)
            } else {
                String::new()
            };
            let message = format!("deployment {} at step {step}/{total}{more}", d.id);
            condition("Progressing", true, "DeploymentInProgress", message, d.version)
        }
        None => condition(
            "Progressing",
            false,
            "DeploymentComplete",
            "no deployment in progress".into(),
            app.version_or_epoch(),
        ),
    }
}

/// True while launches back off after failures, a running task fails its health checks, or
/// an instance of the current config waits for relaunch after its task failed.
fn degraded(
    app: &AppDefinition,
    instances: &[Arc<Instance>],
    delay: Option<&LaunchDelay>,
    now: Timestamp,
) -> Condition {
    let backoff_until = delay
        .filter(|d| d.config_version == app.config_version())
        .map(|d| (d.reference, d.reference.millis().saturating_add(d.delay_millis as i64)));
    if let Some((since, until)) = backoff_until
        && until > now.millis()
    {
        let secs = (until - now.millis() + 999) / 1000;
        let message = format!("launches are delayed {secs}s more after task failures");
        return condition("Degraded", true, "LaunchBackoff", message, since);
    }
    let spec = HealthSpec::of(app);
    let live = || instances.iter().filter(|i| i.goal == Goal::Running);
    let unhealthy: Vec<&Arc<Instance>> = live().filter(|i| i.health(&spec) == HealthVerdict::Unhealthy).collect();
    if let Some(at) = unhealthy
        .iter()
        .filter_map(|i| i.task.as_ref().map(|t| t.updated_at))
        .max()
    {
        let message = format!("{} instances fail their health checks", unhealthy.len());
        return condition("Degraded", true, "Unhealthy", message, at);
    }
    let failed = live()
        .filter(|i| i.runs_config_of(app))
        .filter_map(|i| i.task.as_ref())
        .filter(|t| t.state.is_task_failure() || t.state == TaskState::TASK_FINISHED)
        .max_by_key(|t| t.updated_at);
    if let Some(t) = failed {
        let message = format!(
            "task {} ended {}{}",
            t.task_id,
            t.state.as_str(),
            t.message.as_deref().map(|m| format!(": {m}")).unwrap_or_default()
        );
        return condition("Degraded", true, "TaskFailed", message, t.updated_at);
    }
    condition(
        "Degraded",
        false,
        "AsExpected",
        "no failures, backoff or failing health checks".into(),
        app.version_or_epoch(),
    )
}

#[cfg(test)]
mod tests {
    use schemas::{PathId, TaskRecord};

    use super::*;

    fn app(instances: u32, version_ms: i64) -> AppDefinition {
        let mut a: AppDefinition = serde_json::from_value(serde_json::json!({"id": "/a", "cmd": "x"})).unwrap();
        a.instances = instances;
        a.version = Some(Timestamp::from_millis(version_ms));
        a
    }

    fn instance(app: &AppDefinition, state: TaskState, at_ms: i64) -> Arc<Instance> {
        let mut i = Instance::new(app, Timestamp::from_millis(at_ms));
        i.task = Some(TaskRecord {
            task_id: i.next_task_id(),
            agent_id: "agent".into(),
            host: "localhost".into(),
            ports: vec![],
            state,
            staged_at: Timestamp::from_millis(at_ms),
            started_at: (state == TaskState::TASK_RUNNING).then(|| Timestamp::from_millis(at_ms + 10)),
            updated_at: Timestamp::from_millis(at_ms + 10),
            message: Some("exit 1".into()),
            health: Default::default(),
            containers: vec![],
        });
        Arc::new(i)
    }

    fn get<'a>(s: &'a AppStatus, kind: &str) -> &'a Condition {
        s.conditions.iter().find(|c| c.kind == kind).unwrap()
    }

    #[test]
    fn running_and_idle_is_available_and_observed() {
        let a = app(2, 1_000);
        let insts = [
            instance(&a, TaskState::TASK_RUNNING, 2_000),
            instance(&a, TaskState::TASK_RUNNING, 3_000),
        ];
        let s = of(&a, &insts, &[], None, Timestamp::from_millis(5_000));
        assert_eq!((s.generation, s.observed_generation), (1_000, 1_000));
        let av = get(&s, "Available");
        assert_eq!((av.status, av.reason), ("True", "InstancesAvailable"));
        assert_eq!(av.last_transition_time, Timestamp::from_millis(3_010));
        assert_eq!(get(&s, "Progressing").status, "False");
        assert_eq!(get(&s, "Degraded").status, "False");
    }

    #[test]
    fn deployment_in_flight_is_progressing_and_not_yet_observed() {
        let old = app(1, 1_000);
        let new = app(2, 4_000);
        let d = Deployment {
            id: "d1".into(),
            version: Timestamp::from_millis(4_000),
            affected_apps: vec![PathId::parse("/a").unwrap()],
            steps: vec![],
            current_step: 0,
            original: [(old.id.clone(), Some(Arc::new(old.clone())))].into(),
            target: [(new.id.clone(), Some(Arc::new(new.clone())))].into(),
            group: None,
            affected_pods: vec![],
            original_pods: Default::default(),
            target_pods: Default::default(),
        };
        let insts = [instance(&old, TaskState::TASK_RUNNING, 2_000)];
        let s = of(&new, &insts, &[Arc::new(d)], None, Timestamp::from_millis(5_000));
        assert_eq!((s.generation, s.observed_generation), (4_000, 1_000));
        let p = get(&s, "Progressing");
        assert_eq!((p.status, p.reason), ("True", "DeploymentInProgress"));
        assert!(p.message.contains("d1"), "{}", p.message);
        // The running instance has the old config: it does not count.
        assert_eq!(get(&s, "Available").status, "False");
        assert_eq!(
            get(&s, "Available").message,
            "0/2 instances run the current config and are healthy"
        );
    }

    #[test]
    fn backoff_and_failures_are_degraded() {
        let a = app(1, 1_000);
        let failed = [instance(&a, TaskState::TASK_FAILED, 2_000)];
        let s = of(&a, &failed, &[], None, Timestamp::from_millis(5_000));
        let d = get(&s, "Degraded");
        assert_eq!((d.status, d.reason), ("True", "TaskFailed"));
        assert!(d.message.ends_with("TASK_FAILED: exit 1"), "{}", d.message);

        let delay = LaunchDelay {
            config_version: a.config_version(),
            reference: Timestamp::from_millis(4_000),
            delay_millis: 3_000,
        };
        let s = of(&a, &failed, &[], Some(&delay), Timestamp::from_millis(5_000));
        let d = get(&s, "Degraded");
        assert_eq!(
            (d.status, d.reason, d.message.as_str()),
            (
                "True",
                "LaunchBackoff",
                "launches are delayed 2s more after task failures"
            )
        );
        // A delay of another config, or one that has run out, is no backoff.
        let s = of(&a, &[], &[], Some(&delay), Timestamp::from_millis(8_000));
        assert_eq!(get(&s, "Degraded").status, "False");
    }

    #[test]
    fn zero_instances_are_available_at_once() {
        let a = app(0, 1_000);
        let s = of(&a, &[], &[], None, Timestamp::from_millis(5_000));
        assert_eq!(get(&s, "Available").status, "True");
        assert_eq!(get(&s, "Degraded").status, "False");
    }
}
