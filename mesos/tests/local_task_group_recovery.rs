//! Task groups across an agent restart: their tasks are re-adopted with their executor's
//! resources still held, and the group still dies together, whether a task dies after the
//! restart or died while the agent was down.

mod common;

use std::time::Instant;

use anyhow::{Result, bail};
use common::group::*;
use common::*;
use mesos::local::LocalMaster;
use mesos::v1::framework_info::capability::Type as Cap;
use mesos::v1::task_status::Reason;
use mesos::v1::{FrameworkId, FrameworkInfo, TaskState};
use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;

fn info() -> FrameworkInfo {
    framework("pods", &[Cap::TaskKillingState], 3600.0)
}

/// Starts a master, runs a group of two `sleep 600`s (`g1`, `g2`) and shuts the master down,
/// leaving them running. Returns the framework id and the two pids.
async fn group_left_running(dir: &std::path::Path, reaper: &Reaper) -> Result<(String, u32, u32)> {
    let (master, mut sched, offer) = master_with_offer(dir, info(), reaper).await?;
    let agent = offer.agent_id.value.clone();
    let tasks = vec![
        exec_task("g1", &agent, &["sleep", "600"]),
        exec_task("g2", &agent, &["sleep", "600"]),
    ];
    sched
        .launch_group(&offer, with_pod_volume(default_executor("g.exec"), "v"), tasks, 0.0)
        .await?;
    let g1 = pid_of(&sched.await_state("g1", TaskState::TaskRunning).await?);
    let g2 = pid_of(&sched.await_state("g2", TaskState::TaskRunning).await?);
    let id = sched.framework_id.clone();
    drop(sched);
    master.shutdown().await;
    assert!(group_alive(g1) && group_alive(g2), "shutdown leaves tasks running");
    Ok((id, g1, g2))
}

async fn resubscribe(master: &LocalMaster, id: &str, reaper: &Reaper) -> Result<Sched> {
    let info = FrameworkInfo {
        id: Some(FrameworkId { value: id.into() }),
        ..info()
    };
    Sched::subscribe(&master.transport(), info, reaper).await
}

#[tokio::test]
async fn a_re_adopted_group_holds_its_resources_and_still_dies_together() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let reaper = Reaper::default();
    let _sweep = Sweep(dir.path().to_owned());
    let (id, g1, g2) = group_left_running(dir.path(), &reaper).await?;

    let master = LocalMaster::start(config(dir.path())).await?;
    let mut sched = resubscribe(&master, &id, &reaper).await?;
    sched.reconcile(&["g1", "g2"]).await?;
    for _ in 0..2 {
        let status = sched.next_update().await?;
        assert_eq!(status.state(), TaskState::TaskRunning);
        let pid = pid_of(&status);
        assert!(pid == g1 || pid == g2, "the same processes, not new ones");
    }
    // The executor's 0.1 cpus and the tasks' 0.02 are still taken.
    let offer = sched.next_offers().await?.remove(0);
    assert!((offered(&offer, "cpus") - 7.88).abs() < 1e-9, "{offer:?}");
    sched.decline(vec![offer.id.clone()], 0.0).await?;

    // One task dies: the agent notices, and kills the other.
    killpg(Pid::from_raw(g1 as i32), Signal::SIGKILL)?;
    let failed = sched.await_state("g1", TaskState::TaskFailed).await?;
    assert_eq!(failed.reason(), Reason::ExecutorTerminated);
    sched.await_state("g2", TaskState::TaskKilling).await?;
    sched.await_state("g2", TaskState::TaskKilled).await?;
    assert!(!group_alive(g2));
    let deadline = Instant::now() + WAIT;
    loop {
        let offer = sched.next_offers().await?.remove(0);
        sched.decline(vec![offer.id.clone()], 0.0).await?;
        if (offered(&offer, "cpus") - 8.0).abs() < 1e-9 {
            break;
        }
        if Instant::now() > deadline {
            bail!("the group's resources never came back: {offer:?}");
        }
    }
    master.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn a_task_that_died_while_the_agent_was_down_takes_its_group_with_it() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let reaper = Reaper::default();
    let _sweep = Sweep(dir.path().to_owned());
    let (id, g1, g2) = group_left_running(dir.path(), &reaper).await?;
    killpg(Pid::from_raw(g2 as i32), Signal::SIGKILL)?;
    wait_until("g2 is gone", || !group_alive(g2)).await?;

    let master = LocalMaster::start(config(dir.path())).await?;
    let mut sched = resubscribe(&master, &id, &reaper).await?;
    let failed = sched.await_state("g2", TaskState::TaskFailed).await?;
    assert_eq!(failed.reason(), Reason::ExecutorTerminated);
    assert!(
        failed.message().contains("ended while the agent was down"),
        "{failed:?}"
    );
    let killed = sched.await_state("g1", TaskState::TaskKilled).await?;
    assert_eq!(killed.executor_id.as_ref().unwrap().value, "g.exec");
    assert!(!group_alive(g1));
    // The group's volumes stay in its executor's sandbox.
    let sandbox = master.executor_sandbox_dir("g.exec").expect("executor sandbox");
    assert!(sandbox.join("volumes/v").is_dir());
    master.shutdown().await;
    Ok(())
}
