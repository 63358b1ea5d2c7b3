//! Helpers for the end-to-end tests in `tests/`: run the real `pacer` binary, talk to it over
//! HTTP, and check what it did to the operating system.
//!
//! ```no_run
//! use std::time::Duration;
//! use pacer_e2e::{PacerServer, wait_until};
//!
//! let server = PacerServer::start()?;
//! server.post("/v2/apps", &serde_json::json!({"id": "/hello", "cmd": "sleep 1000"}))?;
//! wait_until(Duration::from_secs(30), || (server.task_ids("/hello").len() == 1).then_some(()))?;
//! # Ok::<(), pacer_e2e::Error>(())
//! ```
//!
//! # Which binary
//! [`pacer_bin`] is `$PACER_BIN` when set, else the `pacer` next to the running test's own
//! build directory (`target/<profile>/pacer` for `target/<profile>/deps/<test>`), so a test
//! uses the server built with the same profile. Cargo does not build another package's binary
//! for a test, so build it first: `cargo build -p pacer-server` (with `--release` for a
//! release test run); `scripts/test` does so.

pub mod docker;
mod error;
mod http;
mod master;
mod port_slots;
mod procs;
mod server;
mod sse;
pub mod storm;

use std::time::{Duration, Instant};

pub use error::{Error, Result};
pub use http::Response;
pub use master::MesosMaster;
pub use nix::unistd::Pid;
pub use procs::{TaskProcess, process_alive, process_group_of, task_processes_under};
pub use server::{PacerServer, pacer_bin};
pub use sse::{EventStream, Frame};

/// Polls `probe` every 100 ms until it returns `Some`, or fails with [`Error::Timeout`] once
/// `timeout` has passed.
pub fn wait_until<T>(timeout: Duration, mut probe: impl FnMut() -> Option<T>) -> Result<T> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(value) = probe() {
            return Ok(value);
        }
        if Instant::now() >= deadline {
            return Err(Error::Timeout(timeout));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wait_until_returns_the_value_or_times_out() {
        let mut n = 0;
        let v = wait_until(Duration::from_secs(5), || {
            n += 1;
            (n == 3).then_some(n)
        });
        assert_eq!(v.unwrap(), 3);
        let start = Instant::now();
        assert!(matches!(
            wait_until(Duration::from_millis(250), || None::<()>),
            Err(Error::Timeout(_))
        ));
        assert!(start.elapsed() >= Duration::from_millis(250));
    }
}
