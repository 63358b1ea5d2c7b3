//! The pacer command line client: declarative apply and diff of apps, pods and groups, reading,
//! watching and following them, rollouts, waiting and logs.
//!
//! The `pacer` binary mounts [`Command`] next to its `server` command and [`GlobalArgs`] as
//! global flags, then calls [`run`]:
//!
//! ```text
//! pacer apply -f FILE|DIR|- [-R] [--dry-run[=client|server]] [--prune -l K=V] [--wait] [--timeout D]
//! pacer diff -f FILE|DIR|- [-R]                 unified diff of live and manifest specs
//! pacer get apps|pods|groups|tasks|deployments|queue [ID] [-o table|wide|json|yaml|name] [-l K=V] [-w]
//! pacer describe app|pod|group ID
//! pacer watch [--app ID] [--type T] [-o text|json]
//! pacer rollout status|history|undo APP|pod/ID|group/ID [--to-version V]
//! pacer restart APP | scale APP|pod/ID N | delete app|pod|group ID [--force] | delete -f FILE
//! pacer wait --for=deployed|healthy|deleted APP [--timeout D]
//! pacer logs APP [--task ID] [-f] [--stderr]
//! pacer schema app|pod|group | completions bash|zsh|fish|...
//! ```
//!
//! Data goes to stdout, messages and errors to stderr.
//!
//! # Exit codes
//! - `0`: everything asked for was done (for `diff`: no differences).
//! - `1`: the server refused (an error status, e.g. 404 not found, 409 locked, 422 invalid),
//!   could not be reached, answered something unexpected, or a wait timed out. A 409 lists the
//!   deployments that hold the app or group. `apply` and `delete -f` go on with the other
//!   documents after a refusal and exit 1 at the end. For `diff`: there are differences.
//! - `2`: a usage error or a file error (unreadable, not JSON/YAML, not an app, pod or group,
//!   documents that overlap such as an app inside a group
//!   document or a pod with an app's id): nothing was sent. clap's
//!   own usage errors also exit 2.
//! - `3`: `diff` only: the server refused or could not be reached.

mod apply;
mod client;
mod cluster;
mod compare;
mod delete;
mod describe;
mod diff;
mod error;
mod get;
mod groups;
mod logs;
mod manifest;
mod pods;
mod rollout;
mod scale;
mod sse;
mod table;
mod wait;
mod watch;

use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

pub use apply::{ApplyArgs, DryRun};
pub use delete::{DeleteArgs, DeleteKind};
pub use describe::{DescribeArgs, DescribeKind};
pub use diff::DiffArgs;
pub use error::{Error, Result, ServerError};
pub use get::{Format, GetArgs, Resource};
pub use logs::LogsArgs;
pub use manifest::Sources;
pub use rollout::{RestartArgs, RolloutAction, RolloutArgs};
pub use scale::ScaleArgs;
pub use wait::{WaitArgs, Wanted, parse_duration};
pub use watch::{WatchArgs, WatchFormat};

/// Flags shared by every client command.
#[derive(clap::Args, Debug, Clone)]
pub struct GlobalArgs {
    /// The Pacer (or Marathon) server; several, comma-separated, are tried in order.
    #[arg(long, global = true, env = "PACER_SERVER", default_value = "http://127.0.0.1:8080")]
    pub server: String,
    /// User for HTTP basic authentication.
    #[arg(long, global = true, env = "PACER_USER")]
    pub user: Option<String>,
    /// Password for HTTP basic authentication.
    #[arg(long, global = true, env = "PACER_PASSWORD", hide_env_values = true)]
    pub password: Option<String>,
    /// PEM file of the CA that signed the servers' certificates (for https:// servers).
    #[arg(long, global = true, env = "PACER_CA_CERT", value_name = "FILE")]
    pub ca_cert: Option<std::path::PathBuf>,
    /// Seconds to wait for each HTTP request before giving up.
    #[arg(long, global = true, value_name = "SECONDS", default_value_t = 30)]
    pub request_timeout: u64,
}

