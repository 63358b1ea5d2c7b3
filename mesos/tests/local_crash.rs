//! A real crash: a child process (this test binary, re-executed) runs a local master with
//! three tasks and is killed with SIGKILL; a new master on the same work directory re-adopts
//! the orphaned processes, and they can still be killed.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use common::*;
use mesos::local::LocalMaster;
use mesos::v1::{FrameworkId, FrameworkInfo, TaskState};

const DIR_VAR: &str = "PACER_CRASH_CHILD_DIR";

fn info() -> FrameworkInfo {
    framework("crash", &[], 3600.0)
}

/// The child's part: not a test of its own (ignored), run only by `a_killed_master...`.
#[tokio::test]
#[ignore = "run as a child process by a_master_killed_with_sigkill_leaves_adoptable_tasks"]
async fn crash_child() -> Result<()> {
    let dir = std::env::var(DIR_VAR).context("run by the crash test only")?;
    let reaper = Reaper::default();
    let (_master, mut sched, offer) = master_with_offer(dir.as_ref(), info(), &reaper).await?;
    let tasks = (0..3)
        .map(|i| exec_task(&format!("c{i}"), &offer.agent_id.value, &["sleep", "600"]))
        .collect();
    sched.launch(&[&offer], tasks, None).await?;
    let mut pids = Vec::new();
    while pids.len() < 3 {
        let status = sched.next_update().await?;
        sched.ack(&status).await?;
        if status.state() == TaskState::TaskRunning {
            pids.push(pid_of(&status).to_string());
        }
    }
    println!("\nREADY {} {}", sched.framework_id, pids.join(" "));
    // The reaper must not clean up: the parent kills this process with SIGKILL.
    std::mem::forget(reaper);
    tokio::time::sleep(Duration::from_secs(600)).await;
    Ok(())
}

#[tokio::test]
async fn a_master_killed_with_sigkill_leaves_adoptable_tasks() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let reaper = Reaper::default();
    let _sweep = Sweep(dir.path().to_owned());
    let mut child = Command::new(std::env::current_exe()?)
        .args(["--ignored", "--exact", "crash_child", "--nocapture", "--test-threads=1"])
        .env(DIR_VAR, dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()?;
    let stdout = child.stdout.take().unwrap();
    let line = tokio::task::spawn_blocking(move || {
        // The test harness prints "test crash_child ... " before the line, without a newline.
        let line = BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
            .find(|l| l.contains("READY "))?;
        Some(line[line.find("READY ")?..].to_owned())
    });
    let line = match tokio::time::timeout(WAIT, line).await {
        Ok(Ok(Some(line))) => line,
        other => {
            let _ = child.kill();
            bail!("the child master never got its tasks running: {other:?}");
        }
    };
    let mut words = line.split_whitespace().skip(1);
    let framework_id = words.next().unwrap().to_owned();
    let pids: Vec<u32> = words.map(|w| w.parse().unwrap()).collect();
    for pid in &pids {
        reaper.watch(*pid);
    }
    child.kill()?; // SIGKILL: no shutdown, no flush
    child.wait()?;
    assert!(pids.iter().all(|pid| group_alive(*pid)), "tasks outlive their master");

    let master = LocalMaster::start(config(dir.path())).await?;
    let info = FrameworkInfo {
        id: Some(FrameworkId { value: framework_id }),
        ..info()
    };
    let mut sched = Sched::subscribe(&master.transport(), info, &reaper).await?;
    sched.reconcile(&[]).await?;
    let mut adopted = Vec::new();
    for _ in 0..3 {
        let status = sched.next_update().await?;
        assert_eq!(status.state(), TaskState::TaskRunning, "{status:?}");
        adopted.push(pid_of(&status));
    }
    adopted.sort_unstable();
    let mut expected = pids.clone();
    expected.sort_unstable();
    assert_eq!(adopted, expected, "the same processes, none doubled");
    for i in 0..3 {
        sched.kill(&format!("c{i}")).await?;
    }
    let mut killed = 0;
    while killed < 3 {
        let status = sched.next_update().await?;
        sched.ack(&status).await?;
        if status.state() == TaskState::TaskKilled {
            killed += 1;
        }
    }
    wait_until("the adopted processes are gone", || {
        pids.iter().all(|pid| !group_alive(*pid))
    })
    .await?;
    master.shutdown().await;
    Ok(())
}
