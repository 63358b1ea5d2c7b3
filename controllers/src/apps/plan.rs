//! What one app needs done, decided from its definition and its instances alone: which
//! instances to create, decommission, expunge and kill, and which wait for a launch.
//!
//! Level-triggered: the plan depends only on the state handed in, so running it again on the
//! state it produced changes nothing. Rolling restarts follow Marathon's upgrade arithmetic
//! (`schemas::restart_strategy`), re-evaluated on every pass.

use std::cmp::Reverse;

use schemas::{
    Goal, HealthSpec, Instance, KillSelection, RunSpec, TaskState, Timestamp, UnreachableStrategy, restart_strategy,
};

/// An instance as read from the store, with the revision that guards writing it back and
/// what its app version expects before it counts as healthy.
#[derive(Clone, Debug)]
pub(crate) struct Observed {
    pub key: String,
    pub revision: u64,
    pub instance: Instance,
    pub health: HealthSpec,
}

impl Observed {
    pub(super) fn is_healthy(&self) -> bool {
        self.instance.counts_as_healthy(&self.health)
    }
}

#[derive(Debug, Default)]
pub(crate) struct Plan {
    /// New instances to record (they then wait for a launch).
    pub create: Vec<Instance>,
    /// Instances whose goal becomes Decommissioned.
    pub decommission: Vec<Observed>,
    /// Instances to forget: decommissioned and without a live task.
    pub expunge: Vec<Observed>,
    /// Instances whose live task must be killed now.
    pub kill: Vec<Observed>,
    /// Instance ids that wait for an offer, oldest first.
    pub launch: Vec<String>,
    /// Instances to write back as they are here (a resident instance stopped, resumed,
    /// restarted in place, or its failed reservation forgotten).
    pub update: Vec<Observed>,
    /// Decommissioned resident instance ids that wait for an offer of their agent to destroy
    /// their volumes and unreserve their resources; they are forgotten then.
    pub cleanup: Vec<String>,
    /// When an unreachable task's timeout next runs out: plan again then.
    pub recheck_at: Option<Timestamp>,
}

/// How long a task has been unreachable, if it is.
fn unreachable_for(i: &Instance, now: Timestamp) -> Option<u64> {
    let t = i.task.as_ref().filter(|t| t.state == TaskState::TASK_UNREACHABLE)?;
    Some((now.millis() - t.updated_at.millis()).max(0) as u64 / 1000)
}

/// Marathon's `unreachableStrategy` as deadlines: `(inactive after, expunge after)` seconds.
fn unreachable_timeouts(strategy: UnreachableStrategy) -> Option<(u64, u64)> {
    match strategy {
        UnreachableStrategy::Enabled {
            inactive_after_seconds,
            expunge_after_seconds,
        } => Some((inactive_after_seconds, expunge_after_seconds)),
        UnreachableStrategy::Disabled(_) => None,
    }
}

