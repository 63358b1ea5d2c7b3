//! The master's checks of a LAUNCH_GROUP, as Mesos makes them (master/validation.cpp,
//! `task::group`): every task is checked as a launched task is, plus the group's own rules,
//! then the executor; the executor's and all tasks' resources must fit the offers together.
//! Any failure refuses the whole group with one message.

use crate::v1::executor_info::Type as ExecutorType;
use crate::v1::offer::operation::LaunchGroup;
use crate::v1::{ExecutorInfo, FrameworkId, TaskInfo, container_info};

use super::super::agent::{Agent, valid_task_id};
use super::super::executor;
use super::super::resources::Resources;
use super::volumes::{self, Mount};

/// Mesos's minimum resources of an executor (`MIN_CPUS`, `MIN_MEM`).
const MIN_CPUS: f64 = 0.01;
const MIN_MEM: f64 = 32.0;

/// A group that may be launched as asked.
pub(crate) struct ValidGroup {
    /// With its `framework_id` filled in if the scheduler left it out, as the master does.
    pub executor: ExecutorInfo,
    pub executor_resources: Resources,
    pub executor_mounts: Vec<Mount>,
    pub tasks: Vec<(TaskInfo, Resources)>,
    /// What executor and tasks take from the offers together.
    pub total: Resources,
}

/// What a group is checked against.
pub(crate) struct Context<'a> {
    pub framework_id: &'a str,
    pub agent: &'a Agent,
    /// Whether a task id is taken: by a task of the framework, by an earlier launch of the same
    /// ACCEPT, or by a live task's sandbox on the agent.
    pub task_taken: &'a dyn Fn(&str) -> bool,
    /// Whether a live executor on the agent already has the group's executor id.
    pub executor_taken: &'a dyn Fn(&str) -> bool,
    /// What is left of the offers.
    pub remaining: &'a Resources,
}

/// The checks of any launched task: its id, and the agent it names.
pub(crate) fn check_identity(task: &TaskInfo, agent: &Agent, taken: bool) -> Result<(), String> {
    let id = &task.task_id.value;
    valid_task_id(id)?;
    if taken {
        return Err(format!("Task has duplicate ID: {id}"));
    }
    if task.agent_id.value != agent.id {
        return Err(format!(
            "Task uses agent {} but the offers are for agent {}",
            task.agent_id.value, agent.id
        ));
    }
    Ok(())
}

pub(crate) fn validate(group: &LaunchGroup, cx: &Context<'_>) -> Result<ValidGroup, String> {
    let role = cx.agent.resource_role();
    let mut tasks = Vec::with_capacity(group.task_group.tasks.len());
    for (i, task) in group.task_group.tasks.iter().enumerate() {
        let earlier = group.task_group.tasks[..i].iter().any(|t| t.task_id == task.task_id);
        let resources = check_task(task, &group.executor, cx, earlier, role)
            .map_err(|e| format!("Task '{}' is invalid: {e}", task.task_id.value))?;
        tasks.push((task.clone(), resources));
    }
    let (executor, executor_resources, executor_mounts) = check_executor(&group.executor, cx, role)?;

    // Taken one after the other, as single launches are, so that two claims of one port or
    // of the last cpu cannot both pass.
    let mut left = cx.remaining.clone();
    let mut total = Resources::default();
    let parts = std::iter::once(("executor", &executor.executor_id.value, &executor_resources))
        .chain(tasks.iter().map(|(t, r)| ("task", &t.task_id.value, r)));
    for (what, id, resources) in parts {
        let missing = left.missing(resources);
        if !missing.is_empty() {
            return Err(format!(
                "Total resources required by task group and its executor are more than the offers hold \
                 (at {what} '{id}'): {}",
                missing.join("; ")
            ));
        }
        left.subtract(resources);
        total.add(resources);
    }
    Ok(ValidGroup {
        executor,
        executor_resources,
        executor_mounts,
        tasks,
        total,
    })
}

