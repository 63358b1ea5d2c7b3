//! Fits tasks into an offer: what is left of the offer's cpus, mem, disk, gpus and ports after
//! each task it is given, which host ports each task gets, and, when a task does not fit, every
//! reason why (Marathon's offer reject reasons, shown in `/v2/queue`).

use mesos::v1::{Offer, Resource, value};
use schemas::AppDefinition;
use schemas::offers::RejectReason;

/// What remains of one offer.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct OfferResources {
    pub cpus: f64,
    pub mem: f64,
    pub disk: f64,
    pub gpus: f64,
    /// Free port ranges, inclusive.
    pub ports: Vec<(u64, u64)>,
}

/// Floating-point sums of many small cpu shares must not make an exact fit fail.
const EPSILON: f64 = 1e-9;

impl OfferResources {
    /// The unreserved resources of `offer` (reserved ones belong to resident apps, a later feature).
    pub fn from_offer(offer: &Offer) -> Self {
        let mut r = OfferResources::default();
        for res in offer.resources.iter().filter(|r| is_unreserved(r)) {
            let scalar = res.scalar.as_ref().map(|s| s.value).unwrap_or(0.0);
            match res.name.as_str() {
                "cpus" => r.cpus += scalar,
                "mem" => r.mem += scalar,
                "disk" => r.disk += scalar,
                "gpus" => r.gpus += scalar,
                "ports" => {
                    if let Some(ranges) = &res.ranges {
                        r.ports
                            .extend(ranges.range.iter().map(|value::Range { begin, end }| (*begin, *end)));
                    }
                }
                _ => {}
            }
        }
        r.ports.sort_unstable();
        r
    }

    /// Every reason why one task of `app` does not fit, in funnel order; empty if it fits.
    pub fn reject_reasons(&self, app: &AppDefinition) -> Vec<RejectReason> {
        self.check(app).err().unwrap_or_default()
    }

    /// Takes what one task of `app` needs, returning its host ports, or the first reason why
    /// it does not fit (in which case nothing is taken).
    pub fn take(&mut self, app: &AppDefinition) -> Result<Vec<u32>, RejectReason> {
        let ports = self.check(app).map_err(|reasons| reasons[0])?;
        for p in &ports {
            self.remove_port(*p);
        }
        self.cpus -= app.cpus;
        self.mem -= app.mem;
        self.disk -= app.disk;
        self.gpus -= f64::from(app.gpus);
        Ok(ports.into_iter().map(|p| p as u32).collect())
    }

