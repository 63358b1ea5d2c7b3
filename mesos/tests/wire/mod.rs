//! Realistic Calls and Events for the wire-compatibility tests: the shapes Pacer's controllers
//! send (a Marathon app's TaskInfo: command with environment, resources with port ranges, a
//! health check, a kill policy, labels; pods as LAUNCH_GROUP) and the shapes the local master
//! streams back.

#![allow(dead_code, unreachable_pub)]

use mesos::v1::scheduler::{Call, Event, call, event};
use mesos::v1::{
    Address, AgentId, CommandInfo, ContainerId, ContainerStatus, DurationInfo, Environment, ExecutorId, ExecutorInfo,
    Filters, FrameworkId, FrameworkInfo, HealthCheck, KillPolicy, Label, Labels, MasterInfo, NetworkInfo, Offer,
    OfferId, Resource, TaskGroupInfo, TaskId, TaskInfo, TaskState, TaskStatus, Url, environment, executor_info,
    framework_info, health_check, master_info, network_info, offer, resource, task_status, value,
};

pub const FRAMEWORK: &str = "6e33a868-55d7-4067-8cc3-90015e6f305f-0003";
pub const AGENT: &str = "8109a3e0-c8cb-4d76-9fdd-e994d01a6e80-S0";
pub const OFFER: &str = "6e33a868-55d7-4067-8cc3-90015e6f305f-O8";
pub const TASK: &str = "web.instance-1b4a0c35-7e0f-11ef-9a2c-0242ac110002._app.1";

fn framework_id() -> FrameworkId {
    FrameworkId {
        value: FRAMEWORK.into(),
    }
}

fn agent_id() -> AgentId {
    AgentId { value: AGENT.into() }
}

fn task_id(id: &str) -> TaskId {
    TaskId { value: id.into() }
}

pub fn scalar(name: &str, v: f64) -> Resource {
    Resource {
        name: name.into(),
        r#type: value::Type::Scalar as i32,
        scalar: Some(value::Scalar { value: v }),
        role: Some("*".into()),
        allocation_info: Some(resource::AllocationInfo { role: Some("*".into()) }),
        ..Default::default()
    }
}

pub fn ports(ranges: &[(u64, u64)]) -> Resource {
    Resource {
        name: "ports".into(),
        r#type: value::Type::Ranges as i32,
        ranges: Some(value::Ranges {
            range: ranges.iter().map(|&(begin, end)| value::Range { begin, end }).collect(),
        }),
        scalar: None,
        ..scalar("ports", 0.0)
    }
}

/// A Marathon app's task as the controllers build it.
pub fn app_task(id: &str) -> TaskInfo {
    let env = [("MESOS_TASK_ID", id), ("MARATHON_APP_ID", "/web"), ("PORT0", "31007")];
    TaskInfo {
        name: "web".into(),
        task_id: task_id(id),
        agent_id: agent_id(),
        resources: vec![
            scalar("cpus", 0.25),
            scalar("mem", 128.0),
            scalar("disk", 64.5),
            ports(&[(31007, 31007), (31042, 31042)]),
        ],
        command: Some(CommandInfo {
            shell: Some(true),
            value: Some("python3 -m http.server $PORT0".into()),
            user: Some("nobody".into()),
            environment: Some(Environment {
                variables: env
                    .iter()
                    .map(|(k, v)| environment::Variable {
                        name: (*k).into(),
                        value: Some((*v).into()),
                        ..Default::default()
                    })
                    .collect(),
            }),
            ..Default::default()
        }),
        health_check: Some(HealthCheck {
            r#type: Some(health_check::Type::Http as i32),
            http: Some(health_check::HttpCheckInfo {
                port: 31007,
                path: Some("/health".into()),
                scheme: Some("http".into()),
                ..Default::default()
            }),
            delay_seconds: Some(15.0),
            interval_seconds: Some(10.0),
            timeout_seconds: Some(20.0),
            consecutive_failures: Some(3),
            grace_period_seconds: Some(300.0),
            ..Default::default()
        }),
        kill_policy: Some(KillPolicy {
            grace_period: Some(DurationInfo {
                nanoseconds: 3_000_000_000,
            }),
        }),
        labels: Some(Labels {
            labels: vec![Label {
                key: "owner".into(),
                value: Some("team-a".into()),
            }],
        }),
        ..Default::default()
    }
}

