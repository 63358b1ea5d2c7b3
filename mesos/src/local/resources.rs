//! Resource arithmetic for the local allocator: unreserved scalars (fixed point, 3 decimals as
//! Mesos counts them), ranges (ports) and sets, converted from and to `mesos.v1.Resource` lists.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use crate::v1::{Resource, resource, value};

use super::config::AgentResources;

/// Why a list of `Resource`s cannot be used by the local agent.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub(crate) enum ResourceError {
    /// The resource names a role other than the one the agent offers its resources with.
    #[error("resource {name} is for role {role:?} but the agent offers its resources to role {offered:?}")]
    Reserved {
        name: String,
        role: String,
        offered: String,
    },
    /// The value is missing, negative, not a number, or an empty/inverted range.
    #[error("resource {name} has an invalid value: {reason}")]
    Invalid { name: String, reason: String },
    /// The same name appears with different value types.
    #[error("resource {name} appears with different types")]
    MixedTypes { name: String },
}

/// Inclusive, sorted, disjoint and non-adjacent intervals.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct RangeSet(Vec<(u64, u64)>);

impl RangeSet {
    pub(crate) fn new(ranges: impl IntoIterator<Item = (u64, u64)>) -> Self {
        let mut set = RangeSet::default();
        for r in ranges {
            set.add(r);
        }
        set
    }

    #[cfg(test)]
    pub(crate) fn intervals(&self) -> &[(u64, u64)] {
        &self.0
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn add(&mut self, (begin, end): (u64, u64)) {
        let mut merged = (begin.min(end), begin.max(end));
        let mut out = Vec::with_capacity(self.0.len() + 1);
        for &(b, e) in &self.0 {
            if e.saturating_add(1) < merged.0 || merged.1.saturating_add(1) < b {
                out.push((b, e));
            } else {
                merged = (merged.0.min(b), merged.1.max(e));
            }
        }
        out.push(merged);
        out.sort_unstable();
        self.0 = out;
    }

    fn union(&mut self, other: &RangeSet) {
        for &r in &other.0 {
            self.add(r);
        }
    }

    fn subtract(&mut self, other: &RangeSet) {
        let mut out = Vec::with_capacity(self.0.len());
        for &(b, e) in &self.0 {
            let mut pieces = vec![(b, e)];
            for &(ob, oe) in &other.0 {
                pieces = pieces
                    .into_iter()
                    .flat_map(|(pb, pe)| {
                        let mut keep = Vec::with_capacity(2);
                        if oe < pb || ob > pe {
                            keep.push((pb, pe));
                        } else {
                            if ob > pb {
                                keep.push((pb, ob - 1));
                            }
                            if oe < pe {
                                keep.push((oe + 1, pe));
                            }
                        }
                        keep
                    })
                    .collect();
            }
            out.extend(pieces);
        }
        self.0 = out;
    }

    fn contains(&self, other: &RangeSet) -> bool {
        other
            .0
            .iter()
            .all(|&(ob, oe)| self.0.iter().any(|&(b, e)| b <= ob && oe <= e))
    }
}

impl fmt::Display for RangeSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self.0.iter().map(|(b, e)| format!("{b}-{e}")).collect();
        write!(f, "[{}]", parts.join(", "))
    }
}

/// A bag of unreserved resources keyed by name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Resources {
    /// Thousandths, so that 0.1 + 0.2 cpus is exactly 0.3.
    scalars: BTreeMap<String, i64>,
    ranges: BTreeMap<String, RangeSet>,
    sets: BTreeMap<String, BTreeSet<String>>,
}

fn to_millis(v: f64) -> i64 {
    (v * 1000.0).round() as i64
}

fn from_millis(m: i64) -> f64 {
    m as f64 / 1000.0
}

impl Resources {
    pub(crate) fn from_agent(r: &AgentResources) -> Self {
        let mut out = Resources::default();
        for (name, v) in [("cpus", r.cpus), ("mem", r.mem), ("disk", r.disk), ("gpus", r.gpus)] {
            if v > 0.0 {
                out.scalars.insert(name.to_owned(), to_millis(v));
            }
        }
        let ports = RangeSet::new(r.ports.iter().copied());
        if !ports.is_empty() {
            out.ranges.insert("ports".to_owned(), ports);
        }
        out
    }

