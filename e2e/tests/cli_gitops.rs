//! The GitOps loop through the real `pacer` binary against a real server: a folder of
//! manifests applied, re-applied, changed, pruned and diffed; rollback, waiting and logs.

mod common;

use common::*;

use std::path::Path;
use std::process::Output;

use anyhow::{Context, Result, ensure};
use pacer_e2e::{PacerServer, wait_until};
use serde_json::Value;

fn app_yaml(id: &str, cmd: &str) -> String {
    format!("id: {id}\ncmd: {cmd}\ncpus: 0.05\nmem: 16\nlabels:\n  owner: gitops\n")
}

fn write(dir: &Path, name: &str, text: &str) -> Result<()> {
    std::fs::create_dir_all(dir.join(name).parent().context("parent")?)?;
    std::fs::write(dir.join(name), text)?;
    Ok(())
}

#[test]
fn apply_a_folder_then_change_prune_and_diff() -> Result<()> {
    let server = PacerServer::start()?;
    let dir = tempfile::tempdir()?;
    write(dir.path(), "web.yaml", &app_yaml("/gitops/web", "sleep 1000"))?;
    write(
        dir.path(),
        "team/worker.yaml",
        &app_yaml("/gitops/worker", "sleep 1000"),
    )?;
    write(
        dir.path(),
        "team/batch.json",
        r#"{"id": "/gitops/batch", "cmd": "sleep 1000", "cpus": 0.05, "mem": 16, "labels": {"owner": "gitops"}}"#,
    )?;
    // Not managed by this folder: no label, so --prune leaves it alone.
    server.put(
        "/v2/apps/other",
        &serde_json::json!({"cmd": "sleep 1000", "cpus": 0.05, "mem": 16}),
    )?;
    let d = dir.path().to_str().context("utf-8 path")?;

    // A diff before the first apply: everything is new.
    let out = pacer(&server, &["diff", "-f", d, "-R"], 1)?;
    ensure!(stdout(&out).matches("--- /dev/null").count() == 3, "{}", stdout(&out));

    let out = pacer(&server, &["apply", "-f", d, "-R", "--wait", "--timeout", "90s"], 0)?;
    ensure!(
        stdout(&out) == "app/gitops/batch created\napp/gitops/worker created\napp/gitops/web created\n",
        "sorted by path, subfolders included: {}",
        stdout(&out)
    );
    // --wait returned only once everything ran.
    for id in ["/gitops/web", "/gitops/worker", "/gitops/batch"] {
        ensure!(server.task_ids(id).len() == 1, "{id} runs after --wait");
    }

    let out = pacer(&server, &["apply", "-f", d, "-R"], 0)?;
    ensure!(
        stdout(&out).lines().all(|l| l.ends_with(" unchanged")) && stdout(&out).lines().count() == 3,
        "{}",
        stdout(&out)
    );
    pacer(&server, &["diff", "-f", d, "-R"], 0)?;

    write(dir.path(), "web.yaml", &app_yaml("/gitops/web", "sleep 1001"))?;
    let out = pacer(&server, &["diff", "-f", d, "-R"], 1)?;
    let diff = stdout(&out);
    ensure!(
        diff.starts_with("--- live/app/gitops/web\n+++ manifest/app/gitops/web\n")
            && diff.contains("\n-cmd: sleep 1000\n+cmd: sleep 1001\n"),
        "{diff}"
    );
    let out = pacer(&server, &["apply", "-f", d, "-R", "--dry-run=server"], 0)?;
    ensure!(
        stdout(&out).contains("app/gitops/web configured (dry run)"),
        "{}",
        stdout(&out)
    );
    let live: Value = server.get("/v2/apps/gitops/web")?.body;
    ensure!(live["app"]["cmd"] == "sleep 1000", "a dry run writes nothing");

    let out = pacer(&server, &["apply", "-f", d, "-R", "--wait"], 0)?;
    ensure!(
        stdout(&out) == "app/gitops/batch unchanged\napp/gitops/worker unchanged\napp/gitops/web configured\n",
        "{}",
        stdout(&out)
    );

    std::fs::remove_file(dir.path().join("team/batch.json"))?;
    let out = pacer(
        &server,
        &["apply", "-f", d, "-R", "--prune", "-l", "owner=gitops", "--wait"],
        0,
    )?;
    ensure!(
        stdout(&out) == "app/gitops/worker unchanged\napp/gitops/web unchanged\napp/gitops/batch pruned\n",
        "{}",
        stdout(&out)
    );
    ensure!(server.get("/v2/apps/gitops/batch")?.status == 404, "pruned");
    ensure!(server.get("/v2/apps/other")?.status == 200, "unlabelled apps are kept");
    pacer(&server, &["diff", "-f", d, "-R"], 0)?;

    // Errors: an invalid pod is refused by the server (1) and found by diff before anything is
    // sent (2); an unreachable server (3).
    write(dir.path(), "pod.yaml", "kind: pod\nid: /gitops/pod\ncontainers: []\n")?;
    let out = pacer(&server, &["apply", "-f", d, "-R"], 1)?;
    ensure!(stderr(&out).contains("error: pod/gitops/pod ("), "{}", stderr(&out));
    pacer(&server, &["diff", "-f", d, "-R"], 2)?;
    std::fs::remove_file(dir.path().join("pod.yaml"))?;
    pacer(&server, &["diff", "-f", d, "--server", "http://127.0.0.1:9"], 3)?;
    Ok(())
}

