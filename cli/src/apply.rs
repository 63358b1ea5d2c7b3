//! `pacer apply -f FILE|DIR|- [-R] [--dry-run=client|server] [--prune -l SELECTOR] [--wait]`:
//! make the server's apps match the manifests.
//!
//! Each app is compared with its live definition first (see `compare`) and only sent when it
//! differs, so re-applying a folder changes nothing and starts no deployment. With `--prune`,
//! apps carrying the selector's labels that no manifest names are deleted.
//!
//! A pod document is created or replaced through `/v2/pods` the same way (see
//! `pods::apply`), and `--prune` deletes the labelled pods no document names.
//!
//! A group document is applied whole with one `PUT /v2/groups/{id}` (see `groups::apply`):
//! it removes the apps its tree no longer holds whether or not `--prune` is given, and
//! `--prune` leaves the apps inside group documents to them.
//!
//! `--dry-run` writes nothing. The server has no dry-run mode for apps or pods, so the manifests are
//! validated here by the same `schemas` code the server runs (types, normalisation, validation
//! rules); `server` also reads the live apps and reports what would be created, configured,
//! left unchanged or pruned, and has the server plan each group's PUT (`dryRun=true`). A write
//! the server would still refuse (an app locked by a deployment, a service port taken) is only
//! found by the real apply.

use std::collections::BTreeSet;
use std::io::Write;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use schemas::PathId;
use serde_json::Value;

use crate::client::{Client, app_path, encode};
use crate::compare::{unchanged, validated};
use crate::error::{Error, Result};
use crate::groups::apply::Mode;
use crate::groups::manifest::GroupManifest;
use crate::manifest::{Document, Manifest, Sources};
use crate::wait::{Progress, Wanted, parse_duration};

/// Create or replace apps declaratively.
#[derive(clap::Args, Debug, Clone)]
pub struct ApplyArgs {
    #[command(flatten)]
    pub sources: Sources,
    /// Replace apps even while a deployment holds them (`?force=true`).
    #[arg(long)]
    pub force: bool,
    /// Write nothing: `client` validates the manifests; `server` also compares them with the
    /// live apps and prints what would change.
    #[arg(long, value_enum, num_args = 0..=1, default_missing_value = "client")]
    pub dry_run: Option<DryRun>,
    /// Delete the apps that match `-l` and are in no manifest.
    #[arg(long, requires = "selector")]
    pub prune: bool,
    /// Label selector of the apps that `--prune` may delete: `KEY=VALUE[,KEY2=VALUE2]`.
    #[arg(short = 'l', long = "selector", value_name = "KEY=VALUE")]
    pub selector: Option<String>,
    /// Follow the deployments until they finish (progress shown when stdout is a terminal).
    #[arg(long)]
    pub wait: bool,
    /// How long `--wait` waits before failing.
    #[arg(long, default_value = "5m", value_parser = parse_duration)]
    pub timeout: Duration,
}

#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum DryRun {
    Client,
    Server,
}

/// What happened (or would happen) to one app or group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    Created,
    Configured,
    Unchanged,
    Pruned,
    Valid,
}

impl Outcome {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Outcome::Created => "created",
            Outcome::Configured => "configured",
            Outcome::Unchanged => "unchanged",
            Outcome::Pruned => "pruned",
            Outcome::Valid => "valid",
        }
    }
}

