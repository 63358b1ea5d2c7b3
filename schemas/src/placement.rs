//! Marathon's placement constraints applied to one offer (`mesosphere.mesos.Constraints`).
//!
//! An offer's agent and every instance already placed are seen as [`AgentFacts`]: the
//! hostname, the fault domain and the attributes, each attribute already written as Marathon
//! compares it ([`AttributeValue::marathon_string`]). The callers choose which instances count
//! as placed: Marathon counts the run spec's active instances of its current config.
//!
//! ```
//! use schemas::Constraint;
//! use schemas::placement::{AgentFacts, meets_constraint};
//!
//! let unique = Constraint::new("hostname", "UNIQUE", None).unwrap();
//! let a = AgentFacts::new("agent-a");
//! let b = AgentFacts::new("agent-b");
//! assert!(meets_constraint(&[&a], &b, &unique));
//! assert!(!meets_constraint(&[&a], &a, &unique));
//! ```

use std::collections::BTreeMap;

use crate::{Constraint, ConstraintOperator};

/// The value of an agent attribute, as Mesos types it.
#[derive(Clone, Debug, PartialEq)]
pub enum AttributeValue {
    Text(String),
    Scalar(f64),
    /// Inclusive ranges.
    Ranges(Vec<(u64, u64)>),
    Set(Vec<String>),
}

impl AttributeValue {
    /// The string constraints compare: scalars as `0.###`, ranges as `[b-e,...]` sorted by
    /// begin, sets as `{a,b}` sorted.
    pub fn marathon_string(&self) -> String {
        match self {
            AttributeValue::Text(t) => t.clone(),
            AttributeValue::Scalar(v) => format_scalar(*v),
            AttributeValue::Ranges(ranges) => {
                let mut ranges = ranges.clone();
                ranges.sort_by_key(|r| r.0);
                let parts: Vec<String> = ranges.iter().map(|(b, e)| format!("{b}-{e}")).collect();
                format!("[{}]", parts.join(","))
            }
            AttributeValue::Set(items) => {
                let mut items = items.clone();
                items.sort();
                format!("{{{}}}", items.join(","))
            }
        }
    }

    /// An attribute as an agent's configuration writes it (Mesos's `--attributes` syntax):
    /// `[b-e,...]` is ranges, `{a,b}` a set, a number a scalar, anything else text.
    pub fn parse(s: &str) -> Result<AttributeValue, String> {
        let s = s.trim();
        if let Some(inner) = s.strip_prefix('[').and_then(|r| r.strip_suffix(']')) {
            return parse_ranges(inner).map(AttributeValue::Ranges);
        }
        if let Some(inner) = s.strip_prefix('{').and_then(|r| r.strip_suffix('}')) {
            let items = inner.split(',').map(|i| i.trim().to_owned()).filter(|i| !i.is_empty());
            return Ok(AttributeValue::Set(items.collect()));
        }
        if is_scalar_text(s) {
            return s.parse().map(AttributeValue::Scalar).map_err(|e| format!("{s}: {e}"));
        }
        Ok(AttributeValue::Text(s.to_owned()))
    }
}

/// Inclusive ranges written `b-e,b-e` (the inside of Mesos's `[...]`).
pub fn parse_ranges(inner: &str) -> Result<Vec<(u64, u64)>, String> {
    inner
        .split(',')
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .map(|r| {
            let (b, e) = r.split_once('-').ok_or_else(|| format!("{r}: expected begin-end"))?;
            let num = |x: &str| x.trim().parse::<u64>().map_err(|e| format!("{r}: {e}"));
            let (b, e) = (num(b)?, num(e)?);
            if b > e {
                return Err(format!("{r}: begin is above end"));
            }
            Ok((b, e))
        })
        .collect()
}

/// Marathon's `MesosScalarValue`: digits with an optional fraction.
fn is_scalar_text(s: &str) -> bool {
    let (whole, fraction) = match s.split_once('.') {
        Some((w, f)) => (w, Some(f)),
        None => (s, None),
    };
    let digits = |x: &str| !x.is_empty() && x.bytes().all(|b| b.is_ascii_digit());
    digits(whole) && fraction.is_none_or(digits)
}

/// Java's `DecimalFormat("0.###")`: at most three decimals, rounded half-even on the exact
/// binary value, no trailing zeros.
pub fn format_scalar(v: f64) -> String {
    // Rust rounds the exact binary value to nearest, ties to even: what DecimalFormat does.
    let s = format!("{v:.3}");
    let s = if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        s
    };
    if s == "-0" { "0".to_owned() } else { s }
}