pub fn framework_info() -> FrameworkInfo {
    use framework_info::capability::Type;
    FrameworkInfo {
        user: "root".into(),
        name: "marathon".into(),
        id: Some(framework_id()),
        failover_timeout: Some(604_800.0),
        checkpoint: Some(true),
        hostname: Some("pacer-1.example.org".into()),
        principal: Some("pacer".into()),
        webui_url: Some("http://pacer-1.example.org:8080".into()),
        capabilities: [
            Type::MultiRole,
            Type::PartitionAware,
            Type::TaskKillingState,
            Type::GpuResources,
        ]
        .iter()
        .map(|t| framework_info::Capability {
            r#type: Some(*t as i32),
        })
        .collect(),
        roles: vec!["*".into()],
        ..Default::default()
    }
}

fn call(ty: call::Type, build: impl FnOnce(&mut Call)) -> Call {
    let mut c = Call {
        framework_id: Some(framework_id()),
        r#type: Some(ty as i32),
        ..Default::default()
    };
    build(&mut c);
    c
}

/// Every Call Pacer sends, named for test failures.
pub fn calls() -> Vec<(&'static str, Call)> {
    use offer::operation::{Launch, LaunchGroup, Type};
    let filters = Some(Filters {
        refuse_seconds: Some(120.0),
    });
    let launch = offer::Operation {
        r#type: Some(Type::Launch as i32),
        launch: Some(Launch {
            task_infos: vec![app_task(TASK), app_task("web.2")],
        }),
        ..Default::default()
    };
    let mut pod_task = app_task("pod.instance-1.web");
    pod_task.command.as_mut().unwrap().shell = Some(false);
    pod_task.command.as_mut().unwrap().arguments = vec!["/bin/serve".into(), "--port=31007".into()];
    let launch_group = offer::Operation {
        r#type: Some(Type::LaunchGroup as i32),
        launch_group: Some(LaunchGroup {
            executor: ExecutorInfo {
                r#type: Some(executor_info::Type::Default as i32),
                executor_id: ExecutorId {
                    value: "instance-pod.1b4a0c35".into(),
                },
                framework_id: Some(framework_id()),
                resources: vec![scalar("cpus", 0.1), scalar("mem", 32.0)],
                ..Default::default()
            },
            task_group: TaskGroupInfo {
                tasks: vec![pod_task, app_task("pod.instance-1.sidecar")],
            },
        }),
        ..Default::default()
    };
    let offer_ids = vec![OfferId { value: OFFER.into() }];
    vec![
        (
            "SUBSCRIBE",
            call(call::Type::Subscribe, |c| {
                c.subscribe = Some(call::Subscribe {
                    framework_info: framework_info(),
                    ..Default::default()
                })
            }),
        ),
        (
            "ACCEPT with LAUNCH",
            call(call::Type::Accept, |c| {
                c.accept = Some(call::Accept {
                    offer_ids: offer_ids.clone(),
                    operations: vec![launch],
                    filters,
                })
            }),
        ),
        (
            "ACCEPT with LAUNCH_GROUP",
            call(call::Type::Accept, |c| {
                c.accept = Some(call::Accept {
                    offer_ids: offer_ids.clone(),
                    operations: vec![launch_group],
                    filters: None,
                })
            }),
        ),
        (
            "ACCEPT with RESERVE and CREATE (a resident instance)",
            call(call::Type::Accept, |c| {
                c.accept = Some(call::Accept {
                    offer_ids: offer_ids.clone(),
                    operations: resident_operations(true),
                    filters: Some(Filters {
                        refuse_seconds: Some(0.0),
                    }),
                })
            }),
        ),
        (
            "ACCEPT with DESTROY and UNRESERVE",
            call(call::Type::Accept, |c| {
                c.accept = Some(call::Accept {
                    offer_ids: offer_ids.clone(),
                    operations: resident_operations(false),
                    filters: None,
                })
            }),
        ),
        (
            "DECLINE",
            call(call::Type::Decline, |c| {
                c.decline = Some(call::Decline {
                    offer_ids: offer_ids.clone(),
                    filters,
                })
            }),
        ),
        (
            "KILL",
            call(call::Type::Kill, |c| {
                c.kill = Some(call::Kill {
                    task_id: task_id(TASK),
                    agent_id: Some(agent_id()),
                    kill_policy: Some(KillPolicy {
                        grace_period: Some(DurationInfo { nanoseconds: 0 }),
                    }),
                })
            }),
        ),
        (
            "ACKNOWLEDGE",
            call(call::Type::Acknowledge, |c| {
                c.acknowledge = Some(call::Acknowledge {
                    agent_id: agent_id(),
                    task_id: task_id(TASK),
                    uuid: uuid(),
                })
            }),
        ),
        (
            "RECONCILE (explicit)",
            call(call::Type::Reconcile, |c| {
                c.reconcile = Some(call::Reconcile {
                    tasks: vec![
                        call::reconcile::Task {
                            task_id: task_id(TASK),
                            agent_id: Some(agent_id()),
                        },
                        call::reconcile::Task {
                            task_id: task_id("unknown.1"),
                            agent_id: None,
                        },
                    ],
                })
            }),
        ),
        (
            "RECONCILE (implicit)",
            call(call::Type::Reconcile, |c| {
                c.reconcile = Some(call::Reconcile { tasks: vec![] })
            }),
        ),
        (
            "SUPPRESS",
            call(call::Type::Suppress, |c| {
                c.suppress = Some(call::Suppress {
                    roles: vec!["*".into()],
                })
            }),
        ),
        (
            "REVIVE",
            call(call::Type::Revive, |c| c.revive = Some(call::Revive { roles: vec![] })),
        ),
    ]
}

