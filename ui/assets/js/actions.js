// The app actions shared by the list and the detail page, each with its confirmation.
// Each resolves true when the server accepted the change.

import * as api from "./api.js";
import { askCount, confirmAction, notify } from "./dialogs.js";
import { refresh } from "./live.js";

/** Runs `fn(force)`; when a deployment holds the app (409), offers to force it. */
export async function write(what, fn) {
  try {
    await fn(false);
  } catch (e) {
    if (e.status !== 409) return failed(what, e);
    const force = await confirmAction("A deployment is in progress", `${e.message}. Force “${what}”? The running deployment is cancelled and replaced.`, "Force");
    if (!force) return false;
    try {
      await fn(true);
    } catch (e2) {
      return failed(what, e2);
    }
  }
  notify(`${what}: accepted`);
  refresh(0);
  return true;
}

function failed(what, e) {
  const details = e.details?.map((d) => `${d.path}: ${d.errors.join(", ")}`).join("; ");
  notify(`${what} failed: ${e.message}${details ? ` (${details})` : ""}`, "error");
  return false;
}

export async function scale(app) {
  const n = await askCount(`Scale ${app.id}`, "Instances", app.instances);
  if (n === null) return false;
  return write(`Scale ${app.id} to ${n}`, (force) => api.scaleApp(app.id, n, force));
}

export async function suspend(app) {
  const ok = await confirmAction(`Suspend ${app.id}`, `Scale ${app.id} to 0 instances? Its ${app.tasksRunning} running instances are killed.`, "Suspend");
  return ok && write(`Suspend ${app.id}`, (force) => api.scaleApp(app.id, 0, force));
}

export async function resume(app) {
  const n = await askCount(`Resume ${app.id}`, "Instances", 1);
  if (n === null) return false;
  return write(`Resume ${app.id} with ${n}`, (force) => api.scaleApp(app.id, n, force));
}

export async function restart(app) {
  const ok = await confirmAction(`Restart ${app.id}`, `Replace every instance of ${app.id} with a new one, following its upgrade strategy?`, "Restart", false);
  return ok && write(`Restart ${app.id}`, (force) => api.restartApp(app.id, force));
}

export async function destroy(app) {
  const ok = await confirmAction(`Destroy ${app.id}`, `Destroy ${app.id}? All its instances are killed and its configuration and versions are deleted. This cannot be undone.`, "Destroy");
  return ok && write(`Destroy ${app.id}`, () => api.destroyApp(app.id));
}

export async function kill(appId, taskIds, scaleDown) {
  const what = scaleDown ? "Kill and scale down" : "Kill";
  const message = scaleDown
    ? `Kill ${taskIds.length} instance(s) of ${appId} and lower its instance count by as many? They are not replaced.`
    : `Kill ${taskIds.length} instance(s) of ${appId}? Pacer starts replacements.`;
  const ok = await confirmAction(`${what} instances`, message, what);
  return ok && write(`${what} ${taskIds.length} instance(s) of ${appId}`, () => api.killTasks(taskIds, scaleDown));
}

export async function rollback(appId, version) {
  const ok = await confirmAction(`Roll back ${appId}`, `Deploy the configuration of version ${version} again? It becomes a new version of ${appId}.`, "Roll back", false);
  return ok && write(`Roll back ${appId} to ${version}`, (force) => api.rollbackApp(appId, version, force));
}

export async function cancelDeployment(deployment, force) {
  const apps = [...deployment.affectedApps, ...(deployment.affectedPods ?? [])].join(", ");
  const ok = force
    ? await confirmAction("Stop deployment", `Stop deployment ${deployment.id} of ${apps} where it is? Nothing is rolled back: the apps keep the new configuration with the instances they have now.`, "Force stop")
    : await confirmAction("Roll back deployment", `Cancel deployment ${deployment.id} and deploy the previous configuration of ${apps} again?`, "Roll back");
  return ok && write(`${force ? "Stop" : "Roll back"} deployment ${deployment.id}`, () => api.cancelDeployment(deployment.id, force));
}

/** Launches what waits out a launch delay now; nothing is killed, so no confirmation. */
export async function resetDelay(appId) {
  try {
    await api.resetDelay(appId);
    notify(`Launch delay of ${appId} reset`);
  } catch (e) {
    failed(`Reset the launch delay of ${appId}`, e);
  }
  refresh(0);
}

/** Destroys a group and everything in it. */
export async function destroyGroup(id) {
  const ok = await confirmAction(`Delete group ${id}`, `Delete ${id} with every app and group in it? Their instances are killed. This cannot be undone.`, "Delete");
  return ok && write(`Delete group ${id}`, (force) => api.destroyGroup(id, force));
}
