//! Rebuilding an agent's tasks from its checkpoint log and from the processes still alive.
//!
//! [`replay`] folds the log into per-task state (pure, unit-tested); [`probe`] asks /proc what
//! became of each task's process: still running with the same start time (re-adopt it), gone
//! (report it failed), or never recorded because the agent died between checkpointing the
//! launch and recording the pid (look for it by its MESOS_SANDBOX).

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use crate::protos::pacer::checkpoint::{ExecutorLaunching, Record, record};
use crate::v1::{FrameworkInfo, TaskInfo, TaskStatus};

use super::executor;
use super::tasks::TaskKey;

#[derive(Debug, Default)]
pub(crate) struct Replayed {
    pub frameworks: HashMap<String, FrameworkInfo>,
    pub removed_frameworks: HashSet<String>,
    /// Task groups' executors, the latest record per framework and executor id (those whose
    /// tasks are all gone included: recovery drops them).
    pub executors: Vec<ExecutorLaunching>,
    /// In launch order.
    pub tasks: Vec<RecoveredTask>,
}

#[derive(Debug, Clone)]
pub(crate) struct RecoveredTask {
    pub key: TaskKey,
    pub info: TaskInfo,
    pub container_id: String,
    /// The executor of a task of a task group.
    pub executor_id: Option<String>,
    /// (pid, start ticks) once the process was recorded.
    pub started: Option<(u32, u64)>,
    pub kill_requested: bool,
    /// Every update generated, in order.
    pub statuses: Vec<TaskStatus>,
    pub acked: HashSet<Vec<u8>>,
}

impl RecoveredTask {
    pub(crate) fn latest(&self) -> Option<&TaskStatus> {
        self.statuses.last()
    }

    pub(crate) fn last_acked(&self) -> Option<&TaskStatus> {
        self.statuses.iter().rev().find(|s| self.acked.contains(s.uuid()))
    }

    pub(crate) fn pending(&self) -> Vec<TaskStatus> {
        self.statuses
            .iter()
            .filter(|s| !self.acked.contains(s.uuid()))
            .cloned()
            .collect()
    }
}

/// Folds checkpoint records, oldest first, into the state they describe.
pub(crate) fn replay(records: Vec<Record>) -> Replayed {
    let mut out = Replayed::default();
    let mut tasks: HashMap<TaskKey, RecoveredTask> = HashMap::new();
    let mut order: Vec<TaskKey> = Vec::new();
    let mut executors: HashMap<(String, String), ExecutorLaunching> = HashMap::new();
    for r in records {
        let Some(r) = r.record else { continue };
        match r {
            record::Record::Framework(info) => {
                if let Some(id) = &info.id {
                    out.removed_frameworks.remove(&id.value);
                    out.frameworks.insert(id.value.clone(), info);
                }
            }
            record::Record::FrameworkRemoved(id) => {
                out.frameworks.remove(&id.value);
                out.removed_frameworks.insert(id.value);
            }
            record::Record::Launching(l) => {
                let key = TaskKey::new(&l.framework_id.value, &l.task.task_id.value);
                order.retain(|k| k != &key);
                order.push(key.clone());
                tasks.insert(
                    key.clone(),
                    RecoveredTask {
                        key,
                        info: l.task,
                        container_id: l.container_id,
                        executor_id: l.executor_id.map(|e| e.value),
                        started: None,
                        kill_requested: false,
                        statuses: Vec::new(),
                        acked: HashSet::new(),
                    },
                );
            }
            record::Record::Started(s) => {
                if let Some(t) = tasks.get_mut(&key_of(&s.task)) {
                    t.started = Some((s.pid, s.start_ticks));
                }
            }
            record::Record::KillRequested(k) => {
                if let Some(t) = tasks.get_mut(&key_of(&k)) {
                    t.kill_requested = true;
                }
            }
            record::Record::Update(u) => {
                if let Some(t) = tasks.get_mut(&TaskKey::new(&u.framework_id.value, &u.status.task_id.value)) {
                    t.statuses.push(u.status);
                }
            }
            record::Record::Ack(a) => {
                if let Some(t) = tasks.get_mut(&key_of(&a.task)) {
                    t.acked.insert(a.uuid);
                }
            }
            record::Record::Removed(k) => {
                let key = key_of(&k);
                tasks.remove(&key);
                order.retain(|o| o != &key);
            }
            record::Record::ExecutorLaunching(e) => {
                let key = (e.framework_id.value.clone(), e.executor.executor_id.value.clone());
                executors.insert(key, e);
            }
        }
    }
    out.tasks = order.into_iter().filter_map(|k| tasks.remove(&k)).collect();
    let mut executors: Vec<((String, String), ExecutorLaunching)> = executors.into_iter().collect();
    executors.sort_by(|a, b| a.0.cmp(&b.0));
    out.executors = executors.into_iter().map(|(_, e)| e).collect();
    out
}

