//! `pacer cluster`: the Pacer servers of a raft cluster, and changing who belongs to it.

use std::io::Write;
use std::process::ExitCode;

use serde_json::{Value, json};

use crate::client::Client;
use crate::error::{Error, Result};

#[derive(clap::Args, Debug, Clone)]
pub struct ClusterArgs {
    #[command(subcommand)]
    pub action: Option<ClusterAction>,
}

#[derive(clap::Subcommand, Debug, Clone)]
pub enum ClusterAction {
    /// List the members, which one leads, and which vote (the default).
    Members,
    /// Add server ID, whose API listens at ADDRESS (host:port); returns once it votes.
    Add { id: u64, address: String },
    /// Remove server ID from the cluster.
    Remove { id: u64 },
}

pub(crate) async fn run(client: &Client, args: &ClusterArgs, out: &mut dyn Write) -> Result<ExitCode> {
    let view = match args.action.clone().unwrap_or(ClusterAction::Members) {
        ClusterAction::Members => client.get("/v2/cluster").await?,
        ClusterAction::Add { id, address } => {
            let body = json!({"id": id, "address": address});
            client.post("/v2/cluster/members", Some(&body)).await?.body
        }
        ClusterAction::Remove { id } => client.delete(&format!("/v2/cluster/members/{id}")).await?.body,
    };
    print_members(&view, out).map_err(Error::Output)?;
    Ok(ExitCode::SUCCESS)
}

fn print_members(view: &Value, out: &mut dyn Write) -> std::io::Result<()> {
    let leader = view["leader"].as_u64();
    writeln!(out, "{:<6} {:<28} {:<8} LEADER", "ID", "ADDRESS", "VOTER")?;
    for m in view["members"].as_array().into_iter().flatten() {
        let id = m["id"].as_u64().unwrap_or_default();
        writeln!(
            out,
            "{:<6} {:<28} {:<8} {}",
            id,
            m["address"].as_str().unwrap_or_default(),
            if m["voter"] == true { "yes" } else { "no" },
            if leader == Some(id) { "*" } else { "" }
        )?;
    }
    Ok(())
}
