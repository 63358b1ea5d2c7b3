//! `/v2/deployments`: list the running deployments and cancel one, either by rolling back
//! (a new deployment restoring the original definitions) or by just dropping it (`force`).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use store::{Op, Precondition, WriteOutcome, WriteRequest, keys};

use crate::desired::{self, Change, Mutation};
use crate::error::{ApiError, Result};
use crate::json::{Params, PathParam};
use crate::{Ctx, render, view};

/// `GET /v2/deployments`, oldest first.
pub(crate) async fn list(State(ctx): State<Ctx>) -> Json<Value> {
    let rendered = ctx.store.read(|s| {
        let mut deployments = view::deployments(s);
        deployments.sort_by(|a, b| (a.version, &a.id).cmp(&(b.version, &b.id)));
        let readiness = |app: &schemas::PathId| {
            let target = s.app(app);
            let instances = view::instances_of(s, app);
            // Only the instances the deployment brings up: those of the target config.
            render::readiness_check_results(
                instances
                    .iter()
                    .map(|(i, _)| i.as_ref())
                    .filter(|i| target.is_some_and(|a| i.runs_config_of(a))),
            )
        };
        deployments.iter().map(|d| render::deployment(d, readiness)).collect()
    });
    Json(Value::Array(rendered))
}

fn unknown(id: &str) -> ApiError {
    ApiError::NotFound(format!("DeploymentPlan {id} does not exist"))
}

/// `DELETE /v2/deployments/{id}`.
pub(crate) async fn cancel(State(ctx): State<Ctx>, PathParam(id): PathParam, params: Params) -> Result<Response> {
    if params.flag("force", false) {
        // Stop where it is: the apps keep their new definitions.
        let key = keys::deployment(&id);
        let req = WriteRequest {
            preconditions: vec![Precondition::Present(key.clone())],
            ops: vec![Op::delete(key)],
        };
        let _serialised = ctx.write_lock.lock().await;
        let cancel = ctx.events.cancel(&id);
        return match ctx.store.write(req).await? {
            WriteOutcome::Applied { revision } => {
                cancel.applied(revision);
                Ok(StatusCode::ACCEPTED.into_response())
            }
            WriteOutcome::Conflict { .. } => Err(unknown(&id)),
        };
    }
    // Roll back: restore every affected app's and pod's original definition (re-create a
    // deleted one, remove a created one), replacing the cancelled deployment.
    let outcome = desired::deploy(&ctx, true, |s| {
        let d = view::deployment(s, &id).ok_or_else(|| unknown(&id))?;
        let mut m = Mutation {
            cancel: vec![id.clone()],
            ..Mutation::default()
        };
        for (app, original) in &d.original {
            match original {
                Some(def) => m.changes.push((app.clone(), Change::put((**def).clone()))),
                None if view::app(s, app).is_some() => m.changes.push((app.clone(), Change::Delete)),
                None => {}
            }
        }
        for (pod, original) in &d.original_pods {
            if original.is_some() || s.pod(pod).is_some() {
                m.pods.push(desired::PodChange {
                    id: pod.clone(),
                    target: original.as_deref().cloned(),
                });
            }
        }
        Ok(m)
    })
    .await?;
    Ok(render::deployment_response(StatusCode::OK, &outcome, None))
}
