"""The UI's pure modules (YAML emitter, line diff, JSON and YAML pointer → line, filter and
tree, app status), imported by the page in Chromium and checked on their own; the YAML they
write is read back by the server the editor sends it to."""

import json

import pytest
import requests
import yaml
from browser_fixture import Browser, RestartablePacer


def run(browser, module, expression, *args):
    """Evaluates `expression` (a function of the module `m` and `args`) in the page."""
    script = f"""
        const done = arguments[arguments.length - 1];
        import(arguments[0]).then((m) => {{
            const args = arguments[1];
            done(JSON.stringify(({expression})(m, ...args)));
        }}).catch((e) => done(JSON.stringify({{error: String(e)}})));
    """
    result = json.loads(browser.driver.execute_async_script(script, f"/ui/js/{module}", list(args)))
    assert not (isinstance(result, dict) and "error" in result), result
    return result


@pytest.fixture(scope="module")
def page():
    """One server and one browser for every module test: they only load modules."""
    server = RestartablePacer()
    browser = Browser(server, "modules")
    try:
        browser.open("#/cluster")
        browser.driver.set_script_timeout(30)
        yield browser
    finally:
        browser.quit()
        server.stop()


@pytest.mark.parametrize("value", [
    {"id": "/a", "cmd": "echo 'hi': there", "instances": 2, "cpus": 0.1, "env": {}, "labels": {"yes": "no", "n": ""},
     "args": ["-x", "1", "true", "null", "-"], "nested": [{"a": 1, "b": [1, {"c": None}]}, [], {}],
     "script": "line one\nline two\n", "script2": "a\n  b", "unicode": "é ✓", "num": "0123", "colon": "a:b"},
    [], {}, "plain", 3.5, None,
])
def test_yaml_reads_back_as_the_same_value(page, value):
    text = run(page, "yaml.js", "(m, v) => m.toYaml(v)", value)
    assert yaml.safe_load(text) == value, text
    # The server reads it as the same value too (the editor's YAML goes there), keys in order.
    r = requests.post(f"{page.server.url}/ui/yaml-to-json", data=text.encode(),
                      headers={"Content-Type": "application/yaml"}, timeout=10)
    assert r.status_code == 200, r.text
    assert r.json() == value, r.text
    assert json.dumps(r.json()) == json.dumps(yaml.safe_load(text)), "keys in the order written"


YAML_TEXT = """\
# A comment, then keys of every kind.
id: /shop/web
cmd: |
  line one
  fake: key
cpus: 0.1
"quoted/key": 1
'single': 2
portDefinitions:
- port: 0
  name: http
  labels: {a: b}
-   port: 1
    name: admin
healthChecks:
  - protocol: HTTP
    path: /

  -
    protocol: TCP
env:
  A~B: x
nested:
  - - inner: 1
container:
  docker:
    image: x
    parameters: [{key: a, value: b}]
args: ["a",
  "b"]
last: &anchor
  k: v
"""


def test_yaml_pointers_find_their_lines(page):
    assert yaml.safe_load(YAML_TEXT)["healthChecks"][1] == {"protocol": "TCP"}  # the text is YAML
    lines = YAML_TEXT.split("\n")
    line = lambda needle: next(i + 1 for i, l in enumerate(lines) if l.startswith(needle))
    cases = {
        "/id": line("id:"), "/cmd": line("cmd:"), "/cmd/fake": line("cmd:"), "/cpus": line("cpus:"),
        "/quoted~1key": line('"quoted'), "/single": line("'single'"),
        "/portDefinitions": line("portDefinitions:"), "/portDefinitions/0": line("- port: 0"),
        "/portDefinitions/0/name": line("  name: http"), "/portDefinitions/0/labels/a": line("  labels:"),
        "/portDefinitions(1)/port": line("-   port: 1"), "/portDefinitions/1/name": line("    name: admin"),
        "/healthChecks/0/path": line("    path: /"), "/healthChecks/1": lines.index("  -") + 1,
        "/healthChecks/1/protocol": line("    protocol: TCP"), "/healthChecks/2": line("healthChecks:"),
        "/env/A~0B": line("  A~B"), "/nested/0/0/inner": line("  - - inner"),
        "/container/docker/image": line("    image"), "/container/docker/parameters/0/key": line("    parameters"),
        "/args/1": line("args:"), "/last/k": line("  k: v"), "/nothing": 1, "": 1,
    }
    got = run(page, "yamlpos.js", "(m, t, ps) => ps.map((p) => m.lineOf(m.lineIndex(t), p))", YAML_TEXT, list(cases))
    assert dict(zip(cases, got)) == cases


