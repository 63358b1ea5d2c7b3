//! Pacer's store: the desired and observed state, replicated through raft.
//!
//! Writers send [`WriteRequest`]s; a write returns once it is durable and applied. Readers look
//! at the applied [`State`] in memory through [`Store::read`]; watchers get every applied
//! [`ChangeSet`] from [`Store::subscribe`].
//!
//! Wiring: writes are grouped by [`batch`] into raft entries; [`log_store`] keeps the raft log
//! in one [`kv`] backend and [`state_machine`] the applied state, with its snapshots in another
//! (sled under `data_dir/raft` and `data_dir/snapshots`, or memory); [`network`] carries raft's
//! RPCs to the other servers of a cluster over HTTP (a one-member cluster never uses it).

pub mod batch;
pub mod keys;
pub mod kv;
mod leadership;
pub mod log_store;
pub mod network;
mod snapshot_store;
mod state;
pub mod state_machine;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use openraft::error::{Fatal, RaftError};
use openraft::{BasicNode, Raft, ServerState, SnapshotPolicy};
use schemas::metrics::Histogram;
use tokio::sync::{broadcast, mpsc, oneshot, watch};

pub use batch::Batch;
pub use state::{ChangeSet, Entry, Op, Precondition, State, WriteOutcome, WriteRequest};

use crate::kv::{KvBackend, MemKv, SledKv};
use crate::log_store::LogStore;
use crate::network::HttpNetworkFactory;
use crate::state_machine::{Applied, StateMachine};

openraft::declare_raft_types!(
    /// Pacer's raft types: each log entry carries a [`Batch`] of writes.
    pub TypeConfig:
        D = Batch,
        R = Vec<WriteOutcome>,
        NodeId = u64,
        Node = BasicNode,
        SnapshotData = std::io::Cursor<Vec<u8>>,
);

/// The raft id of a server that runs alone.
pub const NODE_ID: u64 = 1;

/// Raft entries between automatic snapshots. An entry holds a batch of writes, so this is
/// at least as many writes; replaying this much on restart takes well under a second.
pub const SNAPSHOT_EVERY: u64 = 5_000;

/// Entries kept behind a snapshot, so a follower a little behind catches up from the log
/// rather than by a whole snapshot.
pub const LOGS_KEPT_AFTER_SNAPSHOT: u64 = 1_000;

/// How long [`Store::open`] waits for this node to lead.
const LEADER_WAIT: Duration = Duration::from_secs(10);

/// How long [`Store::shutdown`] waits for raft's tasks to let go of the backend, and
/// [`Store::open`] for a store dropped without shutdown to close the database.
const RELEASE_WAIT: Duration = Duration::from_secs(5);

#[derive(Clone, Debug)]
pub struct StoreConfig {
    /// Where the log and snapshots live; `None` keeps everything in memory (tests).
    pub data_dir: Option<PathBuf>,
    /// This server's raft id.
    pub node_id: u64,
    /// Every member of the cluster with the `host:port` its API (and raft) listens on; empty
    /// for a server on its own.
    pub peers: BTreeMap<u64, String>,
}

impl Default for StoreConfig {
    fn default() -> Self {
        StoreConfig {
            data_dir: None,
            node_id: NODE_ID,
            peers: BTreeMap::new(),
        }
    }
}

