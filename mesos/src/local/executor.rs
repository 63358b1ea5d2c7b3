//! The agent's command executor: runs a TaskInfo's CommandInfo as a real process in its own
//! process group and sandbox, signals that group, and inspects processes through /proc.
//!
//! As Mesos does, `shell=true` (the proto2 default) runs `/bin/sh -c <value>`, and
//! `shell=false` executes `value` directly with `arguments` as the whole argv (argv[0]
//! included), so no shell is started unless the CommandInfo asks for one. The task's
//! environment is a small inherited base (PATH, HOME, ...) plus the CommandInfo's variables
//! plus the `MESOS_*` variables of a Mesos command executor; the server's other variables do
//! not leak into tasks.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::fs::{self, File};
use std::io;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex};

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;

use tokio::sync::mpsc;

use crate::v1::{CommandInfo, TaskInfo, container_info, environment};

use super::task_group::volumes::{self, Mount};
use super::tasks::TaskKey;

/// Why a task's process could not be started.
#[derive(Debug, thiserror::Error)]
pub(crate) enum LaunchError {
    /// The sandbox directory or its stdout/stderr files could not be created.
    #[error("cannot prepare the sandbox {}: {source}", path.display())]
    Sandbox {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// fork/exec failed (for instance, the executable does not exist).
    #[error("cannot start the command: {0}")]
    Spawn(#[source] io::Error),
    /// The TaskInfo has no command to run.
    #[error("the task has no command")]
    NoCommand,
    /// A task group's executor sandbox or volumes could not be made.
    #[error("cannot prepare the volumes of {}: {source}", path.display())]
    Volumes {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// Not attempted: an earlier task of its group could not be started.
    #[error("not started, since task '{0}' of its group failed to launch")]
    GroupAborted(String),
}

/// Variables inherited from the server's environment; everything else stays private to it.
const INHERITED: [&str; 7] = ["PATH", "HOME", "USER", "LOGNAME", "LANG", "TZ", "TMPDIR"];
const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// The base environment of every task, read once from the server's environment.
pub(crate) fn inherited_env() -> Vec<(String, String)> {
    let mut env: Vec<(String, String)> = INHERITED
        .iter()
        .filter_map(|k| std::env::var(k).ok().map(|v| ((*k).to_owned(), v)))
        .collect();
    if !env.iter().any(|(k, _)| k == "PATH") {
        env.push(("PATH".to_owned(), DEFAULT_PATH.to_owned()));
    }
    env
}

/// Checks that the local agent can run this task as asked, or says what it cannot do.
pub(crate) fn check_supported(task: &TaskInfo) -> Result<(), String> {
    if task.executor.is_some() {
        return Err("custom executors are not supported by the local agent; use a CommandInfo".into());
    }
    check_runnable(task)?;
    if task.container.as_ref().is_some_and(|c| !c.volumes.is_empty()) {
        return Err("container volumes are not supported by the local agent yet".into());
    }
    Ok(())
}

/// What every task the agent runs itself needs, alone or in a task group (whose volumes and
/// executor are checked with the group): a command it can run as a process on this host.
pub(crate) fn check_runnable(task: &TaskInfo) -> Result<(), String> {
    let Some(command) = &task.command else {
        return Err("Task should have at least one (but not both) of CommandInfo or ExecutorInfo present".into());
    };
    if command.value().is_empty() {
        return Err("the task's CommandInfo has no value".into());
    }
    if !command.uris.is_empty() {
        return Err("fetching CommandInfo.uris is not supported by the local agent yet".into());
    }
    if let Some(env) = &command.environment
        && env
            .variables
            .iter()
            .any(|v| v.r#type() == environment::variable::Type::Secret)
    {
        return Err("secret environment variables are not supported by the local agent".into());
    }
    if let Some(container) = &task.container {
        if container.r#type() == container_info::Type::Docker || container.docker.is_some() {
            return Err("DOCKER containers are not supported by the local agent".into());
        }
        if container.mesos.as_ref().is_some_and(|m| m.image.is_some()) {
            return Err("container images are not supported by the local agent".into());
        }
    }
    Ok(())
}

/// One task to start: everything the launch needs, owned, so it can run off the master's loop.
pub(crate) struct LaunchJob {
    pub key: TaskKey,
    pub task: TaskInfo,
    pub agent_id: String,
    pub checkpoint: bool,
    pub sandbox: PathBuf,
    pub base_env: Arc<Vec<(String, String)>>,
    /// Set for a task of a task group.
    pub group: Option<GroupJob>,
    /// The persistent volumes among the task's resources, shown in its sandbox.
    pub volumes: Vec<Mount>,
}

/// What a task of a task group gets besides what a command task gets.
pub(crate) struct GroupJob {
    pub executor_id: String,
    pub executor_sandbox: PathBuf,
    /// `MESOS_CONTAINER_IP`, which Mesos's default executor sets: the agent's, as the tasks
    /// share the host's network.
    pub container_ip: String,
    pub mounts: Vec<Mount>,
}

/// What the launcher threads start: a command task, or a whole task group.
pub(crate) enum Launch {
    Task(Box<LaunchJob>),
    /// The executor's sandbox and volumes, then its tasks in order; a task that fails to start
    /// stops the rest, since the group runs whole or not at all.
    Group {
        sandbox: PathBuf,
        mounts: Vec<Mount>,
        tasks: Vec<LaunchJob>,
    },
}

/// A started task process (the leader of its own process group).
pub(crate) struct Launched {
    pub child: tokio::process::Child,
    pub pid: u32,
    pub start_ticks: u64,
}

/// The result of one [`LaunchJob`], sent back to the master's loop.
pub(crate) struct LaunchOutcome {
    pub key: TaskKey,
    pub result: Result<Launched, LaunchError>,
}

/// The result of one [`Launch`].
pub(crate) enum Outcome {
    Task(Box<LaunchOutcome>),
    /// One per task, in the group's order.
    Group(Vec<LaunchOutcome>),
}

/// Launches `jobs` on a few blocking threads (creating sandboxes and forking cost kernel
/// time, which a second core halves), streaming each outcome to `outcomes` as it happens.
/// If the master is gone the remaining jobs are not started; they were checkpointed, so the
/// next start reports them.
pub(crate) fn launch_all(jobs: Vec<Launch>, outcomes: mpsc::UnboundedSender<Outcome>) {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let workers = jobs.len().div_ceil(16).clamp(1, cores.min(4));
    let queue = Arc::new(Mutex::new(VecDeque::from(jobs)));
    for _ in 0..workers {
        let queue = Arc::clone(&queue);
        let outcomes = outcomes.clone();
        tokio::task::spawn_blocking(move || {
            let mut programs = HashMap::new();
            loop {
                let job = match queue.lock() {
                    Ok(mut queue) => queue.pop_front(),
                    Err(_) => None,
                };
                let outcome = match job {
                    None => break,
                    Some(Launch::Task(job)) => {
                        let result = launch(&job, &mut programs);
                        Outcome::Task(Box::new(LaunchOutcome { key: job.key, result }))
                    }
                    Some(Launch::Group { sandbox, mounts, tasks }) => {
                        Outcome::Group(launch_group(&sandbox, &mounts, tasks, &mut programs))
                    }
                };
                if outcomes.send(outcome).is_err() {
                    break;
                }
            }
        });
    }
}

fn launch_group(
    sandbox: &Path,
    mounts: &[Mount],
    tasks: Vec<LaunchJob>,
    programs: &mut HashMap<String, PathBuf>,
) -> Vec<LaunchOutcome> {
    let executor_failed = fs::create_dir_all(sandbox)
        .and_then(|()| volumes::prepare(sandbox, sandbox, mounts))
        .err();
    // The first task that failed: nothing after it is started.
    let mut failed: Option<String> = None;
    let mut out = Vec::with_capacity(tasks.len());
    for job in tasks {
        let result = if let Some(e) = &executor_failed {
            Err(LaunchError::Volumes {
                path: sandbox.to_owned(),
                source: io::Error::new(e.kind(), e.to_string()),
            })
        } else if let Some(task) = &failed {
            Err(LaunchError::GroupAborted(task.clone()))
        } else {
            launch(&job, programs)
        };
        if result.is_err() && failed.is_none() {
            failed = Some(job.key.task_id.clone());
        }
        out.push(LaunchOutcome { key: job.key, result });
    }
    out
}

/// Creates the sandbox (`stdout`, `stderr` inside) and starts the task's command in it.
fn launch(job: &LaunchJob, programs: &mut HashMap<String, PathBuf>) -> Result<Launched, LaunchError> {
    let command = job.task.command.as_ref().ok_or(LaunchError::NoCommand)?;
    let sandbox_err = |source| LaunchError::Sandbox {
        path: job.sandbox.clone(),
        source,
    };
    fs::create_dir_all(&job.sandbox).map_err(sandbox_err)?;
    let stdout = File::create(job.sandbox.join("stdout")).map_err(sandbox_err)?;
    let stderr = File::create(job.sandbox.join("stderr")).map_err(sandbox_err)?;
    if !job.volumes.is_empty() {
        volumes::prepare(&job.sandbox, &job.sandbox, &job.volumes).map_err(|source| LaunchError::Volumes {
            path: job.sandbox.clone(),
            source,
        })?;
    }
    if let Some(group) = &job.group {
        volumes::prepare(&job.sandbox, &group.executor_sandbox, &group.mounts)
            .and_then(|()| volumes::link_task(&group.executor_sandbox, &job.key.task_id, &job.sandbox))
            .map_err(|source| LaunchError::Volumes {
                path: job.sandbox.clone(),
                source,
            })?;
    }

    let env = task_env(job, command);
    let mut cmd = build_command(command, env.get("PATH").map(String::as_str), programs);
    cmd.env_clear()
        .envs(env)
        .current_dir(&job.sandbox)
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(stderr)
        // Its own group, so a kill reaches the task's children and a signal to the server's
        // group (Ctrl-C) does not reach the task.
        .process_group(0)
        .kill_on_drop(false);
    let child = cmd.spawn().map_err(LaunchError::Spawn)?;
    let pid = child
        .id()
        .ok_or_else(|| LaunchError::Spawn(io::Error::other("the process exited before its pid was read")))?;
    // Right after spawn the process exists (as a zombie at worst), so its start time is there.
    let start_ticks = proc_stat(pid).map_or(0, |s| s.start_ticks);
    Ok(Launched {
        child,
        pid,
        start_ticks,
    })
}

pub(crate) fn build_command(
    command: &CommandInfo,
    path: Option<&str>,
    programs: &mut HashMap<String, PathBuf>,
) -> tokio::process::Command {
    if command.shell() {
        let mut cmd = tokio::process::Command::new("/bin/sh");
        cmd.arg0("sh").arg("-c").arg(command.value());
        cmd
    } else {
        // Resolving the program here (as execvp would) lets std use posix_spawn, much
        // cheaper than fork+exec for a busy server.
        let program = programs
            .entry(command.value().to_owned())
            .or_insert_with(|| resolve_program(command.value(), path.unwrap_or(DEFAULT_PATH)));
        let mut cmd = tokio::process::Command::new(&*program);
        match command.arguments.split_first() {
            Some((argv0, rest)) => {
                cmd.arg0(argv0).args(rest);
            }
            None => {
                cmd.arg0(command.value());
            }
        }
        cmd
    }
}

/// The executable `name` names on `path`, or `name` itself (spawning then reports the error).
fn resolve_program(name: &str, path: &str) -> PathBuf {
    if name.contains('/') {
        return PathBuf::from(name);
    }
    path.split(':')
        .filter(|dir| !dir.is_empty())
        .map(|dir| Path::new(dir).join(name))
        .find(|candidate| fs::metadata(candidate).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0))
        .unwrap_or_else(|| PathBuf::from(name))
}

pub(crate) fn task_env(job: &LaunchJob, command: &CommandInfo) -> BTreeMap<String, String> {
    let mut env: BTreeMap<String, String> = job.base_env.iter().cloned().collect();
    if let Some(vars) = &command.environment {
        for v in &vars.variables {
            env.insert(v.name.clone(), v.value().to_owned());
        }
    }
    let sandbox = job.sandbox.to_string_lossy().into_owned();
    let task_id = job.task.task_id.value.clone();
    let executor_id = job
        .group
        .as_ref()
        .map_or_else(|| task_id.clone(), |g| g.executor_id.clone());
    if let Some(group) = &job.group {
        env.insert("MESOS_CONTAINER_IP".to_owned(), group.container_ip.clone());
    }
    // Set last: recovery finds a half-launched task's process by its MESOS_SANDBOX.
    for (k, v) in [
        ("MESOS_TASK_ID", task_id),
        ("MESOS_EXECUTOR_ID", executor_id),
        ("MESOS_FRAMEWORK_ID", job.key.framework_id.clone()),
        ("MESOS_AGENT_ID", job.agent_id.clone()),
        ("MESOS_SLAVE_ID", job.agent_id.clone()),
        ("MESOS_SANDBOX", sandbox.clone()),
        ("MESOS_DIRECTORY", sandbox),
        ("MESOS_CHECKPOINT", if job.checkpoint { "1" } else { "0" }.to_owned()),
    ] {
        env.insert(k.to_owned(), v);
    }
    env
}

/// Sends `signal` to the process group led by `pid`; false if the group no longer exists.
pub(crate) fn signal_group(pid: u32, signal: Signal) -> bool {
    match i32::try_from(pid) {
        Ok(pgid) if pgid > 1 => killpg(Pid::from_raw(pgid), signal).is_ok(),
        _ => false,
    }
}

/// What /proc says about a process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ProcStat {
    /// Clock ticks after boot when it started; with the pid, it names one process for good.
    pub start_ticks: u64,
    pub zombie: bool,
    pub pgid: i32,
}

pub(crate) fn proc_stat(pid: u32) -> Option<ProcStat> {
    let text = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    parse_stat(&text)
}

fn parse_stat(text: &str) -> Option<ProcStat> {
    // The command name (field 2) may hold spaces and parentheses; fields resume after the last ')'.
    let rest = &text[text.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    Some(ProcStat {
        zombie: matches!(*fields.first()?, "Z" | "X" | "x"),
        pgid: fields.get(2)?.parse().ok()?,
        start_ticks: fields.get(19)?.parse().ok()?,
    })
}

/// Whether the process `pid` that started at `start_ticks` is still running (not a zombie).
pub(crate) fn is_alive(pid: u32, start_ticks: u64) -> bool {
    proc_stat(pid).is_some_and(|s| s.start_ticks == start_ticks && !s.zombie)
}

/// Every live process group leader that has a `MESOS_SANDBOX` variable, by that sandbox:
/// how recovery finds the process of a task whose launch was interrupted before its pid was
/// checkpointed. One pass over /proc, however many tasks are looked for.
pub(crate) fn processes_by_sandbox() -> HashMap<PathBuf, (u32, u64)> {
    const KEY: &[u8] = b"MESOS_SANDBOX=";
    let mut found = HashMap::new();
    let Ok(entries) = fs::read_dir("/proc") else {
        return found;
    };
    for entry in entries.flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else {
            continue;
        };
        let Some(stat) = proc_stat(pid) else { continue };
        if stat.zombie || i64::from(stat.pgid) != i64::from(pid) {
            continue;
        }
        let Ok(environ) = fs::read(format!("/proc/{pid}/environ")) else {
            continue;
        };
        if let Some(var) = environ.split(|&b| b == 0).find(|var| var.starts_with(KEY)) {
            let sandbox = PathBuf::from(String::from_utf8_lossy(&var[KEY.len()..]).into_owned());
            found.insert(sandbox, (pid, stat.start_ticks));
        }
    }
    found
}

/// Mesos's wording for how a command ended.
pub(crate) fn describe_exit(status: &ExitStatus) -> String {
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("Command exited with status {code}"),
        (None, Some(sig)) => format!("Command terminated with signal {}", signal_description(sig)),
        (None, None) => "Command terminated".to_owned(),
    }
}

