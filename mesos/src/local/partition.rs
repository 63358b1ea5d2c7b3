//! Agents that go away and come back, with the semantics of Mesos's master for
//! partition-aware frameworks.
//!
//! - **Disconnected**: an agent that went away is no longer offered (its outstanding offers
//!   are rescinded), its status updates wait on the agent, and acknowledgements do not reach
//!   it. A KILL is remembered and delivered if it comes back in time (Mesos's `killedTasks`).
//! - **Unreachable**, after `agent_ping_timeout × max_agent_ping_timeouts`: each of its live
//!   tasks is reported TASK_UNREACHABLE (TASK_LOST to frameworks that are not partition-aware)
//!   with REASON_AGENT_REMOVED and `unreachable_time`, by the master, once, unacknowledged.
//!   The processes keep running. A KILL is answered as an explicit reconciliation
//!   (TASK_UNREACHABLE) and forgotten: the framework kills again when the task shows up.
//! - **Coming back** (re-registration): each task reported unreachable is announced again with
//!   its current state (TASK_RUNNING, or how it ended meanwhile) and REASON_AGENT_REREGISTERED;
//!   tasks of frameworks that are not partition-aware are killed; then the agent's waiting
//!   updates flow again and its resources are offered.
//! - **Gone** (MARK_AGENT_GONE): its task processes are killed for good and their tasks
//!   reported TASK_GONE_BY_OPERATOR with REASON_AGENT_REMOVED_BY_OPERATOR and forgotten; a
//!   gone agent that comes back rejoins as a new agent, with a new id.
//!
//! The presence of every agent is checkpointed (`presence`), so a restart of the master keeps
//! an agent away, re-arms its ping timeout, and answers reconciliation as before.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, SystemTime};

use nix::sys::signal::Signal;
use tokio::sync::oneshot;

use crate::v1::scheduler::call;
use crate::v1::{TaskState, TaskStatus, TimeInfo};

use super::checkpoint::{CheckpointError, store_agent_id};
use super::executor;
use super::framework::Framework;
use super::master::{Master, Timer};
use super::presence::{AgentState, AgentStatus, Presence};
use super::status::{self, Reason, master_update, reconciliation_update, rescind_event};
use super::tasks::TaskKey;

/// Why an operator action on an agent was refused.
#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    /// No agent has that id (or hostname, where a hostname is accepted).
    #[error("no agent has the id or hostname '{0}'")]
    NotFound(String),
    /// Several agents share the hostname: the id says which.
    #[error("several agents have the hostname '{0}'; name one by its id")]
    Ambiguous(String),
    /// The agent was marked gone: it can only come back as a new agent.
    #[error("agent {0} was marked gone; reconnect it to have it rejoin as a new agent")]
    Gone(String),
    /// Its new presence could not be checkpointed; nothing changed.
    #[error("cannot record the agent's presence in {}", path.display())]
    Storage {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The master is not running any more.
    #[error("the local master has stopped")]
    Stopped,
}

/// An operator action, sent to the master's loop.
pub(crate) enum AgentRequest {
    List,
    /// By id or hostname.
    Disconnect(String),
    /// By id or hostname.
    Reconnect(String),
    /// By id only, as Mesos's MARK_AGENT_GONE.
    MarkGone(String),
}

pub(crate) type AgentReply = oneshot::Sender<Result<Vec<AgentStatus>, AgentError>>;

/// The master's memory of agents that went away.
pub(crate) struct Partition {
    unreachable_after: Duration,
    /// Per agent, bumped on every change of its presence: a timer of an older epoch is stale.
    epochs: Vec<u64>,
    /// The state the master last heard of each task on an agent that went away.
    frozen: HashMap<TaskKey, TaskStatus>,
    /// Tasks reported unreachable, with when their agent became unreachable.
    unreachable: HashMap<TaskKey, TimeInfo>,
    /// KILLs for tasks of disconnected agents, delivered if they come back in time:
    /// (grace period in nanoseconds, whether the framework takes TASK_KILLING).
    killed: HashMap<TaskKey, (Option<i64>, bool)>,
    /// Ids agents had when they were marked gone, before they rejoined as new agents.
    retired: HashSet<String>,
}

