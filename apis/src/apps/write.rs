//! Changes to apps: `POST /v2/apps`, `PUT`/`PATCH` of one app or a batch, `DELETE`, and
//! `POST .../restart`. Each handler turns its body into definitions and leaves the write to
//! [`crate::desired`].

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use schemas::{AppDefinition, PathId, Timestamp};
use serde_json::Value;

use crate::desired::{self, Change, Mutation};
use crate::error::{ApiError, Detail, Result, details};
use crate::json::{self, JsonBody, Params};
use crate::preconditions::IfMatch;
use crate::render::{self, AppParts, Embed, Env};
use crate::{Ctx, view};

/// A complete definition from a request body: typed, normalised (relative ids resolve
/// against the root) and validated. `id` overrides the body's id (the path's id wins).
fn definition(mut body: Value, id: Option<&PathId>) -> Result<AppDefinition> {
    if let (Some(id), Value::Object(m)) = (id, &mut body) {
        m.insert("id".into(), Value::String(id.to_string()));
    }
    let app: AppDefinition = json::from_value(body)?;
    let app = schemas::normalize_app(app, &PathId::root()).map_err(|v| ApiError::Invalid(details(v)))?;
    checked(app)
}

fn checked(app: AppDefinition) -> Result<AppDefinition> {
    let violations = schemas::validate_app(&app);
    if violations.is_empty() {
        Ok(app)
    } else {
        Err(ApiError::Invalid(details(violations)))
    }
}

/// `current` with the fields of `body` applied (Marathon's `partialUpdate`).
fn merged(current: &AppDefinition, mut body: Value) -> Result<AppDefinition> {
    if let Value::Object(m) = &mut body {
        m.insert("id".into(), Value::String(current.id.to_string()));
    }
    let app = schemas::merge_app_update(current, body.clone())
        .map_err(|v| shape_error_of(current, body).unwrap_or_else(|| ApiError::Invalid(details(v))))?;
    checked(app)
}

/// The wrong-type error of a patch, named by its field (merging reports it only at `/`).
fn shape_error_of(current: &AppDefinition, patch: Value) -> Option<ApiError> {
    let (Ok(Value::Object(mut merged)), Value::Object(patch)) = (serde_json::to_value(current), patch) else {
        return None;
    };
    merged.extend(
        patch
            .into_iter()
            .filter(|(k, v)| !v.is_null() && k != "id" && k != "version" && k != "versionInfo"),
    );
    json::from_value::<AppDefinition>(Value::Object(merged))
        .err()
        .filter(|e| matches!(e, ApiError::JsonShape(_)))
}

/// The new definition for an update of `current` (or a creation when it is `None`).
fn updated(current: Option<&AppDefinition>, id: &PathId, body: Value, partial: bool) -> Result<AppDefinition> {
    match current {
        Some(cur) if partial => merged(cur, body),
        _ => definition(body, Some(id)),
    }
}

fn put_change(id: &PathId, app: AppDefinition) -> Mutation {
    Mutation {
        changes: vec![(id.clone(), Change::put(app))],
        ..Mutation::default()
    }
}

/// `POST /v2/apps`: 201 with the full AppInfo of the new app.
pub(crate) async fn create(State(ctx): State<Ctx>, params: Params, JsonBody(body): JsonBody) -> Result<Response> {
    let body = ctx.store.read(|s| crate::groups::roles::with_default(s, body, None));
    let app = definition(body, None)?;
    let id = app.id.clone();
    let outcome = desired::deploy(&ctx, params.flag("force", false), |s| {
        if view::app(s, &id).is_some() {
            return Err(ApiError::AppExists(id.clone()));
        }
        Ok(put_change(&id, app.clone()))
    })
    .await?;
    let stored = outcome
        .targets
        .get(&id)
        .cloned()
        .flatten()
        .unwrap_or_else(|| Arc::new(app));
    let deployments = [outcome.deployment_id.clone()];
    let parts = AppParts {
        app: &stored,
        instances: &[],
        deployments: &deployments,
        status: None,
    };
    let embed = Embed {
        counts: true,
        deployments: true,
        tasks: true,
        ..Embed::default()
    };
    let body = render::app_info(&parts, embed, Env::new(&ctx.config));
    Ok(render::with_deployment_headers(
        StatusCode::CREATED,
        body,
        &outcome,
        Some(&id),
    ))
}

