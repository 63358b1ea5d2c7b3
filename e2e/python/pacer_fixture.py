"""A real `pacer server` for the Python tests: free loopback port, temporary data dir, and
no process left behind when it stops (the same promises as the Rust `PacerServer`).

The binary is `$PACER_BIN`, else `target/release/pacer` under `$CARGO_TARGET_DIR` or the
repository.
"""

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parents[2]
READY_TIMEOUT = 60.0
STOP_TIMEOUT = 10.0


def pacer_bin() -> Path:
    if os.environ.get("PACER_BIN"):
        path = Path(os.environ["PACER_BIN"])
    else:
        target = Path(os.environ.get("CARGO_TARGET_DIR") or REPO / "target")
        path = target / "release" / "pacer"
    if not path.is_file():
        raise FileNotFoundError(
            f"no pacer binary at {path}: build it (cargo build --release -p pacer-server) or set PACER_BIN"
        )
    return path


def wait_until(probe, timeout=60.0, what="condition"):
    """Polls `probe` every 100 ms until it returns something truthy, which is returned."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise TimeoutError(f"{what} not met within {timeout}s")
        time.sleep(0.1)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


def task_processes_under(root: Path):
    """(pid, MARATHON_APP_ID, MESOS_TASK_ID) of live processes whose MESOS_SANDBOX is under root."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            raw = (entry / "environ").read_bytes()
        except OSError:
            continue
        env = dict(v.split("=", 1) for v in raw.decode(errors="replace").split("\0") if "=" in v)
        app, sandbox = env.get("MARATHON_APP_ID"), env.get("MESOS_SANDBOX")
        if app is None or sandbox is None:
            continue
        if Path(sandbox).is_relative_to(root) and _alive(int(entry.name)):
            found.append((int(entry.name), app, env.get("MESOS_TASK_ID")))
    return found


class PacerServer:
    def __init__(self, extra_args=()):
        self.bin = pacer_bin()
        self.root = Path(tempfile.mkdtemp(prefix="pacer-pytest-"))
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = self.root / "server.log"
        # Away from 31000+, where other programs on a test machine may listen, and from the
        # Rust e2e tests' slots (20000-27999), unless the caller chose.
        ports = () if "--agent-ports" in extra_args else ("--agent-ports", "28000-28999")
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(
                [str(self.bin), "server", "--listen", f"127.0.0.1:{self.port}",
                 "--data-dir", str(self.root / "data"), *ports, *extra_args],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                # Its own session and process group: stopping it never signals pytest.
                start_new_session=True,
            )
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise

    def _wait_ready(self):
        deadline = time.monotonic() + READY_TIMEOUT
        while True:
            try:
                if requests.get(f"{self.url}/ping", timeout=2).status_code == 200:
                    return
            except requests.RequestException:
                pass
            if self.proc.poll() is not None:
                raise RuntimeError(f"pacer server exited with {self.proc.returncode}:\n{self.log()}")
            if time.monotonic() >= deadline:
                raise TimeoutError(f"pacer server did not answer /ping in {READY_TIMEOUT}s:\n{self.log()}")
            time.sleep(0.05)

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def task_processes(self, app_id: str):
        return [pid for pid, app, _ in task_processes_under(self.root) if app == app_id]

    def task_ids(self, app_id: str):
        return {task for _, app, task in task_processes_under(self.root) if app == app_id and task}

    def stop(self):
        """SIGTERM; SIGKILL to its group after a grace; then SIGKILL to every leftover task's group."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                pass
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait()
        own_group = os.getpgrp()
        deadline = time.monotonic() + 5
        while True:
            left = task_processes_under(self.root)
            if not left or time.monotonic() >= deadline:
                break
            for pid, _, _ in left:
                try:
                    group = os.getpgid(pid)
                    if group != own_group:
                        os.killpg(group, signal.SIGKILL)
                    else:
                        os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            time.sleep(0.05)
        self.leftovers = left
        shutil.rmtree(self.root, ignore_errors=True)
