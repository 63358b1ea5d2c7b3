//! A resident app (a persistent volume) through the real binary: its task writes into the
//! volume each time it starts; the data outlives killed tasks, a scale down and up, and a
//! restart of the server, all on the same reservation and directory; `wipe=true` destroys the
//! volume and a new instance starts on an empty one; deleting the app destroys the volume and
//! gives the reserved resources back to everyone.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result, ensure};
use pacer_e2e::{PacerServer, wait_until};
use serde_json::{Value, json};

const LAUNCH: Duration = Duration::from_secs(90);

/// One agent with a single cpu: a resident task's half of it stays reserved while it lives.
fn one_agent((begin, end): (u64, u64)) -> String {
    format!("- hostname: vol-agent\n  resources: {{cpus: 1, mem: 1024, disk: 2000, ports: \"[{begin}-{end}]\"}}\n")
}

fn resident_app() -> Value {
    json!({
        "id": "/pv", "instances": 1, "cpus": 0.5, "mem": 32, "role": "pacer",
        "cmd": "echo start >> data/log && sleep 1000",
        "container": {"type": "MESOS", "volumes": [
            {"containerPath": "data", "mode": "RW", "persistent": {"size": 64}}
        ]}
    })
}

/// The one running task of `/pv` that is not `not`, once it runs with a live process.
fn running_task(server: &PacerServer, not: Option<&str>) -> Result<Value> {
    wait_until(LAUNCH, || {
        let r = server.get("/v2/apps/pv/tasks").ok()?;
        let tasks = r.body["tasks"].as_array()?.clone();
        let t = tasks
            .into_iter()
            .find(|t| t["state"] == "TASK_RUNNING" && t["id"].as_str() != not)?;
        server.task_ids("/pv").contains(t["id"].as_str()?).then_some(t)
    })
    .with_context(|| format!("a running task of /pv other than {not:?}\n{}", server.log()))
}

/// The persistence id of `task`'s one volume, checked to be at `data`.
fn persistence_id(task: &Value) -> Result<String> {
    let volumes = task["localVolumes"].as_array().context("localVolumes")?;
    ensure!(volumes.len() == 1, "one local volume: {task}");
    ensure!(volumes[0]["containerPath"] == "data", "{task}");
    let id = volumes[0]["persistenceId"].as_str().context("persistenceId")?;
    ensure!(id.starts_with("pv#data#"), "Marathon's persistence id form: {id}");
    Ok(id.to_string())
}

fn volume_dir(server: &PacerServer, id: &str) -> PathBuf {
    server.data_dir().join("mesos/vol-agent/volumes/roles/pacer").join(id)
}

/// Waits until the volume's log has `n` lines (each start of a task adds one).
fn log_lines(server: &PacerServer, id: &str, n: usize) -> Result<()> {
    let path = volume_dir(server, id).join("log");
    wait_until(LAUNCH, || {
        let text = std::fs::read_to_string(&path).ok()?;
        (text.lines().count() == n && text.lines().all(|l| l == "start")).then_some(())
    })
    .with_context(|| {
        format!(
            "{} should hold {n} lines, has {:?}\n{}",
            path.display(),
            std::fs::read_to_string(&path),
            server.log()
        )
    })
}

/// Waits until no deployment runs (a scale is done once its instances are stopped).
fn deployments_done(server: &PacerServer) -> Result<()> {
    wait_until(LAUNCH, || {
        let r = server.get("/v2/deployments").ok()?;
        r.body.as_array()?.is_empty().then_some(())
    })
    .with_context(|| format!("deployments should finish\n{}", server.log()))
}

fn kill(server: &PacerServer, task: &Value, query: &str) -> Result<()> {
    let id = task["id"].as_str().context("task id")?;
    let r = server.delete(&format!("/v2/apps/pv/tasks/{id}{query}"))?;
    ensure!(r.status == 200, "kill {id}{query}: {} {}", r.status, r.body);
    Ok(())
}

