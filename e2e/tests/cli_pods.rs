//! Pods through the real `pacer` client against a real server: pod documents (YAML and JSON,
//! mixed with apps) diffed, applied, re-applied, changed, listed, described, scaled, rolled
//! back, pruned and deleted; refusals (invalid pods in group documents, clashing ids, invalid pods,
//! locks) and `schema pod`; `get pods -w` and `get tasks -w` following a pod, and `wait` and
//! `describe` reading its conditions.
//!
//! Most pods here ask for no instances (or for more than any agent offers), so that what the
//! API shows is checked apart from launching; one is scaled up to see its instance run.

mod common;

use common::*;

use std::collections::BTreeSet;
use std::path::Path;

use anyhow::{Context, Result, ensure};
use pacer_e2e::{PacerServer, wait_until};
use serde_json::Value;

fn write(path: &Path, text: &str) -> Result<String> {
    std::fs::write(path, text)?;
    Ok(path.to_str().context("utf-8 path")?.to_string())
}

/// `/pods/web`, no instances, labelled `owner: ci`, one container running `shell`.
fn web(shell: &str) -> String {
    format!(
        "id: /pods/web\nlabels:\n  owner: ci\nscaling:\n  kind: fixed\n  instances: 0\ncontainers:\n  - name: main\n    exec:\n      command:\n        shell: {shell}\n    resources:\n      cpus: 0.05\n      mem: 16\n    endpoints:\n      - name: http\n"
    )
}

const SIDE: &str = r#"{"kind": "pod", "id": "side", "scaling": {"kind": "fixed", "instances": 0},
  "containers": [{"name": "a", "exec": {"command": {"shell": "sleep 1000"}}, "resources": {"cpus": 0.05, "mem": 16}},
                 {"name": "b", "exec": {"command": {"shell": "sleep 1000"}}, "resources": {"cpus": 0.05, "mem": 16}}]}"#;

const SOLO: &str = "id: /solo\ncmd: sleep 1000\ncpus: 0.05\nmem: 16\nlabels:\n  owner: ci\n";

fn rows(table: &str) -> Vec<Vec<String>> {
    table
        .lines()
        .map(|l| l.split_whitespace().map(String::from).collect())
        .collect()
}

