//! What every controller shares: the store, the launch queue, the driver.

use std::sync::Arc;
use std::time::Duration;

use schemas::offers::OfferStatsByApp;
use store::Store;
use tokio::sync::watch;

use crate::driver::DriverHandle;
use crate::launch_queue::LaunchQueue;
use crate::metrics::Metrics;

/// Knobs of the controllers, with Marathon's defaults.
#[derive(Clone, Debug)]
pub struct ControllerConfig {
    /// FrameworkInfo.name.
    pub framework_name: String,
    /// FrameworkInfo.user: the user tasks run as when an app names none.
    pub mesos_user: String,
    /// How long Mesos keeps our tasks while we are away (Marathon: one week).
    pub failover_timeout: Duration,
    /// This server's advertised hostname (FrameworkInfo.hostname).
    pub hostname: String,
    /// The role offers are asked for (FrameworkInfo.roles, Marathon's --mesos_role).
    pub mesos_role: String,
    /// FrameworkInfo.principal, when the master authenticates frameworks.
    pub principal: Option<String>,
    /// Explicit reconciliation of all tasks runs this often (Marathon: 10 minutes).
    pub reconciliation_interval: Duration,
    /// A kill not yet confirmed is sent again after this long (Marathon: 30 s).
    pub kill_retry: Duration,
    /// How many apps are reconciled at once.
    pub concurrency: usize,
    /// Where the launch queue publishes what waiting apps made of offers (`/v2/queue`).
    pub offer_stats: watch::Sender<Arc<OfferStatsByApp>>,
    /// What the controllers count (`/metrics`).
    pub metrics: Metrics,
}

impl Default for ControllerConfig {
    fn default() -> Self {
        Self {
            framework_name: "marathon".into(),
            mesos_user: "root".into(),
            failover_timeout: Duration::from_secs(7 * 24 * 3600),
            hostname: "localhost".into(),
            mesos_role: "*".into(),
            principal: None,
            reconciliation_interval: Duration::from_secs(600),
            kill_retry: Duration::from_secs(30),
            concurrency: 16,
            offer_stats: watch::channel(Arc::default()).0,
            metrics: Metrics::default(),
        }
    }
}

pub struct Context {
    pub store: Store,
    pub queue: LaunchQueue,
    pub driver: DriverHandle,
    pub config: ControllerConfig,
}

impl Context {
    pub fn new(store: Store, config: ControllerConfig) -> Self {
        Self {
            driver: DriverHandle::new(config.kill_retry),
            store,
            queue: LaunchQueue::new(config.offer_stats.clone()),
            config,
        }
    }
}
