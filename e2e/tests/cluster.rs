//! Three Pacer servers as one raft cluster on a shared Mesos master (a `pacer local-master`
//! process): one leader acts, followers forward writes, a killed leader is replaced within
//! seconds without losing writes or duplicating tasks, and a leader cut off from its quorum
//! stops acting.

use std::collections::BTreeSet;
use std::time::Duration;

use anyhow::{Context, Result, ensure};
use nix::sys::signal::Signal;
use pacer_e2e::{MesosMaster, PacerServer, wait_until};
use serde_json::json;

const ELECTION: Duration = Duration::from_secs(30);
const LAUNCH: Duration = Duration::from_secs(60);

/// The leader every live server agrees on, as the index of `servers`.
fn agreed_leader(servers: &[PacerServer], live: &[usize]) -> Result<usize> {
    let leader_of = |i: &usize| -> Option<String> {
        let r = servers[*i].get("/v2/leader").ok()?;
        r.body["leader"].as_str().map(String::from)
    };
    wait_until(ELECTION, || {
        let answers: BTreeSet<String> = live.iter().map(leader_of).collect::<Option<_>>()?;
        let [leader] = <[String; 1]>::try_from(answers.into_iter().collect::<Vec<_>>()).ok()?;
        let index = servers.iter().position(|s| s.url().ends_with(&leader))?;
        live.contains(&index).then_some(index)
    })
    .context("the servers did not agree on a live leader")
}

fn instances(server: &PacerServer, app: &str) -> Option<u64> {
    server.get(&format!("/v2/apps{app}")).ok()?.body["app"]["instances"].as_u64()
}

#[test]
fn a_cluster_elects_one_leader_forwards_writes_and_outlives_its_leader() -> Result<()> {
    let master = MesosMaster::start()?;
    let mut servers = PacerServer::start_cluster(3, &["--master", &master.url()])?;
    let leader = agreed_leader(&servers, &[0, 1, 2])?;
    let follower = (leader + 1) % 3;
    let info = servers[follower].get("/v2/info")?.body;
    ensure!(info["elected"] == false, "{info}");
    ensure!(servers[leader].get("/v2/info")?.body["elected"] == true);

    // A write to a follower is forwarded to the leader.
    let app = json!({"id": "/ha", "cmd": "sleep 1000", "cpus": 0.05, "mem": 16, "instances": 2});
    let r = servers[follower].post("/v2/apps", &app)?;
    ensure!(r.status == 201, "create via a follower: {} {}", r.status, r.body);
    ensure!(
        r.header("x-marathon-via").is_some(),
        "no X-Marathon-Via on a forwarded write"
    );
    wait_until(LAUNCH, || (master.task_ids("/ha").len() == 2).then_some(()))
        .with_context(|| format!("two tasks: {:?}", master.task_ids("/ha")))?;
    let before = master.task_ids("/ha");
    // Followers answer reads from their replica.
    wait_until(LAUNCH, || {
        (instances(&servers[follower], "/ha") == Some(2)).then_some(())
    })?;

    // The leader dies: another takes over, keeps the tasks, and acts on new writes.
    servers[leader].stop_server_only(Signal::SIGKILL)?;
    let live: Vec<usize> = (0..3).filter(|i| *i != leader).collect();
    let new_leader = agreed_leader(&servers, &live)?;
    ensure!(new_leader != leader);
    let r = servers[live[0]].put("/v2/apps/ha", &json!({"instances": 3}))?;
    ensure!(r.status == 200, "scale after failover: {} {}", r.status, r.body);
    wait_until(LAUNCH, || (master.task_ids("/ha").len() == 3).then_some(()))
        .with_context(|| format!("three tasks: {:?}", master.task_ids("/ha")))?;
    ensure!(master.task_ids("/ha").is_superset(&before), "the old tasks were kept");
    std::thread::sleep(Duration::from_secs(2));
    ensure!(
        master.task_ids("/ha").len() == 3,
        "no duplicate tasks: {:?}",
        master.task_ids("/ha")
    );
    for i in &live {
        wait_until(LAUNCH, || (instances(&servers[*i], "/ha") == Some(3)).then_some(()))
            .with_context(|| format!("server {i} lost the write"))?;
    }

    // The killed server comes back as a follower with every write.
    servers[leader].restart()?;
    wait_until(LAUNCH, || (instances(&servers[leader], "/ha") == Some(3)).then_some(()))
        .context("the restarted server did not catch up")?;
    ensure!(
        agreed_leader(&servers, &[0, 1, 2])? == new_leader,
        "leadership stays put"
    );
    Ok(())
}

#[test]
fn a_leader_cut_off_from_its_quorum_stops_acting() -> Result<()> {
    let master = MesosMaster::start()?;
    let servers = PacerServer::start_cluster(3, &["--master", &master.url()])?;
    let leader = agreed_leader(&servers, &[0, 1, 2])?;
    let others: Vec<usize> = (0..3).filter(|i| *i != leader).collect();
    // Freeze both followers: the leader can no longer reach a quorum.
    for i in &others {
        servers[*i].signal(Signal::SIGSTOP)?;
    }
    let stopped = wait_until(ELECTION, || {
        servers[leader]
            .log()
            .contains("no longer the confirmed leader")
            .then_some(())
    });
    for i in &others {
        servers[*i].signal(Signal::SIGCONT)?;
    }
    stopped.with_context(|| format!("the isolated leader kept acting:\n{}", servers[leader].log()))?;

    // Once the peers are back, a leader is elected again and acts.
    let leader = agreed_leader(&servers, &[0, 1, 2])?;
    let app = json!({"id": "/after", "cmd": "sleep 1000", "cpus": 0.05, "mem": 16});
    let r = servers[leader].post("/v2/apps", &app)?;
    ensure!(r.status == 201, "create: {} {}", r.status, r.body);
    wait_until(LAUNCH, || (master.task_ids("/after").len() == 1).then_some(()))
        .context("no task after the partition healed")?;
    Ok(())
}