#[test]
fn pod_documents_are_diffed_applied_listed_scaled_rolled_back_and_pruned() -> Result<()> {
    let server = PacerServer::start()?;
    let dir = tempfile::tempdir()?;
    write(&dir.path().join("10-solo.yaml"), SOLO)?;
    let web_file = write(&dir.path().join("20-web.yaml"), &web("sleep 1000"))?;
    let side_file = write(&dir.path().join("30-side.json"), SIDE)?;
    let d = dir.path().to_str().context("utf-8 path")?;

    let out = pacer(&server, &["diff", "-f", d], 1)?;
    ensure!(
        stdout(&out).contains("--- /dev/null\n+++ manifest/pod/pods/web\n")
            && stdout(&out).contains("+++ manifest/pod/side\n")
            && stdout(&out).contains("+++ manifest/app/solo\n"),
        "{}",
        stdout(&out)
    );
    let out = pacer(&server, &["apply", "-f", d, "--dry-run=server"], 0)?;
    ensure!(
        stdout(&out) == "app/solo created (dry run)\npod/pods/web created (dry run)\npod/side created (dry run)\n",
        "{}",
        stdout(&out)
    );
    ensure!(
        server.get("/v2/pods/pods/web")?.status == 404,
        "a dry run writes nothing"
    );

    let out = pacer(&server, &["apply", "-f", d, "--wait", "--timeout", "90s"], 0)?;
    ensure!(
        stdout(&out) == "app/solo created\npod/pods/web created\npod/side created\n",
        "{}",
        stdout(&out)
    );
    ensure!(
        stderr(&out).contains("1 app(s) and 2 pod(s) rolled out"),
        "{}",
        stderr(&out)
    );
    let deployments = server.get("/v2/deployments")?.body;
    ensure!(
        deployments.as_array().is_some_and(|ds| ds
            .iter()
            .all(|d| d["affectedPods"].as_array().is_none_or(Vec::is_empty))),
        "--wait waited for the pods' deployments: {deployments}"
    );
    let pod = server.get("/v2/pods/pods/web")?.body;
    ensure!(
        pod["labels"]["owner"] == "ci" && pod["containers"][0]["name"] == "main",
        "{pod}"
    );
    wait_idle(&server)?;

    // Again: nothing sent, no new version.
    let out = pacer(&server, &["apply", "-f", d], 0)?;
    ensure!(
        stdout(&out) == "app/solo unchanged\npod/pods/web unchanged\npod/side unchanged\n",
        "{}",
        stdout(&out)
    );
    let versions = server.get("/v2/pods/pods/web::versions")?.body;
    ensure!(versions.as_array().map(Vec::len) == Some(1), "{versions}");
    pacer(&server, &["diff", "-f", d], 0)?;

    // A changed command: a diff, then a new version.
    write(&dir.path().join("20-web.yaml"), &web("sleep 1001"))?;
    let out = pacer(&server, &["diff", "-f", &web_file], 1)?;
    let diff = stdout(&out);
    ensure!(
        diff.starts_with("--- live/pod/pods/web\n+++ manifest/pod/pods/web\n")
            && diff
                .lines()
                .any(|l| l.starts_with('-') && l.ends_with("shell: sleep 1000"))
            && diff
                .lines()
                .any(|l| l.starts_with('+') && l.ends_with("shell: sleep 1001")),
        "{diff}"
    );
    let out = pacer(&server, &["apply", "-f", &web_file, "--wait"], 0)?;
    ensure!(stdout(&out) == "pod/pods/web configured\n", "{}", stdout(&out));
    let pod = server.get("/v2/pods/pods/web")?.body;
    ensure!(
        pod["containers"][0]["exec"]["command"]["shell"] == "sleep 1001",
        "{pod}"
    );

    // Listing and describing.
    let table = stdout(&pacer(&server, &["get", "pods"], 0)?);
    let r = rows(&table);
    ensure!(
        r[0] == ["ID", "INSTANCES", "STATUS", "CONTAINERS", "VERSION"],
        "{table}"
    );
    ensure!(r.len() == 3, "{table}");
    let web_row = r.iter().find(|r| r[0] == "/pods/web").context(table.clone())?;
    ensure!(web_row[1..4] == ["0/0", "STABLE", "main"], "{table}");
    let side_row = r.iter().find(|r| r[0] == "/side").context(table.clone())?;
    ensure!(side_row[3] == "a,b", "{table}");
    let wide = stdout(&pacer(&server, &["get", "pod", "/side", "-o", "wide"], 0)?);
    let r = rows(&wide);
    ensure!(r[0][5..] == ["CPUS", "MEM", "HOSTS"] && r[1][7] == "<none>", "{wide}");
    let names = stdout(&pacer(&server, &["get", "pods", "-o", "name", "-l", "owner=ci"], 0)?);
    ensure!(names == "pod/pods/web\n", "{names}");
    let json: Value = serde_json::from_str(&stdout(&pacer(&server, &["get", "pod", "pods/web", "-o", "json"], 0)?))?;
    ensure!(
        json["id"] == "/pods/web" && json["spec"]["labels"]["owner"] == "ci",
        "{json}"
    );
    let out = pacer(&server, &["get", "pod", "nope"], 1)?;
    ensure!(stderr(&out).contains("pod '/nope' does not exist"), "{}", stderr(&out));
    let text = stdout(&pacer(&server, &["describe", "pod", "pods/web"], 0)?);
    ensure!(text.starts_with("Name:         /pods/web\n"), "{text}");
    ensure!(text.contains("Labels:       owner=ci\n"), "{text}");
    let main = text
        .lines()
        .find(|l| l.trim_start().starts_with("main "))
        .context(text.clone())?;
    ensure!(main.contains("sleep 1001") && main.ends_with("http:0"), "{text}");
    ensure!(text.ends_with("Deployments:\n  <none>\n"), "{text}");

    // History and a rollback to the first version.
    let history = stdout(&pacer(&server, &["rollout", "history", "pod/pods/web"], 0)?);
    let r = rows(&history);
    ensure!(
        r.len() == 3 && r[0][..3] == ["REVISION", "VERSION", "INSTANCES"],
        "{history}"
    );
    ensure!(r[1][0] == "1" && r[2][0] == "2*" && r[2][4] == "main", "{history}");
    let out = pacer(&server, &["rollout", "undo", "pod/pods/web"], 0)?;
    ensure!(
        stdout(&out).starts_with(&format!("pod/pods/web rolled back to {} (deployment ", r[1][1])),
        "{}",
        stdout(&out)
    );
    let pod = server.get("/v2/pods/pods/web")?.body;
    ensure!(
        pod["containers"][0]["exec"]["command"]["shell"] == "sleep 1000",
        "{pod}"
    );
    let out = pacer(&server, &["rollout", "status", "pod/pods/web", "--timeout", "60s"], 0)?;
    ensure!(
        stdout(&out).starts_with("pod/pods/web rolled out: 0/0 STABLE"),
        "{}",
        stdout(&out)
    );

    // Scale: only scaling.instances changes, and the instance runs (both containers).
    let out = pacer(&server, &["scale", "pod/side", "1"], 0)?;
    ensure!(stdout(&out).trim().len() == 36, "a deployment id: {}", stdout(&out));
    let pod = server.get("/v2/pods/side")?.body;
    ensure!(
        pod["scaling"]["instances"] == 1 && pod["containers"][1]["name"] == "b",
        "{pod}"
    );
    let out = pacer(&server, &["rollout", "status", "pod/side", "--timeout", "90s"], 0)?;
    ensure!(
        stdout(&out).starts_with("pod/side rolled out: 1/1 STABLE"),
        "{}",
        stdout(&out)
    );
    let wide = stdout(&pacer(&server, &["get", "pod", "side", "-o", "wide"], 0)?);
    let r = rows(&wide);
    ensure!(r[1][1..3] == ["1/1", "STABLE"] && r[1][7] != "<none>", "{wide}");
    let text = stdout(&pacer(&server, &["describe", "pod", "side"], 0)?);
    let states: Vec<Vec<String>> = rows(&text)
        .into_iter()
        .filter(|r| r.len() >= 3 && r[0].starts_with("side.instance-") && ["a", "b"].contains(&r[1].as_str()))
        .collect();
    ensure!(
        states.len() == 2 && states.iter().all(|r| r[2] == "TASK_RUNNING"),
        "each container runs: {text}"
    );
    pacer(&server, &["scale", "pod/side", "0"], 0)?;
    wait_idle(&server)?;
    let out = pacer(&server, &["get", "pods", "side"], 0)?;
    ensure!(rows(&stdout(&out))[1][1] == "0/0", "{}", stdout(&out));

    // --prune -l owner=ci with only the side pod: the labelled app and pod go.
    let out = pacer(
        &server,
        &[
            "apply",
            "-f",
            &side_file,
            "--prune",
            "-l",
            "owner=ci",
            "--wait",
            "--timeout",
            "90s",
        ],
        0,
    )?;
    ensure!(
        stdout(&out) == "pod/side unchanged\napp/solo pruned\npod/pods/web pruned\n",
        "{}",
        stdout(&out)
    );
    ensure!(server.get("/v2/pods/pods/web")?.status == 404 && server.get("/v2/apps/solo")?.status == 404);

    let out = pacer(&server, &["delete", "-f", &side_file], 0)?;
    ensure!(stdout(&out).starts_with("pod/side deleted ("), "{}", stdout(&out));
    ensure!(server.get("/v2/pods/side")?.status == 404);
    pacer(&server, &["delete", "pod", "side"], 1)?;
    Ok(())
}

