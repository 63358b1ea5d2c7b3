//! What the cluster records besides the users' specs: instances of apps with their current
//! Mesos task, deployments, and the framework id. These live in the store next to the specs.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::{AppDefinition, GroupDefinition, GroupRecord, PathId, PodDefinition, TaskHealth, Timestamp};

mod deployment_action;
mod pod_task;
mod reservation;
mod run_spec;

pub use pod_task::{ContainerTask, group_state, pod_instance_of_task};
pub use reservation::{LocalVolume, PersistentVolume, RESERVATION_TIMEOUT_MILLIS, Reservation, ReservationState};
pub use run_spec::{Backoff, RunSpec};

/// One record in the store. The store treats records as opaque values under string keys.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "spec")]
pub enum Record {
    /// The current definition of an app (with `version` and `versionInfo` set).
    App(Arc<AppDefinition>),
    /// A past or current definition of an app, kept for `/versions` and rollback.
    AppVersion(Arc<AppDefinition>),
    Instance(Arc<Instance>),
    Deployment(Arc<Deployment>),
    /// The Mesos FrameworkID to fail over to after a restart.
    FrameworkId(String),
    /// The callback URL of an event subscriber (`/v2/eventSubscriptions`).
    EventSubscription(String),
    /// The launch backoff of an app.
    LaunchDelay(LaunchDelay),
    /// A group's own settings (dependencies, enforceRole); kept while the group exists, even
    /// without apps.
    Group(Arc<GroupRecord>),
    /// A group's whole tree as one `/v2/groups` write left it, for `/versions` and rollback.
    GroupVersion(Arc<GroupDefinition>),
    /// The current definition of a pod (with `version` and `versionInfo` set).
    Pod(Arc<PodDefinition>),
    /// A past or current definition of a pod, for `/v2/pods/{id}::versions`.
    PodVersion(Arc<PodDefinition>),
}

/// Marathon's launch backoff for one app: launches of the app's `config_version` wait until
/// `reference + delay`. Recorded with the status update that caused it, so that every server
/// shows it and a restart keeps backing off a crash-looping app.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LaunchDelay {
    pub config_version: Timestamp,
    /// When the delay was last set or advanced.
    pub reference: Timestamp,
    pub delay_millis: u64,
}

/// What an instance should be doing; the reconciler moves reality towards it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Goal {
    /// Keep a task running; relaunch it (with backoff) when it ends.
    Running,
    /// Kill the task and forget the instance once it is terminal (and, for a resident
    /// instance, once its reservation and volumes are destroyed).
    Decommissioned,
    /// A resident instance scaled away: its task is killed but it keeps its reservation and
    /// volumes, to run again there when the app scales up.
    Stopped,
}

/// A slot of an app: one task at a time, relaunched as a new incarnation when it ends.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Instance {
    /// `app_path.instance-<uuid>`, e.g. `prod_web.instance-3f0c...`.
    pub instance_id: String,
    pub app_id: PathId,
    /// The app version this instance runs or will run.
    pub run_spec_version: Timestamp,
    /// The config (`versionInfo.lastConfigChangeAt`) of that version. Instances recorded
    /// before Pacer kept it count as running the config of any version up to theirs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_version: Option<Timestamp>,
    pub goal: Goal,
    /// Counts launches of this instance; task ids end in `._app.<incarnation>`.
    pub incarnation: u32,
    /// The current (or last) task; `None` until first launched.
    pub task: Option<TaskRecord>,
    /// Set by the API to ask for the current task to be killed (the instance keeps its goal).
    #[serde(default)]
    pub kill_requested: bool,
    /// The last task of this instance that failed, kept across relaunches for
    /// `lastTaskFailure`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_failure: Option<TaskRecord>,
    pub created_at: Timestamp,
    /// A resident instance's reservation and persistent volumes, once asked for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reservation: Option<Reservation>,
}

/// The Mesos task of an instance as last observed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskRecord {
    pub task_id: String,
    pub agent_id: String,
    pub host: String,
    /// Host ports, in port-definition order.
    pub ports: Vec<u32>,
    pub state: TaskState,
    pub staged_at: Timestamp,
    pub started_at: Option<Timestamp>,
    /// When `state` last changed.
    pub updated_at: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Health and readiness results of this task.
    #[serde(default, skip_serializing_if = "TaskHealth::is_empty")]
    pub health: TaskHealth,
    /// A pod instance's task group: one Mesos task per container. `state` and `health` above
    /// are then derived from these (see [`group_state`]). Empty for an app's task.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub containers: Vec<ContainerTask>,
}

