//! Marathon's group roles (1.9+): the role of a top-level group is its name (`/dev` → `dev`),
//! and `enforceRole` on it makes that role the default and the only new role of every app and
//! pod below it (`RoleSettings.forService` in Marathon):
//!
//! | service | default role | allowed roles |
//! |---|---|---|
//! | in the root group | `*` | `*`, `--mesos-role` |
//! | below `/dev`, not enforced | `*` | `*`, `--mesos-role`, `dev`, the role it has |
//! | below `/dev`, enforced | `dev` | `dev`, the role it has |
//!
//! The role a service already has stays allowed, so that services can be migrated one by one.
//! Pacer's default role stays `*` (its normalisation's) whatever `--mesos-role` says.

use std::collections::{BTreeMap, BTreeSet};

use schemas::{DEFAULT_ROLE, GroupDefinition, PathId};
use store::State;

use crate::view;

/// The role of the top-level group `id` lies in (`None` in the root group).
pub(crate) fn group_role(id: &PathId) -> Option<&str> {
    if id.parent().is_root() {
        return None;
    }
    id.segments().next()
}

/// Which top-level groups enforce their role: the stored settings, with those a change
/// writes laid over them.
#[derive(Clone, Debug, Default)]
pub(crate) struct Enforced(BTreeMap<String, bool>);

impl Enforced {
    /// The stored settings of every top-level group.
    pub(crate) fn stored(state: &State) -> Enforced {
        let map = view::group_records_below(state, &PathId::root())
            .into_iter()
            .filter(|(g, _)| !g.id.is_root() && g.id.parent().is_root())
            .map(|(g, _)| (g.id.name().to_string(), g.enforce_role))
            .collect();
        Enforced(map)
    }

    /// Lays the `enforceRole` of every top-level group `update` names over these; `update` is
    /// a group update posted below `parent`, its ids still as written (relative).
    pub(crate) fn with_update(mut self, update: &GroupDefinition, parent: &PathId) -> Enforced {
        let id = match &update.id {
            Some(raw) => match parent.resolve(raw.as_str()) {
                Ok(id) => id,
                Err(_) => return self,
            },
            None => parent.clone(),
        };
        if let Some(enforce) = update.enforce_role
            && !id.is_root()
            && id.parent().is_root()
        {
            self.0.insert(id.name().to_string(), enforce);
        }
        for g in update.groups.iter().flatten() {
            self = self.with_update(g, &id);
        }
        self
    }

    /// Lays one top-level group's setting over these.
    pub(crate) fn set(&mut self, group: &PathId, enforce: bool) {
        if !group.is_root() && group.parent().is_root() {
            self.0.insert(group.name().to_string(), enforce);
        }
    }

    fn enforces(&self, role: &str) -> bool {
        self.0.get(role).copied().unwrap_or(false)
    }

    /// The role a new service `id` gets when it names none: its group's role where that is
    /// enforced, else `None` (the default role).
    pub(crate) fn default_for(&self, id: &PathId) -> Option<String> {
        group_role(id).filter(|r| self.enforces(r)).map(str::to_string)
    }

    /// Why `role` is not allowed for service `id` (which has `existing` now): Marathon's
    /// `got X, expected one of: [..]`; `None` when it is allowed.
    pub(crate) fn refusal(&self, id: &PathId, role: &str, existing: Option<&str>, mesos_role: &str) -> Option<String> {
        let mut allowed: BTreeSet<&str> = BTreeSet::new();
        match group_role(id) {
            Some(group) if self.enforces(group) => {
                allowed.insert(group);
            }
            group => {
                allowed.extend([DEFAULT_ROLE, mesos_role]);
                allowed.extend(group);
            }
        }
        allowed.extend(existing);
        if allowed.contains(role) {
            return None;
        }
        let list: Vec<&str> = allowed.into_iter().collect();
        Some(format!("got {role}, expected one of: [{}]", list.join(", ")))
    }
}

/// `body` (an app or a pod as a request sends it) with the role its enforced top-level group
/// gives, when it names none: `/v2/apps` and `/v2/pods` writes get the same default as
/// `/v2/groups` ones. `id` is the service's id when the path names it; else the body's,
/// relative to the root.
pub(crate) fn with_default(state: &State, mut body: serde_json::Value, id: Option<&PathId>) -> serde_json::Value {
    let serde_json::Value::Object(m) = &mut body else {
        return body;
    };
    if m.get("role").is_some_and(|r| !r.is_null()) {
        return body;
    }
    let id = match id {
        Some(id) => Some(id.clone()),
        None => m
            .get("id")
            .and_then(serde_json::Value::as_str)
            .and_then(|raw| PathId::root().resolve(raw).ok()),
    };
    if let Some(role) = id.and_then(|id| Enforced::stored(state).default_for(&id)) {
        m.insert("role".into(), serde_json::Value::String(role));
    }
    body
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn p(s: &str) -> PathId {
        PathId::parse(s).unwrap()
    }

    #[test]
    fn the_group_role_is_the_top_level_name() {
        assert_eq!(group_role(&p("/dev/app")), Some("dev"));
        assert_eq!(group_role(&p("/dev/team1/app")), Some("dev"));
        assert_eq!(group_role(&p("/app")), None);
    }

    #[test]
    fn enforced_groups_default_and_restrict_the_role() {
        let mut e = Enforced::default();
        e.set(&p("/dev"), true);
        e.set(&p("/dev/sub"), false);
        assert_eq!(e.default_for(&p("/dev/a")), Some("dev".into()));
        assert_eq!(e.default_for(&p("/dev/sub/a")), Some("dev".into()), "subgroups follow");
        assert_eq!(e.default_for(&p("/prod/a")), None);
        assert_eq!(e.default_for(&p("/a")), None);

        assert_eq!(e.refusal(&p("/dev/a"), "dev", None, "*"), None);
        assert_eq!(
            e.refusal(&p("/dev/a"), "slave_public", None, "slave_public").as_deref(),
            Some("got slave_public, expected one of: [dev]")
        );
        assert_eq!(
            e.refusal(&p("/dev/a"), "*", Some("*"), "*"),
            None,
            "a role the service has stays allowed"
        );
        assert_eq!(e.refusal(&p("/prod/a"), "prod", None, "*"), None);
        assert_eq!(e.refusal(&p("/prod/a"), "web", None, "web"), None);
        assert_eq!(
            e.refusal(&p("/prod/a"), "dev", None, "*").as_deref(),
            Some("got dev, expected one of: [*, prod]")
        );
        assert_eq!(
            e.refusal(&p("/a"), "dev", None, "*").as_deref(),
            Some("got dev, expected one of: [*]")
        );
    }

    #[test]
    fn an_update_lays_its_settings_over_the_stored_ones() {
        let mut stored = Enforced::default();
        stored.set(&p("/dev"), true);
        let update: GroupDefinition = serde_json::from_value(json!({
            "id": "/", "groups": [{"id": "dev", "enforceRole": false}, {"id": "ops", "enforceRole": true,
                                   "groups": [{"id": "deep", "enforceRole": true}]}]
        }))
        .unwrap();
        let e = stored.with_update(&update, &PathId::root());
        assert_eq!(e.default_for(&p("/dev/a")), None);
        assert_eq!(e.default_for(&p("/ops/deep/a")), Some("ops".into()));
        let own: GroupDefinition = serde_json::from_value(json!({"enforceRole": true})).unwrap();
        let e = Enforced::default().with_update(&own, &p("/qa"));
        assert_eq!(e.default_for(&p("/qa/x")), Some("qa".into()));
    }
}
