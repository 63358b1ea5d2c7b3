//! Groups through the real `pacer` client against a real server: group documents applied,
//! re-applied, diffed, changed and pruned; mixed with app documents; listed, described,
//! rolled back, locked by a deployment and deleted.

mod common;

use common::*;

use std::path::Path;

use anyhow::{Context, Result, ensure};
use pacer_e2e::{PacerServer, wait_until};
use serde_json::Value;

fn write(path: &Path, text: &str) -> Result<String> {
    std::fs::write(path, text)?;
    Ok(path.to_str().context("utf-8 path")?.to_string())
}

/// `/shop` with `web` and `back/api` (relative ids), `back` depending on `/shop/db`.
fn shop(web_cmd: &str, back_apps: &str) -> String {
    format!(
        "id: /shop\napps:\n  - id: web\n    cmd: {web_cmd}\n    cpus: 0.05\n    mem: 16\n  - id: db\n    cmd: sleep 1000\n    cpus: 0.05\n    mem: 16\ngroups:\n  - id: back\n    dependencies: [../db]\n    apps: {back_apps}\n"
    )
}

const API: &str = "[{id: api, cmd: sleep 1000, cpus: 0.05, mem: 16}]";

#[test]
fn a_group_document_is_applied_diffed_changed_and_pruned() -> Result<()> {
    let server = PacerServer::start()?;
    let dir = tempfile::tempdir()?;
    let file = write(&dir.path().join("shop.yaml"), &shop("sleep 1000", API))?;

    let out = pacer(&server, &["diff", "-f", &file], 1)?;
    ensure!(
        stdout(&out).starts_with("--- /dev/null\n+++ manifest/app/shop/web\n")
            && stdout(&out).contains("+++ manifest/app/shop/back/api\n")
            && stdout(&out).contains("--- /dev/null\n+++ manifest/group/shop/back\n"),
        "{}",
        stdout(&out)
    );

    let out = pacer(&server, &["apply", "-f", &file, "--wait", "--timeout", "90s"], 0)?;
    ensure!(
        stdout(&out) == "app/shop/web created\napp/shop/db created\napp/shop/back/api created\ngroup/shop created\n",
        "{}",
        stdout(&out)
    );
    for app in ["/shop/web", "/shop/db", "/shop/back/api"] {
        ensure!(server.task_ids(app).len() == 1, "{app} runs after --wait");
    }
    let group = server.get("/v2/groups/shop/back")?.body;
    ensure!(group["dependencies"] == serde_json::json!(["/shop/db"]), "{group}");
    wait_idle(&server)?;

    // The same document again: nothing sent, no new group version.
    let out = pacer(&server, &["apply", "-f", &file], 0)?;
    ensure!(
        stdout(&out)
            == "app/shop/web unchanged\napp/shop/db unchanged\napp/shop/back/api unchanged\ngroup/shop unchanged\n",
        "{}",
        stdout(&out)
    );
    let versions = server.get("/v2/groups/shop/versions")?.body;
    ensure!(versions.as_array().map(Vec::len) == Some(1), "{versions}");
    pacer(&server, &["diff", "-f", &file], 0)?;

    // web changes and api leaves the tree: the group's PUT would remove it.
    write(&dir.path().join("shop.yaml"), &shop("sleep 1001", "[]"))?;
    let out = pacer(&server, &["diff", "-f", &file], 1)?;
    let diff = stdout(&out);
    ensure!(
        diff.contains("--- live/app/shop/web\n+++ manifest/app/shop/web\n")
            && diff.contains("\n-cmd: sleep 1000\n+cmd: sleep 1001\n")
            && diff.contains("--- live/app/shop/back/api\n+++ /dev/null\n")
            && diff.contains("-cmd: sleep 1000\n"),
        "{diff}"
    );
    let out = pacer(&server, &["apply", "-f", &file, "--dry-run=server"], 0)?;
    ensure!(
        stdout(&out)
            == "app/shop/web configured (dry run)\napp/shop/db unchanged (dry run)\napp/shop/back/api pruned (dry run)\ngroup/shop configured (dry run)\n",
        "{}",
        stdout(&out)
    );
    ensure!(
        server.get("/v2/apps/shop/back/api")?.status == 200,
        "a dry run removes nothing"
    );
    ensure!(server.get("/v2/apps/shop/web")?.body["app"]["cmd"] == "sleep 1000");

    let out = pacer(&server, &["apply", "-f", &file, "--wait", "--timeout", "90s"], 0)?;
    ensure!(
        stdout(&out)
            == "app/shop/web configured\napp/shop/db unchanged\napp/shop/back/api pruned\ngroup/shop configured\n",
        "{}",
        stdout(&out)
    );
    ensure!(server.get("/v2/apps/shop/back/api")?.status == 404, "pruned by the PUT");
    ensure!(
        server.task_processes("/shop/back/api").is_empty(),
        "--wait waited for it to go"
    );
    ensure!(server.get("/v2/apps/shop/web")?.body["app"]["cmd"] == "sleep 1001");
    pacer(&server, &["diff", "-f", &file], 0)?;

    // The server refuses a group (a dependency cycle): exit 1 with its message.
    let cycle =
        "id: /cyc\napps:\n  - {id: a, cmd: sleep 1, dependencies: [b]}\n  - {id: b, cmd: sleep 1, dependencies: [a]}\n";
    let out = server.pacer_with_stdin(&["apply", "-f", "-"], cycle.as_bytes())?;
    ensure!(out.status.code() == Some(1), "{:?} {}", out.status.code(), stderr(&out));
    ensure!(stderr(&out).contains("error: group/cyc (<stdin>"), "{}", stderr(&out));
    ensure!(server.get("/v2/groups/cyc")?.status == 404);
    Ok(())
}

