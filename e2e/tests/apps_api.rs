//! The apps API of the real server, checked against Marathon's documented behaviour and
//! against the processes it runs.

use std::collections::BTreeSet;
use std::time::Duration;

use anyhow::{Context, Result, ensure};
use pacer_e2e::{PacerServer, process_alive, wait_until};
use serde_json::{Value, json};

const LAUNCH: Duration = Duration::from_secs(60);

fn task_ids_from_api(server: &PacerServer, app: &str) -> Result<BTreeSet<String>> {
    let r = server.get(&format!("/v2/apps{app}/tasks"))?;
    ensure!(r.status == 200, "GET tasks: {} {}", r.status, r.body);
    let tasks = r.body["tasks"].as_array().context("no tasks array")?;
    Ok(tasks
        .iter()
        .filter_map(|t| t["id"].as_str().map(String::from))
        .collect())
}

fn wait_for_tasks(server: &PacerServer, app: &str, n: usize) -> Result<BTreeSet<String>> {
    wait_until(LAUNCH, || {
        let ids = server.task_ids(app);
        (ids.len() == n).then_some(ids)
    })
    .with_context(|| format!("{app}: {n} task processes, have {:?}", server.task_ids(app)))
}

fn wait_no_deployments(server: &PacerServer) -> Result<()> {
    wait_until(LAUNCH, || {
        let r = server.get("/v2/deployments").ok()?;
        (r.status == 200 && r.body.as_array().is_some_and(Vec::is_empty)).then_some(())
    })
    .with_context(|| {
        format!(
            "deployments still running: {:?}",
            server.get("/v2/deployments").map(|r| r.body)
        )
    })
}

#[test]
fn create_scale_kill_and_delete_an_app() -> Result<()> {
    let server = PacerServer::start()?;
    let app = json!({"id": "/life", "cmd": "sleep 1000", "cpus": 0.05, "mem": 16, "instances": 2});

    let r = server.post("/v2/apps", &app)?;
    ensure!(r.status == 201, "create: {} {}", r.status, r.body);
    let deployment = r
        .header("Marathon-Deployment-Id")
        .context("no Marathon-Deployment-Id header")?
        .to_string();
    ensure!(r.body["id"] == "/life" && r.body["instances"] == 2, "body: {}", r.body);
    ensure!(r.body["version"].is_string(), "no version: {}", r.body);
    ensure!(
        r.body["mem"] == 16.0 && r.body["disk"] == 0.0,
        "defaults not filled: {}",
        r.body
    );
    ensure!(
        r.body["deployments"]
            .as_array()
            .is_some_and(|d| d.iter().any(|d| d["id"] == deployment.as_str())),
        "deployments of the new app should name {deployment}: {}",
        r.body
    );

    // Two real processes, and the API reports the same tasks.
    let first = wait_for_tasks(&server, "/life", 2)?;
    wait_until(LAUNCH, || {
        (task_ids_from_api(&server, "/life").ok()? == first).then_some(())
    })
    .context("API tasks should match the processes")?;
    wait_no_deployments(&server)?;
    let r = server.get("/v2/apps/life")?;
    ensure!(r.status == 200 && r.body["app"]["tasksRunning"] == 2, "{}", r.body);

    // Scaling up keeps the running tasks.
    let r = server.put("/v2/apps/life", &json!({"instances": 3}))?;
    ensure!(
        r.status == 200 && r.body["deploymentId"].is_string(),
        "scale: {} {}",
        r.status,
        r.body
    );
    let scaled = wait_for_tasks(&server, "/life", 3)?;
    ensure!(
        first.is_subset(&scaled),
        "scaling restarted tasks: {first:?} -> {scaled:?}"
    );
    wait_no_deployments(&server)?;

    // Killing a task (no scale) replaces it: the count stays, the id changes.
    let victim = scaled.iter().next().context("no task")?.clone();
    let victim_pids = server
        .task_processes("/life")
        .into_iter()
        .filter(|pid| std::fs::read(format!("/proc/{pid}/environ")).is_ok_and(|e| contains(&e, &victim)))
        .collect::<Vec<_>>();
    ensure!(!victim_pids.is_empty(), "no process for {victim}");
    let r = server.delete(&format!("/v2/apps/life/tasks/{victim}"))?;
    ensure!(
        r.status == 200 && r.body["task"]["id"] == victim.as_str(),
        "kill: {} {}",
        r.status,
        r.body
    );
    wait_until(LAUNCH, || victim_pids.iter().all(|p| !process_alive(*p)).then_some(()))
        .context("killed task's processes should end")?;
    let replaced = wait_until(LAUNCH, || {
        let ids = server.task_ids("/life");
        (ids.len() == 3 && !ids.contains(&victim)).then_some(ids)
    })
    .context("a replacement task should start")?;
    ensure!(replaced.len() == 3);

    // Deleting stops everything and forgets the app.
    let r = server.delete("/v2/apps/life")?;
    ensure!(
        r.status == 200 && r.body["deploymentId"].is_string(),
        "delete: {} {}",
        r.status,
        r.body
    );
    wait_until(LAUNCH, || server.task_processes("/life").is_empty().then_some(()))
        .context("processes should be gone after delete")?;
    wait_until(LAUNCH, || {
        (server.get("/v2/apps/life").ok()?.status == 404).then_some(())
    })?;
    let r = server.get("/v2/apps/life")?;
    ensure!(r.body["message"] == "App '/life' does not exist", "{}", r.body);
    Ok(())
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle.as_bytes())
}

