//! A pod instance's task group: one Mesos task per container, launched together by the
//! agent's default executor. The instance's task record stands for the whole group; its state
//! and agent health are derived from the containers'.

use serde::{Deserialize, Serialize};

use super::{TaskRecord, TaskState};
use crate::Timestamp;

/// One container's Mesos task in a pod instance.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContainerTask {
    /// The container's name in the pod definition.
    pub name: String,
    /// `<instanceId>.<containerName>` (with `.<incarnation>` after the first launch).
    pub task_id: String,
    pub state: TaskState,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<Timestamp>,
    pub updated_at: Timestamp,
    /// Whether the container has a health check (run by the agent).
    #[serde(default)]
    pub checked: bool,
    /// The agent's last health verdict, if the container has a check and it reported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub healthy: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// The state of a task group as one: running when every container runs. Once one container
/// is over the group is going down (Mesos's default executor kills the others), `TASK_KILLING`
/// until all are over; then the first failure among them, else killed, else finished.
pub fn group_state(containers: &[ContainerTask]) -> TaskState {
    use TaskState::*;
    if containers.is_empty() {
        return TASK_UNKNOWN;
    }
    let states = || containers.iter().map(|c| c.state);
    if states().all(TaskState::is_terminal) {
        return states()
            .find(|s| s.is_task_failure())
            .or_else(|| states().find(|s| *s == TASK_KILLED))
            .unwrap_or(TASK_FINISHED);
    }
    if states().any(|s| s.is_terminal() || s == TASK_KILLING) {
        return TASK_KILLING;
    }
    if states().any(|s| s == TASK_UNREACHABLE) {
        return TASK_UNREACHABLE;
    }
    let progress = |s: TaskState| match s {
        TASK_PROVISIONED => 0,
        TASK_STAGING => 1,
        TASK_STARTING => 2,
        TASK_RUNNING => 3,
        _ => 0,
    };
    states().min_by_key(|s| progress(*s)).unwrap_or(TASK_UNKNOWN)
}

/// The group's agent health: unhealthy as soon as one checked container is, healthy once
/// every checked container reported healthy, else unknown.
fn group_health(containers: &[ContainerTask]) -> Option<bool> {
    let checked: Vec<Option<bool>> = containers.iter().filter(|c| c.checked).map(|c| c.healthy).collect();
    if checked.contains(&Some(false)) {
        Some(false)
    } else if !checked.is_empty() && checked.iter().all(|h| *h == Some(true)) {
        Some(true)
    } else {
        None
    }
}

impl TaskRecord {
    /// Re-derives a task group's state and agent health from its containers.
    pub fn derive_from_containers(&mut self) {
        if self.containers.is_empty() {
            return;
        }
        self.state = group_state(&self.containers);
        self.health.agent = group_health(&self.containers);
    }

    /// Every Mesos task id of this record: the containers' for a pod, else its own.
    pub fn mesos_task_ids(&self) -> Vec<&str> {
        if self.containers.is_empty() {
            vec![self.task_id.as_str()]
        } else {
            self.containers.iter().map(|c| c.task_id.as_str()).collect()
        }
    }
}

/// The instance a pod container's task id belongs to: `<instance id>.<container>[.<n>]`,
/// where the instance id ends in `.instance-<uuid>`.
pub fn pod_instance_of_task(task_id: &str) -> Option<&str> {
    const MARK: &str = ".instance-";
    const UUID_LEN: usize = 36;
    let at = task_id.rfind(MARK)?;
    let end = at + MARK.len() + UUID_LEN;
    let rest = task_id.get(end..)?;
    let uuid = &task_id[at + MARK.len()..end];
    (rest.starts_with('.') && uuid::Uuid::parse_str(uuid).is_ok()).then(|| &task_id[..end])
}

#[cfg(test)]
mod tests {
    use super::*;
    use TaskState::*;

    fn c(name: &str, state: TaskState, checked: bool, healthy: Option<bool>) -> ContainerTask {
        ContainerTask {
            name: name.into(),
            task_id: format!("x.{name}"),
            state,
            started_at: None,
            updated_at: Timestamp::from_millis(1),
            checked,
            healthy,
            message: None,
        }
    }

    #[test]
    fn group_runs_when_all_run_and_goes_down_with_any() {
        let s = |a, b| group_state(&[c("a", a, false, None), c("b", b, false, None)]);
        assert_eq!(s(TASK_RUNNING, TASK_RUNNING), TASK_RUNNING);
        assert_eq!(s(TASK_RUNNING, TASK_STARTING), TASK_STARTING);
        assert_eq!(s(TASK_PROVISIONED, TASK_RUNNING), TASK_PROVISIONED);
        assert_eq!(s(TASK_RUNNING, TASK_FAILED), TASK_KILLING);
        assert_eq!(s(TASK_KILLED, TASK_FAILED), TASK_FAILED);
        assert_eq!(s(TASK_KILLED, TASK_FINISHED), TASK_KILLED);
        assert_eq!(s(TASK_FINISHED, TASK_FINISHED), TASK_FINISHED);
        assert_eq!(s(TASK_UNREACHABLE, TASK_RUNNING), TASK_UNREACHABLE);
        assert_eq!(group_state(&[]), TASK_UNKNOWN);
    }

    #[test]
    fn group_health_needs_every_checked_container() {
        let h = |cs: &[ContainerTask]| group_health(cs);
        assert_eq!(h(&[c("a", TASK_RUNNING, false, None)]), None);
        assert_eq!(
            h(&[c("a", TASK_RUNNING, true, Some(true)), c("b", TASK_RUNNING, true, None)]),
            None
        );
        assert_eq!(
            h(&[
                c("a", TASK_RUNNING, true, Some(true)),
                c("b", TASK_RUNNING, false, None)
            ]),
            Some(true)
        );
        assert_eq!(
            h(&[
                c("a", TASK_RUNNING, true, Some(false)),
                c("b", TASK_RUNNING, true, Some(true))
            ]),
            Some(false)
        );
    }

    #[test]
    fn container_task_ids_name_their_instance() {
        let inst = "web_p.instance-3f0c1a2b-0000-4000-8000-000000000001";
        assert_eq!(pod_instance_of_task(&format!("{inst}.nginx")), Some(inst));
        assert_eq!(pod_instance_of_task(&format!("{inst}.nginx.2")), Some(inst));
        assert_eq!(pod_instance_of_task(inst), None);
        assert_eq!(pod_instance_of_task("web.instance-junk.c"), None);
    }
}
