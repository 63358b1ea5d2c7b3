//! Marathon's rules for a pod definition (`PodsValidation`), each failure reported at the
//! pointer Marathon uses (`/containers(0)/resources/cpus`, `/` for rules about the whole pod).

mod containers;

use std::collections::BTreeMap;
use std::sync::LazyLock;

use regex::Regex;

use super::{PodDefinition, PodScheduling, PodVolume};
use crate::violation::{Report, java_double};
use crate::{Constraint, EnvValue, NETWORK_BRIDGE, NETWORK_CONTAINER, NETWORK_HOST, Network, SecretDef, Violation};

/// Names of containers, endpoints and volumes: DNS labels.
pub(super) const NAME_PATTERN: &str = "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$";
static NAME: LazyLock<Regex> = LazyLock::new(|| Regex::new(NAME_PATTERN).expect("static regex"));
static ENV_NAME: LazyLock<Regex> = LazyLock::new(|| Regex::new("^[a-zA-Z_][a-zA-Z0-9_]*$").expect("static regex"));
const MAX_NAME_LEN: usize = 63;
const MAX_ENV_NAME_LEN: usize = 254;

/// Every rule Marathon applies to a pod definition (after normalisation); empty when valid.
///
/// Rules that need global state (the group's enforced role, enabled features, a pod and an app
/// sharing an id) are the caller's.
pub fn validate_pod(pod: &PodDefinition) -> Vec<Violation> {
    let mut report = Report::default();
    for e in pod.id.app_id_errors() {
        report.add("/id", e);
    }
    report.check(pod.id.is_resolved(), "/id", "Path needs to be absolute");
    check_not_empty_opt(pod.user.as_deref(), "/user", &mut report);
    validate_environment(&pod.environment, &pod.secrets, "/environment", &mut report);
    for (name, def) in &pod.secrets {
        report.check(!name.is_empty(), "/secrets", "secret names must not be empty");
        report.check(
            !def.source.is_empty(),
            format!("/secrets/{name}/source"),
            "must not be empty",
        );
    }
    report.check(
        pod.labels.keys().all(|k| !k.is_empty()),
        "/labels",
        "label keys must not be empty",
    );
    containers::validate(pod, &mut report);
    validate_volumes(pod, &mut report);
    validate_networks(&pod.networks, &mut report);
    validate_resources_min(
        "/executorResources",
        [
            ("cpus", pod.executor_resources.cpus, 0.001),
            ("mem", pod.executor_resources.mem, 0.001),
            ("disk", pod.executor_resources.disk, 0.0),
        ],
        &mut report,
    );
    let scaling = &pod.scaling;
    report.check(scaling.kind == "fixed", "/scaling/kind", "is not one of (fixed)");
    if let Some(max) = scaling.max_instances {
        report.check(
            scaling.instances <= max,
            "/scaling/instances",
            format!("got {}, expected {max} or less (maxInstances)", scaling.instances),
        );
    }
    validate_scheduling(pod, &mut report);
    if let Some(role) = &pod.role {
        for e in role_errors(role) {
            report.add("/role", e);
        }
    }
    report.finish()
}

pub(super) fn check_name(name: &str, path: &str, report: &mut Report) {
    report.check(
        NAME.is_match(name),
        path,
        format!("must fully match regular expression '{NAME_PATTERN}'"),
    );
    report.check(
        name.len() <= MAX_NAME_LEN,
        path,
        format!("got {} characters, expected {MAX_NAME_LEN} or less", name.len()),
    );
}

pub(super) fn check_not_empty_opt(value: Option<&str>, path: &str, report: &mut Report) {
    report.check(value.is_none_or(|v| !v.is_empty()), path, "must not be empty");
}

/// Each `(field, value, minimum)` at `{at}/{field}`.
pub(super) fn validate_resources_min<const N: usize>(at: &str, fields: [(&str, f64, f64); N], report: &mut Report) {
    for (field, value, min) in fields {
        report.check(
            value >= min,
            format!("{at}/{field}"),
            format!("got {}, expected {} or more", java_double(value), java_double(min)),
        );
    }
}

