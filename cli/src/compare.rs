//! Whether a manifest already matches the live app, so that `apply` can skip the PUT.
//!
//! `apply` replaces the app (`partialUpdate=false`), so fields left out of a manifest mean
//! Marathon's defaults. Both sides are therefore put in Marathon's normal form by the schemas
//! crate (`normalize_app`: defaults filled, deprecated fields folded into their successors)
//! and compared with `same_spec`, which ignores `version` and `versionInfo`. The status fields
//! of an AppInfo (`tasksRunning`, `deployments`, ...) are dropped first, and a service port
//! the manifest leaves at `0` takes the port the server assigned.
//!
//! Every doubt answers "changed": a needless PUT of an identical definition is harmless (the
//! server keeps the running tasks), a skipped change is not.

use schemas::{AppDefinition, PathId, normalize_app, same_spec};
use serde_json::{Map, Value};

const APP_INFO_STATUS: &[&str] = &[
    "generation",
    "observedGeneration",
    "conditions",
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

/// True when applying `desired` to the app `live` (an AppInfo from `GET /v2/apps/{id}`)
/// would change nothing.
pub(crate) fn unchanged(id: &PathId, desired: &Map<String, Value>, live: &Value) -> bool {
    let Some(live) = live.as_object() else { return false };
    let (Some(mut want), Some(have)) = (normal(id, desired.clone()), normal(id, live.clone())) else {
        return false;
    };
    adopt_service_ports(&mut want, &have);
    same_spec(&want, &have)
}

/// The manifest as the server would take it: typed, normalised and validated by the same
/// schemas code the server runs (`--dry-run`, `diff`). Errors are `path: message` lines.
pub(crate) fn validated(id: &PathId, desired: &Map<String, Value>) -> Result<AppDefinition, Vec<String>> {
    let mut body = desired.clone();
    body.insert("id".into(), Value::String(id.to_string()));
    let app: AppDefinition = serde_json::from_value(Value::Object(body)).map_err(|e| vec![e.to_string()])?;
    let app = normalize_app(app, &PathId::root()).map_err(lines)?;
    let violations = schemas::validate_app(&app);
    if violations.is_empty() {
        Ok(app)
    } else {
        Err(lines(violations))
    }
}

pub(crate) fn lines(violations: Vec<schemas::Violation>) -> Vec<String> {
    violations
        .into_iter()
        .flat_map(|v| v.errors.into_iter().map(move |e| format!("{}: {e}", v.path)))
        .collect()
}

/// YAML of the live app and of the manifest, both in normal form without read-only and status
/// fields, for a readable diff; the live side is empty when the app does not exist.
pub(crate) fn comparable_yaml(
    id: &PathId,
    desired: &Map<String, Value>,
    live: Option<&Value>,
) -> Result<(String, String), Vec<String>> {
    let mut want = validated(id, desired)?;
    let have = live.and_then(Value::as_object).and_then(|l| normal(id, l.clone()));
    if let Some(have) = &have {
        adopt_service_ports(&mut want, have);
    }
    Ok((have.map(yaml).unwrap_or_default(), yaml(want)))
}

/// YAML of a live app alone in the same form, for the diff of an app that goes away.
pub(crate) fn live_yaml(id: &PathId, live: &Value) -> String {
    live.as_object()
        .and_then(|l| normal(id, l.clone()))
        .map(yaml)
        .unwrap_or_default()
}

fn yaml(mut app: AppDefinition) -> String {
    app.version = None;
    app.version_info = None;
    serde_yaml::to_string(&app).unwrap_or_default()
}

fn normal(id: &PathId, mut app: Map<String, Value>) -> Option<AppDefinition> {
    for key in APP_INFO_STATUS {
        app.remove(*key);
    }
    app.insert("id".into(), Value::String(id.to_string()));
    let app: AppDefinition = serde_json::from_value(Value::Object(app)).ok()?;
    normalize_app(app, &PathId::root()).ok()
}

/// Service port 0 asks the server to pick one: whatever it picked is what was asked for.
fn adopt_service_ports(want: &mut AppDefinition, have: &AppDefinition) {
    if let (Some(w), Some(h)) = (&mut want.port_definitions, &have.port_definitions)
        && w.len() == h.len()
    {
        for (w, h) in w.iter_mut().zip(h) {
            if w.port == 0 {
                w.port = h.port;
            }
        }
    }
    let mappings = |c: Option<&schemas::Container>| c.and_then(|c| c.port_mappings.clone());
    if let (Some(mut w), Some(h)) = (mappings(want.container.as_ref()), mappings(have.container.as_ref()))
        && w.len() == h.len()
    {
        for (w, h) in w.iter_mut().zip(&h) {
            if w.service_port == 0 {
                w.service_port = h.service_port;
            }
        }
        if let Some(c) = &mut want.container {
            c.port_mappings = Some(w);
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

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
        let explicit = obj(
            json!({"id": "/hello", "cmd": "sleep 100", "cpus": 0.1, "mem": 32, "instances": 1,
            "disk": 0, "role": "*", "networks": [{"mode": "host"}], "portDefinitions": [{"port": 0, "name": "default"}]}),
        );
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
    fn deprecated_fields_compare_by_what_they_mean() {
        let mut live = live_hello();
        live["fetch"] = json!([{"uri": "http://x/a.tgz", "extract": true, "executable": false, "cache": false}]);
        let desired =
            obj(json!({"id": "hello", "cmd": "sleep 100", "cpus": 0.1, "mem": 32, "uris": ["http://x/a.tgz"]}));
        assert!(unchanged(&id(), &desired, &live));
        let other = obj(json!({"id": "hello", "cmd": "sleep 100", "cpus": 0.1, "mem": 32, "uris": ["http://x/b.tgz"]}));
        assert!(!unchanged(&id(), &other, &live));
    }

    #[test]
    fn doubt_means_changed() {
        let live = live_hello();
        let unparsable = obj(json!({"id": "hello", "cmd": "sleep 100", "cpus": "lots"}));
        assert!(!unchanged(&id(), &unparsable, &live));
        let desired = obj(json!({"id": "hello", "cmd": "sleep 100", "cpus": 0.1, "mem": 32}));
        assert!(!unchanged(&id(), &desired, &json!(null)));
        let mut role = live_hello();
        role["role"] = json!("enforced-group-role");
        assert!(!unchanged(&id(), &desired, &role));
    }

    #[test]
    fn yaml_for_diff_shows_only_real_changes() {
        let desired = obj(json!({"id": "hello", "cmd": "sleep 200", "cpus": 0.1, "mem": 32}));
        let (live, want) = comparable_yaml(&id(), &desired, Some(&live_hello())).unwrap();
        let changed: Vec<(&str, &str)> = live.lines().zip(want.lines()).filter(|(a, b)| a != b).collect();
        assert_eq!(changed, [("cmd: sleep 100", "cmd: sleep 200")]);
        assert_eq!(live.lines().count(), want.lines().count());
        assert!(!live.contains("version") && !live.contains("tasksRunning"), "{live}");
        let (none, _) = comparable_yaml(&id(), &desired, None).unwrap();
        assert_eq!(none, "");
        let gone = live_yaml(&id(), &live_hello());
        assert!(
            gone.contains("cmd: sleep 100\n") && !gone.contains("tasksRunning"),
            "{gone}"
        );
        assert_eq!(
            gone,
            comparable_yaml(&id(), &obj(live_hello()), Some(&live_hello()))
                .unwrap()
                .0
        );
        let invalid = obj(json!({"id": "hello", "cmd": "x", "cpus": -1}));
        let errors = comparable_yaml(&id(), &invalid, None).unwrap_err();
        assert!(errors.iter().any(|e| e.starts_with("/cpus")), "{errors:?}");
    }

    #[test]
    fn container_service_port_zero_matches_assigned() {
        let container = json!({"type": "DOCKER", "docker": {"image": "nginx"},
            "portMappings": [{"containerPort": 80, "hostPort": 0, "servicePort": 0, "name": "http"}]});
        let desired = obj(json!({"id": "web", "container": container, "networks": [{"mode": "container/bridge"}]}));
        let mut live = obj(
            json!({"id": "/web", "networks": [{"mode": "container/bridge"}], "portDefinitions": [],
            "role": "*", "container": container}),
        );
        live["container"]["portMappings"][0]["servicePort"] = json!(10005);
        let web = PathId::parse("/web").unwrap();
        assert!(unchanged(&web, &desired, &Value::Object(live.clone())));
        live["container"]["portMappings"][0]["containerPort"] = json!(8080);
        assert!(!unchanged(&web, &desired, &Value::Object(live)));
    }
}
