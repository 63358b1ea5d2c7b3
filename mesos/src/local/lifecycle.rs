//! The agent's side of a task's life: launch, status updates until acknowledged, kill with a
//! grace period, exit, and re-adoption of processes found alive after a restart.

use std::time::Duration;

use nix::sys::signal::Signal;

use crate::protos::pacer::checkpoint::{Record, TaskLaunching, TaskStarted, record};
use crate::v1::{ExecutorId, FrameworkId, TaskInfo, TaskState, TaskStatus};

use super::executor::{self, Launch, LaunchOutcome, Launched, Outcome};
use super::master::{Exit, Master, Timer};
use super::recovery::{Fate, Replayed, probe};
use super::resources::Resources;
use super::status::{self, Reason, Source, is_terminal, master_update};
use super::tasks::{GroupMember, Process, Task, TaskKey};

/// Mesos's default kill grace period.
const DEFAULT_GRACE: Duration = Duration::from_secs(3);
/// Status update retries back off up to this (Mesos: 10 min).
const MAX_RETRY: Duration = Duration::from_secs(600);
const POLL_ADOPTED: Duration = Duration::from_secs(1);
const POLL_ADOPTED_KILLING: Duration = Duration::from_millis(100);

impl Master {
    /// Launches validated tasks on an agent: checkpoint all launches (one sync), then hand them
    /// to the launcher threads; each outcome comes back through [`Master::on_launched`].
    pub(super) fn launch_tasks(&mut self, framework_id: &str, agent: usize, launches: Vec<(TaskInfo, Resources)>) {
        let keys = self.admit(framework_id, agent, launches, None);
        if keys.is_empty() {
            return;
        }
        let jobs = keys
            .iter()
            .filter_map(|k| self.launch_job(k))
            .map(|job| Launch::Task(Box::new(job)))
            .collect();
        executor::launch_all(jobs, self.launched_tx.clone());
    }

    /// Checkpoints the launches of tasks (after `group`'s executor record, for a task group)
    /// and records them STAGING, holding their resources. Returns their keys; none if the
    /// checkpoint failed, in which case every task is reported failed.
    pub(super) fn admit(
        &mut self,
        framework_id: &str,
        agent: usize,
        launches: Vec<(TaskInfo, Resources)>,
        group: Option<(GroupMember, Record)>,
    ) -> Vec<TaskKey> {
        if launches.is_empty() {
            return Vec::new();
        }
        let framework = self.frameworks[framework_id].info.clone();
        let (member, executor_record) = group.unzip();
        let launches: Vec<(TaskInfo, Resources, String)> = launches
            .into_iter()
            .map(|(t, r)| (t, r, uuid::Uuid::new_v4().to_string()))
            .collect();
        // The launches are durable before any process exists, so a crash can never leave a
        // process the next start does not know about.
        let durable = (|| {
            let a = &mut self.agents[agent];
            a.checkpoint_framework(&framework)?;
            if let Some(record) = executor_record.and_then(|r| r.record) {
                a.checkpoint(record, true)?;
            }
            for (task, _, container_id) in &launches {
                a.checkpoint(
                    record::Record::Launching(TaskLaunching {
                        framework_id: FrameworkId {
                            value: framework_id.to_owned(),
                        },
                        task: task.clone(),
                        container_id: container_id.clone(),
                        executor_id: member.as_ref().map(|m| ExecutorId {
                            value: m.executor_id.clone(),
                        }),
                    }),
                    true,
                )?;
            }
            a.log.sync()
        })();
        if let Err(e) = durable {
            tracing::error!(error = %e, "cannot checkpoint task launches; not launching them");
            for (task, _, _) in launches {
                let update = master_update(
                    &task.task_id.value,
                    Some(&task.agent_id.value),
                    TaskState::TaskFailed,
                    Reason::ContainerLaunchFailed,
                    format!("Failed to checkpoint the task: {e}"),
                );
                self.emit(framework_id, status::update_event(update));
            }
            return Vec::new();
        }
        let mut keys = Vec::with_capacity(launches.len());
        for (info, resources, container_id) in launches {
            let key = TaskKey::new(framework_id, &info.task_id.value);
            self.agents[agent].used.add(&resources);
            let staging = TaskStatus {
                task_id: info.task_id.clone(),
                state: TaskState::TaskStaging as i32,
                agent_id: Some(info.agent_id.clone()),
                timestamp: Some(status::now_seconds()),
                ..Default::default()
            };
            let task = Task {
                key: key.clone(),
                group: member.clone(),
                info,
                agent,
                container_id,
                resources,
                latest: staging,
                last_acked: None,
                pending: Default::default(),
                retry: self.retry_interval,
                retry_generation: 0,
                process: None,
                kill_requested: false,
                ended: false,
            };
            self.tasks.insert(key.clone(), task);
            keys.push(key);
        }
        keys
    }

