"""Pods and groups in the web UI, in real headless Chromium against a real `pacer server`: a
pod created in the editor, its instance running with its endpoint, listed with its status,
filtered, refused with the server's errors beside their lines, edited (its versions and a
rollback), scaled, an instance killed, restarted and destroyed; a group created with two
apps, edited after the server's dry-run plan, and deleted."""

import copy
import json

import requests

from pacer_fixture import task_processes_under, wait_until

SERVE = "python3 -m http.server $ENDPOINT_HTTP --bind 127.0.0.1"
POD = {
    "id": "/shop/cart",
    "labels": {"team": "shop"},
    "scaling": {"kind": "fixed", "instances": 1},
    "containers": [
        {"name": "web", "exec": {"command": {"shell": SERVE}},
         "resources": {"cpus": 0.05, "mem": 16}, "endpoints": [{"name": "http", "hostPort": 0}]},
        {"name": "side", "exec": {"command": {"shell": "sleep 1000"}}, "resources": {"cpus": 0.05, "mem": 16}},
    ],
}
FORCE_TITLE = "A deployment is in progress"

INSTANCES = """return [...document.querySelectorAll('#pod-instances tr[data-instance]')].map(tr => ({
  id: tr.dataset.instance,
  status: tr.dataset.status,
  containers: [...tr.querySelectorAll('li[data-container]')].map(li => li.querySelector('.state').textContent),
  tasks: [...tr.querySelectorAll('li[data-container]')].map(li => li.dataset.task),
  port: tr.querySelector('a[data-endpoint=http]')?.textContent.split(':')[1] ?? null,
}))"""


def stable_instances(browser, n, replaced=()):
    """The `n` instances shown, when all are stable with both containers running and the
    endpoint's host port, and none runs a container task of the `replaced` rows (a replacement
    may keep its instance id and launch new tasks)."""
    rows = browser.js(INSTANCES)
    ok = len(rows) == n and all(r["status"] == "STABLE" and r["containers"] == ["running", "running"] and r["port"]
                                for r in rows)
    old = {t for r in replaced for t in r["tasks"]}
    return ok and not old & {t for r in rows for t in r["tasks"]} and rows


def api(pacer, path):
    return requests.get(f"{pacer.url}{path}", timeout=10).json()


def set_editor(browser, definition):
    browser.js("const t = document.querySelector('#app-json'); t.value = arguments[0];"
               "t.dispatchEvent(new Event('input'))", json.dumps(definition, indent=2))


def editor_value(browser, needle):
    browser.wait(lambda: browser.js("return document.querySelector('#app-json')?.value.includes(arguments[0])", needle),
                 f"the editor with {needle}")
    return json.loads(browser.js("return document.querySelector('#app-json').value"))


def top_dialog(browser):
    return browser.js("return [...document.querySelectorAll('dialog[open]')].pop()?.querySelector('h2')?.textContent")


def confirm(browser):
    browser.click("dialog[open] [data-action=confirm]", "the confirmation button")


def until(browser, done, what):
    """Waits for `done()`, forcing past a deployment in progress when the page asks: the
    previous change's deployment may still run (pods whose instances do not start keep it)."""
    def probe():
        if top_dialog(browser) == FORCE_TITLE:
            confirm(browser)
            return False
        return done()
    return browser.wait(probe, what)


def serves(port):
    try:
        return requests.get(f"http://127.0.0.1:{port}/", timeout=5).status_code == 200
    except requests.ConnectionError:
        return False  # running, but python has not bound its port yet


def pod_row(browser, pod_id):
    return browser.js("""const tr = document.querySelector(`#pods tr[data-pod='${arguments[0]}']`);
        return tr && {status: tr.querySelector('.badge').textContent, running: tr.querySelector('[data-col=running]').textContent,
                      containers: tr.children[3].textContent}""", pod_id)


def set_filter(browser, css, text):
    browser.js("const f = document.querySelector(arguments[0]); f.value = arguments[1]; f.dispatchEvent(new Event('input'))",
               css, text)


