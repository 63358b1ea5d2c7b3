//! The allocator: which resources are offered to which framework, and the decline filters.
//!
//! Each agent's unallocated resources (total minus running tasks minus outstanding offers) go
//! to connected, unsuppressed frameworks, one outstanding offer per agent and framework.
//! Resources left unused by ACCEPT or DECLINE are refused to that framework for
//! `refuse_seconds` (default 5 s), unless more than those resources become available (as in
//! Mesos, a filter only hides offers it fully covers) or the framework REVIVEs.

use std::collections::HashMap;
use std::time::Duration;

use tokio::time::Instant;

use crate::v1::{AgentId, FrameworkId, Offer, OfferId, resource};

use super::agent::Agent;
use super::resources::Resources;

/// Mesos caps refuse_seconds at a year.
const MAX_REFUSE: Duration = Duration::from_secs(365 * 24 * 3600);
/// proto2 default of `Filters.refuse_seconds`.
pub(crate) const DEFAULT_REFUSE: Duration = Duration::from_secs(5);

pub(crate) struct OutstandingOffer {
    pub framework_id: String,
    pub agent: usize,
    pub resources: Resources,
}

struct Filter {
    agent: usize,
    resources: Resources,
    until: Instant,
}

/// A framework that may receive offers now.
pub(crate) struct Candidate<'a> {
    pub framework_id: &'a str,
    pub allocation_role: Option<String>,
    /// Every role the framework subscribed with: reserved resources go only to their role.
    pub roles: Vec<String>,
    /// Whether it reads reservations in the RESERVATION_REFINEMENT format.
    pub refinement: bool,
}

pub(crate) struct Allocator {
    master_id: String,
    next_offer: u64,
    offers: HashMap<String, OutstandingOffer>,
    filters: HashMap<String, Vec<Filter>>,
}

/// The Duration a `Filters` message asks for (None: no filter).
pub(crate) fn refuse_duration(filters: Option<&crate::v1::Filters>) -> Option<Duration> {
    let secs = filters.map_or(DEFAULT_REFUSE.as_secs_f64(), |f| f.refuse_seconds());
    // Like Mesos: a negative (or NaN) value falls back to the default, zero means no filter.
    if secs.is_nan() || secs < 0.0 {
        return Some(DEFAULT_REFUSE);
    }
    if secs == 0.0 {
        return None;
    }
    Some(Duration::try_from_secs_f64(secs).unwrap_or(MAX_REFUSE).min(MAX_REFUSE))
}

impl Allocator {
    pub(crate) fn new(master_id: String) -> Self {
        Self {
            master_id,
            next_offer: 0,
            offers: HashMap::new(),
            filters: HashMap::new(),
        }
    }

    /// Resources of `agent` neither used by tasks nor in an outstanding offer.
    pub(crate) fn available(&self, agent: &Agent) -> Resources {
        let mut free = agent.total.clone();
        free.subtract(&agent.used);
        for offer in self.offers.values().filter(|o| o.agent == agent.index) {
            free.subtract(&offer.resources);
        }
        free
    }

