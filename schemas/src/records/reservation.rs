//! The reservation of a resident instance (an app with persistent volumes): the resources
//! dynamically reserved for it on one agent and the persistent volumes made of them. The
//! instance is pinned there: every task it runs is launched on this reservation, and its
//! volumes keep their data across tasks until the instance is wiped or its app deleted.

use serde::{Deserialize, Serialize};

use crate::{AppDefinition, Timestamp};

/// How long a reservation may take to show up in an offer after it was asked for; after that
/// it is deemed failed and asked for again (Marathon's `--task_reservation_timeout` is 20 s;
/// more here, since a busy machine may take a while to offer it back).
pub const RESERVATION_TIMEOUT_MILLIS: i64 = 60_000;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Reservation {
    /// Tells this reservation's resources apart in offers (a label on each of them), so that
    /// an older attempt of the same instance is never mistaken for it.
    pub id: String,
    pub agent_id: String,
    pub host: String,
    /// The host ports reserved, in the order the app asks for ports: every task gets them.
    #[serde(default)]
    pub ports: Vec<u32>,
    pub volumes: Vec<LocalVolume>,
    pub state: ReservationState,
}

/// A persistent volume of an instance, as Marathon's `localVolumes` show it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LocalVolume {
    pub container_path: String,
    pub persistence_id: String,
    /// MiB.
    pub size: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "state")]
pub enum ReservationState {
    /// RESERVE and CREATE were sent at `since`; not yet seen in an offer.
    New { since: Timestamp },
    /// Seen in an offer: it exists on the agent.
    Confirmed,
}

impl Reservation {
    /// Whether it was asked for long enough ago without ever showing up that it must have
    /// failed (the offer was gone, or the master refused it).
    pub fn timed_out(&self, now: Timestamp) -> bool {
        match self.state {
            ReservationState::New { since } => now.millis() - since.millis() >= RESERVATION_TIMEOUT_MILLIS,
            ReservationState::Confirmed => false,
        }
    }

    /// When [`Self::timed_out`] becomes true, if it may.
    pub fn deadline(&self) -> Option<Timestamp> {
        match self.state {
            ReservationState::New { since } => {
                Some(Timestamp::from_millis(since.millis() + RESERVATION_TIMEOUT_MILLIS))
            }
            ReservationState::Confirmed => None,
        }
    }
}

/// A persistent volume an app asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PersistentVolume {
    pub container_path: String,
    /// MiB.
    pub size: u64,
}

impl AppDefinition {
    /// The app's persistent volumes (`container.volumes[].persistent`), in definition order.
    pub fn persistent_volumes(&self) -> Vec<PersistentVolume> {
        let Some(container) = &self.container else {
            return Vec::new();
        };
        container
            .volumes
            .iter()
            .filter_map(|v| {
                let persistent = v.get("persistent")?;
                Some(PersistentVolume {
                    container_path: v.get("containerPath")?.as_str()?.to_owned(),
                    size: persistent.get("size").and_then(serde_json::Value::as_u64).unwrap_or(0),
                })
            })
            .collect()
    }
}

impl PersistentVolume {
    /// A fresh persistence id for this volume of `app`: Marathon's `<app>#<containerPath>#<uuid>`.
    pub fn new_persistence_id(&self, app: &AppDefinition) -> String {
        format!("{}#{}#{}", app.id.safe_id(), self.container_path, uuid::Uuid::new_v4())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn volumes_of_an_app_and_their_ids() {
        let app: AppDefinition = serde_json::from_value(serde_json::json!({
            "id": "/db/pg", "cmd": "x",
            "container": {"type": "MESOS", "volumes": [
                {"containerPath": "data", "mode": "RW", "persistent": {"size": 10}},
                {"containerPath": "/etc/x", "hostPath": "/etc/x", "mode": "RO"}
            ]}
        }))
        .unwrap();
        let volumes = app.persistent_volumes();
        assert_eq!(
            volumes,
            [PersistentVolume {
                container_path: "data".into(),
                size: 10
            }]
        );
        assert!(volumes[0].new_persistence_id(&app).starts_with("db_pg#data#"));
    }

    #[test]
    fn a_new_reservation_times_out_and_a_confirmed_one_never() {
        let mut r = Reservation {
            id: "r".into(),
            agent_id: "a".into(),
            host: "h".into(),
            ports: vec![],
            volumes: vec![],
            state: ReservationState::New {
                since: Timestamp::from_millis(1_000),
            },
        };
        assert!(!r.timed_out(Timestamp::from_millis(1_000 + RESERVATION_TIMEOUT_MILLIS - 1)));
        assert!(r.timed_out(Timestamp::from_millis(1_000 + RESERVATION_TIMEOUT_MILLIS)));
        assert_eq!(
            r.deadline(),
            Some(Timestamp::from_millis(1_000 + RESERVATION_TIMEOUT_MILLIS))
        );
        r.state = ReservationState::Confirmed;
        assert!(!r.timed_out(Timestamp::from_millis(i64::MAX / 2)));
        let json = serde_json::to_value(&r).unwrap();
        assert_eq!(json["state"], serde_json::json!({"state": "confirmed"}));
        assert_eq!(serde_json::from_value::<Reservation>(json).unwrap(), r);
    }
}
