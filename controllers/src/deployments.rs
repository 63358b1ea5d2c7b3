//! The deployment reconciler: advances each deployment step by step as its actions complete,
//! and removes the deployment once the last step is done.
//!
//! An action is complete when the store shows its effect (not when a command was sent): the
//! app has exactly its instances of the current config running and healthy, or is gone with
//! every instance. That makes progress survive restarts: it is re-derived, never remembered.

use std::sync::Arc;

use schemas::{ActionKind, Deployment, DeploymentAction, Goal, Record, RunSpec};
use store::{Op, Precondition, State, WriteRequest, keys};

use crate::context::Context;
use crate::optimistic::{WriteError, write_planned};
use crate::runtime::Action;

#[derive(Debug, thiserror::Error)]
pub(crate) enum DeploymentError {
    #[error(transparent)]
    Write(#[from] WriteError),
}

/// Reconciles one deployment.
pub(crate) async fn reconcile(ctx: Arc<Context>, id: String) -> Result<Action, DeploymentError> {
    write_planned(&ctx.store, |state| advance(state, &id).map(|req| (req, ()))).await?;
    Ok(Action::await_change())
}

/// The write that moves deployment `id` past every step already complete, if any is.
fn advance(state: &State, id: &str) -> Option<WriteRequest> {
    let key = keys::deployment(id);
    let entry = state.get(&key)?;
    let Record::Deployment(deployment) = &entry.record else {
        return None;
    };
    let mut step = deployment.current_step;
    while step < deployment.steps.len() && deployment.steps[step].actions.iter().all(|a| action_done(state, a)) {
        step += 1;
    }
    if step == deployment.current_step && step < deployment.steps.len() {
        return None;
    }
    let guard = vec![Precondition::ModRevision(key.clone(), entry.mod_revision)];
    let op = if step >= deployment.steps.len() {
        tracing::info!(deployment = %id, "deployment finished");
        Op::delete(key)
    } else {
        Op::put(
            key,
            Record::Deployment(Arc::new(Deployment {
                current_step: step,
                ..Deployment::clone(deployment)
            })),
        )
    };
    Some(WriteRequest {
        preconditions: guard,
        ops: vec![op],
    })
}

fn action_done(state: &State, action: &DeploymentAction) -> bool {
    let spec = state.run_spec(&action.app);
    match (action.action.as_app_action(), spec) {
        (ActionKind::StartApplication, spec) => spec.is_some(),
        (ActionKind::StopApplication, None) => state.scan(&keys::instances_of(&action.app)).next().is_none(),
        (ActionKind::StopApplication, Some(_)) => false,
        (_, Some(spec)) => converged(state, &spec),
        (_, None) => false,
    }
}

/// True when `spec` runs exactly its instance count, all of its current config, healthy and
/// ready, and no decommissioned instance still has a live task.
pub(crate) fn converged(state: &State, spec: &RunSpec) -> bool {
    let health = spec.health_spec();
    let mut running = 0u32;
    for (_, e) in state.scan(&keys::instances_of(spec.id())) {
        let Record::Instance(i) = &e.record else {
            continue;
        };
        match i.goal {
            Goal::Decommissioned | Goal::Stopped if i.has_active_task() => return false,
            Goal::Decommissioned | Goal::Stopped => {}
            Goal::Running => {
                if !i.runs_config_of_spec(spec) || !i.counts_as_healthy(&health) {
                    return false;
                }
                running += 1;
            }
        }
    }
    running == spec.instances()
}
