//! The event stream of the real server: scaling an app shows up on `/v2/events` in order,
//! with the ids of the task processes the server really started, and a client that went
//! away catches up with `Last-Event-ID`.

use std::collections::BTreeSet;
use std::time::Duration;

use anyhow::{Context, Result, bail, ensure};
use nix::sys::signal::Signal;
use pacer_e2e::{EventStream, Frame, PacerServer, wait_until};
use serde_json::json;

/// Generous: a debug build on a busy 2-core machine.
const LAUNCH: Duration = Duration::from_secs(60);

fn open_stream(server: &PacerServer, last_event_id: Option<u64>) -> Result<EventStream> {
    Ok(EventStream::open(server.url(), last_event_id)?)
}

/// Frames until (and including) the first one `stop` accepts.
fn read_until(rx: &EventStream, stop: impl FnMut(&Frame) -> bool) -> Result<Vec<Frame>> {
    Ok(rx.read_until(LAUNCH, stop)?)
}

fn position(frames: &[Frame], what: &str, pick: impl Fn(&Frame) -> bool) -> Result<usize> {
    frames
        .iter()
        .position(pick)
        .with_context(|| format!("no {what} in {:?}", events(frames)))
}

fn events(frames: &[Frame]) -> Vec<&str> {
    frames.iter().map(|f| f.event.as_str()).collect()
}

fn no_deployments(server: &PacerServer) -> Result<()> {
    wait_until(LAUNCH, || {
        let r = server.get("/v2/deployments").ok()?;
        (r.status == 200 && r.body.as_array().is_some_and(Vec::is_empty)).then_some(())
    })
    .context("deployments did not finish")
}

#[test]
fn scaling_an_app_streams_its_events_and_a_reconnect_replays_what_was_missed() -> Result<()> {
    let server = PacerServer::start()?;
    let app = json!({"id": "/ev", "cmd": "sleep 1000", "cpus": 0.05, "mem": 16, "instances": 1});
    let r = server.post("/v2/apps", &app)?;
    ensure!(r.status == 201, "create: {} {}", r.status, r.body);
    let first = wait_until(LAUNCH, || Some(server.task_ids("/ev")).filter(|ids| ids.len() == 1))
        .context("the first task did not start")?;
    no_deployments(&server)?;

    let rx = open_stream(&server, None)?;
    let attached = read_until(&rx, |_| true)?.remove(0);
    ensure!(attached.event == "event_stream_attached", "first frame: {attached:?}");
    ensure!(attached.data["remoteAddress"] == "127.0.0.1", "{attached:?}");

    let r = server.put("/v2/apps/ev", &json!({"instances": 3}))?;
    ensure!(r.status == 200, "scale: {} {}", r.status, r.body);
    let deployment = r.body["deploymentId"].as_str().context("no deploymentId")?.to_string();

    // Read until the deployment starts, then go away for the rest of it.
    let before = read_until(&rx, |f| {
        f.event == "deployment_info" && f.data["plan"]["id"] == deployment.as_str()
    })?;
    let post = position(&before, "api_post_event", |f| f.event == "api_post_event")?;
    ensure!(
        before[post].data["appDefinition"]["instances"] == 3,
        "{:?}",
        before[post]
    );
    ensure!(before[post].data["uri"] == "/v2/apps/ev", "{:?}", before[post]);
    let last_seen = before.last().map(|f| f.id).context("no frames")?;
    drop(rx);

    let tasks = wait_until(LAUNCH, || Some(server.task_ids("/ev")).filter(|ids| ids.len() == 3))
        .context("scaling did not start two more tasks")?;
    ensure!(
        first.is_subset(&tasks),
        "scaling replaced tasks: {first:?} -> {tasks:?}"
    );
    no_deployments(&server)?;

    // Back with the last id seen: the missed events first, in order, then the attach.
    let rx = open_stream(&server, Some(last_seen))?;
    let missed = read_until(&rx, |f| f.event == "event_stream_attached" && f.id > attached.id)?;
    for (i, f) in missed.iter().enumerate() {
        ensure!(
            f.id == last_seen + 1 + i as u64,
            "ids must continue without a gap: {:?}",
            events(&missed)
        );
    }
    let running: BTreeSet<String> = missed
        .iter()
        .filter(|f| f.event == "status_update_event" && f.data["taskStatus"] == "TASK_RUNNING")
        .filter_map(|f| f.data["taskId"].as_str().map(String::from))
        .collect();
    let new: BTreeSet<String> = tasks.difference(&first).cloned().collect();
    ensure!(
        running == new,
        "TASK_RUNNING updates {running:?} should name the new tasks {new:?}"
    );
    let last_running = missed
        .iter()
        .rposition(|f| f.event == "status_update_event" && f.data["taskStatus"] == "TASK_RUNNING")
        .context("no status update")?;
    let success = position(&missed, "deployment_success", |f| {
        f.event == "deployment_success" && f.data["id"] == deployment.as_str()
    })?;
    if success < last_running {
        bail!("the deployment succeeded before its tasks ran: {:?}", events(&missed));
    }
    let status = &missed[last_running].data;
    ensure!(
        status["appId"] == "/ev" && status["ports"].is_array() && status["slaveId"].is_string(),
        "{status}"
    );

    // An open stream does not hold up a graceful stop: the server ends it and exits itself
    // (the harness would SIGKILL it, and log nothing more, after its timeout).
    let mut server = server;
    server.stop_server_only(Signal::SIGTERM)?;
    while rx
        .next(LAUNCH)
        .context("the stream stayed open after the server stopped")?
        .is_some()
    {}
    ensure!(
        server.log().contains("shutting down"),
        "no graceful shutdown:\n{}",
        server.log()
    );
    Ok(())
}

