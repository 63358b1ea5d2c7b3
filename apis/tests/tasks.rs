//! Tasks: listing (JSON and HAProxy text), counts in AppInfo, and kills, with instances
//! inserted the way the controllers write them.

mod common;

use axum::http::{Method, StatusCode};
use common::{Api, task_id};
use schemas::{Goal, TaskState};
use serde_json::{Value, json};

async fn app_with_tasks(api: &Api, n: usize) -> (u64, Vec<schemas::Instance>) {
    let app = api
        .create(json!({"id": "/a", "cmd": "sleep 1000", "instances": n}))
        .await;
    let port = app["portDefinitions"][0]["port"].as_u64().unwrap();
    let mut out = Vec::new();
    for i in 0..n {
        out.push(
            api.add_task(
                "/a",
                TaskState::TASK_RUNNING,
                &format!("host{i}"),
                vec![31000 + i as u32],
            )
            .await,
        );
    }
    (port, out)
}

#[tokio::test]
async fn app_tasks_have_marathons_task_shape() {
    let api = Api::new().await;
    let (port, insts) = app_with_tasks(&api, 1).await;
    let r = api.get("/v2/apps/a/tasks").await;
    assert_eq!(r.status, StatusCode::OK);
    let task = r.json()["tasks"][0].clone();
    assert_eq!(task["id"], task_id(&insts[0]));
    assert_eq!(task["appId"], "/a");
    assert_eq!(task["host"], "host0");
    assert_eq!(task["ports"], json!([31000]));
    assert_eq!(task["servicePorts"], json!([port]));
    assert_eq!(task["slaveId"], "agent-1");
    assert_eq!(task["state"], "TASK_RUNNING");
    assert_eq!(task["version"], json!(insts[0].run_spec_version));
    assert_eq!(task["healthCheckResults"], json!([]));
    assert_eq!(task["role"], "*");
    assert!(task["stagedAt"].is_string() && task["startedAt"].is_string());
    assert_eq!(task["ipAddresses"], json!([]), "no address known for a remote hostname");
    let example: Value =
        serde_json::from_str(include_str!("../../../shared/marathon-data/examples-app_tasks.json")).unwrap();
    for key in example["tasks"][0]
        .as_object()
        .unwrap()
        .keys()
        .filter(|k| !["region", "zone"].contains(&k.as_str()))
    {
        assert!(task.get(key).is_some(), "missing {key}");
    }
    assert_eq!(api.get("/v2/apps/nope/tasks").await.status, StatusCode::NOT_FOUND);

    // Tasks on this machine are reachable on loopback; literal IPs are given as they are.
    api.add_task("/a", TaskState::TASK_RUNNING, "localhost", vec![1]).await;
    api.add_task("/a", TaskState::TASK_RUNNING, "10.0.0.7", vec![2]).await;
    let tasks = api.get("/v2/apps/a/tasks").await.json()["tasks"]
        .as_array()
        .unwrap()
        .clone();
    let ip = |host: &str| tasks.iter().find(|t| t["host"] == host).unwrap()["ipAddresses"].clone();
    assert_eq!(ip("localhost"), json!([{"ipAddress": "127.0.0.1", "protocol": "IPv4"}]));
    assert_eq!(ip("10.0.0.7"), json!([{"ipAddress": "10.0.0.7", "protocol": "IPv4"}]));
}

#[tokio::test]
async fn app_info_counts_tasks_and_shows_the_last_failure() {
    let api = Api::new().await;
    api.create(json!({"id": "/a", "cmd": "x", "instances": 3})).await;
    api.add_task("/a", TaskState::TASK_RUNNING, "h", vec![]).await;
    api.add_task("/a", TaskState::TASK_STAGING, "h", vec![]).await;
    let mut failed = api.add_task("/a", TaskState::TASK_FAILED, "h", vec![]).await;
    failed.task.as_mut().unwrap().message = Some("exit 1".into());
    api.put_instance(&failed).await;
    let app = api.get("/v2/apps/a").await.json()["app"].clone();
    assert_eq!(
        (app["tasksRunning"].clone(), app["tasksStaged"].clone()),
        (json!(1), json!(1))
    );
    assert_eq!(
        (app["tasksHealthy"].clone(), app["tasksUnhealthy"].clone()),
        (json!(0), json!(0))
    );
    assert_eq!(app["tasks"].as_array().unwrap().len(), 3);
    let f = &app["lastTaskFailure"];
    assert_eq!(f["taskId"], task_id(&failed));
    assert_eq!(f["state"], "TASK_FAILED");
    assert_eq!(f["message"], "exit 1");
    assert_eq!(f["appId"], "/a");
    let listed = api.get("/v2/apps?embed=apps.taskStats").await.json()["apps"][0].clone();
    assert_eq!(listed["tasksRunning"], 1);
    assert!(listed.get("lastTaskFailure").is_none(), "only when embedded");
    assert_eq!(listed["taskStats"]["totalSummary"]["stats"]["counts"]["running"], 1);
    assert_eq!(listed["taskStats"]["withLatestConfig"]["stats"]["counts"]["staged"], 1);
}

