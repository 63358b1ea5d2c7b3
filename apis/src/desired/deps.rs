//! The dependency graph as a change leaves it: each app's own dependencies plus those of the
//! groups it lies in, with dependencies on groups standing for every app and pod below them.
//! Pods have no dependencies of their own (Marathon's pods name none): they follow their
//! groups' dependencies, and apps may depend on them.

use std::collections::{HashMap, HashSet};

use schemas::{AppDefinition, GroupRecord, PathId, PodDefinition};
use store::{State, keys};

use crate::error::{ApiError, Detail, Result};
use crate::view;

/// The store's apps and groups with a change's targets laid over them.
pub(super) struct After<'a> {
    pub state: &'a State,
    /// Changed apps: their definition afterwards (`None`: deleted).
    pub apps: HashMap<&'a PathId, Option<&'a AppDefinition>>,
    /// Changed pods: their definition afterwards (`None`: deleted).
    pub pods: HashMap<&'a PathId, Option<&'a PodDefinition>>,
    /// Changed group records (`None`: deleted).
    pub groups: HashMap<&'a PathId, Option<&'a GroupRecord>>,
}

impl After<'_> {
    /// The own dependencies of the app or pod `id`; `None` when it is neither afterwards.
    fn app_deps(&self, id: &PathId) -> Option<Vec<PathId>> {
        match self.apps.get(id) {
            Some(a) => a.map(|a| a.dependencies.clone()),
            None if self.pod_exists(id) => Some(Vec::new()),
            None => view::app(self.state, id).map(|(a, _)| a.dependencies.clone()),
        }
    }

    fn pod_exists(&self, id: &PathId) -> bool {
        match self.pods.get(id) {
            Some(p) => p.is_some(),
            None => self.state.pod(id).is_some(),
        }
    }

    fn group_deps(&self, id: &PathId) -> Vec<PathId> {
        match self.groups.get(id) {
            Some(g) => g.map(|g| g.dependencies.clone()).unwrap_or_default(),
            None => view::group_record(self.state, id)
                .map(|(g, _)| g.dependencies.clone())
                .unwrap_or_default(),
        }
    }

    /// What a dependency on `dep` stands for: the app or pod itself, or every app and pod below
    /// the group.
    fn expand(&self, dep: &PathId, out: &mut Vec<PathId>) {
        if self.app_deps(dep).is_some() {
            out.push(dep.clone());
            return;
        }
        let prefix = format!("{}/", keys::app(dep));
        let stored = self
            .state
            .scan(if dep.is_root() { keys::APPS } else { &prefix })
            .filter_map(|(k, _)| keys::app_of_key(k))
            .filter(|id| !matches!(self.apps.get(id), Some(None)));
        let added = self
            .apps
            .iter()
            .filter(|(id, a)| a.is_some() && id.is_within(dep) && *id != &dep)
            .map(|(id, _)| (*id).clone());
        let pods = view::pods_within(self.state, dep)
            .into_iter()
            .map(|p| p.id.clone())
            .filter(|id| !matches!(self.pods.get(id), Some(None)));
        let added_pods = self
            .pods
            .iter()
            .filter(|(id, p)| p.is_some() && id.is_within(dep) && *id != &dep && self.state.pod(id).is_none())
            .map(|(id, _)| (*id).clone());
        out.extend(stored.chain(added).chain(pods).chain(added_pods));
    }

    /// The apps and pods `id` waits for after the change.
    pub(super) fn deps_of(&self, id: &PathId) -> Vec<PathId> {
        let Some(mut raw) = self.app_deps(id) else {
            return Vec::new();
        };
        let mut group = id.parent();
        loop {
            raw.extend(self.group_deps(&group));
            if group.is_root() {
                break;
            }
            group = group.parent();
        }
        let mut out = Vec::new();
        for dep in &raw {
            self.expand(dep, &mut out);
        }
        let mut seen = HashSet::new();
        out.retain(|d| d != id && seen.insert(d.clone()));
        out
    }

    /// The dependency level of every app and pod in `ids` (and of all they depend on); a 422
    /// when the change closes a cycle. A new cycle passes through a changed app or pod, or one
    /// below a changed group, so searching from those finds every cycle there is.
    pub(super) fn levels<'b>(&self, ids: impl IntoIterator<Item = &'b PathId>) -> Result<HashMap<PathId, usize>> {
        schemas::dependency_levels(ids, |id| self.deps_of(id))
            .map_err(|e| ApiError::Invalid(vec![Detail::new("/", e.to_string())]))
    }
}
