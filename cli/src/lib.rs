//! The pacer command line client: declarative apply and diff of apps and groups, reading,
//! watching and following them, rollouts, waiting and logs.
//!
//! The `pacer` binary mounts [`Command`] next to its `server` command and [`GlobalArgs`] as
//! global flags, then calls [`run`]:
//!
//! ```text
//! pacer apply -f FILE|DIR|- [-R] [--dry-run[=client|server]] [--prune -l K=V] [--wait] [--timeout D]
//! pacer diff -f FILE|DIR|- [-R]                 unified diff of live and manifest specs
//! pacer get apps|groups|tasks|deployments|queue [ID] [-o table|wide|json|yaml|name] [-l K=V] [-w]
//! pacer describe app|group ID
//! pacer watch [--app ID] [--type T] [-o text|json]
//! pacer rollout status|history|undo APP|group/ID [--to-version V]
//! pacer restart APP | scale APP N | delete app|group ID [--force] | delete -f FILE
//! pacer wait --for=deployed|healthy|deleted APP [--timeout D]
//! pacer logs APP [--task ID] [-f] [--stderr]
//! pacer schema app | completions bash|zsh|fish|...
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
//! - `2`: a usage error or a file error (unreadable, not JSON/YAML, not an app or group, a pod,
//!   documents that overlap such as an app inside a group document): nothing was sent. clap's
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
    /// Create or update apps and groups from JSON or YAML manifests; prune the ones no longer there.
    Apply(ApplyArgs),
    /// Show how the manifests differ from the live apps (exit 1 when they do).
    Diff(DiffArgs),
    /// Show apps, groups, tasks, deployments or the launch queue.
    Get(GetArgs),
    /// Show everything about an app (status, instances, deployments, failures, events) or a
    /// group (dependencies, apps, subgroups, deployments).
    Describe(DescribeArgs),
    /// Follow the server's event stream.
    Watch(WatchArgs),
    /// Follow, list or undo an app's or a group's rollouts.
    Rollout(RolloutArgs),
    /// Restart every instance of an app.
    Restart(RestartArgs),
    /// Set the number of instances of an app.
    Scale(ScaleArgs),
    /// Wait until an app is deployed, healthy or deleted.
    Wait(WaitArgs),
    /// Delete an app or a group, or the apps and groups of some manifests.
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
    match kind {
        SchemaKind::App => {
            let text =
                serde_json::to_string_pretty(&schemas::app_json_schema()).map_err(|e| Error::Output(e.into()))?;
            writeln!(out, "{text}").map_err(Error::Output)?;
            Ok(ExitCode::SUCCESS)
        }
        SchemaKind::Pod => Err(Error::Usage(
            "pods are not supported by Pacer yet: only `schema app` exists".into(),
        )),
        // Groups are applied, but their schema would only wrap the app's: not written yet.
        SchemaKind::Group => Err(Error::Usage(
            "there is no JSON Schema for groups yet: only `schema app` exists (a group's apps follow it)".into(),
        )),
    }
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
mod tests {
    use clap::Parser;

    use super::*;

