//! Three stores in one process as one raft cluster, talking HTTP on loopback through the same
//! `/internal/raft/{rpc}` route the server mounts: replication, failover and rejoin, a leader
//! cut off from its quorum stepping back before another is elected, and a node catching up by
//! snapshot after the log it missed was purged.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use anyhow::{Context, Result, bail, ensure};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State as Shared};
use axum::http::StatusCode;
use axum::routing::post;
use parking_lot::Mutex;
use schemas::Record;
use store::{Error, Op, State, Store, StoreConfig};
use tempfile::TempDir;
use tokio::time::Instant;

const WAIT: Duration = Duration::from_secs(30);

/// Which nodes are cut off from the rest: an RPC crosses only between nodes on the same side.
#[derive(Default)]
struct Net {
    isolated: Mutex<BTreeSet<u64>>,
    /// RPCs whose sender could not be read; the partition would not hold for them.
    unknown_senders: AtomicUsize,
}

impl Net {
    fn cut(&self, from: u64, to: u64) -> bool {
        let isolated = self.isolated.lock();
        isolated.contains(&from) != isolated.contains(&to)
    }
}

type Slot = Arc<Mutex<Option<Store>>>;

/// Serves raft's RPCs for node `id` while its store runs; a stopped node refuses them.
async fn raft_rpc(
    Shared((id, slot, net)): Shared<(u64, Slot, Arc<Net>)>,
    Path(rpc): Path<String>,
    body: Bytes,
) -> Result<Vec<u8>, StatusCode> {
    // Every raft RPC carries the sender's vote: the leader's (append, snapshot) or the
    // candidate's (vote).
    let sender = serde_json::from_slice::<serde_json::Value>(&body)
        .ok()
        .and_then(|v| v["vote"]["leader_id"]["node_id"].as_u64());
    let Some(sender) = sender else {
        net.unknown_senders.fetch_add(1, Ordering::Relaxed);
        return Err(StatusCode::BAD_REQUEST);
    };
    if net.cut(sender, id) {
        return Err(StatusCode::SERVICE_UNAVAILABLE);
    }
    let store = slot.lock().clone().ok_or(StatusCode::SERVICE_UNAVAILABLE)?;
    store.raft_rpc(&rpc, &body).await.map_err(|_| StatusCode::BAD_REQUEST)
}

struct Node {
    dir: TempDir,
    slot: Slot,
}

struct Cluster {
    nodes: BTreeMap<u64, Node>,
    peers: BTreeMap<u64, String>,
    net: Arc<Net>,
}

impl Cluster {
    async fn start(size: u64) -> Result<Cluster> {
        let net = Arc::new(Net::default());
        let (mut nodes, mut peers) = (BTreeMap::new(), BTreeMap::new());
        for id in 1..=size {
            let slot = Slot::default();
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
            peers.insert(id, listener.local_addr()?.to_string());
            let app =
                Router::new()
                    .route("/internal/raft/{rpc}", post(raft_rpc))
                    .with_state((id, slot.clone(), net.clone()));
            tokio::spawn(async move { axum::serve(listener, app).await });
            nodes.insert(
                id,
                Node {
                    dir: TempDir::new()?,
                    slot,
                },
            );
        }
        let cluster = Cluster { nodes, peers, net };
        for id in 1..=size {
            cluster.open(id).await?;
        }
        Ok(cluster)
    }

    async fn open(&self, id: u64) -> Result<()> {
        let node = &self.nodes[&id];
        let store = Store::open(StoreConfig {
            data_dir: Some(node.dir.path().to_path_buf()),
            node_id: id,
            peers: self.peers.clone(),
        })
        .await?;
        *node.slot.lock() = Some(store);
        Ok(())
    }

    async fn stop(&self, id: u64) {
        let store = self.nodes[&id].slot.lock().take();
        if let Some(store) = store {
            store.shutdown().await;
        }
    }

    fn store(&self, id: u64) -> Store {
        self.nodes[&id].slot.lock().clone().expect("node is running")
    }

    fn running(&self) -> Vec<u64> {
        let running = |n: &&Node| n.slot.lock().is_some();
        self.nodes
            .iter()
            .filter(|(_, n)| running(n))
            .map(|(id, _)| *id)
            .collect()
    }

