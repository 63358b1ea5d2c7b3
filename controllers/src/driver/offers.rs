//! Offers: match waiting instances to offered resources and to their app's placement
//! constraints, record the launches durably, then accept; decline what is left with a filter
//! that fits what still waits. What each waiting app made of each offer it tried goes to the
//! launch queue's offer statistics.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use mesos::v1::scheduler::{Call, call};
use mesos::v1::{Attribute, Filters, Offer, OfferId, TaskInfo, offer, value};
use schemas::offers::{NumberRange, OfferAttribute, OfferResource, OfferView, RejectReason};
use schemas::placement::{AgentFacts, AttributeValue, parse_app_constraints, unmet_constraints};
use schemas::{
    AppDefinition, Constraint, ContainerTask, Goal, Instance, PathId, PodDefinition, Record, RunSpec, TaskRecord,
    TaskState, Timestamp,
};
use store::{Op, Precondition, WriteRequest, keys};
use tokio::time::Instant;

use super::matcher::OfferResources;
use super::resident;
use super::task_group;
use super::task_info::{Placement, build_task_info};
use super::{DriverError, Session};
use crate::launch_queue::OfferOutcome;
use crate::optimistic::write_planned;

/// Nothing waits: keep these resources away for a while (Marathon's --decline_offer_duration).
const IDLE_REFUSE: Duration = Duration::from_secs(120);
/// Something waits but did not fit: look again soon.
const BUSY_REFUSE: Duration = Duration::from_secs(5);

/// Every agent offers came from, by agent id: the attributes constraints read for the
/// instances placed there (task records keep only the hostname). Offers bring them again
/// after a restart of Pacer.
pub(super) type KnownAgents = HashMap<String, AgentFacts>;

struct Launch {
    offer: usize,
    app: PathId,
    instance_id: String,
    op: LaunchOp,
}

/// An app's task, a pod instance's task group, or a resident instance's reservation
/// operations (see `resident`).
enum LaunchOp {
    Task(Box<TaskInfo>),
    Group(Box<offer::operation::LaunchGroup>),
    Ops(Vec<offer::Operation>),
}

/// What one round of offers comes to.
#[derive(Default)]
struct Plan {
    launches: Vec<Launch>,
    /// Per app, per offer index it tried: `None` if something of it launched there, else
    /// every reason why its first try did not fit. Offers an app never needed to try (its
    /// instances were placed before) are not there: they were not processed for it.
    tried: BTreeMap<PathId, BTreeMap<usize, Option<Vec<RejectReason>>>>,
    /// Per offer, the reservations no instance holds any more, to destroy.
    sweep: BTreeMap<usize, Vec<offer::Operation>>,
}