#[test]
fn a_persistent_volume_keeps_its_data_until_wiped_or_deleted() -> Result<()> {
    let mut server = PacerServer::start_with_agents(one_agent, &["--mesos-role", "pacer"])?;
    let r = server.post("/v2/apps", &resident_app())?;
    ensure!(r.status == 201, "create: {} {}", r.status, r.body);

    let first = running_task(&server, None)?;
    let volume = persistence_id(&first)?;
    log_lines(&server, &volume, 1)?;
    let sandbox = server
        .data_dir()
        .join("mesos/vol-agent/sandboxes")
        .join(first["id"].as_str().context("id")?);
    ensure!(
        std::fs::read_link(sandbox.join("data"))?.ends_with(format!("roles/pacer/{volume}")),
        "the task sees its volume at data/ in its sandbox"
    );

    // A killed task is relaunched on the same reservation: the data is still there.
    kill(&server, &first, "")?;
    let second = running_task(&server, first["id"].as_str())?;
    ensure!(persistence_id(&second)? == volume, "same volume: {second}");
    ensure!(
        second["host"] == "vol-agent" && second["ports"] == first["ports"],
        "pinned: {second}"
    );
    log_lines(&server, &volume, 2)?;

    // Scaled down, the instance keeps its reservation and volume; scaled up, it resumes there.
    let r = server.put("/v2/apps/pv", &json!({"instances": 0}))?;
    ensure!(r.status == 200, "scale down: {} {}", r.status, r.body);
    wait_until(LAUNCH, || server.task_ids("/pv").is_empty().then_some(()))
        .with_context(|| format!("the task should stop\n{}", server.log()))?;
    ensure!(
        volume_dir(&server, &volume).join("log").is_file(),
        "a stopped instance keeps its volume"
    );
    deployments_done(&server)?;
    let r = server.put("/v2/apps/pv", &json!({"instances": 1}))?;
    ensure!(r.status == 200, "scale up: {} {}", r.status, r.body);
    let third = running_task(&server, second["id"].as_str())?;
    ensure!(
        persistence_id(&third)? == volume,
        "the stopped instance resumed: {third}"
    );
    log_lines(&server, &volume, 3)?;

    // A restart of the server keeps the task, its reservation and its volume.
    server.restart()?;
    let same = running_task(&server, None)?;
    ensure!(same["id"] == third["id"], "still running after the restart: {same}");
    kill(&server, &same, "")?;
    let fourth = running_task(&server, same["id"].as_str())?;
    ensure!(persistence_id(&fourth)? == volume);
    log_lines(&server, &volume, 4)?;

    // wipe=true destroys the volume; a new instance starts on a new, empty one.
    kill(&server, &fourth, "?wipe=true")?;
    wait_until(LAUNCH, || (!volume_dir(&server, &volume).exists()).then_some(()))
        .with_context(|| format!("the wiped volume's directory should go\n{}", server.log()))?;
    let fresh = running_task(&server, fourth["id"].as_str())?;
    let new_volume = persistence_id(&fresh)?;
    ensure!(new_volume != volume, "a new volume for the new instance");
    log_lines(&server, &new_volume, 1)?;

    // Deleting the app destroys its volume and unreserves its resources: an app needing more
    // than the unreserved half of the agent's cpu runs afterwards.
    deployments_done(&server)?;
    let r = server.delete("/v2/apps/pv")?;
    ensure!(r.status == 200, "delete: {} {}", r.status, r.body);
    wait_until(LAUNCH, || (!volume_dir(&server, &new_volume).exists()).then_some(()))
        .with_context(|| format!("the deleted app's volume should go\n{}", server.log()))?;
    wait_until(LAUNCH, || server.task_ids("/pv").is_empty().then_some(())).context("no task of /pv is left")?;
    let big = json!({"id": "/big", "cmd": "sleep 1000", "cpus": 0.9, "mem": 16, "instances": 1});
    let r = server.post("/v2/apps", &big)?;
    ensure!(r.status == 201, "create /big: {} {}", r.status, r.body);
    wait_until(LAUNCH, || (!server.task_ids("/big").is_empty()).then_some(()))
        .with_context(|| format!("/big should run on the unreserved cpu\n{}", server.log()))?;
    Ok(())
}

#[test]
fn a_resident_app_needs_a_role_of_its_own() -> Result<()> {
    let server = PacerServer::start()?;
    let mut app = resident_app();
    app["role"] = json!("*");
    let r = server.post("/v2/apps", &app)?;
    ensure!(r.status == 422, "{} {}", r.status, r.body);
    ensure!(
        r.body.to_string().contains("Resident apps cannot have the role *"),
        "{}",
        r.body
    );
    Ok(())
}
