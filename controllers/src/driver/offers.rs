//! Offers: match waiting instances to offered resources, record the launches durably, then
//! accept; decline what is left with a filter that fits what still waits.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use mesos::v1::scheduler::{Call, call};
use mesos::v1::{Filters, Offer, OfferId, TaskInfo, offer};
use schemas::{Goal, Instance, PathId, Record, TaskRecord, TaskState, Timestamp};
use store::{Op, Precondition, WriteRequest, keys};
use tokio::time::Instant;

use super::matcher::OfferResources;
use super::task_info::{Placement, build_task_info};
use super::{DriverError, Session};
use crate::optimistic::write_planned;

/// Nothing waits: keep these resources away for a while (Marathon's --decline_offer_duration).
const IDLE_REFUSE: Duration = Duration::from_secs(120);
/// Something waits but did not fit: look again soon.
const BUSY_REFUSE: Duration = Duration::from_secs(5);

struct Launch {
    offer: usize,
    app: PathId,
    instance_id: String,
    task: TaskInfo,
}

impl Session {
    pub(super) async fn offers(&mut self, offers: Vec<Offer>) -> Result<(), DriverError> {
        let now = Instant::now();
        let candidates = self.ctx.queue.launchable(now);
        let ctx = self.ctx.clone();
        let launches = if candidates.is_empty() {
            Vec::new()
        } else {
            write_planned(&ctx.store, |state| plan_launches(state, &offers, &candidates))
                .await?
                .unwrap_or_default()
        };

        let launched: Vec<(PathId, String)> = launches
            .iter()
            .map(|l| (l.app.clone(), l.instance_id.clone()))
            .collect();
        self.ctx.queue.remove_instances(&launched);

        let mut by_offer: HashMap<usize, Vec<TaskInfo>> = HashMap::new();
        for l in launches {
            by_offer.entry(l.offer).or_default().push(l.task);
        }
        let waiting = !self.ctx.queue.launchable(Instant::now()).is_empty();
        let refuse = if waiting {
            BUSY_REFUSE
        } else {
            match self.ctx.queue.next_not_before(Instant::now()) {
                Some(at) => (at - Instant::now()).max(Duration::from_millis(100)),
                None => IDLE_REFUSE,
            }
        };
        let filters = Some(Filters {
            refuse_seconds: Some(refuse.as_secs_f64()),
        });

        let mut declined: Vec<OfferId> = Vec::new();
        for (i, offer) in offers.into_iter().enumerate() {
            match by_offer.remove(&i) {
                Some(task_infos) => {
                    let accept = call::Accept {
                        offer_ids: vec![offer.id],
                        operations: vec![offer::Operation {
                            r#type: Some(offer::operation::Type::Launch as i32),
                            launch: Some(offer::operation::Launch { task_infos }),
                            ..Default::default()
                        }],
                        // What this offer has left comes back soon if more waits.
                        filters: Some(Filters {
                            refuse_seconds: Some(if waiting { 0.0 } else { refuse.as_secs_f64() }),
                        }),
                    };
                    let call = Call {
                        r#type: Some(call::Type::Accept as i32),
                        accept: Some(accept),
                        ..Default::default()
                    };
                    // A failed accept leaves the tasks PROVISIONED; reconciliation reports them
                    // lost and the instances are launched again.
                    self.caller.call(call).await?;
                }
                None => declined.push(offer.id),
            }
        }
        if !declined.is_empty() {
            let decline = call::Decline {
                offer_ids: declined,
                filters,
            };
            let call = Call {
                r#type: Some(call::Type::Decline as i32),
                decline: Some(decline),
                ..Default::default()
            };
            self.caller.call(call).await?;
        }
        if !waiting && self.ctx.queue.is_empty() {
            self.revive().await;
        }
        Ok(())
    }
}

/// Matches `candidates` to `offers` against the current state; the write records every
/// matched instance as launched (TASK_PROVISIONED) and is guarded by the revisions it read.
fn plan_launches(
    state: &store::State,
    offers: &[Offer],
    candidates: &[(PathId, String)],
) -> Option<(WriteRequest, Vec<Launch>)> {
    let mut resources: Vec<OfferResources> = offers.iter().map(OfferResources::from_offer).collect();
    let mut req = WriteRequest::default();
    let mut launches = Vec::new();
    let now = Timestamp::now();
    for (app_id, instance_id) in candidates {
        let Some(app) = state.app(app_id) else {
            continue;
        };
        let key = keys::instance(app_id, instance_id);
        let Some(entry) = state.get(&key) else {
            continue;
        };
        let Record::Instance(instance) = &entry.record else {
            continue;
        };
        if instance.goal != Goal::Running || instance.has_active_task() {
            continue;
        }
        let Some((offer_idx, ports)) = resources
            .iter_mut()
            .enumerate()
            .find_map(|(i, r)| r.take(app).ok().map(|p| (i, p)))
        else {
            continue;
        };
        let offer = &offers[offer_idx];
        let placement = Placement {
            agent_id: offer.agent_id.value.clone(),
            hostname: offer.hostname.clone(),
            ports,
        };
        let task_id = instance.next_task_id();
        let task = build_task_info(app, &task_id, &placement);
        let launched = Instance {
            incarnation: instance.incarnation + 1,
            run_spec_version: app.version_or_epoch(),
            config_version: Some(app.config_version()),
            kill_requested: false,
            last_failure: match &instance.task {
                Some(t) if t.state.is_task_failure() || t.health.killed_unhealthy.is_some() => Some(t.clone()),
                _ => instance.last_failure.clone(),
            },
            task: Some(TaskRecord {
                task_id,
                agent_id: placement.agent_id,
                host: placement.hostname,
                ports: placement.ports,
                state: TaskState::TASK_PROVISIONED,
                staged_at: now,
                started_at: None,
                updated_at: now,
                message: None,
                health: Default::default(),
            }),
            ..Instance::clone(instance)
        };
        req.preconditions
            .push(Precondition::ModRevision(key.clone(), entry.mod_revision));
        req.ops.push(Op::put(key, Record::Instance(Arc::new(launched))));
        launches.push(Launch {
            offer: offer_idx,
            app: app_id.clone(),
            instance_id: instance_id.clone(),
            task,
        });
    }
    (!launches.is_empty()).then_some((req, launches))
}
