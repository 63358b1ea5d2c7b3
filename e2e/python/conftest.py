import pytest

from pacer_fixture import PacerServer


@pytest.fixture
def pacer(request):
    """A fresh `pacer server` per test; its log is printed when the test fails."""
    server = PacerServer()
    yield server
    failed = getattr(request.node, "rep_call", None) is not None and request.node.rep_call.failed
    log = server.log()
    server.stop()
    if failed:
        print(f"--- pacer server log ({server.url}) ---\n{log}")
    assert not server.leftovers, f"task processes survived the server: {server.leftovers}"


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report
