//! Health and readiness through the real server: rolling upgrades gated on HTTP health checks
//! (checked by asking the tasks themselves), rollback and forced replacement of a deployment
//! that never gets healthy, unhealthy tasks killed and replaced, agent-run checks, readiness.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result, ensure};
use pacer_e2e::{EventStream, PacerServer, process_alive, task_processes_under, wait_until};
use serde_json::{Value, json};

/// Generous: a debug build on a busy 2-core machine.
const LAUNCH: Duration = Duration::from_secs(90);

/// A web server task whose health check passes once it listens.
fn web(id: &str, instances: u32, strategy: (f64, f64)) -> Value {
    json!({
        "id": id,
        "cmd": "python3 -m http.server $PORT0",
        "cpus": 0.05, "mem": 32, "instances": instances,
        "portDefinitions": [{"port": 0, "name": "http-api"}],
        "env": {"V": "1"},
        "healthChecks": [{"protocol": "HTTP", "path": "/", "portIndex": 0, "gracePeriodSeconds": 60,
                          "intervalSeconds": 1, "timeoutSeconds": 5, "maxConsecutiveFailures": 0}],
        "upgradeStrategy": {"minimumHealthCapacity": strategy.0, "maximumOverCapacity": strategy.1},
    })
}

fn tasks(server: &PacerServer, app: &str) -> Result<Vec<Value>> {
    let r = server.get(&format!("/v2/apps{app}/tasks"))?;
    ensure!(r.status == 200, "GET tasks: {} {}", r.status, r.body);
    Ok(r.body["tasks"].as_array().cloned().unwrap_or_default())
}

fn alive(task: &Value) -> bool {
    task["healthCheckResults"]
        .as_array()
        .is_some_and(|r| !r.is_empty() && r.iter().all(|h| h["alive"] == true))
}

fn app(server: &PacerServer, id: &str) -> Result<Value> {
    let r = server.get(&format!("/v2/apps{id}?embed=app.lastTaskFailure"))?;
    ensure!(r.status == 200, "GET app: {} {}", r.status, r.body);
    Ok(r.body["app"].clone())
}

fn deployments(server: &PacerServer) -> Result<Vec<Value>> {
    Ok(server
        .get("/v2/deployments")?
        .body
        .as_array()
        .cloned()
        .unwrap_or_default())
}

/// Waits until no deployment runs and `app` has `n` healthy tasks of its current config
/// (versions are timestamps in one format, so they compare as strings).
fn settled(server: &PacerServer, id: &str, n: usize) -> Result<Vec<Value>> {
    wait_until(LAUNCH, || {
        let config = app(server, id).ok()?["versionInfo"]["lastConfigChangeAt"]
            .as_str()?
            .to_string();
        let t = tasks(server, id).ok()?;
        let current = |t: &Value| t["version"].as_str().is_some_and(|v| v >= config.as_str());
        let good = t.len() == n && t.iter().all(|t| alive(t) && current(t));
        (good && deployments(server).ok()?.is_empty()).then_some(t)
    })
    .with_context(|| format!("{id} did not settle: {:?}", tasks(server, id)))
}

/// How many of the listed tasks answer HTTP on their first port right now.
fn answering(http: &reqwest::blocking::Client, tasks: &[Value]) -> usize {
    tasks
        .iter()
        .filter_map(|t| t["ports"][0].as_u64())
        .filter(|port| {
            http.get(format!("http://127.0.0.1:{port}/"))
                .send()
                .is_ok_and(|r| r.status().is_success())
        })
        .count()
}

fn ids(tasks: &[Value]) -> BTreeSet<String> {
    tasks
        .iter()
        .filter_map(|t| t["id"].as_str().map(String::from))
        .collect()
}

fn sandbox_of(server: &PacerServer, task_id: &str) -> Result<PathBuf> {
    task_processes_under(&server.data_dir())
        .into_iter()
        .find(|p| p.task_id.as_deref() == Some(task_id))
        .map(|p| p.sandbox)
        .with_context(|| format!("no process of {task_id}"))
}

