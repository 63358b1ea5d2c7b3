//! The error type of the end-to-end helpers.

use std::path::PathBuf;
use std::time::Duration;

/// What can go wrong while starting, driving or checking a server.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The `pacer` binary is not where it was looked for.
    #[error("no pacer binary at {}: build it first (cargo build -p pacer-server, same profile as the tests) or set PACER_BIN", path.display())]
    BinaryMissing { path: PathBuf },

    /// A file or process operation failed.
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },

    /// The server exited before it answered `/ping`.
    #[error("pacer server exited with {status} before answering /ping; its output:\n{log}")]
    ServerExited {
        status: std::process::ExitStatus,
        log: String,
    },

    /// The server did not answer `/ping` in time.
    #[error("pacer server did not answer /ping within {timeout:?}; its output:\n{log}")]
    NotReady { timeout: Duration, log: String },

    /// An HTTP request could not be made or its answer not read.
    #[error("{method} {url}: {source}")]
    Http {
        method: String,
        url: String,
        #[source]
        source: reqwest::Error,
    },

    /// The `pacer` client exited with another code than the test wanted.
    #[error("pacer {command}: exit {code:?}, wanted {wanted}\nstdout: {stdout}\nstderr: {stderr}")]
    UnexpectedExit {
        command: String,
        code: Option<i32>,
        wanted: i32,
        stdout: String,
        stderr: String,
    },

    /// A `docker` command failed.
    #[error("docker {command}: {stderr}")]
    Docker { command: String, stderr: String },

    /// [`crate::wait_until`] ran out of time.
    #[error("condition not met within {0:?}")]
    Timeout(Duration),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

pub(crate) fn io(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> Error {
    let context = context.into();
    move |source| Error::Io { context, source }
}
