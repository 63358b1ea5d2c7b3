//! A small ordered key-value interface: the only storage the raft log and snapshots use.
//!
//! Two implementations: [`SledKv`] on disk and [`MemKv`] in memory (tests, and the in-memory
//! store). Writes go in atomic [`WriteBatch`]es; [`KvBackend::flush`] makes every earlier write
//! durable and blocks, so async callers run it through [`flush`].

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use parking_lot::RwLock;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The sled database failed (I/O, corruption, or it could not be opened).
    #[error("sled: {0}")]
    Sled(#[from] sled::Error),
    /// Another handle (in this process or another) holds the database's lock.
    #[error("{0} is in use by another store")]
    Locked(PathBuf),
    /// A blocking flush task did not finish (the runtime is shutting down).
    #[error("flush task failed: {0}")]
    FlushTask(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A key and its value.
pub type Pair = (Vec<u8>, Vec<u8>);

/// Puts and deletes applied all or nothing by [`KvBackend::apply`].
#[derive(Clone, Debug, Default, PartialEq)]
pub struct WriteBatch {
    /// `None` deletes the key.
    ops: Vec<(Vec<u8>, Option<Vec<u8>>)>,
}

impl WriteBatch {
    pub fn put(&mut self, key: impl Into<Vec<u8>>, value: impl Into<Vec<u8>>) -> &mut Self {
        self.ops.push((key.into(), Some(value.into())));
        self
    }

    pub fn delete(&mut self, key: impl Into<Vec<u8>>) -> &mut Self {
        self.ops.push((key.into(), None));
        self
    }

    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }
}

/// An ordered byte map. Implementations are internally synchronised.
pub trait KvBackend: Send + Sync + 'static {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>>;

    /// Applies every op of `batch` atomically, in order.
    fn apply(&self, batch: WriteBatch) -> Result<()>;

    /// Up to `limit` pairs with keys in `range`, in key order.
    fn scan(&self, range: Range<Vec<u8>>, limit: usize) -> Result<Vec<Pair>>;

    /// The pair with the greatest key in `range`.
    fn last(&self, range: Range<Vec<u8>>) -> Result<Option<Pair>>;

    /// Blocks until every write applied before the call is durable.
    fn flush(&self) -> Result<()>;
}

/// Runs [`KvBackend::flush`] off the async runtime's worker threads.
pub async fn flush(kv: &Arc<dyn KvBackend>) -> Result<()> {
    let kv = kv.clone();
    tokio::task::spawn_blocking(move || kv.flush())
        .await
        .map_err(|e| Error::FlushTask(e.to_string()))?
}

/// The on-disk backend: one sled tree.
pub struct SledKv {
    db: sled::Db,
}

impl SledKv {
    pub fn open(dir: &Path) -> Result<Self> {
        // Durability comes from explicit flushes; the background flusher only bounds how much
        // unacknowledged data a crash can lose, so keep sled's default period.
        // sled 0.34 reports a held lock only as this message (kind `Other`).
        let db = sled::Config::new().path(dir).open().map_err(|e| match e {
            sled::Error::Io(io) if io.to_string().starts_with("could not acquire lock") => {
                Error::Locked(dir.to_path_buf())
            }
            other => Error::Sled(other),
        })?;
        Ok(SledKv { db })
    }
}

impl KvBackend for SledKv {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        Ok(self.db.get(key)?.map(|v| v.to_vec()))
    }

    fn apply(&self, batch: WriteBatch) -> Result<()> {
        let mut b = sled::Batch::default();
        for (key, value) in batch.ops {
            match value {
                Some(value) => b.insert(key, value),
                None => b.remove(key),
            }
        }
        Ok(self.db.apply_batch(b)?)
    }

    fn scan(&self, range: Range<Vec<u8>>, limit: usize) -> Result<Vec<Pair>> {
        if range.is_empty() {
            return Ok(vec![]);
        }
        self.db
            .range(range)
            .take(limit)
            .map(|r| r.map(|(k, v)| (k.to_vec(), v.to_vec())).map_err(Error::from))
            .collect()
    }

    fn last(&self, range: Range<Vec<u8>>) -> Result<Option<Pair>> {
        if range.is_empty() {
            return Ok(None);
        }
        Ok(self
            .db
            .range(range)
            .next_back()
            .transpose()?
            .map(|(k, v)| (k.to_vec(), v.to_vec())))
    }

    fn flush(&self) -> Result<()> {
        self.db.flush()?;
        Ok(())
    }
}

