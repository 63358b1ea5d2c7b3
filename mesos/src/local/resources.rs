//! Resource arithmetic for the local allocator: scalars (fixed point, 3 decimals as Mesos
//! counts them), ranges (ports) and sets, each in a pool (the agent's own resources, or one
//! dynamic reservation), and persistent volumes; converted from and to `mesos.v1.Resource`
//! lists. Resources of different pools never mix: 1 cpu reserved for `web` and 1 unreserved
//! cpu are two resources, as in Mesos.

use std::collections::{BTreeMap, BTreeSet};

use crate::v1::{Resource, resource, value};

use super::config::AgentResources;
use super::range_set::RangeSet;
use super::reservations::{Pool, Volume, disk_info, write_pool};

/// Why a list of `Resource`s cannot be used by the local agent.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub(crate) enum ResourceError {
    /// The resource is reserved in a way this agent does not offer.
    #[error("resource {name} cannot be used on this agent: {reason}")]
    Reserved { name: String, reason: String },
    /// The value is missing, negative, not a number, or an empty/inverted range.
    #[error("resource {name} has an invalid value: {reason}")]
    Invalid { name: String, reason: String },
    /// The same name appears with different value types.
    #[error("resource {name} appears with different types")]
    MixedTypes { name: String },
}

type Key = (Pool, String);

/// A bag of resources keyed by pool and name, plus persistent volumes by persistence id.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Resources {
    /// Thousandths, so that 0.1 + 0.2 cpus is exactly 0.3.
    scalars: BTreeMap<Key, i64>,
    ranges: BTreeMap<Key, RangeSet>,
    sets: BTreeMap<Key, BTreeSet<String>>,
    volumes: BTreeMap<String, Volume>,
}

pub(crate) fn to_millis(v: f64) -> i64 {
    (v * 1000.0).round() as i64
}

fn from_millis(m: i64) -> f64 {
    m as f64 / 1000.0
}

/// How a key reads in messages: `cpus`, or `cpus(web, reserved)`.
fn describe((pool, name): &Key) -> String {
    match pool {
        Pool::Agent => name.clone(),
        Pool::Dynamic(r) => format!("{name}(reserved for {})", r.role),
    }
}

impl Resources {
    pub(crate) fn from_agent(r: &AgentResources) -> Self {
        let mut out = Resources::default();
        for (name, v) in [("cpus", r.cpus), ("mem", r.mem), ("disk", r.disk), ("gpus", r.gpus)] {
            if v > 0.0 {
                out.scalars.insert((Pool::Agent, name.to_owned()), to_millis(v));
            }
        }
        let ports = RangeSet::new(r.ports.iter().copied());
        if !ports.is_empty() {
            out.ranges.insert((Pool::Agent, "ports".to_owned()), ports);
        }
        out
    }

