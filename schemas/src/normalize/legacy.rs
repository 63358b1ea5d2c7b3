//! Marathon's deprecated app fields (`ports`, `uris`, `ipAddress`, `container.docker.network`,
//! `container.docker.portMappings`): the rules on mixing them, and their translation into
//! `portDefinitions`, `fetch`, `networks` and `container.portMappings`.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::violation::Report;
use crate::{
    AppDefinition, Container, FetchUri, NETWORK_BRIDGE, NETWORK_CONTAINER, NETWORK_HOST, Network, PortDefinition,
    PortMapping, Violation,
};

/// Marathon's `--mesos_bridge_name` default: an `ipAddress.networkName` naming it means bridge.
const MESOS_BRIDGE_NAME: &str = "mesos-bridge";

/// The deprecated `ipAddress` object (IP-per-container before `networks` existed).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct IpAddress {
    #[serde(default)]
    network_name: Option<String>,
    #[serde(default)]
    labels: BTreeMap<String, String>,
    #[serde(default)]
    discovery: Option<Discovery>,
}

#[derive(Deserialize)]
struct Discovery {
    #[serde(default)]
    ports: Vec<DiscoveryPort>,
}

#[derive(Deserialize)]
struct DiscoveryPort {
    number: u32,
    name: String,
    #[serde(default = "tcp")]
    protocol: String,
    #[serde(default)]
    labels: BTreeMap<String, String>,
}

fn tcp() -> String {
    "tcp".into()
}

/// The deprecated fields of an app, taken out of it: after `take`, the app has none left.
pub(super) struct Legacy {
    ports: Option<Vec<u32>>,
    uris: Option<Vec<String>>,
    ip_address: Option<IpAddress>,
    docker_network: Option<String>,
    docker_port_mappings: Option<Vec<PortMapping>>,
}

impl Legacy {
    /// Removes the deprecated fields from `app`, checking Marathon's rules on mixing them with
    /// their successors (`AppValidation.validateOldAppAPI`).
    pub(super) fn take(app: &mut AppDefinition) -> Result<Self, Vec<Violation>> {
        let mut report = Report::default();
        let ip_address = match app.ip_address.take() {
            None | Some(serde_json::Value::Null) => None,
            Some(v) => match serde_json::from_value::<IpAddress>(v) {
                Ok(ip) => Some(ip),
                Err(e) => {
                    report.add("/ipAddress", e.to_string());
                    None
                }
            },
        };
        let docker = app.container.as_mut().and_then(|c| c.docker.as_mut());
        let (docker_network, docker_port_mappings) = match docker {
            Some(d) => (d.network.take(), d.port_mappings.take()),
            None => (None, None),
        };
        let legacy = Legacy {
            ports: app.ports.take(),
            uris: app.uris.take(),
            ip_address,
            docker_network,
            docker_port_mappings,
        };
        legacy.check(app, &mut report);
        if report.is_empty() {
            Ok(legacy)
        } else {
            Err(report.finish())
        }
    }

    fn check(&self, app: &AppDefinition, report: &mut Report) {
        let kind = app.container.as_ref().map(|c| c.kind.as_str());
        if kind == Some("MESOS") && app.container.as_ref().is_some_and(|c| c.docker.is_some()) {
            report.check(
                self.docker_network.is_none(),
                "/container/docker/network",
                "must be empty",
            );
            report.check(
                self.docker_port_mappings.is_none(),
                "/container/docker/portMappings",
                "must be empty",
            );
            let params = app
                .container
                .as_ref()
                .and_then(|c| c.docker.as_ref())
                .map_or(0, |d| d.parameters.len());
            report.check(params == 0, "/container/docker/parameters", "must be empty");
        }
        if let Some(pm) = &self.docker_port_mappings {
            let names: Vec<_> = pm.iter().filter_map(|m| m.name.as_deref()).collect();
            report.check(
                all_distinct(&names),
                "/container/docker/portMappings",
                "Port names must be unique.",
            );
        }
        if let Some(ip) = &self.ip_address {
            report.check(
                !(kind == Some("DOCKER") && ip.discovery.is_some()),
                "/ipAddress",
                "ipAddress/discovery is not allowed for Docker containers",
            );
        }
        let uris_given = self.uris.as_ref().is_some_and(|u| !u.is_empty());
        report.check(
            !uris_given || app.fetch.is_empty(),
            "/uris",
            "may not be set in conjunction with fetch",
        );
        let networks_given = app.networks.as_ref().is_some_and(|n| !n.is_empty());
        report.check(
            !(self.docker_network.is_some() && networks_given),
            "/",
            "must not specify both container.docker.network and networks",
        );
        report.check(
            !(self.ip_address.is_some() && networks_given),
            "/",
            "must not specify both networks and ipAddress",
        );
        let fixed: Vec<u32> = self.ports.iter().flatten().copied().filter(|p| *p != 0).collect();
        report.check(all_distinct(&fixed), "/", "ports must be unique");
        let has_ports = self.ports.as_ref().is_some_and(|p| !p.is_empty())
            || app.port_definitions.as_ref().is_some_and(|p| !p.is_empty());
        report.check(
            self.ip_address.is_none() || !has_ports,
            "/",
            "cannot specify both an IP address and port",
        );
        if let (Some(ports), Some(defs)) = (&self.ports, &app.port_definitions) {
            let equivalent = defs.iter().map(|d| d.port).eq(ports.iter().copied());
            report.check(equivalent, "/", "cannot specify both ports and port definitions");
        }
    }

