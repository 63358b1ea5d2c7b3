//! The one place that wires the parts: store, embedded Mesos, controllers and the API.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context as _, bail};
use mesos::local::{LocalMaster, LocalMasterConfig};
use mesos::{HttpTransport, Transport};
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
    /// The Mesos master: `local` runs an embedded master and agent on this machine; otherwise
    /// the URLs of Mesos masters, `http://host:5050[,http://host2:5050]`.
    #[arg(long, default_value = "local", env = "PACER_MASTER")]
    master: String,
    /// Speak Mesos's JSON to the master instead of protobuf.
    #[arg(long)]
    mesos_json: bool,
    /// The role Pacer asks offers for (Marathon's --mesos_role).
    #[arg(long, default_value = "*")]
    mesos_role: String,
    /// The principal Pacer authenticates to the Mesos master as.
    #[arg(long)]
    mesos_authentication_principal: Option<String>,
    /// A file holding the secret of that principal.
    #[arg(long, requires = "mesos_authentication_principal")]
    mesos_authentication_secret_file: Option<PathBuf>,
    /// Seconds Mesos keeps Pacer's tasks running while Pacer is away (Marathon's default: a week).
    #[arg(long, default_value_t = 604_800)]
    failover_timeout: u64,
    /// Also serve the embedded master's `/api/v1/scheduler` here, for other frameworks, with
    /// its agents' operator endpoints: `GET /local/agents`, `POST
    /// /local/agents/{id|hostname}/disconnect` and `/reconnect` (rehearse an agent lost and
    /// back), and Mesos's MARK_AGENT_GONE at `POST /api/v1`.
    #[arg(long)]
    mesos_listen: Option<SocketAddr>,
    /// FrameworkInfo.name, as Marathon's --framework_name.
    #[arg(long, default_value = "marathon")]
    framework_name: String,
    /// The hostname this server advertises (defaults to the machine's).
    #[arg(long)]
    hostname: Option<String>,
    /// This server's id in a cluster of Pacer servers.
    #[arg(long, default_value_t = store::NODE_ID, env = "PACER_NODE_ID")]
    node_id: u64,
    /// Every server of the cluster as `id=host:port` (each one's --listen address), comma
    /// separated, this one included; unset for a server on its own.
    #[arg(long, env = "PACER_PEERS", value_parser = parse_peers)]
    peers: Option<BTreeMap<u64, String>>,
    /// How many versions of each app are kept (Marathon's --zk_max_versions).
    #[arg(long, default_value_t = 50, env = "PACER_MAX_VERSIONS", value_parser = clap::value_parser!(u64).range(1..))]
    max_versions: u64,
    /// The host ports the embedded agent offers to tasks, as `begin-end` (inclusive).
    #[arg(long, default_value = "31000-32000", env = "PACER_AGENT_PORTS", value_parser = parse_port_range)]
    agent_ports: (u64, u64),
    /// The embedded master's agents, from a YAML list (hostname, attributes, resources, role);
    /// by default one agent for this machine.
    #[arg(long, env = "PACER_LOCAL_AGENTS")]
    local_agents: Option<PathBuf>,
    #[command(flatten)]
    agent_pings: AgentPingArgs,
}

/// How long the embedded master waits for an agent that went away, as Mesos's master flags.
#[derive(clap::Args, Debug, Clone, Copy)]
pub(crate) struct AgentPingArgs {
    /// Seconds the embedded master waits for an agent's answer to a ping (Mesos's
    /// --agent_ping_timeout): an agent that went away has its tasks reported unreachable after
    /// this times --max-agent-ping-timeouts (75 s by default).
    #[arg(long, default_value = "15", value_parser = parse_seconds)]
    agent_ping_timeout: std::time::Duration,
    /// Pings an agent may miss before it is unreachable (Mesos's --max_agent_ping_timeouts).
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..))]
    max_agent_ping_timeouts: u32,
}

/// A positive number of seconds, fractions allowed (`0.5`).
fn parse_seconds(s: &str) -> Result<std::time::Duration, String> {
    let secs: f64 = s.trim().parse().map_err(|e| format!("{s}: {e}"))?;
    if !secs.is_finite() || secs <= 0.0 {
        return Err(format!("{s}: expected a positive number of seconds"));
    }
    std::time::Duration::try_from_secs_f64(secs).map_err(|e| format!("{s}: {e}"))
}

fn parse_peers(s: &str) -> Result<BTreeMap<u64, String>, String> {
    s.split(',')
        .map(|peer| {
            let (id, addr) = peer
                .trim()
                .split_once('=')
                .ok_or_else(|| format!("{peer}: expected id=host:port"))?;
            let id: u64 = id.parse().map_err(|e| format!("{peer}: node id: {e}"))?;
            if !addr.contains(':') {
                return Err(format!("{peer}: expected id=host:port"));
            }
            Ok((id, addr.to_string()))
        })
        .collect()
}

