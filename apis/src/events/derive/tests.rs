//! Change sets in, events out: the derivation on a real [`State`], no store or runtime.

use std::collections::BTreeMap;

use schemas::{ActionKind, AppDefinition, DeploymentAction, DeploymentStep, Goal, Instance, TaskRecord, Timestamp};
use serde_json::Value;
use store::WriteRequest;

use super::*;

fn app(id: &str) -> Arc<AppDefinition> {
    let raw: AppDefinition = serde_json::from_value(serde_json::json!({"id": id, "cmd": "sleep 1"})).unwrap();
    let mut app = schemas::normalize_app(raw, &PathId::root()).unwrap();
    app.version = Some(Timestamp::from_millis(1_000));
    Arc::new(app)
}

fn task(inst: &Instance, state: TaskState) -> TaskRecord {
    TaskRecord {
        task_id: inst.next_task_id(),
        agent_id: "agent-1".into(),
        host: "localhost".into(),
        ports: vec![31000],
        state,
        staged_at: Timestamp::from_millis(2_000),
        started_at: None,
        updated_at: Timestamp::from_millis(2_000),
        message: None,
        health: Default::default(),
        containers: vec![],
    }
}

fn deployment(id: &str, apps: &[&str], steps: usize) -> Deployment {
    let affected: Vec<PathId> = apps.iter().map(|a| PathId::parse(a).unwrap()).collect();
    let step = DeploymentStep {
        actions: affected
            .iter()
            .map(|a| DeploymentAction {
                action: ActionKind::ScaleApplication,
                app: a.clone(),
            })
            .collect(),
    };
    Deployment {
        id: id.into(),
        version: Timestamp::from_millis(5_000),
        affected_apps: affected,
        steps: vec![step; steps],
        current_step: 0,
        original: BTreeMap::new(),
        target: BTreeMap::new(),
        group: None,
        affected_pods: vec![],
        original_pods: BTreeMap::new(),
        target_pods: BTreeMap::new(),
    }
}

fn put_app(a: &Arc<AppDefinition>) -> Op {
    Op::put(keys::app(&a.id), Record::App(a.clone()))
}

fn put_inst(i: &Instance) -> Op {
    Op::put(
        keys::instance(&i.app_id, &i.instance_id),
        Record::Instance(Arc::new(i.clone())),
    )
}

fn del_inst(i: &Instance) -> Op {
    Op::delete(keys::instance(&i.app_id, &i.instance_id))
}

fn put_dep(d: &Deployment) -> Op {
    Op::put(keys::deployment(&d.id), Record::Deployment(Arc::new(d.clone())))
}

fn del_dep(id: &str) -> Op {
    Op::delete(keys::deployment(id))
}

/// A state and a deriver that follows it.
struct World {
    state: State,
    deriver: Deriver,
}

impl World {
    fn new() -> World {
        let state = State::default();
        let deriver = Deriver::new(&state, "localhost");
        World { state, deriver }
    }

    fn write(&mut self, ops: Vec<Op>) -> ChangeSet {
        let (_, cs) = self.state.apply(WriteRequest {
            preconditions: vec![],
            ops,
        });
        (*cs.unwrap()).clone()
    }

    /// Applies `ops` and derives with `attribution`; returns `(eventType, body)` pairs.
    fn step_with(&mut self, ops: Vec<Op>, attribution: &Attribution) -> Vec<(&'static str, Value)> {
        let cs = self.write(ops);
        self.derive(&cs, attribution)
    }

    fn step(&mut self, ops: Vec<Op>) -> Vec<(&'static str, Value)> {
        self.step_with(ops, &Attribution::default())
    }

    fn derive(&mut self, cs: &ChangeSet, attribution: &Attribution) -> Vec<(&'static str, Value)> {
        let derived = self.deriver.apply(cs, attribution);
        derived
            .events
            .iter()
            .map(|p| (p.event_type(), p.body().clone()))
            .collect()
    }
}

