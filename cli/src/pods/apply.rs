//! `apply`, `diff`, `delete` and `--wait` of pods.
//!
//! A pod document is created with `POST /v2/pods` or replaced with `PUT /v2/pods/{id}`, and
//! only when it differs from the live pod (`manifest::unchanged`). The pods API has no
//! dry-run mode: `--dry-run=server` compares with the live pod here.
//!
//! Waiting reads `/v2/deployments` and the pod's `::status`: a pod is deployed when no
//! deployment names it in `affectedPods` (and it exists), healthy when also its `::status` is
//! `STABLE`, deleted when it is gone and no deployment names it any more. Where the server
//! sends Pacer's GitOps status, deployed also needs `observedGeneration` to have caught up with
//! `generation` and `Progressing` to be false, and healthy needs `Available` true and
//! `Degraded` not true (`STABLE` alone counts instances of an older config too).

use std::time::{Duration, Instant};

use schemas::PathId;
use serde_json::Value;

use super::manifest::{PodManifest, comparable_yaml, unchanged};
use super::selector::Selector;
use super::{affecting, live, name, pod_path};
use crate::apply::Outcome;
use crate::client::{Client, field};
use crate::diff::unified;
use crate::error::{Error, Result};
use crate::wait::{Progress, Wanted};

const POLL: Duration = Duration::from_millis(500);

/// Creates or replaces one pod (or says what it would do, `dry_run`).
pub(crate) async fn apply(client: &Client, pod: &PodManifest, force: bool, dry_run: bool) -> Result<Outcome> {
    let live = live(client, &pod.id).await?;
    if live.as_ref().is_some_and(|l| unchanged(&pod.id, &pod.body, l)) {
        return Ok(Outcome::Unchanged);
    }
    if dry_run {
        return Ok(if live.is_none() {
            Outcome::Created
        } else {
            Outcome::Configured
        });
    }
    let query = if force { "?force=true" } else { "" };
    let body = Value::Object(pod.body.clone());
    let reply = match live {
        None => client.post(&format!("/v2/pods{query}"), Some(&body)).await?,
        Some(_) => client.put(&format!("{}{query}", pod_path(&pod.id)), &body).await?,
    };
    Ok(if reply.status == 201 {
        Outcome::Created
    } else {
        Outcome::Configured
    })
}

/// The unified diff of one pod against its live definition, or `None` when applying it
/// would change nothing. An invalid document is an [`Error::Manifest`].
pub(crate) fn pod_diff(pod: &PodManifest, live: Option<&Value>) -> Result<Option<String>> {
    if live.is_some_and(|l| unchanged(&pod.id, &pod.body, l)) {
        return Ok(None);
    }
    let (have, want) = comparable_yaml(&pod.id, &pod.body, live).map_err(|errors| Error::Manifest {
        origin: pod.origin.clone(),
        message: format!("invalid pod {}:\n  {}", pod.id, errors.join("\n  ")),
    })?;
    let old = match live {
        Some(_) => format!("live/{}", name(&pod.id)),
        None => "/dev/null".into(),
    };
    Ok(Some(unified(
        &have,
        &want,
        &old,
        &format!("manifest/{}", name(&pod.id)),
    )))
}

/// Deletes a pod; returns the id of the deployment that stops it.
pub(crate) async fn delete(client: &Client, id: &PathId, force: bool) -> Result<String> {
    let path = format!("{}{}", pod_path(id), if force { "?force=true" } else { "" });
    let reply = client.delete(&path).await?;
    Ok(crate::table::scalar(field(
        &reply.body,
        "deploymentId",
        "DELETE",
        &path,
    )?))
}

/// The ids of the pods whose labels match `selector` (in Marathon's syntax).
pub(crate) async fn labelled(client: &Client, selector: &str) -> Result<Vec<PathId>> {
    let selector = Selector::parse(selector)?;
    Ok(list(client)
        .await?
        .iter()
        .filter(|p| selector.matches(p))
        .filter_map(|p| PathId::parse(p.get("id")?.as_str()?).ok())
        .collect())
}

