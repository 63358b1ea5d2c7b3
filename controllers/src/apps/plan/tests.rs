use super::*;
use schemas::{AppDefinition, HealthResult, HealthSpec, TaskRecord, VersionInfo};

/// The plan of an app: the tests below speak of apps; pods go through the same code.
fn plan(app: Option<&AppDefinition>, instances: Vec<Observed>, now: Timestamp) -> Plan {
    let spec = app.map(|a| RunSpec::App(std::sync::Arc::new(a.clone())));
    super::plan(spec.as_ref(), instances, now)
}

fn app(instances: u32, strategy: (f64, f64), config: i64, version: i64) -> AppDefinition {
    let mut a: AppDefinition = serde_json::from_str(r#"{"id":"/a","cmd":"sleep 600"}"#).unwrap();
    a.instances = instances;
    a.upgrade_strategy.minimum_health_capacity = strategy.0;
    a.upgrade_strategy.maximum_over_capacity = strategy.1;
    a.version = Some(Timestamp::from_millis(version));
    a.version_info = Some(VersionInfo {
        last_scaling_at: Timestamp::from_millis(version),
        last_config_change_at: Timestamp::from_millis(config),
    });
    a
}

fn inst(n: u32, version: i64, state: Option<TaskState>) -> Observed {
    let t = Timestamp::from_millis(i64::from(n));
    let instance = Instance {
        instance_id: format!("a.instance-{n}"),
        app_id: schemas::PathId::parse("/a").unwrap(),
        run_spec_version: Timestamp::from_millis(version),
        config_version: None,
        goal: Goal::Running,
        incarnation: 1,
        task: state.map(|state| TaskRecord {
            task_id: format!("a.instance-{n}._app.1"),
            agent_id: "ag".into(),
            host: "h".into(),
            ports: vec![],
            state,
            staged_at: t,
            started_at: Some(t),
            updated_at: t,
            message: None,
            health: Default::default(),
            containers: vec![],
        }),
        kill_requested: false,
        last_failure: None,
        created_at: t,
        reservation: None,
    };
    Observed {
        key: format!("k{n}"),
        revision: 1,
        instance,
        health: Default::default(),
    }
}

fn now() -> Timestamp {
    Timestamp::from_millis(1_000_000)
}

fn ids(v: &[Observed]) -> Vec<String> {
    v.iter().map(|o| o.instance.instance_id.clone()).collect()
}

const RUNNING: Option<TaskState> = Some(TaskState::TASK_RUNNING);

#[test]
fn scales_up_and_queues_new_instances() {
    let p = plan(Some(&app(3, (1.0, 1.0), 10, 10)), vec![inst(1, 10, RUNNING)], now());
    assert_eq!(p.create.len(), 2);
    assert_eq!(p.launch.len(), 2);
    assert!(p.kill.is_empty() && p.decommission.is_empty());
}

#[test]
fn scale_down_kills_youngest_first_and_unlaunched_before_running() {
    let a = app(1, (1.0, 1.0), 10, 10);
    let p = plan(
        Some(&a),
        vec![inst(1, 10, RUNNING), inst(2, 10, RUNNING), inst(3, 10, RUNNING)],
        now(),
    );
    assert_eq!(ids(&p.decommission), vec!["a.instance-3", "a.instance-2"]);
    assert_eq!(ids(&p.kill), ids(&p.decommission));
    let p = plan(Some(&a), vec![inst(1, 10, RUNNING), inst(2, 10, None)], now());
    assert_eq!(ids(&p.decommission), vec!["a.instance-2"]);
    assert!(p.kill.is_empty(), "an unlaunched instance has nothing to kill");
    let mut oldest = a.clone();
    oldest.kill_selection = KillSelection::OldestFirst;
    let p = plan(Some(&oldest), vec![inst(1, 10, RUNNING), inst(2, 10, RUNNING)], now());
    assert_eq!(ids(&p.decommission), vec!["a.instance-1"]);
}

#[test]
fn relaunches_instances_whose_task_ended() {
    let p = plan(
        Some(&app(2, (1.0, 1.0), 10, 10)),
        vec![inst(1, 10, RUNNING), inst(2, 10, Some(TaskState::TASK_FAILED))],
        now(),
    );
    assert!(p.create.is_empty());
    assert_eq!(p.launch, vec!["a.instance-2"]);
}

#[test]
fn rolling_restart_keeps_full_health_with_default_strategy() {
    let a = app(2, (1.0, 1.0), 20, 20);
    // Two healthy old instances: start two new ones, kill nothing yet.
    let p = plan(Some(&a), vec![inst(1, 10, RUNNING), inst(2, 10, RUNNING)], now());
    assert_eq!(p.create.len(), 2);
    assert!(p.decommission.is_empty());
    // New ones not yet healthy: nothing more to do.
    let p = plan(
        Some(&a),
        vec![
            inst(1, 10, RUNNING),
            inst(2, 10, RUNNING),
            inst(3, 20, None),
            inst(4, 20, None),
        ],
        now(),
    );
    assert!(p.create.is_empty() && p.decommission.is_empty());
    // New ones healthy: the old ones go.
    let p = plan(
        Some(&a),
        vec![
            inst(1, 10, RUNNING),
            inst(2, 10, RUNNING),
            inst(3, 20, RUNNING),
            inst(4, 20, RUNNING),
        ],
        now(),
    );
    assert_eq!(ids(&p.decommission).len(), 2);
    assert!(p.create.is_empty());
}

#[test]
fn rolling_restart_one_at_a_time_without_over_capacity() {
    let a = app(2, (1.0, 0.0), 20, 20);
    let p = plan(Some(&a), vec![inst(1, 10, RUNNING), inst(2, 10, RUNNING)], now());
    assert_eq!(p.create.len(), 1, "one extra instance of temporary over-capacity");
    let p = plan(
        Some(&a),
        vec![inst(1, 10, RUNNING), inst(2, 10, RUNNING), inst(3, 20, RUNNING)],
        now(),
    );
    // One old instance goes, and the next new one takes the room it leaves.
    assert_eq!(p.decommission.len(), 1);
    assert_eq!(p.create.len(), 1);
}

#[test]
fn zero_health_capacity_replaces_everything_at_once() {
    let a = app(2, (0.0, 0.0), 20, 20);
    let p = plan(Some(&a), vec![inst(1, 10, RUNNING), inst(2, 10, RUNNING)], now());
    assert_eq!(p.decommission.len(), 2);
    assert_eq!(p.create.len(), 2, "kill all and start all at once");
}

#[test]
fn unhealthy_old_instances_are_replaced_at_once() {
    let a = app(2, (1.0, 1.0), 20, 20);
    let p = plan(
        Some(&a),
        vec![inst(1, 10, Some(TaskState::TASK_FAILED)), inst(2, 10, RUNNING)],
        now(),
    );
    assert_eq!(ids(&p.decommission), vec!["a.instance-1"]);
    assert!(p.kill.is_empty());
}

/// New instances that run but whose health check has not reported alive add no capacity: the
/// old ones stay until it does.
#[test]
fn rolling_restart_waits_for_health_checks() {
    let a = app(2, (1.0, 1.0), 20, 20);
    let checked = HealthSpec {
        scheduler_checks: 1,
        ..HealthSpec::default()
    };
    let new = |n, alive: Option<bool>| {
        let mut o = inst(n, 20, RUNNING);
        o.health = checked;
        if let Some(alive) = alive {
            o.instance.task.as_mut().unwrap().health.checks.push(HealthResult {
                index: 0,
                alive,
                consecutive_failures: u32::from(!alive),
                first_success: None,
                last_success: None,
                last_failure: None,
                last_failure_cause: None,
            });
        }
        o
    };
    let old = || vec![inst(1, 10, RUNNING), inst(2, 10, RUNNING)];
    for pending in [None, Some(false)] {
        let p = plan(
            Some(&a),
            [old(), vec![new(3, pending), new(4, pending)]].concat(),
            now(),
        );
        assert!(p.decommission.is_empty(), "{pending:?}: old instances must stay");
    }
    let p = plan(
        Some(&a),
        [old(), vec![new(3, Some(true)), new(4, None)]].concat(),
        now(),
    );
    assert_eq!(p.decommission.len(), 1, "one new instance is healthy: one old one goes");
    let p = plan(
        Some(&a),
        [old(), vec![new(3, Some(true)), new(4, Some(true))]].concat(),
        now(),
    );
    assert_eq!(p.decommission.len(), 2);
}

#[test]
fn deleted_app_decommissions_kills_and_expunges() {
    let mut gone = inst(3, 10, Some(TaskState::TASK_KILLED));
    gone.instance.goal = Goal::Decommissioned;
    let p = plan(None, vec![inst(1, 10, RUNNING), inst(2, 10, None), gone], now());
    assert_eq!(ids(&p.kill), vec!["a.instance-1"]);
    assert_eq!(ids(&p.decommission), vec!["a.instance-1", "a.instance-2"]);
    assert_eq!(ids(&p.expunge), vec!["a.instance-3"]);
}

#[test]
fn a_requested_kill_kills_but_keeps_the_instance() {
    let mut o = inst(1, 10, RUNNING);
    o.instance.kill_requested = true;
    let p = plan(Some(&app(1, (1.0, 1.0), 10, 10)), vec![o], now());
    assert_eq!(ids(&p.kill), vec!["a.instance-1"]);
    assert!(p.decommission.is_empty() && p.create.is_empty());
}

#[test]
fn planning_its_own_outcome_changes_nothing() {
    let a = app(3, (1.0, 1.0), 10, 10);
    let p = plan(
        Some(&a),
        vec![inst(1, 10, RUNNING), inst(2, 10, RUNNING), inst(3, 10, RUNNING)],
        now(),
    );
    assert!(p.create.is_empty() && p.decommission.is_empty() && p.expunge.is_empty() && p.kill.is_empty());
    assert!(p.launch.is_empty());
}

fn unreachable(n: u32, since_secs: i64) -> Observed {
    let mut o = inst(n, 10, Some(TaskState::TASK_UNREACHABLE));
    o.instance.task.as_mut().unwrap().updated_at = Timestamp::from_millis(now().millis() - since_secs * 1000);
    o
}

#[test]
fn unreachable_tasks_are_replaced_after_inactive_and_forgotten_after_expunge() {
    let mut a = app(2, (1.0, 1.0), 10, 10);
    a.unreachable_strategy = schemas::UnreachableStrategy::Enabled {
        inactive_after_seconds: 60,
        expunge_after_seconds: 600,
    };
    // Still within inactiveAfterSeconds: waited for, and a pass is due when it runs out.
    let p = plan(Some(&a), vec![inst(1, 10, RUNNING), unreachable(2, 10)], now());
    assert!(p.create.is_empty() && p.decommission.is_empty());
    assert_eq!(p.recheck_at, Some(Timestamp::from_millis(now().millis() + 50_000)));
    // Past it: replaced (a new instance) and decommissioned, with a kill for when it returns.
    let p = plan(Some(&a), vec![inst(1, 10, RUNNING), unreachable(2, 61)], now());
    assert_eq!(ids(&p.decommission), vec!["a.instance-2"]);
    assert_eq!(ids(&p.kill), vec!["a.instance-2"]);
    assert_eq!(p.create.len(), 1);
    // Decommissioned and past expungeAfterSeconds: forgotten.
    let mut gone = unreachable(2, 601);
    gone.instance.goal = Goal::Decommissioned;
    let p = plan(Some(&a), vec![inst(1, 10, RUNNING), inst(3, 10, RUNNING), gone], now());
    assert_eq!(ids(&p.expunge), vec!["a.instance-2"]);
    // Marathon's default (0, 0): replaced at once.
    let p = plan(Some(&app(1, (1.0, 1.0), 10, 10)), vec![unreachable(1, 0)], now());
    assert_eq!((p.decommission.len(), p.create.len()), (1, 1));
    // Disabled: waited for forever.
    a.unreachable_strategy = schemas::UnreachableStrategy::Disabled(schemas::UnreachableDisabled::Disabled);
    let p = plan(Some(&a), vec![inst(1, 10, RUNNING), unreachable(2, 100_000)], now());
    assert!(p.decommission.is_empty() && p.create.is_empty() && p.recheck_at.is_none());
}

#[test]
fn pods_scale_and_restart_like_apps() {
    let raw: schemas::PodDefinition = serde_json::from_str(
        r#"{"id":"/a","scaling":{"instances":2},"containers":[{"name":"c","exec":{"command":{"shell":"x"}}}]}"#,
    )
    .unwrap();
    let mut pod = schemas::normalize_pod(raw, &schemas::PathId::root()).unwrap();
    let v = Timestamp::from_millis(10);
    pod.version = Some(v);
    pod.version_info = Some(schemas::VersionInfo {
        last_scaling_at: v,
        last_config_change_at: v,
    });
    let spec = RunSpec::Pod(std::sync::Arc::new(pod.clone()));
    let p = super::plan(Some(&spec), vec![inst(1, 10, RUNNING)], now());
    assert_eq!(p.create.len(), 1);
    assert!(p.create[0].instance_id.starts_with("a.instance-"));
    assert_eq!(p.launch.len(), 1);

    // A new config replaces the old instances within the upgrade strategy's bounds.
    let w = Timestamp::from_millis(20);
    pod.version = Some(w);
    pod.version_info = Some(schemas::VersionInfo {
        last_scaling_at: w,
        last_config_change_at: w,
    });
    pod.scheduling.upgrade.minimum_health_capacity = 0.0;
    let spec = RunSpec::Pod(std::sync::Arc::new(pod));
    let p = super::plan(Some(&spec), vec![inst(1, 10, RUNNING), inst(2, 10, RUNNING)], now());
    assert_eq!(p.decommission.len(), 2, "{p:?}");
    assert_eq!(p.kill.len(), 2);
}

/// A resident app (a persistent volume) of `instances`, config `config`.
fn resident(instances: u32, config: i64) -> AppDefinition {
    let mut a = app(instances, (0.5, 0.0), config, config);
    a.role = Some("pacer".into());
    a.container = Some(
        serde_json::from_value(serde_json::json!({"type": "MESOS", "volumes": [
            {"containerPath": "data", "mode": "RW", "persistent": {"size": 10}}
        ]}))
        .unwrap(),
    );
    a
}

/// `inst` holding a reservation (confirmed, or asked for at `since`).
fn reserved(mut o: Observed, since: Option<i64>) -> Observed {
    o.instance.reservation = Some(schemas::Reservation {
        id: format!("r-{}", o.instance.instance_id),
        agent_id: "ag".into(),
        host: "h".into(),
        ports: vec![],
        volumes: vec![],
        state: match since {
            Some(ms) => schemas::ReservationState::New {
                since: Timestamp::from_millis(ms),
            },
            None => schemas::ReservationState::Confirmed,
        },
    });
    o
}

fn with_goal(mut o: Observed, goal: Goal) -> Observed {
    o.instance.goal = goal;
    o
}

#[test]
fn resident_tasks_that_end_relaunch_on_their_reservation() {
    let a = resident(2, 10);
    let p = plan(
        Some(&a),
        vec![
            reserved(inst(1, 10, RUNNING), None),
            reserved(inst(2, 10, Some(TaskState::TASK_KILLED)), None),
        ],
        now(),
    );
    assert_eq!(p.launch, vec!["a.instance-2"]);
    assert!(p.create.is_empty() && p.decommission.is_empty() && p.update.is_empty());
}

#[test]
fn resident_scale_down_stops_and_scale_up_resumes() {
    let p = plan(
        Some(&resident(1, 10)),
        vec![
            reserved(inst(1, 10, RUNNING), None),
            reserved(inst(2, 10, RUNNING), None),
        ],
        now(),
    );
    assert_eq!(ids(&p.update), vec!["a.instance-2"], "the youngest is stopped");
    assert_eq!(p.update[0].instance.goal, Goal::Stopped);
    assert_eq!(ids(&p.kill), vec!["a.instance-2"]);
    assert!(p.decommission.is_empty(), "its reservation stays");

    // An unreserved extra has nothing to keep and simply goes.
    let p = plan(
        Some(&resident(1, 10)),
        vec![reserved(inst(1, 10, RUNNING), None), inst(2, 10, None)],
        now(),
    );
    assert_eq!(ids(&p.decommission), vec!["a.instance-2"]);

    let stopped = with_goal(reserved(inst(2, 10, Some(TaskState::TASK_KILLED)), None), Goal::Stopped);
    let p = plan(Some(&resident(0, 10)), vec![stopped.clone()], now());
    assert!(
        p.kill.is_empty() && p.launch.is_empty() && p.update.is_empty(),
        "a stopped instance waits"
    );
    let p = plan(Some(&resident(3, 10)), vec![stopped], now());
    assert_eq!(ids(&p.update), vec!["a.instance-2"]);
    assert_eq!(
        p.update[0].instance.goal,
        Goal::Running,
        "resumed before anything is created"
    );
    assert_eq!(p.create.len(), 2);
    assert_eq!(p.launch.len(), 3);
}

#[test]
fn a_wiped_or_deleted_resident_instance_waits_to_destroy_its_reservation() {
    let wiped = with_goal(
        reserved(inst(1, 10, Some(TaskState::TASK_KILLED)), None),
        Goal::Decommissioned,
    );
    let p = plan(Some(&resident(1, 10)), vec![wiped.clone()], now());
    assert!(p.expunge.is_empty());
    assert_eq!(p.cleanup, vec!["a.instance-1"]);
    assert_eq!(p.create.len(), 1, "a new instance replaces it");
    // The app deleted: every instance goes, once its reservation is destroyed.
    let p = plan(None, vec![wiped, reserved(inst(2, 10, RUNNING), None)], now());
    assert_eq!(p.cleanup, vec!["a.instance-1"]);
    assert_eq!(ids(&p.decommission), vec!["a.instance-2"]);
    assert_eq!(ids(&p.kill), vec!["a.instance-2"]);
    // A reservation that never showed up is not waited for.
    let failed = with_goal(reserved(inst(3, 10, None), Some(1)), Goal::Decommissioned);
    let p = plan(None, vec![failed], now());
    assert_eq!(ids(&p.expunge), vec!["a.instance-3"]);
}

#[test]
fn a_reservation_that_never_showed_up_is_asked_for_again() {
    let t = now().millis();
    let waiting = reserved(inst(1, 10, None), Some(t - 1_000));
    let p = plan(Some(&resident(1, 10)), vec![waiting], now());
    assert!(p.update.is_empty());
    assert_eq!(
        p.recheck_at,
        Some(Timestamp::from_millis(t - 1_000 + schemas::RESERVATION_TIMEOUT_MILLIS))
    );
    let late = reserved(inst(1, 10, None), Some(t - schemas::RESERVATION_TIMEOUT_MILLIS));
    let p = plan(Some(&resident(1, 10)), vec![late], now());
    assert_eq!(ids(&p.update), vec!["a.instance-1"]);
    assert!(p.update[0].instance.reservation.is_none());
    assert_eq!(p.launch, vec!["a.instance-1"]);
}

#[test]
fn a_resident_upgrade_restarts_instances_in_place() {
    // Two healthy instances of config 10; config 20 keeps at least one running (0.5).
    let a = resident(2, 20);
    let old = || {
        vec![
            reserved(inst(1, 10, RUNNING), None),
            reserved(inst(2, 10, RUNNING), None),
        ]
    };
    let p = plan(Some(&a), old(), now());
    assert!(
        p.create.is_empty() && p.decommission.is_empty(),
        "nothing is added beside them"
    );
    assert_eq!(ids(&p.kill), vec!["a.instance-2"]);
    assert!(p.update[0].instance.kill_requested);
    // While it restarts, the other one keeps running.
    let mut restarting = old();
    restarting[1].instance.kill_requested = true;
    restarting[1].instance.task.as_mut().unwrap().state = TaskState::TASK_KILLED;
    let p = plan(Some(&a), restarting, now());
    assert!(p.update.is_empty());
    assert_eq!(
        p.launch,
        vec!["a.instance-2"],
        "relaunched, with the new config, on its reservation"
    );
    assert!(p.kill.is_empty());
}
