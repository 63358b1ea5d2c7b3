//! Drives the router in-process against an in-memory store, and plays the controllers' part
//! where a test needs it (instances with tasks, finished deployments).
#![allow(dead_code, unreachable_pub)]

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use http_body_util::BodyExt;
use schemas::{Goal, Instance, PathId, Record, TaskRecord, TaskState, Timestamp};
use serde_json::Value;
use store::{Op, Store, StoreConfig, keys};
use tower::ServiceExt;

pub struct Api {
    pub router: Router,
    pub store: Store,
}

pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub text: String,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text))
    }
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

impl Api {
    pub async fn new() -> Api {
        Api::with_config(apis::ApiConfig::default()).await
    }

    pub async fn with_config(config: apis::ApiConfig) -> Api {
        let store = Store::open(StoreConfig::default()).await.expect("in-memory store");
        let router = apis::router(apis::ApiState::new(store.clone(), config));
        Api { router, store }
    }

    pub async fn raw(&self, method: Method, uri: &str, body: Option<&str>, headers: &[(&str, &str)]) -> Reply {
        let mut req = Request::builder().method(method).uri(uri);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let req = req
            .body(body.map_or_else(Body::empty, |b| Body::from(b.to_string())))
            .unwrap();
        let res = self.router.clone().oneshot(req).await.unwrap();
        let status = res.status();
        let headers = res.headers().clone();
        let bytes = res.into_body().collect().await.unwrap().to_bytes();
        Reply {
            status,
            headers,
            text: String::from_utf8(bytes.to_vec()).unwrap(),
        }
    }

    pub async fn call(&self, method: Method, uri: &str, body: Option<Value>) -> Reply {
        let body = body.map(|b| b.to_string());
        self.raw(method, uri, body.as_deref(), &[("content-type", "application/json")])
            .await
    }

    pub async fn get(&self, uri: &str) -> Reply {
        self.call(Method::GET, uri, None).await
    }
    pub async fn post(&self, uri: &str, body: Value) -> Reply {
        self.call(Method::POST, uri, Some(body)).await
    }
    pub async fn put(&self, uri: &str, body: Value) -> Reply {
        self.call(Method::PUT, uri, Some(body)).await
    }
    pub async fn patch(&self, uri: &str, body: Value) -> Reply {
        self.call(Method::PATCH, uri, Some(body)).await
    }
    pub async fn delete(&self, uri: &str) -> Reply {
        self.call(Method::DELETE, uri, None).await
    }

    /// Creates an app and lets its deployment finish, as the controllers would.
    pub async fn create(&self, app: Value) -> Value {
        let r = self.post("/v2/apps", app).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
        self.finish_deployments().await;
        r.json()
    }

    /// Deletes every deployment record: the controllers' "deployment done".
    pub async fn finish_deployments(&self) {
        let keys: Vec<String> = self
            .store
            .read(|s| s.scan(keys::DEPLOYMENTS).map(|(k, _)| k.to_string()).collect());
        if !keys.is_empty() {
            self.store
                .write_ops(keys.into_iter().map(Op::delete).collect())
                .await
                .unwrap();
        }
    }

    pub fn app(&self, id: &str) -> Option<Arc<schemas::AppDefinition>> {
        let key = keys::app(&PathId::parse(id).unwrap());
        self.store.read(|s| match s.get(&key).map(|e| &e.record) {
            Some(Record::App(a)) => Some(a.clone()),
            _ => None,
        })
    }

    pub fn instances(&self, id: &str) -> Vec<Arc<Instance>> {
        let prefix = keys::instances_of(&PathId::parse(id).unwrap());
        self.store.read(|s| {
            s.scan(&prefix)
                .filter_map(|(_, e)| match &e.record {
                    Record::Instance(i) => Some(i.clone()),
                    _ => None,
                })
                .collect()
        })
    }

    pub fn deployment_count(&self) -> usize {
        self.store.read(|s| s.scan(keys::DEPLOYMENTS).count())
    }

    /// Adds an instance of the stored app `id` with a task in `state`, as the controllers do.
    pub async fn add_task(&self, id: &str, state: TaskState, host: &str, ports: Vec<u32>) -> Instance {
        let app = self.app(id).expect("app exists");
        let now = Timestamp::now();
        let mut inst = Instance::new(&app, now);
        let task_id = inst.next_task_id();
        inst.incarnation = 1;
        inst.task = Some(TaskRecord {
            task_id,
            agent_id: "agent-1".into(),
            host: host.into(),
            ports,
            state,
            staged_at: now,
            started_at: (state == TaskState::TASK_RUNNING).then_some(now),
            updated_at: now,
            message: None,
            health: Default::default(),
            containers: vec![],
        });
        self.put_instance(&inst).await;
        inst
    }

    pub async fn put_instance(&self, inst: &Instance) {
        let key = keys::instance(&inst.app_id, &inst.instance_id);
        self.store
            .write_ops(vec![Op::put(key, Record::Instance(Arc::new(inst.clone())))])
            .await
            .unwrap();
    }

    pub fn instance(&self, app: &str, instance_id: &str) -> Instance {
        let key = keys::instance(&PathId::parse(app).unwrap(), instance_id);
        self.store.read(|s| match s.get(&key).map(|e| &e.record) {
            Some(Record::Instance(i)) => (**i).clone(),
            _ => panic!("no instance {key}"),
        })
    }
}

pub fn task_id(inst: &Instance) -> String {
    inst.task.as_ref().unwrap().task_id.clone()
}

pub fn goal(inst: &Instance) -> Goal {
    inst.goal
}

impl Api {
    /// An API whose state `customise` adjusts (offer statistics, controller metrics).
    pub async fn with_state(customise: impl FnOnce(apis::ApiState) -> apis::ApiState) -> Api {
        let store = Store::open(StoreConfig::default()).await.expect("in-memory store");
        let state = customise(apis::ApiState::new(store.clone(), apis::ApiConfig::default()));
        Api {
            router: apis::router(state),
            store,
        }
    }
}