#[tokio::test]
async fn tasks_text_plain_is_the_haproxy_format() {
    let api = Api::new().await;
    let (port, _) = app_with_tasks(&api, 2).await;
    api.create(json!({"id": "/g/noports", "cmd": "x", "portDefinitions": []}))
        .await;
    api.add_task("/g/noports", TaskState::TASK_RUNNING, "h9", vec![]).await;
    api.add_task("/g/noports", TaskState::TASK_STAGING, "h8", vec![]).await;

    let api = &api;
    let text = |uri: &'static str| async move {
        let r = api.raw(Method::GET, uri, None, &[("accept", "text/plain")]).await;
        assert_eq!(r.status, StatusCode::OK);
        assert!(r.header("content-type").unwrap().starts_with("text/plain"));
        r.text
    };
    // Instances are listed in key order, which is random here: compare the endpoint sets.
    let fields = |line: &str| -> Vec<String> {
        let mut f: Vec<String> = line.split('\t').map(str::to_string).collect();
        f[2..].sort();
        f
    };
    let a_line = fields(&format!("a\t{port}\thost0:31000\thost1:31001\t"));
    let lines = |t: String| -> Vec<Vec<String>> {
        assert!(t.ends_with('\n'));
        t.lines().map(fields).collect()
    };
    assert_eq!(lines(text("/v2/apps/a/tasks").await), vec![a_line.clone()]);
    assert_eq!(
        lines(text("/v2/tasks").await),
        vec![a_line, fields("g_noports\t \th9\t")]
    );
    assert_eq!(text("/v2/apps/g/*/tasks").await, "g_noports\t \th9\t\n");
    // JSON stays the default, also for clients that accept anything.
    let r = api.raw(Method::GET, "/v2/tasks", None, &[("accept", "*/*")]).await;
    assert_eq!(r.json()["tasks"].as_array().unwrap().len(), 4);
}

#[tokio::test]
async fn tasks_filter_by_status() {
    let api = Api::new().await;
    app_with_tasks(&api, 2).await;
    api.add_task("/a", TaskState::TASK_STAGING, "h", vec![]).await;
    let count = |v: Value| v["tasks"].as_array().unwrap().len();
    assert_eq!(count(api.get("/v2/tasks").await.json()), 3);
    assert_eq!(count(api.get("/v2/tasks?status=running").await.json()), 2);
    assert_eq!(count(api.get("/v2/tasks?status[]=staging").await.json()), 1);
    assert_eq!(
        count(api.get("/v2/tasks?status=running&status=staging").await.json()),
        3
    );
    assert_eq!(count(api.get("/v2/tasks?status=bogus").await.json()), 3);
    let example: Value =
        serde_json::from_str(include_str!("../../../shared/marathon-data/examples-tasks.json")).unwrap();
    let ours = api.get("/v2/tasks?status=running").await.json()["tasks"][0].clone();
    for key in example["tasks"][0]
        .as_object()
        .unwrap()
        .keys()
        .filter(|k| !["region", "zone"].contains(&k.as_str()))
    {
        assert!(ours.get(key).is_some(), "missing {key}");
    }
}

