//! System endpoints, headers on every response, errors for unknown routes, and metrics.

mod common;

use axum::http::{Method, StatusCode};
use common::Api;
use schemas::{Record, TaskState};
use serde_json::{Value, json};
use store::{Op, keys};

/// The keys marathon-python's `MarathonConfig` accepts; it fails on any other.
const CLIENT_CONFIG_KEYS: &[&str] = &[
    "checkpoint",
    "executor",
    "failover_timeout",
    "features",
    "framework_name",
    "ha",
    "hostname",
    "leader_proxy_connection_timeout_ms",
    "leader_proxy_read_timeout_ms",
    "local_port_min",
    "local_port_max",
    "master",
    "mesos_leader_ui_url",
    "mesos_role",
    "mesos_user",
    "webui_url",
    "reconciliation_initial_delay",
    "reconciliation_interval",
    "task_launch_timeout",
    "marathon_store_timeout",
    "task_reservation_timeout",
    "access_control_allow_origin",
    "decline_offer_duration",
    "default_network_name",
    "env_vars_prefix",
    "launch_token",
    "launch_token_refresh_interval",
    "max_instances_per_offer",
    "mesos_bridge_name",
    "mesos_heartbeat_failure_threshold",
    "mesos_heartbeat_interval",
    "min_revive_offers_interval",
    "offer_matching_timeout",
    "on_elected_prepare_timeout",
    "revive_offers_for_new_apps",
    "revive_offers_repetitions",
    "scale_apps_initial_delay",
    "scale_apps_interval",
    "store_cache",
    "task_launch_confirm_timeout",
    "task_lost_expunge_initial_delay",
    "task_lost_expunge_interval",
];

#[tokio::test]
async fn info_has_marathons_shape() {
    // §14.1 #44
    let api = Api::new().await;
    let info = api.get("/v2/info").await;
    assert_eq!(info.status, StatusCode::OK);
    let info = info.json();
    assert!(info.get("frameworkId").is_none(), "not registered yet");
    let example: Value =
        serde_json::from_str(include_str!("../../../shared/marathon-data/examples-info.json")).unwrap();
    for key in example.as_object().unwrap().keys().filter(|k| *k != "frameworkId") {
        assert!(info.get(key).is_some(), "missing {key}");
    }
    assert_eq!(info["elected"], true);
    assert_eq!(info["leader"], "localhost:8080");
    assert_eq!(info["http_config"], json!({"http_port": 8080, "https_port": 8443}));
    for key in info["marathon_config"].as_object().unwrap().keys() {
        assert!(
            CLIENT_CONFIG_KEYS.contains(&key.as_str()),
            "marathon-python rejects {key}"
        );
    }
    assert_eq!(info["marathon_config"]["framework_name"], "marathon");
    assert!(
        info["zookeeper_config"].as_object().unwrap().is_empty(),
        "no credentials, no zk"
    );

    api.store
        .write_ops(vec![Op::put(keys::FRAMEWORK_ID, Record::FrameworkId("fw-1".into()))])
        .await
        .unwrap();
    assert_eq!(api.get("/v2/info").await.json()["frameworkId"], "fw-1");
}

