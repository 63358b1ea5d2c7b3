//! Pod placement on several local agents through the real binary: a pod's
//! `scheduling.placement` constraints and `acceptedResourceRoles` are applied as an app's are.
//! Where an instance runs is checked twice: the agent its `::status` names, and the directory
//! the sandboxes of its containers' processes (read from `/proc`) lie in.

use std::collections::{BTreeMap, BTreeSet};
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
            "- hostname: {name}\n  attributes: {{rack: {rack}}}\n  resources: {{cpus: 4, mem: 4096, disk: 1000, ports: \"[{from}-{to}]\"}}\n",
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

/// A pod of two small containers with `instances` and `placement`.
fn pod(id: &str, instances: u32, placement: Value) -> Value {
    let container = |name: &str| json!({"name": name, "exec": {"command": {"shell": "sleep 1000"}}, "resources": {"cpus": 0.01, "mem": 8}});
    json!({"id": id, "scaling": {"kind": "fixed", "instances": instances},
           "executorResources": {"cpus": 0.01, "mem": 32, "disk": 1},
           "containers": [container("a"), container("b")],
           "scheduling": {"placement": placement}})
}

fn create(server: &PacerServer, pod: &Value) -> Result<()> {
    let r = server.post("/v2/pods", pod)?;
    ensure!(r.status == 201, "create {}: {} {}", pod["id"], r.status, r.body);
    Ok(())
}

/// The agents of `id`'s `n` instances once each has both containers running, sorted; each
/// container's process runs in a sandbox of the agent its instance's status names.
fn placed(server: &PacerServer, id: &str, n: usize) -> Result<Vec<String>> {
    let instances = wait_until(LAUNCH, || {
        let s = server.get(&format!("/v2/pods{id}::status")).ok()?.body;
        let instances = s["instances"].as_array()?.clone();
        let running = |i: &Value| {
            i["containers"]
                .as_array()
                .is_some_and(|cs| cs.len() == 2 && cs.iter().all(|c| c["status"] == "TASK_RUNNING"))
        };
        (instances.len() == n && instances.iter().all(running)).then_some(instances)
    })
    .with_context(|| format!("{n} instances of {id} should run\n{}", server.log()))?;
    let procs = task_processes_under(&server.data_dir());
    let mut hosts = Vec::new();
    for i in &instances {
        let host = i["agentHostname"].as_str().context("agentHostname")?.to_string();
        let agent_dir = server.data_dir().join("mesos").join(&host);
        for c in i["containers"].as_array().context("containers")? {
            let task_id = c["containerId"].as_str().context("containerId")?;
            let p = procs
                .iter()
                .find(|p| p.task_id.as_deref() == Some(task_id))
                .with_context(|| format!("no process for container {task_id}"))?;
            ensure!(
                p.sandbox.starts_with(&agent_dir),
                "container {task_id} of an instance on {host} runs in {}, not under {}",
                p.sandbox.display(),
                agent_dir.display()
            );
        }
        hosts.push(host);
    }
    hosts.sort();
    Ok(hosts)
}

/// The first reason `/v2/queue` gives for the pod `id` declining offers, with its count.
fn first_reason(server: &PacerServer, id: &str) -> Option<(Value, Value)> {
    let r = server.get("/v2/queue").ok()?;
    let item = r.body["queue"]
        .as_array()?
        .iter()
        .find(|i| i["pod"]["id"] == id)?
        .clone();
    let declined = item["processedOffersSummary"]["rejectSummaryLaunchAttempt"]
        .as_array()?
        .iter()
        .find(|s| s["declined"].as_u64() > Some(0))?
        .clone();
    Some((item["count"].clone(), declined["reason"].clone()))
}

