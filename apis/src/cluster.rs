//! `/v2/cluster`: the raft cluster of Pacer servers, and changing its membership while it
//! runs (add a server, remove one; replacing one is both). Changes go to the leader (a
//! follower forwards them, as every write).

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};

use crate::Ctx;
use crate::error::{ApiError, Result};
use crate::json::{JsonBody, PathParam};

/// `GET /v2/cluster`.
pub(crate) async fn show(State(ctx): State<Ctx>) -> Json<Value> {
    Json(view(&ctx))
}

fn view(ctx: &Ctx) -> Value {
    json!({
        "nodeId": ctx.store.node_id(),
        "leader": ctx.store.leader().map(|(id, _)| id),
        "members": ctx.store.members(),
    })
}

/// `POST /v2/cluster/members` with `{"id": 4, "address": "host:port"}`: returns once the new
/// server has caught up and votes.
pub(crate) async fn add(State(ctx): State<Ctx>, JsonBody(body): JsonBody) -> Result<Json<Value>> {
    let id = body["id"]
        .as_u64()
        .ok_or_else(|| ApiError::Unprocessable("id: a positive integer is required".into()))?;
    let address = body["address"]
        .as_str()
        .filter(|a| a.contains(':'))
        .ok_or_else(|| ApiError::Unprocessable("address: host:port of the server's API is required".into()))?;
    ctx.store.add_member(id, address.to_string()).await.map_err(refused)?;
    Ok(Json(view(&ctx)))
}

/// `DELETE /v2/cluster/members/{id}`.
pub(crate) async fn remove(State(ctx): State<Ctx>, PathParam(id): PathParam) -> Result<Json<Value>> {
    let id: u64 = id
        .parse()
        .map_err(|_| ApiError::NotFound(format!("No cluster member {id}")))?;
    if !ctx.store.members().iter().any(|m| m.id == id) {
        return Err(ApiError::NotFound(format!("No cluster member {id}")));
    }
    ctx.store.remove_member(id).await.map_err(refused)?;
    Ok(Json(view(&ctx)))
}

fn refused(e: store::Error) -> ApiError {
    match e {
        store::Error::Membership(m) => ApiError::Unprocessable(m),
        other => ApiError::Unavailable(other.to_string()),
    }
}
