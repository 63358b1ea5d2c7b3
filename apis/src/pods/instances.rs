//! `DELETE /v2/pods/{id}::instances[/{instanceId}]`: kill pod instances. The instances stay
//! (the pod's count is kept): their task groups are killed and relaunched, as Marathon does
//! without `wipe`.

use axum::Json;
use axum::response::{IntoResponse, Response};
use schemas::{PathId, Timestamp};
use serde_json::Value;

use crate::Ctx;
use crate::desired::{self, InstanceUpdate};
use crate::error::{ApiError, Result};
use crate::view;

fn unknown_instance(id: &str) -> ApiError {
    ApiError::NotFound(format!("Instance '{id}' does not exist"))
}

/// Marks the named instances for killing; their statuses as they were, in request order.
async fn kill(ctx: &Ctx, pod: &PathId, ids: &[String]) -> Result<Vec<Value>> {
    desired::update_instances(ctx, |s| {
        let def = s.pod(pod).cloned().ok_or_else(|| super::not_found(pod))?;
        let mut updates = Vec::new();
        let mut shown = Vec::new();
        for iid in ids {
            let (inst, revision) = view::instance(s, pod, iid).ok_or_else(|| unknown_instance(iid))?;
            shown.push(super::status::instance_status(&def, &inst, Timestamp::now()));
            if inst.has_active_task() && !inst.kill_requested {
                let mut killed = (*inst).clone();
                killed.kill_requested = true;
                updates.push(InstanceUpdate {
                    revision,
                    instance: killed,
                });
            }
        }
        Ok((updates, shown))
    })
    .await
}

pub(crate) async fn kill_one(ctx: &Ctx, pod: PathId, instance: String) -> Result<Response> {
    let mut shown = kill(ctx, &pod, &[instance]).await?;
    Ok(Json(shown.pop().unwrap_or_default()).into_response())
}

pub(crate) async fn kill_many(ctx: &Ctx, pod: PathId, instances: Vec<String>) -> Result<Response> {
    let shown = kill(ctx, &pod, &instances).await?;
    Ok(Json(shown).into_response())
}
