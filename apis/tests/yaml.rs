//! YAML request bodies: the write endpoints read a body as YAML when its Content-Type says so
//! (the UI's editor sends what the user typed), with the same records, the same 422 details as
//! JSON, and Marathon's 400 shape for a syntax error; JSON bodies are read as before. Also the
//! UI's YAML to JSON conversion.

mod common;

use axum::http::{Method, StatusCode};
use common::{Api, Reply};
use serde_json::{Value, json};

/// An app as a person writes it in YAML: comments, a literal block, flow collections, quoted
/// and plain scalars, a sequence at its key's indentation and one indented below it.
const APP_YAML: &str = r#"# The shop's web server.
id: /shop/web
cmd: |
  echo starting
  python3 -m http.server $PORT0
cpus: 0.1
mem: 64
instances: 2
portDefinitions:
- port: 10101
  name: http
  labels: {VIP_0: "/shop:80"}
env:
  GREETING: "hello: world"
  EMPTY: ''
labels:
  team: shop
  tier: 'gold'
healthChecks:
  - protocol: HTTP
    path: /
    portIndex: 0
    gracePeriodSeconds: 30
constraints: [[hostname, UNIQUE]]
"#;

fn app_json() -> Value {
    json!({
        "id": "/shop/web",
        "cmd": "echo starting\npython3 -m http.server $PORT0\n",
        "cpus": 0.1,
        "mem": 64,
        "instances": 2,
        "portDefinitions": [{"port": 10101, "name": "http", "labels": {"VIP_0": "/shop:80"}}],
        "env": {"GREETING": "hello: world", "EMPTY": ""},
        "labels": {"team": "shop", "tier": "gold"},
        "healthChecks": [{"protocol": "HTTP", "path": "/", "portIndex": 0, "gracePeriodSeconds": 30}],
        "constraints": [["hostname", "UNIQUE"]]
    })
}

async fn send_yaml(api: &Api, method: Method, uri: &str, body: &str, content_type: &str) -> Reply {
    api.raw(method, uri, Some(body), &[("content-type", content_type)])
        .await
}

async fn post_yaml(api: &Api, uri: &str, body: &str) -> Reply {
    send_yaml(api, Method::POST, uri, body, "application/yaml").await
}

/// A record or an answer without what differs between two writes of the same definition.
fn unstamped(mut v: Value) -> Value {
    if let Some(o) = v.as_object_mut() {
        for k in ["version", "versionInfo", "deployments"] {
            o.remove(k);
        }
    }
    v
}

fn stored_app(api: &Api, id: &str) -> Value {
    unstamped(serde_json::to_value(&*api.app(id).expect("the app is stored")).unwrap())
}

#[tokio::test]
async fn an_app_created_from_yaml_is_the_app_created_from_the_same_json() {
    let (by_json, by_yaml) = (Api::new().await, Api::new().await);
    let j = by_json.post("/v2/apps", app_json()).await;
    assert_eq!(j.status, StatusCode::CREATED, "{}", j.text);
    let y = post_yaml(&by_yaml, "/v2/apps", APP_YAML).await;
    assert_eq!(y.status, StatusCode::CREATED, "{}", y.text);
    assert_eq!(unstamped(y.json()), unstamped(j.json()));
    assert_eq!(stored_app(&by_yaml, "/shop/web"), stored_app(&by_json, "/shop/web"));
    assert_eq!(y.header("location"), Some("/shop/web"));

    // Every YAML media type is read as YAML, parameters and case aside.
    for (i, ct) in ["application/x-yaml", "text/yaml", "Application/YAML; charset=utf-8"]
        .into_iter()
        .enumerate()
    {
        let api = Api::new().await;
        let r = send_yaml(&api, Method::POST, "/v2/apps", APP_YAML, ct).await;
        assert_eq!(r.status, StatusCode::CREATED, "{ct} ({i}): {}", r.text);
        assert_eq!(stored_app(&api, "/shop/web"), stored_app(&by_json, "/shop/web"), "{ct}");
    }
}

