//! Marathon's event bus: events derived from the store's changes and from the API's own
//! writes, served as server-sent events on `/v2/events` and POSTed to the HTTP callback
//! subscribers of `/v2/eventSubscriptions`.
//!
//! One background task follows [`store::Store::subscribe`]: it keeps a shadow of instances,
//! deployments, apps and subscriptions, turns each change set into events (see `derive`) and
//! publishes them on the bus (see `bus`), which numbers them, keeps the last
//! [`EventConfig::history`] for `Last-Event-ID` replays, and fans them out to bounded queues.
//! Events the API alone can know about (who posted an app, which deletion of a deployment
//! was a cancel) are announced to that task before the write (see `intents`), so every
//! event of one write comes out together and in a fixed order.
//!
//! Event ids start at the server's start time in microseconds and count up by one, so they
//! keep increasing across restarts (at under a million events a second) and a client's
//! `Last-Event-ID` from before a restart is simply older than the history.

mod bus;
mod callbacks;
mod derive;
mod intents;
pub(crate) mod origin;
mod payload;
pub(crate) mod sse;
pub(crate) mod subscriptions;

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use schemas::{PathId, Timestamp};
use store::{ChangeSet, Store};
use tokio::sync::{broadcast, watch};

use self::bus::{Bus, Event};
use self::callbacks::Callbacks;
use self::derive::{Attribution, Deriver};
use self::intents::{CancelGuard, Intents, PostGuard};
pub(crate) use self::payload::Payload;
use crate::error::ApiError;

/// Sizes and timings of the event bus.
#[derive(Clone, Debug)]
pub struct EventConfig {
    /// This server's hostname: tasks on it are reported at 127.0.0.1.
    pub hostname: String,
    /// How many past events are kept for `Last-Event-ID` replays.
    pub history: usize,
    /// Events an SSE client may fall behind before it is disconnected (Marathon's
    /// `--event_stream_max_outstanding_messages`).
    pub stream_buffer: usize,
    /// Silence after which an SSE client gets a keep-alive comment.
    pub keep_alive: Duration,
    /// Events queued per callback subscriber; beyond it the oldest are dropped.
    pub callback_queue: usize,
    /// The first and the longest wait before retrying a failed callback POST.
    pub callback_backoff_min: Duration,
    pub callback_backoff_max: Duration,
    /// How long one callback POST may take.
    pub callback_timeout: Duration,
}

impl Default for EventConfig {
    fn default() -> Self {
        EventConfig {
            hostname: "localhost".into(),
            history: 10_000,
            stream_buffer: 1024,
            keep_alive: Duration::from_secs(15),
            callback_queue: 10_000,
            callback_backoff_min: Duration::from_secs(1),
            callback_backoff_max: Duration::from_secs(60),
            callback_timeout: Duration::from_secs(10),
        }
    }
}

/// A handle to the event bus; cheap to clone. The background task stops when the last
/// handle is dropped.
#[derive(Clone)]
pub struct EventBus(Arc<Shared>);

struct Shared {
    bus: Arc<Bus>,
    intents: Arc<Intents>,
    config: EventConfig,
    /// Dropped with the last handle, which stops the background task.
    _stop: watch::Sender<()>,
}

impl EventBus {
    /// Starts deriving events from `store`'s changes from now on. Needs a Tokio runtime.
    pub fn start(store: &Store, config: EventConfig) -> EventBus {
        let first_id = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(1, |d| d.as_micros() as u64);
        let bus = Bus::new(first_id, config.history);
        let intents = Arc::new(Intents::default());
        // Subscribe before reading, so that no change falls between the shadow and the stream.
        let changes = store.subscribe();
        let (deriver, revision) = store.read(|s| (Deriver::new(s, &config.hostname), s.revision()));
        let (stop_tx, stop_rx) = watch::channel(());
        let follower = Follower {
            store: store.clone(),
            deriver,
            revision,
            bus: bus.clone(),
            intents: intents.clone(),
            callbacks: Callbacks::new(bus.clone(), config.clone()),
        };
        tokio::spawn(follower.run(changes, stop_rx));
        EventBus(Arc::new(Shared {
            bus,
            intents,
            config,
            _stop: stop_tx,
        }))
    }