fn types(events: &[(&'static str, Value)]) -> Vec<&'static str> {
    events.iter().map(|(t, _)| *t).collect()
}

#[test]
fn task_state_changes_become_status_updates_and_instance_changes() {
    let mut w = World::new();
    let a = app("/prod/web");
    w.step(vec![put_app(&a)]);

    let mut inst = Instance::new(&a, Timestamp::from_millis(1_500));
    assert!(
        w.step(vec![put_inst(&inst)]).is_empty(),
        "an instance without a task has no condition yet"
    );

    inst.task = Some(task(&inst, TaskState::TASK_PROVISIONED));
    let ev = w.step(vec![put_inst(&inst)]);
    assert_eq!(
        types(&ev),
        vec!["instance_changed_event"],
        "no Mesos status for Pacer's own Provisioned"
    );
    assert_eq!(ev[0].1["condition"], "Provisioned");

    inst.task.as_mut().unwrap().state = TaskState::TASK_RUNNING;
    let ev = w.step(vec![put_inst(&inst)]);
    assert_eq!(types(&ev), vec!["status_update_event", "instance_changed_event"]);
    let status = &ev[0].1;
    assert_eq!(status["taskStatus"], "TASK_RUNNING");
    assert_eq!(status["taskId"], inst.next_task_id());
    assert_eq!(status["appId"], "/prod/web");
    assert_eq!(status["slaveId"], "agent-1");
    assert_eq!(status["host"], "localhost");
    assert_eq!(status["ipAddresses"][0]["ipAddress"], "127.0.0.1");
    assert_eq!(status["ports"], serde_json::json!([31000]));
    assert_eq!(status["message"], "");
    assert_eq!(status["version"], "1970-01-01T00:00:01.000Z");
    let changed = &ev[1].1;
    assert_eq!(changed["instanceId"], inst.instance_id);
    assert_eq!(changed["condition"], "Running");
    assert_eq!(changed["runSpecId"], "/prod/web");
    assert_eq!(changed["agentId"], "agent-1");
    assert_eq!(changed["runSpecVersion"], "1970-01-01T00:00:01.000Z");

    // A kill flag changes the instance but not its task: nothing to report.
    inst.kill_requested = true;
    assert!(w.step(vec![put_inst(&inst)]).is_empty());

    // The next incarnation starts in the same state as the last one ended: still a change.
    inst.incarnation = 1;
    inst.task = Some(task(&inst, TaskState::TASK_RUNNING));
    let ev = w.step(vec![put_inst(&inst)]);
    assert_eq!(types(&ev), vec!["status_update_event", "instance_changed_event"]);
    assert_eq!(ev[0].1["taskId"], inst.next_task_id());
}

#[test]
fn a_posted_app_reports_post_group_change_and_first_step() {
    let mut w = World::new();
    let a = app("/prod/web");
    let d = deployment("d1", &["/prod/web"], 2);
    let origin = Origin {
        client_ip: "10.1.2.3".into(),
        uri: "/v2/apps".into(),
        posts_app: true,
    };
    let attribution = Attribution {
        posts: HashMap::from([("d1".to_string(), origin)]),
        ..Default::default()
    };
    let ev = w.step_with(vec![put_app(&a), put_dep(&d)], &attribution);
    assert_eq!(
        types(&ev),
        vec!["api_post_event", "group_change_success", "deployment_info"]
    );
    assert_eq!(ev[0].1["clientIp"], "10.1.2.3");
    assert_eq!(ev[0].1["uri"], "/v2/apps");
    assert_eq!(ev[0].1["appDefinition"]["id"], "/prod/web");
    assert_eq!(ev[0].1["appDefinition"]["cmd"], "sleep 1");
    assert_eq!(ev[1].1["groupId"], "/prod");
    assert_eq!(ev[1].1["version"], "1970-01-01T00:00:05.000Z");
    let plan = &ev[2].1["plan"];
    assert_eq!(plan["id"], "d1");
    assert_eq!(plan["steps"].as_array().unwrap().len(), 2);
    assert!(
        plan.get("original").is_none() && plan.get("target").is_none(),
        "light plan format"
    );
    assert_eq!(
        ev[2].1["currentStep"]["actions"][0],
        serde_json::json!({"action": "ScaleApplication", "app": "/prod/web"})
    );

    // A change without an app post (a restart, a delete) has no api_post_event.
    let d2 = deployment("d2", &["/prod/web"], 1);
    let ev = w.step(vec![put_app(&a), put_dep(&d2)]);
    assert_eq!(types(&ev), vec!["group_change_success", "deployment_info"]);
}

#[test]
fn deployment_progress_reports_each_step_and_the_end() {
    let mut w = World::new();
    let mut d = deployment("d", &["/a"], 3);
    w.step(vec![put_dep(&d)]);

    d.current_step = 1;
    let ev = w.step(vec![put_dep(&d)]);
    assert_eq!(types(&ev), vec!["deployment_step_success", "deployment_info"]);
    assert_eq!(ev[1].1["plan"]["id"], "d");

    // The controllers may finish several steps in one write, and delete in the same breath.
    let ev = w.step(vec![del_dep("d")]);
    assert_eq!(
        types(&ev),
        vec![
            "deployment_step_success",
            "deployment_step_success",
            "deployment_success"
        ]
    );
    assert_eq!(ev[2].1["id"], "d");
    assert_eq!(ev[2].1["plan"]["steps"].as_array().unwrap().len(), 3);

    // A deployment without steps (nothing changed) just succeeds.
    let empty = deployment("e", &["/a"], 0);
    assert_eq!(types(&w.step(vec![put_dep(&empty)])), vec!["group_change_success"]);
    assert_eq!(types(&w.step(vec![del_dep("e")])), vec!["deployment_success"]);
    // Deleting an unknown deployment means nothing.
    assert!(w.step(vec![del_dep("zzz")]).is_empty());
}

#[test]
fn cancelled_and_replaced_deployments_fail_instead_of_succeeding() {
    let mut w = World::new();
    w.step(vec![put_dep(&deployment("old", &["/a"], 1))]);
    let cs = w.write(vec![del_dep("old"), put_dep(&deployment("new", &["/a"], 1))]);
    assert!(
        w.deriver.deletions_to_attribute(&cs).is_empty(),
        "a replacement needs no word from the API"
    );
    let ev = w.derive(&cs, &Attribution::default());
    assert_eq!(
        types(&ev),
        vec!["group_change_success", "deployment_failed", "deployment_info"]
    );
    assert_eq!(ev[1].1["id"], "old");

    // A lone deletion is a success unless the API says it cancelled it.
    let cs = w.write(vec![del_dep("new")]);
    assert_eq!(w.deriver.deletions_to_attribute(&cs), vec!["new".to_string()]);
    let attribution = Attribution {
        cancelled: HashSet::from(["new".to_string()]),
        ..Default::default()
    };
    let ev = w.derive(&cs, &attribution);
    assert_eq!(types(&ev), vec!["deployment_failed"]);
    assert_eq!(ev[0].1["reason"], "The deployment was cancelled");
}

#[test]
fn an_app_terminates_when_its_last_instance_is_gone() {
    let mut w = World::new();
    let a = app("/a");
    let i1 = Instance::new(&a, Timestamp::from_millis(1));
    let i2 = Instance::new(&a, Timestamp::from_millis(1));
    w.step(vec![put_app(&a), put_inst(&i1), put_inst(&i2)]);

    assert!(
        w.step(vec![Op::delete(keys::app(&a.id))]).is_empty(),
        "instances remain"
    );
    assert!(w.step(vec![del_inst(&i1)]).is_empty());
    let ev = w.step(vec![del_inst(&i2)]);
    assert_eq!(ev, vec![("app_terminated_event", serde_json::json!({"appId": "/a"}))]);

    // An app with no instances terminates with its deletion; one re-created meanwhile does not.
    let b = app("/b");
    w.step(vec![put_app(&b)]);
    assert_eq!(
        types(&w.step(vec![Op::delete(keys::app(&b.id))])),
        vec!["app_terminated_event"]
    );
    let c = app("/c");
    let ic = Instance::new(&c, Timestamp::from_millis(1));
    w.step(vec![put_app(&c), put_inst(&ic)]);
    w.step(vec![Op::delete(keys::app(&c.id))]);
    w.step(vec![put_app(&c)]);
    assert!(w.step(vec![del_inst(&ic)]).is_empty());
}

#[test]
fn subscriptions_are_followed() {
    let mut w = World::new();
    let url = "http://127.0.0.1:1/cb".to_string();
    let cs = w.write(vec![Op::put(
        subscriptions::key(&url),
        Record::EventSubscription(url.clone()),
    )]);
    let d = w.deriver.apply(&cs, &Attribution::default());
    assert_eq!(
        (d.subscribed.clone(), d.unsubscribed.clone()),
        (vec![url.clone()], vec![])
    );
    let cs = w.write(vec![Op::delete(subscriptions::key(&url))]);
    let d = w.deriver.apply(&cs, &Attribution::default());
    assert_eq!((d.subscribed, d.unsubscribed), (vec![], vec![url]));
}

#[test]
fn a_new_deriver_reports_only_later_changes_and_catches_up_after_a_gap() {
    let mut w = World::new();
    let a = app("/a");
    let mut inst = Instance::new(&a, Timestamp::from_millis(1));
    inst.task = Some(task(&inst, TaskState::TASK_RUNNING));
    let d = deployment("d", &["/a"], 1);
    w.write(vec![put_app(&a), put_inst(&inst), put_dep(&d)]);

    // Started now: what exists is the shadow, not news.
    let mut fresh = Deriver::new(&w.state, "localhost");
    let same = w.write(vec![put_inst(&inst)]);
    assert!(fresh.apply(&same, &Attribution::default()).events.is_empty());

    // It misses a task failure and the deployment's end, then catches up from the state.
    inst.task.as_mut().unwrap().state = TaskState::TASK_FAILED;
    inst.goal = Goal::Running;
    w.write(vec![put_inst(&inst)]);
    w.write(vec![del_dep("d")]);
    let cs = fresh.catch_up(&w.state);
    let derived = fresh.apply(&cs, &Attribution::default());
    let got: Vec<&str> = derived.events.iter().map(Payload::event_type).collect();
    assert_eq!(
        got,
        vec![
            "status_update_event",
            "instance_changed_event",
            "deployment_step_success",
            "deployment_success"
        ]
    );
    assert!(
        fresh
            .apply(&fresh.catch_up(&w.state), &Attribution::default())
            .events
            .is_empty(),
        "idempotent"
    );
}

#[test]
fn health_changes_become_health_events_and_a_health_kill_is_reported() {
    let mut w = World::new();
    let raw: AppDefinition = serde_json::from_value(serde_json::json!(
        {"id": "/web", "cmd": "x", "healthChecks": [{"protocol": "HTTP", "path": "/ping"}]}
    ))
    .unwrap();
    let a = Arc::new(schemas::normalize_app(raw, &PathId::root()).unwrap());
    w.step(vec![put_app(&a)]);
    let mut inst = Instance::new(&a, Timestamp::from_millis(1_500));
    inst.task = Some(task(&inst, TaskState::TASK_RUNNING));
    w.step(vec![put_inst(&inst)]);

    let result = |alive: bool, failures: u32| schemas::HealthResult {
        index: 0,
        alive,
        consecutive_failures: failures,
        first_success: None,
        last_success: None,
        last_failure: None,
        last_failure_cause: None,
    };
    inst.task.as_mut().unwrap().health.checks = vec![result(true, 0)];
    let events = w.step(vec![put_inst(&inst)]);
    assert_eq!(types(&events), vec!["health_status_changed_event"]);
    assert_eq!(events[0].1["alive"], true);

    inst.task.as_mut().unwrap().health.checks = vec![result(false, 1)];
    let events = w.step(vec![put_inst(&inst)]);
    assert_eq!(
        types(&events),
        vec!["health_status_changed_event", "failed_health_check_event"]
    );
    assert_eq!(events[1].1["healthCheck"]["path"], "/ping");

    let t = inst.task.as_mut().unwrap();
    t.health.checks = vec![result(false, 2)];
    t.health.killed_unhealthy = Some("HTTP health check failed 2 times consecutively".into());
    inst.kill_requested = true;
    let events = w.step(vec![put_inst(&inst)]);
    assert_eq!(
        types(&events),
        vec!["failed_health_check_event", "unhealthy_instance_kill_event"]
    );
    assert_eq!(events[1].1["taskId"], inst.task.as_ref().unwrap().task_id.as_str());
}
