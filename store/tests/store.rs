//! The store as its users see it: writes, reads, watches, and restarts on sled.

use std::path::Path;
use std::sync::Arc;

use anyhow::Result;
use openraft::storage::RaftLogStorage;
use schemas::Record;
use store::kv::SledKv;
use store::log_store::LogStore;
use store::{Error, Op, Precondition, State, Store, StoreConfig, WriteOutcome, WriteRequest};

fn fw(v: impl Into<String>) -> Record {
    Record::FrameworkId(v.into())
}

async fn open(dir: Option<&Path>) -> Result<Store> {
    Ok(Store::open(StoreConfig {
        data_dir: dir.map(Path::to_path_buf),
        ..StoreConfig::default()
    })
    .await?)
}

/// sled lets go of its lock a moment after the last handle is dropped.
fn open_log_backend(dir: &Path) -> Result<SledKv> {
    for _ in 0..500 {
        match SledKv::open(dir) {
            Err(store::kv::Error::Locked(_)) => std::thread::sleep(std::time::Duration::from_millis(10)),
            other => return Ok(other?),
        }
    }
    anyhow::bail!("{} stayed locked", dir.display())
}

fn snapshot(store: &Store) -> State {
    store.read(|s| s.clone())
}

/// Writes `n` batches from 8 concurrent writers: puts of fresh keys, overwrites, and deletes
/// of keys written earlier by the same writer.
async fn write_mix(store: &Store, tag: &str, n: usize) -> Result<()> {
    let writers = 8;
    let mut tasks = Vec::new();
    for w in 0..writers {
        let (store, tag) = (store.clone(), tag.to_owned());
        tasks.push(tokio::spawn(async move {
            for i in (w..n).step_by(writers) {
                let key = format!("{tag}/{w}/{i}");
                let mut ops = vec![Op::put(&key, fw(format!("v{i}")))];
                if i % 3 == 0 && i >= writers {
                    ops.push(Op::delete(format!("{tag}/{w}/{}", i - writers)));
                }
                if i % 5 == 0 {
                    ops.push(Op::put(format!("{tag}/{w}/shared"), fw(format!("o{i}"))));
                }
                store.write_ops(ops).await?;
            }
            anyhow::Ok(())
        }));
    }
    for t in tasks {
        t.await??;
    }
    Ok(())
}

#[tokio::test]
async fn write_then_read_sees_it() -> Result<()> {
    let store = open(None).await?;
    assert!(store.is_leader());
    let rev = store.write_ops(vec![Op::put("meta/framework-id", fw("fw-1"))]).await?;
    assert_eq!(rev, 1);
    let got = store.read(|s| s.get("meta/framework-id").cloned()).expect("written");
    assert_eq!((got.record, got.mod_revision), (fw("fw-1"), 1));
    assert_eq!(store.read(State::revision), 1);
    Ok(())
}

#[tokio::test]
async fn a_failed_precondition_changes_nothing() -> Result<()> {
    let store = open(None).await?;
    store.write_ops(vec![Op::put("a", fw("1"))]).await?;
    let before = snapshot(&store);
    let mut rx = store.subscribe();
    let out = store
        .write(WriteRequest {
            preconditions: vec![
                Precondition::Present("a".into()),
                Precondition::ModRevision("a".into(), 7),
            ],
            ops: vec![Op::put("b", fw("2")), Op::delete("a")],
        })
        .await?;
    assert_eq!(
        out,
        WriteOutcome::Conflict {
            failed: Precondition::ModRevision("a".into(), 7)
        }
    );
    assert_eq!(snapshot(&store), before);
    assert!(rx.try_recv().is_err(), "a conflict publishes no change set");
    let out = store
        .write(WriteRequest {
            preconditions: vec![Precondition::ModRevision("a".into(), 1)],
            ops: vec![Op::delete("a")],
        })
        .await?;
    assert_eq!(out, WriteOutcome::Applied { revision: 2 });
    Ok(())
}

#[tokio::test]
async fn watchers_see_every_change_set_in_order() -> Result<()> {
    let store = open(None).await?;
    let mut rx = store.subscribe();
    write_mix(&store, "w", 200).await?;
    let mut replayed = State::default();
    for expected in 1..=200 {
        let changes = rx.try_recv()?;
        assert_eq!(changes.revision, expected);
        replayed.apply(WriteRequest {
            preconditions: vec![],
            ops: changes.ops.clone(),
        });
    }
    assert!(rx.try_recv().is_err());
    assert_eq!(
        replayed,
        snapshot(&store),
        "replaying the change sets rebuilds the state"
    );
    Ok(())
}

#[tokio::test]
async fn a_restart_keeps_every_acknowledged_write() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let store = open(Some(dir.path())).await?;
    write_mix(&store, "r", 1000).await?;
    let before = snapshot(&store);
    assert_eq!(before.revision(), 1000);
    store.shutdown().await;
    assert!(matches!(
        store.write_ops(vec![Op::delete("x")]).await,
        Err(Error::Unavailable(_))
    ));
    drop(store);

    let store = open(Some(dir.path())).await?;
    assert!(store.is_leader());
    assert_eq!(snapshot(&store), before);
    assert_eq!(store.write_ops(vec![Op::delete("r/0/0")]).await?, 1001);
    store.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn a_restart_after_snapshot_and_purge_restores_everything() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let store = open(Some(dir.path())).await?;
    write_mix(&store, "s", 300).await?;
    store.compact().await?;
    write_mix(&store, "t", 100).await?;
    let before = snapshot(&store);
    store.shutdown().await;
    drop(store);

    // The log really was cut: what is left starts after the snapshot.
    {
        let kv = Arc::new(open_log_backend(&dir.path().join("raft"))?);
        let state = LogStore::new(kv).get_log_state().await?;
        let purged = state.last_purged_log_id.expect("purged").index;
        assert!(purged > 10, "purged up to {purged}");
    }

    let store = open(Some(dir.path())).await?;
    assert_eq!(snapshot(&store), before);
    store.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn dropping_the_store_without_shutdown_releases_it() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let store = open(Some(dir.path())).await?;
    write_mix(&store, "d", 50).await?;
    let before = snapshot(&store);
    drop(store);
    let store = open(Some(dir.path())).await?;
    assert_eq!(snapshot(&store), before);
    Ok(())
}
