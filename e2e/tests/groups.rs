//! Groups through the real binary: dependencies order a group's deployment (a dependency runs
//! and is healthy before what depends on it starts), and deleting the group stops everything.

use std::time::Duration;

use anyhow::{Context, Result, ensure};
use pacer_e2e::{PacerServer, wait_until};
use serde_json::{Value, json};

const LAUNCH: Duration = Duration::from_secs(90);

fn web(id: &str, deps: &[&str]) -> Value {
    json!({
        "id": id, "cmd": "python3 -m http.server $PORT0", "cpus": 0.05, "mem": 32,
        "portDefinitions": [{"port": 0}], "dependencies": deps,
        "healthChecks": [{"protocol": "HTTP", "path": "/", "intervalSeconds": 1, "gracePeriodSeconds": 60}],
    })
}

fn staged_at(server: &PacerServer, app: &str) -> Option<String> {
    let r = server.get(&format!("/v2/apps{app}/tasks")).ok()?;
    r.body["tasks"][0]["stagedAt"].as_str().map(String::from)
}

#[test]
fn a_group_deploys_dependencies_first_and_is_deleted_whole() -> Result<()> {
    let server = PacerServer::start()?;
    let group = json!({"id": "/g", "apps": [web("/g/a", &["/g/b"]), web("/g/b", &["/g/c"]), web("/g/c", &[])]});
    let r = server.put("/v2/groups/g", &group)?;
    ensure!(r.status == 200 || r.status == 201, "PUT group: {} {}", r.status, r.body);
    let [a, b, c] = wait_until(LAUNCH, || {
        let done = server.get("/v2/deployments").ok()?.body.as_array()?.is_empty();
        let times = [
            staged_at(&server, "/g/a")?,
            staged_at(&server, "/g/b")?,
            staged_at(&server, "/g/c")?,
        ];
        done.then_some(times)
    })
    .context("the group did not deploy")?;
    // Timestamps share one format, so they order as strings.
    ensure!(c < b && b < a, "started out of dependency order: c {c}, b {b}, a {a}");

    let r = server.delete("/v2/groups/g")?;
    ensure!(r.status == 200, "DELETE group: {} {}", r.status, r.body);
    wait_until(LAUNCH, || {
        ["/g/a", "/g/b", "/g/c"]
            .iter()
            .all(|app| server.task_processes(app).is_empty())
            .then_some(())
    })
    .context("the group's tasks still run")?;
    ensure!(server.get("/v2/groups/g")?.status == 404);
    Ok(())
}

/// When a process started, in clock ticks since boot (`/proc/<pid>/stat`, field 22).
fn started(pid: pacer_e2e::Pid) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may hold spaces; the fields after it are plain.
    let rest = &stat[stat.rfind(')')? + 2..];
    rest.split(' ').nth(19)?.parse().ok()
}

fn earliest_start(server: &PacerServer, id: &str) -> Option<u64> {
    server.task_processes(id).into_iter().filter_map(started).min()
}

fn condition(group: &Value, kind: &str) -> Option<String> {
    let c = group["conditions"].as_array()?.iter().find(|c| c["type"] == kind)?;
    c["status"].as_str().map(String::from)
}

/// A pod in a subgroup that depends on the group of an app: one PUT, one deployment, the app
/// running and healthy before the pod's containers start; the group's status goes from
/// Progressing to Available; DELETE of the group ends both.
#[test]
fn a_groups_pod_starts_after_the_app_it_depends_on_and_goes_with_the_group() -> Result<()> {
    let server = PacerServer::start()?;
    let pod = json!({"id": "worker", "containers": [
        {"name": "a", "resources": {"cpus": 0.05, "mem": 16}, "exec": {"command": {"shell": "sleep 1000"}}},
        {"name": "b", "resources": {"cpus": 0.05, "mem": 16}, "exec": {"command": {"shell": "sleep 1000"}}}]});
    let group = json!({"id": "/shop", "groups": [
        {"id": "back", "apps": [web("db", &[])]},
        {"id": "front", "dependencies": ["../back"], "pods": [pod]}]});

    let plan = server.put("/v2/groups/shop?dryRun=true", &group)?;
    ensure!(plan.status == 200, "dry run: {} {}", plan.status, plan.body);
    // Each step as its actions, `<action> <id>`.
    let steps: Vec<Vec<String>> = plan.body["steps"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|s| {
            let actions = s["actions"].as_array().cloned().unwrap_or_default();
            actions
                .iter()
                .map(|a| {
                    let id = a["app"].as_str().or(a["pod"].as_str()).unwrap_or("");
                    format!("{} {id}", a["action"].as_str().unwrap_or(""))
                })
                .collect()
        })
        .collect();
    let step_of = |action: &str| steps.iter().position(|s| s.iter().any(|a| a == action));
    let (app_step, pod_step) = (
        step_of("ScaleApplication /shop/back/db"),
        step_of("ScalePod /shop/front/worker"),
    );
    ensure!(
        app_step.is_some() && app_step < pod_step,
        "the plan scales the pod in a step after the app's: {steps:?}"
    );
    ensure!(server.get("/v2/groups/shop")?.status == 404, "a dry run writes nothing");

    let r = server.put("/v2/groups/shop", &group)?;
    ensure!(r.status == 200, "PUT group: {} {}", r.status, r.body);
    let status = server.get("/v2/groups/shop?embed=group.status")?.body;
    ensure!(
        condition(&status, "Progressing").as_deref() == Some("True")
            && status["generation"] != status["observedGeneration"],
        "a deploying group is progressing: {status}"
    );

    let (db, worker) = wait_until(LAUNCH, || {
        (server.task_ids("/shop/front/worker").len() == 2).then_some(())?;
        Some((
            earliest_start(&server, "/shop/back/db")?,
            earliest_start(&server, "/shop/front/worker")?,
        ))
    })
    .with_context(|| format!("the group did not deploy\n{}", server.log()))?;
    ensure!(
        db < worker,
        "the pod started before the app it depends on: db {db}, worker {worker}"
    );

    let status = wait_until(LAUNCH, || {
        let g = server.get("/v2/groups/shop?embed=group.status").ok()?.body;
        (condition(&g, "Available").as_deref() == Some("True")
            && condition(&g, "Progressing").as_deref() == Some("False"))
        .then_some(g)
    })
    .context("the group should become available")?;
    ensure!(status["generation"] == status["observedGeneration"], "{status}");
    ensure!(status["groups"][1]["pods"][0]["id"] == "/shop/front/worker", "{status}");
    let plain = server.get("/v2/groups/shop")?.body;
    ensure!(
        plain.get("conditions").is_none() && plain.get("generation").is_none(),
        "Marathon's JSON unless asked"
    );
    ensure!(
        server.get("/v2/pods/shop/front/worker")?.status == 200,
        "the pod is a pod like any other"
    );

    let r = server.delete("/v2/groups/shop")?;
    ensure!(r.status == 200, "DELETE group: {} {}", r.status, r.body);
    wait_until(LAUNCH, || {
        (server.task_processes("/shop/back/db").is_empty() && server.task_processes("/shop/front/worker").is_empty())
            .then_some(())
    })
    .context("the group's processes still run")?;
    ensure!(server.get("/v2/groups/shop")?.status == 404);
    ensure!(server.get("/v2/pods/shop/front/worker")?.status == 404);
    Ok(())
}
