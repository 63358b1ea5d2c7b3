//! A small controller runtime in the shape of kube-runtime's: triggers name keys, a
//! [`scheduler`] delays and de-duplicates them, and the [`applier`] runs the reconciler, never
//! twice at once for one key, requeueing as the returned [`Action`] says.

mod action;
mod applier;
mod scheduler;

pub use action::Action;
pub use applier::{Applier, ReconcileError};
pub use scheduler::Scheduler;
