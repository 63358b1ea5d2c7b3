//! Placement on several local agents through the real binary: three agents from a
//! `--local-agents` file, each with its own hostname, rack attribute, ports and sandbox
//! directory. Where a task runs is checked twice: the agent `/v2/apps/{id}/tasks` names, and
//! the directory its process's `MESOS_SANDBOX` (read from `/proc`) lies in.

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::{Context, Result, ensure};
use pacer_e2e::{PacerServer, task_processes_under, wait_until};
use serde_json::{Value, json};

const LAUNCH: Duration = Duration::from_secs(90);

/// agent-a on rack r1, agent-b and agent-c on rack r2, each with a third of the server's ports.
fn three_agents((begin, _): (u64, u64)) -> String {
    let agent = |i: u64, name: &str, rack: &str| {
        let from = begin + i * 30;
        format!(
            "- hostname: {name}\n  attributes: {{rack: {rack}, gen: {gen}}}\n  resources: {{cpus: 4, mem: 4096, disk: 1000, ports: \"[{from}-{to}]\"}}\n",
            gen = i + 1,
            to = from + 29
        )
    };
    [
        agent(0, "agent-a", "r1"),
        agent(1, "agent-b", "r2"),
        agent(2, "agent-c", "r2"),
    ]
    .concat()
}

fn app(id: &str, instances: u32, constraints: Value) -> Value {
    json!({"id": id, "cmd": "sleep 1000", "cpus": 0.01, "mem": 8, "instances": instances,
           "constraints": constraints})
}

/// The hosts of `id`'s running tasks once `n` run, checked against the sandboxes of their
/// processes: each task's process runs in the sandbox directory of the agent it names.
fn placed(server: &PacerServer, id: &str, n: usize) -> Result<Vec<String>> {
    let tasks = wait_until(LAUNCH, || {
        let r = server.get(&format!("/v2/apps{id}/tasks")).ok()?;
        let tasks = r.body["tasks"].as_array()?.clone();
        let running = tasks.iter().filter(|t| t["state"] == "TASK_RUNNING").count();
        (running == n && tasks.len() == n).then_some(tasks)
    })
    .with_context(|| format!("{n} tasks of {id} should run\n{}", server.log()))?;
    let procs = task_processes_under(&server.data_dir());
    let mut hosts = Vec::new();
    for t in &tasks {
        let host = t["host"].as_str().context("host")?.to_string();
        let task_id = t["id"].as_str().context("id")?;
        let agent_dir = server.data_dir().join("mesos").join(&host).join("sandboxes");
        let p = procs
            .iter()
            .find(|p| p.task_id.as_deref() == Some(task_id))
            .with_context(|| format!("no process for task {task_id}"))?;
        ensure!(
            p.sandbox.starts_with(&agent_dir),
            "task {task_id} on {host} runs in {}, not under {}",
            p.sandbox.display(),
            agent_dir.display()
        );
        hosts.push(host);
    }
    hosts.sort();
    Ok(hosts)
}

fn per_rack(hosts: &[String]) -> BTreeMap<&'static str, usize> {
    let mut m = BTreeMap::new();
    for h in hosts {
        *m.entry(if h == "agent-a" { "r1" } else { "r2" }).or_default() += 1;
    }
    m
}

fn create(server: &PacerServer, app: &Value) -> Result<()> {
    let r = server.post("/v2/apps", app)?;
    ensure!(r.status == 201, "create {}: {} {}", app["id"], r.status, r.body);
    Ok(())
}

#[test]
fn constraints_place_tasks_on_the_agents_they_allow() -> Result<()> {
    let server = PacerServer::start_with_agents(three_agents, &[])?;
    create(&server, &app("/unique", 3, json!([["hostname", "UNIQUE"]])))?;
    create(&server, &app("/grouped", 4, json!([["rack", "GROUP_BY", "2"]])))?;
    create(&server, &app("/clustered", 3, json!([["rack", "CLUSTER", "r2"]])))?;
    create(&server, &app("/like", 4, json!([["hostname", "LIKE", "agent-[ab]"]])))?;
    create(&server, &app("/unlike", 4, json!([["hostname", "UNLIKE", "agent-a"]])))?;
    create(&server, &app("/capped", 2, json!([["rack", "MAX_PER", "1"]])))?;
    create(&server, &app("/is", 2, json!([["gen", "IS", "3"]])))?;

    assert_eq!(placed(&server, "/unique", 3)?, ["agent-a", "agent-b", "agent-c"]);
    let grouped = placed(&server, "/grouped", 4)?;
    assert_eq!(
        per_rack(&grouped),
        BTreeMap::from([("r1", 2), ("r2", 2)]),
        "{grouped:?}"
    );
    let clustered = placed(&server, "/clustered", 3)?;
    ensure!(clustered.iter().all(|h| h != "agent-a"), "CLUSTER r2: {clustered:?}");
    let like = placed(&server, "/like", 4)?;
    ensure!(like.iter().all(|h| h != "agent-c"), "LIKE agent-[ab]: {like:?}");
    let unlike = placed(&server, "/unlike", 4)?;
    ensure!(unlike.iter().all(|h| h != "agent-a"), "UNLIKE agent-a: {unlike:?}");
    let capped = placed(&server, "/capped", 2)?;
    assert_eq!(per_rack(&capped), BTreeMap::from([("r1", 1), ("r2", 1)]), "{capped:?}");
    assert_eq!(placed(&server, "/is", 2)?, ["agent-c", "agent-c"]);
    Ok(())
}