    /// The host ports one task of `app` would get, or every reason why it does not fit.
    fn check(&self, app: &AppDefinition) -> Result<Vec<u64>, Vec<RejectReason>> {
        let mut reasons = Vec::new();
        let short = |have: f64, want: f64| have + EPSILON < want;
        if short(self.cpus, app.cpus) {
            reasons.push(RejectReason::InsufficientCpus);
        }
        if short(self.mem, app.mem) {
            reasons.push(RejectReason::InsufficientMemory);
        }
        if short(self.disk, app.disk) {
            reasons.push(RejectReason::InsufficientDisk);
        }
        if short(self.gpus, f64::from(app.gpus)) {
            reasons.push(RejectReason::InsufficientGpus);
        }
        let defs = app.port_definitions.as_deref().unwrap_or_default();
        let ports = if app.require_ports {
            let wanted: Vec<u64> = defs.iter().map(|d| u64::from(d.port)).collect();
            wanted.iter().all(|p| self.has_port(*p)).then_some(wanted)
        } else {
            let free: u64 = self.ports.iter().map(|(b, e)| e - b + 1).sum();
            (free >= defs.len() as u64).then(|| self.ports.iter().flat_map(|(b, e)| *b..=*e).take(defs.len()).collect())
        };
        match ports {
            Some(ports) if reasons.is_empty() => Ok(ports),
            Some(_) => Err(reasons),
            None => {
                reasons.push(RejectReason::InsufficientPorts);
                Err(reasons)
            }
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
}

fn is_unreserved(r: &Resource) -> bool {
    r.reservations.is_empty() && r.reservation.is_none() && r.role.as_deref().is_none_or(|role| role == "*")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn app(json: &str) -> AppDefinition {
        serde_json::from_str(json).unwrap()
    }

    fn res(cpus: f64, mem: f64, ports: Vec<(u64, u64)>) -> OfferResources {
        OfferResources {
            cpus,
            mem,
            disk: 100.0,
            gpus: 0.0,
            ports,
        }
    }

    #[test]
    fn takes_scalars_and_lowest_ports() {
        let mut r = res(1.0, 256.0, vec![(31000, 31002)]);
        let a = app(r#"{"id":"/a","cmd":"x","cpus":0.5,"mem":128,"portDefinitions":[{"port":0},{"port":0}]}"#);
        assert_eq!(r.take(&a), Ok(vec![31000, 31001]));
        assert_eq!(r.ports, vec![(31002, 31002)]);
        assert_eq!(r.take(&a), Err(RejectReason::InsufficientPorts));
        assert!((r.cpus - 0.5).abs() < 1e-9, "a failed take leaves resources alone");
    }

    #[test]
    fn reports_the_first_missing_resource() {
        let a = app(r#"{"id":"/a","cmd":"x","cpus":2,"mem":64,"portDefinitions":[]}"#);
        assert_eq!(res(1.0, 512.0, vec![]).take(&a), Err(RejectReason::InsufficientCpus));
        let b = app(r#"{"id":"/a","cmd":"x","cpus":0.1,"mem":1024,"portDefinitions":[]}"#);
        assert_eq!(res(1.0, 512.0, vec![]).take(&b), Err(RejectReason::InsufficientMemory));
    }

    #[test]
    fn classifies_every_missing_resource_in_funnel_order() {
        use RejectReason::*;
        let a = app(r#"{"id":"/a","cmd":"x","cpus":2,"mem":1024,"disk":500,"gpus":1,"portDefinitions":[{"port":0}]}"#);
        assert_eq!(
            res(1.0, 512.0, vec![]).reject_reasons(&a),
            vec![
                InsufficientCpus,
                InsufficientMemory,
                InsufficientDisk,
                InsufficientGpus,
                InsufficientPorts
            ]
        );
        let fits = app(r#"{"id":"/a","cmd":"x","cpus":0.5,"mem":64,"portDefinitions":[{"port":0}]}"#);
        assert!(res(1.0, 512.0, vec![(31000, 31000)]).reject_reasons(&fits).is_empty());
        let mem_only = app(r#"{"id":"/a","cmd":"x","cpus":0.5,"mem":4096,"portDefinitions":[]}"#);
        assert_eq!(
            res(1.0, 512.0, vec![]).reject_reasons(&mem_only),
            vec![InsufficientMemory]
        );
    }

    #[test]
    fn required_ports_must_be_free() {
        let mut r = res(4.0, 4096.0, vec![(31000, 31010)]);
        let a =
            app(r#"{"id":"/a","cmd":"x","cpus":0.1,"mem":1,"requirePorts":true,"portDefinitions":[{"port":31005}]}"#);
        assert_eq!(r.take(&a), Ok(vec![31005]));
        assert_eq!(r.ports, vec![(31000, 31004), (31006, 31010)]);
        assert_eq!(r.take(&a), Err(RejectReason::InsufficientPorts));
    }

    #[test]
    fn many_small_shares_fit_exactly() {
        let mut r = res(1.0, 1000.0, vec![]);
        let a = app(r#"{"id":"/a","cmd":"x","cpus":0.1,"mem":100,"portDefinitions":[]}"#);
        for _ in 0..10 {
            r.take(&a).unwrap();
        }
        assert!(r.take(&a).is_err());
    }
}
