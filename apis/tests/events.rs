//! The event bus through the router: `/v2/events` as a client reads it (with the records the
//! controllers would write), `Last-Event-ID` replays, slow clients, and callback subscribers
//! served by a real HTTP server on a loopback port.

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Method, Request, StatusCode};
use common::Api;
use http_body_util::BodyExt;
use schemas::{Record, TaskState};
use serde_json::{Value, json};
use store::{Store, StoreConfig};
use tokio::sync::mpsc;
use tower::ServiceExt;

/// How long a test waits for one event before failing (never reached when things work).
const WAIT: Duration = Duration::from_secs(20);

/// An open `/v2/events` response, read frame by frame.
struct Stream {
    body: Body,
    buf: String,
}

#[derive(Debug, Clone)]
struct Frame {
    id: Option<u64>,
    event: String,
    data: Value,
}

impl Stream {
    async fn open(router: &axum::Router, query: &str, last_event_id: Option<u64>) -> Stream {
        let mut req = Request::get(format!("/v2/events{query}")).header("accept", "text/event-stream");
        if let Some(id) = last_event_id {
            req = req.header("last-event-id", id.to_string());
        }
        let mut req = req.body(Body::empty()).unwrap();
        req.extensions_mut()
            .insert(ConnectInfo(SocketAddr::from(([10, 0, 0, 7], 50_000))));
        let res = router.clone().oneshot(req).await.unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(res.headers()["content-type"], "text/event-stream");
        Stream {
            body: res.into_body(),
            buf: String::new(),
        }
    }

    /// The next raw SSE block (an event or a comment), `None` when the response ended.
    async fn block(&mut self) -> Option<String> {
        loop {
            if let Some(end) = self.buf.find("\n\n") {
                let block = self.buf[..end].to_string();
                self.buf.drain(..end + 2);
                return Some(block);
            }
            let frame = tokio::time::timeout(WAIT, self.body.frame())
                .await
                .expect("no event in time")?
                .unwrap();
            if let Ok(data) = frame.into_data() {
                self.buf.push_str(std::str::from_utf8(&data).unwrap());
            }
        }
    }

    /// The next event, skipping comments.
    async fn next(&mut self) -> Frame {
        loop {
            let block = self.block().await.expect("the stream ended");
            if block.starts_with(':') {
                continue;
            }
            let mut frame = Frame {
                id: None,
                event: String::new(),
                data: Value::Null,
            };
            for line in block.lines() {
                let (field, value) = line.split_once(": ").unwrap_or((line, ""));
                match field {
                    "id" => frame.id = Some(value.parse().unwrap()),
                    "event" => frame.event = value.to_string(),
                    "data" => frame.data = serde_json::from_str(value).unwrap(),
                    other => panic!("unexpected field {other} in {block:?}"),
                }
            }
            assert_eq!(frame.data["eventType"], frame.event.as_str());
            assert!(frame.data["timestamp"].is_string(), "{block}");
            return frame;
        }
    }

    async fn expect(&mut self, event: &str) -> Frame {
        let f = self.next().await;
        assert_eq!(f.event, event, "{f:?}");
        f
    }
}

async fn running(api: &Api, app: &str) -> schemas::Instance {
    let mut inst = api
        .add_task(app, TaskState::TASK_PROVISIONED, "localhost", vec![31001])
        .await;
    let task = inst.task.as_mut().unwrap();
    task.state = TaskState::TASK_RUNNING;
    api.put_instance(&inst).await;
    inst
}