def test_yaml_pointers_cover_what_the_editor_writes(page):
    """Every value of a definition shown as YAML (the editor's JSON → YAML toggle) is found on
    the line of its key or its item's dash."""
    value = {"id": "/a", "cmd": "sleep 1\nsleep 2\n", "env": {"A/B": "x", "yes": "y"}, "args": ["-x", "1"],
             "portDefinitions": [{"port": 0, "labels": {"k": "v"}}, {"port": 1}],
             "healthChecks": [{"protocol": "HTTP", "path": "/"}], "container": {"volumes": [], "docker": {"image": "i"}},
             "constraints": [["hostname", "UNIQUE"]]}
    got = run(page, "yaml.js", """(m, v) => m.toYaml(v)""", value)
    index = run(page, "yamlpos.js", "(m, t) => Object.fromEntries(m.lineIndex(t))", got)
    lines = got.split("\n")

    def pointers(v, p=""):
        if isinstance(v, dict):
            for k, item in v.items():
                yield from pointers(item, f"{p}/{k.replace('~', '~0').replace('/', '~1')}")
        elif isinstance(v, list):
            for i, item in enumerate(v):
                yield from pointers(item, f"{p}/{i}")
        yield p

    for p in pointers(value):
        assert p in index, (p, got)
        text = lines[index[p] - 1].strip()
        last = p.rsplit("/", 1)[-1].replace("~1", "/").replace("~0", "~")
        assert text.startswith("-") if last.isdigit() else (p == "" or last in text), (p, text)


def test_diff_turns_one_text_into_the_other(page):
    a = "\n".join(["{", '  "a": 1,', '  "b": 2,', '  "c": 3', "}"])
    b = "\n".join(["{", '  "a": 1,', '  "b": 20,', '  "c": 3,', '  "d": 4', "}"])
    lines = run(page, "diff.js", "(m, a, b) => m.diffLines(a, b)", a, b)
    assert "\n".join(l["text"] for l in lines if l["op"] != "+") == a
    assert "\n".join(l["text"] for l in lines if l["op"] != "-") == b
    assert [l["op"] for l in lines] == [" ", " ", "-", "-", "+", "+", "+", " "]
    assert run(page, "diff.js", "(m, a) => m.diffLines(a, a).every((l) => l.op === ' ')", a)
    hunks = run(page, "diff.js", "(m, a, b) => m.hunks(m.diffLines(a, b), 0)", "\n".join("abcdefgh"), "\n".join("abcXefgh"))
    assert [(h["op"], h["text"]) for h in hunks] == [("-", "d"), ("+", "X"), ("…", "")]


def test_json_pointers_find_their_lines(page):
    text = json.dumps({"id": "/x", "portDefinitions": [{"port": 0}, {"port": -1, "name": "a/b"}],
                       "env": {"A~B": "1"}}, indent=2)
    lines = text.split("\n")
    line = lambda needle: next(i + 1 for i, l in enumerate(lines) if needle in l)
    got = run(page, "jsonpos.js", "(m, t, ps) => ps.map((p) => m.lineOf(m.lineIndex(t), p))", text,
              ["/id", "/portDefinitions/1/port", "/portDefinitions(1)/port", "/portDefinitions/1/missing",
               "/env/A~0B", "/nothing", "", "/portDefinitions/0"])
    assert got == [line('"id"'), line('"port": -1'), line('"port": -1'), line('"port": -1') - 1,
                   line('"A~B"'), 1, 1, line('"port": 0') - 1]
    # A broken text still places what comes before the break.
    assert run(page, "jsonpos.js", "(m, t) => m.lineOf(m.lineIndex(t), '/b')", '{\n "a": 1,\n "b": 2,\n oops') == 3


