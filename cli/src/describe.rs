//! `pacer describe app ID`: an app's spec summary, status conditions, instances, current
//! deployments, last task failure and the recent events about it that the server retains.
//! `pacer describe group ID` is `groups::show`'s, `pacer describe pod ID` `pods::show`'s.

use std::fmt::Write as _;
use std::io::Write;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::client::{Client, app_path, field};
use crate::error::{Error, Result};
use crate::sse::{Events, concerns};
use crate::table::{self, Table, scalar, text};
use crate::watch::readable;

/// How long the replay of retained events may take, and the pause that ends it.
const REPLAY_LIMIT: Duration = Duration::from_secs(2);
const REPLAY_IDLE: Duration = Duration::from_millis(300);
const RECENT_EVENTS: usize = 10;

/// Show everything about one resource.
#[derive(clap::Args, Debug, Clone)]
pub struct DescribeArgs {
    #[arg(value_enum)]
    pub kind: DescribeKind,
    pub id: String,
}

#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum DescribeKind {
    #[value(alias = "apps")]
    App,
    #[value(alias = "groups")]
    Group,
    #[value(alias = "pods")]
    Pod,
}

pub(crate) async fn run(client: &Client, args: &DescribeArgs, out: &mut dyn Write) -> Result<ExitCode> {
    match args.kind {
        DescribeKind::Group => return crate::groups::show::describe_group(client, &args.id, out).await,
        DescribeKind::Pod => return crate::pods::show::describe_pod(client, &args.id, out).await,
        DescribeKind::App => {}
    }
    let id = crate::parse_app_id(&args.id)?;
    let path = format!("{}?embed=app.taskStats&embed=app.status", app_path(&id));
    let body = client.get(&path).await?;
    let app = field(&body, "app", "GET", &path)?;
    let deployments: Vec<Value> = client
        .get("/v2/deployments")
        .await?
        .as_array()
        .cloned()
        .unwrap_or_default();
    let mine: Vec<Value> = deployments
        .into_iter()
        .filter(|d| {
            d["affectedApps"]
                .as_array()
                .is_some_and(|a| a.iter().any(|x| x == id.as_str()))
        })
        .collect();
    let events = recent_events(client, id.as_str()).await;
    let text = describe(app, &mine, &events);
    out.write_all(text.as_bytes()).map_err(Error::Output)?;
    Ok(ExitCode::SUCCESS)
}

/// The retained events about `app`, newest last; none when the stream cannot be read (the
/// rest of the description is still worth printing).
async fn recent_events(client: &Client, app: &str) -> Vec<String> {
    let Ok(mut events) = Events::open(client, &[], Some(0)).await else {
        return Vec::new();
    };
    let started = Instant::now();
    let mut lines = Vec::new();
    while started.elapsed() < REPLAY_LIMIT {
        match events.next_within(REPLAY_IDLE).await {
            Ok(Some(e)) if concerns(&e.data, app) => lines.push(readable(&e.kind, &e.data)),
            Ok(Some(_)) => {}
            _ => break,
        }
    }
    let skip = lines.len().saturating_sub(RECENT_EVENTS);
    lines.split_off(skip)
}

