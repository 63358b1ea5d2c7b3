//! Request counters and the headers every response carries, in one middleware; `GET /metrics`
//! reports the counters, a few store gauges, the store's commit latency and the controllers'
//! numbers (offers, launches, status updates, reconcile durations) in Marathon's
//! Dropwizard-style JSON layout, or in Prometheus's text format when the client asks for text
//! (as scrapers do), as `GET /metrics/prometheus` always does.

use std::sync::atomic::{AtomicU64, Ordering};

use std::collections::BTreeMap;

use axum::Json;
use axum::body::HttpBody;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use schemas::metrics::{ControllerMetrics, Histogram};
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
    /// Request durations: counts per upper bound of [`LATENCY_BUCKETS`] (the last is +Inf).
    latency_buckets: [AtomicU64; LATENCY_BUCKETS.len() + 1],
    latency_micros: AtomicU64,
}

/// Upper bounds, in seconds, of the request-duration histogram's buckets.
const LATENCY_BUCKETS: [f64; 10] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 5.0];

/// Counts the request and its response, and adds Marathon's leader and caching headers.
pub(crate) async fn headers_and_counts(State(ctx): State<Ctx>, req: Request, next: Next) -> Response {
    let m = &ctx.metrics;
    let started = std::time::Instant::now();
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
    // Time to the response head: streams (SSE) would otherwise count as forever.
    let took = started.elapsed();
    let bucket = LATENCY_BUCKETS
        .iter()
        .position(|b| took.as_secs_f64() <= *b)
        .unwrap_or(LATENCY_BUCKETS.len());
    m.latency_buckets[bucket].fetch_add(1, Ordering::Relaxed);
    m.latency_micros.fetch_add(took.as_micros() as u64, Ordering::Relaxed);

    let headers = res.headers_mut();
    if let Some(v) = ctx
        .leader_addr()
        .and_then(|l| HeaderValue::from_str(&format!("http://{l}")).ok())
    {
        headers.insert("x-marathon-leader", v);
    }
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("no-cache, no-store, must-revalidate"),
    );
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

/// `GET /metrics`: JSON, or Prometheus text when the client prefers text.
pub(crate) async fn get(State(ctx): State<Ctx>, headers: HeaderMap) -> Response {
    let accept = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).unwrap_or("");
    if accept.contains("text/plain") || accept.contains("openmetrics") {
        prometheus(State(ctx)).await.into_response()
    } else {
        json_view(&ctx).into_response()
    }
}

/// `GET /metrics/prometheus`: Prometheus's text exposition format.
pub(crate) async fn prometheus(State(ctx): State<Ctx>) -> impl IntoResponse {
    let tasks = ctx.store.read(|s| {
        let mut by_state: BTreeMap<&'static str, u64> = BTreeMap::new();
        for (_, e) in s.scan(keys::INSTANCES) {
            if let Record::Instance(i) = &e.record
                && let Some(state) = i.state()
            {
                *by_state.entry(state.as_str()).or_default() += 1;
            }
        }
        by_state
    });
    let (apps, deployments) = ctx
        .store
        .read(|s| (s.scan(keys::APPS).count(), s.scan(keys::DEPLOYMENTS).count()));
    let m = &ctx.metrics;
    let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
    let mut out = String::new();
    family(
        &mut out,
        "pacer_http_requests_total",
        "counter",
        "HTTP requests received.",
        [("", load(&m.requests) as f64)],
    );
    family(
        &mut out,
        "pacer_http_requests_active",
        "gauge",
        "HTTP requests being handled.",
        [("", load(&m.active) as f64)],
    );
    let classes = ["1xx", "2xx", "3xx", "4xx", "5xx"];
    family(
        &mut out,
        "pacer_http_responses_total",
        "counter",
        "HTTP responses by status class.",
        m.responses
            .iter()
            .zip(classes)
            .map(|(n, c)| (format!("{{class=\"{c}\"}}"), load(n) as f64)),
    );
    let mut cumulative = 0;
    let mut buckets = Vec::new();
    for (i, n) in m.latency_buckets.iter().enumerate() {
        cumulative += load(n);
        let le = LATENCY_BUCKETS.get(i).map_or("+Inf".to_string(), |b| b.to_string());
        buckets.push((format!("_bucket{{le=\"{le}\"}}"), cumulative as f64));
    }
    buckets.push(("_sum".into(), load(&m.latency_micros) as f64 / 1e6));
    buckets.push(("_count".into(), cumulative as f64));
    family(
        &mut out,
        "pacer_http_request_duration_seconds",
        "histogram",
        "Time to the response head.",
        buckets,
    );
    family(&mut out, "pacer_apps", "gauge", "Apps defined.", [("", apps as f64)]);
    family(
        &mut out,
        "pacer_deployments",
        "gauge",
        "Deployments in progress.",
        [("", deployments as f64)],
    );
    family(
        &mut out,
        "pacer_tasks",
        "gauge",
        "Tasks by Mesos state, as last observed.",
        tasks
            .into_iter()
            .map(|(state, n)| (format!("{{state=\"{state}\"}}"), n as f64)),
    );
    let controllers = ctx.config.controller_metrics.borrow().clone();
    controller_families(&mut out, &controllers);
    family(
        &mut out,
        "pacer_raft_commit_seconds",
        "histogram",
        "Time from a store write to its outcome, durable and applied.",
        histogram_samples("", &ctx.store.commit_seconds()),
    );
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
        out,
    )
}

