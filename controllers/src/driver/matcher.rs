//! Fits tasks into an offer: what is left of the offer's cpus, mem, disk, gpus and ports after
//! each task it is given, and which host ports each task gets.

use mesos::v1::{Offer, Resource, value};
use schemas::AppDefinition;

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

/// Why a task did not fit, named as Marathon's offer reject reasons are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NoFit {
    InsufficientCpus,
    InsufficientMemory,
    InsufficientDisk,
    InsufficientGpus,
    InsufficientPorts,
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

    /// Takes what one task of `app` needs, returning its host ports, or why it does not fit
    /// (in which case nothing is taken).
    pub fn take(&mut self, app: &AppDefinition) -> Result<Vec<u32>, NoFit> {
        if self.cpus + EPSILON < app.cpus {
            return Err(NoFit::InsufficientCpus);
        }
        if self.mem + EPSILON < app.mem {
            return Err(NoFit::InsufficientMemory);
        }
        if self.disk + EPSILON < app.disk {
            return Err(NoFit::InsufficientDisk);
        }
        if self.gpus + EPSILON < f64::from(app.gpus) {
            return Err(NoFit::InsufficientGpus);
        }
        let defs = app.port_definitions.as_deref().unwrap_or_default();
        let ports = if app.require_ports {
            let wanted: Vec<u64> = defs.iter().map(|d| u64::from(d.port)).collect();
            if !wanted.iter().all(|p| self.has_port(*p)) {
                return Err(NoFit::InsufficientPorts);
            }
            wanted
        } else {
            let free: u64 = self.ports.iter().map(|(b, e)| e - b + 1).sum();
            if free < defs.len() as u64 {
                return Err(NoFit::InsufficientPorts);
            }
            self.ports.iter().flat_map(|(b, e)| *b..=*e).take(defs.len()).collect()
        };
        for p in &ports {
            self.remove_port(*p);
        }
        self.cpus -= app.cpus;
        self.mem -= app.mem;
        self.disk -= app.disk;
        self.gpus -= f64::from(app.gpus);
        Ok(ports.into_iter().map(|p| p as u32).collect())
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
        assert_eq!(r.take(&a), Err(NoFit::InsufficientPorts));
        assert!((r.cpus - 0.5).abs() < 1e-9, "a failed take leaves resources alone");
    }

    #[test]
    fn reports_the_first_missing_resource() {
        let a = app(r#"{"id":"/a","cmd":"x","cpus":2,"mem":64,"portDefinitions":[]}"#);
        assert_eq!(res(1.0, 512.0, vec![]).take(&a), Err(NoFit::InsufficientCpus));
        let b = app(r#"{"id":"/a","cmd":"x","cpus":0.1,"mem":1024,"portDefinitions":[]}"#);
        assert_eq!(res(1.0, 512.0, vec![]).take(&b), Err(NoFit::InsufficientMemory));
    }

    #[test]
    fn required_ports_must_be_free() {
        let mut r = res(4.0, 4096.0, vec![(31000, 31010)]);
        let a =
            app(r#"{"id":"/a","cmd":"x","cpus":0.1,"mem":1,"requirePorts":true,"portDefinitions":[{"port":31005}]}"#);
        assert_eq!(r.take(&a), Ok(vec![31005]));
        assert_eq!(r.ports, vec![(31000, 31004), (31006, 31010)]);
        assert_eq!(r.take(&a), Err(NoFit::InsufficientPorts));
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
