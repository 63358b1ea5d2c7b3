//! Paths that name apps, pods and groups: `/prod/web/api`. Relative ids resolve against a base.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// An absolute, normalised path id. `/` is the root group.
///
/// Parsing never fails on characters: whether each segment is a valid name is a validation
/// question (answered with a 422 at `/id`), not a parse error.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct PathId(String);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PathIdError {
    /// `..` walked above the root.
    #[error("path '{0}' goes above the root group")]
    AboveRoot(String),
}

const RESERVED_LAST: [&str; 3] = ["restart", "tasks", "versions"];

impl PathId {
    pub fn root() -> Self {
        Self("/".into())
    }

    /// Parses `s` as absolute (a leading `/` is optional: `a/b` is `/a/b`).
    pub fn parse(s: &str) -> Result<Self, PathIdError> {
        Self::root().resolve(s)
    }

    /// Resolves `s` against `self` as Marathon does: absolute ids stand alone, relative ids
    /// (and `.`/`..` segments) are taken from this group.
    pub fn resolve(&self, s: &str) -> Result<Self, PathIdError> {
        let mut segs: Vec<&str> = if s.starts_with('/') {
            Vec::new()
        } else {
            self.segments().collect()
        };
        for seg in s.split('/').filter(|p| !p.is_empty()) {
            match seg {
                "." => {}
                ".." => {
                    if segs.pop().is_none() {
                        return Err(PathIdError::AboveRoot(s.to_string()));
                    }
                }
                other => segs.push(other),
            }
        }
        Ok(Self(format!("/{}", segs.join("/"))))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn is_root(&self) -> bool {
        self.0 == "/"
    }

    pub fn segments(&self) -> impl Iterator<Item = &str> {
        self.0.split('/').filter(|s| !s.is_empty())
    }

    pub fn name(&self) -> &str {
        self.segments().last().unwrap_or("")
    }

    pub fn parent(&self) -> PathId {
        match self.0.rfind('/') {
            Some(0) | None => Self::root(),
            Some(i) => Self(self.0[..i].to_string()),
        }
    }

    /// True when `self` is `other` or lies below it.
    pub fn is_within(&self, other: &PathId) -> bool {
        other.is_root() || self == other || self.0.starts_with(&format!("{}/", other.0))
    }

    /// The id as Mesos task ids and HAProxy lines spell it: `/a/b` becomes `a_b`.
    pub fn safe_id(&self) -> String {
        self.segments().collect::<Vec<_>>().join("_")
    }

    /// Why each segment is not a valid name, if any is; empty when the id is valid for an app.
    pub fn app_id_errors(&self) -> Vec<String> {
        let mut errors = Vec::new();
        if self.is_root() {
            errors.push("Path must contain at least one path element".to_string());
        }
        errors.extend(self.segment_errors());
        if RESERVED_LAST.contains(&self.name()) {
            errors.push(format!("must not end with '{}'", self.name()));
        }
        errors
    }

    /// Why each segment is not a valid name (any path, groups and root included).
    pub fn segment_errors(&self) -> Vec<String> {
        self.segments()
            .filter(|seg| !valid_segment(seg))
            .map(|seg| {
                format!(
                    "must fully match regular expression '^(([a-z0-9]|[a-z0-9][a-z0-9\\-]*[a-z0-9])\\.)*([a-z0-9]|[a-z0-9][a-z0-9\\-]*[a-z0-9])|(\\.|\\.\\.)$' (segment '{seg}')"
                )
            })
            .collect()
    }

    /// An id exactly as written in a definition (relative, or with `.`/`..`), not yet resolved
    /// against its group. Only normalisation should see such ids: it resolves them.
    pub fn unresolved(s: &str) -> Self {
        Self(s.to_string())
    }

    /// True when the id is absolute and canonical (what `parse` would give).
    pub fn is_resolved(&self) -> bool {
        PathId::parse(&self.0).is_ok_and(|p| p.0 == self.0)
    }
}

/// Serde helpers for ids inside definitions: they keep the id as written, because a relative
/// id means "relative to the enclosing group", which only normalisation knows.
pub(crate) mod as_written {
    use serde::{Deserialize, Deserializer};

    use super::PathId;

    pub(crate) fn one<'de, D: Deserializer<'de>>(d: D) -> Result<PathId, D::Error> {
        String::deserialize(d).map(|s| PathId::unresolved(&s))
    }

    pub(crate) fn many<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<PathId>, D::Error> {
        Vec::<String>::deserialize(d).map(|v| v.iter().map(|s| PathId::unresolved(s)).collect())
    }
}

/// A segment is dot-separated labels of lowercase letters, digits and inner dashes.
fn valid_segment(seg: &str) -> bool {
    seg.split('.').all(|label| {
        let b = label.as_bytes();
        !b.is_empty()
            && b.iter()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
            && b[0] != b'-'
            && b[b.len() - 1] != b'-'
    })
}

impl fmt::Display for PathId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for PathId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PathId({})", self.0)
    }
}

impl Serialize for PathId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for PathId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        PathId::parse(&s).map_err(serde::de::Error::custom)
    }
}

impl schemars::JsonSchema for PathId {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "PathId".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "pattern": "^(\\/?((\\.\\.)|(([a-z0-9]|[a-z0-9][a-z0-9\\-]*[a-z0-9])\\.)*([a-z0-9]|[a-z0-9][a-z0-9\\-]*[a-z0-9]))?($|\\/))+$"
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_relative_and_dots() {
        let base = PathId::parse("/prod/web").unwrap();
        assert_eq!(base.resolve("api").unwrap().as_str(), "/prod/web/api");
        assert_eq!(base.resolve("../db").unwrap().as_str(), "/prod/db");
        assert_eq!(base.resolve("/x/./y").unwrap().as_str(), "/x/y");
        assert!(PathId::root().resolve("..").is_err());
        assert_eq!(PathId::parse("hello").unwrap().as_str(), "/hello");
    }

    #[test]
    fn parent_name_and_safe_id() {
        let p = PathId::parse("/a/b/c").unwrap();
        assert_eq!(p.parent().as_str(), "/a/b");
        assert_eq!(p.name(), "c");
        assert_eq!(p.safe_id(), "a_b_c");
        assert_eq!(PathId::parse("/a").unwrap().parent(), PathId::root());
        assert!(p.is_within(&PathId::parse("/a").unwrap()));
        assert!(!PathId::parse("/ab").unwrap().is_within(&PathId::parse("/a").unwrap()));
    }

    #[test]
    fn validates_segments() {
        assert!(PathId::parse("/my-app.v1/x").unwrap().app_id_errors().is_empty());
        assert!(!PathId::parse("/Upper").unwrap().app_id_errors().is_empty());
        assert!(!PathId::parse("/a/-x").unwrap().app_id_errors().is_empty());
        assert!(!PathId::parse("/a/tasks").unwrap().app_id_errors().is_empty());
        assert!(!PathId::root().app_id_errors().is_empty());
        assert!(PathId::root().segment_errors().is_empty());
    }

    #[test]
    fn unresolved_ids_keep_their_text() {
        let raw = PathId::unresolved("../x");
        assert_eq!(raw.as_str(), "../x");
        assert!(!raw.is_resolved());
        assert!(!PathId::unresolved("/a/./b").is_resolved());
        assert!(!PathId::unresolved("/a/").is_resolved());
        assert!(PathId::unresolved("/a/b").is_resolved());
        assert!(PathId::root().is_resolved());
        let base = PathId::parse("/g/h").unwrap();
        assert_eq!(base.resolve(raw.as_str()).unwrap().as_str(), "/g/x");
    }
}
