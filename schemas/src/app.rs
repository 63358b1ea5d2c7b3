//! The Marathon app definition (`/v2/apps` bodies), with Marathon's defaults filled by serde.
//!
//! Deprecated input fields (`ports`, `uris`, `ipAddress`, `container.docker.portMappings`)
//! are accepted and folded into their successors by normalisation; they are never emitted.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{PathId, Timestamp};

/// An app: a command or container run as `instances` identical tasks.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AppDefinition {
    /// As written on input (possibly relative to the enclosing group) until `normalize_app`
    /// resolves it; absolute in every stored or normalised app.
    #[serde(deserialize_with = "crate::path_id::as_written::one")]
    pub id: PathId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cmd: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub args: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    #[serde(default = "defaults::instances")]
    pub instances: u32,
    #[serde(default = "defaults::cpus")]
    pub cpus: f64,
    #[serde(default = "defaults::mem")]
    pub mem: f64,
    #[serde(default)]
    pub disk: f64,
    #[serde(default)]
    pub gpus: u32,
    #[serde(default)]
    pub executor: String,
    #[serde(default)]
    pub env: BTreeMap<String, EnvValue>,
    #[serde(default)]
    pub secrets: BTreeMap<String, SecretDef>,
    #[serde(default)]
    pub constraints: Vec<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accepted_resource_roles: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// `None` on input means "not given": normalisation fills Marathon's default port.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port_definitions: Option<Vec<PortDefinition>>,
    /// Deprecated input; normalised into `portDefinitions`.
    #[serde(default, skip_serializing)]
    pub ports: Option<Vec<u32>>,
    #[serde(default)]
    pub require_ports: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub networks: Option<Vec<Network>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container: Option<Container>,
    #[serde(default)]
    pub health_checks: Vec<HealthCheck>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub check: Option<Value>,
    #[serde(default)]
    pub readiness_checks: Vec<ReadinessCheck>,
    /// Resolved against the enclosing group by normalisation, like `id`.
    #[serde(default, deserialize_with = "crate::path_id::as_written::many")]
    pub dependencies: Vec<PathId>,
    #[serde(default)]
    pub upgrade_strategy: UpgradeStrategy,
    #[serde(default)]
    pub unreachable_strategy: UnreachableStrategy,
    #[serde(default)]
    pub kill_selection: KillSelection,
    #[serde(default = "defaults::backoff_seconds")]
    pub backoff_seconds: u32,
    #[serde(default = "defaults::backoff_factor")]
    pub backoff_factor: f64,
    #[serde(default = "defaults::max_launch_delay_seconds")]
    pub max_launch_delay_seconds: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_kill_grace_period_seconds: Option<u32>,
    #[serde(default)]
    pub fetch: Vec<FetchUri>,
    /// Deprecated input; normalised into `fetch`.
    #[serde(default, skip_serializing)]
    pub uris: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub residency: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tty: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_limits: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub executor_resources: Option<Value>,
    /// Deprecated input; normalised into `networks` and `container.portMappings`.
    #[serde(default, skip_serializing)]
    pub ip_address: Option<Value>,
    /// Read-only: set by the server on every change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version_info: Option<VersionInfo>,
}

