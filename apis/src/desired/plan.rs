//! Computes the atomic write for a [`Mutation`] against one snapshot of the state: versions
//! and versionInfo, service ports, version history pruning, deployment locking, and the
//! deployment record with its steps.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use schemas::{
    ActionKind, AppDefinition, Deployment, DeploymentAction, DeploymentStep, PathId, Record, Timestamp, VersionInfo,
    app_change_steps, is_scale_only, same_spec,
};
use store::{Op, Precondition, State, WriteRequest, keys};

use super::ports::PortPool;
use super::{Change, InstanceUpdate, Mutation, Outcome};
use crate::ApiConfig;
use crate::error::{ApiError, Detail, Result};
use crate::view;

pub(super) struct Planned {
    pub request: WriteRequest,
    pub outcome: Outcome,
}

/// What happens to one app.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Unchanged,
    Create,
    Scale,
    Config,
    Restart,
    Delete,
}

struct Step {
    id: PathId,
    old: Option<Arc<AppDefinition>>,
    new: Option<AppDefinition>,
    kind: Kind,
}

pub(super) fn push_instance(req: &mut WriteRequest, u: InstanceUpdate) {
    let key = keys::instance(&u.instance.app_id, &u.instance.instance_id);
    req.preconditions
        .push(Precondition::ModRevision(key.clone(), u.revision));
    req.ops.push(Op::put(key, Record::Instance(Arc::new(u.instance))));
}

pub(super) fn plan(state: &State, m: Mutation, force: bool, now: Timestamp, cfg: &ApiConfig) -> Result<Planned> {
    let mut req = WriteRequest::default();
    let ids: Vec<PathId> = m.changes.iter().map(|(id, _)| id.clone()).collect();
    let changing: HashSet<&PathId> = ids.iter().collect();
    if changing.len() != ids.len() {
        return Err(ApiError::Unprocessable(
            "Every app may appear only once in one request".into(),
        ));
    }

    let mut olds = Vec::with_capacity(ids.len());
    for id in &ids {
        let old = view::app(state, id);
        let key = keys::app(id);
        req.preconditions.push(match &old {
            Some((_, rev)) => Precondition::ModRevision(key, *rev),
            None => Precondition::Absent(key),
        });
        olds.push(old.map(|(a, _)| a));
    }

    let puts = m.changes.iter().filter_map(|(_, c)| match c {
        Change::Put { app, .. } => Some(app.as_ref()),
        Change::Delete => None,
    });
    let mut pool = PortPool::for_change(state, &changing, puts, cfg.local_port_min..cfg.local_port_max);

    let mut steps = Vec::with_capacity(ids.len());
    for ((id, change), old) in m.changes.into_iter().zip(olds) {
        steps.push(classify(state, id, change, old, pool.as_mut(), &changing)?);
    }
    check_cycles(state, &steps)?;

    let changed: Vec<PathId> = steps
        .iter()
        .filter(|s| s.kind != Kind::Unchanged)
        .map(|s| s.id.clone())
        .collect();
    let mut locked_apps: HashSet<&PathId> = changed.iter().collect();
    locked_apps.extend(m.instances.iter().map(|u| &u.instance.app_id));
    let mut conflicts: Vec<Arc<Deployment>> = view::deployments(state)
        .into_iter()
        .filter(|d| !d.steps.is_empty() && !m.cancel.contains(&d.id))
        .filter(|d| d.affected_apps.iter().any(|a| locked_apps.contains(a)))
        .collect();
    conflicts.sort_by(|a, b| (a.version, &a.id).cmp(&(b.version, &b.id)));
    if !conflicts.is_empty() && !force {
        return Err(ApiError::Locked(conflicts.iter().map(|d| d.id.clone()).collect()));
    }
    for id in conflicts.iter().map(|d| &d.id).chain(&m.cancel) {
        req.ops.push(Op::delete(keys::deployment(id)));
    }

    let prev = steps
        .iter()
        .filter_map(|s| s.old.as_ref())
        .map(|a| a.version_or_epoch())
        .max();
    let version = prev.unwrap_or(Timestamp::from_millis(0)).next_after(now);

    let mut per_app_steps = Vec::new();
    let mut original = std::collections::BTreeMap::new();
    let mut target = std::collections::BTreeMap::new();
    for s in steps.iter_mut() {
        let stored = write_app(state, &mut req, s, version, cfg.max_versions);
        let app_steps = match s.kind {
            Kind::Unchanged => vec![],
            Kind::Restart => {
                vec![DeploymentStep {
                    actions: vec![DeploymentAction {
                        action: ActionKind::RestartApplication,
                        app: s.id.clone(),
                    }],
                }]
            }
            _ => app_change_steps(s.old.as_deref(), stored.as_deref()),
        };
        per_app_steps.push(app_steps);
        original.insert(s.id.clone(), s.old.clone());
        target.insert(s.id.clone(), stored);
    }
    for u in m.instances {
        push_instance(&mut req, u);
    }

    let deploy_steps = if per_app_steps.iter().filter(|s| !s.is_empty()).count() <= 1 {
        per_app_steps.into_iter().flatten().collect()
    } else {
        combine(per_app_steps, |id| depth(state, &target, id))
    };
    let affected: Vec<PathId> = if changed.is_empty() { ids } else { changed };
    let deployment = Deployment {
        id: uuid::Uuid::new_v4().to_string(),
        version,
        affected_apps: affected,
        steps: deploy_steps,
        current_step: 0,
        original,
        target: target.clone(),
    };
    let deployment_id = deployment.id.clone();
    req.ops.push(Op::put(
        keys::deployment(&deployment_id),
        Record::Deployment(Arc::new(deployment)),
    ));
    Ok(Planned {
        request: req,
        outcome: Outcome {
            deployment_id,
            version,
            targets: target,
        },
    })
}

