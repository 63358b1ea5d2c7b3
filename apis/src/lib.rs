//! Pacer's Marathon-compatible REST API (axum).
//!
//! The API only writes desired state (app definitions, kill flags, deployment records) and
//! reads state, all through the [`store`]; the controllers watch the store and act. Status
//! codes, JSON shapes, error bodies and headers follow Marathon, so its clients work unchanged.
//!
//! ```no_run
//! # async fn run() -> anyhow::Result<()> {
//! let store = store::Store::open(store::StoreConfig::default()).await?;
//! let app = apis::router(apis::ApiState::new(store, apis::ApiConfig::default()));
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
//! axum::serve(listener, app).await?;
//! # Ok(()) }
//! ```

mod apps;
mod cluster;
mod deployments;
mod desired;
mod error;
mod events;
mod groups;
mod info;
mod json;
mod labels;
mod leader;
mod metrics;
mod paths;
mod pods;
mod preconditions;
mod proxy;
mod queue;
mod render;
mod sandbox;
mod schemas_route;
mod status;
mod tasks;
mod text;
mod view;

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{delete, get, post};
use schemas::metrics::ControllerMetrics;
use schemas::offers::OfferStatsByApp;
use store::Store;
use tokio::sync::watch;

pub use error::{ApiError, Detail};
pub use events::{EventBus, EventConfig};
pub use sandbox::FILE_SIZE_HEADER;

/// What the router serves from.
#[derive(Clone)]
pub struct ApiState {
    pub store: Store,
    pub config: ApiConfig,
    pub events: EventBus,
}

impl ApiState {
    /// The state for `store`, with an event bus following it (needs a Tokio runtime).
    pub fn new(store: Store, config: ApiConfig) -> Self {
        let events = EventBus::start(
            &store,
            EventConfig {
                hostname: config.hostname.clone(),
                ..EventConfig::default()
            },
        );
        ApiState { store, config, events }
    }

    /// Shows the offer statistics published on `rx` in `/v2/queue`.
    pub fn with_offer_stats(mut self, rx: watch::Receiver<Arc<OfferStatsByApp>>) -> Self {
        self.config.offer_stats = rx;
        self
    }

    /// Lets `DELETE /v2/leader` stop this server by notifying `stop`: the server exits and a
    /// peer takes over (the process is expected to be restarted by its supervisor).
    pub fn with_abdication(mut self, stop: Arc<tokio::sync::Notify>) -> Self {
        self.config.abdicate = Some(stop);
        self
    }

    /// Reports the controllers' numbers published on `rx` in `/metrics`.
    pub fn with_controller_metrics(mut self, rx: watch::Receiver<ControllerMetrics>) -> Self {
        self.config.controller_metrics = rx;
        self
    }
}

/// What the API reports about this server (`/v2/info`, `/v2/leader`, the leader header), the
/// knobs of its write logic, and where it reads what the controllers publish (set with
/// [`ApiState::with_offer_stats`] and [`ApiState::with_controller_metrics`]).
#[derive(Clone, Debug)]
pub struct ApiConfig {
    /// The leader's `host:port`, as `/v2/leader` and `X-Marathon-Leader` show it.
    pub leader: String,
    /// This server's advertised hostname; tasks on it are reported at 127.0.0.1.
    pub hostname: String,
    pub http_port: u16,
    pub https_port: u16,
    /// The Mesos master: `local` for the embedded one, or `http://host:5050`.
    pub master: String,
    pub framework_name: String,
    pub mesos_role: String,
    pub mesos_user: String,
    pub failover_timeout_secs: u64,
    pub checkpoint: bool,
    pub ha: bool,
    pub executor: String,
    /// `--enable_features` values.
    pub features: Vec<String>,
    /// Service ports are assigned from `[local_port_min, local_port_max)`.
    pub local_port_min: u32,
    pub local_port_max: u32,
    /// How many versions of each app are kept (Marathon's `--zk_max_versions`).
    pub max_versions: usize,
    /// Pacer's version as `/v2/info` reports it.
    pub version: String,
    /// What waiting apps made of offers, as the controllers publish it (`/v2/queue`). By
    /// default nothing: no controllers publish to it.
    pub offer_stats: watch::Receiver<Arc<OfferStatsByApp>>,
    /// Notified by `DELETE /v2/leader`; `None`: abdication is not possible here.
    pub abdicate: Option<Arc<tokio::sync::Notify>>,
    /// What the controllers count (`/metrics`); by default nothing, as above.
    pub controller_metrics: watch::Receiver<ControllerMetrics>,
    /// The embedded agents' work directory (`<root>/<agent>/sandboxes/<task>/`), where task
    /// output is read for `/v2/tasks/{id}/files/...`; `None` when tasks run elsewhere.
    pub sandbox_root: Option<std::path::PathBuf>,
}

impl Default for ApiConfig {
    fn default() -> Self {
        ApiConfig {
            leader: "localhost:8080".into(),
            hostname: "localhost".into(),
            http_port: 8080,
            https_port: 8443,
            master: "local".into(),
            framework_name: "marathon".into(),
            mesos_role: "*".into(),
            mesos_user: "root".into(),
            failover_timeout_secs: 604_800,
            checkpoint: true,
            ha: true,
            executor: "//cmd".into(),
            features: vec![],
            local_port_min: 10_000,
            local_port_max: 20_000,
            max_versions: 50,
            version: env!("CARGO_PKG_VERSION").into(),
            offer_stats: watch::channel(Arc::default()).1,
            abdicate: None,
            controller_metrics: watch::channel(ControllerMetrics::default()).1,
            sandbox_root: None,
        }
    }
}

