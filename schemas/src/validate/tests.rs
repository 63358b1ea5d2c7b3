use serde_json::{Value, json};

use super::*;
use crate::{PathId, normalize_app};

/// Normalises then validates, as the API does.
fn violations(v: Value) -> Vec<Violation> {
    let app: AppDefinition = serde_json::from_value(v).expect("valid app JSON");
    validate_app(&normalize_app(app, &PathId::root()).expect("normalises"))
}

fn has(v: &[Violation], path: &str, msg: &str) -> bool {
    v.iter().any(|x| x.path == path && x.errors.iter().any(|e| e == msg))
}

#[test]
fn a_plain_command_app_is_valid() {
    assert_eq!(violations(json!({"id": "/a", "cmd": "sleep 100"})), vec![]);
    assert_eq!(violations(json!({"id": "/a", "args": ["sleep", "100"]})), vec![]);
    assert_eq!(
        violations(json!({"id": "/a", "container": {"docker": {"image": "nginx"}}})),
        vec![]
    );
}

#[test]
fn needs_exactly_one_of_cmd_or_args_unless_a_container() {
    let msg = "AppDefinition must either contain one of 'cmd' or 'args', and/or a 'container'.";
    assert!(has(&violations(json!({"id": "/a"})), "/", msg));
    assert!(has(
        &violations(json!({"id": "/a", "cmd": "x", "args": ["y"]})),
        "/",
        msg
    ));
    assert!(has(
        &violations(json!({"id": "/a", "cmd": "x", "args": ["y"], "container": {"docker": {"image": "i"}}})),
        "/",
        msg
    ));
    assert!(violations(json!({"id": "/a", "cmd": "x", "container": {"docker": {"image": "i"}}})).is_empty());
}

#[test]
fn rejects_bad_ids_and_resources() {
    let v = violations(
        json!({"id": "/Upper/tasks", "cmd": "x", "cpus": -1, "mem": -128, "disk": -3, "backoffFactor": 0.5}),
    );
    assert!(v.iter().any(|x| x.path == "/id" && x.errors.len() == 2));
    assert!(has(&v, "/cpus", "got -1.0, expected 0.0 or more"));
    assert!(has(&v, "/mem", "got -128.0, expected 0.0 or more"));
    assert!(has(&v, "/disk", "got -3.0, expected 0.0 or more"));
    assert!(has(&v, "/backoffFactor", "got 0.5, expected 1.0 or more"));
    let exec = violations(json!({"id": "/a", "cmd": "x", "executor": "/test//path"}));
    assert!(has(
        &exec,
        "/executor",
        "must fully match regular expression '^(//cmd)|(/?[^/]+(/[^/]+)*)|$'"
    ));
    assert!(violations(json!({"id": "/a", "cmd": "x", "executor": "//cmd"})).is_empty());
    let dep = violations(json!({"id": "/a", "cmd": "x", "dependencies": ["/Bad"]}));
    assert_eq!(dep[0].path, "/dependencies(0)");
}

#[test]
fn checks_strategies() {
    let v = violations(
        json!({"id": "/a", "cmd": "x", "upgradeStrategy": {"minimumHealthCapacity": 1.2, "maximumOverCapacity": -1.2},
        "unreachableStrategy": {"inactiveAfterSeconds": 600, "expungeAfterSeconds": 300}}),
    );
    assert!(has(
        &v,
        "/upgradeStrategy/minimumHealthCapacity",
        "got 1.2, expected between 0.0 and 1.0"
    ));
    assert!(has(
        &v,
        "/upgradeStrategy/maximumOverCapacity",
        "got -1.2, expected between 0.0 and 1.0"
    ));
    assert!(v.iter().any(|x| x.path == "/unreachableStrategy/inactiveAfterSeconds"));
    let resident = json!({"containerPath": "data", "mode": "RW", "persistent": {"size": 10}});
    let r = violations(
        json!({"id": "/a", "cmd": "x", "upgradeStrategy": {"minimumHealthCapacity": 0.5, "maximumOverCapacity": 0.5},
        "unreachableStrategy": {"inactiveAfterSeconds": 1, "expungeAfterSeconds": 2}, "container": {"type": "MESOS", "volumes": [resident]}}),
    );
    assert!(has(&r, "/upgradeStrategy/maximumOverCapacity", "got 0.5, expected 0.0"));
    assert!(has(&r, "/", "unreachableStrategy must be disabled for resident tasks"));
    assert!(has(&r, "/role", "Resident apps cannot have the role *"));
    let single = violations(
        json!({"id": "/a", "cmd": "x", "instances": 2, "labels": {"MARATHON_SINGLE_INSTANCE_APP": "true"},
        "upgradeStrategy": {"minimumHealthCapacity": 0.5, "maximumOverCapacity": 0}}),
    );
    assert!(has(&single, "/", "Single instance app may only have one instance"));
    assert!(has(
        &single,
        "/upgradeStrategy/minimumHealthCapacity",
        "got 0.5, expected 0.0"
    ));
}

