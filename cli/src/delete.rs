//! `pacer delete app ID`: remove an app and stop its tasks.

use std::io::Write;
use std::process::ExitCode;

use crate::client::{Client, app_path, field};
use crate::error::{Error, Result};

/// Delete a resource; prints the id of the deployment that stops its tasks.
#[derive(clap::Args, Debug, Clone)]
pub struct DeleteArgs {
    /// What to delete.
    #[arg(value_enum)]
    pub kind: DeleteKind,
    /// Its id, e.g. `/prod/web` (a leading `/` is optional).
    pub id: String,
}

/// The kinds of resource `delete` knows.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeleteKind {
    #[value(alias = "apps")]
    App,
}

pub(crate) async fn run(client: &Client, args: &DeleteArgs, out: &mut dyn Write) -> Result<ExitCode> {
    match args.kind {
        DeleteKind::App => {
            let id = crate::parse_app_id(&args.id)?;
            // Marathon's DELETE /v2/apps/{id} is forced by default: no flag needed.
            let path = app_path(&id);
            let reply = client.delete(&path).await?;
            let deployment = field(&reply.body, "deploymentId", "DELETE", &path)?;
            writeln!(out, "{}", deployment.as_str().unwrap_or_default()).map_err(Error::Output)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
