//! Failover benchmark: API write latency (p50/p99 of creating an app) on one server and on a
//! three-server cluster, then the failover time of the cluster: from `kill -9` of the leader
//! until a new leader has accepted a write and subscribed to Mesos. Prints figures; asserts
//! nothing.
//!
//! Run: `scripts/bench failover [WRITES]` (default 300 writes per setup).

use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use pacer_e2e::{MesosMaster, PacerServer, wait_until};
use serde_json::json;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let writes: usize = std::env::args().skip(1).find_map(|a| a.parse().ok()).unwrap_or(300);

    let single = PacerServer::start()?;
    let (p50, p99) = write_latency(&single, writes, "one")?;
    println!("one server      writes: {writes}  p50: {p50:?}  p99: {p99:?}");
    drop(single);

    let master = MesosMaster::start()?;
    let mut servers = PacerServer::start_cluster(3, &["--master", &master.url()])?;
    let leader = leader_of(&servers)?;
    let (p50, p99) = write_latency(&servers[leader], writes, "three")?;
    println!("three servers   writes: {writes}  p50: {p50:?}  p99: {p99:?}");

    let killed = Instant::now();
    servers[leader].stop_server_only(Signal::SIGKILL)?;
    let survivor = (leader + 1) % 3;
    let app = json!({"id": "/after-failover", "cmd": "sleep 1", "instances": 0});
    wait_until(Duration::from_secs(60), || {
        (servers[survivor].post("/v2/apps", &app).ok()?.status == 201).then_some(())
    })?;
    let serving = killed.elapsed();
    let new_leader = leader_of(&servers)?;
    wait_until(Duration::from_secs(60), || {
        let log = servers[new_leader].log();
        (log.matches("elected leader").count() >= 1 && log.contains("subscribed to the Mesos master")).then_some(())
    })?;
    let acting = killed.elapsed();
    println!("failover        first write accepted after: {serving:?}  new leader subscribed after: {acting:?}");
    Ok(())
}

fn leader_of(servers: &[PacerServer]) -> Result<usize, Box<dyn std::error::Error>> {
    Ok(wait_until(Duration::from_secs(30), || {
        servers
            .iter()
            .position(|s| s.get("/v2/info").is_ok_and(|r| r.body["elected"] == true))
    })?)
}

fn write_latency(
    server: &PacerServer,
    n: usize,
    tag: &str,
) -> Result<(Duration, Duration), Box<dyn std::error::Error>> {
    let mut took = Vec::with_capacity(n);
    for i in 0..n {
        let app = json!({"id": format!("/bench-{tag}/app-{i}"), "cmd": "sleep 1", "instances": 0});
        let start = Instant::now();
        let r = server.post("/v2/apps", &app)?;
        took.push(start.elapsed());
        if r.status != 201 {
            return Err(format!("create answered {}: {}", r.status, r.body).into());
        }
    }
    took.sort();
    Ok((took[n / 2], took[(n * 99 / 100).min(n - 1)]))
}