/// Plans `app` (None: the app was deleted) over its `instances`.
pub(crate) fn plan(app: Option<&RunSpec>, instances: Vec<Observed>, now: Timestamp) -> Plan {
    let mut plan = Plan::default();
    let timeouts = unreachable_timeouts(app.map_or_else(Default::default, |a| a.unreachable_strategy()));
    // A task on an agent that went away: after `expungeAfterSeconds` it is forgotten (should
    // it come back, Pacer kills it as unknown); until then it is waited for.
    let forgettable = |o: &Observed, plan: &mut Plan| match (unreachable_for(&o.instance, now), timeouts) {
        (None, _) if o.instance.has_active_task() => false,
        (None, _) if o.instance.holds_reservation(now) => {
            plan.cleanup.push(o.instance.instance_id.clone());
            if let Some(at) = o.instance.reservation.as_ref().and_then(|r| r.deadline()) {
                plan.wake_at_time(at);
            }
            false
        }
        (None, _) => true,
        (Some(_), None) => false,
        (Some(secs), Some((_, expunge))) if secs >= expunge => true,
        (Some(secs), Some((_, expunge))) => {
            plan.wake_at(now, expunge - secs);
            false
        }
    };
    let Some(app) = app else {
        for o in instances {
            if o.instance.has_active_task() {
                plan.kill.push(o.clone());
            }
            if o.instance.goal != Goal::Decommissioned {
                plan.decommission.push(o);
            } else if forgettable(&o, &mut plan) {
                plan.expunge.push(o);
            }
        }
        return plan;
    };

    let (gone, mut active): (Vec<_>, Vec<_>) = instances
        .into_iter()
        .partition(|o| o.instance.goal == Goal::Decommissioned);
    for o in gone {
        if forgettable(&o, &mut plan) {
            plan.expunge.push(o);
        } else if o.instance.has_active_task() {
            plan.kill.push(o);
        }
    }
    if app.as_app().is_some_and(|a| a.is_resident()) {
        resident::plan(app, active, &mut plan, now);
        return plan;
    }
    // After `inactiveAfterSeconds` an unreachable instance is replaced: it is decommissioned
    // (and killed, should its agent return) and the count below brings a new one.
    if let Some((inactive, _)) = timeouts {
        let (lost, reachable): (Vec<_>, Vec<_>) = active
            .into_iter()
            .partition(|o| unreachable_for(&o.instance, now).is_some_and(|secs| secs >= inactive));
        for o in &reachable {
            if let Some(secs) = unreachable_for(&o.instance, now) {
                plan.wake_at(now, inactive - secs);
            }
        }
        for o in lost {
            plan.kill.push(o.clone());
            plan.decommission.push(o);
        }
        active = reachable;
    }

    let n = app.instances() as usize;
    let (old, new): (Vec<_>, Vec<_>) = active.drain(..).partition(|o| !o.instance.runs_config_of_spec(app));
    let mut keep: Vec<Observed> = new;

    if old.is_empty() {
        if keep.len() > n {
            sort_for_kill(&mut keep, app.kill_selection());
            let excess = keep.len() - n;
            plan.decommission.extend(keep.drain(..excess));
        }
        for _ in keep.len()..n {
            plan.create.push(Instance::of(app, now));
        }
    } else {
        let healthy = old.iter().chain(&keep).filter(|o| o.is_healthy()).count() as u32;
        // New instances count towards "too many" only once healthy: ones still starting are
        // what the restart is waiting for, not extras.
        let current = (old.len() + keep.iter().filter(|o| o.is_healthy()).count()) as u32;
        let strategy = restart_strategy(app.instances(), app.upgrade_strategy(), healthy, current, false);
        // Old instances that are not healthy add nothing to capacity: replace them at once.
        // Healthy ones go as far as the minimum health capacity allows.
        let (mut old_healthy, old_unhealthy): (Vec<_>, Vec<_>) = old.into_iter().partition(|o| o.is_healthy());
        sort_for_kill(&mut old_healthy, app.kill_selection());
        let kill_healthy = (strategy.kill_immediately as usize).min(old_healthy.len());
        plan.decommission.extend(old_unhealthy);
        plan.decommission.extend(old_healthy.drain(..kill_healthy));
        let remaining_old = old_healthy.len();
        let room = (strategy.max_capacity as usize).saturating_sub(remaining_old + keep.len());
        for _ in 0..n.saturating_sub(keep.len()).min(room) {
            plan.create.push(Instance::of(app, now));
        }
    }

    for o in &plan.decommission {
        let queued = plan.kill.iter().any(|k| k.key == o.key);
        if o.instance.has_active_task() && !queued {
            plan.kill.push(o.clone());
        }
    }
    for o in keep
        .iter()
        .filter(|o| o.instance.kill_requested && o.instance.has_active_task())
    {
        plan.kill.push(o.clone());
    }
    let mut waiting: Vec<&Instance> = keep
        .iter()
        .map(|o| &o.instance)
        .filter(|i| !i.has_active_task())
        .collect();
    waiting.extend(plan.create.iter());
    waiting.sort_by_key(|i| i.created_at);
    plan.launch = waiting.into_iter().map(|i| i.instance_id.clone()).collect();
    plan
}

impl Plan {
    /// Asks for another pass `secs` seconds after `now` (the soonest such request wins).
    fn wake_at(&mut self, now: Timestamp, secs: u64) {
        self.wake_at_time(Timestamp::from_millis(now.millis() + (secs as i64) * 1000));
    }

    pub(super) fn wake_at_time(&mut self, at: Timestamp) {
        self.recheck_at = Some(self.recheck_at.map_or(at, |t| t.min(at)));
    }
}

/// Orders instances so that the first are the ones to kill when scaling down (Marathon's
/// `ScalingProposition`): not launched, then by state (unreachable, staging, starting,
/// running), then youngest or oldest first as the app says.
pub(super) fn sort_for_kill(instances: &mut [Observed], selection: KillSelection) {
    fn rank(i: &Instance) -> u8 {
        match i.state() {
            None => 0,
            Some(s) if s.is_terminal() => 0,
            Some(TaskState::TASK_UNREACHABLE) => 1,
            Some(TaskState::TASK_PROVISIONED | TaskState::TASK_STAGING) => 2,
            Some(TaskState::TASK_STARTING) => 3,
            Some(TaskState::TASK_RUNNING) => 4,
            Some(_) => 5,
        }
    }
    fn age(i: &Instance) -> Timestamp {
        i.task
            .as_ref()
            .map(|t| t.started_at.unwrap_or(t.staged_at))
            .unwrap_or(i.created_at)
    }
    match selection {
        KillSelection::YoungestFirst => instances.sort_by_key(|o| (rank(&o.instance), Reverse(age(&o.instance)))),
        KillSelection::OldestFirst => instances.sort_by_key(|o| (rank(&o.instance), age(&o.instance))),
    }
}

mod resident;
#[cfg(test)]
mod tests;