    pub(super) fn on_outcome(&mut self, outcome: Outcome) {
        match outcome {
            Outcome::Task(outcome) => self.on_launched(*outcome),
            Outcome::Group(outcomes) => self.on_group_launched(outcomes),
        }
    }

    /// A launch job finished: the task runs (STARTING, RUNNING) or failed to start.
    pub(super) fn on_launched(&mut self, outcome: LaunchOutcome) {
        let key = outcome.key;
        let Some(task) = self.tasks.get(&key) else {
            // Cannot happen (tasks are only forgotten once ended), but never leave a process.
            if let Ok(launched) = outcome.result {
                executor::signal_group(launched.pid, Signal::SIGKILL);
            }
            return;
        };
        let kill_requested = task.kill_requested;
        match outcome.result {
            Ok(launched) => {
                let pid = self.watch_started(&key, launched);
                // Killed (or its framework removed) while being launched: it never ran as far
                // as the framework knows, so no STARTING/RUNNING, and no grace period.
                if kill_requested {
                    executor::signal_group(pid, Signal::SIGKILL);
                } else if self.frameworks.contains_key(&key.framework_id) {
                    self.push_executor_update(&key, TaskState::TaskStarting, None);
                    self.push_executor_update(&key, TaskState::TaskRunning, None);
                    self.start_health_checks(&key);
                }
            }
            Err(e) => {
                tracing::warn!(task_id = %key.task_id, error = %e, "task launch failed");
                self.task_ended(
                    &key,
                    TaskState::TaskFailed,
                    Source::Agent,
                    Some(Reason::ContainerLaunchFailed),
                    format!("Failed to launch the task: {e}"),
                );
            }
        }
    }

    /// Records a freshly spawned process of the task (checkpointed) and waits for its exit.
    pub(super) fn watch_started(&mut self, key: &TaskKey, launched: Launched) -> u32 {
        let pid = launched.pid;
        let process = Process {
            pid,
            start_ticks: launched.start_ticks,
            adopted: false,
        };
        self.set_started(key, process);
        let mut child = launched.child;
        let exit_key = key.clone();
        self.exits.spawn(async move {
            Exit {
                key: exit_key,
                pid,
                status: child.wait().await,
            }
        });
        pid
    }

    fn set_started(&mut self, key: &TaskKey, process: Process) {
        let Some(task) = self.tasks.get_mut(key) else {
            return;
        };
        task.process = Some(process);
        let started = TaskStarted {
            task: key.record(),
            pid: process.pid,
            start_ticks: process.start_ticks,
        };
        if let Err(e) = self.agents[task.agent].checkpoint(record::Record::Started(started), true) {
            tracing::error!(error = %e, "cannot checkpoint a started task");
        }
    }

    pub(super) fn push_executor_update(&mut self, key: &TaskKey, state: TaskState, message: Option<String>) {
        let Some(task) = self.tasks.get(key) else {
            return;
        };
        let update = task
            .origin(&self.agents[task.agent])
            .update(state, Source::Executor, None, message);
        self.push_update(key, update);
    }

    /// Appends an agent-generated update to the task's stream; sends it if it is the head.
    pub(super) fn push_update(&mut self, key: &TaskKey, update: TaskStatus) {
        let Some(task) = self.tasks.get_mut(key) else {
            return;
        };
        let record = record::Record::Update(crate::protos::pacer::checkpoint::TaskUpdate {
            framework_id: FrameworkId {
                value: key.framework_id.clone(),
            },
            status: update.clone(),
        });
        if let Err(e) = self.agents[task.agent].checkpoint(record, true) {
            tracing::error!(error = %e, "cannot checkpoint a status update");
        }
        task.latest = update.clone();
        task.pending.push_back(update);
        if task.pending.len() == 1 {
            self.send_head(key);
        }
    }

