//! Marathon's rules for an app definition, each failure reported at the pointer Marathon uses
//! (`/cpus`, `/healthChecks(0)`, `/` for rules about the whole app).

mod checks;
mod constraints;
mod container;
mod ports;

use std::sync::LazyLock;

use regex::Regex;

use crate::violation::{Report, java_double};
use crate::{AppDefinition, EnvValue, UnreachableStrategy, UpgradeStrategy, Violation};
pub use constraints::{Constraint, ConstraintError, ConstraintOperator, validate_constraints};

const EXECUTOR_PATTERN: &str = "^(//cmd)|(/?[^/]+(/[^/]+)*)|$";
static EXECUTOR: LazyLock<Regex> =
    LazyLock::new(|| Regex::new("^(?://cmd|/?[^/]+(?:/[^/]+)*|)$").expect("static regex"));

/// Every rule Marathon applies to an app definition (after normalisation); empty when valid.
///
/// Rules that need global state (service port clashes, dependency cycles, the group's enforced
/// role, enabled features) are the caller's.
pub fn validate_app(app: &AppDefinition) -> Vec<Violation> {
    let mut report = Report::default();
    validate_identity(app, &mut report);
    validate_resources(app, &mut report);
    validate_strategies(app, &mut report);
    validate_roles(app, &mut report);
    validate_environment(app, &mut report);
    report.extend(validate_constraints(&app.constraints, "/constraints"));
    ports::validate(app, &mut report);
    checks::validate(app, &mut report);
    container::validate(app, &mut report);
    report.finish()
}

fn validate_identity(app: &AppDefinition, report: &mut Report) {
    for e in app.id.app_id_errors() {
        report.add("/id", e);
    }
    report.check(app.id.is_resolved(), "/id", "Path needs to be absolute");
    for (i, dep) in app.dependencies.iter().enumerate() {
        for e in dep.segment_errors() {
            report.add(format!("/dependencies({i})"), e);
        }
        report.check(
            dep.is_resolved(),
            format!("/dependencies({i})"),
            "Path needs to be absolute",
        );
    }
    let cmd = app.cmd.is_some();
    let args = app.args.as_ref().is_some_and(|a| !a.is_empty());
    let container = app
        .container
        .as_ref()
        .is_some_and(|c| c.docker.is_some() && (c.kind == "DOCKER" || c.kind == "MESOS"));
    report.check(
        (cmd ^ args) || (!(cmd && args) && container),
        "/",
        "AppDefinition must either contain one of 'cmd' or 'args', and/or a 'container'.",
    );
    report.check(
        app.cmd.as_ref().is_none_or(|c| !c.is_empty()),
        "/",
        "must not be an empty string",
    );
    report.check(
        EXECUTOR.is_match(&app.executor),
        "/executor",
        format!("must fully match regular expression '{EXECUTOR_PATTERN}'"),
    );
    report.check(
        !(app.check.is_some() && app.container.as_ref().is_some_and(|c| c.kind == "DOCKER")),
        "/check",
        "check is not supported with the Docker containerizer",
    );
}

fn validate_resources(app: &AppDefinition, report: &mut Report) {
    for (field, value) in [("cpus", app.cpus), ("mem", app.mem), ("disk", app.disk)] {
        report.check(
            value >= 0.0,
            format!("/{field}"),
            format!("got {}, expected 0.0 or more", java_double(value)),
        );
    }
    report.check(
        app.backoff_factor >= 1.0,
        "/backoffFactor",
        format!("got {}, expected 1.0 or more", java_double(app.backoff_factor)),
    );
}

fn validate_strategies(app: &AppDefinition, report: &mut Report) {
    let us = app.upgrade_strategy;
    let resident = app.is_resident();
    check_upgrade_strategy(&us, resident, "/upgradeStrategy", report);
    if app.is_single_instance() {
        report.check(
            app.instances <= 1,
            "/",
            "Single instance app may only have one instance",
        );
        for (field, value) in [
            ("minimumHealthCapacity", us.minimum_health_capacity),
            ("maximumOverCapacity", us.maximum_over_capacity),
        ] {
            report.check(
                value == 0.0,
                format!("/upgradeStrategy/{field}"),
                format!("got {}, expected 0.0", java_double(value)),
            );
        }
    }
    check_unreachable_strategy(
        &app.unreachable_strategy,
        "/unreachableStrategy",
        resident.then_some("unreachableStrategy must be disabled for resident tasks"),
        report,
    );
    report.check(
        app.residency.is_none() || resident,
        "/",
        "App must contain persistent volumes and define residency",
    );
}

/// Marathon's bounds on an upgrade strategy at JSON pointer `at`, for apps and pods alike: a
/// resident run spec cannot go over capacity (its instances are pinned to their volumes).
pub(crate) fn check_upgrade_strategy(us: &UpgradeStrategy, resident: bool, at: &str, report: &mut Report) {
    for (field, value) in [
        ("minimumHealthCapacity", us.minimum_health_capacity),
        ("maximumOverCapacity", us.maximum_over_capacity),
    ] {
        report.check(
            (0.0..=1.0).contains(&value),
            format!("{at}/{field}"),
            format!("got {}, expected between 0.0 and 1.0", java_double(value)),
        );
    }
    if resident {
        let moc = us.maximum_over_capacity;
        report.check(
            moc == 0.0,
            format!("{at}/maximumOverCapacity"),
            format!("got {}, expected 0.0", java_double(moc)),
        );
    }
}

