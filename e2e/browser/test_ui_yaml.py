"""YAML in the web UI's editor, and groups with nothing in them, in real headless Chromium
against a real `pacer server`: an app typed in YAML is sent as typed and its instance runs, then
is edited in YAML (the JSON/YAML toggle converting both ways); YAML syntax errors and the
server's validation errors show beside their lines; empty groups (one made in the group editor
in YAML) show in the apps tree, and one opens its page, gets an app from there, is edited and
deleted."""

import json

import requests
import yaml

from pacer_fixture import wait_until

APP_YAML = """\
# Typed by hand: a comment, a literal block, flow style, a sequence under its key.
id: /yaml/web
cmd: |
  echo serving on $PORT0
  exec python3 -m http.server $PORT0 --bind 127.0.0.1
cpus: 0.05
mem: 32
instances: 1
portDefinitions:
  - {port: 0, name: http}
labels:
  team: yaml
"""

# Every request body the page sends, with its method, path and Content-Type.
RECORD_REQUESTS = """
window.sent = [];
const fetch0 = window.fetch;
window.fetch = (url, opts = {}) => {
  if (typeof opts.body === "string") window.sent.push([opts.method, url, opts.headers?.["Content-Type"], opts.body]);
  return fetch0(url, opts);
};
"""

INSTANCES = """return [...document.querySelectorAll('#instances tr[data-task]')].map(tr => ({
  id: tr.dataset.task, state: tr.querySelector('.state').textContent,
}))"""


def running_instances(browser, n):
    rows = browser.js(INSTANCES)
    return len(rows) == n and all(r["state"] == "running" for r in rows) and rows


def api(pacer, path):
    return requests.get(f"{pacer.url}{path}", timeout=10).json()


def editor_text(browser):
    return browser.js("return document.querySelector('#app-json')?.value ?? null")


def editor_format(browser):
    return browser.js("return document.querySelector('#editor')?.dataset.format ?? null")


def set_editor(browser, text):
    browser.js("const t = document.querySelector('#app-json'); t.value = arguments[0];"
               "t.dispatchEvent(new Event('input'))", text)


def switch_to(browser, fmt):
    browser.click(f"#editor-{fmt}")
    browser.wait(lambda: editor_format(browser) == fmt, f"the editor in {fmt}")


def notes(browser):
    return browser.js("return [...document.querySelectorAll('#editor .note')].map(n => [Number(n.dataset.line), n.textContent])")


def top_dialog(browser):
    return browser.js("return [...document.querySelectorAll('dialog[open]')].pop()?.querySelector('h2')?.textContent")


def confirm(browser):
    browser.click("dialog[open] [data-action=confirm]", "the confirmation button")


def serves(port):
    try:
        return requests.get(f"http://127.0.0.1:{port}/", timeout=5).status_code == 200
    except requests.ConnectionError:
        return False


