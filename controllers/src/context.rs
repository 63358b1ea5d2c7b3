//! What every controller shares: the store, the launch queue, the driver.

use std::time::Duration;

use store::Store;

use crate::driver::DriverHandle;
use crate::launch_queue::LaunchQueue;

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
    /// Explicit reconciliation of all tasks runs this often (Marathon: 10 minutes).
    pub reconciliation_interval: Duration,
    /// A kill not yet confirmed is sent again after this long (Marathon: 30 s).
    pub kill_retry: Duration,
    /// How many apps are reconciled at once.
    pub concurrency: usize,
}

impl Default for ControllerConfig {
    fn default() -> Self {
        Self {
            framework_name: "marathon".into(),
            mesos_user: "root".into(),
            failover_timeout: Duration::from_secs(7 * 24 * 3600),
            hostname: "localhost".into(),
            reconciliation_interval: Duration::from_secs(600),
            kill_retry: Duration::from_secs(30),
            concurrency: 16,
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
            queue: LaunchQueue::default(),
            config,
        }
    }
}
