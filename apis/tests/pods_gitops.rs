//! What GitOps clients rely on, for pods: generation, observedGeneration and conditions on a
//! pod and its `::status` (only when asked for), `If-Match` on pod writes, and the mount paths
//! the embedded agent cannot make refused up front.

mod common;

use axum::http::{Method, StatusCode};
use common::Api;
use schemas::{ContainerTask, Instance, PathId, RunSpec, TaskRecord, TaskState, Timestamp};
use serde_json::{Value, json};

fn pod(id: &str, instances: u32, shell: &str) -> Value {
    json!({
        "id": id,
        "scaling": {"kind": "fixed", "instances": instances},
        "containers": [{"name": "web", "exec": {"command": {"shell": shell}}, "resources": {"cpus": 0.1, "mem": 32}}]
    })
}

fn condition<'a>(v: &'a Value, kind: &str) -> &'a Value {
    v["conditions"]
        .as_array()
        .and_then(|cs| cs.iter().find(|c| c["type"] == kind))
        .unwrap_or_else(|| panic!("no {kind} condition in {v}"))
}

fn millis(version: &Value) -> i64 {
    version.as_str().unwrap().parse::<Timestamp>().unwrap().millis()
}

/// Adds an instance of the stored pod `id`, its container in `state`, as the controllers do.
async fn instance(api: &Api, id: &str, state: TaskState) -> Instance {
    let def = api.store.read(|s| s.pod(&PathId::parse(id).unwrap()).cloned()).unwrap();
    let now = Timestamp::now();
    let mut inst = Instance::of(&RunSpec::Pod(def), now);
    let started = (state == TaskState::TASK_RUNNING).then_some(now);
    let container = ContainerTask {
        name: "web".into(),
        task_id: inst.next_container_task_id("web"),
        state,
        started_at: started,
        updated_at: now,
        checked: false,
        healthy: None,
        message: Some("exit 1".into()),
    };
    inst.incarnation = 1;
    inst.task = Some(TaskRecord {
        task_id: format!("instance-{}", inst.instance_id),
        agent_id: "agent-1".into(),
        host: "h1".into(),
        ports: vec![],
        state,
        staged_at: now,
        started_at: started,
        updated_at: now,
        message: Some("exit 1".into()),
        health: Default::default(),
        containers: vec![container],
    });
    api.put_instance(&inst).await;
    inst
}

