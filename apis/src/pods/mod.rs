//! `/v2/pods`: Marathon's pods. A pod is stored beside the apps (`pod/<id>`, versions under
//! `podver/`), deployed by the same deployment records (pod actions), and its instances are
//! ordinary instance records whose task stands for a whole Mesos task group.
//!
//! Sub-resources follow the pod id after `::` (`/v2/pods/p::status`), because pod ids contain
//! slashes.

mod deploy;
mod instances;
pub(crate) mod mounts;
pub(crate) mod status;
mod write;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use schemas::PathId;
use serde_json::Value;

use crate::Ctx;
use crate::error::{ApiError, Detail, Result};
use crate::json::{JsonBody, Params, PathParam};
use crate::preconditions::IfMatch;
use crate::view;

/// What a `/v2/pods/...` path names.
#[derive(Clone, Debug, PartialEq, Eq)]
enum PodPath {
    Pod(PathId),
    /// `::status` of every pod.
    AllStatus,
    Status(PathId),
    Versions(PathId),
    Version(PathId, String),
    Instances(PathId),
    Instance(PathId, String),
}

fn parse(path: &str) -> Result<PodPath> {
    let invalid = |e: schemas::PathIdError| ApiError::Invalid(vec![Detail::new("/id", e.to_string())]);
    let (id, sub) = match path.split_once("::") {
        Some((id, sub)) => (id, Some(sub)),
        None => (path, None),
    };
    if id.trim_matches('/').is_empty() {
        return match sub {
            Some("status") => Ok(PodPath::AllStatus),
            _ => Err(ApiError::NotFound("URI not found".into())),
        };
    }
    let id = PathId::parse(id.trim_end_matches('/')).map_err(invalid)?;
    Ok(match sub {
        None => PodPath::Pod(id),
        Some("status") => PodPath::Status(id),
        Some("versions") => PodPath::Versions(id),
        Some("instances") => PodPath::Instances(id),
        Some(other) => match other.split_once('/') {
            Some(("versions", v)) => PodPath::Version(id, v.to_string()),
            Some(("instances", i)) => PodPath::Instance(id, i.to_string()),
            _ => return Err(ApiError::NotFound("URI not found".into())),
        },
    })
}

pub(crate) fn not_found(id: &PathId) -> ApiError {
    ApiError::NotFound(format!("Pod '{id}' does not exist"))
}

/// `HEAD /v2/pods`: tells clients that this server knows pods.
pub(crate) async fn head() -> StatusCode {
    StatusCode::OK
}

/// `GET /v2/pods`.
pub(crate) async fn list(State(ctx): State<Ctx>) -> Json<Value> {
    let pods = ctx.store.read(view::pods);
    Json(serde_json::to_value(pods.iter().map(|p| &**p).collect::<Vec<_>>()).unwrap_or_default())
}

/// Whether the request asks for Pacer's GitOps status (`embed=status`, or `pod.status`,
/// `pods.status`): only then is it added, so that Marathon's clients get Marathon's JSON.
fn wants_status(params: &Params) -> bool {
    params
        .all("embed")
        .any(|e| matches!(e, "status" | "pod.status" | "pods.status"))
}

