//! Task groups (LAUNCH_GROUP, Marathon's pods) on the local agent, as Mesos's default executor
//! runs them: launched together with a shared executor sandbox, validated as a whole, killed
//! together when one task fails or is killed, re-adopted after a restart, health checked, and
//! the same over the HTTP API.

mod common;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use common::group::*;
use common::*;
use mesos::v1::framework_info::capability::Type as Cap;
use mesos::v1::task_status::{Reason, Source};
use mesos::v1::{ExecutorInfo, TaskInfo, TaskState, TaskStatus, executor_info};

fn free_port() -> Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// Acknowledges updates until every task in `ids` has reached `state`; returns those updates.
async fn await_all(sched: &mut Sched, ids: &[&str], state: TaskState) -> Result<BTreeMap<String, TaskStatus>> {
    let mut out = BTreeMap::new();
    for id in ids {
        out.insert((*id).to_owned(), sched.await_state(id, state).await?);
    }
    Ok(out)
}

/// Waits for an offer with `cpus`, declining every offer without a filter (so that it comes
/// back with what was freed meanwhile). Only for when no task update is expected.
async fn await_offered_cpus(sched: &mut Sched, cpus: f64) -> Result<()> {
    let deadline = Instant::now() + WAIT;
    loop {
        let offers = sched.next_offers().await?;
        sched
            .decline(offers.iter().map(|o| o.id.clone()).collect(), 0.0)
            .await?;
        if offers.iter().any(|o| (offered(o, "cpus") - cpus).abs() < 1e-9) {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("no offer of {cpus} cpus; last: {}", offered(&offers[0], "cpus"));
        }
    }
}

fn pgid_of(pid: u32) -> Result<u32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    let rest = &stat[stat.rfind(')').unwrap() + 1..];
    Ok(rest.split_whitespace().nth(2).unwrap().parse()?)
}