impl Partition {
    pub(crate) fn new(unreachable_after: Duration, agents: usize) -> Self {
        Self {
            unreachable_after,
            epochs: vec![0; agents],
            frozen: HashMap::new(),
            unreachable: HashMap::new(),
            killed: HashMap::new(),
            retired: HashSet::new(),
        }
    }
}

impl From<CheckpointError> for AgentError {
    fn from(e: CheckpointError) -> Self {
        AgentError::Storage {
            path: e.path,
            source: e.source,
        }
    }
}

impl Master {
    pub(super) fn agent_request(&mut self, request: AgentRequest) -> Result<Vec<AgentStatus>, AgentError> {
        let agent = match request {
            AgentRequest::List => return Ok((0..self.agents.len()).map(|i| self.agent_status(i)).collect()),
            AgentRequest::Disconnect(name) => {
                let agent = self.find_agent(&name)?;
                self.disconnect_agent(agent)?;
                agent
            }
            AgentRequest::Reconnect(name) => {
                let agent = self.find_agent(&name)?;
                self.reconnect_agent(agent)?;
                agent
            }
            AgentRequest::MarkGone(id) => {
                let agent = self
                    .agents
                    .iter()
                    .position(|a| a.id == id)
                    .ok_or(AgentError::NotFound(id))?;
                self.mark_agent_gone(agent)?;
                agent
            }
        };
        Ok(vec![self.agent_status(agent)])
    }

    fn agent_status(&self, agent: usize) -> AgentStatus {
        let a = &self.agents[agent];
        AgentStatus {
            id: a.id.clone(),
            hostname: a.hostname.clone(),
            state: a.presence.state,
            since: a.presence.since,
            tasks: self.tasks.values().filter(|t| t.agent == agent).count(),
        }
    }

    /// The agent with this id, else the only one with this hostname.
    fn find_agent(&self, name: &str) -> Result<usize, AgentError> {
        if let Some(i) = self.agents.iter().position(|a| a.id == name) {
            return Ok(i);
        }
        let mut named = self.agents.iter().filter(|a| a.hostname == name);
        match (named.next(), named.next()) {
            (Some(a), None) => Ok(a.index),
            (Some(_), Some(_)) => Err(AgentError::Ambiguous(name.to_owned())),
            (None, _) => Err(AgentError::NotFound(name.to_owned())),
        }
    }

    /// Checkpoints the agent's new presence, then takes it; stale timers die with the epoch.
    fn enter(&mut self, agent: usize, presence: Presence) -> Result<(), AgentError> {
        let a = &mut self.agents[agent];
        presence.store(&a.meta_dir())?;
        a.presence = presence;
        self.partition.epochs[agent] += 1;
        Ok(())
    }

    fn tasks_on(&self, agent: usize) -> Vec<TaskKey> {
        let mut keys: Vec<TaskKey> = self
            .tasks
            .iter()
            .filter(|(_, t)| t.agent == agent)
            .map(|(k, _)| k.clone())
            .collect();
        keys.sort();
        keys
    }

    fn disconnect_agent(&mut self, agent: usize) -> Result<(), AgentError> {
        match self.agents[agent].presence.state {
            AgentState::Connected => {}
            AgentState::Disconnected | AgentState::Unreachable => return Ok(()),
            AgentState::Gone => return Err(AgentError::Gone(self.agents[agent].id.clone())),
        }
        self.enter(agent, Presence::now(AgentState::Disconnected))?;
        tracing::warn!(
            agent_id = %self.agents[agent].id,
            hostname = %self.agents[agent].hostname,
            unreachable_after = ?self.partition.unreachable_after,
            "agent disconnected; its tasks keep running"
        );
        self.rescind_offers_of(agent);
        self.freeze_tasks_of(agent);
        let epoch = self.partition.epochs[agent];
        self.after(
            self.partition.unreachable_after,
            Timer::AgentUnreachable { agent, epoch },
        );
        Ok(())
    }

