// What an app is doing, as one word, from its counts, deployments and launch queue entry.

export const STATUSES = ["running", "deploying", "waiting", "delayed", "unhealthy", "suspended"];

/** A queue entry whose launch delay has not run out yet. */
export const isDelayed = (q) => Boolean(q?.delay && !q.delay.overdue && q.delay.timeLeftSeconds > 0);

/** Offers came and none fitted, or the launch has waited for one for a while. */
export function isWaiting(q, now = Date.now()) {
  if (!q || isDelayed(q)) return false;
  if ((q.processedOffersSummary?.unusedOffersCount ?? 0) > 0) return true;
  return q.since ? now - Date.parse(q.since) > 10_000 : false;
}

export function appStatus(app, queueEntry, now = Date.now()) {
  if (isDelayed(queueEntry)) return "delayed";
  if (isWaiting(queueEntry, now)) return "waiting";
  if (app.deployments?.length) return "deploying";
  if (app.instances === 0 && app.tasksRunning === 0 && app.tasksStaged === 0) return "suspended";
  if (app.tasksUnhealthy > 0) return "unhealthy";
  return "running";
}

/** "healthy", "unhealthy" or "" (no health checks, none answered yet, or not running) for one task. */
export function taskHealth(task) {
  // Results of a task that is no longer running describe the past.
  const results = task.state === "TASK_RUNNING" ? task.healthCheckResults ?? [] : [];
  if (results.length === 0) return "";
  return results.every((r) => r.alive) ? "healthy" : "unhealthy";
}

/** The ordering used when sorting by status: attention-worthy first. */
export const statusRank = (s) => ["unhealthy", "delayed", "waiting", "deploying", "running", "suspended"].indexOf(s);

/** A pod's word: deploying or waiting for offers, else Marathon's STABLE / DEGRADED. */
export function podStatus(status, deployments = [], queueEntry = null, now = Date.now()) {
  if (isDelayed(queueEntry) || isWaiting(queueEntry, now)) return "waiting";
  if (deployments.some((d) => (d.affectedPods ?? []).includes(status.id))) return "deploying";
  return status.status ?? "DEGRADED";
}

/** The badge colour of a pod's word. */
export const podBadge = (word) => ({ STABLE: "running", DEGRADED: "unhealthy", TERMINAL: "suspended" })[word] ?? word;

/** Instances whose containers all run. */
export const podRunning = (status) =>
  (status.instances ?? []).filter((i) => i.containers?.length && i.containers.every((c) => c.status === "TASK_RUNNING")).length;
