//! `/v2/groups`: groups of apps and pods as Marathon serves them. A group exists while it has
//! apps or pods below it or was created explicitly; its own settings (dependencies,
//! `enforceRole`) and its versions are records of their own (see `schemas::group`). Reads live
//! in `read` (with the GitOps `status` of groups), changes in `write`, the tree both work on in
//! `tree`; `roles` is what `enforceRole` means for the apps and pods below a group.

mod read;
pub(crate) mod roles;
mod status;
mod tree;
mod write;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use schemas::PathId;

use crate::Ctx;
use crate::error::{ApiError, Detail, Result};
use crate::json::{JsonBody, Params, PathParam};
use crate::preconditions::IfMatch;

/// What a path below `/v2/groups/` names.
enum GroupPath {
    Group(PathId),
    Apps(PathId),
    Versions(PathId),
    Version(PathId, String),
}

/// Splits the `/apps`, `/versions` and `/versions/{v}` suffixes off a group path, as
/// Marathon's routes do (they win over a group of that name).
fn parse(path: &str) -> std::result::Result<GroupPath, schemas::PathIdError> {
    let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let id = |n: usize| PathId::parse(&segs[..n].join("/"));
    Ok(match segs.as_slice() {
        [.., "versions"] => GroupPath::Versions(id(segs.len() - 1)?),
        [.., "versions", v] => GroupPath::Version(id(segs.len() - 2)?, (*v).to_string()),
        [.., "apps"] => GroupPath::Apps(id(segs.len() - 1)?),
        _ => GroupPath::Group(id(segs.len())?),
    })
}

fn group_id(path: &str) -> Result<PathId> {
    match parse(path) {
        Ok(GroupPath::Group(id)) => Ok(id),
        Ok(_) => Err(ApiError::MethodNotAllowed),
        Err(e) => Err(ApiError::Invalid(vec![Detail::new("/id", e.to_string())])),
    }
}

fn get_path(ctx: &Ctx, path: &str, params: &Params) -> Result<Response> {
    match parse(path).map_err(|_| ApiError::NotFound(format!("Group '/{path}' does not exist")))? {
        GroupPath::Group(id) => read::show(ctx, &id, params),
        GroupPath::Apps(id) => read::apps(ctx, &id, params),
        GroupPath::Versions(id) => read::versions(ctx, &id),
        GroupPath::Version(id, v) => read::version(ctx, &id, &v),
    }
}

pub(crate) async fn get_root(State(ctx): State<Ctx>, params: Params) -> Result<Response> {
    get_path(&ctx, "", &params)
}

pub(crate) async fn get(State(ctx): State<Ctx>, PathParam(path): PathParam, params: Params) -> Result<Response> {
    get_path(&ctx, &path, &params)
}

// Every write takes `If-Match` (the group's version, its `ETag`): 412 when it moved on.

pub(crate) async fn post_root(
    State(ctx): State<Ctx>,
    params: Params,
    headers: HeaderMap,
    JsonBody(body): JsonBody,
) -> Result<Response> {
    write::create(&ctx, PathId::root(), &params, body, &IfMatch::from_headers(&headers)).await
}

pub(crate) async fn post(
    State(ctx): State<Ctx>,
    PathParam(path): PathParam,
    params: Params,
    headers: HeaderMap,
    JsonBody(body): JsonBody,
) -> Result<Response> {
    write::create(&ctx, group_id(&path)?, &params, body, &IfMatch::from_headers(&headers)).await
}

pub(crate) async fn put_root(
    State(ctx): State<Ctx>,
    params: Params,
    headers: HeaderMap,
    JsonBody(body): JsonBody,
) -> Result<Response> {
    write::update(&ctx, PathId::root(), &params, body, &IfMatch::from_headers(&headers)).await
}

pub(crate) async fn put(
    State(ctx): State<Ctx>,
    PathParam(path): PathParam,
    params: Params,
    headers: HeaderMap,
    JsonBody(body): JsonBody,
) -> Result<Response> {
    write::update(&ctx, group_id(&path)?, &params, body, &IfMatch::from_headers(&headers)).await
}

pub(crate) async fn patch(
    State(ctx): State<Ctx>,
    PathParam(path): PathParam,
    params: Params,
    headers: HeaderMap,
    JsonBody(body): JsonBody,
) -> Result<Response> {
    write::patch(&ctx, group_id(&path)?, &params, body, &IfMatch::from_headers(&headers)).await
}

pub(crate) async fn delete_root(State(ctx): State<Ctx>, params: Params, headers: HeaderMap) -> Result<Response> {
    write::delete(&ctx, PathId::root(), &params, &IfMatch::from_headers(&headers)).await
}

pub(crate) async fn delete(
    State(ctx): State<Ctx>,
    PathParam(path): PathParam,
    params: Params,
    headers: HeaderMap,
) -> Result<Response> {
    write::delete(&ctx, group_id(&path)?, &params, &IfMatch::from_headers(&headers)).await
}
