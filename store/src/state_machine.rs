//! The raft state machine: applies committed batches to the in-memory [`State`] and keeps
//! snapshots of it in a [`KvBackend`].
//!
//! The state itself is never written to disk entry by entry: a restart loads the latest
//! snapshot and raft re-applies the log after it. A snapshot is the whole state as JSON, made
//! durable (chunked, in its own backend) before raft may purge the log it covers.

#![allow(
    clippy::result_large_err,
    reason = "openraft's storage traits fix StorageError as the error type"
)]

use std::io::Cursor;
use std::sync::Arc;

use openraft::storage::RaftStateMachine;
use openraft::{
    AnyError, BasicNode, EntryPayload, LogId, RaftSnapshotBuilder, Snapshot, StorageError, StorageIOError,
    StoredMembership,
};
use parking_lot::RwLock;
use tokio::sync::broadcast;

use crate::kv::KvBackend;
use crate::snapshot_store::{Meta, SnapshotStore};
use crate::state::{ChangeSet, State, WriteOutcome};
use crate::{Batch, TypeConfig};

type StorageResult<T> = Result<T, StorageError<u64>>;

/// How many change sets a slow watcher may fall behind before it must re-list.
const WATCH_BUFFER: usize = 16 * 1024;

/// The applied state as readers and watchers see it; shared by the state machine and the store.
pub struct Applied {
    state: RwLock<State>,
    changes: broadcast::Sender<Arc<ChangeSet>>,
}

impl Applied {
    fn new(state: State) -> Arc<Self> {
        let (changes, _) = broadcast::channel(WATCH_BUFFER);
        Arc::new(Applied {
            state: RwLock::new(state),
            changes,
        })
    }

    /// Runs `f` on the applied state. Keep `f` short: applying waits while it runs.
    pub fn read<R>(&self, f: impl FnOnce(&State) -> R) -> R {
        f(&self.state.read())
    }

    /// Every change set applied from now on, in revision order.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<ChangeSet>> {
        self.changes.subscribe()
    }

    fn publish(&self, changes: Arc<ChangeSet>) {
        // No receivers is fine: nobody is watching yet.
        let _ = self.changes.send(changes);
    }
}

pub struct StateMachine {
    snapshots: Arc<SnapshotStore>,
    applied: Arc<Applied>,
    last_applied: Option<LogId<u64>>,
    last_membership: StoredMembership<u64, BasicNode>,
    builds: u64,
}

impl StateMachine {
    /// Loads the latest snapshot from `kv`, where it keeps its snapshots, if any.
    pub fn open(kv: Arc<dyn KvBackend>) -> StorageResult<Self> {
        let snapshots = Arc::new(SnapshotStore::new(kv));
        let (state, last_applied, last_membership) = match snapshots.read()? {
            Some((meta, data)) => {
                let state = decode_state(&meta, &data)?;
                (state, meta.last_log_id, meta.last_membership)
            }
            None => (State::default(), None, StoredMembership::default()),
        };
        Ok(StateMachine {
            snapshots,
            applied: Applied::new(state),
            last_applied,
            last_membership,
            builds: 0,
        })
    }

    /// The handle readers and watchers use.
    pub fn applied(&self) -> Arc<Applied> {
        self.applied.clone()
    }
}

impl RaftStateMachine<TypeConfig> for StateMachine {
    type SnapshotBuilder = SnapshotBuilder;

    async fn applied_state(&mut self) -> StorageResult<(Option<LogId<u64>>, StoredMembership<u64, BasicNode>)> {
        Ok((self.last_applied, self.last_membership.clone()))
    }

    async fn apply<I>(&mut self, entries: I) -> StorageResult<Vec<Vec<WriteOutcome>>>
    where
        I: IntoIterator<Item = openraft::Entry<TypeConfig>> + openraft::OptionalSend,
        I::IntoIter: openraft::OptionalSend,
    {
        let mut replies = Vec::new();
        // One lock for the whole run of entries; publishing under it keeps watchers in
        // revision order with what readers see.
        let mut state = self.applied.state.write();
        for entry in entries {
            self.last_applied = Some(entry.log_id);
            let outcomes = match entry.payload {
                EntryPayload::Blank => vec![],
                EntryPayload::Normal(Batch { requests }) => requests
                    .into_iter()
                    .map(|req| {
                        let (outcome, changes) = state.apply(req);
                        if let Some(changes) = changes {
                            self.applied.publish(changes);
                        }
                        outcome
                    })
                    .collect(),
                EntryPayload::Membership(m) => {
                    self.last_membership = StoredMembership::new(Some(entry.log_id), m);
                    vec![]
                }
            };
            replies.push(outcomes);
        }
        Ok(replies)
    }

