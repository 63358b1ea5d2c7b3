//! `/v2/apps`: creation, reads, updates, versions, deletion, locking and service ports,
//! including the black-box checks of marathon-reference.md §14.1 that need no running tasks.

mod common;

use axum::http::{Method, StatusCode};
use common::Api;
use schemas::{ActionKind, Record};
use serde_json::{Value, json};
use store::keys;

fn sleeper(id: &str) -> Value {
    json!({"id": id, "cmd": "sleep 1000", "instances": 1})
}

fn deployment(api: &Api, id: &str) -> std::sync::Arc<schemas::Deployment> {
    api.store
        .read(|s| match s.get(&keys::deployment(id)).map(|e| &e.record) {
            Some(Record::Deployment(d)) => d.clone(),
            _ => panic!("no deployment {id}"),
        })
}

fn actions(d: &schemas::Deployment) -> Vec<Vec<ActionKind>> {
    d.steps
        .iter()
        .map(|s| s.actions.iter().map(|a| a.action).collect())
        .collect()
}

#[tokio::test]
async fn create_answers_201_with_defaults_and_a_deployment() {
    // §14.1 #1
    let api = Api::new().await;
    let r = api.post("/v2/apps", sleeper("/a")).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let dep = r
        .header("marathon-deployment-id")
        .expect("deployment header")
        .to_string();
    assert_eq!(r.header("location"), Some("/a"));
    assert_eq!(r.header("x-marathon-leader"), Some("http://localhost:8080"));
    assert_eq!(r.header("cache-control"), Some("no-cache, no-store, must-revalidate"));
    let app = r.json();
    assert_eq!(app["id"], "/a");
    assert_eq!(app["cpus"], 1.0);
    assert_eq!(app["mem"], 128.0);
    assert_eq!(
        app["upgradeStrategy"],
        json!({"minimumHealthCapacity": 1.0, "maximumOverCapacity": 1.0})
    );
    assert_eq!(app["role"], "*");
    assert_eq!(app["deployments"], json!([{"id": dep}]));
    for k in ["tasksStaged", "tasksRunning", "tasksHealthy", "tasksUnhealthy"] {
        assert_eq!(app[k], 0, "{k}");
    }
    assert_eq!(app["tasks"], json!([]));
    let version = app["version"].as_str().unwrap();
    assert_eq!(
        app["versionInfo"],
        json!({"lastScalingAt": version, "lastConfigChangeAt": version})
    );
    let port = app["portDefinitions"][0]["port"].as_u64().unwrap();
    assert!((10_000..20_000).contains(&port), "{port}");
    assert_eq!(app["portDefinitions"][0]["name"], "default");
    // Deprecated fields are never emitted.
    for k in ["ports", "uris", "ipAddress"] {
        assert!(app.get(k).is_none(), "{k}");
    }

    let d = deployment(&api, &dep);
    assert_eq!(d.version.to_string(), version);
    assert_eq!(
        d.affected_apps.iter().map(|a| a.as_str()).collect::<Vec<_>>(),
        vec!["/a"]
    );
    assert_eq!(
        actions(&d),
        vec![vec![ActionKind::StartApplication], vec![ActionKind::ScaleApplication]]
    );
    assert_eq!(d.current_step, 0);
    let a = schemas::PathId::parse("/a").unwrap();
    assert_eq!(d.original[&a], None);
    assert_eq!(d.target[&a].as_ref().unwrap().version.unwrap().to_string(), version);
    assert_eq!(api.app("/a").unwrap().version.unwrap().to_string(), version);

    let got = api.get("/v2/apps/a").await;
    assert_eq!(got.status, StatusCode::OK);
    assert_eq!(got.json()["app"]["deployments"], json!([{"id": dep}]));
}

#[tokio::test]
async fn create_twice_is_a_conflict() {
    // §14.1 #2
    let api = Api::new().await;
    api.create(sleeper("/a")).await;
    let r = api.post("/v2/apps", sleeper("/a")).await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert_eq!(r.json(), json!({"message": "An app with id [/a] already exists."}));
}