    /// Parses resources sent by a framework (in a TaskInfo); they must be of `agent_role`, the
    /// role the agent offers everything with (`*`, or the role it is statically reserved for).
    pub(crate) fn from_protos(list: &[Resource], agent_role: &str) -> Result<Self, ResourceError> {
        use crate::v1::resource::reservation_info::Type as Reservation;
        let mut out = Resources::default();
        for r in list {
            let name = r.name.clone();
            // Dynamic reservations are never offered by the local agent; a static one is the
            // agent's role, written either way Mesos accepts.
            let dynamic = r.reservation.is_some() || r.reservations.iter().any(|x| x.r#type() == Reservation::Dynamic);
            let role = r
                .reservations
                .last()
                .and_then(|x| x.role.clone())
                .unwrap_or_else(|| r.role().to_owned());
            if dynamic || role != agent_role {
                return Err(ResourceError::Reserved {
                    name,
                    role,
                    offered: agent_role.to_owned(),
                });
            }
            let invalid = |reason: &str| ResourceError::Invalid {
                name: name.clone(),
                reason: reason.to_owned(),
            };
            match r.r#type() {
                value::Type::Scalar => {
                    let v = r
                        .scalar
                        .as_ref()
                        .ok_or_else(|| invalid("a SCALAR without a scalar value"))?
                        .value;
                    if !v.is_finite() || v < 0.0 {
                        return Err(invalid("a scalar must be a finite non-negative number"));
                    }
                    if out.ranges.contains_key(&name) || out.sets.contains_key(&name) {
                        return Err(ResourceError::MixedTypes { name });
                    }
                    *out.scalars.entry(name).or_default() += to_millis(v);
                }
                value::Type::Ranges => {
                    let ranges = r.ranges.as_ref().ok_or_else(|| invalid("RANGES without ranges"))?;
                    if ranges.range.iter().any(|x| x.begin > x.end) {
                        return Err(invalid("a range's begin is after its end"));
                    }
                    if out.scalars.contains_key(&name) || out.sets.contains_key(&name) {
                        return Err(ResourceError::MixedTypes { name });
                    }
                    let set = RangeSet::new(ranges.range.iter().map(|x| (x.begin, x.end)));
                    out.ranges.entry(name).or_default().union(&set);
                }
                value::Type::Set => {
                    let set = r.set.as_ref().ok_or_else(|| invalid("a SET without items"))?;
                    if out.scalars.contains_key(&name) || out.ranges.contains_key(&name) {
                        return Err(ResourceError::MixedTypes { name });
                    }
                    out.sets.entry(name).or_default().extend(set.item.iter().cloned());
                }
                value::Type::Text => return Err(invalid("TEXT is not a resource type")),
            }
        }
        out.normalize();
        Ok(out)
    }

    /// The resources as Mesos writes them in offers: with `role` (`*`, or the role they are
    /// statically reserved for), and `allocation_info` for MULTI_ROLE frameworks.
    pub(crate) fn to_protos(&self, allocation_role: Option<&str>, role: &str) -> Vec<Resource> {
        let base = |name: &str, ty: value::Type| Resource {
            name: name.to_owned(),
            r#type: ty as i32,
            role: Some(role.to_owned()),
            allocation_info: allocation_role.map(|role| resource::AllocationInfo {
                role: Some(role.to_owned()),
            }),
            ..Default::default()
        };
        let mut out = Vec::new();
        for (name, range) in &self.ranges {
            let mut r = base(name, value::Type::Ranges);
            r.ranges = Some(value::Ranges {
                range: range
                    .0
                    .iter()
                    .map(|&(begin, end)| value::Range { begin, end })
                    .collect(),
            });
            out.push(r);
        }
        // Mesos's usual order: cpus, mem, disk, gpus, then anything else.
        let known = ["cpus", "mem", "disk", "gpus"];
        let mut names: Vec<&String> = self.scalars.keys().collect();
        names.sort_by_key(|n| (known.iter().position(|k| k == n).unwrap_or(known.len()), n.as_str()));
        for name in names {
            let mut r = base(name, value::Type::Scalar);
            r.scalar = Some(value::Scalar {
                value: from_millis(self.scalars[name]),
            });
            out.push(r);
        }
        for (name, items) in &self.sets {
            let mut r = base(name, value::Type::Set);
            r.set = Some(value::Set {
                item: items.iter().cloned().collect(),
            });
            out.push(r);
        }
        out
    }