#[tokio::test]
async fn pod_conditions_follow_deployments_and_instances_when_asked_for() {
    let api = Api::new().await;
    let r = api.post("/v2/pods", pod("/p", 1, "sleep 100")).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let version = r.json()["version"].clone();

    // Marathon's shapes unless asked: no status fields on the pod or its PodStatus.
    let plain = api.get("/v2/pods/p").await;
    let tag = format!("\"{}\"", version.as_str().unwrap());
    assert_eq!(plain.header("etag"), Some(tag.as_str()));
    assert!(plain.json().get("generation").is_none());
    assert!(api.get("/v2/pods/p::status").await.json().get("conditions").is_none());

    let s = api.get("/v2/pods/p::status?embed=status").await.json();
    assert_eq!(s["status"], "DEGRADED", "Marathon's own status stays: {s}");
    assert_eq!(s["generation"], millis(&version));
    assert_eq!(s["observedGeneration"], 0, "the creation is still rolling out");
    assert_eq!(condition(&s, "Progressing")["status"], "True");
    assert_eq!(condition(&s, "Available")["status"], "False");

    api.finish_deployments().await;
    instance(&api, "/p", TaskState::TASK_RUNNING).await;
    let s = api.get("/v2/pods/p::status?embed=pod.status").await.json();
    assert_eq!(s["observedGeneration"], s["generation"]);
    assert_eq!(condition(&s, "Progressing")["status"], "False");
    assert_eq!(condition(&s, "Available")["reason"], "InstancesAvailable");
    assert_eq!(condition(&s, "Degraded")["status"], "False");
    // The same on the pod itself and in the list of statuses.
    let p = api.get("/v2/pods/p?embed=status").await.json();
    assert_eq!((&p["id"], &p["generation"]), (&json!("/p"), &s["generation"]));
    assert_eq!(p["conditions"], s["conditions"]);
    let all = api.get("/v2/pods/::status?embed=status").await.json();
    assert_eq!(all[0]["conditions"], s["conditions"]);

    // A scale bumps the generation; the running instance no longer covers two.
    let before = s["generation"].as_i64().unwrap();
    let r = api.put("/v2/pods/p", pod("/p", 2, "sleep 100")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let s = api.get("/v2/pods/p::status?embed=status").await.json();
    assert!(s["generation"].as_i64().unwrap() > before);
    assert_eq!(s["observedGeneration"], before);
    assert_eq!(condition(&s, "Available")["status"], "False");

    api.finish_deployments().await;
    let failed = instance(&api, "/p", TaskState::TASK_FAILED).await;
    let s = api.get("/v2/pods/p::status?embed=status").await.json();
    let degraded = condition(&s, "Degraded");
    assert_eq!(degraded["reason"], "TaskFailed");
    let message = degraded["message"].as_str().unwrap();
    assert!(
        message.contains(&failed.instance_id) && message.ends_with("TASK_FAILED: exit 1"),
        "{message}"
    );
}

#[tokio::test]
async fn if_match_guards_pod_writes() {
    let api = Api::new().await;
    api.post("/v2/pods", pod("/p", 0, "sleep 100")).await;
    api.finish_deployments().await;
    let r = api.get("/v2/pods/p").await;
    let version = r.json()["version"].as_str().unwrap().to_string();
    let tag = format!("\"{version}\"");
    assert_eq!(r.header("etag"), Some(tag.as_str()));
    let stale = "2000-01-01T00:00:00.000Z";
    let body = pod("/p", 0, "sleep 200").to_string();
    let put = |cond: &str| {
        let (api, body, cond) = (&api, body.clone(), cond.to_string());
        async move {
            api.raw(
                Method::PUT,
                "/v2/pods/p",
                Some(&body),
                &[("content-type", "application/json"), ("if-match", &cond)],
            )
            .await
        }
    };

    let r = put(stale).await;
    assert_eq!(r.status, StatusCode::PRECONDITION_FAILED, "{}", r.text);
    assert!(
        r.json()["message"]
            .as_str()
            .unwrap()
            .contains(&format!("does not match the pod's current version {version}")),
        "{}",
        r.text
    );
    let r = api
        .raw(Method::DELETE, "/v2/pods/p", None, &[("if-match", stale)])
        .await;
    assert_eq!(r.status, StatusCode::PRECONDITION_FAILED);
    let r = api
        .raw(
            Method::PUT,
            "/v2/pods/new",
            Some(&pod("/new", 0, "sleep 1").to_string()),
            &[("content-type", "application/json"), ("if-match", "*")],
        )
        .await;
    assert_eq!(r.status, StatusCode::PRECONDITION_FAILED, "If-Match on an absent pod");
    assert_eq!(api.get("/v2/pods/new").await.status, StatusCode::NOT_FOUND);
    let stored = api
        .store
        .read(|s| s.pod(&PathId::parse("/p").unwrap()).cloned())
        .unwrap();
    assert_eq!(
        stored.version.map(|v| v.to_string()),
        Some(version.clone()),
        "nothing was written"
    );

    let r = put(&tag).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    api.finish_deployments().await;
    // The version moved on: the old tag no longer matches.
    assert_eq!(put(&tag).await.status, StatusCode::PRECONDITION_FAILED);
    let r = api.raw(Method::DELETE, "/v2/pods/p", None, &[("if-match", "*")]).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
}

#[tokio::test]
async fn absolute_mount_paths_are_refused_where_the_local_agent_runs_pods() {
    let api = Api::new().await;
    let body = json!({
        "id": "/vol",
        "volumes": [{"name": "shared"}],
        "containers": [
            {"name": "a", "resources": {"cpus": 0.1, "mem": 32}, "volumeMounts": [{"name": "shared", "mountPath": "data"}]},
            {"name": "b", "resources": {"cpus": 0.1, "mem": 32}, "volumeMounts": [{"name": "shared", "mountPath": "/data"}]}
        ]
    });
    for r in [
        api.post("/v2/pods", body.clone()).await,
        api.put("/v2/pods/vol", body.clone()).await,
    ] {
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
        let details = &r.json()["details"];
        assert_eq!(
            details[0]["path"], "/containers(1)/volumeMounts(0)/mountPath",
            "{details}"
        );
        let why = details[0]["errors"][0].as_str().unwrap();
        assert!(
            why.contains("'/data' is absolute") && why.contains("use a relative mountPath such as 'data'"),
            "{why}"
        );
    }
    assert_eq!(api.get("/v2/pods/vol").await.status, StatusCode::NOT_FOUND);

    // A server whose tasks run on a remote master leaves it to the agents there.
    let remote = Api::with_config(apis::ApiConfig {
        master: "http://mesos.example:5050".into(),
        ..Default::default()
    })
    .await;
    let r = remote.post("/v2/pods", body).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
}
