use serde_json::{Value, json};

use super::*;
use crate::NETWORK_CONTAINER;

fn parse(v: Value) -> AppDefinition {
    serde_json::from_value(v).expect("valid app JSON")
}

fn norm(v: Value) -> AppDefinition {
    normalize_app(parse(v), &PathId::root()).expect("normalises")
}

fn errors(v: Value) -> Vec<Violation> {
    normalize_app(parse(v), &PathId::root()).expect_err("should be rejected")
}

#[test]
fn resolves_ids_against_the_group() {
    let base = PathId::parse("/prod/web").unwrap();
    let app = normalize_app(
        parse(json!({"id": "api", "cmd": "x", "dependencies": ["../db", "/abs", "../db"]})),
        &base,
    )
    .unwrap();
    assert_eq!(app.id.as_str(), "/prod/web/api");
    assert_eq!(
        app.dependencies,
        vec![PathId::parse("/prod/db").unwrap(), PathId::parse("/abs").unwrap()]
    );

    let above = normalize_app(parse(json!({"id": "../../..", "cmd": "x"})), &base).unwrap_err();
    assert_eq!(above[0].path, "/id");
    let outside = normalize_app(parse(json!({"id": "/other/api", "cmd": "x"})), &base).unwrap_err();
    assert_eq!(
        outside,
        vec![Violation::new(
            "/id",
            "identifier /other/api is not child of /prod/web. Hint: use relative paths."
        )]
    );
}

#[test]
fn fills_host_networking_defaults() {
    let app = norm(json!({"id": "/a", "cmd": "sleep 1"}));
    assert_eq!(app.networks.as_ref().unwrap(), &vec![host_network()]);
    assert_eq!(app.port_definitions.as_ref().unwrap(), &default_port_definitions());
    assert_eq!(app.role.as_deref(), Some("*"));
    assert_eq!(app.upgrade_strategy, UpgradeStrategy::default());
    assert_eq!(app.unreachable_strategy, UnreachableStrategy::default());
    assert!(app.container.is_none());
    // `[]` means "no ports", not "the default port".
    let none = norm(json!({"id": "/a", "cmd": "x", "portDefinitions": []}));
    assert_eq!(none.port_definitions, Some(vec![]));
}

#[test]
fn migrates_ports_and_uris() {
    let app = norm(json!({"id": "/a", "cmd": "x", "ports": [0, 8080], "uris": ["http://h/a.tgz", "http://h/run.sh"]}));
    let ports: Vec<_> = app
        .port_definitions
        .unwrap()
        .iter()
        .map(|p| (p.port, p.protocol.clone(), p.name.clone()))
        .collect();
    assert_eq!(
        ports,
        vec![(0, "tcp".to_string(), None), (8080, "tcp".to_string(), None)]
    );
    assert_eq!(
        app.fetch.iter().map(|f| f.extract).collect::<Vec<_>>(),
        vec![true, false]
    );
    assert!(app.ports.is_none() && app.uris.is_none());
    let same = norm(json!({"id": "/a", "cmd": "x", "ports": [80], "portDefinitions": [{"port": 80}]}));
    assert_eq!(same.port_definitions.unwrap().len(), 1);
}

#[test]
fn rejects_mixed_deprecated_fields() {
    let both = errors(json!({"id": "/a", "cmd": "x", "ports": [80], "portDefinitions": [{"port": 81}]}));
    assert_eq!(
        both,
        vec![Violation::new("/", "cannot specify both ports and port definitions")]
    );
    let uris = errors(json!({"id": "/a", "cmd": "x", "uris": ["http://a"], "fetch": [{"uri": "http://b"}]}));
    assert_eq!(
        uris,
        vec![Violation::new("/uris", "may not be set in conjunction with fetch")]
    );
    let dup = errors(json!({"id": "/a", "cmd": "x", "ports": [80, 80]}));
    assert_eq!(dup, vec![Violation::new("/", "ports must be unique")]);
    let mixed = errors(json!({"id": "/a", "cmd": "x", "networks": [{"mode": "host"}],
        "container": {"type": "DOCKER", "docker": {"image": "i", "network": "BRIDGE"}}}));
    assert_eq!(
        mixed,
        vec![Violation::new(
            "/",
            "must not specify both container.docker.network and networks"
        )]
    );
    let none = errors(json!({"id": "/a", "container": {"docker": {"image": "i", "network": "NONE"}}}));
    assert_eq!(
        none,
        vec![Violation::new(
            "/container/docker/network",
            "unsupported docker network type NONE"
        )]
    );
}

