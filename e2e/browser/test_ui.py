"""The web UI in real headless Chromium against a real `pacer server`: an app's whole life
through the UI (create, healthy instances, scale, edit with a rolling deployment, rollback,
kill, destroy), validation errors beside their lines, 1,000 apps, and live updates that
survive a lost connection."""

import json

import requests

from pacer_fixture import wait_until

# Serves HTTP on its first port, so Pacer's HTTP health check turns it healthy.
SERVE = "python3 -m http.server $PORT0 --bind 127.0.0.1"
APP = {
    "id": "/shop/web",
    "cmd": SERVE,
    "cpus": 0.05,
    "mem": 32,
    "instances": 1,
    "portDefinitions": [{"port": 0, "name": "http"}],
    "healthChecks": [{"protocol": "HTTP", "path": "/", "portIndex": 0, "gracePeriodSeconds": 60,
                      "intervalSeconds": 1, "timeoutSeconds": 1, "maxConsecutiveFailures": 3}],
    "labels": {"team": "shop"},
}

INSTANCES = """return [...document.querySelectorAll('#instances tr[data-task]')].map(tr => ({
  id: tr.dataset.task,
  health: tr.querySelector('.health').textContent,
  state: tr.querySelector('.state').textContent,
  old: tr.children[7].textContent.includes('(old config)'),
}))"""


def healthy_instances(browser, n):
    rows = browser.js(INSTANCES)
    return len(rows) == n and all(r["health"] == "healthy" and r["state"] == "running" and not r["old"] for r in rows) and rows


def set_editor(browser, definition):
    browser.js("const t = document.querySelector('#app-json'); t.value = arguments[0];"
               "t.dispatchEvent(new Event('input'))", json.dumps(definition, indent=2))


def top_dialog(browser):
    """The title of the dialog on top (a confirmation can open over the editor)."""
    return browser.js("return [...document.querySelectorAll('dialog[open]')].pop()?.querySelector('h2')?.textContent")


def confirm(browser):
    browser.click("dialog[open] [data-action=confirm]", "the confirmation button")


def api(pacer, path):
    return requests.get(f"{pacer.url}{path}", timeout=10).json()