/// Variable names as Marathon's strict `EnvVars` type wants them; secret references must name
/// one of the pod's secrets.
pub(super) fn validate_environment(
    env: &BTreeMap<String, EnvValue>,
    secrets: &BTreeMap<String, SecretDef>,
    at: &str,
    report: &mut Report,
) {
    for (name, value) in env {
        report.check(
            ENV_NAME.is_match(name),
            format!("{at}/{name}"),
            "must contain only alphanumeric chars or underscore, and must not begin with a number",
        );
        report.check(
            name.len() <= MAX_ENV_NAME_LEN,
            format!("{at}/{name}"),
            "variable name must be 254 chars or less",
        );
        if let EnvValue::Secret { secret } = value {
            report.check(
                secrets.contains_key(secret),
                format!("{at}/{name}/secret"),
                "references an undefined secret",
            );
        }
    }
}

fn validate_volumes(pod: &PodDefinition, report: &mut Report) {
    let names: Vec<&str> = pod.volumes.iter().map(|v| v.name.as_str()).collect();
    report.check(all_distinct(&names), "/volumes", "volume names are unique");
    for (i, v) in pod.volumes.iter().enumerate() {
        let at = format!("/volumes({i})");
        check_name(&v.name, &format!("{at}/name"), report);
        report.check(
            pod.containers
                .iter()
                .any(|c| c.volume_mounts.iter().any(|m| m.name == v.name)),
            &at,
            "volume must be referenced by at least one container",
        );
        validate_volume(pod, v, &at, report);
    }
}

fn validate_volume(pod: &PodDefinition, v: &PodVolume, at: &str, report: &mut Report) {
    let kinds = [v.host.is_some(), v.persistent.is_some(), v.secret.is_some()];
    report.check(
        kinds.iter().filter(|k| **k).count() <= 1,
        at,
        "a volume is either ephemeral, host, persistent or secret",
    );
    check_not_empty_opt(v.host.as_deref(), &format!("{at}/host"), report);
    if let Some(secret) = &v.secret {
        report.check(
            pod.secrets.contains_key(secret),
            format!("{at}/secret"),
            "volume.secret must refer to an existing secret",
        );
    }
    if let Some(p) = &v.persistent {
        let at = format!("{at}/persistent");
        report.check(
            ["root", "path", "mount"].contains(&p.kind.as_str()),
            format!("{at}/type"),
            "is not one of (root,path,mount)",
        );
        report.check(
            p.size > 0,
            format!("{at}/size"),
            format!("got {}, expected more than 0", p.size),
        );
        report.check(
            p.kind == "mount" || p.max_size.is_none(),
            &at,
            "Only mount volumes can have maxSize",
        );
        report.check(
            p.max_size.is_none_or(|m| m > p.size),
            &at,
            "Max size must be larger than size",
        );
        report.check(
            p.kind != "root" || p.constraints.is_empty(),
            &at,
            "Constraints on root volumes are not supported",
        );
    }
}

fn validate_networks(networks: &[Network], report: &mut Report) {
    let modes = [NETWORK_CONTAINER, NETWORK_BRIDGE, NETWORK_HOST];
    for (i, n) in networks.iter().enumerate() {
        report.check(
            modes.contains(&n.mode.as_str()),
            format!("/networks({i})/mode"),
            "is not one of (container,container/bridge,host)",
        );
        if let Some(name) = n.name.as_deref().filter(|_| n.mode == NETWORK_CONTAINER) {
            check_name(name, &format!("/networks({i})/name"), report);
        }
    }
    let named = |n: &Network| n.name.as_ref().is_some_and(|s| !s.is_empty());
    let of = |mode: &'static str| networks.iter().filter(move |n| n.mode == mode);
    report.check(
        !of(NETWORK_HOST).any(|n| named(n) || !n.labels.is_empty()),
        "/networks",
        "Host networks may not have names or labels",
    );
    report.check(
        !of(NETWORK_BRIDGE).any(named),
        "/networks",
        "Bridge networks may not have names",
    );
    let names: Vec<&str> = networks.iter().filter_map(|n| n.name.as_deref()).collect();
    report.check(all_distinct(&names), "/networks", "Duplicate networks are not allowed");
    let (host, bridge, container) = (
        of(NETWORK_HOST).count(),
        of(NETWORK_BRIDGE).count(),
        of(NETWORK_CONTAINER).count(),
    );
    report.check(
        (host <= 1 && bridge == 0 && container == 0)
            || (host == 0 && bridge <= 1 && container == 0)
            || (host == 0 && bridge == 0 && container > 0),
        "/networks",
        "May specify a single host network, single bridge network, or else 1-to-n container networks",
    );
    // Pacer has no `--default_network_name`: a container network must say which one it is.
    report.check(
        of(NETWORK_CONTAINER).all(named),
        "/networks",
        "Network name must be specified when container network is selected.",
    );
}

