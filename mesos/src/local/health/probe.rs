//! One health check of a task: a command in the task's environment and sandbox, an HTTP(S)
//! GET, or a TCP connect. The caller bounds each with the check's timeout by dropping it.

use std::collections::{BTreeMap, HashMap};
use std::error::Error as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Stdio;

use nix::sys::signal::Signal;

use crate::local::executor;
use crate::v1::CommandInfo;

pub(crate) enum Probe {
    Command {
        command: CommandInfo,
        env: BTreeMap<String, String>,
        cwd: PathBuf,
    },
    Http {
        client: reqwest::Client,
        url: String,
        statuses: Vec<u32>,
    },
    Tcp(SocketAddr),
}

impl Probe {
    /// Runs one check: `Ok` if healthy, else why not. Dropping the future (a timeout, the task
    /// ending) kills the check command's whole process group.
    pub(crate) async fn run(&self) -> Result<(), String> {
        match self {
            Probe::Command { command, env, cwd } => run_command(command, env, cwd).await,
            Probe::Http { client, url, statuses } => get(client, url, statuses).await,
            Probe::Tcp(addr) => tokio::net::TcpStream::connect(addr)
                .await
                .map(drop)
                .map_err(|e| format!("cannot connect to {addr}: {e}")),
        }
    }
}

/// The client HTTP(S) checks share: no proxy (the target is the loopback), no redirects (a 3xx
/// is an answer in itself), no pooled connections (each check opens its own, as curl does for
/// Mesos) and, as Mesos's `curl -k`, no certificate verification.
pub(crate) fn http_client() -> Result<reqwest::Client, String> {
    reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .pool_max_idle_per_host(0)
        .danger_accept_invalid_certs(true)
        .build()
        .map_err(|e| format!("cannot build the HTTP health check client: {e}"))
}

/// SIGKILLs a process group when dropped: nothing a check started outlives it.
struct GroupGuard(u32);

impl Drop for GroupGuard {
    fn drop(&mut self) {
        executor::signal_group(self.0, Signal::SIGKILL);
    }
}

async fn run_command(command: &CommandInfo, env: &BTreeMap<String, String>, cwd: &PathBuf) -> Result<(), String> {
    let path = env.get("PATH").map(String::as_str);
    let mut cmd = executor::build_command(command, path, &mut HashMap::new());
    cmd.env_clear()
        .envs(env)
        .current_dir(cwd)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0);
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("cannot start the health check command: {e}"))?;
    // A child dropped unwaited is reaped by tokio in the background; its group is ours to kill.
    let _group = child.id().map(GroupGuard);
    let status = child
        .wait()
        .await
        .map_err(|e| format!("cannot wait for the health check command: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("Health check command: {}", executor::describe_exit(&status)))
    }
}

async fn get(client: &reqwest::Client, url: &str, statuses: &[u32]) -> Result<(), String> {
    let response = client.get(url).send().await.map_err(|e| {
        let mut why = e.to_string();
        let mut source = e.source();
        while let Some(s) = source {
            why = format!("{why}: {s}");
            source = s.source();
        }
        format!("HTTP GET {url} failed: {why}")
    })?;
    let code = response.status().as_u16();
    let healthy = if statuses.is_empty() {
        (200..400).contains(&code)
    } else {
        statuses.contains(&u32::from(code))
    };
    if healthy {
        Ok(())
    } else {
        Err(format!("HTTP GET {url} returned {code}"))
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    use super::*;

    fn shell(script: &str, cwd: &std::path::Path) -> Probe {
        Probe::Command {
            command: CommandInfo {
                value: Some(script.into()),
                ..Default::default()
            },
            env: BTreeMap::from([
                ("PATH".to_owned(), "/usr/bin:/bin".to_owned()),
                ("CHECK_VAR".to_owned(), "yes".to_owned()),
            ]),
            cwd: cwd.to_owned(),
        }
    }

    #[tokio::test]
    async fn commands_run_in_the_sandbox_with_the_task_environment() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("flag"), "").unwrap();
        assert_eq!(
            shell("test -f flag && test \"$CHECK_VAR\" = yes", dir.path())
                .run()
                .await,
            Ok(())
        );
        assert_eq!(
            shell("exit 3", dir.path()).run().await,
            Err("Health check command: Command exited with status 3".into())
        );
    }

    #[tokio::test]
    async fn a_dropped_command_check_takes_its_process_group_with_it() {
        let dir = tempfile::tempdir().unwrap();
        let probe = shell("sleep 600 & echo $! > bg; wait", dir.path());
        let bg = dir.path().join("bg");
        let mut run = Box::pin(probe.run());
        let waited = tokio::time::timeout(Duration::from_secs(20), async {
            tokio::select! {
                _ = &mut run => panic!("the check cannot end by itself"),
                _ = async { while std::fs::read_to_string(&bg).map_or(true, |s| !s.ends_with('\n')) {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                } } => {}
            }
        })
        .await;
        assert!(waited.is_ok(), "the check never started its background sleep");
        let pid: u32 = std::fs::read_to_string(&bg).unwrap().trim().parse().unwrap();
        assert!(executor::proc_stat(pid).is_some_and(|s| !s.zombie));
        drop(run);
        let gone = || executor::proc_stat(pid).is_none_or(|s| s.zombie);
        for _ in 0..1000 {
            if gone() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert!(gone(), "the check's background process survived it");
    }

    /// Answers every connection with `status` and closes it.
    async fn http_server(status: u16) -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let mut buf = [0u8; 1024];
                let _ = socket.read(&mut buf).await;
                let reply = format!("HTTP/1.1 {status} X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
                let _ = socket.write_all(reply.as_bytes()).await;
            }
        });
        addr
    }

    #[tokio::test]
    async fn http_checks_judge_the_status_code() {
        let client = http_client().unwrap();
        let probe = |addr: SocketAddr, statuses: Vec<u32>| Probe::Http {
            client: client.clone(),
            url: format!("http://{addr}/health"),
            statuses,
        };
        for (code, healthy) in [(200, true), (302, true), (399, true), (404, false), (503, false)] {
            let addr = http_server(code).await;
            assert_eq!(probe(addr, vec![]).run().await.is_ok(), healthy, "{code}");
        }
        let teapot = http_server(418).await;
        assert!(probe(teapot, vec![418]).run().await.is_ok());
        let ok = http_server(200).await;
        let refused = probe(ok, vec![204]).run().await.unwrap_err();
        assert!(refused.ends_with("returned 200"), "{refused}");
    }

    #[tokio::test]
    async fn tcp_checks_connect() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        assert_eq!(Probe::Tcp(addr).run().await, Ok(()));
        drop(listener);
        let refused = Probe::Tcp(addr).run().await.unwrap_err();
        assert!(refused.starts_with("cannot connect to 127.0.0.1:"), "{refused}");
    }
}
