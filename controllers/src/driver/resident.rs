//! Offers for resident instances (apps with persistent volumes), as Marathon uses them:
//!
//! 1. an instance without a reservation takes unreserved resources of an offer (cpus, mem,
//!    disk for its sandbox and its volumes, gpus, ports) and RESERVEs them for its app's role
//!    with labels naming the framework, the instance and the reservation, then CREATEs its
//!    volumes of the reserved disk, in one ACCEPT; the reservation is recorded first;
//! 2. a later offer holding that reservation launches the instance's task on it, with its
//!    volumes (it never runs anywhere else);
//! 3. a decommissioned instance (wiped, or its app deleted) waits for an offer holding its
//!    reservation to DESTROY its volumes and UNRESERVE the rest; it is forgotten durably
//!    before that ACCEPT;
//! 4. any reservation of this framework that no instance holds any more (a failed attempt
//!    that showed up late, a cleanup whose ACCEPT was lost) is destroyed the same way.
//!
//! Reservations are written in the format a framework without RESERVATION_REFINEMENT uses
//! (`role` + `reservation`), which every Mesos 1.x master accepts from Pacer.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use mesos::v1::resource::{self, ReservationInfo};
use mesos::v1::{Label, Labels, Offer, Resource, offer};
use schemas::offers::RejectReason;
use schemas::{AppDefinition, Goal, Instance, LocalVolume, PathId, Record, Reservation, ReservationState, Timestamp};
use store::{Op, Precondition, keys};

use super::matcher::{Demand, OfferResources, PortRequest, accepted_roles, host_port_requests};
use super::offers::{allocation_role, launched_instance};
use super::status::app_id_of_instance;
use super::task_info::{Placement, build_task_info};

/// The labels on every reserved resource: Marathon's, so that tools that know Marathon's
/// reservations know these, and the reservation's own id.
pub(crate) const FRAMEWORK_LABEL: &str = "marathon_framework_id";
pub(crate) const INSTANCE_LABEL: &str = "marathon_task_id";
pub(crate) const RESERVATION_LABEL: &str = "pacer_reservation_id";

/// One reservation of ours in an offer.
#[derive(Clone, Debug)]
struct Held {
    instance_id: String,
    resources: Vec<Resource>,
}

/// Our reservations in a round of offers, and which of them this round already acted on.
pub(super) struct Round {
    /// Per offer: reservation id to what it holds there.
    held: Vec<BTreeMap<String, Held>>,
    used: BTreeSet<String>,
}

/// What to do with one candidate's offer.
pub(super) struct Planned {
    pub offer: usize,
    pub precondition: Precondition,
    pub op: Op,
    /// The ACCEPT's part: operations, or the task to LAUNCH.
    pub action: Action,
    /// A new reservation: the instance is placed on that offer's agent from now on.
    pub reserved: bool,
}

pub(super) enum Action {
    Operations(Vec<offer::Operation>),
    Launch(Box<mesos::v1::TaskInfo>),
}

/// The label `key` of a reserved resource, in either reservation format.
fn label<'a>(r: &'a Resource, key: &str) -> Option<&'a str> {
    let info = r.reservation.as_ref().or_else(|| r.reservations.last())?;
    info.labels
        .as_ref()?
        .labels
        .iter()
        .find(|l| l.key == key)
        .and_then(|l| l.value.as_deref())
}

impl Round {
    pub(super) fn of(offers: &[Offer]) -> Self {
        let held = offers
            .iter()
            .map(|o| {
                let mut mine: BTreeMap<String, Held> = BTreeMap::new();
                for r in &o.resources {
                    if label(r, FRAMEWORK_LABEL) != Some(o.framework_id.value.as_str()) {
                        continue;
                    }
                    let (Some(rid), Some(instance)) = (label(r, RESERVATION_LABEL), label(r, INSTANCE_LABEL)) else {
                        continue;
                    };
                    mine.entry(rid.to_owned())
                        .or_insert_with(|| Held {
                            instance_id: instance.to_owned(),
                            resources: Vec::new(),
                        })
                        .resources
                        .push(r.clone());
                }
                mine
            })
            .collect();
        Round {
            held,
            used: BTreeSet::new(),
        }
    }

    /// Whether any offer holds a reservation of ours.
    pub(super) fn any(&self) -> bool {
        self.held.iter().any(|h| !h.is_empty())
    }

    /// The offer holding reservation `id`, unless this round used it already.
    fn find(&self, id: &str) -> Option<(usize, &Held)> {
        if self.used.contains(id) {
            return None;
        }
        self.held
            .iter()
            .enumerate()
            .find_map(|(i, h)| h.get(id).map(|held| (i, held)))
    }
}

