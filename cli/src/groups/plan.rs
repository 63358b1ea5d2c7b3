//! What a group PUT would do, worked out on the client from the live tree: which apps and pods
//! of the document it creates, changes or leaves alone, which live apps and pods it removes,
//! and whether the group itself changes.
//!
//! The server applies a group document as Marathon's `GroupUpdate`: an absent `apps`,
//! `pods`, `groups`, `dependencies` or `enforceRole` keeps what the group has, a present one
//! replaces it (subgroups are matched by id and updated the same way). So apps (pods) missing
//! from a present `apps` (`pods`) list, and subgroups missing from a present `groups` list, are
//! removed. The same rules are followed here, and each app (pod) is compared with its live
//! definition as app (pod) applies compare (`compare::unchanged`, defaults ignored). Apps and
//! pods that name no role get their top-level group's role where that group enforces it, as
//! the server gives it.

use std::collections::{BTreeMap, BTreeSet};

use schemas::{AppDefinition, GroupDefinition, PathId, PodDefinition};
use serde_json::{Map, Value};

use super::manifest::GroupManifest;
use crate::apply::Outcome;
use crate::compare::{lines, unchanged};

/// A group as `GET /v2/groups/{id}` answers it (a GroupInfo).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Live {
    pub(crate) id: PathId,
    pub(crate) dependencies: Vec<PathId>,
    pub(crate) enforce_role: bool,
    /// Each app's id and AppInfo.
    pub(crate) apps: Vec<(PathId, Value)>,
    /// Each pod's id and definition (the `spec` of its PodStatus).
    pub(crate) pods: Vec<(PathId, Value)>,
    pub(crate) groups: Vec<Live>,
}

impl Live {
    /// Reads a GroupInfo; `None` when it is not one.
    pub(crate) fn parse(info: &Value) -> Option<Live> {
        let id = PathId::parse(info.get("id")?.as_str()?).ok()?;
        let list = |key: &str| info.get(key).and_then(Value::as_array).cloned().unwrap_or_default();
        let dependencies = list("dependencies")
            .iter()
            .filter_map(|d| PathId::parse(d.as_str()?).ok())
            .collect();
        let apps = list("apps")
            .into_iter()
            .map(|a| Some((PathId::parse(a.get("id")?.as_str()?).ok()?, a)))
            .collect::<Option<Vec<_>>>()?;
        let pods = list("pods")
            .into_iter()
            .map(|p| {
                let spec = p.get("spec").cloned().unwrap_or(p);
                Some((PathId::parse(spec.get("id")?.as_str()?).ok()?, spec))
            })
            .collect::<Option<Vec<_>>>()?;
        let groups = list("groups").iter().map(Live::parse).collect::<Option<Vec<_>>>()?;
        Some(Live {
            id,
            dependencies,
            enforce_role: info.get("enforceRole").and_then(Value::as_bool).unwrap_or(false),
            apps,
            pods,
            groups,
        })
    }

    /// Every app of the tree, depth first.
    pub(crate) fn all_apps(&self) -> Vec<&(PathId, Value)> {
        let mut out: Vec<_> = self.apps.iter().collect();
        for g in &self.groups {
            out.extend(g.all_apps());
        }
        out
    }

    /// Every pod of the tree, depth first.
    pub(crate) fn all_pods(&self) -> Vec<&(PathId, Value)> {
        let mut out: Vec<_> = self.pods.iter().collect();
        for g in &self.groups {
            out.extend(g.all_pods());
        }
        out
    }

    /// Every group of the tree, itself first.
    pub(crate) fn all_groups(&self) -> Vec<&Live> {
        let mut out = vec![self];
        for g in &self.groups {
            out.extend(g.all_groups());
        }
        out
    }
}

/// The document as the server takes it: ids resolved against the group, every app and pod
/// normalised and validated. Errors are `path: message` lines.
pub(crate) fn desired(group: &GroupManifest) -> Result<GroupDefinition, Vec<String>> {
    desired_over(group, None)
}

