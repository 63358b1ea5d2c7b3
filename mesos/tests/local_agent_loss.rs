//! Agents that go away and come back, through the in-process transport: offers stop and are
//! rescinded, tasks turn TASK_UNREACHABLE after the missed pings (on tokio's paused clock where
//! the timing matters) while their processes keep running, updates wait on the agent, a
//! returning agent announces its tasks again, MARK_AGENT_GONE kills them for good, and all of
//! it survives a restart of the master.

mod common;

use std::time::Duration;

use anyhow::{Context, Result, bail, ensure};
use common::*;
use mesos::local::{AgentError, AgentState, LocalMaster, LocalMasterConfig};
use mesos::v1::framework_info::capability::Type as Cap;
use mesos::v1::scheduler::{Event, call, event};
use mesos::v1::task_status::{Reason, Source};
use mesos::v1::{AgentId, Offer, TaskId, TaskState, TaskStatus};
use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use tokio::time::Instant;

/// Agents `a` and `b` (disjoint ports), with pings timing out as given.
fn two_agents(dir: &std::path::Path, ping: Duration, pings: u32) -> LocalMasterConfig {
    let mut b = agent_config("b");
    b.resources.ports = vec![(32000, 32100)];
    LocalMasterConfig {
        agents: vec![agent_config("a"), b],
        agent_ping_timeout: ping,
        max_agent_ping_timeouts: pings,
        ..config(dir)
    }
}

/// The next event other than a heartbeat, within `within` (of virtual time, when paused).
async fn event_within(sched: &mut Sched, within: Duration) -> Result<Event> {
    let deadline = Instant::now() + within;
    loop {
        let event = tokio::time::timeout_at(deadline, sched.events.recv())
            .await
            .context("no event in time")?
            .context("stream ended")?;
        if event.r#type() != event::Type::Heartbeat {
            return Ok(event);
        }
    }
}

/// The next update within `within`; offers on the way are kept, rescinded ones dropped.
async fn update_within(sched: &mut Sched, within: Duration) -> Result<TaskStatus> {
    let deadline = Instant::now() + within;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let event = event_within(sched, left).await?;
        match event.r#type() {
            event::Type::Update => return Ok(event.update.unwrap().status),
            event::Type::Offers => sched.offers.extend(event.offers.unwrap().offers),
            event::Type::Rescind => {
                let id = event.rescind.unwrap().offer_id;
                sched.offers.retain(|o| o.id != id);
            }
            other => bail!("unexpected {other:?}: {event:?}"),
        }
    }
}

/// Waits (a minute at most) until an offer of `hostname` is held; returns it.
async fn offer_of(sched: &mut Sched, hostname: &str) -> Result<Offer> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(o) = sched.offers.iter().find(|o| o.hostname == hostname) {
            return Ok(o.clone());
        }
        let left = deadline.saturating_duration_since(Instant::now());
        let event = event_within(sched, left).await?;
        match event.r#type() {
            event::Type::Offers => sched.offers.extend(event.offers.unwrap().offers),
            event::Type::Rescind => {
                let id = event.rescind.unwrap().offer_id;
                sched.offers.retain(|o| o.id != id);
            }
            other => bail!("unexpected {other:?}: {event:?}"),
        }
    }
}

/// Offers until one of each agent is held (anything else is an error).
async fn offers_of_both(sched: &mut Sched) -> Result<(Offer, Offer)> {
    loop {
        let a = sched.offers.iter().position(|o| o.hostname == "a");
        let b = sched.offers.iter().position(|o| o.hostname == "b");
        if let (Some(a), Some(b)) = (a, b) {
            let (a, b) = (sched.offers[a].clone(), sched.offers[b].clone());
            sched.offers.clear();
            return Ok((a, b));
        }
        let more = sched.next_offers().await?;
        sched.offers.extend(more);
    }
}

/// Launches a `sleep` on the agent of `offer`, acknowledges it to RUNNING; its pid.
async fn run_sleeper(sched: &mut Sched, offer: &Offer, id: &str) -> Result<u32> {
    let task = exec_task(id, &offer.agent_id.value, &["sleep", "600"]);
    sched.launch(&[offer], vec![task], Some(0.0)).await?;
    let running = sched.await_state(id, TaskState::TaskRunning).await?;
    Ok(pid_of(&running))
}

async fn kill_on(sched: &Sched, task_id: &str, agent_id: &str) -> Result<()> {
    sched
        .call(mesos::v1::scheduler::Call {
            r#type: Some(call::Type::Kill as i32),
            kill: Some(call::Kill {
                task_id: TaskId { value: task_id.into() },
                agent_id: Some(AgentId { value: agent_id.into() }),
                kill_policy: None,
            }),
            ..Default::default()
        })
        .await?;
    Ok(())
}

