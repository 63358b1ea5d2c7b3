//! Pods through `/v2/pods`: pod documents in manifests and their comparison with the live pod
//! (`manifest`), `apply`/`diff`/`delete -f` of them and waiting for their deployments
//! (`apply`), `get pods` and `describe pod` from `::status` (`show`), and `scale`, `rollout
//! history|undo` over `::versions` (`rollout`).
//!
//! Sub-resources follow the pod id after `::` (`/v2/pods/web::status`), as in Marathon.

pub(crate) mod apply;
pub(crate) mod manifest;
pub(crate) mod rollout;
pub(crate) mod selector;
pub(crate) mod show;

use schemas::PathId;
use serde_json::Value;

use crate::client::Client;
use crate::error::{Error, Result};

/// `/v2/pods/<id without its leading slash>`.
pub(crate) fn pod_path(id: &PathId) -> String {
    format!("/v2/pods{id}")
}

/// How output names a pod: `pod/prod/web`.
pub(crate) fn name(id: &PathId) -> String {
    format!("pod{id}")
}

/// A pod id from the command line: absolute or relative to the root group. A `pod/` prefix
/// is the caller's to strip (`as_pod`): `pods/web` may well be a pod's id.
pub(crate) fn parse_pod_id(raw: &str) -> Result<PathId> {
    let id = PathId::parse(raw).map_err(|e| Error::Usage(e.to_string()))?;
    if id.is_root() {
        return Err(Error::Usage(format!("'{raw}' does not name a pod")));
    }
    Ok(id)
}

/// `pod/ID` (or `pods/ID`) names a pod in `rollout` and `scale`.
pub(crate) fn as_pod(raw: &str) -> Option<&str> {
    raw.strip_prefix("pod/").or_else(|| raw.strip_prefix("pods/"))
}

/// The pod as stored, or `None` when there is no such pod.
pub(crate) async fn live(client: &Client, id: &PathId) -> Result<Option<Value>> {
    match client.get(&pod_path(id)).await {
        Ok(body) => Ok(Some(body)),
        Err(e) if e.is_not_found() => Ok(None),
        Err(e) => Err(e),
    }
}

/// The deployments (from `/v2/deployments`) whose `affectedPods` name `id`.
pub(crate) fn affecting<'a>(deployments: &'a Value, id: &PathId) -> Vec<&'a Value> {
    deployments
        .as_array()
        .map_or(&[][..], Vec::as_slice)
        .iter()
        .filter(|d| {
            d.get("affectedPods")
                .and_then(Value::as_array)
                .is_some_and(|ps| ps.iter().any(|p| p.as_str() == Some(id.as_str())))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn paths_names_and_ids() {
        let id = parse_pod_id("prod/web").unwrap();
        assert_eq!(pod_path(&id), "/v2/pods/prod/web");
        assert_eq!(name(&id), "pod/prod/web");
        assert_eq!(parse_pod_id("pods/web").unwrap().as_str(), "/pods/web");
        assert_eq!(
            as_pod("pods//prod/web").map(parse_pod_id).transpose().unwrap(),
            Some(id)
        );
        assert!(matches!(parse_pod_id("/"), Err(Error::Usage(_))));
        assert!(matches!(parse_pod_id(".."), Err(Error::Usage(_))));
        assert_eq!(as_pod("app/x"), None);
    }

    #[test]
    fn deployments_affecting_a_pod() {
        let ds = json!([{"id": "a", "affectedPods": ["/p"]}, {"id": "b", "affectedApps": ["/p"]},
            {"id": "c", "affectedPods": ["/q", "/p"]}, {"id": "d", "affectedPods": ["/p/x"]}]);
        let ids: Vec<&Value> = affecting(&ds, &PathId::parse("/p").unwrap())
            .iter()
            .map(|d| &d["id"])
            .collect();
        assert_eq!(ids, [&json!("a"), &json!("c")]);
    }
}
