//! The JSON Schemas of Pacer's app and pod definitions, generated from the Rust types.

use crate::{AppDefinition, PodDefinition};

/// JSON Schema (draft 2020-12) of an app definition as Pacer reads it (`pacer schema app`).
pub fn app_json_schema() -> serde_json::Value {
    schemars::schema_for!(AppDefinition).to_value()
}

/// JSON Schema (draft 2020-12) of a pod definition as Pacer reads it (`pacer schema pod`).
pub fn pod_json_schema() -> serde_json::Value {
    schemars::schema_for!(PodDefinition).to_value()
}
