// One group: what it holds (its groups, apps and pods, each linked to its page), its
// dependencies and version, and what can be done to it: add an app to it, edit its whole tree,
// delete it. An empty group (created on its own) is reached from the apps tree here.

import * as api from "../api.js";
import * as actions from "../actions.js";
import { h, fill, link, appLink } from "../dom.js";
import { notify } from "../dialogs.js";
import { openEditor } from "../editor.js";
import { APP, GROUP } from "../kinds.js";
import { mem, num, version } from "../format.js";
import { appStatus, podBadge } from "../status.js";

/** Apps in a group's tree, its subgroups' included. */
const appCount = (g) => (g.apps ?? []).length + (g.groups ?? []).reduce((n, sub) => n + appCount(sub), 0);
const plural = (n, word) => `${n} ${word}${n === 1 ? "" : "s"}`;

/** Crumbs from the apps tree down to an app or group `id`, each group above it a link to the
 *  group's page. */
export function crumbs(id) {
  const parts = id.split("/").filter(Boolean);
  return h("p", { class: "crumbs" }, link("#/apps", "Apps"),
    parts.map((part, i) => [" / ", i === parts.length - 1 ? part : link(`#/groups/${parts.slice(0, i + 1).join("/")}`, part)]));
}

export function groupView(id) {
  let group = null;
  const summary = h("dl", { class: "summary wide", id: "group-summary" });
  const body = h("tbody", { id: "group-items" });
  const content = h("div", { id: "group-content" },
    h("table", { class: "group-table" },
      h("thead", {}, h("tr", {}, ["ID", "Kind", "Status", "Running", "CPUs", "Mem"].map((c) => h("th", {}, c)))), body));
  const root = h("section", { class: "group-detail" },
    crumbs(id),
    h("div", { class: "toolbar" }, h("h2", {}, id), h("span", { class: "badge", id: "group-kind" }, "group"), h("span", { class: "grow" }),
      h("div", { class: "buttons" },
        h("button", { class: "primary", id: "add-app", onclick: addApp }, "Add app"),
        h("button", { id: "edit-group", onclick: edit }, "Edit group"),
        h("button", { class: "danger", id: "delete-group", onclick: destroy }, "Delete"))),
    summary, content);

  /** The app editor with an app of this group to start from. */
  async function addApp() {
    const template = { ...APP.template, id: `${id === "/" ? "" : id}/my-app` };
    const created = await openEditor(null, APP, template);
    if (created) location.hash = `#/apps${created}`;
  }

  /** The group's whole tree in the editor, as the server has it now. */
  async function edit() {
    try {
      await openEditor(await api.getGroup(id), GROUP);
    } catch (e) {
      notify(`Could not load group ${id}: ${e.message}`, "error");
    }
  }

  async function destroy() {
    if (await actions.destroyGroup(id)) location.hash = "#/apps";
  }

  function renderSummary() {
    const item = (label, value, key) => [h("dt", {}, label), h("dd", { "data-key": key, "data-label": label }, value)];
    const deps = group.dependencies ?? [];
    fill(summary,
      item("Holds", [plural((group.groups ?? []).length, "group"), plural(appCount(group), "app"), plural((group.pods ?? []).length, "pod")].join(", "), "holds"),
      item("Dependencies", deps.length ? deps.map((d, i) => [i ? ", " : "", link(`#/groups${d}`, d)]) : "none", "dependencies"),
      group.enforceRole !== undefined ? item("Enforce role", group.enforceRole ? "yes" : "no", "enforceRole") : null,
      item("Version", h("span", { title: group.version ?? "" }, version(group.version)), "version"));
  }

  function renderItems(queue) {
    const queued = new Map(queue.filter((q) => q.app).map((q) => [q.app.id, q]));
    const rows = [
      ...(group.groups ?? []).map((g) => h("tr", { "data-item": g.id, "data-kind": "group" },
        h("td", {}, link(`#/groups${g.id}`, `${g.id}/`)), h("td", {}, "group"), h("td", { class: "muted" }, plural(appCount(g), "app")),
        h("td", {}), h("td", {}), h("td", {}))),
      ...(group.apps ?? []).map((a) => {
        const status = appStatus(a, queued.get(a.id));
        return h("tr", { "data-item": a.id, "data-kind": "app" },
          h("td", {}, appLink(a.id)), h("td", {}, "app"), h("td", {}, h("span", { class: `badge ${status}` }, status)),
          h("td", {}, `${a.tasksRunning ?? 0} / ${a.instances}`), h("td", {}, num(a.cpus)), h("td", {}, mem(a.mem)));
      }),
      ...(group.pods ?? []).map((p) => h("tr", { "data-item": p.id, "data-kind": "pod" },
        h("td", {}, link(`#/pods${p.id}`, p.id)), h("td", {}, "pod"),
        h("td", {}, h("span", { class: `badge ${podBadge(p.status)}` }, p.status ?? "")),
        h("td", {}, `${(p.instances ?? []).length} / ${p.spec?.scaling?.instances ?? 1}`), h("td", {}), h("td", {}))),
    ];
    fill(body, rows.length ? rows : h("tr", {}, h("td", { colspan: 6, class: "empty", id: "group-empty" },
      "This group is empty: add an app to it, or delete it.")));
  }

  return {
    root,
    title: id,
    async refresh() {
      let queue;
      try {
        [group, queue] = await Promise.all([api.getGroupPage(id), api.listQueue()]);
      } catch (e) {
        if (e.status !== 404) throw e;
        fill(root, h("p", { class: "empty" }, `Group ${id} does not exist (any more). `, link("#/apps", "Back to the apps")));
        return;
      }
      renderSummary();
      renderItems(queue);
    },
  };
}
