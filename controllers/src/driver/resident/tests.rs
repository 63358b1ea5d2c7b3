use std::sync::Arc;

use mesos::v1::{AgentId, FrameworkId, OfferId, resource, value};
use schemas::{AppDefinition, Goal, Instance, Record, ReservationState, TaskState, Timestamp};
use store::{Op, WriteRequest, keys};

use super::*;

const ROLE: &str = "pacer";

fn scalar(name: &str, v: f64) -> Resource {
    Resource {
        name: name.into(),
        r#type: value::Type::Scalar as i32,
        scalar: Some(value::Scalar { value: v }),
        role: Some("*".into()),
        allocation_info: Some(resource::AllocationInfo {
            role: Some(ROLE.into()),
        }),
        ..Default::default()
    }
}

fn offer(id: &str, agent: &str, resources: Vec<Resource>) -> Offer {
    Offer {
        id: OfferId { value: id.into() },
        framework_id: FrameworkId { value: "fw".into() },
        agent_id: AgentId { value: agent.into() },
        hostname: format!("host-{agent}"),
        resources,
        allocation_info: Some(resource::AllocationInfo {
            role: Some(ROLE.into()),
        }),
        ..Default::default()
    }
}

fn unreserved(id: &str, agent: &str) -> Offer {
    let mut ports = scalar("ports", 0.0);
    ports.r#type = value::Type::Ranges as i32;
    ports.scalar = None;
    ports.ranges = Some(value::Ranges {
        range: vec![value::Range {
            begin: 31000,
            end: 31010,
        }],
    });
    offer(
        id,
        agent,
        vec![
            scalar("cpus", 4.0),
            scalar("mem", 4096.0),
            scalar("disk", 1000.0),
            ports,
        ],
    )
}

/// A state with resident app `/db` and one waiting instance of it.
fn resident_state() -> (store::State, Instance) {
    let app: AppDefinition = serde_json::from_value(serde_json::json!({
        "id": "/db", "cmd": "x", "cpus": 0.5, "mem": 64, "disk": 10, "role": ROLE,
        "portDefinitions": [{"port": 0}],
        "container": {"type": "MESOS", "volumes": [
            {"containerPath": "data", "mode": "RW", "persistent": {"size": 100}}
        ]}
    }))
    .unwrap();
    let mut state = store::State::default();
    let i = Instance::new(&app, Timestamp::from_millis(1));
    state.apply(WriteRequest {
        preconditions: vec![],
        ops: vec![
            Op::put(
                keys::instance(&app.id, &i.instance_id),
                Record::Instance(Arc::new(i.clone())),
            ),
            Op::put(keys::app(&app.id), Record::App(Arc::new(app))),
        ],
    });
    (state, i)
}

fn instance(state: &store::State, i: &Instance) -> Option<Instance> {
    match state.get(&keys::instance(&i.app_id, &i.instance_id)).map(|e| &e.record) {
        Some(Record::Instance(inst)) => Some((**inst).clone()),
        _ => None,
    }
}

/// Plans one candidate over `offers` and applies its write; returns what it planned.
fn plan_one(
    state: &mut store::State,
    i: &Instance,
    offers: &[Offer],
) -> (Option<Planned>, BTreeMap<usize, Option<Vec<RejectReason>>>) {
    let mut resources: Vec<OfferResources> = offers.iter().map(OfferResources::from_offer).collect();
    let mut round = Round::of(offers);
    let mut tried = BTreeMap::new();
    let planned = plan_candidate(
        state,
        offers,
        &mut resources,
        &mut round,
        &i.app_id,
        &i.instance_id,
        &|_| true,
        &mut tried,
        Timestamp::from_millis(10),
    )
    .expect("a resident candidate");
    if let Some(p) = &planned {
        state.apply(WriteRequest {
            preconditions: vec![p.precondition.clone()],
            ops: vec![p.op.clone()],
        });
    }
    (planned, tried)
}

fn operations(p: &Planned) -> &[offer::Operation] {
    match &p.action {
        Action::Operations(ops) => ops,
        Action::Launch(_) => panic!("expected operations"),
    }
}

