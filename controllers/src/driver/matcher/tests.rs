use super::*;

fn app(json: &str) -> AppDefinition {
    serde_json::from_str(json).unwrap()
}

fn pool(role: &str, cpus: f64, mem: f64, ports: Vec<(u64, u64)>) -> Pool {
    Pool {
        role: role.into(),
        cpus,
        mem,
        disk: 100.0,
        ports,
        ..Default::default()
    }
}

fn res(cpus: f64, mem: f64, ports: Vec<(u64, u64)>) -> OfferResources {
    OfferResources {
        pools: vec![pool("*", cpus, mem, ports)],
    }
}

#[test]
fn takes_scalars_and_lowest_ports() {
    let mut r = res(1.0, 256.0, vec![(31000, 31002)]);
    let a = app(r#"{"id":"/a","cmd":"x","cpus":0.5,"mem":128,"portDefinitions":[{"port":0},{"port":0}]}"#);
    let taken = r.take(&a).unwrap();
    assert_eq!(taken.ports, vec![31000, 31001]);
    let names: Vec<&str> = taken.resources.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, ["cpus", "mem", "ports"]);
    assert!(taken.resources.iter().all(|r| r.role.as_deref() == Some("*")));
    assert_eq!(r.pools[0].ports, vec![(31002, 31002)]);
    assert_eq!(r.take(&a), Err(RejectReason::InsufficientPorts));
    assert!(
        (r.pools[0].cpus - 0.5).abs() < 1e-9,
        "a failed take leaves resources alone"
    );
}

