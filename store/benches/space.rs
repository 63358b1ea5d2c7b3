//! Disk space over a long run: round after round of writes that overwrite the same records
//! (as status updates and deployments do), with raft's own snapshots and log purges. Prints
//! the data directory's size after each round; a bounded store levels off instead of growing
//! with the number of writes. Asserts nothing.
//!
//! Run: `scripts/bench space [ROUNDS]` (default 20 rounds of 20,000 writes of 1 KiB records
//! over 2,000 keys).

use std::path::Path;
use std::time::Instant;

use schemas::Record;
use store::{Op, Store, StoreConfig};

const WRITES_PER_ROUND: usize = 20_000;
const KEYS: usize = 2_000;
const WRITERS: usize = 16;

fn dir_size(path: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(path) else { return 0 };
    entries
        .flatten()
        .map(|e| match e.metadata() {
            Ok(m) if m.is_dir() => dir_size(&e.path()),
            Ok(m) => m.len(),
            Err(_) => 0,
        })
        .sum()
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let rounds: usize = std::env::args().skip(1).find_map(|a| a.parse().ok()).unwrap_or(20);
    let dir = tempfile::tempdir()?;
    let store = Store::open(StoreConfig {
        data_dir: Some(dir.path().to_path_buf()),
        ..StoreConfig::default()
    })
    .await?;
    let payload = "x".repeat(1024);
    println!("round  writes     raft/ MiB  snapshots/ MiB  total MiB  secs");
    for round in 1..=rounds {
        let started = Instant::now();
        let mut writers = Vec::new();
        for w in 0..WRITERS {
            let (store, payload) = (store.clone(), payload.clone());
            writers.push(tokio::spawn(async move {
                for i in (w..WRITES_PER_ROUND).step_by(WRITERS) {
                    let key = format!("bench/{}", (i * 7919 + round) % KEYS);
                    let record = Record::FrameworkId(format!("{round}-{i}-{payload}"));
                    store.write_ops(vec![Op::put(key, record)]).await?;
                }
                Ok::<_, store::Error>(())
            }));
        }
        for w in writers {
            w.await??;
        }
        let (raft, snapshots) = (
            dir_size(&dir.path().join("raft")),
            dir_size(&dir.path().join("snapshots")),
        );
        println!(
            "{round:>5}  {:>9}  {:>9.1}  {:>14.1}  {:>9.1}  {:>4.1}",
            round * WRITES_PER_ROUND,
            mib(raft),
            mib(snapshots),
            mib(raft + snapshots),
            started.elapsed().as_secs_f64()
        );
    }
    store.shutdown().await;
    Ok(())
}
