//! Marathon's response shapes built from Pacer's records: AppInfo (an app with its counts,
//! tasks, deployments and last failure), Task, and deployments.

use std::net::IpAddr;
use std::sync::Arc;

use schemas::{
    AppDefinition, Deployment, HealthSpec, HealthVerdict, Instance, PathId, TaskRecord, TaskState, Timestamp,
};
use serde::Serialize;
use serde_json::{Map, Value, json};

use crate::desired::service_ports;
use crate::json::Params;

/// Which optional parts of an AppInfo to include (`embed=app.tasks` etc.).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Embed {
    pub tasks: bool,
    pub counts: bool,
    pub deployments: bool,
    pub readiness: bool,
    pub last_task_failure: bool,
    pub task_stats: bool,
    /// Pacer's GitOps status (`generation`, `observedGeneration`, `conditions`): only when
    /// asked for, since Marathon's clients refuse fields they do not know.
    pub status: bool,
}

impl Embed {
    /// Reads repeated `embed=` values; `apps.`, `app.` and `group.apps.` prefixes are all
    /// accepted because Marathon's clients mix them up (marathon-python sends `app.tasks` to
    /// `/v2/apps`).
    pub(crate) fn from_params(params: &Params) -> Embed {
        let mut e = Embed::default();
        for raw in params.all("embed") {
            let name = ["group.apps.", "apps.", "app."]
                .iter()
                .find_map(|p| raw.strip_prefix(p))
                .unwrap_or(raw);
            match name {
                "tasks" => e.tasks = true,
                "counts" => e.counts = true,
                "deployments" => e.deployments = true,
                "readiness" => e.readiness = true,
                "lastTaskFailure" => e.last_task_failure = true,
                "taskStats" => e.task_stats = true,
                "status" => e.status = true,
                // Deprecated shorthand kept by Marathon for old clients.
                "failures" => {
                    e.tasks = true;
                    e.last_task_failure = true;
                    e.counts = true;
                    e.deployments = true;
                }
                _ => {}
            }
        }
        e
    }
}

/// Task counts as Marathon defines them; health counts only tasks whose checks reported.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Counts {
    pub staged: usize,
    pub running: usize,
    pub healthy: usize,
    pub unhealthy: usize,
}

impl Counts {
    pub(crate) fn of<'a>(tasks: impl Iterator<Item = &'a TaskRecord>, spec: &HealthSpec) -> Counts {
        let mut c = Counts::default();
        for t in tasks {
            match t.state {
                TaskState::TASK_PROVISIONED | TaskState::TASK_STAGING | TaskState::TASK_STARTING => c.staged += 1,
                TaskState::TASK_RUNNING => c.running += 1,
                _ => {}
            }
            match t.health_verdict(spec) {
                HealthVerdict::Healthy => c.healthy += 1,
                HealthVerdict::Unhealthy => c.unhealthy += 1,
                HealthVerdict::Unknown => {}
            }
        }
        c
    }

    fn json(&self) -> Value {
        json!({"staged": self.staged, "running": self.running, "healthy": self.healthy, "unhealthy": self.unhealthy})
    }
}

/// What rendering needs to know about this server.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Env<'a> {
    /// This machine's hostname: tasks on it are reachable at 127.0.0.1.
    pub hostname: &'a str,
    pub now: Timestamp,
}

/// Marathon's Task JSON for the current task of `inst`.
pub(crate) fn task(inst: &Instance, task: &TaskRecord, app: Option<&AppDefinition>, env: Env<'_>) -> Value {
    let mut t = json!({
        "id": task.task_id,
        "appId": inst.app_id,
        "host": task.host,
        "ipAddresses": ip_addresses(&task.host, env.hostname),
        "ports": task.ports,
        "servicePorts": app.map(service_ports).unwrap_or_default(),
        "slaveId": task.agent_id,
        "state": task.state.as_str(),
        "stagedAt": task.staged_at,
        "version": inst.run_spec_version,
        "healthCheckResults": health_check_results(inst, task),
        "localVolumes": local_volumes(inst),
        "role": app.and_then(|a| a.role.clone()).unwrap_or_else(|| "*".into()),
    });
    if let Some(started) = task.started_at {
        t["startedAt"] = json!(started);
    }
    t
}

