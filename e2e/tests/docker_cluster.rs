//! Three Pacer servers in Docker containers on private networks, sharing a Mesos master on
//! this host: a leader cut off from its peers by a real network partition (it still reaches
//! Mesos) stops acting while the majority elects a new leader, and rejoins as a follower with
//! the majority's state once the partition heals; a leader killed mid-deployment of 200
//! instances leaves the new leader to finish it exactly; acknowledged writes survive `kill -9`
//! of the leader during a write storm and then of every server. Needs Docker's engine;
//! `PACER_SKIP_DOCKER=1` skips these tests on machines without one.

use std::collections::BTreeSet;
use std::time::Duration;

use anyhow::{Context, Result, bail, ensure};
use pacer_e2e::docker::{self, DockerCluster};
use pacer_e2e::storm::{WriteStorm, lists_all};
use pacer_e2e::{MesosMaster, wait_until};
use serde_json::json;

const ELECTION: Duration = Duration::from_secs(30);
const LAUNCH: Duration = Duration::from_secs(60);

/// The leader every server of `live` names, as an index into the cluster's nodes.
fn agreed_leader(cluster: &DockerCluster, live: &[usize]) -> Result<usize> {
    let leader_of = |i: &usize| {
        cluster.get(*i, "/v2/leader").ok()?.body["leader"]
            .as_str()
            .map(String::from)
    };
    wait_until(ELECTION, || {
        let answers: BTreeSet<String> = live.iter().map(leader_of).collect::<Option<_>>()?;
        let [leader] = <[String; 1]>::try_from(answers.into_iter().collect::<Vec<_>>()).ok()?;
        let index = cluster.nodes.iter().position(|n| n.raft_addr == leader)?;
        live.contains(&index).then_some(index)
    })
    .context("the servers did not agree on a live leader")
}

fn elected(cluster: &DockerCluster, i: usize) -> Option<bool> {
    cluster.get(i, "/v2/info").ok()?.body["elected"].as_bool()
}

fn app(cluster: &DockerCluster, i: usize, id: &str) -> Option<serde_json::Value> {
    let r = cluster.get(i, &format!("/v2/apps{id}")).ok()?;
    (r.status == 200).then(|| r.body["app"].clone())
}

/// Starts a master and three containers, runs `scenario`, and prints every log if it fails.
fn with_cluster(scenario: impl FnOnce(&mut DockerCluster, &MesosMaster) -> Result<()>) -> Result<()> {
    if !docker::available() {
        if std::env::var_os("PACER_SKIP_DOCKER").is_some() {
            eprintln!("skipped: Docker's engine is not reachable and PACER_SKIP_DOCKER is set");
            return Ok(());
        }
        bail!("Docker's engine is not reachable: start it, or set PACER_SKIP_DOCKER=1 to skip this test");
    }
    let master = MesosMaster::start_on_all_addresses()?;
    let mut cluster = DockerCluster::start(3, &master)?;
    let result = scenario(&mut cluster, &master);
    if result.is_err() {
        for i in 0..3 {
            eprintln!("--- server {} ---\n{}", i + 1, cluster.logs(i));
        }
        eprintln!("--- master ---\n{}", master.log());
    }
    result
}

#[test]
fn a_leader_partitioned_from_its_peers_stops_acting_and_rejoins_as_a_follower() -> Result<()> {
    with_cluster(|cluster, master| partition_and_heal(cluster, master))
}

