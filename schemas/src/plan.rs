//! The deployment steps for one app's change, and how the steps of many changes combine into
//! one plan ordered by dependencies, as Marathon's `DeploymentPlan` orders them.

use std::collections::{BTreeMap, HashMap};

use crate::{
    ActionKind, AppDefinition, DeploymentAction, DeploymentStep, PathId, PodDefinition, is_scale_only, same_spec,
};

/// Marathon's deployment steps for changing one app from `original` to `target` (None = absent).
///
/// Creation starts the app at zero instances, then scales it; deletion stops it; a change of
/// `instances` alone (or any change to zero instances) scales; any other change restarts. An
/// unchanged spec needs nothing, unless `target` carries a newer `lastConfigChangeAt` than
/// `original` (`POST /v2/apps/{id}/restart`), which restarts it as Marathon's `needsRestart` does.
pub fn app_change_steps(original: Option<&AppDefinition>, target: Option<&AppDefinition>) -> Vec<DeploymentStep> {
    let step = |action: ActionKind, app: &AppDefinition| DeploymentStep {
        actions: vec![DeploymentAction {
            action,
            app: app.id.clone(),
        }],
    };
    match (original, target) {
        (None, None) => Vec::new(),
        (Some(old), None) => vec![step(ActionKind::StopApplication, old)],
        (None, Some(new)) => {
            let mut steps = vec![step(ActionKind::StartApplication, new)];
            if new.instances > 0 {
                steps.push(step(ActionKind::ScaleApplication, new));
            }
            steps
        }
        (Some(old), Some(new)) if same_spec(old, new) => {
            if restart_requested(old, new) {
                vec![step(ActionKind::RestartApplication, new)]
            } else {
                Vec::new()
            }
        }
        (Some(old), Some(new)) if is_scale_only(old, new) || new.instances == 0 => {
            vec![step(ActionKind::ScaleApplication, new)]
        }
        (Some(_), Some(new)) => vec![step(ActionKind::RestartApplication, new)],
    }
}

/// The steps for changing one pod, by the same rules as [`app_change_steps`], with the pod
/// actions (`StartPod`, `StopPod`, `ScalePod`, `RestartPod`).
pub fn pod_change_steps(original: Option<&PodDefinition>, target: Option<&PodDefinition>) -> Vec<DeploymentStep> {
    let step = |action: ActionKind, pod: &PodDefinition| DeploymentStep {
        actions: vec![DeploymentAction {
            action,
            app: pod.id.clone(),
        }],
    };
    match (original, target) {
        (None, None) => Vec::new(),
        (Some(old), None) => vec![step(ActionKind::StopPod, old)],
        (None, Some(new)) => {
            let mut steps = vec![step(ActionKind::StartPod, new)];
            if new.instances() > 0 {
                steps.push(step(ActionKind::ScalePod, new));
            }
            steps
        }
        (Some(old), Some(new)) if old.same_spec(new) => {
            let restart = match (old.version_info, new.version_info) {
                (Some(o), Some(n)) => n.last_config_change_at > o.last_config_change_at,
                _ => false,
            };
            if restart {
                vec![step(ActionKind::RestartPod, new)]
            } else {
                Vec::new()
            }
        }
        (Some(old), Some(new)) if old.is_scale_only(new) || new.instances() == 0 => {
            vec![step(ActionKind::ScalePod, new)]
        }
        (Some(_), Some(new)) => vec![step(ActionKind::RestartPod, new)],
    }
}

fn restart_requested(old: &AppDefinition, new: &AppDefinition) -> bool {
    match (old.version_info, new.version_info) {
        (Some(o), Some(n)) => n.last_config_change_at > o.last_config_change_at,
        _ => false,
    }
}

/// The dependencies of a deployment close a cycle; Marathon rejects the change (422).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Dependency graph has cyclic dependencies.")]
pub struct DependencyCycle {
    /// The apps on the cycle, in dependency order.
    pub path: Vec<PathId>,
}

/// The dependency level of every app reachable from `roots`: 0 for an app that depends on
/// nothing, else one more than its deepest dependency (Marathon's longest-path layering, so
/// dependencies deploy first). `deps_of` gives an app's direct dependencies as app ids
/// (dependencies on groups already expanded to their apps).
pub fn dependency_levels<'a>(
    roots: impl IntoIterator<Item = &'a PathId>,
    mut deps_of: impl FnMut(&PathId) -> Vec<PathId>,
) -> Result<HashMap<PathId, usize>, DependencyCycle> {
    let mut levels: HashMap<PathId, usize> = HashMap::new();
    for root in roots {
        if levels.contains_key(root) {
            continue;
        }
        // Depth-first, iteratively: (node, its dependencies, how many are visited).
        let mut stack: Vec<(PathId, Vec<PathId>, usize)> = vec![(root.clone(), deps_of(root), 0)];
        while let Some((node, deps, i)) = stack.last_mut() {
            if let Some(next) = deps.get(*i).cloned() {
                *i += 1;
                if let Some(at) = stack.iter().position(|(n, _, _)| *n == next) {
                    let path = stack[at..].iter().map(|(n, _, _)| n.clone()).collect();
                    return Err(DependencyCycle { path });
                }
                if !levels.contains_key(&next) {
                    let deps = deps_of(&next);
                    stack.push((next, deps, 0));
                }
            } else {
                let level = deps
                    .iter()
                    .filter_map(|d| levels.get(d))
                    .map(|l| l + 1)
                    .max()
                    .unwrap_or(0);
                levels.insert(node.clone(), level);
                stack.pop();
            }
        }
    }
    Ok(levels)
}

/// Merges the steps of several apps' changes into one plan the way Marathon orders it: all
/// stops, then all starts (at zero instances), then scaling and restarts by dependency
/// `level` (dependencies first). Empty steps are left out.
pub fn merge_steps(per_app: Vec<Vec<DeploymentStep>>, level: impl Fn(&PathId) -> usize) -> Vec<DeploymentStep> {
    let mut stops = Vec::new();
    let mut starts = Vec::new();
    let mut levels: BTreeMap<usize, Vec<DeploymentAction>> = BTreeMap::new();
    for action in per_app.into_iter().flatten().flat_map(|s| s.actions) {
        match action.action.as_app_action() {
            ActionKind::StopApplication => stops.push(action),
            ActionKind::StartApplication => starts.push(action),
            _ => levels.entry(level(&action.app)).or_default().push(action),
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
mod tests;
