//! Frameworks known to the local master and their event streams.
//!
//! Each subscription gets an unbounded queue filled by the master and a small pump task that
//! forwards it into the bounded channel the scheduler reads, adds HEARTBEATs, and tells the
//! master when the scheduler dropped its receiver (the framework is then disconnected).

use std::time::Duration;

use tokio::sync::mpsc;
use tokio::time::{Instant, MissedTickBehavior, interval_at};
use uuid::Uuid;

use crate::v1::FrameworkInfo;
use crate::v1::framework_info::capability::Type as Capability;
use crate::v1::scheduler::Event;

use super::master::Command;
use super::status::heartbeat_event;

/// Events a scheduler may leave unread before the pump waits for it.
const EVENT_CHANNEL_CAPACITY: usize = 1024;

/// Failover timeouts beyond a year are treated as a year (timers cannot be infinite).
const MAX_FAILOVER_TIMEOUT: Duration = Duration::from_secs(365 * 24 * 3600);

pub(crate) struct Framework {
    pub info: FrameworkInfo,
    pub conn: Option<Subscription>,
    pub suppressed: bool,
    /// Bumped on every (re)subscription and disconnection, so stale failover timers are ignored.
    pub epoch: u64,
}

impl Framework {
    pub(crate) fn new(info: FrameworkInfo) -> Self {
        Self {
            info,
            conn: None,
            suppressed: false,
            epoch: 0,
        }
    }

    pub(crate) fn has(&self, capability: Capability) -> bool {
        self.info.capabilities.iter().any(|c| c.r#type() == capability)
    }

    pub(crate) fn partition_aware(&self) -> bool {
        self.has(Capability::PartitionAware)
    }

    /// The role offers are allocated to, written in `allocation_info` for MULTI_ROLE frameworks.
    pub(crate) fn allocation_role(&self) -> Option<String> {
        if !self.has(Capability::MultiRole) {
            return None;
        }
        Some(self.info.roles.first().cloned().unwrap_or_else(|| "*".to_owned()))
    }

    /// The roles the framework subscribed with (`roles` for MULTI_ROLE frameworks, else the
    /// deprecated single `role`, `*` by default).
    pub(crate) fn roles(&self) -> Vec<String> {
        if self.has(Capability::MultiRole) {
            return self.info.roles.clone();
        }
        vec![self.info.role().to_owned()]
    }

    pub(crate) fn failover_timeout(&self) -> Duration {
        failover_timeout(&self.info)
    }

    /// Queues an event on the live subscription, if any (events for a disconnected framework
    /// are dropped, as Mesos drops them; status updates are re-sent until acknowledged).
    pub(crate) fn send(&self, event: Event) {
        if let Some(conn) = &self.conn {
            let _ = conn.queue.send(event);
        }
    }
}

pub(crate) fn failover_timeout(info: &FrameworkInfo) -> Duration {
    let secs = info.failover_timeout();
    if secs.is_finite() && secs > 0.0 {
        Duration::try_from_secs_f64(secs)
            .unwrap_or(MAX_FAILOVER_TIMEOUT)
            .min(MAX_FAILOVER_TIMEOUT)
    } else {
        Duration::ZERO
    }
}

/// The master's end of one subscription's event stream.
pub(crate) struct Subscription {
    pub stream_id: Uuid,
    queue: mpsc::UnboundedSender<Event>,
}

impl Subscription {
    /// Opens a stream: the returned receiver is what the scheduler reads.
    pub(crate) fn open(
        framework_id: String,
        heartbeat: Duration,
        master: mpsc::Sender<Command>,
    ) -> (Subscription, mpsc::Receiver<Event>) {
        let stream_id = Uuid::new_v4();
        let (queue, queued) = mpsc::unbounded_channel();
        let (out, events) = mpsc::channel(EVENT_CHANNEL_CAPACITY);
        tokio::spawn(pump(
            queued,
            out,
            heartbeat,
            move || Command::StreamClosed {
                framework_id,
                stream_id,
            },
            master,
        ));
        (Subscription { stream_id, queue }, events)
    }

    pub(crate) fn send(&self, event: Event) {
        let _ = self.queue.send(event);
    }
}

async fn pump(
    mut queued: mpsc::UnboundedReceiver<Event>,
    out: mpsc::Sender<Event>,
    heartbeat: Duration,
    closed: impl FnOnce() -> Command,
    master: mpsc::Sender<Command>,
) {
    let mut ticks = interval_at(Instant::now() + heartbeat, heartbeat);
    ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        let event = tokio::select! {
            event = queued.recv() => match event {
                Some(event) => event,
                // The master ended this stream (failover, teardown, shutdown).
                None => return,
            },
            _ = ticks.tick() => heartbeat_event(),
            () = out.closed() => break,
        };
        if out.send(event).await.is_err() {
            break;
        }
    }
    let _ = master.send(closed()).await;
}
