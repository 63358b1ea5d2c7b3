//! The volumes of a task group, made without mount namespaces.
//!
//! Mesos bind-mounts a `SANDBOX_PATH` volume's source (`PARENT`: a path in the executor's
//! sandbox; `SELF`: one in the container's own) at its `container_path` inside the container.
//! The local agent runs tasks as plain processes on the host, so it makes `container_path`,
//! which must be relative to the sandbox, a symlink to the source directory instead: tasks of
//! one group that name the same `PARENT` path share that directory, as a pod's ephemeral
//! volume. Host paths (`Volume.host_path`, or a `HOST_PATH` source) become symlinks to that
//! host directory. The volume's mode is not enforced: a symlink cannot be read-only.
//!
//! Source directories are created when missing, as Mesos's `volume/sandbox_path` isolator does.

use std::fs;
use std::io;
use std::os::unix::fs::symlink;
use std::path::{Component, Path, PathBuf};

use crate::v1::volume::source::{Type as SourceType, sandbox_path::Type as SandboxType};
use crate::v1::{ContainerInfo, Volume};

/// Where a volume's directory lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Source {
    /// A path in the executor's sandbox (`SANDBOX_PATH` of type `PARENT`).
    Parent(PathBuf),
    /// A path in the container's own sandbox (`SANDBOX_PATH` of type `SELF`).
    Own(PathBuf),
    /// An absolute path on the host.
    Host(PathBuf),
}

/// One volume: `at` (relative to the sandbox) shows `source`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Mount {
    pub at: PathBuf,
    pub source: Source,
}

/// Names the agent keeps for itself in a sandbox.
const RESERVED: [&str; 3] = ["stdout", "stderr", "tasks"];

/// A path inside a sandbox: relative, not empty, never leaving it, not one of ours.
fn inside_sandbox(what: &str, path: &str) -> Result<PathBuf, String> {
    let p = Path::new(path);
    if path.is_empty() || p.is_absolute() {
        return Err(format!(
            "{what} '{path}' must be a relative path: the local agent runs tasks without mount namespaces, \
             so volumes appear inside the sandbox only"
        ));
    }
    if p.components()
        .any(|c| !matches!(c, Component::Normal(_) | Component::CurDir))
    {
        return Err(format!("{what} '{path}' must stay inside the sandbox"));
    }
    let clean: PathBuf = p.components().filter(|c| matches!(c, Component::Normal(_))).collect();
    let first = clean
        .components()
        .next()
        .map(|c| c.as_os_str().to_string_lossy().into_owned());
    match first {
        None => Err(format!("{what} '{path}' names the sandbox itself")),
        Some(first) if RESERVED.contains(&first.as_str()) => {
            Err(format!("{what} '{path}' collides with the sandbox's own '{first}'"))
        }
        Some(_) => Ok(clean),
    }
}

/// The mounts a task (`parent_allowed`) or its executor asks for in its ContainerInfo.
pub(crate) fn plan(container: Option<&ContainerInfo>, parent_allowed: bool) -> Result<Vec<Mount>, String> {
    let Some(container) = container else {
        return Ok(Vec::new());
    };
    let mut out: Vec<Mount> = Vec::new();
    for volume in &container.volumes {
        let mount = mount(volume, parent_allowed)?;
        if out
            .iter()
            .any(|m| m.at.starts_with(&mount.at) || mount.at.starts_with(&m.at))
        {
            return Err(format!(
                "volume container_path '{}' overlaps another volume",
                volume.container_path
            ));
        }
        out.push(mount);
    }
    Ok(out)
}

fn mount(volume: &Volume, parent_allowed: bool) -> Result<Mount, String> {
    if volume.image.is_some() {
        return Err("image volumes are not supported by the local agent".into());
    }
    let at = inside_sandbox("volume container_path", &volume.container_path)?;
    let host = |path: &str| {
        if Path::new(path).is_absolute() {
            Ok(Mount {
                at: at.clone(),
                source: Source::Host(PathBuf::from(path)),
            })
        } else {
            Err(format!("volume host_path '{path}' must be absolute"))
        }
    };
    let Some(source) = &volume.source else {
        return match &volume.host_path {
            Some(path) => host(path),
            None => Err(format!(
                "volume '{}' has neither a source nor a host_path",
                volume.container_path
            )),
        };
    };
    match source.r#type() {
        SourceType::SandboxPath => {
            let sandbox = source
                .sandbox_path
                .as_ref()
                .ok_or_else(|| "a SANDBOX_PATH volume without sandbox_path".to_owned())?;
            let path = inside_sandbox("volume sandbox_path", &sandbox.path)?;
            match sandbox.r#type() {
                SandboxType::Parent if parent_allowed => Ok(Mount {
                    at,
                    source: Source::Parent(path),
                }),
                SandboxType::Parent => Err("a PARENT sandbox_path needs a parent container".into()),
                SandboxType::Self_ => Ok(Mount {
                    at,
                    source: Source::Own(path),
                }),
                SandboxType::Unknown => Err("a SANDBOX_PATH volume needs its type (SELF or PARENT)".into()),
            }
        }
        SourceType::HostPath => match &source.host_path {
            Some(h) => host(&h.path),
            None => Err("a HOST_PATH volume without host_path".into()),
        },
        other => Err(format!(
            "{} volumes are not supported by the local agent",
            other.as_str_name()
        )),
    }
}

