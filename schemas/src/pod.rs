//! Marathon's pod definition (`/v2/pods` bodies): containers that share one agent, one network
//! namespace and the pod's volumes, launched together as one Mesos task group.
//!
//! Shapes Marathon shares between apps and pods (environment values, secrets, networks, fetch
//! artifacts, upgrade and unreachable strategies, kill selection) reuse the app types.

mod container;
mod helpers;
mod normalize;
mod validate;

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{
    EnvValue, KillSelection, Network, PathId, SecretDef, Timestamp, UnreachableStrategy, UpgradeStrategy, VersionInfo,
};
pub use container::{
    HealthCheckCommand, HttpCheck, Image, Lifecycle, MesosCommand, PodContainer, PodEndpoint, PodExec, PodHealthCheck,
    PullConfig, Resources, TcpCheck, VolumeMount,
};
pub use helpers::{PodEndpointRef, endpoint_env_name};
pub use normalize::normalize_pod;
pub use validate::validate_pod;

/// A pod: `scaling.instances` copies of a group of containers, each copy on one agent.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PodDefinition {
    /// As written on input (possibly relative to the enclosing group) until `normalize_pod`
    /// resolves it; absolute in every stored or normalised pod.
    #[serde(deserialize_with = "crate::path_id::as_written::one")]
    pub id: PathId,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// Read-only: set by the server on every change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<Timestamp>,
    /// Read-only, like an app's: when the pod last scaled and last changed its config.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version_info: Option<VersionInfo>,
    /// The OS user of every container that names none itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// Pod-level variables; a container's own `environment` overrides them.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub environment: BTreeMap<String, EnvValue>,
    pub containers: Vec<PodContainer>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub secrets: BTreeMap<String, SecretDef>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub volumes: Vec<PodVolume>,
    /// Empty on input means host networking; normalisation makes that explicit.
    #[serde(default)]
    pub networks: Vec<Network>,
    #[serde(default)]
    pub scaling: PodScaling,
    #[serde(default)]
    pub scheduling: PodScheduling,
    #[serde(default)]
    pub executor_resources: ExecutorResources,
    /// The Mesos role the pod's resources are taken from; normalisation fills the default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub linux_info: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub legacy_shared_cgroups: Option<bool>,
}

/// A volume the pod's containers may mount: ephemeral (only a name), a host path, a persistent
/// volume reserved on the agent, or a file holding one of the pod's secrets.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PodVolume {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub persistent: Option<PersistentVolumeInfo>,
    /// The name of one of the pod's `secrets`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PersistentVolumeInfo {
    /// `root`, `path` or `mount`: the kind of Mesos disk to reserve.
    #[serde(rename = "type", default = "defaults::root")]
    pub kind: String,
    /// MiB.
    pub size: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_size: Option<u64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub constraints: Vec<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile_name: Option<String>,
}

/// How many instances to run. Marathon knows only the `fixed` kind.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PodScaling {
    #[serde(default = "defaults::fixed")]
    pub kind: String,
    #[serde(default = "defaults::instances")]
    pub instances: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_instances: Option<u32>,
}

impl Default for PodScaling {
    fn default() -> Self {
        Self {
            kind: defaults::fixed(),
            instances: defaults::instances(),
            max_instances: None,
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PodScheduling {
    #[serde(default)]
    pub backoff: PodBackoff,
    #[serde(default)]
    pub upgrade: UpgradeStrategy,
    #[serde(default)]
    pub placement: PodPlacement,
    #[serde(default)]
    pub kill_selection: KillSelection,
    #[serde(default)]
    pub unreachable_strategy: UnreachableStrategy,
}

/// Launch backoff in seconds, as an app's `backoffSeconds`, `backoffFactor` and
/// `maxLaunchDelaySeconds` (but with the pod RAML's one-hour cap).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PodBackoff {
    #[serde(default = "defaults::backoff")]
    pub backoff: f64,
    #[serde(default = "defaults::backoff_factor")]
    pub backoff_factor: f64,
    #[serde(default = "defaults::max_launch_delay")]
    pub max_launch_delay: f64,
}

impl Default for PodBackoff {
    fn default() -> Self {
        Self {
            backoff: defaults::backoff(),
            backoff_factor: defaults::backoff_factor(),
            max_launch_delay: defaults::max_launch_delay(),
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PodPlacement {
    #[serde(default)]
    pub constraints: Vec<PodConstraint>,
    /// Empty means "not restricted" (Marathon omits it when empty).
    #[serde(default)]
    pub accepted_resource_roles: Vec<String>,
}

/// A placement constraint as pods write it: `{"fieldName", "operator", "value"}`. The app form
/// `[field, OPERATOR, value]` is accepted on input too, so one manifest style fits both.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", try_from = "ConstraintInput")]
pub struct PodConstraint {
    pub field_name: String,
    pub operator: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
}

#[derive(Deserialize, JsonSchema)]
#[serde(untagged)]
enum ConstraintInput {
    #[serde(rename_all = "camelCase")]
    Object {
        field_name: String,
        operator: String,
        #[serde(default)]
        value: Option<String>,
    },
    Array(Vec<String>),
}

impl TryFrom<ConstraintInput> for PodConstraint {
    type Error = crate::ConstraintError;

    fn try_from(input: ConstraintInput) -> Result<Self, Self::Error> {
        let (field_name, operator, value) = match input {
            ConstraintInput::Object {
                field_name,
                operator,
                value,
            } => (field_name, operator, value),
            ConstraintInput::Array(parts) => match <[String; 2]>::try_from(parts) {
                Ok([f, o]) => (f, o, None),
                Err(parts) => match <[String; 3]>::try_from(parts) {
                    Ok([f, o, v]) => (f, o, Some(v)),
                    Err(_) => return Err(crate::ConstraintError::Arity),
                },
            },
        };
        Ok(Self {
            field_name,
            operator,
            value,
        })
    }
}

/// What the pod's executor needs besides its containers (Marathon's defaults: 0.1 cpus, 32 MiB
/// memory, 10 MiB disk).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExecutorResources {
    #[serde(default = "defaults::executor_cpus")]
    pub cpus: f64,
    #[serde(default = "defaults::executor_mem")]
    pub mem: f64,
    #[serde(default = "defaults::executor_disk")]
    pub disk: f64,
}

impl Default for ExecutorResources {
    fn default() -> Self {
        Self {
            cpus: defaults::executor_cpus(),
            mem: defaults::executor_mem(),
            disk: defaults::executor_disk(),
        }
    }
}

mod defaults {
    pub(super) fn root() -> String {
        "root".into()
    }
    pub(super) fn fixed() -> String {
        "fixed".into()
    }
    pub(super) fn instances() -> u32 {
        1
    }
    pub(super) fn backoff() -> f64 {
        1.0
    }
    pub(super) fn backoff_factor() -> f64 {
        1.15
    }
    pub(super) fn max_launch_delay() -> f64 {
        3600.0
    }
    pub(super) fn executor_cpus() -> f64 {
        0.1
    }
    pub(super) fn executor_mem() -> f64 {
        32.0
    }
    pub(super) fn executor_disk() -> f64 {
        10.0
    }
}

#[cfg(test)]
mod tests;
