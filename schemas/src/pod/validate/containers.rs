//! The containers of a pod: names, resources, endpoints, health checks, mounts and images.

use super::{all_distinct, check_name, check_not_empty_opt, validate_environment, validate_resources_min};
use crate::pod::{PodContainer, PodDefinition, PodEndpoint, PodHealthCheck};
use crate::violation::{Report, java_double};
use crate::{NETWORK_CONTAINER, NETWORK_HOST};

const MAX_PORT: u32 = 65535;
const MAX_PATH_LEN: usize = 1024;

pub(super) fn validate(pod: &PodDefinition, report: &mut Report) {
    report.check(!pod.containers.is_empty(), "/containers", "must not be empty");
    let names: Vec<&str> = pod.containers.iter().map(|c| c.name.as_str()).collect();
    report.check(all_distinct(&names), "/containers", "container names are unique");
    for (i, c) in pod.containers.iter().enumerate() {
        validate_container(pod, c, &format!("/containers({i})"), report);
    }

    let endpoints = pod.endpoints();
    let names: Vec<&str> = endpoints.iter().map(|e| e.endpoint.name.as_str()).collect();
    report.check(all_distinct(&names), "/", "Endpoint names are unique");
    let container_ports: Vec<u32> = endpoints
        .iter()
        .filter_map(|e| e.endpoint.container_port)
        .filter(|p| *p != 0)
        .collect();
    report.check(all_distinct(&container_ports), "/", "Container ports are unique");
    let host_ports: Vec<u32> = endpoints
        .iter()
        .filter_map(|e| e.endpoint.host_port)
        .filter(|p| *p != 0)
        .collect();
    report.check(all_distinct(&host_ports), "/", "Host ports are unique");
}

fn validate_container(pod: &PodDefinition, c: &PodContainer, at: &str, report: &mut Report) {
    check_name(&c.name, &format!("{at}/name"), report);
    check_not_empty_opt(c.user.as_deref(), &format!("{at}/user"), report);
    if let Some(exec) = &c.exec {
        report.check(
            !exec.command.is_empty(),
            format!("{at}/exec/command"),
            "must not be empty",
        );
    }
    let r = c.resources;
    validate_resources_min(
        &format!("{at}/resources"),
        [("cpus", r.cpus, 0.001), ("mem", r.mem, 0.001), ("disk", r.disk, 0.0)],
        report,
    );
    // The executor's shared cgroup cannot hold per-container limits.
    report.check(
        pod.legacy_shared_cgroups != Some(true) || c.resource_limits.is_none(),
        format!("{at}/resourceLimits"),
        "resourceLimits cannot be defined if legacySharedCgroups is enabled",
    );
    for (j, e) in c.endpoints.iter().enumerate() {
        validate_endpoint(pod, e, &format!("{at}/endpoints({j})"), report);
    }
    if let Some(image) = &c.image {
        report.check(
            !image.id.is_empty() && image.id.len() <= MAX_PATH_LEN,
            format!("{at}/image/id"),
            format!("must be between 1 and {MAX_PATH_LEN} characters"),
        );
        report.check(
            image.kind == "DOCKER" || image.kind == "APPC",
            format!("{at}/image/kind"),
            "is not one of (DOCKER,APPC)",
        );
        if let Some(pull) = &image.pull_config {
            report.check(
                pod.secrets.contains_key(&pull.secret),
                format!("{at}/image/pullConfig"),
                "pullConfig.secret must refer to an existing secret",
            );
        }
    }
    validate_environment(&c.environment, &pod.secrets, &format!("{at}/environment"), report);
    if let Some(hc) = &c.health_check {
        validate_health_check(c, hc, &format!("{at}/healthCheck"), report);
    }
    for (j, m) in c.volume_mounts.iter().enumerate() {
        let at = format!("{at}/volumeMounts({j})");
        check_name(&m.name, &format!("{at}/name"), report);
        report.check(
            pod.volumes.iter().any(|v| v.name == m.name),
            format!("{at}/name"),
            "Referenced Volume in VolumeMount should exist",
        );
        report.check(
            !m.mount_path.is_empty() && m.mount_path.len() <= MAX_PATH_LEN,
            format!("{at}/mountPath"),
            format!("must be between 1 and {MAX_PATH_LEN} characters"),
        );
    }
    for (j, a) in c.artifacts.iter().enumerate() {
        let at = format!("{at}/artifacts({j})");
        report.check(
            !a.uri.is_empty() && a.uri.len() <= MAX_PATH_LEN,
            format!("{at}/uri"),
            format!("must be between 1 and {MAX_PATH_LEN} characters"),
        );
        report.check(
            a.output_file
                .as_ref()
                .is_none_or(|d| !d.is_empty() && d.len() <= MAX_PATH_LEN),
            format!("{at}/destPath"),
            format!("must be between 1 and {MAX_PATH_LEN} characters"),
        );
    }
    if let Some(grace) = c.lifecycle.and_then(|l| l.kill_grace_period_seconds) {
        report.check(
            grace > 0.0,
            format!("{at}/lifecycle/killGracePeriodSeconds"),
            format!("got {}, expected more than 0.0", java_double(grace)),
        );
    }
}

