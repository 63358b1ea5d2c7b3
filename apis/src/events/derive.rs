//! Turns the store's change sets into Marathon events. A shadow of what the events depend on
//! (each instance's task id and state, each deployment, the apps, the subscriptions) tells
//! what a put actually changed and lets deleted deployments be rendered.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::Arc;

use schemas::{AppDefinition, Deployment, Instance, PathId, Record, TaskHealth, TaskRecord, TaskState};
use store::{ChangeSet, Op, State, keys};

use super::origin::Origin;
use super::payload::{self as p, Payload};
use super::subscriptions;

/// What the API said about a change set before writing it (see `intents`).
#[derive(Debug, Default)]
pub(crate) struct Attribution {
    /// The origin of the app post that created each new deployment.
    pub posts: HashMap<String, Origin>,
    /// Deleted deployments that the API cancelled.
    pub cancelled: HashSet<String>,
}

/// What one change set produced.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct Derived {
    pub events: Vec<Payload>,
    /// Callback URLs subscribed and unsubscribed.
    pub subscribed: Vec<String>,
    pub unsubscribed: Vec<String>,
}

pub(crate) struct Deriver {
    hostname: String,
    /// Instance key -> the current task's id, state and health (`None`: not launched yet).
    tasks: HashMap<String, Option<TaskShadow>>,
    instances_per_app: HashMap<PathId, usize>,
    apps: HashMap<PathId, Arc<AppDefinition>>,
    /// Deleted apps whose instances are not all gone yet.
    terminating: BTreeSet<PathId>,
    deployments: HashMap<String, Arc<Deployment>>,
    subscriptions: BTreeSet<String>,
    /// While filling the shadow from a whole state: no task events are built.
    quiet: bool,
}

fn deployment_id(key: &str) -> Option<&str> {
    key.strip_prefix(keys::DEPLOYMENTS)
}

/// The app id of an `app/` key (not of instances or versions).
fn app_id(key: &str) -> Option<PathId> {
    key.strip_prefix(keys::APPS).and_then(|id| PathId::parse(id).ok())
}

impl Deriver {
    /// A deriver whose shadow is `state`: only changes after it produce events.
    pub(crate) fn new(state: &State, hostname: &str) -> Deriver {
        let mut d = Deriver {
            hostname: hostname.to_string(),
            tasks: HashMap::new(),
            instances_per_app: HashMap::new(),
            apps: HashMap::new(),
            terminating: BTreeSet::new(),
            deployments: HashMap::new(),
            subscriptions: BTreeSet::new(),
            quiet: true,
        };
        // The shadow is filled; the few events built are thrown away.
        let ops = Self::relevant(state).map(|(k, r)| Op::put(k, r.clone())).collect();
        d.apply(
            &ChangeSet {
                revision: state.revision(),
                ops,
            },
            &Attribution::default(),
        );
        d.quiet = false;
        d
    }

    fn relevant(state: &State) -> impl Iterator<Item = (&str, &Record)> {
        [keys::APPS, keys::INSTANCES, keys::DEPLOYMENTS, subscriptions::KEYS]
            .into_iter()
            .flat_map(|prefix| state.scan(prefix))
            .map(|(k, e)| (k, &e.record))
    }

    /// The subscriptions known now.
    pub(crate) fn subscriptions(&self) -> impl Iterator<Item = &String> {
        self.subscriptions.iter()
    }

    /// The change set that takes the shadow to `state`, for catching up after missing
    /// change sets: every relevant record as a put (unchanged ones produce nothing) and a
    /// delete of every shadowed key that is gone.
    pub(crate) fn catch_up(&self, state: &State) -> ChangeSet {
        let mut ops: Vec<Op> = Self::relevant(state).map(|(k, r)| Op::put(k, r.clone())).collect();
        let present = |k: &str| state.get(k).is_some();
        let shadowed = self
            .tasks
            .keys()
            .cloned()
            .chain(self.apps.keys().map(keys::app))
            .chain(self.deployments.keys().map(|id| keys::deployment(id)))
            .chain(self.subscriptions.iter().map(|url| subscriptions::key(url)));
        ops.extend(shadowed.filter(|k| !present(k)).map(Op::delete).collect::<Vec<_>>());
        ChangeSet {
            revision: state.revision(),
            ops,
        }
    }

