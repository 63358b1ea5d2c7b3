// The pod actions of the pods list and a pod's page, each with its confirmation (the app
// actions' rules: a 409 from a deployment in progress offers to force).

import * as api from "./api.js";
import { write } from "./actions.js";
import { askCount, confirmAction } from "./dialogs.js";
import { podDefinition } from "./kinds.js";

const instancesOf = (pod) => pod.scaling?.instances ?? 1;

/** Sends the pod with its scaling changed: a scale, not a restart, for the server. */
export async function scale(pod) {
  const n = await askCount(`Scale ${pod.id}`, "Instances", instancesOf(pod));
  if (n === null) return false;
  const def = { ...podDefinition(pod), scaling: { ...(pod.scaling ?? { kind: "fixed" }), instances: n } };
  return write(`Scale ${pod.id} to ${n}`, (force) => api.updatePod(pod.id, def, force));
}

// Marathon has no restart for pods, and a PUT of the same spec changes nothing. A label with
// the time is a config change, so every instance is replaced following the upgrade strategy,
// as a new version that the versions tab shows (kubectl's `rollout restart` does the same).
export const RESTART_LABEL = "pacer.restartedAt";

export async function restart(pod) {
  const ok = await confirmAction(`Restart ${pod.id}`,
    `Replace every instance of ${pod.id} with a new one, following its upgrade strategy? The pod gets the label ${RESTART_LABEL} with the time, as a new version.`,
    "Restart", false);
  if (!ok) return false;
  const def = podDefinition(pod);
  def.labels = { ...(pod.labels ?? {}), [RESTART_LABEL]: new Date().toISOString() };
  return write(`Restart ${pod.id}`, (force) => api.updatePod(pod.id, def, force));
}

export async function destroy(pod) {
  const ok = await confirmAction(`Destroy ${pod.id}`, `Destroy ${pod.id}? All its instances are killed and its configuration and versions are deleted. This cannot be undone.`, "Destroy");
  return ok && write(`Destroy ${pod.id}`, (force) => api.destroyPod(pod.id, force));
}

export async function killInstance(podId, instanceId) {
  const ok = await confirmAction("Kill instance", `Kill instance ${instanceId} of ${podId}? All its containers stop, and Pacer starts a replacement.`, "Kill");
  return ok && write(`Kill ${instanceId}`, () => api.killPodInstance(podId, instanceId));
}

/** Deploys an earlier version's spec again, as a new version. */
export async function rollback(podId, version) {
  const ok = await confirmAction(`Roll back ${podId}`, `Deploy the configuration of version ${version} again? It becomes a new version of ${podId}.`, "Roll back", false);
  if (!ok) return false;
  const old = podDefinition(await api.getPodVersion(podId, version));
  return write(`Roll back ${podId} to ${version}`, (force) => api.updatePod(podId, old, force));
}

export const POD_VERSIONS = {
  list: (id) => api.listPodVersions(id),
  get: (id, v) => api.getPodVersion(id, v),
  rollback,
};
