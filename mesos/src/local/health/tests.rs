//! The checker loop's timing and reports, on tokio's paused clock with scripted probes.

use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::Mutex;

use super::*;

const SECOND: Duration = Duration::from_secs(1);

type Check = Pin<Box<dyn Future<Output = Result<(), String>> + Send>>;
/// When each check started.
type Started = Arc<Mutex<Vec<Duration>>>;

/// A probe answering from `script` (how long it takes, whether it passes), then passing
/// at once; it records when each check started, relative to `origin`.
fn scripted(origin: Instant, script: Vec<(Duration, bool)>) -> (impl FnMut() -> Check, Started) {
    let started = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&started);
    let mut script = VecDeque::from(script);
    let probe = move || {
        log.lock().unwrap().push(origin.elapsed());
        let (takes, ok) = script.pop_front().unwrap_or((Duration::ZERO, true));
        Box::pin(async move {
            tokio::time::sleep(takes).await;
            if ok { Ok(()) } else { Err("scripted failure".to_owned()) }
        }) as Check
    };
    (probe, started)
}

fn timing(delay: u64, interval: u64, timeout: u64) -> Timing {
    Timing {
        delay: Duration::from_secs(delay),
        interval: Duration::from_secs(interval),
        timeout: Duration::from_secs(timeout),
    }
}

fn key() -> TaskKey {
    TaskKey::new("fw", "task")
}

#[tokio::test(start_paused = true)]
async fn checks_start_after_the_delay_and_repeat_after_the_interval() {
    let origin = Instant::now();
    let (probe, started) = scripted(origin, vec![(SECOND, true), (SECOND, true), (SECOND, false)]);
    let (tx, mut rx) = mpsc::unbounded_channel();
    let policy = Policy::new(Duration::ZERO, 3, None);
    let checker = tokio::spawn(run(key(), 7, timing(5, 2, 10), policy, origin, probe, tx));

    let first = rx.recv().await.unwrap();
    assert_eq!((first.id, first.outcome.report, first.failure), (7, Some(true), None));
    let flip = rx.recv().await.unwrap();
    assert_eq!(flip.outcome.report, Some(false));
    assert_eq!(flip.failure.as_deref(), Some("scripted failure"));
    // Each check starts `interval` after the previous one ended.
    assert_eq!(*started.lock().unwrap(), [5 * SECOND, 8 * SECOND, 11 * SECOND]);
    checker.abort();
}

#[tokio::test(start_paused = true)]
async fn a_check_that_outlives_its_timeout_fails_and_enough_failures_kill() {
    let origin = Instant::now();
    let slow = (Duration::from_secs(60), true);
    let (probe, started) = scripted(origin, vec![(SECOND, true), slow, slow]);
    let (tx, mut rx) = mpsc::unbounded_channel();
    let policy = Policy::new(Duration::ZERO, 2, None);
    let checker = tokio::spawn(run(key(), 1, timing(0, 1, 3), policy, origin, probe, tx));

    assert_eq!(rx.recv().await.unwrap().outcome.report, Some(true));
    let unhealthy = rx.recv().await.unwrap();
    assert_eq!(unhealthy.outcome.report, Some(false));
    assert_eq!(unhealthy.failure.as_deref(), Some("Health check timed out after 3s"));
    let kill = rx.recv().await.unwrap();
    assert_eq!(
        kill.outcome,
        Outcome {
            report: None,
            kill: Some(2)
        }
    );
    // The checker is done once it asked for the kill.
    checker.await.unwrap();
    assert!(rx.recv().await.is_none());
    assert_eq!(*started.lock().unwrap(), [Duration::ZERO, 2 * SECOND, 6 * SECOND]);
}

#[tokio::test(start_paused = true)]
async fn the_grace_period_and_delay_run_from_the_launch() {
    // Re-adopted 20 s after its launch: the 5 s delay and the 10 s grace period are over.
    let origin = Instant::now();
    let launched = origin.checked_sub(Duration::from_secs(20)).unwrap();
    let (probe, started) = scripted(origin, vec![(Duration::ZERO, false)]);
    let (tx, mut rx) = mpsc::unbounded_channel();
    let policy = Policy::new(Duration::from_secs(10), 3, None);
    let checker = tokio::spawn(run(key(), 1, timing(5, 1, 1), policy, launched, probe, tx));
    assert_eq!(rx.recv().await.unwrap().outcome.report, Some(false));
    assert_eq!(*started.lock().unwrap(), [Duration::ZERO]);
    checker.abort();

    // Fresh: failures during the grace period are not reported at all.
    let origin = Instant::now();
    let (probe, started) = scripted(origin, vec![(Duration::ZERO, false); 6]);
    let (tx, mut rx) = mpsc::unbounded_channel();
    let policy = Policy::new(Duration::from_secs(10), 3, None);
    let checker = tokio::spawn(run(key(), 1, timing(0, 2, 1), policy, origin, probe, tx));
    let first = rx.recv().await.unwrap();
    assert_eq!(first.outcome.report, Some(false));
    assert_eq!(started.lock().unwrap().last(), Some(&Duration::from_secs(10)));
    checker.abort();
}

#[tokio::test(start_paused = true)]
async fn a_checker_stops_when_the_master_is_gone() {
    let origin = Instant::now();
    let (probe, _) = scripted(origin, vec![(Duration::ZERO, false)]);
    let (tx, rx) = mpsc::unbounded_channel();
    drop(rx);
    let policy = Policy::new(Duration::ZERO, 0, None);
    let checker = tokio::spawn(run(key(), 1, timing(0, 1, 1), policy, origin, probe, tx));
    tokio::time::timeout(Duration::from_secs(60), checker)
        .await
        .expect("the checker ends")
        .unwrap();
}