/// What a master offers back after RESERVE and CREATE: the reserved resources, the plain
/// disk less the volumes, and the volumes.
fn offered_back(ops: &[offer::Operation]) -> Vec<Resource> {
    let reserve = ops[0].reserve.as_ref().unwrap().resources.clone();
    let volumes = ops[1].create.as_ref().unwrap().volumes.clone();
    let volume_disk: f64 = volumes.iter().map(|v| v.scalar.as_ref().unwrap().value).sum();
    let mut out: Vec<Resource> = reserve
        .into_iter()
        .map(|mut r| {
            if r.name == "disk" {
                r.scalar.as_mut().unwrap().value -= volume_disk;
            }
            r
        })
        .collect();
    out.extend(volumes);
    out
}

#[test]
fn reserves_and_creates_then_launches_on_the_reservation_only() {
    let (mut state, i) = resident_state();
    let (planned, _) = plan_one(&mut state, &i, &[unreserved("o1", "a1")]);
    let planned = planned.expect("reserved");
    assert!(planned.reserved);
    let ops = operations(&planned).to_vec();
    let types: Vec<_> = ops.iter().map(|o| o.r#type()).collect();
    assert_eq!(types, [offer::operation::Type::Reserve, offer::operation::Type::Create]);
    let reserve = &ops[0].reserve.as_ref().unwrap().resources;
    assert!(
        reserve
            .iter()
            .all(|r| r.role() == ROLE && r.reservation.is_some() && r.reservations.is_empty())
    );
    let disk: f64 = reserve
        .iter()
        .filter(|r| r.name == "disk")
        .map(|r| r.scalar.as_ref().unwrap().value)
        .sum();
    assert_eq!(disk, 110.0, "the sandbox's disk and the volume's");
    let recorded = instance(&state, &i).unwrap();
    let r = recorded.reservation.clone().expect("recorded before the ACCEPT");
    assert!(matches!(r.state, ReservationState::New { .. }));
    assert_eq!((r.agent_id.as_str(), r.ports.as_slice()), ("a1", &[31000][..]));
    assert_eq!(r.volumes.len(), 1);
    assert!(r.volumes[0].persistence_id.starts_with("db#data#"));
    assert_eq!(label(&reserve[0], INSTANCE_LABEL), Some(i.instance_id.as_str()));
    assert_eq!(label(&reserve[0], RESERVATION_LABEL), Some(r.id.as_str()));
    assert_eq!(label(&reserve[0], FRAMEWORK_LABEL), Some("fw"));
    let create = &ops[1].create.as_ref().unwrap().volumes;
    assert_eq!(
        create[0].disk.as_ref().unwrap().persistence.as_ref().unwrap().id,
        r.volumes[0].persistence_id
    );

    // Another agent's offer is no use: the instance is pinned to its reservation.
    let (planned, tried) = plan_one(&mut state, &recorded, &[unreserved("o2", "a2")]);
    assert!(planned.is_none());
    assert_eq!(tried[&0], Some(vec![RejectReason::NoCorrespondingReservationFound]));

    let mut back = offered_back(&ops);
    back.extend(unreserved("o3", "a1").resources);
    let (planned, _) = plan_one(
        &mut state,
        &recorded,
        &[unreserved("o4", "a2"), offer("o3", "a1", back)],
    );
    let planned = planned.expect("launched");
    assert_eq!(planned.offer, 1);
    let Action::Launch(task) = &planned.action else {
        panic!("a launch")
    };
    assert!(
        task.resources.iter().all(|r| r.role() == ROLE),
        "only reserved resources: {:?}",
        task.resources
    );
    assert!(task.resources.iter().any(|r| r.disk.is_some()), "with its volume");
    let cpus: f64 = task
        .resources
        .iter()
        .filter(|r| r.name == "cpus")
        .map(|r| r.scalar.as_ref().unwrap().value)
        .sum();
    assert_eq!(cpus, 0.5);
    let launched = instance(&state, &i).unwrap();
    assert_eq!(launched.task.as_ref().unwrap().state, TaskState::TASK_PROVISIONED);
    assert_eq!(launched.task.as_ref().unwrap().ports, [31000]);
    assert_eq!(
        launched.reservation.as_ref().unwrap().state,
        ReservationState::Confirmed
    );
}

#[test]
fn a_decommissioned_instance_destroys_its_volumes_and_is_forgotten() {
    let (mut state, i) = resident_state();
    let (planned, _) = plan_one(&mut state, &i, &[unreserved("o1", "a1")]);
    let back = offered_back(operations(&planned.unwrap()));
    let mut wiped = instance(&state, &i).unwrap();
    wiped.goal = Goal::Decommissioned;
    state.apply(WriteRequest {
        preconditions: vec![],
        ops: vec![Op::put(
            keys::instance(&i.app_id, &i.instance_id),
            Record::Instance(Arc::new(wiped.clone())),
        )],
    });
    let (planned, _) = plan_one(&mut state, &wiped, &[offer("o2", "a1", back)]);
    let ops = operations(planned.as_ref().unwrap()).to_vec();
    assert_eq!(ops[0].r#type(), offer::operation::Type::Destroy);
    assert_eq!(ops[1].r#type(), offer::operation::Type::Unreserve);
    assert!(
        ops[1]
            .unreserve
            .as_ref()
            .unwrap()
            .resources
            .iter()
            .all(|r| r.disk.is_none())
    );
    assert!(instance(&state, &i).is_none(), "forgotten before the ACCEPT");
}

#[test]
fn reservations_no_instance_holds_are_destroyed_and_new_ones_confirmed() {
    let (mut state, i) = resident_state();
    let (planned, _) = plan_one(&mut state, &i, &[unreserved("o1", "a1")]);
    let back = offered_back(operations(&planned.unwrap()));
    let offers = [offer("o2", "a1", back.clone())];
    let mut round = Round::of(&offers);
    assert!(round.any());
    let (writes, ops) = sweep(&state, &mut round);
    assert!(ops.is_empty(), "the instance holds it");
    assert_eq!(writes.len(), 1, "seen: confirmed");
    state.apply(WriteRequest {
        preconditions: vec![writes[0].0.clone()],
        ops: vec![writes[0].1.clone()],
    });
    assert_eq!(
        instance(&state, &i).unwrap().reservation.unwrap().state,
        ReservationState::Confirmed
    );

    state.apply(WriteRequest {
        preconditions: vec![],
        ops: vec![Op::delete(keys::instance(&i.app_id, &i.instance_id))],
    });
    let mut round = Round::of(&offers);
    let (writes, ops) = sweep(&state, &mut round);
    assert!(writes.is_empty());
    let types: Vec<_> = ops[&0].iter().map(|o| o.r#type()).collect();
    assert_eq!(
        types,
        [offer::operation::Type::Destroy, offer::operation::Type::Unreserve]
    );

    // Another framework's reservations are not ours to touch.
    let mut theirs = offers[0].clone();
    theirs.framework_id.value = "other".into();
    assert!(!Round::of(&[theirs]).any());
}

#[test]
fn the_principal_signs_reservations_and_volumes() {
    let (mut state, i) = resident_state();
    let (planned, _) = plan_one(&mut state, &i, &[unreserved("o1", "a1")]);
    let mut ops = operations(&planned.unwrap()).to_vec();
    sign(&mut ops, Some("pacer-principal"));
    let reserve = &ops[0].reserve.as_ref().unwrap().resources;
    assert!(
        reserve
            .iter()
            .all(|r| r.reservation.as_ref().unwrap().principal.as_deref() == Some("pacer-principal"))
    );
    let volume = &ops[1].create.as_ref().unwrap().volumes[0];
    assert_eq!(
        volume
            .disk
            .as_ref()
            .unwrap()
            .persistence
            .as_ref()
            .unwrap()
            .principal
            .as_deref(),
        Some("pacer-principal")
    );
}
