// The cluster: who leads, the framework, the master, and the flags Pacer runs with.

import * as api from "../api.js";
import { h, fill } from "../dom.js";
import { isConnected } from "../live.js";

const show = (v) => (v === null || v === undefined ? "–" : typeof v === "object" ? JSON.stringify(v) : String(v));

export function clusterView() {
  const main = h("dl", { class: "summary wide", id: "cluster" });
  const config = h("tbody", {});
  const root = h("section", {},
    h("div", { class: "toolbar" }, h("h2", {}, "Cluster")), main,
    h("h3", {}, "Configuration"), h("table", { class: "kv" }, config));

  return {
    root,
    title: "Cluster",
    async refresh() {
      const [info, leader] = await Promise.all([api.get("/v2/info"), api.get("/v2/leader")]);
      const c = info.marathon_config ?? {};
      const item = (label, value) => [h("dt", {}, label), h("dd", { "data-key": label, "data-label": label }, show(value))];
      fill(main,
        item("Leader", leader.leader), item("Elected", info.elected), item("Name", info.name),
        item("Version", info.version), item("Build", info.buildref), item("Framework ID", info.frameworkId),
        item("Mesos master", c.master), item("Hostname", c.hostname), item("HTTP port", info.http_config?.http_port),
        item("Event stream", isConnected() ? "connected" : "disconnected"));
      fill(config, Object.entries(c).sort().map(([k, v]) => h("tr", {}, h("th", {}, k), h("td", { class: "mono" }, show(v)))));
    },
  };
}