/// Makes `mounts` real in the sandbox `own`, whose executor's sandbox is `parent`.
pub(crate) fn prepare(own: &Path, parent: &Path, mounts: &[Mount]) -> io::Result<()> {
    for m in mounts {
        let source = match &m.source {
            Source::Parent(p) => parent.join(p),
            Source::Own(p) => own.join(p),
            Source::Host(p) => p.clone(),
        };
        if !matches!(m.source, Source::Host(_)) {
            fs::create_dir_all(&source)?;
        }
        let at = own.join(&m.at);
        if at == source {
            continue;
        }
        if let Some(dir) = at.parent() {
            fs::create_dir_all(dir)?;
        }
        // A sandbox reused by a task id launched again still holds the last run's links.
        if fs::symlink_metadata(&at).is_ok_and(|m| m.file_type().is_symlink()) {
            fs::remove_file(&at)?;
        }
        symlink(std::path::absolute(&source)?, &at)?;
    }
    Ok(())
}

/// Links `<executor sandbox>/tasks/<task_id>` to the task's sandbox, as Mesos's default
/// executor does for its nested containers.
pub(crate) fn link_task(executor_sandbox: &Path, task_id: &str, task_sandbox: &Path) -> io::Result<()> {
    let tasks = executor_sandbox.join("tasks");
    fs::create_dir_all(&tasks)?;
    let link = tasks.join(task_id);
    if fs::symlink_metadata(&link).is_ok() {
        fs::remove_file(&link)?;
    }
    symlink(std::path::absolute(task_sandbox)?, link)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::v1::volume::{self, Source as VolumeSource, source::SandboxPath};
    use crate::v1::{container_info, volume::source::HostPath};

    fn sandbox_volume(at: &str, kind: SandboxType, path: &str) -> Volume {
        Volume {
            container_path: at.into(),
            mode: volume::Mode::Rw as i32,
            source: Some(VolumeSource {
                r#type: Some(SourceType::SandboxPath as i32),
                sandbox_path: Some(SandboxPath {
                    r#type: Some(kind as i32),
                    path: path.into(),
                }),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    fn container(volumes: Vec<Volume>) -> ContainerInfo {
        ContainerInfo {
            r#type: container_info::Type::Mesos as i32,
            volumes,
            ..Default::default()
        }
    }

    #[test]
    fn sandbox_and_host_volumes_are_planned() {
        let mut host = sandbox_volume("logs", SandboxType::Parent, "x");
        host.source = Some(VolumeSource {
            r#type: Some(SourceType::HostPath as i32),
            host_path: Some(HostPath {
                path: "/var/log".into(),
                mount_propagation: None,
            }),
            ..Default::default()
        });
        let c = container(vec![
            sandbox_volume("./data/", SandboxType::Parent, "volumes/data"),
            sandbox_volume("scratch", SandboxType::Self_, "tmp"),
            host,
        ]);
        let plan = plan(Some(&c), true).unwrap();
        assert_eq!(
            plan,
            [
                Mount {
                    at: "data".into(),
                    source: Source::Parent("volumes/data".into())
                },
                Mount {
                    at: "scratch".into(),
                    source: Source::Own("tmp".into())
                },
                Mount {
                    at: "logs".into(),
                    source: Source::Host("/var/log".into())
                },
            ]
        );
    }

    #[test]
    fn paths_that_leave_the_sandbox_or_cannot_be_made_are_refused() {
        let cases = [
            (
                sandbox_volume("/data", SandboxType::Parent, "v"),
                "must be a relative path",
            ),
            (
                sandbox_volume("a/../../b", SandboxType::Parent, "v"),
                "inside the sandbox",
            ),
            (
                sandbox_volume("data", SandboxType::Parent, "../v"),
                "inside the sandbox",
            ),
            (sandbox_volume("stdout", SandboxType::Parent, "v"), "collides"),
            (sandbox_volume(".", SandboxType::Parent, "v"), "the sandbox itself"),
            (sandbox_volume("d", SandboxType::Unknown, "v"), "SELF or PARENT"),
        ];
        for (volume, why) in cases {
            let err = plan(Some(&container(vec![volume.clone()])), true).unwrap_err();
            assert!(err.contains(why), "{volume:?}: {err}");
        }
        let parent = container(vec![sandbox_volume("d", SandboxType::Parent, "v")]);
        assert!(plan(Some(&parent), false).unwrap_err().contains("parent container"));
        let overlapping = container(vec![
            sandbox_volume("d", SandboxType::Parent, "v"),
            sandbox_volume("d/e", SandboxType::Parent, "w"),
        ]);
        assert!(plan(Some(&overlapping), true).unwrap_err().contains("overlaps"));
    }

    #[test]
    fn two_sandboxes_share_a_parent_directory() {
        let dir = tempfile::tempdir().unwrap();
        let executor = dir.path().join("executor");
        let (a, b) = (dir.path().join("a"), dir.path().join("b"));
        for d in [&a, &b] {
            fs::create_dir_all(d).unwrap();
        }
        let shared = |at: &str| Mount {
            at: at.into(),
            source: Source::Parent("volumes/v".into()),
        };
        prepare(&a, &executor, &[shared("data")]).unwrap();
        prepare(&b, &executor, &[shared("deep/inside/data")]).unwrap();
        fs::write(a.join("data/hello"), "hi").unwrap();
        assert_eq!(fs::read_to_string(b.join("deep/inside/data/hello")).unwrap(), "hi");
        assert!(executor.join("volumes/v/hello").is_file());
        // Preparing again (the task id launched anew) replaces the links.
        prepare(&a, &executor, &[shared("data")]).unwrap();
        link_task(&executor, "a", &a).unwrap();
        link_task(&executor, "a", &a).unwrap();
        assert!(executor.join("tasks/a/data/hello").is_file());
    }
}
