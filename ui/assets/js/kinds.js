// What the editor edits: apps, pods and group trees differ in their template, the fields the
// server adds that are not part of a definition, and the calls that create and change them.

import * as api from "./api.js";
import { h } from "./dom.js";
import { confirmAction } from "./dialogs.js";

/** Fields the server reports about an app, not part of its definition. */
const APP_STATUS_FIELDS = ["version", "versionInfo", "tasksStaged", "tasksRunning", "tasksHealthy", "tasksUnhealthy",
  "deployments", "tasks", "lastTaskFailure", "readinessCheckResults", "taskStats", "tasksStats",
  "generation", "observedGeneration", "conditions"];

export function appDefinition(app) {
  const def = { ...app };
  for (const f of APP_STATUS_FIELDS) delete def[f];
  return def;
}

/** A pod as written: without the version stamps the server adds. */
export function podDefinition(pod) {
  const def = { ...pod };
  delete def.version;
  delete def.versionInfo;
  return def;
}

/** A group tree as a PUT body: its apps as definitions, pods left out (group bodies refuse
 *  them; they keep living beside the group), no version stamps. */
export function groupDefinition(group) {
  const def = { id: group.id };
  if (group.dependencies?.length) def.dependencies = group.dependencies;
  if (group.enforceRole !== undefined) def.enforceRole = group.enforceRole;
  def.apps = (group.apps ?? []).map(appDefinition);
  def.groups = (group.groups ?? []).map(groupDefinition);
  return def;
}

const normaliseId = (id) => (String(id ?? "").startsWith("/") ? String(id) : `/${id}`);

export const APP = {
  noun: "app",
  template: {
    id: "/my-app",
    cmd: "python3 -m http.server $PORT0",
    cpus: 0.1,
    mem: 64,
    instances: 1,
    portDefinitions: [{ port: 0, name: "http" }],
    healthChecks: [{ protocol: "HTTP", path: "/", portIndex: 0, gracePeriodSeconds: 30, intervalSeconds: 5 }],
  },
  help: "A Marathon app definition.",
  definitionOf: appDefinition,
  idOf: (def) => normaliseId(def.id),
  create: (def) => api.createApp(def),
  update: (id, def, force, ifVersion) => api.updateApp(id, def, force, ifVersion),
};

export const POD = {
  noun: "pod",
  template: {
    id: "/my-pod",
    scaling: { kind: "fixed", instances: 1 },
    containers: [{
      name: "web",
      exec: { command: { shell: "python3 -m http.server $ENDPOINT_HTTP" } },
      resources: { cpus: 0.1, mem: 64 },
      endpoints: [{ name: "http", hostPort: 0 }],
    }],
  },
  help: "A Marathon pod definition: its containers share the instance's host and its volumes.",
  definitionOf: podDefinition,
  idOf: (def) => normaliseId(def.id),
  create: (def) => api.createPod(def),
  update: (id, def, force) => api.updatePod(id, def, force),
};

export const GROUP = {
  noun: "group",
  template: {
    id: "/my-group",
    apps: [{ id: "web", cmd: "python3 -m http.server $PORT0", cpus: 0.1, mem: 64, instances: 1 }],
  },
  help: "The group's whole tree: apps and groups left out of it are removed. You review the plan before it is applied.",
  definitionOf: groupDefinition,
  idOf: (def) => normaliseId(def.id),
  create: (def) => api.createGroup(def),
  update: (id, def, force) => api.updateGroup(id, def, force, false),
  /** The server's dry run of the change, for the user to accept or not. */
  async preview(id, def) {
    const { steps } = await api.updateGroup(id, def, false, true);
    return confirmAction(`Apply the change to ${id}?`, planOf(steps), "Apply", false);
  },
};

/** A deployment plan's steps as a list: what starts, restarts, scales or stops, in order. */
export function planOf(steps) {
  const items = steps.map((s, i) => h("li", { "data-step": String(i + 1) },
    `Step ${i + 1}: `, (s.actions ?? []).map((a, j) => [j ? ", " : "", `${a.action} ${a.app ?? a.pod ?? ""}`])));
  return h("div", { id: "plan" },
    h("p", {}, steps.length ? "The server would take these steps:" : "Nothing would change."),
    h("ol", { class: "plan" }, items));
}