    /// Deployments this change set deletes that may have been cancelled by the API's
    /// `DELETE /v2/deployments?force=true`: known ones deleted in a write that starts no new
    /// deployment. (A deletion beside a new deployment is always a replacement.)
    pub(crate) fn deletions_to_attribute(&self, cs: &ChangeSet) -> Vec<String> {
        if self.starts_deployment(cs) {
            return vec![];
        }
        cs.ops
            .iter()
            .filter_map(|op| match op {
                Op::Delete { key } => deployment_id(key).filter(|id| self.deployments.contains_key(*id)),
                Op::Put { .. } => None,
            })
            .map(String::from)
            .collect()
    }

    /// New deployments this change set creates.
    pub(crate) fn new_deployments(&self, cs: &ChangeSet) -> Vec<String> {
        cs.ops
            .iter()
            .filter_map(|op| match op {
                Op::Put {
                    key,
                    record: Record::Deployment(_),
                } => deployment_id(key),
                _ => None,
            })
            .filter(|id| !self.deployments.contains_key(*id))
            .map(String::from)
            .collect()
    }

    fn starts_deployment(&self, cs: &ChangeSet) -> bool {
        !self.new_deployments(cs).is_empty()
    }

    /// Updates the shadow with `cs` and returns the events it means, in Marathon's order:
    /// the API's own events of a new deployment, failed (replaced or cancelled) deployments,
    /// new deployments' first step, task changes, deployment progress, finished
    /// deployments, terminated apps.
    pub(crate) fn apply(&mut self, cs: &ChangeSet, attribution: &Attribution) -> Derived {
        let replacing = self.starts_deployment(cs);
        let mut out = Derived::default();
        let mut app_puts: Vec<&Arc<AppDefinition>> = vec![];
        let mut started: Vec<Arc<Deployment>> = vec![];
        let mut failed: Vec<(Arc<Deployment>, &str)> = vec![];
        let mut task_events: Vec<Payload> = vec![];
        let mut progress: Vec<Payload> = vec![];
        let mut finished: Vec<Payload> = vec![];

        for op in &cs.ops {
            match op {
                Op::Put {
                    key,
                    record: Record::App(app),
                } if app_id(key).is_some() => {
                    self.terminating.remove(&app.id);
                    self.apps.insert(app.id.clone(), app.clone());
                    app_puts.push(app);
                }
                Op::Delete { key } if key.starts_with(keys::APPS) => {
                    if let Some(id) = app_id(key).filter(|id| self.apps.remove(id).is_some()) {
                        self.terminating.insert(id);
                    }
                }
                Op::Put {
                    key,
                    record: Record::Instance(inst),
                } => self.instance_put(key, inst, &mut task_events),
                Op::Delete { key } if key.starts_with(keys::INSTANCES) => self.instance_deleted(key),
                Op::Put {
                    key,
                    record: Record::Deployment(d),
                } => {
                    let Some(id) = deployment_id(key) else {
                        continue;
                    };
                    match self.deployments.insert(id.to_string(), d.clone()) {
                        None => started.push(d.clone()),
                        Some(old) => {
                            for step in old.current_step..d.current_step.min(d.steps.len()) {
                                progress.push(p::deployment_step_success(d, step));
                            }
                            if d.current_step > old.current_step && d.current_step < d.steps.len() {
                                progress.push(p::deployment_info(d, d.current_step));
                            }
                        }
                    }
                }
                Op::Delete { key } if key.starts_with(keys::DEPLOYMENTS) => {
                    let Some(d) = deployment_id(key).and_then(|id| self.deployments.remove(id)) else {
                        continue;
                    };
                    if replacing {
                        failed.push((d, "The deployment was replaced by a forced change or rollback"));
                    } else if attribution.cancelled.contains(&d.id) {
                        failed.push((d, "The deployment was cancelled"));
                    } else {
                        for step in d.current_step..d.steps.len() {
                            finished.push(p::deployment_step_success(&d, step));
                        }
                        finished.push(p::deployment_success(&d));
                    }
                }
                Op::Put {
                    key,
                    record: Record::EventSubscription(url),
                } if key.starts_with(subscriptions::KEYS) && !self.subscriptions.contains(url) => {
                    self.subscriptions.insert(url.clone());
                    out.subscribed.push(url.clone());
                }
                Op::Delete { key } if key.starts_with(subscriptions::KEYS) => {
                    let url = self
                        .subscriptions
                        .iter()
                        .find(|u| subscriptions::key(u) == *key)
                        .cloned();
                    if let Some(url) = url {
                        self.subscriptions.remove(&url);
                        out.unsubscribed.push(url);
                    }
                }
                _ => {}
            }
        }

        for d in &started {
            if let Some(origin) = attribution.posts.get(&d.id).filter(|o| o.posts_app) {
                for app in app_puts.iter().filter(|a| d.affected_apps.contains(&a.id)) {
                    out.events.push(p::api_post(&origin.client_ip, &origin.uri, app));
                }
            }
            let group = d.group.clone().unwrap_or_else(|| p::group_of(&d.affected_apps));
            out.events.push(p::group_change_success(&group, d.version));
        }
        out.events
            .extend(failed.iter().map(|(d, reason)| p::deployment_failed(d, reason)));
        out.events.extend(
            started
                .iter()
                .filter(|d| !d.steps.is_empty())
                .map(|d| p::deployment_info(d, 0)),
        );
        out.events.extend(task_events);
        out.events.extend(progress);
        out.events.extend(finished);
        let gone: Vec<PathId> = self
            .terminating
            .iter()
            .filter(|id| self.instances_per_app.get(*id).copied().unwrap_or(0) == 0)
            .cloned()
            .collect();
        for id in gone {
            self.terminating.remove(&id);
            out.events.push(p::app_terminated(&id));
        }
        out
    }

