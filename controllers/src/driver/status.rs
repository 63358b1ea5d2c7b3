//! Reading Mesos task status updates into instance records.

use mesos::v1::TaskStatus;
use schemas::{Instance, PathId, TaskState, Timestamp};

/// Mesos's numeric task state as Pacer's record spells it.
pub(crate) fn task_state(state: i32) -> TaskState {
    use TaskState::*;
    match state {
        6 => TASK_STAGING,
        0 => TASK_STARTING,
        1 => TASK_RUNNING,
        8 => TASK_KILLING,
        2 => TASK_FINISHED,
        3 => TASK_FAILED,
        4 => TASK_KILLED,
        7 => TASK_ERROR,
        5 => TASK_LOST,
        9 => TASK_DROPPED,
        10 => TASK_UNREACHABLE,
        11 => TASK_GONE,
        12 => TASK_GONE_BY_OPERATOR,
        _ => TASK_UNKNOWN,
    }
}

/// The instance a task id belongs to: an app's task ids are `<instance id>._app.<incarnation>`,
/// a pod container's `<instance id>.<container>[.<incarnation>]`.
pub fn instance_id_of_task(task_id: &str) -> Option<&str> {
    task_id
        .rsplit_once("._app.")
        .map(|(instance, _)| instance)
        .or_else(|| schemas::pod_instance_of_task(task_id))
}

/// The app an instance id belongs to: instance ids are `<app path with / as _>.instance-<uuid>`.
/// Path segments cannot contain `_`, so the mapping back is exact.
pub fn app_id_of_instance(instance_id: &str) -> Option<PathId> {
    let (safe, _) = instance_id.rsplit_once(".instance-")?;
    PathId::parse(&safe.replace('_', "/")).ok()
}

/// What an update means for the instance that owns its task.
#[derive(Debug, PartialEq)]
pub(crate) enum Applied {
    /// The instance's current task changed state.
    Changed { became_running: bool, failed: bool },
    /// Nothing new (a duplicate or reconciliation echo).
    Unchanged,
    /// The update is about a task this instance no longer runs.
    Stale,
}

/// Applies `status` to `instance` if it is about the instance's current task.
pub(crate) fn apply_status(instance: &mut Instance, status: &TaskStatus, now: Timestamp) -> Applied {
    let Some(task) = instance.task.as_mut() else {
        return Applied::Stale;
    };
    if !task.containers.is_empty() {
        return apply_container_status(instance, status, now);
    }
    if task.task_id != status.task_id.value {
        return Applied::Stale;
    }
    let state = task_state(status.state);
    // A terminal state is final: a late echo of an earlier state must not revive it.
    if task.state.is_terminal() {
        return Applied::Unchanged;
    }
    // The agent's health verdict rides on status updates; one without it says nothing new.
    let health_changed = status.healthy.is_some() && status.healthy != task.health.agent;
    if health_changed {
        task.health.agent = status.healthy;
    }
    if task.state == state {
        return if health_changed {
            Applied::Changed {
                became_running: false,
                failed: false,
            }
        } else {
            Applied::Unchanged
        };
    }
    task.state = state;
    task.updated_at = now;
    if let Some(agent) = &status.agent_id {
        task.agent_id = agent.value.clone();
    }
    if let Some(msg) = status.message.as_ref().filter(|m| !m.is_empty()) {
        task.message = Some(msg.clone());
    }
    let became_running = state == TaskState::TASK_RUNNING && task.started_at.is_none();
    if became_running {
        task.started_at = Some(now);
    }
    // Failing health checks counts as a failure for backoff, whoever did the killing.
    let killed_unhealthy = task.health.killed_unhealthy.is_some()
        || (state == TaskState::TASK_KILLED && !instance.kill_requested && status.healthy == Some(false));
    if killed_unhealthy && task.health.killed_unhealthy.is_none() {
        let why = task.message.clone().unwrap_or_else(|| "health check failed".into());
        task.health.killed_unhealthy = Some(why);
    }
    let failed = state.is_terminal() && ((state.is_failure() && !instance.kill_requested) || killed_unhealthy);
    Applied::Changed { became_running, failed }
}

