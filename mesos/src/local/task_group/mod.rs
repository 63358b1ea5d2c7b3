//! Task groups (LAUNCH_GROUP), run the way Mesos's default executor runs them.
//!
//! The group's tasks start together, each a process group with its own sandbox as a command
//! task has, under one executor that owns no process here: its sandbox
//! (`<agent>/executors/<executor_id>/`, holding the group's shared volumes and a `tasks/<id>`
//! link to each task's sandbox) and its resources, held until every task of the group has
//! ended. Launching is all or nothing: if one task cannot be started, none of the group runs.
//!
//! As the default executor: when a task ends FAILED or KILLED, the others are killed (each
//! with its own kill policy) and end KILLED; a KILL call kills its task, whose end then kills
//! the rest; a task that FINISHES leaves the others running. Killing a task of a group that is
//! still being launched kills the whole group, as the Mesos master does. Updates carry the
//! executor's id, and each task's container is nested in the executor's.

mod recover;
pub(crate) mod validate;
pub(crate) mod volumes;

use std::sync::Arc;

use nix::sys::signal::Signal;

use crate::protos::pacer::checkpoint::{ExecutorLaunching, Record, record};
use crate::v1::framework_info::capability::Type as Capability;
use crate::v1::offer::operation::LaunchGroup;
use crate::v1::{ExecutorInfo, FrameworkId, TaskInfo, TaskState};

use super::executor::{self, GroupJob, Launch, LaunchJob, LaunchOutcome};
use super::master::Master;
use super::resources::Resources;
use super::status::{Reason, Source};
use super::tasks::{GroupMember, TaskKey};
use validate::{Context, ValidGroup};

/// Executor ids are unique per framework.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct ExecutorKey {
    pub framework_id: String,
    pub executor_id: String,
}

impl ExecutorKey {
    pub(crate) fn new(framework_id: &str, executor_id: &str) -> Self {
        Self {
            framework_id: framework_id.to_owned(),
            executor_id: executor_id.to_owned(),
        }
    }
}

/// The default executor of one task group.
pub(crate) struct Executor {
    pub info: ExecutorInfo,
    pub agent: usize,
    pub container_id: String,
    pub resources: Resources,
    /// Its tasks until they are forgotten, in launch order.
    pub tasks: Vec<TaskKey>,
    /// Its resources are taken from the agent (some task has not ended).
    pub holding: bool,
    /// A task ended FAILED or KILLED: the others are being killed.
    pub killing: bool,
}

impl Executor {
    pub(crate) fn record(&self, framework_id: &str) -> Record {
        Record {
            record: Some(record::Record::ExecutorLaunching(ExecutorLaunching {
                framework_id: FrameworkId {
                    value: framework_id.to_owned(),
                },
                executor: self.info.clone(),
                container_id: self.container_id.clone(),
            })),
        }
    }
}

/// A terminal state after which the default executor kills the rest of the group.
fn kills_the_group(state: TaskState) -> bool {
    matches!(state, TaskState::TaskFailed | TaskState::TaskKilled)
}

impl Master {
    /// A LAUNCH_GROUP operation of an ACCEPT: validated against what is left of the offers
    /// (`remaining`, less what it takes) and the tasks launched before it in the same ACCEPT.
    pub(super) fn accept_group(
        &mut self,
        framework_id: &str,
        agent: usize,
        group: LaunchGroup,
        remaining: &mut Resources,
        batch: &[(TaskInfo, Resources)],
    ) {
        if group.task_group.tasks.is_empty() {
            tracing::warn!(framework_id, "LAUNCH_GROUP without tasks; nothing to launch");
            return;
        }
        let task_taken = |id: &str| self.task_id_taken(framework_id, agent, id, batch);
        let executor_taken = |id: &str| {
            self.executors
                .iter()
                .any(|(k, e)| k.executor_id == id && (e.agent == agent || k.framework_id == framework_id))
        };
        let cx = Context {
            framework_id,
            agent: &self.agents[agent],
            task_taken: &task_taken,
            executor_taken: &executor_taken,
            remaining: &*remaining,
        };
        match validate::validate(&group, &cx) {
            Ok(valid) => {
                remaining.subtract(&valid.total);
                self.launch_group(framework_id, agent, valid);
            }
            Err(message) => {
                for task in &group.task_group.tasks {
                    self.task_error(framework_id, task, Reason::TaskGroupInvalid, message.clone());
                }
            }
        }
    }