#[test]
fn pod_constraints_place_instances_and_what_none_allows_waits() -> Result<()> {
    let server = PacerServer::start_with_agents(three_agents, &[])?;
    let unique = json!({"constraints": [{"fieldName": "hostname", "operator": "UNIQUE"}]});
    create(&server, &pod("/spread", 3, unique))?;
    // The app form of a constraint is taken too.
    create(
        &server,
        &pod("/rack1", 2, json!({"constraints": [["rack", "LIKE", "r[1]"]]})),
    )?;
    create(
        &server,
        &pod(
            "/nowhere",
            1,
            json!({"constraints": [{"fieldName": "rack", "operator": "IS", "value": "r9"}]}),
        ),
    )?;

    assert_eq!(placed(&server, "/spread", 3)?, ["agent-a", "agent-b", "agent-c"]);
    assert_eq!(placed(&server, "/rack1", 2)?, ["agent-a", "agent-a"]);

    let (count, reason) = wait_until(LAUNCH, || {
        first_reason(&server, "/nowhere").filter(|(_, r)| r == "UnfulfilledConstraint")
    })
    .with_context(|| format!("/nowhere should wait\n{}", server.log()))?;
    assert_eq!((count, reason), (json!(1), json!("UnfulfilledConstraint")));
    ensure!(server.task_ids("/nowhere").is_empty(), "nothing of /nowhere runs");
    let s = server.get("/v2/pods/nowhere::status")?.body;
    ensure!(
        s["instances"]
            .as_array()
            .is_none_or(|i| i.iter().all(|i| i["agentHostname"].is_null())),
        "no instance of /nowhere was placed: {s}"
    );

    // Scaling the spread pod up: a fourth instance has no host left and waits, with the reason.
    let mut more = pod("/spread", 4, json!({"constraints": [["hostname", "UNIQUE"]]}));
    more.as_object_mut().context("pod")?.remove("id");
    let r = server.put("/v2/pods/spread", &more)?;
    ensure!(r.status == 200, "scale: {} {}", r.status, r.body);
    let (count, _) = wait_until(LAUNCH, || {
        first_reason(&server, "/spread").filter(|(_, r)| r == "UnfulfilledConstraint")
    })
    .with_context(|| format!("a fourth /spread should wait\n{}", server.log()))?;
    assert_eq!(count, json!(1));
    // Every agent offers again and is declined, and still three instances run.
    let processed = || -> Option<u64> {
        let r = server.get("/v2/queue").ok()?;
        let item = r.body["queue"]
            .as_array()?
            .iter()
            .find(|i| i["pod"]["id"] == "/spread")?
            .clone();
        item["processedOffersSummary"]["processedOffersCount"].as_u64()
    };
    let seen = processed().context("/spread waits")?;
    wait_until(LAUNCH, || processed().filter(|n| *n >= seen + 3))
        .with_context(|| format!("offers should keep coming\n{}", server.log()))?;
    let mut per_instance: BTreeMap<String, usize> = BTreeMap::new();
    for task in server.task_ids("/spread") {
        let instance = task.rsplit_once('.').map_or(task.clone(), |(i, _)| i.to_string());
        *per_instance.entry(instance).or_default() += 1;
    }
    ensure!(
        per_instance.len() == 3 && per_instance.values().all(|n| *n == 2),
        "three instances of two containers: {per_instance:?}"
    );
    Ok(())
}

#[test]
fn pod_roles_keep_reserved_agents_for_their_pods() -> Result<()> {
    // agent-c's resources are reserved for role web; Pacer subscribes with role web.
    let agents = |range: (u64, u64)| format!("{}  role: web\n", three_agents(range));
    let server = PacerServer::start_with_agents(agents, &["--mesos-role", "web"])?;
    let mut web = pod("/web", 2, json!({"acceptedResourceRoles": ["web"]}));
    web["role"] = json!("web");
    create(&server, &web)?;
    assert_eq!(placed(&server, "/web", 2)?, ["agent-c", "agent-c"]);

    // Only unreserved resources for a pod that accepts only `*`: agent-c is never used.
    let star = pod(
        "/star",
        1,
        json!({"acceptedResourceRoles": ["*"], "constraints": [["hostname", "LIKE", "agent-c"]]}),
    );
    create(&server, &star)?;
    let (_, reason) = wait_until(LAUNCH, || {
        first_reason(&server, "/star").filter(|(_, r)| r == "UnfulfilledRole")
    })
    .with_context(|| format!("/star should wait\n{}", server.log()))?;
    assert_eq!(reason, json!("UnfulfilledRole"));
    let ids: BTreeSet<String> = server.task_ids("/star");
    ensure!(ids.is_empty(), "nothing of /star runs: {ids:?}");
    Ok(())
}
