//! `pacer scale APP N`: change an app's instance count, nothing else.

use std::io::Write;
use std::process::ExitCode;

use serde_json::json;

use crate::client::{Client, app_path, field};
use crate::error::{Error, Result};

/// Set the number of instances of an app; prints the deployment id.
#[derive(clap::Args, Debug, Clone)]
pub struct ScaleArgs {
    /// The app id, e.g. `/prod/web` (a leading `/` is optional).
    pub app: String,
    /// The number of instances wanted.
    pub instances: u32,
    /// Scale even while a deployment holds the app (`?force=true`).
    #[arg(long)]
    pub force: bool,
}

pub(crate) async fn run(client: &Client, args: &ScaleArgs, out: &mut dyn Write) -> Result<ExitCode> {
    let id = crate::parse_app_id(&args.app)?;
    // A PUT without partialUpdate=false merges: only `instances` changes.
    let path = format!("{}{}", app_path(&id), if args.force { "?force=true" } else { "" });
    let reply = client.put(&path, &json!({ "instances": args.instances })).await?;
    let deployment = field(&reply.body, "deploymentId", "PUT", &path)?;
    writeln!(out, "{}", deployment.as_str().unwrap_or_default()).map_err(Error::Output)?;
    Ok(ExitCode::SUCCESS)
}
