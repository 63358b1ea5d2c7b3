//! Changes to groups: `POST`, `PUT` (a whole tree, `scaleBy`, or a rollback to a `version`,
//! each optionally a `dryRun`), `PATCH` (`enforceRole`) and `DELETE`. Each request becomes
//! one [`Mutation`]: the diff of the group's tree against its target, written atomically with
//! one deployment whose steps follow the dependencies.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use schemas::{GroupDefinition, GroupRecord, PathId, Timestamp};
use serde_json::{Value, json};
use store::State;

use super::read::not_found;
use super::tree::{self, Tree};
use crate::desired::{self, Change, GroupChange, GroupWrite, Mutation};
use crate::error::{ApiError, Detail, Result, details};
use crate::json::{self, Params};
use crate::{Ctx, render, view};

/// A request body as a group update, its ids resolved against `parent`.
fn update_of(body: Value, parent: &PathId) -> Result<GroupDefinition> {
    let def: GroupDefinition = json::from_value(body)?;
    schemas::normalize_group(def, parent).map_err(|v| ApiError::Invalid(details(v)))
}

/// No app may sit at `id` or above it: a path names either an app or a group.
fn check_not_below_app(state: &State, id: &PathId) -> Result<()> {
    let mut at = id.clone();
    while !at.is_root() {
        if view::app(state, &at).is_some() {
            return Err(ApiError::Invalid(vec![Detail::new(
                "/id",
                format!("Groups and Applications may not have the same identifier: {at}"),
            )]));
        }
        at = at.parent();
    }
    Ok(())
}

/// The mutation that turns the group `id` (absent: `current` is `None`) into `target`.
fn diff(id: &PathId, current: Option<&Tree>, target: GroupDefinition) -> Mutation {
    let mut m = Mutation::default();
    let wanted: Vec<_> = target.all_apps().into_iter().map(|a| a.id.clone()).collect();
    for app in target.all_apps() {
        m.changes.push((app.id.clone(), Change::put(app.clone())));
    }
    let groups: Vec<_> = target.all_groups().into_iter().filter_map(|g| g.id.clone()).collect();
    for g in target.all_groups() {
        m.groups.push(GroupChange::Put(GroupRecord {
            id: g.id.clone().unwrap_or_else(|| id.clone()),
            dependencies: g.dependencies.clone().unwrap_or_default(),
            enforce_role: g.enforce_role.unwrap_or(false),
            version: Timestamp::from_millis(0),
        }));
    }
    if let Some(current) = current {
        for app in current.all_apps().into_iter().filter(|a| !wanted.contains(&a.id)) {
            m.changes.push((app.id.clone(), Change::Delete));
        }
        for g in current.all_groups().into_iter().filter(|g| !groups.contains(&g.id)) {
            m.groups.push(GroupChange::Delete(g.id.clone()));
        }
    }
    m.group = Some(GroupWrite {
        id: id.clone(),
        snapshot: Some(target),
    });
    m
}

/// The mutation for a `PUT`/`POST` body on group `id`: a tree update, `scaleBy`, or a rollback.
fn build(state: &State, id: &PathId, update: &GroupDefinition, create: bool) -> Result<Mutation> {
    let current = Tree::read(state, id);
    if create && current.is_some() {
        return Err(ApiError::Conflict(format!(
            "Group {id} is already created. Use PUT to change this group."
        )));
    }
    if create && view::app(state, id).is_some() {
        return Err(ApiError::Conflict(format!("An app with the path {id} already exists.")));
    }
    check_not_below_app(state, id)?;
    let current_def = current.as_ref().map(Tree::definition);
    // A version beside a definition is the output-form stamp (Marathon's GroupInfo sent
    // back); alone it asks for a rollback.
    let definition_given = update.apps.is_some() || update.groups.is_some() || update.dependencies.is_some();
    if let Some(version) = update
        .version
        .filter(|_| !definition_given && update.scale_by.is_none())
    {
        let (_, old) = view::group_versions(state, id)
            .remove(&version)
            .ok_or_else(|| ApiError::NotFound(format!("Group '{id}' does not exist in version {version}")))?;
        let target = tree::apply(current_def.as_ref(), (*old).clone());
        return Ok(diff(id, current.as_ref(), target));
    }
    if let Some(factor) = update.scale_by {
        let current = current.ok_or_else(|| not_found(id))?;
        let mut target = current.definition();
        scale(&mut target, factor);
        return Ok(diff(id, Some(&current), target));
    }
    let target = tree::apply(current_def.as_ref(), update.clone());
    Ok(diff(id, current.as_ref(), target))
}