#[test]
fn translates_docker_bridge_networking() {
    let app = norm(
        json!({"id": "/a", "ports": [5000], "container": {"type": "DOCKER", "docker": {
        "image": "registry", "network": "BRIDGE",
        "portMappings": [{"containerPort": 5000, "servicePort": 5000}, {"containerPort": 6000, "hostPort": 31000}]}}}),
    );
    assert_eq!(app.networks.unwrap()[0].mode, NETWORK_BRIDGE);
    assert!(app.port_definitions.is_none());
    let c = app.container.unwrap();
    let d = c.docker.unwrap();
    assert!(d.network.is_none() && d.port_mappings.is_none());
    let hosts: Vec<_> = c.port_mappings.unwrap().iter().map(|m| m.host_port).collect();
    assert_eq!(hosts, vec![Some(0), Some(31000)]);
    assert!(!app.require_ports);
}

#[test]
fn adds_a_mesos_container_for_non_host_networks() {
    let app = norm(
        json!({"id": "/a", "cmd": "x", "requirePorts": true, "portDefinitions": [{"port": 1}, {"port": 2}],
        "networks": [{"mode": "container", "name": "dcos"}]}),
    );
    let c = app.container.unwrap();
    assert_eq!(c.kind, "MESOS");
    assert_eq!(c.port_mappings.unwrap(), vec![named_mapping("default")]);
    assert!(app.port_definitions.is_none());
    assert!(!app.require_ports);
    // A container the user gave keeps one mapping per declared port.
    let given = norm(
        json!({"id": "/a", "cmd": "x", "portDefinitions": [{"port": 1}, {"port": 2}],
        "networks": [{"mode": "container/bridge"}], "container": {"type": "MESOS"}}),
    );
    let mappings = given.container.unwrap().port_mappings.unwrap();
    assert_eq!(mappings.len(), 2);
    assert_eq!(mappings[0].name.as_deref(), Some("default"));
    assert!(mappings.iter().all(|m| m.host_port == Some(0)));
}

#[test]
fn drops_port_mappings_on_host_networking() {
    let app = norm(
        json!({"id": "/a", "container": {"type": "DOCKER", "docker": {"image": "i", "network": "HOST"},
        "portMappings": [{"containerPort": 80}]}}),
    );
    assert!(app.container.unwrap().port_mappings.is_none());
    assert_eq!(app.port_definitions.unwrap(), default_port_definitions());
}

#[test]
fn translates_ip_address() {
    let app = norm(
        json!({"id": "/a", "cmd": "x", "ipAddress": {"networkName": "dcos", "labels": {"a": "b"},
        "discovery": {"ports": [{"number": 8080, "name": "http", "protocol": "tcp"}]}}}),
    );
    let net = &app.networks.as_ref().unwrap()[0];
    assert_eq!(
        (net.mode.as_str(), net.name.as_deref()),
        (NETWORK_CONTAINER, Some("dcos"))
    );
    assert_eq!(net.labels.get("a").map(String::as_str), Some("b"));
    let c = app.container.unwrap();
    assert_eq!(c.kind, "MESOS");
    let m = &c.port_mappings.unwrap()[0];
    assert_eq!(
        (m.container_port, m.host_port, m.name.as_deref()),
        (8080, None, Some("http"))
    );
    assert!(app.ip_address.is_none());

    let docker = errors(json!({"id": "/a", "ipAddress": {"discovery": {"ports": []}},
        "container": {"type": "DOCKER", "docker": {"image": "i"}}}));
    assert_eq!(
        docker,
        vec![Violation::new(
            "/ipAddress",
            "ipAddress/discovery is not allowed for Docker containers"
        )]
    );
}