#[tokio::test]
async fn leader_ping_and_root() {
    // §14.1 #45
    let api = Api::new().await;
    assert_eq!(api.get("/v2/leader").await.json(), json!({"leader": "localhost:8080"}));
    let r = api.raw(Method::GET, "/ping", None, &[]).await;
    assert_eq!((r.status, r.text.as_str()), (StatusCode::OK, "pong"));
    assert!(r.header("content-type").unwrap().starts_with("text/plain"));
    let r = api
        .raw(Method::GET, "/ping", None, &[("accept", "application/json")])
        .await;
    assert_eq!(r.json(), json!("pong"));
    let r = api.raw(Method::GET, "/ping", None, &[("accept", "image/png")]).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let r = api.get("/").await;
    assert_eq!(r.status, StatusCode::FOUND);
    assert_eq!(r.header("location"), Some("/ui/"));
    let r = api.get("/ui/").await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.header("content-type").unwrap().starts_with("text/html"));
    assert_eq!(api.get("/ui/app.js").await.status, StatusCode::OK);
    assert_eq!(api.get("/ui/nope.js").await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn every_response_has_the_leader_and_cache_headers() {
    let api = Api::new().await;
    for (method, uri) in [
        (Method::GET, "/v2/apps"),
        (Method::GET, "/nope"),
        (Method::DELETE, "/v2/info"),
        (Method::GET, "/ping"),
    ] {
        let r = api.call(method, uri, None).await;
        assert_eq!(r.header("x-marathon-leader"), Some("http://localhost:8080"), "{uri}");
        assert_eq!(
            r.header("cache-control"),
            Some("no-cache, no-store, must-revalidate"),
            "{uri}"
        );
    }
}

#[tokio::test]
async fn unknown_routes_and_methods_are_json_errors() {
    let api = Api::new().await;
    let r = api.get("/v2/nope").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(r.json(), json!({"message": "URI not found"}));
    let r = api.call(Method::DELETE, "/v2/info", None).await;
    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED);
    assert!(r.json()["message"].is_string());
    let r = api.call(Method::POST, "/v2/apps/a", Some(json!({}))).await;
    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED);
    assert!(r.json()["message"].is_string());
}

#[tokio::test]
async fn metrics_count_requests() {
    // §14.1 #50
    let api = Api::new().await;
    let before = api.get("/metrics").await.json();
    api.create(json!({"id": "/a", "cmd": "x"})).await;
    api.get("/v2/apps/missing").await;
    let after = api.get("/metrics").await.json();
    let count = |m: &Value, k: &str| m["counters"][k]["count"].as_u64().unwrap();
    assert_eq!(
        count(&after, "marathon.http.requests.count"),
        count(&before, "marathon.http.requests.count") + 3
    );
    assert!(
        count(&after, "marathon.http.responses.size.counter.bytes")
            > count(&before, "marathon.http.responses.size.counter.bytes")
    );
    assert!(count(&after, "marathon.http.requests.size.counter.bytes") > 0);
    assert_eq!(count(&after, "marathon.http.responses.4xx.count"), 1);
    assert_eq!(after["gauges"]["marathon.apps.active.gauge"]["value"], 1);
}

#[tokio::test]
async fn metrics_in_prometheus_text() {
    let api = Api::new().await;
    api.create(json!({"id": "/a", "cmd": "x", "instances": 2})).await;
    api.add_task("/a", TaskState::TASK_RUNNING, "h", vec![]).await;
    api.add_task("/a", TaskState::TASK_STAGING, "h", vec![]).await;
    api.get("/v2/apps/missing").await;

    let r = api.get("/metrics/prometheus").await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(
        r.header("content-type")
            .unwrap()
            .starts_with("text/plain; version=0.0.4")
    );
    let text = &r.text;
    for line in [
        "# TYPE pacer_http_requests_total counter",
        "pacer_apps 1",
        "pacer_tasks{state=\"TASK_RUNNING\"} 1",
        "pacer_tasks{state=\"TASK_STAGING\"} 1",
        "pacer_http_responses_total{class=\"4xx\"} 1",
        "# TYPE pacer_http_request_duration_seconds histogram",
    ] {
        assert!(text.lines().any(|l| l == line), "missing {line:?} in\n{text}");
    }
    // Every request so far fell in some bucket: the +Inf bucket counts them all.
    let count = |prefix: &str| -> f64 {
        text.lines()
            .find_map(|l| l.strip_prefix(prefix))
            .unwrap()
            .trim()
            .parse()
            .unwrap()
    };
    assert_eq!(
        count("pacer_http_request_duration_seconds_bucket{le=\"+Inf\"}"),
        count("pacer_http_request_duration_seconds_count")
    );
    // The create and the 404 (tasks were written to the store directly).
    assert!(count("pacer_http_request_duration_seconds_count") >= 2.0);

    // A scraper asking /metrics for text gets the same format; others keep Marathon's JSON.
    let scraped = api
        .raw(Method::GET, "/metrics", None, &[("accept", "text/plain;version=0.0.4")])
        .await;
    assert!(scraped.text.contains("# TYPE pacer_apps gauge"));
    assert!(api.get("/metrics").await.json()["gauges"].is_object());
}
