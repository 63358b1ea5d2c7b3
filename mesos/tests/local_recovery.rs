//! Failover and recovery with real processes: a framework failing over keeps its tasks; a new
//! master on the same work directory re-adopts the processes of the last one, whether it was
//! shut down or dropped like a crash; processes that died meanwhile are reported; tasks of
//! frameworks that do not come back in time are killed.

mod common;

use anyhow::Result;
use common::*;
use mesos::local::LocalMaster;
use mesos::v1::framework_info::capability::Type as Cap;
use mesos::v1::scheduler::event;
use mesos::v1::task_status::{Reason, Source};
use mesos::v1::{FrameworkId, FrameworkInfo, TaskState};
use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;

fn resubscribing(info: FrameworkInfo, id: &str) -> FrameworkInfo {
    FrameworkInfo {
        id: Some(FrameworkId { value: id.into() }),
        ..info
    }
}

/// Starts a master, launches one `sleep 600` and waits for it to run (acknowledged).
async fn running_sleeper(
    dir: &std::path::Path,
    info: FrameworkInfo,
    reaper: &Reaper,
) -> Result<(LocalMaster, Sched, u32)> {
    let (master, mut sched, offer) = master_with_offer(dir, info, reaper).await?;
    sched
        .launch(
            &[&offer],
            vec![exec_task("sleeper", &offer.agent_id.value, &["sleep", "600"])],
            None,
        )
        .await?;
    let running = sched.await_state("sleeper", TaskState::TaskRunning).await?;
    Ok((master, sched, pid_of(&running)))
}

