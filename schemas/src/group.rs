//! Groups (`/v2/groups`): a tree of apps and groups with dependencies between them.
//!
//! [`GroupDefinition`] is Marathon's `GroupUpdate`: what a request sends (every field optional:
//! an absent `apps` or `groups` keeps what the group has) and, fully specified, what a group
//! version stores for rollback. [`GroupRecord`] is what the store keeps of a group beyond its
//! apps: Marathon keeps empty groups and group-level dependencies, so apps alone cannot say.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::violation::group_violations;
use crate::{AppDefinition, PathId, Timestamp, Violation, normalize_app, validate_app};

/// A group as requests send it (Marathon's `GroupUpdate`) and as group versions store it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
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
    /// Pods are not supported by Pacer; accepted (when empty) so Marathon's payloads pass.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pods: Option<Vec<Value>>,
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

    /// Every group in this tree (itself first), depth first.
    pub fn all_groups(&self) -> Vec<&GroupDefinition> {
        let mut out = vec![self];
        for g in self.groups.iter().flatten() {
            out.extend(g.all_groups());
        }
        out
    }
}

/// Resolves the ids of `group` (its own against `parent`, its apps', groups' and
/// dependencies' against itself) and normalises and validates every app, as Marathon does for
/// a group update posted below `parent`. Violations are named by their place in the body
/// (`/apps(0)/cpus`, `/groups(1)/id`).
pub fn normalize_group(mut group: GroupDefinition, parent: &PathId) -> Result<GroupDefinition, Vec<Violation>> {
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
    if group.pods.as_ref().is_some_and(|p| !p.is_empty()) {
        errors.push(Violation::new(
            "/pods",
            "Pods cannot be changed through /v2/groups in Pacer: use /v2/pods",
        ));
    }
    if group.scale_by.is_some_and(|f| !(f >= 0.0 && f.is_finite())) {
        errors.push(Violation::new("/scaleBy", "must be a number >= 0"));
    }
    if let Some(apps) = group.apps.take() {
        let mut out = Vec::with_capacity(apps.len());
        for (i, app) in apps.into_iter().enumerate() {
            let under = |v: Violation| Violation::new(format!("/apps({i}){}", suffix(&v.path)), v.errors.join("; "));
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
    if let Some(groups) = group.groups.take() {
        let mut out = Vec::with_capacity(groups.len());
        for (i, g) in groups.into_iter().enumerate() {
            match normalize_group(g, &id) {
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

/// A path may name one app or one group, never both, and each only once.
fn check_unique(group: &GroupDefinition, errors: &mut Vec<Violation>) {
    let mut seen = std::collections::HashSet::new();
    let ids = group
        .apps
        .iter()
        .flatten()
        .map(|a| &a.id)
        .chain(group.groups.iter().flatten().filter_map(|g| g.id.as_ref()));
    for id in ids {
        if !seen.insert(id) {
            errors.push(Violation::new(
                "/",
                format!("Groups and Applications may not have the same identifier: {id}"),
            ));
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
