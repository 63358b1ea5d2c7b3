//! Status updates: record them in the instances durably, with the launch backoff they move,
//! kill tasks we do not know, and only then acknowledge them to Mesos.

use std::collections::HashMap;
use std::sync::Arc;

use mesos::v1::TaskStatus;
use mesos::v1::scheduler::{Call, call};
use mesos::v1::task_status::Reason;
use schemas::{Instance, LaunchDelay, PathId, Record, TaskRecord, Timestamp};
use store::{Op, Precondition, WriteRequest, keys};

use super::status::{Applied, app_id_of_instance, apply_status, instance_id_of_task, task_state};
use super::{DriverError, Session};
use crate::backoff;
use crate::optimistic::write_planned;

/// What the recorded batch means beyond the store.
#[derive(Default)]
struct Effects {
    terminal: Vec<String>,
    unknown: Vec<TaskStatus>,
}

impl Session {
    pub(super) async fn updates(&mut self, statuses: Vec<TaskStatus>) -> Result<(), DriverError> {
        // A task back with an agent that went away got none of the kills sent meanwhile (the
        // master answered them for it): the next kill must go out at once, not after the retry.
        for status in &statuses {
            if status.reason == Some(Reason::AgentReregistered as i32) {
                self.ctx.driver.forget_kill(&status.task_id.value);
            }
        }
        let effects = write_planned(&self.ctx.store, |state| plan_updates(state, &statuses))
            .await?
            .unwrap_or_default();
        for task_id in &effects.terminal {
            self.ctx.driver.forget_kill(task_id);
        }
        for status in effects.unknown {
            // Marathon kills running tasks it has no instance for: they were launched by a
            // previous incarnation of this instance, or before a lost write.
            let task = TaskRecord {
                task_id: status.task_id.value.clone(),
                agent_id: status.agent_id.map(|a| a.value).unwrap_or_default(),
                host: String::new(),
                ports: vec![],
                state: task_state(status.state),
                staged_at: Timestamp::now(),
                started_at: None,
                updated_at: Timestamp::now(),
                message: None,
                health: Default::default(),
                containers: vec![],
            };
            tracing::info!(task_id = %task.task_id, "killing a task no instance owns");
            self.ctx.driver.kill(&task, None).await?;
        }
        // Acknowledge only what is durably recorded, and only updates that carry a uuid.
        for status in statuses {
            let (Some(uuid), Some(agent_id)) = (status.uuid, status.agent_id) else {
                continue;
            };
            let ack = call::Acknowledge {
                agent_id,
                task_id: status.task_id,
                uuid,
            };
            let call = Call {
                r#type: Some(call::Type::Acknowledge as i32),
                acknowledge: Some(ack),
                ..Default::default()
            };
            self.caller.call(call).await?;
        }
        Ok(())
    }
}

fn plan_updates(state: &store::State, statuses: &[TaskStatus]) -> Option<(WriteRequest, Effects)> {
    let now = Timestamp::now();
    let mut changed: HashMap<String, (u64, Instance)> = HashMap::new();
    let mut effects = Effects::default();
    let mut delays: HashMap<PathId, LaunchDelay> = HashMap::new();
    for status in statuses {
        let task_id = &status.task_id.value;
        let key = instance_id_of_task(task_id)
            .and_then(|iid| app_id_of_instance(iid).map(|app| (keys::instance(&app, iid), app)));
        let found = key.as_ref().and_then(|(key, app)| {
            if let Some((_, inst)) = changed.get(key) {
                return Some((key.clone(), app.clone(), None, inst.clone()));
            }
            let entry = state.get(key)?;
            match &entry.record {
                Record::Instance(i) => Some((key.clone(), app.clone(), Some(entry.mod_revision), Instance::clone(i))),
                _ => None,
            }
        });
        let state_now = task_state(status.state);
        let Some((key, app_id, revision, mut instance)) = found else {
            if !state_now.is_terminal() {
                effects.unknown.push(status.clone());
            }
            continue;
        };
        match apply_status(&mut instance, status, now) {
            Applied::Stale => {
                if !state_now.is_terminal() {
                    effects.unknown.push(status.clone());
                }
            }
            Applied::Unchanged => {}
            Applied::Changed { became_running, failed } => {
                // Launch backoff moves in the same write as the update that moved it.
                if let Some(app) = state.run_spec(&app_id) {
                    let prev = delays.get(&app_id).or_else(|| state.launch_delay(&app_id));
                    let next = if failed && instance.goal == schemas::Goal::Running {
                        Some(backoff::after_failure(prev, &app, now))
                    } else if became_running {
                        backoff::advanced(prev, &app, now)
                    } else {
                        None
                    };
                    if let Some(d) = next {
                        delays.insert(app_id.clone(), d);
                    }
                }
                if state_now.is_terminal() {
                    effects.terminal.push(task_id.clone());
                }
                let revision = match changed.get(&key) {
                    Some((rev, _)) => *rev,
                    None => revision.unwrap_or_default(),
                };
                changed.insert(key, (revision, instance));
            }
        }
    }
    let mut req = WriteRequest::default();
    for (key, (revision, instance)) in changed {
        req.preconditions.push(Precondition::ModRevision(key.clone(), revision));
        req.ops.push(Op::put(key, Record::Instance(Arc::new(instance))));
    }
    for (app, delay) in delays {
        req.ops
            .push(Op::put(keys::launch_delay(&app), Record::LaunchDelay(delay)));
    }
    Some((req, effects))
}
