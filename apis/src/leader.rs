//! `DELETE /v2/leader`: the leader gives up leadership by stopping, as Marathon's does; its
//! peers elect another leader, which carries on from the replicated state. (Followers forward
//! the request to the leader, like every write.)

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::Ctx;
use crate::error::ApiError;

pub(crate) async fn abdicate(State(ctx): State<Ctx>) -> Response {
    let Some(stop) = ctx.config.abdicate.clone() else {
        return ApiError::NotFound("This server cannot abdicate".into()).into_response();
    };
    tracing::warn!("abdicating: DELETE /v2/leader asked this server to stop");
    // Answer first: the server stops serving right after.
    tokio::spawn(async move {
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        stop.notify_one();
    });
    Json(json!({"message": "Leadership abdicated"})).into_response()
}
