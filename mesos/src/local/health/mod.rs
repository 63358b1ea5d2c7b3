//! Mesos health checks (`TaskInfo.health_check`) of running tasks, as Mesos's command
//! executor runs them.
//!
//! Once a task is RUNNING, a checker waits `delay_seconds`, then probes it (a command in its
//! sandbox, an HTTP(S) GET or a TCP connect to the loopback) with each probe bounded by
//! `timeout_seconds` and `interval_seconds` between the end of one and the start of the next.
//! [`policy`] turns results into health: a TASK_RUNNING update carrying `healthy` (reason
//! REASON_TASK_HEALTH_CHECK_STATUS_UPDATED) on the first counted result and on every change
//! (Mesos also repeats unhealthy updates on each failure; only changes are sent here), and
//! after `consecutive_failures` counted failures the task is killed through the agent's usual
//! kill path; its TASK_KILLED then carries `healthy=false`. Checking stops as soon as the task
//! is being killed or has ended, and resumes for tasks re-adopted after an agent restart.
//!
//! Checkers are tokio tasks reporting to the master's loop, which owns every decision; a
//! check the agent cannot run is logged and the task runs unchecked.

mod policy;
mod probe;
mod spec;

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::v1::framework_info::capability::Type as Capability;
use crate::v1::{TaskState, TaskStatus};

use super::executor;
use super::master::Master;
use super::status::{Reason, Source, now_seconds};
use super::tasks::TaskKey;
use policy::{Outcome, Policy};
use probe::Probe;
use spec::Target;

/// A checker's news for the master: the task's health changed, or it must be killed.
pub(crate) struct Report {
    key: TaskKey,
    /// Which checker of the task sent it (a stopped one's last words are ignored).
    id: u64,
    outcome: Outcome,
    /// Why the latest check failed, if it did.
    failure: Option<String>,
}

/// The running checkers, and the tasks they killed.
pub(crate) struct Checks {
    running: HashMap<TaskKey, (u64, JoinHandle<()>)>,
    /// Why health checking killed a task, for its terminal update.
    killed: HashMap<TaskKey, String>,
    next_id: u64,
    tx: mpsc::UnboundedSender<Report>,
    pub rx: mpsc::UnboundedReceiver<Report>,
    http: Option<reqwest::Client>,
}

impl Checks {
    pub(crate) fn new() -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        Self {
            running: HashMap::new(),
            killed: HashMap::new(),
            next_id: 0,
            tx,
            rx,
            http: None,
        }
    }

    /// Stops checking the task (a probe in flight is dropped, killing its command).
    pub(crate) fn stop(&mut self, key: &TaskKey) {
        if let Some((_, checker)) = self.running.remove(key) {
            checker.abort();
        }
    }

    /// The task ended: no more checks. Returns why health checking killed it, if it did.
    pub(crate) fn finish(&mut self, key: &TaskKey) -> Option<String> {
        self.stop(key);
        self.killed.remove(key)
    }

    fn http_client(&mut self) -> Result<reqwest::Client, String> {
        if let Some(client) = &self.http {
            return Ok(client.clone());
        }
        let client = probe::http_client()?;
        self.http = Some(client.clone());
        Ok(client)
    }
}

