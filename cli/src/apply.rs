//! `pacer apply -f FILE|DIR|-`: create or replace apps from manifests, skipping unchanged ones.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use serde_json::Value;

use crate::client::{Client, app_path};
use crate::compare::unchanged;
use crate::error::{Error, Result};
use crate::manifest::{self, Manifest};

/// Create or replace apps declaratively.
#[derive(clap::Args, Debug, Clone)]
pub struct ApplyArgs {
    /// A manifest file (JSON or YAML), a directory of them, or `-` for stdin. Repeatable.
    #[arg(short = 'f', long = "filename", value_name = "FILE|DIR|-", required = true)]
    pub files: Vec<PathBuf>,
    /// Replace apps even while a deployment holds them (`?force=true`).
    #[arg(long)]
    pub force: bool,
}

/// What happened to one app.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Created,
    Configured,
    Unchanged,
}

impl Outcome {
    fn as_str(self) -> &'static str {
        match self {
            Outcome::Created => "created",
            Outcome::Configured => "configured",
            Outcome::Unchanged => "unchanged",
        }
    }
}

pub(crate) async fn run(client: &Client, args: &ApplyArgs, out: &mut dyn Write) -> Result<ExitCode> {
    // Every file is read and parsed before anything is sent: a typo in the third file must not
    // leave the first two applied.
    let apps = manifest::load(&args.files, &mut std::io::stdin().lock())?;
    let mut failed = false;
    for app in &apps {
        let name = format!("app/{}", app.id.as_str().trim_start_matches('/'));
        match apply_one(client, app, args.force).await {
            Ok(outcome) => writeln!(out, "{name} {}", outcome.as_str()).map_err(Error::Output)?,
            // The server refused this app; the others may still be fine.
            Err(e @ (Error::Server { .. } | Error::Response { .. })) => {
                eprintln!("error: {name} ({}): {e}", app.origin);
                failed = true;
            }
            Err(e) => return Err(e),
        }
    }
    Ok(if failed { ExitCode::from(1) } else { ExitCode::SUCCESS })
}

async fn apply_one(client: &Client, app: &Manifest, force: bool) -> Result<Outcome> {
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
