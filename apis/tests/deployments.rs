//! `/v2/deployments` (listing, cancel with and without rollback) and `/v2/queue`.

mod common;

use axum::http::StatusCode;
use common::Api;
use schemas::{Goal, TaskState};
use serde_json::{Value, json};

#[tokio::test]
async fn deployments_list_in_marathons_shape() {
    let api = Api::new().await;
    assert_eq!(api.get("/v2/deployments").await.json(), json!([]));
    let r = api
        .post("/v2/apps", json!({"id": "/a", "cmd": "x", "instances": 2}))
        .await;
    let id = r.header("marathon-deployment-id").unwrap().to_string();
    let list = api.get("/v2/deployments").await.json();
    let d = &list[0];
    assert_eq!(d["id"], id);
    assert_eq!(d["version"], r.json()["version"]);
    assert_eq!(d["affectedApps"], json!(["/a"]));
    assert_eq!(d["affectedPods"], json!([]));
    assert_eq!(
        d["steps"],
        json!([{"actions": [{"action": "StartApplication", "app": "/a"}]}, {"actions": [{"action": "ScaleApplication", "app": "/a"}]}])
    );
    assert_eq!(
        d["currentActions"],
        json!([{"action": "StartApplication", "app": "/a", "readinessCheckResults": []}])
    );
    assert_eq!(
        (d["currentStep"].clone(), d["totalSteps"].clone()),
        (json!(1), json!(2))
    );
    let example: Value =
        serde_json::from_str(include_str!("../../../shared/marathon-data/examples-deployments.json")).unwrap();
    let mut want: Vec<_> = example[0].as_object().unwrap().keys().collect();
    let mut got: Vec<_> = d.as_object().unwrap().keys().collect();
    want.sort();
    got.sort();
    assert_eq!(got, want);
}

#[tokio::test]
async fn forced_cancel_just_drops_the_deployment() {
    // §14.1 #24
    let api = Api::new().await;
    let r = api
        .post(
            "/v2/apps",
            json!({"id": "/a", "cmd": "x", "instances": 5, "constraints": [["nonExistent", "CLUSTER", "na"]]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let id = r.header("marathon-deployment-id").unwrap().to_string();
    let r = api.delete(&format!("/v2/deployments/{id}?force=true")).await;
    assert_eq!(r.status, StatusCode::ACCEPTED);
    assert!(r.text.is_empty());
    assert_eq!(api.get("/v2/deployments").await.json(), json!([]));
    assert_eq!(
        api.get("/v2/apps/a").await.status,
        StatusCode::OK,
        "the app keeps its new definition"
    );
    let r = api.delete(&format!("/v2/deployments/{id}?force=true")).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(
        r.json(),
        json!({"message": format!("DeploymentPlan {id} does not exist")})
    );
}

#[tokio::test]
async fn cancel_rolls_a_creation_back() {
    // §14.1 #25
    let api = Api::new().await;
    let r = api.post("/v2/apps", json!({"id": "/a", "cmd": "x"})).await;
    let id = r.header("marathon-deployment-id").unwrap().to_string();
    let r = api.delete(&format!("/v2/deployments/{id}")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let rollback = r.json()["deploymentId"].as_str().unwrap().to_string();
    assert_ne!(rollback, id);
    assert_eq!(r.header("marathon-deployment-id"), Some(rollback.as_str()));
    assert_eq!(api.get("/v2/apps/a").await.status, StatusCode::NOT_FOUND);
    let list = api.get("/v2/deployments").await.json();
    assert_eq!(list.as_array().unwrap().len(), 1, "the rollback replaced the original");
    assert_eq!(list[0]["id"], rollback);
    assert_eq!(
        list[0]["steps"],
        json!([{"actions": [{"action": "StopApplication", "app": "/a"}]}])
    );
    assert_eq!(
        api.delete("/v2/deployments/unknown").await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn cancel_restores_updated_and_deleted_apps() {
    let api = Api::new().await;
    api.create(json!({"id": "/a", "cmd": "one"})).await;
    let original = api.app("/a").unwrap();
    let id = api.put("/v2/apps/a", json!({"cmd": "two"})).await.json()["deploymentId"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        api.delete(&format!("/v2/deployments/{id}")).await.status,
        StatusCode::OK
    );
    let restored = api.app("/a").unwrap();
    assert_eq!(restored.cmd.as_deref(), Some("one"));
    assert!(restored.version > original.version);
    api.finish_deployments().await;

    let id = api.delete("/v2/apps/a").await.json()["deploymentId"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(api.app("/a").is_none());
    assert_eq!(
        api.delete(&format!("/v2/deployments/{id}")).await.status,
        StatusCode::OK
    );
    assert_eq!(api.app("/a").unwrap().cmd.as_deref(), Some("one"), "re-created");
}

#[tokio::test]
async fn queue_lists_what_waits_for_a_launch() {
    // §14.1 #23, #41
    let api = Api::new().await;
    assert_eq!(api.get("/v2/queue").await.json(), json!({"queue": []}));
    api.create(json!({"id": "/a", "cmd": "x", "instances": 5, "constraints": [["nonExistent", "CLUSTER", "na"]]}))
        .await;
    let q = api.get("/v2/queue").await.json();
    let item = &q["queue"][0];
    assert_eq!(item["count"], 5);
    assert_eq!(item["app"]["id"], "/a");
    assert_eq!(item["delay"], json!({"timeLeftSeconds": 0, "overdue": true}));
    assert!(item["since"].is_string());
    // Marathon's item also has `role` and `processedOffersSummary`: offers are not recorded in
    // the store, and marathon-python's queue item rejects `role`.
    let example: Value =
        serde_json::from_str(include_str!("../../../shared/marathon-data/examples-queue.json")).unwrap();
    for key in example["queue"][0].as_object().unwrap().keys() {
        if !["role", "processedOffersSummary"].contains(&key.as_str()) {
            assert!(item.get(key).is_some(), "missing {key}");
        }
    }

    let running = api.add_task("/a", TaskState::TASK_RUNNING, "h", vec![]).await;
    api.add_task("/a", TaskState::TASK_FAILED, "h", vec![]).await;
    let mut gone = api.add_task("/a", TaskState::TASK_KILLING, "h", vec![]).await;
    gone.goal = Goal::Decommissioned;
    api.put_instance(&gone).await;
    // 5 wanted: 1 running, 1 failed waiting for a relaunch, 3 not created yet.
    assert_eq!(api.get("/v2/queue").await.json()["queue"][0]["count"], 4);
    let _ = running;
    api.patch("/v2/apps/a?force=true", json!({"instances": 1})).await;
    // 1 wanted, 1 running, the failed one still waits until the controllers remove it.
    assert_eq!(api.get("/v2/queue").await.json()["queue"][0]["count"], 1);
}
