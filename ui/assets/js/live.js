// Live updates: Marathon's event stream (/v2/events) as an EventSource. Any event schedules a
// refresh of the page shown; a lost stream shows a banner, and once the stream is back the page
// is fetched again (events missed meanwhile are covered by the refetch, not replayed).

import { $ } from "./dom.js";

// The stream's frames are named (`event: <type>`), so each type needs its own listener.
const EVENT_TYPES = [
  "api_post_event", "status_update_event", "instance_changed_event", "health_status_changed_event",
  "failed_health_check_event", "unhealthy_instance_kill_event", "app_terminated_event",
  "deployment_info", "deployment_success", "deployment_failed", "deployment_step_success",
  "deployment_step_failure", "group_change_success", "group_change_failed", "event_stream_attached",
  "pod_created_event", "pod_updated_event", "pod_deleted_event",
];

const REFRESH_DELAY_MS = 250;
const MIN_INTERVAL_MS = 1000;
const REOPEN_MS = 3000;

let source = null;
let lost = false;
let onRefresh = async () => {};
let timer = null;
let running = false;
let again = false;
let lastRun = 0;

/** The page's refresh; it runs after events, on reconnect, and on `refresh()`. */
export function setRefresher(fn) {
  onRefresh = fn;
  again = false;
}

/** Runs the refresher soon, at most once a second, never twice at once. */
export function refresh(delay = REFRESH_DELAY_MS) {
  if (running) {
    again = true;
    return;
  }
  if (timer) return;
  const wait = Math.max(delay, lastRun + MIN_INTERVAL_MS - Date.now());
  timer = setTimeout(run, wait);
}

async function run() {
  timer = null;
  running = true;
  lastRun = Date.now();
  try {
    await onRefresh();
    setFetchError(null);
  } catch (e) {
    setFetchError(e);
  } finally {
    running = false;
  }
  if (again) {
    again = false;
    refresh();
  }
}

let fetchError = null;

function setFetchError(e) {
  fetchError = e;
  showBanner();
}

function showBanner() {
  const banner = $("#banner");
  const message = lost
    ? "Live updates lost: reconnecting to the event stream…"
    : fetchError
      ? `Could not load data from the server: ${fetchError.message}`
      : "";
  banner.textContent = message;
  banner.hidden = !message;
  const dot = $("#live");
  dot.className = lost ? "live off" : "live on";
  dot.title = lost ? "event stream disconnected" : "event stream connected";
}

export function isConnected() {
  return Boolean(source) && !lost;
}

export function connect() {
  source = new EventSource("/v2/events", { withCredentials: true });
  for (const type of EVENT_TYPES) source.addEventListener(type, () => refresh());
  source.addEventListener("open", () => {
    if (lost) {
      lost = false;
      showBanner();
      refresh(0);
    }
  });
  source.addEventListener("error", () => {
    lost = true;
    showBanner();
    // The browser retries by itself unless the server answered with an error status; then
    // the source is closed and only a new one reconnects.
    if (source.readyState === EventSource.CLOSED) {
      source = null;
      setTimeout(connect, REOPEN_MS);
    }
  });
}
