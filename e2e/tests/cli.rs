//! The `pacer` client commands against the real server: what they print, their exit codes,
//! and what they make the server do.

mod common;

use common::*;

use anyhow::{Context, Result, ensure};
use pacer_e2e::{PacerServer, wait_until};
use serde_json::Value;

#[test]
fn apply_creates_then_reports_unchanged_then_configured() -> Result<()> {
    let server = PacerServer::start()?;
    let dir = tempfile::tempdir()?;
    let web = "id: /shop/web\ncmd: sleep 1000\ncpus: 0.05\nmem: 16\ninstances: 2\n";
    let worker = "id: /shop/worker\ncmd: sleep 1000\ncpus: 0.05\nmem: 16\n";
    std::fs::write(dir.path().join("10-shop.yaml"), format!("{web}---\n{worker}"))?;
    std::fs::write(
        dir.path().join("20-db.json"),
        r#"{"id": "db", "cmd": "sleep 1000", "cpus": 0.05, "mem": 16}"#,
    )?;
    let dir_arg = dir.path().to_str().context("utf-8 path")?;

    let out = pacer(&server, &["apply", "-f", dir_arg], 0)?;
    ensure!(
        stdout(&out) == "app/shop/web created\napp/shop/worker created\napp/db created\n",
        "{}",
        stdout(&out)
    );
    wait_until(LAUNCH, || {
        (server.task_ids("/shop/web").len() == 2
            && server.task_ids("/shop/worker").len() == 1
            && server.task_ids("/db").len() == 1)
            .then_some(())
    })
    .context("applied apps should run")?;
    wait_idle(&server)?;
    let web_tasks = server.task_ids("/shop/web");

    let out = pacer(&server, &["apply", "-f", dir_arg], 0)?;
    ensure!(
        stdout(&out) == "app/shop/web unchanged\napp/shop/worker unchanged\napp/db unchanged\n",
        "re-applying the same files changes nothing: {}",
        stdout(&out)
    );

    std::fs::write(
        dir.path().join("10-shop.yaml"),
        format!("{}---\n{worker}", web.replace("sleep 1000", "sleep 1001")),
    )?;
    let out = pacer(&server, &["apply", "-f", dir_arg], 0)?;
    ensure!(
        stdout(&out) == "app/shop/web configured\napp/shop/worker unchanged\napp/db unchanged\n",
        "{}",
        stdout(&out)
    );
    wait_until(LAUNCH, || {
        let ids = server.task_ids("/shop/web");
        (ids.len() == 2 && ids.is_disjoint(&web_tasks)).then_some(())
    })
    .context("a changed cmd replaces the tasks")?;

    // stdin, JSON array
    let out = server.pacer_with_stdin(
        &["apply", "-f", "-"],
        br#"[{"id": "/piped", "cmd": "sleep 1000", "cpus": 0.05, "mem": 16, "instances": 0}]"#,
    )?;
    ensure!(
        out.status.success() && stdout(&out) == "app/piped created\n",
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    Ok(())
}

#[test]
fn get_scale_and_delete() -> Result<()> {
    let server = PacerServer::start()?;
    let out = server.pacer_with_stdin(
        &["apply", "-f", "-"],
        b"id: /hello\ncmd: sleep 1000\ncpus: 0.1\nmem: 32\ninstances: 1\n",
    )?;
    ensure!(out.status.success(), "{}", stderr(&out));
    wait_until(LAUNCH, || (server.task_ids("/hello").len() == 1).then_some(()))?;
    wait_idle(&server)?;

    let table = stdout(&pacer(&server, &["get", "apps"], 0)?);
    let lines: Vec<&str> = table.lines().collect();
    ensure!(lines.len() == 2, "{table}");
    ensure!(
        lines[0].split_whitespace().collect::<Vec<_>>() == ["ID", "INSTANCES", "CPUS", "MEM", "VERSION", "DEPLOYING"]
    );
    let row: Vec<&str> = lines[1].split_whitespace().collect();
    ensure!(row[..4] == ["/hello", "1/1", "0.1", "32"] && row[5] == "no", "{table}");

    let json: Value = serde_json::from_str(&stdout(&pacer(&server, &["get", "apps", "-o", "json"], 0)?))?;
    ensure!(
        json.as_array().is_some_and(|a| a.len() == 1 && a[0]["id"] == "/hello"),
        "{json}"
    );
    let yaml: Value = serde_yaml::from_str(&stdout(&pacer(&server, &["get", "app", "hello", "-o", "yaml"], 0)?))?;
    ensure!(yaml["id"] == "/hello" && yaml["instances"] == 1, "{yaml}");

    let tasks = stdout(&pacer(&server, &["get", "tasks", "/hello"], 0)?);
    let task_id = server.task_ids("/hello").into_iter().next().context("a task")?;
    ensure!(
        tasks.lines().count() == 2 && tasks.contains(&task_id) && tasks.contains("TASK_RUNNING"),
        "{tasks}"
    );

    let out = pacer(&server, &["scale", "hello", "3"], 0)?;
    let deployment = stdout(&out).trim().to_string();
    ensure!(
        deployment.len() == 36 && deployment.matches('-').count() == 4,
        "a deployment uuid: {deployment:?}"
    );
    wait_until(LAUNCH, || (server.task_ids("/hello").len() == 3).then_some(())).context("scaled to 3")?;
    wait_idle(&server)?;
    let out = pacer(&server, &["get", "deployments", &deployment], 1)?;
    ensure!(
        stderr(&out).contains("does not exist"),
        "finished deployments are gone: {}",
        stderr(&out)
    );

    let out = pacer(&server, &["delete", "app", "/hello"], 0)?;
    ensure!(stdout(&out).trim().len() == 36, "{}", stdout(&out));
    wait_until(LAUNCH, || server.task_processes("/hello").is_empty().then_some(())).context("deleted")?;
    wait_idle(&server)?;
    let out = pacer(&server, &["get", "apps", "hello"], 1)?;
    ensure!(stderr(&out).contains("App '/hello' does not exist"), "{}", stderr(&out));
    let out = pacer(&server, &["get", "apps"], 0)?;
    ensure!(
        stdout(&out).lines().count() == 1,
        "only the header is left: {}",
        stdout(&out)
    );
    Ok(())
}

#[test]
fn errors_and_exit_codes() -> Result<()> {
    let server = PacerServer::start()?;

    // The server refuses: exit 1, Marathon's error details on stderr, the good app still applied.
    let out = server.pacer_with_stdin(
        &["apply", "-f", "-"],
        b"id: /neg\ncmd: sleep 1\ncpus: -1\n---\nid: /fine\ncmd: sleep 1000\ncpus: 0.05\nmem: 16\ninstances: 0\n",
    )?;
    ensure!(
        out.status.code() == Some(1),
        "exit {:?}: {}",
        out.status.code(),
        stderr(&out)
    );
    ensure!(
        stderr(&out).contains("app/neg") && stderr(&out).contains("/cpus"),
        "{}",
        stderr(&out)
    );
    ensure!(stdout(&out) == "app/fine created\n", "{}", stdout(&out));

    // Local mistakes: exit 2 and nothing sent.
    let out = pacer(&server, &["apply", "-f", "/nonexistent/app.json"], 2)?;
    ensure!(stderr(&out).contains("/nonexistent/app.json"), "{}", stderr(&out));
    let out = server.pacer_with_stdin(&["apply", "-f", "-"], b"{\"id\": \"/broken\", ")?;
    ensure!(
        out.status.code() == Some(2),
        "invalid JSON: {:?} {}",
        out.status.code(),
        stderr(&out)
    );
    ensure!(server.get("/v2/apps/broken")?.status == 404);
    pacer(&server, &["get", "nodes"], 2)?;

    // Unknown things and an unreachable server: exit 1.
    pacer(&server, &["scale", "nope", "2"], 1)?;
    pacer(&server, &["delete", "app", "nope"], 1)?;
    let out = pacer(&server, &["get", "apps", "--server", "http://127.0.0.1:9"], 1)?;
    ensure!(!stderr(&out).is_empty());
    Ok(())
}
