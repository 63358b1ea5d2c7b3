// The pods page: every pod with its status, instances running of those wanted, containers and
// resources per instance; filter by id or label; create one in the editor.

import * as api from "../api.js";
import * as podactions from "../podactions.js";
import { h, fill, link } from "../dom.js";
import { openEditor } from "../editor.js";
import { ago, mem, num } from "../format.js";
import { POD } from "../kinds.js";
import { podBadge, podRunning, podStatus } from "../status.js";
import { matches } from "../tree.js";

const state = { filter: "" };

/** The resources one instance asks for: its containers' plus the executor's. */
export function perInstance(spec) {
  const sum = { cpus: spec.executorResources?.cpus ?? 0, mem: spec.executorResources?.mem ?? 0 };
  for (const c of spec.containers ?? []) {
    sum.cpus += c.resources?.cpus ?? 0;
    sum.mem += c.resources?.mem ?? 0;
  }
  return sum;
}

export function podsView() {
  let pods = [];
  const filter = h("input", { type: "search", id: "pod-filter", placeholder: "Filter by id or label (key=value)", value: state.filter });
  const count = h("span", { class: "muted", id: "pod-count" });
  const body = h("tbody", { id: "pods" });
  const root = h("section", {},
    h("div", { class: "toolbar" }, h("h2", {}, "Pods"), filter, count, h("span", { class: "grow" }),
      h("button", { class: "primary", id: "new-pod", onclick: create }, "Create pod")),
    h("table", { class: "pods-table" },
      h("thead", {}, h("tr", {}, ["ID", "Status", "Running", "Containers", "CPUs", "Mem", "Version", ""].map((c) => h("th", {}, c)))),
      body));

  filter.addEventListener("input", () => {
    state.filter = filter.value;
    render();
  });

  async function create() {
    const id = await openEditor(null, POD);
    if (id) location.hash = `#/pods${id}`;
  }

  function render() {
    const shown = pods.filter((p) => matches(p.spec, state.filter)).sort((a, b) => a.id.localeCompare(b.id));
    const plural = `pod${pods.length === 1 ? "" : "s"}`;
    count.textContent = shown.length === pods.length ? `${pods.length} ${plural}` : `${shown.length} of ${pods.length} ${plural}`;
    fill(body, shown.length ? shown.map(row) : h("tr", {}, h("td", { colspan: 8, class: "empty" },
      pods.length ? "No pod matches." : "No pods yet. Create one with the button above.")));
  }

  function row(p) {
    const spec = p.spec;
    const res = perInstance(spec);
    return h("tr", { class: "pod", "data-pod": p.id },
      h("td", {}, link(`#/pods${p.id}`, p.id)),
      h("td", {}, h("span", { class: `badge ${podBadge(p.word)}`, "data-status": p.word }, p.word)),
      h("td", { "data-col": "running" }, `${podRunning(p)} / ${spec.scaling?.instances ?? 1}`),
      h("td", {}, (spec.containers ?? []).map((c) => c.name).join(", ")),
      h("td", {}, num(res.cpus)),
      h("td", {}, mem(res.mem)),
      h("td", { title: spec.version }, ago(spec.versionInfo?.lastConfigChangeAt ?? spec.version)),
      h("td", { class: "actions" },
        h("button", { class: "small", onclick: () => podactions.scale(spec) }, "Scale"),
        h("button", { class: "small danger", onclick: () => podactions.destroy(spec) }, "Destroy")));
  }

  return {
    root,
    title: "Pods",
    async refresh() {
      const [list, deployments, queue] = await Promise.all([api.listPodStatus(), api.listDeployments(), api.listQueue()]);
      const queued = new Map(queue.filter((q) => q.pod).map((q) => [q.pod.id, q]));
      const now = Date.now();
      pods = list.map((p) => ({ ...p, word: podStatus(p, deployments, queued.get(p.id), now) }));
      render();
    },
  };
}
