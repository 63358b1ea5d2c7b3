//! Runs reconciles for due keys: at most `concurrency` at once, never two for one key. A key
//! triggered while its reconcile runs is run again right after, so no change is missed.

use std::collections::{HashSet, VecDeque};
use std::fmt::{Debug, Display};
use std::future::Future;
use std::hash::Hash;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio::time::Instant;

use super::{Action, Scheduler};

/// The error side of a reconcile, as the runtime sees it: something to log and retry.
pub trait ReconcileError: Display + Send + 'static {}
impl<T: Display + Send + 'static> ReconcileError for T {}

/// Told how long each reconcile took, failed ones included.
type Timer = Arc<dyn Fn(Duration) + Send + Sync>;

/// Drives one controller.
pub struct Applier {
    concurrency: usize,
    timer: Option<Timer>,
}

impl Applier {
    pub fn new(concurrency: usize) -> Self {
        Self {
            concurrency: concurrency.max(1),
            timer: None,
        }
    }

    /// Calls `timer` with the duration of every reconcile (for the reconcile histograms).
    pub fn timed(self, timer: impl Fn(Duration) + Send + Sync + 'static) -> Self {
        Self {
            timer: Some(Arc::new(timer)),
            ..self
        }
    }

    /// Runs until `triggers` closes. `reconcile` is called with each due key; `error_policy`
    /// turns a failed reconcile into the action to take (usually a requeue with backoff).
    pub async fn run<K, F, Fut, E, P>(self, mut triggers: mpsc::UnboundedReceiver<K>, reconcile: F, error_policy: P)
    where
        K: Clone + Eq + Hash + Debug + Send + 'static,
        F: Fn(K) -> Fut,
        Fut: Future<Output = Result<Action, E>> + Send + 'static,
        E: ReconcileError,
        P: Fn(&K, &E) -> Action,
    {
        let mut scheduler = Scheduler::default();
        let mut ready: VecDeque<K> = VecDeque::new();
        let mut running: HashSet<K> = HashSet::new();
        let mut dirty: HashSet<K> = HashSet::new();
        let mut tasks: JoinSet<(K, Result<Action, E>)> = JoinSet::new();

        loop {
            // Start what is ready, within the concurrency limit.
            while running.len() < self.concurrency {
                let Some(key) = ready.pop_front() else { break };
                if running.contains(&key) {
                    dirty.insert(key);
                    continue;
                }
                running.insert(key.clone());
                let fut = reconcile(key.clone());
                let timer = self.timer.clone();
                tasks.spawn(async move {
                    let started = Instant::now();
                    let result = fut.await;
                    if let Some(timer) = timer {
                        timer(started.elapsed());
                    }
                    (key, result)
                });
            }

            tokio::select! {
                trigger = triggers.recv() => match trigger {
                    Some(key) => scheduler.schedule(key, Instant::now()),
                    None => break,
                },
                key = scheduler.next_due(), if ready.len() < 4 * self.concurrency => {
                    if !ready.contains(&key) {
                        ready.push_back(key);
                    }
                }
                Some(joined) = tasks.join_next(), if !tasks.is_empty() => {
                    let (key, result) = match joined {
                        Ok(done) => done,
                        Err(e) => {
                            // A panicking reconcile is a bug; the key is lost until its next trigger.
                            tracing::error!(error = %e, "reconcile task failed");
                            continue;
                        }
                    };
                    running.remove(&key);
                    let action = match &result {
                        Ok(action) => *action,
                        Err(e) => {
                            tracing::warn!(?key, error = %e, "reconcile failed");
                            error_policy(&key, e)
                        }
                    };
                    if dirty.remove(&key) {
                        scheduler.schedule(key, Instant::now());
                    } else if let Some(after) = action.requeue_after() {
                        scheduler.schedule(key, Instant::now() + after);
                    }
                }
            }
        }
        tasks.shutdown().await;
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use parking_lot::Mutex;

    use super::*;

    #[tokio::test(start_paused = true)]
    async fn never_runs_one_key_twice_at_once_and_reruns_when_dirty() {
        let (tx, rx) = mpsc::unbounded_channel();
        let running = Arc::new(AtomicUsize::new(0));
        let runs = Arc::new(AtomicUsize::new(0));
        let (r2, n2) = (running.clone(), runs.clone());
        let handle = tokio::spawn(Applier::new(4).run(
            rx,
            move |_k: &'static str| {
                let (running, runs) = (r2.clone(), n2.clone());
                async move {
                    assert_eq!(
                        running.fetch_add(1, Ordering::SeqCst),
                        0,
                        "concurrent reconcile of one key"
                    );
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    running.fetch_sub(1, Ordering::SeqCst);
                    runs.fetch_add(1, Ordering::SeqCst);
                    Ok::<_, String>(Action::await_change())
                }
            },
            |_, _| Action::await_change(),
        ));
        tx.send("a").unwrap();
        tokio::time::sleep(Duration::from_millis(10)).await;
        // Triggers during the run collapse into one re-run.
        tx.send("a").unwrap();
        tx.send("a").unwrap();
        tokio::time::sleep(Duration::from_secs(1)).await;
        assert_eq!(runs.load(Ordering::SeqCst), 2);
        drop(tx);
        handle.await.unwrap();
    }

    #[tokio::test(start_paused = true)]
    async fn times_every_reconcile() {
        let (tx, rx) = mpsc::unbounded_channel();
        let took = Arc::new(Mutex::new(Vec::new()));
        let t2 = took.clone();
        let handle = tokio::spawn(Applier::new(2).timed(move |d| t2.lock().push(d)).run(
            rx,
            |k: u64| async move {
                tokio::time::sleep(Duration::from_millis(k)).await;
                if k > 100 {
                    Err("slow".to_string())
                } else {
                    Ok(Action::await_change())
                }
            },
            |_, _| Action::await_change(),
        ));
        tx.send(30).unwrap();
        tx.send(250).unwrap();
        tokio::time::sleep(Duration::from_secs(1)).await;
        let mut took = took.lock().clone();
        took.sort();
        assert_eq!(took, vec![Duration::from_millis(30), Duration::from_millis(250)]);
        drop(tx);
        handle.await.unwrap();
    }

    #[tokio::test(start_paused = true)]
    async fn requeues_and_applies_error_policy() {
        let (tx, rx) = mpsc::unbounded_channel();
        let times = Arc::new(Mutex::new(Vec::new()));
        let t2 = times.clone();
        let start = Instant::now();
        let handle = tokio::spawn(Applier::new(1).run(
            rx,
            move |k: u32| {
                let times = t2.clone();
                async move {
                    let mut times = times.lock();
                    times.push((k, Instant::now() - start));
                    match times.len() {
                        1 => Ok(Action::requeue(Duration::from_secs(5))),
                        2 => Err("boom".to_string()),
                        _ => Ok(Action::await_change()),
                    }
                }
            },
            |_, _| Action::requeue(Duration::from_secs(1)),
        ));
        tx.send(7).unwrap();
        tokio::time::sleep(Duration::from_secs(30)).await;
        let times = times.lock().clone();
        assert_eq!(
            times,
            vec![
                (7, Duration::ZERO),
                (7, Duration::from_secs(5)),
                (7, Duration::from_secs(6))
            ]
        );
        drop(tx);
        handle.await.unwrap();
    }
}
