//! Rules about volumes, environments, secrets, images and scheduling.

use serde_json::{Value, json};

use super::{has, pod, rule, violations};

fn mounting(volume: Value) -> Value {
    pod(json!({"volumes": [volume],
        "containers": [{"name": "c", "volumeMounts": [{"name": "v", "mountPath": "/v"}]}]}))
}

#[test]
fn volume_mounts_name_declared_volumes() {
    let mount = |name: &str| {
        pod(json!({"volumes": [{"name": "v"}],
            "containers": [{"name": "c", "volumeMounts": [{"name": name, "mountPath": "/v"}]}]}))
    };
    let v = violations(mount("w"));
    assert!(
        has(
            &v,
            "/containers(0)/volumeMounts(0)/name",
            "Referenced Volume in VolumeMount should exist"
        ),
        "{v:?}"
    );
    assert!(has(
        &v,
        "/volumes(0)",
        "volume must be referenced by at least one container"
    ));
    assert_eq!(violations(mount("v")), vec![]);
    rule(
        pod(json!({"volumes": [{"name": "v"}],
            "containers": [{"name": "c", "volumeMounts": [{"name": "v", "mountPath": ""}]}]})),
        mount("v"),
        "/containers(0)/volumeMounts(0)/mountPath",
        "must be between 1 and 1024 characters",
    );
}

#[test]
fn checks_volumes() {
    rule(
        pod(json!({"volumes": [{"name": "v"}, {"name": "v"}],
            "containers": [{"name": "c", "volumeMounts": [{"name": "v", "mountPath": "/v"}]}]})),
        mounting(json!({"name": "v"})),
        "/volumes",
        "volume names are unique",
    );
    rule(
        mounting(json!({"name": "v", "host": ""})),
        mounting(json!({"name": "v", "host": "/var/data"})),
        "/volumes(0)/host",
        "must not be empty",
    );
    rule(
        mounting(json!({"name": "v", "host": "/x", "secret": "s"})),
        pod(
            json!({"secrets": {"s": {"source": "/db/pw"}}, "volumes": [{"name": "v", "secret": "s"}],
            "containers": [{"name": "c", "volumeMounts": [{"name": "v", "mountPath": "/v"}]}]}),
        ),
        "/volumes(0)",
        "a volume is either ephemeral, host, persistent or secret",
    );
    rule(
        mounting(json!({"name": "v", "secret": "missing"})),
        mounting(json!({"name": "v"})),
        "/volumes(0)/secret",
        "volume.secret must refer to an existing secret",
    );
    rule(
        mounting(json!({"name": "v", "persistent": {"size": 0}})),
        mounting(json!({"name": "v", "persistent": {"size": 5}})),
        "/volumes(0)/persistent/size",
        "got 0, expected more than 0",
    );
    rule(
        mounting(json!({"name": "v", "persistent": {"size": 5, "maxSize": 10}})),
        mounting(json!({"name": "v", "persistent": {"type": "mount", "size": 5, "maxSize": 10}})),
        "/volumes(0)/persistent",
        "Only mount volumes can have maxSize",
    );
    rule(
        mounting(json!({"name": "v", "persistent": {"type": "disk", "size": 5}})),
        mounting(json!({"name": "v", "persistent": {"type": "path", "size": 5}})),
        "/volumes(0)/persistent/type",
        "is not one of (root,path,mount)",
    );
}

#[test]
fn checks_environment_names_and_secrets() {
    let msg = "must contain only alphanumeric chars or underscore, and must not begin with a number";
    rule(
        pod(json!({"environment": {"1BAD": "x"}})),
        pod(json!({"environment": {"_GOOD_1": "x"}})),
        "/environment/1BAD",
        msg,
    );
    rule(
        pod(json!({"containers": [{"name": "c", "environment": {"A-B": "x"}}]})),
        pod(json!({"containers": [{"name": "c", "environment": {"A_B": "x"}}]})),
        "/containers(0)/environment/A-B",
        msg,
    );
    let long = "A".repeat(255);
    let v = violations(pod(json!({"environment": {long.clone(): "x"}})));
    assert!(has(
        &v,
        &format!("/environment/{long}"),
        "variable name must be 254 chars or less"
    ));
    assert_eq!(violations(pod(json!({"environment": {"A".repeat(254): "x"}}))), vec![]);
    rule(
        pod(json!({"environment": {"PW": {"secret": "pw"}}})),
        pod(json!({"environment": {"PW": {"secret": "pw"}}, "secrets": {"pw": {"source": "/db/pw"}}})),
        "/environment/PW/secret",
        "references an undefined secret",
    );
    rule(
        pod(json!({"secrets": {"pw": {"source": ""}}})),
        pod(json!({"secrets": {"pw": {"source": "/db/pw"}}})),
        "/secrets/pw/source",
        "must not be empty",
    );
    rule(
        pod(json!({"user": ""})),
        pod(json!({"user": "nobody"})),
        "/user",
        "must not be empty",
    );
}

