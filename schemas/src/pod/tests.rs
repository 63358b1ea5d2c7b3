use proptest::prelude::*;
use serde_json::{Value, json};

use super::*;
use crate::{NETWORK_BRIDGE, NETWORK_HOST, UnreachableDisabled, Violation};

fn parse(v: Value) -> PodDefinition {
    serde_json::from_value(v).expect("valid pod JSON")
}

fn norm(v: Value) -> PodDefinition {
    normalize_pod(parse(v), &PathId::root()).expect("normalises")
}

fn example() -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../shared/marathon-data/examples-pod.json"
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// True when every value given in `input` is in `output`: numbers compare by value (`1` is
/// `1.0`), and an empty object or list may be left out (Marathon omits empty ones).
fn carries(input: &Value, output: Option<&Value>) -> bool {
    match (input, output) {
        (Value::Object(m), None) if m.is_empty() => true,
        (Value::Array(a), None) if a.is_empty() => true,
        (Value::Object(i), Some(Value::Object(o))) => i.iter().all(|(k, v)| carries(v, o.get(k))),
        (Value::Array(i), Some(Value::Array(o))) => {
            i.len() == o.len() && i.iter().zip(o).all(|(a, b)| carries(a, Some(b)))
        }
        (Value::Number(a), Some(Value::Number(b))) => a.as_f64() == b.as_f64(),
        (a, Some(b)) => a == b,
        (_, None) => false,
    }
}

#[test]
fn marathons_example_round_trips() {
    let input = example();
    let pod = norm(input.clone());
    assert_eq!(validate_pod(&pod), vec![]);
    let output = serde_json::to_value(&pod).unwrap();
    assert!(carries(&input, Some(&output)), "lost content:\n{output:#}");
    assert!(!carries(&input, Some(&json!({"id": "/foo"}))));
    assert!(!carries(&json!({"a": [1]}), Some(&json!({"a": [2]}))));
    // Defaults Marathon adds on the way out.
    assert_eq!(output["role"], "*");
    assert_eq!(output["scheduling"]["killSelection"], "YOUNGEST_FIRST");
    let reread: PodDefinition = serde_json::from_value(output).unwrap();
    assert_eq!(reread, pod);
}

#[test]
fn fills_marathons_defaults() {
    let pod = norm(json!({"id": "/p", "containers": [{"name": "c"}]}));
    let c = &pod.containers[0];
    assert_eq!(
        c.resources,
        Resources {
            cpus: 1.0,
            mem: 128.0,
            disk: 0.0,
            gpus: 0
        }
    );
    assert_eq!(pod.scaling, PodScaling::default());
    assert_eq!((pod.scaling.kind.as_str(), pod.instances()), ("fixed", 1));
    assert_eq!(
        pod.scheduling.backoff,
        PodBackoff {
            backoff: 1.0,
            backoff_factor: 1.15,
            max_launch_delay: 3600.0
        }
    );
    assert_eq!(pod.scheduling.upgrade, UpgradeStrategy::default());
    assert_eq!(pod.scheduling.unreachable_strategy, UnreachableStrategy::default());
    assert_eq!(pod.scheduling.kill_selection, KillSelection::YoungestFirst);
    assert_eq!(
        pod.executor_resources,
        ExecutorResources {
            cpus: 0.1,
            mem: 32.0,
            disk: 10.0
        }
    );
    assert_eq!(pod.role.as_deref(), Some("*"));
    assert_eq!(pod.networks.len(), 1);
    assert_eq!(pod.networks[0].mode, NETWORK_HOST);
    assert!(pod.uses_host_networking());

    let hc: PodHealthCheck = serde_json::from_value(json!({"tcp": {"endpoint": "e"}})).unwrap();
    let got = (
        hc.grace_period_seconds,
        hc.interval_seconds,
        hc.max_consecutive_failures,
    );
    assert_eq!(got, (300, 60, 3));
    assert_eq!((hc.timeout_seconds, hc.delay_seconds), (20, 15));
    let http: HttpCheck = serde_json::from_value(json!({"endpoint": "e"})).unwrap();
    assert_eq!(http.scheme, "HTTP");
    let e: PodEndpoint = serde_json::from_value(json!({"name": "e"})).unwrap();
    assert_eq!(e.protocol, vec!["tcp"]);
    let image: Image = serde_json::from_value(json!({"id": "nginx"})).unwrap();
    assert_eq!((image.kind.as_str(), image.force_pull), ("DOCKER", false));
}

