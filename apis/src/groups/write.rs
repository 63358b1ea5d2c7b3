//! Changes to groups: `POST`, `PUT` (a whole tree, `scaleBy`, or a rollback to a `version`,
//! each optionally a `dryRun`), `PATCH` (`enforceRole`) and `DELETE`. Each request becomes
//! one [`Mutation`]: the diff of the group's tree (apps and pods) against its target, written
//! atomically with one deployment whose steps follow the dependencies. `If-Match` compares
//! the group's version (its `ETag`) inside that write.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use schemas::{GroupDefinition, GroupRecord, PathId, Timestamp};
use serde_json::{Value, json};
use store::State;

use super::read::not_found;
use super::roles::Enforced;
use super::tree::{self, Tree};
use crate::desired::{self, Change, GroupChange, GroupWrite, Mutation, PodChange};
use crate::error::{ApiError, Detail, Result, details};
use crate::json::{self, Params};
use crate::preconditions::IfMatch;
use crate::{Ctx, render, view};

/// A request body as a group update, its ids resolved against `parent`, every app and pod
/// normalised (taking its group's role where that is enforced) and checked.
fn update_of(ctx: &Ctx, body: Value, parent: &PathId) -> Result<GroupDefinition> {
    let raw: GroupDefinition = json::from_value(body)?;
    ctx.store.read(|s| {
        let enforced = Enforced::stored(s).with_update(&raw, parent);
        let update = schemas::normalize_group_in(raw.clone(), parent, &|id| enforced.default_for(id))
            .map_err(|v| ApiError::Invalid(details(v)))?;
        let mut problems = Vec::new();
        let check = Check {
            state: s,
            enforced: &enforced,
            mesos_role: &ctx.config.mesos_role,
            changes_services: changes_services(&update),
        };
        check.group(&update, "", &mut problems);
        if problems.is_empty() {
            Ok(update)
        } else {
            Err(ApiError::Invalid(problems))
        }
    })
}

/// Whether an update adds, removes or changes apps or pods (Marathon's
/// `updateModifiesServices`): then no `enforceRole` may change with it.
fn changes_services(update: &GroupDefinition) -> bool {
    update.version.is_some()
        || update.scale_by.is_some()
        || update.apps.is_some()
        || update.pods.is_some()
        || update.groups.iter().flatten().any(changes_services)
}

/// The rules of a group update that need the store: roles and `enforceRole`.
struct Check<'a> {
    state: &'a State,
    enforced: &'a Enforced,
    mesos_role: &'a str,
    changes_services: bool,
}

impl Check<'_> {
    /// Checks the normalised group `g`, written at `at` (`/groups(0)` or empty for the top).
    fn group(&self, g: &GroupDefinition, at: &str, out: &mut Vec<Detail>) {
        let id = g.id.clone().unwrap_or_else(PathId::root);
        if let Some(enforce) = g.enforce_role {
            let top_level = !id.is_root() && id.parent().is_root();
            if enforce && !top_level {
                out.push(Detail::new(
                    format!("{at}/enforceRole"),
                    format!("enforceRole can only be set for top-level groups, and {id} is not top-level"),
                ));
            }
            let stored = view::group_record(self.state, &id).map(|(r, _)| r.enforce_role);
            if self.changes_services && stored.is_some_and(|s| s != enforce) {
                out.push(Detail::new(
                    format!("{at}/enforceRole"),
                    "enforceRole cannot be modified in a request that adds, removes or modifies services; please \
                     make these changes in separate requests.",
                ));
            }
        }
        for (i, app) in g.apps.iter().flatten().enumerate() {
            let existing = view::app(self.state, &app.id).and_then(|(a, _)| a.role.clone());
            self.role(&app.id, app.role.as_deref(), existing, &format!("{at}/apps({i})"), out);
        }
        for (i, pod) in g.pods.iter().flatten().enumerate() {
            let existing = self.state.pod(&pod.id).and_then(|p| p.role.clone());
            self.role(&pod.id, pod.role.as_deref(), existing, &format!("{at}/pods({i})"), out);
        }
        for (i, sub) in g.groups.iter().flatten().enumerate() {
            self.group(sub, &format!("{at}/groups({i})"), out);
        }
    }

    fn role(&self, id: &PathId, role: Option<&str>, existing: Option<String>, at: &str, out: &mut Vec<Detail>) {
        let role = role.unwrap_or(schemas::DEFAULT_ROLE);
        if let Some(message) = self.enforced.refusal(id, role, existing.as_deref(), self.mesos_role) {
            out.push(Detail::new(format!("{at}/role"), message));
        }
    }
}

