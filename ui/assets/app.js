// Pacer UI: lists apps and deployments from the Marathon API, and creates, scales,
// restarts and destroys apps. Refreshes every two seconds.

const $ = (sel) => document.querySelector(sel);

async function api(method, path, body) {
  const res = await fetch(path, {
    method,
    headers: body === undefined ? {} : { "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  const data = text ? JSON.parse(text) : null;
  if (!res.ok) throw Object.assign(new Error(data?.message ?? res.statusText), { data });
  return data;
}

function statusOf(app) {
  if (app.deployments.length > 0) return "deploying";
  if (app.instances === 0) return "suspended";
  return "running";
}

function cell(text, cls) {
  const td = document.createElement("td");
  td.textContent = text;
  if (cls) td.className = cls;
  return td;
}

function button(label, onClick) {
  const b = document.createElement("button");
  b.textContent = label;
  b.addEventListener("click", onClick);
  return b;
}

async function act(fn) {
  try { await fn(); } catch (e) { alert(e.message); }
  refresh();
}

function renderApps(apps) {
  const filter = $("#filter").value.trim().toLowerCase();
  const rows = apps
    .filter((a) => !filter || a.id.includes(filter) || Object.entries(a.labels ?? {}).some(([k, v]) => `${k}=${v}`.toLowerCase().includes(filter)))
    .sort((a, b) => a.id.localeCompare(b.id))
    .map((app) => {
      const tr = document.createElement("tr");
      const status = statusOf(app);
      tr.append(
        cell(app.id),
        cell(status, `status-${status}`),
        cell(`${app.tasksRunning} / ${app.instances}`),
        cell(String(app.cpus)),
        cell(String(app.mem)),
        cell(app.version ?? ""),
      );
      const actions = document.createElement("td");
      actions.append(
        button("Scale", () => {
          const n = prompt(`Instances of ${app.id}`, String(app.instances));
          if (n !== null) act(() => api("PUT", `/v2/apps${app.id}`, { instances: Number(n) }));
        }),
        button("Restart", () => act(() => api("POST", `/v2/apps${app.id}/restart`))),
        button("Destroy", () => {
          if (confirm(`Destroy ${app.id} and kill its tasks?`)) act(() => api("DELETE", `/v2/apps${app.id}`));
        }),
      );
      tr.append(actions);
      return tr;
    });
  $("#apps").replaceChildren(...rows);
}

function renderDeployments(deployments) {
  $("#deployments").replaceChildren(...deployments.map((d) => {
    const tr = document.createElement("tr");
    tr.append(cell(d.id), cell(d.affectedApps.join(", ")), cell(`${d.currentStep} / ${d.totalSteps}`), cell(d.version));
    return tr;
  }));
}

async function refresh() {
  try {
    const [{ apps }, deployments] = await Promise.all([api("GET", "/v2/apps"), api("GET", "/v2/deployments")]);
    renderApps(apps);
    renderDeployments(deployments);
    $("#status").textContent = `${apps.length} apps`;
  } catch (e) {
    $("#status").textContent = `disconnected: ${e.message}`;
  }
}

$("#filter").addEventListener("input", refresh);
$("#new-app").addEventListener("click", () => { $("#errors").textContent = ""; $("#editor").showModal(); });
$("#save").addEventListener("click", async (ev) => {
  ev.preventDefault();
  try {
    await api("POST", "/v2/apps", JSON.parse($("#definition").value));
    $("#editor").close();
    refresh();
  } catch (e) {
    const details = Array.isArray(e.data?.details)
      ? e.data.details.map((d) => `${d.path}: ${d.errors.join(", ")}`).join("\n")
      : e.data?.details ?? "";
    $("#errors").textContent = `${e.message}\n${details}`;
  }
});

refresh();
setInterval(refresh, 2000);