/// A callback subscriber: answers every POST with 200 and hands over its JSON body.
fn callback_receiver() -> Result<(String, std::sync::mpsc::Receiver<serde_json::Value>)> {
    use std::io::{BufRead, BufReader, Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    let url = format!("http://{}/events", listener.local_addr()?);
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { return };
            let mut reader = BufReader::new(conn.try_clone().expect("clone a socket"));
            let mut length = 0;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 {
                    break;
                }
                let line = line.trim_end();
                if line.is_empty() {
                    break;
                }
                if let Some((name, value)) = line.split_once(':')
                    && name.eq_ignore_ascii_case("content-length")
                {
                    length = value.trim().parse().unwrap_or(0);
                }
            }
            let mut body = vec![0; length];
            if reader.read_exact(&mut body).is_ok()
                && let Ok(event) = serde_json::from_slice(&body)
                && tx.send(event).is_err()
            {
                return;
            }
            let _ = conn.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
        }
    });
    Ok((url, rx))
}

/// Waits for a callback event that `pick` accepts.
fn delivered(
    rx: &std::sync::mpsc::Receiver<serde_json::Value>,
    pick: impl Fn(&serde_json::Value) -> bool,
) -> Result<()> {
    let deadline = std::time::Instant::now() + LAUNCH;
    loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        let event = rx.recv_timeout(left).context("no matching callback event")?;
        if pick(&event) {
            return Ok(());
        }
    }
}

#[test]
fn a_callback_subscriber_receives_events_and_survives_a_restart() -> Result<()> {
    let mut server = PacerServer::start()?;
    let (url, rx) = callback_receiver()?;
    let r = server.post(&format!("/v2/eventSubscriptions?callbackUrl={url}"), &json!({}))?;
    ensure!(r.status == 200, "subscribe: {} {}", r.status, r.body);
    let app = json!({"id": "/cb", "cmd": "sleep 1000", "cpus": 0.05, "mem": 16, "instances": 1});
    ensure!(server.post("/v2/apps", &app)?.status == 201);
    let running = |e: &serde_json::Value| {
        e["eventType"] == "status_update_event" && e["appId"] == "/cb" && e["taskStatus"] == "TASK_RUNNING"
    };
    delivered(&rx, |e| {
        e["eventType"] == "api_post_event" && e["appDefinition"]["id"] == "/cb"
    })?;
    delivered(&rx, running)?;
    delivered(&rx, |e| e["eventType"] == "deployment_success")?;

    // The subscription is in the store: a restarted server still delivers.
    server.restart()?;
    let r = server.get("/v2/eventSubscriptions")?;
    ensure!(r.body["callbackUrls"] == json!([url]), "{}", r.body);
    ensure!(server.put("/v2/apps/cb", &json!({"instances": 2}))?.status == 200);
    let before = server.task_ids("/cb");
    delivered(&rx, |e| {
        running(e) && e["taskId"].as_str().is_some_and(|id| !before.contains(id))
    })?;
    Ok(())
}
