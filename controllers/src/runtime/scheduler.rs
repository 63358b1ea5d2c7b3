//! Delays and de-duplicates reconcile requests: a key asked for several times before it is due
//! runs once, at the earliest time asked for.

use std::collections::HashMap;
use std::hash::Hash;

use futures::StreamExt;
use tokio::time::Instant;
use tokio_util::time::{DelayQueue, delay_queue};

/// A queue of keys, each due at one instant.
pub struct Scheduler<K> {
    queue: DelayQueue<K>,
    entries: HashMap<K, (delay_queue::Key, Instant)>,
}

impl<K: Clone + Eq + Hash> Default for Scheduler<K> {
    fn default() -> Self {
        Self {
            queue: DelayQueue::new(),
            entries: HashMap::new(),
        }
    }
}

impl<K: Clone + Eq + Hash> Scheduler<K> {
    /// Asks for `key` to be due at `at`; an earlier request for the same key wins.
    pub fn schedule(&mut self, key: K, at: Instant) {
        match self.entries.get_mut(&key) {
            Some((qkey, due)) => {
                if at < *due {
                    self.queue.reset_at(qkey, at);
                    *due = at;
                }
            }
            None => {
                let qkey = self.queue.insert_at(key.clone(), at);
                self.entries.insert(key, (qkey, at));
            }
        }
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The next due key; pending forever while the queue is empty.
    pub async fn next_due(&mut self) -> K {
        loop {
            if self.queue.is_empty() {
                futures::future::pending::<()>().await;
            }
            if let Some(expired) = self.queue.next().await {
                let key = expired.into_inner();
                self.entries.remove(&key);
                return key;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[tokio::test(start_paused = true)]
    async fn duplicates_collapse_to_the_earliest() {
        let mut s = Scheduler::default();
        let now = Instant::now();
        s.schedule("a", now + Duration::from_secs(10));
        s.schedule("a", now + Duration::from_secs(2));
        s.schedule("a", now + Duration::from_secs(5));
        s.schedule("b", now + Duration::from_secs(3));
        assert_eq!(s.len(), 2);
        assert_eq!(s.next_due().await, "a");
        assert_eq!(Instant::now() - now, Duration::from_secs(2));
        assert_eq!(s.next_due().await, "b");
        assert!(s.is_empty());
    }
}
