//! The event bus proper: numbers events, keeps a bounded history for `Last-Event-ID`
//! replays, and fans every event out to bounded per-listener queues.
//!
//! Publishing never waits on a listener. A listener whose queue is full is either cut off
//! (an SSE client: it reconnects and catches up from the history) or loses its oldest queued
//! event (an HTTP callback subscriber, which has no way to catch up).

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

use serde_json::{Map, Value};
use tokio::sync::Notify;

use super::payload::Payload;

/// One published event: its id, type and the JSON body Marathon clients see (with
/// `eventType` and `timestamp`), encoded once for every listener.
#[derive(Debug)]
pub(crate) struct Event {
    pub id: u64,
    pub event_type: &'static str,
    pub data: Arc<str>,
}

impl Event {
    /// The SSE frame of this event.
    pub(crate) fn frame(&self) -> String {
        format!("id: {}\nevent: {}\ndata: {}\n\n", self.id, self.event_type, self.data)
    }
}

/// What a full listener queue does with the next event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Overflow {
    /// Close the listener: it has fallen too far behind to be served live.
    Close,
    /// Drop the oldest queued event to make room.
    DropOldest,
}

/// Which events a listener wants: all, or only these types.
#[derive(Clone, Debug, Default)]
pub(crate) struct Filter(Option<Vec<String>>);

impl Filter {
    pub(crate) fn only(types: impl IntoIterator<Item = String>) -> Filter {
        let types: Vec<String> = types.into_iter().collect();
        Filter(if types.is_empty() { None } else { Some(types) })
    }

    fn accepts(&self, event_type: &str) -> bool {
        self.0.as_ref().is_none_or(|t| t.iter().any(|t| t == event_type))
    }
}

/// How a listener is set up.
#[derive(Clone, Debug)]
pub(crate) struct ListenerSpec {
    pub filter: Filter,
    pub capacity: usize,
    pub overflow: Overflow,
    /// What this listener is, for the log.
    pub name: String,
}

/// What a new listener gets before live events: the retained events after its
/// `Last-Event-ID`, and the ids it asked for that are no longer retained.
#[derive(Debug, Default)]
pub(crate) struct Replay {
    pub events: Vec<Arc<Event>>,
    /// `(first, last)` ids that were published but are gone from the history.
    pub missing: Option<(u64, u64)>,
}

pub(crate) struct Bus {
    state: Mutex<BusState>,
    history_capacity: usize,
}

struct BusState {
    next_id: u64,
    history: VecDeque<Arc<Event>>,
    listeners: HashMap<u64, Arc<Queue>>,
    next_listener: u64,
}

impl Bus {
    /// A bus whose first event gets `first_id`, keeping the last `history_capacity` events.
    pub(crate) fn new(first_id: u64, history_capacity: usize) -> Arc<Bus> {
        Arc::new(Bus {
            state: Mutex::new(BusState {
                next_id: first_id,
                history: VecDeque::with_capacity(history_capacity.min(1024)),
                listeners: HashMap::new(),
                next_listener: 0,
            }),
            history_capacity,
        })
    }

    fn lock(&self) -> MutexGuard<'_, BusState> {
        // Nothing panics while holding the lock; a poisoned one still holds consistent data.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Numbers `payload`, records it and hands it to every listener that wants it.
    pub(crate) fn publish(&self, payload: Payload) -> Arc<Event> {
        let event_type = payload.event_type();
        // Encoded outside the lock: an app definition can be large.
        let data: Arc<str> = encode(event_type, payload).into();
        let mut st = self.lock();
        let event = Arc::new(Event {
            id: st.next_id,
            event_type,
            data,
        });
        st.next_id += 1;
        if self.history_capacity > 0 {
            if st.history.len() == self.history_capacity {
                st.history.pop_front();
            }
            st.history.push_back(event.clone());
        }
        st.listeners.retain(|_, q| q.push(&event));
        event
    }

    /// Adds a listener. With `after` (a `Last-Event-ID`), the retained events after it that
    /// pass the filter come first, taken atomically with the registration so that nothing
    /// is missed or repeated between replay and live events.
    pub(crate) fn listen(self: &Arc<Self>, spec: ListenerSpec, after: Option<u64>) -> (Replay, Listener) {
        let mut st = self.lock();
        let replay = match after {
            Some(after) => replay(&st, after, &spec.filter),
            None => Replay::default(),
        };
        let id = st.next_listener;
        st.next_listener += 1;
        let queue = Arc::new(Queue::new(spec));
        st.listeners.insert(id, queue.clone());
        (
            replay,
            Listener {
                bus: self.clone(),
                id,
                queue,
            },
        )
    }

    /// Closes every listener (server shutdown): their streams end after what they hold.
    pub(crate) fn close_all(&self) {
        let listeners: Vec<Arc<Queue>> = self.lock().listeners.drain().map(|(_, q)| q).collect();
        for q in listeners {
            q.close();
        }
    }

