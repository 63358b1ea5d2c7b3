//! Where each local agent stands with the master (connected, gone away, unreachable, marked
//! gone), kept in `<agent>/meta/presence.json` so that an agent that went away stays away across
//! a restart, as Mesos's registry remembers unreachable and gone agents.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};

use super::checkpoint::{CheckpointError, remove_durably, write_durably};

const FILE: &str = "presence.json";

/// An agent's standing with the master.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AgentState {
    /// Registered: its resources are offered and its status updates flow.
    Connected,
    /// It went away (its connection broke): nothing of it is offered, its updates wait, and
    /// the master waits for it for `agent_ping_timeout × max_agent_ping_timeouts`.
    Disconnected,
    /// It missed too many pings: its tasks were reported TASK_UNREACHABLE (TASK_LOST to
    /// frameworks that are not partition-aware). Its processes still run, as on a machine cut
    /// off by a network partition, until it comes back.
    Unreachable,
    /// An operator marked it gone (MARK_AGENT_GONE): its tasks were killed for good and
    /// reported TASK_GONE_BY_OPERATOR. It can only rejoin as a new agent, with a new id.
    Gone,
}

impl AgentState {
    /// Mesos's style of naming it, as the operator endpoints print it.
    pub fn as_str(self) -> &'static str {
        match self {
            AgentState::Connected => "CONNECTED",
            AgentState::Disconnected => "DISCONNECTED",
            AgentState::Unreachable => "UNREACHABLE",
            AgentState::Gone => "GONE",
        }
    }

    fn parse(s: &str) -> Option<AgentState> {
        [
            AgentState::Connected,
            AgentState::Disconnected,
            AgentState::Unreachable,
            AgentState::Gone,
        ]
        .into_iter()
        .find(|state| state.as_str() == s)
    }
}

/// An agent as the master sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct AgentStatus {
    pub id: String,
    pub hostname: String,
    pub state: AgentState,
    /// When it entered that state; `None` while connected.
    pub since: Option<SystemTime>,
    /// The tasks the agent holds (running, or ended with an update not yet acknowledged).
    pub tasks: usize,
}

/// An agent's state with the time it was entered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Presence {
    pub state: AgentState,
    pub since: Option<SystemTime>,
}

impl Presence {
    pub(crate) const CONNECTED: Presence = Presence {
        state: AgentState::Connected,
        since: None,
    };

    pub(crate) fn now(state: AgentState) -> Presence {
        let since = (state != AgentState::Connected).then(SystemTime::now);
        Presence { state, since }
    }

    /// Whether the master and the agent hear each other (offers, updates, kills, acks).
    pub(crate) fn is_connected(self) -> bool {
        self.state == AgentState::Connected
    }

    /// Nanoseconds since the epoch at which the state was entered (Mesos's TimeInfo).
    pub(crate) fn since_nanos(self) -> i64 {
        self.since
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_nanos().min(i64::MAX as u128) as i64)
    }

    /// Reads the agent's presence from its meta directory (connected when never written).
    pub(crate) fn load(meta_dir: &Path) -> Result<Presence, CheckpointError> {
        let path = meta_dir.join(FILE);
        let text = match std::fs::read(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Presence::CONNECTED),
            Err(source) => return Err(CheckpointError { path, source }),
        };
        parse(&text).ok_or_else(|| CheckpointError {
            source: std::io::Error::new(std::io::ErrorKind::InvalidData, "not an agent presence record"),
            path: path.clone(),
        })
    }

    /// Makes this the agent's durable presence.
    pub(crate) fn store(self, meta_dir: &Path) -> Result<(), CheckpointError> {
        let path = file(meta_dir);
        if self.is_connected() {
            return remove_durably(&path);
        }
        let since_ms = self
            .since
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_millis() as u64);
        let record = json!({"state": self.state.as_str(), "since_ms": since_ms});
        write_durably(&path, record.to_string().as_bytes())
    }
}

fn file(meta_dir: &Path) -> PathBuf {
    meta_dir.join(FILE)
}

fn parse(text: &[u8]) -> Option<Presence> {
    let record: Value = serde_json::from_slice(text).ok()?;
    let state = AgentState::parse(record.get("state")?.as_str()?)?;
    let since = record
        .get("since_ms")
        .and_then(Value::as_u64)
        .map(|ms| UNIX_EPOCH + Duration::from_millis(ms));
    Some(Presence {
        state,
        since: if state == AgentState::Connected { None } else { since },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_presence_survives_a_restart_and_connected_leaves_no_file() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(Presence::load(dir.path()).unwrap(), Presence::CONNECTED);
        for state in [AgentState::Disconnected, AgentState::Unreachable, AgentState::Gone] {
            let p = Presence {
                state,
                since: Some(UNIX_EPOCH + Duration::from_millis(1_700_000_000_123)),
            };
            p.store(dir.path()).unwrap();
            assert_eq!(Presence::load(dir.path()).unwrap(), p);
            assert_eq!(p.since_nanos(), 1_700_000_000_123_000_000);
        }
        Presence::CONNECTED.store(dir.path()).unwrap();
        assert!(!dir.path().join(FILE).exists());
        assert_eq!(Presence::load(dir.path()).unwrap(), Presence::CONNECTED);
    }

    #[test]
    fn a_damaged_presence_is_an_error_not_a_guess() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(FILE), b"{\"state\": \"SOMEWHERE\"}").unwrap();
        assert!(Presence::load(dir.path()).is_err());
    }
}
