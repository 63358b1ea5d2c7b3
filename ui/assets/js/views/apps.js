// The apps page: every app in its group tree with status and counts; filter by id or label,
// filter by status, sort by any column, page through; actions per app.

import * as api from "../api.js";
import * as actions from "../actions.js";
import { GROUP } from "../kinds.js";
import { h, fill, appLink, link } from "../dom.js";
import { notify } from "../dialogs.js";
import { openEditor } from "../editor.js";
import { ago, mem, num } from "../format.js";
import { STATUSES, appStatus, statusRank } from "../status.js";
import { buildTree, flatten, matches, page, totals } from "../tree.js";

const COLUMNS = [
  { key: "id", label: "ID", get: (a) => a.id },
  { key: "status", label: "Status", get: (a) => statusRank(a.status) },
  { key: "running", label: "Running", get: (a) => a.tasksRunning },
  { key: "healthy", label: "Healthy", get: (a) => a.tasksHealthy },
  { key: "staged", label: "Staged", get: (a) => a.tasksStaged },
  { key: "cpus", label: "CPUs", get: (a) => a.cpus },
  { key: "mem", label: "Mem", get: (a) => a.mem },
  { key: "version", label: "Version", get: (a) => a.version },
];

// Kept across visits to the page, so coming back from an app keeps the view.
const state = { filter: "", status: "", sort: "id", desc: false, page: 0, size: 50, collapsed: new Set() };

