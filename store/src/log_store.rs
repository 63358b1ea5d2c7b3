//! The raft log, vote and log pointers, kept in a [`KvBackend`].
//!
//! Entries live under `log/` + the big-endian index so that key order is log order; the vote,
//! the committed log id and the last purged log id live under `meta/`. Values are JSON.

#![allow(
    clippy::result_large_err,
    reason = "openraft's storage traits fix StorageError as the error type"
)]

use std::fmt::Debug;
use std::io;
use std::ops::{Bound, RangeBounds};
use std::sync::Arc;

use openraft::storage::{LogFlushed, RaftLogStorage};
use openraft::{AnyError, LogId, LogState, OptionalSend, RaftLogReader, StorageError, StorageIOError, Vote};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::TypeConfig;
use crate::kv::{self, KvBackend, WriteBatch};

type Entry = openraft::Entry<TypeConfig>;
type StorageResult<T> = Result<T, StorageError<u64>>;

const LOG_PREFIX: &[u8] = b"log/";
/// The first key after every log key (`'0'` follows `'/'`).
const LOG_END: &[u8] = b"log0";
const VOTE: &[u8] = b"meta/vote";
const COMMITTED: &[u8] = b"meta/committed";
const LAST_PURGED: &[u8] = b"meta/last-purged";

/// Purged entries deleted per batch, so the background delete never holds sled for long.
const PURGE_CHUNK: usize = 512;

fn log_key(index: u64) -> Vec<u8> {
    let mut key = Vec::with_capacity(LOG_PREFIX.len() + 8);
    key.extend_from_slice(LOG_PREFIX);
    key.extend_from_slice(&index.to_be_bytes());
    key
}

fn index_of(key: &[u8]) -> Option<u64> {
    Some(u64::from_be_bytes(key.strip_prefix(LOG_PREFIX)?.try_into().ok()?))
}

fn log_range(range: &impl RangeBounds<u64>) -> std::ops::Range<Vec<u8>> {
    let start = match range.start_bound() {
        Bound::Included(i) => log_key(*i),
        Bound::Excluded(i) => i.checked_add(1).map_or_else(|| LOG_END.to_vec(), log_key),
        Bound::Unbounded => log_key(0),
    };
    let end = match range.end_bound() {
        Bound::Included(i) => i.checked_add(1).map_or_else(|| LOG_END.to_vec(), log_key),
        Bound::Excluded(i) => log_key(*i),
        Bound::Unbounded => LOG_END.to_vec(),
    };
    start..end
}

fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, AnyError> {
    serde_json::to_vec(value).map_err(|e| AnyError::new(&e))
}

fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, AnyError> {
    serde_json::from_slice(bytes).map_err(|e| AnyError::new(&e))
}

fn kv_err(e: kv::Error) -> AnyError {
    AnyError::new(&e)
}

/// The log storage; clones share the same backend and serve as log readers.
#[derive(Clone)]
pub struct LogStore {
    kv: Arc<dyn KvBackend>,
}

impl LogStore {
    pub fn new(kv: Arc<dyn KvBackend>) -> Self {
        LogStore { kv }
    }

    fn read_meta<T: DeserializeOwned>(&self, key: &[u8]) -> Result<Option<T>, AnyError> {
        match self.kv.get(key).map_err(kv_err)? {
            Some(bytes) => Ok(Some(decode(&bytes)?)),
            None => Ok(None),
        }
    }

    fn last_purged(&self) -> Result<Option<LogId<u64>>, AnyError> {
        self.read_meta(LAST_PURGED)
    }

    /// Deletes the entries with indexes in `from..=to`, `chunk` keys per atomic batch, lowest
    /// first so that no hole opens above what is left. The log has no holes, so keys are made
    /// from the first and last present index rather than read.
    fn delete_logs(&self, from: u64, to: u64, chunk: usize) -> Result<(), AnyError> {
        let range = log_range(&(from..=to));
        let first = self
            .kv
            .scan(range.clone(), 1)
            .map_err(kv_err)?
            .first()
            .and_then(|(k, _)| index_of(k));
        let last = self.kv.last(range).map_err(kv_err)?.and_then(|(k, _)| index_of(&k));
        let (Some(first), Some(last)) = (first, last) else {
            return Ok(());
        };
        let mut batch = WriteBatch::default();
        for (n, index) in (first..=last).enumerate() {
            batch.delete(log_key(index));
            if (n + 1) % chunk == 0 || index == last {
                self.kv.apply(std::mem::take(&mut batch)).map_err(kv_err)?;
            }
        }
        Ok(())
    }
}

impl RaftLogReader<TypeConfig> for LogStore {
    async fn try_get_log_entries<RB: RangeBounds<u64> + Clone + Debug + OptionalSend>(
        &mut self,
        range: RB,
    ) -> StorageResult<Vec<Entry>> {
        let mut keys = log_range(&range);
        // Purged entries may still be on disk until the background delete reaches them.
        if let Some(purged) = self.last_purged().map_err(StorageIOError::read_logs)? {
            keys.start = keys.start.max(log_key(purged.index + 1));
        }
        let pairs = self
            .kv
            .scan(keys, usize::MAX)
            .map_err(|e| StorageIOError::read_logs(kv_err(e)))?;
        pairs
            .iter()
            .map(|(_, v)| decode(v).map_err(|e| StorageIOError::read_logs(e).into()))
            .collect()
    }
}

