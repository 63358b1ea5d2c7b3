//! A standalone `pacer local-master` process: the embedded Mesos master and agent serving
//! Mesos's HTTP API, for servers started with `--master http://...`.

use std::fs::File;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use tempfile::TempDir;

use crate::error::{Error, Result, io};
use crate::port_slots::PortSlot;
use crate::procs::{kill_tasks_under, task_processes_under};
use crate::server::{free_port, pacer_bin};

pub struct MesosMaster {
    child: Child,
    host: &'static str,
    port: u16,
    ports: PortSlot,
    /// Holds `mesos/` (the work dir) and `master.log`.
    root: TempDir,
}

impl MesosMaster {
    /// Starts a master on a free port of 127.0.0.1 and waits until it accepts connections.
    pub fn start() -> Result<MesosMaster> {
        Self::start_on("127.0.0.1")
    }

    /// Starts a master that listens on every address of this host, for servers in
    /// containers ([`crate::docker`]).
    pub fn start_on_all_addresses() -> Result<MesosMaster> {
        Self::start_on("0.0.0.0")
    }

    fn start_on(host: &'static str) -> Result<MesosMaster> {
        let root = tempfile::Builder::new()
            .prefix("pacer-e2e-master-")
            .tempdir()
            .map_err(io("creating a temp dir"))?;
        let ports = PortSlot::acquire()?;
        let port = free_port()?;
        let child = spawn(root.path(), host, port, ports.range)?;
        let mut master = MesosMaster {
            child,
            host,
            port,
            ports,
            root,
        };
        master.wait_ready()?;
        Ok(master)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The `MESOS_TASK_ID`s of `app_id` that have a live process on this master's agent.
    pub fn task_ids(&self, app_id: &str) -> std::collections::BTreeSet<String> {
        task_processes_under(self.root.path())
            .into_iter()
            .filter(|p| p.app_id == app_id)
            .filter_map(|p| p.task_id)
            .collect()
    }

    /// Kills the master with SIGKILL (its tasks keep running) and starts it again on the same
    /// port and work dir, as after a crash.
    pub fn crash_and_restart(&mut self) -> Result<()> {
        let _ = kill(Pid::from_raw(self.child.id() as i32), Signal::SIGKILL);
        let _ = self.child.wait();
        self.child = spawn(self.root.path(), self.host, self.port, self.ports.range)?;
        self.wait_ready()
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.root.path().join("master.log")).unwrap_or_default()
    }

    fn wait_ready(&mut self) -> Result<()> {
        let timeout = Duration::from_secs(30);
        let deadline = Instant::now() + timeout;
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(Error::ServerExited {
                    status,
                    log: self.log(),
                });
            }
            if Instant::now() >= deadline {
                return Err(Error::NotReady {
                    timeout,
                    log: self.log(),
                });
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(())
    }
}

fn spawn(root: &Path, host: &str, port: u16, ports: (u64, u64)) -> Result<Child> {
    use std::os::unix::process::CommandExt;
    let log = File::options()
        .create(true)
        .append(true)
        .open(root.join("master.log"))
        .map_err(io("opening master.log"))?;
    let log2 = log.try_clone().map_err(io("opening master.log"))?;
    let bin = pacer_bin()?;
    Command::new(&bin)
        .arg("local-master")
        .arg("--listen")
        .arg(format!("{host}:{port}"))
        .arg("--work-dir")
        .arg(root.join("mesos"))
        .arg("--agent-ports")
        .arg(format!("{}-{}", ports.0, ports.1))
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(log2)
        .process_group(0)
        .spawn()
        .map_err(io(format!("starting {}", bin.display())))
}

impl Drop for MesosMaster {
    fn drop(&mut self) {
        let _ = kill(Pid::from_raw(self.child.id() as i32), Signal::SIGKILL);
        let _ = self.child.wait();
        kill_tasks_under(self.root.path());
    }
}
