"""Headless Chromium driven by Selenium (Debian's `chromium` and `chromium-driver`) on a real
`pacer server` (e2e/python's PacerServer, with its own agent ports and a restart).

Screenshots go to `$PACER_SCREENSHOTS`, else `target/ui-screenshots/`.
"""

import contextlib
import os
import random
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "e2e" / "python"))

from pacer_fixture import PacerServer  # noqa: E402

SCREENSHOTS = Path(os.environ.get("PACER_SCREENSHOTS") or REPO / "target" / "ui-screenshots")
# Debug builds on a loaded two-core machine: launches and health checks take seconds each.
TIMEOUT = 120.0


def _find(env, *names):
    if os.environ.get(env):
        return os.environ[env]
    for name in names:
        if path := shutil.which(name):
            return path
    raise FileNotFoundError(f"none of {names} on PATH (install Debian's chromium and chromium-driver, or set {env})")


class Browser:
    """A Chrome session on one Pacer server, with waits that survive the page re-rendering."""

    def __init__(self, server, name):
        options = webdriver.ChromeOptions()
        options.binary_location = _find("CHROMIUM_BIN", "chromium", "chromium-browser", "google-chrome")
        for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                    "--window-size=1400,1000", "--disable-background-networking"):
            options.add_argument(arg)
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        service = Service(_find("CHROMEDRIVER_BIN", "chromedriver"))
        self.driver = webdriver.Chrome(service=service, options=options)
        self.server = server
        self.name = name
        self.shots = 0
        self.log = []

    def open(self, fragment=""):
        self.driver.get(f"{self.server.url}/ui/{fragment}")

    def js(self, script, *args):
        return self.driver.execute_script(script, *args)

    def wait(self, probe, what, timeout=TIMEOUT):
        """Polls `probe()` until truthy; elements replaced mid-probe just mean another try."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                value = probe()
                if value:
                    return value
            except StaleElementReferenceException:
                pass
            if time.monotonic() >= deadline:
                self.screenshot(f"timeout-{what}")
                raise TimeoutError(f"{what} not seen within {timeout}s")
            time.sleep(0.2)

    def click(self, css, what=None):
        def attempt():
            for el in self.driver.find_elements(By.CSS_SELECTOR, css):
                if el.is_displayed() and el.is_enabled():
                    el.click()
                    return True
            return False
        self.wait(attempt, what or f"a clickable {css}")

    def text(self, css):
        return self.js("return document.querySelector(arguments[0])?.textContent ?? null", css)

    def screenshot(self, label):
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        self.shots += 1
        safe = "".join(c if c.isalnum() or c in "-_" else "-" for c in label)[:60]
        path = SCREENSHOTS / f"{self.name}-{self.shots:02d}-{safe}.png"
        self.driver.save_screenshot(str(path))
        return path

    def console(self):
        """The browser's console since the last call (Chrome hands each entry out once)."""
        try:
            self.log += self.driver.get_log("browser")
        except WebDriverException:
            pass
        return [f"{e['level']} {e.get('source', '')} {e['message']}" for e in self.log]

    def script_errors(self):
        """Uncaught exceptions and console errors of the page's own code. Failed requests
        (the 4xx the tests provoke, a stopped server) are the network's, not the script's."""
        self.console()
        return [f"{e['message']}" for e in self.log if e["level"] == "SEVERE" and e.get("source") != "network"]

    def quit(self):
        self.driver.quit()


def _free_port_range(count=40):
    """`lo-hi` of `count` ports nobody listens on, below Linux's ephemeral range: the agent's
    default range (31000-32000) is shared with whatever else runs on the machine."""
    rng = random.Random()
    for _ in range(200):
        lo = rng.randrange(20000, 30000 - count)
        try:
            with contextlib.ExitStack() as stack:
                for port in range(lo, lo + count):
                    s = stack.enter_context(socket.socket())
                    s.bind(("0.0.0.0", port))
            return f"{lo}-{lo + count - 1}"
        except OSError:
            continue
    raise RuntimeError("no free port range for the agent")


class RestartablePacer(PacerServer):
    """A PacerServer with its own agent ports that can be stopped and started again on the
    same port and data."""

    def __init__(self):
        self.args = ["--agent-ports", _free_port_range()]
        super().__init__(self.args)

    def pause(self):
        self.proc.terminate()
        self.proc.wait(timeout=30)

    def resume(self):
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                [str(self.bin), "server", "--listen", f"127.0.0.1:{self.port}", "--data-dir", str(self.root / "data"),
                 *self.args],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        self._wait_ready()
