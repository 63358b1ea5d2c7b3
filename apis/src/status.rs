//! Status for GitOps tools: the `generation`, `observedGeneration` and Kubernetes-style
//! `conditions` (`Available`, `Progressing`, `Degraded`) of an app or a pod, derived from the
//! store on every read.
//!
//! Nothing here is stored. `generation` is the spec's `version` in epoch milliseconds: the API
//! gives every change of the spec (scale, config, restart, rollback) a strictly later version,
//! so it only grows, survives version pruning and is the same on every server.
//! `observedGeneration` is the generation the cluster has finished rolling out: while
//! deployments of the spec run, the generation the oldest of them started from (0 for a
//! creation); otherwise `generation` itself. `lastTransitionTime` is the time of the record
//! that decides the condition (deployment start, task start or failure, backoff), since no
//! transition history is kept.
//!
//! The conditions themselves are computed from [`Inputs`], counts and deciding records that
//! say nothing of what they belong to: [`inputs`] reads them off an app's or a pod's
//! instances, and [`Inputs::absorb`] sums members' inputs for a whole group.

use std::sync::Arc;

use schemas::{
    AppDefinition, Deployment, Goal, HealthSpec, HealthVerdict, Instance, LaunchDelay, PathId, PodDefinition, RunSpec,
    TaskState, Timestamp,
};
use serde::Serialize;

/// The status fields added to an AppInfo, a pod or a PodStatus.
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

/// What the conditions are computed from, whatever it belongs to: one app or pod, or a group
/// summing its members (see [`Inputs::absorb`]).
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Inputs {
    /// The spec's version: the time of a condition no record decides.
    pub version: Timestamp,
    /// Instances wanted.
    pub wanted: usize,
    /// Instances that run the current config and count as healthy.
    pub available: usize,
    /// The latest start of an available instance.
    pub available_since: Option<Timestamp>,
    /// The latest change of any instance's task.
    pub last_change: Option<Timestamp>,
    /// The oldest deployment in progress.
    pub rollout: Option<Rollout>,
    /// Why it is degraded, when it is.
    pub trouble: Option<Trouble>,
}

/// A deployment in progress, and how many more wait behind it.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Rollout {
    pub deployment: String,
    /// 1-based.
    pub step: usize,
    pub total: usize,
    pub queued: usize,
    pub since: Timestamp,
}

impl Rollout {
    /// The oldest of `deployments` (any order), with the count of the others.
    pub(crate) fn of(deployments: &[Arc<Deployment>]) -> Option<Rollout> {
        let oldest = deployments.iter().min_by_key(|d| (d.version, d.id.clone()))?;
        let total = oldest.steps.len();
        Some(Rollout {
            deployment: oldest.id.clone(),
            step: (oldest.current_step + 1).min(total),
            total,
            queued: deployments.len() - 1,
            since: oldest.version,
        })
    }
}

/// Why something is degraded: a `Degraded` condition's reason, message and time.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Trouble {
    pub reason: &'static str,
    pub message: String,
    pub since: Timestamp,
}

impl Inputs {
    /// Adds a member's inputs to a group's (start from a group's own version and nothing
    /// wanted): counts add up, the latest times and the oldest rollout win, and the first
    /// trouble found is kept, its message naming the member.
    // For the status of groups, which sum their apps' and pods' inputs.
    #[cfg_attr(not(test), allow(dead_code))]
    pub(crate) fn absorb(&mut self, member: &PathId, other: Inputs) {
        self.wanted += other.wanted;
        self.available += other.available;
        self.available_since = self.available_since.max(other.available_since);
        self.last_change = self.last_change.max(other.last_change);
        self.rollout = match (self.rollout.take(), other.rollout) {
            (Some(a), Some(b)) => {
                let queued = a.queued + b.queued + 1;
                let oldest = if (b.since, &b.deployment) < (a.since, &a.deployment) {
                    b
                } else {
                    a
                };
                Some(Rollout { queued, ..oldest })
            }
            (a, b) => a.or(b),
        };
        if self.trouble.is_none() {
            self.trouble = other.trouble.map(|t| Trouble {
                message: format!("{member}: {}", t.message),
                ..t
            });
        }
    }
}