#[test]
fn pod_refusals_locks_and_schema() -> Result<()> {
    let server = PacerServer::start()?;
    let dir = tempfile::tempdir()?;

    // An invalid pod inside a group document: the server refuses the group, naming the pod.
    let grouped = "id: /g\npods:\n  - id: p\n    containers: []\n";
    let out = server.pacer_with_stdin(&["apply", "-f", "-"], grouped.as_bytes())?;
    ensure!(out.status.code() == Some(1), "{}", stderr(&out));
    ensure!(
        stderr(&out).contains("error: group/g (<stdin>") && stderr(&out).contains("/pods(0)/containers"),
        "{}",
        stderr(&out)
    );
    ensure!(server.get("/v2/groups/g")?.status == 404);
    // A pod with an app's id.
    let clash = format!("{SOLO}---\n{}", web("sleep 1").replace("/pods/web", "/solo"));
    let out = server.pacer_with_stdin(&["apply", "-f", "-"], clash.as_bytes())?;
    ensure!(out.status.code() == Some(2), "{}", stderr(&out));
    ensure!(
        stderr(&out).contains("pod /solo is also named as app /solo"),
        "{}",
        stderr(&out)
    );
    ensure!(server.get("/v2/apps/solo")?.status == 404, "nothing was sent");

    // Invalid: found locally by a dry run and by diff, refused by the server otherwise.
    let bad = write(&dir.path().join("bad.yaml"), "kind: pod\nid: /bad\ncontainers: []\n")?;
    let out = pacer(&server, &["apply", "-f", &bad, "--dry-run"], 1)?;
    ensure!(stderr(&out).contains("error: pod/bad ("), "{}", stderr(&out));
    pacer(&server, &["diff", "-f", &bad], 2)?;
    let out = pacer(&server, &["apply", "-f", &bad], 1)?;
    ensure!(
        stderr(&out).contains("error: pod/bad (") && stderr(&out).contains("422"),
        "{}",
        stderr(&out)
    );

    // No agent offers 100 cpus: the deployment never ends and holds the pod.
    let stuck = |shell: &str| {
        format!(
            "id: /stuck\ncontainers:\n  - name: c\n    exec: {{command: {{shell: {shell}}}}}\n    resources: {{cpus: 100, mem: 16}}\n"
        )
    };
    let file = write(&dir.path().join("stuck.yaml"), &stuck("sleep 1000"))?;
    let out = pacer(&server, &["apply", "-f", &file], 0)?;
    ensure!(stdout(&out) == "pod/stuck created\n", "{}", stdout(&out));
    let deployments = server.get("/v2/deployments")?.body;
    let blocking = deployments[0]["id"].as_str().context("a deployment")?.to_string();
    let text = stdout(&pacer(&server, &["describe", "pod", "stuck"], 0)?);
    ensure!(text.contains(&blocking), "{text}");
    let out = pacer(&server, &["apply", "-f", &file, "--wait", "--timeout", "1s"], 0)?;
    ensure!(
        stdout(&out) == "pod/stuck unchanged\n",
        "nothing to wait for: {}",
        stdout(&out)
    );
    write(&dir.path().join("stuck.yaml"), &stuck("sleep 1001"))?;
    let out = pacer(&server, &["apply", "-f", &file], 1)?;
    ensure!(
        stderr(&out).contains(&format!("locked by deployment {blocking}\n  (--force replaces")),
        "{}",
        stderr(&out)
    );
    let out = pacer(
        &server,
        &["apply", "-f", &file, "--force", "--wait", "--timeout", "1s"],
        1,
    )?;
    ensure!(stdout(&out) == "pod/stuck configured\n", "{}", stdout(&out));
    ensure!(
        stderr(&out).contains("timed out after 1s: pod/stuck to be deployed"),
        "{}",
        stderr(&out)
    );

    let out = pacer(&server, &["delete", "pod", "stuck"], 1)?;
    ensure!(stderr(&out).contains("locked by deployment"), "{}", stderr(&out));
    let out = pacer(&server, &["delete", "pod", "stuck", "--force"], 0)?;
    ensure!(stdout(&out).trim().len() == 36, "a deployment id: {}", stdout(&out));
    ensure!(server.get("/v2/pods/stuck")?.status == 404);

    let schema: Value = serde_json::from_str(&stdout(&pacer(&server, &["schema", "pod"], 0)?))?;
    ensure!(schema["properties"]["containers"].is_object(), "{schema}");
    Ok(())
}