    pub(super) fn send_head(&mut self, key: &TaskKey) {
        let Some(task) = self.tasks.get_mut(key) else {
            return;
        };
        // An agent that went away keeps its updates until it comes back (`partition`).
        if !self.agents[task.agent].presence.is_connected() {
            return;
        }
        let Some(head) = task.pending.front().cloned() else {
            return;
        };
        task.retry_generation += 1;
        let timer = Timer::RetryUpdate {
            key: key.clone(),
            generation: task.retry_generation,
        };
        let delay = task.retry;
        self.emit(&key.framework_id, status::update_event(head));
        self.after(delay, timer);
    }

    /// Sends every unacknowledged head again (a framework just (re)subscribed).
    pub(super) fn resend_pending(&mut self, framework_id: &str) {
        let mut keys: Vec<TaskKey> = self
            .tasks
            .iter()
            .filter(|(k, t)| k.framework_id == framework_id && !t.pending.is_empty())
            .map(|(k, _)| k.clone())
            .collect();
        keys.sort();
        for key in keys {
            self.send_head(&key);
        }
    }

    pub(super) fn retry_update(&mut self, key: &TaskKey, generation: u64) {
        let Some(task) = self.tasks.get_mut(key) else {
            return;
        };
        if task.retry_generation != generation || task.pending.is_empty() {
            return;
        }
        task.retry = (task.retry * 2).min(MAX_RETRY);
        self.send_head(key);
    }

    pub(super) fn acknowledge(&mut self, key: &TaskKey, uuid: &[u8]) {
        let Some(task) = self.tasks.get_mut(key) else {
            return;
        };
        // It does not reach an agent that went away, which sends the update again on return.
        if !self.agents[task.agent].presence.is_connected() {
            return;
        }
        if task.pending.front().is_none_or(|head| head.uuid() != uuid) {
            tracing::debug!(task_id = %key.task_id, "acknowledgement of an update not in flight; ignored");
            return;
        }
        let acked = task.pending.pop_front().expect("checked above");
        task.retry = self.retry_interval;
        let agent = task.agent;
        let finished = task.pending.is_empty() && is_terminal(acked.state());
        task.last_acked = Some(acked);
        let ack = crate::protos::pacer::checkpoint::TaskAck {
            task: key.record(),
            uuid: uuid.to_vec(),
        };
        if let Err(e) = self.agents[agent].checkpoint(record::Record::Ack(ack), false) {
            tracing::error!(error = %e, "cannot checkpoint an acknowledgement");
        }
        if finished {
            self.forget(key);
        } else {
            self.send_head(key);
        }
    }

    /// Drops a task for good (its terminal update was acknowledged, or its framework is gone).
    pub(super) fn forget(&mut self, key: &TaskKey) {
        let Some(task) = self.tasks.remove(key) else {
            return;
        };
        self.adopted.remove(key);
        if let Err(e) = self.agents[task.agent].checkpoint(record::Record::Removed(key.record()), false) {
            tracing::error!(error = %e, "cannot checkpoint a task's removal");
        }
        if let Some(group) = &task.group {
            self.group_task_forgotten(key, group);
        }
    }

    /// SIGTERM to the task's process group now, SIGKILL after the grace period.
    pub(super) fn kill_task(&mut self, key: &TaskKey, grace_nanos: Option<i64>, killing_state: bool) {
        let Some(task) = self.tasks.get_mut(key) else {
            return;
        };
        if task.ended || task.kill_requested {
            return;
        }
        task.kill_requested = true;
        self.health.stop(key);
        let grace = grace_period(&task.info, grace_nanos);
        let process = task.process;
        if let Err(e) = self.agents[task.agent].checkpoint(record::Record::KillRequested(key.record()), false) {
            tracing::error!(error = %e, "cannot checkpoint a kill request");
        }
        // A task still being launched has nothing running to report KILLING for.
        if killing_state && process.is_some() {
            self.push_executor_update(key, TaskState::TaskKilling, None);
        }
        if let Some(p) = process {
            executor::signal_group(p.pid, Signal::SIGTERM);
            self.after(
                grace,
                Timer::EscalateKill {
                    key: key.clone(),
                    pid: p.pid,
                },
            );
            if p.adopted {
                self.schedule_poll(true);
            }
        }
    }

    pub(super) fn escalate_kill(&mut self, key: &TaskKey, pid: u32) {
        let Some(task) = self.tasks.get(key) else {
            return;
        };
        if !task.ended && task.process.is_some_and(|p| p.pid == pid) {
            tracing::info!(task_id = %key.task_id, pid, "grace period over; sending SIGKILL");
            executor::signal_group(pid, Signal::SIGKILL);
        }
    }

