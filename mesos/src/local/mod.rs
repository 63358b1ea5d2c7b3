//! The embedded local Mesos master and agents: Pacer's equivalent of `mesos-local`.
//!
//! [`LocalMaster`] speaks the v1 scheduler protocol through the same [`Transport`] a real
//! master is reached by, and runs tasks as real processes on this machine: each in its own
//! process group and sandbox (`<work_dir>/<agent>/sandboxes/<task_id>/` with `stdout` and
//! `stderr`), checkpointed in `<work_dir>/<agent>/meta/` so that a new `LocalMaster` on the
//! same work directory re-adopts them after a shutdown or a crash. Task groups (LAUNCH_GROUP,
//! Marathon's pods) run as under Mesos's default executor: started together, sharing their
//! executor's sandbox volumes, and killed together when one fails (see `task_group`). Tasks with a
//! `health_check` are health checked (command, HTTP(S) or TCP) as Mesos's command executor
//! does, and killed after too many consecutive failures. [`LocalMaster::http_api`] serves the
//! same master to frameworks elsewhere over Mesos's HTTP API.
//!
//! ```no_run
//! # async fn example() -> Result<(), Box<dyn std::error::Error>> {
//! use mesos::local::{LocalMaster, LocalMasterConfig};
//! use mesos::v1::FrameworkInfo;
//!
//! let master = LocalMaster::start(LocalMasterConfig::new("/var/lib/pacer/mesos")).await?;
//! let info = FrameworkInfo { user: "root".into(), name: "pacer".into(), ..Default::default() };
//! let mut connection = master.transport().subscribe(info).await?;
//! while let Some(event) = connection.events.recv().await {
//!     println!("{:?}", event.r#type());
//! }
//! master.shutdown().await;
//! # Ok(()) }
//! ```

mod agent;
mod calls;
mod checkpoint;
mod config;
mod executor;
mod framework;
mod health;
mod http_api;
mod lifecycle;
mod master;
mod offers;
mod operations;
mod operator;
mod partition;
mod persistent;
mod presence;
mod range_set;
mod recovery;
mod reservations;
mod resources;
mod status;
mod task_group;
mod tasks;
mod transport;

use std::path::PathBuf;
use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

pub use config::{AgentConfig, AgentResources, AttributeValue, LocalMasterConfig, os_hostname};
pub use operator::LocalAgents;
pub use partition::AgentError;
pub use presence::{AgentState, AgentStatus};

use crate::transport::Transport;
use master::{Command, Master};

/// Why the local master could not start.
#[derive(Debug, thiserror::Error)]
pub enum LocalError {
    /// The configuration cannot be run (no agents, zero intervals).
    #[error("invalid local master configuration: {0}")]
    Config(String),
    /// The work directory or an agent's checkpoint could not be read or written.
    #[error("local agent storage failed on {}", path.display())]
    Storage {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl From<checkpoint::CheckpointError> for LocalError {
    fn from(e: checkpoint::CheckpointError) -> Self {
        LocalError::Storage {
            path: e.path,
            source: e.source,
        }
    }
}

/// A running local master with its agents.
///
/// Dropping it without [`LocalMaster::shutdown`] stops it abruptly, like a crash: nothing
/// more is written, and task processes keep running for the next start to re-adopt.
pub struct LocalMaster {
    commands: mpsc::Sender<Command>,
    task: Option<JoinHandle<()>>,
    agent_dirs: Vec<PathBuf>,
}

impl LocalMaster {
    /// Starts the master and its agents, recovering the tasks checkpointed in `work_dir`.
    pub async fn start(config: LocalMasterConfig) -> Result<LocalMaster, LocalError> {
        let (master, inbox) = Master::start(&config)?;
        let commands = master.tx.clone();
        let agent_dirs = master.agents.iter().map(|a| a.dir.clone()).collect();
        let task = tokio::spawn(master.run(inbox));
        Ok(LocalMaster {
            commands,
            task: Some(task),
            agent_dirs,
        })
    }

    /// Subscribes frameworks in-process.
    pub fn transport(&self) -> Arc<dyn Transport> {
        transport::transport(self.commands.clone())
    }

    /// `/api/v1/scheduler` over HTTP for this master, to serve on a listener of the caller's,
    /// with the operator endpoints of its agents (see [`LocalAgents`]).
    pub fn http_api(&self) -> axum::Router {
        http_api::router(self.transport()).merge(operator::router(self.agents()))
    }

    /// Operator actions on the agents: make one go away, come back, or mark it gone.
    pub fn agents(&self) -> LocalAgents {
        LocalAgents {
            commands: self.commands.clone(),
        }
    }

    /// The sandbox of a task (holding its `stdout` and `stderr`), if one exists on any agent.
    pub fn sandbox_dir(&self, task_id: &str) -> Option<PathBuf> {
        agent::valid_task_id(task_id).ok()?;
        self.agent_dirs
            .iter()
            .map(|dir| agent::sandbox_of(dir, task_id))
            .find(|p| p.is_dir())
    }

    /// The sandbox of a task group's executor (its shared volumes, and a `tasks/<task_id>` link
    /// to each task's sandbox), if one exists on any agent.
    pub fn executor_sandbox_dir(&self, executor_id: &str) -> Option<PathBuf> {
        agent::valid_task_id(executor_id).ok()?;
        self.agent_dirs
            .iter()
            .map(|dir| dir.join("executors").join(executor_id))
            .find(|p| p.is_dir())
    }

    /// Stops the master cleanly: checkpoints are synced and every event stream ends. Task
    /// processes keep running; the next start on the same work directory re-adopts them.
    pub async fn shutdown(mut self) {
        let (reply, done) = oneshot::channel();
        if self.commands.send(Command::Shutdown { reply }).await.is_ok() {
            let _ = done.await;
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for LocalMaster {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}
