use serde_json::{Value, json};

use super::*;
use crate::PathId;
use crate::pod::normalize_pod;

mod pod_level;

/// Normalises then validates, as the API does.
fn violations(v: Value) -> Vec<Violation> {
    let pod: PodDefinition = serde_json::from_value(v).expect("valid pod JSON");
    validate_pod(&normalize_pod(pod, &PathId::root()).expect("normalises"))
}

fn has(v: &[Violation], path: &str, msg: &str) -> bool {
    v.iter().any(|x| x.path == path && x.errors.iter().any(|e| e == msg))
}

/// A valid pod with `patch` merged over it (top-level keys replace).
fn pod(patch: Value) -> Value {
    let mut base = json!({"id": "/p", "containers": [{"name": "c"}]});
    for (k, v) in patch.as_object().unwrap() {
        base[k] = v.clone();
    }
    base
}

/// Asserts `bad` fails with `msg` at `path` and `good` passes cleanly.
fn rule(bad: Value, good: Value, path: &str, msg: &str) {
    let v = violations(bad);
    assert!(has(&v, path, msg), "expected {path}: {msg}, got {v:?}");
    assert_eq!(violations(good), vec![]);
}

#[test]
fn a_minimal_pod_is_valid() {
    assert_eq!(violations(pod(json!({}))), vec![]);
}

#[test]
fn ids_follow_app_rules() {
    let v = violations(pod(json!({"id": "/Upper"})));
    assert!(v.iter().any(|x| x.path == "/id"), "{v:?}");
    let v = violations(pod(json!({"id": "/a/versions"})));
    assert!(has(&v, "/id", "must not end with 'versions'"), "{v:?}");
    let mut p: PodDefinition = serde_json::from_value(pod(json!({}))).unwrap();
    p.id = PathId::unresolved("rel");
    assert!(has(&validate_pod(&p), "/id", "Path needs to be absolute"));
}

#[test]
fn needs_unique_well_named_containers() {
    rule(
        pod(json!({"containers": []})),
        pod(json!({})),
        "/containers",
        "must not be empty",
    );
    rule(
        pod(json!({"containers": [{"name": "a"}, {"name": "a"}]})),
        pod(json!({"containers": [{"name": "a"}, {"name": "b"}]})),
        "/containers",
        "container names are unique",
    );
    let regex = format!("must fully match regular expression '{NAME_PATTERN}'");
    rule(
        pod(json!({"containers": [{"name": "Web_1"}]})),
        pod(json!({"containers": [{"name": "web-1"}]})),
        "/containers(0)/name",
        &regex,
    );
    rule(
        pod(json!({"containers": [{"name": "a".repeat(64)}]})),
        pod(json!({"containers": [{"name": "a".repeat(63)}]})),
        "/containers(0)/name",
        "got 64 characters, expected 63 or less",
    );
}

#[test]
fn checks_resource_minimums() {
    let with = |r: Value| pod(json!({"containers": [{"name": "c", "resources": r}]}));
    rule(
        with(json!({"cpus": 0})),
        with(json!({"cpus": 0.001})),
        "/containers(0)/resources/cpus",
        "got 0.0, expected 0.001 or more",
    );
    rule(
        with(json!({"mem": 0})),
        with(json!({"mem": 1})),
        "/containers(0)/resources/mem",
        "got 0.0, expected 0.001 or more",
    );
    rule(
        with(json!({"disk": -1})),
        with(json!({"disk": 0})),
        "/containers(0)/resources/disk",
        "got -1.0, expected 0.0 or more",
    );
    rule(
        pod(json!({"executorResources": {"cpus": 0}})),
        pod(json!({"executorResources": {"cpus": 0.5}})),
        "/executorResources/cpus",
        "got 0.0, expected 0.001 or more",
    );
}

#[test]
fn checks_scaling() {
    rule(
        pod(json!({"scaling": {"kind": "fixed", "instances": 5, "maxInstances": 3}})),
        pod(json!({"scaling": {"kind": "fixed", "instances": 3, "maxInstances": 3}})),
        "/scaling/instances",
        "got 5, expected 3 or less (maxInstances)",
    );
    rule(
        pod(json!({"scaling": {"kind": "elastic"}})),
        pod(json!({"scaling": {"instances": 0}})),
        "/scaling/kind",
        "is not one of (fixed)",
    );
    // Negative counts never make it into a definition.
    assert!(serde_json::from_value::<PodDefinition>(pod(json!({"scaling": {"instances": -1}}))).is_err());
}

#[test]
fn endpoint_names_and_ports_are_unique_across_the_pod() {
    let two = |a: Value, b: Value| {
        pod(json!({"containers": [{"name": "a", "endpoints": [a]}, {"name": "b", "endpoints": [b]}]}))
    };
    rule(
        two(json!({"name": "web"}), json!({"name": "web"})),
        two(json!({"name": "web"}), json!({"name": "api"})),
        "/",
        "Endpoint names are unique",
    );
    rule(
        two(
            json!({"name": "a", "hostPort": 8080}),
            json!({"name": "b", "hostPort": 8080}),
        ),
        two(json!({"name": "a", "hostPort": 0}), json!({"name": "b", "hostPort": 0})),
        "/",
        "Host ports are unique",
    );
    let bridged = |a: u32, b: u32| {
        let mut p = two(
            json!({"name": "a", "containerPort": a}),
            json!({"name": "b", "containerPort": b}),
        );
        p["networks"] = json!([{"mode": "container/bridge"}]);
        p
    };
    rule(bridged(80, 80), bridged(80, 81), "/", "Container ports are unique");
}