fn team(cmd: &str) -> String {
    format!(
        "{{\"id\": \"/team\", \"apps\": [{{\"id\": \"web\", \"cmd\": \"{cmd}\", \"cpus\": 0.05, \"mem\": 16, \"labels\": {{\"owner\": \"ci\"}}}}]}}"
    )
}

#[test]
fn groups_mixed_with_apps_listed_described_rolled_back_and_deleted() -> Result<()> {
    let server = PacerServer::start()?;
    let dir = tempfile::tempdir()?;
    let solo = "id: /solo\ncmd: sleep 1000\ncpus: 0.05\nmem: 16\nlabels:\n  owner: ci\n";
    write(&dir.path().join("10-solo.yaml"), solo)?;
    write(&dir.path().join("20-team.json"), &team("sleep 1000"))?;
    let d = dir.path().to_str().context("utf-8 path")?;

    // An app document inside a group document: refused before anything is sent.
    let inside = dir.path().join("30-inside.yaml");
    write(&inside, "id: /team/extra\ncmd: sleep 1\n")?;
    let out = pacer(&server, &["apply", "-f", d], 2)?;
    ensure!(
        stderr(&out).contains("app /team/extra lies inside group /team of") && stderr(&out).contains("20-team.json"),
        "{}",
        stderr(&out)
    );
    ensure!(server.get("/v2/groups/team")?.status == 404 && server.get("/v2/apps/solo")?.status == 404);
    std::fs::remove_file(&inside)?;

    let out = pacer(&server, &["apply", "-f", d, "--wait", "--timeout", "90s"], 0)?;
    ensure!(
        stdout(&out) == "app/solo created\napp/team/web created\ngroup/team created\n",
        "{}",
        stdout(&out)
    );
    wait_idle(&server)?;

    let table = stdout(&pacer(&server, &["get", "groups"], 0)?);
    let lines: Vec<Vec<&str>> = table.lines().map(|l| l.split_whitespace().collect()).collect();
    ensure!(
        lines[0] == ["ID", "APPS", "GROUPS", "DEPENDENCIES", "VERSION"],
        "{table}"
    );
    ensure!(
        lines.len() == 2 && lines[1][..4] == ["/team", "1", "0", "<none>"],
        "{table}"
    );
    let wide = stdout(&pacer(&server, &["get", "group", "team", "-o", "wide"], 0)?);
    let row: Vec<&str> = wide.lines().nth(1).context("a row")?.split_whitespace().collect();
    ensure!(row[5..] == ["false", "1/1"], "{wide}");
    let json: Value = serde_json::from_str(&stdout(&pacer(&server, &["get", "groups", "team", "-o", "json"], 0)?))?;
    ensure!(json["id"] == "/team" && json["apps"][0]["id"] == "/team/web", "{json}");
    ensure!(stdout(&pacer(&server, &["get", "groups", "-o", "name"], 0)?) == "group/team\n");
    let out = pacer(&server, &["get", "group", "nope"], 1)?;
    ensure!(
        stderr(&out).contains("group '/nope' does not exist"),
        "{}",
        stderr(&out)
    );

    let text = stdout(&pacer(&server, &["describe", "group", "/team"], 0)?);
    ensure!(text.starts_with("Name:         /team\n"), "{text}");
    ensure!(
        text.contains("Instances:    1 running of 1 wanted in 1 app(s)"),
        "{text}"
    );
    let web_row = text
        .lines()
        .find(|l| l.trim_start().starts_with("/team/web"))
        .context(text.clone())?;
    ensure!(
        web_row.split_whitespace().collect::<Vec<_>>()[1..4] == ["1/1", "0", "Running"],
        "{text}"
    );

    // --prune -l: apps inside group documents are the group's; only /solo may go.
    let out = pacer(
        &server,
        &["apply", "-f", &format!("{d}/20-team.json"), "--prune", "-l", "owner=ci"],
        0,
    )?;
    ensure!(
        stdout(&out) == "app/team/web unchanged\ngroup/team unchanged\napp/solo pruned\n",
        "{}",
        stdout(&out)
    );
    wait_idle(&server)?;

    // A second version, its history, and a rollback to the first.
    write(&dir.path().join("20-team.json"), &team("sleep 1001"))?;
    pacer(&server, &["apply", "-f", &format!("{d}/20-team.json"), "--wait"], 0)?;
    let history = stdout(&pacer(&server, &["rollout", "history", "group/team"], 0)?);
    let rows: Vec<Vec<&str>> = history.lines().map(|l| l.split_whitespace().collect()).collect();
    ensure!(
        rows.len() == 3 && rows[0][..3] == ["REVISION", "VERSION", "APPS"],
        "{history}"
    );
    ensure!(
        rows[1][0] == "1" && rows[2][0] == "2*" && rows[2][2] == "1",
        "{history}"
    );
    let out = pacer(&server, &["rollout", "undo", "group/team"], 0)?;
    ensure!(
        stdout(&out).starts_with(&format!("group/team rolled back to {} (deployment ", rows[1][1])),
        "{}",
        stdout(&out)
    );
    ensure!(server.get("/v2/apps/team/web")?.body["app"]["cmd"] == "sleep 1000");
    let out = pacer(&server, &["rollout", "status", "group/team", "--timeout", "90s"], 0)?;
    ensure!(
        stdout(&out) == "group/team rolled out: 1 app(s) deployed\n",
        "{}",
        stdout(&out)
    );

    pacer(&server, &["delete", "group", "/"], 2)?;
    let out = pacer(&server, &["delete", "group", "team"], 0)?;
    ensure!(stdout(&out).trim().len() == 36, "a deployment id: {}", stdout(&out));
    wait_until(LAUNCH, || server.task_processes("/team/web").is_empty().then_some(()))?;
    ensure!(server.get("/v2/groups/team")?.status == 404);
    Ok(())
}