/// `GET /v2/pods/{id}` (its `ETag` is its version, for `If-Match`) and the sub-resources.
pub(crate) async fn get(State(ctx): State<Ctx>, PathParam(path): PathParam, params: Params) -> Result<Response> {
    match parse(&path)? {
        PodPath::Pod(id) => {
            let (pod, gitops) = ctx
                .store
                .read(|s| {
                    if wants_status(&params) {
                        status::of_stored(s, &id, schemas::Timestamp::now()).map(|(p, st)| (p, Some(st)))
                    } else {
                        s.pod(&id).cloned().map(|p| (p, None))
                    }
                })
                .ok_or_else(|| not_found(&id))?;
            let mut res = match gitops {
                Some(st) => {
                    let mut v = serde_json::to_value(&*pod).unwrap_or_default();
                    status::add(&mut v, &st);
                    Json(v).into_response()
                }
                None => Json(&*pod).into_response(),
            };
            if let Some(tag) = crate::preconditions::etag_of(pod.version_or_epoch()) {
                res.headers_mut().insert(axum::http::header::ETAG, tag);
            }
            Ok(res)
        }
        PodPath::AllStatus => Ok(Json(status::all(&ctx, wants_status(&params))).into_response()),
        PodPath::Status(id) => Ok(Json(status::one(&ctx, &id, wants_status(&params))?).into_response()),
        PodPath::Versions(id) => {
            let versions = ctx.store.read(|s| {
                s.pod(&id)
                    .map(|_| view::pod_versions(s, &id).into_keys().collect::<Vec<_>>())
                    .ok_or_else(|| not_found(&id))
            })?;
            Ok(Json(versions).into_response())
        }
        PodPath::Version(id, v) => {
            let missing = || ApiError::NotFound(format!("Pod '{id}' does not exist in version {v}"));
            let version: schemas::Timestamp = v.parse().map_err(|_| missing())?;
            let pod = ctx
                .store
                .read(|s| view::pod_versions(s, &id).remove(&version))
                .ok_or_else(missing)?;
            Ok(Json(&*pod.1).into_response())
        }
        PodPath::Instances(_) | PodPath::Instance(..) => Err(ApiError::MethodNotAllowed),
    }
}

/// `POST /v2/pods`.
pub(crate) async fn post(State(ctx): State<Ctx>, params: Params, JsonBody(body): JsonBody) -> Result<Response> {
    write::create(&ctx, &params, body).await
}

/// `PUT /v2/pods/{id}`, with `If-Match` checked against the pod's version.
pub(crate) async fn put(
    State(ctx): State<Ctx>,
    PathParam(path): PathParam,
    params: Params,
    headers: HeaderMap,
    JsonBody(body): JsonBody,
) -> Result<Response> {
    match parse(&path)? {
        PodPath::Pod(id) => write::put(&ctx, id, &params, body, &IfMatch::from_headers(&headers)).await,
        _ => Err(ApiError::MethodNotAllowed),
    }
}

/// `DELETE /v2/pods/{id}` (with `If-Match` as `PUT`) and of its instances.
pub(crate) async fn delete(
    State(ctx): State<Ctx>,
    PathParam(path): PathParam,
    params: Params,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Response> {
    match parse(&path)? {
        PodPath::Pod(id) => write::delete(&ctx, id, &params, &IfMatch::from_headers(&headers)).await,
        PodPath::Instance(id, instance) => instances::kill_one(&ctx, id, instance).await,
        PodPath::Instances(id) => {
            let body: Value = if body.is_empty() {
                Value::Array(vec![])
            } else {
                serde_json::from_slice(&body).map_err(|e| ApiError::InvalidJson(e.to_string()))?
            };
            let ids: Vec<String> = crate::json::from_value(body)?;
            instances::kill_many(&ctx, id, ids).await
        }
        _ => Err(ApiError::MethodNotAllowed),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(s: &str) -> PathId {
        PathId::parse(s).unwrap()
    }

    #[test]
    fn sub_resources_follow_double_colons() {
        assert_eq!(parse("a/b").unwrap(), PodPath::Pod(id("/a/b")));
        assert_eq!(parse("a/b::status").unwrap(), PodPath::Status(id("/a/b")));
        assert_eq!(parse("::status").unwrap(), PodPath::AllStatus);
        assert_eq!(parse("p::versions").unwrap(), PodPath::Versions(id("/p")));
        assert_eq!(
            parse("p::versions/2020-01-01T00:00:00.000Z").unwrap(),
            PodPath::Version(id("/p"), "2020-01-01T00:00:00.000Z".into())
        );
        assert_eq!(parse("p::instances").unwrap(), PodPath::Instances(id("/p")));
        assert_eq!(
            parse("p::instances/p.instance-1").unwrap(),
            PodPath::Instance(id("/p"), "p.instance-1".into())
        );
        assert!(parse("p::nonsense").is_err());
    }
}
