//! Pacer's resource types: what users declare (apps) and what the cluster records about them
//! (instances, deployments), with Marathon's field names, defaults, normalisation and validation.
//!
//! This crate does no I/O: it knows nothing about tokio, HTTP, storage or Mesos.

mod app;
mod path_id;
mod records;
mod timestamp;

pub use app::*;
pub use path_id::{PathId, PathIdError};
pub use records::*;
pub use timestamp::Timestamp;