/// Plans one waiting instance of a resident app, or one decommissioned instance that holds a
/// reservation; `None` if the instance is neither (it goes the usual way).
#[allow(clippy::too_many_arguments)]
pub(super) fn plan_candidate(
    state: &store::State,
    offers: &[Offer],
    resources: &mut [OfferResources],
    round: &mut Round,
    app_id: &PathId,
    instance_id: &str,
    meets: &dyn Fn(usize) -> bool,
    tried: &mut BTreeMap<usize, Option<Vec<RejectReason>>>,
    now: Timestamp,
) -> Option<Option<Planned>> {
    let key = keys::instance(app_id, instance_id);
    let entry = state.get(&key)?;
    let Record::Instance(instance) = &entry.record else {
        return None;
    };
    let app = state.app(app_id);
    let resident = app.is_some_and(|a| a.is_resident());
    let guard = Precondition::ModRevision(key.clone(), entry.mod_revision);
    if instance.goal == Goal::Decommissioned {
        if !instance.holds_reservation(now) || instance.has_active_task() {
            return resident.then_some(None);
        }
        let reservation = instance.reservation.as_ref()?;
        let Some((i, held)) = round.find(&reservation.id) else {
            return Some(None);
        };
        let operations = destroy_and_unreserve(&held.resources);
        round.used.insert(reservation.id.clone());
        return Some(Some(Planned {
            offer: i,
            precondition: guard,
            op: Op::delete(key),
            action: Action::Operations(operations),
            reserved: false,
        }));
    }
    let app = app.filter(|_| resident)?;
    if instance.goal != Goal::Running || instance.has_active_task() {
        return Some(None);
    }
    let planned = match &instance.reservation {
        None => reserve(app, instance, offers, resources, meets, tried, now),
        Some(r) => launch(app, instance, r, offers, round, tried, now),
    };
    let reserved = instance.reservation.is_none();
    Some(planned.map(|(offer, updated, action)| Planned {
        offer,
        precondition: guard,
        op: Op::put(key, Record::Instance(Arc::new(updated))),
        action,
        reserved,
    }))
}

/// Step 1: the first offer that meets the app's constraints and has room for everything the
/// instance needs is reserved for it, and its volumes created.
fn reserve(
    app: &AppDefinition,
    instance: &Instance,
    offers: &[Offer],
    resources: &mut [OfferResources],
    meets: &dyn Fn(usize) -> bool,
    tried: &mut BTreeMap<usize, Option<Vec<RejectReason>>>,
    now: Timestamp,
) -> Option<(usize, Instance, Action)> {
    let volumes = app.persistent_volumes();
    let role = app.role.clone().unwrap_or_else(|| schemas::DEFAULT_ROLE.into());
    let volume_disk: u64 = volumes.iter().map(|v| v.size).sum();
    // Unreserved resources only: reserved ones are someone's already.
    let demand = Demand {
        roles: accepted_roles(app).into_iter().filter(|r| r == "*").collect(),
        scalars: [app.cpus, app.mem, app.disk + volume_disk as f64, f64::from(app.gpus)],
        ports: host_port_requests(app),
    };
    for (i, offer) in offers.iter().enumerate() {
        let allocation_role = allocation_role(offer);
        // A reservation is for the role the offer was made to (and never for `*`).
        let role_fits = role != "*" && allocation_role.as_ref().is_none_or(|r| *r == role);
        let fits = if !role_fits {
            Err(vec![RejectReason::UnfulfilledRole])
        } else if !meets(i) {
            let mut reasons = resources[i].reject_reasons_of(&demand);
            reasons.push(RejectReason::UnfulfilledConstraint);
            Err(reasons)
        } else {
            resources[i].take_demand(&demand).map_err(|r| vec![r])
        };
        let taken = match fits {
            Ok(taken) => taken,
            Err(reasons) => {
                tried.entry(i).or_insert(Some(reasons));
                continue;
            }
        };
        tried.insert(i, None);
        let reservation = Reservation {
            id: uuid::Uuid::new_v4().to_string(),
            agent_id: offer.agent_id.value.clone(),
            host: offer.hostname.clone(),
            ports: taken.ports.clone(),
            volumes: volumes
                .iter()
                .map(|v| LocalVolume {
                    container_path: v.container_path.clone(),
                    persistence_id: v.new_persistence_id(app),
                    size: v.size,
                })
                .collect(),
            state: ReservationState::New { since: now },
        };
        let framework_id = offer.framework_id.value.as_str();
        let labelled = |r: Resource| {
            reserved(
                r,
                &role,
                framework_id,
                instance,
                &reservation,
                allocation_role.as_deref(),
            )
        };
        let reserve: Vec<Resource> = taken.resources.into_iter().map(labelled).collect();
        let create: Vec<Resource> = reservation
            .volumes
            .iter()
            .map(|v| labelled(volume_resource(v)))
            .collect();
        let mut operations = vec![offer::Operation {
            r#type: Some(offer::operation::Type::Reserve as i32),
            reserve: Some(offer::operation::Reserve {
                resources: reserve,
                source: vec![],
            }),
            ..Default::default()
        }];
        if !create.is_empty() {
            operations.push(offer::Operation {
                r#type: Some(offer::operation::Type::Create as i32),
                create: Some(offer::operation::Create { volumes: create }),
                ..Default::default()
            });
        }
        let updated = Instance {
            reservation: Some(reservation),
            ..instance.clone()
        };
        return Some((i, updated, Action::Operations(operations)));
    }
    None
}

