//! The local master's event loop: one tokio task owns all master and agent state and handles
//! scheduler calls, process exits and timers in batches.
//!
//! After each batch it makes offers if anything changed, syncs the agents' checkpoint logs
//! once, and only then releases the batch's events to the frameworks, so a framework never
//! hears of a launch or a status that a crash could forget.

use std::collections::{HashMap, HashSet};
use std::future::poll_fn;
use std::io;
use std::net::Ipv4Addr;
use std::process::ExitStatus;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_util::time::DelayQueue;
use uuid::Uuid;

use crate::protos::pacer::checkpoint::{Record, record};
use crate::transport::{Connection, TransportError};
use crate::v1::framework_info::capability::Type as Capability;
use crate::v1::scheduler::{Call, Event};
use crate::v1::{Address, FrameworkInfo, MasterInfo};

use super::LocalError;
use super::agent::{self, Agent};
use super::config::{LocalMasterConfig, os_hostname};
use super::executor::{self, Outcome};
use super::framework::Framework;
use super::health::Checks;
use super::offers::{Allocator, Candidate};
use super::partition::{AgentReply, AgentRequest, Partition};
use super::recovery;
use super::task_group::{Executor, ExecutorKey};
use super::tasks::{Task, TaskKey};

/// Calls handled per batch before the checkpoint sync and event release.
const MAX_BATCH: usize = 1024;
/// A log is compacted when it holds this many records more than the live state needs.
const COMPACT_AFTER: u64 = 50_000;

/// What the master's handles send to its loop.
pub(crate) enum Command {
    Subscribe {
        info: Box<FrameworkInfo>,
        reply: oneshot::Sender<Result<Connection, TransportError>>,
    },
    Call {
        framework_id: String,
        stream_id: Uuid,
        call: Box<Call>,
        reply: oneshot::Sender<Result<(), TransportError>>,
    },
    /// A scheduler dropped its event receiver.
    StreamClosed {
        framework_id: String,
        stream_id: Uuid,
    },
    Shutdown {
        reply: oneshot::Sender<()>,
    },
    /// An operator action on the agents (`partition`).
    Agents {
        request: AgentRequest,
        reply: AgentReply,
    },
}

/// Deadlines the loop waits for.
pub(super) enum Timer {
    RetryUpdate { key: TaskKey, generation: u64 },
    EscalateKill { key: TaskKey, pid: u32 },
    FailoverTimeout { framework_id: String, epoch: u64 },
    FiltersExpired,
    PollAdopted,
    AgentUnreachable { agent: usize, epoch: u64 },
}

/// A child process of ours ended.
pub(super) struct Exit {
    pub key: TaskKey,
    pub pid: u32,
    pub status: io::Result<ExitStatus>,
}

pub(crate) struct Master {
    pub(super) id: String,
    pub(super) info: MasterInfo,
    pub(super) heartbeat: Duration,
    pub(super) retry_interval: Duration,
    /// For handing to subscriptions (their pumps report closed streams here).
    pub(super) tx: mpsc::Sender<Command>,
    pub(super) frameworks: HashMap<String, Framework>,
    pub(super) removed_frameworks: HashSet<String>,
    pub(super) next_framework: u64,
    pub(super) agents: Vec<Agent>,
    pub(super) tasks: HashMap<TaskKey, Task>,
    /// The executors of task groups, while any of their tasks is known.
    pub(super) executors: HashMap<ExecutorKey, Executor>,
    /// Running tasks whose process we did not spawn (recovered), polled for exit.
    pub(super) adopted: HashSet<TaskKey>,
    pub(super) allocator: Allocator,
    pub(super) timers: DelayQueue<Timer>,
    pub(super) exits: JoinSet<Exit>,
    /// Events of the current batch, released after the checkpoint sync.
    pub(super) outbox: Vec<(String, Event)>,
    pub(super) base_env: Arc<Vec<(String, String)>>,
    /// Launch outcomes from the launcher threads.
    pub(super) launched_tx: mpsc::UnboundedSender<Outcome>,
    pub(super) launched_rx: mpsc::UnboundedReceiver<Outcome>,
    pub(super) allocation_needed: bool,
    pub(super) poll_scheduled: bool,
    /// The health checkers of running tasks, reporting through `health.rx`.
    pub(super) health: Checks,
    /// Agents that went away: what the master remembers of their tasks.
    pub(super) partition: Partition,
}

