//! `pacer`: the server (`pacer server`) and the client commands (`pacer apply`, `get`, ...).

mod agents_file;
mod local_master;
mod server;

use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "pacer",
    version,
    about = "Run long-running services on Mesos, the Marathon way"
)]
struct Cli {
    #[command(flatten)]
    global: cli::GlobalArgs,
    #[command(subcommand)]
    command: Top,
}

#[derive(Subcommand)]
enum Top {
    /// Run a Pacer server (with an embedded local Mesos master and agent by default).
    Server(Box<server::ServerArgs>),
    /// Run only the embedded Mesos master and agent, serving Mesos's v1 scheduler HTTP API.
    LocalMaster(local_master::LocalMasterArgs),
    #[command(flatten)]
    Client(cli::Command),
}

fn main() -> ExitCode {
    let args = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("pacer: cannot start the async runtime: {e}");
            return ExitCode::from(2);
        }
    };
    runtime.block_on(async move {
        match args.command {
            Top::Server(server_args) => match server::run(*server_args).await {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("pacer server: {e:#}");
                    ExitCode::FAILURE
                }
            },
            Top::LocalMaster(master_args) => match local_master::run(master_args).await {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("pacer local-master: {e:#}");
                    ExitCode::FAILURE
                }
            },
            // cli's exit codes: 1 when the server refused, 2 for usage and file errors.
            Top::Client(cmd) => cli::run(args.global, cmd, Cli::command())
                .await
                .unwrap_or_else(|e| e.report()),
        }
    })
}
