use serde_json::json;

use super::*;
use crate::{PathId, Timestamp, VersionInfo, normalize_app};

fn app(v: serde_json::Value) -> AppDefinition {
    normalize_app(serde_json::from_value(v).unwrap(), &PathId::root()).unwrap()
}

fn actions(steps: &[DeploymentStep]) -> Vec<Vec<ActionKind>> {
    steps
        .iter()
        .map(|s| s.actions.iter().map(|a| a.action).collect())
        .collect()
}

#[test]
fn create_starts_then_scales() {
    let a = app(json!({"id": "/a", "cmd": "x", "instances": 2}));
    let steps = app_change_steps(None, Some(&a));
    assert_eq!(
        actions(&steps),
        vec![vec![ActionKind::StartApplication], vec![ActionKind::ScaleApplication]]
    );
    assert_eq!(steps[0].actions[0].app, a.id);
    let zero = app(json!({"id": "/a", "cmd": "x", "instances": 0}));
    assert_eq!(
        actions(&app_change_steps(None, Some(&zero))),
        vec![vec![ActionKind::StartApplication]]
    );
}

#[test]
fn delete_stops() {
    let a = app(json!({"id": "/a", "cmd": "x"}));
    assert_eq!(
        actions(&app_change_steps(Some(&a), None)),
        vec![vec![ActionKind::StopApplication]]
    );
    assert!(app_change_steps(None, None).is_empty());
}

#[test]
fn scale_restart_or_nothing() {
    let a = app(json!({"id": "/a", "cmd": "x", "instances": 2}));
    let scaled = app(json!({"id": "/a", "cmd": "x", "instances": 5}));
    let changed = app(json!({"id": "/a", "cmd": "y", "instances": 5}));
    let emptied = app(json!({"id": "/a", "cmd": "y", "instances": 0}));
    assert_eq!(
        actions(&app_change_steps(Some(&a), Some(&scaled))),
        vec![vec![ActionKind::ScaleApplication]]
    );
    assert_eq!(
        actions(&app_change_steps(Some(&a), Some(&changed))),
        vec![vec![ActionKind::RestartApplication]]
    );
    assert_eq!(
        actions(&app_change_steps(Some(&a), Some(&emptied))),
        vec![vec![ActionKind::ScaleApplication]]
    );
    assert!(app_change_steps(Some(&a), Some(&a.clone())).is_empty());
}

#[test]
fn a_newer_config_version_restarts_an_unchanged_spec() {
    let mut a = app(json!({"id": "/a", "cmd": "x"}));
    let t = |ms| Timestamp::from_millis(ms);
    a.version_info = Some(VersionInfo {
        last_scaling_at: t(1),
        last_config_change_at: t(1),
    });
    let mut restarted = a.clone();
    restarted.version_info = Some(VersionInfo {
        last_scaling_at: t(2),
        last_config_change_at: t(2),
    });
    assert_eq!(
        actions(&app_change_steps(Some(&a), Some(&restarted))),
        vec![vec![ActionKind::RestartApplication]]
    );
    let mut rescaled = a.clone();
    rescaled.version_info = Some(VersionInfo {
        last_scaling_at: t(2),
        last_config_change_at: t(1),
    });
    assert!(app_change_steps(Some(&a), Some(&rescaled)).is_empty());
}

fn p(s: &str) -> PathId {
    PathId::parse(s).unwrap()
}

fn deps(edges: &[(&str, &[&str])]) -> impl FnMut(&PathId) -> Vec<PathId> {
    let map: std::collections::HashMap<PathId, Vec<PathId>> = edges
        .iter()
        .map(|(a, ds)| (p(a), ds.iter().map(|d| p(d)).collect()))
        .collect();
    move |id| map.get(id).cloned().unwrap_or_default()
}

#[test]
fn levels_put_dependencies_first() {
    // a -> b -> c, and d -> c: c first, then b and d, then a.
    let edges: &[(&str, &[&str])] = &[("/a", &["/b"]), ("/b", &["/c"]), ("/d", &["/c"])];
    let levels = dependency_levels(&[p("/a"), p("/d")], deps(edges)).unwrap();
    assert_eq!(levels[&p("/c")], 0);
    assert_eq!(levels[&p("/b")], 1);
    assert_eq!(levels[&p("/d")], 1);
    assert_eq!(levels[&p("/a")], 2);
    // The longest path counts: a -> c directly as well does not pull a down.
    let edges: &[(&str, &[&str])] = &[("/a", &["/b", "/c"]), ("/b", &["/c"])];
    assert_eq!(dependency_levels(&[p("/a")], deps(edges)).unwrap()[&p("/a")], 2);
}

#[test]
fn a_cycle_is_reported_with_its_members() {
    let edges: &[(&str, &[&str])] = &[("/a", &["/b"]), ("/b", &["/c"]), ("/c", &["/a"]), ("/x", &["/a"])];
    let err = dependency_levels(&[p("/x")], deps(edges)).unwrap_err();
    assert_eq!(err.path, vec![p("/a"), p("/b"), p("/c")]);
    let selfish: &[(&str, &[&str])] = &[("/a", &["/a"])];
    assert!(dependency_levels(&[p("/a")], deps(selfish)).is_err());
}

fn action(kind: ActionKind, app: &str) -> DeploymentAction {
    DeploymentAction {
        action: kind,
        app: p(app),
    }
}

#[test]
fn merge_orders_stops_starts_then_levels() {
    use ActionKind::*;
    let plans = vec![
        vec![
            DeploymentStep {
                actions: vec![action(StartApplication, "/a")],
            },
            DeploymentStep {
                actions: vec![action(ScaleApplication, "/a")],
            },
        ],
        vec![DeploymentStep {
            actions: vec![action(StopApplication, "/b")],
        }],
        vec![DeploymentStep {
            actions: vec![action(RestartApplication, "/c")],
        }],
    ];
    // /a depends on /c.
    let steps = merge_steps(plans, |id| if id.as_str() == "/a" { 1 } else { 0 });
    let flat: Vec<Vec<(ActionKind, &str)>> = steps
        .iter()
        .map(|s| s.actions.iter().map(|a| (a.action, a.app.as_str())).collect())
        .collect();
    assert_eq!(
        flat,
        vec![
            vec![(StopApplication, "/b")],
            vec![(StartApplication, "/a")],
            vec![(RestartApplication, "/c")],
            vec![(ScaleApplication, "/a")]
        ]
    );
}