/// Mesos task states, spelled as Mesos and Marathon print them.
#[allow(non_camel_case_types, clippy::upper_case_acronyms)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum TaskState {
    /// Pacer's own state between accepting an offer and the first status update.
    TASK_PROVISIONED,
    TASK_STAGING,
    TASK_STARTING,
    TASK_RUNNING,
    TASK_KILLING,
    TASK_FINISHED,
    TASK_FAILED,
    TASK_KILLED,
    TASK_ERROR,
    TASK_LOST,
    TASK_DROPPED,
    TASK_UNREACHABLE,
    TASK_GONE,
    TASK_GONE_BY_OPERATOR,
    TASK_UNKNOWN,
}

impl TaskState {
    pub fn is_terminal(self) -> bool {
        use TaskState::*;
        matches!(
            self,
            TASK_FINISHED
                | TASK_FAILED
                | TASK_KILLED
                | TASK_ERROR
                | TASK_LOST
                | TASK_DROPPED
                | TASK_GONE
                | TASK_GONE_BY_OPERATOR
                | TASK_UNKNOWN
        )
    }

    /// Terminal states that Marathon reports as `lastTaskFailure` (a kill or a clean exit is not).
    pub fn is_task_failure(self) -> bool {
        self.is_terminal() && !matches!(self, TaskState::TASK_KILLED | TaskState::TASK_FINISHED)
    }

    /// Terminal states that count as a failure for launch backoff (Marathon's `limitWorthy`).
    pub fn is_failure(self) -> bool {
        use TaskState::*;
        matches!(
            self,
            TASK_FINISHED | TASK_FAILED | TASK_ERROR | TASK_GONE | TASK_DROPPED | TASK_LOST
        )
    }

    pub fn as_str(self) -> &'static str {
        use TaskState::*;
        match self {
            TASK_PROVISIONED => "TASK_PROVISIONED",
            TASK_STAGING => "TASK_STAGING",
            TASK_STARTING => "TASK_STARTING",
            TASK_RUNNING => "TASK_RUNNING",
            TASK_KILLING => "TASK_KILLING",
            TASK_FINISHED => "TASK_FINISHED",
            TASK_FAILED => "TASK_FAILED",
            TASK_KILLED => "TASK_KILLED",
            TASK_ERROR => "TASK_ERROR",
            TASK_LOST => "TASK_LOST",
            TASK_DROPPED => "TASK_DROPPED",
            TASK_UNREACHABLE => "TASK_UNREACHABLE",
            TASK_GONE => "TASK_GONE",
            TASK_GONE_BY_OPERATOR => "TASK_GONE_BY_OPERATOR",
            TASK_UNKNOWN => "TASK_UNKNOWN",
        }
    }
}

impl Instance {
    /// A new instance of `app`, not yet launched.
    pub fn new(app: &AppDefinition, now: Timestamp) -> Self {
        Instance {
            instance_id: format!("{}.instance-{}", app.id.safe_id(), uuid::Uuid::new_v4()),
            app_id: app.id.clone(),
            run_spec_version: app.version_or_epoch(),
            config_version: Some(app.config_version()),
            goal: Goal::Running,
            incarnation: 0,
            task: None,
            kill_requested: false,
            last_failure: None,
            created_at: now,
            reservation: None,
        }
    }

    /// Whether the instance's reservation may exist on its agent, so that it must be
    /// destroyed before the instance is forgotten. Not if it never showed up in time (it
    /// failed), nor once the agent is gone for good (its reservations went with it).
    pub fn holds_reservation(&self, now: Timestamp) -> bool {
        let Some(r) = &self.reservation else {
            return false;
        };
        let gone = self
            .task
            .as_ref()
            .is_some_and(|t| matches!(t.state, TaskState::TASK_GONE | TaskState::TASK_GONE_BY_OPERATOR));
        !r.timed_out(now) && !gone
    }