/// `r` dynamically reserved as the controllers reserve for a resident instance: for its role,
/// in the format of a framework without RESERVATION_REFINEMENT, labelled with the framework,
/// the instance and the reservation.
pub fn reserved(mut r: Resource) -> Resource {
    let label = |key: &str, value: &str| Label {
        key: key.into(),
        value: Some(value.into()),
    };
    r.role = Some("pacer".into());
    r.reservation = Some(resource::ReservationInfo {
        principal: Some("pacer".into()),
        labels: Some(Labels {
            labels: vec![
                label("marathon_framework_id", FRAMEWORK),
                label("marathon_task_id", "db.instance-1b4a0c35-7e0f-11ef-9a2c-0242ac110002"),
                label("pacer_reservation_id", "0d7c2a14-9d33-4f0e-8a51-5b2f0e6f1c11"),
            ],
        }),
        ..Default::default()
    });
    r.allocation_info = Some(resource::AllocationInfo {
        role: Some("pacer".into()),
    });
    r
}

/// A persistent volume of 64 MB at `data`, as CREATE makes it and DESTROY names it.
pub fn volume() -> Resource {
    let mut r = reserved(scalar("disk", 64.0));
    r.disk = Some(resource::DiskInfo {
        persistence: Some(resource::disk_info::Persistence {
            id: "db#data#5e0ad3a2-7e0f-11ef-9a2c-0242ac110002".into(),
            principal: Some("pacer".into()),
        }),
        volume: Some(mesos::v1::Volume {
            container_path: "data".into(),
            mode: mesos::v1::volume::Mode::Rw as i32,
            ..Default::default()
        }),
        source: None,
    });
    r
}

/// RESERVE then CREATE (`make`), or DESTROY then UNRESERVE, of one resident instance.
fn resident_operations(make: bool) -> Vec<offer::Operation> {
    use offer::operation::{Create, Destroy, Reserve, Type, Unreserve};
    let reservation = vec![
        reserved(scalar("cpus", 0.5)),
        reserved(scalar("mem", 64.0)),
        reserved(scalar("disk", 74.0)),
        reserved(ports(&[(31007, 31007)])),
    ];
    let op = |ty: Type| offer::Operation {
        r#type: Some(ty as i32),
        ..Default::default()
    };
    if make {
        vec![
            offer::Operation {
                reserve: Some(Reserve {
                    resources: reservation,
                    source: vec![],
                }),
                ..op(Type::Reserve)
            },
            offer::Operation {
                create: Some(Create {
                    volumes: vec![volume()],
                }),
                ..op(Type::Create)
            },
        ]
    } else {
        vec![
            offer::Operation {
                destroy: Some(Destroy {
                    volumes: vec![volume()],
                }),
                ..op(Type::Destroy)
            },
            offer::Operation {
                unreserve: Some(Unreserve { resources: reservation }),
                ..op(Type::Unreserve)
            },
        ]
    }
}

/// A status update's uuid: 16 raw bytes, some of them not UTF-8.
pub fn uuid() -> Vec<u8> {
    vec![
        0x3c, 0xe4, 0x42, 0x99, 0x91, 0xdd, 0x44, 0x36, 0x87, 0x69, 0xff, 0x90, 0x85, 0xd0, 0x1d, 0x41,
    ]
}

fn event(ty: event::Type, build: impl FnOnce(&mut Event)) -> Event {
    let mut e = Event {
        r#type: Some(ty as i32),
        ..Default::default()
    };
    build(&mut e);
    e
}