pub(crate) fn parse_port_range(s: &str) -> Result<(u64, u64), String> {
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
    let remote = match args.master.as_str() {
        "local" => None,
        spec => {
            let mut transport = HttpTransport::new(spec).context("--master")?;
            if args.mesos_json {
                transport = transport.with_json();
            }
            if let Some(principal) = &args.mesos_authentication_principal {
                let secret = match &args.mesos_authentication_secret_file {
                    Some(path) => std::fs::read_to_string(path)
                        .with_context(|| format!("reading {}", path.display()))?
                        .trim()
                        .to_string(),
                    None => String::new(),
                };
                transport = transport.with_credentials(principal.clone(), secret);
            }
            Some(Arc::new(transport))
        }
    };
    if remote.is_some() && args.mesos_listen.is_some() {
        bail!("--mesos-listen serves the embedded master; it needs --master local");
    }
    let peers = args.peers.clone().unwrap_or_default();
    if !peers.is_empty() {
        if remote.is_none() {
            bail!("a cluster (--peers) shares one Mesos master: give its URL with --master http://...");
        }
        if !peers.contains_key(&args.node_id) {
            bail!("--peers must list this server's own --node-id {}", args.node_id);
        }
    }
    std::fs::create_dir_all(&args.data_dir).with_context(|| format!("creating {}", args.data_dir.display()))?;
    let hostname = args.hostname.clone().unwrap_or_else(mesos::local::os_hostname);

    let store = Store::open(StoreConfig {
        data_dir: Some(args.data_dir.join("store")),
        node_id: args.node_id,
        peers,
    })
    .await
    .context("opening the store")?;

    let (master, transport): (Option<LocalMaster>, Arc<dyn Transport>) = match remote {
        Some(remote) => (None, remote),
        None => {
            let master = start_local_master(
                &args.data_dir.join("mesos"),
                args.agent_ports,
                args.local_agents.as_deref(),
                args.agent_pings,
            )
            .await?;
            if let Some(addr) = args.mesos_listen {
                serve_mesos_api(&master, addr).await?;
            }
            let transport = master.transport();
            (Some(master), transport)
        }
    };

    let cancel = CancellationToken::new();
    // The controllers publish their offer statistics and numbers; the API shows them.
    let (offer_stats, offer_stats_rx) = tokio::sync::watch::channel(Default::default());
    let metrics = controllers::Metrics::default();
    let controller_metrics = metrics.subscribe();
    let controller_config = controllers::ControllerConfig {
        framework_name: args.framework_name.clone(),
        mesos_user: std::env::var("USER").unwrap_or_else(|_| "root".into()),
        hostname: hostname.clone(),
        mesos_role: args.mesos_role.clone(),
        principal: args.mesos_authentication_principal.clone(),
        failover_timeout: std::time::Duration::from_secs(args.failover_timeout),
        offer_stats,
        metrics,
        ..Default::default()
    };
    let controllers = tokio::spawn(run_controllers_while_leading(
        store.clone(),
        transport,
        controller_config,
        cancel.clone(),
    ));

    let api_config = apis::ApiConfig {
        // In a cluster, the address the peers know this server by.
        leader: args
            .peers
            .as_ref()
            .and_then(|p| p.get(&args.node_id).cloned())
            .unwrap_or_else(|| format!("{hostname}:{}", args.listen.port())),
        hostname: hostname.clone(),
        http_port: args.listen.port(),
        master: args.master.clone(),
        framework_name: args.framework_name.clone(),
        mesos_role: args.mesos_role.clone(),
        failover_timeout_secs: args.failover_timeout,
        max_versions: args.max_versions as usize,
        // Task output is readable through the API where the embedded agent keeps it.
        sandbox_root: master.is_some().then(|| args.data_dir.join("mesos")),
        ..Default::default()
    };
    let abdicate = Arc::new(tokio::sync::Notify::new());
    let state = apis::ApiState::new(store.clone(), api_config)
        .with_abdication(abdicate.clone())
        .with_offer_stats(offer_stats_rx)
        .with_controller_metrics(controller_metrics);
    let events = state.events.clone();
    let router = raft_routes(store.clone()).merge(apis::router(state));
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("binding {}", args.listen))?;
    tracing::info!(listen = %args.listen, data_dir = %args.data_dir.display(), "pacer is serving");
    // Connect info gives events their client addresses. Event streams never end on their
    // own, so they are closed for the graceful shutdown to finish.
    let service = router.into_make_service_with_connect_info::<std::net::SocketAddr>();
    let stop = async move {
        tokio::select! {
            () = shutdown_signal() => {}
            () = abdicate.notified() => tracing::warn!("abdicated: stopping"),
        }
        events.close_streams();
    };
    axum::serve(listener, service)
        .with_graceful_shutdown(stop)
        .await
        .context("serving HTTP")?;

    tracing::info!("shutting down; tasks keep running and are recovered on the next start");
    cancel.cancel();
    let _ = controllers.await;
    if let Some(master) = master {
        master.shutdown().await;
    }
    store.shutdown().await;
    Ok(())
}