/// Why an [`ApiConfig`] cannot be used.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    /// The service port range is empty.
    #[error("local_port_min ({0}) must be below local_port_max ({1})")]
    EmptyPortRange(u32, u32),
    /// At least the current version of an app must be kept.
    #[error("max_versions must be at least 1")]
    NoVersions,
}

impl ApiConfig {
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.local_port_min >= self.local_port_max {
            return Err(ConfigError::EmptyPortRange(self.local_port_min, self.local_port_max));
        }
        if self.max_versions == 0 {
            return Err(ConfigError::NoVersions);
        }
        Ok(())
    }
}

/// What every handler shares: the store, the config, the mutex that serialises API writes,
/// and the request counters.
#[derive(Clone)]
pub(crate) struct Ctx(Arc<Inner>);

pub(crate) struct Inner {
    pub store: Store,
    pub config: ApiConfig,
    pub events: EventBus,
    pub write_lock: tokio::sync::Mutex<()>,
    pub metrics: metrics::Metrics,
    /// Forwards a follower's writes to the leader.
    pub proxy: reqwest::Client,
}

impl Inner {
    /// Whether this server leads the cluster and a quorum confirmed it lately (a server on
    /// its own always does): a leader cut off from its peers is not elected, whatever raft
    /// still believes.
    pub(crate) fn is_elected(&self) -> bool {
        self.store.is_acting()
    }

    /// The leader's `host:port`: the peer address raft knows, or this server's own while it
    /// acts as leader (`None` while it leads only in raft's belief).
    pub(crate) fn leader_addr(&self) -> Option<String> {
        match self.store.leader() {
            Some((id, _)) if id == self.store.node_id() => self.is_elected().then(|| self.config.leader.clone()),
            Some((_, addr)) if !addr.is_empty() => Some(addr),
            _ => None,
        }
    }
}

impl std::ops::Deref for Ctx {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

/// Batch bodies of thousands of apps are legitimate (one `PUT /v2/apps` per environment).
const BODY_LIMIT: usize = 64 * 1024 * 1024;

/// Builds the whole API.
pub fn router(state: ApiState) -> Router {
    let ctx = Ctx(Arc::new(Inner {
        store: state.store,
        config: state.config,
        events: state.events,
        write_lock: tokio::sync::Mutex::new(()),
        metrics: metrics::Metrics::default(),
        proxy: reqwest::Client::builder().no_proxy().build().unwrap_or_default(),
    }));
    Router::new()
        .route("/", get(info::root))
        .route("/ping", get(info::ping))
        .route("/metrics", get(metrics::get))
        .route("/metrics/prometheus", get(metrics::prometheus))
        .route("/ui", get(info::root))
        .route("/ui/", get(info::ui_index))
        .route("/ui/{*path}", get(info::ui_asset))
        .route("/ui/yaml-to-json", post(json::yaml_to_json))
        .route("/v2/info", get(info::info))
        .route("/v2/leader", get(info::leader).delete(leader::abdicate))
        .route("/v2/cluster", get(cluster::show))
        .route("/v2/cluster/members", post(cluster::add))
        .route("/v2/cluster/members/{id}", delete(cluster::remove))
        .route(
            "/v2/apps",
            get(apps::read::list)
                .post(apps::write::create)
                .put(apps::write::put_batch)
                .patch(apps::write::patch_batch),
        )
        .route(
            "/v2/apps/{*path}",
            get(apps::get)
                .put(apps::put)
                .patch(apps::patch)
                .delete(apps::delete)
                .post(apps::post),
        )
        .route(
            "/v2/groups",
            get(groups::get_root)
                .post(groups::post_root)
                .put(groups::put_root)
                .delete(groups::delete_root),
        )
        .route(
            "/v2/groups/{*path}",
            get(groups::get)
                .post(groups::post)
                .put(groups::put)
                .patch(groups::patch)
                .delete(groups::delete),
        )
        .route("/v2/pods", get(pods::list).post(pods::post).head(pods::head))
        .route("/v2/pods/{*path}", get(pods::get).put(pods::put).delete(pods::delete))
        .route("/v2/tasks", get(tasks::list))
        .route("/v2/tasks/delete", post(tasks::delete))
        .route("/v2/tasks/{task}/files/{name}", get(sandbox::read))
        .route("/v2/schemas/{kind}", get(schemas_route::get))
        .route("/v2/deployments", get(deployments::list))
        .route("/v2/deployments/{id}", delete(deployments::cancel))
        .route("/v2/queue", get(queue::list))
        .route("/v2/queue/{*path}", delete(queue::reset_delay))
        .route("/v2/events", get(events::sse::stream).options(events::sse::options))
        .route(
            "/v2/eventSubscriptions",
            get(events::subscriptions::list)
                .post(events::subscriptions::subscribe)
                .delete(events::subscriptions::unsubscribe),
        )
        .fallback(info::not_found)
        .method_not_allowed_fallback(info::method_not_allowed)
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        // Handlers run with the request's origin in scope; writes report it in their events.
        .layer(axum::middleware::from_fn(events::origin::scope))
        .layer(axum::middleware::from_fn_with_state(
            ctx.clone(),
            proxy::writes_to_leader,
        ))
        // Added last, so outermost: it sees every response, fallbacks and rejections included.
        .layer(axum::middleware::from_fn_with_state(
            ctx.clone(),
            metrics::headers_and_counts,
        ))
        .with_state(ctx)
}