    /// The task's framework is gone: no more updates; kill what still runs.
    pub(super) fn abandon_task(&mut self, key: &TaskKey) {
        let Some(task) = self.tasks.get_mut(key) else {
            return;
        };
        task.pending.clear();
        if task.ended {
            self.forget(key);
        } else {
            self.kill_task(key, None, false);
        }
    }

    pub(super) fn on_exit(&mut self, exit: Exit) {
        let Some(task) = self.tasks.get(&exit.key) else {
            return;
        };
        if task.process.is_none_or(|p| p.pid != exit.pid) {
            return;
        }
        // The leader is gone; take any children it left in its group with it.
        executor::signal_group(exit.pid, Signal::SIGKILL);
        let (state, message) = match &exit.status {
            Ok(status) => {
                let state = if task.kill_requested {
                    TaskState::TaskKilled
                } else if status.success() {
                    TaskState::TaskFinished
                } else {
                    TaskState::TaskFailed
                };
                (state, executor::describe_exit(status))
            }
            Err(e) => (TaskState::TaskFailed, format!("Failed to wait for the command: {e}")),
        };
        let killed_during_launch = task.kill_requested && task.latest.state() == TaskState::TaskStaging;
        let reason = killed_during_launch.then_some(Reason::TaskKilledDuringLaunch);
        self.task_ended(&exit.key, state, Source::Executor, reason, message);
    }

    /// Checks re-adopted processes, which are not our children, for their end.
    pub(super) fn poll_adopted(&mut self) {
        let mut keys: Vec<TaskKey> = self.adopted.iter().cloned().collect();
        keys.sort();
        for key in keys {
            let Some(task) = self.tasks.get(&key) else {
                continue;
            };
            let Some(p) = task.process else { continue };
            if executor::is_alive(p.pid, p.start_ticks) {
                continue;
            }
            executor::signal_group(p.pid, Signal::SIGKILL);
            if task.kill_requested {
                let message =
                    "Command terminated after a kill request; its exit status is unknown since the agent restarted";
                self.task_ended(&key, TaskState::TaskKilled, Source::Agent, None, message.to_owned());
            } else {
                let message = format!(
                    "Task process {} exited after the agent restarted and re-adopted it; its exit status is unknown",
                    p.pid
                );
                self.task_ended(
                    &key,
                    TaskState::TaskFailed,
                    Source::Agent,
                    Some(Reason::ExecutorTerminated),
                    message,
                );
            }
        }
        let killing = self
            .adopted
            .iter()
            .any(|k| self.tasks.get(k).is_some_and(|t| t.kill_requested));
        self.schedule_poll(killing);
    }

    fn schedule_poll(&mut self, soon: bool) {
        if self.poll_scheduled || self.adopted.is_empty() {
            return;
        }
        self.poll_scheduled = true;
        self.after(
            if soon { POLL_ADOPTED_KILLING } else { POLL_ADOPTED },
            Timer::PollAdopted,
        );
    }

    /// The task reached a terminal state: release its resources and report it.
    pub(super) fn task_ended(
        &mut self,
        key: &TaskKey,
        state: TaskState,
        source: Source,
        reason: Option<Reason>,
        message: String,
    ) {
        let Some(task) = self.tasks.get_mut(key) else {
            return;
        };
        if task.ended {
            return;
        }
        task.ended = true;
        let group = task.group.clone();
        let agent = task.agent;
        let mut update = task
            .origin(&self.agents[agent])
            .update(state, source, reason, Some(message));
        // As Mesos's command executor: a task its health check killed ends unhealthy.
        if let Some(why) = self.health.finish(key) {
            update.healthy = Some(false);
            update.message = Some(format!("{why}; {}", update.message()));
        }
        task.process = None;
        self.agents[agent].used.subtract(&task.resources);
        self.adopted.remove(key);
        self.allocation_needed = true;
        tracing::debug!(task_id = %key.task_id, state = state.as_str_name(), "task ended");
        if self.frameworks.contains_key(&key.framework_id) {
            self.push_update(key, update);
        } else {
            self.forget(key);
        }
        if let Some(group) = group {
            self.group_task_ended(key, &group, state);
        }
    }

