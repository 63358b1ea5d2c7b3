//! Where each kind of record lives in the key space. Keys sort so that a prefix scan finds
//! an app's instances and versions without touching anything else.
//!
//! `#` separates an app id from what follows because it cannot occur in a path id.

use schemas::{PathId, Timestamp};

pub const APPS: &str = "app/";
pub const APP_VERSIONS: &str = "appver/";
pub const INSTANCES: &str = "inst/";
pub const DEPLOYMENTS: &str = "deploy/";
pub const FRAMEWORK_ID: &str = "meta/framework-id";
pub const LAUNCH_DELAYS: &str = "backoff/";
pub const GROUPS: &str = "group/";
pub const GROUP_VERSIONS: &str = "groupver/";
pub const PODS: &str = "pod/";
pub const POD_VERSIONS: &str = "podver/";

pub fn app(id: &PathId) -> String {
    format!("{APPS}{id}")
}

pub fn app_versions_of(id: &PathId) -> String {
    format!("{APP_VERSIONS}{id}#")
}

/// Versions sort by time because the millisecond count is zero-padded.
pub fn app_version(id: &PathId, version: Timestamp) -> String {
    format!("{APP_VERSIONS}{id}#{:015}", version.millis())
}

pub fn instances_of(app: &PathId) -> String {
    format!("{INSTANCES}{app}#")
}

pub fn instance(app: &PathId, instance_id: &str) -> String {
    format!("{INSTANCES}{app}#{instance_id}")
}

pub fn launch_delay(app: &PathId) -> String {
    format!("{LAUNCH_DELAYS}{app}")
}

pub fn deployment(id: &str) -> String {
    format!("{DEPLOYMENTS}{id}")
}

/// A group's own record; the groups below it share this key plus `/` as prefix.
pub fn group(id: &PathId) -> String {
    format!("{GROUPS}{id}")
}

pub fn group_versions_of(id: &PathId) -> String {
    format!("{GROUP_VERSIONS}{id}#")
}

pub fn group_version(id: &PathId, version: Timestamp) -> String {
    format!("{GROUP_VERSIONS}{id}#{:015}", version.millis())
}

/// A pod's definition. Pods share instances (`inst/`) and launch delays (`backoff/`) with
/// apps: their ids share one namespace.
pub fn pod(id: &PathId) -> String {
    format!("{PODS}{id}")
}

pub fn pod_versions_of(id: &PathId) -> String {
    format!("{POD_VERSIONS}{id}#")
}

pub fn pod_version(id: &PathId, version: Timestamp) -> String {
    format!("{POD_VERSIONS}{id}#{:015}", version.millis())
}

/// True for the keys of past definitions (of apps or pods): nothing runs from them.
pub fn is_version_key(key: &str) -> bool {
    key.starts_with(APP_VERSIONS) || key.starts_with(POD_VERSIONS)
}

/// The run spec (app or pod) id a key of [`app`], [`pod`], [`instance`], [`app_version`],
/// [`pod_version`] or [`launch_delay`] belongs to.
pub fn app_of_key(key: &str) -> Option<PathId> {
    let rest = key
        .strip_prefix(APPS)
        .or_else(|| key.strip_prefix(INSTANCES))
        .or_else(|| key.strip_prefix(APP_VERSIONS))
        .or_else(|| key.strip_prefix(LAUNCH_DELAYS))
        .or_else(|| key.strip_prefix(PODS))
        .or_else(|| key.strip_prefix(POD_VERSIONS))?;
    let id = rest.split('#').next()?;
    PathId::parse(id).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip_to_app_ids() {
        let id = PathId::parse("/prod/web").unwrap();
        assert_eq!(app_of_key(&app(&id)), Some(id.clone()));
        assert_eq!(app_of_key(&instance(&id, "prod_web.instance-1")), Some(id.clone()));
        assert_eq!(
            app_of_key(&app_version(&id, Timestamp::from_millis(5))),
            Some(id.clone())
        );
        assert!(instance(&id, "x").starts_with(&instances_of(&id)));
        assert!(!instance(&PathId::parse("/prod/web2").unwrap(), "x").starts_with(&instances_of(&id)));
        assert_eq!(app_of_key(&launch_delay(&id)), Some(id.clone()));
        assert_eq!(app_of_key(&deployment("d")), None);
        assert_eq!(app_of_key(&pod(&id)), Some(id.clone()));
        assert_eq!(
            app_of_key(&pod_version(&id, Timestamp::from_millis(5))),
            Some(id.clone())
        );
        assert!(is_version_key(&pod_version(&id, Timestamp::from_millis(5))));
        assert!(!is_version_key(&pod(&id)));
        assert!(pod_version(&id, Timestamp::from_millis(5)).starts_with(&pod_versions_of(&id)));
    }
}