    /// Makes new offers from what is free, at most one per agent and framework.
    pub(crate) fn allocate(
        &mut self,
        candidates: &[Candidate<'_>],
        agents: &[Agent],
        now: Instant,
    ) -> Vec<(String, Offer)> {
        let mut made = Vec::new();
        for agent in agents.iter().filter(|a| a.presence.is_connected()) {
            for candidate in candidates {
                let fid = candidate.framework_id;
                if agent.role.as_ref().is_some_and(|r| !candidate.roles.contains(r)) {
                    continue;
                }
                if self
                    .offers
                    .values()
                    .any(|o| o.agent == agent.index && o.framework_id == fid)
                {
                    continue;
                }
                // Reserved resources go to their role only, under the role the offer is for.
                let offered_to = candidate.allocation_role.as_slice();
                let free = self.available(agent).offerable_to(if offered_to.is_empty() {
                    &candidate.roles
                } else {
                    offered_to
                });
                if !free.is_allocatable() || self.is_filtered(fid, agent.index, &free, now) {
                    continue;
                }
                self.next_offer += 1;
                let offer_id = format!("{}-O{}", self.master_id, self.next_offer);
                let role = candidate.allocation_role.as_deref();
                let offer = Offer {
                    id: OfferId {
                        value: offer_id.clone(),
                    },
                    framework_id: FrameworkId { value: fid.to_owned() },
                    agent_id: AgentId {
                        value: agent.id.clone(),
                    },
                    hostname: agent.hostname.clone(),
                    resources: free.to_protos(role, agent.resource_role(), candidate.refinement),
                    attributes: agent.attributes.clone(),
                    allocation_info: role.map(|r| resource::AllocationInfo {
                        role: Some(r.to_owned()),
                    }),
                    ..Default::default()
                };
                self.offers.insert(
                    offer_id,
                    OutstandingOffer {
                        framework_id: fid.to_owned(),
                        agent: agent.index,
                        resources: free,
                    },
                );
                made.push((fid.to_owned(), offer));
            }
        }
        made
    }

    fn is_filtered(&self, fid: &str, agent: usize, free: &Resources, now: Instant) -> bool {
        self.filters.get(fid).is_some_and(|fs| {
            fs.iter()
                .any(|f| f.agent == agent && f.until > now && f.resources.contains(free))
        })
    }

    /// Takes the offers an ACCEPT or DECLINE names; they must all exist, belong to `fid`
    /// and be on one agent. On error every named offer of `fid` is still withdrawn (Mesos
    /// does the same) and the message says what was wrong.
    pub(crate) fn take(&mut self, fid: &str, ids: &[OfferId]) -> Result<(usize, Resources), String> {
        let mut problem = None;
        let mut agent = None;
        let mut total = Resources::default();
        for id in ids {
            let owned = self.offers.get(&id.value).is_some_and(|o| o.framework_id == fid);
            match self.offers.remove(&id.value).filter(|_| owned) {
                Some(o) => {
                    if agent.is_some_and(|a| a != o.agent) {
                        problem.get_or_insert_with(|| "Aggregated offers must belong to the same agent".to_owned());
                    }
                    agent = Some(o.agent);
                    total.add(&o.resources);
                }
                None => {
                    problem.get_or_insert_with(|| format!("Offer {} is no longer valid", id.value));
                }
            }
        }
        match (problem, agent) {
            (None, Some(agent)) => Ok((agent, total)),
            (Some(p), _) => Err(p),
            (None, None) => Err("No offers specified".to_owned()),
        }
    }

    /// Refuses `resources` of `agent` to `fid` for `duration`; returns when that ends.
    pub(crate) fn refuse(
        &mut self,
        fid: &str,
        agent: usize,
        resources: Resources,
        duration: Option<Duration>,
        now: Instant,
    ) -> Option<Instant> {
        let until = now + duration?;
        let filters = self.filters.entry(fid.to_owned()).or_default();
        filters.retain(|f| f.until > now);
        filters.push(Filter {
            agent,
            resources,
            until,
        });
        Some(until)
    }

    pub(crate) fn clear_filters(&mut self, fid: &str) {
        self.filters.remove(fid);
    }

    pub(crate) fn prune_filters(&mut self, now: Instant) {
        for filters in self.filters.values_mut() {
            filters.retain(|f| f.until > now);
        }
        self.filters.retain(|_, f| !f.is_empty());
    }

    /// Withdraws all of a framework's outstanding offers; returns their ids.
    pub(crate) fn withdraw_all(&mut self, fid: &str) -> Vec<String> {
        let ids: Vec<String> = self
            .offers
            .iter()
            .filter(|(_, o)| o.framework_id == fid)
            .map(|(id, _)| id.clone())
            .collect();
        for id in &ids {
            self.offers.remove(id);
        }
        ids
    }

    /// Withdraws every outstanding offer of `agent`; returns them as (framework, offer id).
    pub(crate) fn withdraw_agent(&mut self, agent: usize) -> Vec<(String, String)> {
        let mut ids: Vec<(String, String)> = self
            .offers
            .iter()
            .filter(|(_, o)| o.agent == agent)
            .map(|(id, o)| (o.framework_id.clone(), id.clone()))
            .collect();
        ids.sort();
        for (_, id) in &ids {
            self.offers.remove(id);
        }
        ids
    }

    /// Forgets a framework entirely (torn down).
    pub(crate) fn remove_framework(&mut self, fid: &str) {
        self.withdraw_all(fid);
        self.filters.remove(fid);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::v1::Filters;

    #[test]
    fn refuse_seconds_follow_mesos_rules() {
        assert_eq!(refuse_duration(None), Some(DEFAULT_REFUSE));
        let f = |s: f64| Filters {
            refuse_seconds: Some(s),
        };
        assert_eq!(
            refuse_duration(Some(&Filters { refuse_seconds: None })),
            Some(DEFAULT_REFUSE)
        );
        assert_eq!(refuse_duration(Some(&f(0.0))), None);
        assert_eq!(refuse_duration(Some(&f(-3.0))), Some(DEFAULT_REFUSE));
        assert_eq!(refuse_duration(Some(&f(120.0))), Some(Duration::from_secs(120)));
        assert_eq!(refuse_duration(Some(&f(1e12))), Some(MAX_REFUSE));
        assert_eq!(refuse_duration(Some(&f(f64::INFINITY))), Some(MAX_REFUSE));
    }
}