impl Session {
    pub(super) async fn offers(&mut self, offers: Vec<Offer>) -> Result<(), DriverError> {
        let now = Instant::now();
        for o in &offers {
            self.agents.insert(o.agent_id.value.clone(), agent_facts(o));
        }
        let candidates = self.ctx.queue.launchable(now);
        let ctx = self.ctx.clone();
        let agents = &self.agents;
        // Reservations of ours are looked at even when nothing waits: some may be garbage.
        let Plan { launches, tried, sweep } = if candidates.is_empty() && !resident::Round::of(&offers).any() {
            Plan::default()
        } else {
            write_planned(&ctx.store, |state| {
                Some(plan_launches(state, &offers, &candidates, agents))
            })
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

        let mut by_offer: HashMap<usize, Vec<LaunchOp>> = HashMap::new();
        for (i, ops) in sweep {
            by_offer.entry(i).or_default().push(LaunchOp::Ops(ops));
        }
        for l in launches {
            by_offer.entry(l.offer).or_default().push(l.op);
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
        let launched_tasks = by_offer
            .values()
            .flatten()
            .map(|op| match op {
                LaunchOp::Task(_) => 1,
                LaunchOp::Group(g) => g.task_group.tasks.len(),
                LaunchOp::Ops(_) => 0,
            })
            .sum();
        self.ctx
            .config
            .metrics
            .offers(offers.len(), used, offers.len() - used, launched_tasks);

        let mut declined: Vec<OfferId> = Vec::new();
        for (i, offer) in offers.into_iter().enumerate() {
            match by_offer.remove(&i) {
                Some(ops) => {
                    // A reservation comes back at once, for its instance to launch on.
                    let reserving = ops.iter().any(|op| matches!(op, LaunchOp::Ops(_)));
                    let mut operations = operations(ops);
                    resident::sign(&mut operations, self.ctx.config.principal.as_deref());
                    let accept = call::Accept {
                        offer_ids: vec![offer.id],
                        operations,
                        // What this offer has left comes back soon if more waits.
                        filters: Some(Filters {
                            refuse_seconds: Some(if waiting || reserving {
                                0.0
                            } else {
                                refuse.as_secs_f64()
                            }),
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

/// The operations of one accept: reservation operations first (in order), then the apps'
/// tasks in one LAUNCH, then each task group in its own LAUNCH_GROUP (Mesos launches one
/// group per operation).
fn operations(ops: Vec<LaunchOp>) -> Vec<offer::Operation> {
    let mut task_infos = Vec::new();
    let mut resources = Vec::new();
    let mut groups = Vec::new();
    for op in ops {
        match op {
            LaunchOp::Task(t) => task_infos.push(*t),
            LaunchOp::Group(g) => groups.push(offer::Operation {
                r#type: Some(offer::operation::Type::LaunchGroup as i32),
                launch_group: Some(*g),
                ..Default::default()
            }),
            LaunchOp::Ops(ops) => resources.extend(ops),
        }
    }
    let mut out = resources;
    if !task_infos.is_empty() {
        out.push(offer::Operation {
            r#type: Some(offer::operation::Type::Launch as i32),
            launch: Some(offer::operation::Launch { task_infos }),
            ..Default::default()
        });
    }
    out.extend(groups);
    out
}

/// Matches `candidates` to `offers` against the current state; the write records every
/// matched instance as launched (TASK_PROVISIONED) and is guarded by the revisions it read.
fn plan_launches(
    state: &store::State,
    offers: &[Offer],
    candidates: &[(PathId, String)],
    agents: &KnownAgents,
) -> (WriteRequest, Plan) {
    let mut resources: Vec<OfferResources> = offers.iter().map(OfferResources::from_offer).collect();
    let offered: Vec<AgentFacts> = offers.iter().map(agent_facts).collect();
    let mut placements: HashMap<PathId, Placements> = HashMap::new();
    let mut req = WriteRequest::default();
    let mut plan = Plan::default();
    let now = Timestamp::now();
    let mut round = resident::Round::of(offers);
    for (app_id, instance_id) in candidates {
        if let Some(pod) = state.pod(app_id) {
            let placed = placements
                .entry(app_id.clone())
                .or_insert_with(|| Placements::of_pod(state, pod, agents));
            let tried = plan.tried.entry(app_id.clone()).or_default();
            let with_agents = (offers, offered.as_slice());
            if let Some((op_write, launch)) =
                plan_pod_launch(state, with_agents, &mut resources, pod, placed, instance_id, tried, now)
            {
                req.preconditions.push(op_write.0);
                req.ops.push(op_write.1);
                plan.launches.push(launch);
            }
            continue;
        }
        let resident = {
            let placed = state.app(app_id).filter(|a| a.is_resident()).map(|app| {
                &*placements
                    .entry(app_id.clone())
                    .or_insert_with(|| Placements::of(state, app, agents))
            });
            let meets = |i: usize| placed.is_none_or(|p| p.allow(&offered[i]));
            let tried = plan.tried.entry(app_id.clone()).or_default();
            resident::plan_candidate(
                state,
                offers,
                &mut resources,
                &mut round,
                app_id,
                instance_id,
                &meets,
                tried,
                now,
            )
        };
        if let Some(planned) = resident {
            if let Some(p) = planned {
                if p.reserved
                    && let Some(placed) = placements.get_mut(app_id)
                {
                    placed.add(offered[p.offer].clone());
                }
                req.preconditions.push(p.precondition);
                req.ops.push(p.op);
                plan.launches.push(Launch {
                    offer: p.offer,
                    app: app_id.clone(),
                    instance_id: instance_id.clone(),
                    op: match p.action {
                        resident::Action::Operations(ops) => LaunchOp::Ops(ops),
                        resident::Action::Launch(task) => LaunchOp::Task(task),
                    },
                });
            }
            continue;
        }
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
        let placed = placements
            .entry(app_id.clone())
            .or_insert_with(|| Placements::of(state, app, agents));
        let tried = plan.tried.entry(app_id.clone()).or_default();
        let mut chosen = None;
        for (i, r) in resources.iter_mut().enumerate() {
            let meets = placed.allow(&offered[i]);
            match meets.then(|| r.take(app).ok()).flatten() {
                Some(taken) => {
                    tried.insert(i, None);
                    chosen = Some((i, taken));
                    break;
                }
                None => {
                    tried.entry(i).or_insert_with(|| {
                        let mut reasons = r.reject_reasons(app);
                        if !meets {
                            reasons.push(RejectReason::UnfulfilledConstraint);
                        }
                        Some(reasons)
                    });
                }
            }
        }
        let Some((offer_idx, taken)) = chosen else {
            continue;
        };
        placed.add(offered[offer_idx].clone());
        let offer = &offers[offer_idx];
        let placement = Placement {
            agent_id: offer.agent_id.value.clone(),
            hostname: offer.hostname.clone(),
            ports: taken.ports,
            resources: taken.resources,
            allocation_role: allocation_role(offer),
        };
        let task_id = instance.next_task_id();
        let task = build_task_info(app, &task_id, &placement);
        let launched = launched_instance(instance, app, &placement, task_id, now);
        req.preconditions
            .push(Precondition::ModRevision(key.clone(), entry.mod_revision));
        req.ops.push(Op::put(key, Record::Instance(Arc::new(launched))));
        plan.launches.push(Launch {
            offer: offer_idx,
            app: app_id.clone(),
            instance_id: instance_id.clone(),
            op: LaunchOp::Task(Box::new(task)),
        });
    }
    let (writes, sweep) = resident::sweep(state, &mut round);
    for (precondition, op) in writes {
        req.preconditions.push(precondition);
        req.ops.push(op);
    }
    plan.sweep = sweep;
    (req, plan)
}

/// Launches one waiting pod instance on the first offer that meets the pod's placement
/// constraints and fits its task group, as an app's instance; the instance's record, guarded,
/// and the launch. `offers` come with their agents as constraints see them.
#[allow(clippy::too_many_arguments)]
fn plan_pod_launch(
    state: &store::State,
    (offers, offered): (&[Offer], &[AgentFacts]),
    resources: &mut [OfferResources],
    pod: &Arc<PodDefinition>,
    placed: &mut Placements,
    instance_id: &str,
    tried: &mut BTreeMap<usize, Option<Vec<RejectReason>>>,
    now: Timestamp,
) -> Option<((Precondition, Op), Launch)> {
    let key = keys::instance(&pod.id, instance_id);
    let entry = state.get(&key)?;
    let Record::Instance(instance) = &entry.record else {
        return None;
    };
    if instance.goal != Goal::Running || instance.has_active_task() {
        return None;
    }
    let (offer_idx, taken) = resources.iter_mut().enumerate().find_map(|(i, r)| {
        let meets = placed.allow(&offered[i]);
        let result = if meets {
            task_group::take(r, pod)
        } else {
            let mut reasons = r.reject_reasons_of(&task_group::demand(pod));
            reasons.push(RejectReason::UnfulfilledConstraint);
            Err(reasons)
        };
        match result {
            Ok(taken) => {
                tried.insert(i, None);
                Some((i, taken))
            }
            Err(reasons) => {
                tried.entry(i).or_insert(Some(reasons));
                None
            }
        }
    })?;
    placed.add(offered[offer_idx].clone());
    let offer = &offers[offer_idx];
    let allocation_role = offer
        .resources
        .iter()
        .find_map(|r| r.allocation_info.as_ref().and_then(|a| a.role.clone()));
    let task_ids: Vec<String> = pod
        .containers
        .iter()
        .map(|c| instance.next_container_task_id(&c.name))
        .collect();
    let group = task_group::launch_group(
        pod,
        instance,
        &task_ids,
        &task_group::GroupPlacement {
            agent_id: &offer.agent_id.value,
            framework_id: state.framework_id().unwrap_or_default(),
            allocation_role: allocation_role.as_deref(),
            taken: &taken,
        },
    );
    let containers = pod
        .containers
        .iter()
        .zip(&task_ids)
        .map(|(c, task_id)| ContainerTask {
            name: c.name.clone(),
            task_id: task_id.clone(),
            state: TaskState::TASK_PROVISIONED,
            started_at: None,
            updated_at: now,
            checked: c.health_check.is_some(),
            healthy: None,
            message: None,
        })
        .collect();
    let launched = Instance {
        incarnation: instance.incarnation + 1,
        run_spec_version: pod.version_or_epoch(),
        config_version: Some(pod.config_version()),
        kill_requested: false,
        last_failure: match &instance.task {
            Some(t) if t.state.is_task_failure() => Some(t.clone()),
            _ => instance.last_failure.clone(),
        },
        task: Some(TaskRecord {
            task_id: task_group::executor_id(instance),
            agent_id: offer.agent_id.value.clone(),
            host: offer.hostname.clone(),
            ports: taken.ports,
            state: TaskState::TASK_PROVISIONED,
            staged_at: now,
            started_at: None,
            updated_at: now,
            message: None,
            health: Default::default(),
            containers,
        }),
        ..Instance::clone(instance)
    };
    Some((
        (
            Precondition::ModRevision(key.clone(), entry.mod_revision),
            Op::put(key, Record::Instance(Arc::new(launched))),
        ),
        Launch {
            offer: offer_idx,
            app: pod.id.clone(),
            instance_id: instance_id.to_string(),
            op: LaunchOp::Group(Box::new(group)),
        },
    ))
}

/// One app's constraints and where its instances are, as Marathon counts them: the active
/// instances of its current config (old ones are about to be replaced), oldest first, then
/// those placed in this round of offers.
struct Placements {
    constraints: Vec<Constraint>,
    placed: Vec<AgentFacts>,
}

impl Placements {
    fn of(state: &store::State, app: &AppDefinition, agents: &KnownAgents) -> Self {
        let constraints = parse_app_constraints(&app.constraints);
        Self::counting(state, &app.id, constraints, |i| i.runs_config_of(app), agents)
    }

    /// A pod's, counted as an app's: its instances are placed whole on one agent each.
    fn of_pod(state: &store::State, pod: &Arc<PodDefinition>, agents: &KnownAgents) -> Self {
        let spec = RunSpec::Pod(Arc::clone(pod));
        Self::counting(
            state,
            &pod.id,
            task_group::constraints(pod),
            |i| i.runs_config_of_spec(&spec),
            agents,
        )
    }

    /// `constraints` and the agents of `id`'s active instances that run its current config.
    fn counting(
        state: &store::State,
        id: &PathId,
        constraints: Vec<Constraint>,
        current: impl Fn(&Instance) -> bool,
        agents: &KnownAgents,
    ) -> Self {
        let mut placed: Vec<(Timestamp, String, AgentFacts)> = Vec::new();
        if !constraints.is_empty() {
            for (_, entry) in state.scan(&keys::instances_of(id)) {
                let Record::Instance(i) = &entry.record else {
                    continue;
                };
                if i.goal != Goal::Running || !current(i) {
                    continue;
                }
                // A resident instance is where its reservation is, running or not.
                let live = i.task.as_ref().filter(|t| !t.state.is_terminal());
                let (agent_id, host, since) = match (live, &i.reservation) {
                    (Some(task), _) => (&task.agent_id, &task.host, task.staged_at),
                    (None, Some(r)) => (&r.agent_id, &r.host, i.created_at),
                    (None, None) => continue,
                };
                let mut facts = agents.get(agent_id).cloned().unwrap_or_default();
                facts.hostname = host.clone();
                placed.push((since, i.instance_id.clone(), facts));
            }
        }
        placed.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
        Placements {
            constraints,
            placed: placed.into_iter().map(|(_, _, f)| f).collect(),
        }
    }

    fn allow(&self, offer: &AgentFacts) -> bool {
        if self.constraints.is_empty() {
            return true;
        }
        let placed: Vec<&AgentFacts> = self.placed.iter().collect();
        unmet_constraints(&placed, offer, &self.constraints).is_empty()
    }

    fn add(&mut self, at: AgentFacts) {
        if !self.constraints.is_empty() {
            self.placed.push(at);
        }
    }
}

/// The agent of `offer` as constraints see it.
pub(super) fn agent_facts(offer: &Offer) -> AgentFacts {
    let domain = offer.domain.as_ref().and_then(|d| d.fault_domain.as_ref());
    AgentFacts {
        hostname: offer.hostname.clone(),
        region: domain.map(|d| d.region.name.clone()),
        zone: domain.map(|d| d.zone.name.clone()),
        attributes: offer
            .attributes
            .iter()
            .filter_map(|a| Some((a.name.clone(), attribute_value(a)?.marathon_string())))
            .collect(),
    }
}

fn attribute_value(a: &Attribute) -> Option<AttributeValue> {
    Some(match a.r#type() {
        value::Type::Scalar => AttributeValue::Scalar(a.scalar.as_ref()?.value),
        value::Type::Text => AttributeValue::Text(a.text.as_ref()?.value.clone()),
        value::Type::Ranges => {
            AttributeValue::Ranges(a.ranges.as_ref()?.range.iter().map(|r| (r.begin, r.end)).collect())
        }
        value::Type::Set => AttributeValue::Set(a.set.as_ref()?.item.clone()),
    })
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

/// The role `offer` was allocated to (MULTI_ROLE frameworks), named on every resource used.
pub(super) fn allocation_role(offer: &Offer) -> Option<String> {
    offer.allocation_info.as_ref().and_then(|a| a.role.clone()).or_else(|| {
        offer
            .resources
            .iter()
            .find_map(|r| r.allocation_info.as_ref().and_then(|a| a.role.clone()))
    })
}

/// `instance` about to launch `task_id` of `app` at `placement`: its next incarnation on the
/// app's current config, keeping the task it replaces as `last_failure` if that one failed.
pub(super) fn launched_instance(
    instance: &Instance,
    app: &AppDefinition,
    placement: &Placement,
    task_id: String,
    now: Timestamp,
) -> Instance {
    Instance {
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
            agent_id: placement.agent_id.clone(),
            host: placement.hostname.clone(),
            ports: placement.ports.clone(),
            state: TaskState::TASK_PROVISIONED,
            staged_at: now,
            started_at: None,
            updated_at: now,
            message: None,
            health: Default::default(),
            containers: vec![],
        }),
        ..instance.clone()
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

        let (req, plan) = plan_launches(&state, &offers, &candidates, &KnownAgents::new());
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

    fn on_host(id: &str, host: &str, rack: &str) -> Offer {
        let mut o = offer(id, 4.0, 4096.0);
        o.hostname = host.into();
        o.attributes = vec![Attribute {
            name: "rack".into(),
            r#type: value::Type::Text as i32,
            text: Some(value::Text { value: rack.into() }),
            ..Default::default()
        }];
        o
    }

    fn hosts_of(plan: &Plan, offers: &[Offer]) -> Vec<String> {
        plan.launches.iter().map(|l| offers[l.offer].hostname.clone()).collect()
    }

    #[test]
    fn unique_hostnames_spread_and_the_rest_waits_for_a_constraint() {
        let mut state = store::State::default();
        let candidates = waiting(
            &mut state,
            r#"{"id":"/u","cmd":"x","cpus":0.1,"mem":16,"constraints":[["hostname","UNIQUE"]]}"#,
            3,
        );
        let offers = [on_host("o0", "a", "r1"), on_host("o1", "b", "r1")];
        let (req, plan) = plan_launches(&state, &offers, &candidates, &KnownAgents::new());
        assert_eq!(req.ops.len(), 2);
        assert_eq!(hosts_of(&plan, &offers), ["a", "b"]);
        let tried = &plan.tried[&PathId::parse("/u").unwrap()];
        assert_eq!(tried.get(&0), Some(&None), "the first offer was used");
        assert_eq!(tried.get(&1), Some(&None));

        // With both placed (in the store now), a third instance meets UNIQUE nowhere.
        state.apply(req);
        let (req, plan) = plan_launches(&state, &offers, &candidates[2..], &KnownAgents::new());
        assert!(req.ops.is_empty());
        let tried = &plan.tried[&PathId::parse("/u").unwrap()];
        assert_eq!(
            tried.values().cloned().collect::<Vec<_>>(),
            vec![Some(vec![RejectReason::UnfulfilledConstraint]); 2]
        );
    }

    #[test]
    fn placed_instances_count_with_their_agents_attributes() {
        let mut state = store::State::default();
        let candidates = waiting(
            &mut state,
            r#"{"id":"/g","cmd":"x","cpus":0.1,"mem":16,"constraints":[["rack","MAX_PER","1"]]}"#,
            3,
        );
        let offers = [
            on_host("o0", "a", "r1"),
            on_host("o1", "b", "r1"),
            on_host("o2", "c", "r2"),
        ];
        let known: KnownAgents = offers
            .iter()
            .map(|o| (o.agent_id.value.clone(), agent_facts(o)))
            .collect();
        let (req, plan) = plan_launches(&state, &offers, &candidates, &known);
        assert_eq!(hosts_of(&plan, &offers), ["a", "c"], "one per rack");
        state.apply(req);
        // Later rounds see the racks of placed instances through the known agents: agent b
        // is on rack r1, which already has its one.
        let (req, _) = plan_launches(&state, &offers[1..2], &candidates[2..], &known);
        assert!(req.ops.is_empty());
    }

    #[test]
    fn pod_instances_launch_as_task_groups() {
        let mut state = store::State::default();
        let raw: PodDefinition = serde_json::from_str(
            r#"{"id":"/p","containers":[{"name":"a","resources":{"cpus":0.5,"mem":64}},{"name":"b","resources":{"cpus":0.5,"mem":64}}]}"#,
        )
        .unwrap();
        let pod = schemas::normalize_pod(raw, &PathId::root()).unwrap();
        let i = Instance::of(&schemas::RunSpec::Pod(Arc::new(pod.clone())), Timestamp::from_millis(1));
        let key = keys::instance(&pod.id, &i.instance_id);
        state.apply(WriteRequest {
            preconditions: vec![],
            ops: vec![
                Op::put(key.clone(), Record::Instance(Arc::new(i.clone()))),
                Op::put(keys::pod(&pod.id), Record::Pod(Arc::new(pod.clone()))),
            ],
        });
        let candidates = vec![(pod.id.clone(), i.instance_id.clone())];
        let offers = [offer("o0", 1.0, 1024.0), offer("o1", 2.0, 1024.0)];
        let (req, plan) = plan_launches(&state, &offers, &candidates, &KnownAgents::new());
        assert_eq!(plan.launches.len(), 1);
        assert_eq!(
            plan.launches[0].offer, 1,
            "1 cpu is short of two containers and the executor"
        );
        let LaunchOp::Group(g) = &plan.launches[0].op else {
            panic!("a pod launches a task group")
        };
        assert_eq!(g.task_group.tasks.len(), 2);
        let tried = &plan.tried[&pod.id];
        assert_eq!(tried.get(&0), Some(&Some(vec![RejectReason::InsufficientCpus])));
        state.apply(req);
        let Some(Record::Instance(launched)) = state.get(&key).map(|e| e.record.clone()) else {
            panic!("instance recorded")
        };
        let task = launched.task.as_ref().unwrap();
        assert_eq!(task.state, TaskState::TASK_PROVISIONED);
        let ids: Vec<&str> = task.containers.iter().map(|c| c.task_id.as_str()).collect();
        assert_eq!(ids, [format!("{}.a", i.instance_id), format!("{}.b", i.instance_id)]);
        let ops = operations(plan.launches.into_iter().map(|l| l.op).collect());
        assert_eq!(ops.len(), 1);
        assert_eq!(ops[0].r#type, Some(offer::operation::Type::LaunchGroup as i32));
    }

    /// A state with `pod` and `n` instances of it waiting, and the candidates they make.
    fn waiting_pod(state: &mut store::State, json: &str, n: usize) -> Vec<(PathId, String)> {
        let raw: PodDefinition = serde_json::from_str(json).unwrap();
        let pod = Arc::new(schemas::normalize_pod(raw, &PathId::root()).unwrap());
        let mut req = WriteRequest::default();
        let mut out = Vec::new();
        for _ in 0..n {
            let i = Instance::of(&RunSpec::Pod(pod.clone()), Timestamp::from_millis(1));
            req.ops.push(Op::put(
                keys::instance(&pod.id, &i.instance_id),
                Record::Instance(Arc::new(i.clone())),
            ));
            out.push((pod.id.clone(), i.instance_id));
        }
        req.ops.push(Op::put(keys::pod(&pod.id), Record::Pod(pod)));
        state.apply(req);
        out
    }

    #[test]
    fn pod_constraints_place_instances_as_app_constraints_do() {
        let mut state = store::State::default();
        let mut candidates = waiting_pod(
            &mut state,
            r#"{"id":"/u","containers":[{"name":"c","resources":{"cpus":0.1,"mem":16}}],
                "scheduling":{"placement":{"constraints":[{"fieldName":"hostname","operator":"UNIQUE"}]}}}"#,
            3,
        );
        candidates.extend(waiting_pod(
            &mut state,
            r#"{"id":"/r2","containers":[{"name":"c","resources":{"cpus":0.1,"mem":16}}],
                "scheduling":{"placement":{"constraints":[["rack","LIKE","r[2-9]"]]}}}"#,
            2,
        ));
        let offers = [on_host("o0", "a", "r1"), on_host("o1", "b", "r2")];
        let known: KnownAgents = offers
            .iter()
            .map(|o| (o.agent_id.value.clone(), agent_facts(o)))
            .collect();
        let (req, plan) = plan_launches(&state, &offers, &candidates, &known);
        assert_eq!(
            hosts_of(&plan, &offers),
            ["a", "b", "b", "b"],
            "two of /u, both of /r2 on b"
        );
        let unique = PathId::parse("/u").unwrap();
        assert_eq!(plan.tried[&unique].get(&0), Some(&None));
        assert_eq!(
            plan.tried[&PathId::parse("/r2").unwrap()].get(&0),
            Some(&Some(vec![RejectReason::UnfulfilledConstraint]))
        );

        // Both hosts have an instance of /u now (in the store): the third waits, and says why.
        state.apply(req);
        let (req, plan) = plan_launches(&state, &offers, &candidates[2..3], &known);
        assert!(req.ops.is_empty());
        assert_eq!(
            plan.tried[&unique].values().cloned().collect::<Vec<_>>(),
            vec![Some(vec![RejectReason::UnfulfilledConstraint]); 2]
        );
    }

    #[test]
    fn resident_instances_count_where_they_are_reserved() {
        let mut state = store::State::default();
        let candidates = waiting(
            &mut state,
            r#"{"id":"/r","cmd":"x","cpus":0.1,"mem":16,"role":"pacer","constraints":[["hostname","UNIQUE"]],
                "container":{"type":"MESOS","volumes":[{"containerPath":"d","mode":"RW","persistent":{"size":1}}]}}"#,
            2,
        );
        // The first reserves on host a (and has no task yet).
        let (req, plan) = plan_launches(
            &state,
            &[on_host("o0", "a", "r1")],
            &candidates[..1],
            &KnownAgents::new(),
        );
        assert!(matches!(plan.launches[0].op, LaunchOp::Ops(_)));
        state.apply(req);
        let (req, plan) = plan_launches(
            &state,
            &[on_host("o1", "a", "r1")],
            &candidates[1..],
            &KnownAgents::new(),
        );
        assert!(req.ops.is_empty(), "host a is taken by the first one's reservation");
        let tried = &plan.tried[&PathId::parse("/r").unwrap()];
        assert_eq!(tried[&0], Some(vec![RejectReason::UnfulfilledConstraint]));
        let (_, plan) = plan_launches(
            &state,
            &[on_host("o2", "b", "r1")],
            &candidates[1..],
            &KnownAgents::new(),
        );
        assert_eq!(plan.launches.len(), 1);
    }

    #[test]
    fn agent_facts_read_attributes_as_marathon_writes_them() {
        let mut o = on_host("o0", "a", "r1");
        o.attributes.push(Attribute {
            name: "gen".into(),
            r#type: value::Type::Scalar as i32,
            scalar: Some(value::Scalar { value: 3.0 }),
            ..Default::default()
        });
        let f = agent_facts(&o);
        assert_eq!(f.field("hostname"), Some("a"));
        assert_eq!(f.field("rack"), Some("r1"));
        assert_eq!(f.field("gen"), Some("3"));
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