impl StoreConfig {
    fn is_cluster(&self) -> bool {
        !self.peers.is_empty()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// This node is not the leader and cannot accept writes.
    #[error("not the leader")]
    NotLeader,
    /// The store is shutting down or has failed.
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// The raft configuration is invalid.
    #[error("invalid raft config: {0}")]
    Config(Box<openraft::ConfigError>),
    /// The key-value backend (sled) could not be opened or flushed.
    #[error("storage backend: {0}")]
    Backend(#[from] kv::Error),
    /// Raft's persisted data (log, vote or snapshot) could not be read or written.
    #[error("raft storage: {0}")]
    Storage(Box<openraft::StorageError<u64>>),
    /// A membership change was refused (e.g. another change is in progress, or it would
    /// leave no voter).
    #[error("membership change refused: {0}")]
    Membership(String),
    /// This node did not become the leader within the wait after opening.
    #[error("no leader after {0:?}")]
    NoLeader(Duration),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A server of the cluster.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Member {
    pub id: u64,
    pub address: String,
    pub voter: bool,
}

fn membership_error(e: RaftError<u64, openraft::error::ClientWriteError<u64, BasicNode>>) -> Error {
    match e {
        RaftError::APIError(openraft::error::ClientWriteError::ForwardToLeader(_)) => Error::NotLeader,
        RaftError::APIError(openraft::error::ClientWriteError::ChangeMembershipError(e)) => {
            Error::Membership(e.to_string())
        }
        other => unavailable(other),
    }
}

/// Why a peer's raft RPC could not be served.
#[derive(Debug, thiserror::Error)]
pub enum RpcError {
    #[error("no raft RPC named {0}")]
    Unknown(String),
    #[error("malformed raft RPC: {0}")]
    Malformed(#[from] serde_json::Error),
}

impl From<openraft::ConfigError> for Error {
    fn from(e: openraft::ConfigError) -> Self {
        Error::Config(Box::new(e))
    }
}

impl From<openraft::StorageError<u64>> for Error {
    fn from(e: openraft::StorageError<u64>) -> Self {
        Error::Storage(Box::new(e))
    }
}

/// A handle to the store; cheap to clone.
///
/// Call [`Store::shutdown`] before dropping the last handle. Dropping without it is safe
/// (acknowledged writes are already durable) but raft's tasks stop in the background.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

struct Inner {
    raft: Raft<TypeConfig>,
    applied: Arc<Applied>,
    /// The log's backend and the snapshots' backend.
    backends: [Arc<dyn KvBackend>; 2],
    writes: mpsc::Sender<(WriteRequest, batch::Reply)>,
    node_id: u64,
    /// True while this node leads with a quorum behind it (see [`Store::leadership`]).
    leading: watch::Receiver<bool>,
    /// Seconds from [`Store::write`] to its outcome, for `pacer_raft_commit_seconds`.
    commit_seconds: parking_lot::Mutex<Histogram>,
}

/// Raft settings for a one-member cluster that snapshots every [`SNAPSHOT_EVERY`] entries.
pub fn raft_config() -> Result<openraft::Config> {
    let config = openraft::Config {
        cluster_name: "pacer".into(),
        heartbeat_interval: 250,
        election_timeout_min: 1_000,
        election_timeout_max: 2_000,
        snapshot_policy: SnapshotPolicy::LogsSinceLast(SNAPSHOT_EVERY),
        max_in_snapshot_log_to_keep: LOGS_KEPT_AFTER_SNAPSHOT,
        ..Default::default()
    };
    Ok(config.validate()?)
}

fn unavailable(e: impl std::fmt::Display) -> Error {
    Error::Unavailable(e.to_string())
}

fn fatal(e: Fatal<u64>) -> Error {
    match e {
        Fatal::StorageError(e) => e.into(),
        other => unavailable(other),
    }
}

/// The raft log and the snapshots live in separate databases (`raft/` and `snapshots/` under
/// the data dir): a multi-megabyte snapshot written into the log's sled stalled the log's
/// flushes, and so every write, for 100 ms and more.
async fn open_backends(config: &StoreConfig) -> Result<[Arc<dyn KvBackend>; 2]> {
    Ok(match &config.data_dir {
        Some(dir) => [
            Arc::new(open_sled(&dir.join("raft")).await?),
            Arc::new(open_sled(&dir.join("snapshots")).await?),
        ],
        None => [Arc::new(MemKv::default()), Arc::new(MemKv::default())],
    })
}

/// Opens sled, waiting a little if it is locked: a store dropped without [`Store::shutdown`]
/// closes the database only once raft's tasks have wound down, and even a dropped sled handle
/// releases its lock only when its flusher thread stops.
async fn open_sled(dir: &Path) -> Result<SledKv> {
    let deadline = tokio::time::Instant::now() + RELEASE_WAIT;
    loop {
        match SledKv::open(dir) {
            Err(kv::Error::Locked(_)) if tokio::time::Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            other => return Ok(other?),
        }
    }
}

impl Store {
    /// Opens the store at `config.data_dir` (creating it). A server on its own waits until
    /// it leads and has applied every entry in its log. A member of a cluster returns at once:
    /// its peers can only elect a leader once it serves their RPCs ([`Store::raft_rpc`]).
    pub async fn open(config: StoreConfig) -> Result<Store> {
        let [log_kv, snapshot_kv] = open_backends(&config).await?;
        let sm = StateMachine::open(snapshot_kv.clone())?;
        let applied = sm.applied();
        let raft = Raft::new(
            config.node_id,
            Arc::new(raft_config()?),
            HttpNetworkFactory::default(),
            LogStore::new(log_kv.clone()),
            sm,
        )
        .await
        .map_err(fatal)?;

        // The lowest id of a new cluster proposes its membership; the others learn it from it.
        let proposes = config.peers.keys().next().is_none_or(|first| *first == config.node_id);
        if proposes && !raft.is_initialized().await.map_err(fatal)? {
            let members: BTreeMap<u64, BasicNode> = if config.is_cluster() {
                config
                    .peers
                    .iter()
                    .map(|(id, addr)| (*id, BasicNode::new(addr)))
                    .collect()
            } else {
                BTreeMap::from([(config.node_id, BasicNode::default())])
            };
            raft.initialize(members).await.map_err(unavailable)?;
        }
        if !config.is_cluster() {
            raft.wait(Some(LEADER_WAIT))
                .state(ServerState::Leader, "store open")
                .await
                .map_err(|_| Error::NoLeader(LEADER_WAIT))?;
            // Leading is not enough for read-your-writes: entries from before a restart must
            // be applied before anyone reads.
            raft.ensure_linearizable().await.map_err(unavailable)?;
        }

        let writes = batch::spawn(raft.clone());
        let leading = leadership::spawn(raft.clone(), config.node_id, !config.is_cluster());
        Ok(Store {
            inner: Arc::new(Inner {
                raft,
                applied,
                backends: [log_kv, snapshot_kv],
                writes,
                node_id: config.node_id,
                leading,
                commit_seconds: parking_lot::Mutex::new(Histogram::default()),
            }),
        })
    }

    /// Applies `req` atomically, returning once it is durable and visible to readers.
    ///
    /// If the returned future is dropped early the write may or may not be applied.
    pub async fn write(&self, req: WriteRequest) -> Result<WriteOutcome> {
        let submitted = std::time::Instant::now();
        let (tx, rx) = oneshot::channel();
        self.inner
            .writes
            .send((req, tx))
            .await
            .map_err(|_| unavailable("the write queue is closed"))?;
        let outcome = rx.await.map_err(|_| unavailable("the write was dropped"))??;
        self.inner
            .commit_seconds
            .lock()
            .observe(submitted.elapsed().as_secs_f64());
        Ok(outcome)
    }

    /// How long writes took from [`Store::write`] until durable and applied (conflicts
    /// included: they went through the log too).
    pub fn commit_seconds(&self) -> Histogram {
        self.inner.commit_seconds.lock().clone()
    }

    /// Puts and deletes without preconditions.
    pub async fn write_ops(&self, ops: Vec<Op>) -> Result<u64> {
        match self
            .write(WriteRequest {
                preconditions: vec![],
                ops,
            })
            .await?
        {
            WriteOutcome::Applied { revision } => Ok(revision),
            WriteOutcome::Conflict { failed } => {
                Err(unavailable(format!("unconditional write conflicted on {failed:?}")))
            }
        }
    }

    /// Reads the applied state. Keep `f` short: writers wait while it runs.
    pub fn read<R>(&self, f: impl FnOnce(&State) -> R) -> R {
        self.inner.applied.read(f)
    }

    /// Every change applied from now on. Subscribe before reading to miss nothing; a
    /// receiver that lags gets `RecvError::Lagged` and must re-read the state.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<ChangeSet>> {
        self.inner.applied.subscribe()
    }

    /// Whether this node is currently the raft leader (and so accepts writes).
    pub fn is_leader(&self) -> bool {
        let metrics = self.inner.raft.metrics();
        let m = metrics.borrow();
        m.state == ServerState::Leader && m.current_leader == Some(self.inner.node_id)
    }

    /// True while this node leads *and* a quorum confirmed it recently: only then may it act
    /// on the cluster (launch, kill, acknowledge). A leader cut off from its peers turns this
    /// false within a few seconds, before the others can elect a new leader.
    pub fn leadership(&self) -> watch::Receiver<bool> {
        self.inner.leading.clone()
    }

    /// The last log index this node's latest snapshot covers (built here or installed from
    /// the leader), if it has one.
    pub fn snapshot_index(&self) -> Option<u64> {
        self.inner.raft.metrics().borrow().snapshot.map(|id| id.index)
    }

    /// Whether this node may act as the leader now (see [`Store::leadership`]).
    pub fn is_acting(&self) -> bool {
        *self.inner.leading.borrow()
    }

    /// This server's raft id.
    pub fn node_id(&self) -> u64 {
        self.inner.node_id
    }

    /// The current leader's id and API address (`host:port`; empty for a server on its own).
    pub fn leader(&self) -> Option<(u64, String)> {
        let metrics = self.inner.raft.metrics();
        let m = metrics.borrow();
        let id = m.current_leader?;
        let addr = m
            .membership_config
            .membership()
            .get_node(&id)
            .map(|n| n.addr.clone())
            .unwrap_or_default();
        Some((id, addr))
    }

    /// The cluster's members: id, API address, and whether it votes (a learner still
    /// catching up does not).
    pub fn members(&self) -> Vec<Member> {
        let metrics = self.inner.raft.metrics();
        let m = metrics.borrow();
        let membership = m.membership_config.membership();
        let voters: std::collections::BTreeSet<u64> = membership.voter_ids().collect();
        membership
            .nodes()
            .map(|(id, node)| Member {
                id: *id,
                address: node.addr.clone(),
                voter: voters.contains(id),
            })
            .collect()
    }

    /// Adds server `id` at `address` (`host:port` of its API): first as a learner that copies
    /// the log or a snapshot, then as a voter. Only the leader can do this.
    pub async fn add_member(&self, id: u64, address: String) -> Result<()> {
        let raft = &self.inner.raft;
        raft.add_learner(id, BasicNode::new(address), true)
            .await
            .map_err(membership_error)?;
        raft.change_membership(openraft::ChangeMembers::AddVoterIds([id].into()), false)
            .await
            .map_err(membership_error)?;
        Ok(())
    }

    /// Removes server `id` from the cluster (a leader removing itself steps down once the
    /// change is committed). Only the leader can do this.
    pub async fn remove_member(&self, id: u64) -> Result<()> {
        self.inner
            .raft
            .change_membership(openraft::ChangeMembers::RemoveVoters([id].into()), false)
            .await
            .map_err(membership_error)?;
        Ok(())
    }

    /// Serves one raft RPC from a peer (see [`network`]): `rpc` is `append`, `vote` or
    /// `snapshot`, `body` its JSON request; the answer is raft's JSON `Result`.
    pub async fn raft_rpc(&self, rpc: &str, body: &[u8]) -> Result<Vec<u8>, RpcError> {
        let raft = &self.inner.raft;
        let json = match rpc {
            "append" => serde_json::to_vec(&raft.append_entries(serde_json::from_slice(body)?).await),
            "vote" => serde_json::to_vec(&raft.vote(serde_json::from_slice(body)?).await),
            "snapshot" => serde_json::to_vec(&raft.install_snapshot(serde_json::from_slice(body)?).await),
            other => return Err(RpcError::Unknown(other.to_string())),
        };
        Ok(json?)
    }

    /// Snapshots the applied state now and purges the log it covers; returns when both are
    /// done. The snapshot policy does this on its own; this is for operators and tests.
    pub async fn compact(&self) -> Result<()> {
        let raft = &self.inner.raft;
        let applied = raft.metrics().borrow().last_applied;
        let Some(applied) = applied else { return Ok(()) };
        raft.trigger().snapshot().await.map_err(fatal)?;
        let wait = raft.wait(Some(LEADER_WAIT));
        wait.snapshot(applied, "compact: snapshot").await.map_err(unavailable)?;
        raft.trigger().purge_log(applied.index).await.map_err(fatal)?;
        wait.purged(Some(applied), "compact: purge")
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    /// Stops raft and flushes the backend. Writes after this fail with
    /// [`Error::Unavailable`]; the data directory can be reopened once every handle is dropped.
    pub async fn shutdown(&self) {
        if let Err(e) = self.inner.raft.shutdown().await {
            tracing::warn!("raft did not shut down cleanly: {e}");
        }
        // Raft's state-machine task ends shortly after the core; wait so that dropping this
        // handle really closes the database.
        let deadline = tokio::time::Instant::now() + RELEASE_WAIT;
        for kv in &self.inner.backends {
            while Arc::strong_count(kv) > 1 && tokio::time::Instant::now() < deadline {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            if let Err(e) = kv::flush(kv).await {
                tracing::warn!("final flush failed: {e}");
            }
        }
    }
}
