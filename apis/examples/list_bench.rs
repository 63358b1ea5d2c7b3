//! GET /v2/apps latency with many apps: creates N apps (default 10,000; first argument) through
//! the router on an in-memory store, then times GET /v2/apps. Prints figures; asserts nothing.
//!
//! Run: `cargo run --release -p pacer-apis --example list_bench -- 10000`

use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use store::{Store, StoreConfig};
use tower::ServiceExt;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let n: usize = std::env::args().skip(1).find_map(|a| a.parse().ok()).unwrap_or(10_000);
    let store = Store::open(StoreConfig::default()).await?;
    let router = apis::router(apis::ApiState::new(store, apis::ApiConfig::default()));

    let mut creates = Vec::with_capacity(n);
    for i in 0..n {
        let body = format!(
            r#"{{"id":"/bench/group-{}/app-{i}","cmd":"sleep 600","cpus":0.01,"mem":16,"instances":1,"labels":{{"team":"t{}"}}}}"#,
            i % 100,
            i % 7
        );
        let req = Request::post("/v2/apps")
            .header("content-type", "application/json")
            .body(Body::from(body))?;
        let started = Instant::now();
        let res = router.clone().oneshot(req).await?;
        creates.push(started.elapsed());
        anyhow::ensure!(res.status() == StatusCode::CREATED, "create {i}: {}", res.status());
    }

    let mut lists = Vec::new();
    let mut bytes = 0;
    for _ in 0..20 {
        let started = Instant::now();
        let res = router
            .clone()
            .oneshot(Request::get("/v2/apps").body(Body::empty())?)
            .await?;
        let body = res.into_body().collect().await?.to_bytes();
        lists.push(started.elapsed());
        bytes = body.len();
    }
    println!("apps:                      {n}");
    println!(
        "POST /v2/apps p50 / p99:   {} / {}",
        ms(pct(&mut creates, 50)),
        ms(pct(&mut creates, 99))
    );
    println!(
        "GET /v2/apps p50 / max:    {} / {}",
        ms(pct(&mut lists, 50)),
        ms(pct(&mut lists, 100))
    );
    println!("GET /v2/apps body:         {:.1} MB", bytes as f64 / 1e6);
    Ok(())
}

fn pct(v: &mut [Duration], p: usize) -> Duration {
    v.sort_unstable();
    v[((v.len() - 1) * p) / 100]
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1e3)
}
