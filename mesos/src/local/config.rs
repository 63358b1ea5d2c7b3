//! Configuration of the embedded local master and its agents.

use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How the local master runs; `LocalMasterConfig::new(work_dir)` gives Mesos's defaults and one
/// agent describing this machine.
#[derive(Debug, Clone)]
pub struct LocalMasterConfig {
    /// Root of the agents' sandboxes and checkpoints (`<work_dir>/<agent>/{sandboxes,meta}`).
    pub work_dir: PathBuf,
    /// The agents to run; each offers its resources separately.
    pub agents: Vec<AgentConfig>,
    /// Interval of HEARTBEAT events (Mesos: 15 s).
    pub heartbeat_interval: Duration,
    /// First re-send of an unacknowledged status update (Mesos: 10 s, doubling up to 10 min).
    pub status_update_retry_interval: Duration,
    /// How long the master waits for an agent's answer to a ping (Mesos's
    /// `--agent_ping_timeout`, 15 s): an agent that went away is unreachable after
    /// `agent_ping_timeout × max_agent_ping_timeouts`.
    pub agent_ping_timeout: Duration,
    /// Unanswered pings before an agent is unreachable (Mesos's `--max_agent_ping_timeouts`, 5).
    pub max_agent_ping_timeouts: u32,
}

impl LocalMasterConfig {
    pub fn new(work_dir: impl Into<PathBuf>) -> Self {
        let work_dir = work_dir.into();
        let agent = AgentConfig::this_machine(&work_dir);
        Self {
            work_dir,
            agents: vec![agent],
            heartbeat_interval: Duration::from_secs(15),
            status_update_retry_interval: Duration::from_secs(10),
            agent_ping_timeout: Duration::from_secs(15),
            max_agent_ping_timeouts: 5,
        }
    }

    /// How long an agent that went away stays disconnected before its tasks are unreachable.
    pub fn unreachable_after(&self) -> Duration {
        self.agent_ping_timeout.saturating_mul(self.max_agent_ping_timeouts)
    }
}

/// One agent: what it offers and how it describes itself.
#[derive(Debug, Clone)]
pub struct AgentConfig {
    pub hostname: String,
    /// Offered with every offer of this agent, for placement constraints.
    pub attributes: Vec<(String, AttributeValue)>,
    pub resources: AgentResources,
    /// The address reported in task statuses (`container_status.network_infos`).
    pub ip: IpAddr,
    /// The role all of this agent's resources are statically reserved for (Mesos's agent
    /// `--default_role`); `None` offers them unreserved (`*`). Reserved resources are offered
    /// only to frameworks subscribed with that role.
    pub role: Option<String>,
}

/// Unreserved (role `*`) resources of an agent. Memory and disk are in MB, as Mesos counts them.
#[derive(Debug, Clone, PartialEq)]
pub struct AgentResources {
    pub cpus: f64,
    pub mem: f64,
    pub disk: f64,
    /// Not offered when zero.
    pub gpus: f64,
    /// Inclusive port ranges.
    pub ports: Vec<(u64, u64)>,
}

/// The value of an agent attribute.
#[derive(Debug, Clone, PartialEq)]
pub enum AttributeValue {
    Text(String),
    Scalar(f64),
    Ranges(Vec<(u64, u64)>),
    Set(Vec<String>),
}

impl AgentConfig {
    /// This machine as one agent: its hostname, all its CPUs, its total memory, the disk space
    /// free at `work_dir` (or its closest existing parent), and ports 31000-32000.
    pub fn this_machine(work_dir: &Path) -> AgentConfig {
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
        AgentConfig {
            hostname: os_hostname(),
            attributes: Vec::new(),
            resources: AgentResources {
                cpus,
                mem: total_memory_mb().unwrap_or(1024.0),
                disk: free_disk_mb(work_dir).unwrap_or(0.0),
                gpus: 0.0,
                ports: vec![(31000, 32000)],
            },
            ip: IpAddr::V4(Ipv4Addr::LOCALHOST),
            role: None,
        }
    }
}

