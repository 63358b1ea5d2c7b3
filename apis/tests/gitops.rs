//! What GitOps clients rely on: generation, observedGeneration and conditions on apps,
//! `If-Match` on writes, the schema route, and task output read from sandboxes.

mod common;

use axum::http::{Method, StatusCode};
use common::{Api, task_id};
use schemas::TaskState;
use serde_json::{Value, json};

fn condition<'a>(app: &'a Value, kind: &str) -> &'a Value {
    app["conditions"]
        .as_array()
        .and_then(|cs| cs.iter().find(|c| c["type"] == kind))
        .unwrap_or_else(|| panic!("no {kind} condition in {app}"))
}

fn version_millis(app: &Value) -> i64 {
    let v = app["version"].as_str().unwrap();
    v.parse::<schemas::Timestamp>().unwrap().millis()
}

#[tokio::test]
async fn conditions_follow_deployments_and_tasks() {
    let api = Api::new().await;
    let r = api
        .post("/v2/apps", json!({"id": "/web", "cmd": "sleep 100", "instances": 1}))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);

    let app = api.get("/v2/apps/web?embed=app.status").await.json()["app"].clone();
    assert_eq!(app["generation"], version_millis(&app));
    assert_eq!(app["observedGeneration"], 0, "the creation is still rolling out");
    assert_eq!(condition(&app, "Progressing")["status"], "True");
    assert_eq!(condition(&app, "Available")["status"], "False");

    api.finish_deployments().await;
    api.add_task("/web", TaskState::TASK_RUNNING, "localhost", vec![]).await;
    let app = api.get("/v2/apps/web?embed=app.status").await.json()["app"].clone();
    assert_eq!(app["observedGeneration"], app["generation"]);
    assert_eq!(condition(&app, "Progressing")["status"], "False");
    let available = condition(&app, "Available");
    assert_eq!(
        (available["status"].as_str(), available["reason"].as_str()),
        (Some("True"), Some("InstancesAvailable"))
    );
    assert!(available["lastTransitionTime"].is_string());
    assert_eq!(condition(&app, "Degraded")["status"], "False");

    // A scale bumps the generation; the list shows the same status fields.
    let before = app["generation"].as_i64().unwrap();
    api.put("/v2/apps/web", json!({"instances": 2})).await;
    let apps = api.get("/v2/apps?embed=apps.status").await.json();
    let app = &apps["apps"][0];
    assert!(app["generation"].as_i64().unwrap() > before);
    assert_eq!(app["observedGeneration"], before);
    assert_eq!(condition(app, "Progressing")["status"], "True");

    api.finish_deployments().await;
    api.add_task("/web", TaskState::TASK_FAILED, "localhost", vec![]).await;
    let app = api.get("/v2/apps/web?embed=app.status").await.json()["app"].clone();
    assert_eq!(condition(&app, "Degraded")["reason"], "TaskFailed");
    assert_eq!(condition(&app, "Available")["status"], "False");
}