#[tokio::test]
async fn a_failed_over_framework_keeps_its_tasks() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let reaper = Reaper::default();
    let info = framework("fo", &[Cap::PartitionAware], 60.0);
    let (master, mut old, pid) = running_sleeper(dir.path(), info.clone(), &reaper).await?;

    let mut new = Sched::subscribe(&master.transport(), resubscribing(info, &old.framework_id), &reaper).await?;
    assert_eq!(new.framework_id, old.framework_id);
    let error = old.next().await?;
    assert_eq!(error.r#type(), event::Type::Error);
    assert_eq!(error.error.unwrap().message, "Framework failed over");

    new.reconcile(&[]).await?;
    let status = new.next_update().await?;
    assert_eq!(
        (status.task_id.value.as_str(), status.state()),
        ("sleeper", TaskState::TaskRunning)
    );
    assert!(
        old.kill("sleeper").await.is_err(),
        "the old instance can no longer call"
    );
    new.kill("sleeper").await?;
    new.await_state("sleeper", TaskState::TaskKilled).await?;
    wait_until("the task's process group is gone", || !group_alive(pid)).await?;
    master.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn a_disconnected_framework_loses_its_tasks_after_its_failover_timeout() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let reaper = Reaper::default();
    let (master, sched, pid) = running_sleeper(dir.path(), framework("gone", &[], 1.0), &reaper).await?;
    let id = sched.framework_id.clone();
    drop(sched);
    wait_until("the abandoned task is killed", || !group_alive(pid)).await?;
    // The framework was removed: it cannot come back under its id.
    let again = master
        .transport()
        .subscribe(resubscribing(framework("gone", &[], 1.0), &id))
        .await;
    assert!(matches!(again, Err(mesos::TransportError::Refused(_))));
    master.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn tasks_survive_a_shutdown_and_are_re_adopted() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let reaper = Reaper::default();
    let info = framework("r", &[Cap::TaskKillingState], 3600.0);
    let (master, sched, pid) = running_sleeper(dir.path(), info.clone(), &reaper).await?;
    let id = sched.framework_id.clone();
    drop(sched);
    master.shutdown().await;
    assert!(group_alive(pid), "shutdown leaves tasks running");

    let master = LocalMaster::start(config(dir.path())).await?;
    let mut sched = Sched::subscribe(&master.transport(), resubscribing(info, &id), &reaper).await?;
    sched.reconcile(&["sleeper"]).await?;
    let status = sched.next_update().await?;
    assert_eq!(status.state(), TaskState::TaskRunning);
    assert_eq!(pid_of(&status), pid, "the same process, not a new one");
    assert!(master.sandbox_dir("sleeper").is_some());
    // Its resources are still taken.
    let offer = sched.next_offers().await?.remove(0);
    let cpus = offer
        .resources
        .iter()
        .find(|r| r.name == "cpus")
        .unwrap()
        .scalar
        .as_ref()
        .unwrap()
        .value;
    assert!((cpus - 7.99).abs() < 1e-9, "cpus offered: {cpus}");

    sched.kill("sleeper").await?;
    let killing = sched.next_update().await?;
    assert_eq!(killing.state(), TaskState::TaskKilling);
    sched.ack(&killing).await?;
    let killed = sched.await_state("sleeper", TaskState::TaskKilled).await?;
    assert!(killed.message().contains("kill request"), "{:?}", killed.message);
    wait_until("the task's process group is gone", || !group_alive(pid)).await?;
    master.shutdown().await;

    // The acknowledged end is final: a third start knows nothing of the task.
    let master = LocalMaster::start(config(dir.path())).await?;
    let mut sched = Sched::subscribe(
        &master.transport(),
        resubscribing(framework("r", &[], 3600.0), &id),
        &reaper,
    )
    .await?;
    sched.reconcile(&[]).await?;
    sched.reconcile(&["sleeper"]).await?;
    assert_eq!(sched.next_update().await?.state(), TaskState::TaskLost);
    master.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn tasks_survive_a_crash_and_unacknowledged_updates_are_resent() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let reaper = Reaper::default();
    let info = framework("c", &[], 3600.0);
    let (master, mut sched, offer) = master_with_offer(dir.path(), info.clone(), &reaper).await?;
    sched
        .launch(
            &[&offer],
            vec![exec_task("sleeper", &offer.agent_id.value, &["sleep", "600"])],
            None,
        )
        .await?;
    let starting = sched.next_update().await?;
    sched.ack(&starting).await?;
    let running = sched.next_update().await?;
    assert_eq!(running.state(), TaskState::TaskRunning);
    let pid = pid_of(&running);
    // Crash: the master is dropped without shutdown, RUNNING never acknowledged.
    let id = sched.framework_id.clone();
    drop(master);
    drop(sched);
    assert!(group_alive(pid));

    let master = LocalMaster::start(config(dir.path())).await?;
    let mut sched = Sched::subscribe(&master.transport(), resubscribing(info, &id), &reaper).await?;
    let resent = sched.next_update().await?;
    assert_eq!(resent.state(), TaskState::TaskRunning);
    assert_eq!(resent.uuid, running.uuid, "the very update that was not acknowledged");
    sched.ack(&resent).await?;
    sched.kill("sleeper").await?;
    sched.await_state("sleeper", TaskState::TaskKilled).await?;
    wait_until("the task's process group is gone", || !group_alive(pid)).await?;
    master.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn a_process_that_died_while_the_agent_was_down_is_reported_failed() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let reaper = Reaper::default();
    let info = framework("g", &[], 3600.0);
    let (master, sched, pid) = running_sleeper(dir.path(), info.clone(), &reaper).await?;
    let id = sched.framework_id.clone();
    drop(sched);
    master.shutdown().await;
    killpg(Pid::from_raw(pid as i32), Signal::SIGKILL)?;
    wait_until("the task process is gone", || !group_alive(pid)).await?;

    let master = LocalMaster::start(config(dir.path())).await?;
    let mut sched = Sched::subscribe(&master.transport(), resubscribing(info, &id), &reaper).await?;
    let failed = sched.next_update().await?;
    assert_eq!(failed.state(), TaskState::TaskFailed);
    assert_eq!(failed.reason(), Reason::ExecutorTerminated);
    assert_eq!(failed.source(), Source::Agent);
    assert!(
        failed.message().contains("ended while the agent was down"),
        "{:?}",
        failed.message
    );
    assert!(failed.uuid.is_some());
    sched.ack(&failed).await?;
    // Its resources are free again.
    let offer = sched.next_offers().await?.remove(0);
    let cpus = offer
        .resources
        .iter()
        .find(|r| r.name == "cpus")
        .unwrap()
        .scalar
        .as_ref()
        .unwrap()
        .value;
    assert_eq!(cpus, 8.0);
    master.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn recovered_tasks_die_if_their_framework_does_not_return_in_time() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let reaper = Reaper::default();
    let (master, sched, pid) = running_sleeper(dir.path(), framework("late", &[], 1.0), &reaper).await?;
    // Shut down while still subscribed: the framework's failover timeout starts at recovery.
    master.shutdown().await;
    drop(sched);
    assert!(group_alive(pid));
    let master = LocalMaster::start(config(dir.path())).await?;
    wait_until("the recovered task is killed", || !group_alive(pid)).await?;
    master.shutdown().await;

    // Nothing is left to recover afterwards.
    let master = LocalMaster::start(config(dir.path())).await?;
    let mut sched = Sched::subscribe(&master.transport(), framework("new", &[], 1.0), &reaper).await?;
    let offer = sched.next_offers().await?.remove(0);
    let cpus = offer
        .resources
        .iter()
        .find(|r| r.name == "cpus")
        .unwrap()
        .scalar
        .as_ref()
        .unwrap()
        .value;
    assert_eq!(cpus, 8.0);
    master.shutdown().await;
    Ok(())
}