    fn normalize(&mut self) {
        self.scalars.retain(|_, v| *v > 0);
        self.ranges.retain(|_, v| !v.is_empty());
        self.sets.retain(|_, v| !v.is_empty());
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.scalars.is_empty() && self.ranges.is_empty() && self.sets.is_empty()
    }

    pub(crate) fn scalar(&self, name: &str) -> f64 {
        from_millis(self.scalars.get(name).copied().unwrap_or(0))
    }

    /// Worth offering: Mesos's default minimum is 0.01 cpus or 32 MB of memory.
    pub(crate) fn is_allocatable(&self) -> bool {
        self.scalars.get("cpus").copied().unwrap_or(0) >= 10 || self.scalars.get("mem").copied().unwrap_or(0) >= 32_000
    }

    pub(crate) fn add(&mut self, other: &Resources) {
        for (k, v) in &other.scalars {
            *self.scalars.entry(k.clone()).or_default() += v;
        }
        for (k, v) in &other.ranges {
            self.ranges.entry(k.clone()).or_default().union(v);
        }
        for (k, v) in &other.sets {
            self.sets.entry(k.clone()).or_default().extend(v.iter().cloned());
        }
        self.normalize();
    }

    /// Removes `other`, never going below zero (the agent's totals may have shrunk across a
    /// restart while recovered tasks still hold more).
    pub(crate) fn subtract(&mut self, other: &Resources) {
        for (k, v) in &other.scalars {
            if let Some(mine) = self.scalars.get_mut(k) {
                *mine = (*mine - v).max(0);
            }
        }
        for (k, v) in &other.ranges {
            if let Some(mine) = self.ranges.get_mut(k) {
                mine.subtract(v);
            }
        }
        for (k, v) in &other.sets {
            if let Some(mine) = self.sets.get_mut(k) {
                mine.retain(|item| !v.contains(item));
            }
        }
        self.normalize();
    }

    pub(crate) fn contains(&self, other: &Resources) -> bool {
        self.missing(other).is_empty()
    }

    /// What `other` needs that `self` lacks, one readable phrase per resource.
    pub(crate) fn missing(&self, other: &Resources) -> Vec<String> {
        let mut out = Vec::new();
        for (k, v) in &other.scalars {
            let have = self.scalars.get(k).copied().unwrap_or(0);
            if have < *v {
                out.push(format!(
                    "{k}: needs {} but only {} offered",
                    from_millis(*v),
                    from_millis(have)
                ));
            }
        }
        for (k, v) in &other.ranges {
            let have = self.ranges.get(k).cloned().unwrap_or_default();
            if !have.contains(v) {
                out.push(format!("{k}: needs {v} but only {have} offered"));
            }
        }
        for (k, v) in &other.sets {
            let have = self.sets.get(k).cloned().unwrap_or_default();
            if !v.is_subset(&have) {
                out.push(format!("{k}: needs {v:?} but only {have:?} offered"));
            }
        }
        out
    }
}