/// The client commands.
#[derive(clap::Subcommand, Debug)]
pub enum Command {
    /// Create or update apps, pods and groups from JSON or YAML manifests; prune the ones no longer there.
    Apply(ApplyArgs),
    /// Show how the manifests differ from the live apps and pods (exit 1 when they do).
    Diff(DiffArgs),
    /// Show apps, pods, groups, tasks, deployments or the launch queue.
    Get(GetArgs),
    /// Show everything about an app (status, instances, deployments, failures, events), a pod
    /// (containers, status, instances and their containers' states, deployments) or a group
    /// (dependencies, apps, subgroups, deployments).
    Describe(DescribeArgs),
    /// Follow the server's event stream.
    Watch(WatchArgs),
    /// Follow, list or undo an app's, a pod's or a group's rollouts.
    Rollout(RolloutArgs),
    /// Restart every instance of an app.
    Restart(RestartArgs),
    /// Set the number of instances of an app or a pod.
    Scale(ScaleArgs),
    /// Wait until an app, a pod or a group is deployed, healthy or deleted.
    Wait(WaitArgs),
    /// Delete an app, a pod or a group, or the apps, pods and groups of some manifests.
    Delete(DeleteArgs),
    /// Print what a task of an app wrote.
    Logs(LogsArgs),
    /// Show the cluster of Pacer servers, or add or remove a member.
    Cluster(cluster::ClusterArgs),
    /// Print the JSON Schema of a manifest kind, for editors and linters.
    Schema {
        #[arg(value_enum)]
        kind: SchemaKind,
    },
    /// Print a shell completion script.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum SchemaKind {
    App,
    Pod,
    Group,
}

/// Runs one client command against `global.server`; `top` is the whole command line
/// definition (`completions` describes it).
///
/// `Ok` carries the exit code when the command ran to its end (1 if `apply` had refusals,
/// already printed); `Err` is the failure that stopped it: print it and exit with
/// [`Error::exit_code`], which [`Error::report`] does in one call.
pub async fn run(global: GlobalArgs, cmd: Command, mut top: clap::Command) -> Result<ExitCode, Error> {
    let mut out = std::io::stdout().lock();
    match &cmd {
        Command::Schema { kind } => return schema(*kind, &mut out),
        Command::Completions { shell } => {
            let name = top.get_name().to_string();
            clap_complete::generate(*shell, &mut top, name, &mut out);
            return Ok(ExitCode::SUCCESS);
        }
        _ => {}
    }
    let client = client::Client::new(&client::ClientConfig {
        servers: global.server.clone(),
        user: global.user.clone(),
        password: global.password.clone(),
        ca_cert: global.ca_cert.clone(),
        timeout: Duration::from_secs(global.request_timeout),
    })?;
    match &cmd {
        Command::Apply(args) => apply::run(&client, args, &mut out).await,
        Command::Diff(args) => Ok(diff::run(&client, args, &mut out).await),
        Command::Get(args) => get::run(&client, args, &mut out).await,
        Command::Describe(args) => describe::run(&client, args, &mut out).await,
        Command::Watch(args) => watch::run(&client, args, &mut out).await,
        Command::Rollout(args) => rollout::run(&client, args, &mut out).await,
        Command::Restart(args) => rollout::restart(&client, args, &mut out).await,
        Command::Scale(args) => scale::run(&client, args, &mut out).await,
        Command::Wait(args) => wait::run(&client, args, &mut out).await,
        Command::Delete(args) => delete::run(&client, args, &mut out).await,
        Command::Logs(args) => logs::run(&client, args, &mut out).await,
        Command::Cluster(args) => cluster::run(&client, args, &mut out).await,
        Command::Schema { .. } | Command::Completions { .. } => Ok(ExitCode::SUCCESS),
    }
}

fn schema(kind: SchemaKind, out: &mut dyn Write) -> Result<ExitCode> {
    let schema = match kind {
        SchemaKind::App => schemas::app_json_schema(),
        SchemaKind::Pod => schemas::pod_json_schema(),
        SchemaKind::Group => schemas::group_json_schema(),
    };
    let text = serde_json::to_string_pretty(&schema).map_err(|e| Error::Output(e.into()))?;
    writeln!(out, "{text}").map_err(Error::Output)?;
    Ok(ExitCode::SUCCESS)
}

/// An app id from the command line: absolute or relative to the root group.
fn parse_app_id(raw: &str) -> Result<schemas::PathId> {
    let id = schemas::PathId::parse(raw).map_err(|e| Error::Usage(e.to_string()))?;
    if id.is_root() {
        return Err(Error::Usage(format!("'{raw}' does not name an app")));
    }
    Ok(id)
}

#[cfg(test)]
mod tests;