/// An agent as constraints see it: where an offer comes from, or where an instance runs.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AgentFacts {
    pub hostname: String,
    pub region: Option<String>,
    pub zone: Option<String>,
    /// Attribute name to its [`AttributeValue::marathon_string`].
    pub attributes: BTreeMap<String, String>,
}

impl AgentFacts {
    pub fn new(hostname: impl Into<String>) -> Self {
        AgentFacts {
            hostname: hostname.into(),
            ..Default::default()
        }
    }

    pub fn with_attribute(mut self, name: impl Into<String>, value: &AttributeValue) -> Self {
        self.attributes.insert(name.into(), value.marathon_string());
        self
    }

    /// The value a constraint on `field` reads: `hostname` (or `@hostname`), `@region`,
    /// `@zone`, else the attribute of that name.
    pub fn field(&self, field: &str) -> Option<&str> {
        match field {
            "hostname" | "@hostname" => Some(&self.hostname),
            "@region" => self.region.as_deref(),
            "@zone" => self.zone.as_deref(),
            _ => self.attributes.get(field).map(String::as_str),
        }
    }
}

/// Whether an offer from `offer` may take one more instance, given the instances `placed`.
pub fn meets_constraint(placed: &[&AgentFacts], offer: &AgentFacts, c: &Constraint) -> bool {
    let Some(offered) = offer.field(&c.field) else {
        // Only UNLIKE is met by an agent that lacks the field.
        return c.operator == ConstraintOperator::Unlike;
    };
    let value = c.value.as_deref().unwrap_or("");
    let placed_values = || placed.iter().map(|p| p.field(&c.field));
    match c.operator {
        ConstraintOperator::Unique => placed_values().all(|v| v != Some(offered)),
        ConstraintOperator::Cluster if value.is_empty() => {
            placed.first().is_none_or(|p| p.field(&c.field) == Some(offered))
        }
        ConstraintOperator::Cluster => offered == value,
        ConstraintOperator::GroupBy => group_by_allows(offered, placed_values(), int_value(value, 0).max(0)),
        ConstraintOperator::MaxPer => {
            let max = int_value(value, 0);
            (placed_values().filter(|v| *v == Some(offered)).count() as i64) < i64::from(max)
        }
        ConstraintOperator::Like => !value.is_empty() && full_match(c, offered),
        ConstraintOperator::Unlike => !value.is_empty() && !full_match(c, offered),
        ConstraintOperator::Is => {
            if is_scalar_text(value) {
                value.parse::<f64>().is_ok_and(|v| offered == format_scalar(v))
            } else {
                offered == value
            }
        }
    }
}

/// The constraints among `constraints` that an offer from `offer` does not meet.
pub fn unmet_constraints<'c>(
    placed: &[&AgentFacts],
    offer: &AgentFacts,
    constraints: &'c [Constraint],
) -> Vec<&'c Constraint> {
    constraints
        .iter()
        .filter(|c| !meets_constraint(placed, offer, c))
        .collect()
}

/// GROUP_BY as Marathon released it (up to 1.10): a value no instance has yet is always
/// welcome; a value already used only while at least `minimum` values are in use and it is
/// among the least used. Without a minimum, spreading depends on the order offers come in.
fn group_by_allows<'a>(offered: &str, placed: impl Iterator<Item = Option<&'a str>>, minimum: i32) -> bool {
    let mut groups: BTreeMap<Option<&str>, usize> = BTreeMap::new();
    for v in placed {
        *groups.entry(v).or_default() += 1;
    }
    let least = groups.values().copied().min().unwrap_or(0);
    match groups.get(&Some(offered)) {
        Some(&count) => groups.len() as i64 >= i64::from(minimum) && count == least,
        None => true,
    }
}

/// Marathon's `getIntValue`: `inf` is unbounded, an integer itself, anything else `default`.
fn int_value(s: &str, default: i32) -> i32 {
    match s {
        "inf" => i32::MAX,
        _ => s.parse().unwrap_or(default),
    }
}

fn full_match(c: &Constraint, offered: &str) -> bool {
    c.pattern.as_ref().is_some_and(|re| re.is_match(offered))
}

/// The valid constraints of an app's `[[field, OP, value?]]` list (validation rejected the
/// others before the app was stored).
pub fn parse_app_constraints(constraints: &[Vec<String>]) -> Vec<Constraint> {
    constraints
        .iter()
        .filter_map(|c| Constraint::from_app_entry(c).ok())
        .collect()
}

#[cfg(test)]
mod tests;
