use proptest::prelude::*;

use super::*;

fn c(field: &str, op: &str, value: Option<&str>) -> Constraint {
    Constraint::new(field, op, value).unwrap()
}

fn rack(host: &str, rack: &str) -> AgentFacts {
    AgentFacts::new(host).with_attribute("rack", &AttributeValue::Text(rack.into()))
}

#[test]
fn attributes_compare_as_marathon_writes_them() {
    assert_eq!(AttributeValue::Scalar(2.0).marathon_string(), "2");
    assert_eq!(AttributeValue::Scalar(1.5).marathon_string(), "1.5");
    assert_eq!(AttributeValue::Scalar(1.0005).marathon_string(), "1");
    assert_eq!(AttributeValue::Scalar(1.00051).marathon_string(), "1.001");
    assert_eq!(
        AttributeValue::Scalar(0.0625).marathon_string(),
        "0.062",
        "half-even on a tie"
    );
    assert_eq!(AttributeValue::Scalar(1234567.0).marathon_string(), "1234567");
    assert_eq!(
        AttributeValue::Ranges(vec![(20, 30), (1, 5)]).marathon_string(),
        "[1-5,20-30]"
    );
    assert_eq!(
        AttributeValue::Set(vec!["b".into(), "a".into()]).marathon_string(),
        "{a,b}"
    );
}

#[test]
fn attributes_parse_by_their_form() {
    assert_eq!(AttributeValue::parse("r1"), Ok(AttributeValue::Text("r1".into())));
    assert_eq!(AttributeValue::parse("3"), Ok(AttributeValue::Scalar(3.0)));
    assert_eq!(AttributeValue::parse("2.50"), Ok(AttributeValue::Scalar(2.5)));
    assert_eq!(AttributeValue::parse("1.2.3"), Ok(AttributeValue::Text("1.2.3".into())));
    assert_eq!(
        AttributeValue::parse("[1-5, 10-20]"),
        Ok(AttributeValue::Ranges(vec![(1, 5), (10, 20)]))
    );
    assert_eq!(
        AttributeValue::parse("{ssd,nvme}"),
        Ok(AttributeValue::Set(vec!["ssd".into(), "nvme".into()]))
    );
    assert!(AttributeValue::parse("[5-1]").is_err());
    assert!(AttributeValue::parse("[a-b]").is_err());
}

#[test]
fn fields_read_hostname_domain_and_attributes() {
    let mut a = rack("h1", "r1");
    a.zone = Some("z1".into());
    assert_eq!(a.field("hostname"), Some("h1"));
    assert_eq!(a.field("@hostname"), Some("h1"));
    assert_eq!(a.field("@zone"), Some("z1"));
    assert_eq!(a.field("@region"), None);
    assert_eq!(a.field("rack"), Some("r1"));
    assert_eq!(a.field("disk"), None);
}

#[test]
fn unique_refuses_a_value_already_used() {
    let (a, b) = (rack("a", "r1"), rack("b", "r1"));
    let host = c("hostname", "UNIQUE", None);
    assert!(meets_constraint(&[], &a, &host));
    assert!(!meets_constraint(&[&a], &a, &host));
    assert!(meets_constraint(&[&a], &b, &host));
    assert!(!meets_constraint(&[&a], &b, &c("rack", "UNIQUE", None)));
}

#[test]
fn cluster_pins_to_the_value_or_the_first_placement() {
    let (a, b) = (rack("a", "r1"), rack("b", "r2"));
    let pinned = c("rack", "CLUSTER", Some("r2"));
    assert!(!meets_constraint(&[], &a, &pinned));
    assert!(meets_constraint(&[], &b, &pinned));
    let first = c("rack", "CLUSTER", None);
    assert!(meets_constraint(&[], &a, &first));
    assert!(meets_constraint(&[&a], &a, &first));
    assert!(!meets_constraint(&[&a], &b, &first));
}

#[test]
fn group_by_fills_new_values_then_the_least_used() {
    let (a, b, x) = (rack("a", "r1"), rack("b", "r2"), rack("x", "r3"));
    let three = c("rack", "GROUP_BY", Some("3"));
    // Fewer than three racks in use: only a new rack is welcome.
    assert!(!meets_constraint(&[&a], &a, &three));
    assert!(meets_constraint(&[&a], &b, &three));
    assert!(!meets_constraint(&[&a, &b], &b, &three));
    // All three in use: the least used ones.
    assert!(meets_constraint(&[&a, &b, &x], &a, &three));
    assert!(!meets_constraint(&[&a, &b, &x, &a], &a, &three));
    assert!(meets_constraint(&[&a, &b, &x, &a], &b, &three));
    // Without a count, a used rack is fine as long as it is among the least used.
    let any = c("rack", "GROUP_BY", None);
    assert!(meets_constraint(&[&a], &a, &any));
    assert!(!meets_constraint(&[&a, &a, &b], &a, &any));
}

