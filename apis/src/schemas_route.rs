//! `GET /v2/schemas/{kind}`: the JSON Schema of a manifest kind, for editors and CI linters
//! (the same document `pacer schema app|pod|group` prints).

use axum::Json;
use axum::extract::Path;
use serde_json::Value;

use crate::error::{ApiError, Result};

pub(crate) async fn get(Path(kind): Path<String>) -> Result<Json<Value>> {
    match kind.as_str() {
        "app" => Ok(Json(schemas::app_json_schema())),
        "pod" => Ok(Json(schemas::pod_json_schema())),
        "group" => Ok(Json(schemas::group_json_schema())),
        other => Err(ApiError::NotFound(format!(
            "No schema of '{other}': try app, pod or group"
        ))),
    }
}