/// An environment value: a plain string, or a reference to one of the app's secrets.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum EnvValue {
    Plain(String),
    Secret { secret: String },
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SecretDef {
    pub source: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PortDefinition {
    #[serde(default)]
    pub port: u32,
    #[serde(default = "defaults::tcp")]
    pub protocol: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Network {
    #[serde(default = "defaults::network_mode")]
    pub mode: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Container {
    #[serde(rename = "type", default = "defaults::container_type")]
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub docker: Option<Docker>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port_mappings: Option<Vec<PortMapping>>,
    #[serde(default)]
    pub volumes: Vec<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub linux_info: Option<Value>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Docker {
    #[serde(default)]
    pub image: String,
    #[serde(default)]
    pub force_pull_image: bool,
    #[serde(default)]
    pub privileged: bool,
    #[serde(default)]
    pub parameters: Vec<DockerParameter>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pull_config: Option<Value>,
    /// Deprecated input (BRIDGE/HOST/USER/NONE); normalised into `networks`.
    #[serde(default, skip_serializing)]
    pub network: Option<String>,
    /// Deprecated input; normalised into `container.portMappings`.
    #[serde(default, skip_serializing)]
    pub port_mappings: Option<Vec<PortMapping>>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct DockerParameter {
    pub key: String,
    pub value: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PortMapping {
    #[serde(default)]
    pub container_port: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_port: Option<u32>,
    #[serde(default)]
    pub service_port: u32,
    #[serde(default = "defaults::tcp")]
    pub protocol: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub network_names: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct HealthCheck {
    #[serde(default = "defaults::http")]
    pub protocol: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port_index: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<CommandCheck>,
    #[serde(default = "defaults::grace_period_seconds")]
    pub grace_period_seconds: u32,
    #[serde(default = "defaults::interval_seconds")]
    pub interval_seconds: u32,
    #[serde(default = "defaults::timeout_seconds")]
    pub timeout_seconds: u32,
    #[serde(default = "defaults::max_consecutive_failures")]
    pub max_consecutive_failures: u32,
    #[serde(default)]
    pub ignore_http1xx: bool,
    #[serde(default = "defaults::delay_seconds")]
    pub delay_seconds: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip_protocol: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CommandCheck {
    pub value: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReadinessCheck {
    #[serde(default = "defaults::readiness_name")]
    pub name: String,
    #[serde(default = "defaults::http")]
    pub protocol: String,
    #[serde(default = "defaults::slash")]
    pub path: String,
    #[serde(default = "defaults::readiness_port_name")]
    pub port_name: String,
    #[serde(default = "defaults::readiness_interval")]
    pub interval_seconds: u32,
    #[serde(default = "defaults::readiness_timeout")]
    pub timeout_seconds: u32,
    #[serde(default = "defaults::ready_codes")]
    pub http_status_codes_for_ready: Vec<u16>,
    #[serde(default)]
    pub preserve_last_response: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct UpgradeStrategy {
    #[serde(default = "defaults::one")]
    pub minimum_health_capacity: f64,
    #[serde(default = "defaults::one")]
    pub maximum_over_capacity: f64,
}

impl Default for UpgradeStrategy {
    fn default() -> Self {
        Self {
            minimum_health_capacity: 1.0,
            maximum_over_capacity: 1.0,
        }
    }
}

/// What to do when an agent becomes unreachable: `"disabled"` or the two timeouts.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum UnreachableStrategy {
    Enabled {
        #[serde(rename = "inactiveAfterSeconds", default)]
        inactive_after_seconds: u64,
        #[serde(rename = "expungeAfterSeconds", default)]
        expunge_after_seconds: u64,
    },
    Disabled(UnreachableDisabled),
}

#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum UnreachableDisabled {
    Disabled,
}

impl Default for UnreachableStrategy {
    fn default() -> Self {
        Self::Enabled {
            inactive_after_seconds: 0,
            expunge_after_seconds: 0,
        }
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum KillSelection {
    #[default]
    YoungestFirst,
    OldestFirst,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct FetchUri {
    pub uri: String,
    #[serde(default = "defaults::yes")]
    pub extract: bool,
    #[serde(default)]
    pub executable: bool,
    #[serde(default)]
    pub cache: bool,
    /// Marathon's API calls it `destPath` (its internal name `outputFile` is accepted too).
    #[serde(
        rename = "destPath",
        alias = "outputFile",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub output_file: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct VersionInfo {
    pub last_scaling_at: Timestamp,
    pub last_config_change_at: Timestamp,
}

/// Network modes as Marathon spells them.
pub const NETWORK_HOST: &str = "host";
pub const NETWORK_CONTAINER: &str = "container";
pub const NETWORK_BRIDGE: &str = "container/bridge";

/// The label that makes an app single-instance: at most one instance, upgrades kill first.
pub const LABEL_SINGLE_INSTANCE: &str = "MARATHON_SINGLE_INSTANCE_APP";

impl AppDefinition {
    /// True when the app has persistent volumes (Marathon calls such apps resident).
    pub fn is_resident(&self) -> bool {
        self.container
            .as_ref()
            .is_some_and(|c| c.volumes.iter().any(|v| v.get("persistent").is_some()))
    }

    /// True unless a non-host network is declared (no networks at all means host networking).
    pub fn uses_host_networking(&self) -> bool {
        self.networks
            .as_ref()
            .is_none_or(|nets| nets.iter().all(|n| n.mode == NETWORK_HOST))
    }

    /// True when the `MARATHON_SINGLE_INSTANCE_APP` label is `true`.
    pub fn is_single_instance(&self) -> bool {
        self.labels.get(LABEL_SINGLE_INSTANCE).is_some_and(|v| v == "true")
    }

    /// Names of the app's ports in `$PORT0..` order: the container's port mappings when it
    /// declares them, else the port definitions (unnamed ports give `None`).
    pub fn port_names(&self) -> Vec<Option<&str>> {
        match self.container.as_ref().and_then(|c| c.port_mappings.as_ref()) {
            Some(mappings) => mappings.iter().map(|m| m.name.as_deref()).collect(),
            None => self
                .port_definitions
                .iter()
                .flatten()
                .map(|p| p.name.as_deref())
                .collect(),
        }
    }
}

mod defaults {
    pub(super) fn instances() -> u32 {
        1
    }
    pub(super) fn cpus() -> f64 {
        1.0
    }
    pub(super) fn mem() -> f64 {
        128.0
    }
    pub(super) fn one() -> f64 {
        1.0
    }
    pub(super) fn yes() -> bool {
        true
    }
    pub(super) fn backoff_seconds() -> u32 {
        1
    }
    pub(super) fn backoff_factor() -> f64 {
        1.15
    }
    pub(super) fn max_launch_delay_seconds() -> u32 {
        300
    }
    pub(super) fn tcp() -> String {
        "tcp".into()
    }
    pub(super) fn http() -> String {
        "HTTP".into()
    }
    pub(super) fn slash() -> String {
        "/".into()
    }
    /// Marathon's RAML default: a network entry without a mode is a container network.
    pub(super) fn network_mode() -> String {
        "container".into()
    }
    pub(super) fn container_type() -> String {
        "DOCKER".into()
    }
    pub(super) fn grace_period_seconds() -> u32 {
        300
    }
    pub(super) fn interval_seconds() -> u32 {
        60
    }
    pub(super) fn timeout_seconds() -> u32 {
        20
    }
    pub(super) fn max_consecutive_failures() -> u32 {
        3
    }
    pub(super) fn delay_seconds() -> u32 {
        15
    }
    pub(super) fn readiness_name() -> String {
        "readinessCheck".into()
    }
    pub(super) fn readiness_port_name() -> String {
        "http-api".into()
    }
    pub(super) fn readiness_interval() -> u32 {
        30
    }
    pub(super) fn readiness_timeout() -> u32 {
        10
    }
    pub(super) fn ready_codes() -> Vec<u16> {
        vec![200]
    }
}
