//! A pod instance as one Mesos task group: the offer share of its executor and of each
//! container, and the LAUNCH_GROUP operation (Mesos's default executor, one TaskInfo per
//! container, the pod's ephemeral volumes shared through the executor's sandbox, its host
//! volumes as HOST_PATH volumes).

use mesos::v1::offer::operation::LaunchGroup;
use mesos::v1::resource::AllocationInfo;
use mesos::v1::volume::source::sandbox_path::Type as SandboxType;
use mesos::v1::volume::source::{HostPath, SandboxPath, Type as SourceType};
use mesos::v1::{
    AgentId, CommandInfo, ContainerInfo, DurationInfo, Environment, ExecutorId, ExecutorInfo, FrameworkId, HealthCheck,
    KillPolicy, Resource, TaskGroupInfo, TaskId, TaskInfo, Volume, container_info, environment, executor_info,
    health_check, volume,
};
use schemas::offers::RejectReason;
use schemas::pod::{MesosCommand, PodContainer};
use schemas::{Constraint, EnvValue, Instance, PodDefinition};

use super::matcher::{Demand, OfferResources, PortRequest};

/// What a pod instance took from one offer.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct PodTaken {
    pub executor: Vec<Resource>,
    /// Per container, in the pod's order.
    pub containers: Vec<Vec<Resource>>,
    /// Host ports, in endpoint order, one per endpoint that asks for one.
    pub ports: Vec<u32>,
}

fn roles(pod: &PodDefinition) -> Vec<String> {
    if !pod.scheduling.placement.accepted_resource_roles.is_empty() {
        return pod.scheduling.placement.accepted_resource_roles.clone();
    }
    let mut roles = vec!["*".to_owned()];
    if let Some(role) = pod.role.as_ref().filter(|r| *r != "*") {
        roles.push(role.clone());
    }
    roles
}

fn port_requests(c: &PodContainer) -> Vec<PortRequest> {
    c.endpoints
        .iter()
        .filter_map(|e| e.host_port)
        .map(|p| match p {
            0 => PortRequest::Dynamic,
            p => PortRequest::Fixed(u64::from(p)),
        })
        .collect()
}

/// The pod's placement constraints, as an app's are evaluated (validation refused any that
/// do not parse).
pub(crate) fn constraints(pod: &PodDefinition) -> Vec<Constraint> {
    pod.scheduling
        .placement
        .constraints
        .iter()
        .filter_map(|c| Constraint::new(&c.field_name, &c.operator, c.value.as_deref()).ok())
        .collect()
}

/// The whole instance as one demand, for reject reasons.
pub(crate) fn demand(pod: &PodDefinition) -> Demand {
    let r = pod.instance_resources();
    Demand {
        roles: roles(pod),
        scalars: [r.cpus, r.mem, r.disk, f64::from(r.gpus)],
        ports: pod.containers.iter().flat_map(port_requests).collect(),
    }
}

/// Takes the executor's and every container's share of `offer`, all or nothing.
pub(crate) fn take(offer: &mut OfferResources, pod: &PodDefinition) -> Result<PodTaken, Vec<RejectReason>> {
    let reasons = offer.reject_reasons_of(&demand(pod));
    if !reasons.is_empty() {
        return Err(reasons);
    }
    let mut trial = offer.clone();
    let e = pod.executor_resources;
    let executor = Demand {
        roles: roles(pod),
        scalars: [e.cpus, e.mem, e.disk, 0.0],
        ports: vec![],
    };
    let executor = trial.take_demand(&executor).map_err(|r| vec![r])?.resources;
    let mut containers = Vec::new();
    let mut ports = Vec::new();
    for c in &pod.containers {
        let r = c.resources;
        let d = Demand {
            roles: roles(pod),
            scalars: [r.cpus, r.mem, r.disk, f64::from(r.gpus)],
            ports: port_requests(c),
        };
        let taken = trial.take_demand(&d).map_err(|r| vec![r])?;
        ports.extend(taken.ports);
        containers.push(taken.resources);
    }
    *offer = trial;
    Ok(PodTaken {
        executor,
        containers,
        ports,
    })
}

/// Where one instance goes and what it got.
pub(crate) struct GroupPlacement<'a> {
    pub agent_id: &'a str,
    pub framework_id: &'a str,
    pub allocation_role: Option<&'a str>,
    pub taken: &'a PodTaken,
}

/// The executor id of an instance's task group, unique per launch.
pub(crate) fn executor_id(instance: &Instance) -> String {
    match instance.incarnation + 1 {
        1 => format!("instance-{}", instance.instance_id),
        n => format!("instance-{}.{n}", instance.instance_id),
    }
}

