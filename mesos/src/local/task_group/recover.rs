//! A task group's executor across an agent restart: its checkpoint record, and rebuilding it
//! around the tasks recovery re-adopts.

use crate::protos::pacer::checkpoint::{ExecutorLaunching, Record};

use super::super::master::Master;
use super::super::resources::Resources;
use super::super::tasks::{GroupMember, TaskKey};
use super::{Executor, ExecutorKey, kills_the_group};

impl Master {
    /// The checkpoint records of agent `agent`'s executors (for compaction).
    pub(in crate::local) fn executor_records(&self, agent: usize) -> Vec<Record> {
        let mut keys: Vec<&ExecutorKey> = self
            .executors
            .iter()
            .filter(|(_, e)| e.agent == agent)
            .map(|(k, _)| k)
            .collect();
        keys.sort();
        keys.into_iter()
            .map(|k| self.executors[k].record(&k.framework_id))
            .collect()
    }

    /// Recovery, before the tasks: the executors an earlier run checkpointed on `agent`.
    pub(in crate::local) fn recover_executors(&mut self, agent: usize, executors: Vec<ExecutorLaunching>) {
        for launching in executors {
            let resources = Resources::from_protos(&launching.executor.resources, self.agents[agent].resource_role())
                .unwrap_or_default();
            let key = ExecutorKey::new(&launching.framework_id.value, &launching.executor.executor_id.value);
            self.executors.insert(
                key,
                Executor {
                    info: launching.executor,
                    agent,
                    container_id: launching.container_id,
                    resources,
                    tasks: Vec::new(),
                    holding: false,
                    killing: false,
                },
            );
        }
    }

    /// Recovery: a recovered task rejoins the executor it was launched under.
    pub(in crate::local) fn join_group(&mut self, key: &TaskKey, executor_id: Option<&str>) -> Option<GroupMember> {
        let executor = self
            .executors
            .get_mut(&ExecutorKey::new(&key.framework_id, executor_id?))?;
        executor.tasks.push(key.clone());
        Some(GroupMember {
            executor_id: executor.info.executor_id.value.clone(),
            executor_container: executor.container_id.clone(),
        })
    }

    /// Recovery, after the tasks: executors without tasks are dropped, those with running
    /// tasks hold their resources again, and a group one of whose tasks failed or was killed
    /// (before or during the agent's absence) has the rest killed.
    pub(in crate::local) fn settle_groups(&mut self, agent: usize) {
        let mut keys: Vec<ExecutorKey> = self
            .executors
            .iter()
            .filter(|(_, e)| e.agent == agent)
            .map(|(k, _)| k.clone())
            .collect();
        keys.sort();
        for executor_key in keys {
            let tasks = &self.tasks;
            let Some(executor) = self.executors.get_mut(&executor_key) else {
                continue;
            };
            executor.tasks.retain(|k| tasks.contains_key(k));
            if executor.tasks.is_empty() {
                self.executors.remove(&executor_key);
                continue;
            }
            let live: Vec<TaskKey> = executor.tasks.iter().filter(|k| !tasks[*k].ended).cloned().collect();
            let broken = executor
                .tasks
                .iter()
                .any(|k| tasks[k].ended && kills_the_group(tasks[k].latest.state()));
            if !live.is_empty() && !executor.holding {
                executor.holding = true;
                self.agents[agent].used.add(&executor.resources);
            }
            if broken {
                executor.killing = true;
                self.kill_all(&executor_key.framework_id, &live);
            }
        }
    }
}
