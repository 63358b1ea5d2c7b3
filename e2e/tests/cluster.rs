//! Three Pacer servers as one raft cluster on a shared Mesos master (a `pacer local-master`
//! process): one leader acts, followers forward writes, a killed leader is replaced within
//! seconds without losing writes or duplicating tasks, and a leader cut off from its quorum
//! stops acting.

use std::collections::BTreeSet;
use std::time::Duration;

use anyhow::{Context, Result, ensure};
use nix::sys::signal::Signal;
use pacer_e2e::storm::{WriteStorm, lists_all};
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

#[test]
fn delete_leader_makes_the_leader_abdicate_and_a_peer_takes_over() -> Result<()> {
    let master = MesosMaster::start()?;
    let servers = PacerServer::start_cluster(3, &["--master", &master.url()])?;
    let leader = agreed_leader(&servers, &[0, 1, 2])?;
    let app = json!({"id": "/stay", "cmd": "sleep 1000", "cpus": 0.05, "mem": 16});
    ensure!(servers[leader].post("/v2/apps", &app)?.status == 201);
    wait_until(LAUNCH, || (master.task_ids("/stay").len() == 1).then_some(()))?;
    let task = master.task_ids("/stay");

    // Asked through a follower: forwarded to the leader, which answers and stops.
    let follower = (leader + 1) % 3;
    let r = servers[follower].delete("/v2/leader")?;
    ensure!(r.status == 200, "abdicate: {} {}", r.status, r.body);
    wait_until(ELECTION, || {
        (!pacer_e2e::process_alive(servers[leader].pid())).then_some(())
    })
    .context("the old leader did not stop")?;
    let live: Vec<usize> = (0..3).filter(|i| *i != leader).collect();
    let new_leader = agreed_leader(&servers, &live)?;
    ensure!(new_leader != leader);
    std::thread::sleep(Duration::from_secs(1));
    ensure!(
        master.task_ids("/stay") == task,
        "the task survived the change of leader"
    );
    Ok(())
}

/// The leader dies in the middle of launching 200 instances: the new leader finishes the
/// deployment with exactly 200 tasks, one per instance.
#[test]
fn a_deployment_of_200_instances_completes_after_the_leader_is_killed() -> Result<()> {
    let master = MesosMaster::start()?;
    let mut servers = PacerServer::start_cluster(3, &["--master", &master.url()])?;
    let leader = agreed_leader(&servers, &[0, 1, 2])?;
    // No ports: the agent of a test master has only 100 of them.
    let app =
        json!({"id": "/many", "cmd": "sleep 1000", "cpus": 0.001, "mem": 1, "instances": 200, "portDefinitions": []});
    let r = servers[leader].post("/v2/apps", &app)?;
    ensure!(r.status == 201, "create: {} {}", r.status, r.body);
    // The deployment is durable (201) but far from done: kill the leader now.
    servers[leader].stop_server_only(Signal::SIGKILL)?;
    let launched_before = master.task_ids("/many").len();

    let live: Vec<usize> = (0..3).filter(|i| *i != leader).collect();
    let new_leader = agreed_leader(&servers, &live)?;
    wait_until(LAUNCH * 2, || {
        let done = servers[new_leader]
            .get("/v2/deployments")
            .ok()?
            .body
            .as_array()?
            .is_empty();
        (done && master.task_ids("/many").len() == 200).then_some(())
    })
    .with_context(|| {
        format!(
            "200 tasks: have {} ({launched_before} before the kill)",
            master.task_ids("/many").len()
        )
    })?;
    std::thread::sleep(Duration::from_secs(2));
    let tasks = master.task_ids("/many");
    ensure!(tasks.len() == 200, "exactly 200 tasks, have {}", tasks.len());
    let instances: BTreeSet<&str> = tasks
        .iter()
        .filter_map(|t| t.rsplit_once("._app.").map(|(i, _)| i))
        .collect();
    ensure!(instances.len() == 200, "one task per instance");
    let r = servers[new_leader].get("/v2/apps/many")?;
    ensure!(
        r.body["app"]["tasksRunning"] == 200,
        "{}",
        r.body["app"]["tasksRunning"]
    );
    Ok(())
}

