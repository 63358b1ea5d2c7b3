//! What the operating system says about task processes: found by the environment Pacer gives
//! them (`MARATHON_APP_ID`, `MESOS_TASK_ID`, `MESOS_SANDBOX`), read from `/proc`.

use std::path::{Path, PathBuf};

use nix::unistd::Pid;

/// A live process that belongs to a task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskProcess {
    pub pid: Pid,
    /// `MARATHON_APP_ID`, e.g. `/hello`.
    pub app_id: String,
    /// `MESOS_TASK_ID`, when the process has one.
    pub task_id: Option<String>,
    /// `MESOS_SANDBOX`.
    pub sandbox: PathBuf,
}

/// Every live process with a `MARATHON_APP_ID` whose `MESOS_SANDBOX` lies under `root`: the
/// tasks of the one server whose data is under `root`, whatever other servers run beside it.
///
/// A task may show as several processes (a shell and its child, both carrying the variables).
pub fn task_processes_under(root: &Path) -> Vec<TaskProcess> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let mut found = Vec::new();
    for entry in entries.flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|s| s.parse::<i32>().ok()) else {
            continue;
        };
        // Processes that ended or belong to others cannot be read; they are not ours.
        let Ok(environ) = std::fs::read(entry.path().join("environ")) else {
            continue;
        };
        let (mut app_id, mut task_id, mut sandbox) = (None, None, None);
        for var in environ.split(|b| *b == 0) {
            let var = String::from_utf8_lossy(var);
            if let Some(v) = var.strip_prefix("MARATHON_APP_ID=") {
                app_id = Some(v.to_string());
            } else if let Some(v) = var.strip_prefix("MESOS_TASK_ID=") {
                task_id = Some(v.to_string());
            } else if let Some(v) = var.strip_prefix("MESOS_SANDBOX=") {
                sandbox = Some(PathBuf::from(v));
            }
        }
        let pid = Pid::from_raw(pid);
        if let (Some(app_id), Some(sandbox)) = (app_id, sandbox)
            && sandbox.starts_with(root)
            && process_alive(pid)
        {
            found.push(TaskProcess {
                pid,
                app_id,
                task_id,
                sandbox,
            });
        }
    }
    found.sort_by_key(|p| p.pid.as_raw());
    found
}

/// True while `pid` exists and has not ended: a zombie (ended, not yet reaped) counts as dead.
pub fn process_alive(pid: Pid) -> bool {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return false;
    };
    // The state is the first field after the command name, which is in parentheses and may
    // itself contain spaces or parentheses.
    let state = stat
        .rsplit_once(')')
        .and_then(|(_, rest)| rest.split_whitespace().next());
    !matches!(state, None | Some("Z") | Some("X"))
}

/// The process group of `pid`, or `None` once it is gone.
pub fn process_group_of(pid: Pid) -> Option<Pid> {
    nix::unistd::getpgid(Some(pid)).ok()
}

/// Kills every task process under `root` (each task's whole process group) and waits up to
/// five seconds for them to be gone.
pub(crate) fn kill_tasks_under(root: &Path) {
    use nix::sys::signal::{Signal, kill, killpg};
    let own_group = nix::unistd::getpgrp();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        let left = task_processes_under(root);
        if left.is_empty() || std::time::Instant::now() >= deadline {
            for p in &left {
                eprintln!("pacer-e2e: task process {} of {} would not die", p.pid, p.app_id);
            }
            return;
        }
        for p in left {
            match process_group_of(p.pid) {
                Some(group) if group != own_group => {
                    let _ = killpg(group, Signal::SIGKILL);
                }
                _ => {
                    let _ = kill(p.pid, Signal::SIGKILL);
                }
            }
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::process::CommandExt;
    use std::process::Command;

    use super::*;

    #[test]
    fn finds_processes_by_environment_and_sandbox() {
        let root = tempfile::tempdir().unwrap();
        let sandbox = root.path().join("sandbox");
        let mut child = Command::new("sleep")
            .arg("30")
            .env("MARATHON_APP_ID", "/probe")
            .env("MESOS_TASK_ID", "probe.instance-1._app.1")
            .env("MESOS_SANDBOX", &sandbox)
            .process_group(0)
            .spawn()
            .unwrap();
        let pid = Pid::from_raw(child.id() as i32);

        // Until the child has exec'd, /proc shows the parent's environment.
        let found = crate::wait_until(std::time::Duration::from_secs(5), || {
            Some(task_processes_under(root.path())).filter(|f| f.len() == 1)
        })
        .expect("the probe process is found");
        assert_eq!(found[0].pid, pid);
        assert_eq!(found[0].app_id, "/probe");
        assert_eq!(found[0].task_id.as_deref(), Some("probe.instance-1._app.1"));
        assert!(
            task_processes_under(&std::env::temp_dir().join("elsewhere"))
                .iter()
                .all(|p| p.pid != pid)
        );
        assert!(process_alive(pid));
        assert_eq!(process_group_of(pid), Some(pid));

        child.kill().unwrap();
        // Dead but not yet reaped: a zombie, which counts as gone.
        crate::wait_until(std::time::Duration::from_secs(5), || {
            (!process_alive(pid)).then_some(())
        })
        .unwrap();
        assert!(task_processes_under(root.path()).is_empty());
        child.wait().unwrap();
        assert!(!process_alive(pid));
        assert_eq!(process_group_of(pid), None);
    }
}