fn classify(
    state: &State,
    id: PathId,
    change: Change,
    old: Option<Arc<AppDefinition>>,
    pool: Option<&mut PortPool>,
    changing: &HashSet<&PathId>,
) -> Result<Step> {
    let Change::Put { mut app, restart } = change else {
        if old.is_none() {
            return Err(ApiError::app_not_found(&id));
        }
        return Ok(Step {
            id,
            old,
            new: None,
            kind: Kind::Delete,
        });
    };
    app.id = id.clone();
    if let Some(pool) = pool {
        pool.assign(&mut app, old.as_deref())?;
    }
    let Some(current) = old.as_deref() else {
        check_no_clash(state, &id, changing)?;
        return Ok(Step {
            id,
            old,
            new: Some(*app),
            kind: Kind::Create,
        });
    };
    // Compare specs only: the version fields of the request are not part of the spec.
    app.version = current.version;
    app.version_info = current.version_info;
    let kind = if restart {
        Kind::Restart
    } else if same_spec(current, &app) {
        Kind::Unchanged
    } else if is_scale_only(current, &app) {
        Kind::Scale
    } else {
        Kind::Config
    };
    Ok(Step {
        id,
        old,
        new: Some(*app),
        kind,
    })
}

/// An app id may not also be a group: no app above or below it may exist.
fn check_no_clash(state: &State, id: &PathId, changing: &HashSet<&PathId>) -> Result<()> {
    let mut ancestor = id.parent();
    let mut clash = view::is_group(state, id) && !id.is_root();
    while !ancestor.is_root() && !clash {
        clash = view::app(state, &ancestor).is_some() || changing.contains(&ancestor);
        ancestor = ancestor.parent();
    }
    if clash {
        return Err(ApiError::Invalid(vec![Detail::new(
            "/id",
            format!("Groups and Applications may not have the same identifier: {id}"),
        )]));
    }
    Ok(())
}

/// Writes the app's new definition and history; returns what is stored afterwards.
fn write_app(
    state: &State,
    req: &mut WriteRequest,
    s: &mut Step,
    version: Timestamp,
    max_versions: usize,
) -> Option<Arc<AppDefinition>> {
    let versions_of = |id| view::versions(state, id);
    match s.kind {
        Kind::Unchanged => s.old.clone(),
        Kind::Delete => {
            req.ops.push(Op::delete(keys::app(&s.id)));
            for (key, _) in versions_of(&s.id).into_values() {
                req.ops.push(Op::delete(key));
            }
            None
        }
        Kind::Create | Kind::Scale | Kind::Config | Kind::Restart => {
            let mut app = s.new.take()?;
            let last_config_change_at = match (s.kind, s.old.as_deref()) {
                (Kind::Scale, Some(old)) => old.config_version(),
                // Back to a config an earlier version had (a rollback): it keeps that config's
                // identity, so instances still running it are not restarted.
                (Kind::Config, Some(_)) => versions_of(&s.id)
                    .values()
                    .rev()
                    .map(|(_, v)| v)
                    .find(|v| same_spec(v, &app) || is_scale_only(v, &app))
                    .map_or(version, |v| v.config_version()),
                _ => version,
            };
            app.version = Some(version);
            app.version_info = Some(VersionInfo {
                last_scaling_at: version,
                last_config_change_at,
            });
            let app = Arc::new(app);
            req.ops.push(Op::put(keys::app(&s.id), Record::App(app.clone())));
            req.ops.push(Op::put(
                keys::app_version(&s.id, version),
                Record::AppVersion(app.clone()),
            ));
            let existing = versions_of(&s.id);
            let excess = (existing.len() + 1).saturating_sub(max_versions.max(1));
            for (key, _) in existing.into_values().take(excess) {
                req.ops.push(Op::delete(key));
            }
            Some(app)
        }
    }
}