fn key_of(k: &crate::protos::pacer::checkpoint::TaskKey) -> TaskKey {
    TaskKey::new(&k.framework_id.value, &k.task_id.value)
}

/// What became of a recovered task's process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fate {
    /// Still running; `found_by_scan` when its pid was never checkpointed.
    Alive {
        pid: u32,
        start_ticks: u64,
        found_by_scan: bool,
    },
    /// Its recorded process is gone.
    Gone,
    /// The launch was checkpointed but no process of it exists.
    NeverStarted,
}

/// `running` is [`executor::processes_by_sandbox`], computed on first need.
pub(crate) fn probe(task: &RecoveredTask, sandbox: &Path, running: &mut Option<HashMap<PathBuf, (u32, u64)>>) -> Fate {
    match task.started {
        Some((pid, start_ticks)) if executor::is_alive(pid, start_ticks) => Fate::Alive {
            pid,
            start_ticks,
            found_by_scan: false,
        },
        Some(_) => Fate::Gone,
        None => match running
            .get_or_insert_with(executor::processes_by_sandbox)
            .get(sandbox)
            .copied()
        {
            Some((pid, start_ticks)) => Fate::Alive {
                pid,
                start_ticks,
                found_by_scan: true,
            },
            None => Fate::NeverStarted,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protos::pacer::checkpoint::{TaskAck, TaskLaunching, TaskStarted, TaskUpdate};
    use crate::v1::{FrameworkId, TaskId, TaskState};

    fn rec(r: record::Record) -> Record {
        Record { record: Some(r) }
    }

    fn launching(task: &str) -> Record {
        rec(record::Record::Launching(TaskLaunching {
            framework_id: FrameworkId { value: "fw".into() },
            task: TaskInfo {
                task_id: TaskId { value: task.into() },
                ..Default::default()
            },
            container_id: format!("c-{task}"),
            executor_id: None,
        }))
    }

    fn update(task: &str, state: TaskState, uuid: u8) -> Record {
        rec(record::Record::Update(TaskUpdate {
            framework_id: FrameworkId { value: "fw".into() },
            status: TaskStatus {
                task_id: TaskId { value: task.into() },
                state: state as i32,
                uuid: Some(vec![uuid]),
                ..Default::default()
            },
        }))
    }

    fn ack(task: &str, uuid: u8) -> Record {
        rec(record::Record::Ack(TaskAck {
            task: TaskKey::new("fw", task).record(),
            uuid: vec![uuid],
        }))
    }

    #[test]
    fn replay_keeps_pending_updates_and_drops_removed_tasks() {
        let framework = FrameworkInfo {
            id: Some(FrameworkId { value: "fw".into() }),
            ..Default::default()
        };
        let records = vec![
            rec(record::Record::Framework(framework.clone())),
            launching("a"),
            launching("b"),
            rec(record::Record::Started(TaskStarted {
                task: TaskKey::new("fw", "a").record(),
                pid: 42,
                start_ticks: 7,
            })),
            update("a", TaskState::TaskStarting, 1),
            update("a", TaskState::TaskRunning, 2),
            ack("a", 1),
            update("b", TaskState::TaskFailed, 3),
            ack("b", 3),
            rec(record::Record::Removed(TaskKey::new("fw", "b").record())),
            rec(record::Record::KillRequested(TaskKey::new("fw", "a").record())),
        ];
        let replayed = replay(records);
        assert_eq!(replayed.frameworks.get("fw"), Some(&framework));
        assert_eq!(replayed.tasks.len(), 1);
        let a = &replayed.tasks[0];
        assert_eq!(a.started, Some((42, 7)));
        assert!(a.kill_requested);
        assert_eq!(a.latest().unwrap().state(), TaskState::TaskRunning);
        assert_eq!(a.last_acked().unwrap().state(), TaskState::TaskStarting);
        assert_eq!(a.pending().len(), 1);
        assert_eq!(a.pending()[0].uuid(), &[2]);
    }

    #[test]
    fn replay_keeps_task_groups_executors_and_membership() {
        use crate::protos::pacer::checkpoint::ExecutorLaunching;
        use crate::v1::{ExecutorId, ExecutorInfo};
        let executor = |container: &str| {
            rec(record::Record::ExecutorLaunching(ExecutorLaunching {
                framework_id: FrameworkId { value: "fw".into() },
                executor: ExecutorInfo {
                    executor_id: ExecutorId { value: "e".into() },
                    ..Default::default()
                },
                container_id: container.into(),
            }))
        };
        let mut member = launching("in-group");
        if let Some(record::Record::Launching(l)) = &mut member.record {
            l.executor_id = Some(ExecutorId { value: "e".into() });
        }
        // A later record of the same executor (a compacted log rewritten) replaces the first.
        let replayed = replay(vec![executor("c1"), member, launching("alone"), executor("c2")]);
        assert_eq!(replayed.executors.len(), 1);
        assert_eq!(replayed.executors[0].container_id, "c2");
        assert_eq!(replayed.tasks[0].executor_id.as_deref(), Some("e"));
        assert_eq!(replayed.tasks[1].executor_id, None);
    }

    #[test]
    fn a_removed_framework_stays_removed_until_it_is_written_again() {
        let id = FrameworkId { value: "fw".into() };
        let framework = FrameworkInfo {
            id: Some(id.clone()),
            ..Default::default()
        };
        let replayed = replay(vec![
            rec(record::Record::Framework(framework)),
            rec(record::Record::FrameworkRemoved(id)),
            launching("late"),
        ]);
        assert!(replayed.frameworks.is_empty());
        assert!(replayed.removed_frameworks.contains("fw"));
        assert_eq!(replayed.tasks.len(), 1);
    }

    #[test]
    fn probing_a_dead_pid_reports_it_gone() {
        let mut task = replay(vec![launching("x")]).tasks.remove(0);
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(probe(&task, dir.path(), &mut None), Fate::NeverStarted);
        let me = std::process::id();
        let ticks = executor::proc_stat(me).unwrap().start_ticks;
        task.started = Some((me, ticks));
        assert!(matches!(
            probe(&task, dir.path(), &mut None),
            Fate::Alive {
                found_by_scan: false,
                ..
            }
        ));
        task.started = Some((me, ticks + 1));
        assert_eq!(probe(&task, dir.path(), &mut None), Fate::Gone);
    }
}

/// Recovery through the whole master, from a hand-written log: the states a crash can leave.
#[cfg(test)]
mod crash_states {
    use std::os::unix::process::CommandExt;
    use std::time::Duration;

    use crate::local::checkpoint::CheckpointLog;
    use crate::local::{AgentConfig, LocalMaster, LocalMasterConfig};
    use crate::protos::pacer::checkpoint::{Record, TaskLaunching, record};
    use crate::v1::scheduler::{Call, call, event};
    use crate::v1::{AgentId, CommandInfo, FrameworkId, FrameworkInfo, TaskId, TaskInfo, TaskState};

    fn launching(task: &str) -> Record {
        Record {
            record: Some(record::Record::Launching(TaskLaunching {
                framework_id: FrameworkId { value: "fw-1".into() },
                task: TaskInfo {
                    name: task.into(),
                    task_id: TaskId { value: task.into() },
                    agent_id: AgentId {
                        value: "agent-1".into(),
                    },
                    command: Some(CommandInfo {
                        value: Some("sleep 600".into()),
                        ..Default::default()
                    }),
                    ..Default::default()
                },
                container_id: format!("c-{task}"),
                executor_id: None,
            })),
        }
    }

    /// The agent died after checkpointing two launches and spawning only the first: the
    /// spawned process is found by its sandbox and adopted, the other is reported failed.
    #[tokio::test]
    async fn a_launch_interrupted_before_its_pid_was_recorded() {
        let dir = tempfile::tempdir().unwrap();
        let agent_dir = dir.path().join("h");
        let meta = agent_dir.join("meta");
        std::fs::create_dir_all(&meta).unwrap();
        std::fs::write(meta.join("agent_id"), "agent-1").unwrap();
        let info = FrameworkInfo {
            user: "root".into(),
            name: "fw".into(),
            id: Some(FrameworkId { value: "fw-1".into() }),
            failover_timeout: Some(3600.0),
            ..Default::default()
        };
        let (mut log, _) = CheckpointLog::open(&meta).unwrap();
        log.append(
            &Record {
                record: Some(record::Record::Framework(info.clone())),
            },
            true,
        )
        .unwrap();
        log.append(&launching("spawned"), true).unwrap();
        log.append(&launching("never"), true).unwrap();
        log.sync().unwrap();
        drop(log);
        let sandbox = agent_dir.join("sandboxes/spawned");
        std::fs::create_dir_all(&sandbox).unwrap();
        let mut orphan = std::process::Command::new("sleep")
            .arg("600")
            .env("MESOS_SANDBOX", &sandbox)
            .process_group(0)
            .spawn()
            .unwrap();
        let pid = orphan.id();
        let guard = scopeguard(pid);

        let mut config = LocalMasterConfig::new(dir.path());
        config.agents = vec![AgentConfig {
            hostname: "h".into(),
            ..AgentConfig::this_machine(dir.path())
        }];
        let master = LocalMaster::start(config).await.unwrap();
        let mut conn = master.transport().subscribe(info).await.unwrap();
        let mut next_update = async || loop {
            let event = tokio::time::timeout(Duration::from_secs(10), conn.events.recv())
                .await
                .unwrap()
                .unwrap();
            if event.r#type() == event::Type::Update {
                return event.update.unwrap().status;
            }
        };
        // Adopted without a checkpointed update: STARTING and RUNNING are generated for it;
        // the other launch failed.
        let mut seen = Vec::new();
        for _ in 0..2 {
            let status = next_update().await;
            seen.push((status.task_id.value.clone(), status.state(), status.message.clone()));
        }
        seen.sort();
        assert_eq!(seen[0].0, "never");
        assert_eq!(seen[0].1, TaskState::TaskFailed);
        assert!(seen[0].2.as_deref().unwrap().contains("never started"), "{seen:?}");
        assert_eq!((seen[1].0.as_str(), seen[1].1), ("spawned", TaskState::TaskStarting));

        let kill = Call {
            r#type: Some(call::Type::Kill as i32),
            kill: Some(call::Kill {
                task_id: TaskId {
                    value: "spawned".into(),
                },
                agent_id: None,
                kill_policy: None,
            }),
            ..Default::default()
        };
        conn.caller.call(kill).await.unwrap();
        // The adopted process is ours to kill: it dies (our own child here, so reap it).
        let status = tokio::task::spawn_blocking(move || orphan.wait())
            .await
            .unwrap()
            .unwrap();
        assert!(!status.success());
        drop(guard);
        master.shutdown().await;
    }

    /// Kills the process group on drop, so a failing test leaves no process behind.
    fn scopeguard(pid: u32) -> impl Drop {
        struct Guard(u32);
        impl Drop for Guard {
            fn drop(&mut self) {
                let _ = nix::sys::signal::killpg(
                    nix::unistd::Pid::from_raw(self.0 as i32),
                    nix::sys::signal::Signal::SIGKILL,
                );
            }
        }
        Guard(pid)
    }
}