#[test]
fn resolves_ids_like_apps() {
    let base = PathId::parse("/prod").unwrap();
    let pod = normalize_pod(parse(json!({"id": "web", "containers": []})), &base).unwrap();
    assert_eq!(pod.id.as_str(), "/prod/web");
    let up = normalize_pod(parse(json!({"id": "../x", "containers": []})), &base).unwrap_err();
    assert_eq!(
        up,
        vec![Violation::new(
            "/id",
            "identifier /x is not child of /prod. Hint: use relative paths."
        )]
    );
    let above = normalize_pod(parse(json!({"id": "../../x", "containers": []})), &base).unwrap_err();
    assert_eq!(above[0].path, "/id");
}

#[test]
fn endpoints_get_dynamic_host_ports_off_container_networks() {
    let endpoint = json!({"name": "http", "containerPort": 80, "protocol": []});
    let host = norm(json!({"id": "/p", "containers": [{"name": "c", "endpoints": [{"name": "http"}]}]}));
    assert_eq!(host.host_port_requests(), vec![Some(0)]);
    let bridge = norm(json!({"id": "/p", "networks": [{"mode": NETWORK_BRIDGE}],
        "containers": [{"name": "c", "endpoints": [endpoint]}]}));
    assert_eq!(bridge.host_port_requests(), vec![Some(0)]);
    assert_eq!(bridge.containers[0].endpoints[0].protocol, vec!["tcp"]);
    let container = norm(json!({"id": "/p", "networks": [{"name": "n"}],
        "containers": [{"name": "c", "endpoints": [{"name": "http", "containerPort": 80}]}]}));
    assert_eq!(container.host_port_requests(), vec![None]);
    assert!(!container.uses_host_networking() && container.uses_container_networking());
}

#[test]
fn constraints_take_either_form_and_normalise_operators() {
    let pod = norm(
        json!({"id": "/p", "containers": [{"name": "c"}], "scheduling": {"placement": {
        "constraints": [["hostname", "unique"], {"fieldName": "hostname", "operator": "UNIQUE"},
                        {"fieldName": "rack", "operator": "group_by", "value": "2"}],
        "acceptedResourceRoles": ["*", "other", "*"]}}}),
    );
    let placement = &pod.scheduling.placement;
    let c = |f: &str, o: &str, v: Option<&str>| PodConstraint {
        field_name: f.into(),
        operator: o.into(),
        value: v.map(str::to_string),
    };
    assert_eq!(
        placement.constraints,
        vec![c("hostname", "UNIQUE", None), c("rack", "GROUP_BY", Some("2"))]
    );
    assert_eq!(placement.accepted_resource_roles, vec!["*"]);
    let out = serde_json::to_value(&placement.constraints[0]).unwrap();
    assert_eq!(out, json!({"fieldName": "hostname", "operator": "UNIQUE"}));
    let bad = serde_json::from_value::<PodConstraint>(json!(["hostname"]));
    assert!(bad.unwrap_err().to_string().contains("2 or 3 fields"));
}

#[test]
fn resident_pods_get_resident_defaults() {
    let pod = norm(
        json!({"id": "/p", "volumes": [{"name": "data", "persistent": {"size": 10}}],
        "containers": [{"name": "c", "volumeMounts": [{"name": "data", "mountPath": "data"}]}]}),
    );
    assert!(pod.is_resident());
    assert_eq!(pod.volumes[0].persistent.as_ref().unwrap().kind, "root");
    assert_eq!(
        pod.scheduling.upgrade,
        UpgradeStrategy {
            minimum_health_capacity: 0.5,
            maximum_over_capacity: 0.0
        }
    );
    assert_eq!(
        pod.scheduling.unreachable_strategy,
        UnreachableStrategy::Disabled(UnreachableDisabled::Disabled)
    );
    assert_eq!(validate_pod(&pod), vec![]);
}

#[test]
fn instance_resources_add_the_executor() {
    let pod = norm(json!({"id": "/p", "containers": [
        {"name": "a", "resources": {"cpus": 0.5, "mem": 64, "disk": 1, "gpus": 1}},
        {"name": "b", "resources": {"cpus": 0.25, "mem": 32}}]}));
    let r = pod.instance_resources();
    assert!((r.cpus - 0.85).abs() < 1e-9, "{r:?}");
    assert_eq!((r.mem, r.disk, r.gpus), (128.0, 11.0, 1));
}

