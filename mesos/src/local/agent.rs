//! One local agent: its identity, resources, sandboxes and checkpoint log.

use std::collections::HashMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use crate::protos::pacer::checkpoint::{Record, record};
use crate::v1::{Attribute, FrameworkId, FrameworkInfo};

use super::checkpoint::{CheckpointError, CheckpointLog, load_or_create_agent_id};
use super::config::AgentConfig;
use super::presence::Presence;
use super::resources::{Resources, attribute_protos};

pub(crate) struct Agent {
    pub index: usize,
    pub id: String,
    pub hostname: String,
    pub ip: IpAddr,
    pub attributes: Vec<Attribute>,
    /// The role all its resources are statically reserved for, if any.
    pub role: Option<String>,
    pub total: Resources,
    /// Held by tasks that have not ended.
    pub used: Resources,
    pub dir: PathBuf,
    pub log: CheckpointLog,
    /// Connected, gone away, unreachable or marked gone (see `partition`).
    pub presence: Presence,
    /// The FrameworkInfo last written to this agent's log, per framework.
    logged_frameworks: HashMap<String, FrameworkInfo>,
}

impl Agent {
    /// Opens the agent's directory (`<work_dir>/<dir_name>`) and returns its checkpoint records.
    pub(crate) fn open(
        index: usize,
        config: &AgentConfig,
        dir: PathBuf,
        fresh_id: impl FnOnce() -> String,
    ) -> Result<(Agent, Vec<Record>), CheckpointError> {
        let meta = dir.join("meta");
        let id = load_or_create_agent_id(&meta, fresh_id)?;
        let (log, records) = CheckpointLog::open(&meta)?;
        let presence = Presence::load(&meta)?;
        let agent = Agent {
            index,
            id,
            hostname: config.hostname.clone(),
            ip: config.ip,
            attributes: attribute_protos(&config.attributes),
            role: config.role.clone(),
            // What is dynamically reserved or a persistent volume survives restarts.
            total: super::persistent::recover(&config.resources, config.role.as_deref().unwrap_or("*"), &meta)?,
            used: Resources::default(),
            dir,
            log,
            presence,
            logged_frameworks: HashMap::new(),
        };
        Ok((agent, records))
    }

    /// The role its resources are offered and taken with: its reserved role or `*`.
    pub(crate) fn resource_role(&self) -> &str {
        self.role.as_deref().unwrap_or("*")
    }

    pub(crate) fn meta_dir(&self) -> PathBuf {
        self.dir.join("meta")
    }

    pub(crate) fn sandbox(&self, task_id: &str) -> PathBuf {
        sandbox_of(&self.dir, task_id)
    }

    /// The sandbox of a task group's executor: the group's shared volumes live there.
    pub(crate) fn executor_sandbox(&self, executor_id: &str) -> PathBuf {
        self.dir.join("executors").join(executor_id)
    }

    /// Appends a record to the log (synced at the end of the master's batch if `durable`).
    pub(crate) fn checkpoint(&mut self, record: record::Record, durable: bool) -> Result<(), CheckpointError> {
        self.log.append(&Record { record: Some(record) }, durable)
    }

    /// Writes the framework's info unless this log already has that exact version.
    pub(crate) fn checkpoint_framework(&mut self, info: &FrameworkInfo) -> Result<(), CheckpointError> {
        let Some(id) = info.id.as_ref().map(|i| i.value.clone()) else {
            return Ok(());
        };
        if self.logged_frameworks.get(&id) == Some(info) {
            return Ok(());
        }
        self.checkpoint(record::Record::Framework(info.clone()), true)?;
        self.logged_frameworks.insert(id, info.clone());
        Ok(())
    }

    /// Updates the logged info of a framework this agent knows (re-subscription with changes).
    pub(crate) fn refresh_framework(&mut self, info: &FrameworkInfo) -> Result<(), CheckpointError> {
        let known = info
            .id
            .as_ref()
            .is_some_and(|id| self.logged_frameworks.contains_key(&id.value));
        if known { self.checkpoint_framework(info) } else { Ok(()) }
    }

    pub(crate) fn checkpoint_framework_removed(&mut self, framework_id: &str) -> Result<(), CheckpointError> {
        if self.logged_frameworks.remove(framework_id).is_none() {
            return Ok(());
        }
        self.checkpoint(
            record::Record::FrameworkRemoved(FrameworkId {
                value: framework_id.to_owned(),
            }),
            true,
        )
    }

    /// Replaces the log with `records` (a snapshot of the live state).
    pub(crate) fn compact(&mut self, records: Vec<Record>) -> Result<(), CheckpointError> {
        self.logged_frameworks.clear();
        for r in &records {
            if let Some(record::Record::Framework(info)) = &r.record
                && let Some(id) = &info.id
            {
                self.logged_frameworks.insert(id.value.clone(), info.clone());
            }
        }
        self.log.rewrite(&records)
    }
}

pub(crate) fn sandbox_of(agent_dir: &Path, task_id: &str) -> PathBuf {
    agent_dir.join("sandboxes").join(task_id)
}

/// Directory names of the configured agents: the hostname, or `<hostname>-<index>` when
/// several agents share a hostname.
pub(crate) fn dir_names(configs: &[AgentConfig]) -> Vec<String> {
    configs
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let clean: String = c
                .hostname
                .chars()
                .map(|ch| {
                    if ch.is_ascii_alphanumeric() || "-_.".contains(ch) {
                        ch
                    } else {
                        '_'
                    }
                })
                .collect();
            let clean = if clean.is_empty() || clean == "." || clean == ".." {
                "agent".to_owned()
            } else {
                clean
            };
            let shared = configs.iter().filter(|o| o.hostname == c.hostname).count() > 1;
            if shared { format!("{clean}-{i}") } else { clean }
        })
        .collect()
}

/// Mesos's rules for an id that becomes a path component: not empty, no '/', no NUL, not a
/// dot directory, and short enough for a file name.
pub(crate) fn valid_task_id(id: &str) -> Result<(), String> {
    if id.is_empty() {
        return Err("Task ID must not be empty".into());
    }
    if id.contains('/') || id.contains('\0') {
        return Err(format!("Task ID '{id}' must not contain '/' or NUL"));
    }
    if id == "." || id == ".." {
        return Err(format!("Task ID '{id}' must not be '.' or '..'"));
    }
    if id.len() > 255 {
        return Err("Task ID must be at most 255 bytes".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn task_ids_that_would_escape_the_sandbox_are_refused() {
        assert!(valid_task_id("web.1234-abcd").is_ok());
        for bad in ["", "..", ".", "a/b", "a\0b"] {
            assert!(valid_task_id(bad).is_err(), "{bad:?}");
        }
        assert!(valid_task_id(&"x".repeat(256)).is_err());
    }

    #[test]
    fn agents_sharing_a_hostname_get_distinct_directories() {
        let mut a = AgentConfig::this_machine(Path::new("/tmp"));
        a.hostname = "box".into();
        let mut b = a.clone();
        b.hostname = "other/host".into();
        assert_eq!(dir_names(&[a.clone(), b.clone()]), ["box", "other_host"]);
        assert_eq!(dir_names(&[a.clone(), a.clone(), b]), ["box-0", "box-1", "other_host"]);
    }
}
