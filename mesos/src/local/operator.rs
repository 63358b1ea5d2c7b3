//! Operator actions on the local agents, to rehearse failures: make an agent go away (as a
//! network partition or a dead machine would), bring it back, or mark it gone as Mesos's
//! MARK_AGENT_GONE does; in-process through [`LocalAgents`], over HTTP next to the scheduler
//! API:
//!
//! - `GET /local/agents`: every agent with its id, hostname, state and tasks.
//! - `POST /local/agents/{id or hostname}/disconnect`: the agent goes away.
//! - `POST /local/agents/{id or hostname}/reconnect`: it comes back (a gone one, as a new agent).
//! - `POST /api/v1` with `{"type": "MARK_AGENT_GONE", "mark_agent_gone": {"agent_id":
//!   {"value": ID}}}`: Mesos's operator call (JSON; no other operator call is served).

use std::time::UNIX_EPOCH;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};
use tokio::sync::{mpsc, oneshot};

use super::master::Command;
use super::partition::{AgentError, AgentRequest};
use super::presence::AgentStatus;

/// Operator actions on the agents of one local master; cheap to clone.
#[derive(Clone)]
pub struct LocalAgents {
    pub(super) commands: mpsc::Sender<Command>,
}

impl LocalAgents {
    /// Every agent, in the order of the configuration.
    pub async fn list(&self) -> Result<Vec<AgentStatus>, AgentError> {
        self.ask(AgentRequest::List).await
    }

    /// The agent (by id or hostname) goes away: no more offers of it, its updates wait, and
    /// after the ping timeout its tasks are unreachable. Its processes keep running.
    pub async fn disconnect(&self, agent: &str) -> Result<AgentStatus, AgentError> {
        self.one(AgentRequest::Disconnect(agent.to_owned())).await
    }

    /// The agent (by id or hostname) comes back and re-registers; an agent marked gone
    /// rejoins as a new agent, with a new id.
    pub async fn reconnect(&self, agent: &str) -> Result<AgentStatus, AgentError> {
        self.one(AgentRequest::Reconnect(agent.to_owned())).await
    }

    /// Mesos's MARK_AGENT_GONE: the agent's tasks are killed for good (TASK_GONE_BY_OPERATOR).
    pub async fn mark_gone(&self, agent_id: &str) -> Result<AgentStatus, AgentError> {
        self.one(AgentRequest::MarkGone(agent_id.to_owned())).await
    }

    async fn one(&self, request: AgentRequest) -> Result<AgentStatus, AgentError> {
        self.ask(request).await?.pop().ok_or(AgentError::Stopped)
    }

    async fn ask(&self, request: AgentRequest) -> Result<Vec<AgentStatus>, AgentError> {
        let (reply, answer) = oneshot::channel();
        self.commands
            .send(Command::Agents { request, reply })
            .await
            .map_err(|_| AgentError::Stopped)?;
        answer.await.map_err(|_| AgentError::Stopped)?
    }
}

/// The operator routes, to merge with the scheduler API's.
pub(crate) fn router(agents: LocalAgents) -> Router {
    Router::new()
        .route("/local/agents", get(list))
        .route("/local/agents/{agent}/disconnect", post(disconnect))
        .route("/local/agents/{agent}/reconnect", post(reconnect))
        .route("/api/v1", post(operator_call))
        .with_state(agents)
}

fn agent_json(a: &AgentStatus) -> Value {
    let since = a
        .since
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map(|d| d.as_secs_f64());
    json!({"id": a.id, "hostname": a.hostname, "state": a.state.as_str(), "since": since, "tasks": a.tasks})
}

fn answer(result: Result<AgentStatus, AgentError>) -> Response {
    match result {
        Ok(agent) => axum::Json(agent_json(&agent)).into_response(),
        Err(e) => refused(&e),
    }
}

fn refused(e: &AgentError) -> Response {
    let status = match e {
        AgentError::NotFound(_) => StatusCode::NOT_FOUND,
        AgentError::Ambiguous(_) | AgentError::Gone(_) => StatusCode::CONFLICT,
        AgentError::Storage { .. } => StatusCode::INTERNAL_SERVER_ERROR,
        AgentError::Stopped => StatusCode::SERVICE_UNAVAILABLE,
    };
    let message = match e {
        AgentError::Storage { source, .. } => format!("{e}: {source}"),
        _ => e.to_string(),
    };
    (status, axum::Json(json!({"message": message}))).into_response()
}

async fn list(State(agents): State<LocalAgents>) -> Response {
    match agents.list().await {
        Ok(all) => axum::Json(json!({"agents": all.iter().map(agent_json).collect::<Vec<_>>()})).into_response(),
        Err(e) => refused(&e),
    }
}

async fn disconnect(State(agents): State<LocalAgents>, Path(agent): Path<String>) -> Response {
    answer(agents.disconnect(&agent).await)
}

async fn reconnect(State(agents): State<LocalAgents>, Path(agent): Path<String>) -> Response {
    answer(agents.reconnect(&agent).await)
}

/// Mesos's operator API, as far as the local master serves it: MARK_AGENT_GONE, in JSON.
async fn operator_call(State(agents): State<LocalAgents>, headers: HeaderMap, body: Bytes) -> Response {
    let json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(';').next().is_some_and(|t| t.trim() == "application/json"));
    if !json {
        return (
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "Expecting 'Content-Type' of application/json",
        )
            .into_response();
    }
    let call: Value = match serde_json::from_slice(&body) {
        Ok(call) => call,
        Err(e) => return (StatusCode::BAD_REQUEST, format!("Failed to parse body into Call: {e}")).into_response(),
    };
    match call.get("type").and_then(Value::as_str) {
        Some("MARK_AGENT_GONE") => {}
        Some(other) => {
            return (
                StatusCode::NOT_IMPLEMENTED,
                format!("{other} is not supported by the local master, which serves MARK_AGENT_GONE"),
            )
                .into_response();
        }
        None => return (StatusCode::BAD_REQUEST, "Expecting 'type' to be present").into_response(),
    }
    let Some(agent_id) = call.pointer("/mark_agent_gone/agent_id/value").and_then(Value::as_str) else {
        return (
            StatusCode::BAD_REQUEST,
            "Expecting 'mark_agent_gone.agent_id.value' to be present",
        )
            .into_response();
    };
    match agents.mark_gone(agent_id).await {
        Ok(_) => StatusCode::OK.into_response(),
        Err(e) => refused(&e),
    }
}
