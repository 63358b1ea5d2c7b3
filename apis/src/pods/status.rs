//! `::status`: Marathon's PodStatus (RAML `podStatus.raml`): the pod, whether enough of its
//! instances are stable, and each instance with its containers' Mesos task states. Asked for
//! (`embed=status`), it also carries Pacer's GitOps status (`crate::status`): `generation`,
//! `observedGeneration` and `conditions`.

use std::sync::Arc;

use schemas::{Deployment, Goal, HealthVerdict, Instance, PathId, PodDefinition, RunSpec, TaskState, Timestamp};
use serde_json::{Value, json};

use crate::Ctx;
use crate::error::Result;
use crate::status::AppStatus;
use crate::view;

/// `GET /v2/pods/::status`, with the GitOps status of each pod when `gitops`.
pub(crate) fn all(ctx: &Ctx, gitops: bool) -> Value {
    let now = Timestamp::now();
    ctx.store.read(|s| {
        let deployments = if gitops { view::deployments(s) } else { vec![] };
        let statuses = view::pods(s).into_iter().map(|p| {
            let instances = instances(s, &p.id);
            let mut v = pod_status(&p, &instances, now);
            if gitops {
                add(&mut v, &of(s, &p, &instances, &deployments, now));
            }
            v
        });
        Value::Array(statuses.collect())
    })
}

/// `GET /v2/pods/{id}::status`, with the pod's GitOps status when `gitops`.
pub(crate) fn one(ctx: &Ctx, id: &PathId, gitops: bool) -> Result<Value> {
    let now = Timestamp::now();
    ctx.store.read(|s| {
        let pod = s.pod(id).cloned().ok_or_else(|| super::not_found(id))?;
        let instances = instances(s, id);
        let mut v = pod_status(&pod, &instances, now);
        if gitops {
            add(&mut v, &of(s, &pod, &instances, &view::deployments(s), now));
        }
        Ok(v)
    })
}

/// The GitOps status of `pod`, given its instances and every deployment (those naming the
/// pod count).
pub(crate) fn of(
    s: &store::State,
    pod: &Arc<PodDefinition>,
    instances: &[Arc<Instance>],
    deployments: &[Arc<Deployment>],
    now: Timestamp,
) -> AppStatus {
    let mine: Vec<Arc<Deployment>> = deployments
        .iter()
        .filter(|d| d.affected_pods.contains(&pod.id))
        .cloned()
        .collect();
    crate::status::of_pod(pod, instances, &mine, s.launch_delay(&pod.id), now)
}

/// Adds `status`'s fields to the JSON object `v` (a pod or a PodStatus).
pub(crate) fn add(v: &mut Value, status: &AppStatus) {
    if let (Value::Object(m), Ok(Value::Object(extra))) = (v, serde_json::to_value(status)) {
        m.extend(extra);
    }
}

/// The GitOps status of the pod `id` as stored now, with the pod (`None`: no such pod).
pub(crate) fn of_stored(s: &store::State, id: &PathId, now: Timestamp) -> Option<(Arc<PodDefinition>, AppStatus)> {
    let pod = s.pod(id).cloned()?;
    let status = of(s, &pod, &instances(s, id), &view::deployments(s), now);
    Some((pod, status))
}

fn instances(s: &store::State, id: &PathId) -> Vec<Arc<Instance>> {
    view::instances_of(s, id).into_iter().map(|(i, _)| i).collect()
}

/// The pod's status: STABLE once as many instances as it asks for are stable.
pub(crate) fn pod_status(pod: &PodDefinition, instances: &[Arc<Instance>], now: Timestamp) -> Value {
    let statuses: Vec<Value> = instances.iter().map(|i| instance_status(pod, i, now)).collect();
    let stable = statuses.iter().filter(|s| s["status"] == "STABLE").count();
    let state = if stable >= pod.instances() as usize {
        "STABLE"
    } else {
        "DEGRADED"
    };
    let changed = instances
        .iter()
        .filter_map(|i| i.task.as_ref().map(|t| t.updated_at))
        .chain(pod.version)
        .max()
        .unwrap_or(now);
    json!({
        "id": pod.id,
        "spec": pod,
        "status": state,
        "statusSince": changed,
        "instances": statuses,
        "terminationHistory": [],
        "lastUpdated": now,
        "lastChanged": changed,
    })
}

/// Marathon's PodInstanceState of one instance.
fn instance_state(pod: &PodDefinition, i: &Instance) -> &'static str {
    let Some(task) = &i.task else {
        return if i.goal == Goal::Running { "PENDING" } else { "TERMINAL" };
    };
    if i.goal != Goal::Running || task.state == TaskState::TASK_KILLING {
        return "TERMINAL";
    }
    match task.state {
        s if s.is_terminal() => "PENDING",
        TaskState::TASK_PROVISIONED | TaskState::TASK_STAGING | TaskState::TASK_STARTING => "STAGING",
        TaskState::TASK_RUNNING => {
            let spec = RunSpec::Pod(Arc::new(pod.clone())).health_spec();
            match task.health_verdict(&spec) {
                HealthVerdict::Healthy => "STABLE",
                HealthVerdict::Unknown if !spec.has_health_checks() => "STABLE",
                _ => "DEGRADED",
            }
        }
        _ => "DEGRADED",
    }
}

/// One instance as `PodInstanceStatus`, with a `ContainerStatus` per container task.
pub(crate) fn instance_status(pod: &PodDefinition, i: &Instance, now: Timestamp) -> Value {
    let status = instance_state(pod, i);
    let since = i.task.as_ref().map_or(i.created_at, |t| t.updated_at);
    let mut out = json!({
        "id": i.instance_id,
        "status": status,
        "statusSince": since,
        "conditions": [],
        "specReference": format!("/v2/pods{}::versions/{}", pod.id, i.run_spec_version),
        "resources": pod.instance_resources(),
        "networks": [],
        "containers": [],
        "lastUpdated": now,
        "lastChanged": since,
    });
    let Some(task) = &i.task else {
        return out;
    };
    out["agentHostname"] = json!(task.host);
    out["agentId"] = json!(task.agent_id);
    if let Some(m) = &task.message {
        out["message"] = json!(m);
    }
    // Host ports are recorded in endpoint order, one per endpoint that asks for one.
    let mut ports = task.ports.iter();
    let endpoints: Vec<(&str, Value)> = pod
        .endpoints()
        .iter()
        .map(|e| {
            let mut v = json!({"name": e.endpoint.name});
            if e.endpoint.host_port.is_some()
                && let Some(p) = ports.next()
            {
                v["allocatedHostPort"] = json!(p);
            }
            (e.container, v)
        })
        .collect();
    out["containers"] = task
        .containers
        .iter()
        .map(|c| {
            let mut eps: Vec<Value> = endpoints
                .iter()
                .filter(|(name, _)| *name == c.name)
                .map(|(_, v)| v.clone())
                .collect();
            if let Some(h) = c.healthy {
                for e in &mut eps {
                    e["healthy"] = json!(h);
                }
            }
            let mut v = json!({
                "name": c.name,
                "status": c.state.as_str(),
                "statusSince": c.updated_at,
                "containerId": c.task_id,
                "conditions": [],
                "endpoints": eps,
                "lastUpdated": now,
                "lastChanged": c.updated_at,
            });
            if let Some(m) = &c.message {
                v["message"] = json!(m);
            }
            v
        })
        .collect();
    out
}
