//! Changes to an existing app: Marathon's partial update (`PUT /v2/apps/{id}`, the default
//! `partialUpdate=true`) and the comparisons that decide what a change means.

use serde_json::{Map, Value};

use crate::{AppDefinition, NETWORK_HOST, PathId, Violation, normalize_app};

/// Fields the server sets; a patch cannot change them.
const READ_ONLY: [&str; 2] = ["version", "versionInfo"];

/// Deprecated fields and the current fields they replace: a patch giving the former drops the
/// latter from the current app, as Marathon translates the update before applying it.
const REPLACES: [(&str, &[&str]); 3] = [
    ("ports", &["portDefinitions"]),
    ("uris", &["fetch"]),
    ("ipAddress", &["networks", "portDefinitions"]),
];

/// PUT /v2/apps/{id} with partialUpdate=true (the default): Marathon merges the given top-level fields over the current app (JSON values).
///
/// `null` means "not given"; `id`, `version` and `versionInfo` in the patch are ignored (the
/// path names the app, the server sets versions). The result is normalised, keeps `current`'s
/// version fields, and still needs `validate_app`.
pub fn merge_app_update(current: &AppDefinition, patch: Value) -> Result<AppDefinition, Vec<Violation>> {
    let Value::Object(patch) = patch else {
        return Err(vec![Violation::new("/", "an app update must be a JSON object")]);
    };
    let patch: Map<String, Value> = patch
        .into_iter()
        .filter(|(k, v)| !v.is_null() && k != "id" && !READ_ONLY.contains(&k.as_str()))
        .collect();
    check_patch_networking(&patch)?;

    let mut merged = match serde_json::to_value(current) {
        Ok(Value::Object(m)) => m,
        Ok(_) | Err(_) => {
            return Err(vec![Violation::new(
                "/",
                "the current app cannot be represented as JSON",
            )]);
        }
    };
    for (deprecated, successors) in REPLACES {
        if patch.contains_key(deprecated) {
            for s in successors.iter().filter(|s| !patch.contains_key(**s)) {
                merged.remove(*s);
            }
        }
    }
    // `cmd` and `args` exclude each other: giving one replaces the other.
    for (given, other) in [("cmd", "args"), ("args", "cmd")] {
        if patch.contains_key(given) && !patch.contains_key(other) {
            merged.remove(other);
        }
    }
    if patch
        .get("container")
        .and_then(|c| c.pointer("/docker/network"))
        .is_some_and(|n| !n.is_null())
    {
        merged.remove("networks");
    }
    merged.extend(patch);

    let app: AppDefinition =
        serde_json::from_value(Value::Object(merged)).map_err(|e| vec![Violation::new("/", e.to_string())])?;
    let mut app = normalize_app(app, &current.id.parent())?;
    app.version = current.version;
    app.version_info = current.version_info;
    Ok(app)
}

/// Marathon's checks on the networking fields of an update taken alone.
fn check_patch_networking(patch: &Map<String, Value>) -> Result<(), Vec<Violation>> {
    let modes: Vec<&str> = patch
        .get("networks")
        .and_then(Value::as_array)
        .map(|nets| {
            nets.iter()
                .map(|n| n.get("mode").and_then(Value::as_str).unwrap_or("container"))
                .collect()
        })
        .unwrap_or_default();
    let non_empty = |v: Option<&Value>| v.and_then(Value::as_array).is_some_and(|a| !a.is_empty());
    let mut errors = Vec::new();
    if modes.contains(&NETWORK_HOST) && non_empty(patch.get("container").and_then(|c| c.get("portMappings"))) {
        errors.push(Violation::new("/", "portMappings are not allowed with host-networking"));
    }
    if modes.iter().any(|m| *m != NETWORK_HOST) && non_empty(patch.get("portDefinitions")) {
        errors.push(Violation::new(
            "/",
            "portDefinitions are only allowed with host-networking",
        ));
    }
    if errors.is_empty() { Ok(()) } else { Err(errors) }
}

/// True when `new` differs from `old` only in `instances` (and read-only fields): a scale, not a config change.
pub fn is_scale_only(old: &AppDefinition, new: &AppDefinition) -> bool {
    if old.instances == new.instances {
        return false;
    }
    let mut old = comparable(old);
    old.instances = new.instances;
    old == comparable(new)
}

/// True when nothing but read-only fields (version, versionInfo) differ.
pub fn same_spec(old: &AppDefinition, new: &AppDefinition) -> bool {
    comparable(old) == comparable(new)
}

/// The app in normal form without its read-only fields. Normalising again is a no-op for stored
/// apps; it makes a definition written with deprecated fields equal to its canonical form.
fn comparable(app: &AppDefinition) -> AppDefinition {
    let base = if app.id.is_resolved() {
        app.id.parent()
    } else {
        PathId::root()
    };
    let mut a = normalize_app(app.clone(), &base).unwrap_or_else(|_| app.clone());
    a.version = None;
    a.version_info = None;
    a
}

#[cfg(test)]
mod tests;