fn describe(app: &Value, deployments: &[Value], events: &[String]) -> String {
    let mut s = String::new();
    let line = |s: &mut String, k: &str, v: String| {
        let _ = writeln!(s, "{:<14}{v}", format!("{k}:"));
    };
    line(&mut s, "Name", text(app, "id"));
    line(&mut s, "Version", text(app, "version"));
    if app.get("generation").is_some() {
        line(
            &mut s,
            "Generation",
            format!(
                "{} (observed {})",
                text(app, "generation"),
                text(app, "observedGeneration")
            ),
        );
    }
    line(&mut s, "Command", text(app, "cmd"));
    if let Some(image) = app.pointer("/container/docker/image") {
        line(&mut s, "Image", scalar(image));
    }
    line(
        &mut s,
        "Instances",
        format!(
            "{} wanted, {} running, {} staged, {} healthy, {} unhealthy",
            text(app, "instances"),
            text(app, "tasksRunning"),
            text(app, "tasksStaged"),
            text(app, "tasksHealthy"),
            text(app, "tasksUnhealthy")
        ),
    );
    line(
        &mut s,
        "Resources",
        format!(
            "cpus {}, mem {} MiB, disk {} MiB",
            text(app, "cpus"),
            text(app, "mem"),
            text(app, "disk")
        ),
    );
    let labels = app["labels"]
        .as_object()
        .map(|l| {
            l.iter()
                .map(|(k, v)| format!("{k}={}", scalar(v)))
                .collect::<Vec<_>>()
                .join(", ")
        })
        .filter(|l| !l.is_empty())
        .unwrap_or_else(|| "<none>".into());
    line(&mut s, "Labels", labels);
    let checks = app["healthChecks"].as_array().map_or(0, Vec::len);
    line(&mut s, "Health checks", checks.to_string());

    section(
        &mut s,
        "Conditions",
        app.get("conditions").and_then(Value::as_array).map(|cs| Table {
            headers: vec!["TYPE", "STATUS", "REASON", "SINCE", "MESSAGE"],
            rows: cs
                .iter()
                .map(|c| {
                    ["type", "status", "reason", "lastTransitionTime", "message"]
                        .map(|k| text(c, k))
                        .to_vec()
                })
                .collect(),
        }),
    );
    let tasks = app.get("tasks").and_then(Value::as_array).cloned().unwrap_or_default();
    section(
        &mut s,
        "Instances",
        Some(table::tasks_wide(&tasks)).filter(|t| !t.rows.is_empty()),
    );
    section(
        &mut s,
        "Deployments",
        Some(table::deployments(deployments)).filter(|t| !t.rows.is_empty()),
    );
    let _ = writeln!(s, "Last task failure:");
    match app.get("lastTaskFailure") {
        Some(f) if f.is_object() => {
            let _ = writeln!(
                s,
                "  {} {} at {} on {}: {}",
                text(f, "taskId"),
                text(f, "state"),
                text(f, "timestamp"),
                text(f, "host"),
                text(f, "message")
            );
        }
        _ => s.push_str("  <none>\n"),
    }
    let _ = writeln!(s, "Events:");
    if events.is_empty() {
        s.push_str("  <none>\n");
    }
    for e in events {
        let _ = writeln!(s, "  {e}");
    }
    s
}

fn section(s: &mut String, title: &str, table: Option<Table>) {
    let _ = writeln!(s, "{title}:");
    match table {
        Some(t) => {
            for l in t.to_string().lines() {
                let _ = writeln!(s, "  {l}");
            }
        }
        None => s.push_str("  <none>\n"),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn sections_with_and_without_content() {
        let app = json!({"id": "/web", "version": "V", "generation": 9, "observedGeneration": 9, "cmd": "sleep 1",
            "instances": 1, "tasksRunning": 1, "tasksStaged": 0, "tasksHealthy": 0, "tasksUnhealthy": 0,
            "cpus": 0.1, "mem": 32.0, "disk": 0, "labels": {"team": "a"}, "healthChecks": [],
            "conditions": [{"type": "Available", "status": "True", "reason": "InstancesAvailable", "lastTransitionTime": "T", "message": "1/1"}],
            "tasks": [{"id": "web.instance-1._app.1", "appId": "/web", "host": "h", "ports": [31000], "state": "TASK_RUNNING"}]});
        let text = describe(&app, &[], &["T  status_update_event  /web  t TASK_RUNNING".into()]);
        assert!(
            text.starts_with("Name:         /web\nVersion:      V\nGeneration:   9 (observed 9)\n"),
            "{text}"
        );
        assert!(text.contains("Labels:       team=a\n"), "{text}");
        assert!(text.contains("Conditions:\n  TYPE        STATUS   REASON"), "{text}");
        assert!(text.contains("web.instance-1._app.1"), "{text}");
        assert!(text.contains("Deployments:\n  <none>\n"), "{text}");
        assert!(text.contains("Last task failure:\n  <none>\n"), "{text}");
        assert!(
            text.ends_with("Events:\n  T  status_update_event  /web  t TASK_RUNNING\n"),
            "{text}"
        );
    }
}