#[test]
fn checks_port_definitions() {
    let v = violations(json!({"id": "/a", "cmd": "x", "portDefinitions": [
        {"port": 9000, "name": "foo"}, {"port": 9000, "name": "foo", "protocol": "sctp"}, {"port": 70000, "name": "Bad_Name"}]}));
    assert!(has(&v, "/portDefinitions", "Port names must be unique."));
    assert!(has(&v, "/portDefinitions", "Ports must be unique."));
    assert!(has(
        &v,
        "/portDefinitions(1)/protocol",
        "is not one of (tcp,udp,udp,tcp)"
    ));
    assert!(has(
        &v,
        "/portDefinitions(2)/port",
        "got 70000, expected between 0 and 65535"
    ));
    assert!(has(
        &v,
        "/portDefinitions(2)/name",
        "must fully match regular expression '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$'"
    ));
    assert!(
        violations(
            json!({"id": "/a", "cmd": "x", "portDefinitions": [{"port": 0}, {"port": 0, "protocol": "udp,tcp"}]})
        )
        .is_empty()
    );
}

#[test]
fn checks_network_combinations() {
    let two = violations(json!({"id": "/a", "cmd": "x", "networks": [{"mode": "host"}, {"mode": "container/bridge"}]}));
    assert!(has(
        &two,
        "/networks",
        "May specify a single host network, single bridge network, or else 1-to-n container networks"
    ));
    let unnamed = violations(json!({"id": "/a", "cmd": "x", "networks": [{"mode": "container"}]}));
    assert!(has(
        &unnamed,
        "/networks",
        "Network name must be specified when container network is selected."
    ));
    let named = violations(json!({"id": "/a", "cmd": "x", "networks": [{"mode": "container/bridge", "name": "b"}]}));
    assert!(has(&named, "/networks", "Bridge networks may not have names"));
    let docker = violations(
        json!({"id": "/a", "networks": [{"name": "a"}, {"name": "b"}], "container": {"docker": {"image": "i"}}}),
    );
    assert!(has(
        &docker,
        "/",
        "may only specify a single container network when using the Docker container engine"
    ));
    assert!(violations(json!({"id": "/a", "cmd": "x", "networks": [{"name": "a"}, {"name": "b"}]})).is_empty());
    // Validation also holds for definitions that skipped normalisation (e.g. stored ones).
    let mut raw: AppDefinition = serde_json::from_value(json!({"id": "/a", "cmd": "x",
        "networks": [{"mode": "container/bridge"}], "portDefinitions": [{"port": 0}]}))
    .unwrap();
    raw.role = Some("*".into());
    assert!(has(
        &validate_app(&raw),
        "/",
        "portDefinitions are only allowed with host-networking"
    ));
}

#[test]
fn checks_constraints_and_roles() {
    let v = violations(
        json!({"id": "/a", "cmd": "x", "constraints": [["hostname", "UNIQUE", "x"], ["rack", "MAX_PER"]],
        "role": "a b"}),
    );
    assert!(has(&v, "/constraints(0)", "UNIQUE does not accept a value"));
    assert!(has(&v, "/constraints(1)", "MAX_PER requires an integer value"));
    assert!(has(
        &v,
        "/role",
        "A role name must not include a space (\\x20) character."
    ));
    let mut raw: AppDefinition =
        serde_json::from_value(json!({"id": "/a", "cmd": "x", "acceptedResourceRoles": ["other"]})).unwrap();
    raw.role = Some("dev".into());
    assert!(has(
        &validate_app(&raw),
        "/acceptedResourceRoles",
        "acceptedResourceRoles can only contain * and dev"
    ));
    raw.accepted_resource_roles = Some(vec![]);
    assert!(has(&validate_app(&raw), "/acceptedResourceRoles", "must not be empty"));
}

