//! Dynamic reservations and persistent volumes on the local master: RESERVE and CREATE in one
//! ACCEPT, the reservation and volume offered back (only to their role) and used by tasks that
//! see the volume in their sandbox, all of it surviving a restart of the master, DESTROY and
//! UNRESERVE giving the resources back, and invalid operations dropped as Mesos drops them.

mod common;

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail, ensure};
use common::*;
use mesos::local::LocalMaster;
use mesos::v1::framework_info::capability::Type as Capability;
use mesos::v1::resource::{self, ReservationInfo, reservation_info};
use mesos::v1::scheduler::{Call, call, event};
use mesos::v1::{
    Filters, Label, Labels, Offer, OperationId, OperationState, Resource, TaskState, offer, value, volume,
};

const ROLE: &str = "web";

fn web_framework(name: &str, capabilities: &[Capability]) -> mesos::v1::FrameworkInfo {
    let mut caps = vec![Capability::MultiRole];
    caps.extend_from_slice(capabilities);
    mesos::v1::FrameworkInfo {
        roles: vec![ROLE.into()],
        principal: Some("pacer".into()),
        ..framework(name, &caps, 3600.0)
    }
}

fn labels(id: &str) -> Labels {
    Labels {
        labels: vec![Label {
            key: "reservation".into(),
            value: Some(id.into()),
        }],
    }
}

/// `r` reserved for `ROLE` with `label`, in the format without RESERVATION_REFINEMENT.
fn reserved(mut r: Resource, label: &str) -> Resource {
    r.role = Some(ROLE.into());
    r.reservation = Some(ReservationInfo {
        principal: Some("pacer".into()),
        labels: Some(labels(label)),
        ..Default::default()
    });
    r.allocation_info = Some(resource::AllocationInfo {
        role: Some(ROLE.into()),
    });
    r
}

fn volume_resource(id: &str, size: f64, label: &str) -> Resource {
    let mut r = reserved(scalar("disk", size), label);
    r.disk = Some(resource::DiskInfo {
        persistence: Some(resource::disk_info::Persistence {
            id: id.into(),
            principal: Some("pacer".into()),
        }),
        volume: Some(mesos::v1::Volume {
            container_path: "data".into(),
            mode: volume::Mode::Rw as i32,
            ..Default::default()
        }),
        source: None,
    });
    r
}

fn ports_resource(port: u64) -> Resource {
    Resource {
        name: "ports".into(),
        r#type: value::Type::Ranges as i32,
        ranges: Some(value::Ranges {
            range: vec![value::Range { begin: port, end: port }],
        }),
        ..Default::default()
    }
}

/// What one reservation labelled `label` holds: 1 cpu, 64 MB, 100 MB of disk and a port.
fn reservation(label: &str) -> Vec<Resource> {
    vec![
        reserved(scalar("cpus", 1.0), label),
        reserved(scalar("mem", 64.0), label),
        reserved(scalar("disk", 100.0), label),
        reserved(ports_resource(31005), label),
    ]
}

fn op(ty: offer::operation::Type, resources: Vec<Resource>, id: Option<&str>) -> offer::Operation {
    let mut o = offer::Operation {
        r#type: Some(ty as i32),
        id: id.map(|v| OperationId { value: v.into() }),
        ..Default::default()
    };
    use offer::operation::Type as T;
    match ty {
        T::Reserve => {
            o.reserve = Some(offer::operation::Reserve {
                resources,
                source: vec![],
            })
        }
        T::Unreserve => o.unreserve = Some(offer::operation::Unreserve { resources }),
        T::Create => o.create = Some(offer::operation::Create { volumes: resources }),
        T::Destroy => o.destroy = Some(offer::operation::Destroy { volumes: resources }),
        _ => unreachable!("not a resource operation"),
    }
    o
}

fn launch(tasks: Vec<mesos::v1::TaskInfo>) -> offer::Operation {
    offer::Operation {
        r#type: Some(offer::operation::Type::Launch as i32),
        launch: Some(offer::operation::Launch { task_infos: tasks }),
        ..Default::default()
    }
}

async fn accept(sched: &Sched, offer: &Offer, operations: Vec<offer::Operation>) -> Result<()> {
    sched
        .call(Call {
            r#type: Some(call::Type::Accept as i32),
            accept: Some(call::Accept {
                offer_ids: vec![offer.id.clone()],
                operations,
                filters: Some(Filters {
                    refuse_seconds: Some(0.0),
                }),
            }),
            ..Default::default()
        })
        .await?;
    Ok(())
}

