//! Status for GitOps tools of a group (`embed=group.status`): the same `generation`,
//! `observedGeneration` and `conditions` as an app's or a pod's (`crate::status`), summed over
//! every app and pod below the group.
//!
//! `generation` is the group's version in epoch milliseconds: every `/v2/groups` write gives
//! the group a new one, and every change of an app or pod below it gives that member a newer
//! version, which the group's version takes (it is the newest of its own and its members').
//! While deployments touch the group it is `Progressing`, and `observedGeneration` is the
//! version the group had before the oldest of them (0 when that deployment created it). It is
//! `Available` when each member runs as many healthy instances of its current config as it
//! wants (a member running more does not make up for one running fewer), and `Degraded` when
//! any member is, the message naming the member.

use std::collections::HashMap;
use std::sync::Arc;

use schemas::{Deployment, Instance, PathId, Timestamp};
use store::State;

use super::tree::Tree;
use crate::status::{self, AppStatus, Inputs, Rollout, Spec};
use crate::view;

/// The deployments of the moment, indexed by the apps and pods they affect.
pub(crate) struct Deployments {
    all: Vec<Arc<Deployment>>,
    by_member: HashMap<PathId, Vec<Arc<Deployment>>>,
}

impl Deployments {
    pub(crate) fn read(state: &State) -> Deployments {
        let all = view::deployments(state);
        let mut by_member: HashMap<PathId, Vec<Arc<Deployment>>> = HashMap::new();
        for d in &all {
            for id in d.affected_apps.iter().chain(&d.affected_pods) {
                by_member.entry(id.clone()).or_default().push(d.clone());
            }
        }
        Deployments { all, by_member }
    }

    fn of(&self, id: &PathId) -> &[Arc<Deployment>] {
        self.by_member.get(id).map_or(&[], Vec::as_slice)
    }

    /// The deployments that change something below `group` (or its own settings).
    fn touching(&self, group: &PathId) -> Vec<Arc<Deployment>> {
        self.all
            .iter()
            .filter(|d| {
                d.affected_apps
                    .iter()
                    .chain(&d.affected_pods)
                    .any(|a| a.is_within(group))
                    || d.group.as_ref().is_some_and(|g| g.is_within(group))
            })
            .cloned()
            .collect()
    }
}

/// The status of the group `tree`.
pub(crate) fn of(state: &State, tree: &Tree, deployments: &Deployments, now: Timestamp) -> AppStatus {
    let version = tree.version();
    let mut sum = Inputs {
        version,
        wanted: 0,
        available: 0,
        available_since: None,
        last_change: None,
        rollout: None,
        trouble: None,
    };
    for app in tree.all_apps() {
        let member = status::inputs(
            Spec::App(app),
            &instances(state, &app.id),
            deployments.of(&app.id),
            state.launch_delay(&app.id),
            now,
        );
        sum.absorb(&app.id, capped(member));
    }
    for pod in tree.all_pods() {
        let member = status::inputs(
            Spec::Pod(pod),
            &instances(state, &pod.id),
            deployments.of(&pod.id),
            state.launch_delay(&pod.id),
            now,
        );
        sum.absorb(&pod.id, capped(member));
    }
    // A deployment of several members is one rollout, not one per member.
    let touching = deployments.touching(&tree.id);
    sum.rollout = Rollout::of(&touching);
    let generation = version.millis();
    let observed = touching
        .iter()
        .min_by_key(|d| (d.version, d.id.clone()))
        .map_or(generation, |d| before(state, tree, d).millis());
    status::status(generation, observed, &sum)
}

/// A member counts at most the instances it wants.
fn capped(mut member: Inputs) -> Inputs {
    member.available = member.available.min(member.wanted);
    member
}

fn instances(state: &State, id: &PathId) -> Vec<Arc<Instance>> {
    view::instances_of(state, id).into_iter().map(|(i, _)| i).collect()
}

/// The version the group had before deployment `d`: the newest of its versions, its
/// members' and its kept group versions that are older than `d`, the members `d` changes
/// counted at the versions `d` started from (epoch when `d` created everything).
fn before(state: &State, tree: &Tree, d: &Deployment) -> Timestamp {
    let members = tree
        .all_apps()
        .into_iter()
        .map(|a| a.version_or_epoch())
        .chain(tree.all_pods().into_iter().map(|p| p.version_or_epoch()));
    let originals = d
        .original
        .iter()
        .filter(|(id, _)| id.is_within(&tree.id))
        .filter_map(|(_, a)| a.as_ref().map(|a| a.version_or_epoch()))
        .chain(
            d.original_pods
                .iter()
                .filter(|(id, _)| id.is_within(&tree.id))
                .filter_map(|(_, p)| p.as_ref().map(|p| p.version_or_epoch())),
        );
    let groups = tree
        .all_groups()
        .into_iter()
        .filter_map(|g| g.record.as_ref().map(|r| r.version))
        .chain(view::group_versions(state, &tree.id).into_keys());
    members
        .chain(originals)
        .chain(groups)
        .filter(|v| *v < d.version)
        .max()
        .unwrap_or(Timestamp::from_millis(0))
}
