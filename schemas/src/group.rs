//! Groups (`/v2/groups`): a tree of apps, pods and groups with dependencies between them.
//!
//! [`GroupDefinition`] is Marathon's `GroupUpdate`: what a request sends (every field optional:
//! an absent `apps`, `pods` or `groups` keeps what the group has) and, fully specified, what a
//! group version stores for rollback. [`GroupRecord`] is what the store keeps of a group beyond
//! its apps and pods: Marathon keeps empty groups and group-level dependencies, so the services
//! alone cannot say.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::violation::group_violations;
use crate::{
    AppDefinition, PathId, PodDefinition, Timestamp, Violation, normalize_app, normalize_pod, validate_app,
    validate_pod,
};

/// A group as requests send it (Marathon's `GroupUpdate`) and as group versions store it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GroupDefinition {
    /// As written (relative to the enclosing group) until [`normalize_group`] resolves it.
    #[serde(
        default,
        deserialize_with = "as_written_opt",
        skip_serializing_if = "Option::is_none"
    )]
    pub id: Option<PathId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub apps: Option<Vec<AppDefinition>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub groups: Option<Vec<GroupDefinition>>,
    /// Pods (Marathon 1.5+), their ids relative to the group like apps'.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pods: Option<Vec<PodDefinition>>,
    #[serde(
        default,
        deserialize_with = "as_written_many",
        skip_serializing_if = "Option::is_none"
    )]
    pub dependencies: Option<Vec<PathId>>,
    /// On input: roll the group back to this version. In a stored version: its timestamp.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enforce_role: Option<bool>,
    /// Multiply every app's instances in the group by this factor (rounded up).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scale_by: Option<f64>,
}

fn as_written_opt<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<PathId>, D::Error> {
    Option::<String>::deserialize(d).map(|o| o.map(|s| PathId::unresolved(&s)))
}

fn as_written_many<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Vec<PathId>>, D::Error> {
    Option::<Vec<String>>::deserialize(d).map(|o| o.map(|v| v.iter().map(|s| PathId::unresolved(s)).collect()))
}

/// What the store keeps of a group besides the apps below it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupRecord {
    pub id: PathId,
    #[serde(default)]
    pub dependencies: Vec<PathId>,
    #[serde(default)]
    pub enforce_role: bool,
    pub version: Timestamp,
}

impl GroupDefinition {
    /// Every app in this tree, depth first.
    pub fn all_apps(&self) -> Vec<&AppDefinition> {
        let mut out: Vec<&AppDefinition> = self.apps.iter().flatten().collect();
        for g in self.groups.iter().flatten() {
            out.extend(g.all_apps());
        }
        out
    }

    /// Every pod in this tree, depth first.
    pub fn all_pods(&self) -> Vec<&PodDefinition> {
        let mut out: Vec<&PodDefinition> = self.pods.iter().flatten().collect();
        for g in self.groups.iter().flatten() {
            out.extend(g.all_pods());
        }
        out
    }

    /// Every group in this tree (itself first), depth first.
    pub fn all_groups(&self) -> Vec<&GroupDefinition> {
        let mut out = vec![self];
        for g in self.groups.iter().flatten() {
            out.extend(g.all_groups());
        }
        out
    }
}

/// JSON Schema (draft 2020-12) of a group document as Pacer reads it (`pacer schema group`):
/// Marathon's `GroupUpdate`, its apps and pods those of `pacer schema app|pod`.
pub fn group_json_schema() -> serde_json::Value {
    schemars::schema_for!(GroupDefinition).to_value()
}

/// Resolves the ids of `group` (its own against `parent`, its apps', pods', groups' and
/// dependencies' against itself) and normalises and validates every app and pod, as Marathon
/// does for a group update posted below `parent`. Violations are named by their place in the
/// body (`/apps(0)/cpus`, `/pods(0)/containers`, `/groups(1)/id`).
pub fn normalize_group(group: GroupDefinition, parent: &PathId) -> Result<GroupDefinition, Vec<Violation>> {
    normalize_group_in(group, parent, &|_| None)
}

