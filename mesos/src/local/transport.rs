//! The in-process [`Transport`] of the local master: subscriptions and calls travel over the
//! master's command channel instead of HTTP.

use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

use crate::transport::{BoxFuture, CallSink, Connection, Transport, TransportError};
use crate::v1::scheduler::Call;
use crate::v1::{FrameworkId, FrameworkInfo};

use super::master::Command;

pub(crate) struct LocalTransport {
    pub master: mpsc::Sender<Command>,
}

impl Transport for LocalTransport {
    fn subscribe(&self, framework_info: FrameworkInfo) -> BoxFuture<'_, Result<Connection, TransportError>> {
        Box::pin(ask(&self.master, |reply| Command::Subscribe {
            info: Box::new(framework_info),
            reply,
        }))
    }
}

/// The calls side of one subscription; stamps the framework id on each call.
pub(crate) struct LocalCaller {
    pub master: mpsc::Sender<Command>,
    pub framework_id: String,
    pub stream_id: Uuid,
}

impl CallSink for LocalCaller {
    fn call(&self, mut call: Call) -> BoxFuture<'_, Result<(), TransportError>> {
        Box::pin(async move {
            if let Some(id) = &call.framework_id
                && id.value != self.framework_id
            {
                return Err(TransportError::Refused(format!(
                    "Call's framework id {} does not match the subscribed framework {}",
                    id.value, self.framework_id
                )));
            }
            call.framework_id = Some(FrameworkId {
                value: self.framework_id.clone(),
            });
            let framework_id = self.framework_id.clone();
            let stream_id = self.stream_id;
            ask(&self.master, |reply| Command::Call {
                framework_id,
                stream_id,
                call: Box::new(call),
                reply,
            })
            .await
        })
    }
}

/// Sends the master the command `make` builds around a reply channel and waits for its answer;
/// a master that is gone is a disconnection.
async fn ask<T>(
    master: &mpsc::Sender<Command>,
    make: impl FnOnce(oneshot::Sender<Result<T, TransportError>>) -> Command,
) -> Result<T, TransportError> {
    let (reply, answer) = oneshot::channel();
    master
        .send(make(reply))
        .await
        .map_err(|_| TransportError::Disconnected)?;
    answer.await.map_err(|_| TransportError::Disconnected)?
}

pub(crate) fn transport(master: mpsc::Sender<Command>) -> Arc<dyn Transport> {
    Arc::new(LocalTransport { master })
}
