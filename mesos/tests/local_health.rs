//! Mesos health checks run by the local agent against real processes: command, HTTP, HTTPS
//! and TCP checks, health flipping both ways, the kill after consecutive failures, and checks
//! resumed for a task re-adopted after a restart.

mod common;

use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use common::*;
use mesos::local::LocalMaster;
use mesos::v1::framework_info::capability::Type as Cap;
use mesos::v1::health_check::{HttpCheckInfo, TcpCheckInfo, Type};
use mesos::v1::task_status::Reason;
use mesos::v1::{CommandInfo, FrameworkId, HealthCheck, TaskInfo, TaskState, TaskStatus};

/// Checks starting at once, every 0.2 s, each allowed 1 s, with no grace period.
fn quick(kind: Type) -> HealthCheck {
    HealthCheck {
        r#type: Some(kind as i32),
        delay_seconds: Some(0.0),
        interval_seconds: Some(0.2),
        timeout_seconds: Some(1.0),
        grace_period_seconds: Some(0.0),
        consecutive_failures: Some(3),
        ..Default::default()
    }
}

fn command_check(shell: &str) -> HealthCheck {
    HealthCheck {
        command: Some(CommandInfo {
            value: Some(shell.into()),
            ..Default::default()
        }),
        ..quick(Type::Command)
    }
}

fn checked(mut task: TaskInfo, check: HealthCheck) -> TaskInfo {
    task.health_check = Some(check);
    task
}

fn free_port() -> Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// Acknowledges updates until one of `task_id` carries `healthy`; fails if the task ends.
async fn await_health(sched: &mut Sched, task_id: &str, healthy: bool) -> Result<TaskStatus> {
    loop {
        let status = sched.next_update().await?;
        sched.ack(&status).await?;
        if status.task_id.value != task_id {
            continue;
        }
        if is_terminal(status.state()) {
            bail!("{task_id} ended in {:?}: {:?}", status.state(), status.message);
        }
        if status.healthy == Some(healthy) {
            assert_eq!(status.state(), TaskState::TaskRunning);
            assert_eq!(status.reason(), Reason::TaskHealthCheckStatusUpdated);
            return Ok(status);
        }
    }
}

