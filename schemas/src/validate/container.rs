//! The app's container: engine type, image, and volumes.

use serde_json::Value;

use crate::violation::Report;
use crate::{AppDefinition, Container, NETWORK_CONTAINER};

pub(super) fn validate(app: &AppDefinition, report: &mut Report) {
    let Some(c) = &app.container else { return };
    match c.kind.as_str() {
        "DOCKER" => validate_docker_engine(c, report),
        "MESOS" => {
            if let Some(d) = &c.docker {
                report.check(!d.image.is_empty(), "/container/docker/image", "must not be empty");
                report.check(d.parameters.is_empty(), "/container/docker/parameters", "must be empty");
                if let Some(secret) = d
                    .pull_config
                    .as_ref()
                    .and_then(|p| p.get("secret"))
                    .and_then(Value::as_str)
                {
                    report.check(
                        app.secrets.contains_key(secret),
                        "/container/docker/pullConfig",
                        "pullConfig.secret must refer to an existing secret",
                    );
                }
            }
        }
        _ => report.add("/container/type", "is not one of (DOCKER,MESOS)"),
    }
    if c.kind == "DOCKER" {
        let container_networks = app
            .networks
            .iter()
            .flatten()
            .filter(|n| n.mode == NETWORK_CONTAINER)
            .count();
        report.check(
            container_networks <= 1,
            "/",
            "may only specify a single container network when using the Docker container engine",
        );
        report.check(
            app.gpus == 0,
            "/",
            "GPU resources only work with the Mesos containerizer",
        );
    }
    for (i, v) in c.volumes.iter().enumerate() {
        validate_volume(app, v, &format!("/container/volumes({i})"), report);
    }
    let has_persistent = app.is_resident();
    report.check(
        app.residency.is_some() == has_persistent,
        "/",
        "App must contain persistent volumes and define residency",
    );
}

fn validate_docker_engine(c: &Container, report: &mut Report) {
    match &c.docker {
        None => report.add("/container/docker", "not defined"),
        Some(d) => {
            report.check(!d.image.is_empty(), "/container/docker/image", "must not be empty");
            report.check(
                d.pull_config.is_none(),
                "/container/docker/pullConfig",
                "pullConfig is not supported with Docker containerizer",
            );
        }
    }
}

fn validate_volume(app: &AppDefinition, v: &Value, at: &str, report: &mut Report) {
    let text = |key: &str| v.get(key).and_then(Value::as_str);
    let Some(container_path) = text("containerPath") else {
        report.add(format!("{at}/containerPath"), "not defined");
        return;
    };
    if let Some(persistent) = v.get("persistent") {
        report.check(
            !container_path.is_empty() && container_path != "." && container_path != "..",
            format!("{at}/containerPath"),
            "must not be empty, '.' or '..'",
        );
        report.check(
            !container_path.contains('/'),
            format!("{at}/containerPath"),
            "value must not contain \"/\"",
        );
        if let Some(mode) = text("mode").filter(|m| *m != "RW") {
            report.add(format!("{at}/mode"), format!("got {mode}, expected RW"));
        }
        let size = persistent.get("size").and_then(Value::as_u64).unwrap_or(0);
        report.check(
            size > 0,
            format!("{at}/persistent/size"),
            format!("got {size}, expected more than 0"),
        );
        let kind = persistent.get("type").and_then(Value::as_str).unwrap_or("root");
        let max_size = persistent.get("maxSize").and_then(Value::as_u64);
        report.check(
            kind == "mount" || max_size.is_none(),
            format!("{at}/persistent"),
            "Only mount volumes can have maxSize",
        );
        report.check(
            max_size.is_none_or(|m| m > size),
            format!("{at}/persistent"),
            "Max size must be larger than size",
        );
        let has_constraints = persistent
            .get("constraints")
            .and_then(Value::as_array)
            .is_some_and(|c| !c.is_empty());
        report.check(
            kind != "root" || !has_constraints,
            format!("{at}/persistent"),
            "Constraints on root volumes are not supported",
        );
    } else if let Some(secret) = text("secret") {
        report.check(
            app.secrets.contains_key(secret),
            at,
            "volume.secret must refer to an existing secret",
        );
    } else if v.get("external").is_some() {
        report.check(
            !container_path.is_empty(),
            format!("{at}/containerPath"),
            "must not be empty",
        );
    } else {
        report.check(
            !container_path.is_empty(),
            format!("{at}/containerPath"),
            "must not be empty",
        );
        report.check(
            text("hostPath").is_some_and(|h| !h.is_empty()),
            format!("{at}/hostPath"),
            "must not be empty",
        );
        report.check(
            text("mode").is_none_or(|m| m == "RO" || m == "RW"),
            format!("{at}/mode"),
            "is not one of (RO,RW)",
        );
    }
}
