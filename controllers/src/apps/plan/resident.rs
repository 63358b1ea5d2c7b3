//! The plan of a resident app (one with persistent volumes), whose instances are pinned to
//! their reservations, as Marathon runs them:
//!
//! - a task that ends is relaunched on the same reservation and volumes;
//! - scaling down stops instances (goal `Stopped`: the task is killed, the reservation and the
//!   data stay) and scaling up resumes stopped instances before creating new ones; only app
//!   deletion and `wipe=true` decommission an instance and destroy its volumes;
//! - an upgrade restarts instances in place (kill, then relaunch on the same reservation with
//!   the new config), never more at once than the upgrade strategy allows, since no instance
//!   can be added beside them;
//! - a reservation that never showed up in an offer in time failed, and is asked for again.

use schemas::{Goal, RunSpec, Timestamp, restart_strategy};

use super::{Observed, Plan, sort_for_kill};

/// Plans the instances of resident `app` that are not decommissioned.
pub(super) fn plan(app: &RunSpec, active: Vec<Observed>, plan: &mut Plan, now: Timestamp) {
    let n = app.instances() as usize;
    // Working copies: those that change are written back.
    let mut all: Vec<(Observed, bool)> = active.into_iter().map(|o| (o, false)).collect();

    for (o, changed) in &mut all {
        let Some(r) = &o.instance.reservation else { continue };
        if !o.instance.has_active_task() && r.timed_out(now) {
            o.instance.reservation = None;
            *changed = true;
        } else if let Some(at) = r.deadline() {
            plan.wake_at_time(at);
        }
    }

    let mut running: Vec<usize> = (0..all.len())
        .filter(|&i| all[i].0.instance.goal == Goal::Running)
        .collect();
    if running.len() > n {
        let mut by_kill_order: Vec<Observed> = running.iter().map(|&i| all[i].0.clone()).collect();
        sort_for_kill(&mut by_kill_order, app.kill_selection());
        let excess: Vec<String> = by_kill_order[..running.len() - n]
            .iter()
            .map(|o| o.key.clone())
            .collect();
        for (o, changed) in all.iter_mut().filter(|(o, _)| excess.contains(&o.key)) {
            // Nothing to keep without a reservation: such an instance simply goes.
            o.instance.goal = if o.instance.reservation.is_some() {
                Goal::Stopped
            } else {
                Goal::Decommissioned
            };
            *changed = true;
        }
        running.retain(|&i| all[i].0.instance.goal == Goal::Running);
    } else if running.len() < n {
        let mut stopped: Vec<usize> = (0..all.len())
            .filter(|&i| all[i].0.instance.goal == Goal::Stopped && !all[i].0.instance.has_active_task())
            .collect();
        stopped.sort_by_key(|&i| all[i].0.instance.created_at);
        for i in stopped.into_iter().take(n - running.len()) {
            all[i].0.instance.goal = Goal::Running;
            all[i].1 = true;
            running.push(i);
        }
        for _ in running.len()..n {
            plan.create.push(schemas::Instance::of(app, now));
        }
    }

    restart_in_place(app, &mut all, &running);

    let mut waiting: Vec<(Timestamp, String)> = plan
        .create
        .iter()
        .map(|i| (i.created_at, i.instance_id.clone()))
        .collect();
    for (o, changed) in all {
        let i = &o.instance;
        let active = i.has_active_task();
        match i.goal {
            Goal::Decommissioned => {
                if active {
                    plan.kill.push(o.clone());
                }
                if changed {
                    plan.decommission.push(o);
                }
                continue;
            }
            Goal::Stopped if active => plan.kill.push(o.clone()),
            Goal::Running if active && i.kill_requested => plan.kill.push(o.clone()),
            Goal::Running if !active => waiting.push((i.created_at, i.instance_id.clone())),
            _ => {}
        }
        if changed {
            plan.update.push(o);
        }
    }
    waiting.sort();
    plan.launch = waiting.into_iter().map(|(_, id)| id).collect();
}

/// Kills running instances of an older config so that they relaunch on their reservations
/// with the current one: unhealthy ones at once, healthy ones as far as the minimum health
/// capacity allows (Marathon's restart arithmetic for resident apps).
fn restart_in_place(app: &RunSpec, all: &mut [(Observed, bool)], running: &[usize]) {
    let old: Vec<usize> = running
        .iter()
        .copied()
        .filter(|&i| {
            let inst = &all[i].0.instance;
            !inst.runs_config_of_spec(app) && inst.has_active_task() && !inst.kill_requested
        })
        .collect();
    if old.is_empty() {
        return;
    }
    let healthy = running
        .iter()
        .filter(|&&i| all[i].0.is_healthy() && !all[i].0.instance.kill_requested)
        .count() as u32;
    let current = running.iter().filter(|&&i| all[i].0.instance.has_active_task()).count() as u32;
    let strategy = restart_strategy(app.instances(), app.upgrade_strategy(), healthy, current, true);
    let (healthy_old, unhealthy_old): (Vec<usize>, Vec<usize>) = old.into_iter().partition(|&i| all[i].0.is_healthy());
    let mut by_kill_order: Vec<Observed> = healthy_old.iter().map(|&i| all[i].0.clone()).collect();
    sort_for_kill(&mut by_kill_order, app.kill_selection());
    let chosen: Vec<String> = by_kill_order
        .iter()
        .take(strategy.kill_immediately as usize)
        .map(|o| o.key.clone())
        .collect();
    for i in unhealthy_old {
        all[i].0.instance.kill_requested = true;
        all[i].1 = true;
    }
    for (o, changed) in all.iter_mut().filter(|(o, _)| chosen.contains(&o.key)) {
        o.instance.kill_requested = true;
        *changed = true;
    }
}