/// Step 2: the offer that holds the instance's reservation launches its task there.
fn launch(
    app: &AppDefinition,
    instance: &Instance,
    reservation: &Reservation,
    offers: &[Offer],
    round: &mut Round,
    tried: &mut BTreeMap<usize, Option<Vec<RejectReason>>>,
    now: Timestamp,
) -> Option<(usize, Instance, Action)> {
    let Some((i, held)) = round.find(&reservation.id) else {
        for i in 0..offers.len() {
            tried
                .entry(i)
                .or_insert(Some(vec![RejectReason::NoCorrespondingReservationFound]));
        }
        return None;
    };
    let held = held.clone();
    let offer = &offers[i];
    let refs: Vec<&Resource> = held.resources.iter().collect();
    let mut pool = OfferResources::from_reservation(&refs);
    let demand = Demand {
        roles: pool.pools.iter().map(|p| p.role.clone()).collect(),
        scalars: [app.cpus, app.mem, app.disk, f64::from(app.gpus)],
        ports: reservation
            .ports
            .iter()
            .map(|p| PortRequest::Fixed(u64::from(*p)))
            .collect(),
    };
    let volumes: Vec<Resource> = held
        .resources
        .iter()
        .filter(|r| {
            let id = r
                .disk
                .as_ref()
                .and_then(|d| d.persistence.as_ref())
                .map(|p| p.id.as_str());
            reservation
                .volumes
                .iter()
                .any(|v| Some(v.persistence_id.as_str()) == id)
        })
        .cloned()
        .collect();
    let mut taken = match pool.take_demand(&demand) {
        Ok(taken) if volumes.len() == reservation.volumes.len() => taken,
        // The reservation is smaller than the app now needs (its resources cannot change) or
        // lost a volume: it waits, and `/v2/queue` says why.
        Ok(_) => {
            tried.entry(i).or_insert(Some(vec![RejectReason::InsufficientDisk]));
            return None;
        }
        Err(reason) => {
            tried.entry(i).or_insert(Some(vec![reason]));
            return None;
        }
    };
    tried.insert(i, None);
    round.used.insert(reservation.id.clone());
    taken.resources.extend(volumes);
    let placement = Placement {
        agent_id: offer.agent_id.value.clone(),
        hostname: offer.hostname.clone(),
        ports: reservation.ports.clone(),
        resources: taken.resources,
        allocation_role: allocation_role(offer),
    };
    let task_id = instance.next_task_id();
    let task = build_task_info(app, &task_id, &placement);
    let updated = Instance {
        // Wherever it shows up is where it is (an agent may come back under a new id).
        reservation: Some(Reservation {
            agent_id: placement.agent_id.clone(),
            host: placement.hostname.clone(),
            state: ReservationState::Confirmed,
            ..reservation.clone()
        }),
        ..launched_instance(instance, app, &placement, task_id, now)
    };
    Some((i, updated, Action::Launch(Box::new(task))))
}

/// Guarded writes of instance records.
pub(super) type Writes = Vec<(Precondition, Op)>;

