//! A group's tree as the store holds it: explicit group records and the groups implied by
//! app and pod ids, assembled into nodes. Also the same tree as a fully specified [`GroupDefinition`],
//! which is what updates are applied to and what group versions store.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use schemas::{AppDefinition, GroupDefinition, GroupRecord, PathId, PodDefinition, Timestamp};
use store::State;

use crate::view;

/// One group with everything below it.
#[derive(Clone, Debug)]
pub(crate) struct Tree {
    pub id: PathId,
    pub record: Option<Arc<GroupRecord>>,
    pub apps: Vec<Arc<AppDefinition>>,
    pub pods: Vec<Arc<PodDefinition>>,
    pub groups: Vec<Tree>,
}

impl Tree {
    /// The group `id` as the store has it; `None` when no such group exists.
    pub(crate) fn read(state: &State, id: &PathId) -> Option<Tree> {
        if !view::is_group(state, id) {
            return None;
        }
        let mut members: BTreeSet<PathId> = BTreeSet::new();
        let mut records: BTreeMap<PathId, Arc<GroupRecord>> = BTreeMap::new();
        for (r, _) in view::group_records_below(state, id) {
            members.insert(r.id.clone());
            records.insert(r.id.clone(), r);
        }
        if let Some((r, _)) = view::group_record(state, id) {
            records.insert(id.clone(), r);
        }
        let mut apps: BTreeMap<PathId, Vec<Arc<AppDefinition>>> = BTreeMap::new();
        for app in view::apps_within(state, id).into_iter().filter(|a| &a.id != id) {
            members.insert(app.id.parent());
            apps.entry(app.id.parent()).or_default().push(app);
        }
        let mut pods: BTreeMap<PathId, Vec<Arc<PodDefinition>>> = BTreeMap::new();
        for pod in view::pods_within(state, id).into_iter().filter(|p| &p.id != id) {
            members.insert(pod.id.parent());
            pods.entry(pod.id.parent()).or_default().push(pod);
        }
        // Every group between a member and `id` exists too (missing parents are implied).
        let mut all: BTreeSet<PathId> = BTreeSet::from([id.clone()]);
        for m in members {
            let mut g = m;
            while g != *id && g.is_within(id) && all.insert(g.clone()) {
                g = g.parent();
            }
        }
        let mut children: BTreeMap<PathId, Vec<PathId>> = BTreeMap::new();
        for g in all.iter().filter(|g| *g != id) {
            children.entry(g.parent()).or_default().push(g.clone());
        }
        let mut found = Members { records, apps, pods };
        Some(assemble(id, &mut found, &children))
    }

    /// The group's version: its record's, else the newest of anything below it.
    pub(crate) fn version(&self) -> Timestamp {
        let own = self.record.as_ref().map(|r| r.version);
        let below = self
            .apps
            .iter()
            .map(|a| a.version_or_epoch())
            .chain(self.pods.iter().map(|p| p.version_or_epoch()))
            .chain(self.groups.iter().map(Tree::version));
        own.into_iter().chain(below).max().unwrap_or(Timestamp::from_millis(0))
    }

    pub(crate) fn dependencies(&self) -> &[PathId] {
        self.record.as_ref().map_or(&[], |r| &r.dependencies)
    }

    pub(crate) fn enforce_role(&self) -> bool {
        self.record.as_ref().is_some_and(|r| r.enforce_role)
    }

    /// Every app in the tree.
    pub(crate) fn all_apps(&self) -> Vec<&Arc<AppDefinition>> {
        let mut out: Vec<_> = self.apps.iter().collect();
        for g in &self.groups {
            out.extend(g.all_apps());
        }
        out
    }

    /// Every pod in the tree.
    pub(crate) fn all_pods(&self) -> Vec<&Arc<PodDefinition>> {
        let mut out: Vec<_> = self.pods.iter().collect();
        for g in &self.groups {
            out.extend(g.all_pods());
        }
        out
    }

    /// Every group in the tree, itself first.
    pub(crate) fn all_groups(&self) -> Vec<&Tree> {
        let mut out = vec![self];
        for g in &self.groups {
            out.extend(g.all_groups());
        }
        out
    }

    /// The tree as a fully specified definition (every field present), apps and pods as stored.
    pub(crate) fn definition(&self) -> GroupDefinition {
        GroupDefinition {
            id: Some(self.id.clone()),
            apps: Some(self.apps.iter().map(|a| (**a).clone()).collect()),
            groups: Some(self.groups.iter().map(Tree::definition).collect()),
            pods: Some(self.pods.iter().map(|p| (**p).clone()).collect()),
            dependencies: Some(self.dependencies().to_vec()),
            version: Some(self.version()),
            enforce_role: Some(self.enforce_role()),
            scale_by: None,
        }
    }
}

/// What the store has below a group, by the group each lies in directly.
struct Members {
    records: BTreeMap<PathId, Arc<GroupRecord>>,
    apps: BTreeMap<PathId, Vec<Arc<AppDefinition>>>,
    pods: BTreeMap<PathId, Vec<Arc<PodDefinition>>>,
}

fn assemble(id: &PathId, members: &mut Members, children: &BTreeMap<PathId, Vec<PathId>>) -> Tree {
    let groups = children
        .get(id)
        .map(|kids| kids.iter().map(|k| assemble(k, members, children)).collect())
        .unwrap_or_default();
    Tree {
        id: id.clone(),
        record: members.records.remove(id),
        apps: members.apps.remove(id).unwrap_or_default(),
        pods: members.pods.remove(id).unwrap_or_default(),
        groups,
    }
}

/// `update` (normalised) applied to `current` as Marathon's `GroupUpdate` applies: an absent
/// `apps`, `pods`, `groups`, `dependencies` or `enforceRole` keeps what the group has; present
/// ones replace it, subgroups being updated the same way. The result is fully specified.
pub(crate) fn apply(current: Option<&GroupDefinition>, update: GroupDefinition) -> GroupDefinition {
    let id = update.id.clone().unwrap_or_else(PathId::root);
    let groups = match update.groups {
        Some(updates) => updates
            .into_iter()
            .map(|u| {
                let existing = current
                    .and_then(|c| c.groups.as_ref())
                    .and_then(|gs| gs.iter().find(|g| g.id == u.id));
                apply(existing, u)
            })
            .collect(),
        None => current.and_then(|c| c.groups.clone()).unwrap_or_default(),
    };
    GroupDefinition {
        id: Some(id),
        apps: Some(
            update
                .apps
                .or_else(|| current.and_then(|c| c.apps.clone()))
                .unwrap_or_default(),
        ),
        groups: Some(groups),
        pods: Some(
            update
                .pods
                .or_else(|| current.and_then(|c| c.pods.clone()))
                .unwrap_or_default(),
        ),
        dependencies: Some(
            update
                .dependencies
                .or_else(|| current.and_then(|c| c.dependencies.clone()))
                .unwrap_or_default(),
        ),
        version: None,
        enforce_role: update
            .enforce_role
            .or(current.and_then(|c| c.enforce_role))
            .or(Some(false)),
        scale_by: None,
    }
}