impl RaftLogStorage<TypeConfig> for LogStore {
    type LogReader = LogStore;

    async fn get_log_state(&mut self) -> StorageResult<LogState<TypeConfig>> {
        let last_purged_log_id = self.last_purged().map_err(StorageIOError::read_logs)?;
        let last = self
            .kv
            .last(log_range(&..))
            .map_err(|e| StorageIOError::read_logs(kv_err(e)))?;
        let last_entry = match last {
            Some((_, v)) => Some(decode::<Entry>(&v).map_err(StorageIOError::read_logs)?.log_id),
            None => None,
        };
        // An entry at or below the purge pointer is one the background delete has not reached.
        let last_log_id = last_entry.max(last_purged_log_id);
        Ok(LogState {
            last_purged_log_id,
            last_log_id,
        })
    }

    async fn get_log_reader(&mut self) -> Self::LogReader {
        self.clone()
    }

    async fn save_vote(&mut self, vote: &Vote<u64>) -> StorageResult<()> {
        let mut batch = WriteBatch::default();
        batch.put(VOTE, encode(vote).map_err(StorageIOError::write_vote)?);
        self.kv
            .apply(batch)
            .map_err(|e| StorageIOError::write_vote(kv_err(e)))?;
        kv::flush(&self.kv)
            .await
            .map_err(|e| StorageIOError::write_vote(kv_err(e)))?;
        Ok(())
    }

    async fn read_vote(&mut self) -> StorageResult<Option<Vote<u64>>> {
        Ok(self.read_meta(VOTE).map_err(StorageIOError::read_vote)?)
    }

    /// Not flushed: a lost committed id only means re-applying from the snapshot on restart,
    /// and it never points past entries that were already flushed.
    async fn save_committed(&mut self, committed: Option<LogId<u64>>) -> StorageResult<()> {
        let mut batch = WriteBatch::default();
        match committed {
            Some(id) => batch.put(COMMITTED, encode(&id).map_err(StorageIOError::write)?),
            None => batch.delete(COMMITTED),
        };
        self.kv.apply(batch).map_err(|e| StorageIOError::write(kv_err(e)))?;
        Ok(())
    }

    async fn read_committed(&mut self) -> StorageResult<Option<LogId<u64>>> {
        Ok(self.read_meta(COMMITTED).map_err(StorageIOError::read)?)
    }

    async fn append<I>(&mut self, entries: I, callback: LogFlushed<TypeConfig>) -> StorageResult<()>
    where
        I: IntoIterator<Item = Entry> + OptionalSend,
        I::IntoIter: OptionalSend,
    {
        let mut batch = WriteBatch::default();
        for entry in entries {
            let value = encode(&entry).map_err(|e| StorageIOError::write_log_entry(entry.log_id, e))?;
            batch.put(log_key(entry.log_id.index), value);
        }
        self.kv
            .apply(batch)
            .map_err(|e| StorageIOError::write_logs(kv_err(e)))?;
        // Raft counts the entries as persisted once the callback fires, so only after the flush.
        let flushed = kv::flush(&self.kv).await.map_err(io::Error::other);
        callback.log_io_completed(flushed);
        Ok(())
    }

    /// Flushed, so a crash cannot bring back entries a new leader has overwritten.
    async fn truncate(&mut self, log_id: LogId<u64>) -> StorageResult<()> {
        self.delete_logs(log_id.index, u64::MAX, usize::MAX)
            .map_err(StorageIOError::write_logs)?;
        kv::flush(&self.kv)
            .await
            .map_err(|e| StorageIOError::write_logs(kv_err(e)))?;
        Ok(())
    }