pub(crate) async fn run(client: &Client, args: &ApplyArgs, out: &mut dyn Write) -> Result<ExitCode> {
    // Every file is read and parsed before anything is sent: a typo in the third file must not
    // leave the first two applied.
    let docs = args.sources.load()?;
    let selector = args.selector.as_deref().map(marathon_selector).transpose()?;
    let suffix = if args.dry_run.is_some() { " (dry run)" } else { "" };
    let print = |out: &mut dyn Write, name: &str, o: Outcome| {
        writeln!(out, "{name} {}{suffix}", o.as_str()).map_err(Error::Output)
    };
    if let Some(dry_run) = args.dry_run {
        if !all_valid(&docs) {
            return Ok(ExitCode::from(1));
        }
        if dry_run == DryRun::Client {
            for doc in &docs {
                match doc {
                    Document::App(app) => print(out, &name(&app.id), Outcome::Valid)?,
                    Document::Pod(p) => print(out, &crate::pods::name(&p.id), Outcome::Valid)?,
                    Document::Group(g) => {
                        for app in &g.apps {
                            print(out, &name(app), Outcome::Valid)?;
                        }
                        print(out, &crate::groups::name(&g.id), Outcome::Valid)?;
                    }
                }
            }
            return Ok(ExitCode::SUCCESS);
        }
    }

    let mut failed = false;
    let mut changed = Vec::new();
    let mut pods_changed = Vec::new();
    for doc in &docs {
        let (what, origin) = match doc {
            Document::App(app) => (name(&app.id), &app.origin),
            Document::Pod(p) => (crate::pods::name(&p.id), &p.origin),
            Document::Group(g) => (crate::groups::name(&g.id), &g.origin),
        };
        let applied = match doc {
            Document::App(app) => apply_one(client, app, args.force, args.dry_run.is_some())
                .await
                .and_then(|outcome| {
                    print(out, &what, outcome)?;
                    Ok(if outcome == Outcome::Unchanged {
                        Vec::new()
                    } else {
                        vec![(app.id.clone(), Wanted::Deployed)]
                    })
                }),
            Document::Pod(p) => crate::pods::apply::apply(client, p, args.force, args.dry_run.is_some())
                .await
                .and_then(|outcome| {
                    print(out, &what, outcome)?;
                    if outcome != Outcome::Unchanged {
                        pods_changed.push((p.id.clone(), Wanted::Deployed));
                    }
                    Ok(Vec::new())
                }),
            Document::Group(g) => {
                let mode = match args.dry_run {
                    Some(_) => Mode::DryRun,
                    None => Mode::Apply { force: args.force },
                };
                crate::groups::apply::apply(client, g, mode, out).await.map(|w| {
                    pods_changed.extend(w.pods);
                    w.apps
                })
            }
        };
        match applied {
            Ok(waits) => changed.extend(waits),
            // The server refused this document; the others may still be fine.
            Err(e @ (Error::Server { .. } | Error::Response { .. })) => {
                eprintln!("error: {what} ({origin}): {e}");
                if matches!(e, Error::Server { status: 409, .. }) && !args.force {
                    eprintln!("  (--force replaces the deployments that hold it)");
                }
                failed = true;
            }
            Err(e) => return Err(e),
        }
    }
    if let Some(selector) = selector.filter(|_| args.prune) {
        let groups: Vec<&GroupManifest> = docs
            .iter()
            .filter_map(|d| match d {
                Document::Group(g) => Some(g),
                Document::App(_) | Document::Pod(_) => None,
            })
            .collect();
        let keep: BTreeSet<&PathId> = docs
            .iter()
            .filter_map(|d| match d {
                Document::App(a) => Some(&a.id),
                Document::Group(_) | Document::Pod(_) => None,
            })
            .collect();
        let keep_pods: BTreeSet<&PathId> = docs
            .iter()
            .filter_map(|d| match d {
                Document::Pod(p) => Some(&p.id),
                _ => None,
            })
            .collect();
        for id in labelled(client, &selector).await? {
            // A group document decides about every app below it (its PUT removed the others).
            if keep.contains(&id) || groups.iter().any(|g| id.is_within(&g.id)) {
                continue;
            }
            if args.dry_run.is_none() {
                match client.delete(&app_path(&id)).await {
                    Ok(_) => changed.push((id.clone(), Wanted::Deleted)),
                    Err(e @ Error::Server { .. }) => {
                        eprintln!("error: {}: {e}", name(&id));
                        failed = true;
                        continue;
                    }
                    Err(e) => return Err(e),
                }
            }
            print(out, &name(&id), Outcome::Pruned)?;
        }
        // Group documents hold no pods (the groups API refuses them): only pod documents keep one.
        for id in crate::pods::apply::labelled(client, &selector).await? {
            if keep_pods.contains(&id) {
                continue;
            }
            if args.dry_run.is_none() {
                match crate::pods::apply::delete(client, &id, args.force).await {
                    Ok(_) => pods_changed.push((id.clone(), Wanted::Deleted)),
                    Err(e @ Error::Server { .. }) => {
                        eprintln!("error: {}: {e}", crate::pods::name(&id));
                        failed = true;
                        continue;
                    }
                    Err(e) => return Err(e),
                }
            }
            print(out, &crate::pods::name(&id), Outcome::Pruned)?;
        }
    }
    if args.wait && args.dry_run.is_none() && !(changed.is_empty() && pods_changed.is_empty()) {
        let started = Instant::now();
        let deadline = started + args.timeout;
        let mut progress = Progress::on_terminal();
        for (id, wanted) in &changed {
            crate::wait::until(client, id, *wanted, deadline, args.timeout, &mut progress).await?;
        }
        for (id, wanted) in &pods_changed {
            crate::pods::apply::until(client, id, *wanted, deadline, args.timeout, &mut progress).await?;
        }
        let pods = match pods_changed.len() {
            0 => String::new(),
            n => format!(" and {n} pod(s)"),
        };
        eprintln!(
            "{} app(s){pods} rolled out in {:.1}s",
            changed.len(),
            started.elapsed().as_secs_f64()
        );
    }
    Ok(if failed { ExitCode::from(1) } else { ExitCode::SUCCESS })
}

