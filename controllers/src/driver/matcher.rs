//! Fits tasks into an offer: what is left of the offer's cpus, mem, disk, gpus and ports after
//! each task it is given, per role, which host ports each task gets, and, when a task does not
//! fit, every reason why (Marathon's offer reject reasons, shown in `/v2/queue`).
//!
//! An app takes resources only of the roles it accepts (Marathon's `acceptedResourceRoles`,
//! by default `*` and the app's own role), reserved ones before unreserved ones.

use mesos::v1::resource::ReservationInfo;
use mesos::v1::resource::reservation_info::Type as Reservation;
use mesos::v1::{Offer, Resource, value};
use schemas::AppDefinition;
use schemas::offers::RejectReason;

/// What remains of one offer, per role.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct OfferResources {
    pub pools: Vec<Pool>,
}

/// The resources of one role in an offer.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Pool {
    pub role: String,
    /// How the offer wrote the role (legacy `role` field or a static `reservations` stack),
    /// echoed on the resources a task takes.
    pub reservations: Vec<ReservationInfo>,
    /// A dynamic reservation as a framework without RESERVATION_REFINEMENT is offered it
    /// (with `role`), echoed likewise: the pool of a resident instance's reservation.
    pub reservation: Option<ReservationInfo>,
    pub cpus: f64,
    pub mem: f64,
    pub disk: f64,
    pub gpus: f64,
    /// Free port ranges, inclusive, sorted.
    pub ports: Vec<(u64, u64)>,
}

/// What one task took from an offer.
#[derive(Clone, Debug, PartialEq)]
pub struct Taken {
    /// Host ports in the order the app asks for them (port definitions or port mappings).
    pub ports: Vec<u32>,
    /// The offer's resources the task uses, each with the role it was offered with.
    pub resources: Vec<Resource>,
}

/// A host port one task asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PortRequest {
    /// Any free port of the offer.
    Dynamic,
    /// Exactly this port (`requirePorts`, or a container port mapping's `hostPort`).
    Fixed(u64),
}

/// What one task (or a pod's executor, or a whole pod instance) asks of an offer.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Demand {
    /// The roles whose resources it may take.
    pub roles: Vec<String>,
    /// cpus, mem, disk, gpus.
    pub scalars: [f64; 4],
    pub ports: Vec<PortRequest>,
}

impl Demand {
    pub(crate) fn of_app(app: &AppDefinition) -> Self {
        Demand {
            roles: accepted_roles(app),
            scalars: [app.cpus, app.mem, app.disk, f64::from(app.gpus)],
            ports: host_port_requests(app),
        }
    }
}

/// Floating-point sums of many small cpu shares must not make an exact fit fail.
const EPSILON: f64 = 1e-9;
const SCALARS: [&str; 4] = ["cpus", "mem", "disk", "gpus"];

/// The roles `app` takes resources of: its `acceptedResourceRoles`, or else `*` and its own
/// role (Marathon's default `--accepted_resource_roles_default_behavior any`).
pub(crate) fn accepted_roles(app: &AppDefinition) -> Vec<String> {
    match &app.accepted_resource_roles {
        Some(roles) if !roles.is_empty() => roles.clone(),
        _ => {
            let mut roles = vec!["*".to_owned()];
            if let Some(role) = app.role.as_ref().filter(|r| *r != "*") {
                roles.push(role.clone());
            }
            roles
        }
    }
}

/// The host ports one task of `app` needs: one per port definition under host networking
/// (fixed only with `requirePorts` and a non-zero port), else one per container port mapping
/// that names a `hostPort` (fixed unless 0).
pub(crate) fn host_port_requests(app: &AppDefinition) -> Vec<PortRequest> {
    if app.uses_host_networking() {
        let defs = app.port_definitions.as_deref().unwrap_or_default();
        return defs
            .iter()
            .map(|d| match d.port {
                p if app.require_ports && p != 0 => PortRequest::Fixed(u64::from(p)),
                _ => PortRequest::Dynamic,
            })
            .collect();
    }
    let mappings = app.container.as_ref().and_then(|c| c.port_mappings.as_deref());
    mappings
        .unwrap_or_default()
        .iter()
        .filter_map(|m| m.host_port)
        .map(|p| {
            if p == 0 {
                PortRequest::Dynamic
            } else {
                PortRequest::Fixed(u64::from(p))
            }
        })
        .collect()
}