#[test]
fn max_per_caps_each_value() {
    let (a, b) = (rack("a", "r1"), rack("b", "r1"));
    let two = c("rack", "MAX_PER", Some("2"));
    assert!(meets_constraint(&[&a], &b, &two));
    assert!(!meets_constraint(&[&a, &b], &b, &two));
    assert!(meets_constraint(&[&a, &b], &rack("c", "r2"), &two));
}

#[test]
fn like_and_unlike_match_the_whole_value() {
    let a = rack("srv2.example.com", "r1");
    assert!(meets_constraint(&[], &a, &c("hostname", "LIKE", Some("srv2.*"))));
    assert!(!meets_constraint(&[], &a, &c("hostname", "LIKE", Some("srv2"))));
    assert!(meets_constraint(&[], &a, &c("hostname", "UNLIKE", Some("srv2"))));
    assert!(!meets_constraint(&[], &a, &c("rack", "UNLIKE", Some("r[0-9]"))));
}

#[test]
fn a_missing_field_meets_only_unlike() {
    let a = AgentFacts::new("a");
    for (op, v) in [
        ("UNIQUE", None),
        ("CLUSTER", None),
        ("GROUP_BY", None),
        ("MAX_PER", Some("5")),
        ("LIKE", Some(".*")),
        ("IS", Some("x")),
    ] {
        assert!(!meets_constraint(&[], &a, &c("rack", op, v)), "{op}");
    }
    assert!(meets_constraint(&[], &a, &c("rack", "UNLIKE", Some("r1"))));
}

#[test]
fn is_compares_numbers_as_marathon_formats_them() {
    let a = AgentFacts::new("a").with_attribute("gen", &AttributeValue::Scalar(3.0));
    assert!(meets_constraint(&[], &a, &c("gen", "IS", Some("3"))));
    assert!(meets_constraint(&[], &a, &c("gen", "IS", Some("3.000"))));
    assert!(!meets_constraint(&[], &a, &c("gen", "IS", Some("4"))));
    assert!(meets_constraint(&[], &rack("a", "r1"), &c("rack", "IS", Some("r1"))));
}

#[test]
fn unmet_lists_every_failing_constraint() {
    let a = rack("a", "r1");
    let cs = parse_app_constraints(&[
        vec!["hostname".into(), "UNIQUE".into()],
        vec!["rack".into(), "IS".into(), "r2".into()],
        vec!["rack".into(), "LIKE".into(), "r.*".into()],
    ]);
    let unmet = unmet_constraints(&[&a], &a, &cs);
    assert_eq!(unmet.len(), 2);
    assert_eq!(unmet[0].operator, ConstraintOperator::Unique);
    assert_eq!(unmet[1].operator, ConstraintOperator::Is);
}

// ---- Property tests against a reference model ----

const VALUES: [&str; 3] = ["r1", "r2", "r3"];

/// Patterns with what they match among `VALUES`, written out by hand.
const PATTERNS: [(&str, &[&str]); 4] = [("r1", &["r1"]), ("r[12]", &["r1", "r2"]), (".*", &VALUES), ("x", &[])];

/// The rules of Marathon's Constraints.scala restated over plain lists: how many placed
/// instances have each value.
fn model(placed: &[Option<&str>], offered: Option<&str>, op: &str, value: Option<&str>) -> bool {
    let Some(offered) = offered else {
        return op == "UNLIKE";
    };
    let count = |v: Option<&str>| placed.iter().filter(|p| **p == v).count();
    let matches = |p: &str| PATTERNS.iter().find(|(q, _)| *q == p).unwrap().1.contains(&offered);
    match op {
        "UNIQUE" => count(Some(offered)) == 0,
        "CLUSTER" => match value {
            Some(v) => offered == v,
            None => placed.is_empty() || placed[0] == Some(offered),
        },
        "GROUP_BY" => {
            let n: usize = value.map_or(0, |v| v.parse().unwrap());
            let mut used: Vec<Option<&str>> = placed.to_vec();
            used.sort();
            used.dedup();
            count(Some(offered)) == 0 || (used.len() >= n && used.iter().all(|u| count(Some(offered)) <= count(*u)))
        }
        "MAX_PER" => count(Some(offered)) < value.unwrap().parse::<usize>().unwrap(),
        "LIKE" => matches(value.unwrap()),
        "UNLIKE" => !matches(value.unwrap()),
        "IS" => offered == value.unwrap(),
        _ => unreachable!("{op}"),
    }
}

