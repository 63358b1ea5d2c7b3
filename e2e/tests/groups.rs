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