def test_a_pod_from_creation_to_destruction(pacer, browser):
    browser.open("#/pods")
    browser.wait(lambda: browser.text("#pod-count") == "0 pods", "the empty pod list")
    browser.click("#new-pod")
    browser.wait(lambda: browser.js("return document.querySelector('#editor')?.dataset.kind") == "pod", "the pod editor")
    set_editor(browser, POD)
    browser.screenshot("pod-create-form")
    browser.click("#editor-save")
    browser.wait(lambda: browser.driver.current_url.endswith("#/pods/shop/cart"), "the pod's page")
    browser.wait(lambda: browser.text("#pod-status") in ("deploying", "waiting", "STABLE", "DEGRADED"), "the pod's status")
    browser.click("[data-tab=containers]")
    assert browser.js("return [...document.querySelectorAll('#containers tr')].map(tr => tr.dataset.container)") == ["web", "side"]
    assert "http.server" in browser.text("#containers tr[data-container=web]")

    # Its instance runs both containers; the endpoint's host port serves.
    browser.click("[data-tab=instances]")
    [instance] = browser.wait(lambda: stable_instances(browser, 1), "one stable instance")
    wait_until(lambda: serves(instance["port"]), 60, "the endpoint's host port to serve")
    browser.wait(lambda: browser.text("#pod-status") == "STABLE", "the pod stable")
    browser.screenshot("pod-created")

    # Listed with its status, instances wanted and containers; found by its label.
    browser.open("#/pods")
    row = browser.wait(lambda: pod_row(browser, "/shop/cart"), "the pod in the list")
    assert browser.text("#pod-count") == "1 pod"
    assert row["status"] == "STABLE" and row["running"] == "1 / 1" and row["containers"] == "web, side", row
    browser.screenshot("pods-list")
    set_filter(browser, "#pod-filter", "team=shop")
    browser.wait(lambda: browser.text("#pod-count") == "1 pod", "the pod found by its label")
    set_filter(browser, "#pod-filter", "team=other")
    browser.wait(lambda: browser.text("#pod-count") == "0 of 1 pod", "no pod of another team")
    set_filter(browser, "#pod-filter", "")
    browser.click("#pods a[href='#/pods/shop/cart']")

    # A validation error from the server beside the field it is about; nothing is saved.
    browser.click("#edit")
    bad = editor_value(browser, "http.server")
    bad["containers"][0]["resources"]["cpus"] = -1
    set_editor(browser, bad)
    browser.click("#editor-save")
    browser.wait(lambda: browser.text("#editor-errors"), "the server's errors")
    text = json.dumps(bad, indent=2).split("\n")
    cpus_line = next(i for i, line in enumerate(text, 1) if '"cpus": -1' in line)
    notes = browser.js("return [...document.querySelectorAll('#editor .note')].map(n => [n.dataset.line, n.textContent])")
    assert [int(line) for line, _ in notes] == [cpus_line], notes
    assert "resources/cpus" in browser.text("#editor-errors")
    browser.screenshot("pod-validation-error")

    # Edited: a new version whose diff shows the change.
    edited = copy.deepcopy(bad)
    edited["containers"][0]["resources"]["cpus"] = 0.05
    edited["containers"][1]["exec"]["command"]["shell"] = "sleep 2000"
    set_editor(browser, edited)
    browser.click("#editor-save")
    until(browser, lambda: api(pacer, "/v2/pods/shop/cart")["containers"][1]["exec"]["command"]["shell"] == "sleep 2000",
          "the edit accepted")
    browser.wait(lambda: not browser.js("return document.querySelector('#editor')"), "the editor closed")
    browser.wait(lambda: stable_instances(browser, 1, [instance]), "the instance replaced by one of the new version")
    browser.click("[data-tab=versions]")
    browser.wait(lambda: len(browser.js("return [...document.querySelectorAll('#versions tr')]")) == 2, "two versions")
    browser.wait(lambda: "sleep 2000" in (browser.text("#diff .add") or ""), "the diff of the edit")
    browser.screenshot("pod-versions-diff")

    # Rolled back with one click: the old spec comes back as a third version.
    older = browser.js("return [...document.querySelectorAll('#versions tr')].map(tr => tr.dataset.version)")[1]
    browser.click(f"[data-rollback='{older}']")
    confirm(browser)
    until(browser, lambda: api(pacer, "/v2/pods/shop/cart")["containers"][1]["exec"]["command"]["shell"] == "sleep 1000",
          "the rollback accepted")
    browser.wait(lambda: len(browser.js("return [...document.querySelectorAll('#versions tr')]")) == 3, "three versions")

    # Scaled to 2 through the dialog.
    browser.click("#scale")
    browser.js("document.querySelector('dialog[open] input').value = '2'")
    confirm(browser)
    until(browser, lambda: api(pacer, "/v2/pods/shop/cart")["scaling"]["instances"] == 2, "the scale accepted")
    browser.wait(lambda: browser.text("#summary [data-key=running]") == "2 of 2", "two instances running")
    browser.click("[data-tab=instances]")
    rows = browser.wait(lambda: stable_instances(browser, 2), "two stable instances")

    # One instance killed: a replacement starts.
    victim = rows[0]
    browser.click(f"[data-kill='{victim['id']}']")
    confirm(browser)
    rows = browser.wait(lambda: stable_instances(browser, 2, [victim]), "the killed instance replaced")
    browser.screenshot("pod-instance-killed")

    # Restarted: every instance replaced, as a new version with the restart label.
    browser.click("#restart")
    confirm(browser)
    until(browser, lambda: "pacer.restartedAt" in api(pacer, "/v2/pods/shop/cart")["labels"], "the restart accepted")
    browser.wait(lambda: stable_instances(browser, 2, rows), "both instances replaced")
    browser.click("[data-tab=configuration]")
    browser.click("#view [data-format=yaml]")
    browser.wait(lambda: "instances: 2" in (browser.text("#config") or ""), "the configuration as YAML")
    browser.screenshot("pod-scaled")

    # Destroyed after confirming: back on the list, the pod gone.
    browser.click("#destroy")
    browser.screenshot("pod-destroy-confirmation")
    confirm(browser)
    until(browser, lambda: browser.driver.current_url.endswith("#/pods"), "the pods page after destroy")
    browser.wait(lambda: browser.text("#pod-count") == "0 pods", "the pod gone from the list")
    assert api(pacer, "/v2/pods") == []
    wait_until(lambda: task_processes_under(pacer.root) == [], 60, "no process of the pod")


