//! `pacer diff -f FILE|DIR|- [-R]`: what `apply` would change, as a unified diff per app
//! between the live definition and the manifest, both in Marathon's normal form (defaults
//! filled, deprecated fields folded, read-only and status fields dropped), as YAML. A group
//! document shows its apps the same way, the apps its PUT would remove as removed whole, and
//! groups whose own settings (dependencies, `enforceRole`) change (see `groups::diff`). A pod
//! document is compared with its live pod in the same way (see `pods::apply::pod_diff`).
//!
//! Exit codes follow `diff(1)` and `kubectl diff`: 0 no difference, 1 differences, 2 a local
//! error (files, invalid manifests, usage), 3 a server error.

use std::io::Write;
use std::process::ExitCode;

use serde_json::Value;
use similar::TextDiff;

use crate::client::{Client, app_path};
use crate::compare::{comparable_yaml, unchanged};
use crate::error::{Error, Result};
use crate::manifest::{Document, Manifest, Sources};

/// Show how the manifests differ from the live apps.
#[derive(clap::Args, Debug, Clone)]
pub struct DiffArgs {
    #[command(flatten)]
    pub sources: Sources,
}

/// Runs the diff; every error is turned into exit code 2 or 3 here, since 1 means "differs".
pub(crate) async fn run(client: &Client, args: &DiffArgs, out: &mut dyn Write) -> ExitCode {
    match differs(client, args, out).await {
        Ok(true) => ExitCode::from(1),
        Ok(false) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(if e.exit_code() == 2 { 2 } else { 3 })
        }
    }
}

async fn differs(client: &Client, args: &DiffArgs, out: &mut dyn Write) -> Result<bool> {
    let docs = args.sources.load()?;
    let mut any = false;
    for doc in &docs {
        let text = match doc {
            Document::App(app) => {
                let live = match client.get(&app_path(&app.id)).await {
                    Ok(body) => Some(body.get("app").cloned().unwrap_or(Value::Null)),
                    Err(e) if e.is_not_found() => None,
                    Err(e) => return Err(e),
                };
                app_diff(app, live.as_ref())?
            }
            Document::Pod(p) => {
                let live = crate::pods::live(client, &p.id).await?;
                crate::pods::apply::pod_diff(p, live.as_ref())?
            }
            Document::Group(g) => {
                let live = crate::groups::apply::live(client, &g.id).await?;
                crate::groups::diff::group_diff(g, live.as_ref())?
            }
        };
        if let Some(text) = text {
            out.write_all(text.as_bytes()).map_err(Error::Output)?;
            any = true;
        }
    }
    Ok(any)
}

/// The unified diff of one app, or `None` when applying it would change nothing.
pub(crate) fn app_diff(app: &Manifest, live: Option<&Value>) -> Result<Option<String>> {
    if live.is_some_and(|l| unchanged(&app.id, &app.body, l)) {
        return Ok(None);
    }
    let (have, want) = comparable_yaml(&app.id, &app.body, live).map_err(|errors| Error::Manifest {
        origin: app.origin.clone(),
        message: format!("invalid app {}:\n  {}", app.id, errors.join("\n  ")),
    })?;
    let name = format!("app{}", app.id);
    let old = if live.is_some() {
        format!("live/{name}")
    } else {
        "/dev/null".into()
    };
    Ok(Some(unified(&have, &want, &old, &format!("manifest/{name}"))))
}

/// The unified diff of two texts under the names given.
pub(crate) fn unified(old: &str, new: &str, old_name: &str, new_name: &str) -> String {
    let text = TextDiff::from_lines(old, new)
        .unified_diff()
        .context_radius(3)
        .header(old_name, new_name)
        .to_string();
    // Equal texts yet a changed spec (numbers written differently, say): still say so.
    if text.is_empty() {
        format!("--- {old_name}\n+++ {new_name}\n(the definitions differ in form only)\n")
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use schemas::PathId;
    use serde_json::json;

    use super::*;

    fn manifest(body: Value) -> Manifest {
        Manifest {
            origin: "test".into(),
            id: PathId::parse("/web").unwrap(),
            body: body.as_object().cloned().unwrap(),
        }
    }

    fn live() -> Value {
        json!({"id": "/web", "cmd": "sleep 1", "instances": 2, "cpus": 0.1, "mem": 32.0, "version": "2024-01-01T00:00:00.000Z",
               "portDefinitions": [{"port": 10001, "protocol": "tcp", "name": "default"}],
               "tasksRunning": 2, "deployments": [], "generation": 5})
    }

    #[test]
    fn same_spec_has_no_diff() {
        let m = manifest(json!({"id": "web", "cmd": "sleep 1", "instances": 2, "cpus": 0.1, "mem": 32}));
        assert_eq!(app_diff(&m, Some(&live())).unwrap(), None);
    }

    #[test]
    fn changes_are_unified_hunks() {
        let m = manifest(json!({"id": "web", "cmd": "sleep 2", "instances": 2, "cpus": 0.1, "mem": 32}));
        let text = app_diff(&m, Some(&live())).unwrap().unwrap();
        assert!(text.starts_with("--- live/app/web\n+++ manifest/app/web\n@@"), "{text}");
        assert!(text.contains("\n-cmd: sleep 1\n+cmd: sleep 2\n"), "{text}");
        let changed = text
            .lines()
            .filter(|l| l.starts_with(['+', '-']) && !l.starts_with("+++") && !l.starts_with("---"));
        assert_eq!(changed.count(), 2, "{text}");
    }

    #[test]
    fn new_apps_and_invalid_manifests() {
        let m = manifest(json!({"id": "web", "cmd": "sleep 2"}));
        let text = app_diff(&m, None).unwrap().unwrap();
        assert!(text.starts_with("--- /dev/null\n+++ manifest/app/web\n"), "{text}");
        assert!(text.contains("+cmd: sleep 2"));
        let bad = manifest(json!({"id": "web", "cmd": "x", "mem": -5}));
        let err = app_diff(&bad, None).unwrap_err();
        assert_eq!(err.exit_code(), 2);
        assert!(err.to_string().contains("/mem"), "{err}");
    }
}