fn controller_families(out: &mut String, m: &ControllerMetrics) {
    family(
        out,
        "pacer_offers_received_total",
        "counter",
        "Offers received from Mesos.",
        [("", m.offers_received as f64)],
    );
    family(
        out,
        "pacer_offers_total",
        "counter",
        "Offers processed, by result: used (accepted with launches) or declined.",
        [
            ("{result=\"used\"}", m.offers_used as f64),
            ("{result=\"declined\"}", m.offers_declined as f64),
        ],
    );
    family(
        out,
        "pacer_tasks_launched_total",
        "counter",
        "Tasks launched on offers.",
        [("", m.tasks_launched as f64)],
    );
    family(
        out,
        "pacer_status_updates_total",
        "counter",
        "Task status updates received, by Mesos state.",
        m.status_updates
            .iter()
            .map(|(state, n)| (format!("{{state=\"{state}\"}}"), *n as f64)),
    );
    family(
        out,
        "pacer_reconcile_seconds",
        "histogram",
        "Time one reconcile took, by controller.",
        m.reconcile_seconds
            .iter()
            .flat_map(|(c, h)| histogram_samples(&format!("controller=\"{c}\""), h)),
    );
    family(
        out,
        "pacer_task_reconciliation_seconds",
        "histogram",
        "Time from an explicit task reconciliation request to its last answer.",
        histogram_samples("", &m.task_reconciliation_seconds),
    );
}

/// The samples of one histogram series with `labels` (`name="value",...`, or empty).
fn histogram_samples(labels: &str, h: &Histogram) -> Vec<(String, f64)> {
    let sep = if labels.is_empty() { "" } else { "," };
    let braced = if labels.is_empty() {
        String::new()
    } else {
        format!("{{{labels}}}")
    };
    let mut samples: Vec<(String, f64)> = h
        .cumulative()
        .map(|(le, n)| {
            let le = if le.is_finite() { le.to_string() } else { "+Inf".into() };
            (format!("_bucket{{{labels}{sep}le=\"{le}\"}}"), n as f64)
        })
        .collect();
    samples.push((format!("_sum{braced}"), h.sum()));
    samples.push((format!("_count{braced}"), h.count() as f64));
    samples
}

/// A Dropwizard timer as Marathon's JSON shows one, from a histogram's buckets.
fn timer(h: &Histogram) -> Value {
    let count = h.count();
    let mean = if count == 0 { 0.0 } else { h.sum() / count as f64 };
    json!({
        "count": count,
        "mean": mean,
        "p50": h.quantile(0.5),
        "p75": h.quantile(0.75),
        "p95": h.quantile(0.95),
        "p99": h.quantile(0.99),
        "duration_units": "seconds",
    })
}

