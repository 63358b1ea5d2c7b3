//! Pacer on a Mesos master reached over HTTP (`--master http://...`): a `pacer local-master`
//! process stands in for a Mesos master, speaking the v1 scheduler API on its own port.

use std::io::{BufRead, BufReader, Write};
use std::time::Duration;

use anyhow::{Context, Result, ensure};
use pacer_e2e::{Error, MesosMaster, PacerServer, wait_until};
use serde_json::json;

const LAUNCH: Duration = Duration::from_secs(60);

fn one_task(master: &MesosMaster, app: &str) -> Result<String> {
    wait_until(LAUNCH, || {
        let ids = master.task_ids(app);
        (ids.len() == 1).then(|| ids.into_iter().next()).flatten()
    })
    .with_context(|| {
        format!(
            "{app}: no task process on the master's agent; master log:\n{}",
            master.log()
        )
    })
}

#[test]
fn apps_run_on_a_master_over_http_and_outlive_its_crash() -> Result<()> {
    let mut master = MesosMaster::start()?;
    let server = PacerServer::start_with(&["--master", &master.url()])?;
    let r = server.post(
        "/v2/apps",
        &json!({"id": "/far", "cmd": "sleep 1000", "cpus": 0.05, "mem": 16}),
    )?;
    ensure!(r.status == 201, "create: {} {}", r.status, r.body);
    let task = one_task(&master, "/far")?;
    let framework = server.get("/v2/info")?.body["frameworkId"].clone();
    ensure!(framework.is_string(), "no framework id");

    // The master dies and comes back: Pacer subscribes again as the same framework, the task
    // keeps running, and new work still launches.
    master.crash_and_restart()?;
    let r = server.put("/v2/apps/far", &json!({"instances": 2}))?;
    ensure!(r.status == 200, "scale: {} {}", r.status, r.body);
    wait_until(LAUNCH, || (master.task_ids("/far").len() == 2).then_some(()))
        .with_context(|| format!("no second task after the master restart; master log:\n{}", master.log()))?;
    ensure!(master.task_ids("/far").contains(&task), "the first task survived");
    ensure!(
        server.get("/v2/info")?.body["frameworkId"] == framework,
        "same framework"
    );
    let log = server.log();
    ensure!(
        log.matches("subscribed to the Mesos master").count() >= 2,
        "no resubscription:\n{log}"
    );
    Ok(())
}

/// Answers every request with a 307 to `target`, as a Mesos master that is not the leader.
fn redirector(target: String) -> Result<String> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    let url = format!("http://{}", listener.local_addr()?);
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { return };
            let mut reader = BufReader::new(conn.try_clone().expect("clone a socket"));
            let mut line = String::new();
            while reader.read_line(&mut line).unwrap_or(0) > 0 && line != "\r\n" {
                line.clear();
            }
            let reply = format!(
                "HTTP/1.1 307 Temporary Redirect\r\nLocation: {target}/api/v1/scheduler\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
            );
            let _ = conn.write_all(reply.as_bytes());
        }
    });
    Ok(url)
}

#[test]
fn a_master_that_is_not_the_leader_redirects_and_the_leader_is_used() -> Result<()> {
    let master = MesosMaster::start()?;
    let follower = redirector(master.url())?;
    let server = PacerServer::start_with(&["--master", &follower])?;
    let r = server.post(
        "/v2/apps",
        &json!({"id": "/led", "cmd": "sleep 1000", "cpus": 0.05, "mem": 16}),
    )?;
    ensure!(r.status == 201, "create: {} {}", r.status, r.body);
    one_task(&master, "/led")?;
    Ok(())
}

#[test]
fn zookeeper_masters_are_refused_with_a_clear_error() -> Result<()> {
    match PacerServer::start_with(&["--master", "zk://zk1:2181/mesos"]) {
        Err(Error::ServerExited { log, .. }) => {
            ensure!(log.contains("ZooKeeper master detection is not supported"), "{log}");
            Ok(())
        }
        Ok(_) => anyhow::bail!("the server started with a zk:// master"),
        Err(e) => Err(e.into()),
    }
}

/// Marathon on Marathon: an inner Pacer runs as an app of an outer Pacer and schedules its
/// own apps on the outer server's embedded master, reached over Mesos's HTTP API.
#[test]
fn a_pacer_runs_as_an_app_on_pacer_and_launches_on_the_same_master() -> Result<()> {
    let mesos_port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let outer = PacerServer::start_with(&["--mesos-listen", &format!("127.0.0.1:{mesos_port}")])?;
    let bin = pacer_e2e::pacer_bin()?;
    let inner_cmd = format!(
        "exec {} server --listen 127.0.0.1:$PORT0 --data-dir inner --framework-name inner \
         --master http://127.0.0.1:{mesos_port}",
        bin.display()
    );
    let r = outer.post(
        "/v2/apps",
        &json!({"id": "/inner", "cmd": inner_cmd, "cpus": 0.1, "mem": 64, "portDefinitions": [{"port": 0}]}),
    )?;
    ensure!(r.status == 201, "create the inner pacer: {} {}", r.status, r.body);
    let port = wait_until(LAUNCH, || {
        let t = outer.get("/v2/apps/inner/tasks").ok()?.body["tasks"][0].clone();
        let port = t["ports"][0].as_u64()?;
        let ping = reqwest::blocking::get(format!("http://127.0.0.1:{port}/ping")).ok()?;
        ping.status().is_success().then_some(port)
    })
    .with_context(|| format!("the inner pacer did not come up; outer log:\n{}", outer.log()))?;

    let http = reqwest::blocking::Client::new();
    let inner = format!("http://127.0.0.1:{port}");
    let app = json!({"id": "/nested", "cmd": "sleep 1000", "cpus": 0.05, "mem": 16});
    let r = http.post(format!("{inner}/v2/apps")).json(&app).send()?;
    ensure!(r.status() == 201, "create on the inner pacer: {}", r.status());
    wait_until(LAUNCH, || (outer.task_ids("/nested").len() == 1).then_some(()))
        .context("the inner pacer's task did not run on the outer master")?;
    let info: serde_json::Value = http.get(format!("{inner}/v2/info")).send()?.json()?;
    let outer_info = outer.get("/v2/info")?.body;
    ensure!(
        info["frameworkId"].is_string() && info["frameworkId"] != outer_info["frameworkId"],
        "two frameworks on one master: {} vs {}",
        info["frameworkId"],
        outer_info["frameworkId"]
    );
    Ok(())
}