/// `PUT /v2/apps/{id}`: update (merge by default, replace with `partialUpdate=false`),
/// create when absent (201), or roll back when the body is `{"version": ...}`.
pub(crate) async fn put(ctx: &Ctx, id: PathId, params: &Params, body: Value, cond: &IfMatch) -> Result<Response> {
    let force = params.flag("force", false);
    if let Some(version) = rollback_version(&body)? {
        return rollback(ctx, id, version, force, cond).await;
    }
    let partial = params.flag("partialUpdate", true);
    let mut created = false;
    let outcome = desired::deploy(ctx, force, |s| {
        let current = view::app(s, &id).map(|(a, _)| a);
        cond.check(current.as_deref())?;
        created = current.is_none();
        Ok(put_change(
            &id,
            updated(
                current.as_deref(),
                &id,
                crate::groups::roles::with_default(s, body.clone(), Some(&id)),
                partial,
            )?,
        ))
    })
    .await?;
    Ok(if created {
        render::deployment_response(StatusCode::CREATED, &outcome, Some(&id))
    } else {
        render::deployment_response(StatusCode::OK, &outcome, None)
    })
}

/// The version a `PUT` body asks to roll back to; Marathon allows only `id` beside it.
fn rollback_version(body: &Value) -> Result<Option<Timestamp>> {
    let Some(obj) = body.as_object() else {
        return Ok(None);
    };
    let Some(v) = obj.get("version").filter(|v| !v.is_null()) else {
        return Ok(None);
    };
    if obj.keys().any(|k| k != "id" && k != "version") {
        return Err(ApiError::Invalid(vec![Detail::new(
            "/",
            "The 'version' field may only be combined with the 'id' field.",
        )]));
    }
    let version = v.as_str().and_then(|s| s.parse::<Timestamp>().ok());
    version
        .map(Some)
        .ok_or_else(|| ApiError::JsonShape(vec![Detail::new("/version", "error.expected.date.isoformat")]))
}

async fn rollback(ctx: &Ctx, id: PathId, version: Timestamp, force: bool, cond: &IfMatch) -> Result<Response> {
    let outcome = desired::deploy(ctx, force, |s| {
        let Some((current, _)) = view::app(s, &id) else {
            return Err(ApiError::app_not_found(&id));
        };
        cond.check(Some(&current))?;
        let (_, old) = view::versions(s, &id)
            .remove(&version)
            .ok_or_else(|| ApiError::NotFound(format!("App '{id}' does not exist in version {version}")))?;
        Ok(put_change(&id, (*old).clone()))
    })
    .await?;
    Ok(render::deployment_response(StatusCode::OK, &outcome, None))
}

/// `PATCH /v2/apps/{id}`: merge into an existing app; 404 when it does not exist.
pub(crate) async fn patch(ctx: &Ctx, id: PathId, params: &Params, body: Value, cond: &IfMatch) -> Result<Response> {
    let outcome = desired::deploy(ctx, params.flag("force", false), |s| {
        let (current, _) = view::app(s, &id).ok_or_else(|| ApiError::app_not_found(&id))?;
        cond.check(Some(&current))?;
        Ok(put_change(&id, merged(&current, body.clone())?))
    })
    .await?;
    Ok(render::deployment_response(StatusCode::OK, &outcome, None))
}

