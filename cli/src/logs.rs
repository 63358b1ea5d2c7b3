//! `pacer logs APP [--task ID] [-f] [--stderr]`: what a task wrote to its sandbox, read
//! through the API (`/v2/tasks/{id}/files/stdout`).
//!
//! Without `--task` the app's newest running task is shown (or its newest task of any state).
//! `-f` keeps reading as the file grows, until the task is gone from the app's task list.

use std::io::Write;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::client::{Client, app_path, field};
use crate::error::{Error, Result};

const FOLLOW_POLL: Duration = Duration::from_millis(500);
/// How often `-f` checks that the task still exists.
const TASK_CHECK: Duration = Duration::from_secs(2);
const CHUNK: u64 = 1024 * 1024;

/// Print what a task of an app wrote to stdout (or stderr).
#[derive(clap::Args, Debug, Clone)]
pub struct LogsArgs {
    pub app: String,
    /// The task; by default the app's newest running task.
    #[arg(long)]
    pub task: Option<String>,
    /// Keep printing what the task writes.
    #[arg(short = 'f', long)]
    pub follow: bool,
    /// Read stderr instead of stdout.
    #[arg(long)]
    pub stderr: bool,
}

pub(crate) async fn run(client: &Client, args: &LogsArgs, out: &mut dyn Write) -> Result<ExitCode> {
    let id = crate::parse_app_id(&args.app)?;
    let tasks_path = format!("{}/tasks", app_path(&id));
    let task = match &args.task {
        Some(t) => t.clone(),
        None => {
            let body = client.get(&tasks_path).await?;
            let tasks = field(&body, "tasks", "GET", &tasks_path)?
                .as_array()
                .cloned()
                .unwrap_or_default();
            newest(&tasks).ok_or_else(|| Error::NotFound(format!("app {id} has no tasks")))?
        }
    };
    let file = if args.stderr { "stderr" } else { "stdout" };
    let mut offset = 0u64;
    let mut checked = Instant::now();
    loop {
        let path = format!("/v2/tasks/{task}/files/{file}?offset={offset}&length={CHUNK}");
        let bytes = client.get_raw(&path).await?;
        offset += bytes.len() as u64;
        out.write_all(&bytes).map_err(Error::Output)?;
        out.flush().map_err(Error::Output)?;
        if bytes.len() as u64 == CHUNK {
            continue;
        }
        if !args.follow {
            return Ok(ExitCode::SUCCESS);
        }
        if checked.elapsed() >= TASK_CHECK {
            checked = Instant::now();
            let body = client.get(&tasks_path).await?;
            let alive = body["tasks"]
                .as_array()
                .is_some_and(|ts| ts.iter().any(|t| t["id"] == task.as_str()));
            if !alive {
                return Ok(ExitCode::SUCCESS);
            }
        }
        tokio::time::sleep(FOLLOW_POLL).await;
    }
}

/// The newest running task, else the newest task: by `startedAt`, then `stagedAt`.
fn newest(tasks: &[Value]) -> Option<String> {
    let key = |t: &&Value| {
        (
            t["state"] == "TASK_RUNNING",
            t["startedAt"].as_str().unwrap_or("").to_string(),
            t["stagedAt"].as_str().unwrap_or("").to_string(),
        )
    };
    tasks.iter().max_by_key(key)?["id"].as_str().map(str::to_string)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn picks_the_newest_running_task() {
        let tasks = [
            json!({"id": "old", "state": "TASK_RUNNING", "startedAt": "2024-01-01T00:00:00.000Z"}),
            json!({"id": "new", "state": "TASK_RUNNING", "startedAt": "2024-01-02T00:00:00.000Z"}),
            json!({"id": "staging", "state": "TASK_STAGING", "stagedAt": "2024-01-03T00:00:00.000Z"}),
        ];
        assert_eq!(newest(&tasks).as_deref(), Some("new"));
        assert_eq!(newest(&tasks[2..]).as_deref(), Some("staging"));
        assert_eq!(newest(&[]), None);
    }
}
