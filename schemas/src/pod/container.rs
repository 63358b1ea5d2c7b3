//! One container of a pod (Marathon's `PodContainer`) and its parts.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{EnvValue, FetchUri};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PodContainer {
    /// Unique in the pod; a DNS label (`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`, at most 63 chars).
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exec: Option<PodExec>,
    #[serde(default)]
    pub resources: Resources,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_limits: Option<Value>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub endpoints: Vec<PodEndpoint>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<Image>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub environment: BTreeMap<String, EnvValue>,
    /// Overrides the pod's `user`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health_check: Option<PodHealthCheck>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub check: Option<Value>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub volume_mounts: Vec<VolumeMount>,
    /// Fetched into the sandbox before the container starts (an app's `fetch`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub artifacts: Vec<FetchUri>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lifecycle: Option<Lifecycle>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tty: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub linux_info: Option<Value>,
}

/// What a container runs; without it the image's entrypoint runs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PodExec {
    pub command: MesosCommand,
    /// A `shell` command always overrides the image's entrypoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub override_entrypoint: Option<bool>,
}

/// A command as Mesos takes it: a shell line, or an argument vector run without a shell.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum MesosCommand {
    Shell { shell: String },
    Argv { argv: Vec<String> },
}

impl MesosCommand {
    pub fn is_empty(&self) -> bool {
        match self {
            MesosCommand::Shell { shell } => shell.is_empty(),
            MesosCommand::Argv { argv } => argv.is_empty(),
        }
    }
}

/// Resources of one container (Marathon's defaults: 1 cpu, 128 MiB, no disk, no GPU).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Resources {
    #[serde(default = "defaults::cpus")]
    pub cpus: f64,
    #[serde(default = "defaults::mem")]
    pub mem: f64,
    #[serde(default)]
    pub disk: f64,
    #[serde(default)]
    pub gpus: u32,
}

impl Default for Resources {
    fn default() -> Self {
        Self {
            cpus: defaults::cpus(),
            mem: defaults::mem(),
            disk: 0.0,
            gpus: 0,
        }
    }
}

/// A port of the pod, named so health checks and `ENDPOINT_<NAME>` can refer to it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PodEndpoint {
    pub name: String,
    /// Required on container networks, where the container listens on it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container_port: Option<u32>,
    /// `0` asks for any free port of the offer; absent on container networks means none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_port: Option<u32>,
    #[serde(default = "defaults::tcp")]
    pub protocol: Vec<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub network_names: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Image {
    /// `DOCKER` or `APPC`.
    #[serde(default = "defaults::docker")]
    pub kind: String,
    pub id: String,
    #[serde(default)]
    pub force_pull: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pull_config: Option<PullConfig>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
}

/// Registry credentials for the image, held in one of the pod's secrets.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct PullConfig {
    pub secret: String,
}

/// A Mesos-run health check: exactly one of `http`, `tcp` or `exec`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PodHealthCheck {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http: Option<HttpCheck>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tcp: Option<TcpCheck>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exec: Option<HealthCheckCommand>,
    #[serde(default = "defaults::grace_period_seconds")]
    pub grace_period_seconds: u32,
    #[serde(default = "defaults::interval_seconds")]
    pub interval_seconds: u32,
    #[serde(default = "defaults::max_consecutive_failures")]
    pub max_consecutive_failures: u32,
    #[serde(default = "defaults::timeout_seconds")]
    pub timeout_seconds: u32,
    #[serde(default = "defaults::delay_seconds")]
    pub delay_seconds: u32,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct HttpCheck {
    /// The name of one of this container's endpoints.
    pub endpoint: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// `HTTP` or `HTTPS`.
    #[serde(default = "defaults::http")]
    pub scheme: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct TcpCheck {
    /// The name of one of this container's endpoints.
    pub endpoint: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct HealthCheckCommand {
    pub command: MesosCommand,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct VolumeMount {
    /// The name of one of the pod's `volumes`.
    pub name: String,
    pub mount_path: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_only: Option<bool>,
}

#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Lifecycle {
    /// Seconds between SIGTERM and SIGKILL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kill_grace_period_seconds: Option<f64>,
}

mod defaults {
    pub(super) fn cpus() -> f64 {
        1.0
    }
    pub(super) fn mem() -> f64 {
        128.0
    }
    pub(super) fn tcp() -> Vec<String> {
        vec!["tcp".into()]
    }
    pub(super) fn docker() -> String {
        "DOCKER".into()
    }
    pub(super) fn http() -> String {
        "HTTP".into()
    }
    pub(super) fn grace_period_seconds() -> u32 {
        300
    }
    pub(super) fn interval_seconds() -> u32 {
        60
    }
    pub(super) fn max_consecutive_failures() -> u32 {
        3
    }
    pub(super) fn timeout_seconds() -> u32 {
        20
    }
    pub(super) fn delay_seconds() -> u32 {
        15
    }
}