/// Attribute protos from the agent's configured attributes.
pub(crate) fn attribute_protos(attrs: &[(String, super::config::AttributeValue)]) -> Vec<crate::v1::Attribute> {
    use super::config::AttributeValue as A;
    attrs
        .iter()
        .map(|(name, v)| {
            let mut a = crate::v1::Attribute {
                name: name.clone(),
                ..Default::default()
            };
            match v {
                A::Text(t) => {
                    a.r#type = value::Type::Text as i32;
                    a.text = Some(value::Text { value: t.clone() });
                }
                A::Scalar(s) => {
                    a.r#type = value::Type::Scalar as i32;
                    a.scalar = Some(value::Scalar { value: *s });
                }
                A::Ranges(r) => {
                    a.r#type = value::Type::Ranges as i32;
                    a.ranges = Some(value::Ranges {
                        range: r.iter().map(|&(begin, end)| value::Range { begin, end }).collect(),
                    });
                }
                A::Set(items) => {
                    a.r#type = value::Type::Set as i32;
                    a.set = Some(value::Set { item: items.clone() });
                }
            }
            a
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scalar(name: &str, v: f64) -> Resource {
        Resource {
            name: name.into(),
            r#type: value::Type::Scalar as i32,
            scalar: Some(value::Scalar { value: v }),
            ..Default::default()
        }
    }

    fn ports(ranges: &[(u64, u64)]) -> Resource {
        Resource {
            name: "ports".into(),
            r#type: value::Type::Ranges as i32,
            ranges: Some(value::Ranges {
                range: ranges.iter().map(|&(begin, end)| value::Range { begin, end }).collect(),
            }),
            ..Default::default()
        }
    }

    fn agent() -> Resources {
        Resources::from_agent(&AgentResources {
            cpus: 2.0,
            mem: 2048.0,
            disk: 4096.0,
            gpus: 0.0,
            ports: vec![(31000, 32000)],
        })
    }

    #[test]
    fn fixed_point_scalars_add_up_exactly() {
        let mut total = agent();
        let task = Resources::from_protos(&[scalar("cpus", 0.1), scalar("mem", 32.0)], "*").unwrap();
        for _ in 0..20 {
            assert!(total.contains(&task));
            total.subtract(&task);
        }
        assert!(!total.contains(&task));
        assert_eq!(total.scalar("cpus"), 0.0);
        assert_eq!(total.scalar("mem"), 2048.0 - 640.0);
        assert!(total.missing(&task)[0].starts_with("cpus: needs 0.1 but only 0 offered"));
    }

    #[test]
    fn port_ranges_split_and_merge() {
        let mut total = agent();
        let task = Resources::from_protos(&[ports(&[(31005, 31005), (31500, 31600)])], "*").unwrap();
        total.subtract(&task);
        assert_eq!(
            total.ranges["ports"].intervals(),
            &[(31000, 31004), (31006, 31499), (31601, 32000)]
        );
        assert!(!total.contains(&task));
        total.add(&task);
        assert_eq!(total, agent());
    }

    #[test]
    fn offers_look_like_mesos_offers() {
        let protos = agent().to_protos(Some("*"), "*");
        let names: Vec<&str> = protos.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, ["ports", "cpus", "mem", "disk"]);
        assert!(protos.iter().all(|r| r.role() == "*"));
        assert_eq!(protos[0].ranges.as_ref().unwrap().range[0].end, 32000);
        assert_eq!(Resources::from_protos(&protos, "*").unwrap(), agent());
        let reserved = agent().to_protos(None, "web");
        assert!(reserved.iter().all(|r| r.role() == "web"));
        assert_eq!(Resources::from_protos(&reserved, "web").unwrap(), agent());
        assert!(matches!(
            Resources::from_protos(&reserved, "*"),
            Err(ResourceError::Reserved { .. })
        ));
        assert!(Resources::from_protos(&protos, "web").is_err());
    }

    #[test]
    fn reserved_and_invalid_resources_are_refused() {
        let mut r = scalar("cpus", 1.0);
        r.role = Some("web".into());
        assert!(matches!(
            Resources::from_protos(&[r], "*"),
            Err(ResourceError::Reserved { .. })
        ));
        assert!(matches!(
            Resources::from_protos(&[scalar("mem", -1.0)], "*"),
            Err(ResourceError::Invalid { .. })
        ));
        assert!(matches!(
            Resources::from_protos(&[scalar("mem", f64::NAN)], "*"),
            Err(ResourceError::Invalid { .. })
        ));
        assert!(matches!(
            Resources::from_protos(&[ports(&[(5, 1)])], "*"),
            Err(ResourceError::Invalid { .. })
        ));
        let mut mixed = ports(&[(1, 2)]);
        mixed.name = "cpus".into();
        assert!(matches!(
            Resources::from_protos(&[scalar("cpus", 1.0), mixed], "*"),
            Err(ResourceError::MixedTypes { .. })
        ));
    }

    #[test]
    fn allocatable_needs_some_cpu_or_memory() {
        let mut r = agent();
        assert!(r.is_allocatable());
        r.subtract(&Resources::from_protos(&[scalar("cpus", 2.0), scalar("mem", 2020.0)], "*").unwrap());
        assert!(!r.is_allocatable());
        assert!(!r.is_empty());
    }
}
