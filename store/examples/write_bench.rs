//! Durable write latency and throughput of the store on sled, shaped like creating apps.
//!
//! `cargo run --release -p pacer-store --example write_bench -- --dir /tmp/x [--writes N] [--concurrency C]`
//!
//! Each write is what creating an app costs: a precondition that the app is absent and two puts
//! (the app and its first version) of a ~1 KiB definition. Runs sequential writes, then `C`
//! concurrent writers, on a fresh store under `--dir`.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use schemas::{AppDefinition, Record};
use store::{Op, Precondition, Store, StoreConfig, WriteOutcome, WriteRequest};

struct Args {
    dir: PathBuf,
    writes: usize,
    concurrency: usize,
}

fn parse_args() -> Result<Args> {
    let mut args = Args {
        dir: PathBuf::new(),
        writes: 2_000,
        concurrency: 64,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().with_context(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--dir" => args.dir = value.into(),
            "--writes" => args.writes = value.parse()?,
            "--concurrency" => args.concurrency = value.parse()?,
            other => bail!("unknown flag {other}"),
        }
    }
    if args.dir.as_os_str().is_empty() {
        bail!("usage: write_bench --dir DIR [--writes N] [--concurrency C]");
    }
    Ok(args)
}

fn app(n: usize) -> Result<Arc<AppDefinition>> {
    let labels: serde_json::Map<_, _> = (0..8)
        .map(|i| (format!("label-{i}"), format!("value-{i}-of-app-{n}").into()))
        .collect();
    let env: serde_json::Map<_, _> = (0..8)
        .map(|i| (format!("ENV_{i}"), format!("setting-{i}").into()))
        .collect();
    let json = serde_json::json!({
        "id": format!("/bench/team-{}/app-{n}", n % 10),
        "cmd": "python3 -m http.server $PORT0 --bind 0.0.0.0",
        "instances": 3, "cpus": 0.25, "mem": 128.0,
        "labels": labels, "env": env,
        "healthChecks": [{"protocol": "HTTP", "path": "/health", "portIndex": 0}],
    });
    Ok(Arc::new(serde_json::from_value(json)?))
}

fn create_app(n: usize) -> Result<WriteRequest> {
    let app = app(n)?;
    let key = format!("app/{}", app.id);
    Ok(WriteRequest {
        preconditions: vec![Precondition::Absent(key.clone())],
        ops: vec![
            Op::put(format!("appver/{}#{n:015}", app.id), Record::AppVersion(app.clone())),
            Op::put(key, Record::App(app)),
        ],
    })
}

async fn timed_write(store: &Store, req: WriteRequest) -> Result<Duration> {
    let start = Instant::now();
    match store.write(req).await? {
        WriteOutcome::Applied { .. } => Ok(start.elapsed()),
        WriteOutcome::Conflict { failed } => bail!("unexpected conflict on {failed:?}"),
    }
}

fn report(name: &str, mut latencies: Vec<Duration>, elapsed: Duration) {
    latencies.sort();
    let pct = |p: f64| latencies[((latencies.len() as f64 * p).ceil() as usize).clamp(1, latencies.len()) - 1];
    println!(
        "{name:>14}: {n} writes  p50 {p50:>8.2?}  p99 {p99:>8.2?}  max {max:>8.2?}  {tput:>8.0} writes/s",
        n = latencies.len(),
        p50 = pct(0.50),
        p99 = pct(0.99),
        max = latencies[latencies.len() - 1],
        tput = latencies.len() as f64 / elapsed.as_secs_f64(),
    );
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = parse_args()?;
    let run_dir = args.dir.join(format!("write-bench-{}", std::process::id()));
    let store = Store::open(StoreConfig {
        data_dir: Some(run_dir.clone()),
        ..StoreConfig::default()
    })
    .await?;
    let requests: Vec<_> = (0..2 * args.writes).map(create_app).collect::<Result<_>>()?;
    let (sequential, concurrent) = requests.split_at(args.writes);

    let start = Instant::now();
    let mut latencies = Vec::with_capacity(args.writes);
    for req in sequential {
        latencies.push(timed_write(&store, req.clone()).await?);
    }
    report("sequential", latencies, start.elapsed());

    let start = Instant::now();
    let mut tasks = Vec::new();
    for w in 0..args.concurrency {
        let store = store.clone();
        let mine: Vec<_> = concurrent.iter().skip(w).step_by(args.concurrency).cloned().collect();
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::with_capacity(mine.len());
            for req in mine {
                latencies.push(timed_write(&store, req).await?);
            }
            anyhow::Ok(latencies)
        }));
    }
    let mut latencies = Vec::with_capacity(args.writes);
    for t in tasks {
        latencies.extend(t.await??);
    }
    report(&format!("{}-concurrent", args.concurrency), latencies, start.elapsed());

    store.shutdown().await;
    drop(store);
    std::fs::remove_dir_all(&run_dir)?;
    Ok(())
}
