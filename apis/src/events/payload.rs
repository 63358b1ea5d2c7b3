//! Marathon's event payloads (`eventType` and `timestamp` are added when published), built
//! from Pacer's records. Deployment plans are in Marathon's "light" format: `original` and
//! `target` are left out, as Marathon 1.8+ does on the event stream.

use schemas::{
    AppDefinition, Deployment, DeploymentStep, HealthCheck, Instance, PathId, TaskRecord, TaskState, Timestamp,
};
use serde_json::{Value, json};

use crate::render;

/// An event before it is numbered: its type and its type-specific fields.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Payload {
    event_type: &'static str,
    body: Value,
}

impl Payload {
    pub(crate) fn new(event_type: &'static str, body: Value) -> Payload {
        Payload { event_type, body }
    }

    pub(crate) fn event_type(&self) -> &'static str {
        self.event_type
    }

    pub(crate) fn into_json(self) -> Value {
        self.body
    }

    #[cfg(test)]
    pub(crate) fn body(&self) -> &Value {
        &self.body
    }
}

pub(crate) fn stream_attached(remote: &str) -> Payload {
    Payload::new("event_stream_attached", json!({"remoteAddress": remote}))
}

pub(crate) fn stream_detached(remote: &str) -> Payload {
    Payload::new("event_stream_detached", json!({"remoteAddress": remote}))
}

pub(crate) fn api_post(client_ip: &str, uri: &str, app: &AppDefinition) -> Payload {
    Payload::new(
        "api_post_event",
        json!({"clientIp": client_ip, "uri": uri, "appDefinition": app}),
    )
}

/// Marathon's `status_update_event` for the current task of `inst`.
pub(crate) fn status_update(inst: &Instance, task: &TaskRecord, local_hostname: &str) -> Payload {
    Payload::new(
        "status_update_event",
        json!({
            "slaveId": task.agent_id,
            "taskId": task.task_id,
            "taskStatus": task.state.as_str(),
            "message": task.message.as_deref().unwrap_or(""),
            "appId": inst.app_id,
            "host": task.host,
            "ipAddresses": render::ip_addresses(&task.host, local_hostname),
            "ports": task.ports,
            "version": inst.run_spec_version,
        }),
    )
}

pub(crate) fn instance_changed(inst: &Instance, task: &TaskRecord) -> Payload {
    Payload::new(
        "instance_changed_event",
        json!({
            "instanceId": inst.instance_id,
            "condition": condition(task.state),
            "runSpecId": inst.app_id,
            "agentId": task.agent_id,
            "host": task.host,
            "runSpecVersion": inst.run_spec_version,
        }),
    )
}

pub(crate) fn health_status_changed(inst: &Instance, alive: bool) -> Payload {
    Payload::new(
        "health_status_changed_event",
        json!({
            "appId": inst.app_id,
            "instanceId": inst.instance_id,
            "version": inst.run_spec_version,
            "alive": alive,
        }),
    )
}

/// Marathon calls the field `taskId` but fills it with the instance id; so does Pacer.
pub(crate) fn failed_health_check(inst: &Instance, check: Option<&HealthCheck>) -> Payload {
    Payload::new(
        "failed_health_check_event",
        json!({"appId": inst.app_id, "taskId": inst.instance_id, "instanceId": inst.instance_id, "healthCheck": check}),
    )
}

pub(crate) fn unhealthy_instance_kill(inst: &Instance, task: &TaskRecord, reason: &str) -> Payload {
    Payload::new(
        "unhealthy_instance_kill_event",
        json!({
            "appId": inst.app_id,
            "taskId": task.task_id,
            "instanceId": inst.instance_id,
            "version": inst.run_spec_version,
            "reason": reason,
            "host": task.host,
            "slaveId": task.agent_id,
        }),
    )
}

/// Marathon's instance condition for a task state.
pub(crate) fn condition(state: TaskState) -> &'static str {
    use TaskState::*;
    match state {
        TASK_PROVISIONED => "Provisioned",
        TASK_STAGING => "Staging",
        TASK_STARTING => "Starting",
        TASK_RUNNING => "Running",
        TASK_KILLING => "Killing",
        TASK_FINISHED => "Finished",
        TASK_FAILED => "Failed",
        TASK_KILLED => "Killed",
        TASK_ERROR => "Error",
        // Marathon calls a lost task Unreachable while it may come back; Pacer treats
        // TASK_LOST as terminal and replaces the task, which is what Gone means.
        TASK_LOST | TASK_GONE | TASK_GONE_BY_OPERATOR => "Gone",
        TASK_DROPPED => "Dropped",
        TASK_UNREACHABLE => "Unreachable",
        TASK_UNKNOWN => "Unknown",
    }
}

