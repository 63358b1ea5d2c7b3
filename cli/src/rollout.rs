//! `pacer rollout status|history|undo APP` and `pacer restart APP`.
//!
//! History is the app's stored versions (`/v2/apps/{id}/versions`), numbered from the oldest
//! kept as revision 1; undo is Marathon's rollback, `PUT /v2/apps/{id}` with `{"version": v}`,
//! by default to the version before the current one. `group/ID` names a group instead (see
//! `groups::rollout`), `pod/ID` a pod (history and undo, see `pods::rollout`; status waits for
//! its deployments); `app/ID` and a bare id name an app.

use std::io::Write;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use schemas::PathId;
use serde_json::{Value, json};

use crate::client::{Client, app_path, field};
use crate::error::{Error, Result};
use crate::table::{Table, scalar};
use crate::wait::{Progress, Wanted, parse_duration};

/// Follow, list or undo an app's changes.
#[derive(clap::Args, Debug, Clone)]
pub struct RolloutArgs {
    #[command(subcommand)]
    pub action: RolloutAction,
}

#[derive(clap::Subcommand, Debug, Clone)]
pub enum RolloutAction {
    /// Wait until the app's deployment finishes, showing its progress.
    Status {
        /// APP, app/APP, pod/POD or group/GROUP.
        app: String,
        #[arg(long, default_value = "5m", value_parser = parse_duration)]
        timeout: Duration,
    },
    /// List the app's (or pod's, or group's) stored versions, oldest first.
    History {
        /// APP, app/APP, pod/POD or group/GROUP.
        app: String,
    },
    /// Roll the app (or pod, or group) back to its previous version, or to `--to-version`.
    Undo {
        /// APP, app/APP, pod/POD or group/GROUP.
        app: String,
        /// A version timestamp or a revision number from `rollout history`.
        #[arg(long)]
        to_version: Option<String>,
        /// Roll back even while a deployment holds the app.
        #[arg(long)]
        force: bool,
    },
}

/// Restart every instance of an app with its current definition.
#[derive(clap::Args, Debug, Clone)]
pub struct RestartArgs {
    pub app: String,
    /// Restart even while a deployment holds the app.
    #[arg(long)]
    pub force: bool,
}

