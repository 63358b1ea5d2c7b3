//! Whether a manifest already matches the live app, so that `apply` can skip the PUT.
//!
//! `apply` replaces the app (`partialUpdate=false`), so fields left out of a manifest mean
//! Marathon's defaults. Both sides are therefore read through `schemas::AppDefinition`, which
//! fills those defaults, and compared field by field, except that:
//! - read-only fields (`version`, `versionInfo`) and the status fields of an AppInfo
//!   (`tasksRunning`, `deployments`, ...) are ignored;
//! - values the server picks when the manifest leaves them open are accepted: a service port
//!   of `0` matches any assigned port, an absent `role` matches `*`, absent `portDefinitions`
//!   and `networks` match Marathon's defaults, an absent `residency` matches any;
//! - a manifest using deprecated fields (`ports`, `uris`, `ipAddress`, `container.docker.network`
//!   or `.portMappings`) is never called unchanged: the server's normalisation of them is not
//!   repeated here.
//!
//! Every doubt answers "changed": a needless PUT of an identical definition is harmless (the
//! server keeps the running tasks), a skipped change is not.

use std::collections::BTreeSet;

use schemas::{AppDefinition, PathId};
use serde_json::{Map, Value, json};

const READ_ONLY: &[&str] = &["version", "versionInfo"];
const APP_INFO_STATUS: &[&str] = &[
    "tasksStaged",
    "tasksRunning",
    "tasksHealthy",
    "tasksUnhealthy",
    "deployments",
    "readinessCheckResults",
    "tasks",
    "lastTaskFailure",
    "taskStats",
    "tasksStats",
];
const DEPRECATED: &[&str] = &["ports", "uris", "ipAddress"];

/// True when applying `desired` to the app `live` (an AppInfo from `GET /v2/apps/{id}`)
/// would change nothing.
pub(crate) fn unchanged(id: &PathId, desired: &Map<String, Value>, live: &Value) -> bool {
    let Some(live) = live.as_object() else { return false };
    if uses_deprecated(desired) {
        return false;
    }
    let (Some(want), Some(have)) = (canonical(id, desired), canonical(id, live)) else {
        return false;
    };
    let keys: BTreeSet<&String> = want.keys().chain(have.keys()).collect();
    keys.into_iter().all(|k| field_matches(k, &want, have.get(k)))
}

fn uses_deprecated(app: &Map<String, Value>) -> bool {
    DEPRECATED.iter().any(|k| app.contains_key(*k))
        || app
            .get("container")
            .and_then(|c| c.get("docker"))
            .is_some_and(|d| d.get("network").is_some() || d.get("portMappings").is_some())
}

/// The app with every default filled and the server's bookkeeping removed.
fn canonical(id: &PathId, app: &Map<String, Value>) -> Option<Map<String, Value>> {
    let mut app = app.clone();
    for key in READ_ONLY.iter().chain(APP_INFO_STATUS) {
        app.remove(*key);
    }
    let def: AppDefinition = serde_json::from_value(Value::Object(app)).ok()?;
    let Ok(Value::Object(mut out)) = serde_json::to_value(def) else { return None };
    out.insert("id".into(), Value::String(id.to_string()));
    Some(out)
}

fn field_matches(key: &str, want_app: &Map<String, Value>, have: Option<&Value>) -> bool {
    match (want_app.get(key), have) {
        (None, None) => true,
        (Some(w), Some(h)) => match key {
            "portDefinitions" => list_matches(w, h, "port"),
            "container" => container_matches(w, h),
            _ => w == h,
        },
        (None, Some(h)) => match key {
            "role" => h == "*",
            "portDefinitions" => {
                list_matches(&json!([{"port": 0, "protocol": "tcp", "name": "default", "labels": {}}]), h, "port")
                    || (h == &json!([]) && has_non_host_network(want_app))
            }
            "networks" => h == &json!([{"mode": "host"}]),
            "residency" => true,
            _ => false,
        },
        (Some(_), None) => false,
    }
}

fn has_non_host_network(app: &Map<String, Value>) -> bool {
    app.get("networks")
        .and_then(Value::as_array)
        .is_some_and(|ns| ns.iter().any(|n| n.get("mode").and_then(Value::as_str) != Some("host")))
}

/// Containers match when equal, except that port mappings asking for service port 0 accept
/// whatever service port the server assigned.
fn container_matches(want: &Value, have: &Value) -> bool {
    let (Some(w), Some(h)) = (want.as_object(), have.as_object()) else { return want == have };
    let keys: BTreeSet<&String> = w.keys().chain(h.keys()).collect();
    keys.into_iter().all(|k| match (w.get(k), h.get(k)) {
        (Some(wv), Some(hv)) if k == "portMappings" => list_matches(wv, hv, "servicePort"),
        (wv, hv) => wv == hv,
    })
}