#[test]
fn resident_and_single_instance_defaults() {
    let resident = norm(json!({"id": "/db", "cmd": "x", "container": {"type": "MESOS",
        "volumes": [{"containerPath": "data", "mode": "RW", "persistent": {"size": 10}}]}}));
    assert_eq!(
        resident.upgrade_strategy,
        UpgradeStrategy {
            minimum_health_capacity: 0.5,
            maximum_over_capacity: 0.0
        }
    );
    assert_eq!(
        resident.unreachable_strategy,
        UnreachableStrategy::Disabled(UnreachableDisabled::Disabled)
    );
    assert_eq!(resident.residency.unwrap()["taskLostBehavior"], "WAIT_FOREVER");

    let single = norm(json!({"id": "/s", "cmd": "x", "labels": {"MARATHON_SINGLE_INSTANCE_APP": "true"}}));
    assert_eq!(
        single.upgrade_strategy,
        UpgradeStrategy {
            minimum_health_capacity: 0.0,
            maximum_over_capacity: 0.0
        }
    );
    let explicit = norm(json!({"id": "/s", "cmd": "x", "upgradeStrategy": {"minimumHealthCapacity": 0.3}}));
    assert_eq!(explicit.upgrade_strategy.minimum_health_capacity, 0.3);
}

#[test]
fn sanitizes_roles_and_constraints() {
    let app = norm(
        json!({"id": "/a", "cmd": "x", "role": "dev", "acceptedResourceRoles": ["slave_public", "dev", "dev"],
        "constraints": [["hostname", "unique"], ["hostname", "UNIQUE"], ["rack", "nope"]]}),
    );
    assert_eq!(app.accepted_resource_roles.unwrap(), vec!["dev".to_string()]);
    let ops: Vec<_> = app.constraints.iter().map(|c| c[1].as_str()).collect();
    assert_eq!(ops, vec!["UNIQUE", "nope"]);
    let fallback = norm(json!({"id": "/a", "cmd": "x", "acceptedResourceRoles": ["slave_public"]}));
    assert_eq!(fallback.accepted_resource_roles.unwrap(), vec!["*".to_string()]);
}

#[test]
fn health_checks_default_to_the_first_port() {
    let app = norm(
        json!({"id": "/a", "cmd": "x", "healthChecks": [{"protocol": "HTTP"}, {"protocol": "TCP", "port": 80},
        {"protocol": "COMMAND", "command": {"value": "true"}}], "readinessChecks": [{"httpStatusCodesForReady": []}]}),
    );
    let idx: Vec<_> = app.health_checks.iter().map(|h| h.port_index).collect();
    assert_eq!(idx, vec![Some(0), None, None]);
    assert_eq!(app.readiness_checks[0].http_status_codes_for_ready, vec![200]);
    let portless = norm(json!({"id": "/a", "cmd": "x", "portDefinitions": [], "healthChecks": [{"protocol": "HTTP"}]}));
    assert_eq!(portless.health_checks[0].port_index, None);
}

#[test]
fn is_idempotent() {
    for v in [
        json!({"id": "a", "cmd": "x", "ports": [0], "uris": ["http://h/a.zip"], "healthChecks": [{}]}),
        json!({"id": "/b", "container": {"docker": {"image": "i", "network": "BRIDGE", "portMappings": [{"containerPort": 1}]}}}),
        json!({"id": "/c", "cmd": "x", "networks": [{"name": "n"}], "portDefinitions": [{"port": 1}]}),
        json!({"id": "/d", "cmd": "x", "container": {"type": "MESOS",
            "volumes": [{"containerPath": "d", "mode": "RW", "persistent": {"size": 1}}]}}),
    ] {
        let once = norm(v);
        let twice = normalize_app(once.clone(), &PathId::root()).unwrap();
        assert_eq!(once, twice);
        let reread: AppDefinition = serde_json::from_value(serde_json::to_value(&once).unwrap()).unwrap();
        assert_eq!(once, reread);
    }
}
