//! The pacer command line client: apply, get, scale, delete.
//!
//! The `pacer` binary mounts [`Command`] next to its `server` command and [`GlobalArgs`] as
//! global flags, then calls [`run`]:
//!
//! ```text
//! pacer apply -f app.yaml -f apps/ -f -        create or replace apps (JSON/YAML, dirs, stdin)
//! pacer get apps|tasks|deployments [ID] [-o table|json|yaml]
//! pacer scale APP N                            prints the deployment id
//! pacer delete app ID                          prints the deployment id
//! ```
//!
//! Data goes to stdout, messages and errors to stderr.
//!
//! # Exit codes
//! - `0`: everything asked for was done.
//! - `1`: the server refused (an error status, e.g. 404 not found, 409 locked, 422 invalid),
//!   could not be reached, or answered something unexpected. `apply` goes on with the other
//!   apps after a refusal and exits 1 at the end.
//! - `2`: a usage error or a file error (unreadable, not JSON/YAML, not an app): nothing was
//!   sent. clap's own usage errors also exit 2.

mod apply;
mod client;
mod compare;
mod delete;
mod error;
mod get;
mod manifest;
mod scale;
mod table;

use std::process::ExitCode;
use std::time::Duration;

pub use apply::ApplyArgs;
pub use delete::{DeleteArgs, DeleteKind};
pub use error::{Error, Result, ServerError};
pub use get::{Format, GetArgs, Resource};
pub use scale::ScaleArgs;

/// Flags shared by every client command.
#[derive(clap::Args, Debug, Clone)]
pub struct GlobalArgs {
    /// The Pacer (or Marathon) server to talk to.
    #[arg(long, global = true, env = "PACER_SERVER", default_value = "http://127.0.0.1:8080")]
    pub server: String,
    /// Seconds to wait for each HTTP request before giving up.
    #[arg(long, global = true, value_name = "SECONDS", default_value_t = 30)]
    pub request_timeout: u64,
}

/// The client commands.
#[derive(clap::Subcommand, Debug)]
pub enum Command {
    /// Create or replace apps from JSON or YAML manifests.
    Apply(ApplyArgs),
    /// Show apps, tasks or deployments.
    Get(GetArgs),
    /// Set the number of instances of an app.
    Scale(ScaleArgs),
    /// Delete an app.
    Delete(DeleteArgs),
}

/// Runs one client command against `global.server`.
///
/// `Ok` carries the exit code when the command ran to its end (1 if `apply` had refusals,
/// already printed); `Err` is the failure that stopped it: print it and exit with
/// [`Error::exit_code`], which [`Error::report`] does in one call.
pub async fn run(global: GlobalArgs, cmd: Command) -> Result<ExitCode, Error> {
    let client = client::Client::new(&global.server, Duration::from_secs(global.request_timeout))?;
    let mut out = std::io::stdout().lock();
    match &cmd {
        Command::Apply(args) => apply::run(&client, args, &mut out).await,
        Command::Get(args) => get::run(&client, args, &mut out).await,
        Command::Scale(args) => scale::run(&client, args, &mut out).await,
        Command::Delete(args) => delete::run(&client, args, &mut out).await,
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
        assert_eq!(args.files, ["a.json", "dir", "-"].map(std::path::PathBuf::from));
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
        assert_eq!((args.kind, args.id.as_str()), (DeleteKind::App, "/x"));
    }

    #[test]
    fn server_url_and_ids_are_checked_before_sending() {
        assert!(matches!(
            client::Client::new("not a url", Duration::from_secs(1)),
            Err(Error::Usage(_))
        ));
        assert!(matches!(
            client::Client::new("https://h:1", Duration::from_secs(1)),
            Err(Error::Usage(_))
        ));
        assert_eq!(parse_app_id("a/b").unwrap().as_str(), "/a/b");
        assert!(matches!(parse_app_id("/"), Err(Error::Usage(_))));
        assert!(matches!(parse_app_id(".."), Err(Error::Usage(_))));
        assert_eq!(client::app_path(&parse_app_id("/a/b").unwrap()), "/v2/apps/a/b");
    }
}
