//! Service ports: every `portDefinitions[].port` (or `portMappings[].servicePort`) given as 0
//! gets a port from the configured range that no other app uses; an update that leaves a port
//! at 0 keeps the port the app already had at that index.

use std::collections::HashSet;
use std::ops::Range;

use schemas::{AppDefinition, PathId};
use store::State;

use crate::error::{ApiError, Detail};
use crate::view;

/// An app's service ports in declaration order (port definitions, then port mappings).
pub(crate) fn service_ports(app: &AppDefinition) -> Vec<u32> {
    let defs = app.port_definitions.iter().flatten().map(|p| p.port);
    let maps = app
        .container
        .iter()
        .flat_map(|c| c.port_mappings.iter().flatten())
        .map(|m| m.service_port);
    defs.chain(maps).collect()
}

fn needs_assignment(app: &AppDefinition) -> bool {
    service_ports(app).contains(&0)
}

/// The ports in use by apps outside the change, and a cursor for handing out free ones.
pub(crate) struct PortPool {
    used: HashSet<u32>,
    range: Range<u32>,
    next: u32,
}

impl PortPool {
    /// `None` when none of `apps` asks for a port, so that scaling never scans every app.
    pub(crate) fn for_change<'a>(
        state: &State,
        changing: &HashSet<&PathId>,
        apps: impl Iterator<Item = &'a AppDefinition> + Clone,
        range: Range<u32>,
    ) -> Option<PortPool> {
        if !apps.clone().any(needs_assignment) {
            return None;
        }
        let mut used: HashSet<u32> = view::apps(state)
            .filter(|a| !changing.contains(&a.id))
            .flat_map(|a| service_ports(&a))
            .filter(|p| *p != 0)
            .collect();
        used.extend(apps.flat_map(service_ports).filter(|p| *p != 0));
        Some(PortPool {
            used,
            next: range.start,
            range,
        })
    }

    /// Replaces the 0 ports of `app`, preferring the port `old` had at the same index.
    pub(crate) fn assign(&mut self, app: &mut AppDefinition, old: Option<&AppDefinition>) -> Result<(), ApiError> {
        let old_defs: Vec<u32> = old
            .and_then(|o| o.port_definitions.as_ref())
            .iter()
            .flat_map(|d| d.iter().map(|p| p.port))
            .collect();
        let old_maps: Vec<u32> = old
            .and_then(|o| o.container.as_ref())
            .and_then(|c| c.port_mappings.as_ref())
            .iter()
            .flat_map(|m| m.iter().map(|p| p.service_port))
            .collect();
        for (i, def) in app.port_definitions.iter_mut().flatten().enumerate() {
            if def.port == 0 {
                def.port = self.pick(old_defs.get(i).copied(), || format!("/portDefinitions/{i}/port"))?;
            }
        }
        if let Some(maps) = app.container.as_mut().and_then(|c| c.port_mappings.as_mut()) {
            for (i, m) in maps.iter_mut().enumerate() {
                if m.service_port == 0 {
                    m.service_port = self.pick(old_maps.get(i).copied(), || {
                        format!("/container/portMappings/{i}/servicePort")
                    })?;
                }
            }
        }
        Ok(())
    }

    fn pick(&mut self, keep: Option<u32>, path: impl Fn() -> String) -> Result<u32, ApiError> {
        if let Some(p) = keep.filter(|p| *p != 0 && !self.used.contains(p)) {
            self.used.insert(p);
            return Ok(p);
        }
        let span = self.range.end.saturating_sub(self.range.start);
        for _ in 0..span {
            let candidate = self.next;
            self.next = if self.next + 1 >= self.range.end {
                self.range.start
            } else {
                self.next + 1
            };
            if self.used.insert(candidate) {
                return Ok(candidate);
            }
        }
        Err(ApiError::Invalid(vec![Detail::new(
            path(),
            format!(
                "no free service port left in [{}, {})",
                self.range.start, self.range.end
            ),
        )]))
    }
}
