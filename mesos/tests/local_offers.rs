//! The local master's subscription and allocation behaviour on tokio's paused clock:
//! SUBSCRIBED and HEARTBEAT cadence, decline filters, REVIVE, SUPPRESS, several frameworks,
//! and offers rescinded on failover.

mod common;

use std::time::Duration;

use anyhow::{Context, Result, bail};
use common::*;
use mesos::local::LocalMaster;
use mesos::v1::scheduler::{Event, call, event};
use mesos::v1::{FrameworkId, Offer};
use tokio::time::Instant;

/// The next event of any type, failing after `within` of (virtual) time.
async fn event_within(sched: &mut Sched, within: Duration) -> Result<Event> {
    tokio::time::timeout(within, sched.events.recv())
        .await
        .context("no event in time")?
        .context("stream ended")
}

/// The next OFFERS event, skipping heartbeats, within `within`.
async fn offers_within(sched: &mut Sched, within: Duration) -> Result<Vec<Offer>> {
    let deadline = Instant::now() + within;
    loop {
        let event = tokio::time::timeout_at(deadline, sched.events.recv())
            .await
            .context("no offer in time")?
            .context("stream ended")?;
        match event.r#type() {
            event::Type::Offers => return Ok(event.offers.unwrap().offers),
            event::Type::Heartbeat => continue,
            other => bail!("unexpected {other:?}"),
        }
    }
}

/// Asserts that no offer arrives for `quiet` (heartbeats are fine).
async fn no_offers_for(sched: &mut Sched, quiet: Duration) -> Result<()> {
    match offers_within(sched, quiet).await {
        Ok(offers) => bail!("unexpected offers: {offers:?}"),
        Err(_) => Ok(()),
    }
}

#[tokio::test(start_paused = true)]
async fn subscribed_then_offers_then_heartbeats_every_interval() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let master = LocalMaster::start(config(dir.path())).await?;
    let connection = master.transport().subscribe(framework("hb", &[], 0.0)).await?;
    let mut events = connection.events;
    let start = Instant::now();
    let subscribed = events.recv().await.unwrap();
    assert_eq!(subscribed.r#type(), event::Type::Subscribed);
    let s = subscribed.subscribed.unwrap();
    assert!(s.framework_id.value.ends_with("-0000"), "{}", s.framework_id.value);
    assert_eq!(s.heartbeat_interval_seconds, Some(15.0));
    let info = s.master_info.unwrap();
    assert_eq!(info.ip, 16_777_343, "127.0.0.1 in network order, as Mesos writes it");
    assert!(s.framework_id.value.starts_with(&info.id));
    assert_eq!(events.recv().await.unwrap().r#type(), event::Type::Offers);
    for n in 1..=3 {
        let heartbeat = events.recv().await.unwrap();
        assert_eq!(heartbeat.r#type(), event::Type::Heartbeat);
        assert_eq!(start.elapsed().as_secs(), 15 * n);
    }
    master.shutdown().await;
    assert!(events.recv().await.is_none(), "the stream ends when the master stops");
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn declined_resources_come_back_after_refuse_seconds() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let reaper = Reaper::default();
    let master = LocalMaster::start(config(dir.path())).await?;
    let mut sched = Sched::subscribe(&master.transport(), framework("d", &[], 0.0), &reaper).await?;
    let first = offers_within(&mut sched, Duration::from_secs(1)).await?;
    sched
        .decline(first.iter().map(|o| o.id.clone()).collect(), 30.0)
        .await?;
    let declined_at = Instant::now();
    let again = offers_within(&mut sched, Duration::from_secs(60)).await?;
    let waited = declined_at.elapsed();
    assert!(
        waited >= Duration::from_secs(30) && waited < Duration::from_secs(32),
        "re-offered after {waited:?}"
    );
    assert_ne!(again[0].id, first[0].id, "offer ids are never reused");
    assert_eq!(again[0].resources, first[0].resources);

    // REVIVE drops the filter at once.
    sched.decline(vec![again[0].id.clone()], 1000.0).await?;
    no_offers_for(&mut sched, Duration::from_secs(100)).await?;
    sched.simple(call::Type::Revive).await?;
    let revived_at = Instant::now();
    offers_within(&mut sched, Duration::from_secs(1)).await?;
    assert!(revived_at.elapsed() < Duration::from_secs(1));
    master.shutdown().await;
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn suppress_stops_offers_until_revive() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let reaper = Reaper::default();
    let master = LocalMaster::start(config(dir.path())).await?;
    let mut sched = Sched::subscribe(&master.transport(), framework("s", &[], 0.0), &reaper).await?;
    let offer = offers_within(&mut sched, Duration::from_secs(1)).await?.remove(0);
    sched.simple(call::Type::Suppress).await?;
    sched.decline(vec![offer.id], 0.0).await?;
    no_offers_for(&mut sched, Duration::from_secs(3600)).await?;
    sched.simple(call::Type::Revive).await?;
    offers_within(&mut sched, Duration::from_secs(1)).await?;
    master.shutdown().await;
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn a_second_framework_gets_what_the_first_declines() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let reaper = Reaper::default();
    let master = LocalMaster::start(config(dir.path())).await?;
    let transport = master.transport();
    let mut a = Sched::subscribe(&transport, framework("a", &[], 0.0), &reaper).await?;
    let offer = offers_within(&mut a, Duration::from_secs(1)).await?.remove(0);
    let mut b = Sched::subscribe(&transport, framework("b", &[], 0.0), &reaper).await?;
    // Everything is offered to `a`; `b` waits.
    no_offers_for(&mut b, Duration::from_secs(10)).await?;
    a.decline(vec![offer.id.clone()], 60.0).await?;
    let to_b = offers_within(&mut b, Duration::from_secs(1)).await?.remove(0);
    assert_eq!(to_b.framework_id.value, b.framework_id);
    assert_eq!(to_b.resources, offer.resources);
    // `a` cannot use what is now `b`'s offer.
    a.launch(&[&to_b], vec![shell_task("x", &to_b.agent_id.value, "true")], None)
        .await?;
    let status = a.next_update().await?;
    assert_eq!(status.state(), mesos::v1::TaskState::TaskLost);
    master.shutdown().await;
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn failover_rescinds_the_old_instances_offers() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let reaper = Reaper::default();
    let master = LocalMaster::start(config(dir.path())).await?;
    let transport = master.transport();
    let mut old = Sched::subscribe(&transport, framework("f", &[], 60.0), &reaper).await?;
    let offer = offers_within(&mut old, Duration::from_secs(1)).await?.remove(0);

    let mut info = framework("f", &[], 60.0);
    info.id = Some(FrameworkId {
        value: old.framework_id.clone(),
    });
    let mut new = Sched::subscribe(&transport, info, &reaper).await?;
    assert_eq!(new.framework_id, old.framework_id);
    let rescind = event_within(&mut new, Duration::from_secs(1)).await?;
    assert_eq!(rescind.r#type(), event::Type::Rescind);
    assert_eq!(rescind.rescind.unwrap().offer_id, offer.id);
    offers_within(&mut new, Duration::from_secs(1)).await?;

    let error = event_within(&mut old, Duration::from_secs(1)).await?;
    assert_eq!(error.r#type(), event::Type::Error);
    assert_eq!(error.error.unwrap().message, "Framework failed over");
    assert!(old.events.recv().await.is_none(), "the old stream is closed");
    let err = old.simple(call::Type::Revive).await.unwrap_err();
    assert!(matches!(err, mesos::TransportError::Disconnected), "{err}");
    master.shutdown().await;
    Ok(())
}