impl Drop for Checks {
    fn drop(&mut self) {
        for (_, checker) in self.running.values() {
            checker.abort();
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Timing {
    delay: Duration,
    interval: Duration,
    timeout: Duration,
}

/// Probes until the master is gone or the policy asks for a kill, reporting what it must hear.
async fn run<F, Fut>(
    key: TaskKey,
    id: u64,
    timing: Timing,
    mut policy: Policy,
    launched: Instant,
    mut probe: F,
    tx: mpsc::UnboundedSender<Report>,
) where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<(), String>>,
{
    tokio::time::sleep_until(launched + timing.delay).await;
    loop {
        let result = match tokio::time::timeout(timing.timeout, probe()).await {
            Ok(result) => result,
            Err(_) => Err(format!("Health check timed out after {:?}", timing.timeout)),
        };
        let outcome = policy.observe(result.is_ok(), launched.elapsed());
        if outcome != Outcome::default() {
            let report = Report {
                key: key.clone(),
                id,
                outcome,
                failure: result.err(),
            };
            if tx.send(report).is_err() || outcome.kill.is_some() {
                return;
            }
        }
        tokio::time::sleep(timing.interval).await;
    }
}

/// How long ago a status was generated (0 if its clock is ahead of ours).
fn age(status: &TaskStatus) -> Duration {
    let seconds = status.timestamp.map_or(0.0, |t| now_seconds() - t);
    Duration::try_from_secs_f64(seconds).unwrap_or(Duration::ZERO)
}

impl Master {
    /// Starts health checking a task that just became RUNNING, or that a restarted agent
    /// re-adopted (then the grace period and the delay run from its latest status, and the
    /// health it last reported is kept).
    pub(super) fn start_health_checks(&mut self, key: &TaskKey) {
        let Some(task) = self.tasks.get(key) else { return };
        let Some(check) = &task.info.health_check else { return };
        if task.latest.state() != TaskState::TaskRunning {
            return;
        }
        let spec = match spec::parse(check) {
            Ok(spec) => spec,
            Err(why) => {
                tracing::warn!(task_id = %key.task_id, %why, "cannot run the task's health check; not checking it");
                return;
            }
        };
        let probe = match spec.target {
            Target::Command(command) => {
                let Some(job) = self.launch_job(key) else { return };
                let mut env: BTreeMap<String, String> =
                    executor::task_env(&job, task.info.command.as_ref().unwrap_or(&Default::default()));
                for var in command.environment.iter().flat_map(|e| &e.variables) {
                    env.insert(var.name.clone(), var.value().to_owned());
                }
                Probe::Command {
                    command,
                    env,
                    cwd: job.sandbox,
                }
            }
            Target::Http { url, statuses } => match self.health.http_client() {
                Ok(client) => Probe::Http { client, url, statuses },
                Err(why) => {
                    tracing::warn!(task_id = %key.task_id, %why, "cannot run the task's health check; not checking it");
                    return;
                }
            },
            Target::Tcp(addr) => Probe::Tcp(addr),
        };
        let now = Instant::now();
        let launched = now.checked_sub(age(&task.latest)).unwrap_or(now);
        let policy = Policy::new(spec.grace, spec.max_failures, task.latest.healthy);
        let timing = Timing {
            delay: spec.delay,
            interval: spec.interval,
            timeout: spec.timeout,
        };
        let checks = &mut self.health;
        checks.stop(key);
        checks.next_id += 1;
        let id = checks.next_id;
        let probe = Arc::new(probe);
        let probe = move || {
            let probe = Arc::clone(&probe);
            async move { probe.run().await }
        };
        let checker = tokio::spawn(run(key.clone(), id, timing, policy, launched, probe, checks.tx.clone()));
        checks.running.insert(key.clone(), (id, checker));
    }

    /// A checker's report: tell the framework of the new health, or kill the task.
    pub(super) fn on_health(&mut self, report: Report) {
        let key = &report.key;
        if self.health.running.get(key).is_none_or(|(id, _)| *id != report.id) {
            return;
        }
        let Some(task) = self.tasks.get(key) else {
            self.health.stop(key);
            return;
        };
        if task.ended || task.kill_requested {
            self.health.stop(key);
            return;
        }
        if let Some(healthy) = report.outcome.report {
            let mut update = task.origin(&self.agents[task.agent]).update(
                TaskState::TaskRunning,
                Source::Executor,
                Some(Reason::TaskHealthCheckStatusUpdated),
                report.failure.clone().filter(|_| !healthy),
            );
            update.healthy = Some(healthy);
            self.push_update(key, update);
        }
        if let Some(failures) = report.outcome.kill {
            tracing::info!(task_id = %key.task_id, failures, "health check failed; killing the task");
            self.health.stop(key);
            let why = format!("Health check failed {failures} times consecutively");
            self.health.killed.insert(key.clone(), why);
            let killing_state = self
                .frameworks
                .get(&key.framework_id)
                .is_some_and(|f| f.has(Capability::TaskKillingState));
            self.kill_task(key, None, killing_state);
        }
    }
}

#[cfg(test)]
mod tests;