    fn rescind_offers_of(&mut self, agent: usize) {
        for (framework_id, offer_id) in self.allocator.withdraw_agent(agent) {
            self.emit(&framework_id, rescind_event(&offer_id));
        }
    }

    /// From now on the master answers for these tasks with what it knew when the agent left.
    fn freeze_tasks_of(&mut self, agent: usize) {
        for key in self.tasks_on(agent) {
            let latest = self.tasks[&key].latest.clone();
            self.partition.frozen.insert(key, latest);
        }
    }

    /// The agent missed its pings: its tasks are unreachable.
    pub(super) fn agent_timed_out(&mut self, agent: usize, epoch: u64) {
        if self.partition.epochs[agent] != epoch || self.agents[agent].presence.state != AgentState::Disconnected {
            return;
        }
        if let Err(e) = self.enter(agent, Presence::now(AgentState::Unreachable)) {
            // The tasks are unreachable all the same; a restart would wait for the agent again.
            tracing::error!(error = %e, "cannot checkpoint that an agent is unreachable");
            self.agents[agent].presence = Presence::now(AgentState::Unreachable);
        }
        tracing::warn!(agent_id = %self.agents[agent].id, "agent unreachable: its tasks are reported unreachable");
        self.mark_unreachable(agent, true);
    }

    /// Records the agent's live tasks as unreachable and, if `announce`, tells their
    /// frameworks (a restarted master does not: frameworks hear it by reconciliation).
    fn mark_unreachable(&mut self, agent: usize, announce: bool) {
        let at = TimeInfo {
            nanoseconds: self.agents[agent].presence.since_nanos(),
        };
        for key in self.tasks_on(agent) {
            self.partition.killed.remove(&key);
            // What the master knew: a task that ended while its agent was away is unreachable
            // all the same, since the master has not heard of its end.
            let known = self.partition.frozen.get(&key).unwrap_or(&self.tasks[&key].latest);
            if status::is_terminal(known.state()) {
                continue;
            }
            self.partition.unreachable.insert(key.clone(), at);
            if announce && let Some(update) = self.unreachable_update(&key, Reason::AgentRemoved) {
                self.emit(&key.framework_id, status::update_event(update));
            }
        }
    }

    /// TASK_UNREACHABLE (TASK_LOST for a framework that is not partition-aware) from the master.
    fn unreachable_update(&self, key: &TaskKey, reason: Reason) -> Option<TaskStatus> {
        let framework = self.frameworks.get(&key.framework_id)?;
        let task = self.tasks.get(key)?;
        let at = self.partition.unreachable.get(key)?;
        let agent = &self.agents[task.agent];
        let state = if framework.partition_aware() {
            TaskState::TaskUnreachable
        } else {
            TaskState::TaskLost
        };
        let message = match reason {
            Reason::Reconciliation => "Reconciliation: Task is unreachable".to_owned(),
            _ => format!("Agent {} is unreachable", agent.hostname),
        };
        let mut update = master_update(&key.task_id, Some(&agent.id), state, reason, message);
        update.unreachable_time = Some(*at);
        Some(update)
    }

