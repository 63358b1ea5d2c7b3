//! What a local agent's resource is reserved for, read from and written to `mesos.v1.Resource`
//! in both of Mesos's formats.
//!
//! A framework without the RESERVATION_REFINEMENT capability writes and is offered the
//! "pre-refinement" format: `role` (`*`, the agent's static role, or the reserved role) plus
//! `reservation` {principal, labels} for a dynamic reservation. One with the capability uses
//! the `reservations` stack instead (`STATIC` for the agent's role, `DYNAMIC` on top), and
//! neither `role` nor `reservation`. Mixing the two is refused, as Mesos refuses it. Dynamic
//! reservations are made of unreserved resources only: refining a static reservation is not
//! supported by the local agent.

use crate::v1::resource::reservation_info::Type as ReservationType;
use crate::v1::resource::{self, ReservationInfo};
use crate::v1::{Label, Labels, Resource};

/// Which share of an agent's resources a resource belongs to.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum Pool {
    /// The agent's own: unreserved (`*`), or statically reserved for the agent's role.
    #[default]
    Agent,
    /// Dynamically reserved by a RESERVE operation.
    Dynamic(Reservation),
}

/// A dynamic reservation: the role it is for, who made it, and the framework's labels (which
/// Mesos compares as an ordered list: reservations with other labels are other resources).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct Reservation {
    pub role: String,
    pub principal: Option<String>,
    pub labels: Vec<(String, Option<String>)>,
}

impl Pool {
    /// The role resources of this pool are offered to (`*`: anyone).
    pub(crate) fn role<'a>(&'a self, agent_role: &'a str) -> &'a str {
        match self {
            Pool::Agent => agent_role,
            Pool::Dynamic(r) => &r.role,
        }
    }

    /// Reads the pool `r` names. `agent_role` is the role the agent offers its own resources
    /// with; anything else that is not a dynamic reservation is not this agent's.
    pub(crate) fn of(r: &Resource, agent_role: &str) -> Result<Pool, String> {
        if let Some(reservation) = &r.reservation {
            if !r.reservations.is_empty() {
                return Err("a resource sets both 'reservation' and 'reservations'".into());
            }
            return dynamic(r.role(), reservation);
        }
        match r.reservations.as_slice() {
            [] => {
                let role = r.role();
                if role == agent_role {
                    Ok(Pool::Agent)
                } else {
                    Err(format!(
                        "it is for role '{role}' but the agent offers its resources to role '{agent_role}'"
                    ))
                }
            }
            [only] if only.r#type() == ReservationType::Dynamic && agent_role == "*" => {
                dynamic(only.role.as_deref().unwrap_or_default(), only)
            }
            [only] if only.r#type() == ReservationType::Static => {
                let role = only.role.as_deref().unwrap_or_default();
                if role == agent_role {
                    Ok(Pool::Agent)
                } else {
                    Err(format!(
                        "it is statically reserved for role '{role}' but the agent's role is '{agent_role}'"
                    ))
                }
            }
            _ => Err("refined reservations are not supported by the local agent".into()),
        }
    }
}

fn dynamic(role: &str, info: &ReservationInfo) -> Result<Pool, String> {
    if role.is_empty() || role == "*" {
        return Err(format!(
            "a dynamic reservation needs a role other than '*', not '{role}'"
        ));
    }
    let labels = info
        .labels
        .iter()
        .flat_map(|l| &l.labels)
        .map(|l| (l.key.clone(), l.value.clone()))
        .collect();
    Ok(Pool::Dynamic(Reservation {
        role: role.to_owned(),
        principal: info.principal.clone(),
        labels,
    }))
}

/// Whether `list` is written in the format a framework with (`refinement`) or without the
/// RESERVATION_REFINEMENT capability must use.
pub(crate) fn check_format(list: &[Resource], refinement: bool) -> Result<(), String> {
    for r in list {
        if refinement && (r.reservation.is_some() || r.role.as_deref().is_some_and(|role| role != "*")) {
            return Err(format!(
                "resource {} uses 'role'/'reservation', but a framework with the RESERVATION_REFINEMENT \
                 capability must use 'reservations'",
                r.name
            ));
        }
        if !refinement && !r.reservations.is_empty() {
            return Err(format!(
                "resource {} uses 'reservations', which needs the RESERVATION_REFINEMENT capability",
                r.name
            ));
        }
    }
    Ok(())
}

