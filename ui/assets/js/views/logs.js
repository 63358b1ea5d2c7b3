// A task's stdout and stderr from its sandbox (GET /v2/tasks/{id}/files/{name}), the last
// 64 KiB first, then followed every two seconds while the dialog is open.

import { h } from "../dom.js";

const TAIL = 64 * 1024;
const FOLLOW_MS = 2000;

async function readFrom(taskId, name, offset, length) {
  const res = await fetch(`/v2/tasks/${encodeURIComponent(taskId)}/files/${name}?offset=${offset}&length=${length}`, { credentials: "same-origin" });
  if (!res.ok) {
    const body = await res.json().catch(() => ({}));
    throw new Error(body.message ?? `${res.status} ${res.statusText}`);
  }
  const size = Number(res.headers.get("Pacer-File-Size") ?? 0);
  return { size, bytes: new Uint8Array(await res.arrayBuffer()) };
}

export function openLogs(taskId) {
  const out = h("pre", { class: "logs", id: "logs-output" });
  const status = h("span", { class: "muted", id: "logs-status" });
  let name = "stdout";
  let offset = 0;
  let timer = null;
  let generation = 0;
  const decoder = () => new TextDecoder("utf-8", { fatal: false });
  let text = decoder();

  const tabs = ["stdout", "stderr"].map((n) => h("button", { type: "button", class: "small", "data-file": n, onclick: () => show(n) }, n));
  const close = h("button", { type: "button", id: "logs-close" }, "Close");
  const dialog = h("dialog", { class: "modal logs-dialog", id: "logs" },
    h("h2", {}, "Output of ", h("span", { class: "mono" }, taskId)),
    h("div", { class: "toolbar" }, tabs, h("span", { class: "grow" }), status),
    out,
    h("menu", {}, close));

  async function poll(gen) {
    try {
      const first = offset === 0;
      if (first) {
        const { size } = await readFrom(taskId, name, 0, 0);
        offset = Math.max(0, size - TAIL);
        if (offset > 0) out.textContent = `… (${offset} earlier bytes not shown)\n`;
      }
      const { size, bytes } = await readFrom(taskId, name, offset, TAIL);
      if (gen !== generation) return;
      offset += bytes.length;
      const atBottom = out.scrollTop + out.clientHeight >= out.scrollHeight - 4;
      out.append(text.decode(bytes, { stream: true }));
      if (atBottom || first) out.scrollTop = out.scrollHeight;
      status.textContent = `${size} bytes`;
    } catch (e) {
      if (gen === generation) status.textContent = e.message;
    }
    if (gen === generation) timer = setTimeout(() => poll(gen), FOLLOW_MS);
  }

  function show(n) {
    name = n;
    offset = 0;
    generation += 1;
    clearTimeout(timer);
    text = decoder();
    out.textContent = "";
    for (const t of tabs) t.classList.toggle("active", t.dataset.file === n);
    poll(generation);
  }

  const stop = () => {
    generation += 1;
    clearTimeout(timer);
    dialog.close();
    dialog.remove();
  };
  close.addEventListener("click", stop);
  dialog.addEventListener("cancel", (ev) => {
    ev.preventDefault();
    stop();
  });
  document.body.append(dialog);
  dialog.showModal();
  show("stdout");
}
