// An app's or a pod's versions: pick any two to see what changed between them (JSON or
// YAML), roll back to any earlier one with one click.

import * as api from "../api.js";
import * as actions from "../actions.js";
import { h, fill } from "../dom.js";
import { canonical, diffLines, hunks } from "../diff.js";
import { definitionOf } from "../editor.js";
import { version } from "../format.js";
import { toYaml } from "../yaml.js";

/** Where versions come from and how to go back to one; pods have their own. */
export const APP_VERSIONS = {
  list: (id) => api.listVersions(id),
  get: (id, v) => api.getVersion(id, v),
  rollback: (id, v) => actions.rollback(id, v),
};

// Versions never change once written, so one fetch of each is enough.
const cache = new Map();

function fetchVersion(source, id, v) {
  const key = `${id}#${v}`;
  if (!cache.has(key)) cache.set(key, source.get(id, v).catch((e) => {
    cache.delete(key);
    throw e;
  }));
  return cache.get(key);
}

export function render(def, format) {
  const d = canonical(definitionOf(def));
  delete d.version;
  return format === "yaml" ? toYaml(d) : JSON.stringify(d, null, 2);
}

export function versionsPanel(getFormat, source = APP_VERSIONS) {
  let app = null;
  let versions = [];
  let a = null;
  let b = null;
  let picked = false;
  const list = h("tbody", { id: "versions" });
  const diff = h("pre", { class: "diff", id: "diff" });
  const caption = h("h3", {});
  const root = h("div", { class: "versions" },
    h("table", {}, h("thead", {}, h("tr", {}, h("th", { title: "older side of the diff" }, "A"), h("th", { title: "newer side" }, "B"), h("th", {}, "Version"), h("th", {}, ""))), list),
    h("div", {}, caption, diff));

  function renderList() {
    fill(list, versions.map((v) => h("tr", { "data-version": v },
      h("td", {}, h("input", { type: "radio", name: "diff-a", checked: v === a, onchange: () => pick(v, b) })),
      h("td", {}, h("input", { type: "radio", name: "diff-b", checked: v === b, onchange: () => pick(a, v) })),
      h("td", { class: "mono" }, version(v), v === app.version ? h("span", { class: "badge running" }, "current") : ""),
      h("td", { class: "actions" }, v === app.version ? "" : h("button", { class: "small", "data-rollback": v, onclick: () => source.rollback(app.id, v) }, "Roll back to this")))));
  }

  async function pick(na, nb) {
    picked = true;
    a = na;
    b = nb;
    renderList();
    await showDiff();
  }

  async function showDiff() {
    if (!a || !b) {
      caption.textContent = "";
      diff.textContent = "";
      return;
    }
    const [x, y] = await Promise.all([fetchVersion(source, app.id, a), fetchVersion(source, app.id, b)]);
    const format = getFormat();
    const lines = hunks(diffLines(render(x, format), render(y, format)));
    const changed = lines.some((l) => l.op === "+" || l.op === "-");
    caption.textContent = `Changes from ${version(a)} to ${version(b)}`;
    fill(diff, changed ? lines.map((l) => h("div", { class: `line ${{ "+": "add", "-": "del", "…": "gap" }[l.op] ?? ""}` }, `${l.op} ${l.text}`)) : "No difference in configuration (only the version or the scale changed).");
  }

  return {
    root,
    async update(next) {
      const changed = !app || app.version !== next.version || app.id !== next.id;
      app = next;
      if (changed) {
        // Newest first; by default the diff shows what the latest change did.
        versions = [...(await source.list(app.id))].sort().reverse();
        if (!picked || !versions.includes(a) || !versions.includes(b)) [b, a] = [versions[0] ?? null, versions[1] ?? null];
      }
      renderList();
      await showDiff();
    },
    showDiff,
  };
}
