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

/// The app id a key of [`app`], [`instance`], [`app_version`] or [`launch_delay`] belongs to.
pub fn app_of_key(key: &str) -> Option<PathId> {
    let rest = key
        .strip_prefix(APPS)
        .or_else(|| key.strip_prefix(INSTANCES))
        .or_else(|| key.strip_prefix(APP_VERSIONS))
        .or_else(|| key.strip_prefix(LAUNCH_DELAYS))?;
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
    }
}
