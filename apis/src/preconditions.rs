//! `If-Match` on writes of one app: optimistic concurrency for clients that read an app,
//! change it and write it back. The entity tag of an app is its `version`, which every change
//! replaces; `GET /v2/apps/{id}` sends it as `ETag`.
//!
//! The check runs inside the write's read-check-write (see `crate::desired`), so no change
//! can slip in between the comparison and the write.

use axum::http::{HeaderMap, HeaderValue, header};
use schemas::{AppDefinition, Timestamp};

use crate::error::{ApiError, Result};

/// The versions an `If-Match` header accepts; none when the header was not sent.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct IfMatch(Option<Vec<String>>);

impl IfMatch {
    /// Reads `If-Match`: a list of versions, quoted (entity tags, `W/` allowed) or bare, or `*`.
    pub(crate) fn from_headers(headers: &HeaderMap) -> IfMatch {
        let tags: Vec<String> = headers
            .get_all(header::IF_MATCH)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(|t| t.trim().trim_start_matches("W/").trim_matches('"').to_string())
            .filter(|t| !t.is_empty())
            .collect();
        IfMatch((!tags.is_empty()).then_some(tags))
    }

    /// Passes without a header; otherwise the app must exist and, unless `*` was sent, have
    /// one of the listed versions.
    pub(crate) fn check(&self, current: Option<&AppDefinition>) -> Result<()> {
        self.check_version("app", current.map(AppDefinition::version_or_epoch))
    }

    /// [`IfMatch::check`] of anything versioned (`kind` names it in errors): `current` is its
    /// version, `None` when it does not exist.
    pub(crate) fn check_version(&self, kind: &str, current: Option<Timestamp>) -> Result<()> {
        let Some(tags) = &self.0 else { return Ok(()) };
        let Some(version) = current else {
            return Err(ApiError::PreconditionFailed(format!(
                "If-Match was given but the {kind} does not exist"
            )));
        };
        let version = version.to_string();
        if tags.iter().any(|t| t == "*" || *t == version) {
            Ok(())
        } else {
            Err(ApiError::PreconditionFailed(format!(
                "If-Match {} does not match the {kind}'s current version {version}",
                tags.join(", ")
            )))
        }
    }
}

/// The `ETag` of an app: its version, quoted.
pub(crate) fn etag(app: &AppDefinition) -> Option<HeaderValue> {
    etag_of(app.version_or_epoch())
}

/// The `ETag` of anything versioned: its version, quoted.
pub(crate) fn etag_of(version: Timestamp) -> Option<HeaderValue> {
    HeaderValue::from_str(&format!("\"{version}\"")).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(v: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::IF_MATCH, HeaderValue::from_str(v).unwrap());
        h
    }

    #[test]
    fn versions_quoted_bare_or_star() {
        let mut app: AppDefinition = serde_json::from_str(r#"{"id": "/a"}"#).unwrap();
        app.version = Some(Timestamp::from_millis(1_000));
        let v = app.version_or_epoch().to_string();
        assert!(IfMatch::default().check(None).is_ok());
        assert!(IfMatch::from_headers(&HeaderMap::new()).check(None).is_ok());
        assert!(IfMatch::from_headers(&headers(&v)).check(Some(&app)).is_ok());
        assert!(
            IfMatch::from_headers(&headers(&format!("\"x\", W/\"{v}\"")))
                .check(Some(&app))
                .is_ok()
        );
        assert!(IfMatch::from_headers(&headers("*")).check(Some(&app)).is_ok());
        let stale = IfMatch::from_headers(&headers("2000-01-01T00:00:00.000Z"));
        assert!(matches!(stale.check(Some(&app)), Err(ApiError::PreconditionFailed(_))));
        assert!(matches!(
            IfMatch::from_headers(&headers("*")).check(None),
            Err(ApiError::PreconditionFailed(_))
        ));
        assert_eq!(etag(&app).unwrap().to_str().unwrap(), format!("\"{v}\""));
    }
}