pub(crate) async fn run(client: &Client, args: &RolloutArgs, out: &mut dyn Write) -> Result<ExitCode> {
    let (RolloutAction::Status { app: target, .. }
    | RolloutAction::History { app: target }
    | RolloutAction::Undo { app: target, .. }) = &args.action;
    if let Some(raw) = crate::groups::rollout::as_group(target) {
        use crate::groups::rollout as group;
        let id = crate::groups::parse_group_id(raw)?;
        match &args.action {
            RolloutAction::Status { timeout, .. } => group::status(client, &id, *timeout, out).await?,
            RolloutAction::History { .. } => group::history(client, &id, out).await?,
            RolloutAction::Undo { to_version, force, .. } => {
                group::undo(client, &id, to_version.as_deref(), *force, out).await?
            }
        }
        return Ok(ExitCode::SUCCESS);
    }
    if let Some(raw) = crate::pods::as_pod(target) {
        use crate::pods::rollout as pod;
        let id = crate::pods::parse_pod_id(raw)?;
        match &args.action {
            RolloutAction::Status { timeout, .. } => {
                let deadline = Instant::now() + *timeout;
                let mut progress = Progress::on_terminal();
                let status =
                    crate::pods::apply::until(client, &id, Wanted::Deployed, deadline, *timeout, &mut progress).await?;
                writeln!(out, "{} rolled out: {status}", crate::pods::name(&id)).map_err(Error::Output)?;
            }
            RolloutAction::History { .. } => pod::history(client, &id, out).await?,
            RolloutAction::Undo { to_version, force, .. } => {
                pod::undo(client, &id, to_version.as_deref(), *force, out).await?
            }
        }
        return Ok(ExitCode::SUCCESS);
    }
    let app = |raw: &str| crate::parse_app_id(raw.strip_prefix("app/").unwrap_or(raw));
    match &args.action {
        RolloutAction::Status { app: app_id, timeout } => {
            let id = app(app_id)?;
            let deadline = Instant::now() + *timeout;
            let mut progress = Progress::on_terminal();
            let status = crate::wait::until(client, &id, Wanted::Deployed, deadline, *timeout, &mut progress).await?;
            writeln!(out, "app{id} rolled out: {status}").map_err(Error::Output)?;
        }
        RolloutAction::History { app: app_id } => {
            let id = app(app_id)?;
            let versions = history(client, &id).await?;
            let current = client.get(&app_path(&id)).await?;
            let current = current["app"]["version"].as_str().unwrap_or_default().to_string();
            let mut rows = Vec::new();
            for (n, v) in versions.iter().enumerate() {
                let def = client.get(&format!("{}/versions/{v}", app_path(&id))).await?;
                let mark = if *v == current { "*" } else { "" };
                rows.push(vec![
                    format!("{}{mark}", n + 1),
                    v.clone(),
                    scalar(&def["instances"]),
                    def["versionInfo"]["lastConfigChangeAt"]
                        .as_str()
                        .unwrap_or("-")
                        .to_string(),
                    def["cmd"].as_str().unwrap_or("-").to_string(),
                ]);
            }
            let table = Table {
                headers: vec!["REVISION", "VERSION", "INSTANCES", "CONFIG", "CMD"],
                rows,
            };
            write!(out, "{table}").map_err(Error::Output)?;
        }
        RolloutAction::Undo {
            app: app_id,
            to_version,
            force,
        } => {
            let id = app(app_id)?;
            let versions = history(client, &id).await?;
            let current = client.get(&app_path(&id)).await?;
            let current = current["app"]["version"].as_str().unwrap_or_default();
            let target = pick(&versions, current, to_version.as_deref())?;
            let path = format!("{}{}", app_path(&id), if *force { "?force=true" } else { "" });
            let reply = client.put(&path, &json!({ "version": target })).await?;
            let deployment = field(&reply.body, "deploymentId", "PUT", &path)?;
            writeln!(
                out,
                "app{id} rolled back to {target} (deployment {})",
                deployment.as_str().unwrap_or_default()
            )
            .map_err(Error::Output)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub(crate) async fn restart(client: &Client, args: &RestartArgs, out: &mut dyn Write) -> Result<ExitCode> {
    let id = crate::parse_app_id(&args.app)?;
    let path = format!(
        "{}/restart{}",
        app_path(&id),
        if args.force { "?force=true" } else { "" }
    );
    let reply = client.post(&path, None).await?;
    let deployment = field(&reply.body, "deploymentId", "POST", &path)?;
    writeln!(out, "{}", deployment.as_str().unwrap_or_default()).map_err(Error::Output)?;
    Ok(ExitCode::SUCCESS)
}

/// The stored versions, oldest first.
async fn history(client: &Client, id: &PathId) -> Result<Vec<String>> {
    let path = format!("{}/versions", app_path(id));
    let body = client.get(&path).await?;
    let mut versions: Vec<String> = field(&body, "versions", "GET", &path)?
        .as_array()
        .map(|vs| vs.iter().filter_map(Value::as_str).map(str::to_string).collect())
        .unwrap_or_default();
    // Timestamps in one format sort by time.
    versions.sort();
    Ok(versions)
}

/// The version to roll back to: `wanted` (a version or a 1-based revision), or the newest
/// version older than `current`.
pub(crate) fn pick<'a>(versions: &'a [String], current: &str, wanted: Option<&str>) -> Result<&'a str> {
    match wanted {
        Some(w) => {
            if let Ok(n) = w.parse::<usize>() {
                return versions
                    .get(n.wrapping_sub(1))
                    .map(String::as_str)
                    .ok_or_else(|| Error::NotFound(format!("no revision {n}: there are {}", versions.len())));
            }
            versions
                .iter()
                .find(|v| *v == w)
                .map(String::as_str)
                .ok_or_else(|| Error::NotFound(format!("no version {w} is stored")))
        }
        None => versions
            .iter()
            .rev()
            .find(|v| v.as_str() < current)
            .map(String::as_str)
            .ok_or_else(|| Error::NotFound("no earlier version to roll back to".into())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_previous_or_named_versions() {
        let vs: Vec<String> = [
            "2024-01-01T00:00:00.000Z",
            "2024-01-02T00:00:00.000Z",
            "2024-01-03T00:00:00.000Z",
        ]
        .map(String::from)
        .to_vec();
        assert_eq!(pick(&vs, &vs[2], None).unwrap(), vs[1]);
        assert_eq!(pick(&vs, &vs[1], None).unwrap(), vs[0]);
        assert!(pick(&vs, &vs[0], None).unwrap_err().is_not_found());
        assert_eq!(pick(&vs, &vs[2], Some("1")).unwrap(), vs[0]);
        assert_eq!(pick(&vs, &vs[2], Some(&vs[1])).unwrap(), vs[1]);
        assert!(pick(&vs, &vs[2], Some("0")).is_err());
        assert!(pick(&vs, &vs[2], Some("4")).is_err());
        assert!(pick(&vs, &vs[2], Some("2020-01-01T00:00:00.000Z")).is_err());
    }
}
