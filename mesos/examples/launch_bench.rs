//! Launch-rate benchmark of the local master: N tasks of `sleep 600` from one ACCEPT, timed
//! until all are RUNNING (every update acknowledged), then torn down.
//!
//! `cargo run --release -p pacer-mesos --example launch_bench -- 1000`

use std::collections::HashSet;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use mesos::local::{AgentConfig, LocalMaster, LocalMasterConfig};
use mesos::v1::scheduler::{Call, call, event};
use mesos::v1::{AgentId, CommandInfo, FrameworkInfo, Resource, TaskId, TaskInfo, TaskState, offer, value};

fn scalar(name: &str, v: f64) -> Resource {
    Resource {
        name: name.into(),
        r#type: value::Type::Scalar as i32,
        scalar: Some(value::Scalar { value: v }),
        ..Default::default()
    }
}

#[tokio::main]
async fn main() -> Result<()> {
    let n: usize = std::env::args().nth(1).map(|a| a.parse()).transpose()?.unwrap_or(1000);
    let dir = tempfile::tempdir()?;
    let mut agent = AgentConfig::this_machine(dir.path());
    agent.resources.cpus = n as f64;
    agent.resources.mem = n as f64 * 10.0;
    let config = LocalMasterConfig {
        agents: vec![agent],
        ..LocalMasterConfig::new(dir.path())
    };
    let master = LocalMaster::start(config).await?;
    let info = FrameworkInfo {
        user: "root".into(),
        name: "bench".into(),
        ..Default::default()
    };
    let mut conn = master.transport().subscribe(info).await?;
    let offer = loop {
        let event = conn.events.recv().await.context("stream ended")?;
        if event.r#type() == event::Type::Offers {
            break event.offers.unwrap().offers.remove(0);
        }
    };
    let tasks: Vec<TaskInfo> = (0..n)
        .map(|i| TaskInfo {
            name: format!("t{i}"),
            task_id: TaskId { value: format!("t{i}") },
            agent_id: AgentId {
                value: offer.agent_id.value.clone(),
            },
            resources: vec![scalar("cpus", 1.0), scalar("mem", 1.0)],
            command: Some(CommandInfo {
                value: Some("sleep".into()),
                shell: Some(false),
                arguments: vec!["sleep".into(), "600".into()],
                ..Default::default()
            }),
            ..Default::default()
        })
        .collect();
    let started = Instant::now();
    conn.caller
        .call(Call {
            r#type: Some(call::Type::Accept as i32),
            accept: Some(call::Accept {
                offer_ids: vec![offer.id.clone()],
                operations: vec![offer::Operation {
                    r#type: Some(offer::operation::Type::Launch as i32),
                    launch: Some(offer::operation::Launch { task_infos: tasks }),
                    ..Default::default()
                }],
                filters: None,
            }),
            ..Default::default()
        })
        .await?;
    let mut running = HashSet::new();
    let mut pids = Vec::new();
    while running.len() < n {
        let event = tokio::time::timeout(Duration::from_secs(60), conn.events.recv())
            .await?
            .context("stream ended")?;
        let Some(update) = event.update else { continue };
        let status = update.status;
        if let Some(uuid) = status.uuid.clone() {
            let ack = call::Acknowledge {
                agent_id: status.agent_id.clone().unwrap(),
                task_id: status.task_id.clone(),
                uuid,
            };
            conn.caller
                .call(Call {
                    r#type: Some(call::Type::Acknowledge as i32),
                    acknowledge: Some(ack),
                    ..Default::default()
                })
                .await?;
        }
        match status.state() {
            TaskState::TaskRunning => {
                pids.extend(status.container_status.as_ref().and_then(|c| c.executor_pid));
                running.insert(status.task_id.value);
            }
            TaskState::TaskStarting => {}
            other => bail!("task {} went {other:?}: {:?}", status.task_id.value, status.message),
        }
    }
    let elapsed = started.elapsed();
    println!(
        "{n} tasks RUNNING in {elapsed:?}: {:.0} launches/s",
        n as f64 / elapsed.as_secs_f64()
    );
    let teardown = Instant::now();
    conn.caller
        .call(Call {
            r#type: Some(call::Type::Teardown as i32),
            ..Default::default()
        })
        .await?;
    for pid in pids {
        while std::path::Path::new(&format!("/proc/{pid}")).exists()
            && !std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .unwrap_or_default()
                .contains(") Z")
        {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
    println!("all {n} killed {:?} after TEARDOWN", teardown.elapsed());
    master.shutdown().await;
    Ok(())
}
