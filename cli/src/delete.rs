//! `pacer delete app|pod|group ID` and `pacer delete -f FILE|DIR|-`: remove apps, pods, or
//! groups with everything below them, and stop their tasks.

use std::io::Write;
use std::process::ExitCode;

use crate::client::{Client, app_path, field};
use crate::error::{Error, Result};
use crate::groups::{group_path, parse_group_id};
use crate::manifest::{Document, Sources};

/// Delete an app, pod or group by id, or every app, pod and group of some manifests; prints
/// the deployment ids.
#[derive(clap::Args, Debug, Clone)]
pub struct DeleteArgs {
    /// What to delete (with an id).
    #[arg(value_enum, requires = "id", conflicts_with = "files")]
    pub kind: Option<DeleteKind>,
    /// Its id, e.g. `/prod/web` (a leading `/` is optional).
    pub id: Option<String>,
    /// Delete the apps, pods and groups these manifests define. Repeatable.
    #[arg(short = 'f', long = "filename", value_name = "FILE|DIR|-")]
    pub files: Vec<std::path::PathBuf>,
    /// Read the manifests in subdirectories too.
    #[arg(short = 'R', long, requires = "files")]
    pub recursive: bool,
    /// Delete even while a deployment holds the pod or group (`?force=true`); app deletes
    /// are always forced.
    #[arg(long)]
    pub force: bool,
}

/// The kinds of resource `delete` knows.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeleteKind {
    #[value(alias = "apps")]
    App,
    #[value(alias = "pods")]
    Pod,
    #[value(alias = "groups")]
    Group,
}

pub(crate) async fn run(client: &Client, args: &DeleteArgs, out: &mut dyn Write) -> Result<ExitCode> {
    if !args.files.is_empty() {
        let sources = Sources {
            files: args.files.clone(),
            recursive: args.recursive,
        };
        let docs = sources.load()?;
        for doc in &docs {
            if let Document::Group(g) = doc {
                not_root(&g.id)?;
            }
        }
        let mut failed = false;
        for doc in docs {
            let (name, origin, path) = match &doc {
                Document::App(app) => (format!("app{}", app.id), app.origin.clone(), app_path(&app.id)),
                Document::Pod(p) => (crate::pods::name(&p.id), p.origin.clone(), crate::pods::pod_path(&p.id)),
                Document::Group(g) => (crate::groups::name(&g.id), g.origin.clone(), group_path(&g.id)),
            };
            let path = format!("{path}{}", force(args.force));
            match client.delete(&path).await {
                Ok(reply) => {
                    let deployment = field(&reply.body, "deploymentId", "DELETE", &path)?;
                    writeln!(out, "{name} deleted ({})", deployment.as_str().unwrap_or_default())
                        .map_err(Error::Output)?;
                }
                Err(e @ Error::Server { .. }) => {
                    eprintln!("error: {name} ({origin}): {e}");
                    failed = true;
                }
                Err(e) => return Err(e),
            }
        }
        return Ok(if failed { ExitCode::from(1) } else { ExitCode::SUCCESS });
    }
    // Marathon's DELETE /v2/apps/{id} is forced by default; a group's DELETE is not.
    let path = match (args.kind, &args.id) {
        (Some(DeleteKind::App), Some(id)) => app_path(&crate::parse_app_id(id)?),
        (Some(DeleteKind::Pod), Some(id)) => crate::pods::pod_path(&crate::pods::parse_pod_id(id)?),
        (Some(DeleteKind::Group), Some(id)) => group_path(&not_root(&parse_group_id(id)?)?),
        _ => {
            return Err(Error::Usage(
                "say what to delete: `delete app|pod|group ID` or `delete -f FILE`".into(),
            ));
        }
    };
    let path = format!("{path}{}", force(args.force));
    let reply = client.delete(&path).await?;
    let deployment = field(&reply.body, "deploymentId", "DELETE", &path)?;
    writeln!(out, "{}", deployment.as_str().unwrap_or_default()).map_err(Error::Output)?;
    Ok(ExitCode::SUCCESS)
}

fn force(on: bool) -> &'static str {
    if on { "?force=true" } else { "" }
}

/// The root group holds every app: deleting it is never what a `delete group` means.
fn not_root(id: &schemas::PathId) -> Result<schemas::PathId> {
    if id.is_root() {
        return Err(Error::Usage(
            "refusing to delete the root group: it holds every app".into(),
        ));
    }
    Ok(id.clone())
}
