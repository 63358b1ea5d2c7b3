//! The replicated state: a sorted map from string keys to records, and the one operation that
//! changes it, an atomic batch of puts and deletes guarded by preconditions.
//!
//! This is what the raft state machine applies; it is deterministic and knows nothing of raft.

use std::collections::BTreeMap;
use std::ops::Bound;
use std::sync::Arc;

use schemas::{AppDefinition, PathId, PodDefinition, Record, RunSpec};
use serde::{Deserialize, Serialize};

/// One change to one key.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Op {
    Put { key: String, record: Record },
    Delete { key: String },
}

impl Op {
    pub fn put(key: impl Into<String>, record: Record) -> Self {
        Op::Put {
            key: key.into(),
            record,
        }
    }
    pub fn delete(key: impl Into<String>) -> Self {
        Op::Delete { key: key.into() }
    }
    pub fn key(&self) -> &str {
        match self {
            Op::Put { key, .. } | Op::Delete { key } => key,
        }
    }
}

/// A condition a write needs to hold when it is applied, checked atomically with it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Precondition {
    /// The key must not exist.
    Absent(String),
    /// The key must exist.
    Present(String),
    /// The key must exist and have last changed at this revision.
    ModRevision(String, u64),
}

impl Precondition {
    pub fn key(&self) -> &str {
        match self {
            Precondition::Absent(k) | Precondition::Present(k) | Precondition::ModRevision(k, _) => k,
        }
    }
}

/// A batch of ops applied all or nothing.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct WriteRequest {
    pub preconditions: Vec<Precondition>,
    pub ops: Vec<Op>,
}

/// The result of applying a [`WriteRequest`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum WriteOutcome {
    /// Applied; the state is now at this revision.
    Applied { revision: u64 },
    /// Not applied: this precondition did not hold.
    Conflict { failed: Precondition },
}

/// A value with the revision of the write that last changed it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    pub record: Record,
    pub mod_revision: u64,
}

/// What one applied write changed, as watchers see it.
#[derive(Clone, Debug, PartialEq)]
pub struct ChangeSet {
    pub revision: u64,
    pub ops: Vec<Op>,
}

/// The whole replicated state.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct State {
    revision: u64,
    entries: BTreeMap<String, Entry>,
}

impl State {
    /// Applies `req` atomically; returns what changed when it applied.
    pub fn apply(&mut self, req: WriteRequest) -> (WriteOutcome, Option<Arc<ChangeSet>>) {
        if let Some(failed) = req.preconditions.iter().find(|p| !self.holds(p)) {
            return (WriteOutcome::Conflict { failed: failed.clone() }, None);
        }
        self.revision += 1;
        let revision = self.revision;
        for op in &req.ops {
            match op {
                Op::Put { key, record } => {
                    self.entries.insert(
                        key.clone(),
                        Entry {
                            record: record.clone(),
                            mod_revision: revision,
                        },
                    );
                }
                Op::Delete { key } => {
                    self.entries.remove(key);
                }
            }
        }
        (
            WriteOutcome::Applied { revision },
            Some(Arc::new(ChangeSet { revision, ops: req.ops })),
        )
    }

    fn holds(&self, p: &Precondition) -> bool {
        match p {
            Precondition::Absent(k) => !self.entries.contains_key(k),
            Precondition::Present(k) => self.entries.contains_key(k),
            Precondition::ModRevision(k, r) => self.entries.get(k).is_some_and(|e| e.mod_revision == *r),
        }
    }

    pub fn revision(&self) -> u64 {
        self.revision
    }

    pub fn get(&self, key: &str) -> Option<&Entry> {
        self.entries.get(key)
    }

    /// Every entry whose key starts with `prefix`, in key order.
    pub fn scan<'a>(&'a self, prefix: &'a str) -> impl Iterator<Item = (&'a str, &'a Entry)> + 'a {
        self.entries
            .range::<str, _>((Bound::Included(prefix), Bound::Unbounded))
            .take_while(move |(k, _)| k.starts_with(prefix))
            .map(|(k, e)| (k.as_str(), e))
    }

    /// The current definition of app `id`, if it exists.
    pub fn app(&self, id: &PathId) -> Option<&Arc<AppDefinition>> {
        match &self.get(&crate::keys::app(id))?.record {
            Record::App(app) => Some(app),
            _ => None,
        }
    }

    /// The current definition of pod `id`, if it exists.
    pub fn pod(&self, id: &PathId) -> Option<&Arc<PodDefinition>> {
        match &self.get(&crate::keys::pod(id))?.record {
            Record::Pod(pod) => Some(pod),
            _ => None,
        }
    }

