//! `/v2/pods`: create, read, replace, delete, `::status`, `::versions`, `::instances`, the
//! errors in Marathon's shapes, and pod deployments in `/v2/deployments`.

mod common;

use std::sync::Arc;

use axum::http::{Method, StatusCode};
use common::Api;
use schemas::{ContainerTask, Instance, PathId, Record, RunSpec, TaskRecord, TaskState, Timestamp};
use serde_json::{Value, json};
use store::{Op, keys};

fn pod(id: &str, instances: u32) -> Value {
    json!({
        "id": id,
        "scaling": {"kind": "fixed", "instances": instances},
        "containers": [
            {"name": "web", "exec": {"command": {"shell": "sleep 100"}},
             "resources": {"cpus": 0.1, "mem": 32},
             "endpoints": [{"name": "http", "hostPort": 0}]},
            {"name": "side", "exec": {"command": {"shell": "sleep 100"}},
             "resources": {"cpus": 0.1, "mem": 32}}
        ]
    })
}

/// Adds a running instance of pod `id` with both containers running, as the controllers do.
async fn running_instance(api: &Api, id: &str) -> Instance {
    let pid = PathId::parse(id).unwrap();
    let def = api.store.read(|s| s.pod(&pid).cloned()).unwrap();
    let now = Timestamp::now();
    let mut inst = Instance::of(&RunSpec::Pod(def), now);
    let containers = ["web", "side"]
        .iter()
        .map(|c| ContainerTask {
            name: c.to_string(),
            task_id: inst.next_container_task_id(c),
            state: TaskState::TASK_RUNNING,
            started_at: Some(now),
            updated_at: now,
            checked: false,
            healthy: None,
            message: None,
        })
        .collect();
    inst.incarnation = 1;
    inst.task = Some(TaskRecord {
        task_id: inst.instance_id.clone(),
        agent_id: "agent-1".into(),
        host: "h1".into(),
        ports: vec![31005],
        state: TaskState::TASK_RUNNING,
        staged_at: now,
        started_at: Some(now),
        updated_at: now,
        message: None,
        health: Default::default(),
        containers,
    });
    api.put_instance(&inst).await;
    inst
}

#[tokio::test]
async fn create_read_and_list() {
    let api = Api::new().await;
    assert_eq!(api.call(Method::HEAD, "/v2/pods", None).await.status, StatusCode::OK);
    let r = api.post("/v2/pods", pod("/p", 1)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.header("location"), Some("/v2/pods/p"));
    let deployment = r.header("marathon-deployment-id").unwrap().to_string();
    let body = r.json();
    assert_eq!(body["id"], "/p");
    assert!(body["version"].is_string());
    assert_eq!(body["networks"], json!([{"mode": "host"}]), "normalised: {body}");
    assert_eq!(body["executorResources"]["cpus"], json!(0.1));

    assert_eq!(api.get("/v2/pods/p").await.json(), body);
    assert_eq!(api.get("/v2/pods").await.json(), json!([body]));

    let list = api.get("/v2/deployments").await.json();
    assert_eq!(list[0]["id"], deployment);
    assert_eq!(list[0]["affectedApps"], json!([]));
    assert_eq!(list[0]["affectedPods"], json!(["/p"]));
    assert_eq!(
        list[0]["steps"],
        json!([{"actions": [{"action": "StartPod", "pod": "/p"}]}, {"actions": [{"action": "ScalePod", "pod": "/p"}]}])
    );
    assert_eq!(
        list[0]["currentActions"],
        json!([{"action": "StartPod", "pod": "/p", "readinessCheckResults": []}])
    );
}

#[tokio::test]
async fn errors_in_marathons_shapes() {
    let api = Api::new().await;
    let r = api.get("/v2/pods/nope").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(r.json()["message"], "Pod '/nope' does not exist");
    assert_eq!(api.get("/v2/pods/nope::status").await.status, StatusCode::NOT_FOUND);
    assert_eq!(api.delete("/v2/pods/nope").await.status, StatusCode::NOT_FOUND);

    let r = api.post("/v2/pods", json!({"id": "/bad", "containers": []})).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert_eq!(r.json()["message"], "Object is not valid");
    let r = api.post("/v2/pods", json!({"id": "/bad", "containers": 3})).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);

    api.post("/v2/pods", pod("/p", 1)).await;
    api.finish_deployments().await;
    let r = api.post("/v2/pods", pod("/p", 1)).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text);

    // Apps and pods share one namespace.
    api.create(json!({"id": "/a", "cmd": "x"})).await;
    assert_eq!(api.post("/v2/pods", pod("/a", 1)).await.status, StatusCode::CONFLICT);
    let r = api.post("/v2/apps", json!({"id": "/p", "cmd": "x"})).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text);
    let r = api.post("/v2/pods", pod("/a/below", 1)).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);

    let r = api.put("/v2/pods/p", pod("/other", 1)).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
}

