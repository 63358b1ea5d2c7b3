//! A process killed mid-write (SIGKILL: no shutdown, no flush) loses no acknowledged write.
//!
//! The test runs this same binary as a child that writes and prints an `ack` line after each
//! acknowledged write, kills it after enough acks, and reopens the store.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Command, Stdio};

use anyhow::{Context, Result};
use schemas::Record;
use store::{Op, Store, StoreConfig};

const DIR_ENV: &str = "PACER_STORE_CRASH_DIR";
/// More writes than the child gets through before it is killed. Write `i` puts `p/i` and
/// deletes `d/i` (created up front), so a torn write would show as both or neither.
const WRITES: usize = 20_000;
const KILL_AFTER_ACKS: usize = 400;
const WRITERS: usize = 16;

fn config(dir: PathBuf) -> StoreConfig {
    StoreConfig {
        data_dir: Some(dir),
        ..StoreConfig::default()
    }
}

fn fw(v: String) -> Record {
    Record::FrameworkId(v)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_loses_no_acknowledged_write() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let mut child = Command::new(std::env::current_exe()?)
        .args(["--exact", "crash_child", "--ignored", "--nocapture", "--test-threads=1"])
        .env(DIR_ENV, dir.path())
        .stdout(Stdio::piped())
        .spawn()?;
    let stdout = child.stdout.take().context("child stdout")?;

    let acked = tokio::task::spawn_blocking(move || -> Result<BTreeSet<usize>> {
        let mut acked = BTreeSet::new();
        for line in BufReader::new(stdout).lines() {
            if let Some(i) = line?.strip_prefix("ack ") {
                acked.insert(i.parse()?);
                if acked.len() == KILL_AFTER_ACKS {
                    child.kill()?;
                    child.wait()?;
                    return Ok(acked);
                }
            }
        }
        anyhow::bail!("the child stopped after {} acks: {:?}", acked.len(), child.wait()?)
    })
    .await??;

    let store = Store::open(config(dir.path().to_path_buf())).await?;
    let (lost, torn, applied) = store.read(|s| {
        let put = |i: usize| s.get(&format!("p/{i}")).is_some();
        let deleted = |i: usize| s.get(&format!("d/{i}")).is_none();
        let lost: Vec<_> = acked.iter().filter(|i| !put(**i) || !deleted(**i)).copied().collect();
        let torn: Vec<_> = (0..WRITES).filter(|i| put(*i) != deleted(*i)).collect();
        (lost, torn, (0..WRITES).filter(|i| put(*i)).count())
    });
    assert!(lost.is_empty(), "acknowledged writes lost: {lost:?}");
    assert!(torn.is_empty(), "half-applied writes: {torn:?}");
    assert!(applied >= KILL_AFTER_ACKS);
    store.shutdown().await;
    Ok(())
}

/// The child process of [`a_crash_loses_no_acknowledged_write`]; writes until it is killed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "run as a child process by a_crash_loses_no_acknowledged_write"]
async fn crash_child() -> Result<()> {
    let Some(dir) = std::env::var_os(DIR_ENV) else {
        eprintln!("{DIR_ENV} is not set; this only runs as the crash test's child");
        return Ok(());
    };
    let store = Store::open(config(dir.into())).await?;
    let setup = (0..WRITES)
        .map(|i| Op::put(format!("d/{i}"), fw(String::new())))
        .collect();
    store.write_ops(setup).await?;

    let mut tasks = Vec::new();
    for w in 0..WRITERS {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            for i in (w..WRITES).step_by(WRITERS) {
                store
                    .write_ops(vec![
                        Op::put(format!("p/{i}"), fw(i.to_string())),
                        Op::delete(format!("d/{i}")),
                    ])
                    .await?;
                let mut out = std::io::stdout().lock();
                writeln!(out, "ack {i}")?;
                out.flush()?;
            }
            anyhow::Ok(())
        }));
    }
    for t in tasks {
        t.await??;
    }
    Ok(())
}
