//! `/v2/queue`: the launch delay from the store, resetting it, the controllers' offer
//! statistics; and the controllers' and store's numbers in `/metrics`.

mod common;

use std::sync::Arc;

use axum::http::StatusCode;
use common::Api;
use schemas::metrics::ControllerMetrics;
use schemas::offers::{OfferStats, OfferStatsByApp, OfferView, RejectReason};
use schemas::{LaunchDelay, PathId, Record, TaskState, Timestamp};
use serde_json::json;
use store::{Op, keys};
use tokio::sync::watch;

fn id(s: &str) -> PathId {
    PathId::parse(s).unwrap()
}

/// A crash-looping app: one failed task waiting for a relaunch, delayed by `delay_secs`.
async fn crash_looping(api: &Api, app_id: &str, delay_secs: u64) {
    api.create(json!({"id": app_id, "cmd": "false", "backoffSeconds": 3600}))
        .await;
    api.add_task(app_id, TaskState::TASK_FAILED, "h", vec![]).await;
    let app = api.app(app_id).unwrap();
    let delay = LaunchDelay {
        config_version: app.config_version(),
        reference: Timestamp::now(),
        delay_millis: delay_secs * 1000,
    };
    api.store
        .write_ops(vec![Op::put(
            keys::launch_delay(&id(app_id)),
            Record::LaunchDelay(delay),
        )])
        .await
        .unwrap();
}

#[tokio::test]
async fn shows_the_stored_delay_of_the_current_config() {
    let api = Api::new().await;
    crash_looping(&api, "/a", 3600).await;
    let q = api.get("/v2/queue").await.json();
    let item = &q["queue"][0];
    assert_eq!(item["count"], 1);
    assert_eq!(item["delay"]["overdue"], false);
    let left = item["delay"]["timeLeftSeconds"].as_u64().unwrap();
    assert!((3590..=3600).contains(&left), "{left}");
    let summary = &item["processedOffersSummary"];
    assert_eq!(summary["processedOffersCount"], 0);
    assert_eq!(summary["rejectSummaryLaunchAttempt"].as_array().unwrap().len(), 10);
    assert!(item.get("lastUnusedOffers").is_none(), "only when embedded");

    // A new config starts without delay.
    api.put("/v2/apps/a?force=true", json!({"cmd": "false --again"})).await;
    api.finish_deployments().await;
    let q = api.get("/v2/queue").await.json();
    assert_eq!(q["queue"][0]["delay"], json!({"timeLeftSeconds": 0, "overdue": true}));
}

#[tokio::test]
async fn deleting_the_delay_removes_the_record() {
    let api = Api::new().await;
    crash_looping(&api, "/g/a", 3600).await;
    let r = api.delete("/v2/queue/g/a/delay").await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    assert!(r.text.is_empty());
    assert!(api.store.read(|s| s.launch_delay(&id("/g/a")).is_none()));
    let q = api.get("/v2/queue").await.json();
    assert_eq!(q["queue"][0]["delay"], json!({"timeLeftSeconds": 0, "overdue": true}));
}

