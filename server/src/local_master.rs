//! `pacer local-master`: the embedded Mesos master and agent on their own, serving Mesos's v1
//! scheduler HTTP API, for Pacer servers (or other frameworks) pointed at it with `--master`.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context as _;

use crate::server::{
    AgentPingArgs, init_tracing, parse_port_range, serve_mesos_api, shutdown_signal, start_local_master,
};

#[derive(clap::Args, Debug)]
pub(crate) struct LocalMasterArgs {
    /// Address `/api/v1/scheduler` listens on.
    #[arg(long, default_value = "127.0.0.1:5050")]
    listen: SocketAddr,
    /// Where the agent keeps its sandboxes and checkpoints (tasks are re-adopted from here).
    #[arg(long, default_value = "./pacer-mesos")]
    work_dir: PathBuf,
    /// The host ports the agent offers to tasks, as `begin-end` (inclusive).
    #[arg(long, default_value = "31000-32000", value_parser = parse_port_range)]
    agent_ports: (u64, u64),
    /// The agents, from a YAML list (see `pacer server --local-agents`); `GET /local/agents`
    /// lists them, `POST /local/agents/{id|hostname}/disconnect` and `/reconnect` make one go
    /// away and come back, and `POST /api/v1` takes Mesos's MARK_AGENT_GONE.
    #[arg(long)]
    local_agents: Option<PathBuf>,
    #[command(flatten)]
    agent_pings: AgentPingArgs,
}

pub(crate) async fn run(args: LocalMasterArgs) -> anyhow::Result<()> {
    init_tracing();
    std::fs::create_dir_all(&args.work_dir).with_context(|| format!("creating {}", args.work_dir.display()))?;
    let master = start_local_master(
        &args.work_dir,
        args.agent_ports,
        args.local_agents.as_deref(),
        args.agent_pings,
    )
    .await?;
    serve_mesos_api(&master, args.listen).await?;
    shutdown_signal().await;
    tracing::info!("shutting down; tasks keep running and are recovered on the next start");
    master.shutdown().await;
    Ok(())
}
