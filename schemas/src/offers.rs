//! What the scheduler saw of Mesos offers while an app waited to launch, as `/v2/queue` shows
//! it (`processedOffersSummary`, `lastUnusedOffers`), with Marathon's names.
//!
//! The driver keeps one [`OfferStats`] per waiting app in memory (like Marathon, it is lost
//! on restart and forgotten when the app stops waiting) and publishes them; the API renders
//! them with [`OfferStats::summary`].

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::{PathId, Timestamp};

/// The statistics of every app waiting for offers.
pub type OfferStatsByApp = BTreeMap<PathId, OfferStats>;

/// How many agents' last unused offers an app keeps.
pub const LAST_UNUSED_OFFERS: usize = 10;

/// Why an offer was not used for an app. The variants are in Marathon's "reject funnel"
/// order: an offer that fails several checks is counted against the first one only.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum RejectReason {
    UnfulfilledRole,
    UnfulfilledConstraint,
    NoCorrespondingReservationFound,
    AgentMaintenance,
    InsufficientCpus,
    InsufficientMemory,
    InsufficientDisk,
    InsufficientGpus,
    InsufficientPorts,
    DeclinedScarceResources,
}

impl RejectReason {
    /// Every reason, in funnel order.
    pub const FUNNEL: [RejectReason; 10] = [
        RejectReason::UnfulfilledRole,
        RejectReason::UnfulfilledConstraint,
        RejectReason::NoCorrespondingReservationFound,
        RejectReason::AgentMaintenance,
        RejectReason::InsufficientCpus,
        RejectReason::InsufficientMemory,
        RejectReason::InsufficientDisk,
        RejectReason::InsufficientGpus,
        RejectReason::InsufficientPorts,
        RejectReason::DeclinedScarceResources,
    ];
}

/// An offer as `lastUnusedOffers` shows it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OfferView {
    pub id: String,
    pub agent_id: String,
    pub hostname: String,
    pub resources: Vec<OfferResource>,
    pub attributes: Vec<OfferAttribute>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct OfferResource {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scalar: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ranges: Option<Vec<NumberRange>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub set: Option<Vec<String>>,
    pub role: String,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct OfferAttribute {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scalar: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ranges: Option<Vec<NumberRange>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub set: Option<Vec<String>>,
}

/// An inclusive range, as Mesos offers ports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NumberRange {
    pub begin: u64,
    pub end: u64,
}

/// One offer an app could not use, and every reason why.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct UnusedOffer {
    pub offer: OfferView,
    pub timestamp: Timestamp,
    pub reason: Vec<RejectReason>,
}

/// One step of the reject funnel: of the offers that got this far (`processed`), how many
/// were declined for this reason.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeclinedOfferStep {
    pub reason: RejectReason,
    pub declined: u64,
    pub processed: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProcessedOffersSummary {
    pub processed_offers_count: u64,
    pub unused_offers_count: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_unused_offer_at: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_used_offer_at: Option<Timestamp>,
    /// Over the last unused offer of each agent.
    pub reject_summary_last_offers: Vec<DeclinedOfferStep>,
    /// Over every offer processed since the app started waiting.
    pub reject_summary_launch_attempt: Vec<DeclinedOfferStep>,
}

/// What one app made of the offers it was shown since it started waiting.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct OfferStats {
    pub processed: u64,
    pub unused: u64,
    pub last_used_at: Option<Timestamp>,
    pub last_unused_at: Option<Timestamp>,
    /// The first reason of each unused offer, counted.
    pub rejected: BTreeMap<RejectReason, u64>,
    /// The last unused offer of each agent, oldest first, at most [`LAST_UNUSED_OFFERS`].
    pub last_unused: Vec<UnusedOffer>,
}

impl OfferStats {
    /// The app launched something on an offer.
    pub fn used(&mut self, at: Timestamp) {
        self.processed += 1;
        self.last_used_at = Some(at);
    }

    /// The app could use nothing of `offer`, for `reasons`.
    pub fn unused(&mut self, offer: OfferView, mut reasons: Vec<RejectReason>, at: Timestamp) {
        reasons.sort_unstable();
        reasons.dedup();
        self.processed += 1;
        self.unused += 1;
        self.last_unused_at = Some(at);
        if let Some(first) = reasons.first() {
            *self.rejected.entry(*first).or_default() += 1;
        }
        self.last_unused.retain(|u| u.offer.agent_id != offer.agent_id);
        if self.last_unused.len() == LAST_UNUSED_OFFERS {
            self.last_unused.remove(0);
        }
        self.last_unused.push(UnusedOffer {
            offer,
            timestamp: at,
            reason: reasons,
        });
    }