#[tokio::test]
async fn updates_groups_and_pods_take_yaml_too() {
    let api = Api::new().await;
    api.create(json!({"id": "/a", "cmd": "sleep 1000", "instances": 1}))
        .await;
    let r = send_yaml(
        &api,
        Method::PUT,
        "/v2/apps/a",
        "cmd: sleep 2000\ninstances: 3\n",
        "text/yaml",
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let app = api.app("/a").unwrap();
    assert_eq!((app.cmd.as_deref(), app.instances), (Some("sleep 2000"), 3));

    let r = post_yaml(
        &api,
        "/v2/groups",
        "id: /team\napps:\n  - id: web\n    cmd: sleep 1000\n    instances: 0\n",
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert!(api.app("/team/web").is_some());
    // An explicit group with nothing in it.
    let r = post_yaml(&api, "/v2/groups", "id: /empty\n").await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(api.get("/v2/groups/empty").await.json()["id"], "/empty");

    let pod = "id: /p\nscaling: {kind: fixed, instances: 1}\ncontainers:\n- name: web\n  exec:\n    command:\n      shell: sleep 100\n  resources: {cpus: 0.1, mem: 32}\n";
    let r = post_yaml(&api, "/v2/pods", pod).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(
        api.get("/v2/pods/p").await.json()["containers"][0]["exec"]["command"]["shell"],
        "sleep 100"
    );
}

#[tokio::test]
async fn a_yaml_syntax_error_is_marathons_400_with_the_line() {
    let api = Api::new().await;
    for (text, line) in [
        ("id: /a\ncmd: [unclosed\ncpus: 1\n", None),
        ("id: /a\ncmd: sleep 1\n  cpus: 1\n", Some("line 3")),
        ("id: /a\n\tcmd: x\n", Some("line 2")),
    ] {
        let r = post_yaml(&api, "/v2/apps", text).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{text:?}: {}", r.text);
        let body = r.json();
        assert_eq!(body["message"], "Invalid YAML", "{body}");
        let details = body["details"].as_str().expect("the parser's message");
        assert!(details.contains("line ") && details.contains("column "), "{details}");
        if let Some(line) = line {
            assert!(details.contains(line), "{text:?}: {details}");
        }
    }
    for text in ["", "# nothing\n", "id: /a\n---\nid: /b\n"] {
        let r = post_yaml(&api, "/v2/apps", text).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{text:?}: {}", r.text);
        assert_eq!(r.json()["message"], "Invalid YAML");
    }
    assert_eq!(api.store.read(|s| s.len()), 0, "nothing written");
}

#[tokio::test]
async fn invalid_fields_in_yaml_get_the_same_422_as_in_json() {
    let api = Api::new().await;
    let cases = [
        // A field of the wrong type.
        (
            "id: /a\ncmd: x\ninstances: 0.5\n",
            json!({"id": "/a", "cmd": "x", "instances": 0.5}),
        ),
        // Definitions that break validation rules, in several fields.
        (
            "id: /a\ncmd: x\ncpus: -1\nmem: 16\nportDefinitions:\n- port: 0\n  name: a\n- port: 0\n  name: a\n",
            json!({"id": "/a", "cmd": "x", "cpus": -1, "mem": 16,
                   "portDefinitions": [{"port": 0, "name": "a"}, {"port": 0, "name": "a"}]}),
        ),
        ("cmd: x\n", json!({"cmd": "x"})),
    ];
    for (yaml, json) in cases {
        let y = post_yaml(&api, "/v2/apps", yaml).await;
        let j = api.post("/v2/apps", json).await;
        assert_eq!(y.status, StatusCode::UNPROCESSABLE_ENTITY, "{yaml:?}: {}", y.text);
        assert_eq!((y.status, y.json()), (j.status, j.json()), "{yaml:?}");
        assert!(!y.json()["details"].as_array().unwrap().is_empty());
    }
    // In a group's tree the details point below the group, as for JSON.
    let y = post_yaml(&api, "/v2/groups", "id: /g\napps:\n- id: a\n  cmd: x\n  cpus: -1\n").await;
    let j = api
        .post(
            "/v2/groups",
            json!({"id": "/g", "apps": [{"id": "a", "cmd": "x", "cpus": -1}]}),
        )
        .await;
    assert_eq!(y.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", y.text);
    assert_eq!(y.json(), j.json());
    assert_eq!(api.store.read(|s| s.len()), 0, "nothing written");
}

#[tokio::test]
async fn json_bodies_are_read_as_before() {
    let api = Api::new().await;
    // YAML without a YAML Content-Type is not JSON: Marathon's 400, as before.
    for ct in ["application/json", "text/plain"] {
        let r = send_yaml(&api, Method::POST, "/v2/apps", APP_YAML, ct).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{ct}");
        assert_eq!(r.json()["message"], "Invalid JSON");
        assert!(r.json()["details"].is_string());
    }
    let r = api.raw(Method::POST, "/v2/apps", Some(APP_YAML), &[]).await;
    assert_eq!(r.json()["message"], "Invalid JSON");
    // JSON is YAML too: a JSON body labelled YAML is the same app.
    let r = post_yaml(&api, "/v2/apps", &app_json().to_string()).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let other = Api::new().await;
    other.post("/v2/apps", app_json()).await;
    assert_eq!(stored_app(&api, "/shop/web"), stored_app(&other, "/shop/web"));
}

#[tokio::test]
async fn the_ui_converts_yaml_to_json_in_the_order_written() {
    let api = Api::new().await;
    let r = post_yaml(&api, "/ui/yaml-to-json", APP_YAML).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(r.json(), app_json());
    let keys: Vec<String> = serde_json::from_str::<serde_yaml::Mapping>(&r.text)
        .unwrap()
        .keys()
        .map(|k| k.as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        keys,
        [
            "id",
            "cmd",
            "cpus",
            "mem",
            "instances",
            "portDefinitions",
            "env",
            "labels",
            "healthChecks",
            "constraints"
        ]
    );
    // What it refuses, it refuses as the write endpoints do.
    for text in ["id: /a\n  cmd: x\n", "", "a: 1\n---\nb: 2\n", "id: !custom x\n"] {
        let c = post_yaml(&api, "/ui/yaml-to-json", text).await;
        let w = post_yaml(&api, "/v2/apps", text).await;
        assert_eq!(c.status, StatusCode::BAD_REQUEST, "{text:?}: {}", c.text);
        assert_eq!(c.json(), w.json(), "{text:?}");
    }
    assert_eq!(api.store.read(|s| s.len()), 0, "a conversion writes nothing");
}
