//! Pod changes: `POST /v2/pods`, `PUT /v2/pods/{id}` (create or replace) and `DELETE`.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use schemas::{PathId, PodDefinition};
use serde_json::{Value, json};

use super::deploy::{PodChange, PodOutcome, deploy};
use crate::Ctx;
use crate::error::{ApiError, Result, details};
use crate::events::Payload;
use crate::json::{self, Params};
use crate::preconditions::IfMatch;

/// A complete pod from a request body: typed, normalised (relative ids resolve against the
/// root) and validated, also against what the embedded agent can run when this server has it.
fn definition(ctx: &Ctx, body: Value) -> Result<PodDefinition> {
    let pod: PodDefinition = json::from_value(body)?;
    let pod = schemas::normalize_pod(pod, &PathId::root()).map_err(|v| ApiError::Invalid(details(v)))?;
    let mut problems = details(schemas::validate_pod(&pod));
    if ctx.config.master == "local" {
        problems.extend(super::mounts::unsupported(&pod));
    }
    if problems.is_empty() {
        Ok(pod)
    } else {
        Err(ApiError::Invalid(problems))
    }
}

/// The pod as stored, with the headers of a response that started a deployment.
fn respond(status: StatusCode, outcome: &PodOutcome, location: Option<&str>) -> Response {
    let body = match &outcome.stored {
        Some(pod) => serde_json::to_value(&**pod).unwrap_or_default(),
        None => json!({"deploymentId": outcome.deployment_id, "version": outcome.version}),
    };
    let mut res = (status, Json(body)).into_response();
    let headers = res.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&outcome.deployment_id) {
        headers.insert("marathon-deployment-id", v);
    }
    if let Some(v) = location.and_then(|l| HeaderValue::from_str(l).ok()) {
        headers.insert(header::LOCATION, v);
    }
    res
}

/// `pod_created_event` / `pod_updated_event` / `pod_deleted_event`, with who asked.
fn announce(ctx: &Ctx, event: &'static str) {
    let origin = crate::events::origin::current();
    let (client_ip, uri) = origin.map(|o| (o.client_ip, o.uri)).unwrap_or_default();
    ctx.events
        .publish(Payload::new(event, json!({"clientIp": client_ip, "uri": uri})));
}

/// `POST /v2/pods`: 201 with the normalised pod; 409 when the id is taken.
pub(crate) async fn create(ctx: &Ctx, params: &Params, body: Value) -> Result<Response> {
    let body = ctx.store.read(|s| crate::groups::roles::with_default(s, body, None));
    let pod = definition(ctx, body)?;
    let id = pod.id.clone();
    let outcome = deploy(ctx, params.flag("force", false), |s| {
        if s.pod(&id).is_some() {
            return Err(ApiError::Conflict(format!("Pod {id} already exists.")));
        }
        Ok(PodChange {
            id: id.clone(),
            target: Some(pod.clone()),
            cancel: vec![],
        })
    })
    .await?;
    announce(ctx, "pod_created_event");
    Ok(respond(StatusCode::CREATED, &outcome, Some(&format!("/v2/pods{id}"))))
}

/// `PUT /v2/pods/{id}`: replaces the pod (or creates it: 201). The body's id, if any, must be
/// the path's; `cond` is checked against the pod's version in the same write.
pub(crate) async fn put(ctx: &Ctx, id: PathId, params: &Params, mut body: Value, cond: &IfMatch) -> Result<Response> {
    if let Value::Object(m) = &mut body {
        match m.get("id").and_then(Value::as_str) {
            Some(given) if PathId::parse(given).ok().as_ref() != Some(&id) => {
                return Err(ApiError::BadRequest(format!(
                    "Pod id '{given}' in the body does not match the path id '{id}'"
                )));
            }
            _ => {
                m.insert("id".into(), Value::String(id.to_string()));
            }
        }
    }
    let body = ctx.store.read(|s| crate::groups::roles::with_default(s, body, None));
    let pod = definition(ctx, body)?;
    let outcome = deploy(ctx, params.flag("force", false), |s| {
        cond.check_version("pod", s.pod(&id).map(|p| p.version_or_epoch()))?;
        Ok(PodChange {
            id: id.clone(),
            target: Some(pod.clone()),
            cancel: vec![],
        })
    })
    .await?;
    if outcome.created {
        announce(ctx, "pod_created_event");
        Ok(respond(StatusCode::CREATED, &outcome, Some(&format!("/v2/pods{id}"))))
    } else {
        announce(ctx, "pod_updated_event");
        Ok(respond(StatusCode::OK, &outcome, None))
    }
}

/// `DELETE /v2/pods/{id}`: 202, `Location` naming the deployment, as Marathon answers.
pub(crate) async fn delete(ctx: &Ctx, id: PathId, params: &Params, cond: &IfMatch) -> Result<Response> {
    let outcome = deploy(ctx, params.flag("force", false), |s| {
        let Some(current) = s.pod(&id) else {
            return Err(super::not_found(&id));
        };
        cond.check_version("pod", Some(current.version_or_epoch()))?;
        Ok(PodChange {
            id: id.clone(),
            target: None,
            cancel: vec![],
        })
    })
    .await?;
    announce(ctx, "pod_deleted_event");
    let location = outcome.deployment_id.clone();
    Ok(respond(StatusCode::ACCEPTED, &outcome, Some(&location)))
}
