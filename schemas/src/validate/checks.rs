//! Health checks and readiness checks of an app.

use crate::violation::Report;
use crate::{AppDefinition, HealthCheck};

const PROTOCOLS: [&str; 7] = [
    "HTTP",
    "HTTPS",
    "TCP",
    "COMMAND",
    "MESOS_HTTP",
    "MESOS_HTTPS",
    "MESOS_TCP",
];
/// Checks Marathon itself runs (the others run on the agent).
const MARATHON_PROTOCOLS: [&str; 3] = ["HTTP", "HTTPS", "TCP"];
const MESOS_NETWORK_PROTOCOLS: [&str; 3] = ["MESOS_HTTP", "MESOS_HTTPS", "MESOS_TCP"];

pub(super) fn validate(app: &AppDefinition, report: &mut Report) {
    let ports = app.port_names().len();
    let docker = app.container.as_ref().is_some_and(|c| c.kind == "DOCKER");
    for (i, hc) in app.health_checks.iter().enumerate() {
        validate_health_check(hc, &format!("/healthChecks({i})"), ports, docker, report);
    }
    // COMMAND checks are not counted: Marathon once allowed several and keeps them valid.
    let mesos_checks = app
        .health_checks
        .iter()
        .filter(|hc| hc.command.is_none() && MESOS_NETWORK_PROTOCOLS.contains(&hc.protocol.as_str()))
        .count();
    report.check(
        mesos_checks <= 1,
        "/",
        "AppDefinition can contain at most one Mesos health check",
    );

    let n = app.readiness_checks.len();
    report.check(n <= 1, "/readinessChecks", format!("got {n}, expected 1 or less"));
    let names = app.port_names();
    for (i, rc) in app.readiness_checks.iter().enumerate() {
        let at = format!("/readinessChecks({i})");
        report.check(
            rc.protocol == "HTTP" || rc.protocol == "HTTPS",
            format!("{at}/protocol"),
            "is not one of (HTTP,HTTPS)",
        );
        report.check(
            names.contains(&Some(rc.port_name.as_str())),
            format!("{at}/portName"),
            format!("No port definition reference for portName {}", rc.port_name),
        );
        report.check(
            rc.timeout_seconds < rc.interval_seconds,
            format!("{at}/timeoutSeconds"),
            format!("got {}, expected less than {}", rc.timeout_seconds, rc.interval_seconds),
        );
        for (j, code) in rc.http_status_codes_for_ready.iter().enumerate() {
            report.check(
                (100..=999).contains(code),
                format!("{at}/httpStatusCodesForReady({j})"),
                format!("got {code}, expected between 100 and 999"),
            );
        }
    }
}

fn validate_health_check(hc: &HealthCheck, at: &str, ports: usize, docker: bool, report: &mut Report) {
    let protocol = hc.protocol.as_str();
    if !PROTOCOLS.contains(&protocol) {
        report.add(
            format!("{at}/protocol"),
            format!("is not one of ({})", PROTOCOLS.join(",")),
        );
        return;
    }
    let parameters_ok = match protocol {
        "COMMAND" => hc.command.as_ref().is_some_and(|c| !c.value.is_empty()) && hc.port.is_none(),
        _ => hc.command.is_none() && !(hc.port.is_some() && hc.port_index.is_some()),
    };
    report.check(
        parameters_ok,
        at,
        format!("HealthCheck is having parameters violation {protocol} protocol."),
    );
    if MARATHON_PROTOCOLS.contains(&protocol) && hc.command.is_none() {
        let addressed = match hc.port_index {
            Some(i) => (i as usize) < ports,
            None => hc.port.is_some() || ports == 1,
        };
        report.check(
            addressed,
            at,
            "Health check port indices must address an element of the ports array or container port mappings.",
        );
    }
    if let Some(port) = hc.port {
        report.check(
            port <= 65535,
            format!("{at}/port"),
            format!("got {port}, expected between 0 and 65535"),
        );
    }
    match hc.ip_protocol.as_deref() {
        None | Some("IPv4") => {}
        Some("IPv6") => report.check(
            docker && MESOS_NETWORK_PROTOCOLS.contains(&protocol),
            at,
            "IPv6 can only be used for container type DOCKER and Mesos http/https/tcp health checks",
        ),
        Some(_) => report.add(format!("{at}/ipProtocol"), "is not one of (IPv4,IPv6)"),
    }
}