#[tokio::test]
async fn a_group_starts_together_and_shares_its_volume_and_network() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let reaper = Reaper::default();
    let _sweep = Sweep(dir.path().to_owned());
    let info = framework("pods", &[Cap::TaskKillingState], 60.0);
    let (master, mut sched, offer) = master_with_offer(dir.path(), info, &reaper).await?;
    let agent = offer.agent_id.value.clone();
    let port = free_port()?;
    let serve = format!("echo hello > data/msg && cd data && exec python3 -m http.server {port} --bind 127.0.0.1");
    let server = mounting(shell_task("pod.server", &agent, &serve), "shared", "data");
    // The client sees the server's file through its own mount, and reaches it on localhost.
    let fetch = format!(
        "import urllib.request, sys; sys.stdout.write(urllib.request.urlopen('http://127.0.0.1:{port}/msg').read().decode())"
    );
    let read = format!(
        "until [ -f in/msg ]; do sleep 0.05; done; cat in/msg; \
         until python3 -c \"{fetch}\" 2>/dev/null; do sleep 0.1; done; env"
    );
    let client = mounting(shell_task("pod.client", &agent, &read), "shared", "in");
    let executor = with_pod_volume(default_executor("pod.exec"), "shared");
    sched.launch_group(&offer, executor, vec![server, client], 0.0).await?;

    let starting = await_all(&mut sched, &["pod.server", "pod.client"], TaskState::TaskStarting).await?;
    let running = await_all(&mut sched, &["pod.server", "pod.client"], TaskState::TaskRunning).await?;
    let parents: Vec<String> = starting
        .values()
        .chain(running.values())
        .map(|s| {
            assert_eq!(s.executor_id.as_ref().unwrap().value, "pod.exec", "{s:?}");
            assert_eq!(s.source(), Source::Executor);
            let container = s.container_status.as_ref().unwrap().container_id.as_ref().unwrap();
            container
                .parent
                .as_ref()
                .expect("nested in the executor's container")
                .value
                .clone()
        })
        .collect();
    assert!(parents.iter().all(|p| *p == parents[0]));
    let (server_pid, client_pid) = (pid_of(&running["pod.server"]), pid_of(&running["pod.client"]));
    assert_ne!(server_pid, client_pid);
    assert_eq!(
        pgid_of(server_pid)?,
        server_pid,
        "each task leads its own process group"
    );
    let server_sandbox = master.sandbox_dir("pod.server").unwrap();
    let executor_sandbox = master.executor_sandbox_dir("pod.exec").unwrap();
    // The server changes into `data` (RUNNING means spawned, so it may not have yet): the pod
    // volume in the executor's sandbox.
    let volume = executor_sandbox.join("volumes/shared");
    wait_until("the server's working directory is the pod volume", || {
        std::fs::read_link(format!("/proc/{server_pid}/cwd")).is_ok_and(|cwd| cwd == volume)
    })
    .await?;
    assert_eq!(
        std::fs::read_link(executor_sandbox.join("tasks/pod.server"))?,
        server_sandbox
    );

    // A task that finishes leaves the rest of its group running.
    let finished = sched.await_state("pod.client", TaskState::TaskFinished).await?;
    assert_eq!(finished.executor_id.as_ref().unwrap().value, "pod.exec");
    let client_sandbox = master.sandbox_dir("pod.client").unwrap();
    let out = std::fs::read_to_string(client_sandbox.join("stdout"))?;
    assert!(out.starts_with("hello\nhello\n"), "{out}");
    let env: BTreeMap<&str, &str> = out.lines().filter_map(|l| l.split_once('=')).collect();
    assert_eq!(env["MESOS_SANDBOX"], client_sandbox.to_str().unwrap());
    assert_eq!(env["MESOS_TASK_ID"], "pod.client");
    assert_eq!(env["MESOS_EXECUTOR_ID"], "pod.exec");
    assert_eq!(env["MESOS_FRAMEWORK_ID"], sched.framework_id);
    assert_eq!(env["MESOS_CONTAINER_IP"], "127.0.0.1");
    assert!(executor_sandbox.join("volumes/shared/msg").is_file());
    assert!(
        std::fs::symlink_metadata(client_sandbox.join("in"))?
            .file_type()
            .is_symlink()
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(group_alive(server_pid));
    sched.reconcile(&["pod.server"]).await?;
    assert_eq!(sched.next_update().await?.state(), TaskState::TaskRunning);
    // The executor (0.1) and the server (0.01) still hold their cpus.
    await_offered_cpus(&mut sched, 7.89).await?;

    sched.kill("pod.server").await?;
    sched.await_state("pod.server", TaskState::TaskKilled).await?;
    assert!(!group_alive(server_pid));
    await_offered_cpus(&mut sched, 8.0).await?;
    master.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn an_invalid_group_fails_every_task_and_starts_nothing() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let reaper = Reaper::default();
    let (master, mut sched, mut offer) = master_with_offer(dir.path(), framework("t", &[], 60.0), &reaper).await?;
    let agent = offer.agent_id.value.clone();
    let task = |id: &str| shell_task(id, &agent, "sleep 600");
    let exec = || default_executor("bad.exec");

    let custom = ExecutorInfo {
        r#type: Some(executor_info::Type::Custom as i32),
        ..exec()
    };
    let untyped = ExecutorInfo { r#type: None, ..exec() };
    let mut no_command = task("b");
    no_command.command = None;
    let mut own_executor = task("b");
    own_executor.executor = Some(default_executor("other"));
    let mut greedy = task("b");
    greedy.resources = vec![scalar("cpus", 7.95), scalar("mem", 1.0)];
    let mut hungry = exec();
    hungry.resources = vec![scalar("cpus", 0.1), scalar("mem", 16.0), scalar("disk", 10.0)];
    let port = |mut t: TaskInfo| {
        t.resources.push(mesos::v1::Resource {
            name: "ports".into(),
            r#type: mesos::v1::value::Type::Ranges as i32,
            ranges: Some(mesos::v1::value::Ranges {
                range: vec![mesos::v1::value::Range {
                    begin: 31000,
                    end: 31000,
                }],
            }),
            ..Default::default()
        });
        t
    };
    let absolute = mounting(task("b"), "v", "/var/data");
    let cases: Vec<(ExecutorInfo, Vec<TaskInfo>, &str)> = vec![
        (custom, vec![task("a"), task("b")], "CUSTOM executors are not supported"),
        (untyped, vec![task("a"), task("b")], "'ExecutorInfo.type' must be set"),
        (
            exec(),
            vec![task("a"), no_command],
            "Task 'b' is invalid: Task should have",
        ),
        (
            exec(),
            vec![task("a"), task("a")],
            "Task 'a' is invalid: Task has duplicate ID: a",
        ),
        (
            exec(),
            vec![task("a"), own_executor],
            "is different from executor 'bad.exec'",
        ),
        (
            exec(),
            vec![task("a"), greedy],
            "more than the offers hold (at task 'b'): cpus",
        ),
        (
            hungry,
            vec![task("a"), task("b")],
            "uses less memory (16) than the minimum required (32)",
        ),
        (exec(), vec![port(task("a")), port(task("b"))], "(at task 'b'): ports"),
        (exec(), vec![task("a"), absolute], "must be a relative path"),
    ];
    for (executor, tasks, why) in cases {
        let ids: Vec<String> = tasks.iter().map(|t| t.task_id.value.clone()).collect();
        sched.launch_group(&offer, executor, tasks, 0.0).await?;
        for _ in &ids {
            let status = sched.next_update().await?;
            assert!(ids.contains(&status.task_id.value));
            assert_eq!(status.state(), TaskState::TaskError, "{status:?}");
            assert_eq!(status.reason(), Reason::TaskGroupInvalid);
            assert_eq!(status.source(), Source::Master);
            assert!(status.uuid.is_none());
            assert!(
                status.message().contains(why),
                "expected {why:?} in {:?}",
                status.message
            );
        }
        assert!(master.sandbox_dir("a").is_none() && master.sandbox_dir("b").is_none());
        assert!(master.executor_sandbox_dir("bad.exec").is_none());
        offer = sched.next_offers().await?.remove(0);
        assert!((offered(&offer, "cpus") - 8.0).abs() < 1e-9, "nothing is held");
    }
    master.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn a_group_one_task_of_which_cannot_start_runs_not_at_all() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let reaper = Reaper::default();
    let _sweep = Sweep(dir.path().to_owned());
    let (master, mut sched, offer) = master_with_offer(dir.path(), framework("t", &[], 60.0), &reaper).await?;
    let agent = offer.agent_id.value.clone();
    let tasks = vec![
        exec_task("fine", &agent, &["sleep", "600"]),
        exec_task("broken", &agent, &["/no/such/binary"]),
        exec_task("later", &agent, &["sleep", "600"]),
    ];
    sched.launch_group(&offer, default_executor("e"), tasks, 0.0).await?;
    let mut ended = BTreeMap::new();
    while ended.len() < 3 {
        let status = sched.next_update().await?;
        sched.ack(&status).await?;
        assert_eq!(
            status.state(),
            TaskState::TaskFailed,
            "nothing of the group runs: {status:?}"
        );
        assert_eq!(status.reason(), Reason::ContainerLaunchFailed);
        ended.insert(status.task_id.value.clone(), status);
    }
    assert!(
        ended["broken"].message().starts_with("Failed to launch the task: "),
        "{ended:?}"
    );
    for other in ["fine", "later"] {
        let message = ended[other].message();
        assert!(message.contains("task 'broken' could not be started"), "{message}");
    }
    // The task started before the broken one was killed at once.
    if let Some(pid) = ended["fine"].container_status.as_ref().and_then(|c| c.executor_pid) {
        wait_until("the started task is gone", || !group_alive(pid)).await?;
    }
    await_offered_cpus(&mut sched, 8.0).await?;
    master.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn a_failed_task_kills_the_rest_of_its_group_each_with_its_grace() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let reaper = Reaper::default();
    let _sweep = Sweep(dir.path().to_owned());
    let info = framework("t", &[Cap::TaskKillingState], 60.0);
    let (master, mut sched, offer) = master_with_offer(dir.path(), info, &reaper).await?;
    let agent = offer.agent_id.value.clone();
    let tasks = vec![
        shell_task("crasher", &agent, "sleep 2; exit 3"),
        exec_task("plain", &agent, &["sleep", "600"]),
        with_grace(
            shell_task("stubborn", &agent, "trap '' TERM; sleep 600"),
            Duration::from_millis(1500),
        ),
    ];
    sched.launch_group(&offer, default_executor("e"), tasks, 0.0).await?;
    let running = await_all(&mut sched, &["crasher", "plain", "stubborn"], TaskState::TaskRunning).await?;

    let failed = sched.await_state("crasher", TaskState::TaskFailed).await?;
    let failed_at = Instant::now();
    assert_eq!(failed.message(), "Command exited with status 3");
    let killing = await_all(&mut sched, &["plain", "stubborn"], TaskState::TaskKilling).await?;
    assert!(killing.values().all(|s| s.executor_id.as_ref().unwrap().value == "e"));
    let plain = sched.await_state("plain", TaskState::TaskKilled).await?;
    assert_eq!(plain.message(), "Command terminated with signal Terminated");
    let stubborn = sched.await_state("stubborn", TaskState::TaskKilled).await?;
    assert_eq!(stubborn.message(), "Command terminated with signal Killed");
    assert!(
        failed_at.elapsed() >= Duration::from_millis(1400),
        "the stubborn task had its grace period: killed {:?} after the failure",
        failed_at.elapsed()
    );
    for status in running.values() {
        assert!(!group_alive(pid_of(status)));
    }
    await_offered_cpus(&mut sched, 8.0).await?;
    master.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn killing_one_task_kills_its_group_even_while_launching() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let reaper = Reaper::default();
    let _sweep = Sweep(dir.path().to_owned());
    let (master, mut sched, offer) = master_with_offer(dir.path(), framework("t", &[], 60.0), &reaper).await?;
    let agent = offer.agent_id.value.clone();
    let sleeper = |id: &str| exec_task(id, &agent, &["sleep", "600"]);
    sched
        .launch_group(&offer, default_executor("e1"), vec![sleeper("a"), sleeper("b")], 0.0)
        .await?;
    let running = await_all(&mut sched, &["a", "b"], TaskState::TaskRunning).await?;
    sched.kill("a").await?;
    let killed = await_all(&mut sched, &["a", "b"], TaskState::TaskKilled).await?;
    assert_eq!(killed["b"].message(), "Command terminated with signal Terminated");
    assert!(running.values().all(|s| !group_alive(pid_of(s))));

    // Killed right after the ACCEPT, the group dies whole, whether it had started or not.
    let offer = sched.next_offers().await?.remove(0);
    sched
        .launch_group(&offer, default_executor("e2"), vec![sleeper("c"), sleeper("d")], 0.0)
        .await?;
    sched.kill("c").await?;
    let killed = await_all(&mut sched, &["c", "d"], TaskState::TaskKilled).await?;
    let during_launch = killed
        .values()
        .filter(|s| s.reason() == Reason::TaskKilledDuringLaunch)
        .count();
    assert!(during_launch == 0 || during_launch == 2, "{killed:?}");
    for status in killed.values() {
        if let Some(pid) = status.container_status.as_ref().and_then(|c| c.executor_pid) {
            assert!(!group_alive(pid));
        }
    }
    await_offered_cpus(&mut sched, 8.0).await?;
    master.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn health_checks_run_on_the_tasks_of_a_group() -> Result<()> {
    use mesos::v1::health_check::Type;
    use mesos::v1::{CommandInfo, HealthCheck};
    let check = |shell: &str| HealthCheck {
        r#type: Some(Type::Command as i32),
        delay_seconds: Some(0.0),
        interval_seconds: Some(0.2),
        timeout_seconds: Some(2.0),
        grace_period_seconds: Some(0.0),
        consecutive_failures: Some(2),
        command: Some(CommandInfo {
            value: Some(shell.into()),
            ..Default::default()
        }),
        ..Default::default()
    };
    let dir = tempfile::tempdir()?;
    let reaper = Reaper::default();
    let _sweep = Sweep(dir.path().to_owned());
    let (master, mut sched, offer) = master_with_offer(dir.path(), framework("t", &[], 60.0), &reaper).await?;
    let agent = offer.agent_id.value.clone();
    // The check runs with the task's environment; it fails once `sick` appears in the
    // shared volume, which the other task creates after a while.
    let mut healthy = mounting(
        shell_task("healthy", &agent, "sleep 1.5; touch v/sick; sleep 600"),
        "v",
        "v",
    );
    healthy.health_check = Some(check("test \"$MESOS_EXECUTOR_ID\" = e && test ! -e v/sick"));
    let mut other = mounting(exec_task("other", &agent, &["sleep", "600"]), "v", "v");
    other.health_check = Some(check("true"));
    sched
        .launch_group(&offer, default_executor("e"), vec![healthy, other], 0.0)
        .await?;
    let mut health = BTreeMap::new();
    let mut ended = BTreeMap::new();
    while ended.len() < 2 {
        let status = sched.next_update().await?;
        sched.ack(&status).await?;
        let id = status.task_id.value.clone();
        if let Some(h) = status.healthy {
            health.entry(id.clone()).or_insert_with(Vec::new).push(h);
        }
        if is_terminal(status.state()) {
            ended.insert(id, status);
        }
    }
    assert_eq!(health["other"].first(), Some(&true), "{health:?}");
    assert_eq!(health["healthy"].first(), Some(&true), "{health:?}");
    let sick = &ended["healthy"];
    assert_eq!(sick.state(), TaskState::TaskKilled);
    assert_eq!(sick.healthy, Some(false));
    assert!(sick.message().contains("Health check failed"), "{:?}", sick.message);
    assert_eq!(ended["other"].state(), TaskState::TaskKilled);
    master.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn a_group_launches_over_the_http_api_in_protobuf() -> Result<()> {
    use std::sync::Arc;

    use mesos::local::LocalMaster;
    use mesos::{HttpTransport, Transport};

    let dir = tempfile::tempdir()?;
    let reaper = Reaper::default();
    let _sweep = Sweep(dir.path().to_owned());
    let master = LocalMaster::start(config(dir.path())).await?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}", listener.local_addr()?);
    let app = master.http_api();
    tokio::spawn(async move { axum::serve(listener, app).await });
    let transport: Arc<dyn Transport> = Arc::new(HttpTransport::new(&url)?);
    let mut sched = Sched::subscribe(&transport, framework("http", &[Cap::TaskKillingState], 60.0), &reaper).await?;
    let offer = sched.next_offers().await?.remove(0);
    let agent = offer.agent_id.value.clone();
    let tasks = vec![
        mounting(shell_task("h1", &agent, "echo over-http > v/note; sleep 600"), "v", "v"),
        mounting(shell_task("h2", &agent, "sleep 600"), "v", "v"),
    ];
    let executor = with_pod_volume(default_executor("http.exec"), "v");
    sched.launch_group(&offer, executor, tasks, 1.0).await?;
    let running = await_all(&mut sched, &["h1", "h2"], TaskState::TaskRunning).await?;
    assert!(running.values().all(|s| s.uuid.is_some()));
    let note = master.sandbox_dir("h2").unwrap().join("v/note");
    wait_until("h1 writes into the shared volume", || note.is_file()).await?;
    sched.kill("h2").await?;
    let killed = await_all(&mut sched, &["h2", "h1"], TaskState::TaskKilled).await?;
    assert!(killed.values().all(|s| !group_alive(pid_of(s))));
    master.shutdown().await;
    Ok(())
}