impl Master {
    /// Opens the agents' directories and recovers their checkpointed tasks.
    pub(crate) fn start(config: &LocalMasterConfig) -> Result<(Master, mpsc::Receiver<Command>), LocalError> {
        config.validate().map_err(LocalError::Config)?;
        let id = Uuid::new_v4().to_string();
        let hostname = os_hostname();
        let info = MasterInfo {
            id: id.clone(),
            ip: u32::from_le_bytes(Ipv4Addr::LOCALHOST.octets()),
            port: 5050,
            pid: Some("master@127.0.0.1:5050".to_owned()),
            hostname: Some(hostname.clone()),
            version: Some("1.12.0".to_owned()),
            address: Some(Address {
                hostname: Some(hostname),
                ip: Some("127.0.0.1".to_owned()),
                port: 5050,
            }),
            ..Default::default()
        };
        let (tx, rx) = mpsc::channel(4096);
        let (launched_tx, launched_rx) = mpsc::unbounded_channel();
        let mut master = Master {
            allocator: Allocator::new(id.clone()),
            id,
            info,
            heartbeat: config.heartbeat_interval,
            retry_interval: config.status_update_retry_interval,
            tx,
            frameworks: HashMap::new(),
            removed_frameworks: HashSet::new(),
            next_framework: 0,
            agents: Vec::new(),
            tasks: HashMap::new(),
            executors: HashMap::new(),
            adopted: HashSet::new(),
            timers: DelayQueue::new(),
            exits: JoinSet::new(),
            outbox: Vec::new(),
            base_env: Arc::new(executor::inherited_env()),
            launched_tx,
            launched_rx,
            allocation_needed: false,
            poll_scheduled: false,
            health: Checks::new(),
            partition: Partition::new(config.unreachable_after(), config.agents.len()),
        };
        let names = agent::dir_names(&config.agents);
        let mut replays = Vec::new();
        for (index, (agent_config, name)) in config.agents.iter().zip(names).enumerate() {
            let fresh = || format!("{}-S{index}", Uuid::new_v4());
            let (agent, records) = Agent::open(index, agent_config, config.work_dir.join(name), fresh)?;
            master.agents.push(agent);
            replays.push(recovery::replay(records));
        }
        for (index, replayed) in replays.into_iter().enumerate() {
            master.recover(index, replayed);
        }
        for index in 0..master.agents.len() {
            master.compact(index)?;
        }
        master.restore_presence();
        Ok((master, rx))
    }

    /// Runs until shut down (or until the task running it is aborted, like a crash).
    pub(crate) async fn run(mut self, mut inbox: mpsc::Receiver<Command>) {
        loop {
            let mut shutdown = None;
            tokio::select! {
                command = inbox.recv() => match command {
                    Some(Command::Shutdown { reply }) => shutdown = Some(reply),
                    Some(command) => self.handle(command),
                    None => return,
                },
                Some(outcome) = self.launched_rx.recv() => self.on_outcome(outcome),
                Some(report) = self.health.rx.recv() => self.on_health(report),
                Some(exit) = self.exits.join_next() => {
                    if let Ok(exit) = exit {
                        self.on_exit(exit);
                    }
                }
                Some(expired) = poll_fn(|cx| self.timers.poll_expired(cx)) => self.on_timer(expired.into_inner()),
            }
            // Whatever else is already there joins this batch and shares its checkpoint sync:
            // a thousand launches or exits then cost a few fsyncs, not a thousand.
            for _ in 0..MAX_BATCH {
                if shutdown.is_some() {
                    break;
                }
                let mut progressed = false;
                match inbox.try_recv() {
                    Ok(Command::Shutdown { reply }) => shutdown = Some(reply),
                    Ok(command) => self.handle(command),
                    Err(_) => {}
                }
                if let Ok(outcome) = self.launched_rx.try_recv() {
                    self.on_outcome(outcome);
                    progressed = true;
                }
                if let Ok(report) = self.health.rx.try_recv() {
                    self.on_health(report);
                    progressed = true;
                }
                if let Some(exit) = self.exits.try_join_next() {
                    if let Ok(exit) = exit {
                        self.on_exit(exit);
                    }
                    progressed = true;
                }
                if !progressed && inbox.is_empty() {
                    break;
                }
            }
            self.end_batch();
            if let Some(reply) = shutdown {
                // Dropping the state closes every event stream; task processes keep running
                // (their Child handles are dropped without killing) for the next start to adopt.
                drop(self);
                let _ = reply.send(());
                return;
            }
        }
    }