/// glibc's strsignal() text, which is what Mesos prints ("Terminated", "Killed").
pub(crate) fn signal_description(sig: i32) -> String {
    let text = match Signal::try_from(sig) {
        Ok(Signal::SIGHUP) => "Hangup",
        Ok(Signal::SIGINT) => "Interrupt",
        Ok(Signal::SIGQUIT) => "Quit",
        Ok(Signal::SIGILL) => "Illegal instruction",
        Ok(Signal::SIGTRAP) => "Trace/breakpoint trap",
        Ok(Signal::SIGABRT) => "Aborted",
        Ok(Signal::SIGBUS) => "Bus error",
        Ok(Signal::SIGFPE) => "Floating point exception",
        Ok(Signal::SIGKILL) => "Killed",
        Ok(Signal::SIGUSR1) => "User defined signal 1",
        Ok(Signal::SIGSEGV) => "Segmentation fault",
        Ok(Signal::SIGUSR2) => "User defined signal 2",
        Ok(Signal::SIGPIPE) => "Broken pipe",
        Ok(Signal::SIGALRM) => "Alarm clock",
        Ok(Signal::SIGTERM) => "Terminated",
        _ => return format!("Unknown signal {sig}"),
    };
    text.to_owned()
}

#[cfg(test)]
mod tests {
    use std::os::unix::process::CommandExt;

