//! `GET /v2/apps/{id}/versions` and `GET /v2/apps/{id}/versions/{version}`.

use axum::Json;
use axum::response::{IntoResponse, Response};
use schemas::{PathId, Timestamp};
use serde_json::json;

use crate::error::{ApiError, Result};
use crate::{Ctx, view};

/// The stored versions, newest first.
pub(super) fn list(ctx: &Ctx, id: &PathId) -> Result<Response> {
    let versions = ctx
        .store
        .read(|s| view::app(s, id).map(|_| view::versions(s, id).into_keys().rev().collect::<Vec<_>>()));
    let versions = versions.ok_or_else(|| ApiError::app_not_found(id))?;
    Ok(Json(json!({"versions": versions})).into_response())
}

/// The definition as of `version`.
pub(super) fn show(ctx: &Ctx, id: &PathId, version: &str) -> Result<Response> {
    let not_found = || ApiError::NotFound(format!("App '{id}' does not exist in version {version}"));
    let at: Timestamp = version.parse().map_err(|_| not_found())?;
    let app = ctx
        .store
        .read(|s| view::versions(s, id).remove(&at))
        .ok_or_else(not_found)?;
    Ok(Json(&*app.1).into_response())
}
