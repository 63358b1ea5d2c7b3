//! An agent's dynamic reservations and persistent volumes on disk.
//!
//! `<agent>/meta/resources.info` holds every reserved resource and volume of the agent (as
//! Mesos's agent checkpoints them: `mesos.v1.Resource`s, here in RecordIO framing and the
//! RESERVATION_REFINEMENT format), rewritten whole on every RESERVE, UNRESERVE, CREATE and
//! DESTROY before the operation takes effect. A volume's data lives in
//! `<agent>/volumes/roles/<role>/<persistence id>`, which a task using the volume sees at the
//! volume's `container_path` in its sandbox (a symlink, as task groups' volumes are made).

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use bytes::BytesMut;
use prost::Message;
use tokio_util::codec::Decoder;

use crate::recordio::{RecordIoCodec, encode_record};
use crate::v1::{Resource, TaskInfo};

use super::checkpoint::CheckpointError;
use super::config::AgentResources;
use super::resources::Resources;
use super::task_group::volumes::{Mount, Source};

const RESOURCES_FILE: &str = "resources.info";

fn failed(path: &Path) -> impl FnOnce(io::Error) -> CheckpointError + '_ {
    move |source| CheckpointError {
        path: path.to_owned(),
        source,
    }
}

/// The agent's resources: what it is configured with, of which the reservations and volumes
/// checkpointed in `meta` are carved out.
pub(crate) fn recover(
    configured: &AgentResources,
    agent_role: &str,
    meta: &Path,
) -> Result<Resources, CheckpointError> {
    let reserved = load(meta, agent_role)?;
    let mut total = Resources::from_agent(configured);
    total.subtract(&reserved.moved_to(&super::reservations::Pool::Agent));
    total.add(&reserved);
    Ok(total)
}

fn load(meta: &Path, agent_role: &str) -> Result<Resources, CheckpointError> {
    let path = meta.join(RESOURCES_FILE);
    let bytes = match fs::read(&path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Resources::default()),
        Err(e) => return Err(failed(&path)(e)),
    };
    let corrupt = |why: String| failed(&path)(io::Error::new(io::ErrorKind::InvalidData, why));
    let mut buf = BytesMut::from(&bytes[..]);
    let mut codec = RecordIoCodec::default();
    let mut list = Vec::new();
    while let Some(frame) = codec.decode_eof(&mut buf).map_err(|e| corrupt(e.to_string()))? {
        list.push(Resource::decode(frame).map_err(|e| corrupt(e.to_string()))?);
    }
    Resources::from_protos(&list, agent_role).map_err(|e| corrupt(e.to_string()))
}

/// Replaces the checkpoint with `reserved`: whole or not at all (aside, synced, renamed).
pub(crate) fn save(meta: &Path, agent_role: &str, reserved: &Resources) -> Result<(), CheckpointError> {
    let path = meta.join(RESOURCES_FILE);
    let tmp = meta.join(format!("{RESOURCES_FILE}.tmp"));
    let mut buf = BytesMut::new();
    for r in reserved.to_protos(None, agent_role, true) {
        encode_record(&r.encode_to_vec(), &mut buf);
    }
    {
        let mut f = File::create(&tmp).map_err(failed(&tmp))?;
        f.write_all(&buf).and_then(|()| f.sync_all()).map_err(failed(&tmp))?;
    }
    fs::rename(&tmp, &path).map_err(failed(&path))?;
    File::open(meta).and_then(|d| d.sync_all()).map_err(failed(meta))
}

/// Where the data of volume `id` of `role` lives on the agent in `agent_dir`.
pub(crate) fn volume_dir(agent_dir: &Path, role: &str, id: &str) -> PathBuf {
    agent_dir.join("volumes").join("roles").join(role).join(id)
}

/// The persistent volumes among `task`'s resources, as links to make in its sandbox.
pub(crate) fn mounts(agent_dir: &Path, agent_role: &str, task: &TaskInfo) -> Vec<Mount> {
    let Ok(resources) = Resources::from_protos(&task.resources, agent_role) else {
        return Vec::new();
    };
    resources
        .volumes()
        .iter()
        .map(|(id, v)| Mount {
            at: PathBuf::from(&v.container_path),
            source: Source::Host(volume_dir(agent_dir, v.pool.role(agent_role), id)),
        })
        .collect()
}

/// Mesos's rules for a volume's `container_path`, and ours: the local agent shows volumes in
/// the sandbox, so the path must be relative, stay inside it and not be one of its own files.
pub(crate) fn check_container_path(path: &str) -> Result<(), String> {
    let p = Path::new(path);
    let normal = p.components().all(|c| matches!(c, std::path::Component::Normal(_)));
    if path.is_empty() || p.is_absolute() || !normal {
        return Err(format!(
            "volume container_path '{path}' must be a relative path inside the sandbox (the local agent has \
             no mount namespaces)"
        ));
    }
    let first = p
        .components()
        .next()
        .map(|c| c.as_os_str().to_string_lossy().into_owned());
    if first.is_some_and(|f| ["stdout", "stderr", "tasks"].contains(&f.as_str())) {
        return Err(format!(
            "volume container_path '{path}' collides with the sandbox's own files"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::v1::{resource, value};

    fn volume(id: &str) -> Resource {
        Resource {
            name: "disk".into(),
            r#type: value::Type::Scalar as i32,
            scalar: Some(value::Scalar { value: 64.0 }),
            role: Some("web".into()),
            reservation: Some(resource::ReservationInfo::default()),
            disk: Some(resource::DiskInfo {
                persistence: Some(resource::disk_info::Persistence {
                    id: id.into(),
                    principal: None,
                }),
                volume: Some(crate::v1::Volume {
                    container_path: "data".into(),
                    mode: crate::v1::volume::Mode::Rw as i32,
                    ..Default::default()
                }),
                source: None,
            }),
            ..Default::default()
        }
    }

    #[test]
    fn reservations_survive_a_restart_carved_out_of_the_configured_total() {
        let dir = tempfile::tempdir().unwrap();
        let configured = AgentResources {
            cpus: 2.0,
            mem: 1024.0,
            disk: 1000.0,
            gpus: 0.0,
            ports: vec![(31000, 31010)],
        };
        assert_eq!(
            recover(&configured, "*", dir.path()).unwrap(),
            Resources::from_agent(&configured)
        );
        let reserved = Resources::from_protos(&[volume("v1")], "*").unwrap();
        save(dir.path(), "*", &reserved).unwrap();
        let total = recover(&configured, "*", dir.path()).unwrap();
        assert_eq!(total.reserved(), reserved);
        assert_eq!(
            total.scalar("disk"),
            936.0,
            "the volume's 64 MB are no longer the agent's own"
        );
        assert!(!dir.path().join("resources.info.tmp").exists());
        std::fs::write(dir.path().join(RESOURCES_FILE), b"3\nxyz").unwrap();
        assert!(
            recover(&configured, "*", dir.path()).is_err(),
            "a corrupt checkpoint is an error"
        );
    }

    #[test]
    fn a_task_sees_its_volumes_in_its_sandbox() {
        let task = TaskInfo {
            resources: vec![volume("v1")],
            ..Default::default()
        };
        let m = mounts(Path::new("/agent"), "*", &task);
        assert_eq!(
            m,
            [Mount {
                at: "data".into(),
                source: Source::Host("/agent/volumes/roles/web/v1".into()),
            }]
        );
        assert!(check_container_path("data").is_ok());
        for bad in ["", "/data", "../x", "a/../b", "stdout", "tasks/x"] {
            assert!(check_container_path(bad).is_err(), "{bad:?}");
        }
    }
}