    /// The one node of `among` that acts as leader and that the others of `among` follow.
    async fn leader(&self, among: &[u64]) -> Result<u64> {
        let deadline = Instant::now() + WAIT;
        loop {
            let acting: Vec<u64> = among
                .iter()
                .copied()
                .filter(|id| *self.store(*id).leadership().borrow())
                .collect();
            if let [leader] = acting[..]
                && among
                    .iter()
                    .all(|id| self.store(*id).leader().map(|(l, _)| l) == Some(leader))
            {
                return Ok(leader);
            }
            if Instant::now() > deadline {
                bail!("no agreed leader among {among:?}; acting: {acting:?}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits until every running node has applied the same state, and returns it.
    async fn converged(&self) -> Result<State> {
        let deadline = Instant::now() + WAIT;
        loop {
            let states: Vec<State> = self
                .running()
                .iter()
                .map(|id| self.store(*id).read(State::clone))
                .collect();
            if states.windows(2).all(|w| w[0] == w[1]) {
                return Ok(states.into_iter().next().unwrap_or_default());
            }
            if Instant::now() > deadline {
                let sizes: Vec<usize> = states.iter().map(State::len).collect();
                bail!("the nodes did not converge: sizes {sizes:?}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

fn put(key: &str) -> Vec<Op> {
    vec![Op::put(key, Record::FrameworkId(key.to_owned()))]
}

async fn write_keys(store: &Store, prefix: &str, n: usize) -> Result<()> {
    for i in 0..n {
        store.write_ops(put(&format!("{prefix}/{i}"))).await?;
    }
    Ok(())
}

fn count(state: &State, prefix: &str) -> usize {
    state.scan(prefix).count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_replicate_survive_the_leader_and_reach_it_when_it_returns() -> Result<()> {
    let cluster = Cluster::start(3).await?;
    let leader = cluster.leader(&[1, 2, 3]).await?;
    write_keys(&cluster.store(leader), "one", 50).await?;
    ensure!(count(&cluster.converged().await?, "one/") == 50);

    let follower = if leader == 1 { 2 } else { 1 };
    let refused = cluster.store(follower).write_ops(put("via-follower")).await;
    ensure!(
        matches!(refused, Err(Error::NotLeader)),
        "a follower took a write: {refused:?}"
    );

    cluster.stop(leader).await;
    let rest: Vec<u64> = cluster.running();
    let next = cluster.leader(&rest).await?;
    ensure!(next != leader);
    write_keys(&cluster.store(next), "two", 50).await?;

    cluster.open(leader).await?;
    let state = cluster.converged().await?;
    ensure!(count(&state, "one/") == 50 && count(&state, "two/") == 50);
    cluster.leader(&[1, 2, 3]).await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leader_cut_off_stops_acting_before_another_is_elected_and_rejoins_without_divergence() -> Result<()> {
    let cluster = Cluster::start(3).await?;
    let old = cluster.leader(&[1, 2, 3]).await?;
    write_keys(&cluster.store(old), "before", 10).await?;
    cluster.converged().await?;

    // Record when the old leader stops acting and when any other node starts.
    let stopped_at = Arc::new(Mutex::new(None));
    let started_at = Arc::new(Mutex::new(None));
    let mut watch = cluster.store(old).leadership();
    let mark = stopped_at.clone();
    tokio::spawn(async move {
        while watch.changed().await.is_ok() {
            if !*watch.borrow() {
                mark.lock().get_or_insert(Instant::now());
            }
        }
    });
    let others: Vec<u64> = [1, 2, 3].into_iter().filter(|id| *id != old).collect();
    for id in &others {
        let (mut watch, mark) = (cluster.store(*id).leadership(), started_at.clone());
        tokio::spawn(async move {
            while watch.changed().await.is_ok() {
                if *watch.borrow() {
                    mark.lock().get_or_insert(Instant::now());
                }
            }
        });
    }

    cluster.net.isolated.lock().insert(old);
    let new = cluster.leader(&others).await?;
    let (stopped, started) = (*stopped_at.lock(), *started_at.lock());
    let (Some(stopped), Some(started)) = (stopped, started) else {
        bail!("old leader stopped: {stopped:?}, new leader started: {started:?}");
    };
    ensure!(
        stopped < started,
        "split brain: the new leader acted {:?} before the old one stopped",
        stopped - started
    );

    // A write the cut-off leader takes is never acknowledged, and is gone after healing.
    let cut_off = cluster.store(old);
    let lost = tokio::spawn(async move { cut_off.write_ops(put("lost")).await });
    write_keys(&cluster.store(new), "during", 10).await?;
    tokio::time::sleep(Duration::from_secs(2)).await;
    ensure!(!lost.is_finished(), "the cut-off leader acknowledged a write");

    cluster.net.isolated.lock().clear();
    let state = cluster.converged().await?;
    ensure!(count(&state, "before/") == 10 && count(&state, "during/") == 10);
    ensure!(
        state.get("lost").is_none(),
        "an unacknowledged write survived on the old leader"
    );
    let answer = tokio::time::timeout(WAIT, lost)
        .await
        .context("the cut-off write never returned")??;
    ensure!(answer.is_err(), "the cut-off write was acknowledged: {answer:?}");
    ensure!(
        cluster.leader(&[1, 2, 3]).await? == new,
        "the old leader took over again"
    );
    ensure!(
        cluster.net.unknown_senders.load(Ordering::Relaxed) == 0,
        "RPCs without a sender"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_that_missed_the_purged_log_catches_up_by_snapshot() -> Result<()> {
    let cluster = Cluster::start(3).await?;
    let leader = cluster.leader(&[1, 2, 3]).await?;
    let behind = if leader == 3 { 2 } else { 3 };
    write_keys(&cluster.store(leader), "early", 20).await?;
    cluster.converged().await?;
    cluster.stop(behind).await;

    write_keys(&cluster.store(leader), "missed", 200).await?;
    cluster.store(leader).compact().await?;
    let covered = cluster
        .store(leader)
        .snapshot_index()
        .context("the leader has no snapshot")?;
    let before = cluster.nodes[&behind].dir.path().to_path_buf();
    ensure!(before.exists());

    cluster.open(behind).await?;
    let state = cluster.converged().await?;
    ensure!(count(&state, "early/") == 20 && count(&state, "missed/") == 200);
    let installed = cluster.store(behind).snapshot_index();
    ensure!(
        installed.is_some_and(|i| i >= covered),
        "caught up without the snapshot (covers {covered}): {installed:?}"
    );

    // The state it installed is durable: it survives a restart of that node.
    cluster.stop(behind).await;
    cluster.open(behind).await?;
    let again = cluster.converged().await?;
    ensure!(again == state);
    Ok(())
}
