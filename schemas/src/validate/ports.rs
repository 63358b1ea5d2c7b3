//! Networks, port definitions and container port mappings, and how they must fit together.

use std::sync::LazyLock;

use regex::Regex;

use crate::violation::Report;
use crate::{AppDefinition, NETWORK_BRIDGE, NETWORK_CONTAINER, NETWORK_HOST, Network, PortDefinition, PortMapping};

const PORT_NAME_PATTERN: &str = "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$";
static PORT_NAME: LazyLock<Regex> = LazyLock::new(|| Regex::new(PORT_NAME_PATTERN).expect("static regex"));

const PROTOCOLS: [&str; 3] = ["tcp", "udp", "udp,tcp"];
const MAX_PORT: u32 = 65535;

pub(super) fn validate(app: &AppDefinition, report: &mut Report) {
    let networks = app.networks.as_deref().unwrap_or_default();
    validate_networks(networks, report);
    let host = app.uses_host_networking();
    if let Some(defs) = &app.port_definitions {
        validate_port_definitions(defs, report);
        report.check(
            host || defs.is_empty(),
            "/",
            "portDefinitions are only allowed with host-networking",
        );
    }
    if let Some(mappings) = app.container.as_ref().and_then(|c| c.port_mappings.as_ref()) {
        validate_port_mappings(mappings, networks, report);
        report.check(
            !networks.iter().any(|n| n.mode == NETWORK_HOST) || mappings.is_empty(),
            "/",
            "portMappings are not allowed with host-networking",
        );
    }
}

fn validate_networks(networks: &[Network], report: &mut Report) {
    let modes = [NETWORK_CONTAINER, NETWORK_BRIDGE, NETWORK_HOST];
    for (i, n) in networks.iter().enumerate() {
        report.check(
            modes.contains(&n.mode.as_str()),
            format!("/networks({i})/mode"),
            "is not one of (container,container/bridge,host)",
        );
    }
    let count = |mode: &str| networks.iter().filter(|n| n.mode == mode).count();
    let named = |n: &&Network| n.name.as_ref().is_some_and(|s| !s.is_empty());
    report.check(
        !networks
            .iter()
            .filter(|n| n.mode == NETWORK_HOST)
            .any(|n| named(&n) || !n.labels.is_empty()),
        "/networks",
        "Host networks may not have names or labels",
    );
    report.check(
        !networks.iter().filter(|n| n.mode == NETWORK_BRIDGE).any(|n| named(&n)),
        "/networks",
        "Bridge networks may not have names",
    );
    let names: Vec<&str> = networks.iter().filter_map(|n| n.name.as_deref()).collect();
    report.check(all_distinct(&names), "/networks", "Duplicate networks are not allowed");
    let (host, bridge, container) = (count(NETWORK_HOST), count(NETWORK_BRIDGE), count(NETWORK_CONTAINER));
    report.check(
        (host <= 1 && bridge == 0 && container == 0)
            || (host == 0 && bridge <= 1 && container == 0)
            || (host == 0 && bridge == 0 && container > 0),
        "/networks",
        "May specify a single host network, single bridge network, or else 1-to-n container networks",
    );
    // Pacer has no `--default_network_name`: a container network must say which one it is.
    report.check(
        networks.iter().all(|n| n.mode != NETWORK_CONTAINER || n.name.is_some()),
        "/networks",
        "Network name must be specified when container network is selected.",
    );
}

fn validate_port_definitions(defs: &[PortDefinition], report: &mut Report) {
    let names: Vec<&str> = defs.iter().filter_map(|d| d.name.as_deref()).collect();
    report.check(all_distinct(&names), "/portDefinitions", "Port names must be unique.");
    let fixed: Vec<u32> = defs.iter().map(|d| d.port).filter(|p| *p != 0).collect();
    report.check(all_distinct(&fixed), "/portDefinitions", "Ports must be unique.");
    for (i, d) in defs.iter().enumerate() {
        let at = format!("/portDefinitions({i})");
        check_port(d.port, &format!("{at}/port"), report);
        check_protocol(&d.protocol, &format!("{at}/protocol"), report);
        check_name(d.name.as_deref(), &format!("{at}/name"), report);
    }
}

fn validate_port_mappings(mappings: &[PortMapping], networks: &[Network], report: &mut Report) {
    let names: Vec<&str> = mappings.iter().filter_map(|m| m.name.as_deref()).collect();
    report.check(
        all_distinct(&names),
        "/container/portMappings",
        "Port names must be unique.",
    );
    let network_names: Vec<&str> = networks.iter().filter_map(|n| n.name.as_deref()).collect();
    let container_networks = networks.iter().filter(|n| n.mode == NETWORK_CONTAINER).count();
    for (i, m) in mappings.iter().enumerate() {
        let at = format!("/container/portMappings({i})");
        check_port(m.container_port, &format!("{at}/containerPort"), report);
        if let Some(hp) = m.host_port {
            check_port(hp, &format!("{at}/hostPort"), report);
        }
        check_port(m.service_port, &format!("{at}/servicePort"), report);
        check_protocol(&m.protocol, &format!("{at}/protocol"), report);
        check_name(m.name.as_deref(), &format!("{at}/name"), report);
        for (j, name) in m.network_names.iter().enumerate() {
            report.check(
                network_names.contains(&name.as_str()),
                format!("{at}/networkNames({j})"),
                format!("is not one of ({})", network_names.join(",")),
            );
        }
        report.check(
            container_networks <= 1 || m.host_port.is_none() || m.network_names.len() == 1,
            at,
            "networkNames must be a single item list when hostPort is specified and more than 1 container network is defined",
        );
    }
}

fn check_port(port: u32, path: &str, report: &mut Report) {
    report.check(
        port <= MAX_PORT,
        path,
        format!("got {port}, expected between 0 and {MAX_PORT}"),
    );
}

fn check_protocol(protocol: &str, path: &str, report: &mut Report) {
    report.check(PROTOCOLS.contains(&protocol), path, "is not one of (tcp,udp,udp,tcp)");
}

fn check_name(name: Option<&str>, path: &str, report: &mut Report) {
    if let Some(name) = name {
        report.check(
            PORT_NAME.is_match(name) && name.len() <= 63,
            path,
            format!("must fully match regular expression '{PORT_NAME_PATTERN}'"),
        );
    }
}

pub(super) fn all_distinct<T: PartialEq>(items: &[T]) -> bool {
    items.iter().enumerate().all(|(i, a)| !items[..i].contains(a))
}
