//! `/v2/tasks`: every task (JSON with a `status` filter, or HAProxy text), and killing tasks
//! of any apps by id.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use schemas::{AppDefinition, Instance, PathId, TaskState};
use serde::Deserialize;
use serde_json::json;
use store::keys;

use crate::desired::{self, KillMode, Killed, parse_task_id};
use crate::error::{ApiError, Result};
use crate::json::{self, JsonBody, Params};
use crate::render::{self, Env};
use crate::text::{self, Media, preferred};
use crate::{Ctx, view};

/// Every instance in key order (by app, then instance), with the app definitions.
fn everything(state: &store::State) -> (HashMap<PathId, Arc<AppDefinition>>, Vec<Arc<Instance>>) {
    let apps = view::apps(state).map(|a| (a.id.clone(), a)).collect();
    let instances = state
        .scan(keys::INSTANCES)
        .filter_map(|(_, e)| match &e.record {
            schemas::Record::Instance(i) => Some(i.clone()),
            _ => None,
        })
        .collect();
    (apps, instances)
}

/// `GET /v2/tasks`: `status=running|staging` (or `status[]=`) filters; other values are
/// ignored, as in Marathon.
pub(crate) async fn list(State(ctx): State<Ctx>, params: Params, headers: HeaderMap) -> Response {
    let (apps, instances) = ctx.store.read(everything);
    if preferred(&headers, &[Media::Json, Media::Text]) == Some(Media::Text) {
        let mut by_app: HashMap<PathId, Vec<Arc<Instance>>> = HashMap::new();
        for i in instances {
            by_app.entry(i.app_id.clone()).or_default().push(i);
        }
        let mut listed: Vec<_> = apps
            .into_values()
            .map(|a| {
                let inst = by_app.remove(&a.id).unwrap_or_default();
                (a, inst)
            })
            .collect();
        listed.sort_by(|a, b| a.0.id.cmp(&b.0.id));
        return (
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            text::haproxy(&listed),
        )
            .into_response();
    }
    let wanted: HashSet<TaskState> = params
        .all("status")
        .chain(params.all("status[]"))
        .filter_map(|s| match s.to_ascii_lowercase().as_str() {
            "running" => Some(TaskState::TASK_RUNNING),
            "staging" => Some(TaskState::TASK_STAGING),
            _ => None,
        })
        .collect();
    let env = Env::new(&ctx.config);
    let tasks: Vec<_> = instances
        .iter()
        .filter_map(|i| i.task.as_ref().map(|t| (i, t)))
        .filter(|(_, t)| wanted.is_empty() || wanted.contains(&t.state))
        .map(|(i, t)| render::task(i, t, apps.get(&i.app_id).map(|a| a.as_ref()), env))
        .collect();
    Json(json!({"tasks": tasks})).into_response()
}

#[derive(Deserialize)]
struct Ids {
    ids: Vec<String>,
}

/// `POST /v2/tasks/delete {"ids": [...]}`: kills the named tasks of any apps; unknown ids
/// are skipped, malformed ones are a 400.
pub(crate) async fn delete(State(ctx): State<Ctx>, params: Params, JsonBody(body): JsonBody) -> Result<Response> {
    let Ids { ids } = json::from_value(body)?;
    let parsed = ids
        .iter()
        .map(|id| parse_task_id(id).ok_or_else(|| ApiError::BadRequest(format!("Invalid task id '{id}'"))))
        .collect::<Result<BTreeSet<_>>>()?;
    let mode = KillMode::from_flags(
        params.flag("scale", false),
        params.flag("wipe", false),
        params.flag("force", false),
    )?;
    let killed = desired::kill(&ctx, mode, |s| {
        Ok(parsed
            .iter()
            .filter_map(|(app, instance_id)| view::instance(s, app, instance_id))
            .filter(|(i, _)| i.task.is_some())
            .collect())
    })
    .await?;
    Ok(match killed {
        Killed::Deployment(outcome) => render::deployment_response(StatusCode::OK, &outcome, None),
        Killed::Tasks(instances) => {
            let apps = ctx.store.read(|s| {
                instances
                    .iter()
                    .filter_map(|i| view::app(s, &i.app_id))
                    .map(|(a, _)| (a.id.clone(), a))
                    .collect::<HashMap<_, _>>()
            });
            let env = Env::new(&ctx.config);
            let tasks: Vec<_> = instances
                .iter()
                .filter_map(|i| {
                    i.task
                        .as_ref()
                        .map(|t| render::task(i, t, apps.get(&i.app_id).map(|a| a.as_ref()), env))
                })
                .collect();
            Json(json!({"tasks": tasks})).into_response()
        }
    })
}