    /// Parses resources sent by a framework (in a TaskInfo or an operation). The agent's own
    /// resources must be of `agent_role` (`*`, or the role it is statically reserved for);
    /// dynamically reserved ones and persistent volumes are taken in either format.
    pub(crate) fn from_protos(list: &[Resource], agent_role: &str) -> Result<Self, ResourceError> {
        let mut out = Resources::default();
        for r in list {
            let name = r.name.clone();
            let pool = Pool::of(r, agent_role).map_err(|reason| ResourceError::Reserved {
                name: name.clone(),
                reason,
            })?;
            let invalid = |reason: &str| ResourceError::Invalid {
                name: name.clone(),
                reason: reason.to_owned(),
            };
            let key = (pool, name.clone());
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
                    if out.ranges.contains_key(&key) || out.sets.contains_key(&key) {
                        return Err(ResourceError::MixedTypes { name });
                    }
                    match &r.disk {
                        Some(disk) => out.add_volume(key, disk, to_millis(v)).map_err(|e| invalid(&e))?,
                        None => *out.scalars.entry(key).or_default() += to_millis(v),
                    }
                }
                value::Type::Ranges => {
                    let ranges = r.ranges.as_ref().ok_or_else(|| invalid("RANGES without ranges"))?;
                    if ranges.range.iter().any(|x| x.begin > x.end) {
                        return Err(invalid("a range's begin is after its end"));
                    }
                    if out.scalars.contains_key(&key) || out.sets.contains_key(&key) {
                        return Err(ResourceError::MixedTypes { name });
                    }
                    let set = RangeSet::new(ranges.range.iter().map(|x| (x.begin, x.end)));
                    out.ranges.entry(key).or_default().union(&set);
                }
                value::Type::Set => {
                    let set = r.set.as_ref().ok_or_else(|| invalid("a SET without items"))?;
                    if out.scalars.contains_key(&key) || out.ranges.contains_key(&key) {
                        return Err(ResourceError::MixedTypes { name });
                    }
                    out.sets.entry(key).or_default().extend(set.item.iter().cloned());
                }
                value::Type::Text => return Err(invalid("TEXT is not a resource type")),
            }
        }
        out.normalize();
        Ok(out)
    }

    /// A `disk` resource with disk info: a persistent volume, the only kind the agent has.
    fn add_volume(&mut self, (pool, name): Key, disk: &resource::DiskInfo, size: i64) -> Result<(), String> {
        if name != "disk" {
            return Err("only disk resources can have disk info".into());
        }
        if disk.source.is_some() {
            return Err("disk sources (PATH, MOUNT, ...) are not supported by the local agent".into());
        }
        let (Some(persistence), Some(volume)) = (&disk.persistence, &disk.volume) else {
            return Err("disk info must name a persistence id and a volume".into());
        };
        let id = &persistence.id;
        if id.is_empty() || id.contains('/') || id.contains('\0') || id == "." || id == ".." || id.len() > 255 {
            return Err(format!("persistence id '{id}' cannot be a directory name"));
        }
        if self.volumes.contains_key(id) {
            return Err(format!("persistence id '{id}' appears twice"));
        }
        self.volumes.insert(
            id.clone(),
            Volume {
                pool,
                size,
                principal: persistence.principal.clone(),
                container_path: volume.container_path.clone(),
                mode: volume.mode,
            },
        );
        Ok(())
    }

    /// The resources as Mesos writes them in offers: `allocation_info` for MULTI_ROLE
    /// frameworks, and pools in the format of a framework with or without `refinement`
    /// (RESERVATION_REFINEMENT).
    pub(crate) fn to_protos(&self, allocation_role: Option<&str>, agent_role: &str, refinement: bool) -> Vec<Resource> {
        let base = |(pool, name): &Key, ty: value::Type| {
            let mut r = Resource {
                name: name.clone(),
                r#type: ty as i32,
                allocation_info: allocation_role.map(|role| resource::AllocationInfo {
                    role: Some(role.to_owned()),
                }),
                ..Default::default()
            };
            write_pool(&mut r, pool, agent_role, refinement);
            r
        };
        let mut out = Vec::new();
        for (key, range) in &self.ranges {
            let mut r = base(key, value::Type::Ranges);
            r.ranges = Some(value::Ranges {
                range: range
                    .intervals()
                    .iter()
                    .map(|&(begin, end)| value::Range { begin, end })
                    .collect(),
            });
            out.push(r);
        }
        // Mesos's usual order: cpus, mem, disk, gpus, then anything else.
        let known = ["cpus", "mem", "disk", "gpus"];
        let mut keys: Vec<&Key> = self.scalars.keys().collect();
        keys.sort_by_key(|(pool, n)| {
            (
                known.iter().position(|k| k == n).unwrap_or(known.len()),
                n.as_str(),
                pool,
            )
        });
        for key in keys {
            let mut r = base(key, value::Type::Scalar);
            r.scalar = Some(value::Scalar {
                value: from_millis(self.scalars[key]),
            });
            out.push(r);
        }
        for (id, v) in &self.volumes {
            let mut r = base(&(v.pool.clone(), "disk".to_owned()), value::Type::Scalar);
            r.scalar = Some(value::Scalar {
                value: from_millis(v.size),
            });
            r.disk = Some(disk_info(id, v));
            out.push(r);
        }
        for (key, items) in &self.sets {
            let mut r = base(key, value::Type::Set);
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
        self.scalars.is_empty() && self.ranges.is_empty() && self.sets.is_empty() && self.volumes.is_empty()
    }

    /// The amount of scalar `name` in every pool, volumes not included.
    pub(crate) fn scalar(&self, name: &str) -> f64 {
        from_millis(
            self.scalars
                .iter()
                .filter(|((_, n), _)| n == name)
                .map(|(_, v)| v)
                .sum(),
        )
    }

    /// Worth offering: Mesos's default minimum is 0.01 cpus or 32 MB of memory.
    pub(crate) fn is_allocatable(&self) -> bool {
        self.scalar("cpus") >= 0.01 || self.scalar("mem") >= 32.0
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
        for (id, v) in &other.volumes {
            self.volumes.insert(id.clone(), v.clone());
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
        for id in other.volumes.keys() {
            self.volumes.remove(id);
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
                    "{}: needs {} but only {} offered",
                    describe(k),
                    from_millis(*v),
                    from_millis(have)
                ));
            }
        }
        for (k, v) in &other.ranges {
            let have = self.ranges.get(k).cloned().unwrap_or_default();
            if !have.contains(v) {
                out.push(format!("{}: needs {v} but only {have} offered", describe(k)));
            }
        }
        for (k, v) in &other.sets {
            let have = self.sets.get(k).cloned().unwrap_or_default();
            if !v.is_subset(&have) {
                out.push(format!("{}: needs {v:?} but only {have:?} offered", describe(k)));
            }
        }
        for (id, v) in &other.volumes {
            if self.volumes.get(id) != Some(v) {
                out.push(format!("persistent volume '{id}' is not offered as given"));
            }
        }
        out
    }

    /// Only what frameworks of `roles` may be offered: the agent's own resources and the
    /// dynamic reservations (with their volumes) of those roles.
    pub(crate) fn offerable_to(&self, roles: &[String]) -> Resources {
        let keep = |pool: &Pool| match pool {
            Pool::Agent => true,
            Pool::Dynamic(r) => roles.contains(&r.role),
        };
        Resources {
            scalars: self
                .scalars
                .iter()
                .filter(|((p, _), _)| keep(p))
                .map(|(k, v)| (k.clone(), *v))
                .collect(),
            ranges: self
                .ranges
                .iter()
                .filter(|((p, _), _)| keep(p))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            sets: self
                .sets
                .iter()
                .filter(|((p, _), _)| keep(p))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            volumes: self
                .volumes
                .iter()
                .filter(|(_, v)| keep(&v.pool))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        }
    }

    /// The same amounts in `pool`: what a RESERVE takes from and an UNRESERVE gives back to
    /// (volumes become plain disk).
    pub(crate) fn moved_to(&self, pool: &Pool) -> Resources {
        let mut out = Resources::default();
        for ((_, name), v) in &self.scalars {
            *out.scalars.entry((pool.clone(), name.clone())).or_default() += v;
        }
        for v in self.volumes.values() {
            *out.scalars.entry((pool.clone(), "disk".to_owned())).or_default() += v.size;
        }
        for ((_, name), v) in &self.ranges {
            out.ranges.entry((pool.clone(), name.clone())).or_default().union(v);
        }
        for ((_, name), v) in &self.sets {
            out.sets
                .entry((pool.clone(), name.clone()))
                .or_default()
                .extend(v.iter().cloned());
        }
        out.normalize();
        out
    }

    /// The plain disk of their own pools that these volumes are made of (CREATE takes it,
    /// DESTROY gives it back); everything else as it is.
    pub(crate) fn without_volumes(&self) -> Resources {
        let mut out = Resources {
            volumes: BTreeMap::new(),
            ..self.clone()
        };
        for v in self.volumes.values() {
            *out.scalars.entry((v.pool.clone(), "disk".to_owned())).or_default() += v.size;
        }
        out.normalize();
        out
    }

    /// Every pool that holds something.
    pub(crate) fn pools(&self) -> BTreeSet<&Pool> {
        let keys = self.scalars.keys().chain(self.ranges.keys()).chain(self.sets.keys());
        keys.map(|(p, _)| p)
            .chain(self.volumes.values().map(|v| &v.pool))
            .collect()
    }

    /// Persistent volumes and nothing else.
    pub(crate) fn is_volumes_only(&self) -> bool {
        self.scalars.is_empty() && self.ranges.is_empty() && self.sets.is_empty() && !self.volumes.is_empty()
    }

    pub(crate) fn volumes(&self) -> &BTreeMap<String, Volume> {
        &self.volumes
    }

    /// Only the dynamic reservations and volumes: what an agent checkpoints.
    pub(crate) fn reserved(&self) -> Resources {
        let mut out = self.clone();
        out.scalars.retain(|(p, _), _| *p != Pool::Agent);
        out.ranges.retain(|(p, _), _| *p != Pool::Agent);
        out.sets.retain(|(p, _), _| *p != Pool::Agent);
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
            total.ranges[&(Pool::Agent, "ports".to_owned())].intervals(),
            &[(31000, 31004), (31006, 31499), (31601, 32000)]
        );
        assert!(!total.contains(&task));
        total.add(&task);
        assert_eq!(total, agent());
    }

    #[test]
    fn offers_look_like_mesos_offers() {
        let protos = agent().to_protos(Some("*"), "*", false);
        let names: Vec<&str> = protos.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, ["ports", "cpus", "mem", "disk"]);
        assert!(protos.iter().all(|r| r.role() == "*"));
        assert_eq!(protos[0].ranges.as_ref().unwrap().range[0].end, 32000);
        assert_eq!(Resources::from_protos(&protos, "*").unwrap(), agent());
        let reserved = agent().to_protos(None, "web", false);
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

    fn reserved(mut r: Resource, role: &str) -> Resource {
        r.role = Some(role.into());
        r.reservation = Some(resource::ReservationInfo::default());
        r
    }

    fn volume(id: &str, size: f64, role: &str) -> Resource {
        let mut r = reserved(scalar("disk", size), role);
        r.disk = Some(resource::DiskInfo {
            persistence: Some(resource::disk_info::Persistence {
                id: id.into(),
                principal: None,
            }),
            volume: Some(crate::v1::Volume {
                container_path: "data".into(),
                mode: crate::v1::volume::Mode::Rw as i32,
                ..Default::default()
            }),
            source: None,
        });
        r
    }

    #[test]
    fn reserved_resources_are_their_own_pool() {
        let mut total = agent();
        let web = Resources::from_protos(&[reserved(scalar("cpus", 1.0), "web")], "*").unwrap();
        let source = web.moved_to(&Pool::Agent);
        assert!(total.contains(&source));
        assert!(!total.contains(&web), "unreserved cpus are not web's");
        total.subtract(&source);
        total.add(&web);
        assert_eq!(total.scalar("cpus"), 2.0);
        assert!(total.contains(&web));
        // Only web's frameworks see web's cpus.
        assert_eq!(total.offerable_to(&["*".into()]).scalar("cpus"), 1.0);
        assert_eq!(total.offerable_to(&["web".into()]).scalar("cpus"), 2.0);
        let protos = total.to_protos(None, "*", false);
        let web_cpus: Vec<_> = protos.iter().filter(|r| r.role() == "web").collect();
        assert_eq!(web_cpus.len(), 1);
        assert!(web_cpus[0].reservation.is_some());
        assert_eq!(Resources::from_protos(&protos, "*").unwrap(), total);
        assert_eq!(
            Resources::from_protos(&total.to_protos(None, "*", true), "*").unwrap(),
            total
        );
        assert_eq!(total.reserved(), web);
        assert!(
            total.missing(&Resources::from_protos(&[reserved(scalar("cpus", 2.0), "web")], "*").unwrap())[0]
                .starts_with("cpus(reserved for web): needs 2")
        );
    }

    #[test]
    fn volumes_are_made_of_reserved_disk_and_offered_with_their_disk_info() {
        let vol = Resources::from_protos(&[volume("v1", 100.0, "web")], "*").unwrap();
        let plain = vol.without_volumes();
        assert_eq!(plain.scalar("disk"), 100.0);
        assert!(plain.volumes().is_empty());
        let mut total = agent();
        total.subtract(&plain.moved_to(&Pool::Agent));
        total.add(&plain);
        total.subtract(&plain);
        total.add(&vol);
        assert_eq!(
            total.scalar("disk"),
            3996.0,
            "the volume's disk is not plain disk any more"
        );
        let protos = total.to_protos(None, "*", false);
        let disks: Vec<_> = protos.iter().filter(|r| r.disk.is_some()).collect();
        assert_eq!(disks.len(), 1);
        assert_eq!(disks[0].disk.as_ref().unwrap().persistence.as_ref().unwrap().id, "v1");
        assert_eq!(Resources::from_protos(&protos, "*").unwrap(), total);
        assert!(total.contains(&vol));
        let mut other = volume("v1", 100.0, "web");
        other.disk.as_mut().unwrap().volume.as_mut().unwrap().container_path = "elsewhere".into();
        let other = Resources::from_protos(&[other], "*").unwrap();
        assert!(total.missing(&other)[0].contains("'v1'"));
        for bad in ["", "..", "a/b"] {
            assert!(
                Resources::from_protos(&[volume(bad, 1.0, "web")], "*").is_err(),
                "{bad:?}"
            );
        }
        assert!(Resources::from_protos(&[volume("v", 1.0, "web"), volume("v", 1.0, "web")], "*").is_err());
    }
}