    fn reconnect_agent(&mut self, agent: usize) -> Result<(), AgentError> {
        let was = self.agents[agent].presence.state;
        match was {
            AgentState::Connected => return Ok(()),
            AgentState::Gone => return self.rejoin(agent),
            AgentState::Disconnected | AgentState::Unreachable => {}
        }
        self.enter(agent, Presence::CONNECTED)?;
        tracing::info!(agent_id = %self.agents[agent].id, "agent reconnected");
        let keys = self.tasks_on(agent);
        for key in &keys {
            self.partition.frozen.remove(key);
            if let Some((grace, killing_state)) = self.partition.killed.remove(key) {
                self.kill_task(key, grace, killing_state);
            }
            if self.partition.unreachable.remove(key).is_none() {
                continue;
            }
            let Some(framework) = self.frameworks.get(&key.framework_id) else {
                continue;
            };
            if framework.partition_aware() {
                let update = reregistered_update(&self.tasks[key].latest);
                self.emit(&key.framework_id, status::update_event(update));
            } else {
                // It was reported lost: as Mesos does, it does not come back.
                let killing_state = framework.has(crate::v1::framework_info::capability::Type::TaskKillingState);
                self.kill_task(key, None, killing_state);
            }
        }
        // The agent's own updates, held while it was away, follow the master's.
        for key in &keys {
            if self.tasks.get(key).is_some_and(|t| !t.pending.is_empty()) {
                self.send_head(key);
            }
        }
        self.allocation_needed = true;
        Ok(())
    }

    /// A gone agent comes back as a new one: a new id, nothing running, all of it offered.
    fn rejoin(&mut self, agent: usize) -> Result<(), AgentError> {
        let old = self.agents[agent].id.clone();
        let fresh = format!("{}-S{agent}", uuid::Uuid::new_v4());
        let meta = self.agents[agent].meta_dir();
        store_agent_id(&meta, &fresh)?;
        self.enter(agent, Presence::CONNECTED)?;
        tracing::info!(old_id = %old, agent_id = %fresh, "a gone agent rejoined as a new agent");
        self.agents[agent].id = fresh;
        self.partition.retired.insert(old);
        self.allocation_needed = true;
        Ok(())
    }

    fn mark_agent_gone(&mut self, agent: usize) -> Result<(), AgentError> {
        if self.agents[agent].presence.state == AgentState::Gone {
            return Ok(());
        }
        self.enter(agent, Presence::now(AgentState::Gone))?;
        tracing::warn!(agent_id = %self.agents[agent].id, "agent marked gone: killing its tasks");
        self.rescind_offers_of(agent);
        self.remove_tasks_of_gone(agent, true);
        Ok(())
    }

    /// Kills every task process of a gone agent and forgets its tasks, telling their
    /// frameworks if `announce`.
    fn remove_tasks_of_gone(&mut self, agent: usize, announce: bool) {
        for key in self.tasks_on(agent) {
            let Some(task) = self.tasks.get_mut(&key) else {
                continue;
            };
            if let Some(p) = task.process.take() {
                executor::signal_group(p.pid, Signal::SIGKILL);
            }
            task.pending.clear();
            let was_live = !std::mem::replace(&mut task.ended, true);
            if was_live {
                let resources = task.resources.clone();
                self.agents[agent].used.subtract(&resources);
            }
            self.health.stop(&key);
            self.partition.frozen.remove(&key);
            self.partition.unreachable.remove(&key);
            self.partition.killed.remove(&key);
            if announce
                && was_live
                && let Some(framework) = self.frameworks.get(&key.framework_id)
            {
                let update = gone_update(
                    &key.task_id,
                    &self.agents[agent].id,
                    framework,
                    Reason::AgentRemovedByOperator,
                );
                self.emit(&key.framework_id, status::update_event(update));
            }
            self.forget(&key);
        }
        self.allocation_needed = true;
    }

    /// After a restart: agents that were away stay away; a disconnected one gets the rest of
    /// its ping timeout (measured on the wall clock, which kept running while we were down).
    pub(super) fn restore_presence(&mut self) {
        for agent in 0..self.agents.len() {
            let presence = self.agents[agent].presence;
            match presence.state {
                AgentState::Connected => {}
                AgentState::Disconnected => {
                    self.freeze_tasks_of(agent);
                    let away = presence
                        .since
                        .and_then(|t| SystemTime::now().duration_since(t).ok())
                        .unwrap_or_default();
                    let epoch = self.partition.epochs[agent];
                    let left = self.partition.unreachable_after.saturating_sub(away);
                    self.after(left, Timer::AgentUnreachable { agent, epoch });
                }
                AgentState::Unreachable => {
                    self.freeze_tasks_of(agent);
                    self.mark_unreachable(agent, false);
                }
                // Nothing should be left; a crash while marking it gone may have left some.
                AgentState::Gone => self.remove_tasks_of_gone(agent, false),
            }
        }
    }

