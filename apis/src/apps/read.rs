//! `GET /v2/apps`, `GET /v2/apps/{id}` and `GET /v2/apps/{group}/*`.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use schemas::{AppDefinition, Instance, PathId};
use serde::Serialize;
use store::State as StoreState;

use crate::error::{ApiError, Result};
use crate::json::Params;
use crate::labels::Selector;
use crate::render::{self, AppInfo, AppParts, Embed, Env};
use crate::status::{self, AppStatus};
use crate::{Ctx, view};

/// An app with what its AppInfo needs, cloned out of the store.
struct Gathered {
    app: Arc<AppDefinition>,
    instances: Vec<Arc<Instance>>,
    deployments: Vec<String>,
    status: AppStatus,
}

fn gather(state: &StoreState, apps: Vec<Arc<AppDefinition>>) -> Vec<Gathered> {
    let deployments = view::deployments(state);
    let mut by_app = view::deployments_by_app(&deployments);
    let now = schemas::Timestamp::now();
    apps.into_iter()
        .map(|app| {
            let instances: Vec<Arc<Instance>> =
                view::instances_of(state, &app.id).into_iter().map(|(i, _)| i).collect();
            let ids = by_app.remove(&app.id).unwrap_or_default();
            let affecting: Vec<_> = deployments.iter().filter(|d| ids.contains(&d.id)).cloned().collect();
            let status = status::of(&app, &instances, &affecting, state.launch_delay(&app.id), now);
            Gathered {
                instances,
                deployments: ids,
                status,
                app,
            }
        })
        .collect()
}

fn render<'a>(gathered: &'a [Gathered], embed: Embed, env: Env<'_>) -> Vec<AppInfo<'a>> {
    gathered
        .iter()
        .map(|g| {
            let parts = AppParts {
                app: &g.app,
                instances: &g.instances,
                deployments: &g.deployments,
                status: Some(&g.status),
            };
            render::app_info(&parts, embed, env)
        })
        .collect()
}

#[derive(Serialize)]
struct AppsBody<'a> {
    apps: Vec<AppInfo<'a>>,
}

#[derive(Serialize)]
struct AppBody<'a> {
    app: AppInfo<'a>,
}

#[derive(Serialize)]
struct GroupBody<'a> {
    #[serde(rename = "*")]
    apps: Vec<AppInfo<'a>>,
}

/// The embeds of list endpoints: counts and deployments are always included.
fn list_embed(params: &Params) -> Embed {
    Embed {
        counts: true,
        deployments: true,
        ..Embed::from_params(params)
    }
}

/// Filters of `GET /v2/apps`: `cmd` and `id` (case-insensitive substrings) and `label`.
struct Filter {
    cmd: Option<String>,
    id: Option<String>,
    label: Option<Selector>,
}

impl Filter {
    fn from_params(params: &Params) -> Result<Filter> {
        let label = match params.get("label").filter(|l| !l.is_empty()) {
            Some(l) => Some(
                Selector::parse(l)
                    .ok_or_else(|| ApiError::Unprocessable(format!("Can not parse label selector {l}")))?,
            ),
            None => None,
        };
        let lower = |k| params.get(k).filter(|v| !v.is_empty()).map(str::to_lowercase);
        Ok(Filter {
            cmd: lower("cmd"),
            id: lower("id"),
            label,
        })
    }

    fn matches(&self, app: &AppDefinition) -> bool {
        self.cmd
            .as_ref()
            .is_none_or(|c| app.cmd.as_ref().is_some_and(|a| a.to_lowercase().contains(c)))
            && self
                .id
                .as_ref()
                .is_none_or(|i| app.id.as_str().to_lowercase().contains(i))
            && self.label.as_ref().is_none_or(|l| l.matches(&app.labels))
    }
}

/// `GET /v2/apps`.
pub(crate) async fn list(State(ctx): State<Ctx>, params: Params) -> Result<Response> {
    let filter = Filter::from_params(&params)?;
    let gathered = ctx
        .store
        .read(|s| gather(s, view::apps(s).filter(|a| filter.matches(a)).collect()));
    Ok(Json(AppsBody {
        apps: render(&gathered, list_embed(&params), Env::new(&ctx.config)),
    })
    .into_response())
}

/// `GET /v2/apps/{id}`: tasks, counts, deployments and the last failure always included.
pub(crate) fn show(ctx: &Ctx, id: &PathId, params: &Params) -> Result<Response> {
    let gathered = ctx
        .store
        .read(|s| view::app(s, id).map(|(app, _)| gather(s, vec![app])));
    let gathered = gathered.ok_or_else(|| ApiError::app_not_found(id))?;
    let embed = Embed {
        counts: true,
        deployments: true,
        tasks: true,
        last_task_failure: true,
        ..Embed::from_params(params)
    };
    let g = gathered.first().ok_or_else(|| ApiError::app_not_found(id))?;
    let parts = AppParts {
        app: &g.app,
        instances: &g.instances,
        deployments: &g.deployments,
        status: Some(&g.status),
    };
    let mut res = Json(AppBody {
        app: render::app_info(&parts, embed, Env::new(&ctx.config)),
    })
    .into_response();
    if let Some(tag) = crate::preconditions::etag(&g.app) {
        res.headers_mut().insert(axum::http::header::ETAG, tag);
    }
    Ok(res)
}

/// `GET /v2/apps/{group}/*`: every app at or below the group.
pub(crate) fn group(ctx: &Ctx, group: &PathId, params: &Params) -> Result<Response> {
    let gathered = ctx
        .store
        .read(|s| view::is_group(s, group).then(|| gather(s, view::apps_within(s, group))));
    let gathered = gathered.ok_or_else(|| ApiError::NotFound(format!("Group '{group}' does not exist")))?;
    Ok(Json(GroupBody {
        apps: render(&gathered, list_embed(params), Env::new(&ctx.config)),
    })
    .into_response())
}