    pub fn summary(&self) -> ProcessedOffersSummary {
        let mut last: BTreeMap<RejectReason, u64> = BTreeMap::new();
        for u in &self.last_unused {
            if let Some(first) = u.reason.first() {
                *last.entry(*first).or_default() += 1;
            }
        }
        ProcessedOffersSummary {
            processed_offers_count: self.processed,
            unused_offers_count: self.unused,
            last_unused_offer_at: self.last_unused_at,
            last_used_offer_at: self.last_used_at,
            reject_summary_last_offers: reject_funnel(self.last_unused.len() as u64, &last),
            reject_summary_launch_attempt: reject_funnel(self.processed, &self.rejected),
        }
    }
}

/// Marathon's funnel: `processed` offers enter the first step; each step declines the offers
/// whose first reason it is and passes the rest on.
pub fn reject_funnel(processed: u64, first_reasons: &BTreeMap<RejectReason, u64>) -> Vec<DeclinedOfferStep> {
    let mut left = processed;
    RejectReason::FUNNEL
        .iter()
        .map(|reason| {
            let declined = first_reasons.get(reason).copied().unwrap_or(0);
            let step = DeclinedOfferStep {
                reason: *reason,
                declined,
                processed: left,
            };
            left = left.saturating_sub(declined);
            step
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn offer(agent: &str) -> OfferView {
        OfferView {
            id: format!("{agent}-o"),
            agent_id: agent.into(),
            hostname: "h".into(),
            ..Default::default()
        }
    }

    fn step(summary: &[DeclinedOfferStep], reason: RejectReason) -> (u64, u64) {
        let s = summary.iter().find(|s| s.reason == reason).unwrap();
        (s.declined, s.processed)
    }

    #[test]
    fn funnel_counts_each_offer_once_against_its_first_reason() {
        use RejectReason::*;
        let mut stats = OfferStats::default();
        let at = Timestamp::from_millis(1);
        stats.unused(offer("a"), vec![InsufficientMemory, InsufficientCpus], at);
        stats.unused(offer("b"), vec![InsufficientMemory], at);
        stats.used(Timestamp::from_millis(2));
        let s = stats.summary();
        assert_eq!((s.processed_offers_count, s.unused_offers_count), (3, 2));
        assert_eq!(s.last_used_offer_at, Some(Timestamp::from_millis(2)));
        let attempt = &s.reject_summary_launch_attempt;
        assert_eq!(attempt.len(), RejectReason::FUNNEL.len());
        assert_eq!(step(attempt, UnfulfilledRole), (0, 3));
        assert_eq!(step(attempt, InsufficientCpus), (1, 3));
        assert_eq!(step(attempt, InsufficientMemory), (1, 2));
        assert_eq!(step(attempt, InsufficientDisk), (0, 1));
        assert_eq!(stats.last_unused[0].reason, vec![InsufficientCpus, InsufficientMemory]);
    }

    #[test]
    fn keeps_the_last_unused_offer_per_agent() {
        use RejectReason::*;
        let mut stats = OfferStats::default();
        for i in 0..3 {
            stats.unused(offer("a"), vec![InsufficientCpus], Timestamp::from_millis(i));
        }
        stats.unused(offer("b"), vec![InsufficientPorts], Timestamp::from_millis(9));
        assert_eq!(stats.last_unused.len(), 2);
        assert_eq!(stats.last_unused[0].timestamp, Timestamp::from_millis(2));
        let last = stats.summary().reject_summary_last_offers;
        assert_eq!(step(&last, InsufficientCpus), (1, 2));
        assert_eq!(step(&last, InsufficientPorts), (1, 1));
        for i in 0..20 {
            stats.unused(offer(&format!("x{i}")), vec![], Timestamp::from_millis(10 + i));
        }
        assert_eq!(stats.last_unused.len(), LAST_UNUSED_OFFERS);
        assert_eq!(stats.last_unused[0].offer.agent_id, "x10");
    }

    #[test]
    fn serialises_with_marathons_names() {
        let mut stats = OfferStats::default();
        stats.unused(
            offer("a"),
            vec![RejectReason::InsufficientCpus],
            Timestamp::from_millis(0),
        );
        let json = serde_json::to_value(stats.summary()).unwrap();
        assert_eq!(json["processedOffersCount"], 1);
        assert_eq!(json["rejectSummaryLastOffers"][4]["reason"], "InsufficientCpus");
        assert!(json.get("lastUsedOfferAt").is_none());
        let unused = serde_json::to_value(&stats.last_unused[0]).unwrap();
        assert_eq!(unused["offer"]["agentId"], "a");
        assert_eq!(unused["reason"][0], "InsufficientCpus");
    }
}