export function appsView() {
  let apps = [];
  let groupIds = [];
  const filter = h("input", { type: "search", id: "app-filter", placeholder: "Filter by id or label (key=value)", value: state.filter });
  const statusSelect = h("select", { id: "status-filter", "aria-label": "status" },
    h("option", { value: "" }, "any status"), STATUSES.map((s) => h("option", { value: s }, s)));
  statusSelect.value = state.status;
  const count = h("span", { class: "muted", id: "app-count" });
  const head = h("tr");
  const body = h("tbody", { id: "apps" });
  const pager = h("div", { class: "pager" });
  const root = h("section", {},
    h("div", { class: "toolbar" }, h("h2", {}, "Apps"), filter, statusSelect, count, h("span", { class: "grow" }),
      h("button", { id: "new-group", onclick: () => openEditor(null, GROUP) }, "Create group"),
      h("button", { class: "primary", id: "new-app", onclick: create }, "Create app")),
    h("table", { class: "apps-table" }, h("thead", {}, head), body),
    pager);

  filter.addEventListener("input", () => {
    state.filter = filter.value;
    state.page = 0;
    render();
  });
  statusSelect.addEventListener("change", () => {
    state.status = statusSelect.value;
    state.page = 0;
    render();
  });

  async function create() {
    const id = await openEditor(null);
    if (id) location.hash = `#/apps${id}`;
  }

  function render() {
    fill(head, COLUMNS.map((c) => h("th", {
      class: `sortable${state.sort === c.key ? (state.desc ? " desc" : " asc") : ""}`,
      "data-sort": c.key,
      onclick: () => {
        state.desc = state.sort === c.key ? !state.desc : false;
        state.sort = c.key;
        render();
      },
    }, c.label)), h("th", {}, ""));
    const shown = apps.filter((a) => matches(a, state.filter) && (!state.status || a.status === state.status));
    const col = COLUMNS.find((c) => c.key === state.sort);
    const dir = state.desc ? -1 : 1;
    const compare = (a, b) => {
      const [x, y] = [col.get(a), col.get(b)];
      return (x < y ? -1 : x > y ? 1 : a.id.localeCompare(b.id)) * dir;
    };
    // While filtering, groups stay open: the matches are what the user looks for.
    const collapsed = state.filter || state.status ? new Set() : state.collapsed;
    // Groups are listed for what they hold; with no filter, or one their id matches, also on
    // their own (an empty group is still there to open, fill or delete).
    const groups = state.status ? [] : groupIds.filter((id) => matches({ id }, state.filter));
    const rows = flatten(buildTree(shown, groups), compare, collapsed);
    const p = page(rows, state.page, state.size);
    state.page = p.page;
    const plural = `app${apps.length === 1 ? "" : "s"}`;
    count.textContent = shown.length === apps.length ? `${apps.length} ${plural}` : `${shown.length} of ${apps.length} ${plural}`;
    fill(body, p.rows.length ? p.rows.map(row) : h("tr", {}, h("td", { colspan: COLUMNS.length + 1, class: "empty" },
      apps.length ? "No app matches." : "No apps yet. Create one with the button above.")));
    renderPager(p, rows.length);
  }

  function row(r) {
    const indent = { style: `padding-left:${0.6 + r.depth * 1.2}rem` };
    if (r.kind === "group") {
      const t = totals(r.node);
      const open = !state.collapsed.has(r.node.id) || state.filter || state.status;
      return h("tr", { class: "group", "data-group": r.node.id },
        h("td", indent,
          h("button", { class: "toggle", "aria-expanded": String(Boolean(open)), "aria-label": `${open ? "collapse" : "expand"} ${r.node.id}`, onclick: () => toggle(r.node.id) },
            open ? "▾" : "▸"),
          " ", link(`#/groups${r.node.id}`, `${r.node.id.split("/").pop()}/`, { class: "group-link" })),
        h("td", { class: "muted" }, `${t.apps} app${t.apps === 1 ? "" : "s"}`),
        h("td", {}, `${t.tasksRunning} / ${t.instances}`), h("td", {}, String(t.tasksHealthy)), h("td", {}, String(t.tasksStaged)),
        h("td", {}, num(t.cpus)), h("td", {}, mem(t.mem)), h("td", {}),
        h("td", { class: "actions" },
          h("button", { class: "small", "data-edit-group": r.node.id, onclick: () => editGroup(r.node.id) }, "Edit group"),
          h("button", { class: "small danger", "data-delete-group": r.node.id, onclick: () => actions.destroyGroup(r.node.id) }, "Delete")));
    }
    const a = r.app;
    return h("tr", { class: "app", "data-app": a.id },
      h("td", indent, appLink(a.id)),
      h("td", {}, h("span", { class: `badge ${a.status}` }, a.status)),
      h("td", {}, `${a.tasksRunning} / ${a.instances}`),
      h("td", { class: a.tasksUnhealthy ? "bad" : "" }, a.tasksUnhealthy ? `${a.tasksHealthy} (${a.tasksUnhealthy} unhealthy)` : String(a.tasksHealthy)),
      h("td", {}, String(a.tasksStaged)),
      h("td", {}, num(a.cpus)),
      h("td", {}, mem(a.mem)),
      h("td", { title: a.version }, ago(a.versionInfo?.lastConfigChangeAt ?? a.version)),
      h("td", { class: "actions" },
        h("button", { class: "small", onclick: () => actions.scale(a) }, "Scale"),
        a.instances === 0
          ? h("button", { class: "small", onclick: () => actions.resume(a) }, "Resume")
          : h("button", { class: "small", onclick: () => actions.suspend(a) }, "Suspend"),
        h("button", { class: "small danger", onclick: () => actions.destroy(a) }, "Destroy")));
  }

  /** The group's whole tree in the editor, as the server has it now. */
  async function editGroup(id) {
    try {
      await openEditor(await api.getGroup(id), GROUP);
    } catch (e) {
      notify(`Could not load group ${id}: ${e.message}`, "error");
    }
  }

  function toggle(id) {
    if (state.collapsed.has(id)) state.collapsed.delete(id);
    else state.collapsed.add(id);
    render();
  }

  function renderPager(p, total) {
    const go = (n) => () => {
      state.page = n;
      render();
    };
    const size = h("select", { "aria-label": "rows per page", onchange: (ev) => {
      state.size = Number(ev.target.value);
      state.page = 0;
      render();
    } }, [25, 50, 100, 200].map((n) => h("option", { value: String(n), selected: n === state.size }, `${n} rows`)));
    fill(pager,
      h("button", { class: "small", disabled: p.page === 0, onclick: go(0) }, "«"),
      h("button", { class: "small", disabled: p.page === 0, onclick: go(p.page - 1) }, "‹ Prev"),
      h("span", { id: "page-info" }, `Page ${p.page + 1} of ${p.pages} (${total} rows)`),
      h("button", { class: "small", disabled: p.page >= p.pages - 1, onclick: go(p.page + 1), id: "next-page" }, "Next ›"),
      h("button", { class: "small", disabled: p.page >= p.pages - 1, onclick: go(p.pages - 1) }, "»"),
      size);
  }

  return {
    root,
    title: "Apps",
    async refresh() {
      const [list, queue, ids] = await Promise.all([api.listApps(), api.listQueue(), api.listGroupIds()]);
      groupIds = ids;
      const queued = new Map(queue.filter((q) => q.app).map((q) => [q.app.id, q]));
      const now = Date.now();
      apps = list.map((a) => ({ ...a, status: appStatus(a, queued.get(a.id), now) }));
      render();
    },
  };
}