    /// Ends every event stream (their clients see the response end), so that a graceful
    /// HTTP shutdown is not held up by clients that never hang up.
    pub fn close_streams(&self) {
        self.0.bus.close_all();
    }

    pub(crate) fn config(&self) -> &EventConfig {
        &self.0.config
    }

    pub(crate) fn bus(&self) -> &Arc<Bus> {
        &self.0.bus
    }

    pub(crate) fn publish(&self, payload: Payload) -> Arc<Event> {
        self.0.bus.publish(payload)
    }

    /// Announces the write that will create deployment `deployment_id`, when the request
    /// being handled posts an app (see [`origin`]). Call [`PostGuard::applied`] once it is.
    pub(crate) fn app_post(&self, deployment_id: &str) -> Option<PostGuard> {
        let origin = origin::current().filter(|o| o.posts_app)?;
        Some(self.0.intents.post(deployment_id, origin))
    }

    /// Announces that the API is about to delete deployment `id` as a cancellation.
    pub(crate) fn cancel(&self, id: &str) -> CancelGuard {
        self.0.intents.cancel(id)
    }

    /// Publishes `group_change_failed` when `err` is a deployment lock conflict of a change
    /// of `apps` (made to `group`, for `/v2/groups`) at `version`.
    pub(crate) fn change_failed(&self, err: &ApiError, group: Option<&PathId>, apps: &[PathId], version: Timestamp) {
        if let ApiError::Locked(ids) = err {
            let reason = format!("App is locked by one or more deployments: {}", ids.join(", "));
            let group = group.cloned().unwrap_or_else(|| payload::group_of(apps));
            self.publish(payload::group_change_failed(&group, version, &reason));
        }
    }
}

/// The background task: follows the store's changes and publishes what they mean.
struct Follower {
    store: Store,
    deriver: Deriver,
    /// The last revision turned into events.
    revision: u64,
    bus: Arc<Bus>,
    intents: Arc<Intents>,
    callbacks: Callbacks,
}

impl Follower {
    async fn run(mut self, mut changes: broadcast::Receiver<Arc<ChangeSet>>, mut stop: watch::Receiver<()>) {
        let known: Vec<String> = self.deriver.subscriptions().cloned().collect();
        for url in known {
            self.callbacks.add(url);
        }
        loop {
            let next = tokio::select! {
                _ = stop.changed() => return,
                next = changes.recv() => next,
            };
            match next {
                Ok(cs) if cs.revision <= self.revision => {}
                Ok(cs) => {
                    let attribution = self.attribute(&cs).await;
                    self.publish(&cs, &attribution);
                }
                Err(broadcast::error::RecvError::Lagged(n)) => {
                    tracing::warn!(
                        missed = n,
                        "event bus fell behind the store; catching up from its state"
                    );
                    let cs = self.store.read(|s| self.deriver.catch_up(s));
                    let cancelled = self.intents.take_applied_cancels().into_iter().collect();
                    let posts = self
                        .deriver
                        .new_deployments(&cs)
                        .into_iter()
                        .filter_map(|id| self.intents.take_post(&id).map(|o| (id, o)))
                        .collect();
                    self.publish(&cs, &Attribution { posts, cancelled });
                }
                Err(broadcast::error::RecvError::Closed) => return,
            }
        }
    }

    async fn attribute(&self, cs: &ChangeSet) -> Attribution {
        let mut a = Attribution::default();
        for id in self.deriver.new_deployments(cs) {
            if let Some(origin) = self.intents.take_post(&id) {
                a.posts.insert(id, origin);
            }
        }
        for id in self.deriver.deletions_to_attribute(cs) {
            if self.intents.was_cancelled(&id, cs.revision).await {
                a.cancelled.insert(id);
            }
        }
        a
    }

    fn publish(&mut self, cs: &ChangeSet, attribution: &Attribution) {
        self.revision = cs.revision;
        let derived = self.deriver.apply(cs, attribution);
        for event in derived.events {
            self.bus.publish(event);
        }
        for url in derived.unsubscribed {
            self.callbacks.remove(&url);
        }
        for url in derived.subscribed {
            self.callbacks.add(url);
        }
    }
}