    async fn get_snapshot_builder(&mut self) -> SnapshotBuilder {
        self.builds += 1;
        SnapshotBuilder {
            snapshots: self.snapshots.clone(),
            // Records are behind `Arc`s, so this copy is cheap next to serialising it.
            state: self.applied.state.read().clone(),
            meta: Meta {
                last_log_id: self.last_applied,
                last_membership: self.last_membership.clone(),
                snapshot_id: snapshot_id(self.last_applied, self.builds),
            },
        }
    }

    async fn begin_receiving_snapshot(&mut self) -> StorageResult<Box<Cursor<Vec<u8>>>> {
        Ok(Box::new(Cursor::new(Vec::new())))
    }

    async fn install_snapshot(&mut self, meta: &Meta, snapshot: Box<Cursor<Vec<u8>>>) -> StorageResult<()> {
        let data = snapshot.into_inner();
        let new = decode_state(meta, &data)?;
        let (snapshots, stored_meta) = (self.snapshots.clone(), meta.clone());
        tokio::task::spawn_blocking(move || snapshots.save(&stored_meta, &data))
            .await
            .map_err(|e| StorageIOError::write_snapshot(Some(meta.signature()), AnyError::error(e)))??;

        let mut state = self.applied.state.write();
        let ops = state.ops_to(&new);
        let revision = new.revision();
        *state = new;
        if !ops.is_empty() {
            self.applied.publish(Arc::new(ChangeSet { revision, ops }));
        }
        self.last_applied = meta.last_log_id;
        self.last_membership = meta.last_membership.clone();
        Ok(())
    }

    async fn get_current_snapshot(&mut self) -> StorageResult<Option<Snapshot<TypeConfig>>> {
        Ok(self.snapshots.read()?.map(|(meta, data)| Snapshot {
            meta,
            snapshot: Box::new(Cursor::new(data)),
        }))
    }
}

/// A copy of the state at one log id, serialised and stored off the apply path.
pub struct SnapshotBuilder {
    snapshots: Arc<SnapshotStore>,
    state: State,
    meta: Meta,
}

impl RaftSnapshotBuilder<TypeConfig> for SnapshotBuilder {
    async fn build_snapshot(&mut self) -> StorageResult<Snapshot<TypeConfig>> {
        let state = std::mem::take(&mut self.state);
        let (snapshots, meta) = (self.snapshots.clone(), self.meta.clone());
        let data = tokio::task::spawn_blocking(move || -> StorageResult<Vec<u8>> {
            let data = serde_json::to_vec(&state)
                .map_err(|e| StorageIOError::write_snapshot(Some(meta.signature()), AnyError::new(&e)))?;
            snapshots.save(&meta, &data)?;
            Ok(data)
        })
        .await
        .map_err(|e| StorageIOError::write_snapshot(Some(self.meta.signature()), AnyError::error(e)))??;
        tracing::info!(snapshot = %self.meta, bytes = data.len(), "built snapshot");
        Ok(Snapshot {
            meta: self.meta.clone(),
            snapshot: Box::new(Cursor::new(data)),
        })
    }
}

fn snapshot_id(last_applied: Option<LogId<u64>>, build: u64) -> String {
    match last_applied {
        Some(id) => format!("{}-{}-{build}", id.leader_id, id.index),
        None => format!("none-{build}"),
    }
}

fn decode_state(meta: &Meta, data: &[u8]) -> StorageResult<State> {
    serde_json::from_slice(data)
        .map_err(|e| StorageIOError::read_snapshot(Some(meta.signature()), AnyError::new(&e)).into())
}

#[cfg(test)]
mod tests {
    use openraft::{CommittedLeaderId, Entry, Membership};
    use schemas::Record;

    use super::*;
    use crate::kv::MemKv;
    use crate::state::{Op, Precondition, WriteRequest};

    fn log_id(index: u64) -> LogId<u64> {
        LogId::new(CommittedLeaderId::new(1, 1), index)
    }

    fn put(key: &str) -> WriteRequest {
        WriteRequest {
            preconditions: vec![],
            ops: vec![Op::put(key, Record::FrameworkId(key.into()))],
        }
    }

    fn entry(index: u64, requests: Vec<WriteRequest>) -> Entry<TypeConfig> {
        Entry {
            log_id: log_id(index),
            payload: EntryPayload::Normal(Batch { requests }),
        }
    }