    fn instance_put(&mut self, key: &str, inst: &Instance, events: &mut Vec<Payload>) {
        let now = inst.task.as_ref().map(|t| TaskShadow {
            task_id: t.task_id.clone(),
            state: t.state,
            health: t.health.clone(),
        });
        let before = match self.tasks.insert(key.to_string(), now.clone()) {
            Some(before) => before,
            None => {
                *self.instances_per_app.entry(inst.app_id.clone()).or_default() += 1;
                None
            }
        };
        let Some(task) = inst.task.as_ref().filter(|_| before != now && !self.quiet) else {
            return;
        };
        let same_task = before.as_ref().filter(|b| b.task_id == task.task_id);
        if same_task.is_none_or(|b| b.state != task.state) {
            // Provisioned is Pacer's own state before Mesos reported anything: Marathon sends
            // no status update for it, only the instance's change.
            if task.state != TaskState::TASK_PROVISIONED {
                events.push(p::status_update(inst, task, &self.hostname));
            }
            events.push(p::instance_changed(inst, task));
        }
        let empty = TaskHealth::default();
        let was = same_task.map_or(&empty, |b| &b.health);
        self.health_events(inst, task, was, events);
    }

    /// Events for what changed in a task's health since `was`: each check turning alive or
    /// dead, each counted failure, and a kill for failing too often.
    fn health_events(&self, inst: &Instance, task: &TaskRecord, was: &TaskHealth, events: &mut Vec<Payload>) {
        let now = &task.health;
        let app = self.apps.get(&inst.app_id);
        for r in &now.checks {
            let before = was.checks.iter().find(|b| b.index == r.index);
            if before.is_none_or(|b| b.alive != r.alive) {
                events.push(p::health_status_changed(inst, r.alive));
            }
            if r.consecutive_failures > before.map_or(0, |b| b.consecutive_failures) {
                let check = app.and_then(|a| a.health_checks.get(r.index));
                events.push(p::failed_health_check(inst, check));
            }
        }
        if let Some(alive) = now.agent.filter(|_| now.agent != was.agent) {
            events.push(p::health_status_changed(inst, alive));
        }
        if let (Some(reason), None) = (&now.killed_unhealthy, &was.killed_unhealthy) {
            events.push(p::unhealthy_instance_kill(inst, task, reason));
        }
    }

    fn instance_deleted(&mut self, key: &str) {
        if self.tasks.remove(key).is_none() {
            return;
        }
        if let Some(app) = keys::app_of_key(key)
            && let Some(n) = self.instances_per_app.get_mut(&app)
        {
            *n -= 1;
            if *n == 0 {
                self.instances_per_app.remove(&app);
            }
        }
    }
}

/// What the events of a task depend on.
#[derive(Clone, Debug, PartialEq)]
struct TaskShadow {
    task_id: String,
    state: TaskState,
    health: TaskHealth,
}

#[cfg(test)]
mod tests;
