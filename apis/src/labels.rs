//! Marathon's label selector for `GET /v2/apps?label=`: comma-separated terms, all of which
//! must hold: `key`, `key==v`, `key!=v`, `key in (a,b)`, `key notin (a,b)`. Label characters
//! are `-A-Za-z0-9_.`; any other character is written with a backslash before it. Every term
//! requires the label to be present.

use std::collections::BTreeMap;

#[derive(Clone, Debug, PartialEq, Eq)]
enum Term {
    Exists(String),
    Eq(String, String),
    Ne(String, String),
    In(String, Vec<String>),
    NotIn(String, Vec<String>),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Selector(Vec<Term>);

#[derive(Clone, Debug, PartialEq, Eq)]
enum Tok {
    Word(String),
    Eq,
    Ne,
    Open,
    Close,
    Comma,
}

fn is_label_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')
}

fn tokenize(s: &str) -> Option<Vec<Tok>> {
    let mut out = Vec::new();
    let mut chars = s.chars().peekable();
    while let Some(&c) = chars.peek() {
        match c {
            ' ' | '\t' => {
                chars.next();
            }
            ',' | '(' | ')' => {
                chars.next();
                out.push(match c {
                    ',' => Tok::Comma,
                    '(' => Tok::Open,
                    _ => Tok::Close,
                });
            }
            '=' | '!' => {
                chars.next();
                if chars.next() != Some('=') {
                    return None;
                }
                out.push(if c == '=' { Tok::Eq } else { Tok::Ne });
            }
            _ => {
                let mut word = String::new();
                while let Some(&c) = chars.peek() {
                    if c == '\\' {
                        chars.next();
                        word.push(chars.next()?);
                    } else if is_label_char(c) {
                        word.push(c);
                        chars.next();
                    } else {
                        break;
                    }
                }
                if word.is_empty() {
                    return None;
                }
                out.push(Tok::Word(word));
            }
        }
    }
    Some(out)
}

impl Selector {
    /// Parses a selector; `None` when it does not follow the grammar.
    pub(crate) fn parse(s: &str) -> Option<Selector> {
        let toks = tokenize(s)?;
        let mut it = toks.into_iter().peekable();
        let mut terms = Vec::new();
        loop {
            let Some(Tok::Word(key)) = it.next() else {
                return None;
            };
            let term = match it.peek() {
                Some(Tok::Eq | Tok::Ne) => {
                    let eq = it.next() == Some(Tok::Eq);
                    let Some(Tok::Word(v)) = it.next() else {
                        return None;
                    };
                    if eq { Term::Eq(key, v) } else { Term::Ne(key, v) }
                }
                Some(Tok::Word(w)) if w == "in" || w == "notin" => {
                    let negate = w == "notin";
                    it.next();
                    if it.next() != Some(Tok::Open) {
                        return None;
                    }
                    let mut values = Vec::new();
                    loop {
                        let Some(Tok::Word(v)) = it.next() else {
                            return None;
                        };
                        values.push(v);
                        match it.next() {
                            Some(Tok::Comma) => {}
                            Some(Tok::Close) => break,
                            _ => return None,
                        }
                    }
                    if negate {
                        Term::NotIn(key, values)
                    } else {
                        Term::In(key, values)
                    }
                }
                _ => Term::Exists(key),
            };
            terms.push(term);
            match it.next() {
                None => return Some(Selector(terms)),
                Some(Tok::Comma) => {}
                Some(_) => return None,
            }
        }
    }

    pub(crate) fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        self.0.iter().all(|t| match t {
            Term::Exists(k) => labels.contains_key(k),
            Term::Eq(k, v) => labels.get(k) == Some(v),
            Term::Ne(k, v) => labels.get(k).is_some_and(|l| l != v),
            Term::In(k, vs) => labels.get(k).is_some_and(|l| vs.contains(l)),
            Term::NotIn(k, vs) => labels.get(k).is_some_and(|l| !vs.contains(l)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn parses_and_matches_every_form() {
        let l = labels(&[("env", "prod"), ("tier", "web"), ("a b", "x")]);
        let yes = [
            "env",
            "env==prod",
            "env!=dev",
            "env in (dev, prod)",
            "tier notin (db)",
            "env==prod,tier",
            "a\\ b==x",
        ];
        for s in yes {
            assert!(Selector::parse(s).unwrap_or_else(|| panic!("{s}")).matches(&l), "{s}");
        }
        let no = [
            "missing",
            "env==dev",
            "env!=prod",
            "env in (dev)",
            "env notin (prod)",
            "env,missing",
            "missing!=x",
        ];
        for s in no {
            assert!(!Selector::parse(s).unwrap_or_else(|| panic!("{s}")).matches(&l), "{s}");
        }
    }

    #[test]
    fn rejects_malformed() {
        for s in [
            "",
            "env==",
            "env in prod",
            "env in (a",
            "==x",
            "env = x",
            "env,,x",
            "a b",
        ] {
            assert!(Selector::parse(s).is_none(), "{s}");
        }
    }
}