fn validate_endpoint(pod: &PodDefinition, e: &PodEndpoint, at: &str, report: &mut Report) {
    check_name(&e.name, &format!("{at}/name"), report);
    let host_mode = pod.networks.iter().any(|n| n.mode == NETWORK_HOST);
    let container_mode = pod.networks.iter().any(|n| n.mode == NETWORK_CONTAINER);
    if let Some(cp) = e.container_port {
        report.check(
            (1..=MAX_PORT).contains(&cp),
            format!("{at}/containerPort"),
            format!("got {cp}, expected between 1 and {MAX_PORT}"),
        );
    }
    if let Some(hp) = e.host_port {
        report.check(
            hp <= MAX_PORT,
            format!("{at}/hostPort"),
            format!("got {hp}, expected between 0 and {MAX_PORT}"),
        );
    }
    report.check(
        !host_mode || e.host_port.is_some(),
        format!("{at}/hostPort"),
        "is required when using host-mode networking",
    );
    report.check(
        !host_mode || e.container_port.is_none(),
        format!("{at}/containerPort"),
        "is not allowed when using host-mode networking",
    );
    report.check(
        !container_mode || e.container_port.is_some(),
        format!("{at}/containerPort"),
        "is required when using container-mode networking",
    );
    report.check(
        all_distinct(&e.protocol),
        format!("{at}/protocol"),
        "Duplicate protocols within the same endpoint are not allowed",
    );
    let network_names: Vec<&str> = pod.networks.iter().filter_map(|n| n.name.as_deref()).collect();
    let container_networks = pod.networks.iter().filter(|n| n.mode == NETWORK_CONTAINER).count();
    report.check(
        container_networks <= 1 || e.host_port.is_none() || e.network_names.len() == 1,
        at,
        "networkNames must be a single item list when hostPort is specified and more than 1 container network is defined",
    );
    for (k, name) in e.network_names.iter().enumerate() {
        report.check(
            network_names.contains(&name.as_str()),
            format!("{at}/networkNames({k})"),
            format!("is not one of ({})", network_names.join(",")),
        );
    }
}

fn validate_health_check(c: &PodContainer, hc: &PodHealthCheck, at: &str, report: &mut Report) {
    let kinds = [hc.http.is_some(), hc.tcp.is_some(), hc.exec.is_some()];
    report.check(
        kinds.iter().filter(|k| **k).count() == 1,
        at,
        "Only one of http, tcp, or command may be specified",
    );
    if let Some(http) = &hc.http {
        check_check_endpoint(c, &http.endpoint, &format!("{at}/http/endpoint"), report);
        report.check(
            http.path
                .as_ref()
                .is_none_or(|p| !p.is_empty() && p.len() <= MAX_PATH_LEN),
            format!("{at}/http/path"),
            format!("must be between 1 and {MAX_PATH_LEN} characters"),
        );
        report.check(
            http.scheme == "HTTP" || http.scheme == "HTTPS",
            format!("{at}/http/scheme"),
            "is not one of (HTTP,HTTPS)",
        );
    }
    if let Some(tcp) = &hc.tcp {
        check_check_endpoint(c, &tcp.endpoint, &format!("{at}/tcp/endpoint"), report);
    }
    if let Some(exec) = &hc.exec {
        report.check(
            !exec.command.is_empty(),
            format!("{at}/exec/command"),
            "must not be empty",
        );
    }
}

/// A check addresses one of its own container's endpoints, as Marathon requires.
fn check_check_endpoint(c: &PodContainer, endpoint: &str, path: &str, report: &mut Report) {
    check_name(endpoint, path, report);
    report.check(
        c.endpoints.iter().any(|e| e.name == endpoint),
        path,
        "contained in the container endpoints",
    );
}
