//! The checks Pacer runs itself: Marathon's `HTTP`, `HTTPS` and `TCP` health checks and the
//! HTTP readiness checks (agent-run checks report through status updates instead).
//!
//! A supervisor follows the store and keeps one probe loop per (running task, check). Each
//! loop reads the task's last recorded result, probes, applies Marathon's rules (`tracker`)
//! and records what changed (`record`), so results outlive this process and a new leader
//! continues from them. A task failing too often is marked for killing; the app reconciler
//! kills it and relaunches the instance.

mod probe;
mod record;
mod tracker;

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Duration;

use schemas::{AppDefinition, CheckRunner, Goal, HealthCheck, Instance, PathId, ReadinessCheck, Record, TaskState};
use store::{State, keys};
use tokio::sync::{Semaphore, broadcast};
use tokio::task::AbortHandle;
use tokio_util::sync::CancellationToken;

use crate::context::Context;
use tracker::Outcome;

/// Probes in flight at once across all tasks (Marathon's --max_concurrent_marathon_health_checks).
const CONCURRENT_PROBES: usize = 256;

/// One probe loop: which task, which check.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct ProbeKey {
    task_id: String,
    kind: Kind,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Kind {
    /// Index into the app's `healthChecks`.
    Health(usize),
    /// Index into the app's `readinessChecks`.
    Readiness(usize),
}

/// Everything a probe loop needs, fixed for the life of the task.
#[derive(Clone, Debug)]
struct Probe {
    instance_key: String,
    task_id: String,
    host: String,
    port: Option<u32>,
    started_at: schemas::Timestamp,
    app: Arc<AppDefinition>,
    kind: Kind,
}

/// Runs the checks until `cancel` fires.
pub(crate) async fn run(ctx: Arc<Context>, cancel: CancellationToken) {
    let mut sup = Supervisor {
        ctx: ctx.clone(),
        client: probe::client(),
        limit: Arc::new(Semaphore::new(CONCURRENT_PROBES)),
        running: HashMap::new(),
    };
    loop {
        let mut changes = ctx.store.subscribe();
        let all: BTreeSet<PathId> = ctx.store.read(|s| {
            s.scan(keys::INSTANCES)
                .filter_map(|(k, _)| keys::app_of_key(k))
                .chain(sup.running.keys().cloned())
                .collect()
        });
        for app in all {
            sup.sync(&app);
        }
        loop {
            let change = tokio::select! {
                c = changes.recv() => c,
                () = cancel.cancelled() => return sup.stop_all(),
            };
            match change {
                Ok(change) => {
                    let apps: BTreeSet<PathId> = change
                        .ops
                        .iter()
                        .filter(|op| !op.key().starts_with(keys::APP_VERSIONS))
                        .filter_map(|op| keys::app_of_key(op.key()))
                        .collect();
                    for app in apps {
                        sup.sync(&app);
                    }
                }
                Err(broadcast::error::RecvError::Lagged(_)) => break,
                Err(broadcast::error::RecvError::Closed) => return sup.stop_all(),
            }
        }
    }
}

struct Supervisor {
    ctx: Arc<Context>,
    client: reqwest::Client,
    limit: Arc<Semaphore>,
    running: HashMap<PathId, HashMap<ProbeKey, AbortHandle>>,
}

impl Supervisor {
    /// Starts the loops `app` now needs and stops the ones it no longer does.
    fn sync(&mut self, app: &PathId) {
        let wanted = self.ctx.store.read(|s| wanted(s, app, &self.ctx.config.hostname));
        let running = self.running.entry(app.clone()).or_default();
        running.retain(|key, handle| {
            let keep = wanted.contains_key(key);
            if !keep {
                handle.abort();
            }
            keep
        });
        for (key, probe) in wanted {
            running.entry(key).or_insert_with(|| {
                let ctx = self.ctx.clone();
                let client = self.client.clone();
                let limit = self.limit.clone();
                tokio::spawn(probe_loop(ctx, client, limit, probe)).abort_handle()
            });
        }
        if running.is_empty() {
            self.running.remove(app);
        }
    }

    fn stop_all(&mut self) {
        for (_, loops) in self.running.drain() {
            loops.values().for_each(AbortHandle::abort);
        }
    }
}