impl LocalMasterConfig {
    /// Checks what `LocalMaster::start` needs: at least one agent, positive intervals, and
    /// agents on this one machine never offering the same host port twice.
    pub fn validate(&self) -> Result<(), String> {
        if self.agents.is_empty() {
            return Err("at least one agent is needed".into());
        }
        if self.heartbeat_interval.is_zero() || self.status_update_retry_interval.is_zero() {
            return Err("heartbeat and retry intervals must be positive".into());
        }
        if self.agent_ping_timeout.is_zero() || self.max_agent_ping_timeouts == 0 {
            return Err("the agent ping timeout and the number of missed pings must be positive".into());
        }
        for (i, a) in self.agents.iter().enumerate() {
            if a.role.as_deref().is_some_and(|r| r.is_empty() || r == "*") {
                return Err(format!(
                    "agent {}: a reserved role must be a role name, not empty or '*'",
                    a.hostname
                ));
            }
            for b in &self.agents[i + 1..] {
                let shared = a.resources.ports.iter().find_map(|&(ab, ae)| {
                    b.resources
                        .ports
                        .iter()
                        .find(|&&(bb, be)| ab <= be && bb <= ae)
                        .map(|&(bb, be)| (ab.max(bb), ae.min(be)))
                });
                if let Some((from, to)) = shared {
                    return Err(format!(
                        "agents {} and {} both offer ports {from}-{to}: agents on one machine need disjoint port ranges",
                        a.hostname, b.hostname
                    ));
                }
            }
        }
        Ok(())
    }
}

/// The kernel's hostname, or "localhost" if it cannot be read.
pub fn os_hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".to_owned())
}

fn total_memory_mb() -> Option<f64> {
    let meminfo = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = meminfo.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some((kib / 1024.0).floor())
}

fn free_disk_mb(path: &Path) -> Option<f64> {
    let existing = path.ancestors().find(|p| p.exists())?;
    let stat = nix::sys::statvfs::statvfs(existing).ok()?;
    let bytes = stat.blocks_available() as f64 * stat.fragment_size() as f64;
    Some((bytes / (1024.0 * 1024.0)).floor())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_machine_reports_real_resources() {
        let agent = AgentConfig::this_machine(Path::new("/tmp/does/not/exist/yet"));
        assert!(!agent.hostname.is_empty());
        assert!(agent.resources.cpus >= 1.0);
        assert!(agent.resources.mem > 100.0, "{:?}", agent.resources);
        assert!(agent.resources.disk > 0.0, "{:?}", agent.resources);
        assert_eq!(agent.resources.ports, vec![(31000, 32000)]);
    }

    #[test]
    fn agents_must_not_share_ports() {
        let mut config = LocalMasterConfig::new("/tmp/x");
        assert_eq!(config.validate(), Ok(()));
        let mut b = config.agents[0].clone();
        b.hostname = "b".into();
        b.resources.ports = vec![(30000, 30010), (31990, 32100)];
        config.agents[0].hostname = "a".into();
        config.agents.push(b);
        let err = config.validate().unwrap_err();
        assert!(err.contains("agents a and b both offer ports 31990-32000"), "{err}");
        config.agents[1].resources.ports = vec![(32001, 32100)];
        assert_eq!(config.validate(), Ok(()));
        config.agents[1].role = Some("*".into());
        assert!(config.validate().is_err());
        config.agents.clear();
        assert!(config.validate().is_err());
    }

    #[test]
    fn agents_are_unreachable_after_the_missed_pings() {
        let mut config = LocalMasterConfig::new("/tmp/x");
        assert_eq!(config.unreachable_after(), Duration::from_secs(75), "Mesos's 15 s × 5");
        config.agent_ping_timeout = Duration::from_millis(500);
        config.max_agent_ping_timeouts = 3;
        assert_eq!(config.unreachable_after(), Duration::from_millis(1500));
        config.max_agent_ping_timeouts = 0;
        assert!(config.validate().is_err());
        config.max_agent_ping_timeouts = 1;
        config.agent_ping_timeout = Duration::ZERO;
        assert!(config.validate().is_err());
    }
}