#[test]
fn endpoint_env_names_and_values() {
    assert_eq!(endpoint_env_name("http-api"), "ENDPOINT_HTTP_API");
    assert_eq!(endpoint_env_name("web2"), "ENDPOINT_WEB2");
    let pod = norm(json!({"id": "/p", "networks": [{"name": "n"}], "containers": [
        {"name": "a", "endpoints": [{"name": "admin", "containerPort": 9000, "hostPort": 0}]},
        {"name": "b", "endpoints": [{"name": "web-ui", "containerPort": 8080}]}]}));
    let names: Vec<(&str, &str)> = pod
        .endpoints()
        .iter()
        .map(|e| (e.container, e.endpoint.name.as_str()))
        .collect();
    assert_eq!(names, vec![("a", "admin"), ("b", "web-ui")]);
    assert_eq!(pod.host_port_requests(), vec![Some(0), None]);
    let env = pod.endpoint_env(&[Some(31005), None]);
    assert_eq!(env["ENDPOINT_ADMIN"], "31005");
    assert_eq!(env["ENDPOINT_WEB_UI"], "8080");
}

#[test]
fn scaling_alone_is_not_a_config_change() {
    let old = norm(json!({"id": "/p", "containers": [{"name": "c"}]}));
    let mut scaled = old.clone();
    scaled.scaling.instances = 5;
    scaled.scaling.max_instances = Some(10);
    scaled.version = Some(Timestamp::from_millis(1));
    assert!(!old.config_changed(&scaled) && old.is_scale_only(&scaled));
    let mut changed = scaled.clone();
    changed.containers[0].resources.mem = 256.0;
    assert!(old.config_changed(&changed) && !old.is_scale_only(&changed));
    let mut relabelled = old.clone();
    relabelled.labels.insert("a".into(), "b".into());
    assert!(old.config_changed(&relabelled));
    // A pod as written equals its stored, normalised form.
    let written = parse(json!({"id": "/p", "containers": [{"name": "c"}]}));
    assert!(written.same_spec(&old) && !written.config_changed(&old) && !written.is_scale_only(&old));
}

#[test]
fn schema_names_the_main_properties() {
    let schema = crate::pod_json_schema();
    let text = schema.to_string();
    for prop in [
        "containers",
        "scaling",
        "scheduling",
        "executorResources",
        "networks",
        "volumes",
    ] {
        assert!(schema["properties"].get(prop).is_some(), "{prop} missing");
    }
    for prop in [
        "healthCheck",
        "volumeMounts",
        "endpoints",
        "fieldName",
        "maxLaunchDelay",
    ] {
        assert!(text.contains(prop), "{prop} missing");
    }
    let validator = jsonschema::validator_for(&schema).unwrap();
    assert!(validator.is_valid(&example()));
}

fn endpoint_strategy() -> impl Strategy<Value = Value> {
    (prop::option::of(1u32..3), prop::option::of(0u32..2)).prop_map(|(cp, hp)| {
        let mut e = json!({"name": "e", "protocol": []});
        if let Some(cp) = cp {
            e["containerPort"] = json!(cp * 80);
        }
        if let Some(hp) = hp {
            e["hostPort"] = json!(hp * 31000);
        }
        e
    })
}

fn pod_strategy() -> impl Strategy<Value = Value> {
    let networks = prop_oneof![
        Just(json!([])),
        Just(json!([{"mode": "host"}])),
        Just(json!([{"mode": "container/bridge"}])),
        Just(json!([{"name": "a"}, {"name": "b"}])),
    ];
    let operator = prop::sample::select(vec!["unique", "UNIQUE", "Cluster", "near"]);
    let roles = prop::sample::select(vec![json!([]), json!(["*"]), json!(["x", "*", "*"]), json!(["x"])]);
    (
        networks,
        endpoint_strategy(),
        operator,
        roles,
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(networks, endpoint, op, roles, resident, role)| {
            let mut pod = json!({"id": "p", "networks": networks,
                "containers": [{"name": "c", "endpoints": [endpoint],
                    "volumeMounts": [{"name": "v", "mountPath": "v"}]}],
                "volumes": [{"name": "v"}],
                "scheduling": {"placement": {"constraints": [["hostname", op], ["hostname", op]],
                    "acceptedResourceRoles": roles}}});
            if resident {
                pod["volumes"][0]["persistent"] = json!({"size": 1});
            }
            if role {
                pod["role"] = json!("x");
            }
            pod
        })
}

proptest! {
    #[test]
    fn normalisation_is_idempotent(v in pod_strategy()) {
        let once = norm(v);
        let twice = normalize_pod(once.clone(), &PathId::root()).unwrap();
        prop_assert_eq!(&once, &twice);
        let reread: PodDefinition = serde_json::from_value(serde_json::to_value(&once).unwrap()).unwrap();
        prop_assert_eq!(once, reread);
    }
}
