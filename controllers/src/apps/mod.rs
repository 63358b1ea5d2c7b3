//! The app reconciler: makes each app's instances match its definition. It writes instance
//! records (create, decommission, expunge), sends kills through the driver, and tells the
//! launch queue what waits for an offer. It never launches by itself: the driver does, on offers.

mod plan;

use std::sync::Arc;
use std::time::Duration;

use schemas::{PathId, Record, Timestamp};
use store::{Op, Precondition, WriteRequest, keys};

use crate::context::Context;
use crate::driver::DriverError;
use crate::optimistic::{WriteError, write_planned};
use crate::runtime::Action;

pub(crate) use plan::{Observed, Plan, is_healthy, plan};

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
        let app = state.app(&app_id).cloned();
        let observed: Vec<Observed> = state
            .scan(&keys::instances_of(&app_id))
            .filter_map(|(key, e)| match &e.record {
                Record::Instance(i) => Some(Observed {
                    key: key.to_string(),
                    revision: e.mod_revision,
                    instance: (**i).clone(),
                }),
                _ => None,
            })
            .collect();
        let plan = plan(app.as_deref(), observed, now);
        Some((write_request(&app_id, &plan), (app, plan)))
    })
    .await?;
    let Some((app, plan)) = planned else {
        return Ok(Action::await_change());
    };

    match &app {
        Some(app) => {
            let not_before = ctx.backoff.lock().ready_at(app);
            ctx.queue.set(&app_id, plan.launch.clone(), not_before);
        }
        None => {
            ctx.queue.remove(&app_id);
            ctx.backoff.lock().reset(&app_id);
        }
    }

    let grace = app
        .as_ref()
        .and_then(|a| a.task_kill_grace_period_seconds)
        .map(|s| Duration::from_secs(s.into()));
    for o in &plan.kill {
        if let Some(task) = &o.instance.task {
            ctx.driver.kill(task, grace).await?;
        }
    }

    Ok(if plan.kill.is_empty() {
        Action::requeue(RESYNC)
    } else {
        Action::requeue(ctx.config.kill_retry)
    })
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
    for o in &plan.expunge {
        req.preconditions
            .push(Precondition::ModRevision(o.key.clone(), o.revision));
        req.ops.push(Op::delete(o.key.clone()));
    }
    req
}