def test_an_app_from_creation_to_destruction(pacer, browser):
    browser.open()
    browser.wait(lambda: browser.text("#app-count") == "0 apps", "the empty app list")
    browser.click("#new-app")
    set_editor(browser, APP)
    browser.screenshot("create-form")
    browser.click("#editor-save")

    # Created: the page moves to the app, whose instance turns running and healthy.
    browser.wait(lambda: browser.driver.current_url.endswith("#/apps/shop/web"), "the app's page")
    browser.wait(lambda: healthy_instances(browser, 1), "one running, healthy instance")
    assert browser.text("#app-status") in ("running", "deploying")
    browser.screenshot("created-healthy")

    # Its output: the health checks' requests are in http.server's stderr.
    browser.click("button[data-logs]")
    browser.click("#logs [data-file=stderr]")
    browser.wait(lambda: '"GET / HTTP/1.1" 200' in (browser.text("#logs-output") or ""), "the health checks in stderr")
    browser.screenshot("task-output")
    browser.click("#logs-close")

    # Scale to 2 through the dialog.
    browser.click("#scale")
    browser.js("document.querySelector('dialog[open] input').value = '2'")
    confirm(browser)
    browser.wait(lambda: healthy_instances(browser, 2), "two healthy instances after scaling")
    browser.wait(lambda: browser.text("#app-status") == "running", "the status back to running")
    browser.screenshot("scaled-to-2")
    before_edit = {r["id"] for r in browser.js(INSTANCES)}

    # Edit: the new command serves only after 4 s, so the rolling deployment is there to watch.
    browser.click("#edit")
    browser.wait(lambda: browser.js("return document.querySelector('#app-json')?.value.includes('http.server')"), "the editor")
    edited = dict(json.loads(browser.js("return document.querySelector('#app-json').value")))
    edited["cmd"] = f"sleep 4 && {SERVE}"
    set_editor(browser, edited)
    browser.click("#editor-save")
    browser.wait(lambda: browser.text("#deployment h3") == "Deployment in progress", "the deployment panel")
    assert "step" in browser.text("#deployment .step")
    browser.screenshot("rolling-deployment")
    browser.wait(lambda: (rows := healthy_instances(browser, 2)) and not before_edit & {r["id"] for r in rows},
                 "two new healthy instances replacing the old ones")
    browser.wait(lambda: browser.text("#deployment") == "", "the deployment to finish")
    assert api(pacer, "/v2/apps/shop/web")["app"]["cmd"] == f"sleep 4 && {SERVE}"
    browser.screenshot("edited")

    # Versions: the diff of the latest change shows the command, then roll back to before it.
    browser.click("[data-tab=versions]")
    browser.wait(lambda: "sleep 4" in (browser.text("#diff") or ""), "the diff of the latest change")
    assert browser.js("return [...document.querySelectorAll('#diff .del')].some(l => l.textContent.includes(arguments[0]))",
                      f'"cmd": "{SERVE}"')
    browser.screenshot("versions-diff")
    versions = browser.js("return [...document.querySelectorAll('#versions tr')].map(tr => tr.dataset.version)")
    assert len(versions) >= 3, versions  # create, scale, edit
    edited_ids = {r["id"] for r in browser.js(INSTANCES)}
    browser.click(f"[data-rollback='{versions[1]}']")
    confirm(browser)
    wait_until(lambda: api(pacer, "/v2/apps/shop/web")["app"]["cmd"] == SERVE, 30, "the rollback to be accepted")
    browser.click("[data-tab=instances]")
    browser.wait(lambda: (rows := healthy_instances(browser, 2)) and not edited_ids & {r["id"] for r in rows},
                 "two healthy instances of the rolled-back version")
    wait_until(lambda: api(pacer, "/v2/deployments") == [], 60, "the rollback's deployment to finish")
    browser.wait(lambda: browser.text("#deployment") == "", "the deployment panel gone")
    browser.screenshot("rolled-back")

    # Kill one instance and scale down: one instance left, not replaced.
    victim = browser.js(INSTANCES)[0]["id"]
    browser.click(f"tr[data-task='{victim}'] input[type=checkbox]")
    browser.click("#kill-scale")
    confirm(browser)
    browser.wait(lambda: (rows := healthy_instances(browser, 1)) and rows[0]["id"] != victim, "one instance after kill and scale")
    assert api(pacer, "/v2/apps/shop/web")["app"]["instances"] == 1

    # Destroy, confirmed: back on the list, the app and its processes gone.
    browser.click("#destroy")
    browser.screenshot("destroy-confirmation")
    confirm(browser)
    browser.wait(lambda: browser.driver.current_url.endswith("#/apps"), "the apps page after destroy")
    browser.wait(lambda: browser.text("#app-count") == "0 apps", "the app gone from the list")
    wait_until(lambda: pacer.task_processes("/shop/web") == [], 60, "no process of /shop/web")


def test_validation_errors_show_beside_their_lines(pacer, browser):
    browser.open("#/apps")
    browser.click("#new-app")
    bad = dict(APP, id="/bad", cpus=-1, instances=0)
    set_editor(browser, bad)
    browser.click("#editor-save")
    browser.wait(lambda: browser.text("#editor-errors"), "the server's errors")
    cpus_line = json.dumps(bad, indent=2).split("\n").index('  "cpus": -1,') + 1
    notes = browser.js("return [...document.querySelectorAll('#editor .note')].map(n => [n.dataset.line, n.textContent])")
    assert [int(line) for line, _ in notes] == [cpus_line], notes
    assert "/cpus" in browser.text("#editor-errors")
    assert browser.js("return document.querySelectorAll('#editor .gutter .err').length") == 1
    browser.screenshot("validation-errors")

    # Syntax errors are caught before sending, with the line they are on.
    browser.js("const t = document.querySelector('#app-json'); t.value = '{\\n  \"id\": \"/x\",\\n  oops\\n}';"
               "t.dispatchEvent(new Event('input'))")
    browser.click("#editor-save")
    browser.wait(lambda: "Not valid JSON" in (browser.text("#editor-errors") or ""), "the syntax error")
    assert browser.js("return document.querySelector('#editor .note').dataset.line") == "3"
    browser.click("#editor-cancel")
    assert requests.get(f"{pacer.url}/v2/apps", timeout=10).json()["apps"] == []