    #[cfg(test)]
    pub(crate) fn listener_count(&self) -> usize {
        self.lock().listeners.len()
    }
}

fn replay(st: &BusState, after: u64, filter: &Filter) -> Replay {
    let oldest = st.history.front().map_or(st.next_id, |e| e.id);
    // An id from the future (another server, a clock step) cannot be placed: serve live only.
    if after >= st.next_id {
        return Replay::default();
    }
    let missing = (after.saturating_add(1) < oldest).then(|| (after + 1, oldest - 1));
    let skip = after.saturating_add(1).saturating_sub(oldest) as usize;
    let events = st
        .history
        .iter()
        .skip(skip)
        .filter(|e| filter.accepts(e.event_type))
        .cloned()
        .collect();
    Replay { events, missing }
}

fn encode(event_type: &'static str, payload: Payload) -> String {
    let mut body = match payload.into_json() {
        Value::Object(m) => m,
        other => {
            let mut m = Map::new();
            m.insert("value".into(), other);
            m
        }
    };
    body.insert("eventType".into(), Value::String(event_type.into()));
    body.entry("timestamp")
        .or_insert_with(|| serde_json::json!(schemas::Timestamp::now()));
    Value::Object(body).to_string()
}

/// One listener's queue.
struct Queue {
    spec: ListenerSpec,
    inner: Mutex<QueueState>,
    ready: Notify,
}

#[derive(Default)]
struct QueueState {
    events: VecDeque<Arc<Event>>,
    closed: bool,
    /// Events dropped since the queue last had room, for the log.
    dropped: u64,
}

