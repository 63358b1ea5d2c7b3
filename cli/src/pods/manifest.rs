//! Pod documents and whether one changes its live pod.
//!
//! As for apps (`compare`), both sides are put in normal form by `schemas` (`normalize_pod`)
//! and compared with `same_spec`, which ignores `version` and `versionInfo`; a pod is replaced
//! whole, so a field left out of the document means Marathon's default. Every doubt answers
//! "changed".

use std::collections::BTreeMap;

use schemas::{PathId, PodDefinition, normalize_pod};
use serde_json::{Map, Value};

use crate::compare::lines;
use crate::error::{Error, Result};
use crate::manifest::Document;

/// One pod to apply, as written by the user.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct PodManifest {
    /// Where it came from, for messages.
    pub(crate) origin: String,
    /// The pod id, absolute (relative ids are relative to the root group).
    pub(crate) id: PathId,
    /// The pod as written (less `kind`), sent as the request body.
    pub(crate) body: Map<String, Value>,
}

/// Reads a pod document; `body` has lost its `kind` already.
pub(crate) fn pod(origin: String, body: Map<String, Value>) -> Result<PodManifest> {
    let bad = |message: String| Error::Manifest {
        origin: origin.clone(),
        message,
    };
    let Some(Value::String(raw_id)) = body.get("id") else {
        return Err(bad("a pod needs an \"id\" string".into()));
    };
    let id = PathId::parse(raw_id).map_err(|e| bad(e.to_string()))?;
    if id.is_root() {
        return Err(bad(format!("id '{raw_id}' does not name a pod")));
    }
    if !matches!(body.get("containers"), Some(Value::Array(_))) {
        return Err(bad("a pod needs a \"containers\" list".into()));
    }
    Ok(PodManifest { origin, id, body })
}

/// Pods share one namespace with apps and groups: a pod id that another document also names
/// (a pod twice, an app, an app of a group document, a group document) is an error. A pod
/// document below a group document is refused by `groups::manifest::check_overlaps`: the
/// group's PUT would remove it.
pub(crate) fn check_pods(docs: &[Document]) -> Result<()> {
    let mut named: BTreeMap<&PathId, String> = BTreeMap::new();
    for doc in docs {
        match doc {
            Document::App(a) => {
                named.insert(&a.id, format!("app {} of {}", a.id, a.origin));
            }
            Document::Group(g) => {
                named.insert(&g.id, format!("group {} of {}", g.id, g.origin));
                for app in &g.apps {
                    named.insert(app, format!("app {app} of group {} in {}", g.id, g.origin));
                }
            }
            Document::Pod(_) => {}
        }
    }
    for doc in docs {
        if let Document::Pod(p) = doc
            && let Some(other) = named.insert(&p.id, format!("pod {} of {}", p.id, p.origin))
        {
            return Err(Error::Manifest {
                origin: p.origin.clone(),
                message: format!(
                    "pod {} is also named as {other} (apps, pods and groups share ids)",
                    p.id
                ),
            });
        }
    }
    Ok(())
}

/// The document as the server would take it: typed, normalised and validated by the same
/// schemas code the server runs. Errors are `path: message` lines.
pub(crate) fn validated(id: &PathId, desired: &Map<String, Value>) -> Result<PodDefinition, Vec<String>> {
    let mut body = desired.clone();
    body.insert("id".into(), Value::String(id.to_string()));
    let pod: PodDefinition = serde_json::from_value(Value::Object(body)).map_err(|e| vec![e.to_string()])?;
    let pod = normalize_pod(pod, &PathId::root()).map_err(lines)?;
    let violations = schemas::validate_pod(&pod);
    if violations.is_empty() {
        Ok(pod)
    } else {
        Err(lines(violations))
    }
}

/// True when applying `desired` to `live` (a pod from `GET /v2/pods/{id}`) changes nothing.
pub(crate) fn unchanged(id: &PathId, desired: &Map<String, Value>, live: &Value) -> bool {
    match (validated(id, desired), normal(id, live)) {
        (Ok(want), Some(have)) => want.same_spec(&have),
        _ => false,
    }
}

/// YAML of the live pod and of the document, both in normal form without read-only fields;
/// the live side is empty when the pod does not exist.
pub(crate) fn comparable_yaml(
    id: &PathId,
    desired: &Map<String, Value>,
    live: Option<&Value>,
) -> Result<(String, String), Vec<String>> {
    let want = validated(id, desired)?;
    let have = live.and_then(|l| normal(id, l));
    Ok((have.map(yaml).unwrap_or_default(), yaml(want)))
}

fn yaml(mut pod: PodDefinition) -> String {
    pod.version = None;
    pod.version_info = None;
    serde_yaml::to_string(&pod).unwrap_or_default()
}