    /// What reconciliation says of a known task: its latest state, or, while its agent is
    /// away, what the master knew then (TASK_UNREACHABLE once the agent is unreachable).
    pub(super) fn reconciliation_answer(&self, key: &TaskKey) -> Option<TaskStatus> {
        let task = self.tasks.get(key)?;
        if let Some(update) = self.unreachable_update(key, Reason::Reconciliation) {
            return Some(update);
        }
        Some(reconciliation_update(
            self.partition.frozen.get(key).unwrap_or(&task.latest),
        ))
    }

    /// What reconciliation says of a task the master does not know on an agent marked gone.
    pub(super) fn gone_answer(&self, framework_id: &str, task_id: &str, agent_id: Option<&str>) -> Option<TaskStatus> {
        let agent_id = agent_id?;
        let gone = self.partition.retired.contains(agent_id)
            || self
                .agents
                .iter()
                .any(|a| a.id == agent_id && a.presence.state == AgentState::Gone);
        let framework = self.frameworks.get(framework_id)?;
        gone.then(|| gone_update(task_id, agent_id, framework, Reason::Reconciliation))
    }

    /// A KILL of a task whose agent is away, or was marked gone. Returns whether it was dealt
    /// with here: remembered for a disconnected agent, answered for an unreachable or gone one.
    pub(super) fn kill_while_away(&mut self, framework_id: &str, kill: &call::Kill) -> bool {
        let key = TaskKey::new(framework_id, &kill.task_id.value);
        let Some(task) = self.tasks.get(&key) else {
            let agent_id = kill.agent_id.as_ref().map(|a| a.value.as_str());
            let Some(answer) = self.gone_answer(framework_id, &kill.task_id.value, agent_id) else {
                return false;
            };
            self.emit(framework_id, status::update_event(answer));
            return true;
        };
        match self.agents[task.agent].presence.state {
            AgentState::Connected | AgentState::Gone => false,
            AgentState::Disconnected => {
                let grace = kill
                    .kill_policy
                    .as_ref()
                    .and_then(|p| p.grace_period.as_ref())
                    .map(|d| d.nanoseconds);
                let killing_state =
                    self.frameworks[framework_id].has(crate::v1::framework_info::capability::Type::TaskKillingState);
                tracing::warn!(task_id = %key.task_id, "cannot kill a task while its agent is disconnected; kill will be delivered if it comes back");
                self.partition.killed.insert(key, (grace, killing_state));
                true
            }
            AgentState::Unreachable => {
                let answer = self
                    .unreachable_update(&key, Reason::Reconciliation)
                    .unwrap_or_else(|| reconciliation_update(&task.latest));
                self.emit(framework_id, status::update_event(answer));
                true
            }
        }
    }
}

/// The master's announcement of a task it hears of again from a re-registered agent.
fn reregistered_update(latest: &TaskStatus) -> TaskStatus {
    TaskStatus {
        message: Some("Agent reregistered".to_owned()),
        reason: Some(Reason::AgentReregistered as i32),
        ..reconciliation_update(latest)
    }
}

fn gone_update(task_id: &str, agent_id: &str, framework: &Framework, reason: Reason) -> TaskStatus {
    let state = if framework.partition_aware() {
        TaskState::TaskGoneByOperator
    } else {
        TaskState::TaskLost
    };
    let message = match reason {
        Reason::Reconciliation => "Reconciliation: Task is gone",
        _ => "Agent was marked gone by an operator",
    };
    master_update(task_id, Some(agent_id), state, reason, message)
}