/// [`desired`] over the live group (`None`: not known): apps and pods that name no role get
/// the role of their top-level group where the live tree or the document enforces it.
pub(crate) fn desired_over(group: &GroupManifest, live: Option<&Live>) -> Result<GroupDefinition, Vec<String>> {
    let mut body = group.body.clone();
    // The server drops the body's id: the path names the group.
    body.remove("id");
    let def: GroupDefinition = serde_json::from_value(Value::Object(body)).map_err(|e| vec![e.to_string()])?;
    let mut enforced: BTreeMap<String, bool> = BTreeMap::new();
    let top_level = |id: &PathId| (!id.is_root() && id.parent().is_root()).then(|| id.as_str()[1..].to_string());
    for g in live.iter().flat_map(|l| l.all_groups()) {
        if let Some(name) = top_level(&g.id) {
            enforced.insert(name, g.enforce_role);
        }
    }
    if let (Some(name), Some(e)) = (top_level(&group.id), def.enforce_role) {
        enforced.insert(name, e);
    }
    for sub in def.groups.iter().flatten().filter(|_| group.id.is_root()) {
        let id = sub.id.as_ref().and_then(|i| group.id.resolve(i.as_str()).ok());
        if let (Some(name), Some(e)) = (id.as_ref().and_then(top_level), sub.enforce_role) {
            enforced.insert(name, e);
        }
    }
    let role = |id: &PathId| {
        let top = id.segments().next().filter(|_| !id.parent().is_root())?;
        enforced.get(top).copied().unwrap_or(false).then(|| top.to_string())
    };
    schemas::normalize_group_in(def, &group.id, &role).map_err(lines)
}

/// What the PUT of one group document does.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Plan {
    /// The apps the document writes, depth first in document order, with their normalised
    /// definitions.
    pub(crate) apps: Vec<(AppDefinition, Outcome)>,
    /// Live apps the PUT removes.
    pub(crate) pruned: Vec<PathId>,
    /// The pods the document writes, as `apps`.
    pub(crate) pods: Vec<(PodDefinition, Outcome)>,
    /// Live pods the PUT removes.
    pub(crate) pruned_pods: Vec<PathId>,
    /// Groups whose own settings change, or that come or go: `(id, live, wanted)` as
    /// `(dependencies, enforceRole)`.
    pub(crate) groups: Vec<(PathId, Option<Settings>, Option<Settings>)>,
    /// The group itself: created, configured or unchanged.
    pub(crate) group: Outcome,
}

/// A group's own settings.
pub(crate) type Settings = (Vec<PathId>, bool);

/// The plan of `desired` (normalised) against the live tree (`None`: the group does not exist).
pub(crate) fn plan(desired: &GroupDefinition, live: Option<&Live>) -> Plan {
    let mut t = Target::default();
    target(desired, live, &mut t);
    let Target {
        apps: wanted_apps,
        pods: wanted_pods,
        settings,
        written,
        written_pods,
    } = t;
    let live_apps: BTreeMap<&PathId, &Value> = live
        .map(|l| l.all_apps().into_iter().map(|(id, v)| (id, v)).collect())
        .unwrap_or_default();
    let apps: Vec<(AppDefinition, Outcome)> = written
        .into_iter()
        .map(|app| {
            let outcome = match live_apps.get(&app.id) {
                None => Outcome::Created,
                Some(l) if unchanged(&app.id, &as_map(&app), l) => Outcome::Unchanged,
                Some(_) => Outcome::Configured,
            };
            (app, outcome)
        })
        .collect();
    let pruned: Vec<PathId> = live_apps
        .keys()
        .filter(|id| !wanted_apps.contains(**id))
        .map(|id| (*id).clone())
        .collect();
    let live_pods: BTreeMap<&PathId, &Value> = live
        .map(|l| l.all_pods().into_iter().map(|(id, v)| (id, v)).collect())
        .unwrap_or_default();
    let pods: Vec<(PodDefinition, Outcome)> = written_pods
        .into_iter()
        .map(|pod| {
            let outcome = match live_pods.get(&pod.id) {
                None => Outcome::Created,
                Some(l) if crate::pods::manifest::unchanged(&pod.id, &as_map(&pod), l) => Outcome::Unchanged,
                Some(_) => Outcome::Configured,
            };
            (pod, outcome)
        })
        .collect();
    let pruned_pods: Vec<PathId> = live_pods
        .keys()
        .filter(|id| !wanted_pods.contains(**id))
        .map(|id| (*id).clone())
        .collect();
    let live_settings: BTreeMap<PathId, Settings> = live
        .map(|l| {
            l.all_groups()
                .into_iter()
                .map(|g| (g.id.clone(), (g.dependencies.clone(), g.enforce_role)))
                .collect()
        })
        .unwrap_or_default();
    let ids: BTreeSet<&PathId> = settings.keys().chain(live_settings.keys()).collect();
    let groups: Vec<_> = ids
        .into_iter()
        .filter(|id| settings.get(*id) != live_settings.get(*id))
        .map(|id| (id.clone(), live_settings.get(id).cloned(), settings.get(id).cloned()))
        .collect();
    let group = if live.is_none() {
        Outcome::Created
    } else if pruned.is_empty()
        && pruned_pods.is_empty()
        && groups.is_empty()
        && apps
            .iter()
            .map(|(_, o)| o)
            .chain(pods.iter().map(|(_, o)| o))
            .all(|o| *o == Outcome::Unchanged)
    {
        Outcome::Unchanged
    } else {
        Outcome::Configured
    };
    Plan {
        apps,
        pruned,
        pods,
        pruned_pods,
        groups,
        group,
    }
}