pub fn offer() -> Offer {
    Offer {
        id: OfferId { value: OFFER.into() },
        framework_id: framework_id(),
        agent_id: agent_id(),
        hostname: "agent-1.example.org".into(),
        url: Some(Url {
            scheme: "http".into(),
            address: Address {
                hostname: Some("agent-1.example.org".into()),
                ip: Some("10.0.0.7".into()),
                port: 5051,
            },
            path: Some("/slave(1)".into()),
            ..Default::default()
        }),
        resources: vec![
            ports(&[(31000, 31006), (31008, 32000)]),
            scalar("cpus", 7.75),
            scalar("mem", 15_872.0),
            scalar("disk", 1_000_000.0),
            // A resident instance's reservation and volume, offered back.
            reserved(scalar("cpus", 0.5)),
            reserved(scalar("disk", 10.0)),
            volume(),
        ],
        allocation_info: Some(resource::AllocationInfo { role: Some("*".into()) }),
        ..Default::default()
    }
}

pub fn running_status() -> TaskStatus {
    TaskStatus {
        task_id: task_id(TASK),
        state: TaskState::TaskRunning as i32,
        message: Some("Command started".into()),
        agent_id: Some(agent_id()),
        timestamp: Some(1_795_444_192.648_41),
        executor_id: Some(ExecutorId { value: TASK.into() }),
        healthy: Some(true),
        source: Some(task_status::Source::Executor as i32),
        reason: Some(task_status::Reason::TaskHealthCheckStatusUpdated as i32),
        uuid: Some(uuid()),
        container_status: Some(ContainerStatus {
            network_infos: vec![NetworkInfo {
                ip_addresses: vec![network_info::IpAddress {
                    ip_address: Some("127.0.0.1".into()),
                    ..Default::default()
                }],
                ..Default::default()
            }],
            executor_pid: Some(193_770),
            container_id: Some(ContainerId {
                value: "f0e1d2c3-b4a5-9687-7869-5a4b3c2d1e0f".into(),
                parent: None,
            }),
        }),
        ..Default::default()
    }
}

/// Every Event the local master streams (and a real master may), named for test failures.
pub fn events() -> Vec<(&'static str, Event)> {
    vec![
        (
            "SUBSCRIBED",
            event(event::Type::Subscribed, |e| {
                e.subscribed = Some(event::Subscribed {
                    framework_id: framework_id(),
                    heartbeat_interval_seconds: Some(15.0),
                    master_info: Some(MasterInfo {
                        id: "6e33a868-55d7-4067-8cc3-90015e6f305f".into(),
                        ip: 16_777_343,
                        port: 5050,
                        pid: Some("master@127.0.0.1:5050".into()),
                        hostname: Some("127.0.0.1".into()),
                        version: Some("1.12.0".into()),
                        address: Some(Address {
                            hostname: Some("127.0.0.1".into()),
                            ip: Some("127.0.0.1".into()),
                            port: 5050,
                        }),
                        capabilities: vec![master_info::Capability {
                            r#type: Some(master_info::capability::Type::AgentUpdate as i32),
                        }],
                        ..Default::default()
                    }),
                })
            }),
        ),
        (
            "OFFERS",
            event(event::Type::Offers, |e| {
                e.offers = Some(event::Offers {
                    offers: vec![offer(), offer()],
                })
            }),
        ),
        (
            "UPDATE",
            event(event::Type::Update, |e| {
                e.update = Some(event::Update {
                    status: running_status(),
                })
            }),
        ),
        (
            "UPDATE (reconciliation, TASK_UNKNOWN)",
            event(event::Type::Update, |e| {
                e.update = Some(event::Update {
                    status: TaskStatus {
                        task_id: task_id("unknown.1"),
                        state: TaskState::TaskUnknown as i32,
                        message: Some("Reconciliation: Task is unknown".into()),
                        timestamp: Some(1_795_444_200.0),
                        source: Some(task_status::Source::Master as i32),
                        reason: Some(task_status::Reason::Reconciliation as i32),
                        ..Default::default()
                    },
                })
            }),
        ),
        (
            "RESCIND",
            event(event::Type::Rescind, |e| {
                e.rescind = Some(event::Rescind {
                    offer_id: OfferId { value: OFFER.into() },
                })
            }),
        ),
        (
            "FAILURE",
            event(event::Type::Failure, |e| {
                e.failure = Some(event::Failure {
                    agent_id: Some(agent_id()),
                    executor_id: Some(ExecutorId { value: TASK.into() }),
                    status: Some(137),
                })
            }),
        ),
        (
            "ERROR",
            event(event::Type::Error, |e| {
                e.error = Some(event::Error {
                    message: "Framework failed over".into(),
                })
            }),
        ),
        ("HEARTBEAT", event(event::Type::Heartbeat, |_| {})),
    ]
}