/// Where one task's share comes from: scalars per pool, ports with their pool.
struct Fit {
    scalars: Vec<(usize, &'static str, f64)>,
    ports: Vec<(u64, usize)>,
}

impl Pool {
    fn scalar_mut(&mut self, name: &str) -> &mut f64 {
        match name {
            "cpus" => &mut self.cpus,
            "mem" => &mut self.mem,
            "disk" => &mut self.disk,
            _ => &mut self.gpus,
        }
    }

    fn scalar(&self, name: &str) -> f64 {
        match name {
            "cpus" => self.cpus,
            "mem" => self.mem,
            "disk" => self.disk,
            _ => self.gpus,
        }
    }

    /// Counts `res` into this pool.
    fn add(&mut self, res: &Resource) {
        let scalar = res.scalar.as_ref().map(|s| s.value).unwrap_or(0.0);
        match res.name.as_str() {
            name @ ("cpus" | "mem" | "disk" | "gpus") => *self.scalar_mut(name) += scalar,
            "ports" => {
                if let Some(ranges) = &res.ranges {
                    self.ports
                        .extend(ranges.range.iter().map(|value::Range { begin, end }| (*begin, *end)));
                    self.ports.sort_unstable();
                }
            }
            _ => {}
        }
    }

    fn has_port(&self, p: u64) -> bool {
        self.ports.iter().any(|(b, e)| (*b..=*e).contains(&p))
    }

    fn remove_port(&mut self, p: u64) {
        let Some(i) = self.ports.iter().position(|(b, e)| (*b..=*e).contains(&p)) else {
            return;
        };
        let (b, e) = self.ports[i];
        let mut replacement = Vec::with_capacity(2);
        if b < p {
            replacement.push((b, p - 1));
        }
        if p < e {
            replacement.push((p + 1, e));
        }
        self.ports.splice(i..=i, replacement);
    }

    fn resource(&self, name: &str, ty: value::Type) -> Resource {
        Resource {
            name: name.into(),
            r#type: ty as i32,
            role: self.reservations.is_empty().then(|| self.role.clone()),
            reservations: self.reservations.clone(),
            reservation: self.reservation.clone(),
            ..Default::default()
        }
    }
}

impl OfferResources {
    /// The offer's resources by role. Dynamically reserved ones are left out: they belong to
    /// resident instances, which take them as a whole (see `resident`).
    pub fn from_offer(offer: &Offer) -> Self {
        let mut r = OfferResources::default();
        for res in &offer.resources {
            let Some((role, reservations)) = static_role(res) else {
                continue;
            };
            let i = match r.pools.iter().position(|p| p.role == role) {
                Some(i) => i,
                None => {
                    r.pools.push(Pool {
                        role,
                        reservations,
                        ..Default::default()
                    });
                    r.pools.len() - 1
                }
            };
            r.pools[i].add(res);
        }
        // Reserved resources first: nobody else can use them.
        r.pools.sort_by_key(|p| p.role == "*");
        r
    }

    /// One reservation's resources, as offered (all of one role and reservation), as a pool
    /// of their own; persistent volumes (disk with disk info) are left out.
    pub(crate) fn from_reservation(resources: &[&Resource]) -> Self {
        let mut pool = Pool::default();
        for res in resources.iter().filter(|r| r.disk.is_none()) {
            pool.role = res.role().to_owned();
            pool.reservation = res.reservation.clone();
            pool.reservations = res.reservations.clone();
            if let Some(last) = res.reservations.last() {
                pool.role = last.role.clone().unwrap_or_default();
            }
            pool.add(res);
        }
        OfferResources { pools: vec![pool] }
    }

    /// Every reason why one task of `app` does not fit, in funnel order; empty if it fits.
    pub fn reject_reasons(&self, app: &AppDefinition) -> Vec<RejectReason> {
        self.check(&Demand::of_app(app)).err().unwrap_or_default()
    }

    /// Every reason why `demand` does not fit, in funnel order; empty if it fits.
    pub(crate) fn reject_reasons_of(&self, demand: &Demand) -> Vec<RejectReason> {
        self.check(demand).err().unwrap_or_default()
    }

    /// Takes what one task of `app` needs, or returns the first reason why it does not fit
    /// (in which case nothing is taken).
    pub fn take(&mut self, app: &AppDefinition) -> Result<Taken, RejectReason> {
        self.take_demand(&Demand::of_app(app))
    }