/// Marathon's `localVolumes` of a resident instance's task: the persistent volumes it runs
/// with, by container path and persistence id.
fn local_volumes(inst: &Instance) -> Vec<Value> {
    inst.reservation
        .iter()
        .flat_map(|r| &r.volumes)
        .map(|v| json!({"containerPath": v.container_path, "persistenceId": v.persistence_id}))
        .collect()
}

/// Marathon's `healthCheckResults` of a running task: one per check Pacer ran, and one for
/// the agent-run check once the agent reported it.
fn health_check_results(inst: &Instance, task: &TaskRecord) -> Vec<Value> {
    // Health describes a running task; a task that ended has none, whatever it last had.
    if task.state != TaskState::TASK_RUNNING {
        return vec![];
    }
    let h = &task.health;
    let mut out: Vec<Value> = h
        .checks
        .iter()
        .map(|r| {
            json!({
                "alive": r.alive,
                "consecutiveFailures": r.consecutive_failures,
                "firstSuccess": r.first_success,
                "lastSuccess": r.last_success,
                "lastFailure": r.last_failure,
                "lastFailureCause": r.last_failure_cause,
                "instanceId": inst.instance_id,
            })
        })
        .collect();
    if let Some(alive) = h.agent {
        out.push(json!({
            "alive": alive,
            "consecutiveFailures": u32::from(!alive),
            "firstSuccess": null,
            "lastSuccess": null,
            "lastFailure": null,
            "lastFailureCause": if alive { None } else { task.message.as_deref() },
            "instanceId": inst.instance_id,
        }));
    }
    out
}

/// Marathon's `readinessCheckResults` of the given instances' running tasks.
pub(crate) fn readiness_check_results<'a>(instances: impl Iterator<Item = &'a Instance>) -> Vec<Value> {
    instances
        .filter_map(|i| i.task.as_ref().filter(|t| t.state == TaskState::TASK_RUNNING))
        .flat_map(|t| {
            t.health.readiness.iter().map(
                |r| json!({"name": r.name, "taskId": t.task_id, "ready": r.ready, "lastResponse": r.last_response}),
            )
        })
        .collect()
}

/// The addresses a task can be reached at. Only an address Pacer knows without a DNS lookup
/// is given: a literal IP as host, or loopback for this machine's own agents.
pub(crate) fn ip_addresses(host: &str, local_hostname: &str) -> Vec<Value> {
    let ip = match host.parse::<IpAddr>() {
        Ok(ip) => ip,
        Err(_) if host == "localhost" || host == local_hostname => IpAddr::from([127, 0, 0, 1]),
        Err(_) => return vec![],
    };
    let protocol = if ip.is_ipv4() { "IPv4" } else { "IPv6" };
    vec![json!({"ipAddress": ip.to_string(), "protocol": protocol})]
}

/// Every task of `instances` (instances that have one) as Task JSON.
pub(crate) fn tasks(instances: &[Arc<Instance>], app: Option<&AppDefinition>, env: Env<'_>) -> Vec<Value> {
    instances
        .iter()
        .filter_map(|i| i.task.as_ref().map(|t| task(i, t, app, env)))
        .collect()
}

/// The inputs of one AppInfo.
#[derive(Clone, Copy)]
pub(crate) struct AppParts<'a> {
    pub app: &'a AppDefinition,
    pub instances: &'a [Arc<Instance>],
    pub deployments: &'a [String],
    /// Generation and conditions (`crate::status`), where the caller derived them.
    pub status: Option<&'a crate::status::AppStatus>,
}