/// What the tree the server would make holds.
#[derive(Default)]
struct Target {
    /// The ids of all its apps and pods.
    apps: BTreeSet<PathId>,
    pods: BTreeSet<PathId>,
    /// The settings of all its groups.
    settings: BTreeMap<PathId, Settings>,
    /// The apps and pods the document writes, in order.
    written: Vec<AppDefinition>,
    written_pods: Vec<PodDefinition>,
}

/// Walks the tree the server would make of `update` over `current` into `t`.
fn target(update: &GroupDefinition, current: Option<&Live>, t: &mut Target) {
    let id = update
        .id
        .clone()
        .or_else(|| current.map(|c| c.id.clone()))
        .unwrap_or_else(PathId::root);
    let dependencies = update
        .dependencies
        .clone()
        .or_else(|| current.map(|c| c.dependencies.clone()))
        .unwrap_or_default();
    let enforce_role = update.enforce_role.or(current.map(|c| c.enforce_role)).unwrap_or(false);
    t.settings.insert(id, (dependencies, enforce_role));
    match &update.apps {
        Some(list) => {
            t.apps.extend(list.iter().map(|a| a.id.clone()));
            t.written.extend(list.iter().cloned());
        }
        None => t
            .apps
            .extend(current.iter().flat_map(|c| c.apps.iter().map(|(id, _)| id.clone()))),
    }
    match &update.pods {
        Some(list) => {
            t.pods.extend(list.iter().map(|p| p.id.clone()));
            t.written_pods.extend(list.iter().cloned());
        }
        None => t
            .pods
            .extend(current.iter().flat_map(|c| c.pods.iter().map(|(id, _)| id.clone()))),
    }
    match &update.groups {
        Some(list) => {
            for sub in list {
                let existing = current.and_then(|c| c.groups.iter().find(|g| Some(&g.id) == sub.id.as_ref()));
                target(sub, existing, t);
            }
        }
        None => {
            for kept in current.iter().flat_map(|c| &c.groups) {
                for g in kept.all_groups() {
                    t.settings
                        .insert(g.id.clone(), (g.dependencies.clone(), g.enforce_role));
                }
                t.apps.extend(kept.all_apps().into_iter().map(|(id, _)| id.clone()));
                t.pods.extend(kept.all_pods().into_iter().map(|(id, _)| id.clone()));
            }
        }
    }
}

