//! Placement constraints (`[field, OPERATOR, value?]`) and Marathon's rules for them, shared by
//! apps and pods.

use std::fmt;
use std::str::FromStr;

use regex::Regex;

use crate::Violation;

/// A constraint operator. Input is case-insensitive; Marathon prints them upper-case.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ConstraintOperator {
    Unique,
    Cluster,
    GroupBy,
    Like,
    Unlike,
    MaxPer,
    Is,
}

impl ConstraintOperator {
    pub const ALL: [ConstraintOperator; 7] = [
        ConstraintOperator::Unique,
        ConstraintOperator::Cluster,
        ConstraintOperator::GroupBy,
        ConstraintOperator::Like,
        ConstraintOperator::Unlike,
        ConstraintOperator::MaxPer,
        ConstraintOperator::Is,
    ];

    /// The operator named `s` in any case (`unique`, `Group_By`), if there is one.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|op| op.as_str().eq_ignore_ascii_case(s))
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ConstraintOperator::Unique => "UNIQUE",
            ConstraintOperator::Cluster => "CLUSTER",
            ConstraintOperator::GroupBy => "GROUP_BY",
            ConstraintOperator::Like => "LIKE",
            ConstraintOperator::Unlike => "UNLIKE",
            ConstraintOperator::MaxPer => "MAX_PER",
            ConstraintOperator::Is => "IS",
        }
    }
}

impl fmt::Display for ConstraintOperator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A constraint that passed Marathon's rules, ready for placement decisions.
#[derive(Clone, Debug)]
pub struct Constraint {
    /// `hostname`, `@hostname`, `@region`, `@zone` or an agent attribute name.
    pub field: String,
    pub operator: ConstraintOperator,
    pub value: Option<String>,
    /// For LIKE/UNLIKE: the value anchored at both ends (Marathon matches the whole string).
    pub pattern: Option<Regex>,
}

impl PartialEq for Constraint {
    fn eq(&self, other: &Self) -> bool {
        self.field == other.field && self.operator == other.operator && self.value == other.value
    }
}

/// Why a constraint is invalid, in Marathon's words.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ConstraintError {
    /// Fewer than 2 or more than 3 entries.
    #[error("Each constraint must have either 2 or 3 fields")]
    Arity,
    /// The field name is empty.
    #[error("illegal constraint specification")]
    MissingField,
    /// Not one of the known operators.
    #[error("operator must be one of the following UNIQUE, CLUSTER, GROUP_BY, LIKE, MAX_PER, UNLIKE or IS")]
    UnknownOperator,
    /// UNIQUE was given a value.
    #[error("UNIQUE does not accept a value")]
    UniqueWithValue,
    /// GROUP_BY's value is not an integer.
    #[error("GROUP BY must define an integer value or else no value at all")]
    GroupByNotInteger,
    /// MAX_PER's value is missing or not an integer.
    #[error("MAX_PER requires an integer value")]
    MaxPerNotInteger,
    /// LIKE/UNLIKE without a value.
    #[error("LIKE and UNLIKE require a non-empty, regular expression value")]
    MissingRegex,
    /// LIKE/UNLIKE with a value that does not compile.
    #[error("is not a valid regular expression")]
    InvalidRegex,
    /// IS with a value other than Mesos text or a number.
    #[error(
        "IS only supports Mesos text and float values (see http://mesos.apache.org/documentation/latest/attributes-resources/)"
    )]
    IsNotText,
}

impl Constraint {
    /// Checks one constraint as apps write it (`["hostname", "UNIQUE"]`).
    pub fn from_app_entry(entry: &[String]) -> Result<Self, ConstraintError> {
        match entry {
            [field, op] => Self::new(field, op, None),
            [field, op, value] => Self::new(field, op, Some(value)),
            _ => Err(ConstraintError::Arity),
        }
    }

    /// Checks one constraint given by parts (pods write `{fieldName, operator, value}`).
    pub fn new(field: &str, operator: &str, value: Option<&str>) -> Result<Self, ConstraintError> {
        if field.is_empty() {
            return Err(ConstraintError::MissingField);
        }
        let op = ConstraintOperator::parse(operator).ok_or(ConstraintError::UnknownOperator)?;
        let is_int = |v: Option<&str>| v.is_some_and(|v| v.parse::<i32>().is_ok());
        let mut pattern = None;
        match op {
            ConstraintOperator::Unique if value.is_some() => return Err(ConstraintError::UniqueWithValue),
            ConstraintOperator::GroupBy if value.is_some() && !is_int(value) => {
                return Err(ConstraintError::GroupByNotInteger);
            }
            ConstraintOperator::MaxPer if !is_int(value) => return Err(ConstraintError::MaxPerNotInteger),
            ConstraintOperator::Like | ConstraintOperator::Unlike => {
                let v = value.ok_or(ConstraintError::MissingRegex)?;
                let re = Regex::new(&format!("^(?:{v})$")).map_err(|_| ConstraintError::InvalidRegex)?;
                pattern = Some(re);
            }
            ConstraintOperator::Is if !value.unwrap_or("").chars().all(is_mesos_text) => {
                return Err(ConstraintError::IsNotText);
            }
            _ => {}
        }
        Ok(Constraint {
            field: field.to_string(),
            operator: op,
            value: value.map(str::to_string),
            pattern,
        })
    }
}