def test_an_app_typed_in_yaml_runs_and_is_edited_in_yaml(pacer, browser):
    browser.open("#/apps")
    browser.wait(lambda: browser.text("#app-count") == "0 apps", "the empty app list")
    browser.js(RECORD_REQUESTS)
    browser.click("#new-app")
    browser.wait(lambda: editor_format(browser) == "json", "the editor, in JSON at first")
    template = json.loads(editor_text(browser))
    # The toggle converts what is there: the template as YAML, the same definition.
    switch_to(browser, "yaml")
    assert yaml.safe_load(editor_text(browser)) == template
    set_editor(browser, APP_YAML)
    browser.screenshot("yaml-create-form")
    browser.click("#editor-save")

    browser.wait(lambda: browser.driver.current_url.endswith("#/apps/yaml/web"), "the app's page")
    # Sent as typed, labelled YAML; the server read it as the definition written.
    assert ["POST", "/v2/apps", "application/yaml", APP_YAML] in browser.js("return window.sent")
    app = api(pacer, "/v2/apps/yaml/web")["app"]
    assert app["cmd"] == yaml.safe_load(APP_YAML)["cmd"] and app["labels"] == {"team": "yaml"}
    [instance] = browser.wait(lambda: running_instances(browser, 1), "one running instance")
    tasks = api(pacer, "/v2/apps/yaml/web/tasks")["tasks"]
    wait_until(lambda: serves(tasks[0]["ports"][0]), 60, "the instance to serve on its port")
    assert pacer.task_processes("/yaml/web")
    browser.screenshot("yaml-app-running")

    # Edited again in YAML, the format chosen last time; JSON and back shows the same definition.
    wait_until(lambda: api(pacer, "/v2/deployments") == [], 60, "the creation's deployment to finish")
    browser.js(RECORD_REQUESTS)
    browser.click("#edit")
    browser.wait(lambda: editor_format(browser) == "yaml" and "cmd: |" in (editor_text(browser) or ""), "the app as YAML")
    shown = yaml.safe_load(editor_text(browser))
    assert shown["id"] == "/yaml/web" and shown["cmd"] == app["cmd"] and shown["instances"] == 1
    switch_to(browser, "json")
    assert json.loads(editor_text(browser)) == shown
    switch_to(browser, "yaml")
    assert yaml.safe_load(editor_text(browser)) == shown
    edited = editor_text(browser).replace("instances: 1\n", "instances: 2\n")
    assert edited != editor_text(browser)
    set_editor(browser, edited)
    browser.screenshot("yaml-edit-form")
    browser.click("#editor-save")
    browser.wait(lambda: not browser.js("return document.querySelector('#editor')"), "the editor closed")
    assert ["PUT", "/v2/apps/yaml/web", "application/yaml", edited] in browser.js("return window.sent")
    rows = browser.wait(lambda: running_instances(browser, 2), "two running instances after the YAML edit")
    assert instance["id"] in {r["id"] for r in rows}, "scaling up keeps the first instance"
    assert api(pacer, "/v2/apps/yaml/web")["app"]["instances"] == 2
    browser.screenshot("yaml-app-scaled")


def test_yaml_errors_show_beside_their_lines(pacer, browser):
    browser.open("#/apps")
    browser.click("#new-app")
    switch_to(browser, "yaml")

    # The server's validation errors, on the lines of the fields they name.
    invalid = "\n".join([
        "id: /bad",
        "cmd: sleep 1000",
        "cpus: -1",
        "mem: 16",
        "portDefinitions:",
        "  - port: 0",
        "    name: a",
        "  - port: 0",
        "    name: a",
        "healthChecks:",
        "- protocol: HTTP",
        "  portIndex: 5",
        "",
    ])
    set_editor(browser, invalid)
    browser.click("#editor-save")
    browser.wait(lambda: browser.text("#editor-errors"), "the server's errors")
    assert sorted(line for line, _ in notes(browser)) == [3, 5, 11], notes(browser)
    errors = browser.text("#editor-errors")
    assert "/cpus" in errors and "/portDefinitions" in errors and "healthChecks" in errors, errors
    assert browser.js("return document.querySelectorAll('#editor .gutter .err').length") == 3
    browser.screenshot("yaml-validation-errors")

    # A syntax error: the server's message, on the line it names; nothing is sent to be saved.
    set_editor(browser, "id: /bad\ncmd: sleep 1000\n  cpus: 1\nmem: 16\n")
    browser.click("#editor-save")
    browser.wait(lambda: "Not valid YAML" in (browser.text("#editor-errors") or ""), "the syntax error")
    assert [line for line, _ in notes(browser)] == [3], notes(browser)
    assert "line 3" in browser.text("#editor-errors")
    browser.screenshot("yaml-syntax-error")

    # Text that does not read is not converted: the editor stays in YAML with the reason.
    browser.click("#editor-json")
    browser.wait(lambda: "fix it to convert to JSON" in (browser.text("#editor-errors") or ""), "the refusal to convert")
    assert editor_format(browser) == "yaml" and editor_text(browser).startswith("id: /bad\n")
    browser.click("#editor-cancel")
    assert api(pacer, "/v2/apps")["apps"] == []


def group_rows(browser):
    return browser.js("return [...document.querySelectorAll('#apps tr.group')].map(tr => tr.dataset.group)")


