//! Marathon's timestamps: ISO-8601 in UTC with milliseconds, e.g. `2015-09-30T09:09:17.614Z`.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, SecondsFormat, TimeZone, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A point in time at millisecond precision; versions of apps are timestamps.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(DateTime<Utc>);

impl Timestamp {
    pub fn now() -> Self {
        Self::from_millis(Utc::now().timestamp_millis())
    }

    pub fn from_millis(ms: i64) -> Self {
        Self(Utc.timestamp_millis_opt(ms).single().unwrap_or_default())
    }

    pub fn millis(&self) -> i64 {
        self.0.timestamp_millis()
    }

    /// A timestamp strictly after `self`, never equal to `now` of a fast caller twice:
    /// versions must be unique per app even when two changes land in the same millisecond.
    pub fn next_after(self, candidate: Timestamp) -> Timestamp {
        if candidate > self {
            candidate
        } else {
            Self::from_millis(self.millis() + 1)
        }
    }

    pub fn as_datetime(&self) -> DateTime<Utc> {
        self.0
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.to_rfc3339_opts(SecondsFormat::Millis, true))
    }
}

impl FromStr for Timestamp {
    type Err = chrono::ParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let dt = DateTime::parse_from_rfc3339(s)?;
        Ok(Self::from_millis(dt.with_timezone(&Utc).timestamp_millis()))
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

impl schemars::JsonSchema for Timestamp {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Timestamp".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({ "type": "string", "format": "date-time" })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_marathon_format() {
        let t: Timestamp = "2015-09-30T09:09:17.614Z".parse().unwrap();
        assert_eq!(t.to_string(), "2015-09-30T09:09:17.614Z");
        let j = serde_json::to_string(&t).unwrap();
        assert_eq!(j, "\"2015-09-30T09:09:17.614Z\"");
    }

    #[test]
    fn next_after_is_strictly_later() {
        let t = Timestamp::from_millis(1000);
        assert_eq!(t.next_after(t).millis(), 1001);
        assert_eq!(t.next_after(Timestamp::from_millis(5000)).millis(), 5000);
    }
}
