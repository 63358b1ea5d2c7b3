//! Compatibility with Marathon's own material: every app in its example payloads is read,
//! normalised and validated as Marathon would (accepted, or rejected for the reasons Marathon
//! gives), and the normalised output validates against Marathon's published JSON Schema.

use std::path::PathBuf;

use anyhow::{Context, Result};
use serde_json::{Value, json};

use schemas::{
    AppDefinition, PathId, Violation, app_change_steps, app_json_schema, merge_app_update, normalize_app, same_spec,
    validate_app,
};

fn data(name: &str) -> Result<Value> {
    let path: PathBuf = [env!("CARGO_MANIFEST_DIR"), "..", "..", "shared", "marathon-data", name]
        .iter()
        .collect();
    let text = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("parsing {name}"))
}

/// Reads, normalises (against the enclosing group) and validates one app definition.
fn accept(raw: &Value, base: &str) -> Result<AppDefinition> {
    let app: AppDefinition = serde_json::from_value(raw.clone()).context("deserialising")?;
    let app = normalize_app(app, &PathId::parse(base)?).map_err(|v| anyhow::anyhow!("normalisation: {v:?}"))?;
    let violations = validate_app(&app);
    anyhow::ensure!(violations.is_empty(), "{}: {violations:?}", app.id);
    Ok(app)
}

/// Every app of a group document, with the id of the group it sits in.
fn group_apps(group: &Value, out: &mut Vec<(Value, String)>) {
    let id = group["id"].as_str().unwrap_or("/").to_string();
    for app in group["apps"].as_array().into_iter().flatten() {
        out.push((app.clone(), id.clone()));
    }
    for sub in group["groups"].as_array().into_iter().flatten() {
        group_apps(sub, out);
    }
}

/// Marathon's 1.7 schema, taught the app fields Marathon added after it (1.9's `role`,
/// 1.10's `resourceLimits`, and `check`/`tty`): it forbids unknown properties.
fn marathon_schema() -> Result<jsonschema::Validator> {
    let mut schema = data("schema-AppDefinition.json")?;
    let props = schema["properties"].as_object_mut().context("schema properties")?;
    props.insert("role".into(), json!({"type": "string"}));
    props.insert("resourceLimits".into(), json!({"type": "object"}));
    props.insert("check".into(), json!({"type": "object"}));
    props.insert("tty".into(), json!({"type": "boolean"}));
    jsonschema::draft4::new(&schema).map_err(|e| anyhow::anyhow!("compiling the schema: {e}"))
}

fn schema_errors(validator: &jsonschema::Validator, instance: &Value) -> Vec<String> {
    validator
        .iter_errors(instance)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect()
}

/// Normalised output validates against Marathon's schema and Pacer's own, and survives a round trip.
fn check_output(app: &AppDefinition) -> Result<()> {
    let out = serde_json::to_value(app)?;
    let errors = schema_errors(&marathon_schema()?, &out);
    anyhow::ensure!(
        errors.is_empty(),
        "{} against Marathon's schema: {errors:?}\n{out:#}",
        app.id
    );
    let ours = jsonschema::validator_for(&app_json_schema()).map_err(|e| anyhow::anyhow!("own schema: {e}"))?;
    let errors = schema_errors(&ours, &out);
    anyhow::ensure!(errors.is_empty(), "{} against Pacer's schema: {errors:?}", app.id);
    let back: AppDefinition = serde_json::from_value(out)?;
    anyhow::ensure!(&back == app, "round trip changed {}", app.id);
    Ok(())
}

fn has(v: &[Violation], path: &str, msg: &str) -> bool {
    v.iter().any(|x| x.path == path && x.errors.iter().any(|e| e == msg))
}

#[test]
fn apps_create_example_is_accepted() -> Result<()> {
    for raw in data("examples-apps_create.json")?.as_array().context("array")? {
        check_output(&accept(raw, "/")?)?;
    }
    Ok(())
}

#[test]
fn check_example_with_relative_id_is_accepted() -> Result<()> {
    let app = accept(&data("examples-app-check-http-example.json")?, "/")?;
    assert_eq!(app.id.as_str(), "/http-index-test");
    check_output(&app)
}

#[test]
fn group_example_apps_are_accepted() -> Result<()> {
    let mut apps = Vec::new();
    group_apps(&data("examples-group.json")?, &mut apps);
    assert_eq!(apps.len(), 3);
    for (raw, base) in &apps {
        let app = accept(raw, base)?;
        assert!(app.id.is_within(&PathId::parse(base)?));
        check_output(&app)?;
    }
    Ok(())
}

#[test]
fn queue_example_apps_are_accepted() -> Result<()> {
    let queue = data("examples-queue.json")?;
    let apps: Vec<&Value> = queue["queue"]
        .as_array()
        .context("queue")?
        .iter()
        .filter_map(|i| i.get("app"))
        .collect();
    assert!(!apps.is_empty());
    for raw in apps {
        check_output(&accept(raw, "/")?)?;
    }
    Ok(())
}