    /// Takes over the tasks checkpointed by an earlier run of agent `agent`.
    pub(super) fn recover(&mut self, agent: usize, replayed: Replayed) {
        self.removed_frameworks.extend(replayed.removed_frameworks);
        self.recover_executors(agent, replayed.executors);
        for (framework_id, info) in replayed.frameworks {
            if self.frameworks.contains_key(&framework_id) || self.removed_frameworks.contains(&framework_id) {
                continue;
            }
            let timeout = super::framework::failover_timeout(&info);
            tracing::info!(
                framework_id,
                ?timeout,
                "recovered framework; waiting for it to re-subscribe"
            );
            self.frameworks
                .insert(framework_id.clone(), super::framework::Framework::new(info));
            self.after(timeout, Timer::FailoverTimeout { framework_id, epoch: 0 });
        }
        let mut running = None;
        for rt in replayed.tasks {
            let key = rt.key.clone();
            let sandbox = self.agents[agent].sandbox(&key.task_id);
            let known = self.frameworks.contains_key(&key.framework_id);
            let terminal = rt.latest().is_some_and(|s| is_terminal(s.state()));
            if terminal && (!known || rt.pending().is_empty()) {
                continue;
            }
            let fate = if terminal {
                Fate::Gone
            } else {
                probe(&rt, &sandbox, &mut running)
            };
            if !known {
                if let Fate::Alive { pid, .. } = fate {
                    tracing::warn!(task_id = %key.task_id, pid, "killing a task whose framework is gone");
                    executor::signal_group(pid, Signal::SIGKILL);
                }
                continue;
            }
            let resources =
                Resources::from_protos(&rt.info.resources, self.agents[agent].resource_role()).unwrap_or_default();
            let latest = rt.latest().cloned().unwrap_or_else(|| TaskStatus {
                task_id: rt.info.task_id.clone(),
                state: TaskState::TaskStaging as i32,
                agent_id: Some(rt.info.agent_id.clone()),
                ..Default::default()
            });
            let task = Task {
                key: key.clone(),
                group: self.join_group(&key, rt.executor_id.as_deref()),
                info: rt.info.clone(),
                agent,
                container_id: rt.container_id.clone(),
                resources: resources.clone(),
                latest,
                last_acked: rt.last_acked().cloned(),
                pending: rt.pending().into(),
                retry: self.retry_interval,
                retry_generation: 0,
                process: None,
                kill_requested: false,
                ended: terminal,
            };
            self.tasks.insert(key.clone(), task);
            if terminal {
                continue;
            }
            self.agents[agent].used.add(&resources);
            match fate {
                Fate::Alive {
                    pid,
                    start_ticks,
                    found_by_scan,
                } => {
                    tracing::info!(task_id = %key.task_id, pid, "re-adopted a running task");
                    let process = Process {
                        pid,
                        start_ticks,
                        adopted: true,
                    };
                    if found_by_scan {
                        self.set_started(&key, process);
                    } else if let Some(t) = self.tasks.get_mut(&key) {
                        t.process = Some(process);
                    }
                    self.adopted.insert(key.clone());
                    if rt.statuses.is_empty() {
                        self.push_executor_update(&key, TaskState::TaskStarting, None);
                        self.push_executor_update(&key, TaskState::TaskRunning, None);
                    }
                    if rt.kill_requested {
                        self.kill_task(&key, None, false);
                    } else {
                        self.start_health_checks(&key);
                    }
                }
                Fate::Gone => {
                    let (state, message) = if rt.kill_requested {
                        (
                            TaskState::TaskKilled,
                            "Task process ended while the agent was down, after a kill request".to_owned(),
                        )
                    } else {
                        let pid = rt.started.map_or(0, |(pid, _)| pid);
                        (
                            TaskState::TaskFailed,
                            format!("Task process {pid} ended while the agent was down; its exit status is unknown"),
                        )
                    };
                    self.task_ended(&key, state, Source::Agent, Some(Reason::ExecutorTerminated), message);
                }
                Fate::NeverStarted => {
                    let message =
                        "The agent stopped while launching the task, and its process was never started".to_owned();
                    self.task_ended(
                        &key,
                        TaskState::TaskFailed,
                        Source::Agent,
                        Some(Reason::ExecutorTerminated),
                        message,
                    );
                }
            }
        }
        self.settle_groups(agent);
        self.schedule_poll(false);
    }
}

/// The KILL call's grace period, else the task's kill policy, else Mesos's default.
fn grace_period(task: &TaskInfo, from_call: Option<i64>) -> Duration {
    from_call
        .or_else(|| {
            task.kill_policy
                .as_ref()
                .and_then(|p| p.grace_period.as_ref())
                .map(|d| d.nanoseconds)
        })
        .map_or(DEFAULT_GRACE, |n| Duration::from_nanos(n.max(0) as u64))
}