/// The three conditions of `inputs`.
pub(crate) fn conditions(inputs: &Inputs) -> Vec<Condition> {
    vec![available(inputs), progressing(inputs), degraded(inputs)]
}

/// The status of something whose version is `generation`, observed up to
/// `observed_generation`, with the conditions of `inputs`.
pub(crate) fn status(generation: i64, observed_generation: i64, inputs: &Inputs) -> AppStatus {
    AppStatus {
        generation,
        observed_generation,
        conditions: conditions(inputs),
    }
}

/// An app or a pod, as its status reads it.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Spec<'a> {
    App(&'a AppDefinition),
    Pod(&'a Arc<PodDefinition>),
}

impl Spec<'_> {
    fn version(&self) -> Timestamp {
        match self {
            Spec::App(a) => a.version_or_epoch(),
            Spec::Pod(p) => p.version_or_epoch(),
        }
    }

    fn config_version(&self) -> Timestamp {
        match self {
            Spec::App(a) => a.config_version(),
            Spec::Pod(p) => p.config_version(),
        }
    }

    fn wanted(&self) -> usize {
        match self {
            Spec::App(a) => a.instances as usize,
            Spec::Pod(p) => p.instances() as usize,
        }
    }

    fn health(&self) -> HealthSpec {
        match self {
            Spec::App(a) => HealthSpec::of(a),
            Spec::Pod(p) => RunSpec::Pod(Arc::clone(p)).health_spec(),
        }
    }

    fn runs_current_config(&self, i: &Instance) -> bool {
        match self {
            Spec::App(a) => i.runs_config_of(a),
            Spec::Pod(p) => i.runs_config_of_spec(&RunSpec::Pod(Arc::clone(p))),
        }
    }

    /// The version `d` started from (`None`: `d` created it).
    fn original_in(&self, d: &Deployment) -> Option<Timestamp> {
        match self {
            Spec::App(a) => d.original.get(&a.id)?.as_ref().map(|o| o.version_or_epoch()),
            Spec::Pod(p) => d.original_pods.get(&p.id)?.as_ref().map(|o| o.version_or_epoch()),
        }
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
    of_spec(Spec::App(app), instances, deployments, delay, now)
}

/// The status of `pod`, given the same as [`of`].
pub(crate) fn of_pod(
    pod: &Arc<PodDefinition>,
    instances: &[Arc<Instance>],
    deployments: &[Arc<Deployment>],
    delay: Option<&LaunchDelay>,
    now: Timestamp,
) -> AppStatus {
    of_spec(Spec::Pod(pod), instances, deployments, delay, now)
}

/// The status of an app or a pod.
pub(crate) fn of_spec(
    spec: Spec<'_>,
    instances: &[Arc<Instance>],
    deployments: &[Arc<Deployment>],
    delay: Option<&LaunchDelay>,
    now: Timestamp,
) -> AppStatus {
    let generation = spec.version().millis();
    let oldest = deployments.iter().min_by_key(|d| (d.version, d.id.clone()));
    let observed_generation = match oldest {
        Some(d) => spec.original_in(d).map_or(0, |t| t.millis()),
        None => generation,
    };
    status(
        generation,
        observed_generation,
        &inputs(spec, instances, deployments, delay, now),
    )
}

/// The inputs of an app's or a pod's conditions, read off its instances, the deployments that
/// affect it and its launch delay.
pub(crate) fn inputs(
    spec: Spec<'_>,
    instances: &[Arc<Instance>],
    deployments: &[Arc<Deployment>],
    delay: Option<&LaunchDelay>,
    now: Timestamp,
) -> Inputs {
    let health = spec.health();
    let good: Vec<&Instance> = instances
        .iter()
        .map(Arc::as_ref)
        .filter(|i| i.goal == Goal::Running && spec.runs_current_config(i) && i.counts_as_healthy(&health))
        .collect();
    Inputs {
        version: spec.version(),
        wanted: spec.wanted(),
        available: good.len(),
        available_since: good.iter().filter_map(|i| i.task.as_ref()?.started_at).max(),
        last_change: instances
            .iter()
            .filter_map(|i| i.task.as_ref().map(|t| t.updated_at))
            .max(),
        rollout: Rollout::of(deployments),
        trouble: trouble(spec, &health, instances, delay, now),
    }
}

/// True when as many instances as wanted run the current config and count as healthy
/// (running, health checks alive and readiness checks ready where the spec has them).
fn available(i: &Inputs) -> Condition {
    let message = format!(
        "{}/{} instances run the current config and are healthy",
        i.available, i.wanted
    );
    if i.available >= i.wanted {
        let at = i.available_since.unwrap_or(i.version);
        condition("Available", true, "InstancesAvailable", message, at)
    } else {
        let at = i.last_change.max(Some(i.version)).unwrap_or(i.version);
        condition("Available", false, "InstancesUnavailable", message, at)
    }
}

fn progressing(i: &Inputs) -> Condition {
    match &i.rollout {
        Some(r) => {
            let more = if r.queued > 0 {
                format!(" ({} more queued)", r.queued)
            } else {
                String::new()
            };
            let message = format!("deployment {} at step {}/{}{more}", r.deployment, r.step, r.total);
            condition("Progressing", true, "DeploymentInProgress", message, r.since)
        }
        None => condition(
            "Progressing",
            false,
            "DeploymentComplete",
            "no deployment in progress".into(),
            i.version,
        ),
    }
}

fn degraded(i: &Inputs) -> Condition {
    match &i.trouble {
        Some(t) => condition("Degraded", true, t.reason, t.message.clone(), t.since),
        None => condition(
            "Degraded",
            false,
            "AsExpected",
            "no failures, backoff or failing health checks".into(),
            i.version,
        ),
    }
}

/// Launches back off after failures, a running task fails its health checks, or an instance
/// of the current config waits for relaunch after its task failed.
fn trouble(
    spec: Spec<'_>,
    health: &HealthSpec,
    instances: &[Arc<Instance>],
    delay: Option<&LaunchDelay>,
    now: Timestamp,
) -> Option<Trouble> {
    let backoff_until = delay
        .filter(|d| d.config_version == spec.config_version())
        .map(|d| (d.reference, d.reference.millis().saturating_add(d.delay_millis as i64)));
    if let Some((since, until)) = backoff_until
        && until > now.millis()
    {
        let secs = (until - now.millis() + 999) / 1000;
        return Some(Trouble {
            reason: "LaunchBackoff",
            message: format!("launches are delayed {secs}s more after task failures"),
            since,
        });
    }
    let live = || instances.iter().filter(|i| i.goal == Goal::Running);
    let unhealthy: Vec<&Arc<Instance>> = live()
        .filter(|i| i.health(health) == HealthVerdict::Unhealthy)
        .collect();
    if let Some(at) = unhealthy
        .iter()
        .filter_map(|i| i.task.as_ref().map(|t| t.updated_at))
        .max()
    {
        return Some(Trouble {
            reason: "Unhealthy",
            message: format!("{} instances fail their health checks", unhealthy.len()),
            since: at,
        });
    }
    let failed = live()
        .filter(|i| spec.runs_current_config(i))
        .filter_map(|i| i.task.as_ref())
        .filter(|t| t.state.is_task_failure() || t.state == TaskState::TASK_FINISHED)
        .max_by_key(|t| t.updated_at)?;
    Some(Trouble {
        reason: "TaskFailed",
        message: format!(
            "task {} ended {}{}",
            failed.task_id,
            failed.state.as_str(),
            failed.message.as_deref().map(|m| format!(": {m}")).unwrap_or_default()
        ),
        since: failed.updated_at,
    })
}

#[cfg(test)]
mod tests {
    use schemas::TaskRecord;

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

    fn pod(instances: u32, version_ms: i64, checked: bool) -> Arc<PodDefinition> {
        let check = if checked {
            serde_json::json!({"exec": {"command": {"shell": "true"}}})
        } else {
            serde_json::Value::Null
        };
        let mut p: PodDefinition = serde_json::from_value(serde_json::json!({"id": "/p",
            "scaling": {"kind": "fixed", "instances": instances},
            "containers": [{"name": "c", "resources": {"cpus": 0.1, "mem": 16}, "healthCheck": check}]}))
        .unwrap();
        p.version = Some(Timestamp::from_millis(version_ms));
        Arc::new(p)
    }

    fn pod_instance(p: &Arc<PodDefinition>, state: TaskState, healthy: Option<bool>, at_ms: i64) -> Arc<Instance> {
        let mut i = Instance::of(&RunSpec::Pod(p.clone()), Timestamp::from_millis(at_ms));
        let task = TaskRecord {
            task_id: format!("instance-{}", i.instance_id),
            agent_id: "agent".into(),
            host: "localhost".into(),
            ports: vec![],
            state,
            staged_at: Timestamp::from_millis(at_ms),
            started_at: (state == TaskState::TASK_RUNNING).then(|| Timestamp::from_millis(at_ms + 10)),
            updated_at: Timestamp::from_millis(at_ms + 10),
            message: None,
            health: schemas::TaskHealth {
                agent: healthy,
                ..Default::default()
            },
            containers: vec![],
        };
        i.task = Some(task);
        Arc::new(i)
    }

    #[test]
    fn pods_read_their_own_deployments_health_and_config() {
        let old = pod(1, 1_000, true);
        let new = pod(2, 4_000, true);
        let d = Deployment {
            id: "d1".into(),
            version: Timestamp::from_millis(4_000),
            affected_apps: vec![],
            steps: vec![],
            current_step: 0,
            original: Default::default(),
            target: Default::default(),
            group: None,
            affected_pods: vec![new.id.clone()],
            original_pods: [(old.id.clone(), Some(old.clone()))].into(),
            target_pods: [(new.id.clone(), Some(new.clone()))].into(),
        };
        let insts = [pod_instance(&old, TaskState::TASK_RUNNING, Some(true), 2_000)];
        let s = of_pod(&new, &insts, &[Arc::new(d)], None, Timestamp::from_millis(5_000));
        assert_eq!((s.generation, s.observed_generation), (4_000, 1_000));
        assert_eq!(get(&s, "Progressing").status, "True");
        assert_eq!(
            get(&s, "Available").message,
            "0/2 instances run the current config and are healthy"
        );

        // Done: both instances of the new config run; one of them fails its check.
        let insts = [
            pod_instance(&new, TaskState::TASK_RUNNING, Some(true), 4_100),
            pod_instance(&new, TaskState::TASK_RUNNING, Some(false), 4_200),
        ];
        let s = of_pod(&new, &insts, &[], None, Timestamp::from_millis(5_000));
        assert_eq!((s.generation, s.observed_generation), (4_000, 4_000));
        assert_eq!(get(&s, "Available").status, "False");
        let d = get(&s, "Degraded");
        assert_eq!(
            (d.status, d.reason, d.message.as_str()),
            ("True", "Unhealthy", "1 instances fail their health checks")
        );
        assert_eq!(d.last_transition_time, Timestamp::from_millis(4_210));

        // Healthy once the check passes; a pod without checks is healthy when running.
        let insts = [
            pod_instance(&new, TaskState::TASK_RUNNING, Some(true), 4_100),
            pod_instance(&new, TaskState::TASK_RUNNING, Some(true), 4_200),
        ];
        let s = of_pod(&new, &insts, &[], None, Timestamp::from_millis(5_000));
        assert_eq!(get(&s, "Available").status, "True");
        assert_eq!(get(&s, "Degraded").status, "False");
        let unchecked = pod(1, 4_000, false);
        let insts = [pod_instance(&unchecked, TaskState::TASK_RUNNING, None, 4_100)];
        let s = of_pod(&unchecked, &insts, &[], None, Timestamp::from_millis(5_000));
        assert_eq!(get(&s, "Available").status, "True");

        // A created pod's deployment started from nothing.
        let d = Deployment {
            id: "d0".into(),
            version: Timestamp::from_millis(4_000),
            affected_apps: vec![],
            steps: vec![],
            current_step: 0,
            original: Default::default(),
            target: Default::default(),
            group: None,
            affected_pods: vec![new.id.clone()],
            original_pods: [(new.id.clone(), None)].into(),
            target_pods: [(new.id.clone(), Some(new.clone()))].into(),
        };
        let s = of_pod(&new, &[], &[Arc::new(d)], None, Timestamp::from_millis(5_000));
        assert_eq!(s.observed_generation, 0);
    }

    fn inputs_of(wanted: usize, available: usize) -> Inputs {
        Inputs {
            version: Timestamp::from_millis(1_000),
            wanted,
            available,
            available_since: None,
            last_change: None,
            rollout: None,
            trouble: None,
        }
    }

    #[test]
    fn conditions_of_plain_inputs_and_of_a_sum() {
        let group = |members: Vec<(&str, Inputs)>| {
            let mut sum = inputs_of(0, 0);
            for (id, m) in members {
                sum.absorb(&PathId::parse(id).unwrap(), m);
            }
            sum
        };
        let kinds = |i: &Inputs| -> Vec<(&str, &str)> { conditions(i).iter().map(|c| (c.kind, c.status)).collect() };
        assert_eq!(
            kinds(&group(vec![])),
            [("Available", "True"), ("Progressing", "False"), ("Degraded", "False")]
        );

        let mut a = inputs_of(2, 2);
        a.available_since = Some(Timestamp::from_millis(3_000));
        let mut b = inputs_of(1, 0);
        b.last_change = Some(Timestamp::from_millis(4_000));
        b.rollout = Some(Rollout {
            deployment: "late".into(),
            step: 1,
            total: 2,
            queued: 0,
            since: Timestamp::from_millis(3_500),
        });
        b.trouble = Some(Trouble {
            reason: "TaskFailed",
            message: "task t ended TASK_FAILED".into(),
            since: Timestamp::from_millis(4_000),
        });
        let mut c = inputs_of(0, 0);
        c.rollout = Some(Rollout {
            deployment: "early".into(),
            step: 2,
            total: 3,
            queued: 1,
            since: Timestamp::from_millis(2_000),
        });
        let sum = group(vec![("/g/a", a), ("/g/b", b), ("/g/c", c)]);
        assert_eq!((sum.wanted, sum.available), (3, 2));
        let cs = conditions(&sum);
        assert_eq!(
            (cs[0].status, cs[0].message.as_str(), cs[0].last_transition_time),
            (
                "False",
                "2/3 instances run the current config and are healthy",
                Timestamp::from_millis(4_000)
            )
        );
        assert_eq!(
            (cs[1].status, cs[1].message.as_str()),
            ("True", "deployment early at step 2/3 (2 more queued)")
        );
        assert_eq!(cs[1].last_transition_time, Timestamp::from_millis(2_000));
        assert_eq!(
            (cs[2].status, cs[2].reason, cs[2].message.as_str()),
            ("True", "TaskFailed", "/g/b: task t ended TASK_FAILED")
        );
        let s = status(7, 5, &sum);
        assert_eq!((s.generation, s.observed_generation, s.conditions), (7, 5, cs));
    }
}
