//! Read-modify-write against the store with optimistic concurrency: the API, the driver and
//! the reconcilers all change instance records, so each write is guarded by the revisions it
//! read, and re-planned from fresh state when another write got there first.

use store::{State, Store, WriteOutcome, WriteRequest};

/// How often a write is re-planned before the caller is told to try again later.
const ATTEMPTS: usize = 20;

#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error(transparent)]
    Store(#[from] store::Error),
    /// Every attempt lost a race; the caller should retry later.
    #[error("write kept conflicting with concurrent changes")]
    Contended,
}

/// Plans a write from the current state with `plan` and applies it; re-plans on conflict.
/// `plan` returns `None` when there is nothing to write. Returns what the applied plan said.
pub(crate) async fn write_planned<T>(
    store: &Store,
    mut plan: impl FnMut(&State) -> Option<(WriteRequest, T)>,
) -> Result<Option<T>, WriteError> {
    for _ in 0..ATTEMPTS {
        let Some((req, out)) = store.read(&mut plan) else {
            return Ok(None);
        };
        if req.ops.is_empty() {
            return Ok(Some(out));
        }
        match store.write(req).await? {
            WriteOutcome::Applied { .. } => return Ok(Some(out)),
            WriteOutcome::Conflict { .. } => continue,
        }
    }
    Err(WriteError::Contended)
}