#[tokio::test]
async fn updates_lock_versions_and_scale() {
    let api = Api::new().await;
    let created = api.post("/v2/pods", pod("/p", 1)).await.json();
    // The create's deployment still runs: another change is locked out unless forced.
    let r = api.put("/v2/pods/p", pod("/p", 2)).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text);
    assert!(r.json()["deployments"].is_array());
    let r = api.put("/v2/pods/p?force=true", pod("/p", 2)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let scaled = r.json();
    assert_eq!(scaled["scaling"]["instances"], 2);
    assert_eq!(
        scaled["versionInfo"]["lastConfigChangeAt"], created["version"],
        "a scale keeps the config"
    );
    let list = api.get("/v2/deployments").await.json();
    assert_eq!(
        list.as_array().unwrap().len(),
        1,
        "the forced change replaced the first"
    );
    assert_eq!(
        list[0]["steps"],
        json!([{"actions": [{"action": "ScalePod", "pod": "/p"}]}])
    );
    api.finish_deployments().await;

    let mut changed = pod("/p", 2);
    changed["containers"][0]["exec"]["command"]["shell"] = json!("sleep 200");
    let r = api.put("/v2/pods/p", changed).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json()["versionInfo"]["lastConfigChangeAt"], r.json()["version"]);
    let list = api.get("/v2/deployments").await.json();
    assert_eq!(
        list[0]["steps"],
        json!([{"actions": [{"action": "RestartPod", "pod": "/p"}]}])
    );

    let versions = api.get("/v2/pods/p::versions").await.json();
    assert_eq!(versions.as_array().unwrap().len(), 3);
    let first = versions[0].as_str().unwrap();
    let r = api.get(&format!("/v2/pods/p::versions/{first}")).await;
    assert_eq!(r.json(), created);
    assert_eq!(
        api.get("/v2/pods/p::versions/2001-01-01T00:00:00.000Z").await.status,
        StatusCode::NOT_FOUND
    );

    // Rolling back the running deployment restores the scaled definition.
    let id = list[0]["id"].as_str().unwrap();
    let r = api.delete(&format!("/v2/deployments/{id}")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let back = api.get("/v2/pods/p").await.json();
    assert_eq!(back["containers"][0]["exec"]["command"]["shell"], "sleep 100");
    assert_eq!(back["versionInfo"]["lastConfigChangeAt"], created["version"]);
}

#[tokio::test]
async fn put_creates_and_delete_answers_202() {
    let api = Api::new().await;
    let mut body = pod("/q", 1);
    body.as_object_mut().unwrap().remove("id");
    let r = api.put("/v2/pods/q", body).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    api.finish_deployments().await;
    let r = api.delete("/v2/pods/q").await;
    assert_eq!(r.status, StatusCode::ACCEPTED);
    let d = r.header("marathon-deployment-id").unwrap().to_string();
    assert_eq!(r.header("location"), Some(d.as_str()));
    assert_eq!(api.get("/v2/pods/q").await.status, StatusCode::NOT_FOUND);
    let list = api.get("/v2/deployments").await.json();
    assert_eq!(
        list[0]["steps"],
        json!([{"actions": [{"action": "StopPod", "pod": "/q"}]}])
    );
    let versions = api.store.read(|s| s.scan(keys::POD_VERSIONS).count());
    assert_eq!(versions, 0, "a deleted pod's versions go with it");
}