def test_filter_tree_and_paging(page):
    apps = [{"id": i, "labels": l, "instances": 1, "tasksRunning": 1, "tasksHealthy": 0, "tasksStaged": 0,
             "cpus": 0.5, "mem": 64} for i, l in
            [("/b/x", {"tier": "gold"}), ("/a/y/z", {}), ("/top", {"team": "Shop"}), ("/a/w", {"tier": "silver"})]]
    got = run(page, "tree.js", """(m, apps) => ({
        gold: apps.filter((a) => m.matches(a, "tier=gold")).map((a) => a.id),
        key: apps.filter((a) => m.matches(a, "tier")).map((a) => a.id),
        both: apps.filter((a) => m.matches(a, "/a/ tier=sil")).map((a) => a.id),
        caseless: apps.filter((a) => m.matches(a, "team=shop")).map((a) => a.id),
        rows: m.flatten(m.buildTree(apps), (x, y) => x.id.localeCompare(y.id))
               .map((r) => `${r.depth}:${r.kind === "group" ? r.node.id + "/" : r.app.id}`),
        collapsed: m.flatten(m.buildTree(apps), () => 0, new Set(["/a"])).length,
        groups: m.flatten(m.buildTree(apps.slice(0, 1), ["/empty", "/b", "/x/y"]), () => 0)
               .map((r) => `${r.depth}:${r.kind === "group" ? r.node.id + "/" : r.app.id}`),
        totals: m.totals(m.buildTree(apps).groups.get("a")),
        page: m.page([1, 2, 3, 4, 5], 9, 2),
    })""", apps)
    assert got["gold"] == ["/b/x"] and got["key"] == ["/b/x", "/a/w"]
    assert got["both"] == ["/a/w"] and got["caseless"] == ["/top"]
    assert got["rows"] == ["0:/a/", "1:/a/y/", "2:/a/y/z", "1:/a/w", "0:/b/", "1:/b/x", "0:/top"]
    assert got["collapsed"] == 4
    # Groups that exist on their own (empty ones too) are in the tree, with their parents.
    assert got["groups"] == ["0:/b/", "1:/b/x", "0:/empty/", "0:/x/", "1:/x/y/"]
    assert got["totals"] == {"apps": 2, "instances": 2, "tasksRunning": 2, "tasksHealthy": 0, "tasksStaged": 0,
                             "cpus": 1, "mem": 128}
    assert got["page"] == {"rows": [5], "page": 2, "pages": 3}


def test_app_status(page):
    base = {"instances": 2, "tasksRunning": 2, "tasksStaged": 0, "tasksUnhealthy": 0, "deployments": []}
    now = "2030-01-01T00:01:00.000Z"
    cases = [
        (base, None, "running"),
        (dict(base, deployments=[{"id": "d"}]), None, "deploying"),
        (dict(base, tasksUnhealthy=1), None, "unhealthy"),
        (dict(base, instances=0, tasksRunning=0), None, "suspended"),
        (base, {"delay": {"overdue": False, "timeLeftSeconds": 30}}, "delayed"),
        (dict(base, deployments=[{"id": "d"}]), {"delay": {"overdue": True, "timeLeftSeconds": 0},
                                                  "processedOffersSummary": {"unusedOffersCount": 3}}, "waiting"),
        (dict(base, deployments=[{"id": "d"}]), {"since": "2030-01-01T00:00:59.000Z"}, "deploying"),
        (dict(base, deployments=[{"id": "d"}]), {"since": "2030-01-01T00:00:30.000Z"}, "waiting"),
    ]
    got = run(page, "status.js", "(m, cases, now) => cases.map(([a, q]) => m.appStatus(a, q ?? undefined, Date.parse(now)))",
              [[a, q] for a, q, _ in cases], now)
    assert got == [want for _, _, want in cases]
    health = run(page, "status.js", """(m) => [
        m.taskHealth({state: "TASK_RUNNING", healthCheckResults: [{alive: true}]}),
        m.taskHealth({state: "TASK_RUNNING", healthCheckResults: [{alive: true}, {alive: false}]}),
        m.taskHealth({state: "TASK_RUNNING"}),
        m.taskHealth({state: "TASK_FAILED", healthCheckResults: [{alive: true}]}),
    ]""")
    assert health == ["healthy", "unhealthy", "", ""]
