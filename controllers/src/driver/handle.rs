//! The controllers' way to act on Mesos outside the driver's own loop: kill a task.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use mesos::Caller;
use mesos::v1::scheduler::{Call, call};
use mesos::v1::{AgentId, DurationInfo, KillPolicy, TaskId};
use parking_lot::Mutex;
use schemas::TaskRecord;
use tokio::time::Instant;

use super::DriverError;

/// Cheap to clone; every clone talks to the same subscription.
#[derive(Clone)]
pub struct DriverHandle {
    inner: Arc<Inner>,
}

struct Inner {
    caller: Mutex<Option<Caller>>,
    /// When each unconfirmed kill was last sent, so reconciles do not repeat it every pass.
    kills: Mutex<HashMap<String, Instant>>,
    kill_retry: Duration,
}

impl DriverHandle {
    pub fn new(kill_retry: Duration) -> Self {
        Self {
            inner: Arc::new(Inner {
                caller: Mutex::new(None),
                kills: Mutex::new(HashMap::new()),
                kill_retry,
            }),
        }
    }

    pub fn is_connected(&self) -> bool {
        self.inner.caller.lock().is_some()
    }

    pub(crate) fn caller(&self) -> Option<Caller> {
        self.inner.caller.lock().clone()
    }

    pub(crate) fn set_caller(&self, caller: Option<Caller>) {
        *self.inner.caller.lock() = caller;
    }

    /// Asks Mesos to kill `task` (SIGTERM, then SIGKILL after `grace`). A kill already sent
    /// within the retry interval is not sent again.
    pub async fn kill(&self, task: &TaskRecord, grace: Option<Duration>) -> Result<(), DriverError> {
        // A pod instance's task group: kill every container still running.
        if !task.containers.is_empty() {
            for c in task.containers.iter().filter(|c| !c.state.is_terminal()) {
                self.kill_one(&c.task_id, &task.agent_id, grace).await?;
            }
            return Ok(());
        }
        self.kill_one(&task.task_id, &task.agent_id, grace).await
    }

    async fn kill_one(&self, task_id: &str, agent_id: &str, grace: Option<Duration>) -> Result<(), DriverError> {
        let now = Instant::now();
        {
            let kills = self.inner.kills.lock();
            if kills
                .get(task_id)
                .is_some_and(|sent| now < *sent + self.inner.kill_retry)
            {
                return Ok(());
            }
        }
        let caller = self.caller().ok_or(DriverError::NotConnected)?;
        let kill = call::Kill {
            task_id: TaskId {
                value: task_id.to_string(),
            },
            agent_id: Some(AgentId {
                value: agent_id.to_string(),
            }),
            kill_policy: grace.map(|g| KillPolicy {
                grace_period: Some(DurationInfo {
                    nanoseconds: g.as_nanos() as i64,
                }),
            }),
        };
        caller
            .call(Call {
                r#type: Some(call::Type::Kill as i32),
                kill: Some(kill),
                ..Default::default()
            })
            .await?;
        self.inner.kills.lock().insert(task_id.to_string(), now);
        Ok(())
    }

    /// The task is over: forget its kill.
    pub(crate) fn forget_kill(&self, task_id: &str) {
        self.inner.kills.lock().remove(task_id);
    }
}
