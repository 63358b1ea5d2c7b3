//! System endpoints: `/`, `/ping`, `/v2/info`, `/v2/leader`, and the JSON answers for
//! unknown routes and methods.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use crate::error::ApiError;
use crate::json::PathParam;
use crate::text::{Media, preferred};
use crate::{Ctx, view};

/// `GET /` and `GET /ui`: 302 to the UI, as Marathon answers (axum's `Redirect` has no 302).
pub(crate) async fn root() -> Response {
    (StatusCode::FOUND, [(header::LOCATION, "/ui/")]).into_response()
}

pub(crate) async fn ui_index() -> Response {
    ui_file("")
}

/// The web UI's embedded files.
pub(crate) async fn ui_asset(PathParam(path): PathParam) -> Response {
    ui_file(&path)
}

fn ui_file(path: &str) -> Response {
    match ui::asset(path) {
        Some(a) => ([(header::CONTENT_TYPE, a.content_type)], a.body).into_response(),
        None => ApiError::NotFound("URI not found".into()).into_response(),
    }
}

/// `pong` as text when the client accepts text, as a JSON string when it only accepts JSON.
pub(crate) async fn ping(headers: HeaderMap) -> Response {
    match preferred(&headers, &[Media::Text, Media::Json]) {
        Some(Media::Text) => ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], "pong").into_response(),
        Some(Media::Json) => Json("pong").into_response(),
        None => StatusCode::NO_CONTENT.into_response(),
    }
}

pub(crate) async fn leader(State(ctx): State<Ctx>) -> Response {
    match ctx.leader_addr() {
        Some(leader) => Json(json!({"leader": leader})).into_response(),
        None => crate::error::ApiError::NotFound("There is no leader".into()).into_response(),
    }
}

/// Marathon's `/v2/info` shape. `marathon_config` holds only flags Pacer has, under the names
/// Marathon clients know (marathon-python rejects unknown keys there).
pub(crate) async fn info(State(ctx): State<Ctx>) -> Json<Value> {
    let c = &ctx.config;
    let mut body = Map::new();
    body.insert("name".into(), json!("pacer"));
    body.insert("version".into(), json!(c.version));
    body.insert(
        "buildref".into(),
        json!(option_env!("PACER_BUILDREF").unwrap_or("unknown")),
    );
    body.insert("elected".into(), json!(ctx.is_elected()));
    body.insert("leader".into(), json!(ctx.leader_addr()));
    if let Some(id) = ctx.store.read(view::framework_id) {
        body.insert("frameworkId".into(), json!(id));
    }
    body.insert(
        "marathon_config".into(),
        json!({
            "checkpoint": c.checkpoint,
            "executor": c.executor,
            "failover_timeout": c.failover_timeout_secs,
            "features": c.features,
            "framework_name": c.framework_name,
            "ha": c.ha,
            "hostname": c.hostname,
            "local_port_min": c.local_port_min,
            "local_port_max": c.local_port_max,
            "master": c.master,
            "mesos_role": c.mesos_role,
            "mesos_user": c.mesos_user,
            "webui_url": format!("http://{}", c.leader),
        }),
    );
    // Pacer has no ZooKeeper; the key stays because clients build an object from it.
    body.insert("zookeeper_config".into(), json!({}));
    body.insert(
        "http_config".into(),
        json!({"http_port": c.http_port, "https_port": c.https_port}),
    );
    Json(Value::Object(body))
}

pub(crate) async fn not_found() -> ApiError {
    ApiError::NotFound("URI not found".into())
}

pub(crate) async fn method_not_allowed() -> ApiError {
    ApiError::MethodNotAllowed
}
