//! Groups through `/v2/groups`: group documents in manifests (`manifest`, with apps and pods),
//! what their PUT would do (`plan`), `apply` and `diff` of them, `get groups` and `describe
//! group` (`show`), group rollouts (`rollout`: versions and rollback), and `wait` for a group's
//! status conditions.

pub(crate) mod apply;
pub(crate) mod diff;
pub(crate) mod manifest;
pub(crate) mod plan;
pub(crate) mod rollout;
pub(crate) mod show;
pub(crate) mod wait;

use schemas::PathId;
use serde_json::Value;

use crate::client::Client;
use crate::error::{Error, Result};

/// `/v2/groups/<id without its leading slash>`, or `/v2/groups` for the root group.
pub(crate) fn group_path(id: &PathId) -> String {
    if id.is_root() {
        "/v2/groups".into()
    } else {
        format!("/v2/groups{id}")
    }
}

/// How output names a group: `group/prod/web`, `group/` for the root.
pub(crate) fn name(id: &PathId) -> String {
    format!("group{id}")
}

/// A group id from the command line: absolute, or relative to the root group.
pub(crate) fn parse_group_id(raw: &str) -> Result<PathId> {
    PathId::parse(raw).map_err(|e| Error::Usage(e.to_string()))
}

/// The GroupInfo of `id` (`query` starts with `?` or is empty), or `None` when there is no
/// such group.
pub(crate) async fn fetch(client: &Client, id: &PathId, query: &str) -> Result<Option<Value>> {
    match client.get(&format!("{}{query}", group_path(id))).await {
        Ok(body) => Ok(Some(body)),
        Err(e) if e.is_not_found() => Ok(None),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_and_names() {
        let id = PathId::parse("prod/web").unwrap();
        assert_eq!(group_path(&id), "/v2/groups/prod/web");
        assert_eq!(group_path(&PathId::root()), "/v2/groups");
        assert_eq!(name(&id), "group/prod/web");
        assert_eq!(name(&PathId::root()), "group/");
        assert!(matches!(parse_group_id(".."), Err(Error::Usage(_))));
    }
}
