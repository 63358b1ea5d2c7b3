//! Killing tasks by flipping instance fields the controllers act on: `kill_requested`
//! (relaunch the same instance) or goal `Decommissioned` (kill and expunge it), and with
//! `scale=true` lowering the app's `instances` by the number killed, in the same write.

use std::collections::BTreeMap;
use std::sync::Arc;

use schemas::{Goal, Instance, PathId};
use store::State;

use super::{Change, InstanceUpdate, Mutation, Outcome, deploy, update_instances};
use crate::Ctx;
use crate::error::{ApiError, Result};
use crate::view;

/// How a kill treats the killed instances.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum KillMode {
    /// Kill the task; the instance is relaunched as its next incarnation.
    Restart,
    /// Kill the task and expunge the instance; the controllers create a replacement.
    Wipe,
    /// Kill, expunge, and lower the app's `instances` by the number killed (a deployment).
    Scale { force: bool },
}

impl KillMode {
    /// Reads Marathon's `scale`, `wipe` and `force` parameters.
    pub(crate) fn from_flags(scale: bool, wipe: bool, force: bool) -> Result<KillMode> {
        match (scale, wipe) {
            (true, true) => Err(ApiError::BadRequest(
                "You cannot use scale and wipe at the same time.".into(),
            )),
            (true, false) => Ok(KillMode::Scale { force }),
            (false, true) => Ok(KillMode::Wipe),
            (false, false) => Ok(KillMode::Restart),
        }
    }
}

/// What a kill request answers with.
pub(crate) enum Killed {
    /// The killed instances as they were before the kill.
    Tasks(Vec<Arc<Instance>>),
    Deployment(Outcome),
}

/// Kills the instances `select` picks from the current state (re-run on every retry).
pub(crate) async fn kill(
    ctx: &Ctx,
    mode: KillMode,
    select: impl Fn(&State) -> Result<Vec<(Arc<Instance>, u64)>>,
) -> Result<Killed> {
    match mode {
        KillMode::Scale { force } => deploy(ctx, force, |s| scale_down(s, select(s)?))
            .await
            .map(Killed::Deployment),
        KillMode::Restart | KillMode::Wipe => update_instances(ctx, |s| {
            let picked = select(s)?;
            let updates = picked.iter().map(|(i, rev)| flip(i, *rev, mode)).collect();
            Ok((updates, picked.into_iter().map(|(i, _)| i).collect()))
        })
        .await
        .map(Killed::Tasks),
    }
}

fn flip(inst: &Instance, revision: u64, mode: KillMode) -> InstanceUpdate {
    let mut instance = inst.clone();
    match mode {
        KillMode::Restart => instance.kill_requested = true,
        KillMode::Wipe | KillMode::Scale { .. } => instance.goal = Goal::Decommissioned,
    }
    InstanceUpdate { revision, instance }
}

fn scale_down(state: &State, picked: Vec<(Arc<Instance>, u64)>) -> Result<Mutation> {
    // An instance already on its way out must not lower the count a second time.
    let picked: Vec<_> = picked.into_iter().filter(|(i, _)| i.goal == Goal::Running).collect();
    let mut per_app: BTreeMap<PathId, u32> = BTreeMap::new();
    for (i, _) in &picked {
        *per_app.entry(i.app_id.clone()).or_default() += 1;
    }
    let mut m = Mutation::default();
    for (id, killed) in per_app {
        let (current, _) = view::app(state, &id).ok_or_else(|| ApiError::app_not_found(&id))?;
        let mut app = (*current).clone();
        app.instances = app.instances.saturating_sub(killed);
        m.changes.push((id, Change::put(app)));
    }
    m.instances = picked
        .iter()
        .map(|(i, rev)| flip(i, *rev, KillMode::Scale { force: false }))
        .collect();
    Ok(m)
}

/// Splits a task id (`<app>.instance-<uuid>._app.<n>`, or an instance id) into the app id and
/// the instance id, following Marathon's `^(.+)\.(instance-|marathon-)([^\.]+)$`.
pub(crate) fn parse_task_id(task_id: &str) -> Option<(PathId, String)> {
    let instance_id = match task_id.rsplit_once("._app.") {
        Some((inst, n)) if !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) => inst,
        _ => task_id,
    };
    let (pos, marker) = [".instance-", ".marathon-"]
        .into_iter()
        .filter_map(|m| instance_id.rfind(m).map(|p| (p, m)))
        .max_by_key(|(p, _)| *p)?;
    let uuid = &instance_id[pos + marker.len()..];
    if pos == 0 || uuid.is_empty() || uuid.contains('.') {
        return None;
    }
    // Segments of app ids cannot contain `_`, so the safe id maps back unambiguously.
    let app = PathId::parse(&instance_id[..pos].replace('_', "/")).ok()?;
    Some((app, instance_id.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_task_and_instance_ids() {
        let (app, inst) = parse_task_id("prod_web.instance-3f0c._app.2").unwrap();
        assert_eq!(app.as_str(), "/prod/web");
        assert_eq!(inst, "prod_web.instance-3f0c");
        let (app, inst) = parse_task_id("my-app.v1.instance-abc").unwrap();
        assert_eq!(app.as_str(), "/my-app.v1");
        assert_eq!(inst, "my-app.v1.instance-abc");
        assert!(parse_task_id("garbage").is_none());
        assert!(parse_task_id(".instance-x").is_none());
        assert!(parse_task_id("a.instance-").is_none());
    }

    #[test]
    fn scale_and_wipe_together_is_a_bad_request() {
        assert!(matches!(
            KillMode::from_flags(true, true, false),
            Err(ApiError::BadRequest(_))
        ));
        assert_eq!(
            KillMode::from_flags(true, false, true).unwrap(),
            KillMode::Scale { force: true }
        );
    }
}
