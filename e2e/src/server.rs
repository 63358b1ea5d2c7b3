//! A real `pacer server` on a free loopback port with its own data directory, stopped (with
//! every task process it left behind) when dropped.

use std::collections::BTreeSet;
use std::fs::File;
use std::io::Write;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill, killpg};
use nix::unistd::Pid;
use reqwest::Method;
use serde_json::Value;
use tempfile::TempDir;

use crate::error::{Error, Result, io};
use crate::http::{Response, send};
use crate::port_slots::PortSlot;
use crate::procs::{kill_tasks_under, task_processes_under};

/// How long a server may take to answer `/ping` after starting (a debug build opening its
/// store and starting its local agent is slower than a release one).
const READY_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a server may take to stop after SIGTERM before it is killed.
const STOP_TIMEOUT: Duration = Duration::from_secs(10);

/// The `pacer` binary under test: `$PACER_BIN`, else `pacer` in the test's own profile dir.
pub fn pacer_bin() -> Result<PathBuf> {
    let exe = std::env::current_exe().map_err(io("locating the test executable"))?;
    locate(std::env::var_os("PACER_BIN"), &exe)
}

fn locate(from_env: Option<std::ffi::OsString>, test_exe: &Path) -> Result<PathBuf> {
    let path = match from_env {
        Some(p) => PathBuf::from(p),
        // target/<profile>/deps/<test>-<hash>  ->  target/<profile>/pacer
        None => test_exe
            .parent()
            .and_then(Path::parent)
            .unwrap_or(Path::new("."))
            .join("pacer"),
    };
    if path.is_file() {
        Ok(path)
    } else {
        Err(Error::BinaryMissing { path })
    }
}

/// A running `pacer server`; killed, with its tasks, on drop.
pub struct PacerServer {
    child: Child,
    url: String,
    port: u16,
    extra: Vec<String>,
    /// The agent's host ports, apart from every other test server's.
    ports: PortSlot,
    /// Holds `data/` (the server's `--data-dir`) and `server.log`; removed on drop.
    root: TempDir,
    http: reqwest::blocking::Client,
}

impl PacerServer {
    /// Starts `pacer server` with default options.
    pub fn start() -> Result<Self> {
        Self::start_with(&[])
    }

    /// Starts `pacer server --listen 127.0.0.1:<free port> --data-dir <temp dir> <extra...>`
    /// and waits until it answers `GET /ping`.
    pub fn start_with(extra: &[&str]) -> Result<Self> {
        let bin = pacer_bin()?;
        Self::until_bound(|| {
            let root = tempfile::Builder::new()
                .prefix("pacer-e2e-")
                .tempdir()
                .map_err(io("creating a temp dir"))?;
            let extra: Vec<String> = extra.iter().map(|s| s.to_string()).collect();
            Self::spawn(&bin, root, free_port()?, extra)
        })
    }