def test_a_thousand_apps_filter_sort_and_page(pacer, browser):
    apps = [{"id": f"/team{i % 10}/svc{i:04d}", "cmd": "sleep 1000", "cpus": 0.01, "mem": 8 + i % 7,
             "instances": 0, "labels": {"tier": "gold" if i % 4 == 0 else "silver"}} for i in range(1000)]
    r = requests.put(f"{pacer.url}/v2/apps", json=apps, timeout=120)
    assert r.status_code in (200, 201), r.text
    browser.open("#/apps")
    browser.wait(lambda: browser.text("#app-count") == "1000 apps", "1000 apps listed", timeout=60)
    # 10 groups + 1000 apps in rows of 50.
    assert browser.text("#page-info") == "Page 1 of 21 (1010 rows)"
    assert browser.js("return document.querySelectorAll('#apps tr').length") == 50
    # Each app's (empty) deployment finishes, then the page shows it at rest.
    browser.wait(lambda: browser.js("return document.querySelector('#apps tr.app .badge').textContent") == "suspended",
                 "the first app suspended")

    browser.click("#next-page")
    browser.wait(lambda: (browser.text("#page-info") or "").startswith("Page 2 of 21"), "page 2")

    # Label filter: every fourth app is gold.
    browser.js("const f = document.querySelector('#app-filter'); f.value = 'tier=gold'; f.dispatchEvent(new Event('input'))")
    browser.wait(lambda: browser.text("#app-count") == "250 of 1000 apps", "250 gold apps")
    # Apps 4, 24, 44, ...: in team4 and gold.
    browser.js("const f = document.querySelector('#app-filter'); f.value = 'team4/ tier=gold'; f.dispatchEvent(new Event('input'))")
    browser.wait(lambda: browser.text("#app-count") == "50 of 1000 apps", "the gold apps of team4")
    assert browser.text("#page-info") == "Page 1 of 2 (51 rows)"
    ids = browser.js("return [...document.querySelectorAll('#apps tr.app')].map(tr => tr.dataset.app)")
    assert ids == [f"/team4/svc{i:04d}" for i in range(4, 1000, 20)][:49]

    # Sorting by memory, descending, inside the group.
    browser.click("th[data-sort=mem]")
    browser.click("th[data-sort=mem]")
    mems = browser.js("return [...document.querySelectorAll('#apps tr.app')].map(tr => tr.children[6].textContent)")
    values = [int(m.split()[0]) for m in mems]
    assert values == sorted(values, reverse=True), values
    browser.screenshot("thousand-apps-filtered")

    # Collapsing a group hides its apps (with no filter).
    browser.js("const f = document.querySelector('#app-filter'); f.value = ''; f.dispatchEvent(new Event('input'))")
    browser.click("tr[data-group='/team0'] button.toggle")
    browser.wait(lambda: browser.text("#page-info") == "Page 1 of 19 (910 rows)", "team0 collapsed")
    browser.js("window.scrollTo(0, 0)")
    browser.screenshot("thousand-apps")


def test_live_updates_and_a_lost_connection(pacer, browser):
    browser.open("#/apps")
    browser.wait(lambda: browser.text("#app-count") == "0 apps", "the empty list")
    browser.wait(lambda: browser.js("return document.querySelector('#live').classList.contains('on')"), "the stream connected")

    # A change made elsewhere shows up without reloading, from the event stream.
    requests.post(f"{pacer.url}/v2/apps", json={"id": "/elsewhere", "cmd": "sleep 1000", "cpus": 0.01, "mem": 8,
                                                "instances": 0}, timeout=10).raise_for_status()
    browser.wait(lambda: browser.text("#app-count") == "1 app", "the new app, live", timeout=8)

    pacer.pause()
    browser.wait(lambda: browser.js("return !document.querySelector('#banner').hidden"), "the lost-connection banner", timeout=30)
    assert "reconnecting" in browser.text("#banner")
    browser.screenshot("connection-lost")
    requests.Session().close()
    pacer.resume()
    browser.wait(lambda: browser.js("return document.querySelector('#banner').hidden"), "the banner gone after reconnecting", timeout=60)
    requests.post(f"{pacer.url}/v2/apps", json={"id": "/after", "cmd": "sleep 1000", "cpus": 0.01, "mem": 8,
                                                "instances": 0}, timeout=10).raise_for_status()
    browser.wait(lambda: browser.text("#app-count") == "2 apps", "live updates again after reconnecting", timeout=15)
    browser.screenshot("reconnected")