#[tokio::test]
async fn invalid_definitions_are_422_with_details() {
    // §14.1 #3, #4, #5, #6
    let api = Api::new().await;
    let cases = [
        json!({"id": "/app"}),
        json!({"id": "/a", "cmd": "x", "mem": -128}),
        json!({"id": "/a", "cmd": "x", "cpus": -1}),
        json!({"id": "/a", "cmd": "x", "instances": -1}),
        json!({"id": "/a", "cmd": "x", "instances": 0.1}),
        json!({"id": "/Upper", "cmd": "x"}),
        json!({"id": "/a/tasks", "cmd": "x"}),
        json!({"id": "/a", "cmd": "x", "cpus": "lots"}),
    ];
    for body in cases {
        let r = api.post("/v2/apps", body.clone()).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {}", r.text);
        let j = r.json();
        assert!(j["message"].is_string(), "{}", r.text);
        let details = j["details"].as_array().unwrap_or_else(|| panic!("{}", r.text));
        assert!(!details.is_empty());
        for d in details {
            assert!(d["path"].as_str().unwrap().starts_with('/'), "{d}");
            assert!(!d["errors"].as_array().unwrap().is_empty(), "{d}");
        }
    }
    assert_eq!(api.store.read(|s| s.len()), 0, "nothing written");
}

#[tokio::test]
async fn type_errors_name_the_field() {
    let api = Api::new().await;
    let r = api
        .post("/v2/apps", json!({"id": "/a", "cmd": "x", "instances": 0.1}))
        .await;
    assert_eq!(
        r.json(),
        json!({"message": "Invalid JSON", "details": [{"path": "/instances", "errors": ["error.expected.int"]}]})
    );
    let r = api
        .post(
            "/v2/apps",
            json!({"id": "/a", "cmd": "x", "portDefinitions": [{"port": "x"}]}),
        )
        .await;
    assert_eq!(r.json()["details"][0]["path"], "/portDefinitions/0/port");
    let r = api.post("/v2/apps", json!({"cmd": "x"})).await;
    assert_eq!(
        r.json()["details"],
        json!([{"path": "/id", "errors": ["error.path.missing"]}])
    );
    // A patch with a wrong type is named by its field too.
    api.create(sleeper("/b")).await;
    let r = api.patch("/v2/apps/b", json!({"instances": "three"})).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.json()["details"][0]["path"], "/instances");
}