    fn launch_group(&mut self, framework_id: &str, agent: usize, group: ValidGroup) {
        let ValidGroup {
            executor: info,
            executor_resources,
            executor_mounts,
            tasks,
            total: _,
        } = group;
        let executor = Executor {
            info,
            agent,
            container_id: uuid::Uuid::new_v4().to_string(),
            resources: executor_resources,
            tasks: Vec::new(),
            holding: true,
            killing: false,
        };
        let executor_id = executor.info.executor_id.value.clone();
        let member = GroupMember {
            executor_id: executor_id.clone(),
            executor_container: executor.container_id.clone(),
        };
        let keys = self.admit(
            framework_id,
            agent,
            tasks,
            Some((member, executor.record(framework_id))),
        );
        if keys.is_empty() {
            return;
        }
        tracing::info!(framework_id, executor_id, tasks = keys.len(), "launching a task group");
        self.agents[agent].used.add(&executor.resources);
        let jobs: Vec<LaunchJob> = keys.iter().filter_map(|k| self.launch_job(k)).collect();
        self.executors.insert(
            ExecutorKey::new(framework_id, &executor_id),
            Executor {
                tasks: keys,
                ..executor
            },
        );
        let launch = Launch::Group {
            sandbox: self.agents[agent].executor_sandbox(&executor_id),
            mounts: executor_mounts,
            tasks: jobs,
        };
        executor::launch_all(vec![launch], self.launched_tx.clone());
    }

    /// What the launcher needs to start the task (and a command health check to run in its
    /// environment).
    pub(super) fn launch_job(&self, key: &TaskKey) -> Option<LaunchJob> {
        let task = self.tasks.get(key)?;
        let agent = &self.agents[task.agent];
        let group = task.group.as_ref().map(|g| GroupJob {
            executor_id: g.executor_id.clone(),
            executor_sandbox: agent.executor_sandbox(&g.executor_id),
            container_ip: agent.ip.to_string(),
            // Validated at launch; a recovered task's volumes are already in place.
            mounts: volumes::plan(task.info.container.as_ref(), true).unwrap_or_default(),
        });
        Some(LaunchJob {
            key: key.clone(),
            task: task.info.clone(),
            agent_id: agent.id.clone(),
            checkpoint: self
                .frameworks
                .get(&key.framework_id)
                .is_some_and(|f| f.info.checkpoint()),
            sandbox: agent.sandbox(&key.task_id),
            base_env: Arc::clone(&self.base_env),
            group,
            volumes: super::persistent::mounts(&agent.dir, agent.resource_role(), &task.info),
        })
    }

    /// The launcher started (or failed to start) a whole group.
    pub(super) fn on_group_launched(&mut self, outcomes: Vec<LaunchOutcome>) {
        let failure = outcomes
            .iter()
            .find_map(|o| o.result.as_ref().err().map(|e| (o.key.task_id.clone(), e.to_string())));
        let mut keys = Vec::with_capacity(outcomes.len());
        for outcome in outcomes {
            match outcome.result {
                Ok(launched) if self.tasks.contains_key(&outcome.key) => {
                    self.watch_started(&outcome.key, launched);
                }
                Ok(launched) => {
                    executor::signal_group(launched.pid, Signal::SIGKILL);
                    continue;
                }
                Err(_) => {}
            }
            keys.push(outcome.key);
        }
        if let Some((culprit, why)) = failure {
            tracing::warn!(task_id = %culprit, error = %why, "a task of a group failed to launch; failing the group");
            if let Some(executor) = self.executor_of_mut(keys.first()) {
                executor.killing = true;
            }
            for key in &keys {
                if let Some(p) = self.tasks.get(key).and_then(|t| t.process) {
                    executor::signal_group(p.pid, Signal::SIGKILL);
                }
                let message = if key.task_id == culprit {
                    format!("Failed to launch the task: {why}")
                } else {
                    format!("Failed to launch the task group: task '{culprit}' could not be started: {why}")
                };
                self.task_ended(
                    key,
                    TaskState::TaskFailed,
                    Source::Agent,
                    Some(Reason::ContainerLaunchFailed),
                    message,
                );
            }
            return;
        }
        let mut running = Vec::with_capacity(keys.len());
        for key in keys {
            let Some(task) = self.tasks.get(&key) else { continue };
            // Killed (or its framework removed) while being launched: it never ran.
            if task.kill_requested {
                if let Some(p) = task.process {
                    executor::signal_group(p.pid, Signal::SIGKILL);
                }
            } else if self.frameworks.contains_key(&key.framework_id) {
                running.push(key);
            }
        }
        for key in &running {
            self.push_executor_update(key, TaskState::TaskStarting, None);
        }
        for key in &running {
            self.push_executor_update(key, TaskState::TaskRunning, None);
            self.start_health_checks(key);
        }
    }

