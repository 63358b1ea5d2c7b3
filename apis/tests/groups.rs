//! `/v2/groups` in-process: tree reads with embed, creation and declarative updates as one
//! deployment ordered by dependencies, dry runs, versions and rollback, scaleBy, delete.

mod common;

use axum::http::StatusCode;
use common::Api;
use serde_json::{Value, json};

fn steps(v: &Value) -> Vec<Vec<(String, String)>> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|s| {
            s["actions"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| {
                    (
                        a["action"].as_str().unwrap().to_string(),
                        a["app"].as_str().unwrap().to_string(),
                    )
                })
                .collect()
        })
        .collect()
}

fn act(action: &str, app: &str) -> (String, String) {
    (action.to_string(), app.to_string())
}

/// The steps of the only deployment in flight.
async fn deployed_steps(api: &Api) -> Vec<Vec<(String, String)>> {
    let list = api.get("/v2/deployments").await.json();
    assert_eq!(list.as_array().unwrap().len(), 1, "{list}");
    steps(&list[0]["steps"])
}

fn chain() -> Value {
    json!({
        "id": "/shop",
        "apps": [
            {"id": "a", "cmd": "sleep 100", "dependencies": ["b"]},
            {"id": "b", "cmd": "sleep 100", "dependencies": ["c"]},
            {"id": "c", "cmd": "sleep 100"},
        ],
    })
}

#[tokio::test]
async fn a_created_group_deploys_its_dependencies_first() {
    let api = Api::new().await;
    let r = api.post("/v2/groups", chain()).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.header("location"), Some("/shop"));
    assert!(r.header("marathon-deployment-id").is_some());
    assert!(r.json()["version"].is_string());
    assert_eq!(
        deployed_steps(&api).await,
        vec![
            vec![
                act("StartApplication", "/shop/a"),
                act("StartApplication", "/shop/b"),
                act("StartApplication", "/shop/c")
            ],
            vec![act("ScaleApplication", "/shop/c")],
            vec![act("ScaleApplication", "/shop/b")],
            vec![act("ScaleApplication", "/shop/a")],
        ]
    );
    assert_eq!(api.app("/shop/a").unwrap().dependencies[0].as_str(), "/shop/b");

    let again = api.post("/v2/groups", json!({"id": "/shop"})).await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    assert_eq!(
        again.json()["message"],
        "Group /shop is already created. Use PUT to change this group."
    );
    let onto_app = api.post("/v2/groups", json!({"id": "/shop/a"})).await;
    assert_eq!(onto_app.status, StatusCode::CONFLICT, "{}", onto_app.text);
}

#[tokio::test]
async fn group_dependencies_order_the_apps_below_them() {
    let api = Api::new().await;
    let body = json!({
        "id": "/prod",
        "groups": [
            {"id": "web", "dependencies": ["../db"], "apps": [{"id": "ui", "cmd": "x"}]},
            {"id": "db", "apps": [{"id": "pg", "cmd": "x"}, {"id": "cache", "cmd": "x", "dependencies": ["pg"]}]},
        ],
    });
    let r = api.put("/v2/groups/prod", body).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let s = deployed_steps(&api).await;
    assert_eq!(s[1], vec![act("ScaleApplication", "/prod/db/pg")]);
    assert_eq!(s[2], vec![act("ScaleApplication", "/prod/db/cache")]);
    assert_eq!(s[3], vec![act("ScaleApplication", "/prod/web/ui")]);
    let g = api.get("/v2/groups/prod/web").await.json();
    assert_eq!(g["dependencies"], json!(["/prod/db"]));
}