#[test]
fn a_rolling_upgrade_never_drops_below_the_healthy_capacity() -> Result<()> {
    let server = PacerServer::start()?;
    // 4 instances, at least half healthy, no over-capacity: Marathon kills 2 old ones at once,
    // starts 2 new ones, and kills the other 2 only once the new ones pass their checks.
    let r = server.post("/v2/apps", &web("/web", 4, (0.5, 0.0)))?;
    ensure!(r.status == 201, "create: {} {}", r.status, r.body);
    let old = settled(&server, "/web", 4)?;
    let a = app(&server, "/web")?;
    ensure!(a["tasksHealthy"] == 4 && a["tasksUnhealthy"] == 0, "{a}");

    let r = server.put("/v2/apps/web", &json!({"env": {"V": "2"}}))?;
    ensure!(r.status == 200, "update: {} {}", r.status, r.body);
    let http = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(5))
        .no_proxy()
        .build()?;
    let (mut samples, mut least) = (0, usize::MAX);
    let new = wait_until(LAUNCH * 2, || {
        let t = tasks(&server, "/web").ok()?;
        let up = answering(&http, &t);
        samples += 1;
        least = least.min(up);
        let done = deployments(&server).ok()?.is_empty() && t.len() == 4 && ids(&t).is_disjoint(&ids(&old));
        done.then_some(t)
    })
    .with_context(|| format!("the upgrade did not finish: {:?}", tasks(&server, "/web")))?;
    ensure!(samples >= 3, "too few samples ({samples}) to say anything");
    ensure!(
        least >= 2,
        "only {least} tasks answered at some point: below the minimum health capacity"
    );
    ensure!(answering(&http, &new) == 4, "every new task serves");
    for t in &old {
        let id = t["id"].as_str().unwrap_or_default();
        ensure!(!server.task_ids("/web").contains(id), "old task {id} still runs");
    }
    Ok(())
}

#[test]
fn a_deployment_that_never_gets_healthy_can_be_rolled_back() -> Result<()> {
    let server = PacerServer::start()?;
    server.post("/v2/apps", &web("/rb", 2, (1.0, 1.0)))?;
    let before = settled(&server, "/rb", 2)?;
    let pids_before: Vec<_> = server.task_processes("/rb");

    // The new version listens nowhere: its tasks run but never pass the check.
    let r = server.put(
        "/v2/apps/rb",
        &json!({"cmd": "sleep 1000", "healthChecks": [{"protocol": "HTTP", "portIndex": 0,
            "gracePeriodSeconds": 1, "intervalSeconds": 1, "timeoutSeconds": 2, "maxConsecutiveFailures": 0}]}),
    )?;
    ensure!(r.status == 200, "update: {} {}", r.status, r.body);
    let deployment = r.body["deploymentId"].as_str().context("no deploymentId")?.to_string();
    wait_until(LAUNCH, || {
        let a = app(&server, "/rb").ok()?;
        (a["tasksUnhealthy"] == 2 && a["tasksHealthy"] == 2).then_some(())
    })
    .with_context(|| format!("expected 2 healthy old and 2 unhealthy new: {:?}", app(&server, "/rb")))?;
    let d = deployments(&server)?;
    ensure!(d.len() == 1 && d[0]["id"] == deployment.as_str(), "{d:?}");
    ensure!(
        ids(&tasks(&server, "/rb")?).is_superset(&ids(&before)),
        "old tasks must stay"
    );

    let r = server.delete(&format!("/v2/deployments/{deployment}"))?;
    ensure!(r.status == 200, "rollback: {} {}", r.status, r.body);
    ensure!(
        r.body["deploymentId"].as_str().is_some_and(|id| id != deployment),
        "{}",
        r.body
    );
    let after = settled(&server, "/rb", 2)?;
    ensure!(
        ids(&after) == ids(&before),
        "the old tasks are the ones left: {:?} vs {:?}",
        ids(&after),
        ids(&before)
    );
    ensure!(app(&server, "/rb")?["cmd"] == "python3 -m http.server $PORT0");
    ensure!(
        pids_before.iter().all(|p| process_alive(*p)),
        "rollback must not restart old tasks"
    );
    ensure!(server.task_ids("/rb").len() == 2, "the unhealthy tasks are gone");
    Ok(())
}