#[test]
fn put_creates_and_an_identical_put_keeps_the_tasks() -> Result<()> {
    let server = PacerServer::start()?;
    let app = json!({"id": "/same", "cmd": "sleep 1000", "cpus": 0.05, "mem": 16});
    let r = server.put("/v2/apps/same", &app)?;
    ensure!(r.status == 201, "PUT of a new app creates it: {} {}", r.status, r.body);
    let before = wait_for_tasks(&server, "/same", 1)?;
    wait_no_deployments(&server)?;

    let r = server.put("/v2/apps/same?partialUpdate=false", &app)?;
    ensure!(r.status == 200, "identical PUT: {} {}", r.status, r.body);
    wait_no_deployments(&server)?;
    std::thread::sleep(Duration::from_secs(1));
    ensure!(
        server.task_ids("/same") == before,
        "an identical PUT must not restart tasks"
    );

    let r = server.put("/v2/apps/same", &json!({"cmd": "sleep 1001"}))?;
    ensure!(r.status == 200, "config change: {} {}", r.status, r.body);
    wait_until(LAUNCH, || {
        let ids = server.task_ids("/same");
        (ids.len() == 1 && ids.is_disjoint(&before)).then_some(())
    })
    .context("a new cmd replaces the task")?;
    let versions = server.get("/v2/apps/same/versions")?;
    ensure!(
        versions.body["versions"].as_array().is_some_and(|v| v.len() >= 2),
        "{}",
        versions.body
    );
    Ok(())
}

#[test]
fn bad_requests_get_marathon_errors() -> Result<()> {
    let server = PacerServer::start()?;

    let r = server.post("/v2/apps", &json!({"id": "/nothing"}))?;
    ensure!(
        r.status == 422,
        "app without cmd/args/container: {} {}",
        r.status,
        r.body
    );
    ensure!(
        r.body["message"].is_string() && r.body["details"].is_array(),
        "{}",
        r.body
    );

    for bad in [
        json!({"cpus": -1}),
        json!({"mem": -128}),
        json!({"instances": -1}),
        json!({"instances": 0.1}),
    ] {
        let mut app = json!({"id": "/bad", "cmd": "sleep 1"});
        app.as_object_mut()
            .context("object")?
            .extend(bad.as_object().context("object")?.clone());
        let r = server.post("/v2/apps", &app)?;
        ensure!(r.status == 422, "{bad}: {} {}", r.status, r.body);
        let paths: Vec<&str> = r.body["details"]
            .as_array()
            .map(|d| d.iter().filter_map(|d| d["path"].as_str()).collect())
            .unwrap_or_default();
        let field = bad
            .as_object()
            .and_then(|o| o.keys().next().cloned())
            .unwrap_or_default();
        ensure!(
            paths.contains(&format!("/{field}").as_str()),
            "{bad}: details should name /{field}: {}",
            r.body
        );
    }

    let r = server.post("/v2/apps", &json!({"id": "/Upper", "cmd": "sleep 1"}))?;
    ensure!(r.status == 422, "uppercase id: {} {}", r.status, r.body);

    let app = json!({"id": "/dup", "cmd": "sleep 1000", "cpus": 0.05, "mem": 16, "instances": 0});
    ensure!(server.post("/v2/apps", &app)?.status == 201);
    let r = server.post("/v2/apps", &app)?;
    ensure!(r.status == 409, "duplicate: {} {}", r.status, r.body);
    ensure!(
        r.body["message"] == "An app with id [/dup] already exists.",
        "{}",
        r.body
    );

    let r = server.get("/v2/apps/missing")?;
    ensure!(
        r.status == 404 && r.body["message"] == "App '/missing' does not exist",
        "{} {}",
        r.status,
        r.body
    );
    let r = server.patch("/v2/apps/missing", &json!({"instances": 1}))?;
    ensure!(r.status == 404, "PATCH of an unknown app: {} {}", r.status, r.body);
    Ok(())
}

#[test]
fn ping_info_and_empty_lists() -> Result<()> {
    let server = PacerServer::start()?;
    let r = server.get("/v2/info")?;
    ensure!(
        r.status == 200 && r.body["name"].is_string() && r.body["elected"] == true,
        "{}",
        r.body
    );
    let r = server.get("/v2/apps")?;
    ensure!(r.status == 200 && r.body == json!({"apps": []}), "{}", r.body);
    let r = server.get("/v2/tasks")?;
    ensure!(r.status == 200 && r.body == json!({"tasks": []}), "{}", r.body);
    let r = server.get("/v2/deployments")?;
    ensure!(r.status == 200 && r.body == Value::Array(vec![]), "{}", r.body);
    Ok(())
}

#[test]
fn old_versions_are_pruned_beyond_the_configured_count() -> Result<()> {
    let server = PacerServer::start_with(&["--max-versions", "2"])?;
    let app = json!({"id": "/pruned", "cmd": "sleep 1000", "cpus": 0.05, "mem": 16, "instances": 0});
    ensure!(server.post("/v2/apps", &app)?.status == 201);
    for n in 1..=3 {
        let r = server.put("/v2/apps/pruned?force=true", &json!({"env": {"N": n.to_string()}}))?;
        ensure!(r.status == 200, "update {n}: {} {}", r.status, r.body);
    }
    let r = server.get("/v2/apps/pruned/versions")?;
    let versions = r.body["versions"].as_array().context("versions")?;
    ensure!(versions.len() == 2, "kept {versions:?}");
    let current = server.get("/v2/apps/pruned")?.body["app"]["version"].clone();
    ensure!(versions.contains(&current), "the current version is always kept");
    Ok(())
}
