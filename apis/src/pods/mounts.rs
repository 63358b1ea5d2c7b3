//! Volume mounts the embedded agent can make.
//!
//! Mesos mounts a volume at a container's `mountPath`: a relative path lies in the container's
//! sandbox, an absolute one in the container's own filesystem (with no image, over the host's
//! directory of that name, inside the container's mount namespace). Pacer's local agent runs
//! containers as plain processes without mount namespaces: it shows a volume as a link in the
//! sandbox, so only relative paths can mean what they say. Mapping `/data` to `<sandbox>/data`
//! would not: the container's `/data` would still be the host's. A server running the embedded
//! agent therefore refuses such pods here (422) instead of letting every launch fail; with a
//! remote master, the agents there decide.

use std::path::{Component, Path};

use schemas::PodDefinition;

use crate::error::Detail;

/// What the agent keeps in a sandbox itself: the task's output and its group's task links.
const SANDBOX_OWN: [&str; 3] = ["stdout", "stderr", "tasks"];

/// What is wrong with the mount paths of `pod` for the embedded agent, one detail per mount,
/// and with the directories of its host volumes, which must be absolute (as Mesos wants them).
pub(crate) fn unsupported(pod: &PodDefinition) -> Vec<Detail> {
    let mut out = Vec::new();
    for (i, v) in pod.volumes.iter().enumerate() {
        if let Some(host) = v
            .host
            .as_deref()
            .filter(|h| !h.is_empty() && !Path::new(h).is_absolute())
        {
            out.push(Detail::new(
                format!("/volumes({i})/host"),
                format!("host path '{host}' must be absolute"),
            ));
        }
    }
    for (c, container) in pod.containers.iter().enumerate() {
        for (m, mount) in container.volume_mounts.iter().enumerate() {
            if let Some(why) = problem(&mount.mount_path) {
                out.push(Detail::new(
                    format!("/containers({c})/volumeMounts({m})/mountPath"),
                    why,
                ));
            }
        }
    }
    out
}

fn problem(path: &str) -> Option<String> {
    let p = Path::new(path);
    if p.is_absolute() {
        let relative = path.trim_start_matches('/');
        return Some(format!(
            "mountPath '{path}' is absolute, but this server's local agent runs containers without mount \
             namespaces and can show a volume only inside the container's sandbox: use a relative mountPath \
             such as '{relative}' (seen by the container at $MESOS_SANDBOX/{relative})"
        ));
    }
    if p.components().any(|c| matches!(c, Component::ParentDir)) {
        return Some(format!("mountPath '{path}' must stay inside the sandbox"));
    }
    match p.components().find(|c| matches!(c, Component::Normal(_))) {
        None => Some(format!(
            "mountPath '{path}' must name a directory inside the sandbox, not the sandbox"
        )),
        Some(first) if SANDBOX_OWN.iter().any(|own| first.as_os_str() == *own) => Some(format!(
            "mountPath '{path}' collides with the sandbox's own '{}'",
            first.as_os_str().to_string_lossy()
        )),
        Some(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(paths: &[&str]) -> PodDefinition {
        let mounts: Vec<_> = paths
            .iter()
            .map(|p| serde_json::json!({"name": "v", "mountPath": p}))
            .collect();
        serde_json::from_value(serde_json::json!({"id": "/p", "volumes": [{"name": "v"}],
            "containers": [{"name": "a", "volumeMounts": [{"name": "v", "mountPath": "ok"}]},
                           {"name": "b", "volumeMounts": mounts}]}))
        .unwrap()
    }

    #[test]
    fn host_volumes_need_absolute_directories() {
        let mut p = pod(&["data"]);
        p.volumes[0].host = Some("var/log".into());
        let found = unsupported(&p);
        assert_eq!(found.len(), 1);
        assert_eq!(
            (found[0].path.as_str(), found[0].errors[0].as_str()),
            ("/volumes(0)/host", "host path 'var/log' must be absolute")
        );
        p.volumes[0].host = Some("/var/log".into());
        assert!(unsupported(&p).is_empty());
    }

    #[test]
    fn relative_paths_inside_the_sandbox_pass() {
        assert!(unsupported(&pod(&["data", "./data/", "deep/er", "stdout-copy"])).is_empty());
    }

    #[test]
    fn absolute_and_escaping_paths_are_refused_with_where_and_why() {
        let found = unsupported(&pod(&["data", "/data", "../up", "a/../b", ".", "", "stderr/x"]));
        let paths: Vec<&str> = found.iter().map(|d| d.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "/containers(1)/volumeMounts(1)/mountPath",
                "/containers(1)/volumeMounts(2)/mountPath",
                "/containers(1)/volumeMounts(3)/mountPath",
                "/containers(1)/volumeMounts(4)/mountPath",
                "/containers(1)/volumeMounts(5)/mountPath",
                "/containers(1)/volumeMounts(6)/mountPath",
            ]
        );
        assert!(
            found[0].errors[0].starts_with("mountPath '/data' is absolute")
                && found[0].errors[0].ends_with(
                    "use a relative mountPath such as 'data' (seen by the container at $MESOS_SANDBOX/data)"
                ),
            "{:?}",
            found[0]
        );
        assert!(found[1].errors[0].contains("must stay inside the sandbox"));
        assert!(found[2].errors[0].contains("must stay inside the sandbox"));
        assert!(found[3].errors[0].contains("not the sandbox"));
        assert!(found[4].errors[0].contains("not the sandbox"));
        assert!(found[5].errors[0].contains("collides with the sandbox's own 'stderr'"));
    }
}