/// Multiplies every app's instances by `factor`, rounding up as Marathon does.
fn scale(group: &mut GroupDefinition, factor: f64) {
    for app in group.apps.iter_mut().flatten() {
        app.instances = (f64::from(app.instances) * factor).ceil() as u32;
    }
    for g in group.groups.iter_mut().flatten() {
        scale(g, factor);
    }
}

/// `POST /v2/groups[/{id}]`: creates the group the body's `id` names (relative to the path),
/// 201; 409 when it exists.
pub(crate) async fn create(ctx: &Ctx, path: PathId, params: &Params, body: Value) -> Result<Response> {
    let update = update_of(body, &path)?;
    let id = update.id.clone().unwrap_or_else(|| path.clone());
    if id.is_root() {
        return Err(ApiError::Invalid(vec![Detail::new(
            "/id",
            "The root group cannot be created",
        )]));
    }
    let outcome = desired::deploy(ctx, params.flag("force", false), |s| build(s, &id, &update, true)).await?;
    Ok(render::deployment_response(StatusCode::CREATED, &outcome, Some(&id)))
}

/// `PUT /v2/groups[/{id}]`: applies the body to the group (creating it when absent); with
/// `dryRun=true` only answers the steps it would take.
pub(crate) async fn update(ctx: &Ctx, id: PathId, params: &Params, mut body: Value) -> Result<Response> {
    // The path names the group; a nested body id could only say the same.
    if let Value::Object(m) = &mut body {
        m.remove("id");
    }
    let update = update_of(body, &id)?;
    if params.flag("dryRun", false) {
        let steps = desired::dry_run(ctx, |s| build(s, &id, &update, false))?;
        return Ok(Json(json!({ "steps": steps })).into_response());
    }
    let outcome = desired::deploy(ctx, params.flag("force", false), |s| build(s, &id, &update, false)).await?;
    Ok(render::deployment_response(StatusCode::OK, &outcome, None))
}

/// `DELETE /v2/groups[/{id}]`: removes every app and group below it in one deployment.
pub(crate) async fn delete(ctx: &Ctx, id: PathId, params: &Params) -> Result<Response> {
    let outcome = desired::deploy(ctx, params.flag("force", false), |s| {
        let current = Tree::read(s, &id).ok_or_else(|| not_found(&id))?;
        let mut m = Mutation::default();
        for app in current.all_apps() {
            m.changes.push((app.id.clone(), Change::Delete));
        }
        for g in current.all_groups() {
            m.groups.push(GroupChange::Delete(g.id.clone()));
        }
        m.group = Some(GroupWrite {
            id: id.clone(),
            snapshot: None,
        });
        Ok(m)
    })
    .await?;
    Ok(render::deployment_response(StatusCode::OK, &outcome, None))
}

/// `PATCH /v2/groups/{id}`: sets `enforceRole` of a top-level group; nothing else changes.
pub(crate) async fn patch(ctx: &Ctx, id: PathId, params: &Params, body: Value) -> Result<Response> {
    let enforce = body
        .get("enforceRole")
        .and_then(Value::as_bool)
        .ok_or_else(|| ApiError::JsonShape(vec![Detail::new("/enforceRole", "error.expected.jsboolean")]))?;
    if id.is_root() || !id.parent().is_root() {
        return Err(ApiError::Unprocessable(format!(
            "enforceRole can only be set for top-level groups, and {id} is not one"
        )));
    }
    desired::deploy(ctx, params.flag("force", false), |s| {
        let current = Tree::read(s, &id).ok_or_else(|| not_found(&id))?;
        let mut target = current.definition();
        target.enforce_role = Some(enforce);
        let record = GroupRecord {
            id: id.clone(),
            dependencies: current.dependencies().to_vec(),
            enforce_role: enforce,
            version: Timestamp::from_millis(0),
        };
        Ok(Mutation {
            groups: vec![GroupChange::Put(record)],
            group: Some(GroupWrite {
                id: id.clone(),
                snapshot: Some(target),
            }),
            ..Mutation::default()
        })
    })
    .await?;
    Ok(StatusCode::OK.into_response())
}