    fn handle(&mut self, command: Command) {
        match command {
            Command::Subscribe { info, reply } => {
                let result = self.subscribe(*info);
                let _ = reply.send(result);
            }
            Command::Call {
                framework_id,
                stream_id,
                call,
                reply,
            } => {
                let result = self.call(&framework_id, stream_id, *call);
                let _ = reply.send(result);
            }
            Command::StreamClosed {
                framework_id,
                stream_id,
            } => self.stream_closed(&framework_id, stream_id),
            Command::Shutdown { reply } => {
                let _ = reply.send(());
            }
            Command::Agents { request, reply } => {
                let _ = reply.send(self.agent_request(request));
            }
        }
    }

    fn on_timer(&mut self, timer: Timer) {
        match timer {
            Timer::RetryUpdate { key, generation } => self.retry_update(&key, generation),
            Timer::EscalateKill { key, pid } => self.escalate_kill(&key, pid),
            Timer::FailoverTimeout { framework_id, epoch } => self.failover_expired(&framework_id, epoch),
            Timer::FiltersExpired => {
                self.allocator.prune_filters(Instant::now());
                self.allocation_needed = true;
            }
            Timer::PollAdopted => {
                self.poll_scheduled = false;
                self.poll_adopted();
            }
            Timer::AgentUnreachable { agent, epoch } => self.agent_timed_out(agent, epoch),
        }
    }

    fn end_batch(&mut self) {
        if std::mem::take(&mut self.allocation_needed) {
            self.allocate();
        }
        for agent in &mut self.agents {
            if let Err(e) = agent.log.sync() {
                tracing::error!(error = %e, agent = %agent.id, "cannot sync the checkpoint log");
            }
        }
        for (framework_id, event) in self.outbox.drain(..) {
            if let Some(framework) = self.frameworks.get(&framework_id) {
                framework.send(event);
            }
        }
        for index in 0..self.agents.len() {
            if self.agents[index].log.appended() <= COMPACT_AFTER {
                continue;
            }
            let live = self.tasks.values().filter(|t| t.agent == index).count() as u64;
            if self.agents[index].log.appended() > COMPACT_AFTER + 8 * live
                && let Err(e) = self.compact(index)
            {
                tracing::error!(error = %e, "cannot compact the checkpoint log");
            }
        }
    }

    fn allocate(&mut self) {
        let mut ids: Vec<&String> = self
            .frameworks
            .iter()
            .filter(|(_, f)| f.conn.is_some() && !f.suppressed)
            .map(|(id, _)| id)
            .collect();
        ids.sort();
        let candidates: Vec<Candidate<'_>> = ids
            .into_iter()
            .map(|id| Candidate {
                framework_id: id,
                allocation_role: self.frameworks[id].allocation_role(),
                roles: self.frameworks[id].roles(),
                refinement: self.frameworks[id].has(Capability::ReservationRefinement),
            })
            .collect();
        let made = self.allocator.allocate(&candidates, &self.agents, Instant::now());
        let mut by_framework: HashMap<String, Vec<crate::v1::Offer>> = HashMap::new();
        for (fid, offer) in made {
            by_framework.entry(fid).or_default().push(offer);
        }
        for (fid, offers) in by_framework {
            self.outbox.push((fid, super::status::offers_event(offers)));
        }
    }

    /// Rewrites agent `index`'s log as a snapshot of its live tasks.
    fn compact(&mut self, index: usize) -> Result<(), LocalError> {
        let mut keys: Vec<&TaskKey> = self
            .tasks
            .iter()
            .filter(|(_, t)| t.agent == index)
            .map(|(k, _)| k)
            .collect();
        keys.sort();
        let mut records = self.executor_records(index);
        let mut written = HashSet::new();
        for key in keys {
            if written.insert(key.framework_id.clone())
                && let Some(f) = self.frameworks.get(&key.framework_id)
            {
                records.push(Record {
                    record: Some(record::Record::Framework(f.info.clone())),
                });
            }
            records.extend(self.tasks[key].snapshot());
        }
        self.agents[index].compact(records)?;
        Ok(())
    }

    pub(super) fn after(&mut self, delay: Duration, timer: Timer) {
        self.timers.insert(timer, delay);
    }

    /// Queues an event for release at the end of the batch.
    pub(super) fn emit(&mut self, framework_id: &str, event: Event) {
        self.outbox.push((framework_id.to_owned(), event));
    }
}
