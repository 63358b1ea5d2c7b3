//! Marathon's label selector evaluated here, for pods: `GET /v2/pods` takes no `label=`
//! filter, so `--prune -l` and `get pods -l` match the pods' labels themselves.
//!
//! Terms are those `apply::marathon_selector` writes and the server's `/v2/apps?label=`
//! takes: `key`, `key==v`, `key!=v`, `key in (a,b)`, `key notin (a,b)`; all must hold, and
//! every term requires the label to be present.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::error::{Error, Result};

#[derive(Debug, Clone, PartialEq, Eq)]
enum Term {
    Exists(String),
    Eq(String, String),
    Ne(String, String),
    In(String, Vec<String>, bool),
}

/// A parsed selector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Selector(Vec<Term>);

impl Selector {
    /// Parses a selector in Marathon's syntax (see `apply::marathon_selector`).
    pub(crate) fn parse(s: &str) -> Result<Selector> {
        let bad = || Error::Usage(format!("-l {s}: not a label selector"));
        let mut terms = Vec::new();
        for raw in split_terms(s) {
            let t = raw.trim();
            let term = if let Some((k, v)) = t.split_once("==") {
                Term::Eq(word(k).ok_or_else(bad)?, word(v).ok_or_else(bad)?)
            } else if let Some((k, v)) = t.split_once("!=") {
                Term::Ne(word(k).ok_or_else(bad)?, word(v).ok_or_else(bad)?)
            } else if let Some((k, rest)) = t.split_once(' ') {
                let rest = rest.trim();
                let (negate, list) = match rest.split_once('(') {
                    Some((op, list)) if op.trim() == "in" => (false, list),
                    Some((op, list)) if op.trim() == "notin" => (true, list),
                    _ => return Err(bad()),
                };
                let list = list.strip_suffix(')').ok_or_else(bad)?;
                let values = list.split(',').map(word).collect::<Option<Vec<_>>>().ok_or_else(bad)?;
                Term::In(word(k).ok_or_else(bad)?, values, negate)
            } else {
                Term::Exists(word(t).ok_or_else(bad)?)
            };
            terms.push(term);
        }
        if terms.is_empty() {
            return Err(bad());
        }
        Ok(Selector(terms))
    }

    /// True when the pod (or any object with a `labels` map) has labels that match.
    pub(crate) fn matches(&self, pod: &Value) -> bool {
        let labels: BTreeMap<&str, &str> = pod
            .get("labels")
            .and_then(Value::as_object)
            .map(|l| l.iter().filter_map(|(k, v)| Some((k.as_str(), v.as_str()?))).collect())
            .unwrap_or_default();
        self.0.iter().all(|t| match t {
            Term::Exists(k) => labels.contains_key(k.as_str()),
            Term::Eq(k, v) => labels.get(k.as_str()) == Some(&v.as_str()),
            Term::Ne(k, v) => labels.get(k.as_str()).is_some_and(|l| l != v),
            Term::In(k, vs, negate) => labels
                .get(k.as_str())
                .is_some_and(|l| vs.iter().any(|v| v == l) != *negate),
        })
    }
}

/// The comma-separated terms, commas inside `( )` kept.
fn split_terms(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut depth, mut start) = (0i32, 0);
    for (i, c) in s.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                out.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&s[start..]);
    out.into_iter().filter(|t| !t.trim().is_empty()).collect()
}

/// A label key or value: non-empty, no spaces.
fn word(s: &str) -> Option<String> {
    let s = s.trim();
    (!s.is_empty() && !s.contains(char::is_whitespace)).then(|| s.to_string())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn terms_match_labels() {
        let pod = json!({"labels": {"env": "prod", "team": "a"}});
        let yes = [
            "env==prod",
            "env==prod,team==a",
            "env",
            "env!=dev",
            "team in (a,b)",
            "team notin (b, c)",
        ];
        for s in yes {
            assert!(Selector::parse(s).unwrap().matches(&pod), "{s}");
        }
        let no = [
            "env==dev",
            "owner",
            "owner!=x",
            "team in (b)",
            "team notin (a)",
            "env==prod,team==b",
        ];
        for s in no {
            assert!(!Selector::parse(s).unwrap().matches(&pod), "{s}");
        }
        assert!(!Selector::parse("env").unwrap().matches(&json!({"id": "/p"})));
        for bad in ["", " , ", "a b", "a in b", "a in (b", "==x"] {
            assert!(Selector::parse(bad).is_err(), "{bad}");
        }
    }
}