    /// The id of the next task of this instance (Marathon 1.8+: `<instance>._app.<n>`).
    pub fn next_task_id(&self) -> String {
        format!("{}._app.{}", self.instance_id, self.incarnation + 1)
    }

    /// Whether this instance runs `app`'s current config (and so is not replaced by a
    /// rolling upgrade). Configs are compared by identity, not age: after a rollback to an
    /// earlier config, the instances still running it are current again.
    pub fn runs_config_of(&self, app: &AppDefinition) -> bool {
        match self.config_version {
            Some(c) => c == app.config_version(),
            None => self.run_spec_version >= app.config_version(),
        }
    }

    /// True while a task exists that is not known to be over.
    pub fn has_active_task(&self) -> bool {
        self.task.as_ref().is_some_and(|t| !t.state.is_terminal())
    }

    pub fn state(&self) -> Option<TaskState> {
        self.task.as_ref().map(|t| t.state)
    }
}

impl AppDefinition {
    /// The app's version; stored apps always have one.
    pub fn version_or_epoch(&self) -> Timestamp {
        self.version.unwrap_or(Timestamp::from_millis(0))
    }

    /// When the config (not merely the scale) last changed: instances of older configs are
    /// replaced by a rolling upgrade.
    pub fn config_version(&self) -> Timestamp {
        self.version_info
            .map(|v| v.last_config_change_at)
            .unwrap_or_else(|| self.version_or_epoch())
    }
}

/// A deployment: the plan that moves apps from their original to their target definitions.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Deployment {
    pub id: String,
    pub version: Timestamp,
    pub affected_apps: Vec<PathId>,
    pub steps: Vec<DeploymentStep>,
    /// Index of the step being worked on (0-based; Marathon shows it 1-based).
    pub current_step: usize,
    /// The definitions before the change (`None`: the app did not exist), for rollback.
    #[serde(default)]
    pub original: BTreeMap<PathId, Option<Arc<AppDefinition>>>,
    /// The target definitions (`None`: the app is deleted).
    #[serde(default)]
    pub target: BTreeMap<PathId, Option<Arc<AppDefinition>>>,
    /// The pods a change touches (Marathon's `affectedPods`), with their definitions before
    /// and after, as for apps.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub affected_pods: Vec<PathId>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub original_pods: BTreeMap<PathId, Option<Arc<PodDefinition>>>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub target_pods: BTreeMap<PathId, Option<Arc<PodDefinition>>>,
    /// The group a `/v2/groups` change was made to (events name it); `None` for app changes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<PathId>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DeploymentStep {
    pub actions: Vec<DeploymentAction>,
}

/// One action of a step. `app` is the run spec acted on: an app, or a pod for the pod
/// actions, which Marathon writes as `{"action": "ScalePod", "pod": "/p"}`.
#[derive(Clone, Debug, PartialEq)]
pub struct DeploymentAction {
    pub action: ActionKind,
    pub app: PathId,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ActionKind {
    StartApplication,
    StopApplication,
    ScaleApplication,
    RestartApplication,
    StartPod,
    StopPod,
    ScalePod,
    RestartPod,
}

impl ActionKind {
    pub fn is_pod(self) -> bool {
        matches!(
            self,
            ActionKind::StartPod | ActionKind::StopPod | ActionKind::ScalePod | ActionKind::RestartPod
        )
    }

    /// The app action this is, or corresponds to for a pod: steps are ordered and completed
    /// the same way for both.
    pub fn as_app_action(self) -> ActionKind {
        match self {
            ActionKind::StartPod => ActionKind::StartApplication,
            ActionKind::StopPod => ActionKind::StopApplication,
            ActionKind::ScalePod => ActionKind::ScaleApplication,
            ActionKind::RestartPod => ActionKind::RestartApplication,
            app => app,
        }
    }

    /// The pod action corresponding to an app action.
    pub fn for_pod(self) -> ActionKind {
        match self {
            ActionKind::StartApplication => ActionKind::StartPod,
            ActionKind::StopApplication => ActionKind::StopPod,
            ActionKind::ScaleApplication => ActionKind::ScalePod,
            ActionKind::RestartApplication => ActionKind::RestartPod,
            pod => pod,
        }
    }
}
