//! Validation failures in Marathon's shape: `{"path":"/cpus","errors":["..."]}`.

use std::fmt;

use serde::{Deserialize, Serialize};

/// What is wrong at one place of a definition. `path` is Marathon's pointer: `/` for the whole
/// object, `/cpus` for a field, `/healthChecks(0)/portIndex` for a field of a list element.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Violation {
    pub path: String,
    pub errors: Vec<String>,
}

impl Violation {
    pub fn new(path: impl Into<String>, error: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            errors: vec![error.into()],
        }
    }
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.errors.join("; "))
    }
}

/// Merges violations that share a path, as Marathon's error body does, keeping first-seen order
/// of paths and dropping repeated messages.
pub fn group_violations(violations: Vec<Violation>) -> Vec<Violation> {
    let mut out: Vec<Violation> = Vec::new();
    for v in violations {
        match out.iter_mut().find(|o| o.path == v.path) {
            Some(existing) => {
                for e in v.errors {
                    if !existing.errors.contains(&e) {
                        existing.errors.push(e);
                    }
                }
            }
            None => out.push(v),
        }
    }
    out
}

/// Collects violations under a path prefix while a validator walks a definition.
#[derive(Default)]
pub(crate) struct Report {
    violations: Vec<Violation>,
}

impl Report {
    pub(crate) fn add(&mut self, path: impl Into<String>, error: impl Into<String>) {
        self.violations.push(Violation::new(path, error));
    }

    /// Adds `error` at `path` unless `ok` holds.
    pub(crate) fn check(&mut self, ok: bool, path: impl Into<String>, error: impl Into<String>) {
        if !ok {
            self.add(path, error);
        }
    }

    pub(crate) fn extend(&mut self, more: Vec<Violation>) {
        self.violations.extend(more);
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.violations.is_empty()
    }

    pub(crate) fn finish(self) -> Vec<Violation> {
        group_violations(self.violations)
    }
}

/// Formats a number as Java prints a double (`-3.0`, `1.2`), so messages read like Marathon's.
pub(crate) fn java_double(x: f64) -> String {
    if x.is_finite() && x.fract() == 0.0 && x.abs() < 1e7 {
        format!("{x:.1}")
    } else {
        format!("{x}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_by_path_in_order() {
        let grouped = group_violations(vec![
            Violation::new("/a", "x"),
            Violation::new("/b", "y"),
            Violation::new("/a", "z"),
            Violation::new("/a", "x"),
        ]);
        assert_eq!(
            grouped,
            vec![
                Violation {
                    path: "/a".into(),
                    errors: vec!["x".into(), "z".into()]
                },
                Violation::new("/b", "y")
            ]
        );
    }

    #[test]
    fn serialises_like_marathon() {
        let v = Violation::new("/cpus", "got -1.0, expected 0.0 or more");
        assert_eq!(
            serde_json::to_string(&v).unwrap(),
            r#"{"path":"/cpus","errors":["got -1.0, expected 0.0 or more"]}"#
        );
    }

    #[test]
    fn doubles_print_like_java() {
        assert_eq!(java_double(-3.0), "-3.0");
        assert_eq!(java_double(1.2), "1.2");
        assert_eq!(java_double(0.0), "0.0");
    }
}