fn validate_scheduling(pod: &PodDefinition, report: &mut Report) {
    let PodScheduling {
        backoff,
        upgrade,
        placement,
        unreachable_strategy,
        ..
    } = &pod.scheduling;
    validate_resources_min(
        "/scheduling/backoff",
        [
            ("backoff", backoff.backoff, 0.0),
            ("backoffFactor", backoff.backoff_factor, 0.0),
            ("maxLaunchDelay", backoff.max_launch_delay, 0.0),
        ],
        report,
    );
    let resident = pod.is_resident();
    crate::validate::check_upgrade_strategy(upgrade, resident, "/scheduling/upgrade", report);
    crate::validate::check_unreachable_strategy(
        unreachable_strategy,
        "/scheduling/unreachableStrategy",
        resident.then_some("unreachableStrategy must be disabled for pods with persistent volumes"),
        report,
    );
    for (i, c) in placement.constraints.iter().enumerate() {
        if let Err(e) = Constraint::new(&c.field_name, &c.operator, c.value.as_deref()) {
            report.add(format!("/scheduling/placement/constraints({i})"), e.to_string());
        }
    }
    let roles = &placement.accepted_resource_roles;
    for (i, r) in roles.iter().enumerate() {
        for e in role_errors(r) {
            report.add(format!("/scheduling/placement/acceptedResourceRoles({i})"), e);
        }
    }
    let role = pod.role.as_deref().unwrap_or(crate::DEFAULT_ROLE);
    report.check(
        roles.iter().all(|r| r == "*" || r == role),
        "/scheduling/placement/acceptedResourceRoles",
        format!("acceptedResourceRoles can only contain * and {role}"),
    );
    report.check(
        !resident || roles.is_empty() || roles.as_slice() == ["*"],
        "/scheduling/placement/acceptedResourceRoles",
        "A resident pod must have `acceptedResourceRoles = [\"*\"]`.",
    );
}

/// Why `role` is not a Mesos role name (Marathon's `ResourceRole.validResourceRole`).
fn role_errors(role: &str) -> Vec<String> {
    let mut errors = Vec::new();
    if matches!(role, "" | "." | "..") {
        errors.push(format!("A role name must not be \"{role}\"."));
    }
    if role.starts_with('-') {
        errors.push("A role name must not start with a '-'.".to_string());
    }
    for c in ['\t', '\n', '\u{0b}', '\u{0c}', '\r', ' ', '/', '\u{7f}'] {
        if role.contains(c) {
            let name = match c {
                '\t' => "horizontal tab",
                '\n' => "line feed",
                '\u{0b}' => "vertical tab",
                '\u{0c}' => "form feed",
                '\r' => "carriage return",
                ' ' => "space",
                '/' => "slash",
                _ => "backspace",
            };
            errors.push(format!(
                "A role name must not include a {name} (\\x{:02x}) character.",
                u32::from(c)
            ));
        }
    }
    errors
}

pub(super) fn all_distinct<T: PartialEq>(items: &[T]) -> bool {
    items.iter().enumerate().all(|(i, a)| !items[..i].contains(a))
}

#[cfg(test)]
mod tests;