/// The in-memory backend: nothing survives the process, so flushing is free.
#[derive(Default)]
pub struct MemKv {
    map: RwLock<BTreeMap<Vec<u8>, Vec<u8>>>,
}

impl KvBackend for MemKv {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        Ok(self.map.read().get(key).cloned())
    }

    fn apply(&self, batch: WriteBatch) -> Result<()> {
        let mut map = self.map.write();
        for (key, value) in batch.ops {
            match value {
                Some(value) => map.insert(key, value),
                None => map.remove(&key),
            };
        }
        Ok(())
    }

    fn scan(&self, range: Range<Vec<u8>>, limit: usize) -> Result<Vec<Pair>> {
        if range.is_empty() {
            return Ok(vec![]);
        }
        Ok(self
            .map
            .read()
            .range(range)
            .take(limit)
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect())
    }

    fn last(&self, range: Range<Vec<u8>>) -> Result<Option<Pair>> {
        if range.is_empty() {
            return Ok(None);
        }
        Ok(self
            .map
            .read()
            .range(range)
            .next_back()
            .map(|(k, v)| (k.clone(), v.clone())))
    }

    fn flush(&self) -> Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exercise(kv: &dyn KvBackend) {
        let mut b = WriteBatch::default();
        b.put(b"a/1".to_vec(), b"x".to_vec())
            .put(b"a/2".to_vec(), b"y".to_vec())
            .put(b"b/1".to_vec(), b"z".to_vec());
        kv.apply(b).unwrap();
        assert_eq!(kv.get(b"a/2").unwrap(), Some(b"y".to_vec()));
        let a = kv.scan(b"a/".to_vec()..b"a0".to_vec(), 10).unwrap();
        assert_eq!(
            a.iter().map(|(k, _)| k.as_slice()).collect::<Vec<_>>(),
            vec![b"a/1", b"a/2"]
        );
        assert_eq!(kv.scan(b"a/".to_vec()..b"a0".to_vec(), 1).unwrap().len(), 1);
        assert_eq!(
            kv.last(b"a/".to_vec()..b"a0".to_vec()).unwrap().unwrap().0,
            b"a/2".to_vec()
        );
        assert_eq!(kv.last(b"c".to_vec()..b"d".to_vec()).unwrap(), None);
        assert!(kv.scan(b"b".to_vec()..b"a".to_vec(), 10).unwrap().is_empty());

        let mut b = WriteBatch::default();
        b.delete(b"a/1".to_vec()).put(b"a/3".to_vec(), b"w".to_vec());
        kv.apply(b).unwrap();
        kv.flush().unwrap();
        assert_eq!(kv.get(b"a/1").unwrap(), None);
        assert_eq!(kv.scan(b"a/".to_vec()..b"a0".to_vec(), 10).unwrap().len(), 2);
    }

    #[test]
    fn mem_backend_behaves() {
        exercise(&MemKv::default());
    }

    #[test]
    fn sled_backend_behaves_and_persists() {
        let dir = tempfile::tempdir().unwrap();
        exercise(&SledKv::open(dir.path()).unwrap());
        // sled's flusher thread lets go of the lock a moment after the handle is dropped.
        let mut reopened = SledKv::open(dir.path());
        for _ in 0..500 {
            if !matches!(reopened, Err(Error::Locked(_))) {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
            reopened = SledKv::open(dir.path());
        }
        let kv = reopened.unwrap();
        let second = SledKv::open(dir.path());
        assert!(matches!(second, Err(Error::Locked(_))), "{:?}", second.err());
        assert_eq!(kv.get(b"a/3").unwrap(), Some(b"w".to_vec()));
        assert_eq!(kv.get(b"a/1").unwrap(), None);
    }
}