/// The resources of `offer` reserved with `label`.
fn labelled<'a>(offer: &'a Offer, label: &str) -> Vec<&'a Resource> {
    offer
        .resources
        .iter()
        .filter(|r| r.reservation.as_ref().and_then(|x| x.labels.as_ref()) == Some(&labels(label)))
        .collect()
}

fn amount(resources: &[&Resource], name: &str) -> f64 {
    resources
        .iter()
        .filter(|r| r.name == name && r.disk.is_none())
        .filter_map(|r| r.scalar.as_ref().map(|s| s.value))
        .sum()
}

/// Whether `offer` holds a persistent volume (none while a task uses it).
fn has_volume(offer: &Offer) -> bool {
    offer.resources.iter().any(|r| r.disk.is_some())
}

fn unreserved_cpus(offer: &Offer) -> f64 {
    offer
        .resources
        .iter()
        .filter(|r| r.name == "cpus" && r.reservation.is_none() && r.role() == "*")
        .filter_map(|r| r.scalar.as_ref().map(|s| s.value))
        .sum()
}

/// Offers until one satisfies `want`; the others are declined with no filter.
async fn offer_where(sched: &mut Sched, want: impl Fn(&Offer) -> bool) -> Result<Offer> {
    let mut last = Vec::new();
    for _ in 0..50 {
        let offers = sched.next_offers().await?;
        last = offers.clone();
        let mut found = None;
        let mut others = Vec::new();
        for o in offers {
            if found.is_none() && want(&o) {
                found = Some(o);
            } else {
                others.push(o.id);
            }
        }
        if !others.is_empty() {
            sched.decline(others, 0.0).await?;
        }
        if let Some(o) = found {
            return Ok(o);
        }
    }
    bail!("no offer as wanted; the last: {last:?}")
}

fn agent_dir(work: &Path) -> PathBuf {
    work.join("test-host")
}

fn volume_dir(work: &Path, id: &str) -> PathBuf {
    agent_dir(work).join("volumes/roles").join(ROLE).join(id)
}

/// A task on reservation `label` with volume `id` that appends a line to `data/log`.
fn appending_task(task_id: &str, offer: &Offer, label: &str, id: &str) -> mesos::v1::TaskInfo {
    let mut t = shell_task(task_id, &offer.agent_id.value, "echo run >> data/log");
    t.resources = vec![
        reserved(scalar("cpus", 0.5), label),
        reserved(scalar("mem", 32.0), label),
        volume_resource(id, 50.0, label),
    ];
    t
}

