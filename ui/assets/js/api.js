// The Marathon REST API as the UI uses it. Every call sends the page's credentials, so a
// server behind basic auth works once the browser has asked for them.

export class ApiError extends Error {
  constructor(status, message, body) {
    super(message);
    this.status = status;
    this.body = body;
  }

  /** Marathon's 422 details as [{path, errors}], or []. */
  get details() {
    return Array.isArray(this.body?.details) ? this.body.details : [];
  }
}

/** A body the user wrote in YAML, sent as typed: the server reads a body as YAML when its
 *  Content-Type says so, and answers in JSON as for any other. */
export class YamlText {
  constructor(text) {
    this.text = text;
  }
}

export async function api(method, path, body, extraHeaders = {}) {
  const headers = { Accept: "application/json", ...extraHeaders };
  let payload;
  if (body instanceof YamlText) {
    headers["Content-Type"] = "application/yaml";
    payload = body.text;
  } else if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    payload = JSON.stringify(body);
  }
  const res = await fetch(path, { method, credentials: "same-origin", headers, body: payload });
  const text = await res.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = { message: text };
  }
  if (!res.ok) throw new ApiError(res.status, data?.message ?? `${res.status} ${res.statusText}`, data);
  return data;
}

/** `/v2/apps/a/b` for `/a/b`; app ids are already absolute paths. */
export const appPath = (id) => `/v2/apps${id.split("/").map(encodeURIComponent).join("/")}`;

export const get = (path) => api("GET", path);

/** YAML text as the value it spells, read by the server exactly as a write would read it (keys
 *  in the order written); a syntax error is its 400, whose details name the line. */
export const yamlToJson = (text) => api("POST", "/ui/yaml-to-json", new YamlText(text));

export const listApps = () => get("/v2/apps").then((r) => r.apps);
export const getApp = (id) =>
  get(`${appPath(id)}?embed=app.tasks&embed=app.readiness&embed=app.lastTaskFailure&embed=app.status`).then((r) => r.app);
export const listDeployments = () => get("/v2/deployments");
export const listQueue = () => get("/v2/queue").then((r) => r.queue);
export const listVersions = (id) => get(`${appPath(id)}/versions`).then((r) => r.versions);
export const getVersion = (id, v) => get(`${appPath(id)}/versions/${encodeURIComponent(v)}`);

const forceQuery = (force) => (force ? "?force=true" : "");

export const createApp = (def) => api("POST", "/v2/apps", def);
/** With `ifVersion`, the server refuses (412) when the app has changed since that version. */
export const updateApp = (id, def, force, ifVersion) =>
  api("PUT", `${appPath(id)}${forceQuery(force)}`, def, ifVersion ? { "If-Match": `"${ifVersion}"` } : {});
export const scaleApp = (id, instances, force) => updateApp(id, { instances }, force);
export const rollbackApp = (id, version, force) => updateApp(id, { version }, force);
export const restartApp = (id, force) => api("POST", `${appPath(id)}/restart${forceQuery(force)}`);
export const destroyApp = (id) => api("DELETE", appPath(id));
export const killTasks = (ids, scale) => api("POST", `/v2/tasks/delete${scale ? "?scale=true" : ""}`, { ids });
export const cancelDeployment = (id, force) => api("DELETE", `/v2/deployments/${encodeURIComponent(id)}${forceQuery(force)}`);
export const resetDelay = (id) => api("DELETE", `/v2/queue${id.split("/").map(encodeURIComponent).join("/")}/delay`);

// Pods: sub-resources follow the id after `::`, because pod ids contain slashes.
export const podPath = (id) => `/v2/pods${id.split("/").map(encodeURIComponent).join("/")}`;
export const listPodStatus = () => get("/v2/pods/::status");
export const getPodStatus = (id) => get(`${podPath(id)}::status`);
export const listPodVersions = (id) => get(`${podPath(id)}::versions`);
export const getPodVersion = (id, v) => get(`${podPath(id)}::versions/${encodeURIComponent(v)}`);
export const createPod = (def) => api("POST", "/v2/pods", def);
export const updatePod = (id, def, force, ifVersion) =>
  api("PUT", `${podPath(id)}${forceQuery(force)}`, def, ifVersion ? { "If-Match": `"${ifVersion}"` } : {});
export const destroyPod = (id, force) => api("DELETE", `${podPath(id)}${forceQuery(force)}`);
export const killPodInstance = (id, instance) => api("DELETE", `${podPath(id)}::instances/${encodeURIComponent(instance)}`);

// Groups: the whole tree of a group, written declaratively.
export const groupPath = (id) => `/v2/groups${id.split("/").map(encodeURIComponent).join("/")}`;
export const getGroup = (id) => get(`${groupPath(id)}?embed=group.groups&embed=group.apps`);
/** A group with its apps' counts and deployments, and its pods, for the group's page. */
export const getGroupPage = (id) =>
  get(`${groupPath(id)}?embed=group.groups&embed=group.apps&embed=group.pods&embed=group.apps.counts&embed=group.apps.deployments`);
/** The ids of every group, explicit (possibly empty) or implied by the apps below it. */
export const listGroupIds = () =>
  get("/v2/groups?embed=group.groups").then((root) => {
    const ids = [];
    const walk = (g) => (g.groups ?? []).forEach((sub) => (ids.push(sub.id), walk(sub)));
    walk(root);
    return ids;
  });
export const createGroup = (def) => api("POST", "/v2/groups", def);
export const updateGroup = (id, def, force, dryRun) =>
  api("PUT", `${groupPath(id)}${dryRun ? "?dryRun=true" : forceQuery(force)}`, def);
export const destroyGroup = (id, force) => api("DELETE", `${groupPath(id)}${forceQuery(force)}`);
