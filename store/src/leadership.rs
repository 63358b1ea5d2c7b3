//! Whether this node may act as the leader: it is raft's leader and holds a lease a quorum
//! granted it. Raft alone lets a leader cut off from its peers believe it leads until it
//! hears of a newer term; acting on that belief would be split brain.
//!
//! The lease: when a quorum confirms this node's leadership in a round that started at `t`,
//! every follower of that quorum heard from it at `t` or later, and openraft's followers
//! refuse to vote for anyone else until their election timeout (at least
//! `election_timeout_min`) has passed since. No other leader can exist before
//! `t + election_timeout_min`, so this node acts until `t + LEASE` with `LEASE` below that,
//! and stops at that instant even while a confirmation is still in flight. A server that is
//! the cluster's only voter acts whenever it leads.

use std::time::Duration;

use openraft::{Raft, ServerState};
use tokio::sync::watch;
use tokio::time::Instant;

use crate::TypeConfig;

/// How often leadership is confirmed with a quorum (raft's heartbeat interval).
const CHECK_EVERY: Duration = Duration::from_millis(250);
/// How long one confirmation lets this node act, from the moment the round started. Raft's
/// `election_timeout_min` is 1 s: the margin covers scheduling delays and clock drift.
const LEASE: Duration = Duration::from_millis(700);

/// Starts confirming leadership; `confirmed` says a quorum has just confirmed it (a server on
/// its own that [`crate::Store::open`] saw lead), so that it acts from the first moment.
pub(crate) fn spawn(raft: Raft<TypeConfig>, node_id: u64, confirmed: bool) -> watch::Receiver<bool> {
    let (tx, rx) = watch::channel(confirmed);
    let set = move |acting: bool| {
        tx.send_if_modified(|current| std::mem::replace(current, acting) != acting);
        !tx.is_closed()
    };
    tokio::spawn(async move {
        let mut metrics = raft.metrics();
        let mut lease_until = if confirmed {
            Instant::now() + LEASE
        } else {
            Instant::now()
        };
        loop {
            let (leads, alone) = {
                let m = metrics.borrow_and_update();
                let voters: Vec<u64> = m.membership_config.membership().voter_ids().collect();
                (
                    m.state == ServerState::Leader && m.current_leader == Some(node_id),
                    voters == [node_id],
                )
            };
            if alone {
                // The only voter: nobody else can be elected, so leading is acting. Confirming
                // would only let a busy machine's slow round stop a lone server.
                if !set(leads) {
                    return;
                }
                if metrics.changed().await.is_err() {
                    return;
                }
                continue;
            }
            if !leads {
                // A lease granted in an earlier term says nothing once another node leads.
                lease_until = Instant::now();
            }
            if !set(leads && Instant::now() < lease_until) {
                return;
            }
            let round = Instant::now();
            if leads {
                let confirm = tokio::time::timeout(LEASE, raft.ensure_linearizable());
                tokio::pin!(confirm);
                let confirmed = loop {
                    tokio::select! {
                        result = &mut confirm => break matches!(result, Ok(Ok(_))),
                        // The lease runs out before the quorum has answered.
                        () = tokio::time::sleep_until(lease_until), if Instant::now() < lease_until => {
                            if !set(false) { return }
                        }
                    }
                };
                if confirmed {
                    lease_until = round + LEASE;
                }
                if !set(Instant::now() < lease_until) {
                    return;
                }
            }
            let next = round + CHECK_EVERY;
            let wake = if lease_until > Instant::now() {
                next.min(lease_until)
            } else {
                next
            };
            tokio::select! {
                () = tokio::time::sleep_until(wake) => {}
                changed = metrics.changed() => if changed.is_err() { return },
            }
        }
    });
    rx
}
