//! openraft's storage test suite against both backends.

#![allow(
    clippy::result_large_err,
    reason = "openraft's storage traits fix StorageError as the error type"
)]

use std::sync::Arc;

use openraft::StorageError;
use openraft::testing::{StoreBuilder, Suite};
use store::TypeConfig;
use store::kv::{KvBackend, MemKv, SledKv};
use store::log_store::LogStore;
use store::state_machine::StateMachine;
use tempfile::TempDir;

fn build(kv: Arc<dyn KvBackend>) -> Result<(LogStore, StateMachine), StorageError<u64>> {
    Ok((LogStore::new(kv.clone()), StateMachine::open(kv)?))
}

struct Mem;

impl StoreBuilder<TypeConfig, LogStore, StateMachine> for Mem {
    async fn build(&self) -> Result<((), LogStore, StateMachine), StorageError<u64>> {
        let (log, sm) = build(Arc::new(MemKv::default()))?;
        Ok(((), log, sm))
    }
}

struct Sled;

impl StoreBuilder<TypeConfig, LogStore, StateMachine, TempDir> for Sled {
    async fn build(&self) -> Result<(TempDir, LogStore, StateMachine), StorageError<u64>> {
        let dir = tempfile::tempdir().expect("tempdir");
        let (log, sm) = build(Arc::new(SledKv::open(dir.path()).expect("open sled")))?;
        Ok((dir, log, sm))
    }
}

#[test]
fn suite_passes_on_memory() -> Result<(), StorageError<u64>> {
    Suite::test_all(Mem)
}

#[test]
fn suite_passes_on_sled() -> Result<(), StorageError<u64>> {
    Suite::test_all(Sled)
}