#[test]
fn a_forced_update_replaces_a_stuck_deployment() -> Result<()> {
    let server = PacerServer::start()?;
    server.post("/v2/apps", &web("/fu", 1, (1.0, 1.0)))?;
    settled(&server, "/fu", 1)?;
    let stuck = json!({"cmd": "sleep 1000", "healthChecks": [{"protocol": "TCP", "portIndex": 0,
        "gracePeriodSeconds": 1, "intervalSeconds": 1, "maxConsecutiveFailures": 0}]});
    let r = server.put("/v2/apps/fu", &stuck)?;
    ensure!(r.status == 200, "update: {} {}", r.status, r.body);
    let fix = web("/fu", 1, (1.0, 1.0));
    let r = server.put("/v2/apps/fu", &fix)?;
    ensure!(r.status == 409, "a locked app needs force: {} {}", r.status, r.body);
    let r = server.put(
        "/v2/apps/fu?force=true",
        &json!({"env": {"V": "3"}, "cmd": fix["cmd"], "healthChecks": fix["healthChecks"]}),
    )?;
    ensure!(r.status == 200, "forced update: {} {}", r.status, r.body);
    let t = settled(&server, "/fu", 1)?;
    ensure!(app(&server, "/fu")?["env"]["V"] == "3");
    ensure!(server.task_ids("/fu") == ids(&t), "only the new task runs");
    Ok(())
}

#[test]
fn a_task_failing_its_health_check_is_killed_and_replaced() -> Result<()> {
    let server = PacerServer::start()?;
    let events = EventStream::open(server.url(), None)?;
    let r = server.post(
        "/v2/apps",
        &json!({"id": "/sick", "cmd": "touch ok && python3 -m http.server $PORT0", "cpus": 0.05, "mem": 32,
                "portDefinitions": [{"port": 0}], "backoffSeconds": 1,
                "healthChecks": [{"protocol": "HTTP", "path": "/ok", "gracePeriodSeconds": 30,
                                  "intervalSeconds": 1, "timeoutSeconds": 5, "maxConsecutiveFailures": 2}]}),
    )?;
    ensure!(r.status == 201, "create: {} {}", r.status, r.body);
    let first = settled(&server, "/sick", 1)?;
    let first_id = first[0]["id"].as_str().context("task id")?.to_string();
    let pids = server.task_processes("/sick");
    std::fs::remove_file(sandbox_of(&server, &first_id)?.join("ok"))?;

    let replaced = wait_until(LAUNCH, || {
        let t = tasks(&server, "/sick").ok()?;
        (t.len() == 1 && t[0]["id"] != first_id.as_str() && alive(&t[0])).then_some(t)
    })
    .with_context(|| format!("no healthy replacement: {:?}", tasks(&server, "/sick")))?;
    ensure!(
        pids.iter().all(|p| !process_alive(*p)),
        "the unhealthy task's processes are gone"
    );
    let failure = &app(&server, "/sick")?["lastTaskFailure"];
    ensure!(
        failure["taskId"] == first_id.as_str(),
        "a health kill is a task failure: {failure}"
    );

    let seen = events.read_until(LAUNCH, |f| f.event == "unhealthy_instance_kill_event")?;
    let kinds: Vec<&str> = seen.iter().map(|f| f.event.as_str()).collect();
    ensure!(kinds.contains(&"failed_health_check_event"), "{kinds:?}");
    let dead = seen
        .iter()
        .any(|f| f.event == "health_status_changed_event" && f.data["alive"] == false);
    ensure!(dead, "no health_status_changed_event to dead: {kinds:?}");
    let kill = &seen.last().context("no frames")?.data;
    ensure!(
        kill["taskId"] == first_id.as_str() && kill["appId"] == "/sick",
        "{kill}"
    );
    ensure!(replaced[0]["id"] != first_id.as_str());
    Ok(())
}

