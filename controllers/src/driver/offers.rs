//! Offers: match waiting instances to offered resources, record the launches durably, then
//! accept; decline what is left with a filter that fits what still waits. What each waiting
//! app made of each offer it tried goes to the launch queue's offer statistics.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use mesos::v1::scheduler::{Call, call};
use mesos::v1::{Filters, Offer, OfferId, TaskInfo, offer, value};
use schemas::offers::{NumberRange, OfferAttribute, OfferResource, OfferView, RejectReason};
use schemas::{Goal, Instance, PathId, Record, TaskRecord, TaskState, Timestamp};
use store::{Op, Precondition, WriteRequest, keys};
use tokio::time::Instant;

use super::matcher::OfferResources;
use super::task_info::{Placement, build_task_info};
use super::{DriverError, Session};
use crate::launch_queue::OfferOutcome;
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

/// What one round of offers comes to.
#[derive(Default)]
struct Plan {
    launches: Vec<Launch>,
    /// Per app, per offer index it tried: `None` if something of it launched there, else
    /// every reason why its first try did not fit. Offers an app never needed to try (its
    /// instances were placed before) are not there: they were not processed for it.
    tried: BTreeMap<PathId, BTreeMap<usize, Option<Vec<RejectReason>>>>,
}

impl Session {
    pub(super) async fn offers(&mut self, offers: Vec<Offer>) -> Result<(), DriverError> {
        let now = Instant::now();
        let candidates = self.ctx.queue.launchable(now);
        let ctx = self.ctx.clone();
        let Plan { launches, tried } = if candidates.is_empty() {
            Plan::default()
        } else {
            write_planned(&ctx.store, |state| Some(plan_launches(state, &offers, &candidates)))
                .await?
                .unwrap_or_default()
        };

        let launched: Vec<(PathId, String)> = launches
            .iter()
            .map(|l| (l.app.clone(), l.instance_id.clone()))
            .collect();
        self.ctx.queue.remove_instances(&launched);
        let mut views: HashMap<usize, OfferView> = HashMap::new();
        let mut outcomes = Vec::new();
        for (app, tried) in tried {
            for (i, reasons) in tried {
                let outcome = match reasons {
                    None => OfferOutcome::Used,
                    Some(reasons) => {
                        let view = views.entry(i).or_insert_with(|| offer_view(&offers[i]));
                        OfferOutcome::Unused(view.clone(), reasons)
                    }
                };
                outcomes.push((app.clone(), outcome));
            }
        }
        self.ctx.queue.record_offers(outcomes, Timestamp::now());

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

        // Counted as decided: a failed call below is retried by Mesos' own means (reconciliation
        // for launches, the offer coming back for declines), not by us.
        let used = by_offer.len();
        let launched_tasks = by_offer.values().map(Vec::len).sum();
        self.ctx
            .config
            .metrics
            .offers(offers.len(), used, offers.len() - used, launched_tasks);

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
fn plan_launches(state: &store::State, offers: &[Offer], candidates: &[(PathId, String)]) -> (WriteRequest, Plan) {
    let mut resources: Vec<OfferResources> = offers.iter().map(OfferResources::from_offer).collect();
    let mut req = WriteRequest::default();
    let mut plan = Plan::default();
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
        let tried = plan.tried.entry(app_id.clone()).or_default();
        let mut placed = None;
        for (i, r) in resources.iter_mut().enumerate() {
            match r.take(app) {
                Ok(ports) => {
                    tried.insert(i, None);
                    placed = Some((i, ports));
                    break;
                }
                Err(_) => {
                    tried.entry(i).or_insert_with(|| Some(r.reject_reasons(app)));
                }
            }
        }
        let Some((offer_idx, ports)) = placed else {
            continue;
        };
        let offer = &offers[offer_idx];
        let placement = Placement {
            agent_id: offer.agent_id.value.clone(),
            hostname: offer.hostname.clone(),
            ports,
            allocation_role: offer
                .resources
                .iter()
                .find_map(|r| r.allocation_info.as_ref().and_then(|a| a.role.clone())),
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
        plan.launches.push(Launch {
            offer: offer_idx,
            app: app_id.clone(),
            instance_id: instance_id.clone(),
            task,
        });
    }
    (req, plan)
}

/// `offer` as `/v2/queue?embed=lastUnusedOffers` shows it.
fn offer_view(offer: &Offer) -> OfferView {
    let ranges = |r: &Option<value::Ranges>| {
        r.as_ref().map(|r| {
            r.range
                .iter()
                .map(|r| NumberRange {
                    begin: r.begin,
                    end: r.end,
                })
                .collect()
        })
    };
    let set = |s: &Option<value::Set>| s.as_ref().map(|s| s.item.clone());
    OfferView {
        id: offer.id.value.clone(),
        agent_id: offer.agent_id.value.clone(),
        hostname: offer.hostname.clone(),
        resources: offer
            .resources
            .iter()
            .map(|r| OfferResource {
                name: r.name.clone(),
                scalar: r.scalar.as_ref().map(|s| s.value),
                ranges: ranges(&r.ranges),
                set: set(&r.set),
                // The innermost reservation's role is the one the resource is offered to.
                role: r
                    .reservations
                    .last()
                    .and_then(|res| res.role.clone())
                    .or_else(|| r.role.clone())
                    .unwrap_or_else(|| "*".into()),
            })
            .collect(),
        attributes: offer
            .attributes
            .iter()
            .map(|a| OfferAttribute {
                name: a.name.clone(),
                text: a.text.as_ref().map(|t| t.value.clone()),
                scalar: a.scalar.as_ref().map(|s| s.value),
                ranges: ranges(&a.ranges),
                set: set(&a.set),
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use mesos::v1::{AgentId, Resource};
    use schemas::AppDefinition;

    use super::*;

    fn offer(id: &str, cpus: f64, mem: f64) -> Offer {
        let scalar = |name: &str, v: f64| Resource {
            name: name.into(),
            r#type: value::Type::Scalar as i32,
            scalar: Some(value::Scalar { value: v }),
            ..Default::default()
        };
        Offer {
            id: OfferId { value: id.into() },
            agent_id: AgentId {
                value: format!("agent-{id}"),
            },
            hostname: "h".into(),
            resources: vec![scalar("cpus", cpus), scalar("mem", mem), scalar("disk", 100.0)],
            ..Default::default()
        }
    }

    /// A state with `app` and `n` instances of it waiting, and the candidates they make.
    fn waiting(state: &mut store::State, json: &str, n: usize) -> Vec<(PathId, String)> {
        let app: AppDefinition = serde_json::from_str(json).unwrap();
        let mut req = WriteRequest::default();
        let mut out = Vec::new();
        for _ in 0..n {
            let i = Instance::new(&app, Timestamp::from_millis(1));
            req.ops.push(Op::put(
                keys::instance(&app.id, &i.instance_id),
                Record::Instance(Arc::new(i.clone())),
            ));
            out.push((app.id.clone(), i.instance_id));
        }
        req.ops.push(Op::put(keys::app(&app.id), Record::App(Arc::new(app))));
        state.apply(req);
        out
    }

    #[test]
    fn records_what_each_app_made_of_the_offers_it_tried() {
        let mut state = store::State::default();
        let mut candidates = waiting(&mut state, r#"{"id":"/small","cmd":"x","cpus":0.5,"mem":64}"#, 2);
        candidates.extend(waiting(
            &mut state,
            r#"{"id":"/big","cmd":"x","cpus":8,"mem":99999}"#,
            1,
        ));
        let offers = [
            offer("o0", 0.2, 1024.0),
            offer("o1", 1.0, 1024.0),
            offer("o2", 4.0, 1024.0),
        ];

        let (req, plan) = plan_launches(&state, &offers, &candidates);
        assert_eq!(req.ops.len(), 2, "both small instances launch");
        assert!(plan.launches.iter().all(|l| l.offer == 1));

        let small = &plan.tried[&PathId::parse("/small").unwrap()];
        // o0 was too small, o1 took both, o2 was never needed.
        assert_eq!(small.get(&0), Some(&Some(vec![RejectReason::InsufficientCpus])));
        assert_eq!(small.get(&1), Some(&None));
        assert_eq!(small.get(&2), None);

        let big = &plan.tried[&PathId::parse("/big").unwrap()];
        let both = Some(vec![RejectReason::InsufficientCpus, RejectReason::InsufficientMemory]);
        assert_eq!(
            big.values().cloned().collect::<Vec<_>>(),
            vec![both.clone(), both.clone(), both]
        );
    }

    #[test]
    fn views_offers_as_the_queue_shows_them() {
        let view = offer_view(&offer("o0", 2.0, 512.0));
        assert_eq!((view.id.as_str(), view.agent_id.as_str()), ("o0", "agent-o0"));
        assert_eq!(view.resources[0].name, "cpus");
        assert_eq!(view.resources[0].scalar, Some(2.0));
        assert_eq!(view.resources[0].role, "*");
    }
}