#[tokio::test]
async fn deleting_the_delay_of_an_app_not_in_the_queue_is_not_found() {
    let api = Api::new().await;
    let r = api.delete("/v2/queue/nope/delay").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(
        r.json(),
        json!({"message": "Application /nope not found in tasks queue."})
    );

    // An app whose instances all run has nothing queued.
    api.create(json!({"id": "/up", "cmd": "x"})).await;
    api.add_task("/up", TaskState::TASK_RUNNING, "h", vec![]).await;
    let r = api.delete("/v2/queue/up/delay").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(r.json()["message"], "Application /up not found in tasks queue.");

    assert_eq!(api.delete("/v2/queue/up").await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn shows_the_controllers_offer_statistics() {
    let (tx, rx) = watch::channel(Arc::<OfferStatsByApp>::default());
    let api = Api::with_state(|s| s.with_offer_stats(rx)).await;
    api.create(json!({"id": "/big", "cmd": "x", "cpus": 64})).await;

    let mut stats = OfferStats::default();
    let offer = OfferView {
        id: "o1".into(),
        agent_id: "agent-1".into(),
        hostname: "h".into(),
        ..Default::default()
    };
    let at = Timestamp::now();
    stats.unused(offer.clone(), vec![RejectReason::InsufficientCpus], at);
    stats.unused(offer, vec![RejectReason::InsufficientCpus], at);
    tx.send_replace(Arc::new([(id("/big"), stats)].into()));

    let q = api.get("/v2/queue").await.json();
    let summary = &q["queue"][0]["processedOffersSummary"];
    assert_eq!(summary["processedOffersCount"], 2);
    assert_eq!(summary["unusedOffersCount"], 2);
    assert!(summary["lastUnusedOfferAt"].is_string());
    let cpus = |steps: &serde_json::Value| {
        steps
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["reason"] == "InsufficientCpus")
            .cloned()
            .unwrap()
    };
    assert_eq!(
        cpus(&summary["rejectSummaryLaunchAttempt"]),
        json!({"reason": "InsufficientCpus", "declined": 2, "processed": 2})
    );
    assert_eq!(
        cpus(&summary["rejectSummaryLastOffers"]),
        json!({"reason": "InsufficientCpus", "declined": 1, "processed": 1})
    );

    let q = api.get("/v2/queue?embed=lastUnusedOffers").await.json();
    let last = &q["queue"][0]["lastUnusedOffers"];
    assert_eq!(last.as_array().unwrap().len(), 1, "one per agent");
    assert_eq!(last[0]["offer"]["agentId"], "agent-1");
    assert_eq!(last[0]["reason"], json!(["InsufficientCpus"]));
    assert!(last[0]["timestamp"].is_string());
}

#[tokio::test]
async fn metrics_report_the_controllers_and_the_store() {
    let (tx, rx) = watch::channel(ControllerMetrics::default());
    let api = Api::with_state(|s| s.with_controller_metrics(rx)).await;
    api.create(json!({"id": "/a", "cmd": "x"})).await;
    tx.send_modify(|m| {
        m.offers_received = 5;
        m.offers_used = 2;
        m.offers_declined = 3;
        m.tasks_launched = 4;
        m.status_updates.insert("TASK_RUNNING", 4);
        m.reconcile_seconds.entry("apps").or_default().observe(0.003);
        m.task_reconciliation_seconds.observe(0.2);
    });

    let text = api.get("/metrics/prometheus").await.text;
    for line in [
        "pacer_offers_received_total 5",
        "pacer_offers_total{result=\"used\"} 2",
        "pacer_offers_total{result=\"declined\"} 3",
        "pacer_tasks_launched_total 4",
        "pacer_status_updates_total{state=\"TASK_RUNNING\"} 4",
        "pacer_reconcile_seconds_bucket{controller=\"apps\",le=\"0.005\"} 1",
        "pacer_reconcile_seconds_count{controller=\"apps\"} 1",
        "pacer_task_reconciliation_seconds_count 1",
        "# TYPE pacer_raft_commit_seconds histogram",
    ] {
        assert!(text.lines().any(|l| l == line), "missing {line:?} in\n{text}");
    }
    let commits: f64 = text
        .lines()
        .find_map(|l| l.strip_prefix("pacer_raft_commit_seconds_count "))
        .unwrap()
        .parse()
        .unwrap();
    assert!(commits >= 1.0, "creating the app wrote to the store");

    let json = api.get("/metrics").await.json();
    assert_eq!(json["counters"]["marathon.mesos.offers.used.counter"]["count"], 2);
    assert_eq!(
        json["counters"]["marathon.mesos.task-updates.task-running.counter"]["count"],
        4
    );
    let reconcile = &json["timers"]["marathon.reconcile.apps.duration.timer"];
    assert_eq!(reconcile["count"], 1);
    assert_eq!(reconcile["p50"], 0.005);
    assert!(
        json["timers"]["marathon.persistence.commit.duration.timer"]["count"]
            .as_u64()
            .unwrap()
            >= 1
    );
}