#[tokio::test]
async fn a_dependency_cycle_is_rejected_and_writes_nothing() {
    let api = Api::new().await;
    let body = json!({"id": "/c", "apps": [
        {"id": "a", "cmd": "x", "dependencies": ["b"]},
        {"id": "b", "cmd": "x", "dependencies": ["c"]},
        {"id": "c", "cmd": "x", "dependencies": ["a"]},
    ]});
    let r = api.post("/v2/groups", body).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert_eq!(
        r.json(),
        json!({"message": "Object is not valid", "details": [{"path": "/", "errors": ["Dependency graph has cyclic dependencies."]}]})
    );
    assert!(api.app("/c/a").is_none());
    assert_eq!(api.get("/v2/groups/c").await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_dry_run_answers_the_plan_and_writes_nothing() {
    let api = Api::new().await;
    let r = api
        .call(axum::http::Method::PUT, "/v2/groups/shop?dryRun=true", Some(chain()))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let plan = steps(&r.json()["steps"]);
    assert_eq!(plan.len(), 4);
    assert_eq!(plan[1], vec![act("ScaleApplication", "/shop/c")]);
    assert_eq!(api.deployment_count(), 0);
    assert!(api.app("/shop/c").is_none());
    assert_eq!(api.get("/v2/groups/shop").await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn reads_show_the_tree_with_embeds() {
    let api = Api::new().await;
    api.post("/v2/groups", json!({"id": "/empty"})).await;
    api.create(json!({"id": "/t/x/app", "cmd": "x"})).await;
    api.add_task("/t/x/app", schemas::TaskState::TASK_RUNNING, "localhost", vec![])
        .await;

    let root = api.get("/v2/groups").await.json();
    assert_eq!(root["id"], "/");
    let ids: Vec<&str> = root["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, vec!["/empty", "/t"], "an empty created group stays");
    assert_eq!(root["groups"][1]["groups"][0]["apps"][0]["id"], "/t/x/app");
    assert_eq!(root["pods"], json!([]));
    assert!(root["groups"][1]["groups"][0]["apps"][0].get("tasks").is_none());

    let t = api
        .get("/v2/groups/t/x?embed=group.apps&embed=group.apps.tasks&embed=group.apps.counts")
        .await;
    assert_eq!(t.status, StatusCode::OK, "{}", t.text);
    let t = t.json();
    assert!(t.get("groups").is_none(), "only what embed asks for");
    assert_eq!(t["apps"][0]["tasks"].as_array().unwrap().len(), 1);
    assert_eq!(t["apps"][0]["tasksRunning"], 1);

    let apps = api.get("/v2/groups/t/x/apps").await.json();
    assert_eq!(apps["apps"][0]["id"], "/t/x/app");
    let missing = api.get("/v2/groups/nope").await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_eq!(missing.json()["message"], "Group '/nope' does not exist");
}

#[tokio::test]
async fn a_put_is_declarative_and_rollback_restores_a_version() {
    let api = Api::new().await;
    let v1 = json!({"apps": [{"id": "a", "cmd": "v1"}, {"id": "b", "cmd": "v1"}]});
    assert_eq!(api.put("/v2/groups/g", v1).await.status, StatusCode::OK);
    api.finish_deployments().await;
    let versions = api.get("/v2/groups/g/versions").await.json();
    assert_eq!(versions.as_array().unwrap().len(), 1);
    let first = versions[0].as_str().unwrap().to_string();

    // b goes, a changes, c comes: one deployment.
    let v2 = json!({"apps": [{"id": "a", "cmd": "v2"}, {"id": "c", "cmd": "v2"}]});
    assert_eq!(api.put("/v2/groups/g", v2).await.status, StatusCode::OK);
    assert_eq!(
        deployed_steps(&api).await,
        vec![
            vec![act("StopApplication", "/g/b")],
            vec![act("StartApplication", "/g/c")],
            vec![act("RestartApplication", "/g/a"), act("ScaleApplication", "/g/c")],
        ]
    );
    assert!(api.app("/g/b").is_none());
    api.finish_deployments().await;

    let old = api.get(&format!("/v2/groups/g/versions/{first}")).await;
    assert_eq!(old.status, StatusCode::OK, "{}", old.text);
    assert_eq!(old.json()["apps"].as_array().unwrap().len(), 2);

    let r = api.put("/v2/groups/g", json!({"version": first})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(api.app("/g/a").unwrap().cmd.as_deref(), Some("v1"));
    assert_eq!(api.app("/g/b").unwrap().cmd.as_deref(), Some("v1"));
    assert!(api.app("/g/c").is_none());
    let unknown = api
        .put("/v2/groups/g", json!({"version": "2001-01-01T00:00:00.000Z"}))
        .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn scale_by_multiplies_every_app() {
    let api = Api::new().await;
    let body = json!({"id": "/s", "apps": [{"id": "a", "cmd": "x", "instances": 1}],
        "groups": [{"id": "in", "apps": [{"id": "b", "cmd": "x", "instances": 3}]}]});
    api.post("/v2/groups", body).await;
    api.finish_deployments().await;
    let r = api.put("/v2/groups/s", json!({"scaleBy": 1.5})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(api.app("/s/a").unwrap().instances, 2);
    assert_eq!(api.app("/s/in/b").unwrap().instances, 5);
    let s = deployed_steps(&api).await;
    assert!(s.iter().flatten().all(|(a, _)| a == "ScaleApplication"), "{s:?}");
}

#[tokio::test]
async fn locked_apps_conflict_unless_forced_and_delete_removes_everything() {
    let api = Api::new().await;
    api.post("/v2/groups", chain()).await;
    let r = api.put("/v2/groups/shop", json!({"scaleBy": 2})).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text);
    assert!(r.json()["deployments"][0]["id"].is_string());
    let d = api.delete("/v2/groups/shop").await;
    assert_eq!(d.status, StatusCode::CONFLICT);

    let d = api
        .call(axum::http::Method::DELETE, "/v2/groups/shop?force=true", None)
        .await;
    assert_eq!(d.status, StatusCode::OK, "{}", d.text);
    assert_eq!(
        deployed_steps(&api).await,
        vec![vec![
            act("StopApplication", "/shop/a"),
            act("StopApplication", "/shop/b"),
            act("StopApplication", "/shop/c")
        ]]
    );
    assert!(api.app("/shop/a").is_none());
    assert_eq!(api.get("/v2/groups/shop").await.status, StatusCode::NOT_FOUND);
    assert_eq!(api.delete("/v2/groups/shop").await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn enforce_role_is_patched_only_on_top_level_groups() {
    let api = Api::new().await;
    api.post("/v2/groups", json!({"id": "/top", "groups": [{"id": "sub"}]}))
        .await;
    let r = api.patch("/v2/groups/top", json!({"enforceRole": true})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(api.get("/v2/groups/top").await.json()["enforceRole"], true);
    let sub = api.patch("/v2/groups/top/sub", json!({"enforceRole": true})).await;
    assert_eq!(sub.status, StatusCode::UNPROCESSABLE_ENTITY);
    let missing = api.patch("/v2/groups/nope", json!({"enforceRole": true})).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn marathons_example_group_is_accepted() {
    let api = Api::new().await;
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../shared/marathon-data/examples-group.json"
    );
    let body: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let r = api.put("/v2/groups", body).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let g = api.get("/v2/groups/tools").await.json();
    assert_eq!(g["apps"].as_array().unwrap().len(), 2);
    let sub: Vec<&str> = g["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["id"].as_str().unwrap())
        .collect();
    assert_eq!(sub, vec!["/tools/docker", "/tools/log"]);
}

#[tokio::test]
async fn a_group_change_reports_the_group() {
    use http_body_util::BodyExt;
    use tower::ServiceExt;
    let api = Api::new().await;
    let req = axum::http::Request::get("/v2/events?event_type=group_change_success")
        .header("accept", "text/event-stream")
        .body(axum::body::Body::empty())
        .unwrap();
    let mut body = api.router.clone().oneshot(req).await.unwrap().into_body();
    let r = api
        .post(
            "/v2/groups",
            json!({"id": "/ev/inner", "apps": [{"id": "a", "cmd": "x"}]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    let mut text = String::new();
    while !text.contains("groupId") {
        let frame = tokio::time::timeout(std::time::Duration::from_secs(20), body.frame())
            .await
            .expect("an event in time")
            .unwrap()
            .unwrap();
        if let Ok(data) = frame.into_data() {
            text.push_str(std::str::from_utf8(&data).unwrap());
        }
    }
    assert!(text.contains(r#""groupId":"/ev/inner""#), "{text}");
}

fn pod(id: &str) -> Value {
    json!({"id": id, "containers": [{"name": "c", "resources": {"cpus": 0.1, "mem": 16},
                                     "exec": {"command": {"shell": "sleep 100"}}}]})
}

/// Each action as `(action, app or pod)`.
fn actions(v: &Value) -> Vec<Vec<(String, String)>> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|s| {
            s["actions"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| {
                    let id = a["app"].as_str().or(a["pod"].as_str()).unwrap();
                    (a["action"].as_str().unwrap().to_string(), id.to_string())
                })
                .collect()
        })
        .collect()
}

#[tokio::test]
async fn pods_in_groups_deploy_with_the_apps_in_dependency_order() {
    let api = Api::new().await;
    let body = json!({"apps": [{"id": "db", "cmd": "x"}],
                      "groups": [{"id": "front", "dependencies": ["/g/db"], "pods": [pod("web")]}]});
    let plan = api.put("/v2/groups/g?dryRun=true", body.clone()).await;
    assert_eq!(plan.status, StatusCode::OK, "{}", plan.text);
    assert_eq!(
        actions(&plan.json()["steps"]),
        [
            vec![act("StartApplication", "/g/db"), act("StartPod", "/g/front/web")],
            vec![act("ScaleApplication", "/g/db")],
            vec![act("ScalePod", "/g/front/web")],
        ]
    );
    assert_eq!(
        plan.json()["steps"][2]["actions"][0],
        json!({"action": "ScalePod", "pod": "/g/front/web"})
    );

    let r = api.put("/v2/groups/g", body).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let list = api.get("/v2/deployments").await.json();
    assert_eq!(list.as_array().unwrap().len(), 1, "one deployment: {list}");
    assert_eq!(list[0]["affectedPods"], json!(["/g/front/web"]));
    assert_eq!(list[0]["affectedApps"], json!(["/g/db"]));
    api.finish_deployments().await;

    let stored = api.get("/v2/pods/g/front/web").await;
    assert_eq!(
        stored.status,
        StatusCode::OK,
        "the group's pod is a pod: {}",
        stored.text
    );
    assert_eq!(stored.json()["role"], "*");
    let tree = api.get("/v2/groups/g").await.json();
    assert_eq!(tree["groups"][0]["pods"][0]["id"], "/g/front/web", "{tree}");
    assert_eq!(tree["groups"][0]["pods"][0]["spec"]["id"], "/g/front/web");
    let only = api.get("/v2/groups/g?embed=group.groups").await.json();
    assert!(
        only.get("pods").is_none() && only["groups"][0].get("pods").is_none(),
        "{only}"
    );

    // A pod left out of a present `pods` list goes; one changed restarts.
    let mut changed = pod("web2");
    changed["containers"][0]["resources"]["mem"] = json!(32);
    let r = api
        .put("/v2/groups/g/front?dryRun=true", json!({"pods": [changed.clone()]}))
        .await;
    assert_eq!(
        actions(&r.json()["steps"]),
        [
            vec![act("StopPod", "/g/front/web")],
            vec![act("StartPod", "/g/front/web2")],
            vec![act("ScalePod", "/g/front/web2")]
        ]
    );
    let r = api.put("/v2/groups/g/front", json!({"pods": [changed]})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    api.finish_deployments().await;
    assert_eq!(api.get("/v2/pods/g/front/web").await.status, StatusCode::NOT_FOUND);

    // The group's versions hold its pods: a rollback brings the first back.
    let versions = api.get("/v2/groups/g/versions").await.json();
    let first = versions[0].as_str().unwrap().to_string();
    let old = api.get(&format!("/v2/groups/g/versions/{first}")).await.json();
    assert_eq!(old["groups"][0]["pods"][0]["id"], "/g/front/web", "{old}");
    let r = api.put("/v2/groups/g", json!({"version": first})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    api.finish_deployments().await;
    assert_eq!(api.get("/v2/pods/g/front/web").await.status, StatusCode::OK);
    assert_eq!(api.get("/v2/pods/g/front/web2").await.status, StatusCode::NOT_FOUND);

    // DELETE takes the pods too.
    let r = api.delete("/v2/groups/g").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let list = api.get("/v2/deployments").await.json();
    assert!(
        actions(&list[0]["steps"])
            .concat()
            .contains(&act("StopPod", "/g/front/web")),
        "{list}"
    );
    api.finish_deployments().await;
    assert_eq!(api.get("/v2/pods/g/front/web").await.status, StatusCode::NOT_FOUND);
    assert_eq!(api.get("/v2/groups/g").await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn app_and_pod_ids_never_collide() {
    let api = Api::new().await;
    let r = api
        .put(
            "/v2/groups/g",
            json!({"apps": [{"id": "x", "cmd": "y"}], "pods": [pod("x")]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert!(
        r.text.contains("Applications and Pods may not share the same id"),
        "{}",
        r.text
    );
    api.create(json!({"id": "/g/x", "cmd": "y"})).await;
    let r = api.put("/v2/groups/g", json!({"pods": [pod("x")]})).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "the app stays: {}", r.text);
    let r = api.post("/v2/pods", pod("/g/x")).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text);
    let r = api.post("/v2/pods", pod("/g/x/below")).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    // A pod made through /v2/pods makes its group exist, and an app cannot take its id.
    let r = api.post("/v2/pods", pod("/h/p")).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(api.get("/v2/groups/h").await.json()["pods"][0]["id"], "/h/p");
    let r = api.post("/v2/apps", json!({"id": "/h/p", "cmd": "y"})).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text);
    let r = api.post("/v2/groups", json!({"id": "/h/p"})).await;
    assert!(r.status.is_client_error(), "{}", r.text);
}

#[tokio::test]
async fn enforce_role_sets_the_default_and_allowed_roles() {
    let api = Api::new().await;
    let r = api
        .post(
            "/v2/groups",
            json!({"id": "/dev", "enforceRole": true,
                                   "apps": [{"id": "a", "cmd": "x"}], "pods": [pod("p")]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    api.finish_deployments().await;
    assert_eq!(api.app("/dev/a").unwrap().role.as_deref(), Some("dev"));
    assert_eq!(api.get("/v2/pods/dev/p").await.json()["role"], "dev");
    // /v2/apps and /v2/pods below the group follow it too.
    let r = api
        .post("/v2/apps", json!({"id": "/dev/b", "cmd": "x", "role": "*"}))
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert_eq!(
        r.json()["details"],
        json!([{"path": "/role", "errors": ["got *, expected one of: [dev]"]}])
    );
    let mut star = pod("/dev/q");
    star["role"] = json!("other");
    let r = api.post("/v2/pods", star).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    let r = api
        .put(
            "/v2/groups/dev",
            json!({"apps": [{"id": "a", "cmd": "x", "role": "ops"}]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert_eq!(
        r.json()["details"],
        json!([{"path": "/apps(0)/role", "errors": ["got ops, expected one of: [dev]"]}])
    );

    // Not enforced: the default role stays *, the group role is allowed, others are not.
    let r = api
        .post(
            "/v2/groups",
            json!({"id": "/prod", "apps": [{"id": "a", "cmd": "x"}, {"id": "b", "cmd": "x", "role": "prod"}]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(api.app("/prod/a").unwrap().role.as_deref(), Some("*"));
    assert_eq!(api.app("/prod/b").unwrap().role.as_deref(), Some("prod"));
    let r = api
        .post("/v2/apps", json!({"id": "/prod/c", "cmd": "x", "role": "dev"}))
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    api.finish_deployments().await;

    // enforceRole only on top-level groups, and not together with changed services.
    let r = api
        .put(
            "/v2/groups/prod",
            json!({"groups": [{"id": "sub", "enforceRole": true}]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert_eq!(r.json()["details"][0]["path"], "/groups(0)/enforceRole");
    let r = api
        .put(
            "/v2/groups/prod",
            json!({"enforceRole": true, "apps": [{"id": "a", "cmd": "x"}]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert!(r.text.contains("enforceRole cannot be modified"), "{}", r.text);
    // Enforced afterwards: existing services keep their roles, new ones get the group's.
    assert_eq!(
        api.patch("/v2/groups/prod", json!({"enforceRole": true})).await.status,
        StatusCode::OK
    );
    api.finish_deployments().await;
    let r = api.put("/v2/apps/prod/a", json!({"cmd": "y"})).await;
    assert_eq!(r.status, StatusCode::OK, "the role it has stays allowed: {}", r.text);
    api.finish_deployments().await;
    let r = api
        .put(
            "/v2/groups/prod",
            json!({"apps": [{"id": "a", "cmd": "y"}, {"id": "d", "cmd": "x"}]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(api.app("/prod/d").unwrap().role.as_deref(), Some("prod"));
}

#[tokio::test]
async fn group_writes_take_if_match_and_status_is_asked_for() {
    let api = Api::new().await;
    let r = api
        .put(
            "/v2/groups/g",
            json!({"apps": [{"id": "a", "cmd": "x", "instances": 0}]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let got = api.get("/v2/groups/g").await;
    let tag = got.header("etag").unwrap().to_string();
    assert_eq!(tag, format!("\"{}\"", got.json()["version"].as_str().unwrap()));
    assert!(got.json().get("conditions").is_none(), "Marathon's JSON unless asked");

    let status = api.get("/v2/groups/g?embed=group.status").await.json();
    let cond = |s: &Value, kind: &str| {
        s["conditions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["type"] == kind)
            .unwrap()["status"]
            .clone()
    };
    assert_eq!(cond(&status, "Progressing"), "True", "{status}");
    assert!(
        status["observedGeneration"].as_i64() < status["generation"].as_i64(),
        "{status}"
    );
    assert!(status["apps"][0]["id"] == "/g/a", "the defaults stay: {status}");
    api.finish_deployments().await;
    let status = api.get("/v2/groups/g?embed=group.status").await.json();
    assert_eq!(cond(&status, "Progressing"), "False", "{status}");
    assert_eq!(
        cond(&status, "Available"),
        "True",
        "0 instances are all there: {status}"
    );
    assert_eq!(status["generation"], status["observedGeneration"]);

    let body = r#"{"apps": [{"id": "a", "cmd": "y", "instances": 0}]}"#;
    let json_type = ("content-type", "application/json");
    let stale = api
        .raw(
            axum::http::Method::PUT,
            "/v2/groups/g",
            Some(body),
            &[json_type, ("if-match", "\"2000-01-01T00:00:00.000Z\"")],
        )
        .await;
    assert_eq!(stale.status, StatusCode::PRECONDITION_FAILED, "{}", stale.text);
    let ok = api
        .raw(
            axum::http::Method::PUT,
            "/v2/groups/g",
            Some(body),
            &[json_type, ("if-match", &tag)],
        )
        .await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.text);
    let again = api
        .raw(axum::http::Method::DELETE, "/v2/groups/g", None, &[("if-match", &tag)])
        .await;
    assert_eq!(
        again.status,
        StatusCode::PRECONDITION_FAILED,
        "the version moved on: {}",
        again.text
    );
}