    /// Spawns a server with `spawn` and waits until it answers; when the free port it was given
    /// was taken between our probe and its bind, spawns another (at most three tries).
    fn until_bound(mut spawn: impl FnMut() -> Result<Self>) -> Result<Self> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let mut server = spawn()?;
            match server.wait_ready() {
                Ok(()) => return Ok(server),
                Err(Error::ServerExited { log, .. }) if attempt < 3 && log.contains("in use") => continue,
                Err(e) => return Err(e),
            }
        }
    }

    /// Starts `n` servers that form one raft cluster (`--node-id 1..=n --peers ...`), each with
    /// `extra`, and waits until each answers `GET /ping` (not until a leader is elected).
    pub fn start_cluster(n: u64, extra: &[&str]) -> Result<Vec<Self>> {
        let bin = pacer_bin()?;
        let ports: Vec<u16> = (0..n).map(|_| free_port()).collect::<Result<_>>()?;
        let peers: Vec<String> = ports
            .iter()
            .enumerate()
            .map(|(i, port)| format!("{}=127.0.0.1:{port}", i + 1))
            .collect();
        let peers = peers.join(",");
        let mut servers = Vec::new();
        for (i, port) in ports.iter().enumerate() {
            servers.push(Self::spawn_member(&bin, i as u64 + 1, *port, &peers, extra)?);
        }
        for server in &mut servers {
            server.wait_ready()?;
        }
        Ok(servers)
    }

    /// Starts one more server, `node_id`, to join the cluster of `members` (for the cluster's
    /// membership API to add it): it listens on a free port and names all of them, itself
    /// included, in `--peers`. Returns it with its `host:port`.
    pub fn start_joining(node_id: u64, members: &[&PacerServer], extra: &[&str]) -> Result<(Self, String)> {
        let port = free_port()?;
        let address = format!("127.0.0.1:{port}");
        let mut peers: Vec<String> = members
            .iter()
            .enumerate()
            .map(|(i, m)| format!("{}=127.0.0.1:{}", i + 1, m.port))
            .collect();
        peers.push(format!("{node_id}={address}"));
        let mut server = Self::spawn_member(&pacer_bin()?, node_id, port, &peers.join(","), extra)?;
        server.wait_ready()?;
        Ok((server, address))
    }

    fn spawn_member(bin: &Path, node_id: u64, port: u16, peers: &str, extra: &[&str]) -> Result<Self> {
        let root = tempfile::Builder::new()
            .prefix("pacer-e2e-")
            .tempdir()
            .map_err(io("creating a temp dir"))?;
        let mut args: Vec<String> = vec!["--node-id".into(), node_id.to_string(), "--peers".into(), peers.into()];
        args.extend(extra.iter().map(|s| s.to_string()));
        Self::spawn(bin, root, port, args)
    }

    /// Starts `pacer server --local-agents <file> <extra...>` where the file is what `agents`
    /// writes given this server's own range of host ports (inclusive) to divide among them.
    pub fn start_with_agents(agents: impl Fn((u64, u64)) -> String, extra: &[&str]) -> Result<Self> {
        let bin = pacer_bin()?;
        Self::until_bound(|| {
            let root = tempfile::Builder::new()
                .prefix("pacer-e2e-")
                .tempdir()
                .map_err(io("creating a temp dir"))?;
            let ports = PortSlot::acquire()?;
            let file = root.path().join("agents.yaml");
            std::fs::write(&file, agents(ports.range)).map_err(io("writing agents.yaml"))?;
            let mut args = vec!["--local-agents".to_string(), file.display().to_string()];
            args.extend(extra.iter().map(|s| s.to_string()));
            Self::spawn_holding(&bin, root, free_port()?, ports, args)
        })
    }

    fn spawn(bin: &Path, root: TempDir, port: u16, extra: Vec<String>) -> Result<Self> {
        Self::spawn_holding(bin, root, port, PortSlot::acquire()?, extra)
    }

    fn spawn_holding(bin: &Path, root: TempDir, port: u16, ports: PortSlot, extra: Vec<String>) -> Result<Self> {
        let child = Self::spawn_child(bin, root.path(), port, ports.range, &extra)?;
        let http = reqwest::blocking::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .map_err(|source| Error::Http {
                method: "BUILD".into(),
                url: String::new(),
                source,
            })?;
        Ok(PacerServer {
            child,
            url: format!("http://127.0.0.1:{port}"),
            port,
            extra,
            ports,
            root,
            http,
        })
    }

    fn spawn_child(bin: &Path, root: &Path, port: u16, ports: (u64, u64), extra: &[String]) -> Result<Child> {
        let log_path = root.join("server.log");
        // Appending: a restarted server's log follows the previous one's.
        let log = File::options()
            .create(true)
            .append(true)
            .open(&log_path)
            .map_err(io("opening server.log"))?;
        let log2 = log.try_clone().map_err(io("opening server.log"))?;
        Command::new(bin)
            .arg("server")
            .arg("--listen")
            .arg(format!("127.0.0.1:{port}"))
            .arg("--agent-ports")
            .arg(format!("{}-{}", ports.0, ports.1))
            .arg("--data-dir")
            .arg(root.join("data"))
            .args(extra)
            .env_remove("PACER_LISTEN")
            .env_remove("PACER_DATA_DIR")
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log2)
            // Its own process group, so that stopping it cannot signal the test runner.
            .process_group(0)
            .spawn()
            .map_err(io(format!("starting {}", bin.display())))
    }

    /// Sends `signal` to the server process alone (SIGSTOP / SIGCONT freeze and thaw it, as a
    /// network partition or a long pause would).
    pub fn signal(&self, signal: Signal) -> Result<()> {
        kill(self.pid(), signal).map_err(|e| Error::Io {
            context: format!("signalling the server with {signal}"),
            source: e.into(),
        })
    }

    /// Stops only the server process with `signal` (SIGTERM: a graceful stop; SIGKILL: a
    /// crash) and waits for it to exit. Its task processes keep running, as a Mesos agent's do.
    pub fn stop_server_only(&mut self, signal: Signal) -> Result<()> {
        let _ = kill(self.pid(), signal);
        let deadline = Instant::now() + STOP_TIMEOUT;
        while matches!(self.child.try_wait(), Ok(None)) {
            if Instant::now() >= deadline {
                let _ = kill(self.pid(), Signal::SIGKILL);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(())
    }

    /// Starts the server again on the same port and data directory, and waits until it answers.
    pub fn restart(&mut self) -> Result<()> {
        if matches!(self.child.try_wait(), Ok(None)) {
            self.stop_server_only(Signal::SIGTERM)?;
        }
        self.child = Self::spawn_child(
            &pacer_bin()?,
            self.root.path(),
            self.port,
            self.ports.range,
            &self.extra,
        )?;
        self.wait_ready()
    }

    fn wait_ready(&mut self) -> Result<()> {
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            if let Ok(r) = send(&self.http, Method::GET, format!("{}/ping", self.url), None)
                && r.status == 200
            {
                return Ok(());
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(Error::ServerExited {
                    status,
                    log: self.log(),
                });
            }
            if Instant::now() >= deadline {
                return Err(Error::NotReady {
                    timeout: READY_TIMEOUT,
                    log: self.log(),
                });
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The server's `--data-dir`.
    pub fn data_dir(&self) -> PathBuf {
        self.root.path().join("data")
    }

    /// The server's process id.
    pub fn pid(&self) -> Pid {
        Pid::from_raw(self.child.id() as i32)
    }

    /// Everything the server printed so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.root.path().join("server.log")).unwrap_or_default()
    }

    pub fn get(&self, path: &str) -> Result<Response> {
        send(&self.http, Method::GET, self.full(path), None)
    }

    pub fn post(&self, path: &str, body: &Value) -> Result<Response> {
        send(&self.http, Method::POST, self.full(path), Some(body))
    }

    pub fn put(&self, path: &str, body: &Value) -> Result<Response> {
        send(&self.http, Method::PUT, self.full(path), Some(body))
    }

    pub fn patch(&self, path: &str, body: &Value) -> Result<Response> {
        send(&self.http, Method::PATCH, self.full(path), Some(body))
    }

    pub fn delete(&self, path: &str) -> Result<Response> {
        send(&self.http, Method::DELETE, self.full(path), None)
    }

    fn full(&self, path: &str) -> String {
        format!("{}{path}", self.url)
    }

    /// Live processes of this server's tasks of `app_id` (e.g. `/hello`).
    pub fn task_processes(&self, app_id: &str) -> Vec<Pid> {
        task_processes_under(self.root.path())
            .into_iter()
            .filter(|p| p.app_id == app_id)
            .map(|p| p.pid)
            .collect()
    }

    /// The `MESOS_TASK_ID`s of `app_id` that have at least one live process.
    pub fn task_ids(&self, app_id: &str) -> BTreeSet<String> {
        task_processes_under(self.root.path())
            .into_iter()
            .filter(|p| p.app_id == app_id)
            .filter_map(|p| p.task_id)
            .collect()
    }

    /// Runs the `pacer` client with `args` against this server; never fails on the exit code.
    pub fn pacer(&self, args: &[&str]) -> Result<Output> {
        self.pacer_with_stdin(args, b"")
    }

    /// Runs the `pacer` client with `args` and requires exit code `code`.
    pub fn pacer_exit(&self, args: &[&str], code: i32) -> Result<Output> {
        let out = self.pacer(args)?;
        if out.status.code() != Some(code) {
            return Err(Error::UnexpectedExit {
                command: args.join(" "),
                code: out.status.code(),
                wanted: code,
                stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
                stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            });
        }
        Ok(out)
    }

    /// Like [`PacerServer::pacer`], writing `stdin` to the client's standard input.
    pub fn pacer_with_stdin(&self, args: &[&str], stdin: &[u8]) -> Result<Output> {
        let bin = pacer_bin()?;
        let mut child = Command::new(&bin)
            .args(args)
            .env("PACER_SERVER", &self.url)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(io(format!("running {}", bin.display())))?;
        if let Some(mut input) = child.stdin.take() {
            input.write_all(stdin).map_err(io("writing the client's stdin"))?;
        }
        child.wait_with_output().map_err(io("waiting for the client"))
    }

    /// SIGTERM, then SIGKILL to the server's process group after [`STOP_TIMEOUT`], then SIGKILL
    /// to the process group of every task process left under this server's directory.
    fn stop(&mut self) {
        let pid = self.pid();
        let _ = kill(pid, Signal::SIGTERM);
        let deadline = Instant::now() + STOP_TIMEOUT;
        while Instant::now() < deadline && matches!(self.child.try_wait(), Ok(None)) {
            std::thread::sleep(Duration::from_millis(50));
        }
        // Whatever still runs in the server's group (tasks that did not get their own group)
        // goes too; ESRCH when the group is already empty.
        let _ = killpg(pid, Signal::SIGKILL);
        let _ = self.child.wait();

        kill_tasks_under(self.root.path());
    }
}

impl Drop for PacerServer {
    fn drop(&mut self) {
        self.stop();
        if std::thread::panicking() {
            let log = self.log();
            let tail: Vec<&str> = log.lines().rev().take(80).collect();
            eprintln!("--- pacer server log ({}), last {} lines ---", self.url, tail.len());
            for line in tail.iter().rev() {
                eprintln!("{line}");
            }
        }
    }
}

/// A port nobody listens on right now (the OS picks it; the server binds it a moment later).
pub(crate) fn free_port() -> Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").map_err(io("finding a free port"))?;
    Ok(listener.local_addr().map_err(io("finding a free port"))?.port())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binary_is_found_beside_the_test_profile_or_in_pacer_bin() {
        let target = tempfile::tempdir().unwrap();
        let deps = target.path().join("debug").join("deps");
        std::fs::create_dir_all(&deps).unwrap();
        let exe = deps.join("apps_api-0123abcd");
        let err = locate(None, &exe).unwrap_err();
        assert!(err.to_string().contains("cargo build -p pacer-server"), "{err}");

        let bin = target.path().join("debug").join("pacer");
        std::fs::write(&bin, b"").unwrap();
        assert_eq!(locate(None, &exe).unwrap(), bin);

        let other = target.path().join("elsewhere");
        assert!(
            matches!(locate(Some(other.clone().into()), &exe), Err(Error::BinaryMissing { path }) if path == other)
        );
        std::fs::write(&other, b"").unwrap();
        assert_eq!(locate(Some(other.clone().into()), &exe).unwrap(), other);
    }
}