#[test]
fn agent_run_checks_report_health_and_kill_what_fails() -> Result<()> {
    let server = PacerServer::start()?;
    let r = server.post(
        "/v2/apps",
        &json!({"id": "/cmd", "cmd": "touch ok && sleep 1000", "cpus": 0.05, "mem": 16,
                "healthChecks": [{"protocol": "COMMAND", "command": {"value": "test -f ok"}, "delaySeconds": 0,
                                  "gracePeriodSeconds": 30, "intervalSeconds": 1, "timeoutSeconds": 5,
                                  "maxConsecutiveFailures": 2}]}),
    )?;
    ensure!(r.status == 201, "create: {} {}", r.status, r.body);
    let r = server.post(
        "/v2/apps",
        &json!({"id": "/tcp", "cmd": "python3 -m http.server $PORT0", "cpus": 0.05, "mem": 32,
                "portDefinitions": [{"port": 0}],
                "healthChecks": [{"protocol": "MESOS_TCP", "delaySeconds": 0, "intervalSeconds": 1}]}),
    )?;
    ensure!(r.status == 201, "create: {} {}", r.status, r.body);
    let first = settled(&server, "/cmd", 1)?;
    settled(&server, "/tcp", 1)?;
    ensure!(app(&server, "/tcp")?["tasksHealthy"] == 1);

    let first_id = first[0]["id"].as_str().context("task id")?.to_string();
    std::fs::remove_file(sandbox_of(&server, &first_id)?.join("ok"))?;
    wait_until(LAUNCH, || {
        let t = tasks(&server, "/cmd").ok()?;
        (t.len() == 1 && t[0]["id"] != first_id.as_str() && alive(&t[0])).then_some(())
    })
    .with_context(|| {
        format!(
            "the agent did not replace the failing task: {:?}",
            tasks(&server, "/cmd")
        )
    })?;
    ensure!(!server.task_ids("/cmd").contains(&first_id));
    Ok(())
}

#[test]
fn readiness_checks_hold_a_deployment_until_ready() -> Result<()> {
    let server = PacerServer::start()?;
    let r = server.post(
        "/v2/apps",
        &json!({"id": "/ready", "cmd": "python3 -m http.server $PORT0", "cpus": 0.05, "mem": 32,
                "portDefinitions": [{"port": 0, "name": "http-api"}],
                "readinessChecks": [{"path": "/ready", "intervalSeconds": 2, "timeoutSeconds": 1,
                                     "preserveLastResponse": true}]}),
    )?;
    ensure!(r.status == 201, "create: {} {}", r.status, r.body);
    // python's server answers 404 until the file exists.
    let result = wait_until(LAUNCH, || {
        let d = deployments(&server).ok()?;
        let results = d.first()?["currentActions"][0]["readinessCheckResults"]
            .as_array()?
            .clone();
        results.first().filter(|r| r["lastResponse"]["status"] == 404).cloned()
    })
    .with_context(|| format!("no readiness result: {:?}", deployments(&server)))?;
    ensure!(
        result["ready"] == false && result["name"] == "readinessCheck",
        "{result}"
    );
    let task_id = result["taskId"].as_str().context("taskId")?.to_string();
    std::thread::sleep(Duration::from_secs(2));
    ensure!(
        deployments(&server)?.len() == 1,
        "the deployment must wait for readiness"
    );

    std::fs::write(sandbox_of(&server, &task_id)?.join("ready"), "yes")?;
    wait_until(LAUNCH, || deployments(&server).ok()?.is_empty().then_some(()))
        .context("the deployment did not finish once ready")?;
    let a = server.get("/v2/apps/ready?embed=app.readiness")?.body;
    let r = &a["app"]["readinessCheckResults"][0];
    ensure!(r["ready"] == true && r["lastResponse"]["status"] == 200, "{a}");
    Ok(())
}

#[test]
fn https_checks_reach_tasks_with_self_signed_certificates() -> Result<()> {
    let server = PacerServer::start()?;
    let serve_tls = "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 \
        -subj /CN=test -keyout key.pem -out cert.pem 2>/dev/null && exec python3 -c '
import http.server, os, ssl
server = http.server.HTTPServer((\"\", int(os.environ[\"PORT0\"])), http.server.SimpleHTTPRequestHandler)
context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
context.load_cert_chain(\"cert.pem\", \"key.pem\")
server.socket = context.wrap_socket(server.socket, server_side=True)
server.serve_forever()'";
    let r = server.post(
        "/v2/apps",
        &json!({"id": "/tls", "cmd": serve_tls, "cpus": 0.05, "mem": 32, "portDefinitions": [{"port": 0}],
                "healthChecks": [{"protocol": "HTTPS", "path": "/cert.pem", "intervalSeconds": 1,
                                  "gracePeriodSeconds": 60}]}),
    )?;
    ensure!(r.status == 201, "create: {} {}", r.status, r.body);
    settled(&server, "/tls", 1)?;
    Ok(())
}