impl Queue {
    fn new(spec: ListenerSpec) -> Queue {
        Queue {
            spec,
            inner: Mutex::new(QueueState::default()),
            ready: Notify::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, QueueState> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Queues `event`; false when the listener is closed and should be forgotten.
    fn push(&self, event: &Arc<Event>) -> bool {
        if !self.spec.filter.accepts(event.event_type) {
            return true;
        }
        let mut q = self.lock();
        if q.closed {
            return false;
        }
        if q.events.len() >= self.spec.capacity {
            match self.spec.overflow {
                Overflow::Close => {
                    tracing::warn!(
                        listener = %self.spec.name,
                        capacity = self.spec.capacity,
                        "event listener is too slow; closing it"
                    );
                    q.closed = true;
                    q.events.clear();
                    drop(q);
                    self.ready.notify_one();
                    return false;
                }
                Overflow::DropOldest => {
                    q.events.pop_front();
                    q.dropped += 1;
                    if q.dropped == 1 || q.dropped.is_multiple_of(1000) {
                        tracing::warn!(
                            listener = %self.spec.name,
                            dropped = q.dropped,
                            "event queue is full; dropping the oldest events"
                        );
                    }
                }
            }
        } else {
            q.dropped = 0;
        }
        q.events.push_back(event.clone());
        drop(q);
        self.ready.notify_one();
        true
    }

    fn close(&self) {
        self.lock().closed = true;
        self.ready.notify_one();
    }
}

/// The receiving end of a listener; unregisters itself when dropped.
pub(crate) struct Listener {
    bus: Arc<Bus>,
    id: u64,
    queue: Arc<Queue>,
}

impl Listener {
    /// The next event, or `None` once the listener was closed (too slow, or shutdown). A
    /// listener cut off for being slow loses what it had queued (it resumes from the history);
    /// one closed by shutdown gets what it had queued first.
    pub(crate) async fn next(&self) -> Option<Arc<Event>> {
        loop {
            {
                let mut q = self.queue.lock();
                if let Some(e) = q.events.pop_front() {
                    return Some(e);
                }
                if q.closed {
                    return None;
                }
            }
            // A notify_one between the check and here leaves a permit, so no wake-up is lost.
            self.queue.ready.notified().await;
        }
    }

    #[cfg(test)]
    pub(crate) fn try_next(&self) -> Option<Arc<Event>> {
        self.queue.lock().events.pop_front()
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        self.bus.lock().listeners.remove(&self.id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn payload(n: u64) -> Payload {
        Payload::new("test_event", json!({"n": n}))
    }

    fn spec(capacity: usize, overflow: Overflow) -> ListenerSpec {
        ListenerSpec {
            filter: Filter::default(),
            capacity,
            overflow,
            name: "test".into(),
        }
    }

    fn ids(events: &[Arc<Event>]) -> Vec<u64> {
        events.iter().map(|e| e.id).collect()
    }

    #[test]
    fn events_carry_consecutive_ids_type_and_timestamp() {
        let bus = Bus::new(100, 10);
        let a = bus.publish(payload(1));
        let b = bus.publish(payload(2));
        assert_eq!((a.id, b.id), (100, 101));
        let body: Value = serde_json::from_str(&a.data).unwrap();
        assert_eq!(body["eventType"], "test_event");
        assert_eq!(body["n"], 1);
        assert!(body["timestamp"].as_str().unwrap().ends_with('Z'));
        assert_eq!(a.frame(), format!("id: 100\nevent: test_event\ndata: {}\n\n", a.data));
    }

    #[test]
    fn replay_after_last_event_id_is_exact() {
        let bus = Bus::new(1, 100);
        for n in 0..10 {
            bus.publish(payload(n));
        }
        let (replay, listener) = bus.listen(spec(10, Overflow::Close), Some(6));
        assert_eq!(ids(&replay.events), vec![7, 8, 9, 10]);
        assert_eq!(replay.missing, None);
        // Live events continue exactly where the replay stopped.
        bus.publish(payload(10));
        assert_eq!(listener.try_next().unwrap().id, 11);
        // Caught up: nothing to replay. From the future: nothing either.
        assert!(bus.listen(spec(10, Overflow::Close), Some(11)).0.events.is_empty());
        assert!(bus.listen(spec(10, Overflow::Close), Some(500)).0.events.is_empty());
        // A fresh listener gets no replay at all.
        assert!(bus.listen(spec(10, Overflow::Close), None).0.events.is_empty());
    }

    #[test]
    fn replay_older_than_the_history_says_what_is_missing() {
        let bus = Bus::new(1, 5);
        for n in 0..12 {
            bus.publish(payload(n));
        }
        // Ids 8..=12 are retained.
        let (replay, _l) = bus.listen(spec(10, Overflow::Close), Some(3));
        assert_eq!(ids(&replay.events), vec![8, 9, 10, 11, 12]);
        assert_eq!(replay.missing, Some((4, 7)));
        let (replay, _l) = bus.listen(spec(10, Overflow::Close), Some(7));
        assert_eq!(replay.missing, None);
        assert_eq!(replay.events.len(), 5);
        // An id from before this server started (a smaller id base).
        let (replay, _l) = bus.listen(spec(10, Overflow::Close), Some(0));
        assert_eq!(replay.missing, Some((1, 7)));
    }

    #[test]
    fn filters_apply_to_replay_and_live_events() {
        let bus = Bus::new(1, 100);
        bus.publish(payload(0));
        bus.publish(Payload::new("other", json!({})));
        let filter = Filter::only(["other".to_string()]);
        let (replay, listener) = bus.listen(
            ListenerSpec {
                filter,
                ..spec(10, Overflow::Close)
            },
            Some(0),
        );
        assert_eq!(ids(&replay.events), vec![2]);
        bus.publish(payload(1));
        bus.publish(Payload::new("other", json!({})));
        assert_eq!(listener.try_next().unwrap().id, 4);
        assert!(listener.try_next().is_none());
    }

    #[tokio::test]
    async fn a_slow_listener_is_cut_off_and_resumes_from_the_history() {
        let bus = Bus::new(1, 10_000);
        let (_, slow) = bus.listen(spec(1024, Overflow::Close), None);
        let (_, fast) = bus.listen(spec(2048, Overflow::Close), None);
        for n in 0..1024 {
            bus.publish(payload(n));
        }
        assert_eq!(bus.listener_count(), 2, "a full queue is not yet an overflow");
        bus.publish(payload(1024));
        assert_eq!(bus.listener_count(), 1, "the slow listener is gone, the other stays");
        assert!(slow.next().await.is_none(), "the slow listener's stream ends");
        assert_eq!(fast.next().await.unwrap().id, 1);
        // Reconnecting with the last id it saw, it gets everything after it.
        let (replay, _) = bus.listen(spec(1024, Overflow::Close), Some(0));
        assert_eq!(replay.events.len(), 1025);
        assert_eq!(replay.missing, None);
    }

    #[tokio::test]
    async fn a_callback_queue_drops_its_oldest_events() {
        let bus = Bus::new(1, 0);
        let (_, l) = bus.listen(spec(3, Overflow::DropOldest), None);
        for n in 0..5 {
            bus.publish(payload(n));
        }
        assert_eq!(bus.listener_count(), 1);
        let got = vec![
            l.next().await.unwrap(),
            l.next().await.unwrap(),
            l.next().await.unwrap(),
        ];
        assert_eq!(ids(&got), vec![3, 4, 5]);
    }

    #[tokio::test]
    async fn a_waiting_listener_wakes_on_publish_and_on_close() {
        let bus = Bus::new(1, 0);
        let (_, l) = bus.listen(spec(3, Overflow::DropOldest), None);
        let waiter = tokio::spawn(async move { (l.next().await.map(|e| e.id), l.next().await.map(|e| e.id)) });
        tokio::task::yield_now().await;
        bus.publish(payload(0));
        tokio::task::yield_now().await;
        bus.close_all();
        assert_eq!(waiter.await.unwrap(), (Some(1), None));
        assert_eq!(bus.listener_count(), 0);
    }

    #[test]
    fn dropping_a_listener_unregisters_it() {
        let bus = Bus::new(1, 0);
        let (_, l) = bus.listen(spec(3, Overflow::Close), None);
        assert_eq!(bus.listener_count(), 1);
        drop(l);
        assert_eq!(bus.listener_count(), 0);
    }
}
