//! The server can stop, crash and come back: apps survive, and the local agent re-adopts the
//! task processes it launched, so none is orphaned or doubled. A task whose process dies is
//! replaced, with launch backoff.

use std::collections::BTreeSet;
use std::time::Duration;

use anyhow::{Context, Result, ensure};
use nix::sys::signal::{Signal, kill};
use pacer_e2e::{PacerServer, process_alive, wait_until};
use serde_json::json;

const LAUNCH: Duration = Duration::from_secs(30);

fn pids(server: &PacerServer, app: &str) -> BTreeSet<i32> {
    server.task_processes(app).into_iter().map(|p| p.as_raw()).collect()
}

fn running(server: &PacerServer, app: &str, n: usize) -> Result<BTreeSet<String>> {
    wait_until(LAUNCH, || {
        let ids = server.task_ids(app);
        let r = server.get(&format!("/v2/apps{app}")).ok()?;
        (ids.len() == n && r.body["app"]["tasksRunning"] == n).then_some(ids)
    })
    .with_context(|| format!("{app} should run {n} tasks\n{}", server.log()))
}

#[test]
fn sigterm_then_kill9_keep_apps_and_readopt_their_processes() -> Result<()> {
    let mut server = PacerServer::start()?;
    let r = server.post(
        "/v2/apps",
        &json!({"id": "/keep", "cmd": "sleep 1000", "cpus": 0.05, "mem": 16, "instances": 3}),
    )?;
    ensure!(r.status == 201, "{} {}", r.status, r.body);
    let tasks = running(&server, "/keep", 3)?;
    let before = pids(&server, "/keep");

    for signal in [Signal::SIGTERM, Signal::SIGKILL] {
        server.stop_server_only(signal)?;
        ensure!(
            pids(&server, "/keep") == before,
            "tasks must outlive the server ({signal})"
        );
        server.restart()?;
        // Same tasks, same processes: re-adopted, not relaunched, and nothing doubled.
        let after = running(&server, "/keep", 3)?;
        ensure!(
            after == tasks,
            "tasks changed over a {signal} restart: {tasks:?} -> {after:?}"
        );
        std::thread::sleep(Duration::from_secs(2));
        ensure!(
            pids(&server, "/keep") == before,
            "processes changed over a {signal} restart"
        );
    }

    // A re-adopted task can still be killed, and the app can still be deleted.
    let r = server.delete("/v2/apps/keep")?;
    ensure!(r.status == 200, "{} {}", r.status, r.body);
    wait_until(LAUNCH, || server.task_processes("/keep").is_empty().then_some(()))
        .context("deleting the app should kill its re-adopted processes")?;
    ensure!(before.iter().all(|p| !process_alive(nix::unistd::Pid::from_raw(*p))));
    Ok(())
}

#[test]
fn a_task_killed_by_hand_is_replaced_with_backoff() -> Result<()> {
    let server = PacerServer::start()?;
    let app = json!({"id": "/phoenix", "cmd": "sleep 1000", "cpus": 0.05, "mem": 16, "instances": 1,
                     "backoffSeconds": 2, "backoffFactor": 2.0});
    ensure!(server.post("/v2/apps", &app)?.status == 201);
    let first = running(&server, "/phoenix", 1)?;

    // SIGKILL from outside is a failure (TASK_FAILED), so the relaunch waits out the backoff.
    for pid in server.task_processes("/phoenix") {
        kill(pid, Signal::SIGKILL)?;
    }
    let killed_at = std::time::Instant::now();
    wait_until(LAUNCH, || {
        let ids = server.task_ids("/phoenix");
        let r = server.get("/v2/apps/phoenix").ok()?;
        (ids.len() == 1 && ids != first && r.body["app"]["tasksRunning"] == 1).then_some(())
    })
    .with_context(|| format!("a new task should replace {first:?}\n{}", server.log()))?;
    let waited = killed_at.elapsed();
    ensure!(
        waited >= Duration::from_millis(1500),
        "relaunched after {waited:?}, before the 2 s backoff"
    );

    let r = server.get("/v2/apps/phoenix")?;
    let failure = &r.body["app"]["lastTaskFailure"];
    ensure!(failure["state"] == "TASK_FAILED", "lastTaskFailure: {failure}");
    Ok(())
}
