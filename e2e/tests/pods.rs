//! Pods through the real server: a pod instance is one Mesos task group whose containers run
//! as processes side by side, share the pod's ephemeral volume, see their endpoint ports, are
//! replaced together when one of them dies, and go away with the pod.

use std::collections::BTreeSet;
use std::time::Duration;

use anyhow::{Context, Result, ensure};
use nix::sys::signal::{Signal, kill};
use pacer_e2e::{PacerServer, task_processes_under, wait_until};
use serde_json::json;

const LAUNCH: Duration = Duration::from_secs(60);

/// The environment of a live process, as `/proc` has it.
fn environ(pid: nix::unistd::Pid) -> Vec<String> {
    std::fs::read(format!("/proc/{pid}/environ"))
        .map(|e| {
            e.split(|b| *b == 0)
                .map(|v| String::from_utf8_lossy(v).into_owned())
                .collect()
        })
        .unwrap_or_default()
}

fn wait_for_containers(server: &PacerServer, n: usize, not: &BTreeSet<String>) -> Result<BTreeSet<String>> {
    wait_until(LAUNCH, || {
        let ids = server.task_ids("/pod");
        (ids.len() == n && ids.is_disjoint(not)).then_some(ids)
    })
    .with_context(|| {
        format!(
            "{n} container processes, have {:?}\n{}",
            server.task_ids("/pod"),
            server.log()
        )
    })
}

#[test]
fn a_pod_runs_its_containers_as_one_task_group() -> Result<()> {
    let server = PacerServer::start()?;
    let pod = json!({
        "id": "/pod",
        "volumes": [{"name": "shared"}],
        "containers": [
            {"name": "writer", "resources": {"cpus": 0.05, "mem": 16},
             "exec": {"command": {"shell": "echo hello > data/greeting && sleep 1000"}},
             "endpoints": [{"name": "web", "hostPort": 0}],
             "volumeMounts": [{"name": "shared", "mountPath": "data"}]},
            {"name": "reader", "resources": {"cpus": 0.05, "mem": 16},
             "exec": {"command": {"shell":
                 "while [ ! -f data/greeting ]; do sleep 0.1; done; cat data/greeting > seen; sleep 1000"}},
             "volumeMounts": [{"name": "shared", "mountPath": "data"}]}
        ]
    });
    let r = server.post("/v2/pods", &pod)?;
    ensure!(r.status == 201, "create: {} {}", r.status, r.body);
    ensure!(r.header("Marathon-Deployment-Id").is_some(), "no deployment header");

    let first = wait_for_containers(&server, 2, &BTreeSet::new())?;
    let instance = first
        .iter()
        .next()
        .and_then(|id| id.rsplit_once('.').map(|(i, _)| i.to_string()))
        .context("a container task id")?;
    ensure!(
        first == BTreeSet::from([format!("{instance}.reader"), format!("{instance}.writer")]),
        "task ids are <instance>.<container>: {first:?}"
    );

    // Both containers see the endpoint's port.
    let procs: Vec<_> = server.task_processes("/pod");
    let port = procs
        .iter()
        .flat_map(|p| environ(*p))
        .find_map(|v| v.strip_prefix("ENDPOINT_WEB=").map(str::to_string))
        .context("ENDPOINT_WEB in the containers' environment")?;
    for p in &procs {
        let env = environ(*p);
        ensure!(env.contains(&format!("ENDPOINT_WEB={port}")), "{p}: {env:?}");
    }

    // What the writer put in the shared volume, the reader read.
    let reader = task_processes_under(server.data_dir().parent().context("the server's root")?)
        .into_iter()
        .find(|p| p.task_id.as_deref() == Some(&format!("{instance}.reader")))
        .context("the reader's process")?;
    let seen = wait_until(LAUNCH, || {
        std::fs::read_to_string(reader.sandbox.join("seen"))
            .ok()
            .filter(|s| !s.is_empty())
    })
    .context("the reader sees the writer's file")?;
    ensure!(seen.trim() == "hello", "seen: {seen:?}");

    // The status shows the instance stable with both containers running.
    let status = wait_until(LAUNCH, || {
        let r = server.get("/v2/pods/pod::status").ok()?;
        (r.body["status"] == "STABLE").then_some(r.body)
    })
    .with_context(|| format!("STABLE: {:?}", server.get("/v2/pods/pod::status").map(|r| r.body)))?;
    let containers = status["instances"][0]["containers"].as_array().context("containers")?;
    ensure!(containers.len() == 2, "{status}");
    ensure!(containers.iter().all(|c| c["status"] == "TASK_RUNNING"), "{status}");

    // Killing one container's process takes the group down and a new one replaces it.
    let writer = task_processes_under(server.data_dir().parent().context("the server's root")?)
        .into_iter()
        .filter(|p| p.task_id.as_deref() == Some(&format!("{instance}.writer")))
        .map(|p| p.pid)
        .collect::<Vec<_>>();
    for pid in &writer {
        let _ = kill(*pid, Signal::SIGKILL);
    }
    let second = wait_for_containers(&server, 2, &first)?;
    ensure!(second.len() == 2, "{second:?}");

    // Deleting the pod ends every process.
    let r = server.delete("/v2/pods/pod")?;
    ensure!(r.status == 202, "delete: {} {}", r.status, r.body);
    wait_until(LAUNCH, || server.task_processes("/pod").is_empty().then_some(()))
        .context("no process left after delete")?;
    Ok(())
}