/// Two lists of objects match element by element; `wildcard` set to 0 in `want` matches any
/// value in `have`.
fn list_matches(want: &Value, have: &Value, wildcard: &str) -> bool {
    let (Some(w), Some(h)) = (want.as_array(), have.as_array()) else { return want == have };
    w.len() == h.len()
        && w.iter().zip(h).all(|(w, h)| {
            let (Some(w), Some(h)) = (w.as_object(), h.as_object()) else { return w == h };
            let keys: BTreeSet<&String> = w.keys().chain(h.keys()).collect();
            keys.into_iter().all(|k| {
                let any = k == wildcard && w.get(k).and_then(Value::as_u64) == Some(0);
                any || w.get(k) == h.get(k)
            })
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap()
    }

    /// What a Marathon server returns for `{"id":"hello","cmd":"sleep 100","cpus":0.1,"mem":32}`.
    fn live_hello() -> Value {
        json!({
            "id": "/hello", "cmd": "sleep 100", "instances": 1, "cpus": 0.1, "mem": 32.0, "disk": 0,
            "gpus": 0, "executor": "", "env": {}, "secrets": {}, "constraints": [], "labels": {},
            "role": "*", "backoffSeconds": 1, "backoffFactor": 1.15, "maxLaunchDelaySeconds": 300,
            "portDefinitions": [{"port": 10000, "protocol": "tcp", "name": "default", "labels": {}}],
            "requirePorts": false, "networks": [{"mode": "host"}], "healthChecks": [],
            "readinessChecks": [], "dependencies": [], "fetch": [],
            "upgradeStrategy": {"minimumHealthCapacity": 1, "maximumOverCapacity": 1},
            "unreachableStrategy": {"inactiveAfterSeconds": 0, "expungeAfterSeconds": 0},
            "killSelection": "YOUNGEST_FIRST",
            "version": "2024-01-01T00:00:00.000Z",
            "versionInfo": {"lastScalingAt": "2024-01-01T00:00:00.000Z", "lastConfigChangeAt": "2024-01-01T00:00:00.000Z"},
            "tasksStaged": 0, "tasksRunning": 1, "tasksHealthy": 0, "tasksUnhealthy": 0,
            "deployments": [{"id": "5ed4c0c5-9ff8-4a6f-a0cd-f57f59a34b43"}], "tasks": []
        })
    }

    fn id() -> PathId {
        PathId::parse("/hello").unwrap()
    }

    #[test]
    fn defaults_and_server_fields_do_not_count() {
        let desired = obj(json!({"id": "hello", "cmd": "sleep 100", "cpus": 0.1, "mem": 32}));
        assert!(unchanged(&id(), &desired, &live_hello()));
        // Spelling out a default is the same as leaving it out.
        let explicit = obj(json!({"id": "/hello", "cmd": "sleep 100", "cpus": 0.1, "mem": 32, "instances": 1,
            "disk": 0, "role": "*", "networks": [{"mode": "host"}], "portDefinitions": [{"port": 0, "name": "default"}]}));
        assert!(unchanged(&id(), &explicit, &live_hello()));
    }

    #[test]
    fn real_changes_count() {
        let live = live_hello();
        for change in [
            json!({"cmd": "sleep 200"}),
            json!({"instances": 2}),
            json!({"cpus": 0.2}),
            json!({"env": {"A": "1"}}),
            json!({"portDefinitions": [{"port": 10001}]}),
            json!({"portDefinitions": []}),
            json!({"role": "other"}),
            json!({"labels": {"x": "y"}}),
        ] {
            let mut desired = obj(json!({"id": "hello", "cmd": "sleep 100", "cpus": 0.1, "mem": 32}));
            desired.extend(obj(change.clone()));
            assert!(!unchanged(&id(), &desired, &live), "{change} should count as a change");
        }
        // Leaving out a field the live app has set resets it to the default: a change.
        let mut live = live_hello();
        live["env"] = json!({"A": "1"});
        let desired = obj(json!({"id": "hello", "cmd": "sleep 100", "cpus": 0.1, "mem": 32}));
        assert!(!unchanged(&id(), &desired, &live));
    }

    #[test]
    fn doubt_means_changed() {
        let live = live_hello();
        let deprecated = obj(json!({"id": "hello", "cmd": "sleep 100", "cpus": 0.1, "mem": 32, "ports": [0]}));
        assert!(!unchanged(&id(), &deprecated, &live));
        let unparsable = obj(json!({"id": "hello", "cmd": "sleep 100", "cpus": "lots"}));
        assert!(!unchanged(&id(), &unparsable, &live));
        let desired = obj(json!({"id": "hello", "cmd": "sleep 100", "cpus": 0.1, "mem": 32}));
        assert!(!unchanged(&id(), &desired, &json!(null)));
        let mut role = live_hello();
        role["role"] = json!("enforced-group-role");
        assert!(!unchanged(&id(), &desired, &role));
    }

    #[test]
    fn container_service_port_zero_matches_assigned() {
        let container = json!({"type": "DOCKER", "docker": {"image": "nginx"},
            "portMappings": [{"containerPort": 80, "hostPort": 0, "servicePort": 0, "name": "http"}]});
        let desired = obj(json!({"id": "web", "container": container, "networks": [{"mode": "container/bridge"}]}));
        let mut live = obj(json!({"id": "/web", "networks": [{"mode": "container/bridge"}], "portDefinitions": [],
            "role": "*", "container": container}));
        live["container"]["portMappings"][0]["servicePort"] = json!(10005);
        let web = PathId::parse("/web").unwrap();
        assert!(unchanged(&web, &desired, &Value::Object(live.clone())));
        live["container"]["portMappings"][0]["containerPort"] = json!(8080);
        assert!(!unchanged(&web, &desired, &Value::Object(live)));
    }
}
