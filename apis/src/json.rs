//! Request extractors whose rejections render as Marathon errors: the body (JSON whatever the
//! Content-Type says, as Marathon does, or YAML when the Content-Type says YAML) and the query
//! string (repeatable keys, Jersey's lenient booleans). Also the UI's YAML to JSON conversion,
//! which reads YAML exactly as the write endpoints do.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Path, Query, Request};
use axum::http::header::CONTENT_TYPE;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::error::{ApiError, shape_error};

/// Media types whose bodies are read as YAML. Any other (or none) is read as JSON, unchanged
/// for Marathon's clients, which send JSON under all sorts of Content-Types.
const YAML_TYPES: [&str; 4] = ["application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml"];

/// A request body as a JSON value: parsed as JSON (malformed input is a 400 "Invalid JSON"),
/// or as YAML when its Content-Type is a YAML one (a 400 "Invalid YAML"). Either way the
/// handlers see the same value, so their 422s are the same too.
pub(crate) struct JsonBody(pub Value);

impl<S: Send + Sync> FromRequest<S> for JsonBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let yaml = is_yaml(req.headers());
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(|e| ApiError::BadRequest(e.body_text()))?;
        if yaml {
            return from_yaml(&bytes).map(JsonBody);
        }
        serde_json::from_slice(&bytes)
            .map(JsonBody)
            .map_err(|e| ApiError::InvalidJson(e.to_string()))
    }
}

fn is_yaml(headers: &HeaderMap) -> bool {
    let essence = |v: &HeaderValue| {
        let v = v.to_str().ok()?;
        Some(v.split(';').next().unwrap_or(v).trim().to_ascii_lowercase())
    };
    headers
        .get(CONTENT_TYPE)
        .and_then(essence)
        .is_some_and(|t| YAML_TYPES.contains(&t.as_str()))
}

/// One YAML document as the JSON value it spells, read the way `pacer apply` reads manifests.
/// A body with no document (empty, or only comments) or with several is refused: a write
/// takes one definition. (A document that says `null` is read as JSON's `null` would be.)
fn from_yaml(bytes: &[u8]) -> Result<Value, ApiError> {
    let mut documents = serde_yaml::Deserializer::from_slice(bytes);
    let no_document = || ApiError::InvalidYaml("the body holds no YAML document".into());
    let document = documents.next().ok_or_else(no_document)?;
    let value = Value::deserialize(document).map_err(|e| ApiError::InvalidYaml(e.to_string()))?;
    if documents.next().is_some() {
        return Err(ApiError::InvalidYaml(
            "the body holds more than one YAML document; send one definition at a time".into(),
        ));
    }
    // The parser reads an empty stream as one empty document.
    if value.is_null() && !has_content(bytes) {
        return Err(no_document());
    }
    Ok(value)
}

/// Whether any line holds more than a comment, a document marker or a directive.
fn has_content(bytes: &[u8]) -> bool {
    String::from_utf8_lossy(bytes).lines().any(|line| {
        let t = line.trim();
        !(t.is_empty() || t.starts_with('#') || t.starts_with('%') || t == "---" || t == "...")
    })
}

/// `POST /ui/yaml-to-json`: the YAML body as JSON, for the UI's editor (its YAML to JSON
/// toggle, and the id of a definition it is about to send as YAML), so the browser needs no
/// YAML parser of its own. What it accepts and refuses is exactly what the write endpoints
/// accept and refuse, with the same 400; the keys keep the order they were written in.
pub(crate) async fn yaml_to_json(body: Bytes) -> Result<Response, ApiError> {
    let value = from_yaml(&body)?;
    // serde_json's maps sort their keys: the document is read once more into YAML's own
    // ordered value, used when it spells exactly the same JSON.
    let ordered = serde_yaml::from_slice::<serde_yaml::Value>(&body)
        .ok()
        .filter(|o| serde_json::to_value(o).is_ok_and(|v| v == value))
        .and_then(|o| serde_json::to_string(&o).ok());
    let text = match ordered {
        Some(text) => text,
        None => value.to_string(),
    };
    Ok(([(CONTENT_TYPE, "application/json")], text).into_response())
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
    fn only_yaml_content_types_are_read_as_yaml() {
        let with = |ct: &str| {
            let mut h = HeaderMap::new();
            h.insert(CONTENT_TYPE, HeaderValue::from_str(ct).unwrap());
            is_yaml(&h)
        };
        for ct in [
            "application/yaml",
            "application/x-yaml",
            "text/yaml",
            "Text/YAML; charset=utf-8",
        ] {
            assert!(with(ct), "{ct}");
        }
        for ct in ["application/json", "text/plain", "application/yaml-patch", "", "yaml"] {
            assert!(!with(ct), "{ct}");
        }
        assert!(!is_yaml(&HeaderMap::new()));
    }

    #[test]
    fn one_yaml_document_is_its_json_value() {
        let v = from_yaml(b"# an app\nid: /a\ncmd: |\n  echo hi\nports: [1, 2]\nlabels: {a: 'b'}\n").unwrap();
        assert_eq!(
            v,
            serde_json::json!({"id": "/a", "cmd": "echo hi\n", "ports": [1, 2], "labels": {"a": "b"}})
        );
        assert_eq!(from_yaml(b"--- ~\n").unwrap(), Value::Null);
        for (text, needle) in [
            ("", "no YAML document"),
            ("# only a comment\n", "no YAML document"),
            ("---\n# nothing\n...\n", "no YAML document"),
            ("id: /a\n---\nid: /b\n", "more than one"),
            ("id: /a\n  cmd: x\n", "line 2 column"),
            ("id: !custom x\n", ""),
        ] {
            let Err(ApiError::InvalidYaml(msg)) = from_yaml(text.as_bytes()) else {
                panic!("{text:?} was accepted")
            };
            assert!(msg.contains(needle), "{text:?}: {msg}");
        }
    }

    #[test]
    fn flags_are_lenient_like_jersey() {
        let p = Params(vec![("force".into(), "True".into()), ("scale".into(), "yes".into())]);
        assert!(p.flag("force", false));
        assert!(!p.flag("scale", true));
        assert!(p.flag("wipe", true));
    }
}
