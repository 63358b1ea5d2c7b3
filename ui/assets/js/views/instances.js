// The instances table of an app: host, ports as links, health, state, started, version;
// select instances to kill them, with or without scaling the app down.

import * as actions from "../actions.js";
import { h, fill } from "../dom.js";
import { ago, version } from "../format.js";
import { taskHealth } from "../status.js";
import { openLogs } from "./logs.js";

export function instancesPanel() {
  const selected = new Set();
  let app = null;
  const all = h("input", { type: "checkbox", "aria-label": "select all", onchange: (ev) => {
    for (const t of app.tasks) (ev.target.checked ? selected.add(t.id) : selected.delete(t.id));
    render();
  } });
  const body = h("tbody", { id: "instances" });
  const kill = h("button", { class: "small danger", id: "kill", onclick: () => killSelected(false) }, "Kill");
  const killScale = h("button", { class: "small danger", id: "kill-scale", onclick: () => killSelected(true) }, "Kill and scale down");
  const root = h("div", {},
    h("div", { class: "toolbar" }, h("span", { class: "muted", id: "selection" }), kill, killScale),
    h("table", {}, h("thead", {}, h("tr", {}, h("th", {}, all), ["ID", "Host", "Ports", "Health", "State", "Started", "Version", ""].map((c) => h("th", {}, c)))), body));

  async function killSelected(scale) {
    const ids = [...selected];
    if (ids.length && (await actions.kill(app.id, ids, scale))) selected.clear();
    render();
  }

  function render() {
    const tasks = [...(app.tasks ?? [])].sort((a, b) => (a.stagedAt ?? "").localeCompare(b.stagedAt ?? "") || a.id.localeCompare(b.id));
    for (const id of selected) if (!tasks.some((t) => t.id === id)) selected.delete(id);
    all.checked = tasks.length > 0 && selected.size === tasks.length;
    kill.disabled = killScale.disabled = selected.size === 0;
    root.querySelector("#selection").textContent = selected.size ? `${selected.size} selected` : "Select instances to kill them.";
    fill(body, tasks.length ? tasks.map(row) : h("tr", {}, h("td", { colspan: 9, class: "empty" }, "No instances.")));
  }

  function row(t) {
    const health = taskHealth(t);
    const failure = (t.healthCheckResults ?? []).find((r) => !r.alive)?.lastFailureCause;
    // Versions are ISO timestamps. Older than the last config change means an old config;
    // newer ones may still differ after a rollback, which the API does not tell per task.
    const old = Boolean(t.version && app.versionInfo?.lastConfigChangeAt && t.version < app.versionInfo.lastConfigChangeAt);
    return h("tr", { "data-task": t.id },
      h("td", {}, h("input", { type: "checkbox", "aria-label": `select ${t.id}`, checked: selected.has(t.id), onchange: (ev) => {
        if (ev.target.checked) selected.add(t.id);
        else selected.delete(t.id);
        render();
      } })),
      h("td", { class: "mono" }, t.id),
      h("td", {}, t.host),
      h("td", {}, (t.ports ?? []).flatMap((p, i) => [i ? ", " : "", h("a", { href: `http://${t.host}:${p}/`, target: "_blank", rel: "noopener" }, String(p))])),
      h("td", { class: `health ${health}`, title: failure ?? "" }, health || "–"),
      h("td", { class: "state" }, (t.state ?? "").replace("TASK_", "").toLowerCase()),
      h("td", { title: t.startedAt ?? "" }, ago(t.startedAt)),
      h("td", { title: t.version, class: old ? "muted" : "" }, version(t.version), old ? " (old config)" : ""),
      h("td", {}, h("button", { class: "small", "data-logs": t.id, onclick: () => openLogs(t.id) }, "Output")));
  }

  return {
    root,
    update(next) {
      app = next;
      render();
    },
  };
}