    /// The shape the `pacer` binary gives these commands.
    #[derive(Parser, Debug)]
    struct Cli {
        #[command(flatten)]
        global: GlobalArgs,
        #[command(subcommand)]
        cmd: Command,
    }

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("pacer").chain(args.iter().copied()))
    }

    #[test]
    fn apply_takes_repeated_files_and_global_flags_anywhere() {
        let cli = parse(&[
            "apply",
            "-f",
            "a.json",
            "--filename",
            "dir",
            "-f",
            "-",
            "--server",
            "http://h:1",
        ])
        .unwrap();
        let Command::Apply(args) = cli.cmd else {
            panic!("not apply")
        };
        assert_eq!(args.sources.files, ["a.json", "dir", "-"].map(std::path::PathBuf::from));
        assert!(!args.sources.recursive && args.dry_run.is_none() && !args.prune);
        assert_eq!(cli.global.server, "http://h:1");
        assert!(parse(&["apply"]).is_err(), "-f is required");
    }

    #[test]
    fn get_resources_ids_and_formats() {
        let cli = parse(&["get", "app", "/hello", "-o", "yaml"]).unwrap();
        let Command::Get(args) = cli.cmd else { panic!("not get") };
        assert_eq!(
            (args.resource, args.id.as_deref(), args.output),
            (Resource::Apps, Some("/hello"), Format::Yaml)
        );
        let Command::Get(args) = parse(&["get", "deployments"]).unwrap().cmd else {
            panic!("not get")
        };
        assert_eq!(
            (args.resource, args.id, args.output),
            (Resource::Deployments, None, Format::Table)
        );
        assert!(parse(&["get", "pods"]).is_err());
        let Command::Get(args) = parse(&["get", "queue", "-o", "name", "-w"]).unwrap().cmd else {
            panic!("not get")
        };
        assert_eq!(
            (args.resource, args.output, args.watch),
            (Resource::Queue, Format::Name, true)
        );
        assert!(parse(&["get", "apps", "-o", "xml"]).is_err());
    }

    #[test]
    fn scale_and_delete() {
        let Command::Scale(args) = parse(&["scale", "hello", "3"]).unwrap().cmd else {
            panic!("not scale")
        };
        assert_eq!((args.app.as_str(), args.instances, args.force), ("hello", 3, false));
        assert!(parse(&["scale", "hello", "-1"]).is_err());
        let Command::Delete(args) = parse(&["delete", "app", "/x"]).unwrap().cmd else {
            panic!("not delete")
        };
        assert_eq!((args.kind, args.id.as_deref()), (Some(DeleteKind::App), Some("/x")));
        let Command::Delete(args) = parse(&["delete", "-f", "apps/", "-R"]).unwrap().cmd else {
            panic!("not delete")
        };
        assert_eq!((args.kind, args.files.len(), args.recursive), (None, 1, true));
        assert!(parse(&["delete", "app"]).is_err(), "an id is needed");
    }

    #[test]
    fn group_commands() {
        let Command::Get(args) = parse(&["get", "group", "/shop", "-o", "wide"]).unwrap().cmd else {
            panic!("not get")
        };
        assert_eq!((args.resource, args.output), (Resource::Groups, Format::Wide));
        let Command::Describe(args) = parse(&["describe", "group", "shop"]).unwrap().cmd else {
            panic!("not describe")
        };
        assert_eq!(args.kind, DescribeKind::Group);
        let Command::Delete(args) = parse(&["delete", "group", "/shop", "--force"]).unwrap().cmd else {
            panic!("not delete")
        };
        assert_eq!((args.kind, args.force), (Some(DeleteKind::Group), true));
    }

    #[test]
    fn apply_flags() {
        let Command::Apply(args) = parse(&[
            "apply",
            "-f",
            "d",
            "-R",
            "--dry-run",
            "--prune",
            "-l",
            "env=prod",
            "--wait",
            "--timeout",
            "2m",
        ])
        .unwrap()
        .cmd
        else {
            panic!("not apply")
        };
        assert!(args.sources.recursive && args.prune && args.wait);
        assert_eq!(args.dry_run, Some(DryRun::Client));
        assert_eq!(args.selector.as_deref(), Some("env=prod"));
        assert_eq!(args.timeout, Duration::from_secs(120));
        let Command::Apply(args) = parse(&["apply", "-f", "d", "--dry-run=server"]).unwrap().cmd else {
            panic!("not apply")
        };
        assert_eq!(args.dry_run, Some(DryRun::Server));
        assert!(parse(&["apply", "-f", "d", "--prune"]).is_err(), "--prune needs -l");
    }

    #[test]
    fn rollout_wait_logs_watch() {
        let Command::Rollout(r) = parse(&["rollout", "undo", "web", "--to-version", "2"]).unwrap().cmd else {
            panic!("not rollout")
        };
        assert!(
            matches!(r.action, RolloutAction::Undo { ref app, ref to_version, .. } if app == "web" && to_version.as_deref() == Some("2"))
        );
        let Command::Wait(w) = parse(&["wait", "--for=healthy", "web", "--timeout", "10s"])
            .unwrap()
            .cmd
        else {
            panic!("not wait")
        };
        assert_eq!((w.wanted, w.timeout), (Wanted::Healthy, Duration::from_secs(10)));
        assert!(parse(&["wait", "web"]).is_err(), "--for is needed");
        let Command::Logs(l) = parse(&["logs", "web", "-f", "--stderr"]).unwrap().cmd else {
            panic!("not logs")
        };
        assert!(l.follow && l.stderr && l.task.is_none());
        let Command::Watch(w) = parse(&["watch", "--type", "a", "--type", "b", "-o", "json"])
            .unwrap()
            .cmd
        else {
            panic!("not watch")
        };
        assert_eq!((w.types.len(), w.output), (2, WatchFormat::Json));
        let cli = parse(&[
            "get",
            "apps",
            "--server",
            "http://a:1,http://b:2",
            "--user",
            "u",
            "--password",
            "p",
        ])
        .unwrap();
        assert_eq!(
            (cli.global.user.as_deref(), cli.global.password.as_deref()),
            (Some("u"), Some("p"))
        );
    }

    #[test]
    fn schema_prints_the_app_schema() {
        let mut out = Vec::new();
        schema(SchemaKind::App, &mut out).unwrap();
        let printed: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(printed, schemas::app_json_schema());
        assert!(matches!(schema(SchemaKind::Pod, &mut out), Err(Error::Usage(_))));
    }

    #[test]
    fn ids_are_checked_before_sending() {
        assert_eq!(parse_app_id("a/b").unwrap().as_str(), "/a/b");
        assert!(matches!(parse_app_id("/"), Err(Error::Usage(_))));
        assert!(matches!(parse_app_id(".."), Err(Error::Usage(_))));
        assert_eq!(client::app_path(&parse_app_id("/a/b").unwrap()), "/v2/apps/a/b");
    }
}
