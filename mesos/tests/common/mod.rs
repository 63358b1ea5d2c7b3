//! Shared helpers for the local master's integration tests: a tiny scheduler driving a
//! [`Connection`], task builders, and a guard that kills every process group a test started.

#![allow(dead_code, unreachable_pub)]

pub mod group;

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use mesos::local::{AgentConfig, AgentResources, AttributeValue, LocalMaster, LocalMasterConfig};
use mesos::v1::scheduler::{Call, Event, call, event};
use mesos::v1::{
    AgentId, CommandInfo, DurationInfo, Environment, Filters, FrameworkId, FrameworkInfo, KillPolicy, Offer, OfferId,
    Resource, TaskId, TaskInfo, TaskState, TaskStatus, environment, framework_info, offer, value,
};
use mesos::{Caller, Connection, Transport, TransportError};
use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;

pub const WAIT: Duration = Duration::from_secs(20);

/// Kills, on drop, every process group registered with it (tests must leave no process).
#[derive(Clone, Default)]
pub struct Reaper(Arc<Mutex<Vec<u32>>>);

impl Reaper {
    pub fn watch(&self, pid: u32) {
        self.0.lock().unwrap().push(pid);
    }
}

impl Drop for Reaper {
    fn drop(&mut self) {
        if Arc::strong_count(&self.0) == 1 {
            for pid in self.0.lock().unwrap().iter() {
                let _ = killpg(Pid::from_raw(*pid as i32), Signal::SIGKILL);
            }
        }
    }
}

/// On drop, kills every process group whose leader's MESOS_SANDBOX lies under the directory:
/// the tasks of a master this test could not ask (a child process that failed).
pub struct Sweep(pub std::path::PathBuf);

impl Drop for Sweep {
    fn drop(&mut self) {
        let prefix = format!("MESOS_SANDBOX={}", self.0.display());
        let Ok(entries) = std::fs::read_dir("/proc") else {
            return;
        };
        for entry in entries.flatten() {
            let Some(pid) = entry.file_name().to_str().and_then(|n| n.parse::<i32>().ok()) else {
                continue;
            };
            let Ok(environ) = std::fs::read(format!("/proc/{pid}/environ")) else {
                continue;
            };
            if environ.split(|b| *b == 0).any(|v| v.starts_with(prefix.as_bytes())) {
                let _ = killpg(Pid::from_raw(pid), Signal::SIGKILL);
            }
        }
    }
}

/// Whether any non-zombie process is still in process group `pgid`.
pub fn group_alive(pgid: u32) -> bool {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return false;
    };
    entries.flatten().any(|e| {
        let Some(pid) = e.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else {
            return false;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            return false;
        };
        let Some(rest) = stat.rfind(')').map(|i| &stat[i + 1..]) else {
            return false;
        };
        let fields: Vec<&str> = rest.split_whitespace().collect();
        fields.len() > 2 && fields[0] != "Z" && fields[2] == pgid.to_string()
    })
}

