//! Helpers shared by the CLI's end-to-end tests (`cli*.rs`): run the `pacer` client against a
//! server with an expected exit code, read its output, wait for deployments to finish.

#![allow(dead_code, unreachable_pub)]

use std::process::Output;
use std::time::Duration;

use anyhow::{Context, Result};
use pacer_e2e::{PacerServer, wait_until};

pub const LAUNCH: Duration = Duration::from_secs(60);

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Runs the client and requires exit code `code`.
pub fn pacer(server: &PacerServer, args: &[&str], code: i32) -> Result<Output> {
    Ok(server.pacer_exit(args, code)?)
}

/// Waits until no deployment is left.
pub fn wait_idle(server: &PacerServer) -> Result<()> {
    wait_until(LAUNCH, || {
        let r = server.get("/v2/deployments").ok()?;
        r.body.as_array().is_some_and(Vec::is_empty).then_some(())
    })
    .context("deployments should finish")
}