/// No app or pod may sit at `id` or above it: a path names an app, a pod or a group.
fn check_not_below_service(state: &State, id: &PathId) -> Result<()> {
    let mut at = id.clone();
    while !at.is_root() {
        let kind = if view::app(state, &at).is_some() {
            Some("Applications")
        } else if state.pod(&at).is_some() {
            Some("Pods")
        } else {
            None
        };
        if let Some(kind) = kind {
            return Err(ApiError::Invalid(vec![Detail::new(
                "/id",
                format!("Groups and {kind} may not have the same identifier: {at}"),
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
    let wanted_pods: Vec<_> = target.all_pods().into_iter().map(|p| p.id.clone()).collect();
    for pod in target.all_pods() {
        m.pods.push(PodChange {
            id: pod.id.clone(),
            target: Some(pod.clone()),
        });
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
        for pod in current.all_pods().into_iter().filter(|p| !wanted_pods.contains(&p.id)) {
            m.pods.push(PodChange {
                id: pod.id.clone(),
                target: None,
            });
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
fn build(state: &State, id: &PathId, update: &GroupDefinition, create: bool, cond: &IfMatch) -> Result<Mutation> {
    let current = Tree::read(state, id);
    cond.check_version("group", current.as_ref().map(Tree::version))?;
    if create && current.is_some() {
        return Err(ApiError::Conflict(format!(
            "Group {id} is already created. Use PUT to change this group."
        )));
    }
    if create && view::app(state, id).is_some() {
        return Err(ApiError::Conflict(format!("An app with the path {id} already exists.")));
    }
    if create && state.pod(id).is_some() {
        return Err(ApiError::Conflict(format!("A pod with the path {id} already exists.")));
    }
    check_not_below_service(state, id)?;
    let current_def = current.as_ref().map(Tree::definition);
    // A version beside a definition is the output-form stamp (Marathon's GroupInfo sent
    // back); alone it asks for a rollback.
    let definition_given =
        update.apps.is_some() || update.pods.is_some() || update.groups.is_some() || update.dependencies.is_some();
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

/// Multiplies every app's instances by `factor`, rounding up as Marathon does (pods keep
/// theirs: Marathon's `scaleBy` scales apps).
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
pub(crate) async fn create(ctx: &Ctx, path: PathId, params: &Params, body: Value, cond: &IfMatch) -> Result<Response> {
    let update = update_of(ctx, body, &path)?;
    let id = update.id.clone().unwrap_or_else(|| path.clone());
    if id.is_root() {
        return Err(ApiError::Invalid(vec![Detail::new(
            "/id",
            "The root group cannot be created",
        )]));
    }
    let outcome = desired::deploy(ctx, params.flag("force", false), |s| build(s, &id, &update, true, cond)).await?;
    Ok(render::deployment_response(StatusCode::CREATED, &outcome, Some(&id)))
}

/// `PUT /v2/groups[/{id}]`: applies the body to the group (creating it when absent); with
/// `dryRun=true` only answers the steps it would take.
pub(crate) async fn update(
    ctx: &Ctx,
    id: PathId,
    params: &Params,
    mut body: Value,
    cond: &IfMatch,
) -> Result<Response> {
    // The path names the group; a nested body id could only say the same.
    if let Value::Object(m) = &mut body {
        m.remove("id");
    }
    let update = update_of(ctx, body, &id)?;
    if params.flag("dryRun", false) {
        let steps = desired::dry_run(ctx, |s| build(s, &id, &update, false, cond))?;
        return Ok(Json(json!({ "steps": steps })).into_response());
    }
    let outcome = desired::deploy(ctx, params.flag("force", false), |s| {
        build(s, &id, &update, false, cond)
    })
    .await?;
    Ok(render::deployment_response(StatusCode::OK, &outcome, None))
}

/// `DELETE /v2/groups[/{id}]`: removes every app, pod and group below it in one deployment.
pub(crate) async fn delete(ctx: &Ctx, id: PathId, params: &Params, cond: &IfMatch) -> Result<Response> {
    let outcome = desired::deploy(ctx, params.flag("force", false), |s| {
        let current = Tree::read(s, &id).ok_or_else(|| not_found(&id))?;
        cond.check_version("group", Some(current.version()))?;
        let mut m = Mutation::default();
        for app in current.all_apps() {
            m.changes.push((app.id.clone(), Change::Delete));
        }
        for pod in current.all_pods() {
            m.pods.push(PodChange {
                id: pod.id.clone(),
                target: None,
            });
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
pub(crate) async fn patch(ctx: &Ctx, id: PathId, params: &Params, body: Value, cond: &IfMatch) -> Result<Response> {
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
        cond.check_version("group", Some(current.version()))?;
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
