//! The local master's `/api/v1/scheduler` spoken in Mesos's JSON: Pacer's HTTP client in JSON
//! mode runs a task through it, and a raw client sees JSON records and Mesos's refusals.

mod common;

use std::sync::Arc;

use common::{Reaper, Sched, WAIT, shell_task};
use futures::StreamExt;
use mesos::local::LocalMaster;
use mesos::v1::TaskState;
use mesos::v1::framework_info::capability::Type as Capability;
use mesos::{HttpTransport, Transport};
use reqwest::StatusCode;

/// Serves the master's HTTP API on a loopback port; its base URL.
async fn serve(master: &LocalMaster) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = master.http_api();
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}")
}

#[tokio::test]
async fn a_json_scheduler_runs_a_task_over_http() {
    let dir = tempfile::tempdir().unwrap();
    let reaper = Reaper::default();
    let master = LocalMaster::start(common::config(dir.path())).await.unwrap();
    let url = serve(&master).await;
    let transport: Arc<dyn Transport> = Arc::new(HttpTransport::new(&url).unwrap().with_json());
    let info = common::framework("json", &[Capability::PartitionAware], 60.0);
    let mut sched = Sched::subscribe(&transport, info, &reaper).await.unwrap();
    let offer = sched.next_offers().await.unwrap().remove(0);
    let task = shell_task("json.1", &offer.agent_id.value, "sleep 30");
    sched.launch(&[&offer], vec![task], Some(1.0)).await.unwrap();
    let running = sched.await_state("json.1", TaskState::TaskRunning).await.unwrap();
    assert!(running.uuid.is_some(), "an agent's update carries a uuid: {running:?}");
    sched.kill("json.1").await.unwrap();
    sched.await_state("json.1", TaskState::TaskKilled).await.unwrap();
    master.shutdown().await;
}

#[tokio::test]
async fn the_wire_is_mesos_json_and_mistakes_are_refused_as_mesos_does() {
    let dir = tempfile::tempdir().unwrap();
    let master = LocalMaster::start(common::config(dir.path())).await.unwrap();
    let url = format!("{}/api/v1/scheduler", serve(&master).await);
    let http = reqwest::Client::new();
    let post = |content_type: &'static str, body: &'static str| {
        http.post(&url)
            .header("Content-Type", content_type)
            .header("Accept", "application/json")
            .body(body)
    };
    let subscribe = r#"{"type":"SUBSCRIBE","subscribe":{"framework_info":{"user":"root","name":"raw"}}}"#;

    let res = post("application/json; charset=utf-8", subscribe).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    // camelCase keys mean nothing to Mesos: the required framework_info is missing.
    let camel = r#"{"type":"SUBSCRIBE","subscribe":{"frameworkInfo":{"user":"root","name":"raw"}}}"#;
    let res = post("application/json", camel).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert!(res.text().await.unwrap().contains("subscribe.framework_info"));
    let res = http
        .post(&url)
        .header("Content-Type", "application/json")
        .header("Accept", "text/plain")
        .body(subscribe)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_ACCEPTABLE);

    let res = post("application/json", subscribe).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["content-type"], "application/json");
    let mut body = res.bytes_stream();
    let mut received = Vec::new();
    let first = tokio::time::timeout(WAIT, async {
        loop {
            received.extend_from_slice(&body.next().await.unwrap().unwrap());
            let Some(newline) = received.iter().position(|b| *b == b'\n') else {
                continue;
            };
            let len: usize = std::str::from_utf8(&received[..newline]).unwrap().parse().unwrap();
            if received.len() > newline + len {
                break received[newline + 1..newline + 1 + len].to_vec();
            }
        }
    })
    .await
    .expect("a first record");
    let first: serde_json::Value = serde_json::from_slice(&first).unwrap();
    assert_eq!(first["type"], "SUBSCRIBED");
    assert!(first["subscribed"]["framework_id"]["value"].is_string(), "{first}");
    assert_eq!(first["subscribed"]["heartbeat_interval_seconds"], 15.0);
    drop(body);
    master.shutdown().await;
}