/// Every pod, as `GET /v2/pods` lists them.
pub(crate) async fn list(client: &Client) -> Result<Vec<Value>> {
    match client.get("/v2/pods").await? {
        Value::Array(pods) => Ok(pods),
        _ => Err(Error::Response {
            method: "GET",
            path: "/v2/pods".into(),
            message: "expected a list of pods".into(),
        }),
    }
}

/// Polls until the pod `id` is `wanted`; returns the last status line, or fails with
/// [`Error::Timeout`] at `deadline`.
pub(crate) async fn until(
    client: &Client,
    id: &PathId,
    wanted: Wanted,
    deadline: Instant,
    timeout: Duration,
    progress: &mut Progress,
) -> Result<String> {
    loop {
        let deployments = client.get("/v2/deployments").await?;
        let pending = affecting(&deployments, id).len();
        let status = match client.get(&format!("{}::status?embed=status", pod_path(id))).await {
            Ok(s) => Some(s),
            Err(e) if e.is_not_found() => None,
            Err(e) => return Err(e),
        };
        let (done, line) = check(wanted, status.as_ref(), pending);
        if done {
            progress.clear();
            return Ok(line);
        }
        progress.show(&format!("{}: {line}", name(id)));
        if Instant::now() >= deadline {
            progress.clear();
            let word = crate::wait::wanted_word(wanted);
            return Err(Error::Timeout {
                after: timeout,
                waiting_for: format!("{} to be {word}; it is {line}", name(id)),
            });
        }
        tokio::time::sleep(POLL.min(deadline.saturating_duration_since(Instant::now()))).await;
    }
}

/// Whether a pod with this `::status` (`None`: no such pod) and `pending` deployments naming
/// it is `wanted`, and a short status.
pub(crate) fn check(wanted: Wanted, status: Option<&Value>, pending: usize) -> (bool, String) {
    let Some(status) = status else {
        let line = match pending {
            0 => "not found".to_string(),
            n => format!("not found, {n} deployment(s) in progress"),
        };
        return (wanted == Wanted::Deleted && pending == 0, line);
    };
    let mut line = format!(
        "{} {}",
        super::show::instances_cell(status),
        crate::table::text(status, "status")
    );
    if pending > 0 {
        line.push_str(&format!(", {pending} deployment(s) in progress"));
    }
    for kind in ["Progressing", "Degraded"] {
        if let Some(c) = condition(status, kind).filter(|c| c["status"] == "True") {
            line.push_str(&format!(", {}", c["message"].as_str().unwrap_or_default()));
        }
    }
    let observed = match (status.get("generation"), status.get("observedGeneration")) {
        (Some(g), Some(o)) => g == o,
        _ => true,
    };
    let deployed = pending == 0 && observed && !is_true(status, "Progressing");
    let healthy = match condition(status, "Available") {
        Some(a) => a["status"] == "True" && !is_true(status, "Degraded"),
        None => status["status"] == "STABLE",
    };
    let done = match wanted {
        Wanted::Deleted => false,
        Wanted::Deployed => deployed,
        Wanted::Healthy => deployed && healthy,
    };
    (done, line)
}

fn condition<'a>(status: &'a Value, kind: &str) -> Option<&'a Value> {
    crate::wait::condition(status, kind)
}

