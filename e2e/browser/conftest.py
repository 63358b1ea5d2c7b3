"""Fixtures of the browser tests: a real `pacer server` and a headless Chromium on it, one of
each per test. A failing test leaves `<test>-NN-failure.png`, the browser console, the server
log and the deployments in its output.
"""

import pytest
import requests

from browser_fixture import Browser, RestartablePacer


@pytest.fixture
def pacer(request):
    server = RestartablePacer()
    yield server
    failed = getattr(request.node, "rep_call", None) is not None and request.node.rep_call.failed
    log = server.log()
    try:
        deployments = requests.get(f"{server.url}/v2/deployments", timeout=5).text
    except requests.RequestException as e:
        deployments = str(e)
    server.stop()
    if failed:
        print(f"--- pacer server log ({server.url}) ---\n{log[-20000:]}")
        print(f"--- deployments ---\n{deployments}")
    assert not server.leftovers, f"task processes survived the server: {server.leftovers}"


@pytest.fixture
def browser(pacer, request):
    b = Browser(pacer, request.node.name)
    yield b
    failed = getattr(request.node, "rep_call", None) is not None and request.node.rep_call.failed
    if failed:
        path = b.screenshot("failure")
        print(f"--- screenshot: {path}\n--- browser console ---\n" + "\n".join(b.console()))
    errors = b.script_errors()
    b.quit()
    assert failed or not errors, f"errors in the page's scripts: {errors}"


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report
