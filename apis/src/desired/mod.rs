//! Turns API requests into atomic writes of desired state: app and pod definitions with their
//! versions, the version history, instance kill flags, and the deployment record that tells
//! the controllers what changed. Nothing here launches or kills anything.
//!
//! Every mutation runs under one async mutex (read, check, write) and its write carries
//! preconditions on every app and instance key it read, so a concurrent writer elsewhere
//! (another server, a controller) makes it retry instead of losing an update.

mod deps;
mod kill;
mod plan;
mod pods;
mod ports;

use std::collections::BTreeMap;
use std::sync::Arc;

use schemas::{
    AppDefinition, DeploymentStep, GroupDefinition, GroupRecord, Instance, PathId, PodDefinition, Timestamp,
};
use store::{State, WriteOutcome, WriteRequest};

use crate::Ctx;
use crate::error::{ApiError, Result};

pub(crate) use kill::{KillMode, Killed, kill, parse_task_id};
pub(crate) use pods::PodChange;
pub(crate) use ports::service_ports;

/// How often a write that lost a race is recomputed before the API gives up with a 503.
const MAX_ATTEMPTS: usize = 16;

/// What one request wants done to one app.
#[derive(Clone, Debug)]
pub(crate) enum Change {
    /// Create the app or update it to this definition (normalised and validated; service
    /// ports may still be 0). `restart` forces a new config version even if nothing changed.
    Put {
        app: Box<AppDefinition>,
        restart: bool,
    },
    Delete,
}

impl Change {
    pub(crate) fn put(app: AppDefinition) -> Change {
        Change::Put {
            app: Box::new(app),
            restart: false,
        }
    }

    pub(crate) fn restart(app: AppDefinition) -> Change {
        Change::Put {
            app: Box::new(app),
            restart: true,
        }
    }
}

/// Everything one request changes, written atomically with one deployment.
#[derive(Clone, Debug, Default)]
pub(crate) struct Mutation {
    pub changes: Vec<(PathId, Change)>,
    /// Pods to create, update or delete in the same deployment (`/v2/pods`, `/v2/groups`).
    pub pods: Vec<PodChange>,
    /// Instances to rewrite (kill flags), each guarded by the revision it was read at.
    pub instances: Vec<InstanceUpdate>,
    /// Deployments this write replaces (a rollback replaces the deployment it reverts).
    pub cancel: Vec<String>,
    /// Group records to write or remove (`/v2/groups`); each write takes the change's version.
    pub groups: Vec<GroupChange>,
    /// The group a `/v2/groups` request changes (events name it), and the tree to keep as
    /// its new version.
    pub group: Option<GroupWrite>,
}

#[derive(Clone, Debug)]
pub(crate) enum GroupChange {
    Put(GroupRecord),
    /// Removes the group's record and its versions.
    Delete(PathId),
}

#[derive(Clone, Debug)]
pub(crate) struct GroupWrite {
    pub id: PathId,
    /// Stored as a version of the group, stamped with the change's version.
    pub snapshot: Option<GroupDefinition>,
}

#[derive(Clone, Debug)]
pub(crate) struct InstanceUpdate {
    pub revision: u64,
    pub instance: Instance,
}

/// The result of a mutation, for the response.
#[derive(Clone, Debug)]
pub(crate) struct Outcome {
    pub deployment_id: String,
    pub version: Timestamp,
    /// The stored definition of each app of the change afterwards (`None`: deleted).
    pub targets: BTreeMap<PathId, Option<Arc<AppDefinition>>>,
    /// The same for each pod of the change.
    pub pod_targets: BTreeMap<PathId, Option<Arc<PodDefinition>>>,
    /// The pods of the change that did not exist before.
    pub created_pods: Vec<PathId>,
    pub steps: Vec<DeploymentStep>,
}

/// Applies the mutation `build` computes from the current state, with a deployment.
/// `build` runs again on the fresh state whenever the write loses a race.
pub(crate) async fn deploy(
    ctx: &Ctx,
    force: bool,
    mut build: impl FnMut(&State) -> Result<Mutation>,
) -> Result<Outcome> {
    let _serialised = ctx.write_lock.lock().await;
    for _ in 0..MAX_ATTEMPTS {
        let now = Timestamp::now();
        let mut apps = Vec::new();
        let mut group = None;
        let planned = ctx.store.read(|s| {
            build(s).and_then(|m| {
                apps = m.changes.iter().map(|(id, _)| id.clone()).collect();
                group = m.group.as_ref().map(|g| g.id.clone());
                plan::plan(s, m, force, now, &ctx.config)
            })
        });
        let planned = planned.inspect_err(|e| {
            // A lone pod's refusal is no group change (`/v2/pods` announces nothing).
            if group.is_some() || !apps.is_empty() {
                ctx.events.change_failed(e, group.as_ref(), &apps, now)
            }
        })?;
        let post = ctx.events.app_post(&planned.outcome.deployment_id);
        match ctx.store.write(planned.request).await? {
            WriteOutcome::Applied { .. } => {
                if let Some(post) = post {
                    post.applied();
                }
                return Ok(planned.outcome);
            }
            WriteOutcome::Conflict { failed } => {
                tracing::debug!(?failed, "write lost a race; recomputing")
            }
        }
    }
    Err(contention())
}

/// The deployment steps the mutation `build` computes would take, without writing anything
/// (`dryRun=true`). Locks are not checked: nothing would be deployed.
pub(crate) fn dry_run(ctx: &Ctx, build: impl FnOnce(&State) -> Result<Mutation>) -> Result<Vec<DeploymentStep>> {
    let now = Timestamp::now();
    ctx.store
        .read(|s| build(s).and_then(|m| plan::plan(s, m, true, now, &ctx.config)))
        .map(|p| p.outcome.steps)
}

/// Rewrites instances without a deployment (kills that keep the instance count).
pub(crate) async fn update_instances<R>(
    ctx: &Ctx,
    mut build: impl FnMut(&State) -> Result<(Vec<InstanceUpdate>, R)>,
) -> Result<R> {
    let _serialised = ctx.write_lock.lock().await;
    for _ in 0..MAX_ATTEMPTS {
        let (updates, result) = ctx.store.read(&mut build)?;
        let mut request = WriteRequest::default();
        for u in updates {
            plan::push_instance(&mut request, u);
        }
        if request.ops.is_empty() {
            return Ok(result);
        }
        match ctx.store.write(request).await? {
            WriteOutcome::Applied { .. } => return Ok(result),
            WriteOutcome::Conflict { failed } => {
                tracing::debug!(?failed, "instance changed meanwhile; retrying")
            }
        }
    }
    Err(contention())
}

fn contention() -> ApiError {
    ApiError::Unavailable("the store kept changing under this request; try again".into())
}