#[test]
fn rollout_undo_wait_and_logs() -> Result<()> {
    let server = PacerServer::start()?;
    let v1 = "id: /talk\ncmd: echo first-$MESOS_TASK_ID; echo to-stderr >&2; sleep 1000\ncpus: 0.05\nmem: 16\n";
    pacer_stdin(&server, &["apply", "-f", "-"], v1)?;
    let out = pacer(&server, &["wait", "--for=healthy", "talk", "--timeout", "60s"], 0)?;
    ensure!(
        stdout(&out).starts_with("app/talk healthy: 1/1 running"),
        "{}",
        stdout(&out)
    );

    // logs: what the task wrote, on stdout and stderr.
    let task = server.task_ids("/talk").into_iter().next().context("a task")?;
    let out = wait_until(LAUNCH, || {
        let o = server.pacer(&["logs", "talk"]).ok()?;
        stdout(&o).contains("first-").then_some(o)
    })
    .context("the task's output shows")?;
    ensure!(stdout(&out) == format!("first-{task}\n"), "{}", stdout(&out));
    let out = pacer(&server, &["logs", "/talk", "--task", &task, "--stderr"], 0)?;
    ensure!(stdout(&out) == "to-stderr\n", "{}", stdout(&out));
    pacer(&server, &["logs", "talk", "--task", "../../etc"], 1)?;

    // A second version, then undo back to the first.
    let v2 = v1.replace("first-", "second-");
    pacer_stdin(&server, &["apply", "-f", "-", "--wait"], &v2)?;
    let history = stdout(&pacer(&server, &["rollout", "history", "talk"], 0)?);
    ensure!(
        history.lines().count() == 3 && history.lines().nth(2).is_some_and(|l| l.starts_with("2*")),
        "{history}"
    );
    let out = pacer(&server, &["rollout", "undo", "talk"], 0)?;
    ensure!(stdout(&out).starts_with("app/talk rolled back to "), "{}", stdout(&out));
    pacer(&server, &["rollout", "status", "talk", "--timeout", "60s"], 0)?;
    let app = server.get("/v2/apps/talk")?.body;
    ensure!(
        app["app"]["cmd"].as_str().is_some_and(|c| c.contains("first-")),
        "{}",
        app["app"]["cmd"]
    );
    // The newest running task is one of the first version again: it never writes "second-".
    wait_until(LAUNCH, || {
        let o = server.pacer(&["logs", "talk"]).ok()?;
        stdout(&o).contains("first-").then_some(())
    })
    .context("after the undo, the newest task runs the first version")?;

    // wait: timeout on an app that cannot become healthy, then deletion.
    pacer_stdin(
        &server,
        &["apply", "-f", "-"],
        "id: /crash\ncmd: exit 1\ncpus: 0.05\nmem: 16\n",
    )?;
    let out = pacer(&server, &["wait", "--for=healthy", "crash", "--timeout", "3s"], 1)?;
    ensure!(stderr(&out).contains("timed out after 3s"), "{}", stderr(&out));
    let described = stdout(&pacer(&server, &["describe", "app", "crash"], 0)?);
    ensure!(
        described.contains("Conditions:") && described.contains("Available"),
        "{described}"
    );
    pacer(&server, &["delete", "app", "crash"], 0)?;
    pacer(&server, &["wait", "--for=deleted", "crash", "--timeout", "60s"], 0)?;

    let names = stdout(&pacer(&server, &["get", "apps", "-o", "name"], 0)?);
    ensure!(names == "app/talk\n", "{names}");
    let schema: Value = serde_json::from_str(&stdout(&pacer(&server, &["schema", "app"], 0)?))?;
    ensure!(
        schema == server.get("/v2/schemas/app")?.body,
        "the CLI and the API serve one schema"
    );
    let completions = stdout(&pacer(&server, &["completions", "bash"], 0)?);
    ensure!(completions.contains("rollout") && completions.contains("--server"));
    Ok(())
}

