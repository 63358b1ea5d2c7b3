//! The local master running real processes: launch, status updates and acknowledgements,
//! kill with a grace period, exit codes, environment and sandbox, reconciliation.

mod common;

use std::time::{Duration, Instant};

use anyhow::Result;
use common::*;
use mesos::local::LocalMaster;
use mesos::v1::TaskState;
use mesos::v1::framework_info::capability::Type as Cap;
use mesos::v1::scheduler::{call, event};
use mesos::v1::task_status::{Reason, Source};

#[tokio::test]
async fn launch_run_ack_kill() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let reaper = Reaper::default();
    let (master, mut sched, offer) =
        master_with_offer(dir.path(), framework("t", &[Cap::TaskKillingState], 60.0), &reaper).await?;

    assert_eq!(offer.hostname, "test-host");
    assert_eq!(offer.framework_id.value, sched.framework_id);
    assert_eq!(offer.attributes[0].name, "rack");
    let names: Vec<&str> = offer.resources.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, ["ports", "cpus", "mem", "disk"]);
    assert!(offer.resources.iter().all(|r| r.role() == "*"));

    let agent = offer.agent_id.value.clone();
    sched
        .launch(&[&offer], vec![exec_task("sleeper", &agent, &["sleep", "600"])], None)
        .await?;

    let starting = sched.next_update().await?;
    assert_eq!(starting.state(), TaskState::TaskStarting);
    assert_eq!(starting.source(), Source::Executor);
    assert_eq!(starting.agent_id.as_ref().unwrap().value, agent);
    assert_eq!(starting.executor_id.as_ref().unwrap().value, "sleeper");
    assert_eq!(starting.uuid().len(), 16);
    assert!(starting.timestamp.is_some());
    let pid = pid_of(&starting);
    sched.ack(&starting).await?;
    let running = sched.next_update().await?;
    assert_eq!(running.state(), TaskState::TaskRunning);
    sched.ack(&running).await?;

    // A real `sleep`, leading its own process group, running in its sandbox.
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    assert!(stat.contains("(sleep)"), "{stat}");
    assert!(group_alive(pid));
    let sandbox = master.sandbox_dir("sleeper").expect("sandbox exists");
    assert_eq!(std::fs::read_link(format!("/proc/{pid}/cwd"))?, sandbox);
    assert!(sandbox.starts_with(dir.path().join("test-host/sandboxes")));

    sched.kill("sleeper").await?;
    let killing = sched.next_update().await?;
    assert_eq!(killing.state(), TaskState::TaskKilling);
    sched.ack(&killing).await?;
    let killed = sched.next_update().await?;
    assert_eq!(killed.state(), TaskState::TaskKilled);
    assert_eq!(killed.message(), "Command terminated with signal Terminated");
    sched.ack(&killed).await?;
    wait_until("the task's process group is gone", || !group_alive(pid)).await?;

    // Once the terminal update is acknowledged the task is forgotten.
    sched.reconcile(&["sleeper"]).await?;
    let answer = sched.next_update().await?;
    assert_eq!(answer.state(), TaskState::TaskLost);
    master.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn kill_escalates_to_sigkill_after_the_grace_period() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let reaper = Reaper::default();
    let (master, mut sched, offer) = master_with_offer(dir.path(), framework("t", &[], 60.0), &reaper).await?;
    let agent = offer.agent_id.value.clone();
    let stubborn = with_grace(
        shell_task("stubborn", &agent, "trap '' TERM; sleep 600"),
        Duration::from_millis(1500),
    );
    sched.launch(&[&offer], vec![stubborn], None).await?;
    let running = sched.await_state("stubborn", TaskState::TaskRunning).await?;
    let pid = pid_of(&running);
    // RUNNING means spawned; wait until the shell has set its trap and started `sleep`.
    wait_until("the shell runs sleep", || {
        std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children")).is_ok_and(|c| !c.trim().is_empty())
    })
    .await?;

    let asked = Instant::now();
    sched.kill("stubborn").await?;
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert!(
        group_alive(pid),
        "SIGTERM is ignored, so the task outlives the first part of its grace"
    );
    let killed = sched.await_state("stubborn", TaskState::TaskKilled).await?;
    assert!(
        asked.elapsed() >= Duration::from_millis(1500),
        "killed after {:?}",
        asked.elapsed()
    );
    assert_eq!(killed.message(), "Command terminated with signal Killed");
    wait_until("the task's process group is gone", || !group_alive(pid)).await?;
    master.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn exit_codes_give_finished_and_failed() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let reaper = Reaper::default();
    let (master, mut sched, offer) = master_with_offer(dir.path(), framework("t", &[], 60.0), &reaper).await?;
    let agent = offer.agent_id.value.clone();
    let tasks = vec![
        shell_task("ok", &agent, "exit 0"),
        shell_task("bad", &agent, "exit 3"),
        exec_task("missing", &agent, &["/no/such/binary"]),
    ];
    sched.launch(&[&offer], tasks, None).await?;
    let mut ends = std::collections::BTreeMap::new();
    while ends.len() < 3 {
        let status = sched.next_update().await?;
        sched.ack(&status).await?;
        if is_terminal(status.state()) {
            ends.insert(status.task_id.value.clone(), status);
        }
    }
    assert_eq!(ends["ok"].state(), TaskState::TaskFinished);
    assert_eq!(ends["ok"].message(), "Command exited with status 0");
    assert_eq!(ends["bad"].state(), TaskState::TaskFailed);
    assert_eq!(ends["bad"].message(), "Command exited with status 3");
    assert_eq!(ends["missing"].state(), TaskState::TaskFailed);
    assert_eq!(ends["missing"].reason(), Reason::ContainerLaunchFailed);
    assert!(
        ends["missing"].message().contains("Failed to launch the task"),
        "{:?}",
        ends["missing"].message
    );
    master.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn tasks_get_mesos_variables_a_sandbox_and_no_server_secrets() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let reaper = Reaper::default();
    let (master, mut sched, offer) = master_with_offer(dir.path(), framework("t", &[], 60.0), &reaper).await?;
    let agent = offer.agent_id.value.clone();
    let task = with_env(
        shell_task("env-task", &agent, "echo \"greeting=$GREETING\"; echo oops >&2; env"),
        &[("GREETING", "hello world")],
    );
    let argv = exec_task("argv-task", &agent, &["printf", "%s|%s\\n", "a b", "c"]);
    sched.launch(&[&offer], vec![task, argv], None).await?;
    sched.await_state("env-task", TaskState::TaskFinished).await?;

    let sandbox = master.sandbox_dir("env-task").unwrap();
    let stdout = std::fs::read_to_string(sandbox.join("stdout"))?;
    assert_eq!(std::fs::read_to_string(sandbox.join("stderr"))?, "oops\n");
    assert!(stdout.starts_with("greeting=hello world\n"), "{stdout}");
    let env: std::collections::BTreeMap<&str, &str> =
        stdout.lines().skip(1).filter_map(|l| l.split_once('=')).collect();
    assert_eq!(env["MESOS_TASK_ID"], "env-task");
    assert_eq!(env["MESOS_EXECUTOR_ID"], "env-task");
    assert_eq!(env["MESOS_FRAMEWORK_ID"], sched.framework_id);
    assert_eq!(env["MESOS_AGENT_ID"], agent);
    assert_eq!(env["MESOS_SANDBOX"], sandbox.to_str().unwrap());
    assert_eq!(env["MESOS_CHECKPOINT"], "1");
    assert!(env.contains_key("PATH"));
    // Nothing else of the test process's environment (cargo sets plenty) reaches the task.
    let inherited = [
        "PATH", "HOME", "USER", "LOGNAME", "LANG", "TZ", "TMPDIR", "PWD", "SHLVL", "_",
    ];
    for (key, _) in std::env::vars() {
        if !inherited.contains(&key.as_str()) && !key.starts_with("MESOS_") {
            assert!(!env.contains_key(key.as_str()), "{key} leaked into the task");
        }
    }

    sched.await_state("argv-task", TaskState::TaskFinished).await?;
    let out = std::fs::read_to_string(master.sandbox_dir("argv-task").unwrap().join("stdout"))?;
    assert_eq!(out, "a b|c\n", "arguments are passed as argv without a shell");
    assert!(master.sandbox_dir("../etc").is_none());
    master.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn updates_are_resent_until_acknowledged_and_held_in_order() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let reaper = Reaper::default();
    let mut config = config(dir.path());
    config.status_update_retry_interval = Duration::from_millis(300);
    let master = LocalMaster::start(config).await?;
    let mut sched = Sched::subscribe(&master.transport(), framework("t", &[], 60.0), &reaper).await?;
    let offer = sched.next_offers().await?.remove(0);
    sched
        .launch(
            &[&offer],
            vec![exec_task("s", &offer.agent_id.value, &["sleep", "600"])],
            None,
        )
        .await?;

    let first = sched.next_update().await?;
    assert_eq!(first.state(), TaskState::TaskStarting);
    // Unacknowledged, STARTING comes again (same uuid) and RUNNING waits behind it.
    let again = sched.next_update().await?;
    assert_eq!(again.state(), TaskState::TaskStarting);
    assert_eq!(again.uuid, first.uuid);
    sched.ack(&again).await?;
    let running = sched.next_update().await?;
    assert_eq!(running.state(), TaskState::TaskRunning);
    assert_ne!(running.uuid, first.uuid);
    // An acknowledgement of an old uuid changes nothing: RUNNING is re-sent.
    sched.ack(&first).await?;
    let running_again = sched.next_update().await?;
    assert_eq!(running_again.uuid, running.uuid);
    sched.ack(&running_again).await?;
    sched.kill("s").await?;
    sched.await_state("s", TaskState::TaskKilled).await?;
    master.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn reconciliation_and_kill_of_unknown_tasks() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let reaper = Reaper::default();
    let master = LocalMaster::start(config(dir.path())).await?;
    let transport = master.transport();
    let mut plain = Sched::subscribe(&transport, framework("plain", &[], 60.0), &reaper).await?;
    let mut aware = Sched::subscribe(&transport, framework("aware", &[Cap::PartitionAware], 60.0), &reaper).await?;
    assert_ne!(plain.framework_id, aware.framework_id);

    plain.reconcile(&["nope"]).await?;
    let lost = plain.next_update().await?;
    assert_eq!(
        (lost.state(), lost.reason(), lost.source()),
        (TaskState::TaskLost, Reason::Reconciliation, Source::Master)
    );
    assert_eq!(lost.message(), "Reconciliation: Task is unknown");
    assert!(lost.uuid.is_none());

    aware.reconcile(&["nope"]).await?;
    assert_eq!(aware.next_update().await?.state(), TaskState::TaskUnknown);
    aware.kill("nope").await?;
    let unknown = aware.next_update().await?;
    assert_eq!(unknown.state(), TaskState::TaskUnknown);
    assert!(unknown.uuid.is_none());
    plain.kill("nope").await?;
    assert_eq!(plain.next_update().await?.state(), TaskState::TaskLost);

    // Known tasks: explicit and implicit reconciliation report the latest state, without uuid.
    let offer = plain.next_offers().await?.remove(0);
    plain
        .launch(
            &[&offer],
            vec![exec_task("r", &offer.agent_id.value, &["sleep", "600"])],
            None,
        )
        .await?;
    plain.await_state("r", TaskState::TaskRunning).await?;
    plain.reconcile(&["r"]).await?;
    let explicit = plain.next_update().await?;
    assert_eq!(
        (explicit.state(), explicit.reason()),
        (TaskState::TaskRunning, Reason::Reconciliation)
    );
    assert_eq!(explicit.message(), "Reconciliation: Latest task state");
    assert!(explicit.uuid.is_none());
    plain.reconcile(&[]).await?;
    let implicit = plain.next_update().await?;
    assert_eq!(
        (implicit.task_id.value.as_str(), implicit.state()),
        ("r", TaskState::TaskRunning)
    );
    // The other framework does not see it.
    aware.reconcile(&[]).await?;
    aware.reconcile(&["r"]).await?;
    assert_eq!(aware.next_update().await?.state(), TaskState::TaskUnknown);
    plain.kill("r").await?;
    plain.await_state("r", TaskState::TaskKilled).await?;
    master.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn invalid_launches_are_refused_with_reasons() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let reaper = Reaper::default();
    let (master, mut sched, offer) = master_with_offer(dir.path(), framework("t", &[], 60.0), &reaper).await?;
    let agent = offer.agent_id.value.clone();
    let mut greedy = shell_task("greedy", &agent, "true");
    greedy.resources = vec![scalar("cpus", 100.0), scalar("mem", 1.0)];
    let mut no_command = shell_task("no-command", &agent, "true");
    no_command.command = None;
    let bad_id = shell_task("../escape", &agent, "true");
    sched
        .launch(&[&offer], vec![greedy, no_command, bad_id], Some(0.0))
        .await?;
    for _ in 0..3 {
        let status = sched.next_update().await?;
        assert_eq!(status.state(), TaskState::TaskError, "{status:?}");
        assert_eq!(status.reason(), Reason::TaskInvalid);
        assert!(status.uuid.is_none());
        if status.task_id.value == "greedy" {
            assert!(status.message().contains("cpus: needs 100"), "{:?}", status.message);
        }
    }

    // The same offer cannot be used twice.
    sched
        .launch(&[&offer], vec![shell_task("late", &agent, "true")], None)
        .await?;
    let lost = sched.next_update().await?;
    assert_eq!(
        (lost.state(), lost.reason()),
        (TaskState::TaskLost, Reason::InvalidOffers)
    );
    assert!(lost.message().contains("is no longer valid"), "{:?}", lost.message);

    // A LAUNCH_GROUP is validated as a whole (tests/local_task_groups.rs has the rest).
    let offer = sched.next_offers().await?.remove(0);
    let group = mesos::v1::offer::Operation {
        r#type: Some(mesos::v1::offer::operation::Type::LaunchGroup as i32),
        launch_group: Some(mesos::v1::offer::operation::LaunchGroup {
            executor: mesos::v1::ExecutorInfo {
                executor_id: mesos::v1::ExecutorId { value: "e".into() },
                ..Default::default()
            },
            task_group: mesos::v1::TaskGroupInfo {
                tasks: vec![shell_task("pod-task", &agent, "true")],
            },
        }),
        ..Default::default()
    };
    sched
        .call(mesos::v1::scheduler::Call {
            r#type: Some(call::Type::Accept as i32),
            accept: Some(call::Accept {
                offer_ids: vec![offer.id.clone()],
                operations: vec![group],
                filters: None,
            }),
            ..Default::default()
        })
        .await?;
    let status = sched.next_update().await?;
    assert_eq!(status.state(), TaskState::TaskError);
    assert_eq!(status.reason(), Reason::TaskGroupInvalid);
    assert_eq!(status.message(), "'ExecutorInfo.type' must be set");

    // A call with its payload missing is refused synchronously.
    let err = sched.simple(call::Type::Kill).await.unwrap_err();
    assert!(err.to_string().contains("Expecting 'kill'"), "{err}");
    master.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn two_hundred_tasks_from_one_accept_all_run_and_teardown_kills_them() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let reaper = Reaper::default();
    let (master, mut sched, offer) = master_with_offer(dir.path(), framework("t", &[], 60.0), &reaper).await?;
    let agent = offer.agent_id.value.clone();
    let tasks = (0..200)
        .map(|i| exec_task(&format!("t{i}"), &agent, &["sleep", "600"]))
        .collect();
    sched.launch(&[&offer], tasks, None).await?;
    let mut running = std::collections::HashMap::new();
    while running.len() < 200 {
        let status = sched.next_update().await?;
        sched.ack(&status).await?;
        match status.state() {
            TaskState::TaskRunning => {
                running.insert(status.task_id.value.clone(), pid_of(&status));
            }
            TaskState::TaskStarting => {}
            other => anyhow::bail!("unexpected {other:?}: {:?}", status.message),
        }
    }
    assert!(running.values().all(|pid| group_alive(*pid)));
    sched.simple(call::Type::Teardown).await?;
    // The stream ends with an ERROR, and no task survives.
    let event = sched.next().await?;
    assert_eq!(event.r#type(), event::Type::Error);
    wait_until("every task process is gone", || {
        running.values().all(|pid| !group_alive(*pid))
    })
    .await?;
    master.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn tasks_killed_while_launching_end_killed_and_leave_no_process() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let reaper = Reaper::default();
    let _sweep = Sweep(dir.path().to_owned());
    let (master, mut sched, offer) =
        master_with_offer(dir.path(), framework("t", &[Cap::TaskKillingState], 60.0), &reaper).await?;
    let agent = offer.agent_id.value.clone();
    let tasks = (0..20)
        .map(|i| exec_task(&format!("k{i}"), &agent, &["sleep", "600"]))
        .collect();
    sched.launch(&[&offer], tasks, None).await?;
    // Most of these kills arrive before the launcher threads have spawned the processes.
    for i in 0..20 {
        sched.kill(&format!("k{i}")).await?;
    }
    let mut killed = std::collections::BTreeMap::new();
    while killed.len() < 20 {
        let status = sched.next_update().await?;
        sched.ack(&status).await?;
        match status.state() {
            TaskState::TaskKilled => {
                killed.insert(status.task_id.value.clone(), status);
            }
            TaskState::TaskStarting | TaskState::TaskRunning | TaskState::TaskKilling => {}
            other => anyhow::bail!("unexpected {other:?}: {:?}", status.message),
        }
    }
    let during_launch = killed
        .values()
        .filter(|s| s.reason() == Reason::TaskKilledDuringLaunch)
        .count();
    println!("{during_launch} of 20 killed during launch");
    for status in killed.values() {
        if let Some(pid) = status.container_status.as_ref().and_then(|c| c.executor_pid) {
            assert!(!group_alive(pid), "{} left a process", status.task_id.value);
        }
    }
    master.shutdown().await;
    Ok(())
}
