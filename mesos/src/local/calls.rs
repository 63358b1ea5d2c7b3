//! The master's side of the scheduler API: SUBSCRIBE and failover, and every Call type.

use tokio::time::Instant;
use uuid::Uuid;

use crate::transport::{Caller, Connection, TransportError};
use crate::v1::framework_info::capability::Type as Capability;
use crate::v1::scheduler::{Call, Event, call, event};
use crate::v1::{FrameworkId, OperationState, OperationStatus, TaskState, offer};

use super::executor;
use super::framework::{Framework, Subscription};
use super::master::{Master, Timer};
use super::offers::refuse_duration;
use super::operations::changes_resources;
use super::reservations::check_format;
use super::resources::Resources;
use super::status::{self, Reason, error_event, master_update, rescind_event};
use super::task_group::validate::check_identity;
use super::tasks::TaskKey;
use super::transport::LocalCaller;

fn invalid(what: &str) -> TransportError {
    TransportError::Refused(format!(
        "Failed to validate scheduler::Call: Expecting '{what}' to be present"
    ))
}

impl Master {
    pub(super) fn subscribe(&mut self, mut info: crate::v1::FrameworkInfo) -> Result<Connection, TransportError> {
        let framework_id = match &info.id {
            Some(id) if !id.value.is_empty() => id.value.clone(),
            _ => {
                let id = format!("{}-{:04}", self.id, self.next_framework);
                self.next_framework += 1;
                id
            }
        };
        if self.removed_frameworks.contains(&framework_id) {
            return Err(TransportError::Refused(format!(
                "Framework {framework_id} has been removed"
            )));
        }
        info.id = Some(FrameworkId {
            value: framework_id.clone(),
        });
        let (subscription, events) = Subscription::open(framework_id.clone(), self.heartbeat, self.tx.clone());
        let stream_id = subscription.stream_id;
        subscription.send(self.subscribed_event(&framework_id));

        let rescinded = match self.frameworks.get_mut(&framework_id) {
            Some(framework) => {
                if let Some(old) = framework.conn.take() {
                    old.send(error_event("Framework failed over"));
                }
                // As on a real master, `user` and `checkpoint` cannot change on re-subscription.
                info.user = framework.info.user.clone();
                info.checkpoint = framework.info.checkpoint;
                framework.info = info.clone();
                framework.conn = Some(subscription);
                framework.suppressed = false;
                framework.epoch += 1;
                // Offers made to the previous instance are void; the new one hears so.
                self.allocator.withdraw_all(&framework_id)
            }
            None => {
                let mut framework = Framework::new(info.clone());
                framework.conn = Some(subscription);
                self.frameworks.insert(framework_id.clone(), framework);
                Vec::new()
            }
        };
        for offer_id in rescinded {
            self.emit(&framework_id, rescind_event(&offer_id));
        }
        for agent in &mut self.agents {
            if let Err(e) = agent.refresh_framework(&info) {
                tracing::error!(error = %e, "cannot checkpoint the framework");
            }
        }
        self.resend_pending(&framework_id);
        self.allocation_needed = true;
        tracing::info!(framework_id, name = %info.name, "framework subscribed");
        let caller = LocalCaller {
            master: self.tx.clone(),
            framework_id,
            stream_id,
        };
        Ok(Connection {
            events,
            caller: Caller(std::sync::Arc::new(caller)),
        })
    }

    fn subscribed_event(&self, framework_id: &str) -> Event {
        Event {
            r#type: Some(event::Type::Subscribed as i32),
            subscribed: Some(event::Subscribed {
                framework_id: FrameworkId {
                    value: framework_id.to_owned(),
                },
                heartbeat_interval_seconds: Some(self.heartbeat.as_secs_f64()),
                master_info: Some(self.info.clone()),
            }),
            ..Default::default()
        }
    }

    pub(super) fn stream_closed(&mut self, framework_id: &str, stream_id: Uuid) {
        let Some(framework) = self.frameworks.get_mut(framework_id) else {
            return;
        };
        if framework.conn.as_ref().map(|c| c.stream_id) != Some(stream_id) {
            return;
        }
        framework.conn = None;
        framework.epoch += 1;
        let epoch = framework.epoch;
        let timeout = framework.failover_timeout();
        tracing::info!(framework_id, ?timeout, "framework disconnected");
        self.allocator.withdraw_all(framework_id);
        self.allocation_needed = true;
        self.after(
            timeout,
            Timer::FailoverTimeout {
                framework_id: framework_id.to_owned(),
                epoch,
            },
        );
    }

