//! `/v2/apps`: the catch-all `/v2/apps/{*path}` dispatches here on what [`crate::paths`] makes
//! of the path; the handlers live in `read`, `write`, `tasks` and `versions`.

pub(crate) mod read;
mod tasks;
mod versions;
pub(crate) mod write;

use axum::extract::State;
use axum::http::{HeaderMap, Method};
use axum::response::Response;

use crate::Ctx;
use crate::error::{ApiError, Detail, Result};
use crate::json::{JsonBody, Params, PathParam};
use crate::paths::{self, AppPath};
use crate::preconditions::IfMatch;

fn parse_for_read(method: &Method, path: &str) -> Result<AppPath> {
    paths::parse(method, path).map_err(|_| ApiError::NotFound(format!("App '/{path}' does not exist")))
}

fn parse_for_write(method: &Method, path: &str) -> Result<AppPath> {
    paths::parse(method, path).map_err(|e| ApiError::Invalid(vec![Detail::new("/id", e.to_string())]))
}

pub(crate) async fn get(
    State(ctx): State<Ctx>,
    PathParam(path): PathParam,
    params: Params,
    headers: HeaderMap,
) -> Result<Response> {
    match parse_for_read(&Method::GET, &path)? {
        AppPath::App(id) => read::show(&ctx, &id, &params),
        AppPath::GroupApps(group) => read::group(&ctx, &group, &params),
        AppPath::GroupTasks(group) => tasks::list_group(&ctx, &group, &headers),
        AppPath::Tasks(id) => tasks::list(&ctx, &id, &headers),
        AppPath::Versions(id) => versions::list(&ctx, &id),
        AppPath::Version(id, v) => versions::show(&ctx, &id, &v),
        AppPath::Restart(_) | AppPath::Task(..) => Err(ApiError::MethodNotAllowed),
    }
}

pub(crate) async fn put(
    State(ctx): State<Ctx>,
    PathParam(path): PathParam,
    params: Params,
    headers: HeaderMap,
    JsonBody(body): JsonBody,
) -> Result<Response> {
    match parse_for_write(&Method::PUT, &path)? {
        AppPath::App(id) => write::put(&ctx, id, &params, body, &IfMatch::from_headers(&headers)).await,
        _ => Err(ApiError::MethodNotAllowed),
    }
}

pub(crate) async fn patch(
    State(ctx): State<Ctx>,
    PathParam(path): PathParam,
    params: Params,
    headers: HeaderMap,
    JsonBody(body): JsonBody,
) -> Result<Response> {
    match parse_for_write(&Method::PATCH, &path)? {
        AppPath::App(id) => write::patch(&ctx, id, &params, body, &IfMatch::from_headers(&headers)).await,
        _ => Err(ApiError::MethodNotAllowed),
    }
}

pub(crate) async fn delete(
    State(ctx): State<Ctx>,
    PathParam(path): PathParam,
    params: Params,
    headers: HeaderMap,
) -> Result<Response> {
    match parse_for_read(&Method::DELETE, &path)? {
        AppPath::App(id) => write::delete(&ctx, id, &params, &IfMatch::from_headers(&headers)).await,
        AppPath::Tasks(id) => tasks::kill_many(&ctx, id, &params).await,
        AppPath::Task(id, task) => tasks::kill_one(&ctx, id, task, &params).await,
        _ => Err(ApiError::MethodNotAllowed),
    }
}

pub(crate) async fn post(State(ctx): State<Ctx>, PathParam(path): PathParam, params: Params) -> Result<Response> {
    match parse_for_read(&Method::POST, &path)? {
        AppPath::Restart(id) => write::restart(&ctx, id, &params).await,
        _ => Err(ApiError::MethodNotAllowed),
    }
}