impl FromStr for ConstraintOperator {
    type Err = ConstraintError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s).ok_or(ConstraintError::UnknownOperator)
    }
}

fn is_mesos_text(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '/' | '.' | '-')
}

/// Every violation among `constraints` (apps' `[[field, OP, value?]]`), each at `{path}(i)`.
pub fn validate_constraints(constraints: &[Vec<String>], path: &str) -> Vec<Violation> {
    constraints
        .iter()
        .enumerate()
        .filter_map(|(i, c)| {
            Constraint::from_app_entry(c)
                .err()
                .map(|e| Violation::new(format!("{path}({i})"), e.to_string()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(parts: &[&str]) -> Result<Constraint, ConstraintError> {
        Constraint::from_app_entry(&parts.iter().map(|s| s.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn accepts_marathons_operators_in_any_case() {
        assert_eq!(
            check(&["hostname", "unique"]).unwrap().operator,
            ConstraintOperator::Unique
        );
        assert!(check(&["rack", "CLUSTER"]).is_ok());
        assert!(check(&["rack", "cluster", "a"]).is_ok());
        assert!(check(&["rack", "Group_By"]).is_ok());
        assert!(check(&["rack", "GROUP_BY", "3"]).is_ok());
        assert!(check(&["rack", "MAX_PER", "2"]).is_ok());
        assert!(check(&["hostname", "LIKE", "srv2.*"]).is_ok());
        assert!(check(&["hostname", "UNLIKE", "a|b"]).is_ok());
        assert!(check(&["os", "IS", "ubuntu-20.04"]).is_ok());
        assert!(check(&["os", "IS"]).is_ok());
    }

    #[test]
    fn rejects_with_marathons_messages() {
        let msg = |p: &[&str]| check(p).unwrap_err().to_string();
        assert_eq!(msg(&["hostname"]), "Each constraint must have either 2 or 3 fields");
        assert_eq!(
            msg(&["a", "UNIQUE", "b", "c"]),
            "Each constraint must have either 2 or 3 fields"
        );
        assert_eq!(msg(&["", "UNIQUE"]), "illegal constraint specification");
        assert_eq!(
            msg(&["a", "NEAR"]),
            "operator must be one of the following UNIQUE, CLUSTER, GROUP_BY, LIKE, MAX_PER, UNLIKE or IS"
        );
        assert_eq!(msg(&["a", "UNIQUE", ""]), "UNIQUE does not accept a value");
        assert_eq!(
            msg(&["a", "GROUP_BY", "x"]),
            "GROUP BY must define an integer value or else no value at all"
        );
        assert_eq!(msg(&["a", "MAX_PER"]), "MAX_PER requires an integer value");
        assert_eq!(msg(&["a", "MAX_PER", "1.5"]), "MAX_PER requires an integer value");
        assert_eq!(
            msg(&["a", "LIKE"]),
            "LIKE and UNLIKE require a non-empty, regular expression value"
        );
        assert_eq!(msg(&["a", "LIKE", "("]), "is not a valid regular expression");
        assert!(msg(&["a", "IS", "{a,b}"]).starts_with("IS only supports Mesos text and float values"));
    }

    #[test]
    fn like_matches_the_whole_value() {
        let c = check(&["hostname", "LIKE", "srv2.*"]).unwrap();
        let re = c.pattern.unwrap();
        assert!(re.is_match("srv2.example.com"));
        assert!(!re.is_match("xsrv2"));
    }

    #[test]
    fn violations_point_at_the_entry() {
        let cs = vec![
            vec!["hostname".to_string(), "UNIQUE".to_string()],
            vec!["x".to_string()],
        ];
        let v = validate_constraints(&cs, "/constraints");
        assert_eq!(
            v,
            vec![Violation::new(
                "/constraints(1)",
                "Each constraint must have either 2 or 3 fields"
            )]
        );
    }
}