fn first_reason(server: &PacerServer, id: &str) -> Option<(Value, Value)> {
    let r = server.get("/v2/queue").ok()?;
    let item = r.body["queue"]
        .as_array()?
        .iter()
        .find(|i| i["app"]["id"] == id)?
        .clone();
    let summary = &item["processedOffersSummary"];
    let declined = summary["rejectSummaryLaunchAttempt"]
        .as_array()?
        .iter()
        .find(|s| s["declined"].as_u64() > Some(0))?
        .clone();
    Some((item["count"].clone(), declined["reason"].clone()))
}

#[test]
fn what_no_agent_allows_waits_and_the_queue_says_why() -> Result<()> {
    let server = PacerServer::start_with_agents(three_agents, &[])?;
    create(&server, &app("/nowhere", 2, json!([["rack", "IS", "r9"]])))?;
    // One more than MAX_PER allows: two run, the third waits.
    create(&server, &app("/over-capped", 3, json!([["rack", "MAX_PER", "1"]])))?;
    create(
        &server,
        &json!({"id": "/too-big", "cmd": "sleep 1000", "cpus": 8, "mem": 8, "instances": 1}),
    )?;

    let (count, reason) = wait_until(LAUNCH, || {
        first_reason(&server, "/nowhere").filter(|(_, r)| r == "UnfulfilledConstraint")
    })
    .with_context(|| format!("/nowhere should wait\n{}", server.log()))?;
    assert_eq!((count, reason), (json!(2), json!("UnfulfilledConstraint")));

    assert_eq!(placed(&server, "/over-capped", 2)?.len(), 2);
    let (count, reason) = wait_until(LAUNCH, || {
        first_reason(&server, "/over-capped").filter(|(_, r)| r == "UnfulfilledConstraint")
    })
    .with_context(|| format!("/over-capped should wait\n{}", server.log()))?;
    assert_eq!((count, reason), (json!(1), json!("UnfulfilledConstraint")));

    let (_, reason) = wait_until(LAUNCH, || {
        first_reason(&server, "/too-big").filter(|(_, r)| r == "InsufficientCpus")
    })
    .with_context(|| format!("/too-big should wait\n{}", server.log()))?;
    assert_eq!(reason, json!("InsufficientCpus"));
    ensure!(server.task_ids("/nowhere").is_empty(), "nothing of /nowhere runs");
    Ok(())
}

#[test]
fn roles_keep_reserved_agents_for_their_apps() -> Result<()> {
    // agent-c's resources are reserved for role web; Pacer subscribes with role web.
    let agents = |range: (u64, u64)| format!("{}  role: web\n", three_agents(range));
    let server = PacerServer::start_with_agents(agents, &["--mesos-role", "web"])?;
    let web = json!({"id": "/web", "cmd": "sleep 1000", "cpus": 0.01, "mem": 8, "instances": 2,
                     "role": "web", "acceptedResourceRoles": ["web"]});
    create(&server, &web)?;
    assert_eq!(placed(&server, "/web", 2)?, ["agent-c", "agent-c"]);

    // Only unreserved resources for an app that accepts only `*`: agent-c is never used.
    let star = json!({"id": "/star", "cmd": "sleep 1000", "cpus": 0.01, "mem": 8, "instances": 1,
                      "acceptedResourceRoles": ["*"], "constraints": [["hostname", "LIKE", "agent-c"]]});
    create(&server, &star)?;
    let (_, reason) = wait_until(LAUNCH, || {
        first_reason(&server, "/star").filter(|(_, r)| r == "UnfulfilledRole")
    })
    .with_context(|| format!("/star should wait\n{}", server.log()))?;
    assert_eq!(reason, json!("UnfulfilledRole"));
    Ok(())
}