#[tokio::test]
async fn if_match_guards_writes() {
    let api = Api::new().await;
    api.create(json!({"id": "/a", "cmd": "sleep 100", "instances": 0}))
        .await;
    let r = api.get("/v2/apps/a").await;
    let version = r.json()["app"]["version"].as_str().unwrap().to_string();
    assert_eq!(r.header("etag"), Some(format!("\"{version}\"").as_str()));
    let stale = "2000-01-01T00:00:00.000Z";
    let body = r#"{"cmd": "sleep 200"}"#;

    for method in [Method::PUT, Method::PATCH] {
        let r = api
            .raw(
                method.clone(),
                "/v2/apps/a",
                Some(body),
                &[("content-type", "application/json"), ("if-match", stale)],
            )
            .await;
        assert_eq!(r.status, StatusCode::PRECONDITION_FAILED, "{method}: {}", r.text);
        assert!(r.json()["message"].as_str().unwrap().contains(&version), "{}", r.text);
    }
    let r = api
        .raw(Method::DELETE, "/v2/apps/a", None, &[("if-match", stale)])
        .await;
    assert_eq!(r.status, StatusCode::PRECONDITION_FAILED);
    let r = api
        .raw(
            Method::PUT,
            "/v2/apps/new",
            Some(body),
            &[("content-type", "application/json"), ("if-match", "*")],
        )
        .await;
    assert_eq!(r.status, StatusCode::PRECONDITION_FAILED, "If-Match on an absent app");
    assert!(api.app("/new").is_none());
    assert_eq!(api.app("/a").unwrap().cmd.as_deref(), Some("sleep 100"));

    let quoted = format!("\"{version}\"");
    let r = api
        .raw(
            Method::PUT,
            "/v2/apps/a",
            Some(body),
            &[("content-type", "application/json"), ("if-match", &quoted)],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    api.finish_deployments().await;
    // The version moved on: the old tag no longer matches, the rollback to it is guarded too.
    let rollback = format!(r#"{{"version": "{version}"}}"#);
    let r = api
        .raw(
            Method::PUT,
            "/v2/apps/a",
            Some(&rollback),
            &[("content-type", "application/json"), ("if-match", &quoted)],
        )
        .await;
    assert_eq!(r.status, StatusCode::PRECONDITION_FAILED);
    let r = api.raw(Method::DELETE, "/v2/apps/a", None, &[("if-match", "*")]).await;
    assert_eq!(r.status, StatusCode::OK);
}

#[tokio::test]
async fn schema_route() {
    let api = Api::new().await;
    let r = api.get("/v2/schemas/app").await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json(), schemas::app_json_schema());
    assert_eq!(api.get("/v2/schemas/pod").await.json(), schemas::pod_json_schema());
    assert_eq!(api.get("/v2/schemas/group").await.json(), schemas::group_json_schema());
    assert_eq!(api.get("/v2/schemas/nope").await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn task_output_from_the_sandbox() {
    let root = tempfile::tempdir().unwrap();
    let api = Api::with_config(apis::ApiConfig {
        sandbox_root: Some(root.path().to_path_buf()),
        ..Default::default()
    })
    .await;
    api.create(json!({"id": "/logs", "cmd": "echo hi", "instances": 1}))
        .await;
    let inst = api
        .add_task("/logs", TaskState::TASK_RUNNING, "localhost", vec![])
        .await;
    let task = task_id(&inst);
    let sandbox = root.path().join("localhost").join("sandboxes").join(&task);
    std::fs::create_dir_all(&sandbox).unwrap();
    std::fs::write(sandbox.join("stdout"), "line 1\nline 2\n").unwrap();
    std::fs::write(sandbox.join("stderr"), "oops\n").unwrap();
    // A file beside the sandboxes that no request may reach.
    std::fs::write(root.path().join("secret"), "no").unwrap();

    let r = api.get(&format!("/v2/tasks/{task}/files/stdout")).await;
    assert_eq!((r.status, r.text.as_str()), (StatusCode::OK, "line 1\nline 2\n"));
    assert_eq!(r.header(apis::FILE_SIZE_HEADER), Some("14"));
    let r = api
        .get(&format!("/v2/tasks/{task}/files/stdout?offset=7&length=4"))
        .await;
    assert_eq!(r.text, "line");
    let r = api.get(&format!("/v2/tasks/{task}/files/stderr?offset=100")).await;
    assert_eq!(
        (r.status, r.text.as_str(), r.header(apis::FILE_SIZE_HEADER)),
        (StatusCode::OK, "", Some("5"))
    );

    assert_eq!(
        api.get(&format!("/v2/tasks/{task}/files/secret")).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        api.get(&format!("/v2/tasks/{task}/files/stdout?offset=-1"))
            .await
            .status,
        StatusCode::BAD_REQUEST
    );
    for bad in ["..", "..%2F..%2Fsecret", "logs.instance-unknown._app.1", "%2E%2E"] {
        let r = api.get(&format!("/v2/tasks/{bad}/files/stdout")).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{bad}: {}", r.text);
    }
    let elsewhere = Api::new().await;
    elsewhere
        .create(json!({"id": "/logs", "cmd": "echo hi", "instances": 1}))
        .await;
    let inst = elsewhere
        .add_task("/logs", TaskState::TASK_RUNNING, "localhost", vec![])
        .await;
    let r = elsewhere
        .get(&format!("/v2/tasks/{}/files/stdout", task_id(&inst)))
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "no sandbox root configured");
}
