// Deployments in progress: progress through their steps, what the current step does, and
// rollback (cancel and deploy the previous configuration) or force stop.

import * as api from "../api.js";
import * as actions from "../actions.js";
import { h, fill, appLink, link } from "../dom.js";
import { ago } from "../format.js";

/** A progress bar with the current step's actions and readiness results; `within` is how
 *  far the current step is (0 to 1), when the caller knows. */
export function deploymentProgress(d, within = 0) {
  const done = Math.max(0, d.currentStep - 1) + Math.min(1, Math.max(0, within));
  const pct = d.totalSteps ? Math.round((done / d.totalSteps) * 100) : 0;
  const current = (d.currentActions ?? []).map((a) => {
    const ready = (a.readinessCheckResults ?? []).map((r) => `${r.taskId}: ${r.ready ? "ready" : "not ready"}`);
    return h("li", {}, `${a.action} `, a.app ? appLink(a.app) : a.pod ? link(`#/pods${a.pod}`, a.pod) : "", ready.length ? ` (${ready.join(", ")})` : "");
  });
  return h("div", { class: "progress-block" },
    h("div", { class: "progress", title: `${pct}%` }, h("div", { style: `width:${pct}%` })),
    h("span", { class: "step" }, `step ${d.currentStep} of ${d.totalSteps}`),
    h("ul", { class: "actions-list" }, current));
}

export function deploymentsView() {
  const body = h("tbody", { id: "deployments" });
  const root = h("section", {},
    h("div", { class: "toolbar" }, h("h2", {}, "Deployments")),
    h("table", {}, h("thead", {}, h("tr", {}, ["ID", "Apps and pods", "Started", "Progress", ""].map((c) => h("th", {}, c)))), body));

  return {
    root,
    title: "Deployments",
    async refresh() {
      const list = await api.listDeployments();
      fill(body, list.length ? list.map((d) => h("tr", { "data-deployment": d.id },
        h("td", { class: "mono" }, d.id),
        h("td", {}, [...d.affectedApps.map(appLink), ...(d.affectedPods ?? []).map((p) => link(`#/pods${p}`, p))]
          .flatMap((a, i) => [i ? ", " : "", a])),
        h("td", { title: d.version }, ago(d.version)),
        h("td", {}, deploymentProgress(d)),
        h("td", { class: "actions" },
          h("button", { class: "small", onclick: () => actions.cancelDeployment(d, false) }, "Roll back"),
          h("button", { class: "small danger", onclick: () => actions.cancelDeployment(d, true) }, "Force stop"))))
        : h("tr", {}, h("td", { colspan: 5, class: "empty" }, "No deployment in progress.")));
    },
  };
}
