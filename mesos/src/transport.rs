//! How a scheduler talks to a master: subscribe once, then receive events and send calls.
//!
//! The controllers only see [`Transport`]; the embedded local master implements it in-process,
//! and an HTTP client of `/api/v1/scheduler` implements it for a real Mesos master.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use tokio::sync::mpsc;

use crate::v1::FrameworkInfo;
use crate::v1::scheduler::{Call, Event};

#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    /// The master refused the call or the subscription (its message attached).
    #[error("master refused: {0}")]
    Refused(String),
    /// The connection to the master is gone; subscribe again.
    #[error("disconnected from master")]
    Disconnected,
}

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A live subscription: events in order, and a way to send calls on it.
pub struct Connection {
    /// Events from the master, the first being SUBSCRIBED (or ERROR). Ends when the
    /// subscription ends; the scheduler then subscribes again.
    pub events: mpsc::Receiver<Event>,
    pub caller: Caller,
}

/// Sends calls on a subscription; fills in the framework id (and stream id) itself.
#[derive(Clone)]
pub struct Caller(pub Arc<dyn CallSink>);

impl Caller {
    pub async fn call(&self, call: Call) -> Result<(), TransportError> {
        self.0.call(call).await
    }
}

pub trait CallSink: Send + Sync {
    fn call(&self, call: Call) -> BoxFuture<'_, Result<(), TransportError>>;
}

/// A way to reach a master.
pub trait Transport: Send + Sync {
    /// SUBSCRIBE with `framework_info` (its `id` set to fail over to an existing framework).
    fn subscribe(&self, framework_info: FrameworkInfo) -> BoxFuture<'_, Result<Connection, TransportError>>;
}