def test_queue_deployments_and_cluster_pages(pacer, browser):
    post = lambda app: requests.post(f"{pacer.url}/v2/apps", json=app, timeout=10).raise_for_status()
    # More CPU than the agent has: its deployment waits for offers that never fit.
    post({"id": "/big", "cmd": "sleep 1000", "cpus": 10000, "mem": 8, "instances": 1})
    # Fails at once, then waits out a long launch delay.
    post({"id": "/crash", "cmd": "exit 1", "cpus": 0.01, "mem": 8, "instances": 1, "backoffSeconds": 300})

    browser.open("#/apps")
    status = lambda app: browser.js("return document.querySelector(`tr[data-app='${arguments[0]}'] .badge`)?.textContent", app)
    browser.wait(lambda: status("/big") == "waiting", "/big waiting for offers")
    browser.wait(lambda: status("/crash") == "delayed", "/crash delayed")
    browser.screenshot("waiting-and-delayed")

    browser.click("a[data-section=queue]")
    browser.wait(lambda: "InsufficientCpus" in (browser.text("#queue tr[data-app='/big']") or ""), "the reason /big waits")
    browser.wait(lambda: "left" in (browser.text("#queue tr[data-app='/crash']") or ""), "the delay of /crash")
    browser.screenshot("queue")
    # "Launch now" resets the delay: /crash runs (and fails) again at once.
    failure = lambda: (api(pacer, "/v2/apps/crash")["app"].get("lastTaskFailure") or {}).get("timestamp")
    before = wait_until(failure, 30, "a first failure of /crash")
    browser.click("#queue tr[data-app='/crash'] button")
    wait_until(lambda: failure() != before, 60, "/crash launched again after the delay was reset")

    browser.click("a[data-section=deployments]")
    # /crash may still be deploying too (whether its short runs count as started is a race): aim at /big's row.
    deployment = [d["id"] for d in api(pacer, "/v2/deployments") if d["affectedApps"] == ["/big"]][0]
    row = f"#deployments tr[data-deployment='{deployment}']"
    browser.wait(lambda: "/big" in (browser.text(row) or ""), "the deployment of /big")
    assert "step 2 of 2" in browser.text(row)
    browser.screenshot("deployments")
    browser.click(f"{row} button.danger")
    assert top_dialog(browser) == "Stop deployment"
    confirm(browser)
    browser.wait(lambda: browser.js("return !document.querySelector(arguments[0])", row), "the deployment stopped")
    assert all(d["id"] != deployment for d in api(pacer, "/v2/deployments"))
    assert requests.get(f"{pacer.url}/v2/apps/big", timeout=10).json()["app"]["instances"] == 1

    browser.click("a[data-section=cluster]")
    browser.wait(lambda: browser.text("#cluster [data-key=Leader]"), "the leader")
    assert browser.text("#cluster [data-key=Leader]") == api(pacer, "/v2/leader")["leader"]
    assert browser.text("#cluster [data-key='Framework ID']") == api(pacer, "/v2/info")["frameworkId"]
    browser.screenshot("cluster")


def test_an_edit_never_silently_overwrites_a_change_made_meanwhile(pacer, browser):
    app = {"id": "/shared", "cmd": "sleep 1000", "cpus": 0.01, "mem": 8, "instances": 0}
    requests.post(f"{pacer.url}/v2/apps", json=app, timeout=10).raise_for_status()
    browser.open("#/apps/shared")
    browser.click("#edit")
    browser.wait(lambda: browser.js("return document.querySelector('#app-json')?.value.includes('sleep 1000')"), "the editor")
    mine = json.loads(browser.js("return document.querySelector('#app-json').value"))
    requests.put(f"{pacer.url}/v2/apps/shared", json={"cmd": "sleep 2000"}, timeout=10).raise_for_status()

    set_editor(browser, dict(mine, mem=16))
    browser.click("#editor-save")
    browser.wait(lambda: top_dialog(browser) == "The app changed meanwhile", "the warning")
    browser.screenshot("changed-meanwhile")
    browser.click("dialog[open] [data-action=cancel]")
    browser.wait(lambda: "If-Match" in (browser.text("#editor-errors") or "") or "version" in (browser.text("#editor-errors") or ""),
                 "the refusal in the editor")
    assert api(pacer, "/v2/apps/shared")["app"]["cmd"] == "sleep 2000"

    browser.click("#editor-save")
    browser.wait(lambda: top_dialog(browser) == "The app changed meanwhile", "the warning again")
    confirm(browser)
    wait_until(lambda: api(pacer, "/v2/apps/shared")["app"]["mem"] == 16, 30, "my edit deployed")
    assert api(pacer, "/v2/apps/shared")["app"]["cmd"] == "sleep 1000"