/// A `pacer` client left running (`get ... -w`), under `timeout` so that it cannot outlive a
/// failed test; its stdout's lines arrive on `lines`.
struct Following {
    child: std::process::Child,
    lines: std::sync::mpsc::Receiver<String>,
}

impl Following {
    fn start(server: &PacerServer, args: &[&str]) -> Result<Following> {
        use std::io::BufRead;
        use std::process::{Command, Stdio};
        let mut child = Command::new("timeout")
            .arg("300")
            .arg(pacer_e2e::pacer_bin()?)
            .args(args)
            .env("PACER_SERVER", server.url())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()?;
        let out = std::io::BufReader::new(child.stdout.take().context("stdout")?);
        let (tx, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in out.lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Ok(Following { child, lines })
    }

    /// Reads lines until `done` says the table printed since the last header is what it
    /// waits for; returns that table's rows.
    fn until(&self, what: &str, mut done: impl FnMut(&[Vec<String>]) -> bool) -> Result<Vec<Vec<String>>> {
        let mut table: Vec<Vec<String>> = Vec::new();
        loop {
            let line = self
                .lines
                .recv_timeout(LAUNCH)
                .with_context(|| format!("waiting for {what}; the table so far: {table:?}"))?;
            let row: Vec<String> = line.split_whitespace().map(String::from).collect();
            if row.first().is_some_and(|c| c == "ID") {
                table.clear();
            } else if !row.is_empty() {
                table.push(row);
            }
            if done(&table) {
                return Ok(table);
            }
        }
    }
}

impl Drop for Following {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `get pods -w` and `get tasks -w` keep their tables up to date from the event stream while a
/// pod is created, scaled and deleted; `wait --for=healthy|deployed|deleted pod/ID` and
/// `describe pod` read the pod's GitOps status (generation and conditions).
#[test]
fn pods_are_followed_waited_for_and_described_with_their_conditions() -> Result<()> {
    let server = PacerServer::start()?;
    let pods = Following::start(&server, &["get", "pods", "-w"])?;
    let tasks = Following::start(&server, &["get", "tasks", "-w"])?;
    // Each prints its (empty) table once connected; both are subscribed once the server has
    // announced three streams: theirs and this test's own (replayed from the start).
    pods.until("the pods' header", |_| true)?;
    tasks.until("the tasks' header", |_| true)?;
    let own = pacer_e2e::EventStream::open(server.url(), Some(0))?;
    let mut attached = 0;
    own.read_until(LAUNCH, |f| {
        attached += usize::from(f.event == "event_stream_attached");
        attached == 3
    })?;
    ensure!(attached == 3, "the clients subscribed: {attached}");

    let watched = "id: /watched\ncontainers:\n  - name: a\n    exec: {command: {shell: sleep 1000}}\n    resources: {cpus: 0.05, mem: 16}\n  - name: b\n    exec: {command: {shell: sleep 1000}}\n    resources: {cpus: 0.05, mem: 16}\n";
    let out = server.pacer_with_stdin(&["apply", "-f", "-"], watched.as_bytes())?;
    ensure!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    let out = pacer(
        &server,
        &["wait", "--for=healthy", "pod/watched", "--timeout", "90s"],
        0,
    )?;
    ensure!(stdout(&out) == "pod/watched healthy: 1/1 STABLE\n", "{}", stdout(&out));
    let watched_at = |t: &[Vec<String>], n: &str| t.iter().any(|r| r[0] == "/watched" && r[1] == n && r[2] == "STABLE");
    pods.until("/watched 1/1 STABLE", |t| watched_at(t, "1/1"))?;
    let running = |t: &[Vec<String>]| -> BTreeSet<String> {
        t.iter()
            .filter(|r| r.get(1).is_some_and(|a| a == "/watched") && r.contains(&"TASK_RUNNING".to_string()))
            .map(|r| r[0].clone())
            .collect()
    };
    tasks.until("a running task of /watched", |t| running(t).len() == 1)?;

    // Scaled: both tables follow, and the OS has four container processes.
    pacer(&server, &["scale", "pod/watched", "2"], 0)?;
    pods.until("/watched 2/2 STABLE", |t| watched_at(t, "2/2"))?;
    tasks.until("two running tasks of /watched", |t| running(t).len() == 2)?;
    wait_until(LAUNCH, || (server.task_ids("/watched").len() == 4).then_some(()))
        .with_context(|| format!("four container processes: {:?}", server.task_ids("/watched")))?;

    let out = pacer(
        &server,
        &["wait", "--for=deployed", "pod/watched", "--timeout", "90s"],
        0,
    )?;
    ensure!(
        stdout(&out).starts_with("pod/watched deployed: 2/2"),
        "{}",
        stdout(&out)
    );
    let text = stdout(&pacer(&server, &["describe", "pod", "watched"], 0)?);
    let generation = text
        .lines()
        .find_map(|l| l.strip_prefix("Generation:"))
        .context(text.clone())?
        .split_whitespace()
        .map(String::from)
        .collect::<Vec<_>>();
    ensure!(
        generation.len() == 3 && generation[2] == format!("{})", generation[0]),
        "observed the current generation: {text}"
    );
    let condition = |kind: &str| {
        rows(&text)
            .into_iter()
            .find(|r| r.first().is_some_and(|k| k == kind))
            .with_context(|| format!("no {kind} row: {text}"))
    };
    ensure!(
        condition("Available")?[1..3] == ["True", "InstancesAvailable"],
        "{text}"
    );
    ensure!(condition("Progressing")?[1] == "False", "{text}");
    ensure!(condition("Degraded")?[1] == "False", "{text}");

    // What cannot be placed times out, saying what it waits for.
    let stuck = "id: /stuck\ncontainers:\n  - name: c\n    exec: {command: {shell: sleep 1000}}\n    resources: {cpus: 100, mem: 16}\n";
    let out = server.pacer_with_stdin(&["apply", "-f", "-"], stuck.as_bytes())?;
    ensure!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    let out = pacer(&server, &["wait", "--for=deployed", "pod/stuck", "--timeout", "2s"], 1)?;
    ensure!(
        stderr(&out).contains("timed out after 2s: pod/stuck to be deployed; it is 0/1 DEGRADED")
            && stderr(&out).contains(", deployment ")
            && stderr(&out).contains(" at step "),
        "{}",
        stderr(&out)
    );

    // Deleted: gone from the table, which goes on following (a later pod shows up).
    pacer(&server, &["delete", "pod", "watched"], 0)?;
    let out = pacer(
        &server,
        &["wait", "--for=deleted", "pod/watched", "--timeout", "90s"],
        0,
    )?;
    ensure!(stdout(&out) == "pod/watched deleted: not found\n", "{}", stdout(&out));
    ensure!(server.task_ids("/watched").is_empty(), "no process of /watched is left");
    let last = "id: /zz-last\nscaling: {kind: fixed, instances: 0}\ncontainers:\n  - name: c\n    exec: {command: {shell: sleep 1}}\n    resources: {cpus: 0.05, mem: 16}\n";
    let out = server.pacer_with_stdin(&["apply", "-f", "-"], last.as_bytes())?;
    ensure!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    let table = pods.until("a table with /zz-last", |t| t.iter().any(|r| r[0] == "/zz-last"))?;
    ensure!(
        table.iter().all(|r| r[0] != "/watched") && table.iter().any(|r| r[0] == "/stuck"),
        "{table:?}"
    );
    Ok(())
}
