//! Launch benchmark: one app with N instances of `sleep 600` (default 100; first argument),
//! from the POST to all N RUNNING, and the server's peak RSS. Prints figures; asserts nothing.
//!
//! Run: `scripts/bench launch [N]` (builds the release binary, then this).

use std::time::{Duration, Instant};

use pacer_e2e::{PacerServer, wait_until};
use serde_json::json;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let n: u64 = std::env::args().skip(1).find_map(|a| a.parse().ok()).unwrap_or(100);
    let server = PacerServer::start()?;
    // Small shares so that N instances fit any machine's offer.
    let cpus = (1.0 / n as f64).min(0.01);
    let app =
        json!({"id": "/bench", "cmd": "sleep 600", "cpus": cpus, "mem": 1, "instances": n, "portDefinitions": []});

    let start = Instant::now();
    let r = server.post("/v2/apps", &app)?;
    let posted = start.elapsed();
    if r.status != 201 {
        return Err(format!("create answered {}: {}", r.status, r.body).into());
    }
    wait_until(Duration::from_secs(300), || {
        let r = server.get("/v2/apps/bench").ok()?;
        (r.body["app"]["tasksRunning"] == n).then_some(())
    })?;
    let all_running = start.elapsed();
    let processes = server.task_processes("/bench").len();

    let status = std::fs::read_to_string(format!("/proc/{}/status", server.pid()))?;
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .map(|l| l[name.len()..].trim().to_string())
            .unwrap_or_default()
    };
    println!("instances:               {n}");
    println!("POST /v2/apps answered:  {:.1} ms", posted.as_secs_f64() * 1e3);
    println!("all RUNNING after:       {:.3} s", all_running.as_secs_f64());
    println!(
        "launch rate:             {:.0} tasks/s",
        n as f64 / all_running.as_secs_f64()
    );
    println!("task processes seen:     {processes}");
    println!("server peak RSS (VmHWM): {}", field("VmHWM:"));
    println!("server RSS now (VmRSS):  {}", field("VmRSS:"));
    Ok(())
}