/// Runs the controllers for as long as this server is the confirmed leader, and again each
/// time it is elected: only the leader talks to Mesos, and a leader that loses its quorum
/// stops at once, before another can be elected.
async fn run_controllers_while_leading(
    store: Store,
    transport: Arc<dyn Transport>,
    config: controllers::ControllerConfig,
    shutdown: CancellationToken,
) {
    let mut leading = store.leadership();
    loop {
        while !*leading.borrow_and_update() {
            tokio::select! {
                changed = leading.changed() => if changed.is_err() { return },
                () = shutdown.cancelled() => return,
            }
        }
        tracing::info!(node_id = store.node_id(), "elected leader: running the controllers");
        let term = shutdown.child_token();
        let run = tokio::spawn(controllers::run(
            store.clone(),
            transport.clone(),
            config.clone(),
            term.clone(),
        ));
        loop {
            tokio::select! {
                changed = leading.changed() => if changed.is_err() || !*leading.borrow_and_update() { break },
                () = shutdown.cancelled() => break,
            }
        }
        if !shutdown.is_cancelled() {
            tracing::warn!(
                node_id = store.node_id(),
                "no longer the confirmed leader: controllers stop"
            );
        }
        term.cancel();
        let _ = run.await;
        if shutdown.is_cancelled() {
            return;
        }
    }
}

/// Raft's RPCs between the servers of a cluster, on the API's port.
fn raft_routes(store: Store) -> axum::Router {
    use axum::extract::{Path as UrlPath, State};
    use axum::http::StatusCode;
    use axum::response::IntoResponse;
    async fn rpc(
        State(store): State<Store>,
        UrlPath(rpc): UrlPath<String>,
        body: axum::body::Bytes,
    ) -> axum::response::Response {
        match store.raft_rpc(&rpc, &body).await {
            Ok(json) => ([(axum::http::header::CONTENT_TYPE, "application/json")], json).into_response(),
            Err(e) => (StatusCode::BAD_REQUEST, e.to_string()).into_response(),
        }
    }
    axum::Router::new()
        .route(
            &format!("{}/{{rpc}}", store::network::RAFT_PATH),
            axum::routing::post(rpc),
        )
        .layer(axum::extract::DefaultBodyLimit::max(256 * 1024 * 1024))
        .with_state(store)
}

/// The embedded master with the agents of `agents_file`, or one agent for this machine,
/// offering `ports` unless the file says otherwise.
pub(crate) async fn start_local_master(
    work_dir: &Path,
    ports: (u64, u64),
    agents_file: Option<&Path>,
    pings: AgentPingArgs,
) -> anyhow::Result<LocalMaster> {
    let mut config = LocalMasterConfig::new(work_dir);
    config.agent_ping_timeout = pings.agent_ping_timeout;
    config.max_agent_ping_timeouts = pings.max_agent_ping_timeouts;
    for agent in &mut config.agents {
        agent.resources.ports = vec![ports];
    }
    if let Some(path) = agents_file {
        config.agents = crate::agents_file::load(path, &config.agents[0])?;
    }
    LocalMaster::start(config)
        .await
        .context("starting the local Mesos master")
}

/// Serves `master`'s `/api/v1/scheduler` on `addr` in the background.
pub(crate) async fn serve_mesos_api(master: &LocalMaster, addr: SocketAddr) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("binding {addr} for the Mesos API"))?;
    let api = master.http_api();
    tracing::info!(listen = %addr, "serving the embedded master's /api/v1/scheduler");
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, api).await {
            tracing::error!(error = %e, "the Mesos API server stopped");
        }
    });
    Ok(())
}

pub(crate) async fn shutdown_signal() {
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

pub(crate) fn init_tracing() {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_env("PACER_LOG").unwrap_or_else(|_| EnvFilter::new("info,openraft=warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ping_timeouts_are_positive_seconds() {
        assert_eq!(parse_seconds("15"), Ok(std::time::Duration::from_secs(15)));
        assert_eq!(parse_seconds("0.5"), Ok(std::time::Duration::from_millis(500)));
        for bad in ["0", "-1", "soon", "inf", "NaN"] {
            assert!(parse_seconds(bad).is_err(), "{bad}");
        }
    }
}