/// Writes `pool` onto `r` in the format of a framework with or without `refinement`.
pub(crate) fn write_pool(r: &mut Resource, pool: &Pool, agent_role: &str, refinement: bool) {
    match (pool, refinement) {
        (Pool::Agent, false) => r.role = Some(agent_role.to_owned()),
        (Pool::Agent, true) if agent_role != "*" => r.reservations = vec![static_info(agent_role)],
        (Pool::Agent, true) => {}
        (Pool::Dynamic(res), false) => {
            r.role = Some(res.role.clone());
            r.reservation = Some(ReservationInfo {
                principal: res.principal.clone(),
                labels: labels(res),
                ..Default::default()
            });
        }
        (Pool::Dynamic(res), true) => {
            r.reservations = vec![ReservationInfo {
                principal: res.principal.clone(),
                labels: labels(res),
                role: Some(res.role.clone()),
                r#type: Some(ReservationType::Dynamic as i32),
            }];
        }
    }
}

fn static_info(role: &str) -> ReservationInfo {
    ReservationInfo {
        role: Some(role.to_owned()),
        r#type: Some(ReservationType::Static as i32),
        ..Default::default()
    }
}

fn labels(res: &Reservation) -> Option<Labels> {
    (!res.labels.is_empty()).then(|| Labels {
        labels: res
            .labels
            .iter()
            .map(|(key, value)| Label {
                key: key.clone(),
                value: value.clone(),
            })
            .collect(),
    })
}

/// A persistent volume: disk of a reserved pool with a persistence id, shown to a task at
/// `container_path` in its sandbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Volume {
    pub pool: Pool,
    /// Thousandths of a megabyte, as the other scalars.
    pub size: i64,
    pub principal: Option<String>,
    pub container_path: String,
    pub mode: i32,
}

/// The disk info of a volume with persistence id `id`.
pub(crate) fn disk_info(id: &str, v: &Volume) -> resource::DiskInfo {
    resource::DiskInfo {
        persistence: Some(resource::disk_info::Persistence {
            id: id.to_owned(),
            principal: v.principal.clone(),
        }),
        volume: Some(crate::v1::Volume {
            container_path: v.container_path.clone(),
            mode: v.mode,
            ..Default::default()
        }),
        source: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reserved_old(role: &str, label: &str) -> Resource {
        Resource {
            name: "cpus".into(),
            role: Some(role.into()),
            reservation: Some(ReservationInfo {
                principal: Some("p".into()),
                labels: Some(Labels {
                    labels: vec![Label {
                        key: "k".into(),
                        value: Some(label.into()),
                    }],
                }),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    #[test]
    fn both_formats_name_the_same_pools() {
        let old = reserved_old("web", "a");
        let pool = Pool::of(&old, "*").unwrap();
        let Pool::Dynamic(res) = &pool else { panic!("dynamic") };
        assert_eq!(res.role, "web");
        assert_eq!(res.labels, [("k".to_owned(), Some("a".to_owned()))]);
        let mut new = Resource {
            name: "cpus".into(),
            ..Default::default()
        };
        write_pool(&mut new, &pool, "*", true);
        assert_eq!(new.role, None);
        assert_eq!(Pool::of(&new, "*").unwrap(), pool);
        let mut again = Resource::default();
        write_pool(&mut again, &pool, "*", false);
        assert_eq!(again.role.as_deref(), Some("web"));
        assert_eq!(Pool::of(&again, "*").unwrap(), pool);
        // Other labels are another reservation.
        assert_ne!(Pool::of(&reserved_old("web", "b"), "*").unwrap(), pool);
    }

    #[test]
    fn unreserved_static_and_bad_pools() {
        let plain = Resource {
            name: "mem".into(),
            ..Default::default()
        };
        assert_eq!(Pool::of(&plain, "*").unwrap(), Pool::Agent);
        assert!(Pool::of(&plain, "ops").is_err(), "the agent's resources are ops's");
        let mut stat = Resource::default();
        write_pool(&mut stat, &Pool::Agent, "ops", true);
        assert_eq!(Pool::of(&stat, "ops").unwrap(), Pool::Agent);
        assert!(
            Pool::of(&reserved_old("*", "a"), "*")
                .unwrap_err()
                .contains("other than '*'")
        );
        let mut refined = stat.clone();
        refined.reservations.push(ReservationInfo {
            role: Some("ops/x".into()),
            r#type: Some(ReservationType::Dynamic as i32),
            ..Default::default()
        });
        assert!(Pool::of(&refined, "ops").unwrap_err().contains("refined"));
    }

    #[test]
    fn formats_must_match_the_capability() {
        let old = reserved_old("web", "a");
        assert!(check_format(std::slice::from_ref(&old), false).is_ok());
        assert!(check_format(std::slice::from_ref(&old), true).is_err());
        let mut new = Resource::default();
        write_pool(&mut new, &Pool::of(&old, "*").unwrap(), "*", true);
        assert!(check_format(std::slice::from_ref(&new), true).is_ok());
        assert!(check_format(&[new], false).is_err());
    }
}
