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
        Box::pin(async move {
            let (reply, answer) = oneshot::channel();
            let command = Command::Subscribe {
                info: Box::new(framework_info),
                reply,
            };
            self.master
                .send(command)
                .await
                .map_err(|_| TransportError::Disconnected)?;
            answer.await.map_err(|_| TransportError::Disconnected)?
        })
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
            let (reply, answer) = oneshot::channel();
            let command = Command::Call {
                framework_id: self.framework_id.clone(),
                stream_id: self.stream_id,
                call: Box::new(call),
                reply,
            };
            self.master
                .send(command)
                .await
                .map_err(|_| TransportError::Disconnected)?;
            answer.await.map_err(|_| TransportError::Disconnected)?
        })
    }
}

pub(crate) fn transport(master: mpsc::Sender<Command>) -> Arc<dyn Transport> {
    Arc::new(LocalTransport { master })
}