GROUP = {
    "id": "/team",
    "apps": [
        {"id": "a", "cmd": "sleep 1000", "cpus": 0.01, "mem": 8, "instances": 1},
        {"id": "b", "cmd": "sleep 1000", "cpus": 0.01, "mem": 8, "instances": 0},
    ],
}


def plan(browser):
    return browser.js("return [...document.querySelectorAll('#plan li')].map(li => li.textContent)")


def app_rows(browser):
    return browser.js("return [...document.querySelectorAll('#apps tr.app')].map(tr => tr.dataset.app)")


def test_a_group_created_edited_after_its_plan_and_deleted(pacer, browser):
    browser.open("#/apps")
    browser.wait(lambda: browser.text("#app-count") == "0 apps", "the empty app list")
    browser.click("#new-group")
    browser.wait(lambda: browser.js("return document.querySelector('#editor')?.dataset.kind") == "group", "the group editor")
    set_editor(browser, GROUP)
    browser.click("#editor-save")
    browser.wait(lambda: top_dialog(browser) == "Apply the change to /team?", "the plan of the new group")
    steps = plan(browser)
    assert any("StartApplication /team/a" in s for s in steps) and any("/team/b" in s for s in steps), steps
    browser.screenshot("group-create-plan")
    confirm(browser)
    browser.wait(lambda: browser.js("return document.querySelector(\"tr[data-group='/team']\")"), "the group in the tree")
    browser.wait(lambda: app_rows(browser) == ["/team/a", "/team/b"], "both apps in the group")
    browser.screenshot("group-created")

    # Edited from its row: app b removed, after the plan says it stops.
    browser.click("[data-edit-group='/team']")
    tree = editor_value(browser, "/team/b")
    tree["apps"] = [a for a in tree["apps"] if a["id"] != "/team/b"]
    set_editor(browser, tree)
    browser.click("#editor-save")
    browser.wait(lambda: top_dialog(browser) == "Apply the change to /team?", "the plan of the edit")
    steps = plan(browser)
    assert any("StopApplication /team/b" in s for s in steps) and not any("/team/a" in s for s in steps), steps
    browser.screenshot("group-edit-plan")
    confirm(browser)
    until(browser, lambda: app_rows(browser) == ["/team/a"], "app b gone from the group")
    assert [a["id"] for a in api(pacer, "/v2/groups/team")["apps"]] == ["/team/a"]
    browser.screenshot("group-edited")

    # Deleted from its row after confirming: the group and its app's process gone.
    browser.click("[data-delete-group='/team']")
    assert top_dialog(browser) == "Delete group /team"
    confirm(browser)
    until(browser, lambda: browser.text("#app-count") == "0 apps", "the group's apps gone")
    assert not browser.js("return document.querySelector(\"tr[data-group='/team']\")")
    assert requests.get(f"{pacer.url}/v2/groups/team", timeout=10).status_code == 404
    wait_until(lambda: pacer.task_processes("/team/a") == [], 60, "no process of /team/a")


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


