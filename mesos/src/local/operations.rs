//! The offer operations that change an agent's resources, applied in ACCEPT order: RESERVE and
//! UNRESERVE move resources between the agent's own pool and a dynamic reservation of one of
//! the framework's roles; CREATE and DESTROY turn reserved disk into a persistent volume (a
//! directory on the agent) and back. Each takes resources from what is left of the offers and
//! gives the result back to it, so a later LAUNCH of the same ACCEPT can use it.
//!
//! An invalid operation changes nothing and is dropped, as Mesos drops it (with an
//! OPERATION_ERROR status when the framework gave it an id); tasks that counted on it then
//! fail validation with TASK_ERROR.

use std::fs;

use crate::v1::framework_info::capability::Type as Capability;
use crate::v1::{Resource, offer};

use super::master::Master;
use super::persistent::{self, check_container_path, volume_dir};
use super::reservations::{Pool, check_format};
use super::resources::Resources;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Reserve,
    Unreserve,
    Create,
    Destroy,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Reserve => "RESERVE",
            Kind::Unreserve => "UNRESERVE",
            Kind::Create => "CREATE",
            Kind::Destroy => "DESTROY",
        }
    }
}

/// The operation's kind and resources, if it is one of ours.
fn parse(operation: &offer::Operation) -> Option<(Kind, &[Resource])> {
    use offer::operation::Type as T;
    let list = match operation.r#type() {
        T::Reserve => (
            Kind::Reserve,
            operation.reserve.as_ref().map(|o| o.resources.as_slice()),
        ),
        T::Unreserve => (
            Kind::Unreserve,
            operation.unreserve.as_ref().map(|o| o.resources.as_slice()),
        ),
        T::Create => (Kind::Create, operation.create.as_ref().map(|o| o.volumes.as_slice())),
        T::Destroy => (Kind::Destroy, operation.destroy.as_ref().map(|o| o.volumes.as_slice())),
        _ => return None,
    };
    Some((list.0, list.1.unwrap_or_default()))
}

/// Whether the local master applies `operation` through [`Master::apply_operation`].
pub(crate) fn changes_resources(operation: &offer::Operation) -> bool {
    parse(operation).is_some()
}

impl Master {
    /// Applies one RESERVE, UNRESERVE, CREATE or DESTROY to `remaining` (what is left of the
    /// ACCEPT's offers) and to agent `agent`, durably (the agent's checkpoint is rewritten
    /// before anything is offered or launched on the result); or says why it is invalid, in
    /// which case nothing changed.
    pub(super) fn apply_operation(
        &mut self,
        framework_id: &str,
        agent: usize,
        operation: &offer::Operation,
        remaining: &mut Resources,
    ) -> Result<(), String> {
        let Some((kind, list)) = parse(operation) else {
            return Err("not a resource operation".into());
        };
        let invalid = |why: String| format!("Invalid {} operation: {why}", kind.name());
        let framework = &self.frameworks[framework_id];
        check_format(list, framework.has(Capability::ReservationRefinement)).map_err(invalid)?;
        let roles = framework.roles();
        let principal = framework.info.principal.clone();
        let agent_role = self.agents[agent].resource_role().to_owned();
        let given = Resources::from_protos(list, &agent_role).map_err(|e| invalid(e.to_string()))?;
        if given.is_empty() {
            return Err(invalid("it names no resources".into()));
        }
        let own_role = |pool: &Pool| match pool {
            Pool::Dynamic(r) if !roles.contains(&r.role) => Err(format!(
                "role '{}' is not one of the framework's roles {roles:?}",
                r.role
            )),
            Pool::Dynamic(r) if r.principal.is_some() && principal.is_some() && r.principal != principal => {
                Err(format!(
                    "the reservation's principal {:?} is not the framework's {:?}",
                    r.principal, principal
                ))
            }
            _ => Ok(()),
        };
        let (take, give) = match kind {
            Kind::Reserve | Kind::Unreserve => {
                if !given.volumes().is_empty() {
                    return Err(invalid(match kind {
                        Kind::Reserve => "persistent volumes are made by CREATE, not reserved".into(),
                        _ => "a persistent volume must be destroyed before it is unreserved".into(),
                    }));
                }
                for pool in given.pools() {
                    match pool {
                        Pool::Agent => return Err(invalid("every resource must name a dynamic reservation".into())),
                        Pool::Dynamic(_) => own_role(pool).map_err(invalid)?,
                    }
                }
                if kind == Kind::Reserve && agent_role != "*" {
                    return Err(invalid(format!(
                        "the agent's resources are statically reserved for '{agent_role}'; refining a reservation \
                         is not supported by the local agent"
                    )));
                }
                let unreserved = given.moved_to(&Pool::Agent);
                if kind == Kind::Reserve {
                    (unreserved, given.clone())
                } else {
                    (given.clone(), unreserved)
                }
            }
            Kind::Create | Kind::Destroy => {
                if !given.is_volumes_only() {
                    return Err(invalid("it must name persistent volumes only".into()));
                }
                for (id, v) in given.volumes() {
                    match &v.pool {
                        Pool::Agent if agent_role == "*" => {
                            return Err(invalid(format!("volume '{id}' is made of unreserved disk")));
                        }
                        pool => own_role(pool).map_err(invalid)?,
                    }
                    if kind == Kind::Create {
                        check_container_path(&v.container_path).map_err(invalid)?;
                        if self.agents[agent].total.volumes().contains_key(id) {
                            return Err(invalid(format!("persistence id '{id}' is already in use")));
                        }
                    }
                }
                if kind == Kind::Create {
                    (given.without_volumes(), given.clone())
                } else {
                    (given.clone(), given.without_volumes())
                }
            }
        };
        let missing = remaining.missing(&take);
        if !missing.is_empty() {
            return Err(invalid(format!(
                "the offers do not hold what it needs: {}",
                missing.join("; ")
            )));
        }
        let agent_dir = self.agents[agent].dir.clone();
        let dirs: Vec<_> = given
            .volumes()
            .iter()
            .map(|(id, v)| volume_dir(&agent_dir, v.pool.role(&agent_role), id))
            .collect();
        if kind == Kind::Create {
            for dir in &dirs {
                fs::create_dir_all(dir).map_err(|e| format!("cannot create the volume {}: {e}", dir.display()))?;
            }
        }
        let mut total = self.agents[agent].total.clone();
        total.subtract(&take);
        total.add(&give);
        persistent::save(&agent_dir.join("meta"), &agent_role, &total.reserved())
            .map_err(|e| format!("cannot checkpoint the agent's resources: {e}"))?;
        if kind == Kind::Destroy {
            for dir in &dirs {
                if let Err(e) = fs::remove_dir_all(dir) {
                    tracing::warn!(dir = %dir.display(), error = %e, "cannot remove a destroyed volume's data");
                }
            }
        }
        self.agents[agent].total = total;
        remaining.subtract(&take);
        remaining.add(&give);
        tracing::info!(framework_id, agent = %self.agents[agent].id, operation = kind.name(), "applied");
        Ok(())
    }
}