#[tokio::test]
async fn an_app_creation_streams_its_whole_story_in_order() {
    let api = Api::new().await;
    let mut s = Stream::open(&api.router, "", None).await;
    let attached = s.expect("event_stream_attached").await;
    assert_eq!(attached.data["remoteAddress"], "10.0.0.7");
    let mut last = attached.id.expect("every event has an id");

    let r = api
        .post(
            "/v2/apps",
            json!({"id": "/prod/web", "cmd": "sleep 100", "instances": 1}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let deployment = r.header("marathon-deployment-id").unwrap().to_string();
    let inst = running(&api, "/prod/web").await;
    api.finish_deployments().await;

    let post = s.expect("api_post_event").await;
    assert_eq!(post.data["uri"], "/v2/apps");
    assert_eq!(post.data["appDefinition"]["id"], "/prod/web");
    assert_eq!(post.data["appDefinition"]["version"], r.json()["version"]);
    let group = s.expect("group_change_success").await;
    assert_eq!(group.data["groupId"], "/prod");
    assert_eq!(group.data["version"], r.json()["version"]);
    let info = s.expect("deployment_info").await;
    assert_eq!(info.data["plan"]["id"], deployment.as_str());
    assert_eq!(info.data["currentStep"]["actions"][0]["action"], "StartApplication");
    assert_eq!(
        s.expect("instance_changed_event").await.data["condition"],
        "Provisioned"
    );
    let status = s.expect("status_update_event").await;
    assert_eq!(status.data["taskStatus"], "TASK_RUNNING");
    assert_eq!(status.data["taskId"], common::task_id(&inst));
    assert_eq!(status.data["appId"], "/prod/web");
    assert_eq!(s.expect("instance_changed_event").await.data["condition"], "Running");
    assert_eq!(
        s.expect("deployment_step_success").await.data["currentStep"]["actions"][0]["action"],
        "StartApplication"
    );
    assert_eq!(
        s.expect("deployment_step_success").await.data["currentStep"]["actions"][0]["action"],
        "ScaleApplication"
    );
    let done = s.expect("deployment_success").await;
    assert_eq!(done.data["id"], deployment.as_str());
    assert!(done.data["plan"].get("original").is_none(), "light plan");

    // Ids count up by one, with nothing skipped.
    let mut t = Stream::open(&api.router, "", Some(last)).await;
    for _ in 0..10 {
        let f = t.next().await;
        assert_eq!(f.id, Some(last + 1), "{f:?}");
        last += 1;
    }
}

#[tokio::test]
async fn event_type_filters_and_method_rules() {
    let api = Api::new().await;
    let r = api.raw(Method::GET, "/v2/events", None, &[("accept", "*/*")]).await;
    assert_eq!(
        r.status,
        StatusCode::METHOD_NOT_ALLOWED,
        "Marathon's servlet wants text/event-stream"
    );
    let r = api.raw(Method::OPTIONS, "/v2/events", None, &[]).await;
    assert_eq!(
        (r.status, r.header("allow")),
        (StatusCode::OK, Some("GET, HEAD, OPTIONS"))
    );

    let mut s = Stream::open(
        &api.router,
        "?event_type=deployment_success&event_type=group_change_success&plan-format=light",
        None,
    )
    .await;
    api.post("/v2/apps", json!({"id": "/a", "cmd": "x", "instances": 0}))
        .await;
    api.finish_deployments().await;
    assert_eq!(
        s.next().await.event,
        "group_change_success",
        "its own attach is filtered out too"
    );
    assert_eq!(s.next().await.event, "deployment_success");
}

#[tokio::test]
async fn a_reconnecting_client_gets_what_it_missed_then_its_attach_then_live_events() {
    let api = Api::new().await;
    let mut s = Stream::open(&api.router, "", None).await;
    let seen = s.expect("event_stream_attached").await.id.unwrap();
    drop(s);

    api.post("/v2/apps", json!({"id": "/a", "cmd": "x", "instances": 0}))
        .await;
    // Missed while away: its own detach, and the app's events.
    let mut s = Stream::open(&api.router, "", Some(seen)).await;
    assert_eq!(s.expect("event_stream_detached").await.id, Some(seen + 1));
    s.expect("api_post_event").await;
    s.expect("group_change_success").await;
    s.expect("deployment_info").await;
    s.expect("event_stream_attached").await;
    api.finish_deployments().await;
    s.expect("deployment_step_success").await;
}

#[tokio::test]
async fn a_client_that_does_not_read_is_cut_off() {
    let store = Store::open(StoreConfig::default()).await.unwrap();
    let config = apis::ApiConfig::default();
    let events = apis::EventBus::start(
        &store,
        apis::EventConfig {
            stream_buffer: 4,
            ..Default::default()
        },
    );
    let router = apis::router(apis::ApiState {
        store: store.clone(),
        config,
        events,
    });
    let api = Api { router, store };
    let mut slow = Stream::open(&api.router, "", None).await;
    let mut fine = Stream::open(&api.router, "?event_type=group_change_success", None).await;
    for i in 0..3 {
        api.post("/v2/apps", json!({"id": format!("/a{i}"), "cmd": "x", "instances": 0}))
            .await;
    }
    // Its queue overflowed: the response ends, and what it had queued is not sent.
    assert_eq!(tokio::time::timeout(WAIT, slow.block()).await.unwrap(), None);
    for _ in 0..3 {
        fine.expect("group_change_success").await;
    }
}

#[tokio::test]
async fn cancels_fail_deployments_and_lock_conflicts_fail_group_changes() {
    let api = Api::new().await;
    let mut s = Stream::open(
        &api.router,
        "?event_type=deployment_failed&event_type=group_change_failed&event_type=deployment_success",
        None,
    )
    .await;
    let r = api
        .post("/v2/apps", json!({"id": "/g/a", "cmd": "x", "instances": 2}))
        .await;
    let first = r.header("marathon-deployment-id").unwrap().to_string();

    let r = api.put("/v2/apps/g/a", json!({"instances": 3})).await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    let failed = s.expect("group_change_failed").await;
    assert_eq!(failed.data["groupId"], "/g");
    assert!(failed.data["reason"].as_str().unwrap().contains(&first), "{failed:?}");

    // Forcing replaces the running deployment: it fails.
    let r = api.put("/v2/apps/g/a?force=true", json!({"instances": 3})).await;
    let second = r.header("marathon-deployment-id").unwrap().to_string();
    let f = s.expect("deployment_failed").await;
    assert_eq!(f.data["id"], first.as_str());

    // Cancelling by force drops it: it fails, and never succeeds.
    let r = api.delete(&format!("/v2/deployments/{second}?force=true")).await;
    assert_eq!(r.status, StatusCode::ACCEPTED);
    let f = s.expect("deployment_failed").await;
    assert_eq!(f.data["id"], second.as_str());
    assert_eq!(f.data["plan"]["id"], second.as_str());

    // A deployment the controllers finish succeeds.
    let r = api.put("/v2/apps/g/a", json!({"instances": 1})).await;
    let third = r.header("marathon-deployment-id").unwrap().to_string();
    api.finish_deployments().await;
    assert_eq!(s.expect("deployment_success").await.data["id"], third.as_str());
}

/// A callback subscriber: a real HTTP server that forwards every POSTed body.
async fn subscriber() -> (String, mpsc::UnboundedReceiver<Value>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let app = axum::Router::new().route(
        "/cb",
        axum::routing::post(move |body: String| {
            let tx = tx.clone();
            async move {
                let _ = tx.send(serde_json::from_str::<Value>(&body).unwrap());
                StatusCode::OK
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/cb", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, rx)
}

async fn received(rx: &mut mpsc::UnboundedReceiver<Value>) -> Value {
    tokio::time::timeout(WAIT, rx.recv())
        .await
        .expect("no callback in time")
        .unwrap()
}

async fn received_type(rx: &mut mpsc::UnboundedReceiver<Value>, event: &str) -> Value {
    let v = received(rx).await;
    assert_eq!(v["eventType"], event, "{v}");
    v
}

#[tokio::test]
async fn callback_subscribers_get_every_event_by_post_and_persist() {
    let api = Api::new().await;
    let (url, mut rx) = subscriber().await;
    let r = api
        .post(&format!("/v2/eventSubscriptions?callbackUrl={url}"), json!(null))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let body = r.json();
    assert_eq!(
        (body["callbackUrl"].as_str(), body["eventType"].as_str()),
        (Some(url.as_str()), Some("subscribe_event"))
    );
    assert!(body["clientIp"].is_string() && body["timestamp"].is_string());
    assert_eq!(
        api.get("/v2/eventSubscriptions").await.json(),
        json!({"callbackUrls": [url]})
    );
    let stored = api
        .store
        .read(|s| s.scan("eventsub/").map(|(_, e)| e.record.clone()).collect::<Vec<_>>());
    assert_eq!(
        stored,
        vec![Record::EventSubscription(url.clone())],
        "kept in the store"
    );

    api.post("/v2/apps", json!({"id": "/a", "cmd": "x", "instances": 1}))
        .await;
    running(&api, "/a").await;
    // Whether the subscribe_event itself reaches the new subscriber is a race with its start.
    let mut first = received(&mut rx).await;
    if first["eventType"] == "subscribe_event" {
        first = received(&mut rx).await;
    }
    assert_eq!(first["eventType"], "api_post_event");
    assert_eq!(first["appDefinition"]["id"], "/a");
    received_type(&mut rx, "group_change_success").await;
    received_type(&mut rx, "deployment_info").await;
    received_type(&mut rx, "instance_changed_event").await;
    assert_eq!(
        received_type(&mut rx, "status_update_event").await["taskStatus"],
        "TASK_RUNNING"
    );
    received_type(&mut rx, "instance_changed_event").await;

    // A server started later on the same store delivers to the same subscriber.
    let Api { router, store } = api;
    drop(router);
    let api = Api {
        router: apis::router(apis::ApiState::new(store.clone(), apis::ApiConfig::default())),
        store,
    };
    api.finish_deployments().await;
    received_type(&mut rx, "deployment_step_success").await;
    received_type(&mut rx, "deployment_step_success").await;
    received_type(&mut rx, "deployment_success").await;

    let r = api.delete(&format!("/v2/eventSubscriptions?callbackUrl={url}")).await;
    assert_eq!(r.json()["eventType"], "unsubscribe_event");
    assert_eq!(
        api.get("/v2/eventSubscriptions").await.json(),
        json!({"callbackUrls": []})
    );
    assert!(api.store.read(|s| s.scan("eventsub/").next().is_none()));

    // Delivery stops: a subscriber that is still there sees later events, this one does not.
    let (other, mut other_rx) = subscriber().await;
    api.post(&format!("/v2/eventSubscriptions?callbackUrl={other}"), json!(null))
        .await;
    api.post("/v2/apps", json!({"id": "/b", "cmd": "x", "instances": 0}))
        .await;
    while received(&mut other_rx).await["eventType"] != "deployment_info" {}
    while let Ok(v) = rx.try_recv() {
        assert_eq!(
            v["eventType"], "unsubscribe_event",
            "delivered after unsubscribing: {v}"
        );
    }
}

#[tokio::test]
async fn a_subscriber_that_is_down_gets_its_events_once_it_is_up() {
    let api = Api::new().await;
    // Reserve a port, subscribe it while nothing listens there, then start listening.
    let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = probe.local_addr().unwrap();
    drop(probe);
    let url = format!("http://{addr}/cb");
    api.post(&format!("/v2/eventSubscriptions?callbackUrl={url}"), json!(null))
        .await;
    api.post("/v2/apps", json!({"id": "/a", "cmd": "x", "instances": 0}))
        .await;

    let (tx, mut rx) = mpsc::unbounded_channel::<Value>();
    let app = axum::Router::new().route(
        "/cb",
        axum::routing::post(move |body: String| {
            let tx = tx.clone();
            async move {
                let _ = tx.send(serde_json::from_str::<Value>(&body).unwrap());
                StatusCode::OK
            }
        }),
    );
    tokio::time::sleep(Duration::from_millis(200)).await;
    let listener = tokio::net::TcpListener::bind(addr).await.unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    let mut types = vec![];
    while !types.contains(&"deployment_info".to_string()) {
        types.push(received(&mut rx).await["eventType"].as_str().unwrap().to_string());
    }
    let from = types
        .iter()
        .position(|t| t == "api_post_event")
        .expect("api_post_event delivered");
    assert_eq!(
        types[from..],
        ["api_post_event", "group_change_success", "deployment_info"]
    );
}
