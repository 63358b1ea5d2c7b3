//! Request extractors whose rejections render as Marathon errors: the JSON body (parsed
//! whatever the Content-Type says, as Marathon does) and the query string (repeatable keys,
//! Jersey's lenient booleans).

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Path, Query, Request};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::error::{ApiError, shape_error};

/// A request body parsed as JSON; malformed input is a 400 "Invalid JSON".
pub(crate) struct JsonBody(pub Value);

impl<S: Send + Sync> FromRequest<S> for JsonBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(|e| ApiError::BadRequest(e.body_text()))?;
        serde_json::from_slice(&bytes)
            .map(JsonBody)
            .map_err(|e| ApiError::InvalidJson(e.to_string()))
    }
}

/// Reads `value` as a `T`; a field of the wrong type or a missing field is a 422 naming the
/// field by its JSON pointer.
pub(crate) fn from_value<T: DeserializeOwned>(value: Value) -> Result<T, ApiError> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let pointer = pointer(e.path());
        ApiError::JsonShape(vec![shape_error(pointer, e.inner())])
    })
}

fn pointer(path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    let mut out = String::new();
    for seg in path.iter() {
        match seg {
            Segment::Seq { index } => out.push_str(&format!("/{index}")),
            Segment::Map { key } => out.push_str(&format!("/{}", key.replace('~', "~0").replace('/', "~1"))),
            Segment::Enum { .. } | Segment::Unknown => {}
        }
    }
    if out.is_empty() { "/".into() } else { out }
}

/// The query string as ordered pairs; keys may repeat (`embed=a&embed=b`).
#[derive(Debug, Default)]
pub(crate) struct Params(Vec<(String, String)>);

impl Params {
    pub(crate) fn get(&self, key: &str) -> Option<&str> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    pub(crate) fn all<'a>(&'a self, key: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.0.iter().filter(move |(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    /// A boolean parameter read like Java's `Boolean.valueOf`: only `true` (any case) is
    /// true, so clients that send `True`/`False` (Python's `requests`) work.
    pub(crate) fn flag(&self, key: &str, default: bool) -> bool {
        self.get(key).map_or(default, |v| v.eq_ignore_ascii_case("true"))
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Params {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        Query::<Vec<(String, String)>>::try_from_uri(&parts.uri)
            .map(|Query(pairs)| Params(pairs))
            .map_err(|e| ApiError::BadRequest(e.body_text()))
    }
}

/// A route's single path parameter (a catch-all included), percent-decoded.
pub(crate) struct PathParam(pub String);

impl<S: Send + Sync> FromRequestParts<S> for PathParam {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        Path::<String>::from_request_parts(parts, state)
            .await
            .map(|Path(p)| PathParam(p))
            .map_err(|e| ApiError::BadRequest(e.body_text()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Inner {
        port: u32,
    }

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Outer {
        items: Vec<Inner>,
        name: String,
    }

    #[test]
    fn shape_errors_name_the_field_by_pointer() {
        let err =
            from_value::<Outer>(serde_json::json!({"items": [{"port": 1}, {"port": "x"}], "name": "n"})).unwrap_err();
        let ApiError::JsonShape(d) = err else { panic!("{err:?}") };
        assert_eq!(d[0].path, "/items/1/port");
        assert_eq!(d[0].errors, vec!["error.expected.jsnumber"]);

        let err = from_value::<Outer>(serde_json::json!({"items": []})).unwrap_err();
        let ApiError::JsonShape(d) = err else { panic!("{err:?}") };
        assert_eq!(d[0].path, "/name");
        assert_eq!(d[0].errors, vec!["error.path.missing"]);
    }

    #[test]
    fn flags_are_lenient_like_jersey() {
        let p = Params(vec![("force".into(), "True".into()), ("scale".into(), "yes".into())]);
        assert!(p.flag("force", false));
        assert!(!p.flag("scale", true));
        assert!(p.flag("wipe", true));
    }
}