fn normal(id: &PathId, live: &Value) -> Option<PodDefinition> {
    let mut live = live.as_object()?.clone();
    live.insert("id".into(), Value::String(id.to_string()));
    let pod: PodDefinition = serde_json::from_value(Value::Object(live)).ok()?;
    normalize_pod(pod, &PathId::root()).ok()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap()
    }

    fn doc() -> Map<String, Value> {
        obj(
            json!({"id": "web", "containers": [{"name": "c", "exec": {"command": {"shell": "sleep 100"}},
            "resources": {"cpus": 0.1, "mem": 32}, "endpoints": [{"name": "http"}]}]}),
        )
    }

    /// What the server stores for `doc()`: normalised, with version fields.
    fn live() -> Value {
        let mut v = serde_json::to_value(validated(&id(), &doc()).unwrap()).unwrap();
        v["version"] = json!("2024-01-01T00:00:00.000Z");
        v["versionInfo"] =
            json!({"lastScalingAt": "2024-01-01T00:00:00.000Z", "lastConfigChangeAt": "2024-01-01T00:00:00.000Z"});
        v
    }

    fn id() -> PathId {
        PathId::parse("/web").unwrap()
    }

    #[test]
    fn reads_pod_documents() {
        let p = pod("p.yaml".into(), doc()).unwrap();
        assert_eq!(p.id.as_str(), "/web");
        let err = |v: Value| pod("p.yaml".into(), obj(v)).unwrap_err().to_string();
        assert!(err(json!({"containers": []})).contains("needs an \"id\""));
        assert!(err(json!({"id": "/", "containers": []})).contains("does not name a pod"));
        assert!(err(json!({"id": "/p", "containers": 3})).contains("\"containers\" list"));
    }

    #[test]
    fn pod_ids_clash_with_other_documents() {
        let p = |id: &str| Document::Pod(pod(format!("{id}.yaml"), obj(json!({"id": id, "containers": []}))).unwrap());
        let app = Document::App(crate::manifest::Manifest {
            origin: "a.yaml".into(),
            id: PathId::parse("/a").unwrap(),
            body: Map::new(),
        });
        let group = Document::Group(
            crate::groups::manifest::group("g.yaml".into(), obj(json!({"id": "/g", "apps": [{"id": "x"}]}))).unwrap(),
        );
        assert!(check_pods(&[app.clone(), group.clone(), p("/p"), p("/g/q")]).is_ok());
        let e = check_pods(&[app.clone(), p("/a")]).unwrap_err();
        assert!(
            e.to_string().contains("pod /a is also named as app /a of a.yaml"),
            "{e}"
        );
        assert_eq!(e.exit_code(), 2);
        let e = check_pods(&[p("/g/x"), group.clone()]).unwrap_err().to_string();
        assert!(e.contains("app /g/x of group /g in g.yaml"), "{e}");
        assert!(check_pods(&[group, p("/g")]).is_err());
        assert!(check_pods(&[p("/p"), p("/p")]).is_err());
    }

    #[test]
    fn defaults_and_server_fields_do_not_count() {
        assert!(unchanged(&id(), &doc(), &live()));
        let mut explicit = doc();
        explicit.insert("scaling".into(), json!({"kind": "fixed", "instances": 1}));
        explicit.insert("networks".into(), json!([{"mode": "host"}]));
        assert!(unchanged(&id(), &explicit, &live()));
    }

    #[test]
    fn real_changes_and_doubts_count() {
        for change in [
            json!({"scaling": {"kind": "fixed", "instances": 2}}),
            json!({"labels": {"a": "b"}}),
            json!({"containers": [{"name": "c", "exec": {"command": {"shell": "sleep 200"}}, "resources": {"cpus": 0.1, "mem": 32}}]}),
        ] {
            let mut d = doc();
            d.extend(obj(change.clone()));
            assert!(!unchanged(&id(), &d, &live()), "{change} should count");
        }
        assert!(!unchanged(&id(), &doc(), &json!(null)));
        let mut bad = doc();
        bad.insert("containers".into(), json!([]));
        assert!(
            !unchanged(&id(), &bad, &live()),
            "invalid is a change the server will refuse"
        );
    }

    #[test]
    fn yaml_for_diff() {
        let mut d = doc();
        d["containers"][0]["exec"]["command"]["shell"] = json!("sleep 200");
        let (have, want) = comparable_yaml(&id(), &d, Some(&live())).unwrap();
        let changed: Vec<(&str, &str)> = have.lines().zip(want.lines()).filter(|(a, b)| a != b).collect();
        assert_eq!(changed.len(), 1, "{have}\n{want}");
        assert!(changed[0].1.contains("sleep 200"));
        assert!(!have.contains("version"), "{have}");
        let (same, _) = comparable_yaml(&id(), &doc(), Some(&live())).unwrap();
        assert_eq!(
            same,
            comparable_yaml(&id(), &doc(), None).unwrap().1,
            "live in normal form"
        );
        let mut bad = doc();
        bad["containers"][0]["resources"]["mem"] = json!(-1);
        let errors = comparable_yaml(&id(), &bad, None).unwrap_err();
        assert!(errors.iter().any(|e| e.contains("mem")), "{errors:?}");
    }
}
