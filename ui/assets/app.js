// Pacer UI: a hash router over the pages. Each page is {root, title, refresh()}; the shown
// page refreshes on load, after events from the live stream, and every few seconds (launch
// delays and health results change without events).

import { $, fill } from "./js/dom.js";
import * as live from "./js/live.js";
import { appsView } from "./js/views/apps.js";
import { appView } from "./js/views/app.js";
import { groupView } from "./js/views/group.js";
import { podsView } from "./js/views/pods.js";
import { podView } from "./js/views/pod.js";
import { deploymentsView } from "./js/views/deployments.js";
import { queueView } from "./js/views/queue.js";
import { clusterView } from "./js/views/cluster.js";

const POLL_MS = 10_000;

function route(hash) {
  const path = decodeURIComponent(hash.replace(/^#/, "")) || "/apps";
  if (path === "/apps" || path === "/apps/") return ["apps", appsView()];
  if (path.startsWith("/apps/")) return ["apps", appView(path.slice("/apps".length))];
  if (path.startsWith("/groups/")) return ["apps", groupView(path.slice("/groups".length))];
  if (path === "/pods" || path === "/pods/") return ["pods", podsView()];
  if (path.startsWith("/pods/")) return ["pods", podView(path.slice("/pods".length))];
  if (path === "/deployments") return ["deployments", deploymentsView()];
  if (path === "/queue") return ["queue", queueView()];
  if (path === "/cluster") return ["cluster", clusterView()];
  return ["apps", appsView()];
}

function show() {
  // A dialog belongs to the page it was opened on; cancelling it settles its promise.
  for (const d of document.querySelectorAll("dialog[open]")) d.dispatchEvent(new Event("cancel"));
  const [section, view] = route(location.hash);
  for (const a of document.querySelectorAll("header nav a")) a.classList.toggle("active", a.dataset.section === section);
  document.title = `${view.title} · Pacer`;
  fill($("#view"), view.root);
  live.setRefresher(() => view.refresh());
  live.refresh(0);
}

window.addEventListener("hashchange", show);
show();
live.connect();
setInterval(() => live.refresh(), POLL_MS);
