//! Agent loss through the real binary, with three local agents: one goes away through the
//! embedded master's operator endpoints (`--mesos-listen`), its task turns TASK_UNREACHABLE,
//! is replaced on another agent after `inactiveAfterSeconds` and expunged after
//! `expungeAfterSeconds` while its process runs on; when the agent comes back that process is
//! killed and the app runs exactly its instances. Checked in `/v2/apps/{id}/tasks`, in the
//! event stream, and in `/proc`.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, ensure};
use pacer_e2e::{EventStream, PacerServer, Pid, process_alive, task_processes_under, wait_until};
use serde_json::{Value, json};

const LAUNCH: Duration = Duration::from_secs(90);
/// Agents are unreachable 1 s after they go away (`0.5 s × 2` missed pings).
const PINGS: [&str; 4] = ["--agent-ping-timeout", "0.5", "--max-agent-ping-timeouts", "2"];

/// agent-a, agent-b and agent-c, each with a third of the server's ports.
fn three_agents((begin, _): (u64, u64)) -> String {
    ["agent-a", "agent-b", "agent-c"]
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let from = begin + i as u64 * 30;
            format!(
                "- hostname: {name}\n  resources: {{cpus: 4, mem: 4096, disk: 1000, ports: \"[{from}-{to}]\"}}\n",
                to = from + 29
            )
        })
        .collect()
}

/// A server on three agents, and the base URL of its embedded master's HTTP API.
fn start() -> Result<(PacerServer, String)> {
    let mut last = None;
    for _ in 0..3 {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let listen = format!("127.0.0.1:{port}");
        let mut args = vec!["--mesos-listen", listen.as_str()];
        args.extend(PINGS);
        match PacerServer::start_with_agents(three_agents, &args) {
            Ok(server) => return Ok((server, format!("http://{listen}"))),
            // The probed port was taken before the server bound it: try another.
            Err(e) => last = Some(e),
        }
    }
    Err(last.context("no attempt")?.into())
}

fn operator(mesos: &str, path: &str) -> Result<Value> {
    let res = reqwest::blocking::Client::new().post(format!("{mesos}{path}")).send()?;
    ensure!(res.status() == 200, "POST {path}: {}", res.status());
    Ok(res.json()?)
}

fn agent_state(mesos: &str, hostname: &str) -> Result<String> {
    let agents: Value = reqwest::blocking::get(format!("{mesos}/local/agents"))?.json()?;
    let agent = agents["agents"]
        .as_array()
        .context("agents")?
        .iter()
        .find(|a| a["hostname"] == hostname)
        .context("agent listed")?;
    Ok(agent["state"].as_str().context("state")?.to_string())
}

fn tasks(server: &PacerServer, id: &str) -> Result<Vec<Value>> {
    let r = server.get(&format!("/v2/apps{id}/tasks"))?;
    ensure!(r.status == 200, "tasks of {id}: {} {}", r.status, r.body);
    Ok(r.body["tasks"].as_array().context("tasks")?.clone())
}

fn running(server: &PacerServer, id: &str, n: usize) -> Result<Vec<Value>> {
    wait_until(LAUNCH, || {
        let tasks = tasks(server, id).ok()?;
        (tasks.len() == n && tasks.iter().all(|t| t["state"] == "TASK_RUNNING")).then_some(tasks)
    })
    .with_context(|| format!("{n} tasks of {id} should run\n{}", server.log()))
}

fn field<'a>(task: &'a Value, name: &str) -> Result<&'a str> {
    task[name].as_str().with_context(|| format!("{name} of {task}"))
}

/// The process of task `task_id`, which must run in the sandbox of the agent its task names.
fn process_of(server: &PacerServer, task: &Value) -> Result<Pid> {
    let (task_id, host) = (field(task, "id")?, field(task, "host")?);
    let procs = task_processes_under(&server.data_dir());
    let p = procs
        .iter()
        .find(|p| p.task_id.as_deref() == Some(task_id))
        .with_context(|| format!("no process for task {task_id}"))?;
    let sandboxes = server.data_dir().join("mesos").join(host).join("sandboxes");
    ensure!(
        p.sandbox.starts_with(&sandboxes),
        "task {task_id} of {host} runs in {}",
        p.sandbox.display()
    );
    Ok(p.pid)
}

