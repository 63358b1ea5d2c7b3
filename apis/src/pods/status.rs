//! `::status`: Marathon's PodStatus (RAML `podStatus.raml`): the pod, whether enough of its
//! instances are stable, and each instance with its containers' Mesos task states.

use std::sync::Arc;

use schemas::{Goal, HealthVerdict, Instance, PathId, PodDefinition, RunSpec, TaskState, Timestamp};
use serde_json::{Value, json};

use crate::Ctx;
use crate::error::Result;
use crate::view;

/// `GET /v2/pods/::status`.
pub(crate) fn all(ctx: &Ctx) -> Value {
    let pods = ctx.store.read(|s| {
        view::pods(s)
            .into_iter()
            .map(|p| {
                let instances = instances(s, &p.id);
                (p, instances)
            })
            .collect::<Vec<_>>()
    });
    let now = Timestamp::now();
    Value::Array(pods.iter().map(|(p, i)| pod_status(p, i, now)).collect())
}

/// `GET /v2/pods/{id}::status`.
pub(crate) fn one(ctx: &Ctx, id: &PathId) -> Result<Value> {
    let (pod, instances) = ctx.store.read(|s| {
        s.pod(id)
            .cloned()
            .map(|p| (p, instances(s, id)))
            .ok_or_else(|| super::not_found(id))
    })?;
    Ok(pod_status(&pod, &instances, Timestamp::now()))
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
