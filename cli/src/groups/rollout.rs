//! `pacer rollout status|history|undo group/ID`: a group's rollouts.
//!
//! History is the versions `/v2/groups` writes left (`/v2/groups/{id}/versions`, each the
//! whole tree), numbered from the oldest kept as revision 1; undo is Marathon's group
//! rollback, `PUT /v2/groups/{id}` with `{"version": v}`, by default to the version before the
//! current one. Status waits until every app of the group is deployed.

use std::io::Write;
use std::time::{Duration, Instant};

use schemas::PathId;
use serde_json::{Value, json};

use super::{group_path, name};
use crate::client::{Client, field};
use crate::error::{Error, Result};
use crate::rollout::pick;
use crate::table::{Table, scalar};
use crate::wait::{Progress, Wanted};

pub(crate) async fn status(client: &Client, id: &PathId, timeout: Duration, out: &mut dyn Write) -> Result<()> {
    let live = super::apply::live(client, id)
        .await?
        .ok_or_else(|| Error::NotFound(format!("group '{id}' does not exist")))?;
    let deadline = Instant::now() + timeout;
    let mut progress = Progress::on_terminal();
    let apps = live.all_apps();
    for (app, _) in &apps {
        crate::wait::until(client, app, Wanted::Deployed, deadline, timeout, &mut progress).await?;
    }
    writeln!(out, "{} rolled out: {} app(s) deployed", name(id), apps.len()).map_err(Error::Output)
}

pub(crate) async fn history(client: &Client, id: &PathId, out: &mut dyn Write) -> Result<()> {
    let versions = versions(client, id).await?;
    let current = current(client, id).await?;
    let mut rows = Vec::new();
    for (n, v) in versions.iter().enumerate() {
        let def = client.get(&format!("{}/versions/{v}", group_path(id))).await?;
        let (apps, instances) = totals(&def);
        let mark = if *v == current { "*" } else { "" };
        rows.push(vec![
            format!("{}{mark}", n + 1),
            v.clone(),
            apps.to_string(),
            instances.to_string(),
            dependencies(&def),
        ]);
    }
    let table = Table {
        headers: vec!["REVISION", "VERSION", "APPS", "INSTANCES", "DEPENDENCIES"],
        rows,
    };
    write!(out, "{table}").map_err(Error::Output)
}

pub(crate) async fn undo(
    client: &Client,
    id: &PathId,
    to_version: Option<&str>,
    force: bool,
    out: &mut dyn Write,
) -> Result<()> {
    let versions = versions(client, id).await?;
    let current = current(client, id).await?;
    let target = pick(&versions, &current, to_version)?;
    let path = format!("{}{}", group_path(id), if force { "?force=true" } else { "" });
    let reply = client.put(&path, &json!({ "version": target })).await?;
    let deployment = field(&reply.body, "deploymentId", "PUT", &path)?;
    writeln!(
        out,
        "{} rolled back to {target} (deployment {})",
        name(id),
        deployment.as_str().unwrap_or_default()
    )
    .map_err(Error::Output)
}

/// The stored versions, oldest first.
async fn versions(client: &Client, id: &PathId) -> Result<Vec<String>> {
    let path = format!("{}/versions", group_path(id));
    let body = client.get(&path).await?;
    let Value::Array(list) = body else {
        return Err(Error::Response {
            method: "GET",
            path,
            message: "expected a list of versions".into(),
        });
    };
    let mut versions: Vec<String> = list.iter().filter_map(Value::as_str).map(str::to_string).collect();
    // Timestamps in one format sort by time.
    versions.sort();
    Ok(versions)
}

async fn current(client: &Client, id: &PathId) -> Result<String> {
    let path = group_path(id);
    let info = client.get(&format!("{path}?embed=group.groups")).await?;
    Ok(scalar(field(&info, "version", "GET", &path)?))
}

/// How many apps a stored version holds, and their instances in all.
fn totals(def: &Value) -> (usize, u64) {
    let apps = def.get("apps").and_then(Value::as_array).map_or(&[][..], Vec::as_slice);
    let mut n = apps.len();
    // An app stored without `instances` has Marathon's default, 1.
    let mut instances: u64 = apps
        .iter()
        .map(|a| a.get("instances").and_then(Value::as_u64).unwrap_or(1))
        .sum();
    for g in def.get("groups").and_then(Value::as_array).into_iter().flatten() {
        let (a, i) = totals(g);
        n += a;
        instances += i;
    }
    (n, instances)
}

fn dependencies(def: &Value) -> String {
    match def.get("dependencies").and_then(Value::as_array) {
        Some(d) if !d.is_empty() => d.iter().map(scalar).collect::<Vec<_>>().join(","),
        _ => "<none>".into(),
    }
}

/// `group/ID` (or `groups/ID`) names a group in `rollout`; anything else, `app/ID` or a bare
/// id, an app.
pub(crate) fn as_group(raw: &str) -> Option<&str> {
    raw.strip_prefix("group/").or_else(|| raw.strip_prefix("groups/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn totals_count_the_whole_tree() {
        let def = json!({"id": "/g", "dependencies": ["/db"], "apps": [{"id": "/g/a", "instances": 2}, {"id": "/g/b"}],
            "groups": [{"id": "/g/s", "apps": [{"id": "/g/s/c", "instances": 3}], "groups": []}]});
        assert_eq!(totals(&def), (3, 6));
        assert_eq!(dependencies(&def), "/db");
        assert_eq!(dependencies(&json!({"dependencies": []})), "<none>");
    }

    #[test]
    fn group_targets() {
        assert_eq!(as_group("group/prod/web"), Some("prod/web"));
        assert_eq!(as_group("groups//prod"), Some("/prod"));
        assert_eq!(as_group("app/web"), None);
        assert_eq!(as_group("web"), None);
    }
}