/// Validates every document as the server would (`--dry-run`), printing what is wrong.
fn all_valid(docs: &[Document]) -> bool {
    let mut valid = true;
    for doc in docs {
        let (what, origin, checked) = match doc {
            Document::App(app) => (name(&app.id), &app.origin, validated(&app.id, &app.body).map(drop)),
            Document::Pod(p) => (
                crate::pods::name(&p.id),
                &p.origin,
                crate::pods::manifest::validated(&p.id, &p.body).map(drop),
            ),
            Document::Group(g) => (
                crate::groups::name(&g.id),
                &g.origin,
                crate::groups::plan::desired(g).map(drop),
            ),
        };
        if let Err(errors) = checked {
            eprintln!("error: {what} ({origin}): invalid:\n  {}", errors.join("\n  "));
            valid = false;
        }
    }
    valid
}

fn name(id: &PathId) -> String {
    format!("app{id}")
}

async fn apply_one(client: &Client, app: &Manifest, force: bool, dry_run: bool) -> Result<Outcome> {
    let path = app_path(&app.id);
    let live = match client.get(&path).await {
        Ok(body) => Some(body.get("app").cloned().unwrap_or(Value::Null)),
        Err(e) if e.is_not_found() => None,
        Err(e) => return Err(e),
    };
    if let Some(live) = &live
        && unchanged(&app.id, &app.body, live)
    {
        return Ok(Outcome::Unchanged);
    }
    if dry_run {
        return Ok(if live.is_none() {
            Outcome::Created
        } else {
            Outcome::Configured
        });
    }
    let query = if force {
        "?partialUpdate=false&force=true"
    } else {
        "?partialUpdate=false"
    };
    let reply = client
        .put(&format!("{path}{query}"), &Value::Object(app.body.clone()))
        .await?;
    Ok(if reply.status == 201 || live.is_none() {
        Outcome::Created
    } else {
        Outcome::Configured
    })
}

/// `KEY=VALUE[,...]` (kubectl's spelling) as Marathon's selector `KEY==VALUE[,...]`; terms
/// already in Marathon's syntax (`==`, `!=`, `in`, bare keys) pass unchanged.
pub(crate) fn marathon_selector(s: &str) -> Result<String> {
    let terms: Vec<String> = s
        .split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(|t| match t.split_once('=') {
            Some((k, v)) if !k.ends_with('!') && !v.starts_with('=') => format!("{}=={}", k.trim(), v.trim()),
            _ => t.to_string(),
        })
        .collect();
    if terms.is_empty() {
        return Err(Error::Usage("-l: an empty label selector".into()));
    }
    Ok(terms.join(","))
}

/// The ids of the apps matching a Marathon label selector.
pub(crate) async fn labelled(client: &Client, selector: &str) -> Result<Vec<PathId>> {
    let path = format!("/v2/apps?label={}", encode(selector));
    let body = client.get(&path).await?;
    let apps = body
        .get("apps")
        .and_then(Value::as_array)
        .ok_or_else(|| Error::Response {
            method: "GET",
            path: path.clone(),
            message: "no \"apps\" list".into(),
        })?;
    Ok(apps
        .iter()
        .filter_map(|a| PathId::parse(a.get("id")?.as_str()?).ok())
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selectors_in_marathon_syntax() {
        assert_eq!(marathon_selector("env=prod").unwrap(), "env==prod");
        assert_eq!(marathon_selector("env=prod, team = a").unwrap(), "env==prod,team==a");
        assert_eq!(
            marathon_selector("env==prod,x!=y,owner").unwrap(),
            "env==prod,x!=y,owner"
        );
        assert!(matches!(marathon_selector(" , "), Err(Error::Usage(_))));
    }
}