/// A mount path the embedded agent cannot make (it has no mount namespaces: a volume shows
/// only inside the sandbox) is refused before anything is stored, saying where and why.
#[test]
fn an_absolute_mount_path_is_refused_with_where_and_why() -> Result<()> {
    let server = PacerServer::start()?;
    let pod = json!({
        "id": "/abs",
        "volumes": [{"name": "shared"}],
        "containers": [
            {"name": "writer", "resources": {"cpus": 0.05, "mem": 16},
             "exec": {"command": {"shell": "echo hi > /data/x; sleep 1000"}},
             "volumeMounts": [{"name": "shared", "mountPath": "/data"}]}
        ]
    });
    let r = server.post("/v2/pods", &pod)?;
    ensure!(r.status == 422, "create: {} {}", r.status, r.body);
    let detail = &r.body["details"][0];
    ensure!(
        detail["path"] == "/containers(0)/volumeMounts(0)/mountPath"
            && detail["errors"][0]
                .as_str()
                .is_some_and(|e| e.contains("'/data' is absolute") && e.contains("relative mountPath such as 'data'")),
        "{}",
        r.body
    );
    ensure!(server.get("/v2/pods/abs")?.status == 404, "nothing stored");
    ensure!(server.task_ids("/abs").is_empty(), "nothing runs");
    Ok(())
}

/// The GitOps status of a running pod on the real server, and `If-Match` on its writes.
#[test]
fn a_pod_reports_its_conditions_and_guards_writes_with_if_match() -> Result<()> {
    let server = PacerServer::start()?;
    let pod = |shell: &str| {
        json!({"id": "/g", "containers": [{"name": "c", "resources": {"cpus": 0.05, "mem": 16},
               "exec": {"command": {"shell": shell}}}]})
    };
    let r = server.post("/v2/pods", &pod("sleep 1000"))?;
    ensure!(r.status == 201, "create: {} {}", r.status, r.body);
    let available = |s: &serde_json::Value| {
        s["conditions"]
            .as_array()
            .and_then(|cs| cs.iter().find(|c| c["type"] == "Available"))
            .is_some_and(|c| c["status"] == "True")
    };
    let status = wait_until(LAUNCH, || {
        let s = server.get("/v2/pods/g::status?embed=status").ok()?.body;
        (available(&s) && s["generation"] == s["observedGeneration"]).then_some(s)
    })
    .with_context(|| format!("available: {:?}", server.get("/v2/pods/g::status?embed=status")))?;
    ensure!(server.task_ids("/g").len() == 1, "its container runs: {status}");
    ensure!(
        server.get("/v2/pods/g::status")?.body.get("conditions").is_none(),
        "Marathon's PodStatus unless asked"
    );

    let r = server.get("/v2/pods/g")?;
    let etag = r.header("etag").context("an ETag")?.to_string();
    ensure!(
        etag == format!("\"{}\"", r.body["version"].as_str().unwrap_or_default()),
        "{etag}"
    );
    let http = reqwest::blocking::Client::new();
    let put = |tag: &str, shell: &str| -> Result<u16> {
        let r = http
            .put(format!("{}/v2/pods/g", server.url()))
            .header("If-Match", tag)
            .json(&pod(shell))
            .send()?;
        Ok(r.status().as_u16())
    };
    ensure!(put("\"2000-01-01T00:00:00.000Z\"", "sleep 1001")? == 412);
    ensure!(put(&etag, "sleep 1002")? == 200);
    ensure!(put(&etag, "sleep 1003")? == 412, "the version moved on");
    let shell = server.get("/v2/pods/g")?.body["containers"][0]["exec"]["command"]["shell"].clone();
    ensure!(shell == "sleep 1002", "{shell}");
    Ok(())
}

/// A host volume shows a directory of the agent's host at the containers' mount paths: what
/// one container writes there, the other reads, and the host keeps.
#[test]
fn a_host_volume_is_shared_by_the_containers_and_kept_on_the_host() -> Result<()> {
    let server = PacerServer::start()?;
    let host = tempfile::tempdir()?;
    let pod = json!({
        "id": "/hosted",
        "volumes": [{"name": "out", "host": host.path()}],
        "containers": [
            {"name": "writer", "resources": {"cpus": 0.05, "mem": 16},
             "exec": {"command": {"shell": "echo hello > out/greeting && sleep 1000"}},
             "volumeMounts": [{"name": "out", "mountPath": "out"}]},
            {"name": "reader", "resources": {"cpus": 0.05, "mem": 16},
             "exec": {"command": {"shell":
                 "while [ ! -s shared/greeting ]; do sleep 0.1; done; cp shared/greeting shared/seen; sleep 1000"}},
             "volumeMounts": [{"name": "out", "mountPath": "shared", "readOnly": false}]}
        ]
    });
    let r = server.post("/v2/pods", &pod)?;
    ensure!(r.status == 201, "create: {} {}", r.status, r.body);
    let seen = wait_until(LAUNCH, || {
        std::fs::read_to_string(host.path().join("seen"))
            .ok()
            .filter(|s| !s.is_empty())
    })
    .with_context(|| format!("the reader copies the writer's file on the host\n{}", server.log()))?;
    ensure!(seen.trim() == "hello", "seen: {seen:?}");
    ensure!(server.task_ids("/hosted").len() == 2, "both containers run");
    let r = server.delete("/v2/pods/hosted")?;
    ensure!(r.status == 202, "delete: {} {}", r.status, r.body);
    wait_until(LAUNCH, || server.task_processes("/hosted").is_empty().then_some(()))
        .context("no process left after delete")?;
    ensure!(host.path().join("greeting").is_file(), "the host keeps the data");
    Ok(())
}