/// [`normalize_group`], where an app or pod that names no `role` gets `default_role(id)` when
/// that is `Some` (the role of an `enforceRole` top-level group) instead of the default role.
pub fn normalize_group_in(
    mut group: GroupDefinition,
    parent: &PathId,
    default_role: &dyn Fn(&PathId) -> Option<String>,
) -> Result<GroupDefinition, Vec<Violation>> {
    let mut errors = Vec::new();
    let id = match group.id.as_ref().map(|id| parent.resolve(id.as_str())) {
        None => parent.clone(),
        Some(Ok(id)) => id,
        Some(Err(e)) => {
            errors.push(Violation::new("/id", e.to_string()));
            parent.clone()
        }
    };
    errors.extend(id.segment_errors().into_iter().map(|e| Violation::new("/id", e)));
    if group.id.is_some() && !id.is_within(parent) {
        errors.push(Violation::new(
            "/id",
            format!("identifier {id} is not child of {parent}. Hint: use relative paths."),
        ));
    }
    if let Some(deps) = &mut group.dependencies {
        let mut resolved = Vec::with_capacity(deps.len());
        for (i, dep) in deps.iter().enumerate() {
            match id.resolve(dep.as_str()) {
                Ok(d) if !resolved.contains(&d) => resolved.push(d),
                Ok(_) => {}
                Err(e) => errors.push(Violation::new(format!("/dependencies({i})"), e.to_string())),
            }
        }
        *deps = resolved;
    }
    if group.scale_by.is_some_and(|f| !(f >= 0.0 && f.is_finite())) {
        errors.push(Violation::new("/scaleBy", "must be a number >= 0"));
    }
    let role_of = |raw: &PathId| id.resolve(raw.as_str()).ok().and_then(|r| default_role(&r));
    if let Some(apps) = group.apps.take() {
        let mut out = Vec::with_capacity(apps.len());
        for (i, mut app) in apps.into_iter().enumerate() {
            let under = |v: Violation| Violation::new(format!("/apps({i}){}", suffix(&v.path)), v.errors.join("; "));
            if app.role.is_none() {
                app.role = role_of(&app.id);
            }
            match normalize_app(app, &id) {
                Ok(app) => {
                    errors.extend(validate_app(&app).into_iter().map(under));
                    out.push(app);
                }
                Err(v) => errors.extend(v.into_iter().map(under)),
            }
        }
        group.apps = Some(out);
    }
    if let Some(pods) = group.pods.take() {
        let mut out = Vec::with_capacity(pods.len());
        for (i, mut pod) in pods.into_iter().enumerate() {
            let under = |v: Violation| Violation::new(format!("/pods({i}){}", suffix(&v.path)), v.errors.join("; "));
            if pod.role.is_none() {
                pod.role = role_of(&pod.id);
            }
            match normalize_pod(pod, &id) {
                Ok(pod) => {
                    errors.extend(validate_pod(&pod).into_iter().map(under));
                    out.push(pod);
                }
                Err(v) => errors.extend(v.into_iter().map(under)),
            }
        }
        group.pods = Some(out);
    }
    if let Some(groups) = group.groups.take() {
        let mut out = Vec::with_capacity(groups.len());
        for (i, g) in groups.into_iter().enumerate() {
            match normalize_group_in(g, &id, default_role) {
                Ok(g) => out.push(g),
                Err(v) => errors.extend(
                    v.into_iter()
                        .map(|v| Violation::new(format!("/groups({i}){}", suffix(&v.path)), v.errors.join("; "))),
                ),
            }
        }
        group.groups = Some(out);
    }
    group.id = Some(id);
    check_unique(&group, &mut errors);
    if errors.is_empty() {
        Ok(group)
    } else {
        Err(group_violations(errors))
    }
}

fn suffix(path: &str) -> &str {
    if path == "/" { "" } else { path }
}

