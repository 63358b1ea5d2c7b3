//! Pacer's resource types: what users declare (apps) and what the cluster records about them
//! (instances, deployments), with Marathon's field names, defaults, normalisation and validation.
//!
//! This crate does no I/O: it knows nothing about tokio, HTTP, storage or Mesos.

mod app;
pub mod group;
mod health;
pub mod metrics;
pub mod normalize;
pub mod offers;
mod path_id;
pub mod placement;
pub mod plan;
pub mod pod;
mod records;
pub mod schema;
mod timestamp;
pub mod update;
pub mod upgrade;
pub mod validate;
pub mod violation;

pub use app::*;
pub use group::{GroupDefinition, GroupRecord, group_json_schema, normalize_group, normalize_group_in};
pub use health::*;
pub use normalize::{DEFAULT_ROLE, normalize_app};
pub use path_id::{PathId, PathIdError};
pub use plan::{DependencyCycle, app_change_steps, dependency_levels, merge_steps, pod_change_steps};
pub use pod::{PodDefinition, normalize_pod, validate_pod};
pub use records::*;
pub use schema::{app_json_schema, pod_json_schema};
pub use timestamp::Timestamp;
pub use update::{is_scale_only, merge_app_update, same_spec};
pub use upgrade::{RestartStrategy, restart_strategy};
pub use validate::{Constraint, ConstraintError, ConstraintOperator, validate_app, validate_constraints};
pub use violation::{Violation, group_violations};
