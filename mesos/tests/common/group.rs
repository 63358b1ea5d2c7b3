//! Builders for LAUNCH_GROUP: a DEFAULT executor and its task group, shaped as Marathon's
//! TaskGroupBuilder sends them for a pod instance.

use anyhow::Result;
use mesos::v1::scheduler::{Call, call};
use mesos::v1::volume::source::{SandboxPath, Type as SourceType, sandbox_path::Type as SandboxType};
use mesos::v1::volume::{Mode, Source};
use mesos::v1::{
    ContainerInfo, ExecutorId, ExecutorInfo, Filters, Offer, TaskGroupInfo, TaskInfo, Volume, container_info,
    executor_info, offer,
};

use super::{Sched, scalar};

/// Marathon's default executor resources of a pod: 0.1 cpus, 32 MB, 10 MB of disk.
pub fn default_executor(id: &str) -> ExecutorInfo {
    ExecutorInfo {
        r#type: Some(executor_info::Type::Default as i32),
        executor_id: ExecutorId { value: id.into() },
        resources: vec![scalar("cpus", 0.1), scalar("mem", 32.0), scalar("disk", 10.0)],
        ..Default::default()
    }
}

pub fn sandbox_volume(container_path: &str, kind: SandboxType, path: &str) -> Volume {
    Volume {
        container_path: container_path.into(),
        mode: Mode::Rw as i32,
        source: Some(Source {
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

fn mesos_container(volumes: Vec<Volume>) -> ContainerInfo {
    ContainerInfo {
        r#type: container_info::Type::Mesos as i32,
        volumes,
        ..Default::default()
    }
}

/// The executor declares pod volume `name` (`SELF`, at `volumes/<name>` in its sandbox).
pub fn with_pod_volume(mut executor: ExecutorInfo, name: &str) -> ExecutorInfo {
    let path = format!("volumes/{name}");
    let volume = sandbox_volume(&path, SandboxType::Self_, &path);
    executor
        .container
        .get_or_insert_with(|| mesos_container(Vec::new()))
        .volumes
        .push(volume);
    executor
}

/// The task mounts pod volume `name` (`PARENT`) at `at`, relative to its sandbox.
pub fn mounting(mut task: TaskInfo, name: &str, at: &str) -> TaskInfo {
    let volume = sandbox_volume(at, SandboxType::Parent, &format!("volumes/{name}"));
    task.container
        .get_or_insert_with(|| mesos_container(Vec::new()))
        .volumes
        .push(volume);
    task
}

pub fn launch_group_operation(executor: ExecutorInfo, tasks: Vec<TaskInfo>) -> offer::Operation {
    offer::Operation {
        r#type: Some(offer::operation::Type::LaunchGroup as i32),
        launch_group: Some(offer::operation::LaunchGroup {
            executor,
            task_group: TaskGroupInfo { tasks },
        }),
        ..Default::default()
    }
}

impl Sched {
    /// ACCEPTs `offer` with one LAUNCH_GROUP, refusing the rest for `refuse_seconds`.
    pub async fn launch_group(
        &self,
        offer: &Offer,
        executor: ExecutorInfo,
        tasks: Vec<TaskInfo>,
        refuse_seconds: f64,
    ) -> Result<()> {
        self.call(Call {
            r#type: Some(call::Type::Accept as i32),
            accept: Some(call::Accept {
                offer_ids: vec![offer.id.clone()],
                operations: vec![launch_group_operation(executor, tasks)],
                filters: Some(Filters {
                    refuse_seconds: Some(refuse_seconds),
                }),
            }),
            ..Default::default()
        })
        .await?;
        Ok(())
    }
}

/// The scalar `name` of an offer (0 if absent).
pub fn offered(offer: &Offer, name: &str) -> f64 {
    offer
        .resources
        .iter()
        .find(|r| r.name == name)
        .and_then(|r| r.scalar.as_ref())
        .map_or(0.0, |s| s.value)
}
