//! The atomic write of a pod change: the pod's definition with its version and versionInfo,
//! its version history, kill flags of its instances, and the deployment (pod actions) that
//! tells the controllers what changed. Locking, `force` and the guards on everything read are
//! those of app changes (`crate::desired`).

use std::collections::BTreeMap;
use std::sync::Arc;

use schemas::{Deployment, PathId, PodDefinition, Record, Timestamp, VersionInfo, pod_change_steps};
use store::{Op, Precondition, State, WriteOutcome, WriteRequest, keys};

use crate::Ctx;
use crate::error::{ApiError, Detail, Result};
use crate::view;

/// How often a write that lost a race is recomputed before the API gives up with a 503.
const MAX_ATTEMPTS: usize = 16;

/// What one request wants done to one pod.
#[derive(Clone, Debug)]
pub(crate) struct PodChange {
    pub id: PathId,
    /// The new definition (normalised and validated); `None` deletes the pod.
    pub target: Option<PodDefinition>,
    /// Deployments this write replaces (a rollback replaces the deployment it reverts).
    pub cancel: Vec<String>,
}

/// The result of a pod change, for the response.
#[derive(Clone, Debug)]
pub(crate) struct PodOutcome {
    pub deployment_id: String,
    pub version: Timestamp,
    /// The stored pod afterwards (`None`: deleted).
    pub stored: Option<Arc<PodDefinition>>,
    /// True when the pod did not exist before.
    pub created: bool,
}

/// Applies the change `build` computes from the current state, with a deployment; `build`
/// runs again on the fresh state whenever the write loses a race.
pub(crate) async fn deploy(
    ctx: &Ctx,
    force: bool,
    mut build: impl FnMut(&State) -> Result<PodChange>,
) -> Result<PodOutcome> {
    let _serialised = ctx.write_lock.lock().await;
    for _ in 0..MAX_ATTEMPTS {
        let now = Timestamp::now();
        let planned = ctx
            .store
            .read(|s| build(s).and_then(|c| plan(s, c, force, now, ctx.config.max_versions)))?;
        match ctx.store.write(planned.0).await? {
            WriteOutcome::Applied { .. } => return Ok(planned.1),
            WriteOutcome::Conflict { failed } => tracing::debug!(?failed, "pod write lost a race; recomputing"),
        }
    }
    Err(ApiError::Unavailable(
        "the store kept changing under this request; try again".into(),
    ))
}

/// The pod's new definition, history and deployment as one guarded write.
pub(crate) fn plan(
    state: &State,
    change: PodChange,
    force: bool,
    now: Timestamp,
    max_versions: usize,
) -> Result<(WriteRequest, PodOutcome)> {
    let PodChange { id, target, cancel } = change;
    let mut req = WriteRequest::default();
    let key = keys::pod(&id);
    let old = state.get(&key).and_then(|e| match &e.record {
        Record::Pod(p) => Some((p.clone(), e.mod_revision)),
        _ => None,
    });
    req.preconditions.push(match &old {
        Some((_, rev)) => Precondition::ModRevision(key.clone(), *rev),
        None => Precondition::Absent(key.clone()),
    });
    let old = old.map(|(p, _)| p);
    if old.is_none() {
        if target.is_none() {
            return Err(super::not_found(&id));
        }
        check_free(state, &id)?;
        // An app created meanwhile must make this write fail, not share the id.
        req.preconditions.push(Precondition::Absent(keys::app(&id)));
    }

    let locks: Vec<Arc<Deployment>> = {
        let mut d: Vec<_> = view::deployments(state)
            .into_iter()
            .filter(|d| !d.steps.is_empty() && !cancel.contains(&d.id))
            .filter(|d| d.affected_pods.contains(&id) || d.affected_apps.contains(&id))
            .collect();
        d.sort_by(|a, b| (a.version, &a.id).cmp(&(b.version, &b.id)));
        d
    };
    if !locks.is_empty() && !force {
        return Err(ApiError::Locked(locks.iter().map(|d| d.id.clone()).collect()));
    }
    for d in locks.iter().map(|d| &d.id).chain(&cancel) {
        req.ops.push(Op::delete(keys::deployment(d)));
    }

    let versions = view::pod_versions(state, &id);
    let version = old
        .as_ref()
        .map(|p| p.version_or_epoch())
        .unwrap_or(Timestamp::from_millis(0))
        .next_after(now);
    let stored = match target {
        None => {
            req.ops.push(Op::delete(key.clone()));
            for (k, _) in versions.values() {
                req.ops.push(Op::delete(k.clone()));
            }
            None
        }
        Some(mut pod) => {
            pod.id = id.clone();
            match old.as_deref() {
                Some(cur) if cur.same_spec(&pod) => Some(cur.clone()),
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
                    Some(pod)
                }
            }
        }
    };
    let stored = stored.map(Arc::new);
    if let Some(pod) = stored.as_ref().filter(|p| p.version == Some(version)) {
        req.ops.push(Op::put(key.clone(), Record::Pod(pod.clone())));
        req.ops.push(Op::put(
            keys::pod_version(&id, version),
            Record::PodVersion(pod.clone()),
        ));
        let excess = (versions.len() + 1).saturating_sub(max_versions.max(1));
        for (k, _) in versions.values().take(excess) {
            req.ops.push(Op::delete(k.clone()));
        }
    }

    let steps = pod_change_steps(old.as_deref(), stored.as_deref());
    let deployment = Deployment {
        id: uuid::Uuid::new_v4().to_string(),
        version,
        affected_apps: vec![],
        steps,
        current_step: 0,
        original: BTreeMap::new(),
        target: BTreeMap::new(),
        group: None,
        affected_pods: vec![id.clone()],
        original_pods: BTreeMap::from([(id.clone(), old.clone())]),
        target_pods: BTreeMap::from([(id.clone(), stored.clone())]),
    };
    let outcome = PodOutcome {
        deployment_id: deployment.id.clone(),
        version,
        stored,
        created: old.is_none(),
    };
    req.ops.push(Op::put(
        keys::deployment(&deployment.id),
        Record::Deployment(Arc::new(deployment)),
    ));
    Ok((req, outcome))
}

/// A new pod's id may be neither an app's nor a group's, nor lie below an app or pod.
fn check_free(state: &State, id: &PathId) -> Result<()> {
    if state.app(id).is_some() {
        return Err(ApiError::Conflict(format!("An app with id [{id}] already exists.")));
    }
    let mut ancestor = id.parent();
    let mut clash = view::is_group(state, id) && !id.is_root();
    while !ancestor.is_root() && !clash {
        clash = state.app(&ancestor).is_some() || state.pod(&ancestor).is_some();
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