def test_an_empty_group_opens_from_the_tree_and_is_deleted(pacer, browser):
    requests.post(f"{pacer.url}/v2/groups", json={"id": "/outer/inner"}, timeout=10).raise_for_status()
    browser.open("#/apps")
    browser.wait(lambda: group_rows(browser) == ["/outer", "/outer/inner"], "an empty group made elsewhere in the tree")

    # Another created in the group editor, in YAML: the server's plan has nothing to start.
    browser.click("#new-group")
    browser.wait(lambda: browser.js("return document.querySelector('#editor')?.dataset.kind") == "group", "the group editor")
    switch_to(browser, "yaml")
    set_editor(browser, "# Nothing in it yet.\nid: /empty\n")
    browser.click("#editor-save")
    browser.wait(lambda: top_dialog(browser) == "Apply the change to /empty?", "the plan of the new group")
    assert browser.text("#plan p") == "Nothing would change."
    confirm(browser)
    browser.wait(lambda: group_rows(browser) == ["/empty", "/outer", "/outer/inner"], "the empty groups in the tree")
    assert api(pacer, "/v2/groups/empty")["apps"] == []
    assert browser.text("#app-count") == "0 apps"
    assert "0 apps" in browser.text("tr[data-group='/empty']")
    browser.screenshot("empty-groups-in-tree")

    # Its page: nothing in it yet, and what can be done with it.
    browser.click("tr[data-group='/empty'] a.group-link")
    browser.wait(lambda: browser.driver.current_url.endswith("#/groups/empty"), "the group's page")
    browser.wait(lambda: browser.text("#group-empty"), "the group shown empty")
    assert browser.text("#group-summary [data-key=holds]").endswith("0 groups, 0 apps, 0 pods")
    browser.screenshot("empty-group-page")

    # An app added from there starts out in the group.
    browser.click("#add-app")
    browser.wait(lambda: browser.js("return document.querySelector('#editor')?.dataset.kind") == "app", "the app editor")
    switch_to(browser, "json")
    template = json.loads(editor_text(browser))
    assert template["id"] == "/empty/my-app"
    app = {"id": "/empty/sleeper", "cmd": "sleep 1000", "cpus": 0.01, "mem": 8, "instances": 1}
    set_editor(browser, json.dumps(app, indent=2))
    browser.click("#editor-save")
    browser.wait(lambda: browser.driver.current_url.endswith("#/apps/empty/sleeper"), "the new app's page")
    browser.wait(lambda: running_instances(browser, 1), "the app's instance running")
    # Back to the group through the app's crumbs.
    browser.click(".crumbs a[href='#/groups/empty']")
    browser.wait(lambda: browser.js("return document.querySelector(\"#group-items tr[data-item='/empty/sleeper']\")"),
                 "the app listed in its group")
    browser.wait(lambda: "1 / 1" in (browser.text("#group-items tr[data-item='/empty/sleeper']") or ""), "its instance counted")
    browser.screenshot("group-with-app")

    # Its whole tree in the group editor (cancelled).
    browser.click("#edit-group")
    browser.wait(lambda: browser.js("return document.querySelector('#editor')?.dataset.kind") == "group", "the group editor")
    tree = json.loads(editor_text(browser))
    assert tree["id"] == "/empty" and [a["id"] for a in tree["apps"]] == ["/empty/sleeper"], tree
    browser.click("#editor-cancel")

    # Deleted after confirming: back to the tree, the group, its app and its process gone.
    browser.click("#delete-group")
    assert top_dialog(browser) == "Delete group /empty"
    confirm(browser)
    browser.wait(lambda: browser.driver.current_url.endswith("#/apps"), "the apps page after the delete")
    browser.wait(lambda: group_rows(browser) == ["/outer", "/outer/inner"], "the group gone from the tree")
    assert requests.get(f"{pacer.url}/v2/groups/empty", timeout=10).status_code == 404
    wait_until(lambda: pacer.task_processes("/empty/sleeper") == [], 60, "no process of /empty/sleeper")
    browser.screenshot("group-deleted")