#[tokio::test]
async fn a_passing_command_check_reports_the_task_healthy() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let reaper = Reaper::default();
    let (master, mut sched, offer) = master_with_offer(dir.path(), framework("h", &[], 60.0), &reaper).await?;
    let agent = offer.agent_id.value.clone();
    // The check sees the task's environment and runs in its sandbox.
    let task = with_env(exec_task("ok", &agent, &["sleep", "600"]), &[("WANTED", "yes")]);
    let check = command_check("test \"$WANTED\" = yes && test -f stdout && test \"$MESOS_TASK_ID\" = ok");
    sched.launch(&[&offer], vec![checked(task, check)], None).await?;
    let running = sched.await_state("ok", TaskState::TaskRunning).await?;
    assert_eq!(running.healthy, None, "health is unknown until the first check");
    let healthy = await_health(&mut sched, "ok", true).await?;
    assert_eq!(healthy.message, None);

    sched.kill("ok").await?;
    let killed = sched.await_state("ok", TaskState::TaskKilled).await?;
    assert_eq!(killed.healthy, None, "not killed by its health check");
    assert!(!group_alive(pid_of(&running)));
    master.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn consecutive_failures_kill_the_task_unhealthy() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let reaper = Reaper::default();
    let info = framework("h", &[Cap::TaskKillingState], 60.0);
    let (master, mut sched, offer) = master_with_offer(dir.path(), info, &reaper).await?;
    let task = exec_task("sick", &offer.agent_id.value, &["sleep", "600"]);
    sched
        .launch(&[&offer], vec![checked(task, command_check("exit 1"))], None)
        .await?;
    let running = sched.await_state("sick", TaskState::TaskRunning).await?;
    let pid = pid_of(&running);

    // Only changes of health are reported: one unhealthy update, then the kill.
    let mut after = Vec::new();
    loop {
        let status = sched.next_update().await?;
        sched.ack(&status).await?;
        let end = is_terminal(status.state());
        after.push(status);
        if end {
            break;
        }
    }
    let states: Vec<(TaskState, Option<bool>)> = after.iter().map(|s| (s.state(), s.healthy)).collect();
    assert_eq!(
        states,
        [
            (TaskState::TaskRunning, Some(false)),
            (TaskState::TaskKilling, None),
            (TaskState::TaskKilled, Some(false)),
        ]
    );
    assert_eq!(after[0].message(), "Health check command: Command exited with status 1");
    assert_eq!(
        after[2].message(),
        "Health check failed 3 times consecutively; Command terminated with signal Terminated"
    );
    wait_until("the task's process group is gone", || !group_alive(pid)).await?;
    master.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn failures_in_the_grace_period_do_not_kill() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let reaper = Reaper::default();
    let (master, mut sched, offer) = master_with_offer(dir.path(), framework("h", &[], 60.0), &reaper).await?;
    let task = exec_task("slow", &offer.agent_id.value, &["sleep", "600"]);
    let check = HealthCheck {
        grace_period_seconds: Some(2.0),
        consecutive_failures: Some(1),
        ..command_check("exit 1")
    };
    let launched = Instant::now();
    sched.launch(&[&offer], vec![checked(task, check)], None).await?;
    let unhealthy = await_health(&mut sched, "slow", false).await?;
    assert!(
        launched.elapsed() >= Duration::from_secs(2),
        "a failure counted {:?} after the launch",
        launched.elapsed()
    );
    let killed = sched.await_state("slow", TaskState::TaskKilled).await?;
    assert_eq!(killed.healthy, Some(false));
    assert!(!group_alive(pid_of(&unhealthy)));
    master.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn http_https_and_tcp_checks_reach_the_task() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let reaper = Reaper::default();
    let (master, mut sched, offer) = master_with_offer(dir.path(), framework("h", &[], 60.0), &reaper).await?;
    let agent = offer.agent_id.value.clone();
    // Python takes a moment to listen: the grace period covers it.
    let patient = |check: HealthCheck| HealthCheck {
        grace_period_seconds: Some(20.0),
        ..check
    };
    let http_port = free_port()?;
    let web = shell_task(
        "web",
        &agent,
        &format!("exec python3 -m http.server {http_port} --bind 127.0.0.1"),
    );
    let http = HealthCheck {
        http: Some(HttpCheckInfo {
            port: http_port.into(),
            path: Some("/stdout".into()),
            ..Default::default()
        }),
        ..quick(Type::Http)
    };
    let tls_port = free_port()?;
    let serve_tls = format!(
        "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 -subj /CN=test \
         -keyout key.pem -out cert.pem 2>/dev/null && exec python3 -c '
import http.server, ssl
server = http.server.HTTPServer((\"127.0.0.1\", {tls_port}), http.server.SimpleHTTPRequestHandler)
context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
context.load_cert_chain(\"cert.pem\", \"key.pem\")
server.socket = context.wrap_socket(server.socket, server_side=True)
server.serve_forever()'"
    );
    let https = HealthCheck {
        http: Some(HttpCheckInfo {
            port: tls_port.into(),
            scheme: Some("https".into()),
            ..Default::default()
        }),
        ..quick(Type::Http)
    };
    let tcp_port = free_port()?;
    let listener = shell_task(
        "listener",
        &agent,
        &format!("exec python3 -m http.server {tcp_port} --bind 127.0.0.1"),
    );
    let tcp = HealthCheck {
        tcp: Some(TcpCheckInfo {
            port: tcp_port.into(),
            protocol: None,
        }),
        ..quick(Type::Tcp)
    };
    let tasks = vec![
        checked(web, patient(http)),
        checked(shell_task("secure", &agent, &serve_tls), patient(https)),
        checked(listener, patient(tcp)),
    ];
    sched.launch(&[&offer], tasks, None).await?;
    let mut healthy = std::collections::BTreeSet::new();
    while healthy.len() < 3 {
        let status = sched.next_update().await?;
        sched.ack(&status).await?;
        if is_terminal(status.state()) {
            bail!("{} ended: {:?}", status.task_id.value, status.message);
        }
        match status.healthy {
            Some(true) => {
                healthy.insert(status.task_id.value.clone());
            }
            Some(false) => bail!("{} unhealthy: {:?}", status.task_id.value, status.message),
            None => {}
        }
    }
    for task in ["web", "secure", "listener"] {
        sched.kill(task).await?;
        sched.await_state(task, TaskState::TaskKilled).await?;
    }
    master.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn health_flips_both_ways_as_the_check_does() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let reaper = Reaper::default();
    let (master, mut sched, offer) = master_with_offer(dir.path(), framework("h", &[], 60.0), &reaper).await?;
    let task = exec_task("flag", &offer.agent_id.value, &["sleep", "600"]);
    let check = HealthCheck {
        consecutive_failures: Some(1000),
        ..command_check("test -f flag")
    };
    sched.launch(&[&offer], vec![checked(task, check)], None).await?;
    await_health(&mut sched, "flag", false).await?;
    let flag = master.sandbox_dir("flag").expect("sandbox").join("flag");
    std::fs::write(&flag, "")?;
    await_health(&mut sched, "flag", true).await?;
    std::fs::remove_file(&flag)?;
    let unhealthy = await_health(&mut sched, "flag", false).await?;
    assert!(group_alive(pid_of(&unhealthy)), "failures below the limit do not kill");
    sched.kill("flag").await?;
    sched.await_state("flag", TaskState::TaskKilled).await?;
    master.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn a_re_adopted_task_is_checked_again() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let reaper = Reaper::default();
    let info = framework("h", &[], 3600.0);
    let (master, mut sched, offer) = master_with_offer(dir.path(), info.clone(), &reaper).await?;
    let task = exec_task("kept", &offer.agent_id.value, &["sleep", "600"]);
    let check = HealthCheck {
        consecutive_failures: Some(1000),
        ..command_check("test -f flag")
    };
    sched.launch(&[&offer], vec![checked(task, check)], None).await?;
    let unhealthy = await_health(&mut sched, "kept", false).await?;
    let flag = master.sandbox_dir("kept").expect("sandbox").join("flag");
    let id = sched.framework_id.clone();
    drop(sched);
    master.shutdown().await;

    std::fs::write(&flag, "")?;
    let master = LocalMaster::start(config(dir.path())).await?;
    let info = mesos::v1::FrameworkInfo {
        id: Some(FrameworkId { value: id }),
        ..info
    };
    let mut sched = Sched::subscribe(&master.transport(), info, &reaper).await?;
    let healthy = await_health(&mut sched, "kept", true).await?;
    assert_eq!(pid_of(&healthy), pid_of(&unhealthy), "the same process");
    sched.kill("kept").await?;
    sched.await_state("kept", TaskState::TaskKilled).await?;
    master.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn a_check_the_agent_cannot_run_leaves_the_task_running() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let reaper = Reaper::default();
    let (master, mut sched, offer) = master_with_offer(dir.path(), framework("h", &[], 60.0), &reaper).await?;
    let task = exec_task("unchecked", &offer.agent_id.value, &["sleep", "600"]);
    // HTTP without `http`: warned about, not run.
    sched
        .launch(&[&offer], vec![checked(task, quick(Type::Http))], None)
        .await?;
    let running = sched.await_state("unchecked", TaskState::TaskRunning).await?;
    let quiet = tokio::time::timeout(Duration::from_secs(1), sched.next_update()).await;
    assert!(quiet.is_err(), "no health update: {quiet:?}");
    assert!(group_alive(pid_of(&running)));
    sched.kill("unchecked").await?;
    sched.await_state("unchecked", TaskState::TaskKilled).await?;
    master.shutdown().await;
    Ok(())
}
