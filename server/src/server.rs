//! The one place that wires the parts: store, embedded Mesos, controllers and the API.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::{Context as _, bail};
use mesos::local::{LocalMaster, LocalMasterConfig};
use store::{Store, StoreConfig};
use tokio_util::sync::CancellationToken;

#[derive(clap::Args, Debug)]
pub(crate) struct ServerArgs {
    /// Address the HTTP API listens on.
    #[arg(long, default_value = "127.0.0.1:8080", env = "PACER_LISTEN")]
    listen: SocketAddr,
    /// Where the store and the local agent keep their state.
    #[arg(long, default_value = "./pacer-data", env = "PACER_DATA_DIR")]
    data_dir: PathBuf,
    /// The Mesos master: `local` runs an embedded master and agent on this machine.
    #[arg(long, default_value = "local", env = "PACER_MASTER")]
    master: String,
    /// FrameworkInfo.name, as Marathon's --framework_name.
    #[arg(long, default_value = "marathon")]
    framework_name: String,
    /// The hostname this server advertises (defaults to the machine's).
    #[arg(long)]
    hostname: Option<String>,
    /// How many versions of each app are kept (Marathon's --zk_max_versions).
    #[arg(long, default_value_t = 50, env = "PACER_MAX_VERSIONS", value_parser = clap::value_parser!(u64).range(1..))]
    max_versions: u64,
    /// The host ports the embedded agent offers to tasks, as `begin-end` (inclusive).
    #[arg(long, default_value = "31000-32000", env = "PACER_AGENT_PORTS", value_parser = parse_port_range)]
    agent_ports: (u64, u64),
}

fn parse_port_range(s: &str) -> Result<(u64, u64), String> {
    let (begin, end) = s.split_once('-').ok_or("expected begin-end, e.g. 31000-32000")?;
    let port = |p: &str| p.trim().parse::<u16>().map(u64::from).map_err(|e| format!("{p}: {e}"));
    let (begin, end) = (port(begin)?, port(end)?);
    if begin == 0 || begin > end {
        return Err(format!("{s}: begin must be at least 1 and not above end"));
    }
    Ok((begin, end))
}

pub(crate) async fn run(args: ServerArgs) -> anyhow::Result<()> {
    init_tracing();
    if args.master != "local" {
        bail!(
            "--master {}: only the embedded local master is supported so far",
            args.master
        );
    }
    std::fs::create_dir_all(&args.data_dir).with_context(|| format!("creating {}", args.data_dir.display()))?;
    let work_dir = args.data_dir.join("mesos");
    let mut master_config = LocalMasterConfig::new(&work_dir);
    for agent in &mut master_config.agents {
        agent.resources.ports = vec![args.agent_ports];
    }
    let hostname = args
        .hostname
        .clone()
        .unwrap_or_else(|| master_config.agents[0].hostname.clone());

    let store = Store::open(StoreConfig {
        data_dir: Some(args.data_dir.join("store")),
    })
    .await
    .context("opening the store")?;

    let master = LocalMaster::start(master_config)
        .await
        .context("starting the local Mesos master")?;

    let cancel = CancellationToken::new();
    // The controllers publish their offer statistics and numbers; the API shows them.
    let (offer_stats, offer_stats_rx) = tokio::sync::watch::channel(Default::default());
    let metrics = controllers::Metrics::default();
    let controller_metrics = metrics.subscribe();
    let controller_config = controllers::ControllerConfig {
        framework_name: args.framework_name.clone(),
        mesos_user: std::env::var("USER").unwrap_or_else(|_| "root".into()),
        hostname: hostname.clone(),
        offer_stats,
        metrics,
        ..Default::default()
    };
    let controllers = tokio::spawn(controllers::run(
        store.clone(),
        master.transport(),
        controller_config,
        cancel.clone(),
    ));

    let api_config = apis::ApiConfig {
        leader: format!("{hostname}:{}", args.listen.port()),
        hostname: hostname.clone(),
        http_port: args.listen.port(),
        master: args.master.clone(),
        framework_name: args.framework_name.clone(),
        max_versions: args.max_versions as usize,
        ..Default::default()
    };
    let state = apis::ApiState::new(store.clone(), api_config)
        .with_offer_stats(offer_stats_rx)
        .with_controller_metrics(controller_metrics);
    let events = state.events.clone();
    let router = apis::router(state);
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("binding {}", args.listen))?;
    tracing::info!(listen = %args.listen, data_dir = %args.data_dir.display(), "pacer is serving");
    // Connect info gives events their client addresses. Event streams never end on their
    // own, so they are closed for the graceful shutdown to finish.
    let service = router.into_make_service_with_connect_info::<std::net::SocketAddr>();
    let stop = async move {
        shutdown_signal().await;
        events.close_streams();
    };
    axum::serve(listener, service)
        .with_graceful_shutdown(stop)
        .await
        .context("serving HTTP")?;

    tracing::info!("shutting down; tasks keep running and are recovered on the next start");
    cancel.cancel();
    let _ = controllers.await;
    master.shutdown().await;
    store.shutdown().await;
    Ok(())
}

async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = match signal(SignalKind::terminate()) {
        Ok(s) => s,
        Err(e) => {
            tracing::error!(error = %e, "cannot listen for SIGTERM");
            return std::future::pending().await;
        }
    };
    tokio::select! {
        _ = term.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
}

fn init_tracing() {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_env("PACER_LOG").unwrap_or_else(|_| EnvFilter::new("info,openraft=warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}
