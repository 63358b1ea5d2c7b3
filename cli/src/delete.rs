//! `pacer delete app ID` and `pacer delete -f FILE|DIR|-`: remove apps and stop their tasks.

use std::io::Write;
use std::process::ExitCode;

use crate::client::{Client, app_path, field};
use crate::error::{Error, Result};
use crate::manifest::Sources;

/// Delete an app by id, or every app of some manifests; prints the deployment ids.
#[derive(clap::Args, Debug, Clone)]
pub struct DeleteArgs {
    /// What to delete (with an id).
    #[arg(value_enum, requires = "id", conflicts_with = "files")]
    pub kind: Option<DeleteKind>,
    /// Its id, e.g. `/prod/web` (a leading `/` is optional).
    pub id: Option<String>,
    /// Delete the apps these manifests define. Repeatable.
    #[arg(short = 'f', long = "filename", value_name = "FILE|DIR|-")]
    pub files: Vec<std::path::PathBuf>,
    /// Read the manifests in subdirectories too.
    #[arg(short = 'R', long, requires = "files")]
    pub recursive: bool,
}

/// The kinds of resource `delete` knows.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeleteKind {
    #[value(alias = "apps")]
    App,
}

pub(crate) async fn run(client: &Client, args: &DeleteArgs, out: &mut dyn Write) -> Result<ExitCode> {
    if !args.files.is_empty() {
        let sources = Sources {
            files: args.files.clone(),
            recursive: args.recursive,
        };
        let mut failed = false;
        for app in sources.load()? {
            let path = app_path(&app.id);
            match client.delete(&path).await {
                Ok(reply) => {
                    let deployment = field(&reply.body, "deploymentId", "DELETE", &path)?;
                    writeln!(
                        out,
                        "app{} deleted ({})",
                        app.id,
                        deployment.as_str().unwrap_or_default()
                    )
                    .map_err(Error::Output)?;
                }
                Err(e @ Error::Server { .. }) => {
                    eprintln!("error: app{} ({}): {e}", app.id, app.origin);
                    failed = true;
                }
                Err(e) => return Err(e),
            }
        }
        return Ok(if failed { ExitCode::from(1) } else { ExitCode::SUCCESS });
    }
    let (Some(DeleteKind::App), Some(id)) = (args.kind, &args.id) else {
        return Err(Error::Usage(
            "say what to delete: `delete app ID` or `delete -f FILE`".into(),
        ));
    };
    let id = crate::parse_app_id(id)?;
    // Marathon's DELETE /v2/apps/{id} is forced by default: no flag needed.
    let path = app_path(&id);
    let reply = client.delete(&path).await?;
    let deployment = field(&reply.body, "deploymentId", "DELETE", &path)?;
    writeln!(out, "{}", deployment.as_str().unwrap_or_default()).map_err(Error::Output)?;
    Ok(ExitCode::SUCCESS)
}
