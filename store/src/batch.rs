//! Group commit: writes that arrive while a raft entry is being made durable share the next
//! entry, so concurrent writers pay for one fsync together instead of one each.
//!
//! openraft 0.9 appends and flushes each client write on its own before it looks at the next,
//! so batching has to happen before raft. One task feeds raft: it proposes whatever is queued
//! (up to [`MAX_BATCH`] requests) as one [`Batch`], waits for it to be applied, and repeats.

use openraft::Raft;
use openraft::error::{ClientWriteError, RaftError};
use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, oneshot};

use crate::state::{WriteOutcome, WriteRequest};
use crate::{Error, Result, TypeConfig};

/// The most requests one raft entry carries; bounds entry size and apply latency.
pub const MAX_BATCH: usize = 256;

/// How many writes may wait for the batcher before writers feel back-pressure.
const QUEUE: usize = 4 * MAX_BATCH;

/// The payload of a raft entry: requests applied one after another, each all or nothing.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Batch {
    pub requests: Vec<WriteRequest>,
}

pub(crate) type Reply = oneshot::Sender<Result<WriteOutcome>>;

/// Starts the batcher; it stops when every returned sender is dropped.
pub(crate) fn spawn(raft: Raft<TypeConfig>) -> mpsc::Sender<(WriteRequest, Reply)> {
    let (tx, rx) = mpsc::channel(QUEUE);
    tokio::spawn(run(raft, rx));
    tx
}

async fn run(raft: Raft<TypeConfig>, mut rx: mpsc::Receiver<(WriteRequest, Reply)>) {
    let mut queued = Vec::with_capacity(MAX_BATCH);
    while rx.recv_many(&mut queued, MAX_BATCH).await > 0 {
        let (requests, replies): (Vec<_>, Vec<_>) = queued.drain(..).unzip();
        let count = requests.len();
        match raft.client_write(Batch { requests }).await {
            Ok(resp) if resp.data.len() == count => {
                for (reply, outcome) in replies.into_iter().zip(resp.data) {
                    // The writer may have stopped waiting; its write still happened.
                    let _ = reply.send(Ok(outcome));
                }
            }
            Ok(resp) => {
                let msg = format!("a batch of {count} writes produced {} outcomes", resp.data.len());
                tracing::error!("{msg}");
                for reply in replies {
                    let _ = reply.send(Err(Error::Unavailable(msg.clone())));
                }
            }
            Err(e) => {
                for reply in replies {
                    let _ = reply.send(Err(write_error(&e)));
                }
            }
        }
    }
}

fn write_error(e: &RaftError<u64, ClientWriteError<u64, openraft::BasicNode>>) -> Error {
    match e {
        RaftError::APIError(ClientWriteError::ForwardToLeader(_)) => Error::NotLeader,
        other => Error::Unavailable(other.to_string()),
    }
}
