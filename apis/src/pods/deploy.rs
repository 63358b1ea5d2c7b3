//! The atomic write of one pod change: a one-pod [`Mutation`] through `crate::desired`, which
//! writes pods for `/v2/pods` and `/v2/groups` alike (definition, version and versionInfo,
//! history, locking, `force`, the guards on everything read, and the deployment with pod
//! actions).

use std::sync::Arc;

use schemas::{PathId, PodDefinition, Timestamp};
use store::State;

use crate::Ctx;
use crate::desired::{self, Mutation};
use crate::error::Result;

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
    let mut id = PathId::root();
    let outcome = desired::deploy(ctx, force, |s| {
        let change = build(s)?;
        id = change.id.clone();
        Ok(Mutation {
            pods: vec![desired::PodChange {
                id: change.id,
                target: change.target,
            }],
            cancel: change.cancel,
            ..Mutation::default()
        })
    })
    .await?;
    Ok(PodOutcome {
        stored: outcome.pod_targets.get(&id).cloned().flatten(),
        created: outcome.created_pods.contains(&id),
        deployment_id: outcome.deployment_id,
        version: outcome.version,
    })
}