/// Step 4: reservations of ours in `offers` that no instance holds are destroyed; new ones
/// that showed up are recorded as confirmed. Returns the guarded writes and, per offer, the
/// operations.
pub(super) fn sweep(state: &store::State, round: &mut Round) -> (Writes, BTreeMap<usize, Vec<offer::Operation>>) {
    let mut writes = Vec::new();
    let mut operations: BTreeMap<usize, Vec<offer::Operation>> = BTreeMap::new();
    let mut confirmed = BTreeSet::new();
    for (i, held) in round.held.iter().enumerate() {
        for (rid, h) in held {
            if round.used.contains(rid) {
                continue;
            }
            let holder = app_id_of_instance(&h.instance_id).and_then(|app| {
                let key = keys::instance(&app, &h.instance_id);
                let entry = state.get(&key)?;
                let Record::Instance(inst) = &entry.record else {
                    return None;
                };
                let r = inst.reservation.as_ref().filter(|r| &r.id == rid)?;
                Some((key, entry.mod_revision, inst, r))
            });
            match holder {
                Some((key, revision, inst, r)) => {
                    if matches!(r.state, ReservationState::New { .. }) && confirmed.insert(key.clone()) {
                        let updated = Instance {
                            reservation: Some(Reservation {
                                state: ReservationState::Confirmed,
                                ..r.clone()
                            }),
                            ..(**inst).clone()
                        };
                        writes.push((
                            Precondition::ModRevision(key.clone(), revision),
                            Op::put(key, Record::Instance(Arc::new(updated))),
                        ));
                    }
                }
                None => {
                    tracing::info!(reservation = %rid, instance = %h.instance_id, "destroying a reservation no instance holds");
                    operations
                        .entry(i)
                        .or_default()
                        .extend(destroy_and_unreserve(&h.resources));
                }
            }
        }
    }
    round.used.extend(round.held.iter().flat_map(|h| h.keys().cloned()));
    (writes, operations)
}

/// DESTROY of a reservation's volumes, then UNRESERVE of all it holds (the volumes' disk
/// included, which DESTROY turned back into reserved disk).
fn destroy_and_unreserve(held: &[Resource]) -> Vec<offer::Operation> {
    let volumes: Vec<Resource> = held.iter().filter(|r| r.disk.is_some()).cloned().collect();
    let unreserve: Vec<Resource> = held
        .iter()
        .cloned()
        .map(|mut r| {
            r.disk = None;
            r
        })
        .collect();
    let mut out = Vec::new();
    if !volumes.is_empty() {
        out.push(offer::Operation {
            r#type: Some(offer::operation::Type::Destroy as i32),
            destroy: Some(offer::operation::Destroy { volumes }),
            ..Default::default()
        });
    }
    out.push(offer::Operation {
        r#type: Some(offer::operation::Type::Unreserve as i32),
        unreserve: Some(offer::operation::Unreserve { resources: unreserve }),
        ..Default::default()
    });
    out
}

/// `r` (taken unreserved from an offer) reserved for `role` with this reservation's labels.
fn reserved(
    mut r: Resource,
    role: &str,
    framework_id: &str,
    instance: &Instance,
    reservation: &Reservation,
    allocation_role: Option<&str>,
) -> Resource {
    let label = |key: &str, value: &str| Label {
        key: key.into(),
        value: Some(value.into()),
    };
    r.role = Some(role.to_owned());
    r.reservations.clear();
    r.reservation = Some(ReservationInfo {
        labels: Some(Labels {
            labels: vec![
                label(FRAMEWORK_LABEL, framework_id),
                label(INSTANCE_LABEL, &instance.instance_id),
                label(RESERVATION_LABEL, &reservation.id),
            ],
        }),
        ..Default::default()
    });
    r.allocation_info = allocation_role.map(|role| resource::AllocationInfo {
        role: Some(role.to_owned()),
    });
    r
}

/// A persistent volume's disk resource (reserved by [`reserved`]).
fn volume_resource(v: &LocalVolume) -> Resource {
    Resource {
        name: "disk".into(),
        r#type: mesos::v1::value::Type::Scalar as i32,
        scalar: Some(mesos::v1::value::Scalar { value: v.size as f64 }),
        disk: Some(resource::DiskInfo {
            persistence: Some(resource::disk_info::Persistence {
                id: v.persistence_id.clone(),
                principal: None,
            }),
            volume: Some(mesos::v1::Volume {
                container_path: v.container_path.clone(),
                mode: mesos::v1::volume::Mode::Rw as i32,
                ..Default::default()
            }),
            source: None,
        }),
        ..Default::default()
    }
}

/// Names the framework's principal (known to the session, not to the planning) as the one
/// that reserves and creates, as Mesos requires of an authenticated framework.
pub(super) fn sign(operations: &mut [offer::Operation], principal: Option<&str>) {
    let Some(principal) = principal else { return };
    for op in operations {
        let list = match (&mut op.reserve, &mut op.create) {
            (Some(r), _) => &mut r.resources,
            (_, Some(c)) => &mut c.volumes,
            _ => continue,
        };
        for r in list {
            if let Some(info) = &mut r.reservation {
                info.principal = Some(principal.to_owned());
            }
            if let Some(p) = r.disk.as_mut().and_then(|d| d.persistence.as_mut()) {
                p.principal = Some(principal.to_owned());
            }
        }
    }
}

#[cfg(test)]
mod tests;