#[tokio::test]
async fn status_shows_instances_and_containers() {
    let api = Api::new().await;
    api.post("/v2/pods", pod("/p", 1)).await;
    api.finish_deployments().await;
    let s = api.get("/v2/pods/p::status").await.json();
    assert_eq!((s["id"].clone(), s["status"].clone()), (json!("/p"), json!("DEGRADED")));
    assert_eq!(s["spec"]["id"], "/p");
    assert_eq!(s["instances"], json!([]));

    let inst = running_instance(&api, "/p").await;
    let s = api.get("/v2/pods/p::status").await.json();
    assert_eq!(s["status"], "STABLE", "{s}");
    let i = &s["instances"][0];
    assert_eq!(i["id"], inst.instance_id.as_str());
    assert_eq!(i["status"], "STABLE");
    assert_eq!(i["agentHostname"], "h1");
    assert_eq!(i["resources"]["cpus"].as_f64().map(|c| (c * 10.0).round()), Some(3.0));
    let containers = i["containers"].as_array().unwrap();
    assert_eq!(containers.len(), 2);
    assert_eq!(containers[0]["name"], "web");
    assert_eq!(containers[0]["status"], "TASK_RUNNING");
    assert_eq!(containers[0]["containerId"], format!("{}.web", inst.instance_id));
    assert_eq!(
        containers[0]["endpoints"],
        json!([{"name": "http", "allocatedHostPort": 31005}])
    );
    assert_eq!(containers[1]["endpoints"], json!([]));
    let all = api.get("/v2/pods/::status").await.json();
    assert_eq!(all.as_array().map(Vec::len), Some(1));
    assert_eq!(
        (all[0]["id"].clone(), all[0]["status"].clone()),
        (json!("/p"), json!("STABLE"))
    );

    // One container failed: the instance is going down.
    let mut failing = inst.clone();
    let task = failing.task.as_mut().unwrap();
    task.containers[1].state = TaskState::TASK_FAILED;
    task.derive_from_containers();
    api.put_instance(&failing).await;
    let s = api.get("/v2/pods/p::status").await.json();
    assert_eq!(s["instances"][0]["status"], "TERMINAL");
    assert_eq!(s["status"], "DEGRADED");
}

#[tokio::test]
async fn killing_instances_flags_them() {
    let api = Api::new().await;
    api.post("/v2/pods", pod("/p", 2)).await;
    api.finish_deployments().await;
    let a = running_instance(&api, "/p").await;
    let b = running_instance(&api, "/p").await;
    let r = api.delete(&format!("/v2/pods/p::instances/{}", a.instance_id)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json()["id"], a.instance_id.as_str());
    assert!(api.instance("/p", &a.instance_id).kill_requested);
    assert!(!api.instance("/p", &b.instance_id).kill_requested);

    let r = api
        .call(Method::DELETE, "/v2/pods/p::instances", Some(json!([b.instance_id])))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json().as_array().unwrap().len(), 1);
    assert!(api.instance("/p", &b.instance_id).kill_requested);
    assert_eq!(api.deployment_count(), 0, "a kill is no deployment");
    let r = api.delete("/v2/pods/p::instances/p.instance-nope").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn old_deployment_records_still_read() {
    let api = Api::new().await;
    let old = json!({"id": "d1", "version": "2020-01-01T00:00:00.000Z", "affectedApps": ["/a"],
        "steps": [{"actions": [{"action": "ScaleApplication", "app": "/a"}]}], "currentStep": 0});
    let d: schemas::Deployment = serde_json::from_value(old).unwrap();
    assert!(d.affected_pods.is_empty());
    api.store
        .write_ops(vec![Op::put(keys::deployment("d1"), Record::Deployment(Arc::new(d)))])
        .await
        .unwrap();
    let list = api.get("/v2/deployments").await.json();
    assert_eq!(list[0]["affectedPods"], json!([]));
}

#[tokio::test]
async fn groups_embed_pod_statuses() {
    let api = Api::new().await;
    api.post("/v2/pods", pod("/p", 1)).await;
    let root = api.get("/v2/groups?embed=group.pods").await.json();
    assert_eq!(root["pods"].as_array().map(Vec::len), Some(1), "{root}");
    assert_eq!(root["pods"][0]["id"], "/p");
    assert_eq!(root["pods"][0]["spec"]["id"], "/p");
    let r = api
        .put("/v2/groups/g", json!({"id": "/g", "pods": [pod("/g/p", 1)]}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "groups take pods: {}", r.text);
    assert_eq!(api.get("/v2/groups/g").await.json()["pods"][0]["id"], "/g/p");
}

#[tokio::test]
async fn waiting_pods_are_queued_as_pods() {
    let api = Api::new().await;
    api.post("/v2/pods", pod("/p", 2)).await;
    let q = api.get("/v2/queue").await.json();
    let item = &q["queue"][0];
    assert_eq!(item["pod"]["id"], "/p", "{q}");
    assert!(item.get("app").is_none());
    assert_eq!(item["count"], 2);
}
