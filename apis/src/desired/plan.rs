//! Computes the atomic write for a [`Mutation`] against one snapshot of the state: versions
//! and versionInfo, service ports, version history pruning, deployment locking, group records
//! and group versions, and the deployment record with its steps (apps' and pods') in
//! dependency order.

use std::collections::HashSet;
use std::sync::Arc;

use schemas::{
    ActionKind, AppDefinition, Deployment, DeploymentAction, DeploymentStep, GroupRecord, PathId, Record, Timestamp,
    VersionInfo, app_change_steps, is_scale_only, merge_steps, same_spec,
};
use store::{Op, Precondition, State, WriteRequest, keys};

use super::deps::After;
use super::pods;
use super::ports::PortPool;
use super::{Change, GroupChange, GroupWrite, InstanceUpdate, Mutation, Outcome};
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
    let pod_ids: Vec<PathId> = m.pods.iter().map(|p| p.id.clone()).collect();
    let mut changing: HashSet<&PathId> = ids.iter().collect();
    if changing.len() != ids.len() {
        return Err(ApiError::Unprocessable(
            "Every app may appear only once in one request".into(),
        ));
    }
    for id in &pod_ids {
        if !changing.insert(id) {
            return Err(ApiError::Unprocessable(format!(
                "Applications and Pods may not share the same id: {id}"
            )));
        }
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
        if old.is_none() {
            // A pod created meanwhile must make this write fail, not share the id.
            req.preconditions.push(Precondition::Absent(keys::pod(&id)));
        }
        steps.push(classify(state, id, change, old, pool.as_mut(), &changing)?);
    }
    let pod_steps = pods::classify(state, &mut req, m.pods, &changing)?;
    check_roles(state, &m.groups, &steps, &pod_steps, &cfg.mesos_role)?;
    let levels = After {
        state,
        apps: steps.iter().map(|s| (&s.id, s.new.as_ref())).collect(),
        pods: pod_steps.iter().map(|p| (&p.id, p.target.as_ref())).collect(),
        groups: m.groups.iter().map(GroupChange::target).collect(),
    }
    .levels(ids.iter().chain(&pod_ids))?;

    let changed: Vec<PathId> = steps
        .iter()
        .filter(|s| s.kind != Kind::Unchanged)
        .map(|s| s.id.clone())
        .collect();
    let changed_pods: Vec<PathId> = pod_steps.iter().filter(|p| p.changes()).map(|p| p.id.clone()).collect();
    let mut locked: HashSet<&PathId> = changed.iter().chain(&changed_pods).collect();
    locked.extend(m.instances.iter().map(|u| &u.instance.app_id));
    let mut conflicts: Vec<Arc<Deployment>> = view::deployments(state)
        .into_iter()
        .filter(|d| !d.steps.is_empty() && !m.cancel.contains(&d.id))
        .filter(|d| {
            d.affected_apps
                .iter()
                .chain(&d.affected_pods)
                .any(|a| locked.contains(a))
        })
        .collect();
    conflicts.sort_by(|a, b| (a.version, &a.id).cmp(&(b.version, &b.id)));
    if !conflicts.is_empty() && !force {
        return Err(ApiError::Locked(conflicts.iter().map(|d| d.id.clone()).collect()));
    }
    for id in conflicts.iter().map(|d| &d.id).chain(&m.cancel) {
        req.ops.push(Op::delete(keys::deployment(id)));
    }

    let group_id = m.group.as_ref().map(|g| g.id.clone());
    let prev_group = group_id
        .iter()
        .filter_map(|g| view::group_versions(state, g).into_keys().next_back());
    let prev_pods = pod_steps
        .iter()
        .filter_map(|p| p.old.as_ref())
        .map(|p| p.version_or_epoch());
    let prev = steps
        .iter()
        .filter_map(|s| s.old.as_ref())
        .map(|a| a.version_or_epoch())
        .chain(prev_pods)
        .chain(prev_group)
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
    let mut original_pods = std::collections::BTreeMap::new();
    let mut target_pods = std::collections::BTreeMap::new();
    let mut created_pods = Vec::new();
    for p in pod_steps {
        let (id, old) = (p.id.clone(), p.old.clone());
        if old.is_none() {
            created_pods.push(id.clone());
        }
        let (stored, pod_steps) = pods::write(state, &mut req, p, version, cfg.max_versions);
        per_app_steps.push(pod_steps);
        original_pods.insert(id.clone(), old);
        target_pods.insert(id, stored);
    }
    for u in m.instances {
        push_instance(&mut req, u);
    }
    write_groups(state, &mut req, m.groups, m.group, version, cfg.max_versions);

    let deploy_steps = merge_steps(per_app_steps, |id| levels.get(id).copied().unwrap_or(0));
    // A change that changes nothing still names what it was about.
    let (affected, affected_pods) = if changed.is_empty() && changed_pods.is_empty() {
        (ids, pod_ids)
    } else {
        (changed, changed_pods)
    };
    let deployment = Deployment {
        id: uuid::Uuid::new_v4().to_string(),
        version,
        affected_apps: affected,
        steps: deploy_steps.clone(),
        current_step: 0,
        original,
        target: target.clone(),
        group: group_id,
        affected_pods,
        original_pods,
        target_pods: target_pods.clone(),
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
            pod_targets: target_pods,
            created_pods,
            steps: deploy_steps,
        },
    })
}