    pub(super) fn failover_expired(&mut self, framework_id: &str, epoch: u64) {
        let Some(framework) = self.frameworks.get(framework_id) else {
            return;
        };
        if framework.epoch != epoch || framework.conn.is_some() {
            return;
        }
        tracing::info!(
            framework_id,
            "framework did not re-subscribe within its failover timeout; removing it"
        );
        self.remove_framework(framework_id);
    }

    pub(super) fn call(&mut self, framework_id: &str, stream_id: Uuid, call: Call) -> Result<(), TransportError> {
        let Some(framework) = self.frameworks.get(framework_id) else {
            return Err(TransportError::Refused("Framework cannot be found".into()));
        };
        if framework.conn.as_ref().map(|c| c.stream_id) != Some(stream_id) {
            // This stream was replaced (failover) or closed: the caller must subscribe again.
            return Err(TransportError::Disconnected);
        }
        use call::Type as T;
        match call.r#type() {
            T::Subscribe => Err(TransportError::Refused(
                "SUBSCRIBE goes through Transport::subscribe".into(),
            )),
            T::Teardown => {
                tracing::info!(framework_id, "framework asked for teardown");
                self.remove_framework(framework_id);
                Ok(())
            }
            T::Accept => {
                let accept = call.accept.ok_or_else(|| invalid("accept"))?;
                self.accept(framework_id, accept);
                Ok(())
            }
            T::Decline => {
                let decline = call.decline.ok_or_else(|| invalid("decline"))?;
                let accept = call::Accept {
                    offer_ids: decline.offer_ids,
                    operations: Vec::new(),
                    filters: decline.filters,
                };
                self.accept(framework_id, accept);
                Ok(())
            }
            T::Revive => {
                self.allocator.clear_filters(framework_id);
                if let Some(f) = self.frameworks.get_mut(framework_id) {
                    f.suppressed = false;
                }
                self.allocation_needed = true;
                Ok(())
            }
            T::Suppress => {
                if let Some(f) = self.frameworks.get_mut(framework_id) {
                    f.suppressed = true;
                }
                Ok(())
            }
            T::Kill => {
                let kill = call.kill.ok_or_else(|| invalid("kill"))?;
                self.kill_call(framework_id, kill);
                Ok(())
            }
            T::Acknowledge => {
                let ack = call.acknowledge.ok_or_else(|| invalid("acknowledge"))?;
                self.acknowledge(&TaskKey::new(framework_id, &ack.task_id.value), &ack.uuid);
                Ok(())
            }
            T::Reconcile => {
                let reconcile = call.reconcile.ok_or_else(|| invalid("reconcile"))?;
                self.reconcile(framework_id, reconcile);
                Ok(())
            }
            T::UpdateFramework => {
                let update = call.update_framework.ok_or_else(|| invalid("update_framework"))?;
                self.update_framework(framework_id, update)
            }
            // Nothing to do here: no custom executors, no inverse offers (no maintenance), no
            // offer operations with feedback, and the allocator ignores REQUEST as Mesos's does.
            T::Shutdown
            | T::Message
            | T::Request
            | T::AcceptInverseOffers
            | T::DeclineInverseOffers
            | T::AcknowledgeOperationStatus
            | T::ReconcileOperations => Ok(()),
            T::Unknown => Err(invalid("type")),
        }
    }

    fn update_framework(&mut self, framework_id: &str, update: call::UpdateFramework) -> Result<(), TransportError> {
        let framework = self
            .frameworks
            .get_mut(framework_id)
            .ok_or(TransportError::Disconnected)?;
        let mut info = update.framework_info;
        if info.id.as_ref().is_some_and(|id| id.value != framework_id) {
            return Err(TransportError::Refused(
                "Updating 'FrameworkInfo.id' is unsupported".into(),
            ));
        }
        if info.user != framework.info.user || info.checkpoint() != framework.info.checkpoint() {
            return Err(TransportError::Refused(
                "Updating 'FrameworkInfo.user' or 'checkpoint' is unsupported".into(),
            ));
        }
        info.id = Some(FrameworkId {
            value: framework_id.to_owned(),
        });
        framework.info = info.clone();
        framework.suppressed = !update.suppressed_roles.is_empty();
        for agent in &mut self.agents {
            if let Err(e) = agent.refresh_framework(&info) {
                tracing::error!(error = %e, "cannot checkpoint the framework");
            }
        }
        self.allocation_needed = true;
        Ok(())
    }

    /// ACCEPT (and DECLINE, which is ACCEPT without operations).
    fn accept(&mut self, framework_id: &str, accept: call::Accept) {
        let partition_aware = self.frameworks[framework_id].partition_aware();
        let refuse = refuse_duration(accept.filters.as_ref());
        let (agent, mut remaining) = match self.allocator.take(framework_id, &accept.offer_ids) {
            Ok(taken) => taken,
            Err(problem) => {
                let state = if partition_aware {
                    TaskState::TaskDropped
                } else {
                    TaskState::TaskLost
                };
                for task in accept.operations.iter().flat_map(launched_tasks) {
                    let message = format!("Task launched with invalid offers: {problem}");
                    let update = master_update(
                        &task.task_id.value,
                        Some(&task.agent_id.value),
                        state,
                        Reason::InvalidOffers,
                        message,
                    );
                    self.emit(framework_id, status::update_event(update));
                }
                self.allocation_needed = true;
                return;
            }
        };
        let mut launches = Vec::new();
        for operation in accept.operations {
            match operation.r#type() {
                offer::operation::Type::Launch => {
                    for task in operation.launch.map(|l| l.task_infos).unwrap_or_default() {
                        match self.validate_task(framework_id, agent, &task, &remaining, &launches) {
                            Ok(resources) => {
                                remaining.subtract(&resources);
                                launches.push((task, resources));
                            }
                            Err(message) => self.task_error(framework_id, &task, Reason::TaskInvalid, message),
                        }
                    }
                }
                offer::operation::Type::LaunchGroup => {
                    if let Some(group) = operation.launch_group {
                        self.accept_group(framework_id, agent, group, &mut remaining, &launches);
                    }
                }
                _ if changes_resources(&operation) => {
                    if let Err(message) = self.apply_operation(framework_id, agent, &operation, &mut remaining) {
                        tracing::info!(framework_id, %message, "offer operation dropped");
                        self.operation_error(framework_id, operation.id, message);
                    }
                }
                other => {
                    tracing::warn!(
                        operation = other.as_str_name(),
                        "offer operation not supported by the local master"
                    );
                    let message = format!("{} is not supported by the local master", other.as_str_name());
                    self.operation_error(framework_id, operation.id, message);
                }
            }
        }
        self.launch_tasks(framework_id, agent, launches);
        if let Some(until) = self
            .allocator
            .refuse(framework_id, agent, remaining, refuse, Instant::now())
        {
            self.after(until - Instant::now(), Timer::FiltersExpired);
        }
        self.allocation_needed = true;
    }

    /// Tells the framework that its operation with `id` failed (without an id, Mesos says
    /// nothing: the operation is only dropped).
    fn operation_error(&mut self, framework_id: &str, id: Option<crate::v1::OperationId>, message: String) {
        if let Some(id) = id {
            let status = OperationStatus {
                operation_id: Some(id),
                state: OperationState::OperationError as i32,
                message: Some(message),
                ..Default::default()
            };
            self.emit(framework_id, status::operation_status_event(status));
        }
    }

    /// Checks a task against the offer and the agent; returns the resources it takes.
    fn validate_task(
        &self,
        framework_id: &str,
        agent: usize,
        task: &crate::v1::TaskInfo,
        remaining: &Resources,
        batch: &[(crate::v1::TaskInfo, Resources)],
    ) -> Result<Resources, String> {
        let taken = self.task_id_taken(framework_id, agent, &task.task_id.value, batch);
        check_identity(task, &self.agents[agent], taken)?;
        executor::check_supported(task)?;
        let refinement = self.frameworks[framework_id].has(Capability::ReservationRefinement);
        check_format(&task.resources, refinement)?;
        let resources =
            Resources::from_protos(&task.resources, self.agents[agent].resource_role()).map_err(|e| e.to_string())?;
        if resources.is_empty() {
            return Err("Task uses no resources".into());
        }
        let missing = remaining.missing(&resources);
        if !missing.is_empty() {
            return Err(format!(
                "Task uses more resources than the offers hold: {}",
                missing.join("; ")
            ));
        }
        Ok(resources)
    }

    /// Whether task id `id` is in use by the framework, earlier in the same ACCEPT (`batch`),
    /// or by a live task's sandbox on the agent (sandboxes are per agent and task id).
    pub(super) fn task_id_taken(
        &self,
        framework_id: &str,
        agent: usize,
        id: &str,
        batch: &[(crate::v1::TaskInfo, Resources)],
    ) -> bool {
        self.tasks.contains_key(&TaskKey::new(framework_id, id))
            || batch.iter().any(|(t, _)| t.task_id.value == id)
            || self
                .tasks
                .values()
                .any(|t| t.agent == agent && t.key.task_id == id && !t.ended)
    }

    pub(super) fn task_error(
        &mut self,
        framework_id: &str,
        task: &crate::v1::TaskInfo,
        reason: Reason,
        message: String,
    ) {
        tracing::info!(framework_id, task_id = %task.task_id.value, %message, "task refused");
        let update = master_update(
            &task.task_id.value,
            Some(&task.agent_id.value),
            TaskState::TaskError,
            reason,
            message,
        );
        self.emit(framework_id, status::update_event(update));
    }

    fn reconcile(&mut self, framework_id: &str, reconcile: call::Reconcile) {
        let partition_aware = self.frameworks[framework_id].partition_aware();
        if reconcile.tasks.is_empty() {
            let mut answers: Vec<_> = self
                .tasks
                .values()
                .filter(|t| t.key.framework_id == framework_id)
                .filter_map(|t| self.reconciliation_answer(&t.key))
                .collect();
            answers.sort_by(|a, b| a.task_id.value.cmp(&b.task_id.value));
            for update in answers {
                self.emit(framework_id, status::update_event(update));
            }
            return;
        }
        for asked in reconcile.tasks {
            let key = TaskKey::new(framework_id, &asked.task_id.value);
            let agent_id = asked.agent_id.as_ref().map(|a| a.value.as_str());
            let update = self
                .reconciliation_answer(&key)
                .or_else(|| self.gone_answer(framework_id, &asked.task_id.value, agent_id))
                .unwrap_or_else(|| unknown_task(&asked.task_id.value, agent_id, partition_aware));
            self.emit(framework_id, status::update_event(update));
        }
    }

    fn kill_call(&mut self, framework_id: &str, kill: call::Kill) {
        if self.kill_while_away(framework_id, &kill) {
            return;
        }
        let key = TaskKey::new(framework_id, &kill.task_id.value);
        if !self.tasks.contains_key(&key) {
            // As Mesos: an unknown task gets an explicit reconciliation answer.
            let partition_aware = self.frameworks[framework_id].partition_aware();
            let update = unknown_task(
                &kill.task_id.value,
                kill.agent_id.as_ref().map(|a| a.value.as_str()),
                partition_aware,
            );
            self.emit(framework_id, status::update_event(update));
            return;
        }
        let grace = kill.kill_policy.and_then(|p| p.grace_period).map(|d| d.nanoseconds);
        let killing_state = self.frameworks[framework_id].has(Capability::TaskKillingState);
        for key in self.kill_targets(&key) {
            self.kill_task(&key, grace, killing_state);
        }
    }

    /// TEARDOWN, or a failover timeout: kill the framework's tasks and forget it.
    pub(super) fn remove_framework(&mut self, framework_id: &str) {
        let Some(mut framework) = self.frameworks.remove(framework_id) else {
            return;
        };
        if let Some(conn) = framework.conn.take() {
            conn.send(error_event("Framework has been removed"));
        }
        self.removed_frameworks.insert(framework_id.to_owned());
        self.allocator.remove_framework(framework_id);
        let keys: Vec<TaskKey> = self
            .tasks
            .keys()
            .filter(|k| k.framework_id == framework_id)
            .cloned()
            .collect();
        for key in keys {
            self.abandon_task(&key);
        }
        for agent in &mut self.agents {
            if let Err(e) = agent.checkpoint_framework_removed(framework_id) {
                tracing::error!(error = %e, "cannot checkpoint the framework's removal");
            }
        }
        self.allocation_needed = true;
    }
}

fn launched_tasks(operation: &offer::Operation) -> Vec<&crate::v1::TaskInfo> {
    let mut out: Vec<&crate::v1::TaskInfo> = Vec::new();
    if let Some(launch) = &operation.launch {
        out.extend(launch.task_infos.iter());
    }
    if let Some(group) = &operation.launch_group {
        out.extend(group.task_group.tasks.iter());
    }
    out
}

fn unknown_task(task_id: &str, agent_id: Option<&str>, partition_aware: bool) -> crate::v1::TaskStatus {
    let state = if partition_aware {
        TaskState::TaskUnknown
    } else {
        TaskState::TaskLost
    };
    master_update(
        task_id,
        agent_id,
        state,
        Reason::Reconciliation,
        "Reconciliation: Task is unknown",
    )
}