    /// Takes `demand`, or returns the first reason why it does not fit (taking nothing).
    pub(crate) fn take_demand(&mut self, demand: &Demand) -> Result<Taken, RejectReason> {
        let fit = self.check(demand).map_err(|reasons| reasons[0])?;
        let mut resources = Vec::new();
        for (i, name, amount) in &fit.scalars {
            *self.pools[*i].scalar_mut(name) -= amount;
            let mut r = self.pools[*i].resource(name, value::Type::Scalar);
            r.scalar = Some(value::Scalar { value: *amount });
            resources.push(r);
        }
        for i in 0..self.pools.len() {
            let mine: Vec<u64> = fit
                .ports
                .iter()
                .filter(|(_, p)| *p == i)
                .map(|(port, _)| *port)
                .collect();
            if mine.is_empty() {
                continue;
            }
            for p in &mine {
                self.pools[i].remove_port(*p);
            }
            let mut r = self.pools[i].resource("ports", value::Type::Ranges);
            r.ranges = Some(value::Ranges {
                range: mine.iter().map(|&p| value::Range { begin: p, end: p }).collect(),
            });
            resources.push(r);
        }
        Ok(Taken {
            ports: fit.ports.iter().map(|(p, _)| *p as u32).collect(),
            resources,
        })
    }

    /// Where `demand` would take its resources from, or every reason why it does not fit.
    fn check(&self, demand: &Demand) -> Result<Fit, Vec<RejectReason>> {
        let accepted = &demand.roles;
        let usable: Vec<usize> = (0..self.pools.len())
            .filter(|&i| accepted.contains(&self.pools[i].role))
            .collect();
        let mut reasons = Vec::new();
        if usable.is_empty() {
            reasons.push(RejectReason::UnfulfilledRole);
        }
        let wants = demand.scalars;
        let mut scalars = Vec::new();
        for (name, want) in SCALARS.into_iter().zip(wants) {
            let mut left = want;
            for &i in &usable {
                let take = left.min(self.pools[i].scalar(name));
                if take > 0.0 {
                    scalars.push((i, name, take));
                    left -= take;
                }
            }
            if left > EPSILON {
                reasons.push(match name {
                    "cpus" => RejectReason::InsufficientCpus,
                    "mem" => RejectReason::InsufficientMemory,
                    "disk" => RejectReason::InsufficientDisk,
                    _ => RejectReason::InsufficientGpus,
                });
            }
        }
        match self.assign_ports(&demand.ports, &usable) {
            Some(ports) if reasons.is_empty() => Ok(Fit { scalars, ports }),
            Some(_) => Err(reasons),
            None => {
                reasons.push(RejectReason::InsufficientPorts);
                Err(reasons)
            }
        }
    }

    /// Fixed ports where they are free, then the lowest free ports for the dynamic ones.
    fn assign_ports(&self, requests: &[PortRequest], usable: &[usize]) -> Option<Vec<(u64, usize)>> {
        let fixed: Vec<u64> = requests
            .iter()
            .filter_map(|r| match r {
                PortRequest::Fixed(p) => Some(*p),
                PortRequest::Dynamic => None,
            })
            .collect();
        let mut taken: Vec<u64> = Vec::new();
        let mut free = usable.iter().flat_map(|&i| {
            self.pools[i]
                .ports
                .iter()
                .flat_map(move |(b, e)| (*b..=*e).map(move |p| (p, i)))
        });
        let mut out = Vec::with_capacity(requests.len());
        for r in requests {
            let port = match r {
                PortRequest::Fixed(p) => {
                    let pool = usable.iter().copied().find(|&i| self.pools[i].has_port(*p))?;
                    if taken.contains(p) {
                        return None;
                    }
                    (*p, pool)
                }
                PortRequest::Dynamic => free.find(|(p, _)| !fixed.contains(p) && !taken.contains(p))?,
            };
            taken.push(port.0);
            out.push(port);
        }
        Some(out)
    }
}

/// The role `res` is offered with, with its static reservation as written; `None` for a
/// dynamic reservation.
fn static_role(res: &Resource) -> Option<(String, Vec<ReservationInfo>)> {
    if res.reservation.is_some() {
        return None;
    }
    match res.reservations.last() {
        Some(last) if last.r#type() == Reservation::Dynamic => None,
        Some(last) => Some((
            last.role.clone().unwrap_or_else(|| "*".into()),
            res.reservations.clone(),
        )),
        None => Some((res.role.clone().unwrap_or_else(|| "*".into()), Vec::new())),
    }
}

#[cfg(test)]
mod tests;
