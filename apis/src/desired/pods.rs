//! The pod half of a [`Mutation`](super::Mutation)'s write: each pod's definition with its
//! version and versionInfo, its version history, and its deployment steps. `/v2/pods` and
//! `/v2/groups` both come through here (`crate::pods::deploy` is a one-pod mutation), so a
//! pod written in a group is versioned, locked and deployed exactly like one written alone.

use std::collections::HashSet;
use std::sync::Arc;

use schemas::{DeploymentStep, PathId, PodDefinition, Record, Timestamp, VersionInfo, pod_change_steps};
use store::{Op, Precondition, State, WriteRequest, keys};

use crate::error::{ApiError, Detail, Result};
use crate::view;

/// What one request wants done to one pod.
#[derive(Clone, Debug)]
pub(crate) struct PodChange {
    pub id: PathId,
    /// The new definition (normalised and validated); `None` deletes the pod.
    pub target: Option<PodDefinition>,
}

/// One pod of a change, as read from the state it is planned against.
pub(super) struct PodStep {
    pub id: PathId,
    pub old: Option<Arc<PodDefinition>>,
    pub target: Option<PodDefinition>,
}

impl PodStep {
    /// Whether the pod's spec changes (or it comes or goes).
    pub(super) fn changes(&self) -> bool {
        match (self.old.as_deref(), self.target.as_ref()) {
            (Some(old), Some(new)) => !old.same_spec(&with_id(new, &self.id)),
            (None, None) => false,
            _ => true,
        }
    }
}

fn with_id(pod: &PodDefinition, id: &PathId) -> PodDefinition {
    let mut pod = pod.clone();
    pod.id = id.clone();
    pod
}

/// Reads each pod's current definition, guards the write by it, and checks that a new pod's
/// id is free (`changing`: every app and pod id of the mutation).
pub(super) fn classify(
    state: &State,
    req: &mut WriteRequest,
    changes: Vec<PodChange>,
    changing: &HashSet<&PathId>,
) -> Result<Vec<PodStep>> {
    let mut steps = Vec::with_capacity(changes.len());
    for PodChange { id, target } in changes {
        let key = keys::pod(&id);
        let old = state.get(&key).and_then(|e| match &e.record {
            Record::Pod(p) => Some((p.clone(), e.mod_revision)),
            _ => None,
        });
        req.preconditions.push(match &old {
            Some((_, rev)) => Precondition::ModRevision(key.clone(), *rev),
            None => Precondition::Absent(key.clone()),
        });
        if old.is_none() {
            if target.is_none() {
                return Err(crate::pods::not_found(&id));
            }
            check_free(state, &id, changing)?;
            // An app created meanwhile must make this write fail, not share the id.
            req.preconditions.push(Precondition::Absent(keys::app(&id)));
        }
        steps.push(PodStep {
            id,
            old: old.map(|(p, _)| p),
            target,
        });
    }
    Ok(steps)
}

/// A new pod's id may be neither an app's nor a group's, nor lie below an app or pod (stored,
/// or written by the same change).
fn check_free(state: &State, id: &PathId, changing: &HashSet<&PathId>) -> Result<()> {
    if state.app(id).is_some() {
        return Err(ApiError::Conflict(format!("An app with id [{id}] already exists.")));
    }
    let mut ancestor = id.parent();
    let mut clash = is_group(state, id);
    while !ancestor.is_root() && !clash {
        clash = state.app(&ancestor).is_some() || state.pod(&ancestor).is_some() || changing.contains(&ancestor);
        ancestor = ancestor.parent();
    }
    if clash {
        return Err(ApiError::Invalid(vec![Detail::new(
            "/id",
            format!("Groups and Pods may not have the same identifier: {id}"),
        )]));
    }
    Ok(())
}

/// Whether `id` (not the root) is a group: explicit, or implied by apps or pods below it.
pub(super) fn is_group(state: &State, id: &PathId) -> bool {
    !id.is_root() && view::is_group(state, id)
}

/// Writes the pod's new definition and history at `version`; returns what is stored
/// afterwards and the pod's deployment steps.
pub(super) fn write(
    state: &State,
    req: &mut WriteRequest,
    step: PodStep,
    version: Timestamp,
    max_versions: usize,
) -> (Option<Arc<PodDefinition>>, Vec<DeploymentStep>) {
    let PodStep { id, old, target } = step;
    let key = keys::pod(&id);
    let versions = view::pod_versions(state, &id);
    let stored = match target {
        None => {
            if old.is_some() {
                req.ops.push(Op::delete(key.clone()));
            }
            for (k, _) in versions.values() {
                req.ops.push(Op::delete(k.clone()));
            }
            None
        }
        Some(mut pod) => {
            pod.id = id.clone();
            match old.as_deref() {
                Some(cur) if cur.same_spec(&pod) => old.clone(),
                cur => {
                    let last_config_change_at = match cur {
                        Some(cur) if !cur.config_changed(&pod) => cur.config_version(),
                        // Back to a config an earlier version had (a rollback): it keeps that
                        // config's identity, so instances still running it stay.
                        Some(_) => versions
                            .values()
                            .rev()
                            .map(|(_, v)| v)
                            .find(|v| !v.config_changed(&pod))
                            .map_or(version, |v| v.config_version()),
                        None => version,
                    };
                    pod.version = Some(version);
                    pod.version_info = Some(VersionInfo {
                        last_scaling_at: version,
                        last_config_change_at,
                    });
                    let pod = Arc::new(pod);
                    req.ops.push(Op::put(key, Record::Pod(pod.clone())));
                    req.ops.push(Op::put(
                        keys::pod_version(&id, version),
                        Record::PodVersion(pod.clone()),
                    ));
                    let excess = (versions.len() + 1).saturating_sub(max_versions.max(1));
                    for (k, _) in versions.values().take(excess) {
                        req.ops.push(Op::delete(k.clone()));
                    }
                    Some(pod)
                }
            }
        }
    };
    let steps = pod_change_steps(old.as_deref(), stored.as_deref());
    (stored, steps)
}