/// The dependencies of `id` as they will be after the change.
fn deps_after(state: &State, targets: &HashMap<&PathId, Option<&AppDefinition>>, id: &PathId) -> Vec<PathId> {
    match targets.get(id) {
        Some(t) => t.map(|a| a.dependencies.clone()).unwrap_or_default(),
        None => view::app(state, id)
            .map(|(a, _)| a.dependencies.clone())
            .unwrap_or_default(),
    }
}

/// Rejects a change that closes a dependency cycle. A new cycle must pass through a changed
/// app with dependencies, so only those are searched from.
fn check_cycles(state: &State, steps: &[Step]) -> Result<()> {
    let targets: HashMap<&PathId, Option<&AppDefinition>> = steps.iter().map(|s| (&s.id, s.new.as_ref())).collect();
    for start in steps
        .iter()
        .filter(|s| s.new.as_ref().is_some_and(|a| !a.dependencies.is_empty()))
    {
        let mut stack = vec![(start.id.clone(), 0usize)];
        let mut on_path: HashSet<PathId> = HashSet::from([start.id.clone()]);
        let mut done: HashSet<PathId> = HashSet::new();
        let mut children: HashMap<PathId, Vec<PathId>> = HashMap::new();
        while let Some((node, i)) = stack.pop() {
            let kids = children
                .entry(node.clone())
                .or_insert_with(|| deps_after(state, &targets, &node))
                .clone();
            if let Some(next) = kids.get(i) {
                stack.push((node, i + 1));
                if on_path.contains(next) {
                    return Err(ApiError::Invalid(vec![Detail::new(
                        "/",
                        "Dependency graph has cyclic dependencies.",
                    )]));
                }
                if !done.contains(next) {
                    on_path.insert(next.clone());
                    stack.push((next.clone(), 0));
                }
            } else {
                on_path.remove(&node);
                done.insert(node);
            }
        }
    }
    Ok(())
}

/// How many dependency levels lie below `id` after the change (0: depends on nothing).
fn depth(state: &State, target: &std::collections::BTreeMap<PathId, Option<Arc<AppDefinition>>>, id: &PathId) -> usize {
    fn go(
        state: &State,
        target: &std::collections::BTreeMap<PathId, Option<Arc<AppDefinition>>>,
        id: &PathId,
        seen: &mut HashSet<PathId>,
    ) -> usize {
        if !seen.insert(id.clone()) {
            return 0;
        }
        let deps = match target.get(id) {
            Some(t) => t.as_ref().map(|a| a.dependencies.clone()).unwrap_or_default(),
            None => view::app(state, id)
                .map(|(a, _)| a.dependencies.clone())
                .unwrap_or_default(),
        };
        let d = deps
            .iter()
            .map(|dep| 1 + go(state, target, dep, seen))
            .max()
            .unwrap_or(0);
        seen.remove(id);
        d
    }
    go(state, target, id, &mut HashSet::new())
}