#[test]
fn checks_images_artifacts_and_lifecycle() {
    let with = |c: Value| {
        let mut c = c;
        c["name"] = json!("c");
        pod(json!({"containers": [c], "secrets": {"reg": {"source": "/registry"}}}))
    };
    rule(
        with(json!({"image": {"id": ""}})),
        with(json!({"image": {"id": "nginx"}})),
        "/containers(0)/image/id",
        "must be between 1 and 1024 characters",
    );
    rule(
        with(json!({"image": {"id": "nginx", "kind": "OCI"}})),
        with(json!({"image": {"id": "nginx", "kind": "APPC"}})),
        "/containers(0)/image/kind",
        "is not one of (DOCKER,APPC)",
    );
    rule(
        with(json!({"image": {"id": "nginx", "pullConfig": {"secret": "nope"}}})),
        with(json!({"image": {"id": "nginx", "pullConfig": {"secret": "reg"}}})),
        "/containers(0)/image/pullConfig",
        "pullConfig.secret must refer to an existing secret",
    );
    rule(
        with(json!({"artifacts": [{"uri": ""}]})),
        with(json!({"artifacts": [{"uri": "http://h/a.tgz"}]})),
        "/containers(0)/artifacts(0)/uri",
        "must be between 1 and 1024 characters",
    );
    rule(
        with(json!({"lifecycle": {"killGracePeriodSeconds": 0}})),
        with(json!({"lifecycle": {"killGracePeriodSeconds": 0.5}})),
        "/containers(0)/lifecycle/killGracePeriodSeconds",
        "got 0.0, expected more than 0.0",
    );
    let limited = |shared: bool| {
        let mut p = with(json!({"resourceLimits": {"cpus": 2}}));
        p["legacySharedCgroups"] = json!(shared);
        p
    };
    rule(
        limited(true),
        limited(false),
        "/containers(0)/resourceLimits",
        "resourceLimits cannot be defined if legacySharedCgroups is enabled",
    );
    rule(
        with(json!({"exec": {"command": {"argv": []}}})),
        with(json!({"exec": {"command": {"argv": ["sleep", "1"]}}})),
        "/containers(0)/exec/command",
        "must not be empty",
    );
}

#[test]
fn checks_scheduling() {
    let scheduling = |s: Value| pod(json!({"scheduling": s}));
    rule(
        scheduling(json!({"backoff": {"backoff": -1}})),
        scheduling(json!({"backoff": {"backoff": 0}})),
        "/scheduling/backoff/backoff",
        "got -1.0, expected 0.0 or more",
    );
    rule(
        scheduling(json!({"upgrade": {"minimumHealthCapacity": 1.5}})),
        scheduling(json!({"upgrade": {"minimumHealthCapacity": 0.5}})),
        "/scheduling/upgrade/minimumHealthCapacity",
        "got 1.5, expected between 0.0 and 1.0",
    );
    rule(
        scheduling(json!({"unreachableStrategy": {"inactiveAfterSeconds": 10, "expungeAfterSeconds": 5}})),
        scheduling(json!({"unreachableStrategy": "disabled"})),
        "/scheduling/unreachableStrategy/inactiveAfterSeconds",
        "got 10, expected 5 or less (expungeAfterSeconds)",
    );
    rule(
        scheduling(json!({"placement": {"constraints": [{"fieldName": "rack", "operator": "MAX_PER"}]}})),
        scheduling(json!({"placement": {"constraints": [{"fieldName": "rack", "operator": "MAX_PER", "value": "2"}]}})),
        "/scheduling/placement/constraints(0)",
        "MAX_PER requires an integer value",
    );
    rule(
        scheduling(json!({"placement": {"constraints": [["hostname", "NEAR"]]}})),
        scheduling(json!({"placement": {"constraints": [["hostname", "unique"]]}})),
        "/scheduling/placement/constraints(0)",
        "operator must be one of the following UNIQUE, CLUSTER, GROUP_BY, LIKE, MAX_PER, UNLIKE or IS",
    );
    rule(
        pod(json!({"role": "a b"})),
        pod(json!({"role": "ops"})),
        "/role",
        "A role name must not include a space (\\x20) character.",
    );
}

#[test]
fn resident_pods_keep_resident_rules() {
    let resident = |scheduling: Value| {
        let mut p = mounting(json!({"name": "v", "persistent": {"size": 1}}));
        p["scheduling"] = scheduling;
        p
    };
    rule(
        resident(json!({"upgrade": {"minimumHealthCapacity": 0.5, "maximumOverCapacity": 0.5}})),
        resident(json!({"upgrade": {"minimumHealthCapacity": 0.5, "maximumOverCapacity": 0}})),
        "/scheduling/upgrade/maximumOverCapacity",
        "got 0.5, expected 0.0",
    );
    rule(
        resident(json!({"unreachableStrategy": {"inactiveAfterSeconds": 1, "expungeAfterSeconds": 2}})),
        resident(json!({"unreachableStrategy": "disabled"})),
        "/",
        "unreachableStrategy must be disabled for pods with persistent volumes",
    );
    // Normalisation drops foreign roles, so this rule only guards definitions built in code.
    let mut p: crate::PodDefinition = serde_json::from_value(resident(json!({}))).unwrap();
    p.scheduling.placement.accepted_resource_roles = vec!["ops".into()];
    let v = crate::validate_pod(&p);
    assert!(has(
        &v,
        "/scheduling/placement/acceptedResourceRoles",
        "A resident pod must have `acceptedResourceRoles = [\"*\"]`."
    ));
    assert!(has(
        &v,
        "/scheduling/placement/acceptedResourceRoles",
        "acceptedResourceRoles can only contain * and *"
    ));
}