fn controller_json(
    m: &ControllerMetrics,
    commit: &Histogram,
    counters: &mut serde_json::Map<String, Value>,
    timers: &mut serde_json::Map<String, Value>,
) {
    let mut count = |name: String, n: u64| counters.insert(name, counter(n));
    count("marathon.mesos.offers.incoming.counter".into(), m.offers_received);
    count("marathon.mesos.offers.used.counter".into(), m.offers_used);
    count("marathon.mesos.offers.declined.counter".into(), m.offers_declined);
    count("marathon.tasks.launched.counter".into(), m.tasks_launched);
    for (state, n) in &m.status_updates {
        let state = state.to_ascii_lowercase().replace('_', "-");
        count(format!("marathon.mesos.task-updates.{state}.counter"), *n);
    }
    for (controller, h) in &m.reconcile_seconds {
        timers.insert(format!("marathon.reconcile.{controller}.duration.timer"), timer(h));
    }
    timers.insert(
        "marathon.mesos.task-reconciliation.duration.timer".into(),
        timer(&m.task_reconciliation_seconds),
    );
    timers.insert("marathon.persistence.commit.duration.timer".into(), timer(commit));
}

/// Appends one metric family: its HELP and TYPE lines, then one sample per
/// (suffix-and-labels, value).
fn family<S: AsRef<str>>(
    out: &mut String,
    name: &str,
    kind: &str,
    help: &str,
    samples: impl IntoIterator<Item = (S, f64)>,
) {
    use std::fmt::Write;
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
    for (suffix, value) in samples {
        let _ = writeln!(out, "{name}{} {value}", suffix.as_ref());
    }
}

fn json_view(ctx: &Ctx) -> Json<Value> {
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
    counters.insert(
        "marathon.http.requests.count".into(),
        counter(m.requests.load(Ordering::Relaxed)),
    );
    counters.insert(
        "marathon.http.requests.size.counter.bytes".into(),
        counter(m.request_bytes.load(Ordering::Relaxed)),
    );
    counters.insert(
        "marathon.http.responses.size.counter.bytes".into(),
        counter(m.response_bytes.load(Ordering::Relaxed)),
    );
    for (i, n) in m.responses.iter().enumerate() {
        counters.insert(
            format!("marathon.http.responses.{}xx.count", i + 1),
            counter(n.load(Ordering::Relaxed)),
        );
    }
    let mut timers = serde_json::Map::new();
    let controllers = ctx.config.controller_metrics.borrow().clone();
    controller_json(&controllers, &ctx.store.commit_seconds(), &mut counters, &mut timers);
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
        "timers": timers,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families_render_in_exposition_format() {
        let mut out = String::new();
        family(&mut out, "x_total", "counter", "Xs.", [("", 3.0)]);
        family(&mut out, "t", "gauge", "Ts.", [("{state=\"TASK_RUNNING\"}", 2.0)]);
        assert_eq!(
            out,
            "# HELP x_total Xs.\n# TYPE x_total counter\nx_total 3\n# HELP t Ts.\n# TYPE t gauge\nt{state=\"TASK_RUNNING\"} 2\n"
        );
    }

    #[test]
    fn histograms_render_cumulative_buckets_with_labels() {
        let mut h = Histogram::new(&[0.1, 1.0]);
        h.observe(0.05);
        h.observe(2.0);
        let mut out = String::new();
        family(
            &mut out,
            "r_seconds",
            "histogram",
            "Rs.",
            histogram_samples("c=\"apps\"", &h),
        );
        let samples: Vec<&str> = out.lines().skip(2).collect();
        assert_eq!(
            samples,
            vec![
                "r_seconds_bucket{c=\"apps\",le=\"0.1\"} 1",
                "r_seconds_bucket{c=\"apps\",le=\"1\"} 1",
                "r_seconds_bucket{c=\"apps\",le=\"+Inf\"} 2",
                "r_seconds_sum{c=\"apps\"} 2.05",
                "r_seconds_count{c=\"apps\"} 2",
            ]
        );
        let plain = histogram_samples("", &h);
        assert_eq!(plain[0].0, "_bucket{le=\"0.1\"}");
        assert_eq!(plain[3].0, "_sum");
    }
}