async fn state_of(master: &LocalMaster, hostname: &str) -> Result<AgentState> {
    let agents = master.agents().list().await?;
    Ok(agents
        .iter()
        .find(|a| a.hostname == hostname)
        .context("agent listed")?
        .state)
}

// Tasks run on the real clock (processes take real time to start and end); what depends on
// the ping timeout runs on the paused clock in between.
#[tokio::test]
async fn an_agent_that_goes_away_is_unreachable_after_its_pings_and_announced_again_when_back() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let reaper = Reaper::default();
    // Mesos's defaults: unreachable after 5 pings of 15 s.
    let master = LocalMaster::start(two_agents(dir.path(), Duration::from_secs(15), 5)).await?;
    let info = framework("pa", &[Cap::PartitionAware], 3600.0);
    let mut sched = Sched::subscribe(&master.transport(), info, &reaper).await?;
    let (on_a, _) = offers_of_both(&mut sched).await?;
    let agent_a = on_a.agent_id.value.clone();
    let pid = run_sleeper(&mut sched, &on_a, "t1").await?;
    // What the launch left of `a` is offered again.
    offer_of(&mut sched, "a").await?;

    tokio::time::pause();
    let gone_at = Instant::now();
    let status = master.agents().disconnect("a").await?;
    assert_eq!(
        (status.state, status.id.as_str(), status.tasks),
        (AgentState::Disconnected, agent_a.as_str(), 1)
    );
    assert!(status.since.is_some());
    // Its outstanding offer is rescinded and nothing of it is offered any more.
    let rescind = event_within(&mut sched, Duration::from_secs(1)).await?;
    assert_eq!(rescind.r#type(), event::Type::Rescind, "{rescind:?}");
    sched.offers.clear();
    sched.simple(call::Type::Revive).await?;

    let unreachable = update_within(&mut sched, Duration::from_secs(120)).await?;
    let waited = gone_at.elapsed();
    assert!(
        waited >= Duration::from_secs(75) && waited < Duration::from_secs(76),
        "unreachable after {waited:?}"
    );
    assert_eq!(unreachable.state(), TaskState::TaskUnreachable);
    assert_eq!(unreachable.reason(), Reason::AgentRemoved);
    assert_eq!(unreachable.source(), Source::Master);
    assert_eq!(unreachable.agent_id.as_ref().unwrap().value, agent_a);
    assert!(unreachable.unreachable_time.is_some(), "{unreachable:?}");
    assert!(unreachable.uuid.is_none(), "the master's updates are not acknowledged");
    assert!(sched.offers.iter().all(|o| o.hostname == "b"), "{:?}", sched.offers);
    assert_eq!(state_of(&master, "a").await?, AgentState::Unreachable);
    // The process runs on, as on a machine cut off from the master.
    assert!(group_alive(pid));

    // The master answers for the task: unreachable.
    sched.reconcile(&["t1"]).await?;
    let answer = update_within(&mut sched, Duration::from_secs(1)).await?;
    assert_eq!(
        (answer.state(), answer.reason()),
        (TaskState::TaskUnreachable, Reason::Reconciliation)
    );
    assert!(answer.unreachable_time.is_some());
    // A KILL cannot reach it: answered like a reconciliation, and not delivered later.
    kill_on(&sched, "t1", &agent_a).await?;
    let answer = update_within(&mut sched, Duration::from_secs(1)).await?;
    assert_eq!(answer.state(), TaskState::TaskUnreachable);
    assert!(group_alive(pid));

    let status = master.agents().reconnect(&agent_a).await?;
    assert_eq!((status.state, status.since), (AgentState::Connected, None));
    let back = update_within(&mut sched, Duration::from_secs(1)).await?;
    assert_eq!(back.state(), TaskState::TaskRunning);
    assert_eq!(back.reason(), Reason::AgentReregistered);
    assert_eq!(back.source(), Source::Master);
    assert!(back.uuid.is_none());
    // Offered again, and the task still runs: the framework decides what happens to it.
    offer_of(&mut sched, "a").await?;
    assert!(group_alive(pid));
    tokio::time::resume();
    sched.kill("t1").await?;
    sched.await_state("t1", TaskState::TaskKilled).await?;
    master.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn an_agent_back_within_its_pings_is_never_unreachable_and_gets_the_kills_it_missed() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let reaper = Reaper::default();
    let master = LocalMaster::start(two_agents(dir.path(), Duration::from_secs(15), 5)).await?;
    let info = framework("pa", &[Cap::PartitionAware], 3600.0);
    let mut sched = Sched::subscribe(&master.transport(), info, &reaper).await?;
    let (on_a, _) = offers_of_both(&mut sched).await?;
    let pid = run_sleeper(&mut sched, &on_a, "t1").await?;

    tokio::time::pause();
    master.agents().disconnect("a").await?;
    tokio::time::sleep(Duration::from_secs(30)).await;
    // Kept for the agent, which may come back in time.
    sched.kill("t1").await?;
    tokio::time::sleep(Duration::from_secs(30)).await;
    assert!(group_alive(pid), "the kill waits for the agent");
    master.agents().reconnect("a").await?;
    tokio::time::resume();
    let killed = loop {
        let update = update_within(&mut sched, Duration::from_secs(120)).await?;
        assert_ne!(update.state(), TaskState::TaskUnreachable, "{update:?}");
        sched.ack(&update).await?;
        if update.state() == TaskState::TaskKilled {
            break update;
        }
    };
    assert_eq!(killed.source(), Source::Executor);
    wait_until("the killed task's group is gone", || !group_alive(pid)).await?;
    // Long after the first ping timeout: nothing more.
    tokio::time::pause();
    if let Ok(update) = update_within(&mut sched, Duration::from_secs(200)).await {
        bail!("unexpected update {update:?}");
    }
    master.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn updates_wait_on_an_agent_that_went_away_and_follow_its_announcement_when_back() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let reaper = Reaper::default();
    let master = LocalMaster::start(two_agents(dir.path(), Duration::from_millis(100), 2)).await?;
    let info = framework("pa", &[Cap::PartitionAware], 3600.0);
    let mut sched = Sched::subscribe(&master.transport(), info, &reaper).await?;
    let (on_a, _) = offers_of_both(&mut sched).await?;
    let pid = run_sleeper(&mut sched, &on_a, "t1").await?;

    master.agents().disconnect("a").await?;
    // The task dies while its agent is away: the agent knows, the master does not.
    killpg(Pid::from_raw(pid as i32), Signal::SIGKILL)?;
    wait_until("the task's group is gone", || !group_alive(pid)).await?;
    let unreachable = update_within(&mut sched, WAIT).await?;
    assert_eq!(unreachable.state(), TaskState::TaskUnreachable);
    sched.reconcile(&["t1"]).await?;
    let answer = update_within(&mut sched, WAIT).await?;
    assert_eq!(answer.state(), TaskState::TaskUnreachable);

    master.agents().reconnect("a").await?;
    let from_master = update_within(&mut sched, WAIT).await?;
    assert_eq!(
        (from_master.state(), from_master.source(), from_master.reason()),
        (TaskState::TaskFailed, Source::Master, Reason::AgentReregistered)
    );
    let from_agent = update_within(&mut sched, WAIT).await?;
    assert_eq!(from_agent.state(), TaskState::TaskFailed);
    assert!(from_agent.uuid.is_some(), "the agent's own update, to acknowledge");
    sched.ack(&from_agent).await?;
    // Acknowledged, the task is forgotten.
    sched.reconcile(&["t1"]).await?;
    let answer = update_within(&mut sched, WAIT).await?;
    assert_eq!(answer.state(), TaskState::TaskUnknown);
    master.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn a_framework_that_is_not_partition_aware_hears_lost_and_its_task_does_not_come_back() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let reaper = Reaper::default();
    let master = LocalMaster::start(two_agents(dir.path(), Duration::from_millis(100), 2)).await?;
    let mut sched = Sched::subscribe(&master.transport(), framework("old", &[], 3600.0), &reaper).await?;
    let (on_a, _) = offers_of_both(&mut sched).await?;
    let pid = run_sleeper(&mut sched, &on_a, "t1").await?;
    master.agents().disconnect("a").await?;
    let lost = update_within(&mut sched, WAIT).await?;
    assert_eq!(
        (lost.state(), lost.reason()),
        (TaskState::TaskLost, Reason::AgentRemoved)
    );
    assert!(group_alive(pid));
    master.agents().reconnect("a").await?;
    sched.await_state("t1", TaskState::TaskKilled).await?;
    wait_until("the lost task's group is gone", || !group_alive(pid)).await?;
    master.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn an_agent_marked_gone_loses_its_tasks_for_good_and_rejoins_as_a_new_agent() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let reaper = Reaper::default();
    let master = LocalMaster::start(two_agents(dir.path(), Duration::from_secs(15), 5)).await?;
    let info = framework("pa", &[Cap::PartitionAware], 3600.0);
    let mut sched = Sched::subscribe(&master.transport(), info, &reaper).await?;
    let (on_a, _) = offers_of_both(&mut sched).await?;
    let agent_a = on_a.agent_id.value.clone();
    let pid = run_sleeper(&mut sched, &on_a, "t1").await?;

    // Gone while unreachable or not: here while connected.
    assert!(
        matches!(master.agents().mark_gone("a").await, Err(AgentError::NotFound(_))),
        "MARK_AGENT_GONE names an agent id"
    );
    let status = master.agents().mark_gone(&agent_a).await?;
    assert_eq!((status.state, status.tasks), (AgentState::Gone, 0));
    let gone = loop {
        let update = update_within(&mut sched, WAIT).await?;
        if update.task_id.value == "t1" {
            break update;
        }
    };
    assert_eq!(gone.state(), TaskState::TaskGoneByOperator);
    assert_eq!(gone.reason(), Reason::AgentRemovedByOperator);
    assert_eq!(gone.source(), Source::Master);
    wait_until("the gone agent's task is dead", || !group_alive(pid)).await?;

    // The master answers for it from then on.
    sched
        .call(mesos::v1::scheduler::Call {
            r#type: Some(call::Type::Reconcile as i32),
            reconcile: Some(call::Reconcile {
                tasks: vec![call::reconcile::Task {
                    task_id: TaskId { value: "t1".into() },
                    agent_id: Some(AgentId { value: agent_a.clone() }),
                }],
            }),
            ..Default::default()
        })
        .await?;
    let answer = update_within(&mut sched, WAIT).await?;
    assert_eq!(
        (answer.state(), answer.reason()),
        (TaskState::TaskGoneByOperator, Reason::Reconciliation)
    );
    kill_on(&sched, "t1", &agent_a).await?;
    assert_eq!(
        update_within(&mut sched, WAIT).await?.state(),
        TaskState::TaskGoneByOperator
    );
    assert!(matches!(
        master.agents().disconnect("a").await,
        Err(AgentError::Gone(_))
    ));
    sched.simple(call::Type::Revive).await?;
    tokio::time::sleep(Duration::from_millis(300)).await;
    while let Ok(event) = tokio::time::timeout(Duration::from_millis(100), sched.events.recv()).await {
        if let Some(offers) = event.and_then(|e| e.offers) {
            ensure!(
                offers.offers.iter().all(|o| o.hostname == "b"),
                "a gone agent is never offered"
            );
        }
    }

    // Back, it is a new agent.
    let rejoined = master.agents().reconnect("a").await?;
    assert_eq!(rejoined.state, AgentState::Connected);
    assert_ne!(rejoined.id, agent_a);
    sched.offers.clear();
    let offer = offer_of(&mut sched, "a").await?;
    assert_eq!(offer.agent_id.value, rejoined.id);
    master.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn an_agent_that_went_away_stays_away_across_a_restart() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let reaper = Reaper::default();
    let config = two_agents(dir.path(), Duration::from_millis(100), 2);
    let master = LocalMaster::start(config.clone()).await?;
    let info = framework("pa", &[Cap::PartitionAware], 3600.0);
    let mut sched = Sched::subscribe(&master.transport(), info.clone(), &reaper).await?;
    let (on_a, on_b) = offers_of_both(&mut sched).await?;
    let pid_a = run_sleeper(&mut sched, &on_a, "on-a").await?;
    let pid_b = run_sleeper(&mut sched, &on_b, "on-b").await?;
    master.agents().disconnect("a").await?;
    assert_eq!(
        update_within(&mut sched, WAIT).await?.state(),
        TaskState::TaskUnreachable
    );
    let agent_b = on_b.agent_id.value.clone();
    master.agents().mark_gone(&agent_b).await?;
    assert_eq!(
        update_within(&mut sched, WAIT).await?.state(),
        TaskState::TaskGoneByOperator
    );
    master.shutdown().await;
    drop(sched);

    let master = LocalMaster::start(config).await?;
    assert_eq!(state_of(&master, "a").await?, AgentState::Unreachable);
    assert_eq!(state_of(&master, "b").await?, AgentState::Gone);
    let info = mesos::v1::FrameworkInfo {
        id: Some(mesos::v1::FrameworkId {
            value: on_a.framework_id.value.clone(),
        }),
        ..info
    };
    let mut sched = Sched::subscribe(&master.transport(), info, &reaper).await?;
    sched.reconcile(&["on-a"]).await?;
    let answer = update_within(&mut sched, WAIT).await?;
    assert_eq!(answer.state(), TaskState::TaskUnreachable, "{answer:?}");
    assert!(group_alive(pid_a), "re-adopted, still running");
    assert!(!group_alive(pid_b));
    // Neither agent is offered.
    tokio::time::sleep(Duration::from_millis(300)).await;
    ensure!(sched.offers.is_empty() && sched.events.is_empty(), "{:?}", sched.offers);

    master.agents().reconnect("a").await?;
    let back = update_within(&mut sched, WAIT).await?;
    assert_eq!(
        (back.state(), back.reason()),
        (TaskState::TaskRunning, Reason::AgentReregistered)
    );
    sched.kill("on-a").await?;
    sched.await_state("on-a", TaskState::TaskKilled).await?;
    master.shutdown().await;
    Ok(())
}

