//! The app reconciler: makes each app's instances match its definition. It writes instance
//! records (create, decommission, expunge), sends kills through the driver, and tells the
//! launch queue what waits for an offer. It never launches by itself: the driver does, on offers.

mod plan;

use std::sync::Arc;
use std::time::Duration;

use schemas::{HealthSpec, Instance, PathId, Record, RunSpec, Timestamp};
use store::{Op, Precondition, WriteRequest, keys};

use crate::backoff;
use crate::context::Context;
use crate::driver::DriverError;
use crate::optimistic::{WriteError, write_planned};
use crate::runtime::Action;

pub(crate) use plan::{Observed, Plan, plan};

/// Even with no change, look again this often (Marathon's periodic scale check).
const RESYNC: Duration = Duration::from_secs(300);

#[derive(Debug, thiserror::Error)]
pub(crate) enum AppError {
    #[error(transparent)]
    Write(#[from] WriteError),
    #[error(transparent)]
    Driver(#[from] DriverError),
}

/// Reconciles one app.
pub(crate) async fn reconcile(ctx: Arc<Context>, app_id: PathId) -> Result<Action, AppError> {
    let now = Timestamp::now();
    let planned = write_planned(&ctx.store, |state| {
        let app = effective_app(state, &app_id);
        let observed: Vec<Observed> = state
            .scan(&keys::instances_of(&app_id))
            .filter_map(|(key, e)| match &e.record {
                Record::Instance(i) => Some(Observed {
                    key: key.to_string(),
                    revision: e.mod_revision,
                    health: health_spec(state, app.as_ref(), i),
                    instance: (**i).clone(),
                }),
                _ => None,
            })
            .collect();
        let delay = state.launch_delay(&app_id);
        let plan = plan(app.as_ref(), observed, now);
        let mut req = write_request(&app_id, &plan);
        if app.is_none() && delay.is_some() {
            req.ops.push(Op::delete(keys::launch_delay(&app_id)));
        }
        let launch_at = app.as_ref().and_then(|a| backoff::ready_at(delay, a, now));
        Some((req, (app, plan, launch_at)))
    })
    .await?;
    let Some((app, plan, launch_at)) = planned else {
        return Ok(Action::await_change());
    };

    // Instances waiting to destroy their reservations need offers too, even of a deleted app.
    let waiting: Vec<String> = plan.launch.iter().chain(&plan.cleanup).cloned().collect();
    match &app {
        Some(_) => {
            // The store keeps wall-clock times; the queue waits on the runtime's clock.
            let not_before = launch_at.map(|at| {
                let wait = (at.millis() - now.millis()).max(0) as u64;
                tokio::time::Instant::now() + Duration::from_millis(wait)
            });
            ctx.queue.set(&app_id, waiting, not_before);
        }
        None if !waiting.is_empty() => ctx.queue.set(&app_id, waiting, None),
        None => ctx.queue.remove(&app_id),
    }

    let grace = app
        .as_ref()
        .and_then(RunSpec::kill_grace_seconds)
        .map(Duration::from_secs_f64);
    for o in &plan.kill {
        if let Some(task) = &o.instance.task {
            ctx.driver.kill(task, grace).await?;
        }
    }

    let mut next = if plan.kill.is_empty() {
        RESYNC
    } else {
        ctx.config.kill_retry
    };
    if let Some(at) = plan.recheck_at {
        next = next.min(Duration::from_millis((at.millis() - now.millis()).max(0) as u64));
    }
    Ok(Action::requeue(next))
}

/// The definition the app is reconciled towards now. An app whose turn in a deployment has
/// not come yet (its first action is in a later step: its dependencies go first) keeps its
/// original definition until then: a new app does not start, a changed one does not restart.
fn effective_app(state: &store::State, id: &PathId) -> Option<RunSpec> {
    for (_, e) in state.scan(keys::DEPLOYMENTS) {
        let Record::Deployment(d) = &e.record else { continue };
        // StartApplication only registers a new app (with no instances, as Marathon's does):
        // its instances come with its scale or restart step.
        let first = d.steps.iter().position(|s| {
            s.actions
                .iter()
                .any(|a| &a.app == id && a.action.as_app_action() != schemas::ActionKind::StartApplication)
        });
        if first.is_some_and(|step| step > d.current_step) {
            let app = d.original.get(id).cloned().flatten().map(RunSpec::App);
            return app.or_else(|| d.original_pods.get(id).cloned().flatten().map(RunSpec::Pod));
        }
    }
    state.run_spec(id)
}

/// What the app version an instance runs expects of it: the current definition for instances
/// of the current config, the stored version for older ones (an upgrade that adds health
/// checks must not make the old instances look unhealthy). A version pruned from the store
/// expects nothing beyond a running task.
fn health_spec(state: &store::State, app: Option<&RunSpec>, i: &Instance) -> HealthSpec {
    match app {
        Some(app) if i.runs_config_of_spec(app) => app.health_spec(),
        Some(RunSpec::Pod(_)) => HealthSpec::default(),
        _ => match state
            .get(&keys::app_version(&i.app_id, i.run_spec_version))
            .map(|e| &e.record)
        {
            Some(Record::AppVersion(v)) => HealthSpec::of(v),
            _ => HealthSpec::default(),
        },
    }
}

fn write_request(app_id: &PathId, plan: &Plan) -> WriteRequest {
    let mut req = WriteRequest::default();
    for i in &plan.create {
        let key = keys::instance(app_id, &i.instance_id);
        req.preconditions.push(Precondition::Absent(key.clone()));
        req.ops.push(Op::put(key, Record::Instance(Arc::new(i.clone()))));
    }
    for o in &plan.decommission {
        let mut i = o.instance.clone();
        i.goal = schemas::Goal::Decommissioned;
        req.preconditions
            .push(Precondition::ModRevision(o.key.clone(), o.revision));
        req.ops.push(Op::put(o.key.clone(), Record::Instance(Arc::new(i))));
    }
    for o in &plan.update {
        req.preconditions
            .push(Precondition::ModRevision(o.key.clone(), o.revision));
        req.ops
            .push(Op::put(o.key.clone(), Record::Instance(Arc::new(o.instance.clone()))));
    }
    for o in &plan.expunge {
        req.preconditions
            .push(Precondition::ModRevision(o.key.clone(), o.revision));
        req.ops.push(Op::delete(o.key.clone()));
    }
    req
}
