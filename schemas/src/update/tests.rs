use serde_json::json;

use super::*;
use crate::{Timestamp, VersionInfo};

fn stored(v: Value) -> AppDefinition {
    let mut app = normalize_app(serde_json::from_value(v).unwrap(), &PathId::root()).unwrap();
    let t = Timestamp::from_millis(1_000);
    app.version = Some(t);
    app.version_info = Some(VersionInfo {
        last_scaling_at: t,
        last_config_change_at: t,
    });
    app
}

#[test]
fn merges_top_level_fields() {
    let current = stored(json!({"id": "/foo", "cmd": "sleep 1", "instances": 1, "labels": {"a": "1"}}));
    let merged = merge_app_update(
        &current,
        json!({"id": "/other", "instances": 2, "labels": {"b": "2"},
        "cmd": null, "version": "2020-01-01T00:00:00.000Z"}),
    )
    .unwrap();
    assert_eq!(merged.id, current.id);
    assert_eq!(merged.instances, 2);
    assert_eq!(merged.cmd.as_deref(), Some("sleep 1"));
    assert_eq!(merged.labels.len(), 1);
    assert_eq!(merged.labels.get("b").map(String::as_str), Some("2"));
    assert_eq!(merged.version, current.version);
    assert!(!is_scale_only(&current, &merged));
    let scaled = merge_app_update(&current, json!({"instances": 3})).unwrap();
    assert!(is_scale_only(&current, &scaled));
    assert!(!same_spec(&current, &scaled));
    let same = merge_app_update(&current, json!({"cmd": "sleep 1"})).unwrap();
    assert!(same_spec(&current, &same));
}

#[test]
fn deprecated_patch_fields_replace_their_successors() {
    let current =
        stored(json!({"id": "/foo", "cmd": "x", "portDefinitions": [{"port": 80}], "fetch": [{"uri": "http://a"}]}));
    let merged = merge_app_update(&current, json!({"ports": [81, 82], "uris": ["http://b.tgz"]})).unwrap();
    let ports: Vec<_> = merged.port_definitions.unwrap().iter().map(|p| p.port).collect();
    assert_eq!(ports, vec![81, 82]);
    assert_eq!(merged.fetch[0].uri, "http://b.tgz");
    assert!(merged.fetch[0].extract);
}

#[test]
fn switching_cmd_and_args_replaces_the_other() {
    let current = stored(json!({"id": "/foo", "cmd": "x"}));
    let merged = merge_app_update(&current, json!({"args": ["a"]})).unwrap();
    assert!(merged.cmd.is_none());
    assert_eq!(merged.args, Some(vec!["a".to_string()]));
}

#[test]
fn networking_changes_renormalise_ports() {
    let current = stored(json!({"id": "/foo", "cmd": "x"}));
    let bridged = merge_app_update(&current, json!({"networks": [{"mode": "container/bridge"}]})).unwrap();
    assert!(bridged.port_definitions.is_none());
    assert_eq!(
        bridged
            .container
            .as_ref()
            .unwrap()
            .port_mappings
            .as_ref()
            .unwrap()
            .len(),
        1
    );
    let back = merge_app_update(&bridged, json!({"networks": [{"mode": "host"}]})).unwrap();
    assert!(back.container.as_ref().unwrap().port_mappings.is_none());
    assert_eq!(back.port_definitions.unwrap().len(), 1);
}

#[test]
fn rejects_bad_patches() {
    let current = stored(json!({"id": "/foo", "cmd": "x"}));
    let err = merge_app_update(
        &current,
        json!({"networks": [{"mode": "container/bridge"}], "portDefinitions": [{"port": 1}]}),
    );
    assert_eq!(
        err.unwrap_err(),
        vec![Violation::new(
            "/",
            "portDefinitions are only allowed with host-networking"
        )]
    );
    let typed = merge_app_update(&current, json!({"instances": "three"})).unwrap_err();
    assert_eq!(typed[0].path, "/");
    assert!(merge_app_update(&current, json!([1])).is_err());
    let both = merge_app_update(&current, json!({"uris": ["a"], "fetch": [{"uri": "b"}]})).unwrap_err();
    assert_eq!(
        both,
        vec![Violation::new("/uris", "may not be set in conjunction with fetch")]
    );
}

#[test]
fn compares_specs_not_versions() {
    let a = stored(json!({"id": "/foo", "cmd": "x", "ports": [0]}));
    let mut b = a.clone();
    b.version = Some(Timestamp::from_millis(5_000));
    b.version_info = None;
    assert!(same_spec(&a, &b));
    assert!(!is_scale_only(&a, &b));
    // Deprecated spelling of the same spec is the same spec.
    let raw: AppDefinition = serde_json::from_value(json!({"id": "/foo", "cmd": "x", "ports": [0]})).unwrap();
    assert!(same_spec(&a, &raw));
    let mut c = a.clone();
    c.instances = 3;
    c.cmd = Some("y".into());
    assert!(!is_scale_only(&a, &c));
    assert!(!same_spec(&a, &c));
}
