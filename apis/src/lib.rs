//! Pacer's Marathon-compatible REST API (axum).
