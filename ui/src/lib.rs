//! Pacer's web UI assets, embedded in the server binary.
