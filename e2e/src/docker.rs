//! Pacer servers in Docker containers, for tests that cut one server off from the others.
//!
//! Each container sits on two private networks: `raft`, the only way the servers reach each
//! other (peers are its fixed addresses), and `control`, on which the test reaches every
//! server and the servers reach the Mesos master running on this host. Disconnecting a
//! container from `raft` partitions it from its peers while it can still talk to Mesos, the
//! case where a stale leader could do harm. The image holds only the `pacer` binary and the
//! shared libraries it links (no registry is needed: it is imported from a tarball).

use std::path::{Path, PathBuf};
use std::process::Command;

use reqwest::Method;
use reqwest::blocking::Client;
use serde_json::Value;
use tempfile::TempDir;

use crate::error::{Error, Result, io};
use crate::http::{Response, send};
use crate::master::MesosMaster;
use crate::server::pacer_bin;

/// The port every server listens on inside its container.
const PORT: u16 = 8080;

/// Whether Docker's engine answers.
pub fn available() -> bool {
    Command::new("docker")
        .args(["info", "--format", "{{.ServerVersion}}"])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Runs `docker args...`, returning its trimmed stdout.
fn docker(args: &[&str]) -> Result<String> {
    let output = Command::new("docker")
        .args(args)
        .output()
        .map_err(io("running docker"))?;
    if !output.status.success() {
        return Err(Error::Docker {
            command: args.join(" "),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        });
    }
    Ok(String::from_utf8_lossy(&output.stdout).trim().to_owned())
}

/// One server: its container, its address on the raft network, its URL from this host.
pub struct DockerNode {
    pub name: String,
    pub raft_addr: String,
    raft_ip: String,
    pub url: String,
}

pub struct DockerCluster {
    raft: String,
    control: String,
    pub nodes: Vec<DockerNode>,
    http: Client,
}

impl DockerCluster {
    /// Starts `n` servers as one raft cluster on `master` (which must listen on all
    /// addresses, see [`MesosMaster::start_on_all_addresses`]).
    pub fn start(n: usize, master: &MesosMaster) -> Result<DockerCluster> {
        let image = image()?;
        let prefix = format!("pacer-e2e-{}", std::process::id());
        let control = format!("{prefix}-control");
        docker(&["network", "create", &control])?;
        let mut cluster = DockerCluster {
            raft: format!("{prefix}-raft"),
            control,
            nodes: Vec::new(),
            http: Client::builder().no_proxy().build().map_err(|source| Error::Http {
                method: "-".into(),
                url: "-".into(),
                source,
            })?,
        };
        let subnet = cluster.create_raft_network()?;
        let gateway = docker(&[
            "network",
            "inspect",
            "-f",
            "{{(index .IPAM.Config 0).Gateway}}",
            &cluster.control,
        ])?;
        let ips: Vec<String> = (0..n).map(|i| format!("{subnet}.{}", 11 + i)).collect();
        let peers: Vec<String> = ips
            .iter()
            .enumerate()
            .map(|(i, ip)| format!("{}={ip}:{PORT}", i + 1))
            .collect();
        let master_url = format!("http://{gateway}:{}", master.port());
        for (i, ip) in ips.iter().enumerate() {
            let name = format!("{prefix}-n{}", i + 1);
            let (node_id, listen) = ((i + 1).to_string(), format!("0.0.0.0:{PORT}"));
            docker(&[
                "create",
                "--name",
                &name,
                "--network",
                &cluster.control,
                &image,
                "/pacer",
                "server",
                "--listen",
                &listen,
                "--data-dir",
                "/data",
                "--node-id",
                &node_id,
                "--peers",
                &peers.join(","),
                "--master",
                &master_url,
            ])?;
            cluster.nodes.push(DockerNode {
                name: name.clone(),
                raft_addr: format!("{ip}:{PORT}"),
                raft_ip: ip.clone(),
                url: String::new(),
            });
            cluster.reconnect(i)?;
            cluster.start_again(i)?;
        }
        Ok(cluster)
    }

    /// Kills server `i` with SIGKILL; its data stays in the container.
    pub fn kill(&self, i: usize) -> Result<()> {
        docker(&["kill", "--signal", "KILL", &self.nodes[i].name]).map(drop)
    }

    /// Starts server `i`'s container (again), with the data it had; its address on the
    /// control network may change, so it is read anew.
    pub fn start_again(&mut self, i: usize) -> Result<()> {
        let name = self.nodes[i].name.clone();
        docker(&["start", &name])?;
        let control_ip = docker(&[
            "inspect",
            "-f",
            &format!(
                "{{{{(index .NetworkSettings.Networks \"{}\").IPAddress}}}}",
                self.control
            ),
            &name,
        ])?;
        self.nodes[i].url = format!("http://{control_ip}:{PORT}");
        Ok(())
    }

    /// The URLs this host reaches the servers at.
    pub fn urls(&self) -> Vec<String> {
        self.nodes.iter().map(|n| n.url.clone()).collect()
    }

    /// A /24 for the raft network that no other network of this host uses; returns its first
    /// three octets.
    fn create_raft_network(&self) -> Result<String> {
        let seed = std::process::id() as usize;
        let mut last = None;
        for attempt in 0..8 {
            let subnet = format!("10.{}.{}", 200 + (seed + attempt) % 50, (seed / 50 + attempt * 7) % 250);
            match docker(&["network", "create", "--subnet", &format!("{subnet}.0/24"), &self.raft]) {
                Ok(_) => return Ok(subnet),
                Err(e) => last = Some(e),
            }
        }
        Err(last.expect("at least one attempt"))
    }

    /// Cuts server `i` off from its peers (it still reaches Mesos and answers this host).
    pub fn cut_off(&self, i: usize) -> Result<()> {
        docker(&["network", "disconnect", "--force", &self.raft, &self.nodes[i].name]).map(drop)
    }

    /// Puts server `i` back on the raft network at its address.
    pub fn reconnect(&self, i: usize) -> Result<()> {
        let node = &self.nodes[i];
        docker(&["network", "connect", "--ip", &node.raft_ip, &self.raft, &node.name]).map(drop)
    }

    pub fn get(&self, i: usize, path: &str) -> Result<Response> {
        send(&self.http, Method::GET, format!("{}{path}", self.nodes[i].url), None)
    }

    pub fn post(&self, i: usize, path: &str, body: &Value) -> Result<Response> {
        send(
            &self.http,
            Method::POST,
            format!("{}{path}", self.nodes[i].url),
            Some(body),
        )
    }

    pub fn put(&self, i: usize, path: &str, body: &Value) -> Result<Response> {
        send(
            &self.http,
            Method::PUT,
            format!("{}{path}", self.nodes[i].url),
            Some(body),
        )
    }

    /// Server `i`'s output so far.
    pub fn logs(&self, i: usize) -> String {
        Command::new("docker")
            .args(["logs", &self.nodes[i].name])
            .output()
            .map(|o| {
                format!(
                    "{}{}",
                    String::from_utf8_lossy(&o.stdout),
                    String::from_utf8_lossy(&o.stderr)
                )
            })
            .unwrap_or_default()
    }
}

impl Drop for DockerCluster {
    fn drop(&mut self) {
        let mut rm = vec!["rm", "--force"];
        rm.extend(self.nodes.iter().map(|n| n.name.as_str()));
        let _ = docker(&rm);
        let _ = docker(&["network", "rm", &self.raft, &self.control]);
    }
}

/// The image of the `pacer` binary under test, imported once per build of it.
fn image() -> Result<String> {
    let bin = pacer_bin()?;
    let meta = std::fs::metadata(&bin).map_err(io("reading the pacer binary"))?;
    let modified = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_secs());
    let tag = format!("pacer-e2e:{}-{modified}", meta.len());
    if docker(&["image", "inspect", &tag]).is_ok() {
        return Ok(tag);
    }
    let root = TempDir::new().map_err(io("creating a temp dir"))?;
    let rootfs = root.path().join("rootfs");
    for dir in ["tmp", "data", "etc"] {
        std::fs::create_dir_all(rootfs.join(dir)).map_err(io("making the image's directories"))?;
    }
    // Debug symbols make the binary several times larger than the image needs to be.
    let stripped = Command::new("strip")
        .arg("-o")
        .arg(rootfs.join("pacer"))
        .arg(&bin)
        .status()
        .is_ok_and(|s| s.success());
    if !stripped {
        std::fs::copy(&bin, rootfs.join("pacer")).map_err(io("copying the pacer binary"))?;
    }
    for lib in shared_libraries(&bin)? {
        let to = rootfs.join(lib.strip_prefix("/").unwrap_or(&lib));
        std::fs::create_dir_all(to.parent().unwrap_or(&rootfs)).map_err(io("making library directories"))?;
        std::fs::copy(&lib, &to).map_err(io(format!("copying {}", lib.display())))?;
    }
    let tarball = root.path().join("rootfs.tar");
    let tar = Command::new("tar")
        .arg("-C")
        .arg(&rootfs)
        .arg("-cf")
        .arg(&tarball)
        .arg(".")
        .status()
        .map_err(io("running tar"))?;
    if !tar.success() {
        return Err(Error::Docker {
            command: "tar (the image's rootfs)".into(),
            stderr: tar.to_string(),
        });
    }
    docker(&["import", &tarball.to_string_lossy(), &tag])?;
    // Images of earlier builds are never used again.
    for old in docker(&["images", "pacer-e2e", "--format", "{{.Repository}}:{{.Tag}}"])?.lines() {
        if old != tag {
            let _ = docker(&["rmi", old]);
        }
    }
    Ok(tag)
}

/// The shared libraries `ldd` says `bin` loads, the dynamic loader included.
fn shared_libraries(bin: &Path) -> Result<Vec<PathBuf>> {
    let output = Command::new("ldd").arg(bin).output().map_err(io("running ldd"))?;
    Ok(String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| {
            // "libm.so.6 => /lib/x86_64-linux-gnu/libm.so.6 (0x...)" or "/lib64/ld-linux-x86-64.so.2 (0x...)"
            let path = line.split("=>").last()?.split_whitespace().next()?;
            path.starts_with('/').then(|| PathBuf::from(path))
        })
        .collect())
}
