//! The JSON Schema of Pacer's app definition, generated from the Rust types.

use crate::AppDefinition;

/// JSON Schema (draft 2020-12) of an app definition as Pacer reads it (`pacer schema app`).
pub fn app_json_schema() -> serde_json::Value {
    schemars::schema_for!(AppDefinition).to_value()
}
