//! Where the state machine keeps its latest snapshot: chunks in a [`KvBackend`], in one of two
//! slots, and a pointer to the complete one.
//!
//! A new snapshot goes into the slot the pointer does not name, chunk by chunk; only then does
//! the pointer move, so a crash part way leaves the old snapshot whole. Chunks are small and
//! flushed one by one because sled handles values under its 512 KiB segments well: storing a
//! 40 MB snapshot as one value (or as 4 MiB chunks) stalled concurrent writes for 150-400 ms,
//! as 256 KiB chunks kept the worst stall near 40 ms (`examples/write_bench.rs`).

#![allow(
    clippy::result_large_err,
    reason = "openraft's storage traits fix StorageError as the error type"
)]

use std::sync::Arc;

use openraft::{AnyError, BasicNode, SnapshotMeta, StorageError, StorageIOError};
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};

use crate::kv::{KvBackend, WriteBatch};

pub(crate) type Meta = SnapshotMeta<u64, BasicNode>;
type StorageResult<T> = Result<T, StorageError<u64>>;

const POINTER: &[u8] = b"snapshot/current";
/// Chunks are `snapshot/<slot>/<big-endian chunk number>`.
const CHUNK_PREFIX: &[u8] = b"snapshot/";
const CHUNK_SIZE: usize = 256 << 10;

/// Which slot holds the current snapshot, and how to read it back.
#[derive(Serialize, Deserialize)]
struct Pointer {
    meta: Meta,
    slot: u8,
    chunks: u32,
}

pub(crate) struct SnapshotStore {
    kv: Arc<dyn KvBackend>,
    /// Serialises check-and-write between snapshot builds and installs, so an older snapshot
    /// never replaces a newer one.
    lock: Mutex<()>,
    chunk_size: usize,
}

fn chunk_key(slot: u8, chunk: u32) -> Vec<u8> {
    let mut key = CHUNK_PREFIX.to_vec();
    key.push(b'0' + slot);
    key.push(b'/');
    key.extend_from_slice(&chunk.to_be_bytes());
    key
}

fn slot_range(slot: u8) -> std::ops::Range<Vec<u8>> {
    let mut end = CHUNK_PREFIX.to_vec();
    end.push(b'0' + slot);
    end.push(b'/' + 1);
    chunk_key(slot, 0)..end
}

fn read_err(e: impl Into<AnyError>) -> StorageError<u64> {
    StorageIOError::read_snapshot(None, e.into()).into()
}

impl SnapshotStore {
    pub(crate) fn new(kv: Arc<dyn KvBackend>) -> Self {
        SnapshotStore {
            kv,
            lock: Mutex::new(()),
            chunk_size: CHUNK_SIZE,
        }
    }

    fn pointer(&self) -> StorageResult<Option<Pointer>> {
        match self.kv.get(POINTER).map_err(|e| read_err(AnyError::new(&e)))? {
            Some(bytes) => Ok(Some(
                serde_json::from_slice(&bytes).map_err(|e| read_err(AnyError::new(&e)))?,
            )),
            None => Ok(None),
        }
    }

    /// The current snapshot's meta and bytes.
    pub(crate) fn read(&self) -> StorageResult<Option<(Meta, Vec<u8>)>> {
        let Some(pointer) = self.pointer()? else {
            return Ok(None);
        };
        let mut data = Vec::new();
        for chunk in 0..pointer.chunks {
            let bytes = self
                .kv
                .get(&chunk_key(pointer.slot, chunk))
                .map_err(|e| read_err(AnyError::new(&e)))?
                .ok_or_else(|| read_err(AnyError::error(format!("snapshot chunk {chunk} is missing"))))?;
            data.extend_from_slice(&bytes);
        }
        Ok(Some((pointer.meta, data)))
    }

