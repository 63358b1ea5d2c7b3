//! Delivery to HTTP callback subscribers: one task per callback URL POSTs every event, in
//! order, as its JSON body, retrying a failed POST with exponential backoff. Each subscriber
//! has its own bounded queue on the bus, so a dead subscriber loses its oldest events and
//! never slows the API or the other subscribers.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinHandle;

use super::EventConfig;
use super::bus::{Bus, Event, Filter, Listener, ListenerSpec, Overflow};

/// Why one POST to a subscriber failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum DeliveryError {
    /// No answer: connection refused, timed out, or broken.
    #[error("POST failed: {0}")]
    Http(#[from] reqwest::Error),
    /// The subscriber answered with a status other than 2xx.
    #[error("subscriber answered {0}")]
    Status(u16),
}

/// The delivery tasks, by callback URL; they stop when this is dropped.
pub(crate) struct Callbacks {
    bus: Arc<Bus>,
    config: EventConfig,
    client: reqwest::Client,
    workers: HashMap<String, JoinHandle<()>>,
}

impl Callbacks {
    pub(crate) fn new(bus: Arc<Bus>, config: EventConfig) -> Callbacks {
        let client = reqwest::Client::builder()
            .timeout(config.callback_timeout)
            .build()
            .unwrap_or_else(|e| {
                tracing::warn!("callback HTTP client with defaults ({e})");
                reqwest::Client::new()
            });
        Callbacks {
            bus,
            config,
            client,
            workers: HashMap::new(),
        }
    }

    /// Starts delivering to `url` from the next event on.
    pub(crate) fn add(&mut self, url: String) {
        if self.workers.contains_key(&url) {
            return;
        }
        let spec = ListenerSpec {
            filter: Filter::default(),
            capacity: self.config.callback_queue,
            overflow: Overflow::DropOldest,
            name: format!("callback {url}"),
        };
        let (_, listener) = self.bus.listen(spec, None);
        let client = self.client.clone();
        let target = url.clone();
        let send = move |event: Arc<Event>| post(client.clone(), target.clone(), event);
        let backoff = (self.config.callback_backoff_min, self.config.callback_backoff_max);
        tracing::info!(url = %url, "delivering events to a callback subscriber");
        self.workers
            .insert(url.clone(), tokio::spawn(deliver(url, listener, backoff, send)));
    }

    /// Stops delivering to `url`; what is queued for it is dropped.
    pub(crate) fn remove(&mut self, url: &str) {
        if let Some(worker) = self.workers.remove(url) {
            tracing::info!(url = %url, "callback subscriber removed");
            worker.abort();
        }
    }
}

impl Drop for Callbacks {
    fn drop(&mut self) {
        for (_, worker) in self.workers.drain() {
            worker.abort();
        }
    }
}

async fn post(client: reqwest::Client, url: String, event: Arc<Event>) -> Result<(), DeliveryError> {
    let res = client
        .post(&url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(event.data.to_string())
        .send()
        .await?;
    if res.status().is_success() {
        Ok(())
    } else {
        Err(DeliveryError::Status(res.status().as_u16()))
    }
}

/// Sends every event of `listener` with `send`, in order; a failure is retried after a
/// delay that starts at `backoff.0` and doubles up to `backoff.1`, until it succeeds.
async fn deliver<F, Fut>(url: String, listener: Listener, backoff: (Duration, Duration), mut send: F)
where
    F: FnMut(Arc<Event>) -> Fut,
    Fut: Future<Output = Result<(), DeliveryError>>,
{
    while let Some(event) = listener.next().await {
        let mut delay = backoff.0;
        while let Err(e) = send(event.clone()).await {
            tracing::warn!(url = %url, event = event.id, retry_in = ?delay, "event delivery failed: {e}");
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(backoff.1);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use serde_json::json;
    use tokio::time::Instant;

    use super::*;
    use crate::events::payload::Payload;

    #[tokio::test(start_paused = true)]
    async fn failures_are_retried_in_order_with_doubling_backoff() {
        let bus = Bus::new(1, 0);
        let spec = ListenerSpec {
            filter: Filter::default(),
            capacity: 10,
            overflow: Overflow::DropOldest,
            name: "t".into(),
        };
        let (_, listener) = bus.listen(spec, None);
        let attempts: Arc<Mutex<Vec<(u64, Duration)>>> = Arc::default();
        let start = Instant::now();
        let log = attempts.clone();
        let send = move |event: Arc<Event>| {
            let log = log.clone();
            async move {
                let mut log = log.lock().unwrap();
                log.push((event.id, start.elapsed()));
                // Event 1 fails five times, then every attempt succeeds.
                if log.len() <= 5 {
                    Err(DeliveryError::Status(503))
                } else {
                    Ok(())
                }
            }
        };
        let worker = tokio::spawn(deliver(
            "u".into(),
            listener,
            (Duration::from_secs(1), Duration::from_secs(8)),
            send,
        ));
        bus.publish(Payload::new("a", json!({})));
        bus.publish(Payload::new("b", json!({})));
        tokio::time::sleep(Duration::from_secs(60)).await;
        let got = attempts.lock().unwrap().clone();
        let secs = |s: u64| Duration::from_secs(s);
        assert_eq!(
            got,
            vec![
                (1, secs(0)),
                (1, secs(1)),
                (1, secs(3)),
                (1, secs(7)),
                (1, secs(15)),
                (1, secs(23)),
                (2, secs(23))
            ],
            "1 s, 2 s, 4 s, 8 s, then capped at 8 s; event 2 only after event 1"
        );
        worker.abort();
    }
}