    /// The app or pod `id` (they share one namespace), if either exists.
    pub fn run_spec(&self, id: &PathId) -> Option<RunSpec> {
        self.app(id)
            .map(|a| RunSpec::App(a.clone()))
            .or_else(|| self.pod(id).map(|p| RunSpec::Pod(p.clone())))
    }

    /// The launch backoff of app `id`, if one was recorded.
    pub fn launch_delay(&self, id: &PathId) -> Option<&schemas::LaunchDelay> {
        match &self.get(&crate::keys::launch_delay(id))?.record {
            Record::LaunchDelay(d) => Some(d),
            _ => None,
        }
    }

    /// The Mesos FrameworkID to fail over to, once one was recorded.
    pub fn framework_id(&self) -> Option<&str> {
        match &self.get(crate::keys::FRAMEWORK_ID)?.record {
            Record::FrameworkId(id) => Some(id),
            _ => None,
        }
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The ops that turn `self` into `target`: how watchers learn of a state replaced whole
    /// (a snapshot installed from the leader).
    pub fn ops_to(&self, target: &State) -> Vec<Op> {
        let puts = target
            .entries
            .iter()
            .filter(|(k, e)| self.entries.get(*k) != Some(*e))
            .map(|(k, e)| Op::put(k.clone(), e.record.clone()));
        let deletes = self
            .entries
            .keys()
            .filter(|k| !target.entries.contains_key(*k))
            .map(|k| Op::delete(k.clone()));
        puts.chain(deletes).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fw(id: &str) -> Record {
        Record::FrameworkId(id.into())
    }

    #[test]
    fn applies_batches_and_bumps_revision() {
        let mut s = State::default();
        let (out, changes) = s.apply(WriteRequest {
            preconditions: vec![],
            ops: vec![Op::put("a", fw("1")), Op::put("b", fw("2"))],
        });
        assert_eq!(out, WriteOutcome::Applied { revision: 1 });
        assert_eq!(changes.unwrap().ops.len(), 2);
        assert_eq!(s.get("a").unwrap().mod_revision, 1);
        s.apply(WriteRequest {
            preconditions: vec![],
            ops: vec![Op::delete("a")],
        });
        assert!(s.get("a").is_none());
        assert_eq!(s.revision(), 2);
    }

    #[test]
    fn preconditions_guard_the_whole_batch() {
        let mut s = State::default();
        s.apply(WriteRequest {
            preconditions: vec![],
            ops: vec![Op::put("a", fw("1"))],
        });
        let (out, changes) = s.apply(WriteRequest {
            preconditions: vec![Precondition::Absent("a".into())],
            ops: vec![Op::put("b", fw("2"))],
        });
        assert!(matches!(out, WriteOutcome::Conflict { .. }));
        assert!(changes.is_none());
        assert!(s.get("b").is_none());
        assert_eq!(s.revision(), 1);
        let (out, _) = s.apply(WriteRequest {
            preconditions: vec![Precondition::ModRevision("a".into(), 1)],
            ops: vec![Op::put("a", fw("3"))],
        });
        assert_eq!(out, WriteOutcome::Applied { revision: 2 });
    }

    #[test]
    fn scan_stops_at_prefix_end() {
        let mut s = State::default();
        let ops = ["app//a", "app//a/b", "app//b", "inst//a#1", "apq"]
            .iter()
            .map(|k| Op::put(*k, fw(k)))
            .collect();
        s.apply(WriteRequest {
            preconditions: vec![],
            ops,
        });
        let keys: Vec<_> = s.scan("app/").map(|(k, _)| k).collect();
        assert_eq!(keys, vec!["app//a", "app//a/b", "app//b"]);
    }

    #[test]
    fn ops_to_reaches_the_target_state() {
        let mut old = State::default();
        old.apply(WriteRequest {
            preconditions: vec![],
            ops: vec![Op::put("a", fw("1")), Op::put("b", fw("2"))],
        });
        let mut new = old.clone();
        new.apply(WriteRequest {
            preconditions: vec![],
            ops: vec![Op::delete("a"), Op::put("c", fw("3"))],
        });
        new.apply(WriteRequest {
            preconditions: vec![],
            ops: vec![Op::put("b", fw("4"))],
        });
        let ops = old.ops_to(&new);
        assert_eq!(ops, vec![Op::put("b", fw("4")), Op::put("c", fw("3")), Op::delete("a")]);
        assert!(new.ops_to(&new).is_empty());
    }
}