fn pacer_stdin(server: &PacerServer, args: &[&str], stdin: &str) -> Result<Output> {
    let out = server.pacer_with_stdin(args, stdin.as_bytes())?;
    ensure!(
        out.status.success(),
        "pacer {}: {}{}",
        args.join(" "),
        stdout(&out),
        stderr(&out)
    );
    Ok(out)
}

/// `watch -o json` and `get apps -w` keep running and print as the server changes.
#[test]
fn watch_and_get_follow_changes() -> Result<()> {
    use std::io::BufRead;
    use std::process::{Command, Stdio};
    use std::sync::mpsc;

    let server = PacerServer::start()?;
    let spawn = |args: &[&str]| -> Result<(std::process::Child, mpsc::Receiver<String>)> {
        let mut child = Command::new(pacer_e2e::pacer_bin()?)
            .args(args)
            .env("PACER_SERVER", server.url())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()?;
        let lines = std::io::BufReader::new(child.stdout.take().context("stdout")?);
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in lines.lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Ok((child, rx))
    };
    let (mut watch, events) = spawn(&["watch", "--app", "/seen", "-o", "json"])?;
    let (mut get, table) = spawn(&["get", "apps", "-w"])?;
    // Both print their first output (the table's header) once connected.
    ensure!(table.recv_timeout(LAUNCH)?.starts_with("ID "), "the table comes first");
    // Both clients are subscribed once the server has announced three streams: this test's
    // own and theirs (replayed from the start of the history).
    let own = pacer_e2e::EventStream::open(server.url(), Some(0))?;
    let mut attached = 0;
    own.read_until(LAUNCH, |f| {
        attached += usize::from(f.event == "event_stream_attached");
        attached == 3
    })?;
    ensure!(attached == 3, "the clients subscribed: {attached}");
    pacer_stdin(
        &server,
        &["apply", "-f", "-"],
        "id: /seen\ncmd: sleep 1000\ncpus: 0.05\nmem: 16\n",
    )?;
    pacer_stdin(
        &server,
        &["apply", "-f", "-"],
        "id: /unseen\ncmd: sleep 1000\ncpus: 0.05\nmem: 16\n",
    )?;

    let mut types = Vec::new();
    while !types.iter().any(|t| t == "status_update_event") {
        let line = events.recv_timeout(LAUNCH).context("events about /seen")?;
        let event: Value = serde_json::from_str(&line)?;
        ensure!(
            line.contains("/seen") && !line.contains("/unseen"),
            "only /seen: {line}"
        );
        types.push(event["eventType"].as_str().unwrap_or_default().to_string());
    }
    let mut rows = Vec::new();
    while !rows.iter().any(|r: &String| r.starts_with("/unseen ")) {
        rows.push(table.recv_timeout(LAUNCH).context("the table is printed again")?);
    }
    let _ = watch.kill();
    let _ = get.kill();
    let _ = watch.wait();
    let _ = get.wait();
    Ok(())
}
