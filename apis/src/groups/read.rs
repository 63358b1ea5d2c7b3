//! `GET /v2/groups[/{id}]` (GroupInfo with `embed`), and a group's versions.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Json;
use axum::response::{IntoResponse, Response};
use schemas::{AppDefinition, Instance, PathId, Timestamp};
use serde_json::{Value, json};

use super::status::{self, Deployments};
use super::tree::Tree;
use crate::error::{ApiError, Result};
use crate::json::Params;
use crate::render::{self, AppParts, Embed, Env};
use crate::status::AppStatus;
use crate::{Ctx, view};

/// What of a GroupInfo to include: Marathon's `group.groups`, `group.apps`, `group.pods`
/// (all three when none of them is given) and the app embeds `group.apps.*`; Pacer's GitOps
/// status of each group (`group.status`), app (`group.apps.status`) and pod
/// (`group.pods.status`), which leave Marathon's defaults as they are.
#[derive(Clone, Copy, Debug)]
pub(crate) struct GroupEmbed {
    groups: bool,
    apps: bool,
    pods: bool,
    app: Embed,
    status: bool,
    pod_status: bool,
}

impl GroupEmbed {
    pub(crate) fn from_params(params: &Params) -> GroupEmbed {
        let mut e = GroupEmbed {
            groups: false,
            apps: false,
            pods: false,
            app: Embed::default(),
            status: false,
            pod_status: false,
        };
        let mut any = false;
        for raw in params.all("embed") {
            match raw {
                "group.status" => e.status = true,
                "group.pods.status" => e.pod_status = true,
                "group.groups" => (e.groups, any) = (true, true),
                "group.apps" => (e.apps, any) = (true, true),
                "group.pods" => (e.pods, any) = (true, true),
                "group.apps.status" => {}
                other if other.starts_with("group.apps.") => (e.apps, any) = (true, true),
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

/// What rendering the tree needs, read in the same snapshot as the tree.
struct Extra {
    instances: HashMap<PathId, Vec<Arc<Instance>>>,
    deployments: HashMap<PathId, Vec<String>>,
    /// The PodStatus of every pod below the group.
    pods: HashMap<PathId, Value>,
    /// The GitOps status of each app (`group.apps.status`) and each group (`group.status`).
    app_status: HashMap<PathId, AppStatus>,
    group_status: HashMap<PathId, AppStatus>,
}

fn read(ctx: &Ctx, id: &PathId, embed: GroupEmbed) -> Option<(Tree, Extra)> {
    ctx.store.read(|s| {
        let tree = Tree::read(s, id)?;
        let now = Timestamp::now();
        let mut instances = HashMap::new();
        if embed.needs_instances() || (embed.apps && embed.app.status) {
            for app in tree.all_apps() {
                let list = view::instances_of(s, &app.id).into_iter().map(|(i, _)| i).collect();
                instances.insert(app.id.clone(), list);
            }
        }
        let all = view::deployments(s);
        let deployments = if embed.apps && embed.app.deployments {
            view::deployments_by_app(&all)
        } else {
            HashMap::new()
        };
        let mut pods = HashMap::new();
        if embed.pods {
            for pod in tree.all_pods() {
                let list: Vec<_> = view::instances_of(s, &pod.id).into_iter().map(|(i, _)| i).collect();
                let mut v = crate::pods::status::pod_status(pod, &list, now);
                if embed.pod_status {
                    crate::pods::status::add(&mut v, &crate::pods::status::of(s, pod, &list, &all, now));
                }
                pods.insert(pod.id.clone(), v);
            }
        }
        let mut app_status = HashMap::new();
        if embed.apps && embed.app.status {
            for app in tree.all_apps() {
                let mine: Vec<_> = all
                    .iter()
                    .filter(|d| d.affected_apps.contains(&app.id))
                    .cloned()
                    .collect();
                let list = instances.get(&app.id).map_or(&[][..], Vec::as_slice);
                let st = crate::status::of(app, list, &mine, s.launch_delay(&app.id), now);
                app_status.insert(app.id.clone(), st);
            }
        }
        let mut group_status = HashMap::new();
        if embed.status {
            let index = Deployments::read(s);
            let groups = if embed.groups { tree.all_groups() } else { vec![&tree] };
            for g in groups {
                group_status.insert(g.id.clone(), status::of(s, g, &index, now));
            }
        }
        Some((
            tree,
            Extra {
                instances,
                deployments,
                pods,
                app_status,
                group_status,
            },
        ))
    })
}

fn app_json(app: &AppDefinition, extra: &Extra, embed: Embed, env: Env<'_>) -> Value {
    let parts = AppParts {
        app,
        instances: extra.instances.get(&app.id).map_or(&[], Vec::as_slice),
        deployments: extra.deployments.get(&app.id).map_or(&[], Vec::as_slice),
        status: extra.app_status.get(&app.id),
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
        out["pods"] = tree
            .pods
            .iter()
            .filter_map(|p| extra.pods.get(&p.id).cloned())
            .collect();
    }
    if let Some(st) = extra.group_status.get(&tree.id) {
        crate::pods::status::add(&mut out, st);
    }
    out
}

pub(crate) fn not_found(id: &PathId) -> ApiError {
    ApiError::NotFound(format!("Group '{id}' does not exist"))
}

/// `GET /v2/groups/{id}`; its `ETag` is the group's version, for `If-Match`.
pub(crate) fn show(ctx: &Ctx, id: &PathId, params: &Params) -> Result<Response> {
    let embed = GroupEmbed::from_params(params);
    let (tree, extra) = read(ctx, id, embed).ok_or_else(|| not_found(id))?;
    let mut res = Json(group_json(&tree, &extra, embed, Env::new(&ctx.config))).into_response();
    if let Some(tag) = crate::preconditions::etag_of(tree.version()) {
        res.headers_mut().insert(axum::http::header::ETAG, tag);
    }
    Ok(res)
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
