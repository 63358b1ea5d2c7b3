//! Port ranges as the local allocator counts them: inclusive, sorted, disjoint intervals.

use std::fmt;

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

    pub(crate) fn intervals(&self) -> &[(u64, u64)] {
        &self.0
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub(crate) fn add(&mut self, (begin, end): (u64, u64)) {
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

    pub(crate) fn union(&mut self, other: &RangeSet) {
        for &r in &other.0 {
            self.add(r);
        }
    }

    pub(crate) fn subtract(&mut self, other: &RangeSet) {
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

    pub(crate) fn contains(&self, other: &RangeSet) -> bool {
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