#[test]
fn a_locked_group_names_its_deployment_and_force_overrides() -> Result<()> {
    let server = PacerServer::start()?;
    let dir = tempfile::tempdir()?;
    // No agent offers 100 cpus: the deployment never ends.
    let stuck = |cmd: &str| format!("id: /stuck\napps:\n  - {{id: big, cmd: {cmd}, cpus: 100, mem: 16}}\n");
    let file = write(&dir.path().join("stuck.yaml"), &stuck("sleep 1000"))?;
    let out = pacer(&server, &["apply", "-f", &file], 0)?;
    ensure!(
        stdout(&out) == "app/stuck/big created\ngroup/stuck created\n",
        "{}",
        stdout(&out)
    );
    let deployments = server.get("/v2/deployments")?.body;
    let blocking = deployments[0]["id"].as_str().context("a deployment")?.to_string();

    write(&dir.path().join("stuck.yaml"), &stuck("sleep 1001"))?;
    let out = pacer(&server, &["apply", "-f", &file], 1)?;
    ensure!(
        stderr(&out).contains("error: group/stuck (")
            && stderr(&out).contains(&format!("locked by deployment {blocking}\n  (--force replaces")),
        "{}",
        stderr(&out)
    );
    ensure!(stdout(&out).is_empty(), "{}", stdout(&out));
    let out = pacer(&server, &["apply", "-f", &file, "--force"], 0)?;
    ensure!(stdout(&out).contains("group/stuck configured\n"), "{}", stdout(&out));

    let out = pacer(&server, &["delete", "-f", &file], 1)?;
    ensure!(stderr(&out).contains("locked by deployment"), "{}", stderr(&out));
    let out = pacer(&server, &["delete", "-f", &file, "--force"], 0)?;
    ensure!(stdout(&out).starts_with("group/stuck deleted ("), "{}", stdout(&out));
    ensure!(server.get("/v2/groups/stuck")?.status == 404);
    Ok(())
}