/// A path may name one app, one pod or one group, never two of them, and each only once.
fn check_unique(group: &GroupDefinition, errors: &mut Vec<Violation>) {
    let mut seen = std::collections::HashMap::new();
    let apps = group.apps.iter().flatten().map(|a| (&a.id, "Applications"));
    let pods = group.pods.iter().flatten().map(|p| (&p.id, "Pods"));
    let groups = group
        .groups
        .iter()
        .flatten()
        .filter_map(|g| g.id.as_ref())
        .map(|id| (id, "Groups"));
    for (id, kind) in apps.chain(pods).chain(groups) {
        if let Some(first) = seen.insert(id, kind) {
            // Marathon's wording for each pair.
            let message = match (first, kind) {
                ("Applications", "Pods") => format!("Applications and Pods may not share the same id: {id}"),
                (_, "Groups") if first != "Groups" => {
                    format!("Groups and {first} may not have the same identifier: {id}")
                }
                _ => format!("{kind} may not share the same identifier: {id}"),
            };
            errors.push(Violation::new("/", message));
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn group(v: serde_json::Value) -> GroupDefinition {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn relative_ids_resolve_against_the_enclosing_group() {
        let g = group(json!({
            "id": "prod",
            "dependencies": ["../db"],
            "apps": [{"id": "web", "cmd": "x", "dependencies": ["api"]}],
            "groups": [{"id": "back", "apps": [{"id": "api", "cmd": "x"}], "dependencies": ["/db"]}],
        }));
        let g = normalize_group(g, &PathId::root()).unwrap();
        let p = |s| PathId::parse(s).unwrap();
        assert_eq!(g.id, Some(p("/prod")));
        assert_eq!(g.dependencies, Some(vec![p("/db")]));
        let apps = g.all_apps();
        assert_eq!(apps[0].id, p("/prod/web"));
        assert_eq!(apps[0].dependencies, vec![p("/prod/api")]);
        assert_eq!(apps[1].id, p("/prod/back/api"));
        assert_eq!(g.all_groups()[1].id, Some(p("/prod/back")));
    }

    #[test]
    fn violations_are_named_by_their_place_in_the_tree() {
        let g = group(json!({
            "id": "/g",
            "apps": [{"id": "ok", "cmd": "x"}, {"id": "bad", "cmd": "x", "cpus": -1}],
            "groups": [{"id": "/elsewhere"}],
        }));
        let errors = normalize_group(g, &PathId::root()).unwrap_err();
        let paths: Vec<&str> = errors.iter().map(|v| v.path.as_str()).collect();
        assert!(paths.contains(&"/apps(1)/cpus"), "{errors:?}");
        assert!(paths.contains(&"/groups(0)/id"), "{errors:?}");
    }

    #[test]
    fn an_id_may_name_only_one_member() {
        let g = group(json!({"id": "/g", "apps": [{"id": "a", "cmd": "x"}], "groups": [{"id": "a"}]}));
        assert!(normalize_group(g, &PathId::root()).is_err());
    }

    fn pod(id: &str) -> serde_json::Value {
        json!({"id": id, "containers": [{"name": "c", "resources": {"cpus": 0.1, "mem": 16},
                                         "exec": {"command": {"shell": "sleep 100"}}}]})
    }

    #[test]
    fn pods_resolve_and_validate_like_apps() {
        let g = group(json!({"id": "/g", "pods": [pod("p")], "groups": [{"id": "s", "pods": [pod("q")]}]}));
        let g = normalize_group(g, &PathId::root()).unwrap();
        let ids: Vec<&str> = g.all_pods().iter().map(|p| p.id.as_str()).collect();
        assert_eq!(ids, ["/g/p", "/g/s/q"]);
        assert_eq!(g.all_pods()[0].role.as_deref(), Some("*"), "normalised");

        let mut bad = pod("p");
        bad["containers"] = json!([]);
        let errors =
            normalize_group(group(json!({"id": "/g", "pods": [pod("ok"), bad]})), &PathId::root()).unwrap_err();
        assert!(errors.iter().any(|v| v.path.starts_with("/pods(1)")), "{errors:?}");
        let errors =
            normalize_group(group(json!({"id": "/g", "pods": [pod("/elsewhere")]})), &PathId::root()).unwrap_err();
        assert!(errors.iter().any(|v| v.path == "/pods(0)/id"), "{errors:?}");
    }

    #[test]
    fn apps_pods_and_groups_never_share_an_id() {
        let clash = |v: serde_json::Value| {
            let errors = normalize_group(group(v), &PathId::root()).unwrap_err();
            errors
                .iter()
                .flat_map(|v| v.errors.clone())
                .collect::<Vec<_>>()
                .join("; ")
        };
        let e = clash(json!({"id": "/g", "apps": [{"id": "x", "cmd": "y"}], "pods": [pod("x")]}));
        assert_eq!(e, "Applications and Pods may not share the same id: /g/x");
        let e = clash(json!({"id": "/g", "pods": [pod("x")], "groups": [{"id": "x"}]}));
        assert_eq!(e, "Groups and Pods may not have the same identifier: /g/x");
        let e = clash(json!({"id": "/g", "pods": [pod("x"), pod("x")]}));
        assert_eq!(e, "Pods may not share the same identifier: /g/x");
    }

    #[test]
    fn a_default_role_fills_only_services_that_name_none() {
        let g = group(
            json!({"id": "/dev", "apps": [{"id": "a", "cmd": "x"}, {"id": "b", "cmd": "x", "role": "*"}],
                             "groups": [{"id": "sub", "pods": [pod("p")]}]}),
        );
        let dev = |id: &PathId| id.segments().next().map(str::to_string);
        let g = normalize_group_in(g, &PathId::root(), &dev).unwrap();
        let apps = g.all_apps();
        assert_eq!(apps[0].role.as_deref(), Some("dev"));
        assert_eq!(apps[1].role.as_deref(), Some("*"), "a role given is kept");
        assert_eq!(g.all_pods()[0].role.as_deref(), Some("dev"));
    }

    /// Marathon's own group payload and a group of Marathon's example pod validate against
    /// the generated schema, and the schema is not so loose that anything passes.
    #[test]
    fn marathons_groups_validate_against_the_group_schema() {
        let read = |name: &str| -> serde_json::Value {
            let path = format!("{}/../../shared/marathon-data/{name}", env!("CARGO_MANIFEST_DIR"));
            serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
        };
        let schema = group_json_schema();
        let validator = jsonschema::validator_for(&schema).unwrap();
        let check = |doc: &serde_json::Value| {
            let errors: Vec<String> = validator
                .iter_errors(doc)
                .map(|e| format!("{e} at {}", e.instance_path()))
                .collect();
            assert!(errors.is_empty(), "{errors:?}");
        };
        let example = read("examples-group.json");
        check(&example);
        let mut with_pod = json!({"id": "/shop", "apps": [{"id": "web", "cmd": "x"}], "pods": [read("examples-pod.json")],
                                  "dependencies": ["/db"], "enforceRole": true});
        check(&with_pod);
        // Group versions store fully specified trees; they are group documents too.
        let mut ours = with_pod.clone();
        ours["pods"] = json!([pod("p")]);
        let stored = normalize_group(group(ours), &PathId::root()).unwrap();
        check(&serde_json::to_value(&stored).unwrap());
        with_pod["pods"][0]["containers"] = json!("none");
        assert!(
            validator.iter_errors(&with_pod).next().is_some(),
            "a bad pod is refused"
        );
        assert!(validator.iter_errors(&json!({"apps": [{"id": 3}]})).next().is_some());
    }

    #[test]
    fn marathons_example_group_is_accepted() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../shared/marathon-data/examples-group.json"
        );
        let g: GroupDefinition = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let g = normalize_group(g, &PathId::root()).unwrap();
        assert_eq!(g.all_apps().len(), 3);
        assert_eq!(g.all_groups().len(), 4);
    }
}