pub async fn wait_until(what: &str, mut check: impl FnMut() -> bool) -> Result<()> {
    let deadline = tokio::time::Instant::now() + WAIT;
    while !check() {
        if tokio::time::Instant::now() > deadline {
            bail!("timed out waiting until {what}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(())
}

pub fn agent_config(hostname: &str) -> AgentConfig {
    AgentConfig {
        hostname: hostname.into(),
        attributes: vec![("rack".into(), AttributeValue::Text("r1".into()))],
        resources: AgentResources {
            cpus: 8.0,
            mem: 8192.0,
            disk: 1000.0,
            gpus: 0.0,
            ports: vec![(31000, 31100)],
        },
        ip: "127.0.0.1".parse().unwrap(),
        role: None,
    }
}

pub fn config(dir: &Path) -> LocalMasterConfig {
    LocalMasterConfig {
        work_dir: dir.to_owned(),
        agents: vec![agent_config("test-host")],
        heartbeat_interval: Duration::from_secs(15),
        status_update_retry_interval: Duration::from_secs(10),
        ..LocalMasterConfig::new(dir)
    }
}

pub fn framework(
    name: &str,
    capabilities: &[framework_info::capability::Type],
    failover_timeout: f64,
) -> FrameworkInfo {
    FrameworkInfo {
        user: "root".into(),
        name: name.into(),
        failover_timeout: Some(failover_timeout),
        checkpoint: Some(true),
        capabilities: capabilities
            .iter()
            .map(|c| framework_info::Capability {
                r#type: Some(*c as i32),
            })
            .collect(),
        roles: vec!["*".into()],
        ..Default::default()
    }
}

pub fn scalar(name: &str, v: f64) -> Resource {
    Resource {
        name: name.into(),
        r#type: value::Type::Scalar as i32,
        scalar: Some(value::Scalar { value: v }),
        ..Default::default()
    }
}

/// A task running `/bin/sh -c <shell>`.
pub fn shell_task(id: &str, agent_id: &str, shell: &str) -> TaskInfo {
    TaskInfo {
        name: id.into(),
        task_id: TaskId { value: id.into() },
        agent_id: AgentId { value: agent_id.into() },
        resources: vec![scalar("cpus", 0.01), scalar("mem", 1.0)],
        command: Some(CommandInfo {
            value: Some(shell.into()),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// A task executing `argv[0]` directly (shell=false), as Marathon's `args` does.
pub fn exec_task(id: &str, agent_id: &str, argv: &[&str]) -> TaskInfo {
    TaskInfo {
        command: Some(CommandInfo {
            value: Some(argv[0].into()),
            shell: Some(false),
            arguments: argv.iter().map(|a| (*a).to_owned()).collect(),
            ..Default::default()
        }),
        ..shell_task(id, agent_id, "unused")
    }
}

pub fn with_env(mut task: TaskInfo, vars: &[(&str, &str)]) -> TaskInfo {
    let command = task.command.as_mut().unwrap();
    command.environment = Some(Environment {
        variables: vars
            .iter()
            .map(|(k, v)| environment::Variable {
                name: (*k).into(),
                value: Some((*v).into()),
                ..Default::default()
            })
            .collect(),
    });
    task
}

pub fn with_grace(mut task: TaskInfo, grace: Duration) -> TaskInfo {
    task.kill_policy = Some(KillPolicy {
        grace_period: Some(DurationInfo {
            nanoseconds: grace.as_nanos() as i64,
        }),
    });
    task
}

/// A scheduler on one subscription.
pub struct Sched {
    pub events: tokio::sync::mpsc::Receiver<Event>,
    pub caller: Caller,
    pub framework_id: String,
    pub reaper: Reaper,
    /// Offers that arrived while waiting for something else.
    pub offers: Vec<Offer>,
    /// Acknowledged updates of other tasks seen by [`Sched::await_state`].
    pub seen: Vec<TaskStatus>,
}

impl Sched {
    pub async fn subscribe(transport: &Arc<dyn Transport>, info: FrameworkInfo, reaper: &Reaper) -> Result<Sched> {
        let Connection { mut events, caller } = transport.subscribe(info).await?;
        let first = tokio::time::timeout(WAIT, events.recv())
            .await?
            .context("stream ended before SUBSCRIBED")?;
        if first.r#type() != event::Type::Subscribed {
            bail!("first event was {:?}", first);
        }
        let framework_id = first.subscribed.unwrap().framework_id.value;
        Ok(Sched {
            events,
            caller,
            framework_id,
            reaper: reaper.clone(),
            offers: Vec::new(),
            seen: Vec::new(),
        })
    }

    /// The next event other than HEARTBEAT.
    pub async fn next(&mut self) -> Result<Event> {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let event = tokio::time::timeout_at(deadline, self.events.recv())
                .await
                .map_err(|_| anyhow!("no event within {WAIT:?}"))?
                .ok_or_else(|| anyhow!("event stream ended"))?;
            if event.r#type() != event::Type::Heartbeat {
                return Ok(event);
            }
        }
    }

    pub async fn next_offers(&mut self) -> Result<Vec<Offer>> {
        if !self.offers.is_empty() {
            return Ok(std::mem::take(&mut self.offers));
        }
        loop {
            let event = self.next().await?;
            if event.r#type() == event::Type::Offers {
                return Ok(event.offers.unwrap().offers);
            }
        }
    }

    /// The next UPDATE (offers in between are ignored); remembers task pids for the reaper.
    pub async fn next_update(&mut self) -> Result<TaskStatus> {
        loop {
            let event = self.next().await?;
            match event.r#type() {
                event::Type::Update => {
                    let status = event.update.unwrap().status;
                    if let Some(pid) = status.container_status.as_ref().and_then(|c| c.executor_pid) {
                        self.reaper.watch(pid);
                    }
                    return Ok(status);
                }
                event::Type::Offers => self.offers.extend(event.offers.unwrap().offers),
                event::Type::Rescind => {
                    let id = event.rescind.unwrap().offer_id;
                    self.offers.retain(|o| o.id != id);
                }
                other => bail!("unexpected {other:?} event: {event:?}"),
            }
        }
    }

    /// Waits for an update of `task_id` in `state`, acknowledging every update on the way
    /// (and remembering those of other tasks for later calls).
    pub async fn await_state(&mut self, task_id: &str, state: TaskState) -> Result<TaskStatus> {
        if let Some(i) = self
            .seen
            .iter()
            .position(|s| s.task_id.value == task_id && s.state() == state)
        {
            return Ok(self.seen.remove(i));
        }
        loop {
            let status = self.next_update().await?;
            self.ack(&status).await?;
            if status.task_id.value != task_id {
                self.seen.push(status);
                continue;
            }
            if status.task_id.value == task_id && status.state() == state {
                return Ok(status);
            }
            if status.task_id.value == task_id && is_terminal(status.state()) {
                bail!(
                    "task {task_id} ended in {:?} ({:?}) while waiting for {state:?}",
                    status.state(),
                    status.message
                );
            }
        }
    }

    pub async fn call(&self, call: Call) -> Result<(), TransportError> {
        self.caller.call(call).await
    }

    pub async fn ack(&self, status: &TaskStatus) -> Result<()> {
        let Some(uuid) = status.uuid.clone() else {
            return Ok(());
        };
        self.call(Call {
            r#type: Some(call::Type::Acknowledge as i32),
            acknowledge: Some(call::Acknowledge {
                agent_id: status.agent_id.clone().unwrap(),
                task_id: status.task_id.clone(),
                uuid,
            }),
            ..Default::default()
        })
        .await?;
        Ok(())
    }

    pub async fn launch(&self, offers: &[&Offer], tasks: Vec<TaskInfo>, refuse_seconds: Option<f64>) -> Result<()> {
        self.call(Call {
            r#type: Some(call::Type::Accept as i32),
            accept: Some(call::Accept {
                offer_ids: offers.iter().map(|o| o.id.clone()).collect(),
                operations: vec![offer::Operation {
                    r#type: Some(offer::operation::Type::Launch as i32),
                    launch: Some(offer::operation::Launch { task_infos: tasks }),
                    ..Default::default()
                }],
                filters: refuse_seconds.map(|s| Filters {
                    refuse_seconds: Some(s),
                }),
            }),
            ..Default::default()
        })
        .await?;
        Ok(())
    }

    pub async fn decline(&self, offer_ids: Vec<OfferId>, refuse_seconds: f64) -> Result<()> {
        self.call(Call {
            r#type: Some(call::Type::Decline as i32),
            decline: Some(call::Decline {
                offer_ids,
                filters: Some(Filters {
                    refuse_seconds: Some(refuse_seconds),
                }),
            }),
            ..Default::default()
        })
        .await?;
        Ok(())
    }

    pub async fn simple(&self, ty: call::Type) -> Result<(), TransportError> {
        self.call(Call {
            r#type: Some(ty as i32),
            ..Default::default()
        })
        .await
    }

    pub async fn kill(&self, task_id: &str) -> Result<()> {
        self.call(Call {
            r#type: Some(call::Type::Kill as i32),
            kill: Some(call::Kill {
                task_id: TaskId { value: task_id.into() },
                agent_id: None,
                kill_policy: None,
            }),
            ..Default::default()
        })
        .await?;
        Ok(())
    }

    pub async fn reconcile(&self, task_ids: &[&str]) -> Result<()> {
        self.call(Call {
            r#type: Some(call::Type::Reconcile as i32),
            reconcile: Some(call::Reconcile {
                tasks: task_ids
                    .iter()
                    .map(|t| call::reconcile::Task {
                        task_id: TaskId { value: (*t).into() },
                        agent_id: None,
                    })
                    .collect(),
            }),
            ..Default::default()
        })
        .await?;
        Ok(())
    }

    pub fn framework_id(&self) -> FrameworkId {
        FrameworkId {
            value: self.framework_id.clone(),
        }
    }
}

pub fn is_terminal(state: TaskState) -> bool {
    matches!(
        state,
        TaskState::TaskFinished
            | TaskState::TaskFailed
            | TaskState::TaskKilled
            | TaskState::TaskError
            | TaskState::TaskLost
            | TaskState::TaskDropped
            | TaskState::TaskGone
    )
}

pub fn pid_of(status: &TaskStatus) -> u32 {
    status
        .container_status
        .as_ref()
        .and_then(|c| c.executor_pid)
        .expect("status carries the executor pid")
}

/// Starts a master on `dir` and a scheduler subscribed to it, with its first offer.
pub async fn master_with_offer(
    dir: &Path,
    info: FrameworkInfo,
    reaper: &Reaper,
) -> Result<(LocalMaster, Sched, Offer)> {
    let master = LocalMaster::start(config(dir)).await?;
    let mut sched = Sched::subscribe(&master.transport(), info, reaper).await?;
    let offer = sched.next_offers().await?.remove(0);
    Ok((master, sched, offer))
}