def test_pod_words_resources_and_group_bodies(pacer, browser):
    browser.open("#/cluster")
    browser.driver.set_script_timeout(30)
    status = "(m, s, d, q) => m.podStatus(s, d, q)"
    assert run(browser, "status.js", status, {"id": "/p", "status": "STABLE"}, [{"affectedPods": ["/p"]}], None) == "deploying"
    assert run(browser, "status.js", status, {"id": "/p", "status": "STABLE"}, [{"affectedPods": ["/q"]}], None) == "STABLE"
    delayed = {"delay": {"overdue": False, "timeLeftSeconds": 30}}
    assert run(browser, "status.js", status, {"id": "/p", "status": "DEGRADED"}, [], delayed) == "waiting"
    assert run(browser, "status.js", "(m) => ['STABLE', 'DEGRADED', 'deploying'].map(m.podBadge)") == \
        ["running", "unhealthy", "deploying"]
    running = {"instances": [{"containers": [{"status": "TASK_RUNNING"}, {"status": "TASK_RUNNING"}]},
                             {"containers": [{"status": "TASK_RUNNING"}, {"status": "TASK_STAGING"}]}, {"containers": []}]}
    assert run(browser, "status.js", "(m, s) => m.podRunning(s)", running) == 1

    spec = {"executorResources": {"cpus": 0.1, "mem": 32},
            "containers": [{"resources": {"cpus": 0.05, "mem": 16}}, {"resources": {"cpus": 0.25, "mem": 100}}]}
    per = run(browser, "views/pods.js", "(m, s) => m.perInstance(s)", spec)
    assert round(per["cpus"], 6) == 0.4 and per["mem"] == 148, per

    # A group as the server shows it becomes a PUT body: app definitions, no pods, no stamps.
    shown = {"id": "/g", "version": "2020-01-01T00:00:00.000Z", "pods": [{"id": "/g/p"}], "dependencies": [],
             "apps": [{"id": "/g/a", "cmd": "x", "version": "v", "tasksRunning": 1, "deployments": []}],
             "groups": [{"id": "/g/s", "apps": [], "groups": [], "pods": [], "dependencies": ["/g"]}]}
    assert run(browser, "kinds.js", "(m, g) => m.groupDefinition(g)", shown) == {
        "id": "/g", "apps": [{"id": "/g/a", "cmd": "x"}],
        "groups": [{"id": "/g/s", "dependencies": ["/g"], "apps": [], "groups": []}]}
    assert run(browser, "kinds.js", "(m, p) => m.podDefinition(p)", {"id": "/p", "version": "v", "versionInfo": {}}) == {"id": "/p"}