/// Merges per-app plans the way Marathon orders one plan: all stops, then all starts, then
/// scaling and restarts by dependency level (dependencies first).
fn combine(per_app: Vec<Vec<DeploymentStep>>, depth: impl Fn(&PathId) -> usize) -> Vec<DeploymentStep> {
    let mut stops = Vec::new();
    let mut starts = Vec::new();
    let mut levels: std::collections::BTreeMap<usize, Vec<DeploymentAction>> = Default::default();
    for action in per_app.into_iter().flatten().flat_map(|s| s.actions) {
        match action.action {
            ActionKind::StopApplication => stops.push(action),
            ActionKind::StartApplication => starts.push(action),
            ActionKind::ScaleApplication | ActionKind::RestartApplication => {
                levels.entry(depth(&action.app)).or_default().push(action)
            }
        }
    }
    [stops, starts]
        .into_iter()
        .chain(levels.into_values())
        .filter(|a| !a.is_empty())
        .map(|actions| DeploymentStep { actions })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use schemas::{Instance, TaskRecord, TaskState};
    use store::WriteOutcome;

    fn app(id: &str) -> AppDefinition {
        let raw: AppDefinition = serde_json::from_value(serde_json::json!({"id": id, "cmd": "x"})).unwrap();
        schemas::normalize_app(raw, &PathId::root()).unwrap()
    }

    fn apply(state: &mut State, req: WriteRequest) -> WriteOutcome {
        state.apply(req).0
    }

    #[test]
    fn writes_are_guarded_by_what_they_read() {
        let cfg = ApiConfig::default();
        let mut state = State::default();
        let create = Mutation {
            changes: vec![(PathId::parse("/a").unwrap(), Change::put(app("/a")))],
            ..Default::default()
        };
        let planned = plan(&state, create.clone(), false, Timestamp::now(), &cfg).unwrap();
        assert!(
            planned
                .request
                .preconditions
                .contains(&Precondition::Absent("app//a".into()))
        );
        // Someone else created it meanwhile: the create must not apply.
        let other = plan(&state, create, false, Timestamp::now(), &cfg).unwrap();
        assert!(matches!(apply(&mut state, other.request), WriteOutcome::Applied { .. }));
        assert!(matches!(
            apply(&mut state, planned.request),
            WriteOutcome::Conflict { .. }
        ));

        // A kill planned on an instance that changes before the write does not apply.
        let stored = view::app(&state, &PathId::parse("/a").unwrap()).unwrap().0;
        let mut inst = Instance::new(&stored, Timestamp::now());
        inst.task = Some(TaskRecord {
            task_id: inst.next_task_id(),
            agent_id: "a".into(),
            host: "h".into(),
            ports: vec![],
            state: TaskState::TASK_RUNNING,
            staged_at: Timestamp::now(),
            started_at: None,
            updated_at: Timestamp::now(),
            message: None,
            health: Default::default(),
        });
        let key = keys::instance(&inst.app_id, &inst.instance_id);
        apply(
            &mut state,
            WriteRequest {
                preconditions: vec![],
                ops: vec![Op::put(key.clone(), Record::Instance(Arc::new(inst.clone())))],
            },
        );
        let rev = state.get(&key).unwrap().mod_revision;
        let mut killed = inst.clone();
        killed.goal = schemas::Goal::Decommissioned;
        let mut smaller = (*stored).clone();
        smaller.instances = 0;
        let m = Mutation {
            changes: vec![(stored.id.clone(), Change::put(smaller))],
            instances: vec![InstanceUpdate {
                revision: rev,
                instance: killed,
            }],
            cancel: vec![],
        };
        let planned = plan(&state, m, true, Timestamp::now(), &cfg).unwrap();
        apply(
            &mut state,
            WriteRequest {
                preconditions: vec![],
                ops: vec![Op::put(key, Record::Instance(Arc::new(inst)))],
            },
        );
        assert!(matches!(
            apply(&mut state, planned.request),
            WriteOutcome::Conflict { .. }
        ));
        assert_eq!(
            view::app(&state, &stored.id).unwrap().0.instances,
            1,
            "nothing of the kill applied"
        );
    }

    fn action(kind: ActionKind, app: &str) -> DeploymentAction {
        DeploymentAction {
            action: kind,
            app: PathId::parse(app).unwrap(),
        }
    }

    #[test]
    fn combine_orders_stops_starts_then_levels() {
        use ActionKind::*;
        let plans = vec![
            vec![
                DeploymentStep {
                    actions: vec![action(StartApplication, "/a")],
                },
                DeploymentStep {
                    actions: vec![action(ScaleApplication, "/a")],
                },
            ],
            vec![DeploymentStep {
                actions: vec![action(StopApplication, "/b")],
            }],
            vec![DeploymentStep {
                actions: vec![action(RestartApplication, "/c")],
            }],
        ];
        // /a depends on /c.
        let steps = combine(plans, |id| if id.as_str() == "/a" { 1 } else { 0 });
        let flat: Vec<Vec<(ActionKind, &str)>> = steps
            .iter()
            .map(|s| s.actions.iter().map(|a| (a.action, a.app.as_str())).collect())
            .collect();
        assert_eq!(
            flat,
            vec![
                vec![(StopApplication, "/b")],
                vec![(StartApplication, "/a")],
                vec![(RestartApplication, "/c")],
                vec![(ScaleApplication, "/a")]
            ]
        );
    }
}