fn sandbox_volume(name: &str, at: &str, kind: SandboxType, read_only: bool) -> Volume {
    Volume {
        container_path: at.to_string(),
        mode: if read_only { volume::Mode::Ro } else { volume::Mode::Rw } as i32,
        source: Some(volume::Source {
            r#type: Some(SourceType::SandboxPath as i32),
            sandbox_path: Some(SandboxPath {
                r#type: Some(kind as i32),
                path: format!("volumes/{name}"),
            }),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// A host directory shown at `at` (Marathon's pod host volume).
fn host_volume(host: &str, at: &str, read_only: bool) -> Volume {
    Volume {
        container_path: at.to_string(),
        mode: if read_only { volume::Mode::Ro } else { volume::Mode::Rw } as i32,
        source: Some(volume::Source {
            r#type: Some(SourceType::HostPath as i32),
            host_path: Some(HostPath {
                path: host.to_string(),
                mount_propagation: None,
            }),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn with_allocation(resources: &[Resource], role: Option<&str>) -> Vec<Resource> {
    resources
        .iter()
        .cloned()
        .map(|mut r| {
            r.allocation_info = role.map(|role| AllocationInfo {
                role: Some(role.to_string()),
            });
            r
        })
        .collect()
}

fn command_of(cmd: &MesosCommand) -> (bool, String, Vec<String>) {
    match cmd {
        MesosCommand::Shell { shell } => (true, shell.clone(), vec![]),
        MesosCommand::Argv { argv } => (false, argv.first().cloned().unwrap_or_default(), argv.clone()),
    }
}

fn seconds(s: f64) -> DurationInfo {
    DurationInfo {
        nanoseconds: (s * 1e9) as i64,
    }
}

/// The container's health check as the agent runs it: an endpoint's port for HTTP and TCP.
fn health_check(c: &PodContainer, ports: &[(String, u32)]) -> Option<HealthCheck> {
    let h = c.health_check.as_ref()?;
    let port_of = |name: &str| ports.iter().find(|(n, _)| n == name).map(|(_, p)| *p);
    let mut check = HealthCheck {
        delay_seconds: Some(f64::from(h.delay_seconds)),
        interval_seconds: Some(f64::from(h.interval_seconds)),
        timeout_seconds: Some(f64::from(h.timeout_seconds)),
        consecutive_failures: Some(h.max_consecutive_failures),
        grace_period_seconds: Some(f64::from(h.grace_period_seconds)),
        ..Default::default()
    };
    if let Some(http) = &h.http {
        check.r#type = Some(health_check::Type::Http as i32);
        check.http = Some(health_check::HttpCheckInfo {
            port: port_of(&http.endpoint)?,
            path: http.path.clone(),
            scheme: Some(http.scheme.to_lowercase()),
            ..Default::default()
        });
    } else if let Some(tcp) = &h.tcp {
        check.r#type = Some(health_check::Type::Tcp as i32);
        check.tcp = Some(health_check::TcpCheckInfo {
            port: port_of(&tcp.endpoint)?,
            ..Default::default()
        });
    } else if let Some(exec) = &h.exec {
        let (shell, value, arguments) = command_of(&exec.command);
        check.r#type = Some(health_check::Type::Command as i32);
        check.command = Some(CommandInfo {
            shell: Some(shell),
            value: Some(value),
            arguments,
            ..Default::default()
        });
    } else {
        return None;
    }
    Some(check)
}

/// The environment of one container: the pod's, the container's own over it, the endpoint
/// ports, and the Marathon and Mesos variables app tasks get.
fn container_env(
    pod: &PodDefinition,
    c: &PodContainer,
    task_id: &str,
    endpoint_env: &std::collections::BTreeMap<String, String>,
) -> Vec<(String, String)> {
    let mut env: Vec<(String, String)> = Vec::new();
    let mut set = |k: String, v: String| match env.iter_mut().find(|(name, _)| *name == k) {
        Some(slot) => slot.1 = v,
        None => env.push((k, v)),
    };
    for (k, v) in pod.environment.iter().chain(&c.environment) {
        if let EnvValue::Plain(v) = v {
            set(k.clone(), v.clone());
        }
    }
    for (k, v) in endpoint_env {
        set(k.clone(), v.clone());
    }
    set("MESOS_TASK_ID".into(), task_id.into());
    set("MARATHON_APP_ID".into(), pod.id.to_string());
    set("MARATHON_APP_VERSION".into(), pod.version_or_epoch().to_string());
    set("MARATHON_CONTAINER_ID".into(), c.name.clone());
    set("MARATHON_APP_RESOURCE_CPUS".into(), c.resources.cpus.to_string());
    set("MARATHON_APP_RESOURCE_MEM".into(), c.resources.mem.to_string());
    set("MARATHON_APP_RESOURCE_DISK".into(), c.resources.disk.to_string());
    set("MARATHON_APP_RESOURCE_GPUS".into(), c.resources.gpus.to_string());
    env
}

/// The LAUNCH_GROUP of `instance` with `task_ids` (one per container, in the pod's order).
pub(crate) fn launch_group(
    pod: &PodDefinition,
    instance: &Instance,
    task_ids: &[String],
    at: &GroupPlacement<'_>,
) -> LaunchGroup {
    let ephemeral: Vec<&str> = pod
        .volumes
        .iter()
        .filter(|v| v.host.is_none() && v.persistent.is_none() && v.secret.is_none())
        .map(|v| v.name.as_str())
        .collect();
    let executor = ExecutorInfo {
        r#type: Some(executor_info::Type::Default as i32),
        executor_id: ExecutorId {
            value: executor_id(instance),
        },
        framework_id: Some(FrameworkId {
            value: at.framework_id.to_string(),
        }),
        resources: with_allocation(&at.taken.executor, at.allocation_role),
        container: Some(ContainerInfo {
            r#type: container_info::Type::Mesos as i32,
            volumes: ephemeral
                .iter()
                .map(|name| sandbox_volume(name, &format!("volumes/{name}"), SandboxType::Self_, false))
                .collect(),
            ..Default::default()
        }),
        ..Default::default()
    };
    // Host ports in endpoint order, one per endpoint asking for one.
    let mut host_ports = at.taken.ports.iter().copied();
    let allocated: Vec<Option<u32>> = pod
        .host_port_requests()
        .iter()
        .map(|r| r.and_then(|_| host_ports.next()))
        .collect();
    let endpoint_env = pod.endpoint_env(&allocated);
    let named_ports: Vec<(String, u32)> = pod
        .endpoints()
        .iter()
        .zip(&allocated)
        .filter_map(|(e, host)| Some((e.endpoint.name.clone(), host.or(e.endpoint.container_port)?)))
        .collect();
    let tasks = pod
        .containers
        .iter()
        .zip(task_ids)
        .enumerate()
        .map(|(i, (c, task_id))| {
            let (shell, value, arguments) =
                c.exec
                    .as_ref()
                    .map(|e| command_of(&e.command))
                    .unwrap_or((true, String::new(), vec![]));
            let volumes: Vec<Volume> = c
                .volume_mounts
                .iter()
                .filter_map(|m| {
                    let read_only = m.read_only == Some(true);
                    if ephemeral.contains(&m.name.as_str()) {
                        return Some(sandbox_volume(&m.name, &m.mount_path, SandboxType::Parent, read_only));
                    }
                    let host = pod.volumes.iter().find(|v| v.name == m.name)?.host.as_deref()?;
                    Some(host_volume(host, &m.mount_path, read_only))
                })
                .collect();
            TaskInfo {
                name: c.name.clone(),
                task_id: TaskId { value: task_id.clone() },
                agent_id: AgentId {
                    value: at.agent_id.to_string(),
                },
                resources: with_allocation(
                    at.taken.containers.get(i).map_or(&[][..], Vec::as_slice),
                    at.allocation_role,
                ),
                command: Some(CommandInfo {
                    shell: Some(shell),
                    value: Some(value),
                    arguments,
                    user: c.user.clone().or_else(|| pod.user.clone()),
                    environment: Some(Environment {
                        variables: container_env(pod, c, task_id, &endpoint_env)
                            .into_iter()
                            .map(|(name, value)| environment::Variable {
                                name,
                                value: Some(value),
                                ..Default::default()
                            })
                            .collect(),
                    }),
                    ..Default::default()
                }),
                container: (!volumes.is_empty()).then(|| ContainerInfo {
                    r#type: container_info::Type::Mesos as i32,
                    volumes,
                    ..Default::default()
                }),
                health_check: health_check(c, &named_ports),
                kill_policy: c
                    .lifecycle
                    .as_ref()
                    .and_then(|l| l.kill_grace_period_seconds)
                    .map(|s| KillPolicy {
                        grace_period: Some(seconds(s)),
                    }),
                ..Default::default()
            }
        })
        .collect();
    LaunchGroup {
        executor,
        task_group: TaskGroupInfo { tasks },
    }
}

#[cfg(test)]
mod tests {
    use mesos::v1::{Offer, OfferId, value};
    use schemas::{PathId, RunSpec, Timestamp};

    use super::*;

    fn pod() -> PodDefinition {
        let raw: PodDefinition = serde_json::from_value(serde_json::json!({
            "id": "/web/p",
            "environment": {"POD_LEVEL": "1", "SHARED": "pod"},
            "volumes": [{"name": "shared"}],
            "containers": [
                {"name": "writer", "exec": {"command": {"shell": "echo hi > data/x"}},
                 "resources": {"cpus": 0.2, "mem": 64},
                 "environment": {"SHARED": "container"},
                 "endpoints": [{"name": "http-api", "hostPort": 0}],
                 "volumeMounts": [{"name": "shared", "mountPath": "data"}],
                 "healthCheck": {"http": {"endpoint": "http-api", "path": "/ping"}},
                 "lifecycle": {"killGracePeriodSeconds": 5}},
                {"name": "reader", "exec": {"command": {"argv": ["cat", "data/x"]}},
                 "resources": {"cpus": 0.3, "mem": 32},
                 "volumeMounts": [{"name": "shared", "mountPath": "data", "readOnly": true}]}
            ]
        }))
        .unwrap();
        schemas::normalize_pod(raw, &PathId::root()).unwrap()
    }

    fn offer(cpus: f64) -> Offer {
        let scalar = |name: &str, v: f64| Resource {
            name: name.into(),
            r#type: value::Type::Scalar as i32,
            scalar: Some(value::Scalar { value: v }),
            ..Default::default()
        };
        let mut ports = scalar("ports", 0.0);
        ports.r#type = value::Type::Ranges as i32;
        ports.scalar = None;
        ports.ranges = Some(value::Ranges {
            range: vec![value::Range {
                begin: 31000,
                end: 31010,
            }],
        });
        Offer {
            id: OfferId { value: "o".into() },
            agent_id: AgentId { value: "ag".into() },
            hostname: "h".into(),
            resources: vec![
                scalar("cpus", cpus),
                scalar("mem", 1024.0),
                scalar("disk", 100.0),
                ports,
            ],
            ..Default::default()
        }
    }

    fn scalar_sum(resources: &[Resource], name: &str) -> f64 {
        resources
            .iter()
            .filter(|r| r.name == name)
            .filter_map(|r| r.scalar.as_ref())
            .map(|s| s.value)
            .sum()
    }

    #[test]
    fn takes_the_executor_and_every_container_or_nothing() {
        let pod = pod();
        let mut small = OfferResources::from_offer(&offer(0.5));
        let before = small.clone();
        assert_eq!(take(&mut small, &pod), Err(vec![RejectReason::InsufficientCpus]));
        assert_eq!(small, before, "nothing taken");

        let mut big = OfferResources::from_offer(&offer(2.0));
        let taken = take(&mut big, &pod).unwrap();
        assert!((scalar_sum(&taken.executor, "cpus") - 0.1).abs() < 1e-9);
        assert!((scalar_sum(&taken.containers[0], "cpus") - 0.2).abs() < 1e-9);
        assert!((scalar_sum(&taken.containers[1], "mem") - 32.0).abs() < 1e-9);
        assert_eq!(taken.ports, vec![31000]);
    }

    #[test]
    fn launch_group_is_one_default_executor_with_a_task_per_container() {
        let pod = pod();
        let instance = Instance::of(
            &RunSpec::Pod(std::sync::Arc::new(pod.clone())),
            Timestamp::from_millis(1),
        );
        let mut r = OfferResources::from_offer(&offer(2.0));
        let taken = take(&mut r, &pod).unwrap();
        let ids: Vec<String> = ["writer", "reader"]
            .iter()
            .map(|c| instance.next_container_task_id(c))
            .collect();
        let g = launch_group(
            &pod,
            &instance,
            &ids,
            &GroupPlacement {
                agent_id: "ag",
                framework_id: "fw",
                allocation_role: Some("*"),
                taken: &taken,
            },
        );
        assert_eq!(g.executor.r#type, Some(executor_info::Type::Default as i32));
        assert_eq!(
            g.executor.executor_id.value,
            format!("instance-{}", instance.instance_id)
        );
        assert_eq!(g.executor.framework_id.as_ref().unwrap().value, "fw");
        let exec_volumes = &g.executor.container.as_ref().unwrap().volumes;
        assert_eq!(exec_volumes.len(), 1);
        let src = exec_volumes[0].source.as_ref().unwrap().sandbox_path.as_ref().unwrap();
        assert_eq!(
            (src.r#type, src.path.as_str()),
            (Some(SandboxType::Self_ as i32), "volumes/shared")
        );

        let tasks = &g.task_group.tasks;
        assert_eq!(tasks.len(), 2);
        assert_eq!(tasks[0].task_id.value, format!("{}.writer", instance.instance_id));
        assert_eq!(tasks[0].name, "writer");
        let cmd = tasks[0].command.as_ref().unwrap();
        assert_eq!(
            (cmd.shell, cmd.value.as_deref()),
            (Some(true), Some("echo hi > data/x"))
        );
        let env: Vec<(&str, &str)> = cmd
            .environment
            .as_ref()
            .unwrap()
            .variables
            .iter()
            .map(|v| (v.name.as_str(), v.value.as_deref().unwrap_or_default()))
            .collect();
        assert!(env.contains(&("ENDPOINT_HTTP_API", "31000")), "{env:?}");
        assert!(env.contains(&("POD_LEVEL", "1")));
        assert!(env.contains(&("SHARED", "container")), "the container's own wins");
        assert!(env.contains(&("MARATHON_APP_ID", "/web/p")));
        assert!(env.contains(&("MESOS_TASK_ID", tasks[0].task_id.value.as_str())));
        let hc = tasks[0].health_check.as_ref().unwrap();
        assert_eq!(hc.r#type, Some(health_check::Type::Http as i32));
        assert_eq!(hc.http.as_ref().unwrap().port, 31000);
        assert_eq!(
            tasks[0]
                .kill_policy
                .as_ref()
                .unwrap()
                .grace_period
                .as_ref()
                .unwrap()
                .nanoseconds,
            5_000_000_000
        );
        let vol = &tasks[1].container.as_ref().unwrap().volumes[0];
        assert_eq!(vol.container_path, "data");
        assert_eq!(vol.mode, volume::Mode::Ro as i32);
        let src = vol.source.as_ref().unwrap().sandbox_path.as_ref().unwrap();
        assert_eq!(src.r#type, Some(SandboxType::Parent as i32));
        let cmd = tasks[1].command.as_ref().unwrap();
        assert_eq!(
            (cmd.shell, cmd.arguments.clone()),
            (Some(false), vec!["cat".into(), "data/x".into()])
        );
        assert!(tasks[1].health_check.is_none());
        assert!((scalar_sum(&tasks[1].resources, "cpus") - 0.3).abs() < 1e-9);
        assert!(
            tasks
                .iter()
                .flat_map(|t| &t.resources)
                .all(|r| r.allocation_info.is_some())
        );
    }

    #[test]
    fn host_volumes_are_host_paths_at_their_mount_paths() {
        let raw: PodDefinition = serde_json::from_value(serde_json::json!({
            "id": "/h",
            "volumes": [{"name": "logs", "host": "/var/log/h"}, {"name": "scratch"}],
            "containers": [{"name": "c", "resources": {"cpus": 0.1, "mem": 16},
                "volumeMounts": [{"name": "logs", "mountPath": "logs", "readOnly": true},
                                 {"name": "scratch", "mountPath": "tmp"}]}]
        }))
        .unwrap();
        let pod = schemas::normalize_pod(raw, &PathId::root()).unwrap();
        let instance = Instance::of(
            &RunSpec::Pod(std::sync::Arc::new(pod.clone())),
            Timestamp::from_millis(1),
        );
        let mut r = OfferResources::from_offer(&offer(2.0));
        let taken = take(&mut r, &pod).unwrap();
        let g = launch_group(
            &pod,
            &instance,
            &[instance.next_container_task_id("c")],
            &GroupPlacement {
                agent_id: "ag",
                framework_id: "fw",
                allocation_role: None,
                taken: &taken,
            },
        );
        // Only the ephemeral volume lives in the executor's sandbox.
        let exec_volumes = &g.executor.container.as_ref().unwrap().volumes;
        assert_eq!(exec_volumes.len(), 1);
        let volumes = &g.task_group.tasks[0].container.as_ref().unwrap().volumes;
        assert_eq!(volumes.len(), 2);
        let logs = &volumes[0];
        let source = logs.source.as_ref().unwrap();
        assert_eq!(
            (
                logs.container_path.as_str(),
                logs.mode,
                source.r#type,
                source.host_path.as_ref().map(|h| h.path.as_str())
            ),
            (
                "logs",
                volume::Mode::Ro as i32,
                Some(SourceType::HostPath as i32),
                Some("/var/log/h")
            )
        );
        assert_eq!(
            volumes[1].source.as_ref().unwrap().r#type,
            Some(SourceType::SandboxPath as i32)
        );
    }
}