    /// Moves the purge pointer at once and deletes the entries behind it in the background:
    /// thousands of sled deletes would otherwise stall raft, and every write, for ~100 ms.
    /// Entries at or below the pointer are invisible to readers, and a crash part way leaves
    /// some that the next purge deletes. Not flushed: purging only follows a durable snapshot.
    async fn purge(&mut self, log_id: LogId<u64>) -> StorageResult<()> {
        let mut pointer = WriteBatch::default();
        pointer.put(LAST_PURGED, encode(&log_id).map_err(StorageIOError::write_logs)?);
        self.kv
            .apply(pointer)
            .map_err(|e| StorageIOError::write_logs(kv_err(e)))?;
        let this = self.clone();
        tokio::task::spawn_blocking(move || {
            if let Err(e) = this.delete_logs(0, log_id.index, PURGE_CHUNK) {
                tracing::warn!("deleting purged log entries up to {log_id} failed (the next purge retries): {e}");
            }
        });
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use openraft::storage::RaftLogStorageExt;
    use openraft::{CommittedLeaderId, EntryPayload};

    use super::*;
    use crate::kv::MemKv;

    fn blank(index: u64) -> Entry {
        Entry {
            log_id: LogId::new(CommittedLeaderId::new(1, 1), index),
            payload: EntryPayload::Blank,
        }
    }

    #[tokio::test]
    async fn pointers_and_entries_survive_a_new_handle() {
        let kv: Arc<dyn KvBackend> = Arc::new(MemKv::default());
        let mut log = LogStore::new(kv.clone());
        log.save_vote(&Vote::new(2, 1)).await.unwrap();
        log.blocking_append((1..=10).map(blank)).await.unwrap();
        log.save_committed(Some(blank(8).log_id)).await.unwrap();
        log.purge(blank(4).log_id).await.unwrap();
        log.truncate(blank(9).log_id).await.unwrap();

        let mut log = LogStore::new(kv);
        assert_eq!(log.read_vote().await.unwrap(), Some(Vote::new(2, 1)));
        assert_eq!(log.read_committed().await.unwrap(), Some(blank(8).log_id));
        let state = log.get_log_state().await.unwrap();
        assert_eq!(state.last_purged_log_id, Some(blank(4).log_id));
        assert_eq!(state.last_log_id, Some(blank(8).log_id));
        let indexes: Vec<_> = log
            .try_get_log_entries(..)
            .await
            .unwrap()
            .iter()
            .map(|e| e.log_id.index)
            .collect();
        assert_eq!(indexes, vec![5, 6, 7, 8]);
        log.purge(blank(8).log_id).await.unwrap();
        assert_eq!(log.get_log_state().await.unwrap().last_log_id, Some(blank(8).log_id));
    }

    async fn indexes(log: &mut LogStore) -> Vec<u64> {
        log.try_get_log_entries(..)
            .await
            .unwrap()
            .iter()
            .map(|e| e.log_id.index)
            .collect()
    }

    /// Waits for the background delete to leave `n` entries on disk.
    async fn stored_entries_become(kv: &dyn KvBackend, n: usize) {
        for _ in 0..5_000 {
            if kv.scan(log_range(&..), usize::MAX).unwrap().len() == n {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(1)).await;
        }
        panic!(
            "{} entries stored, want {n}",
            kv.scan(log_range(&..), usize::MAX).unwrap().len()
        );
    }

    #[tokio::test]
    async fn purge_hides_entries_at_once_and_deletes_them_behind() {
        let kv: Arc<dyn KvBackend> = Arc::new(MemKv::default());
        let mut log = LogStore::new(kv.clone());
        let n = 3 * PURGE_CHUNK as u64 + 7;
        log.blocking_append((1..=n).map(blank)).await.unwrap();
        log.purge(blank(n - 1).log_id).await.unwrap();
        assert_eq!(indexes(&mut log).await, vec![n]);
        stored_entries_become(kv.as_ref(), 1).await;
    }

    #[tokio::test]
    async fn entries_left_behind_a_crashed_purge_stay_hidden_and_go_next_time() {
        let kv: Arc<dyn KvBackend> = Arc::new(MemKv::default());
        let mut log = LogStore::new(kv.clone());
        log.blocking_append((1..=10).map(blank)).await.unwrap();
        // What a crash right after moving the pointer leaves: entries 1..=5 still stored.
        let mut pointer = WriteBatch::default();
        pointer.put(LAST_PURGED, encode(&blank(5).log_id).unwrap());
        kv.apply(pointer).unwrap();

        let state = log.get_log_state().await.unwrap();
        assert_eq!(
            (state.last_purged_log_id, state.last_log_id),
            (Some(blank(5).log_id), Some(blank(10).log_id))
        );
        assert_eq!(indexes(&mut log).await, (6..=10).collect::<Vec<_>>());
        log.purge(blank(7).log_id).await.unwrap();
        stored_entries_become(kv.as_ref(), 3).await;
        assert_eq!(indexes(&mut log).await, vec![8, 9, 10]);

        // Everything stored is behind the pointer: the pointer is the last log id.
        let mut pointer = WriteBatch::default();
        pointer.put(LAST_PURGED, encode(&blank(10).log_id).unwrap());
        kv.apply(pointer).unwrap();
        let state = log.get_log_state().await.unwrap();
        assert_eq!(state.last_log_id, Some(blank(10).log_id));
        assert!(indexes(&mut log).await.is_empty());
    }

    #[test]
    fn log_keys_sort_by_index() {
        let keys: Vec<_> = [0u64, 1, 255, 256, 65536, u64::MAX]
            .iter()
            .map(|i| log_key(*i))
            .collect();
        assert!(keys.windows(2).all(|w| w[0] < w[1]));
        assert!(keys.iter().all(|k| k.as_slice() < LOG_END));
        assert_eq!(log_range(&(3..=3)), log_key(3)..log_key(4));
        assert_eq!(log_range(&(..)), log_key(0)..LOG_END.to_vec());
        assert_eq!(log_range(&(5..u64::MAX)).end, log_key(u64::MAX));
        assert_eq!(log_range(&(5..=u64::MAX)).end, LOG_END.to_vec());
        assert_eq!(index_of(&log_key(258)), Some(258));
        assert_eq!(index_of(b"meta/vote"), None);
    }
}
