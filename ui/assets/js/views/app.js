// One app: status, counts and resources, its deployment's progress and launch queue entry,
// actions, and tabs for instances, configuration (JSON or YAML) and versions.

import * as api from "../api.js";
import * as actions from "../actions.js";
import { h, fill, link } from "../dom.js";
import { definitionOf, openEditor } from "../editor.js";
import { toYaml } from "../yaml.js";
import { ago, mem, num, seconds, version } from "../format.js";
import { appStatus, taskHealth } from "../status.js";
import { instancesPanel } from "./instances.js";
import { versionsPanel } from "./versions.js";
import { deploymentProgress } from "./deployments.js";
import { crumbs } from "./group.js";
import { queueReasons } from "./queue.js";

const TABS = ["instances", "configuration", "versions"];
const ui = { tab: "instances", format: "json" };

const renderDefinition = (app, format) =>
  format === "yaml" ? toYaml(definitionOf(app)) : JSON.stringify(definitionOf(app), null, 2);

export function appView(id) {
  let app = null;
  const title = h("h2", {}, id);
  const badge = h("span", { class: "badge", id: "app-status" });
  const buttons = h("div", { class: "buttons" });
  const summary = h("dl", { class: "summary", id: "summary" });
  const conditions = h("ul", { class: "conditions", id: "conditions" });
  const deployment = h("div", { id: "deployment" });
  const queue = h("div", { id: "queue-entry" });
  const instances = instancesPanel();
  const versions = versionsPanel(() => ui.format);
  const config = h("pre", { class: "config", id: "config" });
  const formatButtons = ["json", "yaml"].map((f) => h("button", { class: "small", "data-format": f, onclick: () => setFormat(f) }, f.toUpperCase()));
  const panels = {
    instances: instances.root,
    configuration: h("div", {}, h("div", { class: "toolbar" }, formatButtons, h("span", { class: "grow" }), h("button", { class: "small", onclick: edit }, "Edit")), config),
    versions: h("div", {}, h("div", { class: "toolbar" }, h("span", { class: "muted" }, "Diffs use the format:"), formatButtons.map((b) => b.cloneNode(true))), versions.root),
  };
  for (const b of panels.versions.querySelectorAll("[data-format]")) b.addEventListener("click", () => setFormat(b.dataset.format));
  const tabs = h("nav", { class: "tabs" }, TABS.map((t) => h("button", { "data-tab": t, onclick: () => setTab(t) }, t[0].toUpperCase() + t.slice(1))));
  const body = h("div", { class: "tab-body" });
  const root = h("section", { class: "app-detail" },
    crumbs(id),
    h("div", { class: "toolbar" }, title, badge, h("span", { class: "grow" }), buttons),
    summary, conditions, deployment, queue, tabs, body);

  function setTab(t) {
    ui.tab = t;
    for (const b of tabs.children) b.classList.toggle("active", b.dataset.tab === t);
    fill(body, panels[t]);
  }

  function setFormat(f) {
    ui.format = f;
    // Both tabs have format buttons, and only one tab is in the page at a time.
    for (const panel of Object.values(panels)) {
      for (const b of panel.querySelectorAll("[data-format]")) b.classList.toggle("active", b.dataset.format === f);
    }
    if (app) config.textContent = renderDefinition(app, f);
    versions.showDiff();
  }

  async function edit() {
    if (app) await openEditor(app);
  }

  function renderHeader(status) {
    badge.className = `badge ${status}`;
    badge.textContent = status;
    fill(buttons,
      h("button", { onclick: edit, id: "edit" }, "Edit"),
      h("button", { onclick: () => actions.scale(app), id: "scale" }, "Scale"),
      h("button", { onclick: () => actions.restart(app), id: "restart" }, "Restart"),
      app.instances === 0
        ? h("button", { onclick: () => actions.resume(app), id: "resume" }, "Resume")
        : h("button", { onclick: () => actions.suspend(app), id: "suspend" }, "Suspend"),
      h("button", { class: "danger", id: "destroy", onclick: async () => {
        if (await actions.destroy(app)) location.hash = "#/apps";
      } }, "Destroy"));
  }

  function renderSummary() {
    const item = (label, value, key) => [h("dt", {}, label), h("dd", { "data-key": key, "data-label": label }, value)];
    const failure = app.lastTaskFailure;
    fill(summary,
      item("Running", `${app.tasksRunning} of ${app.instances}`, "running"),
      item("Healthy", String(app.tasksHealthy), "healthy"),
      item("Unhealthy", String(app.tasksUnhealthy), "unhealthy"),
      item("Staged", String(app.tasksStaged), "staged"),
      item("CPUs", num(app.cpus), "cpus"),
      item("Memory", mem(app.mem), "mem"),
      item("Disk", mem(app.disk ?? 0), "disk"),
      item("Version", h("span", { title: app.version }, version(app.version)), "version"),
      item("Config changed", ago(app.versionInfo?.lastConfigChangeAt), "changed"),
      failure ? item("Last failure", `${failure.state} ${ago(failure.timestamp)}: ${failure.message}`, "failure") : null);
  }

  /** The server's Available / Progressing / Degraded conditions, when it reports them. */
  function renderConditions() {
    fill(conditions, (app.conditions ?? []).map((c) => {
      const yes = c.status === "True";
      // Degraded is bad news when true, Available when false; Progressing is neither.
      const kind = { Available: yes ? "good" : "bad", Degraded: yes ? "bad" : "good" }[c.type] ?? (yes ? "info" : "");
      return h("li", { class: kind, "data-condition": c.type, title: `${c.reason} since ${c.lastTransitionTime}` },
        h("strong", {}, `${c.type}: ${c.status === "True" ? "yes" : "no"}`), ` ${c.message}`);
    }));
  }

  function renderDeployments(all) {
    const mine = all.filter((d) => d.affectedApps.includes(id));
    fill(deployment, mine.map((d) => h("div", { class: "panel" },
      h("h3", {}, "Deployment in progress"),
      deploymentProgress(d, stepProgress()),
      h("div", { class: "buttons" },
        h("button", { class: "small", onclick: () => actions.cancelDeployment(d, false) }, "Roll back"),
        h("button", { class: "small danger", onclick: () => actions.cancelDeployment(d, true) }, "Force stop")))));
  }

  /** Instances with the new configuration that are up (healthy, when checked) of those wanted. */
  function stepProgress() {
    const since = app.versionInfo?.lastConfigChangeAt ?? app.version;
    const checked = (app.healthChecks ?? []).length > 0;
    const up = (app.tasks ?? []).filter((t) => t.state === "TASK_RUNNING" && t.version >= since && (!checked || taskHealth(t) === "healthy"));
    return app.instances ? up.length / app.instances : 1;
  }

  function renderQueue(entry) {
    if (!entry) return fill(queue);
    const delay = entry.delay && !entry.delay.overdue ? `launch delayed ${seconds(entry.delay.timeLeftSeconds)}` : "waiting for offers";
    fill(queue, h("div", { class: "panel" },
      h("h3", {}, `${entry.count} instance(s) waiting to launch: ${delay}`),
      queueReasons(entry),
      entry.delay && !entry.delay.overdue ? h("button", { class: "small", onclick: () => actions.resetDelay(id) }, "Launch now (reset delay)") : null));
  }

  setTab(ui.tab);
  setFormat(ui.format);

  return {
    root,
    title: id,
    async refresh() {
      let deployments;
      let queueList;
      try {
        [app, deployments, queueList] = await Promise.all([api.getApp(id), api.listDeployments(), api.listQueue()]);
      } catch (e) {
        if (e.status !== 404) throw e;
        fill(root, h("p", { class: "empty" }, `App ${id} does not exist (any more). `, link("#/apps", "Back to the apps")));
        return;
      }
      const entry = queueList.find((q) => q.app?.id === id);
      renderHeader(appStatus(app, entry));
      renderSummary();
      renderConditions();
      renderDeployments(deployments);
      renderQueue(entry);
      instances.update(app);
      config.textContent = renderDefinition(app, ui.format);
      await versions.update(app);
    },
  };
}