    /// Stores the snapshot durably unless a newer one is already stored. Blocks on flushes.
    pub(crate) fn save(&self, meta: &Meta, data: &[u8]) -> StorageResult<()> {
        let write_err = |e: &(dyn std::error::Error + 'static)| {
            StorageError::from(StorageIOError::write_snapshot(
                Some(meta.signature()),
                AnyError::from_dyn(e, None),
            ))
        };
        let _guard = self.lock.lock();
        let current = self.pointer()?;
        if let Some(p) = &current
            && p.meta.last_log_id > meta.last_log_id
        {
            return Ok(());
        }
        let slot = current.map_or(0, |p| 1 - p.slot);
        self.clear_slot(slot).map_err(|e| write_err(&e))?;
        let mut chunks = 0;
        for bytes in data.chunks(self.chunk_size) {
            let mut batch = WriteBatch::default();
            batch.put(chunk_key(slot, chunks), bytes);
            self.kv.apply(batch).map_err(|e| write_err(&e))?;
            self.kv.flush().map_err(|e| write_err(&e))?;
            chunks += 1;
        }
        let pointer = Pointer {
            meta: meta.clone(),
            slot,
            chunks,
        };
        let mut batch = WriteBatch::default();
        batch.put(POINTER, serde_json::to_vec(&pointer).map_err(|e| write_err(&e))?);
        self.kv.apply(batch).map_err(|e| write_err(&e))?;
        self.kv.flush().map_err(|e| write_err(&e))
    }

    /// Deletes what an older snapshot or an interrupted save left in `slot`.
    fn clear_slot(&self, slot: u8) -> crate::kv::Result<()> {
        let Some((last, _)) = self.kv.last(slot_range(slot))? else {
            return Ok(());
        };
        let count = u32::from_be_bytes(last[last.len() - 4..].try_into().unwrap_or_default());
        let mut batch = WriteBatch::default();
        for chunk in 0..=count {
            batch.delete(chunk_key(slot, chunk));
        }
        self.kv.apply(batch)
    }
}

#[cfg(test)]
mod tests {
    use openraft::{CommittedLeaderId, LogId, StoredMembership};

    use super::*;
    use crate::kv::MemKv;

    fn meta(index: u64) -> Meta {
        Meta {
            last_log_id: Some(LogId::new(CommittedLeaderId::new(1, 1), index)),
            last_membership: StoredMembership::default(),
            snapshot_id: format!("s{index}"),
        }
    }

    fn small_chunks(kv: Arc<dyn KvBackend>) -> SnapshotStore {
        SnapshotStore {
            chunk_size: 4,
            ..SnapshotStore::new(kv)
        }
    }

    #[test]
    fn snapshots_round_trip_across_chunks_and_slots() {
        let kv: Arc<dyn KvBackend> = Arc::new(MemKv::default());
        let store = small_chunks(kv.clone());
        assert!(store.read().unwrap().is_none());
        store.save(&meta(1), b"0123456789").unwrap();
        assert_eq!(store.read().unwrap().unwrap(), (meta(1), b"0123456789".to_vec()));
        store.save(&meta(2), b"abcdef").unwrap();
        store.save(&meta(3), b"xy").unwrap();
        assert_eq!(store.read().unwrap().unwrap(), (meta(3), b"xy".to_vec()));
        // Slot 0 held 3 chunks, then 1: the stale ones are gone.
        assert_eq!(kv.scan(slot_range(0), 10).unwrap().len(), 1);
        assert_eq!(SnapshotStore::new(kv).read().unwrap().unwrap().1, b"xy".to_vec());
    }

    #[test]
    fn an_interrupted_save_leaves_the_old_snapshot() {
        let kv: Arc<dyn KvBackend> = Arc::new(MemKv::default());
        let store = small_chunks(kv.clone());
        store.save(&meta(1), b"0123456789").unwrap();
        // A save that died after two chunks of slot 1, before moving the pointer.
        let mut batch = WriteBatch::default();
        batch
            .put(chunk_key(1, 0), b"zzzz".to_vec())
            .put(chunk_key(1, 1), b"zzzz".to_vec());
        kv.apply(batch).unwrap();
        assert_eq!(store.read().unwrap().unwrap(), (meta(1), b"0123456789".to_vec()));
        store.save(&meta(2), b"ab").unwrap();
        assert_eq!(store.read().unwrap().unwrap(), (meta(2), b"ab".to_vec()));
        assert_eq!(kv.scan(slot_range(1), 10).unwrap().len(), 1);
    }

    #[test]
    fn an_older_snapshot_never_replaces_a_newer_one() {
        let store = small_chunks(Arc::new(MemKv::default()));
        store.save(&meta(5), b"new").unwrap();
        store.save(&meta(4), b"old").unwrap();
        assert_eq!(store.read().unwrap().unwrap(), (meta(5), b"new".to_vec()));
    }
}
