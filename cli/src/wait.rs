//! `pacer wait --for=deployed|healthy|deleted APP|pod/POD|group/GROUP --timeout D`, and the waiting that
//! `apply --wait` and `rollout status` share: poll the app until it is in the wanted state
//! (pods: `pods::apply::until`, the same over the pod's `::status`).
//!
//! The state is read from the app's status (`conditions`, `generation`, `observedGeneration`)
//! when the server sends it, and from Marathon's own fields (`deployments`, task counts)
//! otherwise, so the commands also work against a Marathon server.

use std::io::Write;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use schemas::PathId;
use serde_json::Value;

use crate::client::{Client, app_path};
use crate::error::{Error, Result};

const POLL: Duration = Duration::from_millis(500);

/// Wait until an app, a pod or a group is deployed, healthy or deleted.
#[derive(clap::Args, Debug, Clone)]
pub struct WaitArgs {
    /// What to wait for.
    #[arg(long = "for", value_enum)]
    pub wanted: Wanted,
    /// The app id, pod/ID for a pod, or group/ID for a group.
    pub app: String,
    /// Give up (exit 1) after this long: `90s`, `5m`, `1h`, `500ms` or plain seconds.
    #[arg(long, default_value = "5m", value_parser = parse_duration)]
    pub timeout: Duration,
}

/// The states `wait` knows.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wanted {
    /// No deployment of the app is in progress: its last change is rolled out.
    Deployed,
    /// Deployed, and every wanted instance runs the current config and is healthy.
    Healthy,
    /// The app no longer exists.
    Deleted,
}

/// `90s`, `5m`, `1h`, `250ms`, or a number of seconds.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit() && c != '.').unwrap_or(s.len());
    let (number, unit) = s.split_at(split);
    let n: f64 = number
        .parse()
        .map_err(|_| format!("'{s}' is not a duration like 30s or 5m"))?;
    let secs = match unit {
        "" | "s" => n,
        "ms" => n / 1000.0,
        "m" => n * 60.0,
        "h" => n * 3600.0,
        _ => return Err(format!("'{s}': unknown unit '{unit}' (ms, s, m, h)")),
    };
    Duration::try_from_secs_f64(secs).map_err(|e| format!("'{s}': {e}"))
}

pub(crate) async fn run(client: &Client, args: &WaitArgs, out: &mut dyn Write) -> Result<ExitCode> {
    let deadline = Instant::now() + args.timeout;
    if let Some(id) = crate::groups::wait::as_group(&args.app) {
        let id = id?;
        let mut progress = Progress::new(false);
        let status =
            crate::groups::wait::until(client, &id, args.wanted, deadline, args.timeout, &mut progress).await?;
        let name = crate::groups::name(&id);
        writeln!(out, "{name} {}: {status}", wanted_word(args.wanted)).map_err(Error::Output)?;
        return Ok(ExitCode::SUCCESS);
    }
    if let Some(raw) = crate::pods::as_pod(&args.app) {
        let id = crate::pods::parse_pod_id(raw)?;
        let mut progress = Progress::new(false);
        let status = crate::pods::apply::until(client, &id, args.wanted, deadline, args.timeout, &mut progress).await?;
        let name = crate::pods::name(&id);
        writeln!(out, "{name} {}: {status}", wanted_word(args.wanted)).map_err(Error::Output)?;
        return Ok(ExitCode::SUCCESS);
    }
    let id = crate::parse_app_id(&args.app)?;
    let status = until(
        client,
        &id,
        args.wanted,
        deadline,
        args.timeout,
        &mut Progress::new(false),
    )
    .await?;
    writeln!(out, "app{id} {}: {status}", wanted_word(args.wanted)).map_err(Error::Output)?;
    Ok(ExitCode::SUCCESS)
}

pub(crate) fn wanted_word(w: Wanted) -> &'static str {
    match w {
        Wanted::Deployed => "deployed",
        Wanted::Healthy => "healthy",
        Wanted::Deleted => "deleted",
    }
}

/// A one-line progress display, drawn only on a terminal.
pub(crate) struct Progress {
    on: bool,
    last: String,
}

impl Progress {
    pub(crate) fn new(on: bool) -> Self {
        Progress {
            on,
            last: String::new(),
        }
    }

    /// On a terminal: stdout when it is one.
    pub(crate) fn on_terminal() -> Self {
        use std::io::IsTerminal;
        Progress::new(std::io::stdout().is_terminal())
    }

    pub(crate) fn show(&mut self, line: &str) {
        if self.on && line != self.last {
            let mut out = std::io::stdout().lock();
            let _ = write!(out, "\r\x1b[K{line}");
            let _ = out.flush();
            self.last = line.to_string();
        }
    }

    pub(crate) fn clear(&mut self) {
        if self.on && !self.last.is_empty() {
            let mut out = std::io::stdout().lock();
            let _ = write!(out, "\r\x1b[K");
            let _ = out.flush();
            self.last.clear();
        }
    }
}

/// Polls `id` until it is `wanted`; returns the last status line. Fails with
/// [`Error::Timeout`] at `deadline`, saying what the app was doing.
pub(crate) async fn until(
    client: &Client,
    id: &PathId,
    wanted: Wanted,
    deadline: Instant,
    timeout: Duration,
    progress: &mut Progress,
) -> Result<String> {
    let path = format!("{}?embed=app.status", app_path(id));
    loop {
        let app = match client.get(&path).await {
            Ok(body) => body.get("app").cloned(),
            Err(e) if e.is_not_found() => None,
            Err(e) => return Err(e),
        };
        let (done, status) = check(wanted, app.as_ref());
        if done {
            progress.clear();
            return Ok(status);
        }
        progress.show(&format!("app{id}: {status}"));
        if Instant::now() >= deadline {
            progress.clear();
            return Err(Error::Timeout {
                after: timeout,
                waiting_for: format!("app{id} to be {}; it is {status}", wanted_word(wanted)),
            });
        }
        tokio::time::sleep(POLL.min(deadline.saturating_duration_since(Instant::now()))).await;
    }
}