/// `DELETE /v2/apps/{id}`; `force` defaults to true here, as in Marathon.
pub(crate) async fn delete(ctx: &Ctx, id: PathId, params: &Params, cond: &IfMatch) -> Result<Response> {
    let outcome = desired::deploy(ctx, params.flag("force", true), |s| {
        let Some((current, _)) = view::app(s, &id) else {
            return Err(ApiError::app_not_found(&id));
        };
        cond.check(Some(&current))?;
        Ok(Mutation {
            changes: vec![(id.clone(), Change::Delete)],
            ..Mutation::default()
        })
    })
    .await?;
    Ok(render::deployment_response(StatusCode::OK, &outcome, None))
}

/// `POST /v2/apps/{id}/restart`: the same spec under a new config version.
pub(crate) async fn restart(ctx: &Ctx, id: PathId, params: &Params) -> Result<Response> {
    let outcome = desired::deploy(ctx, params.flag("force", false), |s| {
        let (current, _) = view::app(s, &id).ok_or_else(|| ApiError::app_not_found(&id))?;
        let app = (*current).clone();
        Ok(Mutation {
            changes: vec![(id.clone(), Change::restart(app))],
            ..Mutation::default()
        })
    })
    .await?;
    Ok(render::deployment_response(StatusCode::OK, &outcome, None))
}

/// Prefixes the field paths of an error with the array index of the app it came from.
fn at(index: usize, e: ApiError) -> ApiError {
    let prefix = format!("/{index}");
    let under = |d: Vec<Detail>| d.into_iter().map(|d| d.under(&prefix)).collect();
    match e {
        ApiError::Invalid(d) => ApiError::Invalid(under(d)),
        ApiError::JsonShape(d) => ApiError::JsonShape(under(d)),
        other => other,
    }
}

/// The ids of a batch body; every element needs one.
fn batch_ids(body: Value) -> Result<Vec<(PathId, Value)>> {
    let items: Vec<Value> = json::from_value(body)?;
    items
        .into_iter()
        .enumerate()
        .map(|(i, item)| {
            let id = item
                .get("id")
                .and_then(Value::as_str)
                .ok_or_else(|| ApiError::JsonShape(vec![Detail::new(format!("/{i}/id"), "error.path.missing")]))?;
            let id = PathId::parse(id)
                .map_err(|e| ApiError::Invalid(vec![Detail::new(format!("/{i}/id"), e.to_string())]))?;
            Ok((id, item))
        })
        .collect()
}

/// `PUT /v2/apps`: update or create every app of the array in one deployment.
pub(crate) async fn put_batch(State(ctx): State<Ctx>, params: Params, JsonBody(body): JsonBody) -> Result<Response> {
    let items = batch_ids(body)?;
    let partial = params.flag("partialUpdate", true);
    let outcome = desired::deploy(&ctx, params.flag("force", false), |s| {
        let mut m = Mutation::default();
        for (i, (id, item)) in items.iter().enumerate() {
            let current = view::app(s, id).map(|(a, _)| a);
            let app = updated(current.as_deref(), id, item.clone(), partial).map_err(|e| at(i, e))?;
            m.changes.push((id.clone(), Change::put(app)));
        }
        Ok(m)
    })
    .await?;
    Ok(render::deployment_response(StatusCode::OK, &outcome, None))
}

/// `PATCH /v2/apps`: merge into every app of the array; all must exist.
pub(crate) async fn patch_batch(State(ctx): State<Ctx>, params: Params, JsonBody(body): JsonBody) -> Result<Response> {
    let items = batch_ids(body)?;
    let outcome = desired::deploy(&ctx, params.flag("force", false), |s| {
        let mut m = Mutation::default();
        for (i, (id, item)) in items.iter().enumerate() {
            let (current, _) = view::app(s, id).ok_or_else(|| ApiError::app_not_found(id))?;
            let app = merged(&current, item.clone()).map_err(|e| at(i, e))?;
            m.changes.push((id.clone(), Change::put(app)));
        }
        Ok(m)
    })
    .await?;
    Ok(render::deployment_response(StatusCode::OK, &outcome, None))
}