    use super::*;

    #[test]
    fn parses_stat_with_awkward_command_names() {
        let line =
            "4242 (a) b (c)) S 1 4242 4242 0 -1 4194560 100 0 0 0 0 0 0 0 20 0 1 0 987654 1000 10 18446744073709551615";
        let stat = parse_stat(line).unwrap();
        assert_eq!(
            stat,
            ProcStat {
                start_ticks: 987_654,
                zombie: false,
                pgid: 4242
            }
        );
        assert!(parse_stat("garbage").is_none());
    }

    #[test]
    fn reads_this_process() {
        let me = std::process::id();
        let stat = proc_stat(me).unwrap();
        assert!(is_alive(me, stat.start_ticks));
        assert!(!is_alive(me, stat.start_ticks + 1));
    }

    #[test]
    fn exit_descriptions_match_mesos() {
        assert_eq!(
            describe_exit(&ExitStatus::from_raw(3 << 8)),
            "Command exited with status 3"
        );
        assert_eq!(
            describe_exit(&ExitStatus::from_raw(9)),
            "Command terminated with signal Killed"
        );
        assert_eq!(
            describe_exit(&ExitStatus::from_raw(15)),
            "Command terminated with signal Terminated"
        );
    }

    #[test]
    fn programs_are_resolved_on_the_task_path() {
        let sleep = resolve_program("sleep", "/nonexistent:/usr/bin:/bin");
        assert!(sleep.is_absolute() && sleep.ends_with("sleep"), "{sleep:?}");
        assert_eq!(resolve_program("./run.sh", "/bin"), PathBuf::from("./run.sh"));
        assert_eq!(
            resolve_program("no-such-program-here", "/bin"),
            PathBuf::from("no-such-program-here")
        );
    }

    #[test]
    fn a_process_is_found_by_its_sandbox() {
        let dir = tempfile::tempdir().unwrap();
        let mut child = std::process::Command::new("sleep")
            .arg("30")
            .env("MESOS_SANDBOX", dir.path())
            .process_group(0)
            .spawn()
            .unwrap();
        let found = processes_by_sandbox().get(dir.path()).copied();
        let _ = child.kill();
        let _ = child.wait();
        let (pid, ticks) = found.expect("the process is found");
        assert_eq!(pid, child.id());
        assert!(ticks > 0);
        assert!(!processes_by_sandbox().contains_key(&dir.path().join("other")));
    }

    #[test]
    fn only_a_small_environment_is_inherited() {
        let env = inherited_env();
        assert!(env.iter().any(|(k, _)| k == "PATH"));
        assert!(env.iter().all(|(k, _)| INHERITED.contains(&k.as_str())));
    }
}
