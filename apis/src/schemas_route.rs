//! `GET /v2/schemas/{kind}`: the JSON Schema of a manifest kind, for editors and CI linters
//! (the same document `pacer schema app` prints).

use axum::Json;
use axum::extract::Path;
use serde_json::Value;

use crate::error::{ApiError, Result};

pub(crate) async fn get(Path(kind): Path<String>) -> Result<Json<Value>> {
    match kind.as_str() {
        "app" => Ok(Json(schemas::app_json_schema())),
        "pod" | "group" => Err(ApiError::NotFound(format!("{kind}s are not supported by Pacer yet"))),
        other => Err(ApiError::NotFound(format!("No schema of '{other}': try app"))),
    }
}
