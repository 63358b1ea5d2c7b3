//! `GET /v2/queue`: apps with instances waiting for a launch. An instance waits when it should
//! run (goal `Running`) but has no task or only a finished one; instances the controllers have
//! not created yet wait too. Launch delays are not recorded in the store, so every item shows
//! no delay left.

use axum::Json;
use axum::extract::State;
use schemas::{Goal, Timestamp};
use serde_json::{Value, json};

use crate::{Ctx, view};

pub(crate) async fn list(State(ctx): State<Ctx>) -> Json<Value> {
    let items = ctx.store.read(|s| {
        let mut items = Vec::new();
        for app in view::apps(s) {
            let instances = view::instances_of(s, &app.id);
            let should_run: Vec<_> = instances.iter().filter(|(i, _)| i.goal == Goal::Running).collect();
            let waiting: Vec<Timestamp> = should_run
                .iter()
                .filter(|(i, _)| !i.has_active_task())
                .map(|(i, _)| i.task.as_ref().map_or(i.created_at, |t| t.updated_at))
                .collect();
            let missing = (app.instances as usize).saturating_sub(should_run.len());
            let count = waiting.len() + missing;
            if count == 0 {
                continue;
            }
            let since = waiting
                .iter()
                .copied()
                .chain((missing > 0).then(|| app.version_or_epoch()))
                .min();
            items.push(json!({
                "app": &*app,
                "count": count,
                "delay": {"timeLeftSeconds": 0, "overdue": true},
                "since": since,
            }));
        }
        items
    });
    Json(json!({"queue": items}))
}
