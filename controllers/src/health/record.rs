//! Writing check results onto the task they belong to. Each write re-reads the instance and is
//! guarded by its revision, so a result for a task that has meanwhile ended, been replaced or
//! been marked for killing is dropped rather than written over newer facts.

use std::sync::Arc;

use schemas::{HealthCheck, Instance, ReadinessResult, Record, TaskRecord, TaskState, Timestamp};
use store::{Op, Precondition, State, WriteRequest, keys};

use super::Probe;
use super::tracker::{self, Outcome};
use crate::context::Context;
use crate::optimistic::{WriteError, write_planned};

/// Records the outcome of health check `index` on the probed task, and marks the task for
/// killing when it failed too often.
pub(super) async fn health(
    ctx: &Context,
    p: &Probe,
    check: &HealthCheck,
    index: usize,
    outcome: Outcome,
) -> Result<(), WriteError> {
    let now = Timestamp::now();
    write_planned(&ctx.store, |state| {
        let (revision, mut inst) = probed_instance(state, p)?;
        let prev = task(&inst).health.checks.iter().find(|r| r.index == index);
        let step = tracker::step(check, index, prev, outcome.clone(), p.started_at, now);
        let result = step.record?;
        let in_flight = step.kill.is_some() && health_kill_in_flight(state, &inst);
        let t = inst.task.as_mut()?;
        let checks = &mut t.health.checks;
        match checks.iter_mut().find(|r| r.index == index) {
            Some(r) => *r = result,
            None => {
                checks.push(result);
                checks.sort_by_key(|r| r.index);
            }
        }
        if let Some(reason) = step.kill {
            // One health kill per app at a time: when a check (or the network to the agent)
            // fails for every task at once, the app must not lose all its instances at once.
            if in_flight {
                tracing::info!(task_id = %p.task_id, "unhealthy, but another instance is being replaced first");
            } else {
                tracing::info!(task_id = %p.task_id, %reason, "killing an unhealthy task");
                t.health.killed_unhealthy = Some(reason);
                inst.kill_requested = true;
            }
        }
        Some((put(p, revision, inst), ()))
    })
    .await
    .map(drop)
}

/// Records a readiness result when it differs from the one on record.
pub(super) async fn readiness(ctx: &Context, p: &Probe, result: ReadinessResult) -> Result<(), WriteError> {
    write_planned(&ctx.store, |state| {
        let (revision, mut inst) = probed_instance(state, p)?;
        let results = &mut inst.task.as_mut()?.health.readiness;
        match results.iter_mut().find(|r| r.name == result.name) {
            Some(r) if *r == result => return None,
            Some(r) => *r = result.clone(),
            None => results.push(result.clone()),
        }
        Some((put(p, revision, inst), ()))
    })
    .await
    .map(drop)
}

/// The probed instance, while its task is still the probed one, running, and not being killed.
fn probed_instance(state: &State, p: &Probe) -> Option<(u64, Instance)> {
    let entry = state.get(&p.instance_key)?;
    let Record::Instance(i) = &entry.record else {
        return None;
    };
    let current = i
        .task
        .as_ref()
        .is_some_and(|t| t.task_id == p.task_id && t.state == TaskState::TASK_RUNNING);
    (current && !i.kill_requested).then(|| (entry.mod_revision, Instance::clone(i)))
}

fn task(i: &Instance) -> &TaskRecord {
    i.task.as_ref().expect("probed instances have a task")
}

/// Whether another instance of the same app is already being killed for its health.
fn health_kill_in_flight(state: &State, inst: &Instance) -> bool {
    state
        .scan(&keys::instances_of(&inst.app_id))
        .any(|(_, e)| match &e.record {
            Record::Instance(other) => {
                other.instance_id != inst.instance_id
                    && other.has_active_task()
                    && other.task.as_ref().is_some_and(|t| t.health.killed_unhealthy.is_some())
            }
            _ => false,
        })
}

fn put(p: &Probe, revision: u64, inst: Instance) -> WriteRequest {
    WriteRequest {
        preconditions: vec![Precondition::ModRevision(p.instance_key.clone(), revision)],
        ops: vec![Op::put(p.instance_key.clone(), Record::Instance(Arc::new(inst)))],
    }
}