fn partition_and_heal(cluster: &DockerCluster, master: &MesosMaster) -> Result<()> {
    let old = agreed_leader(cluster, &[0, 1, 2])?;
    let spec = json!({"id": "/part", "cmd": "sleep 1000", "cpus": 0.05, "mem": 16, "instances": 2});
    let r = cluster.post(old, "/v2/apps", &spec)?;
    ensure!(r.status == 201, "create: {} {}", r.status, r.body);
    wait_until(LAUNCH, || (master.task_ids("/part").len() == 2).then_some(()))
        .with_context(|| format!("two tasks: {:?}", master.task_ids("/part")))?;
    let before = master.task_ids("/part");
    // The tasks run; wait until the leader has recorded that and finished the deployment.
    wait_until(LAUNCH, || {
        cluster
            .get(old, "/v2/deployments")
            .ok()?
            .body
            .as_array()?
            .is_empty()
            .then_some(())
    })
    .context("the first deployment did not finish")?;

    cluster.cut_off(old)?;
    wait_until(ELECTION, || (elected(cluster, old) == Some(false)).then_some(()))
        .context("the cut-off leader still says it is elected")?;
    let rest: Vec<usize> = (0..3).filter(|i| *i != old).collect();
    let new = agreed_leader(cluster, &rest)?;
    ensure!(new != old);

    // The cut-off server takes no write; the majority does, and acts on it.
    let refused = cluster.put(old, "/v2/apps/part", &json!({"instances": 5}))?;
    ensure!(
        refused.status == 503,
        "the cut-off server answered a write: {} {}",
        refused.status,
        refused.body
    );
    let r = cluster.put(new, "/v2/apps/part", &json!({"instances": 3}))?;
    ensure!(r.status == 200, "scale on the new leader: {} {}", r.status, r.body);
    wait_until(LAUNCH, || (master.task_ids("/part").len() == 3).then_some(()))
        .with_context(|| format!("three tasks: {:?}", master.task_ids("/part")))?;
    ensure!(
        master.task_ids("/part").is_superset(&before),
        "tasks were replaced across the failover"
    );

    cluster.reconnect(old)?;
    ensure!(
        agreed_leader(cluster, &[0, 1, 2])? == new,
        "the old leader took over again"
    );
    wait_until(LAUNCH, || {
        let specs: Vec<serde_json::Value> = (0..3).map(|i| app(cluster, i, "/part")).collect::<Option<_>>()?;
        (specs[0]["instances"] == 3 && specs.windows(2).all(|w| w[0]["version"] == w[1]["version"])).then_some(())
    })
    .context("the servers did not converge on the majority's /part")?;
    ensure!(elected(cluster, old) == Some(false), "the old leader acts again");
    std::thread::sleep(Duration::from_secs(2));
    let tasks = master.task_ids("/part");
    ensure!(
        tasks.len() == 3 && tasks.is_superset(&before),
        "no task was added or killed: {tasks:?}"
    );
    Ok(())
}

#[test]
fn a_deployment_of_200_instances_completes_after_the_leader_container_is_killed() -> Result<()> {
    with_cluster(|cluster, master| {
        let leader = agreed_leader(cluster, &[0, 1, 2])?;
        // No ports: the agent of a test master has only 100 of them.
        let spec = json!({"id": "/many", "cmd": "sleep 1000", "cpus": 0.001, "mem": 1, "instances": 200,
                          "portDefinitions": []});
        let r = cluster.post(leader, "/v2/apps", &spec)?;
        ensure!(r.status == 201, "create: {} {}", r.status, r.body);
        cluster.kill(leader)?;
        let launched_before = master.task_ids("/many").len();

        let live: Vec<usize> = (0..3).filter(|i| *i != leader).collect();
        let new = agreed_leader(cluster, &live)?;
        wait_until(LAUNCH * 2, || {
            let done = cluster.get(new, "/v2/deployments").ok()?.body.as_array()?.is_empty();
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
        let instances: BTreeSet<&str> = tasks
            .iter()
            .filter_map(|t| t.rsplit_once("._app.").map(|(i, _)| i))
            .collect();
        ensure!(
            tasks.len() == 200 && instances.len() == 200,
            "exactly one task per instance: {} tasks",
            tasks.len()
        );
        Ok(())
    })
}

#[test]
fn acknowledged_writes_survive_kill_9_of_the_leader_container_and_of_all_of_them() -> Result<()> {
    with_cluster(|cluster, _master| {
        let leader = agreed_leader(cluster, &[0, 1, 2])?;
        let storm = WriteStorm::start(cluster.urls(), 4);
        std::thread::sleep(Duration::from_secs(2));
        cluster.kill(leader)?;
        std::thread::sleep(Duration::from_secs(3));
        let acked = storm.stop();
        ensure!(
            acked.len() > 20,
            "too few acknowledged writes ({}) to say anything",
            acked.len()
        );

        for i in 0..3 {
            let _ = cluster.kill(i);
        }
        for i in 0..3 {
            cluster.start_again(i)?;
        }
        agreed_leader(cluster, &[0, 1, 2])?;
        for i in 0..3 {
            wait_until(LAUNCH, || {
                lists_all(&cluster.get(i, "/v2/apps").ok()?.body, &acked).then_some(())
            })
            .with_context(|| format!("server {} lacks acknowledged writes", i + 1))?;
        }
        Ok(())
    })
}