/// A group document with an app and a pod (the pod's group depending on the app): applied,
/// waited for through the group's conditions, unchanged on a second apply, and followed live
/// by `get groups -w` while a PUT adds a subgroup; the group schema names pods.
#[test]
fn a_group_with_a_pod_is_applied_waited_for_and_watched() -> Result<()> {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};
    use std::sync::mpsc;
    use std::time::Duration;

    let server = PacerServer::start()?;
    let dir = tempfile::tempdir()?;
    let doc = "id: /mix\napps:\n  - {id: api, cmd: sleep 1000, cpus: 0.05, mem: 16}\ngroups:\n  - id: edge\n    dependencies: [/mix/api]\n    pods:\n      - id: proxy\n        containers:\n          - {name: c, resources: {cpus: 0.05, mem: 16}, exec: {command: {shell: sleep 1000}}}\n";
    let file = write(&dir.path().join("mix.yaml"), doc)?;

    let out = pacer(&server, &["apply", "-f", &file, "--dry-run=server"], 0)?;
    ensure!(
        stdout(&out)
            == "app/mix/api created (dry run)\npod/mix/edge/proxy created (dry run)\ngroup/mix created (dry run)\n",
        "{}",
        stdout(&out)
    );
    let out = pacer(&server, &["apply", "-f", &file], 0)?;
    ensure!(
        stdout(&out) == "app/mix/api created\npod/mix/edge/proxy created\ngroup/mix created\n",
        "{}",
        stdout(&out)
    );
    let out = pacer(&server, &["wait", "--for=healthy", "group/mix", "--timeout", "90s"], 0)?;
    ensure!(
        stdout(&out).starts_with("group/mix healthy: available"),
        "{}",
        stdout(&out)
    );
    ensure!(
        server.task_ids("/mix/edge/proxy").len() == 1 && server.task_ids("/mix/api").len() == 1,
        "{} {:?} {:?}",
        stdout(&out),
        server.task_ids("/mix/edge/proxy"),
        server.task_ids("/mix/api")
    );
    wait_idle(&server)?;
    let out = pacer(&server, &["apply", "-f", &file], 0)?;
    ensure!(
        stdout(&out) == "app/mix/api unchanged\npod/mix/edge/proxy unchanged\ngroup/mix unchanged\n",
        "{}",
        stdout(&out)
    );
    pacer(&server, &["diff", "-f", &file], 0)?;

    // `get groups -w` (ended by `timeout` in any case) prints the table again on a change.
    let mut child = Command::new("timeout")
        .arg("60")
        .arg(pacer_e2e::pacer_bin()?)
        .args(["get", "groups", "-w"])
        .env("PACER_SERVER", server.url())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()?;
    let stdout_pipe = child.stdout.take().context("stdout")?;
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout_pipe).lines().map_while(std::result::Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut seen = Vec::new();
    let mut read_until = |want: &str| -> Result<()> {
        let deadline = std::time::Instant::now() + Duration::from_secs(45);
        while !seen.iter().any(|l: &String| l.starts_with(want)) {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            let line = rx
                .recv_timeout(left)
                .with_context(|| format!("no row {want} in {seen:?}"))?;
            seen.push(line);
        }
        Ok(())
    };
    read_until("/mix/edge ")?;
    let r = server.put("/v2/groups/mix/extra", &serde_json::json!({"dependencies": []}))?;
    ensure!(r.status == 200, "{} {}", r.status, r.body);
    read_until("/mix/extra ")?;
    let _ = child.kill();
    let _ = child.wait();

    let schema: Value = serde_json::from_str(&stdout(&pacer(&server, &["schema", "group"], 0)?))?;
    ensure!(schema["properties"]["pods"].is_object(), "{schema}");
    ensure!(server.get("/v2/schemas/group")?.body == schema);

    let out = pacer(&server, &["delete", "group", "mix"], 0)?;
    ensure!(stdout(&out).trim().len() == 36, "{}", stdout(&out));
    pacer(&server, &["wait", "--for=deleted", "group/mix", "--timeout", "90s"], 0)?;
    wait_until(LAUNCH, || {
        (server.task_processes("/mix/api").is_empty() && server.task_processes("/mix/edge/proxy").is_empty())
            .then_some(())
    })?;
    Ok(())
}