fn is_true(status: &Value, kind: &str) -> bool {
    condition(status, kind).is_some_and(|c| c["status"] == "True")
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::pods::manifest::{pod, validated};

    fn doc(shell: &str) -> PodManifest {
        let body = json!({"id": "/p", "containers": [{"name": "c", "exec": {"command": {"shell": shell}},
            "resources": {"cpus": 0.1, "mem": 32}}]});
        pod("p.yaml".into(), body.as_object().cloned().unwrap()).unwrap()
    }

    #[test]
    fn diffs_of_new_changed_and_same_pods() {
        let live = serde_json::to_value(validated(&doc("sleep 1").id, &doc("sleep 1").body).unwrap()).unwrap();
        assert_eq!(pod_diff(&doc("sleep 1"), Some(&live)).unwrap(), None);
        let text = pod_diff(&doc("sleep 2"), Some(&live)).unwrap().unwrap();
        assert!(text.starts_with("--- live/pod/p\n+++ manifest/pod/p\n@@"), "{text}");
        assert!(
            text.contains("-      shell: sleep 1\n+      shell: sleep 2\n"),
            "{text}"
        );
        let text = pod_diff(&doc("sleep 2"), None).unwrap().unwrap();
        assert!(text.starts_with("--- /dev/null\n+++ manifest/pod/p\n"), "{text}");
        let mut bad = doc("x");
        bad.body["containers"] = json!([]);
        assert_eq!(pod_diff(&bad, None).unwrap_err().exit_code(), 2);
    }

    #[test]
    fn wait_states() {
        let stable = json!({"status": "STABLE", "spec": {"scaling": {"instances": 1}},
            "instances": [{"status": "STABLE", "containers": [{"status": "TASK_RUNNING"}]}]});
        assert_eq!(check(Wanted::Deployed, Some(&stable), 0), (true, "1/1 STABLE".into()));
        assert!(check(Wanted::Healthy, Some(&stable), 0).0);
        assert_eq!(
            check(Wanted::Deployed, Some(&stable), 1),
            (false, "1/1 STABLE, 1 deployment(s) in progress".into())
        );
        let degraded = json!({"status": "DEGRADED", "spec": {"scaling": {"instances": 2}}, "instances": []});
        assert!(check(Wanted::Deployed, Some(&degraded), 0).0);
        assert!(!check(Wanted::Healthy, Some(&degraded), 0).0);
        assert!(!check(Wanted::Deleted, Some(&degraded), 0).0);
        assert_eq!(check(Wanted::Deleted, None, 0), (true, "not found".into()));
        assert!(!check(Wanted::Deleted, None, 1).0, "its stop is still running");
        assert!(!check(Wanted::Deployed, None, 0).0);
    }

    #[test]
    fn wait_states_from_conditions() {
        let cond = |kind: &str, on: bool, message: &str| json!({"type": kind, "status": if on { "True" } else { "False" }, "message": message});
        let rolling = json!({"status": "STABLE", "spec": {"scaling": {"instances": 1}},
            "instances": [{"status": "STABLE", "containers": [{"status": "TASK_RUNNING"}]}],
            "generation": 9, "observedGeneration": 5,
            "conditions": [cond("Available", false, ""), cond("Progressing", true, "deployment d at step 1/2"),
                           cond("Degraded", false, "")]});
        // STABLE with an old instance, a deployment still running: neither deployed nor healthy.
        assert_eq!(
            check(Wanted::Deployed, Some(&rolling), 0),
            (false, "1/1 STABLE, deployment d at step 1/2".into())
        );
        assert!(!check(Wanted::Healthy, Some(&rolling), 0).0);
        let mut done = rolling.clone();
        done["observedGeneration"] = json!(9);
        done["conditions"] = json!([
            cond("Available", true, ""),
            cond("Progressing", false, ""),
            cond("Degraded", false, "")
        ]);
        assert_eq!(check(Wanted::Deployed, Some(&done), 0), (true, "1/1 STABLE".into()));
        assert!(check(Wanted::Healthy, Some(&done), 0).0);
        let mut behind = done.clone();
        behind["observedGeneration"] = json!(8);
        assert!(!check(Wanted::Deployed, Some(&behind), 0).0, "not yet observed");
        let mut failing = done.clone();
        failing["conditions"][2] = cond("Degraded", true, "task t ended TASK_FAILED");
        assert_eq!(
            check(Wanted::Healthy, Some(&failing), 0),
            (false, "1/1 STABLE, task t ended TASK_FAILED".into())
        );
        assert!(check(Wanted::Deployed, Some(&failing), 0).0);
    }
}
