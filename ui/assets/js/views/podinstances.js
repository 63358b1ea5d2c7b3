// A pod's instances: agent host, status and since when, each container's Mesos state and its
// endpoints' host ports as links; kill one instance (Pacer starts a replacement).

import * as podactions from "../podactions.js";
import { h, fill } from "../dom.js";
import { ago } from "../format.js";

const state = (s) => (s ?? "").replace("TASK_", "").toLowerCase();

export function podInstancesPanel() {
  let status = null;
  const body = h("tbody", { id: "pod-instances" });
  const root = h("div", {},
    h("table", {}, h("thead", {}, h("tr", {}, ["ID", "Host", "Status", "Since", "Containers", ""].map((c) => h("th", {}, c)))), body));

  function endpoints(host, c) {
    return (c.endpoints ?? []).flatMap((e, i) => [i ? ", " : "",
      e.allocatedHostPort
        ? h("a", { href: `http://${host}:${e.allocatedHostPort}/`, target: "_blank", rel: "noopener", "data-endpoint": e.name },
          `${e.name}:${e.allocatedHostPort}`)
        : e.name]);
  }

  function row(i) {
    const containers = (i.containers ?? []).map((c) => h("li", { "data-container": c.name, "data-task": c.containerId },
      h("strong", {}, c.name), " ", h("span", { class: "state" }, state(c.status)), c.endpoints?.length ? " " : "",
      endpoints(i.agentHostname, c), c.message ? h("span", { class: "muted" }, ` (${c.message})`) : ""));
    return h("tr", { "data-instance": i.id, "data-status": i.status },
      h("td", { class: "mono" }, i.id),
      h("td", {}, i.agentHostname ?? ""),
      h("td", { class: "status" }, i.status),
      h("td", { title: i.statusSince ?? "" }, ago(i.statusSince)),
      h("td", {}, containers.length ? h("ul", { class: "containers" }, containers) : h("span", { class: "muted" }, i.message ?? "not launched yet")),
      h("td", {}, h("button", { class: "small danger", "data-kill": i.id, onclick: () => podactions.killInstance(status.id, i.id) }, "Kill")));
  }

  return {
    root,
    update(next) {
      status = next;
      const instances = [...(status.instances ?? [])].sort((a, b) => a.id.localeCompare(b.id));
      fill(body, instances.length ? instances.map(row) : h("tr", {}, h("td", { colspan: 6, class: "empty" }, "No instances.")));
    },
  };
}
