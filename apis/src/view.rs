//! Read helpers over the store's applied state: typed lookups of apps, instances and
//! deployments. Callers clone the `Arc`s out inside `Store::read` and render outside it, so
//! writers never wait on JSON encoding.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use schemas::{AppDefinition, Deployment, Instance, PathId, Record, Timestamp};
use store::{State, keys};

pub(crate) fn app(state: &State, id: &PathId) -> Option<(Arc<AppDefinition>, u64)> {
    match state.get(&keys::app(id)) {
        Some(e) => match &e.record {
            Record::App(def) => Some((def.clone(), e.mod_revision)),
            _ => None,
        },
        None => None,
    }
}

pub(crate) fn apps(state: &State) -> impl Iterator<Item = Arc<AppDefinition>> + '_ {
    state.scan(keys::APPS).filter_map(|(_, e)| match &e.record {
        Record::App(def) => Some(def.clone()),
        _ => None,
    })
}

/// The apps at or below `group`, in id order.
pub(crate) fn apps_within(state: &State, group: &PathId) -> Vec<Arc<AppDefinition>> {
    if group.is_root() {
        return apps(state).collect();
    }
    let mut out: Vec<_> = app(state, group).map(|(a, _)| a).into_iter().collect();
    let prefix = format!("{}/", keys::app(group));
    out.extend(state.scan(&prefix).filter_map(|(_, e)| match &e.record {
        Record::App(def) => Some(def.clone()),
        _ => None,
    }));
    out
}

/// True when some app lies strictly below `id`, i.e. `id` is a (possibly implicit) group.
pub(crate) fn is_group(state: &State, id: &PathId) -> bool {
    id.is_root() || state.scan(&format!("{}/", keys::app(id))).next().is_some()
}

pub(crate) fn instances_of(state: &State, id: &PathId) -> Vec<(Arc<Instance>, u64)> {
    let prefix = keys::instances_of(id);
    state
        .scan(&prefix)
        .filter_map(|(_, e)| match &e.record {
            Record::Instance(i) => Some((i.clone(), e.mod_revision)),
            _ => None,
        })
        .collect()
}

pub(crate) fn instance(state: &State, app: &PathId, instance_id: &str) -> Option<(Arc<Instance>, u64)> {
    state
        .get(&keys::instance(app, instance_id))
        .and_then(|e| match &e.record {
            Record::Instance(i) => Some((i.clone(), e.mod_revision)),
            _ => None,
        })
}

pub(crate) fn deployments(state: &State) -> Vec<Arc<Deployment>> {
    state
        .scan(keys::DEPLOYMENTS)
        .filter_map(|(_, e)| match &e.record {
            Record::Deployment(d) => Some(d.clone()),
            _ => None,
        })
        .collect()
}

pub(crate) fn deployment(state: &State, id: &str) -> Option<Arc<Deployment>> {
    state.get(&keys::deployment(id)).and_then(|e| match &e.record {
        Record::Deployment(d) => Some(d.clone()),
        _ => None,
    })
}

/// Deployment ids by the apps they affect, oldest deployment first.
pub(crate) fn deployments_by_app(deployments: &[Arc<Deployment>]) -> HashMap<PathId, Vec<String>> {
    let mut sorted: Vec<_> = deployments.iter().collect();
    sorted.sort_by(|a, b| (a.version, &a.id).cmp(&(b.version, &b.id)));
    let mut out: HashMap<PathId, Vec<String>> = HashMap::new();
    for d in sorted {
        for app in &d.affected_apps {
            out.entry(app.clone()).or_default().push(d.id.clone());
        }
    }
    out
}

/// The stored versions of an app, oldest first, with their keys.
pub(crate) fn versions(state: &State, id: &PathId) -> BTreeMap<Timestamp, (String, Arc<AppDefinition>)> {
    state
        .scan(&keys::app_versions_of(id))
        .filter_map(|(k, e)| match &e.record {
            Record::AppVersion(def) => Some((def.version_or_epoch(), (k.to_string(), def.clone()))),
            _ => None,
        })
        .collect()
}

pub(crate) fn framework_id(state: &State) -> Option<String> {
    state.framework_id().map(str::to_string)
}