fn facts(v: Option<&str>) -> AgentFacts {
    let mut f = AgentFacts::new("h");
    if let Some(v) = v {
        f.attributes.insert("rack".into(), v.into());
    }
    f
}

fn value_strategy() -> impl Strategy<Value = Option<&'static str>> {
    prop_oneof![4 => proptest::sample::select(&VALUES[..]).prop_map(Some), 1 => Just(None)]
}

fn constraint_strategy() -> impl Strategy<Value = (&'static str, Option<String>)> {
    let pattern = proptest::sample::select(PATTERNS.iter().map(|p| p.0).collect::<Vec<_>>());
    prop_oneof![
        Just(("UNIQUE", None)),
        Just(("CLUSTER", None)),
        proptest::sample::select(&VALUES[..]).prop_map(|v| ("CLUSTER", Some(v.to_owned()))),
        Just(("GROUP_BY", None)),
        (0..5u32).prop_map(|n| ("GROUP_BY", Some(n.to_string()))),
        (0..5u32).prop_map(|n| ("MAX_PER", Some(n.to_string()))),
        pattern.clone().prop_map(|p| ("LIKE", Some(p.to_owned()))),
        pattern.prop_map(|p| ("UNLIKE", Some(p.to_owned()))),
        proptest::sample::select(&VALUES[..]).prop_map(|v| ("IS", Some(v.to_owned()))),
    ]
}

proptest! {
    #[test]
    fn agrees_with_the_reference_model(
        placed in proptest::collection::vec(value_strategy(), 0..8),
        offered in value_strategy(),
        (op, value) in constraint_strategy(),
    ) {
        let constraint = c("rack", op, value.as_deref());
        let placed_facts: Vec<AgentFacts> = placed.iter().map(|v| facts(*v)).collect();
        let refs: Vec<&AgentFacts> = placed_facts.iter().collect();
        prop_assert_eq!(
            meets_constraint(&refs, &facts(offered), &constraint),
            model(&placed, offered, op, value.as_deref())
        );
    }

    /// Instances placed one by one on the first agent (in a random order) that meets every
    /// constraint end up spread as each operator promises.
    #[test]
    fn placing_one_by_one_keeps_each_promise(
        racks in proptest::collection::vec(proptest::sample::select(&VALUES[..]), 1..6),
        orders in proptest::collection::vec(any::<u64>(), 12),
        cap in 1..4u32,
    ) {
        let agents: Vec<AgentFacts> = racks
            .iter()
            .enumerate()
            .map(|(i, r)| rack(&format!("agent-{i}"), r))
            .collect();
        let mut distinct: Vec<&str> = racks.clone();
        distinct.sort();
        distinct.dedup();
        let cases = [
            vec![c("hostname", "UNIQUE", None)],
            vec![c("rack", "MAX_PER", Some(&cap.to_string()))],
            vec![c("rack", "CLUSTER", None)],
            vec![c("rack", "GROUP_BY", Some(&distinct.len().to_string()))],
        ];
        for constraints in cases {
            let mut placed: Vec<&AgentFacts> = Vec::new();
            for seed in &orders {
                let mut order: Vec<usize> = (0..agents.len()).collect();
                order.rotate_left((*seed as usize) % agents.len());
                if seed % 2 == 0 {
                    order.reverse();
                }
                if let Some(i) = order.into_iter().find(|&i| unmet_constraints(&placed, &agents[i], &constraints).is_empty()) {
                    placed.push(&agents[i]);
                }
            }
            let per = |field: &str| {
                let mut m: BTreeMap<&str, usize> = BTreeMap::new();
                for p in &placed {
                    *m.entry(p.field(field).unwrap()).or_default() += 1;
                }
                m
            };
            match constraints[0].operator {
                ConstraintOperator::Unique => {
                    prop_assert_eq!(placed.len(), agents.len());
                    prop_assert!(per("hostname").values().all(|n| *n == 1));
                }
                ConstraintOperator::MaxPer => {
                    prop_assert_eq!(placed.len(), (distinct.len() * cap as usize).min(orders.len()));
                    prop_assert!(per("rack").values().all(|n| *n <= cap as usize));
                }
                ConstraintOperator::Cluster => {
                    prop_assert_eq!(placed.len(), orders.len());
                    prop_assert_eq!(per("rack").len(), 1);
                }
                _ => {
                    prop_assert_eq!(placed.len(), orders.len());
                    let counts = per("rack");
                    prop_assert_eq!(counts.len(), distinct.len().min(orders.len()));
                    let (lo, hi) = (counts.values().min().unwrap(), counts.values().max().unwrap());
                    prop_assert!(hi - lo <= 1, "{:?}", counts);
                }
            }
        }
    }
}
