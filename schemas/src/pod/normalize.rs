//! Turns a pod as a user wrote it into Marathon's canonical form (`PodNormalization`): id
//! resolved, networking made explicit, and the defaults Marathon derives from other fields
//! filled. Normalising a normalised pod changes nothing.

use std::collections::BTreeMap;

use super::PodDefinition;
use crate::{
    DEFAULT_ROLE, NETWORK_CONTAINER, NETWORK_HOST, Network, PathId, UnreachableDisabled, UnreachableStrategy,
    UpgradeStrategy, Violation,
};

/// Normalises `pod`, resolving its id against `base` (the enclosing group; `/` at top level).
///
/// As for apps, a strategy equal to Marathon's plain default counts as not given, so resident
/// pods get their own defaults for it.
pub fn normalize_pod(mut pod: PodDefinition, base: &PathId) -> Result<PodDefinition, Vec<Violation>> {
    match base.resolve(pod.id.as_str()) {
        Ok(id) => {
            if !id.is_within(base) || &id == base {
                return Err(vec![Violation::new(
                    "/id",
                    format!("identifier {id} is not child of {base}. Hint: use relative paths."),
                )]);
            }
            pod.id = id;
        }
        Err(e) => return Err(vec![Violation::new("/id", e.to_string())]),
    }

    if pod.networks.is_empty() {
        pod.networks = vec![Network {
            mode: NETWORK_HOST.into(),
            name: None,
            labels: BTreeMap::new(),
        }];
    }
    // Off container networks an endpoint is only reachable through a host port: Marathon gives
    // every endpoint that names none a dynamic one.
    let container_mode = pod.networks.iter().any(|n| n.mode == NETWORK_CONTAINER);
    for c in &mut pod.containers {
        for e in &mut c.endpoints {
            if !container_mode {
                e.host_port.get_or_insert(0);
            }
            if e.protocol.is_empty() {
                e.protocol.push("tcp".into());
            }
        }
    }

    fill_scheduling_defaults(&mut pod);
    Ok(pod)
}

fn fill_scheduling_defaults(pod: &mut PodDefinition) {
    let role = pod.role.get_or_insert_with(|| DEFAULT_ROLE.to_string()).clone();
    let placement = &mut pod.scheduling.placement;
    // Marathon's `sanitize_accepted_resource_roles`, as for apps: roles the pod can never be
    // offered are dropped. An empty list stays empty: for pods it means "not restricted".
    if !placement.accepted_resource_roles.is_empty() {
        placement.accepted_resource_roles.retain(|r| r == "*" || *r == role);
        dedup(&mut placement.accepted_resource_roles);
        if placement.accepted_resource_roles.is_empty() {
            placement.accepted_resource_roles.push("*".into());
        }
    }
    for c in &mut placement.constraints {
        if crate::ConstraintOperator::parse(&c.operator).is_some() {
            c.operator = c.operator.to_ascii_uppercase();
        }
    }
    dedup(&mut placement.constraints);

    if pod.is_resident() {
        let scheduling = &mut pod.scheduling;
        if scheduling.upgrade == UpgradeStrategy::default() {
            scheduling.upgrade = UpgradeStrategy {
                minimum_health_capacity: 0.5,
                maximum_over_capacity: 0.0,
            };
        }
        if scheduling.unreachable_strategy == UnreachableStrategy::default() {
            scheduling.unreachable_strategy = UnreachableStrategy::Disabled(UnreachableDisabled::Disabled);
        }
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