/// Marathon since 1.5 rejects `["hostname", "UNIQUE", ""]` (an empty value is still a value);
/// the 0.x-era listing has one. Without that value the app is accepted.
#[test]
fn app_list_example_is_rejected_only_for_its_unique_value() -> Result<()> {
    let list = data("examples-app_list.json")?;
    let raw = &list["apps"][0];
    let app = normalize_app(serde_json::from_value(raw.clone())?, &PathId::root()).expect("normalises");
    assert_eq!(
        validate_app(&app),
        vec![Violation::new("/constraints(0)", "UNIQUE does not accept a value")]
    );
    let mut fixed = raw.clone();
    fixed["constraints"] = json!([["hostname", "UNIQUE"]]);
    let app = accept(&fixed, "/")?;
    assert_eq!(app.port_definitions.as_ref().map(Vec::len), Some(2));
    assert_eq!(app.fetch.len(), 1);
    check_output(&app)
}

/// The full app example mixes every API generation and Marathon rejects it: first for the
/// deprecated `ipAddress` beside a Docker container and port definitions, then (without it)
/// for giving both `cmd` and `args` and for referencing a secret that is not declared.
#[test]
fn full_app_example_is_rejected_as_marathon_rejects_it() -> Result<()> {
    let raw = data("examples-app.json")?;
    let errors = normalize_app(serde_json::from_value(raw.clone())?, &PathId::root()).expect_err("ipAddress");
    assert_eq!(
        errors,
        vec![
            Violation::new("/ipAddress", "ipAddress/discovery is not allowed for Docker containers"),
            Violation::new("/", "cannot specify both an IP address and port"),
        ]
    );

    let mut without_ip = raw.clone();
    without_ip.as_object_mut().context("object")?.remove("ipAddress");
    let app = normalize_app(serde_json::from_value(without_ip.clone())?, &PathId::root()).expect("normalises");
    let violations = validate_app(&app);
    assert!(has(
        &violations,
        "/",
        "AppDefinition must either contain one of 'cmd' or 'args', and/or a 'container'."
    ));
    assert!(has(
        &violations,
        "/env/PASSWORD/secret",
        "references an undefined secret"
    ));
    assert_eq!(violations.len(), 2, "{violations:?}");

    let mut fixed = without_ip;
    fixed.as_object_mut().context("object")?.remove("args");
    fixed["env"]["PASSWORD"] = json!({"secret": "secret1"});
    let app = accept(&fixed, "/")?;
    // Bridge networking from `docker.network`; the port definitions give way to the mappings.
    assert_eq!(app.networks.as_ref().context("networks")?[0].mode, "container/bridge");
    assert!(app.port_definitions.is_none());
    assert_eq!(app.accepted_resource_roles, Some(vec!["*".to_string()]));
    assert_eq!(app.fetch[1].output_file.as_deref(), Some("newname.zip"));
    check_output(&app)
}

#[test]
fn deployment_steps_example_matches_a_create() -> Result<()> {
    let mut apps = Vec::new();
    group_apps(&data("examples-group.json")?, &mut apps);
    let (raw, base) = apps
        .iter()
        .find(|(a, _)| a["id"] == "/tools/oauth-server")
        .context("oauth-server")?;
    let app = accept(raw, base)?;
    let steps = serde_json::to_value(app_change_steps(None, Some(&app)))?;
    assert_eq!(steps, data("examples-deployment_steps.json")?["steps"]);
    Ok(())
}

/// The patch examples restate values the apps already have: nothing to deploy.
#[test]
fn patch_examples_change_nothing() -> Result<()> {
    let created: Vec<AppDefinition> = data("examples-apps_create.json")?
        .as_array()
        .context("array")?
        .iter()
        .map(|raw| accept(raw, "/"))
        .collect::<Result<_>>()?;
    for patch in data("examples-apps_patch.json")?.as_array().context("array")? {
        let current = created
            .iter()
            .find(|a| patch["id"] == a.id.as_str())
            .context("patched app exists")?;
        let merged = merge_app_update(current, patch.clone()).map_err(|v| anyhow::anyhow!("{v:?}"))?;
        assert!(validate_app(&merged).is_empty());
        assert!(same_spec(current, &merged), "{}", current.id);
        assert!(app_change_steps(Some(current), Some(&merged)).is_empty());
    }
    let current = accept(&json!({"id": "/foo", "cmd": "sleep 1000"}), "/")?;
    let merged = merge_app_update(&current, data("examples-app_patch.json")?).map_err(|v| anyhow::anyhow!("{v:?}"))?;
    assert_eq!(merged.instances, 2);
    assert!(schemas::is_scale_only(&current, &merged));
    Ok(())
}

#[test]
fn own_schema_describes_app_definitions() {
    let schema = app_json_schema();
    assert_eq!(schema["title"], "AppDefinition");
    assert!(schema["properties"]["id"].is_object());
    assert!(schema["properties"]["healthChecks"].is_object());
}

/// The schema check has teeth: Marathon's schema rejects what it does not know.
#[test]
fn marathon_schema_rejects_unknown_and_wrong_fields() -> Result<()> {
    let app = accept(&json!({"id": "/a", "cmd": "x"}), "/")?;
    let validator = marathon_schema()?;
    let mut out = serde_json::to_value(&app)?;
    assert!(schema_errors(&validator, &out).is_empty());
    out["bogus"] = json!(1);
    assert!(!schema_errors(&validator, &out).is_empty());
    out.as_object_mut().context("object")?.remove("bogus");
    out["fetch"] = json!([{"uri": "http://a", "outputFile": "x"}]);
    assert!(
        !schema_errors(&validator, &out).is_empty(),
        "Marathon's API spells it destPath"
    );
    out["fetch"] = json!([]);
    out["upgradeStrategy"]["minimumHealthCapacity"] = json!(1.5);
    assert!(!schema_errors(&validator, &out).is_empty());
    Ok(())
}