#[tokio::test]
async fn a_volume_keeps_its_data_across_tasks_and_restarts_until_destroyed() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let work = dir.path();
    let reaper = Reaper::default();
    let master = LocalMaster::start(config(work)).await?;
    let mut sched = Sched::subscribe(&master.transport(), web_framework("res", &[]), &reaper).await?;

    // RESERVE then CREATE in one ACCEPT: the volume is made of the reserved disk.
    let first = sched.next_offers().await?.remove(0);
    ensure!(unreserved_cpus(&first) == 8.0, "{first:?}");
    accept(
        &sched,
        &first,
        vec![
            op(offer::operation::Type::Reserve, reservation("r1"), None),
            op(
                offer::operation::Type::Create,
                vec![volume_resource("v1", 50.0, "r1")],
                None,
            ),
        ],
    )
    .await?;
    let offer = offer_where(&mut sched, |o| !labelled(o, "r1").is_empty()).await?;
    let mine = labelled(&offer, "r1");
    ensure!(amount(&mine, "cpus") == 1.0 && amount(&mine, "mem") == 64.0, "{mine:?}");
    ensure!(
        amount(&mine, "disk") == 50.0,
        "the volume's 50 MB are no longer plain disk: {mine:?}"
    );
    ensure!(unreserved_cpus(&offer) == 7.0);
    let vol = mine
        .iter()
        .find(|r| r.disk.is_some())
        .context("the volume is offered")?;
    ensure!(vol.disk.as_ref().unwrap().persistence.as_ref().unwrap().id == "v1");
    ensure!(vol.role() == ROLE && vol.allocation_info.is_some());
    ensure!(volume_dir(work, "v1").is_dir(), "CREATE makes the volume's directory");

    // A task on the reservation sees the volume at data/ in its sandbox.
    accept(
        &sched,
        &offer,
        vec![launch(vec![appending_task("t1", &offer, "r1", "v1")])],
    )
    .await?;
    sched.await_state("t1", TaskState::TaskFinished).await?;
    ensure!(std::fs::read_to_string(volume_dir(work, "v1").join("log"))? == "run\n");
    ensure!(
        std::fs::symlink_metadata(master.sandbox_dir("t1").context("t1's sandbox")?.join("data"))?.is_symlink(),
        "the volume is a link in the sandbox"
    );

    // Another framework of another role never sees the reservation (ours refuses all of the
    // agent for a while, the volume t1 used included, so that the other gets the rest).
    let held = offer_where(&mut sched, has_volume).await?;
    sched.decline(vec![held.id], 3600.0).await?;
    let mut other = Sched::subscribe(&master.transport(), framework("other", &[], 0.0), &reaper).await?;
    let theirs = other.next_offers().await?.remove(0);
    ensure!(
        theirs
            .resources
            .iter()
            .all(|r| r.role() == "*" && r.reservation.is_none()),
        "{theirs:?}"
    );
    ensure!(unreserved_cpus(&theirs) <= 7.0);
    drop(other);

    master.shutdown().await;
    let master = LocalMaster::start(config(work)).await?;
    let mut sched = Sched::subscribe(&master.transport(), web_framework("res", &[]), &reaper).await?;
    let offer = offer_where(&mut sched, has_volume).await?;
    ensure!(
        amount(&labelled(&offer, "r1"), "cpus") == 1.0,
        "the reservation survives a restart"
    );
    accept(
        &sched,
        &offer,
        vec![launch(vec![appending_task("t2", &offer, "r1", "v1")])],
    )
    .await?;
    sched.await_state("t2", TaskState::TaskFinished).await?;
    ensure!(std::fs::read_to_string(volume_dir(work, "v1").join("log"))? == "run\nrun\n");

    // DESTROY and UNRESERVE: the directory goes and the resources are unreserved again.
    let offer = offer_where(&mut sched, has_volume).await?;
    let mut plain = reservation("r1");
    plain[2] = reserved(scalar("disk", 100.0), "r1");
    accept(
        &sched,
        &offer,
        vec![
            op(
                offer::operation::Type::Destroy,
                vec![volume_resource("v1", 50.0, "r1")],
                None,
            ),
            op(offer::operation::Type::Unreserve, plain, None),
        ],
    )
    .await?;
    let offer = offer_where(&mut sched, |o| unreserved_cpus(o) == 8.0).await?;
    ensure!(offer.resources.iter().all(|r| r.reservation.is_none()), "{offer:?}");
    ensure!(!volume_dir(work, "v1").exists(), "DESTROY removes the volume's data");
    master.shutdown().await;
    let master = LocalMaster::start(config(work)).await?;
    let mut sched = Sched::subscribe(&master.transport(), web_framework("res", &[]), &reaper).await?;
    let offer = sched.next_offers().await?.remove(0);
    ensure!(
        unreserved_cpus(&offer) == 8.0,
        "nothing is reserved after a restart: {offer:?}"
    );
    master.shutdown().await;
    Ok(())
}

/// The next OPERATION_ERROR for `id`, skipping offers.
async fn operation_error(sched: &mut Sched, id: &str) -> Result<String> {
    loop {
        let event = sched.next().await?;
        match event.r#type() {
            event::Type::UpdateOperationStatus => {
                let status = event.update_operation_status.context("status")?.status;
                ensure!(status.operation_id.as_ref().map(|o| o.value.as_str()) == Some(id));
                ensure!(status.state() == OperationState::OperationError);
                return Ok(status.message.unwrap_or_default());
            }
            event::Type::Offers => sched.offers.extend(event.offers.unwrap().offers),
            other => bail!("unexpected {other:?}"),
        }
    }
}

