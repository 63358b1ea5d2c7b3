//! Tasks as the local agent runs them, with their unacknowledged status updates.
//!
//! A task's updates form a stream: the head is sent and re-sent until the framework
//! acknowledges its uuid, and only then is the next one sent (Mesos's status update manager).
//! A task is forgotten once its terminal update is acknowledged.

use std::collections::VecDeque;
use std::time::Duration;

use crate::protos::pacer::checkpoint::{
    Record, TaskAck, TaskKey as KeyRecord, TaskLaunching, TaskStarted, TaskUpdate, record,
};
use crate::v1::{ExecutorId, FrameworkId, TaskId, TaskInfo, TaskStatus};

use super::agent::Agent;
use super::resources::Resources;
use super::status::TaskOrigin;

/// Task ids are unique per framework.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct TaskKey {
    pub framework_id: String,
    pub task_id: String,
}

impl TaskKey {
    pub(crate) fn new(framework_id: &str, task_id: &str) -> Self {
        Self {
            framework_id: framework_id.to_owned(),
            task_id: task_id.to_owned(),
        }
    }

    pub(crate) fn record(&self) -> KeyRecord {
        KeyRecord {
            framework_id: FrameworkId {
                value: self.framework_id.clone(),
            },
            task_id: TaskId {
                value: self.task_id.clone(),
            },
        }
    }
}

/// The task's process: the leader of its process group.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Process {
    pub pid: u32,
    pub start_ticks: u64,
    /// Started by an earlier run of the agent: not our child, so its exit is found by polling
    /// and its exit status is unknown.
    pub adopted: bool,
}

/// A task of a task group: the default executor it runs under.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct GroupMember {
    pub executor_id: String,
    /// The executor's container, the parent of the task's own.
    pub executor_container: String,
}

pub(crate) struct Task {
    pub key: TaskKey,
    /// Set for a task launched by LAUNCH_GROUP.
    pub group: Option<GroupMember>,
    pub info: TaskInfo,
    pub agent: usize,
    pub container_id: String,
    pub resources: Resources,
    /// The latest status generated for the task (what reconciliation reports).
    pub latest: TaskStatus,
    pub last_acked: Option<TaskStatus>,
    /// Generated but unacknowledged updates; the head is the one in flight.
    pub pending: VecDeque<TaskStatus>,
    /// Delay before the head is sent again; doubles on each retry.
    pub retry: Duration,
    /// Identifies the one retry timer that is current; older ones are ignored when they fire.
    pub retry_generation: u64,
    pub process: Option<Process>,
    pub kill_requested: bool,
    /// The task reached a terminal state and released its resources.
    pub ended: bool,
}

impl Task {
    pub(crate) fn origin(&self, agent: &Agent) -> TaskOrigin {
        TaskOrigin {
            task_id: self.key.task_id.clone(),
            agent_id: agent.id.clone(),
            executor_id: self.group.as_ref().map(|g| g.executor_id.clone()),
            container_id: self.container_id.clone(),
            parent_container: self.group.as_ref().map(|g| g.executor_container.clone()),
            pid: self.process.map(|p| p.pid),
            ip: agent.ip,
        }
    }

    /// The checkpoint records that recreate this task (used to compact the log).
    pub(crate) fn snapshot(&self) -> Vec<Record> {
        let wrap = |r| Record { record: Some(r) };
        let mut out = vec![wrap(record::Record::Launching(TaskLaunching {
            framework_id: FrameworkId {
                value: self.key.framework_id.clone(),
            },
            task: self.info.clone(),
            container_id: self.container_id.clone(),
            executor_id: self.group.as_ref().map(|g| ExecutorId {
                value: g.executor_id.clone(),
            }),
        }))];
        if let Some(p) = self.process {
            out.push(wrap(record::Record::Started(TaskStarted {
                task: self.key.record(),
                pid: p.pid,
                start_ticks: p.start_ticks,
            })));
        }
        if self.kill_requested {
            out.push(wrap(record::Record::KillRequested(self.key.record())));
        }
        let update = |status: &TaskStatus| {
            wrap(record::Record::Update(TaskUpdate {
                framework_id: FrameworkId {
                    value: self.key.framework_id.clone(),
                },
                status: status.clone(),
            }))
        };
        if let Some(acked) = &self.last_acked {
            out.push(update(acked));
            out.push(wrap(record::Record::Ack(TaskAck {
                task: self.key.record(),
                uuid: acked.uuid().to_vec(),
            })));
        }
        out.extend(self.pending.iter().map(update));
        out
    }
}