/// Marathon's AppInfo: the canonical definition plus what `embed` asks for. Serialised
/// straight from the definition (no intermediate JSON tree): `GET /v2/apps` renders thousands.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct AppInfo<'a> {
    #[serde(flatten)]
    app: &'a AppDefinition,
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    counts: Option<TaskCounts>,
    #[serde(skip_serializing_if = "Option::is_none")]
    deployments: Option<Vec<DeploymentRef<'a>>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    readiness_check_results: Option<Vec<Value>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tasks: Option<Vec<Value>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    last_task_failure: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    task_stats: Option<Value>,
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    status: Option<&'a crate::status::AppStatus>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct TaskCounts {
    tasks_staged: usize,
    tasks_running: usize,
    tasks_healthy: usize,
    tasks_unhealthy: usize,
}

#[derive(Serialize)]
pub(crate) struct DeploymentRef<'a> {
    id: &'a str,
}

pub(crate) fn app_info<'a>(parts: &AppParts<'a>, embed: Embed, env: Env<'_>) -> AppInfo<'a> {
    let tasks = || parts.instances.iter().filter_map(|i| i.task.as_ref());
    AppInfo {
        app: parts.app,
        counts: embed.counts.then(|| {
            let c = Counts::of(tasks(), &HealthSpec::of(parts.app));
            TaskCounts {
                tasks_staged: c.staged,
                tasks_running: c.running,
                tasks_healthy: c.healthy,
                tasks_unhealthy: c.unhealthy,
            }
        }),
        deployments: embed
            .deployments
            .then(|| parts.deployments.iter().map(|id| DeploymentRef { id }).collect()),
        readiness_check_results: embed
            .readiness
            .then(|| readiness_check_results(parts.instances.iter().map(|i| i.as_ref()))),
        tasks: embed.tasks.then(|| self::tasks(parts.instances, Some(parts.app), env)),
        last_task_failure: if embed.last_task_failure {
            last_task_failure(parts.instances)
        } else {
            None
        },
        task_stats: embed
            .task_stats
            .then(|| task_stats(parts.app, parts.instances, env.now)),
        status: parts.status.filter(|_| embed.status),
    }
}

/// The most recent failed task of any instance: its current task, or the last one that
/// failed before a relaunch (failures of instances already expunged are not known). A task
/// killed for failing its health checks counts as failed.
pub(crate) fn last_task_failure(instances: &[Arc<Instance>]) -> Option<Value> {
    let (inst, t) = instances
        .iter()
        .flat_map(|i| i.task.iter().chain(i.last_failure.as_ref()).map(move |t| (i, t)))
        .filter(|(_, t)| t.state.is_task_failure() || t.health.killed_unhealthy.is_some())
        .max_by_key(|(_, t)| t.updated_at)?;
    Some(json!({
        "appId": inst.app_id,
        "host": t.host,
        "message": t.health.killed_unhealthy.clone().or_else(|| t.message.clone()).unwrap_or_default(),
        "state": t.state.as_str(),
        "taskId": t.task_id,
        "timestamp": t.updated_at,
        "version": inst.run_spec_version,
        "slaveId": t.agent_id,
    }))
}

