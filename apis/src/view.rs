//! Read helpers over the store's applied state: typed lookups of apps, instances and
//! deployments. Callers clone the `Arc`s out inside `Store::read` and render outside it, so
//! writers never wait on JSON encoding.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use schemas::{
    AppDefinition, Deployment, GroupDefinition, GroupRecord, Instance, PathId, PodDefinition, Record, Timestamp,
};
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

/// True when `id` is a group: one created explicitly (`/v2/groups`), or implied by an app or
/// a pod strictly below it.
pub(crate) fn is_group(state: &State, id: &PathId) -> bool {
    id.is_root()
        || group_record(state, id).is_some()
        || state.scan(&format!("{}/", keys::app(id))).next().is_some()
        || state.scan(&format!("{}/", keys::pod(id))).next().is_some()
        || state.scan(&format!("{}/", keys::group(id))).next().is_some()
}

/// The stored record of an explicitly created group.
pub(crate) fn group_record(state: &State, id: &PathId) -> Option<(Arc<GroupRecord>, u64)> {
    state.get(&keys::group(id)).and_then(|e| match &e.record {
        Record::Group(g) => Some((g.clone(), e.mod_revision)),
        _ => None,
    })
}

/// The records of the groups strictly below `id`, with their revisions.
pub(crate) fn group_records_below(state: &State, id: &PathId) -> Vec<(Arc<GroupRecord>, u64)> {
    let prefix = if id.is_root() {
        keys::GROUPS.to_string()
    } else {
        format!("{}/", keys::group(id))
    };
    state
        .scan(&prefix)
        .filter_map(|(_, e)| match &e.record {
            Record::Group(g) if &g.id != id => Some((g.clone(), e.mod_revision)),
            _ => None,
        })
        .collect()
}

/// The stored versions of a group's tree, oldest first, with their keys.
pub(crate) fn group_versions(state: &State, id: &PathId) -> BTreeMap<Timestamp, (String, Arc<GroupDefinition>)> {
    state
        .scan(&keys::group_versions_of(id))
        .filter_map(|(k, e)| match &e.record {
            Record::GroupVersion(g) => Some((
                g.version.unwrap_or(Timestamp::from_millis(0)),
                (k.to_string(), g.clone()),
            )),
            _ => None,
        })
        .collect()
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

/// Every pod, in id order.
pub(crate) fn pods(state: &State) -> Vec<Arc<PodDefinition>> {
    state
        .scan(keys::PODS)
        .filter_map(|(_, e)| match &e.record {
            Record::Pod(def) => Some(def.clone()),
            _ => None,
        })
        .collect()
}

/// The pods at or below `group`, in id order.
pub(crate) fn pods_within(state: &State, group: &PathId) -> Vec<Arc<PodDefinition>> {
    pods(state).into_iter().filter(|p| p.id.is_within(group)).collect()
}

/// The stored versions of a pod, oldest first, with their keys.
pub(crate) fn pod_versions(state: &State, id: &PathId) -> BTreeMap<Timestamp, (String, Arc<PodDefinition>)> {
    state
        .scan(&keys::pod_versions_of(id))
        .filter_map(|(k, e)| match &e.record {
            Record::PodVersion(def) => Some((def.version_or_epoch(), (k.to_string(), def.clone()))),
            _ => None,
        })
        .collect()
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