#[test]
fn an_unreachable_instance_is_replaced_then_expunged_and_killed_when_its_agent_returns() -> Result<()> {
    let (server, mesos) = start()?;
    let app = json!({"id": "/lost", "cmd": "sleep 1000", "cpus": 0.01, "mem": 8, "instances": 2,
        "constraints": [["hostname", "UNIQUE"]],
        "unreachableStrategy": {"inactiveAfterSeconds": 2, "expungeAfterSeconds": 4}});
    let r = server.post("/v2/apps", &app)?;
    ensure!(r.status == 201, "{} {}", r.status, r.body);
    let before = running(&server, "/lost", 2)?;
    let victim = before[0].clone();
    let (victim_id, victim_host) = (field(&victim, "id")?.to_string(), field(&victim, "host")?.to_string());
    let other_id = field(&before[1], "id")?.to_string();
    let pid = process_of(&server, &victim)?;
    let events = EventStream::open(server.url(), None)?;

    let gone = operator(&mesos, &format!("/local/agents/{victim_host}/disconnect"))?;
    assert_eq!(gone["state"], "DISCONNECTED");
    let unreachable_at = wait_until(LAUNCH, || {
        let tasks = tasks(&server, "/lost").ok()?;
        let t = tasks.iter().find(|t| t["id"] == victim_id.as_str())?;
        (t["state"] == "TASK_UNREACHABLE").then(Instant::now)
    })
    .context("the lost agent's task should show unreachable")?;
    assert_eq!(agent_state(&mesos, &victim_host)?, "UNREACHABLE");
    ensure!(process_alive(pid), "a lost agent's process keeps running");

    // Replaced on another agent after inactiveAfterSeconds (2 s), not before.
    let known: BTreeSet<String> = [victim_id.clone(), other_id.clone()].into();
    let (replacement, replaced_at) = wait_until(LAUNCH, || {
        let tasks = tasks(&server, "/lost").ok()?;
        let new = tasks
            .into_iter()
            .find(|t| t["id"].as_str().is_some_and(|id| !known.contains(id)))?;
        Some((new, Instant::now()))
    })
    .with_context(|| format!("a replacement should start\n{}", server.log()))?;
    let waited = replaced_at - unreachable_at;
    ensure!(
        waited >= Duration::from_millis(1500),
        "replaced {waited:?} after turning unreachable, before inactiveAfterSeconds"
    );
    let replacement_id = field(&replacement, "id")?.to_string();
    let all = running_with(&server, &victim_id, &[&other_id, &replacement_id])?;
    let replacement = all
        .iter()
        .find(|t| t["id"] == replacement_id.as_str())
        .context("replacement")?;
    ensure!(replacement["host"] != victim_host.as_str(), "{replacement}");
    let replacement_pid = process_of(&server, replacement)?;

    // Expunged after expungeAfterSeconds (4 s) while its process still runs.
    let expunged_at = wait_until(LAUNCH, || {
        let tasks = tasks(&server, "/lost").ok()?;
        (!tasks.iter().any(|t| t["id"] == victim_id.as_str())).then(Instant::now)
    })
    .context("the unreachable instance should be expunged")?;
    let waited = expunged_at - unreachable_at;
    ensure!(waited >= Duration::from_millis(3500), "expunged after {waited:?}");
    ensure!(process_alive(pid), "expunged, not killed: its agent is away");

    // Back: the old task is killed; exactly the instances asked for run.
    let back = operator(&mesos, &format!("/local/agents/{victim_host}/reconnect"))?;
    assert_eq!(back["state"], "CONNECTED");
    wait_until(LAUNCH, || (!process_alive(pid)).then_some(()))
        .with_context(|| format!("the returning task should be killed\n{}", server.log()))?;
    let after = running(&server, "/lost", 2)?;
    let ids: BTreeSet<&str> = after.iter().filter_map(|t| t["id"].as_str()).collect();
    assert_eq!(ids, BTreeSet::from([other_id.as_str(), replacement_id.as_str()]));
    ensure!(process_alive(replacement_pid));
    let alive = task_processes_under(&server.data_dir())
        .iter()
        .filter(|p| p.app_id == "/lost")
        .filter_map(|p| p.task_id.clone())
        .collect::<BTreeSet<_>>();
    assert_eq!(alive, BTreeSet::from([other_id.clone(), replacement_id.clone()]));

    // The event stream said so.
    let (mut status_seen, mut instance_seen) = (false, false);
    events.read_until(Duration::from_secs(30), |f| {
        status_seen |= f.event == "status_update_event"
            && f.data["taskId"] == victim_id.as_str()
            && f.data["taskStatus"] == "TASK_UNREACHABLE";
        instance_seen |= f.event == "instance_changed_event"
            && f.data["condition"] == "Unreachable"
            && f.data["host"] == victim_host.as_str();
        status_seen && instance_seen
    })?;
    ensure!(
        status_seen && instance_seen,
        "TASK_UNREACHABLE in status_update_event ({status_seen}) and instance_changed_event ({instance_seen})"
    );
    Ok(())
}

