// One pod: status, spec summary, its deployment's progress, actions, and tabs for containers,
// instances, configuration (JSON or YAML) and versions.

import * as api from "../api.js";
import * as actions from "../actions.js";
import * as podactions from "../podactions.js";
import { h, fill, link } from "../dom.js";
import { openEditor } from "../editor.js";
import { ago, mem, num, version } from "../format.js";
import { POD, podDefinition } from "../kinds.js";
import { podBadge, podRunning, podStatus } from "../status.js";
import { toYaml } from "../yaml.js";
import { deploymentProgress } from "./deployments.js";
import { podInstancesPanel } from "./podinstances.js";
import { perInstance } from "./pods.js";
import { versionsPanel } from "./versions.js";

const TABS = ["instances", "containers", "configuration", "versions"];
const ui = { tab: "instances", format: "json" };

const renderDefinition = (pod, format) =>
  format === "yaml" ? toYaml(podDefinition(pod)) : JSON.stringify(podDefinition(pod), null, 2);

/** What a container runs: its image, else its command. */
function runs(c) {
  const cmd = c.exec?.command?.shell ?? (c.exec?.command?.argv ?? []).join(" ");
  return c.image?.id ? `${c.image.kind ?? "DOCKER"} ${c.image.id}${cmd ? `: ${cmd}` : ""}` : cmd;
}

export function podView(id) {
  let status = null;
  const badge = h("span", { class: "badge", id: "pod-status" });
  const buttons = h("div", { class: "buttons" });
  const summary = h("dl", { class: "summary", id: "summary" });
  const deployment = h("div", { id: "deployment" });
  const instances = podInstancesPanel();
  const containers = h("tbody", { id: "containers" });
  const versions = versionsPanel(() => ui.format, podactions.POD_VERSIONS);
  const config = h("pre", { class: "config", id: "config" });
  const formatButtons = () => ["json", "yaml"].map((f) => h("button", { class: "small", "data-format": f, onclick: () => setFormat(f) }, f.toUpperCase()));
  const panels = {
    instances: instances.root,
    containers: h("table", {}, h("thead", {}, h("tr", {}, ["Name", "Runs", "CPUs", "Mem", "Endpoints"].map((c) => h("th", {}, c)))), containers),
    configuration: h("div", {}, h("div", { class: "toolbar" }, formatButtons(), h("span", { class: "grow" }), h("button", { class: "small", onclick: edit }, "Edit")), config),
    versions: h("div", {}, h("div", { class: "toolbar" }, h("span", { class: "muted" }, "Diffs use the format:"), formatButtons()), versions.root),
  };
  const tabs = h("nav", { class: "tabs" }, TABS.map((t) => h("button", { "data-tab": t, onclick: () => setTab(t) }, t[0].toUpperCase() + t.slice(1))));
  const body = h("div", { class: "tab-body" });
  const root = h("section", { class: "app-detail" },
    h("p", { class: "crumbs" }, link("#/pods", "Pods"), " / ", id.split("/").filter(Boolean).join(" / ")),
    h("div", { class: "toolbar" }, h("h2", {}, id), badge, h("span", { class: "grow" }), buttons),
    summary, deployment, tabs, body);

  function setTab(t) {
    ui.tab = t;
    for (const b of tabs.children) b.classList.toggle("active", b.dataset.tab === t);
    fill(body, panels[t]);
  }

  function setFormat(f) {
    ui.format = f;
    for (const panel of Object.values(panels)) {
      for (const b of panel.querySelectorAll("[data-format]")) b.classList.toggle("active", b.dataset.format === f);
    }
    if (status) config.textContent = renderDefinition(status.spec, f);
    versions.showDiff();
  }

  async function edit() {
    if (status) await openEditor(status.spec, POD);
  }

  function renderHeader(word) {
    badge.className = `badge ${podBadge(word)}`;
    badge.textContent = word;
    const pod = status.spec;
    fill(buttons,
      h("button", { onclick: edit, id: "edit" }, "Edit"),
      h("button", { onclick: () => podactions.scale(pod), id: "scale" }, "Scale"),
      h("button", { onclick: () => podactions.restart(pod), id: "restart" }, "Restart"),
      h("button", { class: "danger", id: "destroy", onclick: async () => {
        if (await podactions.destroy(pod)) location.hash = "#/pods";
      } }, "Destroy"));
  }

  function renderSummary() {
    const pod = status.spec;
    const res = perInstance(pod);
    const item = (label, value, key) => [h("dt", {}, label), h("dd", { "data-key": key, "data-label": label }, value)];
    fill(summary,
      item("Running", `${podRunning(status)} of ${pod.scaling?.instances ?? 1}`, "running"),
      item("Containers", String(pod.containers?.length ?? 0), "containers"),
      item("CPUs / instance", num(res.cpus), "cpus"),
      item("Memory / instance", mem(res.mem), "mem"),
      item("Status since", ago(status.statusSince), "since"),
      item("Version", h("span", { title: pod.version }, version(pod.version)), "version"),
      item("Config changed", ago(pod.versionInfo?.lastConfigChangeAt), "changed"));
  }

  function renderContainers() {
    fill(containers, (status.spec.containers ?? []).map((c) => h("tr", { "data-container": c.name },
      h("td", {}, c.name),
      h("td", { class: "mono" }, runs(c)),
      h("td", {}, num(c.resources?.cpus)),
      h("td", {}, mem(c.resources?.mem ?? 0)),
      h("td", {}, (c.endpoints ?? []).map((e) => `${e.name}${e.hostPort !== undefined ? ` (host port ${e.hostPort || "any"})` : ""}`).join(", ")))));
  }

  function renderDeployments(all) {
    fill(deployment, all.filter((d) => (d.affectedPods ?? []).includes(id)).map((d) => h("div", { class: "panel" },
      h("h3", {}, "Deployment in progress"),
      deploymentProgress(d, 0),
      h("div", { class: "buttons" },
        h("button", { class: "small", onclick: () => actions.cancelDeployment(d, false) }, "Roll back"),
        h("button", { class: "small danger", onclick: () => actions.cancelDeployment(d, true) }, "Force stop")))));
  }

  setTab(ui.tab);
  setFormat(ui.format);

  return {
    root,
    title: id,
    async refresh() {
      let deployments;
      let queue;
      try {
        [status, deployments, queue] = await Promise.all([api.getPodStatus(id), api.listDeployments(), api.listQueue()]);
      } catch (e) {
        if (e.status !== 404) throw e;
        fill(root, h("p", { class: "empty" }, `Pod ${id} does not exist (any more). `, link("#/pods", "Back to the pods")));
        return;
      }
      renderHeader(podStatus(status, deployments, queue.find((q) => q.pod?.id === id)));
      renderSummary();
      renderContainers();
      renderDeployments(deployments);
      instances.update(status);
      config.textContent = renderDefinition(status.spec, ui.format);
      await versions.update(status.spec);
    },
  };
}
