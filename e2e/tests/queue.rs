//! `/v2/queue` of the real server: a crash-looping app's launch delay and resetting it, the
//! offer statistics of an app no agent can fit, and the scheduler's numbers in `/metrics`.

use std::time::Duration;

use anyhow::{Context, Result, ensure};
use pacer_e2e::{PacerServer, wait_until};
use serde_json::{Value, json};

const LAUNCH: Duration = Duration::from_secs(60);

fn queue_item(server: &PacerServer, app: &str, embed: &str) -> Option<Value> {
    let r = server.get(&format!("/v2/queue{embed}")).ok()?;
    r.body["queue"]
        .as_array()?
        .iter()
        .find(|i| i["app"]["id"] == app)
        .cloned()
}

#[test]
fn a_crash_looping_app_waits_until_its_delay_is_reset() -> Result<()> {
    let server = PacerServer::start()?;
    // Fails the first time, runs from then on: a relaunch shows as a live process.
    let dir = tempfile::tempdir()?;
    let marker = dir.path().join("failed-once");
    let cmd = format!(
        "if [ -e {m} ]; then exec sleep 1000; else touch {m}; exit 1; fi",
        m = marker.display()
    );
    let app = json!({"id": "/crashy", "cmd": cmd, "cpus": 0.05, "mem": 16,
                     "backoffSeconds": 3600, "maxLaunchDelaySeconds": 3600});
    let r = server.post("/v2/apps", &app)?;
    ensure!(r.status == 201, "create: {} {}", r.status, r.body);

    let item = wait_until(LAUNCH, || {
        queue_item(&server, "/crashy", "").filter(|i| i["delay"]["overdue"] == false)
    })
    .with_context(|| format!("the failed task should delay the app\n{}", server.log()))?;
    let left = item["delay"]["timeLeftSeconds"].as_u64().context("timeLeftSeconds")?;
    ensure!((3000..=3600).contains(&left), "timeLeftSeconds {left}: {item}");
    ensure!(marker.exists(), "the first task ran");
    ensure!(server.task_ids("/crashy").is_empty(), "nothing runs while delayed");

    let r = server.delete("/v2/queue/crashy/delay")?;
    ensure!(r.status == 204, "reset: {} {}", r.status, r.body);
    wait_until(Duration::from_secs(30), || {
        (server.task_ids("/crashy").len() == 1).then_some(())
    })
    .with_context(|| format!("a new task should launch at once\n{}", server.log()))?;

    let r = server.delete("/v2/queue/nope/delay")?;
    ensure!(
        r.status == 404 && r.body["message"] == "Application /nope not found in tasks queue.",
        "{} {}",
        r.status,
        r.body
    );
    Ok(())
}

#[test]
fn offers_too_small_for_an_app_show_why_and_metrics_count_the_work() -> Result<()> {
    let mut server = PacerServer::start()?;
    let big = json!({"id": "/big", "cmd": "sleep 1000", "cpus": 100000, "mem": 16});
    ensure!(server.post("/v2/apps", &big)?.status == 201);

    let item = wait_until(LAUNCH, || {
        queue_item(&server, "/big", "?embed=lastUnusedOffers")
            .filter(|i| i["processedOffersSummary"]["unusedOffersCount"].as_u64() > Some(0))
    })
    .with_context(|| format!("offers should be processed for /big\n{}", server.log()))?;
    let summary = &item["processedOffersSummary"];
    let step = summary["rejectSummaryLaunchAttempt"]
        .as_array()
        .and_then(|s| s.iter().find(|s| s["reason"] == "InsufficientCpus"))
        .context("no InsufficientCpus step")?;
    ensure!(step["declined"].as_u64() > Some(0), "summary: {summary}");
    ensure!(summary["lastUnusedOfferAt"].is_string(), "summary: {summary}");
    let last = &item["lastUnusedOffers"][0];
    ensure!(
        last["reason"]
            .as_array()
            .is_some_and(|r| r.contains(&json!("InsufficientCpus"))),
        "lastUnusedOffers: {}",
        item["lastUnusedOffers"]
    );
    ensure!(last["offer"]["agentId"].is_string(), "{last}");

    let small = json!({"id": "/small", "cmd": "sleep 1000", "cpus": 0.05, "mem": 16});
    ensure!(server.post("/v2/apps", &small)?.status == 201);
    wait_until(LAUNCH, || (server.task_ids("/small").len() == 1).then_some(()))
        .with_context(|| format!("/small should run\n{}", server.log()))?;

    let sample = |text: &str, name: &str| -> Option<f64> {
        text.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
    };
    let text = wait_until(LAUNCH, || {
        let text = server.get("/metrics/prometheus").ok()?.body.as_str()?.to_string();
        (sample(&text, "pacer_status_updates_total{state=\"TASK_RUNNING\"}")? >= 1.0).then_some(text)
    })
    .context("TASK_RUNNING updates should be counted")?;
    for name in [
        "pacer_offers_received_total",
        "pacer_offers_total{result=\"used\"}",
        "pacer_offers_total{result=\"declined\"}",
        "pacer_tasks_launched_total",
        "pacer_reconcile_seconds_count{controller=\"apps\"}",
        "pacer_reconcile_seconds_count{controller=\"deployments\"}",
        "pacer_raft_commit_seconds_count",
    ] {
        let v = sample(&text, name).with_context(|| format!("no {name} in\n{text}"))?;
        ensure!(v >= 1.0, "{name} is {v}");
    }

    // A new server reconciles the task it finds running, and times the answer.
    server.restart()?;
    wait_until(LAUNCH, || {
        let text = server.get("/metrics/prometheus").ok()?.body.as_str()?.to_string();
        (sample(&text, "pacer_task_reconciliation_seconds_count")? >= 1.0).then_some(())
    })
    .with_context(|| format!("the explicit reconciliation should be timed\n{}", server.log()))?;
    Ok(())
}