/// Waits until the app's tasks are exactly `ids` running plus, optionally, `unreachable`.
fn running_with(server: &PacerServer, unreachable: &str, ids: &[&str]) -> Result<Vec<Value>> {
    wait_until(LAUNCH, || {
        let tasks = tasks(server, "/lost").ok()?;
        let live = tasks.iter().filter(|t| t["id"] != unreachable);
        let ok = live.clone().count() == ids.len()
            && live
                .clone()
                .all(|t| t["state"] == "TASK_RUNNING" && ids.contains(&t["id"].as_str().unwrap_or("")));
        ok.then_some(tasks)
    })
    .with_context(|| format!("{ids:?} should run\n{}", server.log()))
}

#[test]
fn with_the_unreachable_strategy_disabled_nothing_is_replaced_while_the_agent_is_away() -> Result<()> {
    let (server, mesos) = start()?;
    let app = json!({"id": "/kept", "cmd": "sleep 1000", "cpus": 0.01, "mem": 8, "instances": 1,
        "unreachableStrategy": "disabled"});
    let r = server.post("/v2/apps", &app)?;
    ensure!(r.status == 201, "{} {}", r.status, r.body);
    let task = running(&server, "/kept", 1)?.remove(0);
    let (task_id, host) = (field(&task, "id")?.to_string(), field(&task, "host")?.to_string());
    let pid = process_of(&server, &task)?;

    operator(&mesos, &format!("/local/agents/{host}/disconnect"))?;
    wait_until(LAUNCH, || {
        let tasks = tasks(&server, "/kept").ok()?;
        (tasks.len() == 1 && tasks[0]["state"] == "TASK_UNREACHABLE").then_some(())
    })
    .context("the task should show unreachable")?;
    // Well past what an enabled strategy would wait: still the one unreachable task.
    std::thread::sleep(Duration::from_secs(6));
    let tasks_now = tasks(&server, "/kept")?;
    ensure!(
        tasks_now.len() == 1 && tasks_now[0]["id"] == task_id.as_str() && tasks_now[0]["state"] == "TASK_UNREACHABLE",
        "nothing replaced: {tasks_now:?}"
    );
    ensure!(process_alive(pid));

    operator(&mesos, &format!("/local/agents/{host}/reconnect"))?;
    let back = running(&server, "/kept", 1)?;
    assert_eq!(back[0]["id"], task_id.as_str(), "the same task, running again");
    ensure!(process_alive(pid));
    Ok(())
}

#[test]
fn an_agent_marked_gone_has_its_task_replaced_at_once_and_stays_gone_across_a_restart() -> Result<()> {
    let (mut server, mesos) = start()?;
    let app = json!({"id": "/moved", "cmd": "sleep 1000", "cpus": 0.01, "mem": 8, "instances": 1,
        "unreachableStrategy": {"inactiveAfterSeconds": 300, "expungeAfterSeconds": 600}});
    let r = server.post("/v2/apps", &app)?;
    ensure!(r.status == 201, "{} {}", r.status, r.body);
    let task = running(&server, "/moved", 1)?.remove(0);
    let (task_id, host) = (field(&task, "id")?.to_string(), field(&task, "host")?.to_string());
    let agent_id = field(&task, "slaveId")?.to_string();
    let pid = process_of(&server, &task)?;

    let res = reqwest::blocking::Client::new()
        .post(format!("{mesos}/api/v1"))
        .header("Content-Type", "application/json")
        .body(json!({"type": "MARK_AGENT_GONE", "mark_agent_gone": {"agent_id": {"value": agent_id}}}).to_string())
        .send()?;
    ensure!(res.status() == 200, "MARK_AGENT_GONE: {}", res.status());
    wait_until(LAUNCH, || (!process_alive(pid)).then_some(())).context("a gone agent's task is killed")?;
    // Gone for good: replaced at once on another agent, whatever the unreachable strategy.
    let moved = wait_until(LAUNCH, || {
        let tasks = tasks(&server, "/moved").ok()?;
        (tasks.len() == 1 && tasks[0]["id"] != task_id.as_str() && tasks[0]["state"] == "TASK_RUNNING")
            .then(|| tasks[0].clone())
    })
    .with_context(|| format!("a replacement should run\n{}", server.log()))?;
    ensure!(moved["host"] != host.as_str(), "{moved}");
    process_of(&server, &moved)?;

    server.restart()?;
    assert_eq!(agent_state(&mesos, &host)?, "GONE");
    let after = running(&server, "/moved", 1)?;
    assert_eq!(after[0]["id"], moved["id"]);
    Ok(())
}
