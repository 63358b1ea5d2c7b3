//! Request counters and the headers every response carries, in one middleware; `GET /metrics`
//! reports the counters and a few store gauges in Marathon's Dropwizard-style JSON layout.

use std::sync::atomic::{AtomicU64, Ordering};

use axum::Json;
use axum::body::HttpBody;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;
use schemas::{Goal, Record, TaskState};
use serde_json::{Value, json};
use store::keys;

use crate::Ctx;

#[derive(Default)]
pub(crate) struct Metrics {
    requests: AtomicU64,
    active: AtomicU64,
    request_bytes: AtomicU64,
    response_bytes: AtomicU64,
    /// Responses by status class, 1xx..5xx.
    responses: [AtomicU64; 5],
}

/// Counts the request and its response, and adds Marathon's leader and caching headers.
pub(crate) async fn headers_and_counts(State(ctx): State<Ctx>, req: Request, next: Next) -> Response {
    let m = &ctx.metrics;
    m.requests.fetch_add(1, Ordering::Relaxed);
    m.active.fetch_add(1, Ordering::Relaxed);
    if let Some(n) = req.body().size_hint().exact() {
        m.request_bytes.fetch_add(n, Ordering::Relaxed);
    }
    let mut res = next.run(req).await;
    m.active.fetch_sub(1, Ordering::Relaxed);
    if let Some(n) = res.body().size_hint().exact() {
        m.response_bytes.fetch_add(n, Ordering::Relaxed);
    }
    let class = (res.status().as_u16() / 100).clamp(1, 5) as usize - 1;
    m.responses[class].fetch_add(1, Ordering::Relaxed);

    let headers = res.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&format!("http://{}", ctx.config.leader)) {
        headers.insert("x-marathon-leader", v);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache, no-store, must-revalidate"));
    headers.insert("x-frame-options", HeaderValue::from_static("DENY"));
    headers.insert("x-xss-protection", HeaderValue::from_static("1; mode=block"));
    res
}

fn counter(n: u64) -> Value {
    json!({"count": n})
}

fn gauge(n: u64) -> Value {
    json!({"value": n})
}

/// `GET /metrics`.
pub(crate) async fn get(State(ctx): State<Ctx>) -> Json<Value> {
    let (apps, deployments, running, staged) = ctx.store.read(|s| {
        let apps = s.scan(keys::APPS).count() as u64;
        let deployments = s.scan(keys::DEPLOYMENTS).count() as u64;
        let (mut running, mut staged) = (0u64, 0u64);
        for (_, e) in s.scan(keys::INSTANCES) {
            if let Record::Instance(i) = &e.record
                && i.goal == Goal::Running
            {
                match i.state() {
                    Some(TaskState::TASK_RUNNING) => running += 1,
                    Some(TaskState::TASK_STAGING | TaskState::TASK_STARTING | TaskState::TASK_PROVISIONED) => {
                        staged += 1
                    }
                    _ => {}
                }
            }
        }
        (apps, deployments, running, staged)
    });
    let m = &ctx.metrics;
    let mut counters = serde_json::Map::new();
    counters.insert("marathon.http.requests.count".into(), counter(m.requests.load(Ordering::Relaxed)));
    counters
        .insert("marathon.http.requests.size.counter.bytes".into(), counter(m.request_bytes.load(Ordering::Relaxed)));
    counters
        .insert("marathon.http.responses.size.counter.bytes".into(), counter(m.response_bytes.load(Ordering::Relaxed)));
    for (i, n) in m.responses.iter().enumerate() {
        counters.insert(format!("marathon.http.responses.{}xx.count", i + 1), counter(n.load(Ordering::Relaxed)));
    }
    Json(json!({
        "version": "4.0.0",
        "counters": counters,
        "gauges": {
            "marathon.apps.active.gauge": gauge(apps),
            "marathon.deployments.active.gauge": gauge(deployments),
            "marathon.instances.running.gauge": gauge(running),
            "marathon.instances.staged.gauge": gauge(staged),
            "marathon.http.requests.active.gauge": gauge(m.active.load(Ordering::Relaxed)),
        },
        "histograms": {},
        "meters": {},
        "timers": {},
    }))
}