/// Writers keep creating apps through every server while the leader is killed, and later all
/// three servers are: every write that was acknowledged is there afterwards, on every server.
#[test]
fn acknowledged_writes_survive_kill_9_of_the_leader_and_of_all_nodes() -> Result<()> {
    let master = MesosMaster::start()?;
    let mut servers = PacerServer::start_cluster(3, &["--master", &master.url()])?;
    let leader = agreed_leader(&servers, &[0, 1, 2])?;
    let urls: Vec<String> = servers.iter().map(|s| s.url().to_string()).collect();
    let storm = WriteStorm::start(urls, 4);
    std::thread::sleep(Duration::from_secs(2));
    servers[leader].stop_server_only(Signal::SIGKILL)?;
    std::thread::sleep(Duration::from_secs(3));
    let acked = storm.stop();
    ensure!(
        acked.len() > 20,
        "too few acknowledged writes ({}) to say anything",
        acked.len()
    );

    for server in servers.iter_mut() {
        let _ = server.stop_server_only(Signal::SIGKILL);
    }
    // A member answers /ping before a leader is elected, so they can come back one by one.
    for server in servers.iter_mut() {
        server.restart()?;
    }
    agreed_leader(&servers, &[0, 1, 2])?;
    for (i, server) in servers.iter().enumerate() {
        let missing = wait_until(LAUNCH, || {
            lists_all(&server.get("/v2/apps").ok()?.body, &acked).then_some(())
        });
        missing.with_context(|| format!("server {i} lacks acknowledged writes"))?;
    }
    Ok(())
}

#[test]
fn members_are_added_and_removed_while_the_cluster_runs() -> Result<()> {
    let master = MesosMaster::start()?;
    let servers = PacerServer::start_cluster(3, &["--master", &master.url()])?;
    let leader = agreed_leader(&servers, &[0, 1, 2])?;
    let app = json!({"id": "/kept", "cmd": "sleep 1000", "cpus": 0.05, "mem": 16});
    ensure!(servers[leader].post("/v2/apps", &app)?.status == 201);

    // A fourth server joins through the CLI (asked of a follower, done by the leader).
    let (fourth, address) =
        PacerServer::start_joining(4, &servers.iter().collect::<Vec<_>>(), &["--master", &master.url()])?;
    let follower = (leader + 1) % 3;
    let out = servers[follower].pacer(&["cluster", "add", "4", &address])?;
    ensure!(
        out.status.success(),
        "cluster add: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let listing = String::from_utf8_lossy(&out.stdout).to_string();
    ensure!(
        listing
            .lines()
            .any(|l| l.starts_with('4') && l.contains(&address) && l.contains("yes")),
        "{listing}"
    );
    wait_until(LAUNCH, || (instances(&fourth, "/kept") == Some(1)).then_some(()))
        .context("the new member did not catch up")?;

    // The leader is removed: the others elect a new one and keep serving writes.
    let out = servers[follower].pacer(&["cluster", "remove", &(leader + 1).to_string()])?;
    ensure!(
        out.status.success(),
        "cluster remove: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let all = [&servers[0], &servers[1], &servers[2], &fourth];
    let remaining: Vec<&PacerServer> = all
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != leader)
        .map(|(_, s)| *s)
        .collect();
    let new_leader = wait_until(ELECTION, || {
        let r = remaining[0].get("/v2/cluster").ok()?;
        let members = r.body["members"].as_array()?.len();
        let lead = r.body["leader"].as_u64()?;
        (members == 3 && lead != leader as u64 + 1).then_some(lead)
    })
    .context("no new leader after removing the old one")?;
    let r = remaining[0].put("/v2/apps/kept", &json!({"instances": 2}))?;
    ensure!(
        r.status == 200,
        "write after the change (leader {new_leader}): {} {}",
        r.status,
        r.body
    );
    wait_until(LAUNCH, || (master.task_ids("/kept").len() == 2).then_some(()))?;
    Ok(())
}