#[tokio::test]
async fn kill_one_task_asks_for_a_relaunch() {
    // §14.1 #15, #20
    let api = Api::new().await;
    let (_, insts) = app_with_tasks(&api, 2).await;
    let id = task_id(&insts[0]);
    let r = api.delete(&format!("/v2/apps/a/tasks/{id}")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json()["task"]["id"], id);
    let after = api.instance("/a", &insts[0].instance_id);
    assert!(after.kill_requested);
    assert_eq!(after.goal, Goal::Running, "the same instance is relaunched");
    assert!(!api.instance("/a", &insts[1].instance_id).kill_requested);
    assert_eq!(api.app("/a").unwrap().instances, 2);
    assert_eq!(api.deployment_count(), 0, "a plain kill is no deployment");

    let r = api.delete("/v2/apps/a/tasks/a.instance-nope._app.1").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(
        r.json(),
        json!({"message": "Task 'a.instance-nope._app.1' does not exist"})
    );
    assert_eq!(
        api.delete("/v2/apps/a/tasks/garbage").await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn kill_with_wipe_decommissions() {
    // §14.1 #21
    let api = Api::new().await;
    let (_, insts) = app_with_tasks(&api, 1).await;
    let r = api
        .delete(&format!("/v2/apps/a/tasks/{}?wipe=true", task_id(&insts[0])))
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(api.instance("/a", &insts[0].instance_id).goal, Goal::Decommissioned);
    assert_eq!(
        api.app("/a").unwrap().instances,
        1,
        "the controllers create a replacement"
    );
}

#[tokio::test]
async fn kill_with_scale_lowers_instances_in_a_deployment() {
    // §14.1 #16, #19
    let api = Api::new().await;
    let (_, insts) = app_with_tasks(&api, 2).await;
    let before = api.app("/a").unwrap();
    let id = task_id(&insts[0]);
    let r = api.delete(&format!("/v2/apps/a/tasks/{id}?scale=true&wipe=true")).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        r.json(),
        json!({"message": "You cannot use scale and wipe at the same time."})
    );

    let r = api.delete(&format!("/v2/apps/a/tasks/{id}?scale=true")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let body = r.json();
    assert!(body["deploymentId"].is_string() && body["version"].is_string());
    let app = api.app("/a").unwrap();
    assert_eq!(app.instances, 1);
    assert_eq!(
        app.config_version(),
        before.config_version(),
        "a scale, not a config change"
    );
    assert_eq!(json!(app.version), body["version"]);
    assert_eq!(api.instance("/a", &insts[0].instance_id).goal, Goal::Decommissioned);
    assert_eq!(api.instance("/a", &insts[1].instance_id).goal, Goal::Running);
    // Killing the same task again does not lower the count twice.
    api.finish_deployments().await;
    api.delete(&format!("/v2/apps/a/tasks/{id}?scale=true")).await;
    assert_eq!(api.app("/a").unwrap().instances, 1);
}

#[tokio::test]
async fn kill_all_tasks_of_an_app() {
    // §14.1 #17, #18
    let api = Api::new().await;
    let (_, insts) = app_with_tasks(&api, 2).await;
    let r = api.delete("/v2/apps/a/tasks?host=host1").await;
    assert_eq!(r.json()["tasks"].as_array().unwrap().len(), 1);
    assert!(api.instance("/a", &insts[1].instance_id).kill_requested);
    assert!(!api.instance("/a", &insts[0].instance_id).kill_requested);

    let r = api.delete("/v2/apps/a/tasks").await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json()["tasks"].as_array().unwrap().len(), 2);
    assert!(insts.iter().all(|i| api.instance("/a", &i.instance_id).kill_requested));

    let r = api.delete("/v2/apps/a/tasks?scale=true").await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.json()["version"].is_string());
    assert_eq!(api.app("/a").unwrap().instances, 0);
    assert!(
        insts
            .iter()
            .all(|i| api.instance("/a", &i.instance_id).goal == Goal::Decommissioned)
    );
    assert_eq!(api.delete("/v2/apps/nope/tasks").await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn scaled_kills_respect_locks() {
    let api = Api::new().await;
    let (_, insts) = app_with_tasks(&api, 2).await;
    api.put("/v2/apps/a", json!({"cmd": "v2"})).await;
    let r = api
        .delete(&format!("/v2/apps/a/tasks/{}?scale=true", task_id(&insts[0])))
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert_eq!(
        api.instance("/a", &insts[0].instance_id).goal,
        Goal::Running,
        "nothing written"
    );
    let r = api
        .delete(&format!(
            "/v2/apps/a/tasks/{}?scale=true&force=true",
            task_id(&insts[0])
        ))
        .await;
    assert_eq!(r.status, StatusCode::OK);
}

#[tokio::test]
async fn tasks_delete_by_ids() {
    let api = Api::new().await;
    let (_, insts) = app_with_tasks(&api, 2).await;
    let r = api.post("/v2/tasks/delete", json!({"ids": ["not-a-task-id"]})).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.json(), json!({"message": "Invalid task id 'not-a-task-id'"}));
    let ids = json!({"ids": [task_id(&insts[0]), "a.instance-unknown._app.1"]});
    let r = api.post("/v2/tasks/delete", ids).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json()["tasks"].as_array().unwrap().len(), 1);
    assert!(api.instance("/a", &insts[0].instance_id).kill_requested);

    let r = api
        .post("/v2/tasks/delete?scale=True", json!({"ids": [task_id(&insts[1])]}))
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.json()["deploymentId"].is_string());
    assert_eq!(api.app("/a").unwrap().instances, 1);
    let r = api.post("/v2/tasks/delete", json!({"ids": "x"})).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
}
