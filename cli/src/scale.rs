//! `pacer scale APP|app/APP|pod/POD N`: change an app's or a pod's instance count, nothing
//! else.

use std::io::Write;
use std::process::ExitCode;

use serde_json::json;

use crate::client::{Client, app_path, field};
use crate::error::{Error, Result};

/// Set the number of instances of an app or pod; prints the deployment id.
#[derive(clap::Args, Debug, Clone)]
pub struct ScaleArgs {
    /// The app id, e.g. `/prod/web` (a leading `/` is optional), `app/ID`, or `pod/ID`.
    pub app: String,
    /// The number of instances wanted.
    pub instances: u32,
    /// Scale even while a deployment holds the app (`?force=true`).
    #[arg(long)]
    pub force: bool,
}

pub(crate) async fn run(client: &Client, args: &ScaleArgs, out: &mut dyn Write) -> Result<ExitCode> {
    if let Some(raw) = crate::pods::as_pod(&args.app) {
        let id = crate::pods::parse_pod_id(raw)?;
        let deployment = crate::pods::rollout::scale(client, &id, args.instances, args.force).await?;
        writeln!(out, "{deployment}").map_err(Error::Output)?;
        return Ok(ExitCode::SUCCESS);
    }
    let id = crate::parse_app_id(args.app.strip_prefix("app/").unwrap_or(&args.app))?;
    // A PUT without partialUpdate=false merges: only `instances` changes.
    let path = format!("{}{}", app_path(&id), if args.force { "?force=true" } else { "" });
    let reply = client.put(&path, &json!({ "instances": args.instances })).await?;
    let deployment = field(&reply.body, "deploymentId", "PUT", &path)?;
    writeln!(out, "{}", deployment.as_str().unwrap_or_default()).map_err(Error::Output)?;
    Ok(ExitCode::SUCCESS)
}