impl GroupChange {
    fn target(&self) -> (&PathId, Option<&GroupRecord>) {
        match self {
            GroupChange::Put(g) => (&g.id, Some(g)),
            GroupChange::Delete(id) => (id, None),
        }
    }
}

/// Writes group records, removes deleted groups with their versions, and keeps the changed
/// group's tree as a new version (pruning the oldest beyond `max_versions`). Each record
/// written is guarded by what was read of it.
fn write_groups(
    state: &State,
    req: &mut WriteRequest,
    changes: Vec<GroupChange>,
    group: Option<GroupWrite>,
    version: Timestamp,
    max_versions: usize,
) {
    for change in changes {
        let id = change.target().0.clone();
        let key = keys::group(&id);
        req.preconditions.push(match view::group_record(state, &id) {
            Some((_, rev)) => Precondition::ModRevision(key.clone(), rev),
            None => Precondition::Absent(key.clone()),
        });
        match change {
            GroupChange::Put(mut g) => {
                g.version = version;
                req.ops.push(Op::put(key, Record::Group(Arc::new(g))));
            }
            GroupChange::Delete(id) => {
                if view::group_record(state, &id).is_some() {
                    req.ops.push(Op::delete(key));
                }
                for (k, _) in view::group_versions(state, &id).into_values() {
                    req.ops.push(Op::delete(k));
                }
            }
        }
    }
    let Some(GroupWrite {
        id,
        snapshot: Some(mut snapshot),
    }) = group
    else {
        return;
    };
    snapshot.version = Some(version);
    snapshot.scale_by = None;
    req.ops.push(Op::put(
        keys::group_version(&id, version),
        Record::GroupVersion(Arc::new(snapshot)),
    ));
    let existing = view::group_versions(state, &id);
    let excess = (existing.len() + 1).saturating_sub(max_versions.max(1));
    for (key, _) in existing.into_values().take(excess) {
        req.ops.push(Op::delete(key));
    }
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
        if state.pod(&id).is_some() {
            return Err(ApiError::Conflict(format!("A pod with id [{id}] already exists.")));
        }
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

/// Every app's and pod's role must be one its group allows (`crate::groups::roles`), with the
/// `enforceRole` settings the change leaves.
fn check_roles(
    state: &State,
    groups: &[GroupChange],
    apps: &[Step],
    pods: &[pods::PodStep],
    mesos_role: &str,
) -> Result<()> {
    let mut enforced = crate::groups::roles::Enforced::stored(state);
    for g in groups {
        if let GroupChange::Put(r) = g {
            enforced.set(&r.id, r.enforce_role);
        }
    }
    let apps = apps.iter().filter_map(|s| {
        let new = s.new.as_ref()?;
        Some((
            &s.id,
            new.role.as_deref(),
            s.old.as_ref().and_then(|o| o.role.as_deref()),
        ))
    });
    let pods = pods.iter().filter_map(|p| {
        let new = p.target.as_ref()?;
        Some((
            &p.id,
            new.role.as_deref(),
            p.old.as_ref().and_then(|o| o.role.as_deref()),
        ))
    });
    for (id, role, existing) in apps.chain(pods) {
        let role = role.unwrap_or(schemas::DEFAULT_ROLE);
        if let Some(message) = enforced.refusal(id, role, existing, mesos_role) {
            return Err(ApiError::Invalid(vec![Detail::new("/role", message)]));
        }
    }
    Ok(())
}

/// An app id may not also be a group: no app above or below it may exist.
fn check_no_clash(state: &State, id: &PathId, changing: &HashSet<&PathId>) -> Result<()> {
    let mut ancestor = id.parent();
    let mut clash = pods::is_group(state, id);
    while !ancestor.is_root() && !clash {
        clash = view::app(state, &ancestor).is_some() || state.pod(&ancestor).is_some() || changing.contains(&ancestor);
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
            containers: vec![],
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
            ..Default::default()
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
}
