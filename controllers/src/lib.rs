//! Pacer's controllers: independent reconcilers that make the cluster match the store.
//!
//! [`run`] wires them: a watcher turns store changes into keys, the runtime schedules
//! reconciles of apps and deployments, and the Mesos driver launches on offers and records
//! task status; the health checker probes tasks and records what it finds. Only the leader
//! runs this.

mod apps;
mod backoff;
mod context;
mod deployments;
pub mod driver;
mod health;
mod launch_queue;
mod metrics;
mod optimistic;
pub mod runtime;
mod watcher;

use std::sync::Arc;

use mesos::Transport;
use store::Store;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

pub use context::{Context, ControllerConfig};
pub use launch_queue::{LaunchQueue, OfferOutcome, QueuedApp};
pub use metrics::Metrics;

use runtime::{Action, Applier};

/// Runs every controller until `cancel` fires.
pub async fn run(store: Store, transport: Arc<dyn Transport>, config: ControllerConfig, cancel: CancellationToken) {
    let concurrency = config.concurrency;
    let ctx = Arc::new(Context::new(store, config));
    let (app_tx, app_rx) = mpsc::unbounded_channel();
    let (deploy_tx, deploy_rx) = mpsc::unbounded_channel();

    let app_ctx = ctx.clone();
    let app_metrics = ctx.config.metrics.clone();
    let apps = Applier::new(concurrency)
        .timed(move |took| app_metrics.reconciled("apps", took))
        .run(
            app_rx,
            move |id| apps::reconcile(app_ctx.clone(), id),
            |_, _| Action::requeue(std::time::Duration::from_millis(500)),
        );
    let deploy_ctx = ctx.clone();
    let deploy_metrics = ctx.config.metrics.clone();
    let deployments = Applier::new(concurrency)
        .timed(move |took| deploy_metrics.reconciled("deployments", took))
        .run(
            deploy_rx,
            move |id| deployments::reconcile(deploy_ctx.clone(), id),
            |_, _| Action::requeue(std::time::Duration::from_millis(500)),
        );
    let watch = watcher::run(ctx.store.clone(), app_tx, deploy_tx, cancel.clone());
    let driver = driver::run(ctx.clone(), transport, cancel.clone());
    let health = health::run(ctx.clone(), cancel.clone());

    // The watcher ends on cancel and drops the trigger senders, which ends the appliers.
    tokio::join!(apps, deployments, watch, driver, health);
}
