//! `pacer wait --for=deployed|healthy|deleted group/ID`: poll the group until it is in the
//! wanted state, read from its GitOps status (`embed=group.status`: `generation`,
//! `observedGeneration`, `Available`/`Progressing`/`Degraded` summed over its apps and pods).
//! Against a server without group status (Marathon), a group is deployed when no deployment
//! touches an app or pod below it, and healthy is not known: it waits as for deployed.

use std::time::{Duration, Instant};

use schemas::PathId;
use serde_json::Value;

use super::{fetch, name};
use crate::client::Client;
use crate::error::{Error, Result};
use crate::wait::{Progress, Wanted};

const POLL: Duration = Duration::from_millis(500);

/// The id of `raw` when it names a group (`group/ID`, `group/` for the root).
pub(crate) fn as_group(raw: &str) -> Option<Result<PathId>> {
    let rest = raw.strip_prefix("group/").or_else(|| raw.strip_prefix("groups/"))?;
    Some(PathId::parse(rest).map_err(|e| Error::Usage(e.to_string())))
}

/// Polls the group `id` until it is `wanted`; returns the last status line. Fails with
/// [`Error::Timeout`] at `deadline`, saying what the group was doing.
pub(crate) async fn until(
    client: &Client,
    id: &PathId,
    wanted: Wanted,
    deadline: Instant,
    timeout: Duration,
    progress: &mut Progress,
) -> Result<String> {
    loop {
        let group = fetch(client, id, "?embed=group.status&embed=group.groups").await?;
        let touching = match &group {
            Some(g) if g.get("conditions").is_none() => Some(deployments_below(client, id).await?),
            _ => None,
        };
        let (done, status) = check(wanted, group.as_ref(), touching);
        if done {
            progress.clear();
            return Ok(status);
        }
        progress.show(&format!("{}: {status}", name(id)));
        if Instant::now() >= deadline {
            progress.clear();
            return Err(Error::Timeout {
                after: timeout,
                waiting_for: format!("{} to be {}; it is {status}", name(id), word(wanted)),
            });
        }
        tokio::time::sleep(POLL.min(deadline.saturating_duration_since(Instant::now()))).await;
    }
}

fn word(w: Wanted) -> &'static str {
    match w {
        Wanted::Deployed => "deployed",
        Wanted::Healthy => "healthy",
        Wanted::Deleted => "deleted",
    }
}

/// How many deployments touch an app or pod below `id` (for servers without group status).
async fn deployments_below(client: &Client, id: &PathId) -> Result<usize> {
    let all = client.get("/v2/deployments").await?;
    let below = |d: &Value, key: &str| {
        d.get(key)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|a| PathId::parse(a.as_str()?).ok())
            .any(|a| a.is_within(id))
    };
    Ok(all.as_array().map_or(0, |ds| {
        ds.iter()
            .filter(|d| below(d, "affectedApps") || below(d, "affectedPods"))
            .count()
    }))
}

fn condition<'a>(group: &'a Value, kind: &str) -> Option<&'a Value> {
    group.get("conditions")?.as_array()?.iter().find(|c| c["type"] == kind)
}

fn is_true(group: &Value, kind: &str) -> bool {
    condition(group, kind).is_some_and(|c| c["status"] == "True")
}

/// Whether `group` (a GroupInfo; `None` when it does not exist) is `wanted`, and a short
/// status; `touching` counts the deployments below it where the server sends no conditions.
pub(crate) fn check(wanted: Wanted, group: Option<&Value>, touching: Option<usize>) -> (bool, String) {
    let Some(group) = group else {
        return (wanted == Wanted::Deleted, "not found".into());
    };
    if let Some(n) = touching {
        let deployed = n == 0;
        let status = if deployed {
            "no deployment in progress".to_string()
        } else {
            format!("{n} deployment(s) in progress")
        };
        return (wanted != Wanted::Deleted && deployed, status);
    }
    let observed = group.get("generation") == group.get("observedGeneration");
    let deployed = observed && !is_true(group, "Progressing");
    let healthy = deployed && is_true(group, "Available") && !is_true(group, "Degraded");
    let done = match wanted {
        Wanted::Deleted => false,
        Wanted::Deployed => deployed,
        Wanted::Healthy => healthy,
    };
    let mut parts = Vec::new();
    for kind in ["Available", "Progressing", "Degraded"] {
        if let Some(c) = condition(group, kind).filter(|c| kind == "Available" || c["status"] == "True") {
            let state = if c["status"] == "True" { "" } else { "not " };
            let message = c["message"].as_str().unwrap_or_default();
            parts.push(match kind {
                "Available" => format!("{state}available ({message})"),
                _ => message.to_string(),
            });
        }
    }
    (done, parts.join(", "))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn cond(kind: &str, on: bool, message: &str) -> Value {
        json!({"type": kind, "status": if on { "True" } else { "False" }, "message": message})
    }

    #[test]
    fn group_ids_take_a_prefix() {
        assert_eq!(as_group("group/prod/web").unwrap().unwrap().as_str(), "/prod/web");
        assert!(as_group("group/").unwrap().unwrap().is_root());
        assert!(as_group("prod/web").is_none());
        assert!(as_group("group/..").unwrap().is_err());
    }

    #[test]
    fn states_from_a_groups_conditions() {
        let rolling = json!({"id": "/g", "generation": 5, "observedGeneration": 3, "conditions": [
            cond("Available", false, "0/2 instances run the current config and are healthy"),
            cond("Progressing", true, "deployment d at step 1/3"), cond("Degraded", false, "")]});
        assert_eq!(
            check(Wanted::Deployed, Some(&rolling), None),
            (
                false,
                "not available (0/2 instances run the current config and are healthy), deployment d at step 1/3".into()
            )
        );
        let done = json!({"id": "/g", "generation": 5, "observedGeneration": 5, "conditions": [
            cond("Available", true, "2/2"), cond("Progressing", false, ""), cond("Degraded", false, "")]});
        assert!(check(Wanted::Deployed, Some(&done), None).0);
        assert_eq!(
            check(Wanted::Healthy, Some(&done), None),
            (true, "available (2/2)".into())
        );
        let mut failing = done.clone();
        failing["conditions"][2] = cond("Degraded", true, "/g/a: task t ended TASK_FAILED");
        assert!(!check(Wanted::Healthy, Some(&failing), None).0);
        assert_eq!(check(Wanted::Deleted, None, None), (true, "not found".into()));
        assert!(!check(Wanted::Deleted, Some(&done), None).0);
        // Marathon: no conditions, only deployments to go by.
        let plain = json!({"id": "/g"});
        assert!(!check(Wanted::Deployed, Some(&plain), Some(1)).0);
        assert!(check(Wanted::Deployed, Some(&plain), Some(0)).0);
    }
}