/// Applies `status` to the container of a pod instance's task group it is about, and derives
/// the group's state. A container that ends while others run takes the group down: the
/// instance is marked for killing, so the rest are killed and the instance relaunched.
fn apply_container_status(instance: &mut Instance, status: &TaskStatus, now: Timestamp) -> Applied {
    let Some(task) = instance.task.as_mut() else {
        return Applied::Stale;
    };
    let Some(c) = task.containers.iter_mut().find(|c| c.task_id == status.task_id.value) else {
        return Applied::Stale;
    };
    let state = task_state(status.state);
    if c.state.is_terminal() {
        return Applied::Unchanged;
    }
    let health_changed = status.healthy.is_some() && status.healthy != c.healthy;
    if !health_changed && c.state == state {
        return Applied::Unchanged;
    }
    if health_changed {
        c.healthy = status.healthy;
    }
    if c.state != state {
        c.state = state;
        c.updated_at = now;
        if state == TaskState::TASK_RUNNING && c.started_at.is_none() {
            c.started_at = Some(now);
        }
        if let Some(msg) = status.message.as_ref().filter(|m| !m.is_empty()) {
            c.message = Some(msg.clone());
        }
    }
    if let Some(agent) = &status.agent_id {
        task.agent_id = agent.value.clone();
    }
    let before = task.state;
    task.derive_from_containers();
    let group = task.state;
    if group != before {
        task.updated_at = now;
        if let Some(msg) = status.message.as_ref().filter(|m| !m.is_empty()) {
            task.message = Some(msg.clone());
        }
    }
    let became_running = group == TaskState::TASK_RUNNING && task.started_at.is_none();
    if became_running {
        task.started_at = Some(now);
    }
    // A failure counts once for backoff: when it takes a group down that nobody asked to stop.
    let failed = state.is_failure() && !instance.kill_requested && before != TaskState::TASK_KILLING;
    if state.is_terminal() && !group.is_terminal() {
        // The group goes down with this container: the reconciler kills the rest.
        instance.kill_requested = true;
    }
    Applied::Changed { became_running, failed }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mesos::v1::TaskId;
    use schemas::{Goal, TaskRecord};

    fn instance(task_id: &str, state: TaskState) -> Instance {
        let t = Timestamp::from_millis(1);
        Instance {
            instance_id: "a_b.instance-x".into(),
            app_id: PathId::parse("/a/b").unwrap(),
            run_spec_version: t,
            config_version: None,
            goal: Goal::Running,
            incarnation: 1,
            task: Some(TaskRecord {
                task_id: task_id.into(),
                agent_id: "ag".into(),
                host: "h".into(),
                ports: vec![],
                state,
                staged_at: t,
                started_at: None,
                updated_at: t,
                message: None,
                health: Default::default(),
                containers: vec![],
            }),
            kill_requested: false,
            last_failure: None,
            created_at: t,
            reservation: None,
        }
    }

    fn status(task_id: &str, state: i32) -> TaskStatus {
        TaskStatus {
            task_id: TaskId { value: task_id.into() },
            state,
            ..Default::default()
        }
    }

    #[test]
    fn ids_map_back_to_instances_and_apps() {
        assert_eq!(instance_id_of_task("a_b.instance-123._app.4"), Some("a_b.instance-123"));
        assert_eq!(app_id_of_instance("a_b.c.instance-123").unwrap().as_str(), "/a/b.c");
        assert_eq!(instance_id_of_task("junk"), None);
    }

    #[test]
    fn applies_current_task_updates_only() {
        let now = Timestamp::from_millis(5);
        let mut i = instance("t1", TaskState::TASK_PROVISIONED);
        assert_eq!(
            apply_status(&mut i, &status("t1", 1), now),
            Applied::Changed {
                became_running: true,
                failed: false
            }
        );
        assert_eq!(i.task.as_ref().unwrap().started_at, Some(now));
        assert_eq!(apply_status(&mut i, &status("t1", 1), now), Applied::Unchanged);
        assert_eq!(apply_status(&mut i, &status("t0", 3), now), Applied::Stale);
        assert_eq!(
            apply_status(&mut i, &status("t1", 3), now),
            Applied::Changed {
                became_running: false,
                failed: true
            }
        );
        // Terminal is final.
        assert_eq!(apply_status(&mut i, &status("t1", 1), now), Applied::Unchanged);
    }

    #[test]
    fn agent_health_changes_are_recorded() {
        let now = Timestamp::from_millis(5);
        let mut i = instance("t1", TaskState::TASK_RUNNING);
        let mut st = status("t1", 1);
        assert_eq!(apply_status(&mut i, &st, now), Applied::Unchanged);
        st.healthy = Some(true);
        assert!(matches!(apply_status(&mut i, &st, now), Applied::Changed { .. }));
        assert_eq!(i.task.as_ref().unwrap().health.agent, Some(true));
        assert_eq!(apply_status(&mut i, &st, now), Applied::Unchanged);
        // The agent killed the task for failing its check: a failure for backoff.
        let mut killed = status("t1", 4);
        killed.healthy = Some(false);
        assert_eq!(
            apply_status(&mut i, &killed, now),
            Applied::Changed {
                became_running: false,
                failed: true
            }
        );
    }

    #[test]
    fn requested_kills_are_not_failures() {
        let mut i = instance("t1", TaskState::TASK_RUNNING);
        i.kill_requested = true;
        assert_eq!(
            apply_status(&mut i, &status("t1", 4), Timestamp::from_millis(9)),
            Applied::Changed {
                became_running: false,
                failed: false
            }
        );
    }

    fn group(states: [TaskState; 2]) -> Instance {
        let mut i = instance("g", TaskState::TASK_PROVISIONED);
        let t = i.task.as_mut().unwrap();
        t.containers = ["a", "b"]
            .iter()
            .zip(states)
            .map(|(n, state)| schemas::ContainerTask {
                name: n.to_string(),
                task_id: format!("a_b.instance-x.{n}"),
                state,
                started_at: None,
                updated_at: Timestamp::from_millis(1),
                checked: *n == "a",
                healthy: None,
                message: None,
            })
            .collect();
        t.derive_from_containers();
        i
    }

    #[test]
    fn container_updates_drive_the_group() {
        let now = Timestamp::from_millis(5);
        let mut i = group([TaskState::TASK_PROVISIONED; 2]);
        assert_eq!(
            apply_status(&mut i, &status("a_b.instance-x.a", 1), now),
            Applied::Changed {
                became_running: false,
                failed: false
            }
        );
        assert_eq!(i.state(), Some(TaskState::TASK_PROVISIONED));
        assert_eq!(
            apply_status(&mut i, &status("a_b.instance-x.b", 1), now),
            Applied::Changed {
                became_running: true,
                failed: false
            }
        );
        assert_eq!(i.state(), Some(TaskState::TASK_RUNNING));
        assert_eq!(
            apply_status(&mut i, &status("a_b.instance-x.b", 1), now),
            Applied::Unchanged
        );
        assert_eq!(apply_status(&mut i, &status("other.c", 1), now), Applied::Stale);

        let mut healthy = status("a_b.instance-x.a", 1);
        healthy.healthy = Some(true);
        assert!(matches!(apply_status(&mut i, &healthy, now), Applied::Changed { .. }));
        assert_eq!(i.task.as_ref().unwrap().health.agent, Some(true));

        // One container fails: a failure for backoff, and the group goes down with it.
        assert_eq!(
            apply_status(&mut i, &status("a_b.instance-x.b", 3), now),
            Applied::Changed {
                became_running: false,
                failed: true
            }
        );
        assert_eq!(i.state(), Some(TaskState::TASK_KILLING));
        assert!(i.kill_requested, "the rest is killed");
        assert!(i.has_active_task());
        assert_eq!(
            apply_status(&mut i, &status("a_b.instance-x.a", 4), now),
            Applied::Changed {
                became_running: false,
                failed: false
            }
        );
        assert_eq!(i.state(), Some(TaskState::TASK_FAILED));
        assert!(!i.has_active_task());
    }

    #[test]
    fn container_task_ids_map_to_their_instance() {
        let inst = "a_b.instance-3f0c1a2b-0000-4000-8000-000000000001";
        assert_eq!(instance_id_of_task(&format!("{inst}.web")), Some(inst));
        assert_eq!(app_id_of_instance(inst).unwrap().as_str(), "/a/b");
    }
}
