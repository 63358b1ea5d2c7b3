//! The Mesos scheduler driver: keeps a subscription to the master, matches offers against the
//! launch queue, records task status updates in the store, and acknowledges them once durable.
//!
//! It is the only place that talks to Mesos; reconcilers reach it through [`DriverHandle`].

mod handle;
mod matcher;
mod offers;
mod resident;
mod status;
mod task_group;
mod task_info;
mod updates;

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use mesos::v1::scheduler::{Call, Event, call, event};
use mesos::v1::{FrameworkId, FrameworkInfo, framework_info};
use mesos::{Caller, Connection, Transport, TransportError};
use schemas::Record;
use store::{Op, keys};
use tokio_util::sync::CancellationToken;

use crate::context::Context;
use crate::optimistic::WriteError;

pub use handle::DriverHandle;
pub use matcher::OfferResources;
pub use status::{app_id_of_instance, instance_id_of_task};
pub use task_info::{Placement, build_task_info, task_env};

#[derive(Debug, thiserror::Error)]
pub enum DriverError {
    /// No subscription to a master right now.
    #[error("not connected to a Mesos master")]
    NotConnected,
    #[error(transparent)]
    Transport(#[from] TransportError),
    #[error(transparent)]
    Store(#[from] store::Error),
    #[error(transparent)]
    Write(#[from] WriteError),
}

/// Subscribes and re-subscribes to the master until cancelled.
pub async fn run(ctx: Arc<Context>, transport: Arc<dyn Transport>, cancel: CancellationToken) {
    let mut attempt: u32 = 0;
    while !cancel.is_cancelled() {
        let info = framework_info(&ctx);
        let subscribed = tokio::select! {
            r = transport.subscribe(info) => r,
            () = cancel.cancelled() => break,
        };
        match subscribed {
            Ok(conn) => {
                attempt = 0;
                let mut session = Session {
                    ctx: ctx.clone(),
                    caller: conn.caller.clone(),
                    reconciling: None,
                    agents: Default::default(),
                };
                session.run(conn, &cancel).await;
            }
            Err(e) => tracing::warn!(error = %e, "subscribing to the Mesos master failed"),
        }
        ctx.driver.set_caller(None);
        attempt += 1;
        let pause = Duration::from_millis(200 * 2u64.pow(attempt.min(6))).min(Duration::from_secs(15));
        tokio::select! {
            () = tokio::time::sleep(pause) => {}
            () = cancel.cancelled() => break,
        }
    }
    ctx.driver.set_caller(None);
}

fn framework_info(ctx: &Context) -> FrameworkInfo {
    let id = ctx.store.read(|s| s.framework_id().map(str::to_string));
    let capability = |t: framework_info::capability::Type| framework_info::Capability { r#type: Some(t as i32) };
    use framework_info::capability::Type;
    FrameworkInfo {
        user: ctx.config.mesos_user.clone(),
        name: ctx.config.framework_name.clone(),
        id: id.map(|value| FrameworkId { value }),
        failover_timeout: Some(ctx.config.failover_timeout.as_secs_f64()),
        checkpoint: Some(true),
        hostname: Some(ctx.config.hostname.clone()),
        roles: vec![ctx.config.mesos_role.clone()],
        principal: ctx.config.principal.clone(),
        capabilities: vec![
            capability(Type::MultiRole),
            capability(Type::PartitionAware),
            capability(Type::TaskKillingState),
            capability(Type::GpuResources),
        ],
        ..Default::default()
    }
}

/// One subscription, from SUBSCRIBED until the stream ends.
struct Session {
    ctx: Arc<Context>,
    caller: Caller,
    /// The explicit reconciliation in progress: when it was asked for, and the tasks whose
    /// answers have not come yet.
    reconciling: Option<(tokio::time::Instant, HashSet<String>)>,
    /// Agents seen in offers, for the constraints of instances placed on them.
    agents: offers::KnownAgents,
}

impl Session {
    async fn run(&mut self, conn: Connection, cancel: &CancellationToken) {
        let Connection { mut events, .. } = conn;
        let mut reconcile_timer = tokio::time::interval(self.ctx.config.reconciliation_interval);
        reconcile_timer.tick().await;
        let mut held: Option<Event> = None;
        loop {
            let event = match held.take() {
                Some(e) => e,
                None => tokio::select! {
                    e = events.recv() => match e {
                        Some(e) => e,
                        None => return,
                    },
                    () = self.ctx.queue.changed() => {
                        self.revive().await;
                        continue;
                    }
                    _ = reconcile_timer.tick(), if self.ctx.driver.is_connected() => {
                        self.reconcile_all().await;
                        continue;
                    }
                    () = cancel.cancelled() => return,
                },
            };
            match event_type(&event) {
                Some(event::Type::Subscribed) => self.subscribed(event.subscribed).await,
                Some(event::Type::Offers) => {
                    let offers = event.offers.map(|o| o.offers).unwrap_or_default();
                    if let Err(e) = self.offers(offers).await {
                        tracing::warn!(error = %e, "handling offers failed");
                    }
                }
                Some(event::Type::Update) => {
                    // Batch the updates already waiting: one durable write for all of them.
                    let mut batch: Vec<_> = event.update.into_iter().map(|u| u.status).collect();
                    while batch.len() < 4096 {
                        match events.try_recv() {
                            Ok(next) if event_type(&next) == Some(event::Type::Update) => {
                                batch.extend(next.update.map(|u| u.status));
                            }
                            Ok(other) => {
                                held = Some(other);
                                break;
                            }
                            Err(_) => break,
                        }
                    }
                    self.observe_updates(&batch);
                    if let Err(e) = self.updates(batch).await {
                        tracing::warn!(error = %e, "recording status updates failed");
                    }
                }
                Some(event::Type::Error) => {
                    let message = event.error.map(|e| e.message).unwrap_or_default();
                    tracing::error!(%message, "the Mesos master ended our subscription");
                    if message.contains("removed") {
                        // The framework id is dead; the next subscription must get a new one.
                        let _ = self.ctx.store.write_ops(vec![Op::delete(keys::FRAMEWORK_ID)]).await;
                    }
                    return;
                }
                Some(event::Type::Failure) => {
                    tracing::warn!(failure = ?event.failure, "agent or executor failure")
                }
                Some(event::Type::InverseOffers) => {
                    let ids = event
                        .inverse_offers
                        .map(|i| i.inverse_offers.into_iter().map(|o| o.id).collect())
                        .unwrap_or_default();
                    self.decline_inverse_offers(ids).await;
                }
                // Offers are used or declined at once, so there is nothing to rescind; the
                // remaining events need no action from a scheduler without executors.
                _ => {}
            }
        }
    }

    async fn subscribed(&mut self, subscribed: Option<event::Subscribed>) {
        let Some(sub) = subscribed else { return };
        let id = sub.framework_id.value;
        tracing::info!(framework_id = %id, "subscribed to the Mesos master");
        let known = self
            .ctx
            .store
            .read(|s| match s.get(keys::FRAMEWORK_ID).map(|e| &e.record) {
                Some(Record::FrameworkId(known)) => known == &id,
                _ => false,
            });
        if !known
            && let Err(e) = self
                .ctx
                .store
                .write_ops(vec![Op::put(keys::FRAMEWORK_ID, Record::FrameworkId(id))])
                .await
        {
            tracing::error!(error = %e, "could not record the framework id");
        }
        self.ctx.driver.set_caller(Some(self.caller.clone()));
        self.reconcile_all().await;
        self.revive().await;
    }

    /// Counts status updates by state, and times the explicit reconciliation they answer.
    fn observe_updates(&mut self, batch: &[mesos::v1::TaskStatus]) {
        let metrics = &self.ctx.config.metrics;
        metrics.status_updates(
            batch
                .iter()
                .filter_map(|s| mesos::v1::TaskState::try_from(s.state).ok().map(|s| s.as_str_name())),
        );
        if let Some((started, pending)) = &mut self.reconciling {
            for s in batch {
                pending.remove(&s.task_id.value);
            }
            if pending.is_empty() {
                metrics.task_reconciliation(started.elapsed());
                self.reconciling = None;
            }
        }
    }

    /// Explicit reconciliation of every task we know, then implicit reconciliation to learn
    /// of tasks we do not know (which are then killed).
    async fn reconcile_all(&mut self) {
        let tasks: Vec<call::reconcile::Task> = self.ctx.store.read(|s| {
            s.scan(keys::INSTANCES)
                .filter_map(|(_, e)| match &e.record {
                    Record::Instance(i) => i.task.as_ref().filter(|t| !t.state.is_terminal()),
                    _ => None,
                })
                .flat_map(|t| {
                    t.mesos_task_ids().into_iter().map(|id| call::reconcile::Task {
                        task_id: mesos::v1::TaskId { value: id.to_string() },
                        agent_id: Some(mesos::v1::AgentId {
                            value: t.agent_id.clone(),
                        }),
                    })
                })
                .collect()
        });
        // A reconciliation still unanswered is superseded: Mesos answers the new one in full.
        self.reconciling = (!tasks.is_empty()).then(|| {
            let pending = tasks.iter().map(|t| t.task_id.value.clone()).collect();
            (tokio::time::Instant::now(), pending)
        });
        for tasks in [tasks, Vec::new()] {
            let call = Call {
                r#type: Some(call::Type::Reconcile as i32),
                reconcile: Some(call::Reconcile { tasks }),
                ..Default::default()
            };
            if let Err(e) = self.caller.call(call).await {
                tracing::warn!(error = %e, "reconciliation call failed");
            }
        }
    }

    /// Pacer does not drain agents for maintenance itself: it declines inverse offers, as
    /// Marathon does, and replaces tasks when their agents actually go away.
    async fn decline_inverse_offers(&self, ids: Vec<mesos::v1::OfferId>) {
        if ids.is_empty() {
            return;
        }
        let call = Call {
            r#type: Some(call::Type::DeclineInverseOffers as i32),
            decline_inverse_offers: Some(call::DeclineInverseOffers {
                inverse_offer_ids: ids,
                filters: None,
            }),
            ..Default::default()
        };
        if let Err(e) = self.caller.call(call).await {
            tracing::warn!(error = %e, "declining inverse offers failed");
        }
    }

    /// Asks for offers again when something waits to launch, or stops them when nothing does.
    async fn revive(&self) {
        let (ty, call) = if self.ctx.queue.is_empty() {
            (
                call::Type::Suppress,
                Call {
                    suppress: Some(call::Suppress::default()),
                    ..Default::default()
                },
            )
        } else {
            (
                call::Type::Revive,
                Call {
                    revive: Some(call::Revive::default()),
                    ..Default::default()
                },
            )
        };
        let call = Call {
            r#type: Some(ty as i32),
            ..call
        };
        if let Err(e) = self.caller.call(call).await {
            tracing::warn!(error = %e, "revive/suppress failed");
        }
    }
}

fn event_type(e: &Event) -> Option<event::Type> {
    e.r#type.and_then(|t| event::Type::try_from(t).ok())
}
