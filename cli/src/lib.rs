//! The pacer command line client: apply, get, scale, delete.
