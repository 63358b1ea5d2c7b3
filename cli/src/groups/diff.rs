//! `diff` of one group document: a unified diff per app and pod of the document against its
//! live definition (as for app and pod documents), each app and pod the group's PUT would
//! remove as removed whole (`+++ /dev/null`), and the groups whose dependencies or
//! `enforceRole` change.

use std::collections::BTreeMap;

use schemas::PathId;
use serde_json::{Value, json};

use super::manifest::GroupManifest;
use super::plan::{Live, Settings, as_map, desired_over, plan};
use crate::apply::Outcome;
use crate::compare::live_yaml;
use crate::diff::{app_diff, unified};
use crate::error::{Error, Result};
use crate::manifest::Manifest;
use crate::pods::apply::pod_diff;
use crate::pods::manifest::PodManifest;

/// The diff of `group` against `live` (`None`: no such group), or `None` when its PUT would
/// change nothing. An invalid document is an [`Error::Manifest`].
pub(crate) fn group_diff(group: &GroupManifest, live: Option<&Live>) -> Result<Option<String>> {
    let def = desired_over(group, live).map_err(|errors| Error::Manifest {
        origin: group.origin.clone(),
        message: format!("invalid group {}:\n  {}", group.id, errors.join("\n  ")),
    })?;
    let plan = plan(&def, live);
    let live_apps: BTreeMap<&PathId, &Value> = live
        .map(|l| l.all_apps().into_iter().map(|(id, v)| (id, v)).collect())
        .unwrap_or_default();
    let mut text = String::new();
    for (app, outcome) in &plan.apps {
        if *outcome == Outcome::Unchanged {
            continue;
        }
        let manifest = Manifest {
            origin: group.origin.clone(),
            id: app.id.clone(),
            body: as_map(app),
        };
        if let Some(t) = app_diff(&manifest, live_apps.get(&app.id).copied())? {
            text.push_str(&t);
        }
    }
    for id in &plan.pruned {
        let old = live_apps.get(id).map(|l| live_yaml(id, l)).unwrap_or_default();
        text.push_str(&unified(&old, "", &format!("live/app{id}"), "/dev/null"));
    }
    let live_pods: BTreeMap<&PathId, &Value> = live
        .map(|l| l.all_pods().into_iter().map(|(id, v)| (id, v)).collect())
        .unwrap_or_default();
    for (pod, outcome) in &plan.pods {
        if *outcome == Outcome::Unchanged {
            continue;
        }
        let manifest = PodManifest {
            origin: group.origin.clone(),
            id: pod.id.clone(),
            body: as_map(pod),
        };
        if let Some(t) = pod_diff(&manifest, live_pods.get(&pod.id).copied())? {
            text.push_str(&t);
        }
    }
    for id in &plan.pruned_pods {
        let old = live_pods
            .get(id)
            .and_then(|l| serde_yaml::to_string(l).ok())
            .unwrap_or_default();
        text.push_str(&unified(&old, "", &format!("live/pod{id}"), "/dev/null"));
    }
    for (id, old, new) in &plan.groups {
        let side = |s: &Option<Settings>, prefix: &str| match s {
            Some(s) => (settings_yaml(s), format!("{prefix}/group{id}")),
            None => (String::new(), "/dev/null".to_string()),
        };
        let ((old_text, old_name), (new_text, new_name)) = (side(old, "live"), side(new, "manifest"));
        text.push_str(&unified(&old_text, &new_text, &old_name, &new_name));
    }
    Ok((plan.group != Outcome::Unchanged).then_some(text))
}

fn settings_yaml((dependencies, enforce_role): &Settings) -> String {
    let v = json!({"dependencies": dependencies, "enforceRole": enforce_role});
    serde_yaml::to_string(&v).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::groups::manifest::group;

    fn doc(v: Value) -> GroupManifest {
        group("g.yaml".into(), v.as_object().cloned().unwrap()).unwrap()
    }

    fn live_app(id: &str, cmd: &str) -> Value {
        json!({"id": id, "cmd": cmd, "instances": 1, "cpus": 0.1, "mem": 32.0, "role": "*",
               "portDefinitions": [{"port": 10000, "protocol": "tcp", "name": "default"}],
               "version": "2024-01-01T00:00:00.000Z", "tasksRunning": 1})
    }

    fn live() -> Live {
        Live::parse(&json!({"id": "/g", "dependencies": [], "enforceRole": false,
            "apps": [live_app("/g/a", "sleep 1"), live_app("/g/b", "sleep 2")], "groups": []}))
        .unwrap()
    }

    fn app(id: &str, cmd: &str) -> Value {
        json!({"id": id, "cmd": cmd, "cpus": 0.1, "mem": 32})
    }

    #[test]
    fn no_change_no_diff() {
        let d = doc(json!({"id": "/g", "apps": [app("a", "sleep 1"), app("b", "sleep 2")]}));
        assert_eq!(group_diff(&d, Some(&live())).unwrap(), None);
    }

    #[test]
    fn changed_removed_and_settings() {
        let d = doc(json!({"id": "/g", "dependencies": ["/db"], "apps": [app("a", "sleep 9")]}));
        let text = group_diff(&d, Some(&live())).unwrap().unwrap();
        assert!(text.starts_with("--- live/app/g/a\n+++ manifest/app/g/a\n@@"), "{text}");
        assert!(text.contains("\n-cmd: sleep 1\n+cmd: sleep 9\n"), "{text}");
        let removed = text.split("--- live/app/g/b\n+++ /dev/null\n").nth(1).expect(&text);
        assert!(removed.contains("-cmd: sleep 2\n"), "{text}");
        assert!(
            text.contains("--- live/group/g\n+++ manifest/group/g\n") && text.contains("+- /db\n"),
            "{text}"
        );
    }

    #[test]
    fn a_new_group_is_all_new_and_invalid_is_exit_2() {
        let d = doc(json!({"id": "/n", "apps": [app("a", "x")], "groups": [{"id": "s"}]}));
        let text = group_diff(&d, None).unwrap().unwrap();
        assert!(text.starts_with("--- /dev/null\n+++ manifest/app/n/a\n"), "{text}");
        assert!(text.contains("--- /dev/null\n+++ manifest/group/n/s\n"), "{text}");
        let bad = doc(json!({"id": "/n", "apps": [{"id": "a", "cmd": "x", "mem": -1}]}));
        let e = group_diff(&bad, None).unwrap_err();
        assert_eq!(e.exit_code(), 2);
        assert!(e.to_string().contains("/apps(0)/mem"), "{e}");
    }
}