/// Marathon's `taskStats`: counts and lifetimes of the app's tasks by how they relate to
/// the latest scaling and config change. Empty categories are left out, as Marathon does.
fn task_stats(app: &AppDefinition, instances: &[Arc<Instance>], now: Timestamp) -> Value {
    let with_task: Vec<(&Instance, &TaskRecord)> = instances
        .iter()
        .filter_map(|i| i.task.as_ref().map(|t| (i.as_ref(), t)))
        .collect();
    let config = app.config_version();
    let scaled = app.version_info.map(|v| v.last_scaling_at).unwrap_or(config);
    let mut out = Map::new();
    type Pick<'a> = Box<dyn Fn(&Instance, &TaskRecord) -> bool + 'a>;
    let categories: [(&str, Pick<'_>); 4] = [
        ("startedAfterLastScaling", Box::new(move |_, t| t.staged_at >= scaled)),
        ("withLatestConfig", Box::new(move |i, _| i.runs_config_of(app))),
        ("withOutdatedConfig", Box::new(move |i, _| !i.runs_config_of(app))),
        ("totalSummary", Box::new(|_, _| true)),
    ];
    for (name, pick) in categories {
        let picked: Vec<&TaskRecord> = with_task.iter().filter(|(i, t)| pick(i, t)).map(|(_, t)| *t).collect();
        if picked.is_empty() {
            continue;
        }
        let spec = HealthSpec::of(app);
        let mut stats = json!({"counts": Counts::of(picked.iter().copied(), &spec).json()});
        let mut lives: Vec<f64> = picked
            .iter()
            .filter(|t| !t.state.is_terminal())
            .filter_map(|t| t.started_at)
            .map(|s| (now.millis() - s.millis()).max(0) as f64 / 1000.0)
            .collect();
        if !lives.is_empty() {
            lives.sort_by(f64::total_cmp);
            let avg = lives.iter().sum::<f64>() / lives.len() as f64;
            let mid = lives.len() / 2;
            let median = if lives.len().is_multiple_of(2) {
                (lives[mid - 1] + lives[mid]) / 2.0
            } else {
                lives[mid]
            };
            stats["lifeTime"] = json!({"averageSeconds": avg, "medianSeconds": median});
        }
        out.insert(name.into(), json!({"stats": stats}));
    }
    Value::Object(out)
}

/// A deployment as `GET /v2/deployments` lists it (`currentStep` is 1-based), with the
/// readiness results of each current action's app from `readiness`.
pub(crate) fn deployment(d: &Deployment, readiness: impl Fn(&PathId) -> Vec<Value>) -> Value {
    let total = d.steps.len();
    let current = d.steps.get(d.current_step);
    let current_actions: Vec<Value> = current
        .map(|s| {
            s.actions
                .iter()
                .map(|a| {
                    let mut v = json!(a);
                    v["readinessCheckResults"] = json!(readiness(&a.app));
                    v
                })
                .collect()
        })
        .unwrap_or_default();
    json!({
        "id": d.id,
        "version": d.version,
        "affectedApps": d.affected_apps,
        "affectedPods": d.affected_pods,
        "steps": d.steps,
        "currentActions": current_actions,
        "currentStep": if total == 0 { 0 } else { (d.current_step + 1).min(total) },
        "totalSteps": total,
    })
}

/// The body of every response that started a deployment.
pub(crate) fn deployment_result(id: &str, version: Timestamp) -> Value {
    json!({"deploymentId": id, "version": version})
}

impl<'a> Env<'a> {
    pub(crate) fn new(config: &'a crate::ApiConfig) -> Self {
        Env {
            hostname: &config.hostname,
            now: Timestamp::now(),
        }
    }
}

/// A deployment's response: its body, the `Marathon-Deployment-Id` header, and `Location`
/// of a created app.
pub(crate) fn deployment_response(
    status: axum::http::StatusCode,
    outcome: &crate::desired::Outcome,
    created: Option<&schemas::PathId>,
) -> axum::response::Response {
    let body = deployment_result(&outcome.deployment_id, outcome.version);
    with_deployment_headers(status, body, outcome, created)
}

/// `body` with the headers of a response that started a deployment.
pub(crate) fn with_deployment_headers(
    status: axum::http::StatusCode,
    body: impl Serialize,
    outcome: &crate::desired::Outcome,
    created: Option<&schemas::PathId>,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let mut res = (status, axum::Json(body)).into_response();
    let headers = res.headers_mut();
    if let Ok(v) = axum::http::HeaderValue::from_str(&outcome.deployment_id) {
        headers.insert("marathon-deployment-id", v);
    }
    if let Some(v) = created.and_then(|id| axum::http::HeaderValue::from_str(id.as_str()).ok()) {
        headers.insert(axum::http::header::LOCATION, v);
    }
    res
}
