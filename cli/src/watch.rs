//! `pacer watch [--app ID] [--type T] [-o json]`: the server's event stream, one line per
//! event: readable by default, or each event's JSON with `-o json`.

use std::io::Write;
use std::process::ExitCode;

use serde_json::Value;

use crate::client::Client;
use crate::error::{Error, Result};
use crate::sse::{Events, app_of, concerns};

/// Follow the event stream.
#[derive(clap::Args, Debug, Clone)]
pub struct WatchArgs {
    /// Only events about this app (its tasks, health, and deployments that change it).
    #[arg(long)]
    pub app: Option<String>,
    /// Only events of this type, e.g. `status_update_event`. Repeatable.
    #[arg(long = "type", value_name = "T")]
    pub types: Vec<String>,
    /// `text` (one readable line per event) or `json` (one JSON object per line).
    #[arg(short = 'o', long = "output", value_enum, default_value_t = WatchFormat::Text)]
    pub output: WatchFormat,
}

#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum WatchFormat {
    Text,
    Json,
}

pub(crate) async fn run(client: &Client, args: &WatchArgs, out: &mut dyn Write) -> Result<ExitCode> {
    let app = args.app.as_deref().map(crate::parse_app_id).transpose()?;
    let mut events = Events::open(client, &args.types, None).await?;
    while let Some(event) = events.next().await? {
        if let Some(app) = &app
            && !concerns(&event.data, app.as_str())
        {
            continue;
        }
        let line = match args.output {
            WatchFormat::Json => event.data.to_string(),
            WatchFormat::Text => readable(&event.kind, &event.data),
        };
        writeln!(out, "{line}").map_err(Error::Output)?;
        out.flush().map_err(Error::Output)?;
    }
    Ok(ExitCode::SUCCESS)
}

/// `TIME TYPE [APP] details`: the fields that say what happened, by event type.
pub(crate) fn readable(kind: &str, e: &Value) -> String {
    let s = |k: &str| e.get(k).and_then(Value::as_str).unwrap_or("");
    let mut parts = vec![s("timestamp").to_string(), kind.to_string()];
    if let Some(app) = app_of(e) {
        parts.push(app.to_string());
    }
    let detail = match kind {
        "status_update_event" | "instance_changed_event" => {
            format!("{} {} {}", s("taskId"), s("taskStatus"), s("message"))
        }
        "health_status_changed_event" => format!("{} alive={}", s("instanceId"), e["alive"]),
        "failed_health_check_event" | "unhealthy_instance_kill_event" => {
            format!("{} {}", s("taskId"), s("reason"))
        }
        "deployment_info" | "deployment_step_success" | "deployment_success" | "deployment_failed" => {
            let plan = &e["plan"];
            let apps: Vec<&str> = plan["steps"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|st| st["actions"].as_array())
                .flatten()
                .filter_map(|a| a["app"].as_str())
                .collect();
            format!(
                "{} {} {}",
                plan["id"].as_str().unwrap_or(""),
                apps.join(","),
                s("reason")
            )
        }
        "api_post_event" => s("uri").to_string(),
        "event_stream_attached" | "event_stream_detached" => s("remoteAddress").to_string(),
        _ => String::new(),
    };
    parts.push(detail.trim().to_string());
    parts.retain(|p| !p.is_empty());
    parts.join("  ")
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn lines_name_what_happened() {
        let e = json!({"timestamp": "T", "appId": "/a", "taskId": "a.instance-1._app.1", "taskStatus": "TASK_RUNNING", "message": ""});
        assert_eq!(
            readable("status_update_event", &e),
            "T  status_update_event  /a  a.instance-1._app.1 TASK_RUNNING"
        );
        let d = json!({"timestamp": "T", "plan": {"id": "d1", "steps": [{"actions": [{"app": "/a"}, {"app": "/b"}]}]}});
        assert_eq!(readable("deployment_success", &d), "T  deployment_success  d1 /a,/b");
        assert_eq!(
            readable("something_new", &json!({"timestamp": "T"})),
            "T  something_new"
        );
    }
}