#[tokio::test]
async fn invalid_operations_change_nothing() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let reaper = Reaper::default();
    let master = LocalMaster::start(config(dir.path())).await?;
    let mut sched = Sched::subscribe(&master.transport(), web_framework("bad", &[]), &reaper).await?;
    let offer = sched.next_offers().await?.remove(0);

    let mut star = reserved(scalar("cpus", 1.0), "x");
    star.role = Some("*".into());
    let mut foreign = reserved(scalar("cpus", 1.0), "x");
    foreign.role = Some("db".into());
    let mut refined = reserved(scalar("cpus", 1.0), "x");
    refined.role = None;
    refined.reservation = None;
    refined.reservations = vec![ReservationInfo {
        role: Some(ROLE.into()),
        r#type: Some(reservation_info::Type::Dynamic as i32),
        ..Default::default()
    }];
    let mut unreserved_volume = volume_resource("v", 10.0, "x");
    unreserved_volume.role = None;
    unreserved_volume.reservation = None;
    let cases = [
        (
            op(offer::operation::Type::Reserve, vec![star], Some("star")),
            "other than '*'",
        ),
        (
            op(offer::operation::Type::Reserve, vec![foreign], Some("foreign")),
            "not one of the framework's roles",
        ),
        (
            op(offer::operation::Type::Reserve, vec![refined], Some("refined")),
            "RESERVATION_REFINEMENT",
        ),
        (
            op(
                offer::operation::Type::Reserve,
                vec![reserved(scalar("cpus", 100.0), "x")],
                Some("much"),
            ),
            "do not hold",
        ),
        (
            op(
                offer::operation::Type::Create,
                vec![unreserved_volume],
                Some("unreserved"),
            ),
            "unreserved disk",
        ),
        (
            op(
                offer::operation::Type::Create,
                vec![volume_resource("v", 10.0, "x")],
                Some("unbacked"),
            ),
            "do not hold",
        ),
        (
            op(
                offer::operation::Type::Unreserve,
                vec![reserved(scalar("cpus", 1.0), "x")],
                Some("nothing"),
            ),
            "do not hold",
        ),
    ];
    let mut current = Some(offer);
    for (operation, why) in cases {
        let id = operation.id.clone().unwrap().value;
        let offer = match current.take().or_else(|| sched.offers.pop()) {
            Some(o) => o,
            None => sched.next_offers().await?.remove(0),
        };
        accept(&sched, &offer, vec![operation]).await?;
        let message = operation_error(&mut sched, &id).await?;
        ensure!(message.contains(why), "{id}: {message}");
    }

    // A volume twice, and a task on a volume that does not exist.
    let offer = offer_where(&mut sched, |o| unreserved_cpus(o) == 8.0).await?;
    accept(
        &sched,
        &offer,
        vec![
            op(offer::operation::Type::Reserve, reservation("r"), None),
            op(
                offer::operation::Type::Create,
                vec![volume_resource("v", 10.0, "r")],
                None,
            ),
            op(
                offer::operation::Type::Create,
                vec![volume_resource("v", 10.0, "r")],
                Some("twice"),
            ),
            launch(vec![appending_task("ghost", &offer, "r", "nowhere")]),
        ],
    )
    .await?;
    ensure!(operation_error(&mut sched, "twice").await?.contains("already in use"));
    let status = sched.next_update().await?;
    ensure!(status.state() == TaskState::TaskError, "{status:?}");
    ensure!(status.message().contains("'nowhere'"), "{status:?}");

    // A volume cannot be unreserved before it is destroyed.
    let offer = offer_where(&mut sched, has_volume).await?;
    accept(
        &sched,
        &offer,
        vec![op(
            offer::operation::Type::Unreserve,
            vec![volume_resource("v", 10.0, "r")],
            Some("vol"),
        )],
    )
    .await?;
    ensure!(operation_error(&mut sched, "vol").await?.contains("destroyed before"));
    master.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn refinement_capable_frameworks_see_the_reservations_stack() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let reaper = Reaper::default();
    let master = LocalMaster::start(config(dir.path())).await?;
    let mut sched = Sched::subscribe(
        &master.transport(),
        web_framework("refined", &[Capability::ReservationRefinement]),
        &reaper,
    )
    .await?;
    let offer = sched.next_offers().await?.remove(0);
    let mut cpus = scalar("cpus", 1.0);
    cpus.reservations = vec![ReservationInfo {
        role: Some(ROLE.into()),
        principal: Some("pacer".into()),
        labels: Some(labels("n")),
        r#type: Some(reservation_info::Type::Dynamic as i32),
    }];
    cpus.allocation_info = Some(resource::AllocationInfo {
        role: Some(ROLE.into()),
    });
    accept(
        &sched,
        &offer,
        vec![op(offer::operation::Type::Reserve, vec![cpus.clone()], None)],
    )
    .await?;
    let offer = offer_where(&mut sched, |o| o.resources.iter().any(|r| !r.reservations.is_empty())).await?;
    let mine: Vec<_> = offer.resources.iter().filter(|r| !r.reservations.is_empty()).collect();
    ensure!(mine.len() == 1 && mine[0].reservations == cpus.reservations, "{mine:?}");
    ensure!(mine[0].role.is_none() && mine[0].reservation.is_none());
    master.shutdown().await;
    Ok(())
}