fn check_task(
    task: &TaskInfo,
    executor: &ExecutorInfo,
    cx: &Context<'_>,
    earlier_in_group: bool,
    role: &str,
) -> Result<Resources, String> {
    check_identity(task, cx.agent, earlier_in_group || (cx.task_taken)(&task.task_id.value))?;
    if let Some(grace) = task.kill_policy.as_ref().and_then(|p| p.grace_period.as_ref())
        && grace.nanoseconds < 0
    {
        return Err("Task's 'kill_policy.grace_period' must be non-negative".into());
    }
    if task.executor.as_ref().is_some_and(|e| e != executor) {
        return Err(format!(
            "The `ExecutorInfo` of task '{}' is different from executor '{}'",
            task.task_id.value, executor.executor_id.value
        ));
    }
    if let Some(container) = &task.container {
        if !container.network_infos.is_empty() {
            return Err("NetworkInfos must not be set on the task".into());
        }
        if container.r#type() == container_info::Type::Docker {
            return Err("Docker ContainerInfo is not supported on the task".into());
        }
    }
    executor::check_runnable(task)?;
    volumes::plan(task.container.as_ref(), true)?;
    let resources = Resources::from_protos(&task.resources, role).map_err(|e| e.to_string())?;
    if resources.is_empty() {
        return Err("Task uses no resources".into());
    }
    Ok(resources)
}

fn check_executor(
    executor: &ExecutorInfo,
    cx: &Context<'_>,
    role: &str,
) -> Result<(ExecutorInfo, Resources, Vec<Mount>), String> {
    let id = &executor.executor_id.value;
    match executor.r#type {
        None => return Err("'ExecutorInfo.type' must be set".into()),
        Some(_) => match executor.r#type() {
            ExecutorType::Default => {}
            ExecutorType::Unknown => return Err("Unknown executor type".into()),
            ExecutorType::Custom => {
                return Err(
                    "CUSTOM executors are not supported by the local agent; task groups run under the DEFAULT executor"
                        .into(),
                );
            }
        },
    }
    if executor.command.is_some() {
        return Err("'ExecutorInfo.command' must not be set for 'DEFAULT' executor".into());
    }
    let mut executor = executor.clone();
    match &executor.framework_id {
        Some(f) if f.value != cx.framework_id => {
            return Err(format!(
                "ExecutorInfo has an invalid FrameworkID (Actual: {} vs Expected: {})",
                f.value, cx.framework_id
            ));
        }
        Some(_) => {}
        None => {
            executor.framework_id = Some(FrameworkId {
                value: cx.framework_id.to_owned(),
            });
        }
    }
    if executor
        .shutdown_grace_period
        .as_ref()
        .is_some_and(|d| d.nanoseconds < 0)
    {
        return Err("ExecutorInfo's 'shutdown_grace_period' must be non-negative".into());
    }
    valid_task_id(id).map_err(|e| e.replace("Task ID", "Executor ID"))?;
    if (cx.executor_taken)(id) {
        return Err(format!(
            "Executor '{id}' is already running on agent {}; the local agent launches one task group per executor",
            cx.agent.id
        ));
    }
    let mut mounts = Vec::new();
    if let Some(container) = &executor.container {
        if container.r#type() == container_info::Type::Docker {
            return Err("Docker ContainerInfo is not supported on the executor".into());
        }
        if container.mesos.as_ref().is_some_and(|m| m.image.is_some()) {
            return Err("container images are not supported by the local agent".into());
        }
        mounts = volumes::plan(Some(container), false).map_err(|e| format!("Executor '{id}' is invalid: {e}"))?;
    }
    let resources = Resources::from_protos(&executor.resources, role)
        .map_err(|e| format!("Executor uses invalid resources: {e}"))?;
    let cpus = resources.scalar("cpus");
    if cpus < MIN_CPUS {
        return Err(format!(
            "Executor '{id}' uses less CPUs ({cpus}) than the minimum required ({MIN_CPUS})"
        ));
    }
    let mem = resources.scalar("mem");
    if mem < MIN_MEM {
        return Err(format!(
            "Executor '{id}' uses less memory ({mem}) than the minimum required ({MIN_MEM})"
        ));
    }
    if !executor.resources.iter().any(|r| r.name == "disk") {
        return Err(format!("Executor '{id}' uses no disk"));
    }
    Ok((executor, resources, mounts))
}