#[tokio::test]
async fn malformed_json_is_400_even_without_content_type() {
    let api = Api::new().await;
    let r = api.raw(Method::POST, "/v2/apps", Some("{\"id\": "), &[]).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let j = r.json();
    assert_eq!(j["message"], "Invalid JSON");
    assert!(j["details"].is_string());
    // No Content-Type at all: still read as JSON, as Marathon does.
    let r = api
        .raw(Method::POST, "/v2/apps", Some(&sleeper("/a").to_string()), &[])
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let r = api.raw(Method::POST, "/v2/apps", Some(""), &[]).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn identical_put_changes_nothing() {
    // §14.1 #7
    let api = Api::new().await;
    let created = api.create(sleeper("/a")).await;
    let before = api.app("/a").unwrap();
    let r = api.put("/v2/apps/a", sleeper("/a")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let body = r.json();
    let dep = body["deploymentId"].as_str().unwrap();
    assert_eq!(r.header("marathon-deployment-id"), Some(dep));
    assert!(body["version"].is_string());
    assert_eq!(api.app("/a").unwrap(), before, "app record unchanged");
    assert!(deployment(&api, dep).steps.is_empty());
    // The full definition sent back as it was read is the same spec too.
    let mut full = created.clone();
    for k in [
        "deployments",
        "tasks",
        "tasksStaged",
        "tasksRunning",
        "tasksHealthy",
        "tasksUnhealthy",
        "version",
    ] {
        full.as_object_mut().unwrap().remove(k);
    }
    let r = api
        .call(Method::PUT, "/v2/apps/a?partialUpdate=false", Some(full))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(api.app("/a").unwrap(), before);
    let versions = api.get("/v2/apps/a/versions").await.json();
    assert_eq!(versions["versions"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn config_change_versions_and_restarts() {
    // §14.1 #8, #12
    let api = Api::new().await;
    let created = api.create(sleeper("/a")).await;
    let v1 = created["version"].as_str().unwrap().to_string();
    assert_eq!(api.get("/v2/apps/a/versions").await.json(), json!({"versions": [v1]}));
    let r = api.put("/v2/apps/a", json!({"cmd": "v2"})).await;
    assert_eq!(r.status, StatusCode::OK);
    let dep = r.json()["deploymentId"].as_str().unwrap().to_string();
    let app = api.get("/v2/apps/a").await.json()["app"].clone();
    let v2 = app["version"].as_str().unwrap();
    assert!(v2 > v1.as_str());
    assert_eq!(app["cmd"], "v2");
    assert_eq!(
        app["versionInfo"],
        json!({"lastScalingAt": v2, "lastConfigChangeAt": v2})
    );
    // Service ports survive the update.
    assert_eq!(app["portDefinitions"], created["portDefinitions"]);
    assert_eq!(
        actions(&deployment(&api, &dep)),
        vec![vec![ActionKind::RestartApplication]]
    );
    assert_eq!(
        api.get("/v2/apps/a/versions").await.json(),
        json!({"versions": [v2, v1]})
    );
}

#[tokio::test]
async fn scaling_only_moves_last_scaling_at() {
    // §14.1 #9, #10
    let api = Api::new().await;
    let created = api.create(sleeper("/a")).await;
    let v1 = created["version"].clone();
    let r = api.patch("/v2/apps/a", json!({"instances": 3})).await;
    assert_eq!(r.status, StatusCode::OK);
    let dep = r.json()["deploymentId"].as_str().unwrap().to_string();
    let app = api.get("/v2/apps/a").await.json()["app"].clone();
    assert_eq!(app["instances"], 3);
    assert_ne!(app["version"], v1);
    assert_eq!(app["versionInfo"]["lastScalingAt"], app["version"]);
    assert_eq!(app["versionInfo"]["lastConfigChangeAt"], v1);
    assert_eq!(
        actions(&deployment(&api, &dep)),
        vec![vec![ActionKind::ScaleApplication]]
    );
    assert_eq!(
        api.patch("/v2/apps/unknown", json!({"instances": 3})).await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn put_creates_a_missing_app() {
    // §14.1 #11
    let api = Api::new().await;
    let r = api.put("/v2/apps/new", json!({"cmd": "sleep 1"})).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.header("location"), Some("/new"));
    assert!(r.json()["deploymentId"].is_string());
    assert_eq!(api.app("/new").unwrap().cmd.as_deref(), Some("sleep 1"));
    // The body's id is overridden by the path.
    let r = api
        .put("/v2/apps/other", json!({"id": "/elsewhere", "cmd": "sleep 1"}))
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    assert!(api.app("/other").is_some() && api.app("/elsewhere").is_none());
}

#[tokio::test]
async fn versions_keep_old_definitions() {
    // §14.1 #13
    let api = Api::new().await;
    let v1 = api.create(json!({"id": "/a", "cmd": "x", "disk": 1})).await["version"]
        .as_str()
        .unwrap()
        .to_string();
    api.put("/v2/apps/a", json!({"disk": 2})).await;
    let v2 = api.app("/a").unwrap().version.unwrap().to_string();
    assert_eq!(api.get(&format!("/v2/apps/a/versions/{v1}")).await.json()["disk"], 1.0);
    assert_eq!(api.get(&format!("/v2/apps/a/versions/{v2}")).await.json()["disk"], 2.0);
    let r = api.get("/v2/apps/a/versions/2001-01-01T00:00:00.000Z").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(
        r.json()["message"],
        "App '/a' does not exist in version 2001-01-01T00:00:00.000Z"
    );
    assert_eq!(api.get("/v2/apps/nope/versions").await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn put_with_version_rolls_back() {
    let api = Api::new().await;
    let v1 = api.create(json!({"id": "/a", "cmd": "one"})).await["version"].clone();
    api.put("/v2/apps/a", json!({"cmd": "two"})).await;
    api.finish_deployments().await;
    let r = api.put("/v2/apps/a", json!({"version": v1})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let app = api.app("/a").unwrap();
    assert_eq!(app.cmd.as_deref(), Some("one"));
    assert_ne!(json!(app.version), v1, "a rollback is a new version");
    let r = api
        .put("/v2/apps/a", json!({"version": "2001-01-01T00:00:00.000Z"}))
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = api.put("/v2/apps/a", json!({"version": v1, "cmd": "x"})).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn versions_are_pruned_to_the_limit() {
    let config = apis::ApiConfig {
        max_versions: 3,
        ..apis::ApiConfig::default()
    };
    let api = Api::with_config(config).await;
    api.create(sleeper("/a")).await;
    for n in 2..=5 {
        let r = api
            .call(Method::PUT, "/v2/apps/a?force=true", Some(json!({"instances": n})))
            .await;
        assert_eq!(r.status, StatusCode::OK);
    }
    let versions = api.get("/v2/apps/a/versions").await.json()["versions"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(versions.len(), 3);
    assert_eq!(versions[0], json!(api.app("/a").unwrap().version));
    let stored = api.store.read(|s| s.scan(keys::APP_VERSIONS).count());
    assert_eq!(stored, 3);
}

#[tokio::test]
async fn restart_is_a_new_config_version_of_the_same_spec() {
    // §14.1 #14
    let api = Api::new().await;
    api.create(sleeper("/a")).await;
    let before = api.app("/a").unwrap();
    let r = api.post("/v2/apps/a/restart", json!({})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let dep = r.json()["deploymentId"].as_str().unwrap().to_string();
    let after = api.app("/a").unwrap();
    assert!(after.version > before.version);
    assert_eq!(after.config_version(), after.version.unwrap());
    assert_eq!(after.cmd, before.cmd);
    assert_eq!(
        actions(&deployment(&api, &dep)),
        vec![vec![ActionKind::RestartApplication]]
    );
    assert_eq!(
        api.post("/v2/apps/nope/restart", json!({})).await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn delete_removes_app_and_versions() {
    // §14.1 #22
    let api = Api::new().await;
    api.create(sleeper("/a")).await;
    let r = api.delete("/v2/apps/a").await;
    assert_eq!(r.status, StatusCode::OK);
    let dep = r.json()["deploymentId"].as_str().unwrap().to_string();
    let d = deployment(&api, &dep);
    assert_eq!(actions(&d), vec![vec![ActionKind::StopApplication]]);
    assert_eq!(d.target[&schemas::PathId::parse("/a").unwrap()], None);
    let r = api.get("/v2/apps/a").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(r.json(), json!({"message": "App '/a' does not exist"}));
    assert_eq!(api.store.read(|s| s.scan(keys::APP_VERSIONS).count()), 0);
    assert_eq!(api.delete("/v2/apps/a").await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn running_deployments_lock_their_apps() {
    // §14.1 #26, #27
    let api = Api::new().await;
    let r = api.post("/v2/apps", sleeper("/a")).await;
    let first = r.header("marathon-deployment-id").unwrap().to_string();
    let r = api.put("/v2/apps/a", json!({"cmd": "v2"})).await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert_eq!(
        r.json(),
        json!({
            "message": format!("App is locked by one or more deployments. Override with the option '?force=true'. View details at '/v2/deployments/{first}'."),
            "deployments": [{"id": first}],
        })
    );
    assert_eq!(
        api.post("/v2/apps/a/restart", json!({})).await.status,
        StatusCode::CONFLICT
    );
    assert_eq!(api.app("/a").unwrap().cmd.as_deref(), Some("sleep 1000"));

    let r = api
        .call(Method::PUT, "/v2/apps/a?force=true", Some(json!({"cmd": "v2"})))
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let second = r.json()["deploymentId"].as_str().unwrap().to_string();
    let ids: Vec<String> = api
        .get("/v2/deployments")
        .await
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids, vec![second], "the forced change replaced the running deployment");

    // Other apps are not locked, and DELETE forces by default.
    api.create(sleeper("/b")).await;
    assert_eq!(api.delete("/v2/apps/a").await.status, StatusCode::OK);
}

#[tokio::test]
async fn identical_changes_are_not_locked() {
    let api = Api::new().await;
    api.post("/v2/apps", sleeper("/a")).await;
    let r = api.put("/v2/apps/a", sleeper("/a")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
}

#[tokio::test]
async fn service_ports_are_unique_and_kept() {
    let api = Api::new().await;
    let a = api
        .create(json!({"id": "/a", "cmd": "x", "portDefinitions": [{"port": 0}, {"port": 0}]}))
        .await;
    let b = api
        .create(json!({"id": "/b", "cmd": "x", "portDefinitions": [{"port": 0}]}))
        .await;
    let fixed = api
        .create(json!({"id": "/c", "cmd": "x", "portDefinitions": [{"port": 12345}]}))
        .await;
    let none = api.create(json!({"id": "/d", "cmd": "x", "portDefinitions": []})).await;
    let ports = |app: &Value| -> Vec<u64> {
        app["portDefinitions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["port"].as_u64().unwrap())
            .collect()
    };
    let mut all: Vec<u64> = ports(&a).into_iter().chain(ports(&b)).collect();
    assert!(all.iter().all(|p| (10_000..20_000).contains(p)));
    all.sort();
    all.dedup();
    assert_eq!(all.len(), 3, "distinct service ports");
    assert_eq!(ports(&fixed), vec![12345]);
    assert!(ports(&none).is_empty());
    // An update that leaves ports at 0 keeps the assigned ones.
    api.put(
        "/v2/apps/a",
        json!({"cmd": "y", "portDefinitions": [{"port": 0}, {"port": 0}]}),
    )
    .await;
    let after = api.get("/v2/apps/a").await.json()["app"].clone();
    assert_eq!(ports(&after), ports(&a));
    // The service ports show up in tasks.
    assert_eq!(
        api.app("/b").unwrap().port_definitions.as_ref().unwrap()[0].port as u64,
        ports(&b)[0]
    );
}

#[tokio::test]
async fn partial_update_false_resets_to_defaults() {
    let api = Api::new().await;
    api.create(json!({"id": "/a", "cmd": "x", "mem": 64, "labels": {"k": "v"}}))
        .await;
    api.put("/v2/apps/a", json!({"cmd": "y"})).await;
    api.finish_deployments().await;
    let app = api.app("/a").unwrap();
    assert_eq!((app.mem, app.labels.len()), (64.0, 1), "merge keeps other fields");
    let r = api
        .call(Method::PUT, "/v2/apps/a?partialUpdate=false", Some(json!({"cmd": "z"})))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let app = api.app("/a").unwrap();
    assert_eq!((app.cmd.as_deref(), app.mem, app.labels.len()), (Some("z"), 128.0, 0));
}

#[tokio::test]
async fn batch_put_and_patch() {
    let api = Api::new().await;
    let body: Value =
        serde_json::from_str(include_str!("../../../shared/marathon-data/examples-apps_create.json")).unwrap();
    let r = api.put("/v2/apps", body).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let dep = r.json()["deploymentId"].as_str().unwrap().to_string();
    let d = deployment(&api, &dep);
    // Both start first; /test/sleep120 is scaled before /test/sleep60, which depends on it.
    let flat: Vec<Vec<(ActionKind, String)>> = d
        .steps
        .iter()
        .map(|s| s.actions.iter().map(|a| (a.action, a.app.to_string())).collect())
        .collect();
    assert_eq!(flat.len(), 3, "{flat:?}");
    assert_eq!(flat[0].len(), 2);
    assert_eq!(
        flat[1],
        vec![(ActionKind::ScaleApplication, "/test/sleep120".to_string())]
    );
    assert_eq!(
        flat[2],
        vec![(ActionKind::ScaleApplication, "/test/sleep60".to_string())]
    );
    api.finish_deployments().await;

    let patch: Value =
        serde_json::from_str(include_str!("../../../shared/marathon-data/examples-apps_patch.json")).unwrap();
    let r = api.patch("/v2/apps", patch).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(api.app("/test/sleep60").unwrap().cpus, 0.3);
    let r = api.patch("/v2/apps", json!([{"id": "/unknown", "cpus": 1}])).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = api.put("/v2/apps", json!([{"cmd": "x"}])).await;
    assert_eq!(r.json()["details"][0]["path"], "/0/id");
    let r = api
        .put(
            "/v2/apps",
            json!([{"id": "/ok", "cmd": "x"}, {"id": "/bad", "cmd": "x", "cpus": -1}]),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        r.json()["details"][0]["path"].as_str().unwrap().starts_with("/1/"),
        "{}",
        r.text
    );
    assert!(api.app("/ok").is_none(), "a batch is all or nothing");
}

#[tokio::test]
async fn dependency_cycles_are_rejected() {
    let api = Api::new().await;
    let r = api
        .put(
            "/v2/apps",
            json!([
                {"id": "/g/a", "cmd": "x", "dependencies": ["/g/b"]},
                {"id": "/g/b", "cmd": "x", "dependencies": ["/g/c"]},
                {"id": "/g/c", "cmd": "x", "dependencies": ["/g/a"]},
            ]),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert_eq!(api.store.read(|s| s.len()), 0);
}

#[tokio::test]
async fn apps_and_groups_cannot_share_ids() {
    let api = Api::new().await;
    api.create(sleeper("/g/a")).await;
    assert_eq!(
        api.post("/v2/apps", sleeper("/g")).await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_eq!(
        api.post("/v2/apps", sleeper("/g/a/b")).await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
}

#[tokio::test]
async fn list_filters_and_embeds() {
    let api = Api::new().await;
    api.create(json!({"id": "/web/front", "cmd": "python -m http.server", "labels": {"tier": "web", "env": "prod"}}))
        .await;
    api.create(json!({"id": "/db", "cmd": "postgres", "labels": {"tier": "db"}}))
        .await;
    let ids = |v: Value| -> Vec<String> {
        v["apps"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["id"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(ids(api.get("/v2/apps").await.json()), vec!["/db", "/web/front"]);
    assert_eq!(ids(api.get("/v2/apps?cmd=PYTHON").await.json()), vec!["/web/front"]);
    assert_eq!(ids(api.get("/v2/apps?id=DB").await.json()), vec!["/db"]);
    assert_eq!(
        ids(api.get("/v2/apps?label=tier==web").await.json()),
        vec!["/web/front"]
    );
    assert_eq!(
        ids(api.get("/v2/apps?label=tier%20in%20(db,%20web),env").await.json()),
        vec!["/web/front"]
    );
    assert_eq!(
        api.get("/v2/apps?label=tier%20in").await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );

    let plain = api.get("/v2/apps").await.json()["apps"][0].clone();
    assert_eq!(plain["tasksRunning"], 0);
    assert_eq!(plain["deployments"], json!([]));
    assert!(plain.get("tasks").is_none());
    let embedded = api
        .get("/v2/apps?embed=apps.tasks&embed=app.lastTaskFailure&embed=apps.taskStats")
        .await
        .json();
    assert_eq!(embedded["apps"][0]["tasks"], json!([]));
    assert_eq!(embedded["apps"][0]["taskStats"], json!({}));

    let group = api.get("/v2/apps/web/*").await;
    assert_eq!(group.status, StatusCode::OK);
    assert_eq!(group.json()["*"].as_array().unwrap().len(), 1);
    assert_eq!(api.get("/v2/apps/*").await.json()["*"].as_array().unwrap().len(), 2);
    let r = api.get("/v2/apps/nope/*").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(r.json(), json!({"message": "Group '/nope' does not exist"}));
}

#[tokio::test]
async fn examples_are_accepted() {
    let api = Api::new().await;
    let app: Value = serde_json::from_str(include_str!("../../../shared/marathon-data/examples-app.json")).unwrap();
    let r = api.post("/v2/apps", app).await;
    // The example uses secrets, which need a feature flag; anything but a 5xx or a 400 is
    // Marathon's behaviour for it, and it must render in Marathon's error shape.
    assert!(
        r.status == StatusCode::CREATED || r.status == StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        r.text
    );
    let patch: Value =
        serde_json::from_str(include_str!("../../../shared/marathon-data/examples-app_patch.json")).unwrap();
    api.create(sleeper("/foo")).await;
    let r = api.patch("/v2/apps/foo", patch).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(api.app("/foo").unwrap().instances, 2);
}

#[tokio::test]
async fn responses_match_the_example_shapes() {
    let api = Api::new().await;
    api.create(json!({"id": "/myapp", "cmd": "env && sleep 60", "instances": 3}))
        .await;
    let example: Value =
        serde_json::from_str(include_str!("../../../shared/marathon-data/examples-app_list.json")).unwrap();
    let ours = api.get("/v2/apps").await.json()["apps"][0].clone();
    let deprecated = ["ports", "uris"];
    for (key, value) in example["apps"][0].as_object().unwrap() {
        if !value.is_null() && !deprecated.contains(&key.as_str()) {
            assert!(ours.get(key).is_some(), "missing {key}");
        }
    }
    let r = api.patch("/v2/apps/myapp", json!({"instances": 1})).await;
    let example: Value = serde_json::from_str(include_str!(
        "../../../shared/marathon-data/examples-deployments_result.json"
    ))
    .unwrap();
    let keys = |v: &Value| -> Vec<String> {
        let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
        k.sort();
        k
    };
    assert_eq!(keys(&r.json()), keys(&example));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_creates_of_one_id_have_one_winner() {
    let api = std::sync::Arc::new(Api::new().await);
    let tries: Vec<_> = (0..8)
        .map(|_| {
            let api = api.clone();
            tokio::spawn(async move { api.post("/v2/apps", sleeper("/race")).await.status })
        })
        .collect();
    let mut statuses = Vec::new();
    for t in tries {
        statuses.push(t.await.unwrap());
    }
    assert_eq!(
        statuses.iter().filter(|s| **s == StatusCode::CREATED).count(),
        1,
        "{statuses:?}"
    );
    assert!(
        statuses
            .iter()
            .all(|s| *s == StatusCode::CREATED || *s == StatusCode::CONFLICT)
    );
    assert_eq!(api.deployment_count(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_updates_are_all_applied() {
    let api = std::sync::Arc::new(Api::new().await);
    api.create(json!({"id": "/a", "cmd": "x", "portDefinitions": []})).await;
    let apps: Vec<_> = (0..8)
        .map(|i| {
            let api = api.clone();
            tokio::spawn(async move {
                let r = api
                    .call(
                        Method::PUT,
                        "/v2/apps/a?force=true",
                        Some(json!({"labels": {format!("k{i}"): "v"}})),
                    )
                    .await;
                assert_eq!(r.status, StatusCode::OK, "{}", r.text);
            })
        })
        .collect();
    for t in apps {
        t.await.unwrap();
    }
    // Each change became its own version on top of the one before it: none was lost.
    assert_eq!(
        api.app("/a").unwrap().labels.len(),
        1,
        "a partial update replaces top-level fields"
    );
    let versions = api.get("/v2/apps/a/versions").await.json()["versions"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(versions.len(), 9);
}
