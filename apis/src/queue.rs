//! `GET /v2/queue`: apps with instances waiting for a launch, with their launch delay and what
//! they made of the offers they were shown; `DELETE /v2/queue/{appId}/delay` lifts the delay.
//!
//! An instance waits when it should run (goal `Running`) but has no task or only a finished
//! one; instances the controllers have not created yet wait too. The delay is the stored
//! `LaunchDelay` of the app's current config; the offer statistics are the controllers'.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use schemas::offers::OfferStats;
use schemas::{Goal, LaunchDelay, PathId, RunSpec, Timestamp};
use serde_json::{Value, json};
use store::{Op, keys};

use crate::error::{ApiError, Result};
use crate::json::{Params, PathParam};
use crate::{Ctx, view};

/// One app or pod that waits, as read from the store.
struct Queued {
    spec: RunSpec,
    count: usize,
    since: Option<Timestamp>,
    delay: Option<LaunchDelay>,
}

fn queued(s: &store::State, spec: RunSpec) -> Option<Queued> {
    let instances = view::instances_of(s, spec.id());
    let should_run: Vec<_> = instances.iter().filter(|(i, _)| i.goal == Goal::Running).collect();
    let waiting: Vec<Timestamp> = should_run
        .iter()
        .filter(|(i, _)| !i.has_active_task())
        .map(|(i, _)| i.task.as_ref().map_or(i.created_at, |t| t.updated_at))
        .collect();
    let missing = (spec.instances() as usize).saturating_sub(should_run.len());
    let count = waiting.len() + missing;
    if count == 0 {
        return None;
    }
    let since = waiting
        .iter()
        .copied()
        .chain((missing > 0).then(|| spec.version_or_epoch()))
        .min();
    Some(Queued {
        count,
        since,
        delay: s.launch_delay(spec.id()).cloned(),
        spec,
    })
}

pub(crate) async fn list(State(ctx): State<Ctx>, params: Params) -> Json<Value> {
    let with_offers = params.all("embed").any(|e| e == "lastUnusedOffers");
    let items = ctx.store.read(|s| {
        let apps = view::apps(s).map(RunSpec::App);
        let pods = view::pods(s).into_iter().map(RunSpec::Pod);
        apps.chain(pods).filter_map(|spec| queued(s, spec)).collect::<Vec<_>>()
    });
    let stats = ctx.config.offer_stats.borrow().clone();
    let now = Timestamp::now();
    let none = OfferStats::default();
    let items: Vec<Value> = items
        .iter()
        .map(|q| {
            let offers = stats.get(q.spec.id()).unwrap_or(&none);
            // Marathon's `role` is left out: marathon-python's queue item rejects it.
            let mut item = json!({
                "count": q.count,
                "delay": delay(q.delay.as_ref(), q.spec.config_version(), now),
                "since": q.since,
                "processedOffersSummary": offers.summary(),
            });
            match &q.spec {
                RunSpec::App(app) => item["app"] = json!(&**app),
                RunSpec::Pod(pod) => item["pod"] = json!(&**pod),
            }
            if with_offers {
                item["lastUnusedOffers"] = json!(offers.last_unused);
            }
            item
        })
        .collect();
    Json(json!({"queue": items}))
}

/// Marathon's `delay`: whole seconds (rounded up) until the app's current config may launch
/// again, or 0 and overdue when it may launch now. Delays of older configs do not apply.
fn delay(d: Option<&LaunchDelay>, config_version: Timestamp, now: Timestamp) -> Value {
    let until = d
        .filter(|d| d.config_version == config_version)
        .map(|d| d.reference.millis().saturating_add(d.delay_millis as i64));
    match until {
        Some(until) if until > now.millis() => {
            let left = (until - now.millis() + 999) / 1000;
            json!({"timeLeftSeconds": left, "overdue": false})
        }
        _ => json!({"timeLeftSeconds": 0, "overdue": true}),
    }
}

/// `DELETE /v2/queue/{appId}/delay`: forgets the app's launch delay, so its waiting instances
/// launch on the next offer. As in Marathon, only an app in the queue has a delay to reset.
pub(crate) async fn reset_delay(State(ctx): State<Ctx>, PathParam(path): PathParam) -> Result<StatusCode> {
    let Some(id) = path.trim_end_matches('/').strip_suffix("/delay") else {
        return Err(ApiError::NotFound("URI not found".into()));
    };
    let not_queued = |id: &str| ApiError::NotFound(format!("Application {id} not found in tasks queue."));
    let id = PathId::parse(id).map_err(|_| not_queued(id))?;
    let waits = ctx
        .store
        .read(|s| s.run_spec(&id).and_then(|spec| queued(s, spec)).is_some());
    if !waits {
        return Err(not_queued(&id.to_string()));
    }
    ctx.store.write_ops(vec![Op::delete(keys::launch_delay(&id))]).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn app(config_ms: i64) -> schemas::AppDefinition {
        let mut a: schemas::AppDefinition = serde_json::from_str(r#"{"id":"/a","cmd":"false"}"#).unwrap();
        a.version = Some(Timestamp::from_millis(config_ms));
        a
    }

    fn launch_delay(config_ms: i64, reference: i64, delay_millis: u64) -> LaunchDelay {
        LaunchDelay {
            config_version: Timestamp::from_millis(config_ms),
            reference: Timestamp::from_millis(reference),
            delay_millis,
        }
    }

    #[test]
    fn delay_rounds_up_and_ignores_older_configs() {
        let now = Timestamp::from_millis(10_000);
        let d = launch_delay(1, 9_000, 3_500);
        assert_eq!(
            delay(Some(&d), app(1).config_version(), now),
            json!({"timeLeftSeconds": 3, "overdue": false})
        );
        let overdue = json!({"timeLeftSeconds": 0, "overdue": true});
        assert_eq!(delay(Some(&d), app(2).config_version(), now), overdue);
        assert_eq!(
            delay(Some(&launch_delay(1, 0, 10_000)), app(1).config_version(), now),
            overdue
        );
        assert_eq!(delay(None, app(1).config_version(), now), overdue);
    }
}