#[test]
fn checks_health_checks() {
    let index = violations(json!({"id": "/a", "cmd": "x", "healthChecks": [{"portIndex": 1}]}));
    assert!(has(
        &index,
        "/healthChecks(0)",
        "Health check port indices must address an element of the ports array or container port mappings."
    ));
    let portless =
        violations(json!({"id": "/a", "cmd": "x", "portDefinitions": [], "healthChecks": [{"protocol": "TCP"}]}));
    assert!(portless.iter().any(|x| x.path == "/healthChecks(0)"));
    assert!(
        violations(
            json!({"id": "/a", "cmd": "x", "portDefinitions": [], "healthChecks": [{"protocol": "TCP", "port": 8080}]})
        )
        .is_empty()
    );
    let command = violations(json!({"id": "/a", "cmd": "x", "healthChecks": [{"protocol": "COMMAND"}]}));
    assert!(has(
        &command,
        "/healthChecks(0)",
        "HealthCheck is having parameters violation COMMAND protocol."
    ));
    let both =
        violations(json!({"id": "/a", "cmd": "x", "healthChecks": [{"protocol": "HTTP", "port": 80, "portIndex": 0}]}));
    assert!(has(
        &both,
        "/healthChecks(0)",
        "HealthCheck is having parameters violation HTTP protocol."
    ));
    let two = violations(
        json!({"id": "/a", "cmd": "x", "healthChecks": [{"protocol": "MESOS_HTTP"}, {"protocol": "MESOS_TCP"}]}),
    );
    assert!(has(
        &two,
        "/",
        "AppDefinition can contain at most one Mesos health check"
    ));
    let unknown = violations(json!({"id": "/a", "cmd": "x", "healthChecks": [{"protocol": "UDP"}]}));
    assert_eq!(unknown[0].path, "/healthChecks(0)/protocol");
    let commands = violations(json!({"id": "/a", "cmd": "x", "healthChecks": [
        {"protocol": "COMMAND", "command": {"value": "a"}}, {"protocol": "COMMAND", "command": {"value": "b"}}]}));
    assert!(commands.is_empty());
}

#[test]
fn checks_readiness_checks() {
    let v = violations(
        json!({"id": "/a", "cmd": "x", "portDefinitions": [{"port": 0, "name": "http"}],
        "readinessChecks": [{"portName": "web", "timeoutSeconds": 30, "intervalSeconds": 30}, {"portName": "http"}]}),
    );
    assert!(has(&v, "/readinessChecks", "got 2, expected 1 or less"));
    assert!(has(
        &v,
        "/readinessChecks(0)/portName",
        "No port definition reference for portName web"
    ));
    assert!(has(
        &v,
        "/readinessChecks(0)/timeoutSeconds",
        "got 30, expected less than 30"
    ));
    assert!(
        violations(
            json!({"id": "/a", "cmd": "x", "portDefinitions": [{"port": 0, "name": "http-api"}],
        "readinessChecks": [{}]})
        )
        .is_empty()
    );
}

#[test]
fn checks_env_secrets_fetch_and_labels() {
    let v = violations(
        json!({"id": "/a", "cmd": "x", "env": {"A": "1", "PW": {"secret": "nope"}},
        "secrets": {"s": {"source": ""}}, "fetch": [{"uri": ""}, {"uri": "d://\nnot-a-uri"}], "labels": {"": "x"}}),
    );
    assert!(has(&v, "/env/PW/secret", "references an undefined secret"));
    assert!(has(&v, "/secrets/s/source", "must not be empty"));
    assert!(has(&v, "/fetch(0)/uri", "must not be empty"));
    assert!(has(&v, "/fetch(1)", "URI has invalid syntax."));
    assert!(has(&v, "/labels", "label keys must not be empty"));
    assert!(
        violations(
            json!({"id": "/a", "cmd": "x", "env": {"PW": {"secret": "s"}}, "secrets": {"s": {"source": "/db"}}})
        )
        .is_empty()
    );
}

#[test]
fn checks_containers_and_volumes() {
    let v = violations(json!({"id": "/a", "cmd": "x", "container": {"type": "DOCKER"}}));
    assert!(has(&v, "/container/docker", "not defined"));
    let empty = violations(json!({"id": "/a", "container": {"type": "DOCKER", "docker": {"image": ""}}}));
    assert!(has(&empty, "/container/docker/image", "must not be empty"));
    let vols = violations(
        json!({"id": "/a", "cmd": "x", "container": {"type": "MESOS", "volumes": [
        {"containerPath": "a/b", "mode": "RO", "persistent": {"size": 0}}, {"containerPath": "/x", "hostPath": ""}]}}),
    );
    assert!(has(
        &vols,
        "/container/volumes(0)/containerPath",
        "value must not contain \"/\""
    ));
    assert!(has(&vols, "/container/volumes(0)/mode", "got RO, expected RW"));
    assert!(has(
        &vols,
        "/container/volumes(0)/persistent/size",
        "got 0, expected more than 0"
    ));
    assert!(has(&vols, "/container/volumes(1)/hostPath", "must not be empty"));
    let gpu = violations(json!({"id": "/a", "gpus": 1, "container": {"docker": {"image": "i"}}}));
    assert!(has(&gpu, "/", "GPU resources only work with the Mesos containerizer"));
}