/// Whether `app` (an AppInfo, `None` when it does not exist) is `wanted`, and a short status.
pub(crate) fn check(wanted: Wanted, app: Option<&Value>) -> (bool, String) {
    let Some(app) = app else {
        return (wanted == Wanted::Deleted, "not found".into());
    };
    let deployed = is_deployed(app);
    let done = match wanted {
        Wanted::Deleted => false,
        Wanted::Deployed => deployed,
        Wanted::Healthy => deployed && is_healthy(app),
    };
    (done, summary(app))
}

pub(crate) fn condition<'a>(app: &'a Value, kind: &str) -> Option<&'a Value> {
    app.get("conditions")?.as_array()?.iter().find(|c| c["type"] == kind)
}

fn is_true(app: &Value, kind: &str) -> Option<bool> {
    condition(app, kind).map(|c| c["status"] == "True")
}

fn is_deployed(app: &Value) -> bool {
    let no_deployments = app
        .get("deployments")
        .and_then(Value::as_array)
        .is_some_and(Vec::is_empty);
    let observed = match (app.get("generation"), app.get("observedGeneration")) {
        (Some(g), Some(o)) => g == o,
        _ => true,
    };
    no_deployments && observed && is_true(app, "Progressing") != Some(true)
}

fn is_healthy(app: &Value) -> bool {
    if let Some(available) = is_true(app, "Available") {
        return available && is_true(app, "Degraded") != Some(true);
    }
    let n = |k: &str| app.get(k).and_then(Value::as_u64).unwrap_or(0);
    let checked = app
        .get("healthChecks")
        .and_then(Value::as_array)
        .is_some_and(|c| !c.is_empty());
    n("tasksRunning") >= n("instances") && (!checked || n("tasksHealthy") >= n("instances"))
}

/// `2/3 running, deployment ... at step 1/2`, from conditions where the server sends them.
pub(crate) fn summary(app: &Value) -> String {
    let n = |k: &str| app.get(k).map(|v| v.to_string()).unwrap_or_else(|| "?".into());
    let mut parts = vec![format!("{}/{} running", n("tasksRunning"), n("instances"))];
    for kind in ["Progressing", "Degraded"] {
        if let Some(c) = condition(app, kind).filter(|c| c["status"] == "True") {
            parts.push(c["message"].as_str().unwrap_or_default().to_string());
        }
    }
    if condition(app, "Progressing").is_none()
        && let Some(ds) = app.get("deployments").and_then(Value::as_array)
        && !ds.is_empty()
    {
        parts.push(format!("{} deployment(s) in progress", ds.len()));
    }
    parts.join(", ")
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("5m"), Ok(Duration::from_secs(300)));
        assert_eq!(parse_duration("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("2.5"), Ok(Duration::from_millis(2500)));
        assert!(parse_duration("5 parsecs").is_err());
        assert!(parse_duration("m").is_err());
        assert!(parse_duration("-1s").is_err());
    }

    fn cond(kind: &str, on: bool, message: &str) -> Value {
        json!({"type": kind, "status": if on { "True" } else { "False" }, "message": message})
    }

    #[test]
    fn states_from_conditions() {
        let rolling = json!({"instances": 2, "tasksRunning": 1, "deployments": [{"id": "d"}],
            "generation": 5, "observedGeneration": 3,
            "conditions": [cond("Available", false, ""), cond("Progressing", true, "deployment d at step 1/1"), cond("Degraded", false, "")]});
        assert_eq!(
            check(Wanted::Deployed, Some(&rolling)),
            (false, "1/2 running, deployment d at step 1/1".into())
        );
        let done = json!({"instances": 2, "tasksRunning": 2, "deployments": [], "generation": 5, "observedGeneration": 5,
            "conditions": [cond("Available", true, ""), cond("Progressing", false, ""), cond("Degraded", false, "")]});
        assert!(check(Wanted::Deployed, Some(&done)).0);
        assert!(check(Wanted::Healthy, Some(&done)).0);
        assert!(!check(Wanted::Deleted, Some(&done)).0);
        let mut failing = done.clone();
        failing["conditions"][2] = cond("Degraded", true, "task t ended TASK_FAILED");
        assert_eq!(
            check(Wanted::Healthy, Some(&failing)),
            (false, "2/2 running, task t ended TASK_FAILED".into())
        );
        assert_eq!(check(Wanted::Deleted, None), (true, "not found".into()));
        assert!(!check(Wanted::Deployed, None).0);
    }

    #[test]
    fn states_from_marathon_fields() {
        let app = json!({"instances": 2, "tasksRunning": 2, "tasksHealthy": 1, "deployments": [],
            "healthChecks": [{"protocol": "HTTP"}]});
        assert!(check(Wanted::Deployed, Some(&app)).0);
        assert!(!check(Wanted::Healthy, Some(&app)).0);
        let deploying = json!({"instances": 1, "tasksRunning": 0, "deployments": [{"id": "d"}]});
        assert_eq!(
            check(Wanted::Deployed, Some(&deploying)),
            (false, "0/1 running, 1 deployment(s) in progress".into())
        );
    }
}
