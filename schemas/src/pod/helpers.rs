//! What controllers ask of a pod: its resources per instance, its endpoints in launch order,
//! their environment variables, and whether a change needs new instances.

use std::collections::BTreeMap;

use super::{PodDefinition, PodEndpoint, Resources, normalize_pod};
use crate::{NETWORK_CONTAINER, NETWORK_HOST, PathId};

/// One endpoint of a pod with the container that declares it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PodEndpointRef<'a> {
    pub container: &'a str,
    pub endpoint: &'a PodEndpoint,
}

/// The variable that carries an endpoint's port into every container: `ENDPOINT_` and the name
/// upper-cased, anything but ASCII letters and digits turned into `_` (`http-api` gives
/// `ENDPOINT_HTTP_API`). Marathon's `--env_vars_prefix` goes in front, if the caller has one.
pub fn endpoint_env_name(name: &str) -> String {
    let sanitized: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect();
    format!("ENDPOINT_{sanitized}")
}

impl PodDefinition {
    pub fn instances(&self) -> u32 {
        self.scaling.instances
    }

    /// What one instance takes from an offer: every container's resources plus the executor's.
    pub fn instance_resources(&self) -> Resources {
        let e = self.executor_resources;
        self.containers.iter().fold(
            Resources {
                cpus: e.cpus,
                mem: e.mem,
                disk: e.disk,
                gpus: 0,
            },
            |sum, c| Resources {
                cpus: sum.cpus + c.resources.cpus,
                mem: sum.mem + c.resources.mem,
                disk: sum.disk + c.resources.disk,
                gpus: sum.gpus + c.resources.gpus,
            },
        )
    }

    /// Every endpoint, container by container in declaration order: the order host ports are
    /// allocated in and `host_port_requests` reports them.
    pub fn endpoints(&self) -> Vec<PodEndpointRef<'_>> {
        self.containers
            .iter()
            .flat_map(|c| {
                c.endpoints.iter().map(|endpoint| PodEndpointRef {
                    container: &c.name,
                    endpoint,
                })
            })
            .collect()
    }

    /// The host port each endpoint asks for, in `endpoints` order: `Some(0)` for any free port,
    /// `Some(p)` for port `p`, `None` for an endpoint reachable only on a container network.
    pub fn host_port_requests(&self) -> Vec<Option<u32>> {
        self.endpoints().iter().map(|e| e.endpoint.host_port).collect()
    }

    /// `ENDPOINT_<NAME>` for each endpoint, given the host ports allocated to the endpoints (in
    /// `endpoints` order, `None` where none was): the host port when there is one, else the
    /// container port. An endpoint with neither gets no variable.
    pub fn endpoint_env(&self, allocated: &[Option<u32>]) -> BTreeMap<String, String> {
        self.endpoints()
            .iter()
            .zip(allocated.iter().copied().chain(std::iter::repeat(None)))
            .filter_map(|(e, host)| {
                let port = host.or(e.endpoint.container_port)?;
                Some((endpoint_env_name(&e.endpoint.name), port.to_string()))
            })
            .collect()
    }

    /// True unless a non-host network is declared (no networks at all means host networking).
    pub fn uses_host_networking(&self) -> bool {
        self.networks.iter().all(|n| n.mode == NETWORK_HOST)
    }

    /// True when the pod joins named container networks (endpoints then need container ports).
    pub fn uses_container_networking(&self) -> bool {
        self.networks.iter().any(|n| n.mode == NETWORK_CONTAINER)
    }

    /// True when the pod has persistent volumes (Marathon calls such pods resident).
    pub fn is_resident(&self) -> bool {
        self.volumes.iter().any(|v| v.persistent.is_some())
    }

    /// True when nothing but read-only fields (version, versionInfo) differ.
    pub fn same_spec(&self, other: &PodDefinition) -> bool {
        comparable(self) == comparable(other)
    }

    /// True when running instances of `self` no longer match `other`: anything but the scaling
    /// (`instances`, `maxInstances`) and the read-only fields differs. A scale alone restarts
    /// nothing, as for apps.
    pub fn config_changed(&self, other: &PodDefinition) -> bool {
        let mut a = comparable(self);
        let mut b = comparable(other);
        a.scaling.instances = 0;
        b.scaling.instances = 0;
        a.scaling.max_instances = None;
        b.scaling.max_instances = None;
        a != b
    }

    /// True when `other` differs from `self` in its scaling only: a scale, not a restart.
    pub fn is_scale_only(&self, other: &PodDefinition) -> bool {
        !self.same_spec(other) && !self.config_changed(other)
    }
}

/// The pod in normal form without its read-only fields, so a pod as written equals its stored,
/// normalised form.
fn comparable(pod: &PodDefinition) -> PodDefinition {
    let base = if pod.id.is_resolved() {
        pod.id.parent()
    } else {
        PathId::root()
    };
    let mut p = normalize_pod(pod.clone(), &base).unwrap_or_else(|_| pod.clone());
    p.version = None;
    p.version_info = None;
    p
}