#[test]
fn endpoints_fit_the_network_mode() {
    let on =
        |networks: Value, e: Value| pod(json!({"networks": networks, "containers": [{"name": "c", "endpoints": [e]}]}));
    let net = json!([{"name": "n"}]);
    rule(
        on(net.clone(), json!({"name": "e"})),
        on(net.clone(), json!({"name": "e", "containerPort": 80})),
        "/containers(0)/endpoints(0)/containerPort",
        "is required when using container-mode networking",
    );
    rule(
        on(json!([]), json!({"name": "e", "containerPort": 80})),
        on(json!([]), json!({"name": "e"})),
        "/containers(0)/endpoints(0)/containerPort",
        "is not allowed when using host-mode networking",
    );
    rule(
        on(net.clone(), json!({"name": "e", "containerPort": 70000})),
        on(net.clone(), json!({"name": "e", "containerPort": 65535})),
        "/containers(0)/endpoints(0)/containerPort",
        "got 70000, expected between 1 and 65535",
    );
    rule(
        on(json!([]), json!({"name": "e", "hostPort": 70000})),
        on(json!([]), json!({"name": "e", "hostPort": 65535})),
        "/containers(0)/endpoints(0)/hostPort",
        "got 70000, expected between 0 and 65535",
    );
    rule(
        on(json!([]), json!({"name": "e", "protocol": ["tcp", "tcp"]})),
        on(json!([]), json!({"name": "e", "protocol": ["udp", "tcp"]})),
        "/containers(0)/endpoints(0)/protocol",
        "Duplicate protocols within the same endpoint are not allowed",
    );
    rule(
        on(
            net.clone(),
            json!({"name": "e", "containerPort": 1, "networkNames": ["m"]}),
        ),
        on(
            net.clone(),
            json!({"name": "e", "containerPort": 1, "networkNames": ["n"]}),
        ),
        "/containers(0)/endpoints(0)/networkNames(0)",
        "is not one of (n)",
    );
    let two = json!([{"name": "n"}, {"name": "m"}]);
    rule(
        on(two.clone(), json!({"name": "e", "containerPort": 1, "hostPort": 0})),
        on(
            two,
            json!({"name": "e", "containerPort": 1, "hostPort": 0, "networkNames": ["m"]}),
        ),
        "/containers(0)/endpoints(0)",
        "networkNames must be a single item list when hostPort is specified and more than 1 container network is defined",
    );
    // Without normalisation's default a host-mode endpoint has no host port.
    let raw: PodDefinition = serde_json::from_value(on(json!([{"mode": "host"}]), json!({"name": "e"}))).unwrap();
    assert!(has(
        &validate_pod(&raw),
        "/containers(0)/endpoints(0)/hostPort",
        "is required when using host-mode networking"
    ));
}

#[test]
fn checks_networks() {
    rule(
        pod(json!({"networks": [{"mode": "overlay"}]})),
        pod(json!({"networks": [{"mode": "host"}]})),
        "/networks(0)/mode",
        "is not one of (container,container/bridge,host)",
    );
    rule(
        pod(json!({"networks": [{"mode": "container"}]})),
        pod(json!({"networks": [{"mode": "container", "name": "dcos"}]})),
        "/networks",
        "Network name must be specified when container network is selected.",
    );
    rule(
        pod(json!({"networks": [{"mode": "host"}, {"mode": "container/bridge"}]})),
        pod(json!({"networks": [{"name": "a"}, {"name": "b"}]})),
        "/networks",
        "May specify a single host network, single bridge network, or else 1-to-n container networks",
    );
    rule(
        pod(json!({"networks": [{"name": "a"}, {"name": "a"}]})),
        pod(json!({"networks": [{"name": "a"}]})),
        "/networks",
        "Duplicate networks are not allowed",
    );
    rule(
        pod(json!({"networks": [{"mode": "host", "name": "x"}]})),
        pod(json!({"networks": [{"mode": "host"}]})),
        "/networks",
        "Host networks may not have names or labels",
    );
    rule(
        pod(json!({"networks": [{"mode": "container/bridge", "name": "x"}]})),
        pod(json!({"networks": [{"mode": "container/bridge"}]})),
        "/networks",
        "Bridge networks may not have names",
    );
}

#[test]
fn health_checks_name_an_endpoint_of_their_container() {
    let with =
        |hc: Value| pod(json!({"containers": [{"name": "c", "endpoints": [{"name": "web"}], "healthCheck": hc}]}));
    rule(
        with(json!({"http": {"endpoint": "api"}})),
        with(json!({"http": {"endpoint": "web", "path": "/health"}})),
        "/containers(0)/healthCheck/http/endpoint",
        "contained in the container endpoints",
    );
    rule(
        with(json!({"tcp": {"endpoint": "api"}})),
        with(json!({"tcp": {"endpoint": "web"}})),
        "/containers(0)/healthCheck/tcp/endpoint",
        "contained in the container endpoints",
    );
    rule(
        with(json!({"http": {"endpoint": "web"}, "tcp": {"endpoint": "web"}})),
        with(json!({"exec": {"command": {"shell": "true"}}})),
        "/containers(0)/healthCheck",
        "Only one of http, tcp, or command may be specified",
    );
    rule(
        with(json!({})),
        with(json!({"exec": {"command": {"argv": ["true"]}}})),
        "/containers(0)/healthCheck",
        "Only one of http, tcp, or command may be specified",
    );
    rule(
        with(json!({"exec": {"command": {"shell": ""}}})),
        with(json!({"exec": {"command": {"shell": "x"}}})),
        "/containers(0)/healthCheck/exec/command",
        "must not be empty",
    );
    rule(
        with(json!({"http": {"endpoint": "web", "scheme": "FTP"}})),
        with(json!({"http": {"endpoint": "web", "scheme": "HTTPS"}})),
        "/containers(0)/healthCheck/http/scheme",
        "is not one of (HTTP,HTTPS)",
    );
}
