//! The one error type of the API, rendered as Marathon's JSON error bodies (status and shape
//! per `MarathonExceptionMapper`), so that clients that parse Marathon's errors keep working.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use schemas::PathId;
use serde::Serialize;
use serde_json::json;

/// One field's problems, as Marathon lists them in `details`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Detail {
    /// A JSON pointer into the request body, e.g. `/portDefinitions/0/port`.
    pub path: String,
    pub errors: Vec<String>,
}

impl Detail {
    pub fn new(path: impl Into<String>, error: impl Into<String>) -> Self {
        Detail {
            path: path.into(),
            errors: vec![error.into()],
        }
    }

    /// The same problem as seen from an enclosing array element (`/3/cpus` for batch bodies).
    pub fn under(mut self, prefix: &str) -> Self {
        self.path = if self.path == "/" {
            prefix.to_string()
        } else {
            format!("{prefix}{}", self.path)
        };
        self
    }
}

impl From<schemas::Violation> for Detail {
    fn from(v: schemas::Violation) -> Self {
        Detail {
            path: v.path.to_string(),
            errors: v.errors.iter().map(ToString::to_string).collect(),
        }
    }
}

pub(crate) fn details(violations: Vec<schemas::Violation>) -> Vec<Detail> {
    violations.into_iter().map(Detail::from).collect()
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The body is not JSON at all (400, `details` is the parser's message).
    #[error("Invalid JSON: {0}")]
    InvalidJson(String),
    /// A body sent as YAML (its Content-Type says so) is not a YAML document (400, `details`
    /// is the parser's message with the line and column).
    #[error("Invalid YAML: {0}")]
    InvalidYaml(String),
    /// The body is JSON of the wrong shape: a field has the wrong type or is missing (422).
    #[error("Invalid JSON: {0:?}")]
    JsonShape(Vec<Detail>),
    /// The definition breaks validation rules (422 "Object is not valid").
    #[error("Object is not valid: {0:?}")]
    Invalid(Vec<Detail>),
    /// A request Marathon rejects with 422 and a bare message (its `IllegalArgumentException`).
    #[error("{0}")]
    Unprocessable(String),
    /// A request Marathon rejects with 400 and a bare message.
    #[error("{0}")]
    BadRequest(String),
    /// Something named in the request does not exist; the message is Marathon's wording.
    #[error("{0}")]
    NotFound(String),
    /// `POST /v2/apps` of an id that is taken.
    #[error("An app with id [{0}] already exists.")]
    AppExists(PathId),
    /// A `/v2/groups` create of a path that is taken; the message is Marathon's wording.
    #[error("{0}")]
    Conflict(String),
    /// An affected app is in a running deployment and `force` was not given.
    #[error("locked by deployments {0:?}")]
    Locked(Vec<String>),
    /// An `If-Match` precondition does not hold (412).
    #[error("{0}")]
    PreconditionFailed(String),
    /// The route exists but not for this method.
    #[error("method not allowed")]
    MethodNotAllowed,
    /// The store cannot take the request now: not the leader, shutting down, or contention
    /// that outlasted the retries.
    #[error("{0}")]
    Unavailable(String),
}

pub(crate) type Result<T, E = ApiError> = std::result::Result<T, E>;

impl ApiError {
    pub(crate) fn app_not_found(id: &PathId) -> Self {
        ApiError::NotFound(format!("App '{id}' does not exist"))
    }

    pub(crate) fn task_not_found(id: &str) -> Self {
        ApiError::NotFound(format!("Task '{id}' does not exist"))
    }

    pub(crate) fn status(&self) -> StatusCode {
        match self {
            ApiError::InvalidJson(_) | ApiError::InvalidYaml(_) | ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::JsonShape(_) | ApiError::Invalid(_) | ApiError::Unprocessable(_) => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::AppExists(_) | ApiError::Conflict(_) | ApiError::Locked(_) => StatusCode::CONFLICT,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::PreconditionFailed(_) => StatusCode::PRECONDITION_FAILED,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    fn body(&self) -> serde_json::Value {
        match self {
            ApiError::InvalidJson(details) => {
                json!({"message": "Invalid JSON", "details": details})
            }
            ApiError::InvalidYaml(details) => json!({"message": "Invalid YAML", "details": details}),
            ApiError::JsonShape(details) => json!({"message": "Invalid JSON", "details": details}),
            ApiError::Invalid(details) => {
                json!({"message": "Object is not valid", "details": details})
            }
            ApiError::Locked(ids) => json!({
                "message": format!(
                    "App is locked by one or more deployments. Override with the option '?force=true'. \
                     View details at '/v2/deployments/{}'.",
                    ids.first().map(String::as_str).unwrap_or_default()
                ),
                "deployments": ids.iter().map(|id| json!({"id": id})).collect::<Vec<_>>(),
            }),
            ApiError::MethodNotAllowed => json!({"message": "HTTP 405 Method Not Allowed"}),
            other => json!({"message": other.to_string()}),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status(), Json(self.body())).into_response()
    }
}

impl From<store::Error> for ApiError {
    fn from(e: store::Error) -> Self {
        ApiError::Unavailable(e.to_string())
    }
}

/// Renders a serde error at `pointer` the way Marathon's play-json readers name it
/// (`error.expected.jsnumber`, `error.path.missing`, ...), so clients see familiar codes.
pub(crate) fn shape_error(pointer: String, err: &serde_json::Error) -> Detail {
    let msg = err.to_string();
    if let Some(field) = msg.strip_prefix("missing field `").and_then(|r| r.split('`').next()) {
        let path = if pointer == "/" {
            format!("/{field}")
        } else {
            format!("{pointer}/{field}")
        };
        return Detail::new(path, "error.path.missing");
    }
    Detail::new(pointer, play_code(&msg).unwrap_or(msg))
}

fn play_code(msg: &str) -> Option<String> {
    if msg.starts_with("unknown variant") {
        return Some("error.expected.validenumvalue".into());
    }
    let got = msg
        .strip_prefix("invalid type: ")
        .or_else(|| msg.strip_prefix("invalid value: "))?;
    let (got, expected) = got.rsplit_once(", expected ")?;
    let integer = ["u8", "u16", "u32", "u64", "usize", "i8", "i16", "i32", "i64", "isize"].contains(&expected)
        || expected.contains("integer");
    let code = if integer {
        if got.starts_with("floating point") {
            "error.expected.int"
        } else if let Some(n) = got.strip_prefix("integer `") {
            if n.starts_with('-') { "error.min" } else { "error.max" }
        } else {
            "error.expected.jsnumber"
        }
    } else if expected.starts_with('f') || expected.contains("number") {
        "error.expected.jsnumber"
    } else if expected.contains("string") || expected.contains("char") {
        "error.expected.jsstring"
    } else if expected.contains("bool") {
        "error.expected.jsboolean"
    } else if expected.contains("sequence") || expected.contains("tuple") || expected.contains("array") {
        "error.expected.jsarray"
    } else if expected.contains("struct") || expected.contains("map") {
        "error.expected.jsobject"
    } else {
        return None;
    };
    Some(code.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serde_messages_map_to_play_codes() {
        assert_eq!(
            play_code("invalid type: floating point `0.1`, expected u32").as_deref(),
            Some("error.expected.int")
        );
        assert_eq!(
            play_code("invalid value: integer `-1`, expected u32").as_deref(),
            Some("error.min")
        );
        assert_eq!(
            play_code("invalid type: string \"x\", expected f64").as_deref(),
            Some("error.expected.jsnumber")
        );
        assert_eq!(
            play_code("invalid type: integer `1`, expected a string").as_deref(),
            Some("error.expected.jsstring")
        );
        assert_eq!(
            play_code("invalid type: string \"x\", expected a boolean").as_deref(),
            Some("error.expected.jsboolean")
        );
        assert_eq!(
            play_code("invalid type: map, expected a sequence").as_deref(),
            Some("error.expected.jsarray")
        );
        assert_eq!(
            play_code("invalid type: sequence, expected struct AppDefinition").as_deref(),
            Some("error.expected.jsobject")
        );
        assert_eq!(play_code("something else"), None);
    }

    #[test]
    fn locked_body_lists_every_deployment() {
        let body = ApiError::Locked(vec!["d1".into(), "d2".into()]).body();
        assert_eq!(body["deployments"], json!([{"id": "d1"}, {"id": "d2"}]));
        assert!(
            body["message"]
                .as_str()
                .unwrap()
                .ends_with("View details at '/v2/deployments/d1'.")
        );
    }
}
