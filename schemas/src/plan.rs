//! The deployment steps for one app's change, as Marathon's `DeploymentPlan` orders them.

use crate::{ActionKind, AppDefinition, DeploymentAction, DeploymentStep, is_scale_only, same_spec};

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

fn restart_requested(old: &AppDefinition, new: &AppDefinition) -> bool {
    match (old.version_info, new.version_info) {
        (Some(o), Some(n)) => n.last_config_change_at > o.last_config_change_at,
        _ => false,
    }
}

#[cfg(test)]
mod tests;
