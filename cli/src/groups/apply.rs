//! `apply` of one group document: one `PUT /v2/groups/{id}` (one deployment) when the plan
//! says anything changes, nothing when it does not.
//!
//! The PUT is declarative: apps and pods missing from the document's tree are removed, with or
//! without `--prune` (the document owns its group). They are printed as `pruned`, so that a
//! dry run and the real apply say it before and when it happens.

use std::io::Write;

use schemas::PathId;
use serde_json::Value;

use super::manifest::GroupManifest;
use super::plan::{Live, Plan, desired_over, plan};
use super::{fetch, group_path, name};
use crate::apply::Outcome;
use crate::client::Client;
use crate::error::{Error, Result};
use crate::wait::Wanted;

/// How one group document is applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    Apply {
        force: bool,
    },
    /// `--dry-run=server`: the server plans the PUT (`dryRun=true`) and writes nothing.
    DryRun,
}

/// What `--wait` should wait for after a group's apply: its apps and its pods.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct Waits {
    pub(crate) apps: Vec<(PathId, Wanted)>,
    pub(crate) pods: Vec<(PathId, Wanted)>,
}

/// Applies `group` and prints what happened to its apps, its pods and to the group; returns
/// what `--wait` should wait for.
pub(crate) async fn apply(client: &Client, group: &GroupManifest, mode: Mode, out: &mut dyn Write) -> Result<Waits> {
    let live = live(client, &group.id).await?;
    // A document this client cannot read is sent anyway: the server is the judge of it.
    let plan = desired_over(group, live.as_ref()).ok().map(|d| plan(&d, live.as_ref()));
    let suffix = if mode == Mode::DryRun { " (dry run)" } else { "" };
    if let Some(plan) = plan.as_ref().filter(|p| p.group == Outcome::Unchanged) {
        print(plan, &group.id, suffix, out)?;
        return Ok(Waits::default());
    }
    let query = match mode {
        Mode::DryRun => "?dryRun=true",
        Mode::Apply { force: true } => "?force=true",
        Mode::Apply { force: false } => "",
    };
    let path = format!("{}{query}", group_path(&group.id));
    client.put(&path, &Value::Object(group.body.clone())).await?;
    match plan {
        Some(plan) => {
            print(&plan, &group.id, suffix, out)?;
            Ok(waits(&plan))
        }
        None => {
            let outcome = if live.is_some() {
                Outcome::Configured
            } else {
                Outcome::Created
            };
            line(out, &name(&group.id), outcome, suffix)?;
            let deployed = |ids: &[PathId]| ids.iter().map(|id| (id.clone(), Wanted::Deployed)).collect();
            Ok(Waits {
                apps: deployed(&group.apps),
                pods: deployed(&group.pods),
            })
        }
    }
}

/// The live group, or `None` when it does not exist.
pub(crate) async fn live(client: &Client, id: &PathId) -> Result<Option<Live>> {
    let Some(info) = fetch(client, id, "").await? else {
        return Ok(None);
    };
    Live::parse(&info).map(Some).ok_or_else(|| Error::Response {
        method: "GET",
        path: group_path(id),
        message: "not a group (no \"id\", or apps without ids)".into(),
    })
}

/// One line per app and pod the document writes, one per app and pod removed, then the
/// group's.
fn print(plan: &Plan, id: &PathId, suffix: &str, out: &mut dyn Write) -> Result<()> {
    for (app, outcome) in &plan.apps {
        line(out, &format!("app{}", app.id), *outcome, suffix)?;
    }
    for (pod, outcome) in &plan.pods {
        line(out, &crate::pods::name(&pod.id), *outcome, suffix)?;
    }
    for app in &plan.pruned {
        line(out, &format!("app{app}"), Outcome::Pruned, suffix)?;
    }
    for pod in &plan.pruned_pods {
        line(out, &crate::pods::name(pod), Outcome::Pruned, suffix)?;
    }
    line(out, &name(id), plan.group, suffix)
}

fn line(out: &mut dyn Write, name: &str, outcome: Outcome, suffix: &str) -> Result<()> {
    writeln!(out, "{name} {}{suffix}", outcome.as_str()).map_err(Error::Output)
}

/// Apps and pods that change are waited for until deployed, those removed until gone.
fn waits(plan: &Plan) -> Waits {
    let changed = plan
        .apps
        .iter()
        .filter(|(_, o)| *o != Outcome::Unchanged)
        .map(|(a, _)| (a.id.clone(), Wanted::Deployed));
    let gone = plan.pruned.iter().map(|id| (id.clone(), Wanted::Deleted));
    let changed_pods = plan
        .pods
        .iter()
        .filter(|(_, o)| *o != Outcome::Unchanged)
        .map(|(p, _)| (p.id.clone(), Wanted::Deployed));
    let gone_pods = plan.pruned_pods.iter().map(|id| (id.clone(), Wanted::Deleted));
    Waits {
        apps: changed.chain(gone).collect(),
        pods: changed_pods.chain(gone_pods).collect(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::groups::manifest::group;

    #[test]
    fn lines_and_waits_follow_the_plan() {
        let g = group(
            "t".into(),
            json!({"id": "/g", "apps": [{"id": "a", "cmd": "x"}, {"id": "b", "cmd": "y"}]})
                .as_object()
                .cloned()
                .unwrap(),
        )
        .unwrap();
        let mut p = plan(&super::super::plan::desired(&g).unwrap(), None);
        p.apps[1].1 = Outcome::Unchanged;
        p.pruned = vec![PathId::parse("/g/old").unwrap()];
        let mut out = Vec::new();
        print(&p, &g.id, " (dry run)", &mut out).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "app/g/a created (dry run)\napp/g/b unchanged (dry run)\napp/g/old pruned (dry run)\ngroup/g created (dry run)\n"
        );
        let w = waits(&p).apps;
        assert_eq!(
            w.iter().map(|(id, w)| (id.as_str(), *w)).collect::<Vec<_>>(),
            [("/g/a", Wanted::Deployed), ("/g/old", Wanted::Deleted)]
        );
    }
}
