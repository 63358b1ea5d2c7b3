//! Turns an app as a user wrote it into Marathon's canonical form: deprecated fields folded into
//! their successors, ids resolved, and the defaults Marathon computes from other fields filled
//! (`AppNormalization` in Marathon). Normalising a normalised app changes nothing.

mod legacy;

use std::collections::BTreeMap;

use serde_json::json;

use crate::{
    AppDefinition, NETWORK_BRIDGE, NETWORK_HOST, Network, PathId, PortDefinition, PortMapping, UnreachableDisabled,
    UnreachableStrategy, UpgradeStrategy, Violation,
};
use legacy::{Legacy, mesos_container};

/// The role of apps that name none (Marathon's `--mesos_role` default).
pub const DEFAULT_ROLE: &str = "*";

/// Folds deprecated fields into their successors and fills Marathon's computed defaults, resolving `app.id` against `base` (the enclosing group; `/` at top level).
///
/// Service ports (`port: 0`) are left as they are: assigning them needs every other app's.
/// A field whose value equals Marathon's plain default (`upgradeStrategy` `{1,1}`,
/// `unreachableStrategy` `{0,0}`) counts as not given, so resident and single-instance apps get
/// their own defaults for it (the explicit plain value would be rejected for them anyway).
pub fn normalize_app(mut app: AppDefinition, base: &PathId) -> Result<AppDefinition, Vec<Violation>> {
    resolve_ids(&mut app, base)?;
    let legacy = Legacy::take(&mut app)?;

    app.fetch = legacy.fetch(std::mem::take(&mut app.fetch));
    let networks = legacy.networks(app.networks.take()).map_err(|v| vec![v])?;
    let networks = networks
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| vec![host_network()]);
    let host = networks.iter().any(|n| n.mode == NETWORK_HOST);
    let bridge = networks.iter().any(|n| n.mode == NETWORK_BRIDGE);

    let given_ports = legacy.port_definitions(app.port_definitions.take());
    let container = legacy.container(app.container.take()).map_err(|v| vec![v])?;
    // Marathon keeps one mapping per declared port when a given container leaves host networking;
    // the container it adds itself for non-host networking gets only the default mapping.
    let declared = if container.is_some() {
        given_ports.as_ref().map_or(0, Vec::len)
    } else {
        0
    };
    let container = container.or_else(|| (!host).then(|| mesos_container(None)));
    app.container = container.map(|mut c| {
        if host {
            c.port_mappings = None;
        } else {
            let mappings = c.port_mappings.get_or_insert_with(|| vec![named_mapping("default")]);
            while mappings.len() < declared {
                mappings.push(named_mapping_opt(None));
            }
            if bridge {
                for m in mappings.iter_mut() {
                    m.host_port.get_or_insert(0);
                }
            }
        }
        c
    });
    app.port_definitions = if host {
        Some(given_ports.unwrap_or_else(default_port_definitions))
    } else {
        None
    };
    app.networks = Some(networks);
    if !host {
        app.require_ports = false;
    }

    fill_check_defaults(&mut app);
    fill_scheduling_defaults(&mut app);
    Ok(app)
}

fn resolve_ids(app: &mut AppDefinition, base: &PathId) -> Result<(), Vec<Violation>> {
    let mut errors = Vec::new();
    match base.resolve(app.id.as_str()) {
        Ok(id) => {
            if !id.is_within(base) || &id == base {
                errors.push(Violation::new(
                    "/id",
                    format!("identifier {id} is not child of {base}. Hint: use relative paths."),
                ));
            }
            app.id = id;
        }
        Err(e) => errors.push(Violation::new("/id", e.to_string())),
    }
    let mut deps = Vec::with_capacity(app.dependencies.len());
    for (i, dep) in app.dependencies.iter().enumerate() {
        match base.resolve(dep.as_str()) {
            Ok(d) if !deps.contains(&d) => deps.push(d),
            Ok(_) => {}
            Err(e) => errors.push(Violation::new(format!("/dependencies({i})"), e.to_string())),
        }
    }
    app.dependencies = deps;
    if errors.is_empty() { Ok(()) } else { Err(errors) }
}

/// Health checks address port 0 unless told otherwise; readiness checks accept 200 by default.
fn fill_check_defaults(app: &mut AppDefinition) {
    let has_ports = !app.port_names().is_empty();
    for hc in &mut app.health_checks {
        if has_ports && hc.protocol != "COMMAND" && hc.port.is_none() && hc.port_index.is_none() {
            hc.port_index = Some(0);
        }
    }
    dedup(&mut app.health_checks);
    for rc in &mut app.readiness_checks {
        if rc.http_status_codes_for_ready.is_empty() {
            rc.http_status_codes_for_ready = vec![200];
        }
    }
}

fn fill_scheduling_defaults(app: &mut AppDefinition) {
    let role = app.role.get_or_insert_with(|| DEFAULT_ROLE.to_string()).clone();
    // Marathon's default `sanitize_accepted_resource_roles`: roles other than `*` and the app's
    // own cannot be offered to it, so they are dropped rather than rejected.
    if let Some(roles) = &mut app.accepted_resource_roles {
        roles.retain(|r| r == "*" || *r == role);
        dedup(roles);
        if roles.is_empty() {
            roles.push("*".to_string());
        }
    }
    for c in &mut app.constraints {
        if let Some(op) = c.get_mut(1)
            && crate::ConstraintOperator::parse(op).is_some()
        {
            *op = op.to_ascii_uppercase();
        }
    }
    dedup(&mut app.constraints);

    let resident = app.is_resident();
    if resident && app.residency.is_none() {
        app.residency = Some(json!({"relaunchEscalationTimeoutSeconds": 3600, "taskLostBehavior": "WAIT_FOREVER"}));
    }
    if app.upgrade_strategy == UpgradeStrategy::default() {
        if app.is_single_instance() {
            app.upgrade_strategy = UpgradeStrategy {
                minimum_health_capacity: 0.0,
                maximum_over_capacity: 0.0,
            };
        } else if resident {
            app.upgrade_strategy = UpgradeStrategy {
                minimum_health_capacity: 0.5,
                maximum_over_capacity: 0.0,
            };
        }
    }
    if resident && app.unreachable_strategy == UnreachableStrategy::default() {
        app.unreachable_strategy = UnreachableStrategy::Disabled(UnreachableDisabled::Disabled);
    }
}

fn host_network() -> Network {
    Network {
        mode: NETWORK_HOST.into(),
        name: None,
        labels: BTreeMap::new(),
    }
}

/// Marathon's default for host networking without `portDefinitions`: one service port.
fn default_port_definitions() -> Vec<PortDefinition> {
    vec![PortDefinition {
        port: 0,
        protocol: "tcp".into(),
        name: Some("default".into()),
        labels: BTreeMap::new(),
    }]
}

fn named_mapping(name: &str) -> PortMapping {
    named_mapping_opt(Some(name.to_string()))
}

fn named_mapping_opt(name: Option<String>) -> PortMapping {
    PortMapping {
        container_port: 0,
        host_port: None,
        service_port: 0,
        protocol: "tcp".into(),
        name,
        labels: BTreeMap::new(),
        network_names: Vec::new(),
    }
}

fn dedup<T: PartialEq>(items: &mut Vec<T>) {
    let mut i = 0;
    while i < items.len() {
        if items[..i].contains(&items[i]) {
            items.remove(i);
        } else {
            i += 1;
        }
    }
}

#[cfg(test)]
mod tests;