/// An enabled unreachable strategy at `at` must not expunge before it deactivates, and is
/// refused outright with `refused_because` (resident run specs).
pub(crate) fn check_unreachable_strategy(
    strategy: &UnreachableStrategy,
    at: &str,
    refused_because: Option<&str>,
    report: &mut Report,
) {
    if let UnreachableStrategy::Enabled {
        inactive_after_seconds: i,
        expunge_after_seconds: e,
    } = *strategy
    {
        report.check(
            i <= e,
            format!("{at}/inactiveAfterSeconds"),
            format!("got {i}, expected {e} or less (expungeAfterSeconds)"),
        );
        if let Some(message) = refused_because {
            report.add("/", message);
        }
    }
}

fn validate_roles(app: &AppDefinition, report: &mut Report) {
    if let Some(role) = &app.role {
        for e in role_errors(role) {
            report.add("/role", e);
        }
    }
    // Resources cannot be reserved for `*`: a resident app needs a role of its own.
    report.check(
        !app.is_resident() || app.role.as_deref().unwrap_or(crate::DEFAULT_ROLE) != "*",
        "/role",
        "Resident apps cannot have the role *",
    );
    let Some(roles) = &app.accepted_resource_roles else {
        return;
    };
    report.check(!roles.is_empty(), "/acceptedResourceRoles", "must not be empty");
    for (i, r) in roles.iter().enumerate() {
        for e in role_errors(r) {
            report.add(format!("/acceptedResourceRoles({i})"), e);
        }
    }
    let role = app.role.as_deref().unwrap_or(crate::DEFAULT_ROLE);
    report.check(
        roles.iter().all(|r| r == "*" || r == role),
        "/acceptedResourceRoles",
        format!("acceptedResourceRoles can only contain * and {role}"),
    );
    report.check(
        !app.is_resident() || (roles.len() == 1 && roles[0] == "*"),
        "/acceptedResourceRoles",
        "A resident app must have `acceptedResourceRoles = [\"*\"]`.",
    );
}

/// Why `role` is not a Mesos role name (Marathon's `ResourceRole.validResourceRole`).
fn role_errors(role: &str) -> Vec<String> {
    let mut errors = Vec::new();
    for bad in ["", ".", ".."] {
        if role == bad {
            errors.push(format!("A role name must not be \"{bad}\"."));
        }
    }
    if role.starts_with('-') {
        errors.push("A role name must not start with a '-'.".to_string());
    }
    let forbidden = [
        ('\u{09}', "horizontal tab (\\x09)"),
        ('\u{0a}', "line feed (\\x0a)"),
        ('\u{0b}', "vertical tab (\\x0b)"),
        ('\u{0c}', "form feed (\\x0c)"),
        ('\u{0d}', "carriage return (\\x0d)"),
        (' ', "space (\\x20)"),
        ('/', "slash (\\x2f)"),
        ('\u{7f}', "backspace (\\x7f)"),
    ];
    for (c, name) in forbidden {
        if role.contains(c) {
            errors.push(format!("A role name must not include a {name} character."));
        }
    }
    errors
}

fn validate_environment(app: &AppDefinition, report: &mut Report) {
    for (name, value) in &app.env {
        if let EnvValue::Secret { secret } = value {
            report.check(
                app.secrets.contains_key(secret),
                format!("/env/{name}/secret"),
                "references an undefined secret",
            );
        }
    }
    for (name, def) in &app.secrets {
        report.check(!name.is_empty(), "/secrets", "secret names must not be empty");
        report.check(
            !def.source.is_empty(),
            format!("/secrets/{name}/source"),
            "must not be empty",
        );
    }
    report.check(
        app.labels.keys().all(|k| !k.is_empty()),
        "/labels",
        "label keys must not be empty",
    );
    if let Some(version) = app.labels.get("DCOS_MIGRATION_API_VERSION").filter(|v| !v.is_empty()) {
        let has = |k: &str| app.labels.get(k).is_some_and(|v| !v.is_empty());
        report.check(
            version == "v1" && has("DCOS_PACKAGE_FRAMEWORK_NAME") && has("DCOS_MIGRATION_API_PATH"),
            "/",
            "DCOS_PACKAGE_FRAMEWORK_NAME and DCOS_MIGRATION_API_PATH must be defined when using DCOS_MIGRATION_API_VERSION",
        );
    }
    for (i, f) in app.fetch.iter().enumerate() {
        if f.uri.is_empty() {
            report.add(format!("/fetch({i})/uri"), "must not be empty");
        } else {
            report.check(
                valid_uri_syntax(&f.uri),
                format!("/fetch({i})"),
                "URI has invalid syntax.",
            );
        }
    }
}

/// Rejects what `java.net.URI` rejects outright: whitespace, controls and unsafe characters.
fn valid_uri_syntax(uri: &str) -> bool {
    !uri.chars()
        .any(|c| c.is_whitespace() || c.is_control() || "\\\"<>^`{|}".contains(c))
}

#[cfg(test)]
mod tests;