/// The probe loops app `id` needs: one per scheduler-run health check of every running task
/// nobody is killing, and one per readiness check that has not yet reported ready.
fn wanted(state: &State, id: &PathId, local_host: &str) -> HashMap<ProbeKey, Probe> {
    let mut out = HashMap::new();
    let Some(current) = state.app(id) else {
        return out;
    };
    for (key, e) in state.scan(&keys::instances_of(id)) {
        let Record::Instance(i) = &e.record else { continue };
        let Some(task) = i.task.as_ref().filter(|t| t.state == TaskState::TASK_RUNNING) else {
            continue;
        };
        if i.goal != Goal::Running || i.kill_requested {
            continue;
        }
        let app = spec_of(state, current, i);
        let host = if task.host == local_host {
            "127.0.0.1"
        } else {
            task.host.as_str()
        };
        let probe = |kind, port| Probe {
            instance_key: key.to_string(),
            task_id: task.task_id.clone(),
            host: host.to_string(),
            port,
            started_at: task.started_at.unwrap_or(task.staged_at),
            app: app.clone(),
            kind,
        };
        for (n, check) in app.health_checks.iter().enumerate() {
            if check.runner() == CheckRunner::Scheduler {
                let port = check
                    .port
                    .or_else(|| task.ports.get(check.port_index.unwrap_or(0) as usize).copied());
                let kind = Kind::Health(n);
                out.insert(key_of(&task.task_id, kind), probe(kind, port));
            }
        }
        for (n, check) in app.readiness_checks.iter().enumerate() {
            let ready = task.health.readiness.iter().any(|r| r.name == check.name && r.ready);
            if !ready {
                let port = app
                    .port_names()
                    .iter()
                    .position(|p| *p == Some(check.port_name.as_str()))
                    .and_then(|idx| task.ports.get(idx).copied());
                let kind = Kind::Readiness(n);
                out.insert(key_of(&task.task_id, kind), probe(kind, port));
            }
        }
    }
    out
}

fn key_of(task_id: &str, kind: Kind) -> ProbeKey {
    ProbeKey {
        task_id: task_id.to_string(),
        kind,
    }
}

/// The definition an instance runs: its stored version when older than the current config.
fn spec_of(state: &State, current: &Arc<AppDefinition>, i: &Instance) -> Arc<AppDefinition> {
    if i.runs_config_of(current) {
        return current.clone();
    }
    match state
        .get(&keys::app_version(&i.app_id, i.run_spec_version))
        .map(|e| &e.record)
    {
        Some(Record::AppVersion(v)) => v.clone(),
        _ => current.clone(),
    }
}

async fn probe_loop(ctx: Arc<Context>, client: reqwest::Client, limit: Arc<Semaphore>, p: Probe) {
    match p.kind {
        Kind::Health(n) => {
            let check = &p.app.health_checks[n];
            let interval = Duration::from_secs(check.interval_seconds.max(1).into());
            loop {
                let outcome = {
                    let _permit = limit.acquire().await;
                    probe_health(&client, &p, check).await
                };
                if let Err(e) = record::health(&ctx, &p, check, n, outcome).await {
                    tracing::warn!(task_id = %p.task_id, error = %e, "cannot record a health check result");
                }
                tokio::time::sleep(interval).await;
            }
        }
        Kind::Readiness(n) => {
            let check = &p.app.readiness_checks[n];
            let interval = Duration::from_secs(check.interval_seconds.max(1).into());
            loop {
                let result = {
                    let _permit = limit.acquire().await;
                    probe_readiness(&client, &p, check).await
                };
                let ready = result.ready;
                if let Err(e) = record::readiness(&ctx, &p, result).await {
                    tracing::warn!(task_id = %p.task_id, error = %e, "cannot record a readiness check result");
                } else if ready {
                    return;
                }
                tokio::time::sleep(interval).await;
            }
        }
    }
}

async fn probe_health(client: &reqwest::Client, p: &Probe, check: &HealthCheck) -> Outcome {
    let Some(port) = p.port else {
        return Outcome::Unhealthy(format!("the task has no port for {} check", check.protocol));
    };
    let timeout = Duration::from_secs(check.timeout_seconds.max(1).into());
    let path = check.path.as_deref().unwrap_or("/");
    match check.protocol.as_str() {
        "TCP" => probe::tcp(&format!("{}:{port}", p.host), timeout).await,
        "HTTPS" => {
            probe::http(
                client,
                &format!("https://{}:{port}{path}", p.host),
                timeout,
                check.ignore_http1xx,
            )
            .await
        }
        _ => {
            probe::http(
                client,
                &format!("http://{}:{port}{path}", p.host),
                timeout,
                check.ignore_http1xx,
            )
            .await
        }
    }
}

async fn probe_readiness(client: &reqwest::Client, p: &Probe, check: &ReadinessCheck) -> schemas::ReadinessResult {
    let Some(port) = p.port else {
        return schemas::ReadinessResult {
            name: check.name.clone(),
            ready: false,
            last_response: None,
        };
    };
    let scheme = if check.protocol == "HTTPS" { "https" } else { "http" };
    let url = format!("{scheme}://{}:{port}{}", p.host, check.path);
    probe::readiness(client, &url, check).await
}
