//! The harness's own promise: a dropped server leaves no process behind.

use std::time::Duration;

use anyhow::{Context, Result, ensure};
use pacer_e2e::{PacerServer, process_alive, wait_until};
use serde_json::json;

#[test]
fn dropping_the_server_kills_it_and_its_tasks() -> Result<()> {
    let server = PacerServer::start()?;
    let server_pid = server.pid();
    let r = server.post(
        "/v2/apps",
        &json!({"id": "/orphan", "cmd": "sleep 1000", "cpus": 0.05, "mem": 16, "instances": 2}),
    )?;
    ensure!(r.status == 201, "create: {} {}", r.status, r.body);
    let pids = wait_until(Duration::from_secs(60), || {
        (server.task_ids("/orphan").len() == 2).then(|| server.task_processes("/orphan"))
    })
    .context("two task processes")?;
    let data_dir = server.data_dir();
    drop(server);

    ensure!(!process_alive(server_pid), "server still alive");
    for pid in pids {
        ensure!(!process_alive(pid), "task process {pid} survived the server");
    }
    ensure!(!data_dir.exists(), "data dir left behind");
    Ok(())
}