/// A normalised app or pod as the JSON object `compare` takes.
pub(crate) fn as_map(app: &impl serde::Serialize) -> Map<String, Value> {
    match serde_json::to_value(app) {
        Ok(Value::Object(m)) => m,
        _ => Map::new(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::groups::manifest::group;

    fn p(s: &str) -> PathId {
        PathId::parse(s).unwrap()
    }

    fn doc(v: Value) -> GroupDefinition {
        desired(&group("t".into(), v.as_object().cloned().unwrap()).unwrap()).unwrap()
    }

    /// An AppInfo as the server renders `{"cmd": cmd}` at `id`.
    fn live_app(id: &str, cmd: &str) -> Value {
        json!({"id": id, "cmd": cmd, "instances": 1, "cpus": 1.0, "mem": 128.0, "disk": 0, "role": "*",
               "portDefinitions": [{"port": 10000, "protocol": "tcp", "name": "default"}],
               "networks": [{"mode": "host"}], "version": "2024-01-01T00:00:00.000Z",
               "tasksRunning": 1, "deployments": []})
    }

    fn live() -> Live {
        Live::parse(&json!({
            "id": "/shop", "dependencies": [], "enforceRole": false, "version": "V",
            "apps": [live_app("/shop/web", "web"), live_app("/shop/old", "old")],
            "groups": [{"id": "/shop/back", "dependencies": ["/db"], "enforceRole": false,
                        "apps": [live_app("/shop/back/api", "api")], "groups": []}],
        }))
        .unwrap()
    }

    fn outcomes(plan: &Plan) -> Vec<(&str, Outcome)> {
        plan.apps.iter().map(|(a, o)| (a.id.as_str(), *o)).collect()
    }

    #[test]
    fn a_new_group_creates_everything() {
        let d = doc(json!({"id": "/shop", "apps": [{"id": "web", "cmd": "web"}],
            "groups": [{"id": "back", "apps": [{"id": "api", "cmd": "api"}]}]}));
        let planned = plan(&d, None);
        assert_eq!(
            outcomes(&planned),
            [("/shop/web", Outcome::Created), ("/shop/back/api", Outcome::Created)]
        );
        assert_eq!(planned.group, Outcome::Created);
        assert!(planned.pruned.is_empty());
        assert_eq!(planned.groups.len(), 2, "both groups come: {:?}", planned.groups);
    }

    #[test]
    fn the_same_tree_is_unchanged() {
        let d = doc(
            json!({"id": "/shop", "apps": [{"id": "web", "cmd": "web"}, {"id": "/shop/old", "cmd": "old"}],
            "groups": [{"id": "back", "dependencies": ["/db"], "apps": [{"id": "api", "cmd": "api", "dependencies": ["../web"]}]}]}),
        );
        let mut live = live();
        live.groups[0].apps[0].1["dependencies"] = json!(["/shop/web"]);
        let planned = plan(&d, Some(&live));
        assert!(
            planned.apps.iter().all(|(_, o)| *o == Outcome::Unchanged),
            "relative app dependencies compare resolved: {planned:?}"
        );
        assert_eq!(
            (planned.group, planned.pruned.len(), planned.groups.len()),
            (Outcome::Unchanged, 0, 0)
        );
    }

    #[test]
    fn missing_apps_and_groups_are_pruned_and_changes_configure() {
        let d = doc(
            json!({"id": "/shop", "apps": [{"id": "web", "cmd": "web2"}, {"id": "new", "cmd": "n"}],
            "groups": []}),
        );
        let planned = plan(&d, Some(&live()));
        assert_eq!(
            outcomes(&planned),
            [("/shop/web", Outcome::Configured), ("/shop/new", Outcome::Created)]
        );
        assert_eq!(planned.pruned, [p("/shop/back/api"), p("/shop/old")]);
        assert_eq!(planned.groups, [(p("/shop/back"), Some((vec![p("/db")], false)), None)]);
        assert_eq!(planned.group, Outcome::Configured);
    }

    #[test]
    fn absent_lists_keep_what_the_group_has() {
        // No `apps`, no `groups`: only the dependencies change; every app stays.
        let d = doc(json!({"id": "/shop", "dependencies": ["/db"]}));
        let planned = plan(&d, Some(&live()));
        assert!(planned.apps.is_empty() && planned.pruned.is_empty(), "{planned:?}");
        assert_eq!(
            planned.groups,
            [(p("/shop"), Some((vec![], false)), Some((vec![p("/db")], false)))]
        );
        assert_eq!(planned.group, Outcome::Configured);
        // A subgroup listed without `apps` keeps its apps; its dependencies are kept too.
        let d = doc(json!({"id": "/shop", "groups": [{"id": "back"}]}));
        let planned = plan(&d, Some(&live()));
        assert_eq!(planned.group, Outcome::Unchanged, "{planned:?}");
    }

    #[test]
    fn live_group_infos_are_read_whole() {
        let l = live();
        assert_eq!(l.all_apps().len(), 3);
        assert_eq!(l.all_groups()[1].dependencies, [p("/db")]);
        assert!(Live::parse(&json!({"apps": []})).is_none());
        assert!(Live::parse(&json!({"id": "/g", "apps": [{"cmd": "no id"}]})).is_none());
    }

    #[test]
    fn invalid_documents_say_where() {
        let g = group(
            "t".into(),
            json!({"id": "/g", "apps": [{"id": "a", "cmd": "x", "cpus": -1}]})
                .as_object()
                .cloned()
                .unwrap(),
        )
        .unwrap();
        let errors = desired(&g).unwrap_err();
        assert!(errors.iter().any(|e| e.starts_with("/apps(0)/cpus")), "{errors:?}");
    }
}