pub(crate) fn app_terminated(app: &PathId) -> Payload {
    Payload::new("app_terminated_event", json!({"appId": app}))
}

pub(crate) fn group_change_success(group: &PathId, version: Timestamp) -> Payload {
    Payload::new("group_change_success", json!({"groupId": group, "version": version}))
}

pub(crate) fn group_change_failed(group: &PathId, version: Timestamp, reason: &str) -> Payload {
    Payload::new(
        "group_change_failed",
        json!({"groupId": group, "version": version, "reason": reason}),
    )
}

/// The group a change of `apps` happened in: the parent of a single app, else the deepest
/// group holding all of them (Marathon names the group its update was rooted at).
pub(crate) fn group_of<'a>(apps: impl IntoIterator<Item = &'a PathId>) -> PathId {
    let apps: Vec<&PathId> = apps.into_iter().collect();
    let Some(first) = apps.first() else {
        return PathId::root();
    };
    let mut group = first.parent();
    while !group.is_root() && !apps.iter().all(|a| a.is_within(&group)) {
        group = group.parent();
    }
    group
}

fn plan(d: &Deployment) -> Value {
    json!({"id": d.id, "steps": d.steps, "version": d.version})
}

fn step(d: &Deployment, index: usize) -> Value {
    let empty = DeploymentStep { actions: vec![] };
    json!(d.steps.get(index).unwrap_or(&empty))
}

/// A deployment starts working on step `index`.
pub(crate) fn deployment_info(d: &Deployment, index: usize) -> Payload {
    Payload::new(
        "deployment_info",
        json!({"plan": plan(d), "currentStep": step(d, index)}),
    )
}

/// Step `index` of a deployment is done.
pub(crate) fn deployment_step_success(d: &Deployment, index: usize) -> Payload {
    Payload::new(
        "deployment_step_success",
        json!({"plan": plan(d), "currentStep": step(d, index)}),
    )
}

pub(crate) fn deployment_success(d: &Deployment) -> Payload {
    Payload::new("deployment_success", json!({"id": d.id, "plan": plan(d)}))
}

pub(crate) fn deployment_failed(d: &Deployment, reason: &str) -> Payload {
    Payload::new(
        "deployment_failed",
        json!({"id": d.id, "plan": plan(d), "reason": reason}),
    )
}

/// `subscribe_event` and `unsubscribe_event`; the timestamp is set here because the same
/// body is the answer to the request.
pub(crate) fn subscription(subscribe: bool, client_ip: &str, callback_url: &str) -> Payload {
    let event_type = if subscribe {
        "subscribe_event"
    } else {
        "unsubscribe_event"
    };
    Payload::new(
        event_type,
        json!({"clientIp": client_ip, "callbackUrl": callback_url, "timestamp": Timestamp::now()}),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(s: &str) -> PathId {
        PathId::parse(s).unwrap()
    }

    #[test]
    fn group_of_a_change_is_the_deepest_common_group() {
        assert_eq!(group_of([&id("/prod/web")]), id("/prod"));
        assert_eq!(group_of([&id("/web")]), PathId::root());
        assert_eq!(group_of([&id("/prod/a/x"), &id("/prod/b/y")]), id("/prod"));
        assert_eq!(group_of([&id("/prod/a/x"), &id("/prod/a/y")]), id("/prod/a"));
        assert_eq!(group_of([&id("/prod/a"), &id("/dev/b")]), PathId::root());
        assert_eq!(group_of([]), PathId::root());
    }

    #[test]
    fn every_task_state_has_a_marathon_condition() {
        assert_eq!(condition(TaskState::TASK_RUNNING), "Running");
        assert_eq!(condition(TaskState::TASK_PROVISIONED), "Provisioned");
        assert_eq!(condition(TaskState::TASK_UNREACHABLE), "Unreachable");
    }
}