    fn executor_of_mut(&mut self, key: Option<&TaskKey>) -> Option<&mut Executor> {
        let key = key?;
        let group = self.tasks.get(key)?.group.as_ref()?;
        let executor_key = ExecutorKey::new(&key.framework_id, &group.executor_id);
        self.executors.get_mut(&executor_key)
    }

    /// What a KILL of `key` kills: a task of a group still being launched takes its whole
    /// group with it (nothing of the group has run yet); otherwise the task alone, whose end
    /// then kills the rest of its group.
    pub(super) fn kill_targets(&self, key: &TaskKey) -> Vec<TaskKey> {
        let Some(task) = self.tasks.get(key) else {
            return vec![key.clone()];
        };
        let launching = task.process.is_none() && !task.ended;
        let executor = task
            .group
            .as_ref()
            .and_then(|g| self.executors.get(&ExecutorKey::new(&key.framework_id, &g.executor_id)));
        match executor {
            Some(executor) if launching => executor.tasks.clone(),
            _ => vec![key.clone()],
        }
    }

    /// A task of a group reached a terminal state: its executor's resources go back once no
    /// task of it runs, and a failed or killed task takes the others with it.
    pub(super) fn group_task_ended(&mut self, key: &TaskKey, group: &GroupMember, state: TaskState) {
        let executor_key = ExecutorKey::new(&key.framework_id, &group.executor_id);
        let tasks = &self.tasks;
        let Some(executor) = self.executors.get_mut(&executor_key) else {
            return;
        };
        let live: Vec<TaskKey> = executor
            .tasks
            .iter()
            .filter(|k| tasks.get(k).is_some_and(|t| !t.ended))
            .cloned()
            .collect();
        if live.is_empty() {
            if std::mem::take(&mut executor.holding) {
                self.agents[executor.agent].used.subtract(&executor.resources);
                self.allocation_needed = true;
                tracing::debug!(executor_id = %group.executor_id, "every task of the group ended; executor gone");
            }
            return;
        }
        if !kills_the_group(state) || executor.killing {
            return;
        }
        executor.killing = true;
        tracing::info!(
            task_id = %key.task_id,
            executor_id = %group.executor_id,
            state = state.as_str_name(),
            "a task of the group ended; killing the rest of the group"
        );
        self.kill_all(&key.framework_id, &live);
    }

    fn kill_all(&mut self, framework_id: &str, keys: &[TaskKey]) {
        let killing_state = self
            .frameworks
            .get(framework_id)
            .is_some_and(|f| f.has(Capability::TaskKillingState));
        for key in keys {
            self.kill_task(key, None, killing_state);
        }
    }

    /// A task of a group was forgotten; so is its executor, with its last task.
    pub(super) fn group_task_forgotten(&mut self, key: &TaskKey, group: &GroupMember) {
        let executor_key = ExecutorKey::new(&key.framework_id, &group.executor_id);
        let Some(executor) = self.executors.get_mut(&executor_key) else {
            return;
        };
        executor.tasks.retain(|k| k != key);
        if executor.tasks.is_empty()
            && let Some(executor) = self.executors.remove(&executor_key)
            && executor.holding
        {
            self.agents[executor.agent].used.subtract(&executor.resources);
            self.allocation_needed = true;
        }
    }
}
