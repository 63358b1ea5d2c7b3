//! Tasks of one app or group: list them (JSON or HAProxy text) and kill them.

use std::sync::Arc;

use axum::Json;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use schemas::{AppDefinition, Goal, Instance, PathId};
use serde_json::json;

use crate::desired::{self, KillMode, Killed, parse_task_id};
use crate::error::{ApiError, Result};
use crate::json::Params;
use crate::render::{self, Env};
use crate::text::{self, Media, preferred};
use crate::{Ctx, view};

type AppTasks = Vec<(Arc<AppDefinition>, Vec<Arc<Instance>>)>;

fn respond(ctx: &Ctx, apps: &AppTasks, headers: &HeaderMap) -> Response {
    if preferred(headers, &[Media::Json, Media::Text]) == Some(Media::Text) {
        return (
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            text::haproxy(apps),
        )
            .into_response();
    }
    let env = Env::new(&ctx.config);
    let tasks: Vec<_> = apps
        .iter()
        .flat_map(|(app, inst)| render::tasks(inst, Some(app), env))
        .collect();
    Json(json!({"tasks": tasks})).into_response()
}

fn with_instances(state: &store::State, app: Arc<AppDefinition>) -> (Arc<AppDefinition>, Vec<Arc<Instance>>) {
    let instances = view::instances_of(state, &app.id).into_iter().map(|(i, _)| i).collect();
    (app, instances)
}

/// `GET /v2/apps/{id}/tasks`.
pub(super) fn list(ctx: &Ctx, id: &PathId, headers: &HeaderMap) -> Result<Response> {
    let apps = ctx
        .store
        .read(|s| view::app(s, id).map(|(app, _)| vec![with_instances(s, app)]));
    Ok(respond(ctx, &apps.ok_or_else(|| ApiError::app_not_found(id))?, headers))
}

/// `GET /v2/apps/{group}/*/tasks`.
pub(super) fn list_group(ctx: &Ctx, group: &PathId, headers: &HeaderMap) -> Result<Response> {
    let apps = ctx.store.read(|s| {
        view::is_group(s, group).then(|| {
            view::apps_within(s, group)
                .into_iter()
                .map(|a| with_instances(s, a))
                .collect::<AppTasks>()
        })
    });
    let apps = apps.ok_or_else(|| ApiError::NotFound(format!("Group '{group}' does not exist")))?;
    Ok(respond(ctx, &apps, headers))
}

fn kill_mode(params: &Params) -> Result<KillMode> {
    KillMode::from_flags(
        params.flag("scale", false),
        params.flag("wipe", false),
        params.flag("force", false),
    )
}

/// The killed tasks as JSON (under `key`), or the deployment that scales the app down.
fn killed_response(ctx: &Ctx, id: &PathId, killed: Killed, single: bool) -> Response {
    match killed {
        Killed::Deployment(outcome) => render::deployment_response(StatusCode::OK, &outcome, None),
        Killed::Tasks(instances) => {
            let app = ctx.store.read(|s| view::app(s, id)).map(|(a, _)| a);
            let tasks = render::tasks(&instances, app.as_deref(), Env::new(&ctx.config));
            if single {
                Json(json!({"task": tasks.into_iter().next()})).into_response()
            } else {
                Json(json!({"tasks": tasks})).into_response()
            }
        }
    }
}

/// `DELETE /v2/apps/{id}/tasks?host=&scale=&wipe=`: every task of the app, or those on
/// `host` (`*` is every host).
pub(super) async fn kill_many(ctx: &Ctx, id: PathId, params: &Params) -> Result<Response> {
    let mode = kill_mode(params)?;
    let host = params
        .get("host")
        .filter(|h| !h.is_empty() && *h != "*")
        .map(str::to_string);
    let killed = desired::kill(ctx, mode, |s| {
        if view::app(s, &id).is_none() {
            return Err(ApiError::app_not_found(&id));
        }
        Ok(view::instances_of(s, &id)
            .into_iter()
            .filter(|(i, _)| i.goal == Goal::Running)
            .filter(|(i, _)| {
                i.task
                    .as_ref()
                    .is_some_and(|t| host.as_ref().is_none_or(|h| &t.host == h))
            })
            .collect())
    })
    .await?;
    Ok(killed_response(ctx, &id, killed, false))
}

/// `DELETE /v2/apps/{id}/tasks/{taskId}`.
pub(super) async fn kill_one(ctx: &Ctx, id: PathId, task_id: String, params: &Params) -> Result<Response> {
    let mode = kill_mode(params)?;
    let killed = desired::kill(ctx, mode, |s| {
        if view::app(s, &id).is_none() {
            return Err(ApiError::app_not_found(&id));
        }
        let found = parse_task_id(&task_id)
            .filter(|(app, _)| *app == id)
            .and_then(|(app, instance_id)| view::instance(s, &app, &instance_id))
            .filter(|(i, _)| i.task.is_some());
        found.map(|f| vec![f]).ok_or_else(|| ApiError::task_not_found(&task_id))
    })
    .await?;
    Ok(killed_response(ctx, &id, killed, true))
}
