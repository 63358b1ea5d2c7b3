//! Whether this node may act as the leader: it is raft's leader and a quorum confirmed that
//! within the last check. Raft alone lets a leader cut off from its peers believe it leads
//! until it hears of a newer term; acting on that belief would be split brain.

use std::time::Duration;

use openraft::{Raft, ServerState};
use tokio::sync::watch;

use crate::TypeConfig;

/// How often leadership is confirmed with a quorum.
const CHECK_EVERY: Duration = Duration::from_millis(500);
/// How long a confirmation may take before leadership counts as lost. Below raft's election
/// timeout (1-2 s): the old leader stops acting before the others can elect a new one.
const CONFIRM_WITHIN: Duration = Duration::from_millis(900);

pub(crate) fn spawn(raft: Raft<TypeConfig>, node_id: u64) -> watch::Receiver<bool> {
    let (tx, rx) = watch::channel(false);
    tokio::spawn(async move {
        let mut metrics = raft.metrics();
        loop {
            let leads = {
                let m = metrics.borrow_and_update();
                m.state == ServerState::Leader && m.current_leader == Some(node_id)
            };
            let confirmed = leads
                && matches!(
                    tokio::time::timeout(CONFIRM_WITHIN, raft.ensure_linearizable()).await,
                    Ok(Ok(_))
                );
            tx.send_if_modified(|acting| {
                let changed = *acting != confirmed;
                *acting = confirmed;
                changed
            });
            if tx.is_closed() {
                return;
            }
            tokio::select! {
                () = tokio::time::sleep(CHECK_EVERY) => {}
                changed = metrics.changed() => if changed.is_err() { return },
            }
        }
    });
    rx
}