#[test]
fn reports_the_first_missing_resource() {
    let a = app(r#"{"id":"/a","cmd":"x","cpus":2,"mem":64,"portDefinitions":[]}"#);
    assert_eq!(res(1.0, 512.0, vec![]).take(&a), Err(RejectReason::InsufficientCpus));
    let b = app(r#"{"id":"/a","cmd":"x","cpus":0.1,"mem":1024,"portDefinitions":[]}"#);
    assert_eq!(res(1.0, 512.0, vec![]).take(&b), Err(RejectReason::InsufficientMemory));
}

#[test]
fn classifies_every_missing_resource_in_funnel_order() {
    use RejectReason::*;
    let a = app(r#"{"id":"/a","cmd":"x","cpus":2,"mem":1024,"disk":500,"gpus":1,"portDefinitions":[{"port":0}]}"#);
    assert_eq!(
        res(1.0, 512.0, vec![]).reject_reasons(&a),
        vec![
            InsufficientCpus,
            InsufficientMemory,
            InsufficientDisk,
            InsufficientGpus,
            InsufficientPorts
        ]
    );
    let fits = app(r#"{"id":"/a","cmd":"x","cpus":0.5,"mem":64,"portDefinitions":[{"port":0}]}"#);
    assert!(res(1.0, 512.0, vec![(31000, 31000)]).reject_reasons(&fits).is_empty());
    let mem_only = app(r#"{"id":"/a","cmd":"x","cpus":0.5,"mem":4096,"portDefinitions":[]}"#);
    assert_eq!(
        res(1.0, 512.0, vec![]).reject_reasons(&mem_only),
        vec![InsufficientMemory]
    );
}

#[test]
fn required_ports_must_be_free() {
    let mut r = res(4.0, 4096.0, vec![(31000, 31010)]);
    let a = app(
        r#"{"id":"/a","cmd":"x","cpus":0.1,"mem":1,"requirePorts":true,"portDefinitions":[{"port":0},{"port":31005}]}"#,
    );
    assert_eq!(r.take(&a).unwrap().ports, vec![31000, 31005]);
    assert_eq!(r.pools[0].ports, vec![(31001, 31004), (31006, 31010)]);
    assert_eq!(r.take(&a), Err(RejectReason::InsufficientPorts));
    // Without requirePorts a non-zero port is a service port: the host port is any free one.
    let b = app(r#"{"id":"/b","cmd":"x","cpus":0.1,"mem":1,"portDefinitions":[{"port":31005}]}"#);
    assert_eq!(r.take(&b).unwrap().ports, vec![31001]);
}

#[test]
fn a_dynamic_port_never_takes_a_fixed_one() {
    let mut r = res(4.0, 4096.0, vec![(31000, 31001)]);
    let a = app(
        r#"{"id":"/a","cmd":"x","cpus":0.1,"mem":1,"requirePorts":true,"portDefinitions":[{"port":0},{"port":31000}]}"#,
    );
    assert_eq!(r.take(&a).unwrap().ports, vec![31001, 31000]);
}

#[test]
fn container_port_mappings_ask_for_their_host_ports() {
    let a = app(
        r#"{"id":"/a","cmd":"x","cpus":0.1,"mem":1,"networks":[{"mode":"container/bridge"}],
        "container":{"type":"MESOS","portMappings":[
            {"containerPort":80,"hostPort":0,"name":"http"},
            {"containerPort":81,"hostPort":31007},
            {"containerPort":82}]}}"#,
    );
    assert_eq!(
        host_port_requests(&a),
        vec![PortRequest::Dynamic, PortRequest::Fixed(31007)]
    );
    let mut r = res(4.0, 4096.0, vec![(31000, 31010)]);
    assert_eq!(r.take(&a).unwrap().ports, vec![31000, 31007]);
}

#[test]
fn many_small_shares_fit_exactly() {
    let mut r = res(1.0, 1000.0, vec![]);
    let a = app(r#"{"id":"/a","cmd":"x","cpus":0.1,"mem":100,"portDefinitions":[]}"#);
    for _ in 0..10 {
        r.take(&a).unwrap();
    }
    assert!(r.take(&a).is_err());
}

#[test]
fn accepted_roles_default_to_star_and_the_apps_role() {
    assert_eq!(accepted_roles(&app(r#"{"id":"/a","cmd":"x"}"#)), ["*"]);
    assert_eq!(
        accepted_roles(&app(r#"{"id":"/a","cmd":"x","role":"web"}"#)),
        ["*", "web"]
    );
    assert_eq!(
        accepted_roles(&app(
            r#"{"id":"/a","cmd":"x","role":"web","acceptedResourceRoles":["web"]}"#
        )),
        ["web"]
    );
}

#[test]
fn only_accepted_roles_are_used_and_reserved_ones_first() {
    let mut r = OfferResources {
        pools: vec![
            pool("web", 0.5, 100.0, vec![(31000, 31000)]),
            pool("*", 4.0, 1000.0, vec![(32000, 32010)]),
        ],
    };
    let star = app(r#"{"id":"/a","cmd":"x","cpus":1,"mem":10,"portDefinitions":[]}"#);
    let taken = r.take(&star).unwrap();
    assert!(taken.resources.iter().all(|r| r.role.as_deref() == Some("*")));
    assert_eq!(r.pools[0].cpus, 0.5, "the reserved pool is left alone");

    // An app of role web takes the reserved cpus first and the rest unreserved.
    let web = app(r#"{"id":"/w","cmd":"x","role":"web","cpus":1,"mem":10,"portDefinitions":[{"port":0}]}"#);
    let taken = r.take(&web).unwrap();
    let cpus: Vec<(String, f64)> = taken
        .resources
        .iter()
        .filter(|r| r.name == "cpus")
        .map(|r| (r.role.clone().unwrap(), r.scalar.unwrap().value))
        .collect();
    assert_eq!(cpus, vec![("web".to_owned(), 0.5), ("*".to_owned(), 0.5)]);
    assert_eq!(taken.ports, vec![31000]);

    let only_web = app(r#"{"id":"/w","cmd":"x","role":"web","acceptedResourceRoles":["web"],"cpus":1,"mem":10}"#);
    let reserved_only = OfferResources {
        pools: vec![pool("*", 4.0, 1000.0, vec![])],
    };
    assert_eq!(
        reserved_only.reject_reasons(&only_web),
        vec![
            RejectReason::UnfulfilledRole,
            RejectReason::InsufficientCpus,
            RejectReason::InsufficientMemory
        ]
    );
}

#[test]
fn offers_group_resources_by_role_and_skip_dynamic_reservations() {
    let scalar = |name: &str, v: f64, role: &str| Resource {
        name: name.into(),
        r#type: value::Type::Scalar as i32,
        scalar: Some(value::Scalar { value: v }),
        role: Some(role.into()),
        ..Default::default()
    };
    let mut dynamic = scalar("cpus", 8.0, "web");
    dynamic.reservations = vec![ReservationInfo {
        role: Some("web".into()),
        r#type: Some(Reservation::Dynamic as i32),
        ..Default::default()
    }];
    let offer = Offer {
        resources: vec![
            scalar("cpus", 1.0, "*"),
            scalar("cpus", 2.0, "web"),
            scalar("mem", 64.0, "web"),
            dynamic,
        ],
        ..Default::default()
    };
    let r = OfferResources::from_offer(&offer);
    let roles: Vec<(&str, f64, f64)> = r.pools.iter().map(|p| (p.role.as_str(), p.cpus, p.mem)).collect();
    assert_eq!(roles, vec![("web", 2.0, 64.0), ("*", 1.0, 0.0)]);
}