    /// `fetch` from `uris` when only `uris` was given.
    pub(super) fn fetch(&self, fetch: Vec<FetchUri>) -> Vec<FetchUri> {
        match &self.uris {
            Some(uris) if !uris.is_empty() && fetch.is_empty() => uris
                .iter()
                .map(|uri| FetchUri {
                    uri: uri.clone(),
                    extract: is_archive(uri),
                    executable: false,
                    cache: false,
                    output_file: None,
                })
                .collect(),
            _ => fetch,
        }
    }

    /// `networks` from `ipAddress` and `container.docker.network` (Marathon's `NetworkTranslation`).
    pub(super) fn networks(&self, networks: Option<Vec<Network>>) -> Result<Option<Vec<Network>>, Violation> {
        let net = |mode: &str, name: Option<String>, labels: BTreeMap<String, String>| Network {
            mode: mode.into(),
            name,
            labels,
        };
        let given = networks.filter(|n| !n.is_empty());
        let translated = match (&self.ip_address, self.docker_network.as_deref(), given) {
            (None, None, given) => return Ok(given),
            (Some(ip), Some(docker), None) => match docker {
                "HOST" => net(NETWORK_HOST, None, BTreeMap::new()),
                "USER" => net(NETWORK_CONTAINER, ip.network_name.clone(), ip.labels.clone()),
                "BRIDGE" => net(NETWORK_BRIDGE, None, ip.labels.clone()),
                other => return Err(unsupported_docker_network(other)),
            },
            (Some(ip), None, None) => match ip.network_name.as_deref() {
                Some(MESOS_BRIDGE_NAME) => net(NETWORK_BRIDGE, None, ip.labels.clone()),
                name => net(NETWORK_CONTAINER, name.map(str::to_string), ip.labels.clone()),
            },
            (None, Some(docker), None) => match docker {
                "HOST" => net(NETWORK_HOST, None, BTreeMap::new()),
                "USER" => net(NETWORK_CONTAINER, None, BTreeMap::new()),
                "BRIDGE" => net(NETWORK_BRIDGE, None, BTreeMap::new()),
                other => return Err(unsupported_docker_network(other)),
            },
            _ => return Err(Violation::new("/", "cannot mix deprecated and canonical network APIs")),
        };
        Ok(Some(vec![translated]))
    }

    /// `portDefinitions` as given, or from `ports`, before any default is applied.
    pub(super) fn port_definitions(&self, given: Option<Vec<PortDefinition>>) -> Option<Vec<PortDefinition>> {
        given.or_else(|| {
            self.ports.as_ref().map(|ports| {
                ports
                    .iter()
                    .map(|&port| PortDefinition {
                        port,
                        protocol: tcp(),
                        name: None,
                        labels: BTreeMap::new(),
                    })
                    .collect()
            })
        })
    }

    /// The container with deprecated port mappings moved to `container.portMappings`; an
    /// `ipAddress` without a container implies an empty Mesos container.
    pub(super) fn container(&self, container: Option<Container>) -> Result<Option<Container>, Violation> {
        let container = container.or_else(|| self.ip_address.as_ref().map(|_| mesos_container(None)));
        let Some(mut c) = container else { return Ok(None) };
        if let Some(docker_mappings) = &self.docker_port_mappings {
            match &c.port_mappings {
                Some(_) if !docker_mappings.is_empty() => {
                    return Err(Violation::new(
                        "/container",
                        "cannot specify both portMappings and docker.portMappings",
                    ));
                }
                Some(_) => {}
                None => c.port_mappings = Some(docker_mappings.clone()),
            }
        }
        let discovered = self
            .ip_address
            .as_ref()
            .and_then(|ip| ip.discovery.as_ref())
            .filter(|d| !d.ports.is_empty());
        if let Some(discovery) = discovered {
            if c.kind != "MESOS" {
                let msg = format!("ipAddress.discovery.ports do not apply for container type {}", c.kind);
                return Err(Violation::new("/ipAddress", msg));
            }
            if c.port_mappings.is_some() {
                return Err(Violation::new(
                    "/ipAddress",
                    "container.portMappings and ipAddress.discovery.ports must not both be set",
                ));
            }
            c.port_mappings = Some(
                discovery
                    .ports
                    .iter()
                    .map(|p| PortMapping {
                        container_port: p.number,
                        host_port: None,
                        service_port: 0,
                        protocol: p.protocol.clone(),
                        name: Some(p.name.clone()),
                        labels: p.labels.clone(),
                        network_names: Vec::new(),
                    })
                    .collect(),
            );
        }
        Ok(Some(c))
    }
}

fn unsupported_docker_network(kind: &str) -> Violation {
    Violation::new(
        "/container/docker/network",
        format!("unsupported docker network type {kind}"),
    )
}

/// A Mesos container with no image, as Marathon adds for non-host networking without one.
pub(super) fn mesos_container(port_mappings: Option<Vec<PortMapping>>) -> Container {
    Container {
        kind: "MESOS".into(),
        docker: None,
        port_mappings,
        volumes: Vec::new(),
        linux_info: None,
    }
}

/// Whether the Mesos fetcher should unpack `uri` (Marathon's `FetchUri.isExtract`).
fn is_archive(uri: &str) -> bool {
    [".tgz", ".tar.gz", ".tbz2", ".tar.bz2", ".txz", ".tar.xz", ".zip"]
        .iter()
        .any(|ext| uri.ends_with(ext))
}

fn all_distinct<T: PartialEq>(items: &[T]) -> bool {
    items.iter().enumerate().all(|(i, a)| !items[..i].contains(a))
}