/// Serves the master's HTTP API on a loopback port; its base URL.
async fn serve(master: &LocalMaster) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = master.http_api();
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}")
}

#[tokio::test]
async fn operators_act_on_agents_over_http() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let mut config = two_agents(dir.path(), Duration::from_secs(15), 5);
    let mut twin = agent_config("b");
    twin.resources.ports = vec![(33000, 33010)];
    config.agents.push(twin);
    let master = LocalMaster::start(config).await?;
    let url = serve(&master).await;
    let http = reqwest::Client::new();

    let listed: serde_json::Value = http.get(format!("{url}/local/agents")).send().await?.json().await?;
    let agents = listed["agents"].as_array().context("agents")?;
    assert_eq!(agents.len(), 3);
    assert_eq!(agents[0]["hostname"], "a");
    assert_eq!(agents[0]["state"], "CONNECTED");
    assert_eq!(agents[0]["since"], serde_json::Value::Null);
    assert_eq!(agents[0]["tasks"], 0);
    let id_a = agents[0]["id"].as_str().context("id")?.to_owned();
    let id_b = agents[1]["id"].as_str().context("id")?.to_owned();

    let res = http.post(format!("{url}/local/agents/a/disconnect")).send().await?;
    assert_eq!(res.status(), 200);
    let body: serde_json::Value = res.json().await?;
    assert_eq!(
        (body["id"].as_str(), body["state"].as_str()),
        (Some(id_a.as_str()), Some("DISCONNECTED"))
    );
    assert!(body["since"].as_f64().is_some_and(|s| s > 1e9), "{body}");
    let res = http.post(format!("{url}/local/agents/{id_a}/reconnect")).send().await?;
    assert_eq!(res.status(), 200);
    assert_eq!(res.json::<serde_json::Value>().await?["state"], "CONNECTED");

    let res = http
        .post(format!("{url}/local/agents/nowhere/disconnect"))
        .send()
        .await?;
    assert_eq!(res.status(), 404);
    let res = http.post(format!("{url}/local/agents/b/disconnect")).send().await?;
    assert_eq!(res.status(), 409, "two agents are called b");
    let message = res.json::<serde_json::Value>().await?["message"].clone();
    assert!(message.as_str().is_some_and(|m| m.contains("by its id")), "{message}");

    let operator = |body: String, content_type: &'static str| {
        http.post(format!("{url}/api/v1"))
            .header("Content-Type", content_type)
            .body(body)
            .send()
    };
    let gone =
        |id: &str| format!(r#"{{"type":"MARK_AGENT_GONE","mark_agent_gone":{{"agent_id":{{"value":"{id}"}}}}}}"#);
    assert_eq!(operator(gone(&id_b), "application/x-protobuf").await?.status(), 415);
    assert_eq!(
        operator(r#"{"type":"GET_AGENTS"}"#.into(), "application/json")
            .await?
            .status(),
        501
    );
    assert_eq!(
        operator(r#"{"type":"MARK_AGENT_GONE"}"#.into(), "application/json")
            .await?
            .status(),
        400
    );
    assert_eq!(operator("{".into(), "application/json").await?.status(), 400);
    assert_eq!(operator(gone("nobody"), "application/json").await?.status(), 404);
    assert_eq!(operator(gone(&id_b), "application/json").await?.status(), 200);
    assert_eq!(
        operator(gone(&id_b), "application/json").await?.status(),
        200,
        "already gone is fine"
    );
    let res = http
        .post(format!("{url}/local/agents/{id_b}/disconnect"))
        .send()
        .await?;
    assert_eq!(res.status(), 409, "a gone agent cannot go away");
    assert_eq!(state_of(&master, "a").await?, AgentState::Connected);
    let listed: serde_json::Value = http.get(format!("{url}/local/agents")).send().await?.json().await?;
    assert_eq!(listed["agents"][1]["state"], "GONE");
    master.shutdown().await;
    Ok(())
}