    #[tokio::test]
    async fn applies_batches_in_order_and_publishes_each_change() {
        let mut sm = StateMachine::open(Arc::new(MemKv::default())).unwrap();
        let applied = sm.applied();
        let mut rx = applied.subscribe();
        let absent_a = WriteRequest {
            preconditions: vec![Precondition::Absent("a".into())],
            ops: vec![],
        };
        let replies = sm
            .apply([
                entry(1, vec![put("a"), absent_a, put("b")]),
                Entry {
                    log_id: log_id(2),
                    payload: EntryPayload::Blank,
                },
            ])
            .await
            .unwrap();
        assert_eq!(replies.len(), 2);
        assert_eq!(replies[0][0], WriteOutcome::Applied { revision: 1 });
        assert!(matches!(replies[0][1], WriteOutcome::Conflict { .. }));
        assert_eq!(replies[0][2], WriteOutcome::Applied { revision: 2 });
        assert!(replies[1].is_empty());
        assert_eq!(rx.try_recv().unwrap().revision, 1);
        assert_eq!(rx.try_recv().unwrap().revision, 2);
        assert!(rx.try_recv().is_err());
        assert_eq!(sm.applied_state().await.unwrap().0, Some(log_id(2)));
        assert_eq!(applied.read(|s| s.len()), 2);
    }

    #[tokio::test]
    async fn a_reopened_state_machine_starts_from_the_snapshot() {
        let kv: Arc<dyn KvBackend> = Arc::new(MemKv::default());
        let mut sm = StateMachine::open(kv.clone()).unwrap();
        let membership = Membership::new(vec![[1u64].into()], None);
        sm.apply([
            Entry {
                log_id: log_id(1),
                payload: EntryPayload::Membership(membership.clone()),
            },
            entry(2, vec![put("a")]),
        ])
        .await
        .unwrap();
        sm.get_snapshot_builder().await.build_snapshot().await.unwrap();
        // Applied after the snapshot: raft replays it from the log, the snapshot does not hold it.
        sm.apply([entry(3, vec![put("b")])]).await.unwrap();

        let mut reopened = StateMachine::open(kv).unwrap();
        let (last, stored) = reopened.applied_state().await.unwrap();
        assert_eq!(last, Some(log_id(2)));
        assert_eq!(stored.membership(), &membership);
        let (keys, revision) = reopened
            .applied()
            .read(|s| (s.scan("").map(|(k, _)| k.to_owned()).collect::<Vec<_>>(), s.revision()));
        assert_eq!((keys, revision), (vec!["a".to_owned()], 1));
    }

    #[tokio::test]
    async fn installing_a_snapshot_tells_watchers_what_changed() {
        let mut leader = StateMachine::open(Arc::new(MemKv::default())).unwrap();
        leader.apply([entry(1, vec![put("a"), put("b")])]).await.unwrap();
        let snap = leader.get_snapshot_builder().await.build_snapshot().await.unwrap();

        let mut follower = StateMachine::open(Arc::new(MemKv::default())).unwrap();
        follower.apply([entry(1, vec![put("c")])]).await.unwrap();
        let mut rx = follower.applied().subscribe();
        follower.install_snapshot(&snap.meta, snap.snapshot).await.unwrap();
        let changes = rx.try_recv().unwrap();
        assert_eq!(changes.revision, 2);
        assert_eq!(changes.ops.iter().map(Op::key).collect::<Vec<_>>(), vec!["a", "b", "c"]);
        assert!(matches!(changes.ops[2], Op::Delete { .. }));
        assert_eq!(
            follower.applied().read(|s| s.clone()),
            leader.applied().read(|s| s.clone())
        );
        assert_eq!(follower.get_current_snapshot().await.unwrap().unwrap().meta, snap.meta);
    }

    #[tokio::test]
    async fn an_older_snapshot_never_replaces_a_newer_one() {
        let mut sm = StateMachine::open(Arc::new(MemKv::default())).unwrap();
        sm.apply([entry(1, vec![put("a")])]).await.unwrap();
        let mut old = sm.get_snapshot_builder().await;
        sm.apply([entry(2, vec![put("b")])]).await.unwrap();
        let new = sm.get_snapshot_builder().await.build_snapshot().await.unwrap();
        old.build_snapshot().await.unwrap();
        assert_eq!(sm.get_current_snapshot().await.unwrap().unwrap().meta, new.meta);
    }
}
