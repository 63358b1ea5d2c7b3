//! `GET /v2/groups[/{id}]` (GroupInfo with `embed`), and a group's versions.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Json;
use axum::response::{IntoResponse, Response};
use schemas::{AppDefinition, Instance, PathId, Timestamp};
use serde_json::{Value, json};

use super::tree::Tree;
use crate::error::{ApiError, Result};
use crate::json::Params;
use crate::render::{self, AppParts, Embed, Env};
use crate::{Ctx, view};

/// What of a GroupInfo to include: Marathon's `group.groups`, `group.apps`, `group.pods`
/// (all three when no `embed` is given) and the app embeds `group.apps.*`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct GroupEmbed {
    groups: bool,
    apps: bool,
    pods: bool,
    app: Embed,
}

impl GroupEmbed {
    pub(crate) fn from_params(params: &Params) -> GroupEmbed {
        let mut e = GroupEmbed {
            groups: false,
            apps: false,
            pods: false,
            app: Embed::default(),
        };
        let mut any = false;
        for raw in params.all("embed") {
            any = true;
            match raw {
                "group.groups" => e.groups = true,
                "group.apps" => e.apps = true,
                "group.pods" => e.pods = true,
                other if other.starts_with("group.apps.") => e.apps = true,
                _ => {}
            }
        }
        if !any {
            (e.groups, e.apps, e.pods) = (true, true, true);
        }
        e.app = Embed::from_params(params);
        e
    }

    fn needs_instances(&self) -> bool {
        self.apps && (self.app.tasks || self.app.counts || self.app.last_task_failure || self.app.task_stats)
    }
}

/// What rendering the apps needs, read in the same snapshot as the tree.
struct Extra {
    instances: HashMap<PathId, Vec<Arc<Instance>>>,
    deployments: HashMap<PathId, Vec<String>>,
    /// The PodStatus of every pod below the group, by the group that holds it.
    pods: HashMap<PathId, Vec<Value>>,
}

fn read(ctx: &Ctx, id: &PathId, embed: GroupEmbed) -> Option<(Tree, Extra)> {
    ctx.store.read(|s| {
        let tree = Tree::read(s, id)?;
        let mut instances = HashMap::new();
        if embed.needs_instances() {
            for app in tree.all_apps() {
                let list = view::instances_of(s, &app.id).into_iter().map(|(i, _)| i).collect();
                instances.insert(app.id.clone(), list);
            }
        }
        let deployments = if embed.apps && embed.app.deployments {
            view::deployments_by_app(&view::deployments(s))
        } else {
            HashMap::new()
        };
        let mut pods: HashMap<PathId, Vec<Value>> = HashMap::new();
        if embed.pods {
            let now = Timestamp::now();
            for pod in view::pods_within(s, id) {
                let list: Vec<_> = view::instances_of(s, &pod.id).into_iter().map(|(i, _)| i).collect();
                let status = crate::pods::status::pod_status(&pod, &list, now);
                pods.entry(pod.id.parent()).or_default().push(status);
            }
        }
        Some((
            tree,
            Extra {
                instances,
                deployments,
                pods,
            },
        ))
    })
}

fn app_json(app: &AppDefinition, extra: &Extra, embed: Embed, env: Env<'_>) -> Value {
    let parts = AppParts {
        app,
        instances: extra.instances.get(&app.id).map_or(&[], Vec::as_slice),
        deployments: extra.deployments.get(&app.id).map_or(&[], Vec::as_slice),
        status: None,
    };
    serde_json::to_value(render::app_info(&parts, embed, env)).unwrap_or(Value::Null)
}

/// Marathon's GroupInfo of `tree`.
fn group_json(tree: &Tree, extra: &Extra, embed: GroupEmbed, env: Env<'_>) -> Value {
    let mut out = json!({
        "id": tree.id,
        "dependencies": tree.dependencies(),
        "version": tree.version(),
        "enforceRole": tree.enforce_role(),
    });
    if embed.apps {
        out["apps"] = tree.apps.iter().map(|a| app_json(a, extra, embed.app, env)).collect();
    }
    if embed.groups {
        out["groups"] = tree.groups.iter().map(|g| group_json(g, extra, embed, env)).collect();
    }
    if embed.pods {
        out["pods"] = json!(extra.pods.get(&tree.id).cloned().unwrap_or_default());
    }
    out
}

pub(crate) fn not_found(id: &PathId) -> ApiError {
    ApiError::NotFound(format!("Group '{id}' does not exist"))
}

/// `GET /v2/groups/{id}`.
pub(crate) fn show(ctx: &Ctx, id: &PathId, params: &Params) -> Result<Response> {
    let embed = GroupEmbed::from_params(params);
    let (tree, extra) = read(ctx, id, embed).ok_or_else(|| not_found(id))?;
    Ok(Json(group_json(&tree, &extra, embed, Env::new(&ctx.config))).into_response())
}

/// `GET /v2/groups/{id}/apps`: every app of the group itself (not of its subgroups).
pub(crate) fn apps(ctx: &Ctx, id: &PathId, params: &Params) -> Result<Response> {
    let embed = GroupEmbed {
        apps: true,
        ..GroupEmbed::from_params(params)
    };
    let (tree, extra) = read(ctx, id, embed).ok_or_else(|| not_found(id))?;
    let env = Env::new(&ctx.config);
    let apps: Vec<Value> = tree.apps.iter().map(|a| app_json(a, &extra, embed.app, env)).collect();
    Ok(Json(json!({ "apps": apps })).into_response())
}

/// `GET /v2/groups/{id}/versions`: the versions `/v2/groups` writes left, oldest first.
pub(crate) fn versions(ctx: &Ctx, id: &PathId) -> Result<Response> {
    let versions = ctx
        .store
        .read(|s| view::is_group(s, id).then(|| view::group_versions(s, id).into_keys().collect::<Vec<Timestamp>>()));
    Ok(Json(versions.ok_or_else(|| not_found(id))?).into_response())
}

/// `GET /v2/groups/{id}/versions/{version}`: the group's tree as that version left it.
pub(crate) fn version(ctx: &Ctx, id: &PathId, version: &str) -> Result<Response> {
    let missing = || ApiError::NotFound(format!("Group '{id}' does not exist in version {version}"));
    let at: Timestamp = version.parse().map_err(|_| missing())?;
    let def = ctx.store.read(|s| view::group_versions(s, id).remove(&at));
    let (_, def) = def.ok_or_else(missing)?;
    Ok(Json(def.as_ref()).into_response())
}
