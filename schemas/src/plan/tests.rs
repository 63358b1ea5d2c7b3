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
